//! Comment mail: reply notices with double opt-in, and the moderator's digest.
//!
//! - A reader who gives an address and ticks "mail me replies" is sent one
//!   confirmation (at most one a day per address); notices start only after
//!   the click, and every notice has a one-click unsubscribe (RFC 8058).
//! - Mails wait in `comment_mail` (the outbox). A row is claimed by
//!   compare-and-swap before it is sent and marked right after, so two
//!   nodes or a restart never send it twice; a row left `sending` by a
//!   crashed node is sent again after ten minutes (a late notice beats a
//!   lost one). Failures wait with a backoff; after eight tries, `failed`.
//! - New rows are sent at once in the background; the watchdog (one node)
//!   sends what is due and the hourly digest of pending comments.

use lettre::message::Mailbox;

use super::Comment;
use crate::comics::settings;
use crate::db::{self, Db};
use crate::email::{Mail, SendError};
use crate::newsletter::tokens::{Purpose, Signer};
use crate::startup::Services;

const CONFIRM_DAYS: i64 = 7;
const MAX_ATTEMPTS: i64 = 8;
const STUCK_SECS: i64 = 600;

/// A reader asked for reply notices on `comment`. Queues a confirmation
/// unless the address is confirmed already or was asked today.
pub async fn want_notices(db: &Db, comment: i64, email: &str) -> Result<bool, sqlx::Error> {
    if email.is_empty() {
        return Ok(false);
    }
    let now = db::now();
    let backend = db.backend();
    sqlx::query(&format!(
        "{} INTO commenters (email, created_at) VALUES (?, ?)",
        crate::db::dialect::insert_ignore(backend)
    ))
    .bind(email)
    .bind(now)
    .execute(db)
    .await?;
    let (confirmed, unsubscribed): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT confirmed_at, unsubscribed_at FROM commenters WHERE email = ?")
            .bind(email)
            .fetch_one(db)
            .await?;
    if confirmed.is_some() && unsubscribed.is_none() {
        return Ok(false);
    }
    let asked_today: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM comment_mail WHERE kind = 'confirm' AND recipient = ? AND created_at > ?",
    )
    .bind(email)
    .bind(now - 86_400)
    .fetch_one(db)
    .await?;
    if asked_today > 0 {
        return Ok(false);
    }
    queue(db, "confirm", email, comment, now).await
}

async fn queue(
    db: &Db,
    kind: &str,
    recipient: &str,
    comment: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let backend = db.backend();
    let done = sqlx::query(&format!(
        "{} INTO comment_mail (kind, recipient, comment_id, next_at, created_at) VALUES (?, ?, ?, ?, ?)",
        crate::db::dialect::insert_ignore(backend)
    ))
    .bind(kind)
    .bind(recipient)
    .bind(comment)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replies that became visible: their parents' authors who asked (and
/// confirmed) get a notice, once per reply; nobody is told of their own reply.
pub async fn replies_visible(db: &Db, replies: &[Comment]) -> Result<usize, sqlx::Error> {
    let mut queued = 0;
    for reply in replies {
        let Some(parent) = reply.parent_id else {
            continue;
        };
        let to: Option<(String,)> = sqlx::query_as(
            "SELECT c.author_email FROM comments c JOIN commenters m ON m.email = c.author_email \
             WHERE c.id = ? AND c.notify = 1 AND c.status = 'approved' \
             AND m.confirmed_at IS NOT NULL AND m.unsubscribed_at IS NULL",
        )
        .bind(parent)
        .fetch_optional(db)
        .await?;
        let Some((email,)) = to else { continue };
        if email.is_empty() || email == reply.author_email {
            continue;
        }
        if queue(db, "reply", &email, reply.id, db::now()).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

pub async fn confirm(db: &Db, email: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE commenters SET confirmed_at = ?, unsubscribed_at = NULL WHERE email = ? \
         AND (confirmed_at IS NULL OR unsubscribed_at IS NOT NULL)",
    )
    .bind(db::now())
    .bind(email)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unsubscribe(db: &Db, email: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE commenters SET unsubscribed_at = ? WHERE email = ? AND unsubscribed_at IS NULL",
    )
    .bind(db::now())
    .bind(email)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether an address gets notices now.
pub async fn is_subscribed(db: &Db, email: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM commenters WHERE email = ? AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL",
    )
    .bind(email)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    kind: String,
    recipient: String,
    comment_id: i64,
    attempts: i64,
}

/// How many mails wait (due now or left `sending` by a crashed node).
async fn due_count(services: &Services) -> Result<i64, sqlx::Error> {
    let now = db::now();
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM comment_mail \
         WHERE (status = 'queued' AND next_at <= ?) OR (status = 'sending' AND claimed_at < ?)",
    )
    .bind(now)
    .bind(now - STUCK_SECS)
    .fetch_one(&services.db)
    .await
}

/// Sends every mail that is due. Returns how many went out.
pub async fn deliver_due(services: &Services, signer: &Signer) -> anyhow::Result<usize> {
    if !services.mailer.is_enabled() {
        return Ok(0);
    }
    let now = db::now();
    let due: Vec<Due> = sqlx::query_as(
        "SELECT id, kind, recipient, comment_id, attempts FROM comment_mail \
         WHERE (status = 'queued' AND next_at <= ?) OR (status = 'sending' AND claimed_at < ?) \
         ORDER BY id LIMIT 50",
    )
    .bind(now)
    .bind(now - STUCK_SECS)
    .fetch_all(&services.db)
    .await?;
    let mut sent = 0;
    for row in due {
        let claimed = sqlx::query(
            "UPDATE comment_mail SET status = 'sending', claimed_at = ?, attempts = attempts + 1 \
             WHERE id = ? AND attempts = ? AND (status = 'queued' OR (status = 'sending' AND claimed_at < ?))",
        )
        .bind(now)
        .bind(row.id)
        .bind(row.attempts)
        .bind(now - STUCK_SECS)
        .execute(&services.db)
        .await?
        .rows_affected();
        if claimed == 0 {
            continue; // another node has it
        }
        let outcome = match compose(services, signer, &row).await {
            Ok(Some(mail)) => services.mailer.try_send(mail).await,
            Ok(None) => Err(SendError::Permanent("nothing to send any more".into())),
            Err(e) => Err(SendError::Transient(format!("{e:#}"))),
        };
        let (status, next_at, error) = match &outcome {
            Ok(()) => ("sent", now, String::new()),
            Err(SendError::Permanent(e)) => ("failed", now, e.clone()),
            Err(e) if row.attempts + 1 >= MAX_ATTEMPTS => ("failed", now, e.to_string()),
            Err(e) => (
                "queued",
                db::now() + 60 * (1 << row.attempts.min(6)),
                e.to_string(),
            ),
        };
        sqlx::query(
            "UPDATE comment_mail SET status = ?, next_at = ?, error = ?, sent_at = ? WHERE id = ? AND claimed_at = ?",
        )
        .bind(status)
        .bind(next_at)
        .bind(error.chars().take(900).collect::<String>())
        .bind((status == "sent").then(db::now))
        .bind(row.id)
        .bind(now)
        .execute(&services.db)
        .await?;
        match outcome {
            Ok(()) => {
                sent += 1;
                metrics::counter!("halftone_comment_mail_total", "kind" => row.kind.clone(), "result" => "sent").increment(1);
            }
            Err(e) => {
                tracing::warn!(mail = row.id, kind = %row.kind, error = %e, "comment mail not sent");
                metrics::counter!("halftone_comment_mail_total", "kind" => row.kind.clone(), "result" => "failed").increment(1);
                if matches!(e, SendError::Unavailable(_)) {
                    break; // the server is down for everybody: wait for the next round
                }
            }
        }
    }
    Ok(sent)
}

/// Starts a delivery round in the background (a comment was just posted
/// or approved; the reader should not wait for SMTP).
pub fn kick(services: &Services, signer: Signer) {
    let services = services.clone();
    tokio::spawn(async move {
        if let Err(error) = deliver_due(&services, &signer).await {
            tracing::warn!(%error, "comment mail round failed; the watchdog retries");
        }
    });
}

async fn compose(services: &Services, signer: &Signer, row: &Due) -> anyhow::Result<Option<Mail>> {
    let Some(comment) = super::get(&services.db, row.comment_id).await? else {
        return Ok(None);
    };
    let site = crate::site::SiteData::load(&services.db, &services.assets).await?;
    let urls = site.urls(services.config.base_url());
    let place = super::page_place(&services.db, comment.page_id).await?;
    let Some((series, slug)) = place else {
        return Ok(None);
    };
    let page_url = urls.absolute(&urls.comic(crate::comics::SeriesId(series), &slug));
    let to = Mailbox::new(None, row.recipient.parse()?);
    let title = &site.settings.title;
    let base = services.config.base_url();
    match row.kind.as_str() {
        "confirm" => {
            let expires = db::now() + CONFIRM_DAYS * 86_400;
            let token = signer.sign(
                Purpose::CommenterConfirm,
                comment.id,
                &row.recipient,
                expires,
            );
            Ok(Some(Mail {
                to,
                subject: format!("Confirm reply notices from {title}"),
                text: format!(
                    "Hello {name},\n\nYou asked to be told by e-mail when someone replies to your comment on {title}:\n{page_url}#comment-{id}\n\nTo confirm, open this link and press the button:\n{base}/comments/confirm?t={token}\n\nIf this was not you, ignore this mail: nothing more will be sent.\n",
                    name = comment.author_name,
                    id = comment.id,
                ),
                html: None,
                headers: Vec::new(),
                message_id: Some(format!("comment-confirm-{}-{}@halftone", row.id, comment.id)),
            }))
        }
        "reply" => {
            let Some(parent) = comment.parent_id else {
                return Ok(None);
            };
            if comment.status != "approved" {
                return Ok(None);
            }
            let token = signer.sign(Purpose::CommenterUnsubscribe, parent, &row.recipient, 0);
            let unsubscribe = format!("{base}/comments/unsubscribe?t={token}");
            let excerpt = crate::render::markdown::to_text(&comment.body, 400);
            Ok(Some(Mail {
                to,
                subject: format!("{} replied to your comment on {title}", comment.author_name),
                text: format!(
                    "{name} replied to your comment:\n\n{excerpt}\n\nRead it and answer: {page_url}#comment-{id}\n\n--\nNo more reply notices: {unsubscribe}\n",
                    name = comment.author_name,
                    id = comment.id,
                ),
                html: None,
                headers: vec![
                    ("List-Unsubscribe".into(), format!("<{unsubscribe}>")),
                    ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
                ],
                message_id: Some(format!("comment-reply-{}-{}@halftone", row.id, comment.id)),
            }))
        }
        _ => Ok(None),
    }
}

/// The hourly digest: when comments wait and none was sent this hour, the
/// owners get one mail listing them. Run by the watchdog (one node); the
/// hour is claimed in the settings table, so two nodes never both send.
pub async fn digest(services: &Services) -> anyhow::Result<bool> {
    let map = settings::load_map(&services.db).await?;
    if !super::policy::Rules::from_map(&map).digest || !services.mailer.is_enabled() {
        return Ok(false);
    }
    const CLAIM: &str = "comments.digest_at";
    let last = map.get(CLAIM).cloned().unwrap_or_else(|| "0".into());
    let last_at: i64 = last.parse().unwrap_or(0);
    let now = db::now();
    if now - last_at < 3600 {
        return Ok(false);
    }
    let waiting: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT c.author_name, p.title, c.created_at FROM comments c JOIN pages p ON p.id = c.page_id \
         WHERE c.status = 'pending' AND c.created_at > ? ORDER BY c.created_at LIMIT 51",
    )
    .bind(last_at)
    .fetch_all(&services.db)
    .await?;
    if waiting.is_empty() {
        return Ok(false);
    }
    if !settings::compare_and_set(&services.db, CLAIM, &last, &now.to_string()).await? {
        return Ok(false);
    }
    let total = super::pending_count(&services.db).await?;
    let mut text = format!(
        "{total} comment{} wait{} for you. New since the last mail:\n\n",
        if total == 1 { "" } else { "s" },
        if total == 1 { "s" } else { "" }
    );
    for (name, page, _) in waiting.iter().take(50) {
        text.push_str(&format!("- {name} on “{page}”\n"));
    }
    if waiting.len() > 50 {
        text.push_str("- and more\n");
    }
    text.push_str(&format!(
        "\nModerate them: {}/admin/comments\n",
        services.config.base_url()
    ));
    let subject = format!(
        "{total} comment{} to moderate",
        if total == 1 { "" } else { "s" }
    );
    crate::cluster::alerts::mail_owners(services, &subject, &text).await?;
    Ok(true)
}

/// The watchdog's share: due mail, the digest, and old spam purged.
pub async fn watchdog(services: &Services) {
    match due_count(services).await {
        Ok(0) => {}
        Ok(_) => {
            // Loaded only when there is mail: loading makes the site's key
            // on first use, and a site without comment mail needs none.
            let signer =
                Signer::load(&services.db, services.config.newsletter.secret.as_ref()).await;
            match signer {
                Ok(signer) => {
                    if let Err(error) = deliver_due(services, &signer).await {
                        tracing::warn!(%error, "comment mail round failed");
                    }
                }
                Err(error) => tracing::warn!(%error, "comment mail: no signing key"),
            }
        }
        Err(error) => tracing::warn!(%error, "comment mail: cannot read the outbox"),
    }
    if let Err(error) = digest(services).await {
        tracing::warn!(%error, "comment digest not sent");
    }
    if let Err(error) = super::purge(&services.db, 30).await {
        tracing::warn!(%error, "old spam not purged");
    }
}
