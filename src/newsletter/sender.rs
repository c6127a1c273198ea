//! The background sender: takes due deliveries from the outbox and sends
//! them at the configured rate, one node at a time.
//!
//! Exactly-once, as far as SMTP allows: a delivery is claimed (`sending`)
//! before the SMTP transaction and marked `sent` right after the server
//! accepted it. A restart resumes with what is still `queued`, so nobody is
//! skipped and nobody gets a mail twice. The one window left is a crash in
//! the moment between the server's "250 OK" and our `UPDATE`: such a row is
//! found `sending` and sent again (counted as "interrupted" in the admin) —
//! a possible duplicate is better than a reader missing a page.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;

use super::compose;
use super::outbox::{self, Body, Due};
use super::tokens::Purpose;
use super::Worker;
use crate::comics::{self, settings, PageId};
use crate::db::Db;
use crate::email::SendError;

/// Deliveries fetched per query.
const BATCH: i64 = 20;
/// How often an idle node looks for work (others' mailings, retry times).
const IDLE_POLL: Duration = Duration::from_secs(2);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The `mail_sender` row: who holds the lease, and the pause after an SMTP
/// failure.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct SenderState {
    pub owner: String,
    pub lease_until: i64,
    pub paused_until: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

pub async fn sender_state(db: &Db) -> Result<SenderState, sqlx::Error> {
    sqlx::query_as(
        "SELECT owner, lease_until, paused_until, last_error, last_error_at \
         FROM mail_sender WHERE id = 1",
    )
    .fetch_one(db)
    .await
}

/// Takes or renews the lease. False while another live node holds it.
async fn acquire(db: &Db, owner: &str, lease_ms: i64) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE mail_sender SET owner = ?, lease_until = ? \
         WHERE id = 1 AND (owner = ? OR lease_until < ?)",
    )
    .bind(owner)
    .bind(now + lease_ms)
    .bind(owner)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn release(db: &Db, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mail_sender SET lease_until = 0 WHERE id = 1 AND owner = ?")
        .bind(owner)
        .execute(db)
        .await?;
    Ok(())
}

async fn pause(db: &Db, until_ms: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE mail_sender SET paused_until = ?, last_error = ?, last_error_at = ? WHERE id = 1",
    )
    .bind(until_ms)
    .bind(error.chars().take(900).collect::<String>())
    .bind(crate::db::now())
    .execute(db)
    .await?;
    Ok(())
}

async fn clear_error(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mail_sender SET paused_until = 0, last_error = NULL WHERE id = 1")
        .execute(db)
        .await?;
    Ok(())
}

/// The wait before attempt `n + 1` after `n` failures in a row.
pub fn backoff(failures: u32, min_secs: u64, max_secs: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    Duration::from_secs(min_secs.saturating_mul(1 << exp).min(max_secs))
}

enum Step {
    /// Nothing to do here now: wait for a wake-up or the next poll.
    Idle,
    /// Mails were handled; look for more at once.
    Worked,
    /// The SMTP server is failing: wait until the pause ends.
    Paused(i64),
    /// Stop was asked for.
    Stopped,
}

/// Starts the sender on this node (every node runs one; the lease decides
/// which of them sends).
pub fn spawn(state: Worker) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let newsletter = &state.newsletter;
        let mut stop = newsletter.stop_signal();
        let mut run = Run {
            failures: 0,
            next_send: tokio::time::Instant::now(),
            bodies: HashMap::new(),
        };
        loop {
            if *stop.borrow() {
                break;
            }
            let wait = match run.step(&state, &stop).await {
                Ok(Step::Stopped) => break,
                Ok(Step::Worked) => continue,
                Ok(Step::Idle) => IDLE_POLL,
                Ok(Step::Paused(until)) => {
                    Duration::from_millis((until - now_ms()).clamp(50, 2000) as u64)
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "newsletter sender: database trouble; trying again"
                    );
                    IDLE_POLL
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = newsletter.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
        if let Err(error) = release(&state.db, &newsletter.owner).await {
            tracing::warn!(%error, "newsletter sender: could not release its lease");
        }
        tracing::info!("newsletter sender stopped");
    })
}

struct Run {
    /// Server-level failures in a row (the pause grows with them).
    failures: u32,
    /// Earliest moment of the next send (the rate limit).
    next_send: tokio::time::Instant,
    /// Mailing bodies, read once per mailing instead of once per recipient.
    bodies: HashMap<i64, Option<Arc<Body>>>,
}

/// What to do with a claimed delivery.
enum Prepared {
    Mail(Box<crate::email::Mail>),
    /// Not to be sent: (final status, why).
    Drop(&'static str, &'static str),
}

/// The lease (ms): at least two gaps between mails plus a margin, so a
/// holder waiting for its turn under a slow rate keeps it.
fn lease_ms(config: &crate::config::NewsletterConfig, gap: Duration) -> i64 {
    ((config.sender_lease_secs * 1000) as i64).max(gap.as_millis() as i64 * 2 + 4000)
}

impl Run {
    async fn step(
        &mut self,
        state: &Worker,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Step> {
        let config = &state.config.newsletter;
        let db = &state.db;
        let owner = &state.newsletter.owner;
        let sender = sender_state(db).await?;
        if sender.paused_until > now_ms() {
            return Ok(Step::Paused(sender.paused_until));
        }
        let now = crate::db::now();
        if !outbox::has_work(db, now).await? {
            if sender.owner == *owner && sender.lease_until > 0 {
                release(db, owner).await?;
            }
            return Ok(Step::Idle);
        }
        let gap = Duration::from_millis(60_000 / u64::from(config.max_per_minute));
        let lease_ms = lease_ms(config, gap);
        // A send may not outlive the lease (lettre's timeout is per command).
        let send_timeout = Duration::from_millis((lease_ms * 3 / 4) as u64);
        if !acquire(db, owner, lease_ms).await? {
            return Ok(Step::Idle);
        }
        let site_title = settings::load(db).await?.title;
        let mut had_error = sender.last_error.is_some();
        let mut worked = false;
        for due in outbox::due(db, now, BATCH).await? {
            // Wait for our turn under the rate limit, unless told to stop.
            let mut stop = stop.clone();
            tokio::select! {
                _ = tokio::time::sleep_until(self.next_send) => {}
                _ = stop.changed() => return Ok(Step::Stopped),
            }
            if *stop.borrow() {
                return Ok(Step::Stopped);
            }
            // Renew before every send: the lease must outlast the send.
            if !acquire(db, owner, lease_ms).await? {
                return Ok(Step::Idle);
            }
            if !outbox::claim(db, &due, owner).await? {
                continue;
            }
            worked = true;
            if due.status == "sending" {
                tracing::warn!(
                    delivery = due.id,
                    "a mail was being sent when its sender stopped; sending it again"
                );
            }
            let mail = match self.prepare(state, &site_title, &due).await? {
                Prepared::Mail(mail) => mail,
                Prepared::Drop(status, why) => {
                    outbox::mark_final(db, due.id, owner, status, why).await?;
                    continue;
                }
            };
            self.next_send = tokio::time::Instant::now() + gap;
            let result =
                match tokio::time::timeout(send_timeout, state.mailer.try_send(*mail)).await {
                    Ok(result) => result,
                    Err(_) => Err(SendError::Unavailable(format!(
                        "no answer from the SMTP server within {} s",
                        send_timeout.as_secs()
                    ))),
                };
            let kind = due.kind.clone();
            match result {
                Ok(()) => {
                    outbox::mark_sent(db, due.id, owner, crate::db::now()).await?;
                    metrics::counter!("halftone_mail_sent_total", "kind" => kind).increment(1);
                    self.failures = 0;
                    if had_error {
                        clear_error(db).await?;
                        had_error = false;
                        tracing::info!("the SMTP server accepts mail again");
                    }
                }
                Err(SendError::Permanent(error)) => {
                    tracing::warn!(delivery = due.id, %error, "the SMTP server refused a mail; not retrying it");
                    metrics::counter!("halftone_mail_failed_total", "kind" => kind).increment(1);
                    outbox::mark_final(db, due.id, owner, "failed", &error).await?;
                }
                Err(SendError::Transient(error)) => {
                    // This recipient only (mailbox full, greylisting): it
                    // waits, the others go on.
                    let attempts = due.attempts + 1;
                    metrics::counter!("halftone_mail_retries_total").increment(1);
                    if attempts >= i64::from(config.max_attempts) {
                        tracing::warn!(delivery = due.id, %error, attempts, "giving up on a mail");
                        metrics::counter!("halftone_mail_failed_total", "kind" => kind)
                            .increment(1);
                        outbox::mark_final(db, due.id, owner, "failed", &error).await?;
                    } else {
                        let wait = backoff(
                            attempts as u32,
                            config.retry_min_secs,
                            config.retry_max_secs,
                        );
                        outbox::mark_retry(
                            db,
                            due.id,
                            owner,
                            crate::db::now() + wait.as_secs() as i64,
                            &error,
                            outbox::Retry::Counted,
                        )
                        .await?;
                    }
                }
                Err(SendError::Unavailable(error)) => {
                    // The server, not this mail: pause everything; the
                    // attempt does not count, so no outage fails anybody.
                    self.failures += 1;
                    let wait = backoff(self.failures, config.retry_min_secs, config.retry_max_secs);
                    metrics::counter!("halftone_mail_retries_total").increment(1);
                    let timed_out = error.starts_with("no answer");
                    outbox::mark_retry(
                        db,
                        due.id,
                        owner,
                        crate::db::now(),
                        &error,
                        if timed_out {
                            outbox::Retry::Unknown
                        } else {
                            outbox::Retry::Uncounted
                        },
                    )
                    .await?;
                    let until = now_ms() + wait.as_millis() as i64;
                    pause(db, until, &error).await?;
                    tracing::warn!(%error, retry_in_secs = wait.as_secs(), "cannot send mail; pausing the newsletter sender");
                    return Ok(Step::Paused(until));
                }
            }
        }
        Ok(if worked { Step::Worked } else { Step::Idle })
    }

    /// Builds the mail for a claimed delivery, or says why it is not sent.
    async fn prepare(
        &mut self,
        state: &Worker,
        site_title: &str,
        due: &Due,
    ) -> anyhow::Result<Prepared> {
        let db = &state.db;
        let wanted = match due.kind.as_str() {
            "confirm" => due.subscriber_status == "pending",
            _ => due.subscriber_status == "confirmed",
        };
        if !wanted {
            return Ok(Prepared::Drop("skipped", "the subscriber's status changed"));
        }
        let to: Mailbox = match due.email.parse() {
            Ok(address) => Mailbox::new(None, address),
            Err(_) => return Ok(Prepared::Drop("failed", "not a usable e-mail address")),
        };
        let signer = state.newsletter.signer(state).await?;
        let base = state.config.base_url();
        let mail = if due.kind == "confirm" {
            let expires = crate::db::now() + (state.config.newsletter.confirm_hours * 3600) as i64;
            let token = signer.sign(Purpose::Confirm, due.subscriber_id, &due.email, expires);
            let url = format!("{base}/subscribe/confirm?t={token}");
            compose::confirmation(state, site_title, to, &url, due.id)
                .map_err(|e| anyhow::anyhow!("{e}"))?
        } else {
            let mailing = due.mailing_id.unwrap_or_default();
            if outbox::is_cancelled(db, mailing).await? {
                return Ok(Prepared::Drop("cancelled", "the mailing was stopped"));
            }
            let body = match self.bodies.get(&mailing) {
                Some(body) => body.clone(),
                None => {
                    let body = outbox::body(db, mailing).await?.map(Arc::new);
                    self.bodies.insert(mailing, body.clone());
                    body
                }
            };
            let Some(body) = body else {
                return Ok(Prepared::Drop("skipped", "the mailing was deleted"));
            };
            let token = signer.sign(Purpose::Unsubscribe, due.subscriber_id, &due.email, 0);
            let url = format!("{base}/unsubscribe?t={token}");
            compose::personal(state, site_title, &body, to, &url, due.id)
        };
        Ok(Prepared::Mail(Box::new(mail)))
    }
}

/// Mails subscribers about pages that went live, when the author switched
/// automatic mailing on. Runs on every node, after every content change and
/// every `check_secs`; the UNIQUE `auto_page_id` makes one mailing per page.
pub fn spawn_announcer(state: Worker) {
    tokio::spawn(async move {
        let mut events = state.events.subscribe();
        let mut stop = state.newsletter.stop_signal();
        let mut tick =
            tokio::time::interval(Duration::from_secs(state.config.newsletter.check_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                event = events.recv() => match event {
                    Ok(e) if e.topic == "content" => {}
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = stop.changed() => break,
            }
            if let Err(error) = announce(&state).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "newsletter: could not check for new pages"
                );
            }
        }
    });
}

/// Makes the mailing for pages that went live since the last check.
/// Returns its id when one was made.
pub async fn announce(state: &Worker) -> anyhow::Result<Option<i64>> {
    let map = settings::load_map(&state.db).await?;
    if map.get(AUTO).map(String::as_str) != Some("1") {
        return Ok(None);
    }
    let Some(since) = map.get(AUTO_SINCE).and_then(|v| v.parse::<i64>().ok()) else {
        return Ok(None);
    };
    let now = crate::db::now();
    let ids = outbox::unannounced_pages(&state.db, since, now, 20).await?;
    if ids.is_empty() {
        return Ok(None);
    }
    let ids: Vec<PageId> = ids.into_iter().map(PageId).collect();
    let pages = comics::pages::visible_by_ids(&state.db, &ids, now).await?;
    if pages.is_empty() {
        return Ok(None);
    }
    let mailing = compose::mailing(state, outbox::Kind::Page, None, "", &pages, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let made = outbox::create_mailing(&state.db, &mailing, now).await?;
    if let Some(id) = made {
        tracing::info!(
            mailing = id,
            pages = pages.len(),
            "new pages went live; mailing subscribers"
        );
        state.newsletter.wake_all(&state.events).await;
    }
    Ok(made)
}

/// Settings: automatic mailing on ("1") and since when (unix seconds).
pub const AUTO: &str = "newsletter.auto";
pub const AUTO_SINCE: &str = "newsletter.auto_since";

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = |n| backoff(n, 30, 3600);
        assert_eq!(b(1), Duration::from_secs(30));
        assert_eq!(b(2), Duration::from_secs(60));
        assert_eq!(b(3), Duration::from_secs(120));
        assert_eq!(b(8), Duration::from_secs(3600));
        assert_eq!(b(500), Duration::from_secs(3600));
    }
}
