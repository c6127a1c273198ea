//! Prometheus metrics: a global recorder, the `/metrics` endpoint and the
//! per-request middleware.
//!
//! Names: `halftone_http_requests_total{method,route,status}`,
//! `halftone_http_request_duration_seconds{route}`,
//! `halftone_cache_requests_total{result}` (hit, shared-hit, stale,
//! coalesced, miss, fallback), `halftone_renders_total`,
//! `halftone_render_seconds`, `halftone_cache_invalidations_total`,
//! `halftone_db_queries_total`, `halftone_db_pool_connections{state}`,
//! `halftone_redis_up`.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::startup::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (tests build many apps).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &latency,
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(%error, "metrics are disabled: a recorder is already installed");
                    None
                }
            }
        })
        .as_ref()
}

/// `GET /metrics` (never cached): with `metrics_token` set, only with that
/// bearer token; without it, only from `metrics_allow` (the machine itself
/// by default) — operational figures are not for everyone.
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let allowed = match &state.config.metrics_token {
        Some(token) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            halftone_protocol::same_secret(given, secrecy::ExposeSecret::expose_secret(token))
        }
        None => state.metrics_allowed.is_trusted(state.client_ip(&req)),
    };
    if !allowed {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body("metrics need the token (metrics_token), or a request from an address in metrics_allow");
    }
    let Some(handle) = install() else {
        return HttpResponse::ServiceUnavailable().body("metrics are disabled");
    };
    let pool = state.db.pool();
    metrics::gauge!("halftone_db_pool_connections", "state" => "open").set(f64::from(pool.size()));
    metrics::gauge!("halftone_db_pool_connections", "state" => "idle").set(pool.num_idle() as f64);
    metrics::gauge!("halftone_db_pool_connections", "state" => "max").set(f64::from(
        state.config.database.pool_size(state.db.backend()),
    ));
    metrics::counter!("halftone_db_queries_total")
        .absolute(crate::telemetry::DB_QUERIES_TOTAL.load(std::sync::atomic::Ordering::Relaxed));
    if let Some(up) = state.cache.redis_up() {
        metrics::gauge!("halftone_redis_up").set(if up { 1.0 } else { 0.0 });
    }
    handle.run_upkeep();
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(handle.render())
}

/// A label for common methods without allocating.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// Counts and times a finished request by route pattern and status.
pub fn record_request(
    method: &'static str,
    route: Option<String>,
    status: actix_web::http::StatusCode,
    elapsed: std::time::Duration,
) {
    crate::cluster::stats::request();
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let status: &'static str = match status.as_u16() {
        200 => "200",
        304 => "304",
        302 => "302",
        303 => "303",
        404 => "404",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("halftone_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("halftone_http_request_duration_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
}

/// A route's request metrics as handles taken once: the fast lane
/// (`http::lane`) records a cached hit without a lookup by label.
pub struct RouteMetrics {
    pub ok: metrics::Counter,
    pub not_modified: metrics::Counter,
    pub duration: metrics::Histogram,
    /// The route is a feed: every fetch is reported to analytics, cached or not.
    pub feed: bool,
}

/// Put in a request's extensions by the feed handlers (see `RouteMetrics::feed`).
#[derive(Clone, Copy)]
pub struct FeedFetch;

impl RouteMetrics {
    pub fn new(route: Option<String>, feed: bool) -> Self {
        let route = route.unwrap_or_else(|| "unmatched".to_owned());
        Self {
            feed,
            ok: metrics::counter!("halftone_http_requests_total", "method" => "GET", "route" => route.clone(), "status" => "200"),
            not_modified: metrics::counter!("halftone_http_requests_total", "method" => "GET", "route" => route.clone(), "status" => "304"),
            duration: metrics::histogram!("halftone_http_request_duration_seconds", "route" => route),
        }
    }
}
