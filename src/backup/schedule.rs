//! Daily backups from `serve` itself (no cron): at `backup.daily_at` in the
//! site's time zone, by whichever node takes the `backup` lease. A node
//! that was down at that time makes the missed backup when it comes up.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};

use super::{Kind, Progress};
use crate::startup::Services;

const LEASE: &str = "backup";
const LEASE_MS: i64 = 10 * 60 * 1000;

/// The newest scheduled time at or before `now`.
pub fn due_since(now: DateTime<Utc>, at: NaiveTime, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    for days_back in 0..3 {
        let day = local - chrono::Duration::days(days_back);
        if let Some(t) = tz.from_local_datetime(&day.and_time(at)).earliest() {
            let t = t.with_timezone(&Utc);
            if t <= now {
                return t;
            }
        }
    }
    now
}

/// The next scheduled time after `now` (for the admin).
pub fn next_after(now: DateTime<Utc>, at: NaiveTime, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    for days_ahead in 0..3 {
        let day = local + chrono::Duration::days(days_ahead);
        if let Some(t) = tz.from_local_datetime(&day.and_time(at)).earliest() {
            let t = t.with_timezone(&Utc);
            if t > now {
                return t;
            }
        }
    }
    now + chrono::Duration::days(1)
}

pub fn daily_at(services: &Services) -> Option<NaiveTime> {
    let at = services.config.backup.daily_at.as_deref()?;
    NaiveTime::parse_from_str(at, "%H:%M").ok()
}

pub async fn site_zone(services: &Services) -> chrono_tz::Tz {
    crate::comics::settings::load(&services.db)
        .await
        .ok()
        .and_then(|s| s.timezone.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// Starts the scheduler on this node (every node runs one; the lease and
/// the history decide who backs up).
pub fn spawn(services: Services, progress: Arc<Progress>) {
    let Some(at) = daily_at(&services) else {
        return;
    };
    let owner = services.node.id.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&services, &progress, at, &owner).await {
                tracing::warn!(error = %format!("{e:#}"), "scheduled backup: trying again in a minute");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
}

async fn tick(
    services: &Services,
    progress: &Arc<Progress>,
    at: NaiveTime,
    owner: &str,
) -> anyhow::Result<()> {
    let tz = site_zone(services).await;
    let due = due_since(Utc::now(), at, tz).timestamp();
    let db = &services.db;
    if done_since(services, due).await? || progress.running() {
        return Ok(());
    }
    if !crate::leases::acquire(db, LEASE, owner, LEASE_MS).await? {
        return Ok(());
    }
    // Another node may have finished it just before the lease was free.
    if done_since(services, due).await? || !progress.try_begin() {
        crate::leases::release(db, LEASE, owner).await?;
        return Ok(());
    }
    let renew = {
        let db = db.clone();
        let owner = owner.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis((LEASE_MS / 3) as u64)).await;
                let _ = crate::leases::acquire(&db, LEASE, &owner, LEASE_MS).await;
            }
        })
    };
    let result = super::run(
        db,
        &services.config,
        services.config.file.as_deref(),
        &services.config.backup_dir(),
        Kind::Schedule,
        progress,
    )
    .await;
    renew.abort();
    progress.end();
    crate::leases::release(db, LEASE, owner).await?;
    result.map(|_| ())
}

/// Whether a scheduled backup started at or after `due` (finished or
/// failed: a failure is retried the next day, and shown in the admin).
async fn done_since(services: &Services, due: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM backups WHERE kind = 'schedule' AND started_at >= ?",
    )
    .bind(due)
    .fetch_one(&services.db)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_and_next_follow_the_site_zone() {
        let tz: chrono_tz::Tz = "Europe/Paris".parse().unwrap_or(chrono_tz::UTC);
        let at = NaiveTime::from_hms_opt(3, 0, 0).unwrap_or_default();
        // 1 Dec 2026 01:30 UTC = 02:30 in Paris: today's 03:00 is ahead.
        let now = Utc
            .with_ymd_and_hms(2026, 12, 1, 1, 30, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(
            next_after(now, at, tz),
            Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0)
                .single()
                .unwrap_or_default()
        );
        assert_eq!(
            due_since(now, at, tz),
            Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0)
                .single()
                .unwrap_or_default()
        );
    }
}
