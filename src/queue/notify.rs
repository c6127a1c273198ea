//! The buffer warning by mail: when fewer pages than the author's minimum
//! are queued, the owners get one mail (at most one a day). The watchdog
//! (`cluster::node`, one node at a time) runs the check periodically.

use crate::auth::{users, Role};
use crate::comics::settings;
use crate::startup::Services;

const WARN_EVERY_SECS: i64 = 24 * 3600;

/// Checks the buffer in the background (after a schedule change).
pub fn check_soon(services: &Services) {
    let state = services.clone();
    tokio::spawn(async move {
        if let Err(error) = check(&state).await {
            tracing::warn!(error = format!("{error:#}"), "buffer check failed");
        }
    });
}

/// Sends the warning if the buffer is low and none was sent in the last day.
/// Returns whether a mail went out.
pub async fn check(state: &Services) -> anyhow::Result<bool> {
    if !state.mailer.is_enabled() {
        return Ok(false);
    }
    let now = crate::db::now();
    let map = settings::load_map(&state.db).await?;
    let cadence = super::Cadence::from_settings(&map);
    let scheduled = super::scheduled(&state.db, now).await?;
    let buffer = super::buffer(&cadence, &scheduled);
    let warned_at: i64 = map
        .get("queue.warned_at")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if !buffer.low {
        if warned_at != 0 {
            // Back above the line: the next drop warns again at once.
            let mut conn = state.db.pool().acquire().await?;
            settings::set(&mut conn, "queue.warned_at", "0").await?;
        }
        return Ok(false);
    }
    if now - warned_at < WARN_EVERY_SECS {
        return Ok(false);
    }
    if !users::list(&state.db)
        .await?
        .iter()
        .any(|u| u.role == Role::Owner)
    {
        // Nobody to tell yet (a new site): try again at the next check.
        return Ok(false);
    }
    // Claim today's warning before sending it: a check racing this one (on
    // this node or another) finds the claim taken and sends nothing.
    let stored = map
        .get("queue.warned_at")
        .cloned()
        .unwrap_or_else(|| "0".to_owned());
    if !settings::compare_and_set(&state.db, "queue.warned_at", &stored, &now.to_string()).await? {
        return Ok(false);
    }
    let site = map
        .get("site.title")
        .cloned()
        .unwrap_or_else(|| "your comic".into());
    let when = buffer
        .runs_out_at
        .map(|t| {
            format!(
                "The last queued page goes live {}.",
                crate::time::local_time(t, cadence.tz.name())
            )
        })
        .unwrap_or_else(|| {
            "Nothing is queued: the next update day will pass without a page.".into()
        });
    let admin = format!("{}/admin/queue", state.config.base_url());
    let text = format!(
        "Only {queued} page(s) of {site} are queued; you wanted at least {min}.\n{when}\n\nQueue: {admin}",
        queued = buffer.queued,
        min = buffer.minimum,
    );
    crate::cluster::alerts::mail_owners(
        state,
        &format!("{site}: only {} page(s) left in the queue", buffer.queued),
        &text,
    )
    .await?;
    tracing::info!(
        queued = buffer.queued,
        minimum = buffer.minimum,
        "buffer warning sent"
    );
    Ok(true)
}
