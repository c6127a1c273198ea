//! The sender: on the node holding the `fediverse` lease, turns changes of
//! published pages into activities (reconcile) and delivers them (deliver).
//! Every node runs one; it wakes on content changes from any node, on the
//! `fediverse` event (a follow to accept), and every `check_secs` (pages
//! scheduled to go live, retries).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;

use super::objects;
use super::peers::Signer;
use super::store;
use crate::comics::catalog::Catalog;
use crate::comics::{PageId, SeriesId};
use crate::startup::Services;

/// A delivery claimed this long ago by a node that then died is sent again.
const STALE_SECS: i64 = 120;
const BATCH: i64 = 64;

/// A claimed delivery with its activity (body, signing key id).
type Claimed = (store::Due, Arc<(String, String)>);

/// When the published pages must be compared with what followers were
/// told again: after a content change (any node), when a scheduled page
/// goes live, when the lease moved here, and at least once a minute (a
/// change made while events could not reach this node).
#[derive(Debug, Default)]
pub struct Pending {
    dirty: bool,
    next_live: Option<i64>,
    last: Option<std::time::Instant>,
}

impl Pending {
    fn due(&self, now: i64) -> bool {
        self.dirty
            || self.next_live.is_some_and(|t| t <= now)
            || self
                .last
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
    }
}

pub fn spawn(services: Services) {
    if !services.config.fediverse.enabled && services.config.crosspost.bluesky.is_none() {
        return;
    }
    tokio::spawn(async move {
        let fediverse = services.fediverse.clone();
        let mut stop = fediverse.stop_signal();
        let mut events = services.events.subscribe();
        let mut draining = services.draining.clone();
        let every = Duration::from_secs(services.config.fediverse.check_secs.max(1));
        let mut pending = Pending::default();
        'work: loop {
            if *stop.borrow() || *draining.borrow() {
                break;
            }
            if let Err(error) = pass(&services, &mut pending).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "fediverse: sender trouble; trying again"
                );
            }
            // Wait for a reason to look again (other nodes' unrelated events,
            // like editors' autosaves, are no reason).
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => break,
                    _ = fediverse.wake.notified() => break,
                    event = events.recv() => match event {
                        Ok(e) if e.topic == "content" => {
                            pending.dirty = true;
                            break;
                        }
                        Ok(e) if e.topic == super::TOPIC => break,
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            pending.dirty = true;
                            break;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break 'work,
                    },
                    _ = stop.changed() => break,
                    _ = draining.changed() => break,
                }
            }
        }
        let _ = crate::leases::release(&services.db, super::LEASE, &services.node.id).await;
        tracing::info!("fediverse sender stopped");
    });
}

/// One round, on the lease holder: the fediverse from its first follower
/// on (reconcile when due, deliver), and the Bluesky account when one is set.
pub async fn pass(services: &Services, pending: &mut Pending) -> anyhow::Result<()> {
    let db = &services.db;
    let config = &services.config;
    let since = if config.fediverse.enabled {
        super::since(db).await?
    } else {
        None
    };
    let bluesky = config.crosspost.bluesky.as_ref();
    if since.is_none() && bluesky.is_none() {
        return Ok(());
    }
    let lease_ms = (config.fediverse.timeout_secs as i64 * 3 + 30) * 1000;
    if !crate::leases::acquire(db, super::LEASE, &services.node.id, lease_ms).await? {
        // Another node sends; if the lease comes here, look afresh.
        pending.last = None;
        return Ok(());
    }
    let now = crate::db::now();
    let look = pending.due(now);
    if look {
        pending.dirty = false;
        pending.last = Some(std::time::Instant::now());
        pending.next_live = None;
    }
    if let Some(since) = since {
        if look {
            pending.next_live = reconcile(services, since).await?;
        }
        deliver(services).await?;
    }
    if let Some(account) = bluesky {
        if look {
            let next = super::bluesky::queue_new(services).await?;
            pending.next_live = match (pending.next_live, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        super::bluesky::post_due(services, account).await?;
    }
    Ok(())
}

/// Compares what followers were told with the published pages and queues
/// a Create, Update or Delete for each page that differs.
pub async fn reconcile(services: &Services, since: i64) -> anyhow::Result<Option<i64>> {
    let db = &services.db;
    let now = crate::db::now();
    let catalog = Catalog::load(db).await?;
    let site = crate::site::SiteData::load(db, &services.assets).await?;
    let urls = site.urls(services.config.base_url());
    let ids = &services.fediverse.ids;
    let posts: HashMap<PageId, store::Post> = store::posts(db)
        .await?
        .into_iter()
        .map(|p| (p.page_id, p))
        .collect();
    let series: HashMap<SeriesId, &crate::comics::Series> =
        site.series.iter().map(|s| (s.id, s)).collect();
    let blocked = super::Blocklist::load(db).await?;
    let mut inboxes_of: HashMap<i64, Vec<String>> = HashMap::new();
    let mut sent = 0;
    let mut seen = std::collections::HashSet::new();
    let mut next_live: Option<i64> = None;
    for entry in catalog.pages() {
        let page = &entry.page;
        if !page.visible_at(now) {
            if let Some(t) = page.live_at.filter(|&t| t > now) {
                next_live = Some(next_live.map_or(t, |n| n.min(t)));
            }
            continue;
        }
        seen.insert(page.id);
        let Some(series) = series.get(&page.series_id) else {
            continue;
        };
        let before = posts.get(&page.id);
        // Pages that went live before anyone followed are not pushed.
        if before.is_none() && page.live_at.unwrap_or(0) < since {
            continue;
        }
        let mut note = objects::note(entry, series, &urls, ids, &site.settings.language);
        let fingerprint = objects::fingerprint(&note);
        let kind = match before {
            None => "Create",
            Some(post) if post.deleted != 0 => "Create",
            Some(post) if post.note_hash != fingerprint => "Update",
            Some(_) => continue,
        };
        if kind == "Update" {
            note["updated"] = serde_json::Value::from(
                chrono::DateTime::from_timestamp(now, 0)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        let inboxes = inboxes_for(db, &mut inboxes_of, series.id.0, &blocked).await?;
        let uri = format!(
            "{}/activities/{}-{now}-{}",
            ids.note(page.id),
            kind.to_ascii_lowercase(),
            &fingerprint[..8]
        );
        let activity = objects::activity(
            kind,
            &uri,
            &ids.actor(&series.slug),
            &ids.followers(&series.slug),
            note,
            now,
        );
        let body = activity.to_string();
        let new = store::NewActivity {
            uri: &uri,
            kind,
            series: series.id.0,
            page: Some(page.id),
            body: &body,
        };
        queue(db, &new, &inboxes, &fingerprint, false, now).await?;
        tracing::info!(
            page = page.id.0,
            kind,
            inboxes = inboxes.len(),
            "fediverse: queued"
        );
        sent += 1;
    }
    for post in posts.values() {
        if post.deleted != 0 || seen.contains(&post.page_id) {
            continue;
        }
        let Some(series) = site.series.iter().find(|s| s.id.0 == post.series_id) else {
            continue;
        };
        let inboxes = inboxes_for(db, &mut inboxes_of, series.id.0, &blocked).await?;
        let note_id = ids.note(post.page_id);
        let uri = format!("{note_id}/activities/delete-{now}");
        let activity = objects::activity(
            "Delete",
            &uri,
            &ids.actor(&series.slug),
            &ids.followers(&series.slug),
            objects::tombstone(&note_id, now),
            now,
        );
        let body = activity.to_string();
        let new = store::NewActivity {
            uri: &uri,
            kind: "Delete",
            series: series.id.0,
            page: Some(post.page_id),
            body: &body,
        };
        queue(db, &new, &inboxes, &post.note_hash, true, now).await?;
        tracing::info!(
            page = post.page_id.0,
            inboxes = inboxes.len(),
            "fediverse: queued Delete"
        );
        sent += 1;
    }
    if sent > 0 {
        tracing::debug!(sent, "fediverse: reconciled");
    }
    Ok(next_live)
}

/// One change told to followers, in one transaction: the activity, its
/// deliveries and what followers now know of the page.
async fn queue(
    db: &crate::db::Db,
    activity: &store::NewActivity<'_>,
    inboxes: &[String],
    note_hash: &str,
    deleted: bool,
    now: i64,
) -> anyhow::Result<()> {
    let page = activity
        .page
        .ok_or_else(|| anyhow::anyhow!("a page activity without its page"))?;
    let mut tx = db.begin_write().await?;
    store::queue_activity(&mut tx, activity, inboxes, now).await?;
    store::set_post(&mut tx, page, activity.series, note_hash, deleted, now).await?;
    tx.commit().await?;
    Ok(())
}

async fn inboxes_for(
    db: &crate::db::Db,
    cache: &mut HashMap<i64, Vec<String>>,
    series: i64,
    blocked: &super::Blocklist,
) -> Result<Vec<String>, sqlx::Error> {
    if let Some(found) = cache.get(&series) {
        return Ok(found.clone());
    }
    let followers = store::followers(db, Some(series)).await?;
    let inboxes = store::delivery_inboxes(&followers, blocked);
    cache.insert(series, inboxes.clone());
    Ok(inboxes)
}

/// Sends what is due, `concurrency` at a time, until nothing is.
pub async fn deliver(services: &Services) -> anyhow::Result<()> {
    let db = &services.db;
    let config = &services.config.fediverse;
    let key = services.fediverse.key(db).await?;
    let mut bodies: HashMap<i64, Arc<(String, String)>> = HashMap::new();
    loop {
        let now = crate::db::now();
        let due = store::due(db, now, STALE_SECS, BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        let mut work = Vec::with_capacity(due.len());
        for row in due {
            if !store::claim(db, row.id, now).await? {
                continue;
            }
            let body = match bodies.get(&row.activity_id) {
                Some(body) => body.clone(),
                None => {
                    let Some(text) = store::activity_body(db, row.activity_id).await? else {
                        store::finish(
                            db,
                            row.id,
                            "failed",
                            row.attempts,
                            now,
                            "activity missing",
                            now,
                        )
                        .await?;
                        continue;
                    };
                    let actor = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v["actor"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let body = Arc::new((text, format!("{actor}#main-key")));
                    bodies.insert(row.activity_id, body.clone());
                    body
                }
            };
            work.push((row, body));
        }
        // One inbox's activities go in order (a Create before its Update),
        // one at a time; different servers are served concurrently. After
        // a failure the rest of that inbox's rows wait for the retry.
        let mut by_inbox: Vec<(String, Vec<Claimed>)> = Vec::new();
        for (row, body) in work {
            match by_inbox.iter_mut().find(|(inbox, _)| *inbox == row.inbox) {
                Some((_, rows)) => rows.push((row, body)),
                None => by_inbox.push((row.inbox.clone(), vec![(row, body)])),
            }
        }
        let results: Vec<_> = futures_util::stream::iter(by_inbox)
            .map(|(inbox, rows)| {
                let key = key.clone();
                async move {
                    let mut done = Vec::with_capacity(rows.len());
                    let mut blocked = false;
                    for (row, body) in rows {
                        if blocked {
                            done.push((row, None));
                            continue;
                        }
                        let signer = Signer {
                            key: &key,
                            key_id: &body.1,
                        };
                        let outcome = services
                            .fediverse
                            .peers
                            .deliver(&inbox, body.0.as_bytes(), &signer)
                            .await;
                        blocked = !matches!(outcome, Ok(code) if (200..300).contains(&code));
                        done.push((row, Some(outcome)));
                    }
                    done
                }
            })
            .buffer_unordered(config.concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect();
        for (row, outcome) in results {
            let now = crate::db::now();
            let attempts = row.attempts + 1;
            let retry = |error: String| {
                let (status, next_at) = super::retry_after(config, attempts, row.created_at, now);
                (status, next_at, error)
            };
            let Some(outcome) = outcome else {
                // Held back behind an earlier activity to the same inbox.
                let next_at = now + config.retry_min_secs as i64;
                store::finish(
                    db,
                    row.id,
                    "queued",
                    row.attempts,
                    next_at,
                    "waiting for an earlier activity to this server",
                    now,
                )
                .await?;
                continue;
            };
            let (status, next_at, error) = match outcome {
                Ok(code) if (200..300).contains(&code) => ("done", now, String::new()),
                Ok(410) => {
                    let gone = store::remove_followers_at_inbox(db, &row.inbox).await?;
                    tracing::info!(inbox = %row.inbox, gone, "fediverse: inbox gone; followers removed");
                    ("gone", now, "410 Gone".to_owned())
                }
                Ok(code @ (408 | 429)) | Ok(code @ 500..) => retry(format!("answered {code}")),
                Ok(code) => ("failed", now, format!("refused: answered {code}")),
                Err(error @ crate::fediverse::peers::PeerError::Refused(_)) => {
                    ("failed", now, error.to_string())
                }
                Err(error) => retry(error.to_string()),
            };
            if status != "done" {
                tracing::warn!(inbox = %row.inbox, status, %error, attempts, "fediverse: delivery not made");
            }
            metrics::counter!("halftone_fediverse_deliveries_total", "status" => status)
                .increment(1);
            store::finish(db, row.id, status, attempts, next_at, &error, now).await?;
        }
    }
}
