//! HTTP: the beacon and pixel (public), server events (secret), the
//! dashboard, JSON API, CSV and realtime stream (admins), and operations
//! endpoints. Handlers are thin: classify, spool, answer.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use halftone_protocol::net::TrustedProxies;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;

use crate::auth;
use crate::config::Config;
use crate::dashboard;
use crate::hit::{self, Beacon, Client, ServerEvent, MAX_BEACON_BYTES, MAX_EVENTS_BYTES};
use crate::ledger::Ledger;
use crate::realtime::Realtime;
use crate::report::{self, Range};
use crate::salt::Salts;
use crate::spool::{Appended, Spool, SpoolError};
use crate::store::Store;

/// Server events accepted in one request.
const MAX_EVENTS: usize = 1000;

pub struct State {
    pub config: Config,
    pub proxies: TrustedProxies,
    /// Who may read `/metrics` without the token.
    pub metrics_allowed: TrustedProxies,
    pub sessions: auth::Sessions,
    pub spool: Spool,
    pub salts: Salts,
    pub store: Store,
    pub realtime: Arc<Realtime>,
    pub ledger: Arc<Ledger>,
    pub limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    pub prometheus: PrometheusHandle,
}

impl State {
    pub fn limiter(rate: u32) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
        let rate = NonZeroU32::new(rate)?;
        let burst = rate.saturating_mul(NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN));
        Some(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        ))
    }
}

/// The service's one error type, mapped to HTTP here.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("too many hits from this address; slow down")]
    RateLimited,
    #[error("sign in through the site's admin to see the analytics")]
    Unauthorized,
    #[error("the hit could not be stored; retry shortly")]
    Spool(#[from] SpoolError),
    #[error("the analytics database is unavailable; figures will be back when it is")]
    Database(#[from] sqlx::Error),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Spool(_) | ApiError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Database(error) = self {
            tracing::warn!(%error, "dashboard query failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
        if matches!(
            self,
            ApiError::Spool(_) | ApiError::Database(_) | ApiError::RateLimited
        ) {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/hit", web::post().to(beacon))
        .route(
            "/api/hit",
            web::method(actix_web::http::Method::OPTIONS).to(preflight),
        )
        .route("/hit.gif", web::get().to(pixel))
        .route("/api/events", web::post().to(events))
        .route("/api/stats", web::get().to(stats))
        .route("/api/export.csv", web::get().to(export))
        .route("/api/realtime", web::get().to(realtime_stream))
        .route("/api/ledger", web::get().to(ledger))
        .route("/api/revoke", web::post().to(revoke))
        .route("/auth", web::get().to(sign_in))
        .route("/", web::get().to(dashboard_page))
        .route("/metrics", web::get().to(metrics))
        .route(
            "/healthz",
            web::get().to(|| async { HttpResponse::Ok().body("ok") }),
        )
        .route("/readyz", web::get().to(readyz));
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Reads a body up to `limit` bytes, refusing more without reading it all.
async fn read_body(
    mut payload: web::Payload,
    limit: usize,
    ledger: &Ledger,
) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::Invalid(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            ledger.received.fetch_add(1, Ordering::Relaxed);
            ledger.dropped_too_large.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether the reader came over https: only our own proxies may say so.
fn is_https(req: &HttpRequest, proxies: &TrustedProxies) -> bool {
    let via_proxy = req.peer_addr().is_some_and(|a| proxies.is_trusted(a.ip()));
    via_proxy
        && header(req.headers(), "x-forwarded-proto")
            .split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// The reader's address: the peer, or behind our own proxies the address
/// the outermost of them saw (never what the client wrote itself).
fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> IpAddr {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    proxies
        .client_ip(req.peer_addr().map(|a| a.ip()), forwarded)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Do Not Track / Global Privacy Control: the reader asked not to be counted.
fn opted_out(headers: &HeaderMap) -> bool {
    header(headers, "dnt") == "1" || header(headers, "sec-gpc") == "1"
}

fn site_host(headers: &HeaderMap) -> Option<&str> {
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))?
        .to_str()
        .ok()?;
    let rest = origin.split_once("://")?.1;
    Some(rest.split(['/', ':']).next().unwrap_or(rest))
}

/// The reader-facing gate every beacon passes: opt-out, then rate limit.
fn admit(state: &State, req: &HttpRequest, ip: IpAddr) -> Result<bool, ApiError> {
    state.ledger.received.fetch_add(1, Ordering::Relaxed);
    if opted_out(req.headers()) {
        state.ledger.opted_out.fetch_add(1, Ordering::Relaxed);
        return Ok(false);
    }
    if let Some(limiter) = &state.limiter {
        if limiter.check_key(&ip).is_err() {
            state
                .ledger
                .dropped_rate_limit
                .fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::RateLimited);
        }
    }
    Ok(true)
}

async fn record_beacon(
    state: &State,
    req: &HttpRequest,
    beacon: &Beacon,
    ip: IpAddr,
) -> Result<Appended, ApiError> {
    let t = now();
    let ua = header(req.headers(), "user-agent");
    let ids = state.salts.visitor(&ip.to_string(), ua, t);
    let client = Client {
        ua,
        site_host: site_host(req.headers()),
    };
    let record = hit::from_beacon(beacon, &client, &ids, t).map_err(|e| {
        state.ledger.dropped_invalid.fetch_add(1, Ordering::Relaxed);
        ApiError::Invalid(e.to_string())
    })?;
    Ok(state.spool.append(record, ids.previous).await?)
}

fn accepted(outcome: Appended) -> HttpResponse {
    // Static bodies: this answer is sent tens of thousands of times a second.
    let body: &'static str = match outcome {
        Appended::Stored => r#"{"ok":true,"duplicate":false}"#,
        Appended::Duplicate => r#"{"ok":true,"duplicate":true}"#,
    };
    HttpResponse::Accepted()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(body)
}

/// `POST /api/hit`: the reader page's beacon. The body is JSON, usually sent
/// as `text/plain` by `sendBeacon` (which avoids a CORS preflight).
async fn beacon(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state.proxies);
    let body = read_body(payload, MAX_BEACON_BYTES, &state.ledger).await?;
    if !admit(&state, &req, ip)? {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .finish());
    }
    let beacon: Beacon = serde_json::from_slice(&body).map_err(|e| {
        state.ledger.dropped_invalid.fetch_add(1, Ordering::Relaxed);
        ApiError::Invalid(format!("the beacon is not valid: {e}"))
    })?;
    let outcome = record_beacon(&state, &req, &beacon, ip).await?;
    Ok(accepted(outcome))
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

#[derive(Deserialize)]
struct PixelQuery {
    p: String,
    #[serde(default)]
    c: Option<i64>,
    #[serde(default)]
    id: Option<String>,
}

/// A transparent 1×1 GIF.
const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21,
    0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0,
];

/// `GET /hit.gif?p=/path`: the `<noscript>` pixel. Its referrer header is the
/// page itself, so it carries no referral; the id is made here.
async fn pixel(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<PixelQuery>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &state.proxies);
    if admit(&state, &req, ip)? {
        let id = query
            .id
            .clone()
            .unwrap_or_else(|| hex::encode(rand::random::<[u8; 12]>()));
        // The page passes its canonical URL (templates cannot parse URLs).
        let path = match url::Url::parse(&query.p) {
            Ok(url) => url.path().to_owned(),
            Err(_) => query.p.clone(),
        };
        let beacon = Beacon {
            id,
            p: path,
            c: query.c,
            r: None,
            w: None,
        };
        record_beacon(&state, &req, &beacon, ip).await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("image/gif")
        .body(GIF))
}

fn bearer_ok(state: &State, req: &HttpRequest) -> bool {
    let Some(secret) = state.config.secret() else {
        return false;
    };
    header(req.headers(), "authorization")
        .strip_prefix("Bearer ")
        .is_some_and(|given| auth::same_secret(given, secret))
}

fn reader_allowed(state: &State, req: &HttpRequest) -> Result<(), ApiError> {
    if state.config.public || bearer_ok(state, req) {
        return Ok(());
    }
    let session_ok = state.config.secret().is_some_and(|secret| {
        req.cookie(auth::COOKIE)
            .is_some_and(|c| state.sessions.valid(secret, c.value(), now()))
    });
    if session_ok {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// `POST /api/events`: events from other services (the site), as a JSON array.
async fn events(
    state: web::Data<State>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !bearer_ok(&state, &req) {
        return Err(ApiError::Unauthorized);
    }
    let body = read_body(payload, MAX_EVENTS_BYTES, &state.ledger).await?;
    let events: Vec<ServerEvent> = serde_json::from_slice(&body).map_err(|e| {
        state.ledger.dropped_invalid.fetch_add(1, Ordering::Relaxed);
        ApiError::Invalid(format!("the events are not valid: {e}"))
    })?;
    if events.len() > MAX_EVENTS {
        return Err(ApiError::Invalid(format!(
            "at most {MAX_EVENTS} events per request"
        )));
    }
    let t = now();
    let mut records = Vec::with_capacity(events.len());
    let mut invalid = Vec::new();
    for (index, event) in events.iter().enumerate() {
        state.ledger.received.fetch_add(1, Ordering::Relaxed);
        let ids = match (&event.ip, &event.ua) {
            (Some(ip), Some(ua)) => Some(state.salts.visitor(ip, ua, t)),
            _ => None,
        };
        match hit::from_event(event, ids.as_ref(), t) {
            Ok(record) => records.push((record, ids.and_then(|i| i.previous))),
            Err(error) => {
                state.ledger.dropped_invalid.fetch_add(1, Ordering::Relaxed);
                invalid.push(serde_json::json!({ "index": index, "error": error.to_string() }));
            }
        }
    }
    // One group commit for the whole request, not one per event.
    let answers = state.spool.append_all(records).await?;
    let stored = answers.iter().filter(|a| **a == Appended::Stored).count();
    let duplicates = answers.len() - stored;
    let status = if invalid.is_empty() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(HttpResponse::build(status).json(
        serde_json::json!({ "stored": stored, "duplicates": duplicates, "invalid": invalid }),
    ))
}

#[derive(Deserialize)]
struct RangeQuery {
    #[serde(default)]
    range: Range,
}

async fn stats(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    reader_allowed(&state, &req)?;
    let report = report::build(&state.store, query.range, now(), state.ledger.snapshot()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(report))
}

async fn export(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    reader_allowed(&state, &req)?;
    let body = report::csv(&state.store, query.range, now()).await?;
    let name = format!("analytics-{}.csv", query.range.name());
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

async fn ledger(state: web::Data<State>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    reader_allowed(&state, &req)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(state.ledger.snapshot()))
}

/// `GET /api/realtime`: server-sent events, a snapshot every two seconds.
async fn realtime_stream(
    state: web::Data<State>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    reader_allowed(&state, &req)?;
    let realtime = state.realtime.clone();
    let ticks = tokio::time::interval(std::time::Duration::from_secs(2));
    let stream =
        futures_util::stream::unfold((ticks, realtime), |(mut ticks, realtime)| async move {
            ticks.tick().await;
            let snapshot = realtime.snapshot(now());
            let json = serde_json::to_string(&snapshot).unwrap_or_default();
            let event = web::Bytes::from(format!("data: {json}\n\n"));
            Some((Ok::<_, actix_web::Error>(event), (ticks, realtime)))
        });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

/// `GET /auth?token=…`: the site's admin sends its signed-in users here.
async fn sign_in(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let secret = state.config.secret().ok_or(ApiError::Unauthorized)?;
    // Once only: a token copied from an address bar or a log is spent.
    let Some(user) = state.sessions.sign_in(secret, &query.token, now()) else {
        return Err(ApiError::Unauthorized);
    };
    let session = halftone_protocol::token::session(secret, user, now());
    let secure = is_https(&req, &state.proxies);
    let cookie = actix_web::cookie::Cookie::build(auth::COOKIE, session)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            auth::SESSION_TTL,
        ))
        .finish();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, "/"))
        .finish())
}

async fn dashboard_page(
    state: web::Data<State>,
    req: HttpRequest,
    query: web::Query<RangeQuery>,
) -> HttpResponse {
    if reader_allowed(&state, &req).is_err() {
        return dashboard::closed();
    }
    let result = report::build(&state.store, query.range, now(), state.ledger.snapshot()).await;
    let realtime = state.realtime.snapshot(now());
    match result {
        Ok(report) => dashboard::page(&report, &realtime),
        Err(error) => {
            tracing::warn!(%error, "dashboard query failed");
            dashboard::unavailable(&state.ledger.snapshot())
        }
    }
}

/// `POST /api/revoke` (the site, with the secret): a user logged out,
/// changed password or was removed; their dashboard sessions end.
async fn revoke(
    state: web::Data<State>,
    req: HttpRequest,
    body: web::Json<halftone_protocol::token::Revoke>,
) -> Result<HttpResponse, ApiError> {
    if !bearer_ok(&state, &req) {
        return Err(ApiError::Unauthorized);
    }
    state.sessions.revoke(body.user, now());
    Ok(HttpResponse::NoContent().finish())
}

/// `/metrics`: with a metrics token configured, only with it; otherwise only
/// from `metrics_allow` (this machine by default).
async fn metrics(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let allowed = match &state.config.metrics_token {
        Some(token) => header(req.headers(), "authorization")
            .strip_prefix("Bearer ")
            .is_some_and(|given| auth::same_secret(given, token)),
        None => state
            .metrics_allowed
            .is_trusted(client_ip(&req, &state.proxies)),
    };
    if !allowed {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .body("metrics need HALFTONE_ANALYTICS_METRICS_TOKEN, or a request from HALFTONE_ANALYTICS_METRICS_ALLOW");
    }
    state.ledger.export(state.spool.shared.bytes());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.prometheus.render())
}

/// Ready when hits can be stored: the spool is writable. The database may be
/// down — hits then wait in the spool — and is reported, not required.
async fn readyz(state: web::Data<State>) -> HttpResponse {
    let spool_ok = state.spool.shared.writable.load(Ordering::Relaxed)
        && spool_dir_writable(&state.config.spool_dir);
    let database = state.ledger.database_up.load(Ordering::Relaxed) == 1;
    // `lag`: hits on disk not yet in the database (the site's System page
    // and its "backlog growing" alert read it).
    let body = serde_json::json!({
        "spool": spool_ok,
        "database": database,
        "lag": state.ledger.lag(),
    });
    if spool_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

fn spool_dir_writable(dir: &std::path::Path) -> bool {
    let probe = dir.join(".ready-probe");
    let ok = std::fs::write(&probe, b"ok").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}
