//! `/admin/system` (owners): the cluster at a glance. Nodes (version,
//! uptime, memory, requests/s, cache hit rate), the database, Redis, the
//! analytics service and its spool lag, the search index, who holds which
//! singleton lease, background work with its progress (newsletter sends,
//! backups, media sync), and the last errors the nodes logged. It refreshes
//! itself every 10 seconds. `?format=json` gives the same as JSON.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::cluster::{alerts, jobs, node};
use crate::error::AppError;
use crate::startup::AppState;
use crate::time::local_time;

#[derive(Serialize)]
struct NodeView {
    id: String,
    this: bool,
    state: &'static str,
    version: String,
    address: String,
    uptime: String,
    seen: String,
    memory: String,
    requests_per_sec: f64,
    cache_hit_rate: Option<String>,
    redis: &'static str,
}

#[derive(Serialize)]
struct ErrorView {
    node: String,
    at: String,
    message: String,
}

#[derive(Serialize)]
struct LeaseView {
    name: String,
    owner: String,
    live: bool,
}

#[derive(Serialize)]
struct JobView {
    name: String,
    node: String,
    state: String,
    percent: i64,
    detail: String,
    updated: String,
}

#[derive(Serialize)]
struct SystemTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    chrome: Option<AdminChrome>,
    this_node: String,
    nodes: Vec<NodeView>,
    database: String,
    database_ms: f64,
    redis: &'static str,
    analytics: Option<alerts::AnalyticsHealth>,
    media_store: String,
    search_docs: u64,
    leases: Vec<LeaseView>,
    jobs: Vec<JobView>,
    errors: Vec<ErrorView>,
    alerts: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct Query {
    format: Option<String>,
}

/// Redis as the page says it: not configured, up or down.
fn redis_word(up: Option<bool>) -> &'static str {
    match up {
        None => "not used",
        Some(true) => "up",
        Some(false) => "down",
    }
}

fn since(secs: i64) -> String {
    match secs {
        s if s < 90 => format!("{s} s"),
        s if s < 90 * 60 => format!("{} min", s / 60),
        s if s < 48 * 3600 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    query: web::Query<Query>,
) -> Result<HttpResponse, AppError> {
    view::require_owner(&session)?;
    let json = query.format.as_deref() == Some("json");
    let chrome = if json {
        None
    } else {
        Some(AdminChrome::new(&state, &session, &req, "system").await?)
    };
    let tz = chrome
        .as_ref()
        .map_or_else(|| "UTC".to_owned(), |c| c.timezone.clone());
    let now = crate::db::now();
    let started = Instant::now();
    state.db.ping().await?;
    let database_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    let timeout = state.config.cluster.node_timeout_secs;
    let node_rows = node::list(&state.db, timeout).await?;
    let mut errors = Vec::new();
    let nodes = node_rows
        .into_iter()
        .map(|n| {
            // This node's own errors live; the others' from their heartbeat.
            let logged = if n.id == state.node.id {
                crate::cluster::errors::recent()
            } else {
                n.stats.errors.clone()
            };
            for e in logged {
                errors.push((e.at, n.id.clone(), e.message));
            }
            NodeView {
                this: n.id == state.node.id,
                state: n.state,
                version: n.version,
                address: n.address,
                uptime: since(n.seen_at - n.started_at),
                seen: if n.state == "up" {
                    format!("{} ago", since(now - n.seen_at))
                } else {
                    local_time(n.stopped_at.unwrap_or(n.seen_at), &tz)
                },
                memory: crate::backup::human_bytes(n.stats.memory_bytes),
                requests_per_sec: n.stats.requests_per_sec,
                cache_hit_rate: n
                    .stats
                    .cache_hit_rate()
                    .map(|r| format!("{:.1} %", r * 100.0)),
                redis: redis_word(n.stats.redis),
                id: n.id,
            }
        })
        .collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.0));
    let errors = errors
        .into_iter()
        .take(10)
        .map(|(at, node, message)| ErrorView {
            node,
            at: local_time(at, &tz),
            message,
        })
        .collect();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let leases = crate::leases::list(&state.db)
        .await?
        .into_iter()
        .map(|(name, owner, until_ms)| LeaseView {
            name,
            owner,
            live: until_ms > now_ms,
        })
        .collect();
    let mut jobs: Vec<JobView> = jobs::list(&state.db)
        .await?
        .into_iter()
        .map(|j| JobView {
            percent: (j.done * 100).checked_div(j.total).unwrap_or(100).min(100),
            name: j.name,
            node: j.node,
            state: j.state,
            detail: j.detail,
            updated: local_time(j.updated_at, &tz),
        })
        .collect();
    if state.backups.running() {
        let (phase, done, total) = state.backups.get();
        jobs.insert(
            0,
            JobView {
                name: "backup".to_owned(),
                node: state.node.id.clone(),
                state: "running".to_owned(),
                percent: (done * 100).checked_div(total).unwrap_or(0).min(100) as i64,
                detail: phase,
                updated: local_time(now, &tz),
            },
        );
    }
    for mailing in crate::newsletter::outbox::recent(&state.db, 5).await? {
        let p = &mailing.progress;
        let open = p.queued + p.sending;
        if open > 0 {
            jobs.push(JobView {
                name: "newsletter".to_owned(),
                node: String::new(),
                state: "running".to_owned(),
                percent: ((p.total - open) * 100).checked_div(p.total).unwrap_or(0),
                detail: format!("{}: {} of {} sent", mailing.subject, p.sent, p.total),
                updated: local_time(mailing.created_at, &tz),
            });
        }
    }
    let alerts = crate::cluster::alerts::recent(&state.db, 10)
        .await?
        .into_iter()
        .map(|(at, detail)| (local_time(at, &tz), detail))
        .collect();
    let page = SystemTemplate {
        chrome,
        this_node: state.node.id.clone(),
        nodes,
        database: format!("{:?}", state.db.backend()),
        database_ms,
        redis: redis_word(state.cache.redis_up()),
        analytics: alerts::analytics_health(&state.services).await,
        media_store: state.media.describe(),
        search_docs: state.search.index().len(),
        leases,
        jobs,
        errors,
        alerts,
    };
    if json {
        return Ok(HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(&page));
    }
    view::render(&state, &req, "admin/system.html", &page)
}
