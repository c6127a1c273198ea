//! The admin's front door, one middleware on the whole `/admin` scope, so no
//! handler can forget it:
//! 1. who is asking: the session cookie becomes a `Session` in the request;
//!    without one, every path except login and first-run set-up is refused
//!    (pages redirect to the login form, everything else gets 401);
//! 2. CSRF: every request that is not GET/HEAD must carry the session's
//!    CSRF token (form field `csrf_token` or header `X-CSRF-Token`); the
//!    anonymous login and set-up forms use a double-submit cookie instead;
//! 3. a request whose `Origin` names another site is refused.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};

use crate::auth::sessions::{self, Session};
use crate::error::AppError;
use crate::startup::AppState;

/// Paths reachable without a session.
const PUBLIC: &[&str] = &["/admin/login", "/admin/setup"];
/// The double-submit CSRF cookie of the anonymous forms.
pub const ANON_CSRF_COOKIE: &str = "halftone_csrf";
/// Forms bigger than this are refused before CSRF is read.
const MAX_FORM_BYTES: usize = 1 << 20;

pub async fn admin_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.secure_cookies());
    // Refusals become responses here, so the error-page middleware (outside
    // this scope) sees and renders them with their message.
    let mut response = match check(&mut req).await {
        Ok(None) => next.call(req).await?.map_into_boxed_body(),
        Ok(Some(response)) => req.into_response(response),
        Err(error) => {
            let response = actix_web::ResponseError::error_response(&error);
            req.into_response(response)
        }
    };
    // Nothing in the admin may be stored by a shared cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if secure {
        mark_cookies_secure(response.headers_mut());
    }
    Ok(response)
}

/// Behind https every admin cookie (session, CSRF, flash) is `Secure`, set
/// here once for all of them rather than at each place that makes one.
fn mark_cookies_secure(headers: &mut header::HeaderMap) {
    let cookies: Vec<header::HeaderValue> = headers.get_all(header::SET_COOKIE).cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let text = cookie.to_str().unwrap_or("");
        let secured = if text.to_ascii_lowercase().contains("; secure") {
            cookie
        } else {
            header::HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
        };
        headers.append(header::SET_COOKIE, secured);
    }
}

const STALE_FORM: &str =
    "The form was out of date (missing or wrong security token). Reload the page and try again.";

/// Lets the request through (`Ok(None)`), answers it (`Ok(Some(_))`, a
/// redirect to the login form) or refuses it.
async fn check(req: &mut ServiceRequest) -> Result<Option<HttpResponse>, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no state")))?;
    let is_public = PUBLIC.contains(&req.path());
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);

    if !same_origin(&state, req.request()) {
        return Err(AppError::Forbidden(
            "This request came from another site.".into(),
        ));
    }

    let cookie = req.cookie(sessions::COOKIE).map(|c| c.value().to_owned());
    let session = match &cookie {
        Some(token) => sessions::lookup(&state.db, token).await?,
        None => None,
    };

    match session {
        Some(session) => {
            if !safe {
                let token = csrf_token_of(req).await?;
                if !constant_time_eq(token.as_deref().unwrap_or(""), &session.csrf_token) {
                    return Err(AppError::Forbidden(STALE_FORM.into()));
                }
            }
            req.extensions_mut().insert(session);
            Ok(None)
        }
        None if is_public => {
            if !safe {
                let token = csrf_token_of(req).await?;
                let expected = req.cookie(ANON_CSRF_COOKIE).map(|c| c.value().to_owned());
                if !constant_time_eq(
                    token.as_deref().unwrap_or(""),
                    expected.as_deref().unwrap_or(""),
                ) {
                    return Err(AppError::Forbidden(STALE_FORM.into()));
                }
            }
            Ok(None)
        }
        None if safe && !is_websocket(req.request()) => {
            let mut target = format!(
                "/admin/login?next={}",
                urlencode(req.uri().path_and_query().map_or("/admin", |p| p.as_str()))
            );
            if cookie.is_some() {
                target.push_str("&expired=1");
            }
            Ok(Some(
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, target))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish(),
            ))
        }
        None => Err(AppError::Unauthorized),
    }
}

fn is_websocket(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// True unless `Origin` is present and is neither the site's public origin
/// (scheme, host and port of `public_url`) nor the origin this request came
/// in on (its own `Host`; forwarded headers only from trusted proxies).
pub fn same_origin(state: &AppState, req: &HttpRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let origin = origin.origin().ascii_serialization();
    state
        .request_origins(req)
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(&origin))
}

/// The CSRF token from the header, or from an urlencoded form body (which
/// is read and then put back for the handler).
async fn csrf_token_of(req: &mut ServiceRequest) -> Result<Option<String>, AppError> {
    if let Some(value) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return Ok(Some(value.to_owned()));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(None);
    }
    let body = read_body(req).await?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned());
    req.set_payload(Payload::from(body));
    Ok(token)
}

async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, AppError> {
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::bad_request(format!("The form could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(AppError::TooLarge("The form is too large.".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && !a.is_empty()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The logged-in user of an admin request (put there by `admin_guard`).
impl FromRequest for Session {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Session>()
                .cloned()
                .ok_or(AppError::Unauthorized),
        )
    }
}
