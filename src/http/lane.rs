//! The fast lane: a fresh cached page answered before routing and the other
//! middleware.
//!
//! A hug of death is one page asked for by everybody, and that page is in the
//! cache. Through the router such a hit still paid for the request span, the
//! route match, the cookie parse, the per-request metrics lookups by label,
//! the header middleware and the compression negotiation: the cached page ran
//! at 0.9× nginx serving the same bytes from a file. The lane is the outermost
//! middleware and answers what can be answered with no decision left to make:
//!
//! - `GET` or `HEAD`, no query string (a query may be an old link to redirect),
//!   no session cookie (a logged-in author gets a personal page);
//! - a fresh entry of the current generation (`PageCache::fresh`): a stale
//!   one goes through the router, which refreshes it in the background.
//!
//! It sends exactly what the router's path would (`Entry::respond`, the same
//! security and robots headers, `X-Request-Id`), records the same metrics
//! (with handles taken once per route instead of looked up by label on every
//! request), and does what a handler does before the cache (a feed fetch is
//! reported to analytics). Everything else passes through untouched.

use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use futures_util::future::{Either, LocalBoxFuture};

use crate::cache::PageCache;
use crate::startup::AppState;

/// The middleware (wrapped last, so outermost).
pub struct FastLane {
    inner: Rc<Lane>,
}

struct Lane {
    state: actix_web::web::Data<AppState>,
    cache: Arc<PageCache>,
    /// The headers every response gets (`http::security_header_pairs`).
    fixed: Vec<(HeaderName, HeaderValue)>,
    hits: metrics::Counter,
    query_count_header: bool,
}

impl FastLane {
    pub fn new(state: &actix_web::web::Data<AppState>) -> Self {
        Self {
            inner: Rc::new(Lane {
                state: state.clone(),
                cache: state.cache.clone(),
                fixed: crate::http::security_header_pairs(&state.config),
                hits: metrics::counter!("halftone_cache_requests_total", "result" => "hit"),
                query_count_header: state.config.debug.query_count_header,
            }),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for FastLane
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = FastLaneService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FastLaneService {
            service: Rc::new(service),
            lane: self.inner.clone(),
        }))
    }
}

pub struct FastLaneService<S> {
    service: Rc<S>,
    lane: Rc<Lane>,
}

impl<S, B> Service<ServiceRequest> for FastLaneService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<
        Ready<Result<Self::Response, Self::Error>>,
        LocalBoxFuture<'static, Result<Self::Response, Self::Error>>,
    >;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(response) = self.lane.answer(&req) {
            return Either::Left(ready(Ok(req.into_response(response).map_into_right_body())));
        }
        let response = self.service.call(req);
        Either::Right(Box::pin(async move {
            response.await.map(|r| r.map_into_left_body())
        }))
    }
}

impl Lane {
    fn answer(&self, req: &ServiceRequest) -> Option<actix_web::HttpResponse> {
        let started = Instant::now();
        if !matches!(*req.method(), Method::GET | Method::HEAD) || !req.query_string().is_empty() {
            return None;
        }
        let headers = req.headers();
        let personal = headers.get_all(actix_web::http::header::COOKIE).any(|c| {
            c.as_bytes()
                .windows(crate::auth::sessions::COOKIE.len())
                .any(|w| w == crate::auth::sessions::COOKIE.as_bytes())
        });
        if personal {
            return None;
        }
        let entry = self.cache.fresh(req.path())?;
        let metrics = entry.lane.get()?;
        let mut response = entry.respond(headers, self.cache.cache_control(), "hit");
        let out = response.headers_mut();
        for (name, value) in &self.fixed {
            if !out.contains_key(name) {
                out.insert(name.clone(), value.clone());
            }
        }
        // The AI middleware's header, from the same setting it reads.
        if self
            .state
            .site_data
            .peek()
            .is_none_or(|d| d.settings.ai_header)
        {
            out.insert(
                HeaderName::from_static("x-robots-tag"),
                HeaderValue::from_static("noai, noimageai"),
            );
        }
        let id = crate::telemetry::RequestId(rand::random());
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            out.insert(HeaderName::from_static("x-request-id"), value);
        }
        if self.query_count_header {
            out.insert(
                HeaderName::from_static("server-timing"),
                HeaderValue::from_static("db;desc=\"0 queries\""),
            );
        }
        if metrics.feed {
            crate::feeds::report_fetch(&self.state, req.path(), headers);
        }
        tracing::debug!(request_id = %id, path = %req.path(), "request (cached, fast lane)");
        self.hits.increment(1);
        crate::cluster::stats::cache(true);
        crate::cluster::stats::request();
        if response.status() == actix_web::http::StatusCode::NOT_MODIFIED {
            metrics.not_modified.increment(1);
        } else {
            metrics.ok.increment(1);
        }
        metrics.duration.record(started.elapsed().as_secs_f64());
        Some(response)
    }
}
