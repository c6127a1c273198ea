//! What every admin page shares: the menu, the user, the CSRF token and
//! one-shot flash messages (a short-lived cookie read by the next page).

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::auth::{Role, Session, User};
use crate::error::AppError;
use crate::startup::AppState;

const FLASH_COOKIE: &str = "halftone_flash";

#[derive(Debug, Clone, Serialize)]
pub struct Flash {
    /// "ok" or "error".
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdminChrome {
    pub user: User,
    pub is_owner: bool,
    pub csrf: String,
    pub site_title: String,
    pub active: &'static str,
    pub flash: Option<Flash>,
    /// The author's zone, for showing times.
    pub timezone: String,
    /// Whether the analytics dashboard can be opened from here.
    pub analytics: bool,
}

impl AdminChrome {
    pub async fn new(
        state: &AppState,
        session: &Session,
        req: &HttpRequest,
        active: &'static str,
    ) -> Result<Self, AppError> {
        let settings = crate::comics::settings::load(&state.db).await?;
        Ok(Self {
            user: session.user.clone(),
            is_owner: session.user.role == Role::Owner,
            csrf: session.csrf_token.clone(),
            site_title: settings.title,
            active,
            flash: read_flash(req),
            timezone: settings.timezone,
            analytics: state.config.analytics.public_base().is_some()
                && state.config.analytics.secret.is_some(),
        })
    }
}

pub fn read_flash(req: &HttpRequest) -> Option<Flash> {
    let cookie = req.cookie(FLASH_COOKIE)?;
    let value = url::form_urlencoded::parse(cookie.value().as_bytes()).collect::<Vec<_>>();
    let get = |k: &str| {
        value
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.to_string())
    };
    Some(Flash {
        kind: get("kind")?,
        message: get("message")?,
    })
}

/// Renders an admin page and consumes any flash message.
pub fn render<T: Serialize>(
    state: &AppState,
    req: &HttpRequest,
    template: &str,
    context: &T,
) -> Result<HttpResponse, AppError> {
    let body = state.templates.render(template, context)?;
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    if req.cookie(FLASH_COOKIE).is_some() {
        let mut gone = Cookie::build(FLASH_COOKIE, "").path("/admin").finish();
        gone.make_removal();
        response.cookie(gone);
    }
    Ok(response.body(body))
}

/// 303 to `to` with a message for the next page.
pub fn redirect(to: &str, kind: &str, message: &str) -> HttpResponse {
    let value: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("kind", kind)
        .append_pair("message", message)
        .finish();
    let cookie = Cookie::build(FLASH_COOKIE, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::minutes(5))
        .finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .cookie(cookie)
        .finish()
}

pub fn ok(to: &str, message: &str) -> HttpResponse {
    redirect(to, "ok", message)
}

pub fn fail(to: &str, message: &str) -> HttpResponse {
    redirect(to, "error", message)
}

/// Owner-only actions.
pub fn require_owner(session: &Session) -> Result<(), AppError> {
    if session.user.role == Role::Owner {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only the site's owner can do this.".into(),
        ))
    }
}
