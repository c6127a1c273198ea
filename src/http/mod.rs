//! The HTTP layer every response passes through (wrapped in `startup`): the
//! request span, id and query count (`request_context`), HEAD as GET, and
//! the security headers. Depends on `telemetry` and `metrics`, which do not
//! depend on each other or on it.

pub mod lane;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;

use crate::config::Config;

/// Headers every response carries: no sniffing, no framing by other sites,
/// a Content-Security-Policy with no inline script or style anywhere (the
/// reader's and the admin's scripts and styles are files; JSON data blocks
/// are not scripts), no powerful browser features, and HSTS behind https.
pub fn security_headers(config: &Config) -> DefaultHeaders {
    security_header_pairs(config)
        .into_iter()
        .fold(DefaultHeaders::new(), |headers, pair| headers.add(pair))
}

/// The headers of `security_headers`, also sent by the fast lane (`lane`).
pub fn security_header_pairs(config: &Config) -> Vec<(HeaderName, HeaderValue)> {
    let analytics = config
        .analytics
        .public_base()
        .and_then(|base| url::Url::parse(&base).ok())
        .map(|u| format!(" {}", u.origin().ascii_serialization()))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob: https:{analytics}; font-src 'self'; \
         connect-src 'self'{analytics}; media-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    );
    let mut headers = vec![
        ("x-content-type-options", "nosniff".to_owned()),
        (
            "referrer-policy",
            "strict-origin-when-cross-origin".to_owned(),
        ),
        ("x-frame-options", "SAMEORIGIN".to_owned()),
        ("content-security-policy", csp),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()".to_owned(),
        ),
    ];
    if config.public_url.scheme() == "https" {
        headers.push(("strict-transport-security", "max-age=31536000".to_owned()));
    }
    headers
        .into_iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).ok()?,
            ))
        })
        .collect()
}

/// HEAD is GET without a body (RFC 9110), everywhere: uptime monitors and
/// link checkers use it. Routes are declared for GET only, so HEAD is routed
/// as GET here; the HTTP layer remembers the request was HEAD and sends the
/// headers, with the GET body's length, and no body.
pub async fn head_as_get(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// The outermost middleware: request span and id, per-request query count,
/// and request metrics.
pub async fn request_context(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::HttpMessage;
    use tracing::Instrument;

    let started = std::time::Instant::now();
    let id = crate::telemetry::RequestId(rand::random());
    req.extensions_mut().insert(id);
    let route = req.match_pattern();
    let method = crate::metrics::method_label(req.method());
    let count_queries = req
        .app_data::<actix_web::web::Data<crate::startup::AppState>>()
        .is_some_and(|s| s.config.debug.query_count_header);
    // One field only: every field is formatted for every request, and the
    // method and path are one log line away (the access log at debug).
    let span = tracing::info_span!("request", request_id = %id);
    tracing::debug!(parent: &span, method, path = %req.path(), "request");
    let (response, queries) = crate::telemetry::count_queries_in(next.call(req))
        .instrument(span)
        .await;
    let mut response = response?;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
    if count_queries {
        if let Ok(value) = HeaderValue::from_str(&format!("db;desc=\"{queries} queries\"")) {
            headers.insert(HeaderName::from_static("server-timing"), value);
        }
    }
    crate::metrics::record_request(method, route, response.status(), started.elapsed());
    Ok(response)
}
