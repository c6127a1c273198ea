//! This node in the `nodes` table: a heartbeat every `cluster.heartbeat_secs`
//! with what the System page shows (version, uptime, memory, requests/s,
//! cache hit rate, its last errors), and the watchdog: the node holding the
//! `watchdog` lease runs the periodic checks (alerts, the queue's buffer).
//! A node that dies stops renewing; after `lease_secs` another node takes
//! the lease, and after `node_timeout_secs` it is reported gone.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{errors, stats};
use crate::db::Db;
use crate::startup::Services;

pub const WATCHDOG: &str = "watchdog";

/// Who this node is: on the System page, and as the owner of its leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId {
    pub id: String,
    pub address: String,
}

impl NodeId {
    /// `cluster.node_name`, else the host name and port, plus a random tail
    /// so a restarted node is a new row (its predecessor shows as stopped).
    pub fn new(config: &crate::config::Config, port: u16) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".to_owned());
        let address = format!("{host}:{port}");
        let name = config
            .cluster
            .node_name
            .clone()
            .unwrap_or_else(|| address.clone());
        let tail = &crate::tokens::random_token()[..6];
        Self {
            id: format!("{name}~{tail}"),
            address,
        }
    }

    /// A command run from a shell (`media sync`), for job rows.
    pub fn command(what: &str) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Self {
            id: format!("{what} on {host} (pid {})", std::process::id()),
            address: host,
        }
    }
}

/// What a node says about itself in its heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct NodeStats {
    pub pid: u32,
    pub memory_bytes: u64,
    pub requests_total: u64,
    pub requests_per_sec: f64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub draining: bool,
    pub redis: Option<bool>,
    pub errors: Vec<errors::LoggedError>,
}

impl NodeStats {
    pub fn cache_hit_rate(&self) -> Option<f64> {
        let all = self.cache_hits + self.cache_misses;
        (all > 0).then(|| self.cache_hits as f64 / all as f64)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    pub id: String,
    pub version: String,
    pub address: String,
    pub started_at: i64,
    pub seen_at: i64,
    pub stopped_at: Option<i64>,
    pub stats: NodeStats,
    /// "up", "stopped" (shut down cleanly) or "gone" (unheard of).
    pub state: &'static str,
}

/// Nodes seen in the last week, live ones first.
pub async fn list(db: &Db, timeout_secs: u64) -> Result<Vec<NodeRow>, sqlx::Error> {
    let now = crate::db::now();
    type Row = (String, String, String, i64, i64, Option<i64>, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, version, address, started_at, seen_at, stopped_at, stats FROM nodes \
         WHERE seen_at > ? ORDER BY started_at, id",
    )
    .bind(now - 7 * 24 * 3600)
    .fetch_all(db)
    .await?;
    let mut nodes: Vec<NodeRow> = rows
        .into_iter()
        .map(
            |(id, version, address, started_at, seen_at, stopped_at, stats)| {
                let state = if stopped_at.is_some() {
                    "stopped"
                } else if now - seen_at > timeout_secs as i64 {
                    "gone"
                } else {
                    "up"
                };
                NodeRow {
                    id,
                    version,
                    address,
                    started_at,
                    seen_at,
                    stopped_at,
                    stats: serde_json::from_str(&stats).unwrap_or_default(),
                    state,
                }
            },
        )
        .collect();
    nodes.sort_by_key(|n| n.state != "up");
    Ok(nodes)
}

async fn beat(services: &Services, started_at: i64, stats: &NodeStats) -> Result<(), sqlx::Error> {
    let node = &services.node;
    let now = crate::db::now();
    // The column holds 8,000 characters: long error lines give way first.
    let mut stats = stats.clone();
    let mut json = serde_json::to_string(&stats).unwrap_or_else(|_| "{}".to_owned());
    while json.len() > 7_500 && stats.errors.pop().is_some() {
        json = serde_json::to_string(&stats).unwrap_or_else(|_| "{}".to_owned());
    }
    let updated = sqlx::query("UPDATE nodes SET seen_at = ?, stats = ? WHERE id = ?")
        .bind(now)
        .bind(&json)
        .bind(&node.id)
        .execute(&services.db)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO nodes (id, version, address, started_at, seen_at, stopped_at, stats) \
             VALUES (?, ?, ?, ?, ?, NULL, ?)",
        )
        .bind(&node.id)
        .bind(env!("CARGO_PKG_VERSION"))
        .bind(&node.address)
        .bind(started_at)
        .bind(now)
        .bind(&json)
        .execute(&services.db)
        .await?;
        // Rows of nodes long gone are forgotten.
        sqlx::query("DELETE FROM nodes WHERE seen_at < ?")
            .bind(now - 7 * 24 * 3600)
            .execute(&services.db)
            .await?;
    }
    Ok(())
}

/// Marks this node as stopped on purpose (no "node gone" alert) and gives
/// up its leases so the work moves at once.
pub async fn stopping(services: &Services) {
    let node = &services.node.id;
    let result = async {
        sqlx::query("UPDATE nodes SET stopped_at = ? WHERE id = ?")
            .bind(crate::db::now())
            .bind(node)
            .execute(&services.db)
            .await?;
        sqlx::query("UPDATE leases SET until_ms = 0 WHERE owner = ?")
            .bind(node)
            .execute(&services.db)
            .await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not mark this node as stopped");
    }
}

/// Starts the heartbeat and the watchdog of this node.
pub fn spawn(services: Services) {
    let every = Duration::from_secs(services.config.cluster.heartbeat_secs);
    let started_at = crate::db::now();
    let heartbeat = services.clone();
    tokio::spawn(async move {
        let mut last = (Instant::now(), stats::read().requests);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if *heartbeat.draining.borrow() {
                return;
            }
            let counters = stats::read();
            let secs = last.0.elapsed().as_secs_f64().max(0.001);
            let per_sec = counters.requests.saturating_sub(last.1) as f64 / secs;
            last = (Instant::now(), counters.requests);
            let stats = NodeStats {
                pid: std::process::id(),
                memory_bytes: stats::memory_bytes(),
                requests_total: counters.requests,
                requests_per_sec: (per_sec * 10.0).round() / 10.0,
                cache_hits: counters.cache_hits,
                cache_misses: counters.cache_misses,
                draining: false,
                redis: heartbeat.cache.redis_up(),
                errors: errors::recent().into_iter().take(10).collect(),
            };
            if let Err(e) = beat(&heartbeat, started_at, &stats).await {
                tracing::warn!(error = %e, "heartbeat: cannot reach the database");
            }
        }
    });
    tokio::spawn(watchdog(services));
}

/// Every `check_secs`: take (or renew) the watchdog lease; its holder runs
/// the checks. Every node checks the database itself, since a node that
/// cannot reach it cannot take a lease either.
async fn watchdog(services: Services) {
    let cluster = &services.config.cluster;
    let every = Duration::from_secs(cluster.check_secs.min(cluster.lease_secs / 2).max(1));
    let lease_ms = cluster.lease_secs as i64 * 1000;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_checks: Option<Instant> = None;
    let mut draining = services.draining.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = draining.wait_for(|d| *d) => return,
        }
        match crate::leases::acquire(&services.db, WATCHDOG, &services.node.id, lease_ms).await {
            Ok(true) => {
                let due = last_checks
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(cluster.check_secs));
                if due {
                    last_checks = Some(Instant::now());
                    super::alerts::check_all(&services).await;
                    crate::comments::mail::watchdog(&services).await;
                }
            }
            Ok(false) => last_checks = None,
            Err(e) => super::alerts::database_unreachable(&services, &e).await,
        }
    }
}
