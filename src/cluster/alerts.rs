//! Alert mails to the site's owners, at most one per cause per
//! `cluster.alert_every_secs` (an hour), whichever node notices first: the
//! `alerts` row of a cause is claimed with a conditional write before the
//! mail goes out. Run by the watchdog (one node at a time). "Database
//! unreachable" cannot be claimed in the database, so each node remembers
//! its own (with several nodes, each may send one an hour).

use std::sync::Mutex;
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Serialize;

use crate::auth::{users, Role};
use crate::db::Db;
use crate::email::Mail;
use crate::startup::Services;

/// What the analytics service's `/readyz` says (the System page shows it).
#[derive(Debug, Clone, Serialize, Default)]
pub struct AnalyticsHealth {
    pub reachable: bool,
    pub spool_ok: bool,
    pub database: bool,
    pub lag: u64,
}

/// The analytics service's health, when one is configured.
pub async fn analytics_health(services: &Services) -> Option<AnalyticsHealth> {
    let base = services.config.analytics.internal_url.as_ref().or(services
        .config
        .analytics
        .url
        .as_ref())?;
    let url = format!("{}/readyz", base.as_str().trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .ok()?;
    let Ok(response) = client.get(&url).send().await else {
        return Some(AnalyticsHealth::default());
    };
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    Some(AnalyticsHealth {
        reachable: true,
        spool_ok: body["spool"].as_bool().unwrap_or(false),
        database: body["database"].as_bool().unwrap_or(false),
        lag: body["lag"].as_u64().unwrap_or(0),
    })
}

/// Claims `cause` for a mail now: true unless one was sent within `every`.
pub async fn claim(
    db: &Db,
    cause: &str,
    every_secs: u64,
    detail: &str,
) -> Result<bool, sqlx::Error> {
    let now = crate::db::now();
    let detail: String = detail.chars().take(1000).collect();
    let updated =
        sqlx::query("UPDATE alerts SET sent_at = ?, detail = ? WHERE cause = ? AND sent_at <= ?")
            .bind(now)
            .bind(&detail)
            .bind(cause)
            .bind(now - every_secs as i64)
            .execute(db)
            .await?;
    if updated.rows_affected() > 0 {
        return Ok(true);
    }
    match sqlx::query("INSERT INTO alerts (cause, sent_at, detail) VALUES (?, ?, ?)")
        .bind(cause)
        .bind(now)
        .bind(&detail)
        .execute(db)
        .await
    {
        Ok(_) => Ok(true),
        // There is a row, and it is recent: somebody already told them.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Mails every owner. Returns how many mails went out.
pub async fn mail_owners(services: &Services, subject: &str, text: &str) -> anyhow::Result<usize> {
    if !services.mailer.is_enabled() {
        return Ok(0);
    }
    let owners = users::list(&services.db)
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Owner);
    let mut sent = 0;
    for owner in owners {
        let to = match owner.email.parse() {
            Ok(address) => Mailbox::new(Some(owner.name.clone()), address),
            Err(error) => {
                tracing::warn!(%error, user = owner.id, "owner has an unusable e-mail address");
                continue;
            }
        };
        services
            .mailer
            .send(Mail {
                to,
                subject: subject.to_owned(),
                text: format!("Hello {},\n\n{text}\n", owner.name),
                html: None,
                headers: Vec::new(),
                message_id: None,
            })
            .await?;
        sent += 1;
    }
    Ok(sent)
}

/// Whether an alert mail can reach anybody (mail configured, an owner).
async fn anyone_to_tell(services: &Services) -> bool {
    services.mailer.is_enabled()
        && users::list(&services.db)
            .await
            .is_ok_and(|users| users.iter().any(|u| u.role == Role::Owner))
}

/// Claims and sends one alert. With nobody to tell (no mail set up, no
/// owner yet) it is only logged, and the claim is left for when there is.
async fn raise(services: &Services, cause: &str, subject: &str, text: &str) {
    if !anyone_to_tell(services).await {
        tracing::debug!(
            cause,
            "alert not mailed (no mail transport or no owner): {subject}"
        );
        return;
    }
    let every = services.config.cluster.alert_every_secs;
    match claim(&services.db, cause, every, text).await {
        Ok(true) => {
            metrics::counter!("halftone_alerts_total", "cause" => cause.split(':').next().unwrap_or(cause).to_owned())
                .increment(1);
            tracing::warn!(cause, "alert: {subject}");
            let site = site_title(services).await;
            let text = format!(
                "{text}\n\nSystem page: {}/admin/system",
                services.config.base_url()
            );
            if let Err(e) = mail_owners(services, &format!("{site}: {subject}"), &text).await {
                tracing::error!(cause, error = %format!("{e:#}"), "cannot mail an alert");
            }
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(cause, error = %e, "cannot record an alert"),
    }
}

async fn site_title(services: &Services) -> String {
    crate::comics::settings::load(&services.db)
        .await
        .map(|s| s.title)
        .unwrap_or_else(|_| "Halftone".to_owned())
}

/// The database did not answer this node. Logged always; mailed at most
/// once per interval per node (the claim needs the database).
pub async fn database_unreachable(services: &Services, error: &sqlx::Error) {
    static LAST: Mutex<Option<std::time::Instant>> = Mutex::new(None);
    tracing::error!(error = %error, "watchdog: the database is unreachable");
    let every = Duration::from_secs(services.config.cluster.alert_every_secs);
    let due = LAST
        .lock()
        .map(|mut last| {
            let due = last.is_none_or(|t| t.elapsed() >= every);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        })
        .unwrap_or(false);
    if due {
        let text = format!(
            "Node {} cannot reach the database: {error}.\nReaders are served from the page cache \
             while it lasts; the admin is unavailable.",
            services.node.id
        );
        if let Err(e) = mail_owners(services, "Halftone: the database is unreachable", &text).await
        {
            tracing::error!(error = %format!("{e:#}"), "cannot mail the database alert");
        }
    }
}

/// Every check the watchdog runs.
pub async fn check_all(services: &Services) {
    let cluster = &services.config.cluster;
    // Nodes that stopped answering without saying goodbye.
    match super::node::list(&services.db, cluster.node_timeout_secs).await {
        Ok(nodes) => {
            let now = crate::db::now();
            for node in nodes.iter().filter(|n| n.state == "gone") {
                // Only recently: a node gone for days was reported then.
                if now - node.seen_at < 24 * 3600 {
                    raise(
                        services,
                        &format!("node-gone:{}", node.id),
                        &format!("node {} is gone", node.id),
                        &format!(
                            "Node {} ({}) has not been heard of since {}. Its work (newsletter, \
                             backups, checks) has moved to the other nodes.",
                            node.id,
                            node.address,
                            crate::time::local_time(node.seen_at, "UTC")
                        ),
                    )
                    .await;
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "watchdog: cannot list nodes"),
    }
    // The disk holding the data folder (SQLite, local media, backups, logs).
    if let Some(used) = super::stats::disk_used_percent(&services.config.data_dir) {
        if used > cluster.disk_alert_percent {
            raise(
                services,
                "disk",
                &format!("the disk is {used:.0} % full"),
                &format!(
                    "The disk holding {} is {used:.1} % full (the alert is set at {} %). \
                     A full disk stops uploads and backups.",
                    services.config.data_dir.display(),
                    cluster.disk_alert_percent
                ),
            )
            .await;
        }
    }
    // Backups: only when they are scheduled.
    if services.config.backup.daily_at.is_some() {
        match crate::backup::history::last_verified(&services.db).await {
            Ok(last) => {
                let age = last.map(|t| crate::db::now() - t);
                let limit = cluster.backup_stale_hours as i64 * 3600;
                if age.is_none_or(|a| a > limit) {
                    raise(
                        services,
                        "backup-stale",
                        "no recent backup",
                        &match last {
                            Some(t) => format!(
                                "The newest good backup was made {}; backups are scheduled daily.",
                                crate::time::local_time(t, "UTC")
                            ),
                            None => {
                                "There is no good backup yet, though backups are scheduled daily."
                                    .to_owned()
                            }
                        },
                    )
                    .await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "watchdog: cannot read backups"),
        }
    }
    // Analytics: hits waiting on the service's disk, more at every check.
    if let Some(health) = analytics_health(services).await {
        static LAGS: Mutex<Vec<u64>> = Mutex::new(Vec::new());
        let growing = LAGS
            .lock()
            .map(|mut lags| {
                lags.push(health.lag);
                if lags.len() > 3 {
                    lags.remove(0);
                }
                lags.len() == 3 && lags.windows(2).all(|w| w[1] > w[0]) && health.lag > 1000
            })
            .unwrap_or(false);
        if !health.reachable {
            raise(
                services,
                "analytics-down",
                "the analytics service does not answer",
                "The analytics service does not answer. Page views are counted again when it is back \
                 (the site keeps them in memory a while).",
            )
            .await;
        } else if growing {
            raise(
                services,
                "analytics-backlog",
                "the analytics backlog is growing",
                &format!(
                    "{} page views wait in the analytics service's spool, more at every check: \
                     its database is slow or down. Nothing is lost; they are written when it recovers.",
                    health.lag
                ),
            )
            .await;
        }
    }
    // The queue's buffer, every `admin.buffer_check_secs` (its mail has its
    // own once-a-day rule).
    static BUFFER_CHECKED: Mutex<Option<std::time::Instant>> = Mutex::new(None);
    let every = Duration::from_secs(services.config.admin.buffer_check_secs);
    let due = BUFFER_CHECKED
        .lock()
        .map(|mut last| {
            let due = last.is_none_or(|t| t.elapsed() >= every);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        })
        .unwrap_or(true);
    if due {
        if let Err(e) = crate::queue::notify::check(services).await {
            tracing::warn!(error = %format!("{e:#}"), "buffer check failed");
        }
    }
}

/// The newest alerts sent: when, and what they said.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT sent_at, detail FROM alerts ORDER BY sent_at DESC LIMIT ?")
        .bind(limit)
        .fetch_all(db)
        .await
}
