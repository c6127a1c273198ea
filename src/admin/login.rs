//! Logging in and out, and the one-time set-up of the owner account.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::guard::ANON_CSRF_COOKIE;
use super::view::{self, Flash};
use crate::auth::{password, sessions, users, EmailAddress, Session};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Serialize)]
struct LoginTemplate {
    csrf: String,
    site_title: String,
    next: String,
    email: String,
    flash: Option<Flash>,
}

/// The set-up form: what was typed comes back with the error.
#[derive(Serialize)]
struct SetupTemplate {
    csrf: String,
    email: String,
    name: String,
    comic: String,
    flash: Option<Flash>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// A `next` that stays inside the admin (no open redirects).
/// Where to go after logging in: a path inside the admin, or the dashboard.
/// Anything else (another site, `//host`, backslashes, control characters
/// that would break the Location header) is replaced, not refused.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/admin")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

/// The double-submit token of the anonymous forms, set if missing.
fn anon_csrf(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    match req.cookie(ANON_CSRF_COOKIE) {
        Some(c) => (c.value().to_owned(), None),
        None => {
            let token = sessions::random_token();
            let cookie = Cookie::build(ANON_CSRF_COOKIE, token.clone())
                .path("/admin")
                .http_only(true)
                .same_site(SameSite::Strict)
                .finish();
            (token, Some(cookie))
        }
    }
}

/// Forms shown before anyone is logged in carry the anonymous CSRF token.
trait AnonymousForm: Serialize {
    fn set_csrf(&mut self, csrf: String);
}

impl AnonymousForm for LoginTemplate {
    fn set_csrf(&mut self, csrf: String) {
        self.csrf = csrf;
    }
}

impl AnonymousForm for SetupTemplate {
    fn set_csrf(&mut self, csrf: String) {
        self.csrf = csrf;
    }
}

fn page(
    state: &AppState,
    req: &HttpRequest,
    template: &str,
    mut ctx: impl AnonymousForm,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let (csrf, cookie) = anon_csrf(req);
    ctx.set_csrf(csrf);
    let body = state.templates.render(template, &ctx)?;
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    Ok(response.body(body))
}

pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    if users::count(&state.db).await? == 0 {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/admin/setup"))
            .finish());
    }
    let flash = if query.expired.is_some() {
        Some(Flash {
            kind: "error".into(),
            message: "Your session has ended. Please log in again.".into(),
        })
    } else {
        view::read_flash(&req)
    };
    let settings = crate::comics::settings::load(&state.db).await?;
    let ctx = LoginTemplate {
        csrf: String::new(),
        site_title: settings.title,
        next: safe_next(query.next.as_deref()),
        email: String::new(),
        flash,
    };
    page(
        &state,
        &req,
        "admin/login.html",
        ctx,
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
    next: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let email = form.email.trim().to_lowercase();
    let address = crate::net::client_key(state.client_ip(&req));
    let settings = crate::comics::settings::load(&state.db).await?;
    let again = |message: String, status| {
        let ctx = LoginTemplate {
            csrf: String::new(),
            site_title: settings.title.clone(),
            next: safe_next(form.next.as_deref()),
            email: email.clone(),
            flash: Some(Flash {
                kind: "error".into(),
                message,
            }),
        };
        page(&state, &req, "admin/login.html", ctx, status)
    };
    let known_device = match req.cookie(sessions::devices::COOKIE) {
        Some(cookie) => sessions::devices::is_known(&state.db, cookie.value(), &email).await?,
        None => false,
    };
    if let Err(wait) = state.login_limiter.check(&email, address, known_device) {
        let secs = wait.as_secs().max(1);
        tracing::warn!(%address, "login throttled");
        let mut response = again(
            format!("Too many login attempts. Please wait {secs} seconds and try again."),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        )?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return Ok(response);
    }
    let found = users::find_for_login(&state.db, &email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let valid = password::verify(form.password, hash).await;
    let Some(user) = user.filter(|_| valid) else {
        tracing::info!("failed login");
        return again(
            "Wrong e-mail address or password.".into(),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    let token = sessions::create(&state.db, user.id).await?;
    tracing::info!(user = user.id, "logged in");
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, safe_next(form.next.as_deref())))
        .cookie(session_cookie(&state, token));
    if !known_device {
        let device = sessions::devices::remember(&state.db, user.id).await?;
        response.cookie(
            Cookie::build(sessions::devices::COOKIE, device)
                .path("/admin")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.config.secure_cookies())
                .max_age(actix_web::cookie::time::Duration::days(
                    sessions::devices::MAX_AGE_DAYS,
                ))
                .finish(),
        );
    }
    Ok(response.finish())
}

pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(sessions::COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            sessions::ABSOLUTE_SECS,
        ))
        .finish()
}

pub async fn logout(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    sessions::delete(&state.db, &session.token_hash).await?;
    state.analytics.revoke_dashboard(session.user.id);
    let mut gone = Cookie::build(sessions::COOKIE, "").path("/").finish();
    gone.make_removal();
    let mut response = view::ok("/admin/login", "You are logged out.");
    response
        .add_cookie(&gone)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

pub async fn setup_form(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    if users::count(&state.db).await? > 0 {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/admin/login"))
            .finish());
    }
    let ctx = SetupTemplate {
        csrf: String::new(),
        email: String::new(),
        name: String::new(),
        comic: String::new(),
        flash: view::read_flash(&req),
    };
    page(
        &state,
        &req,
        "admin/setup.html",
        ctx,
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct SetupForm {
    email: String,
    name: String,
    /// The comic's name: the site's title and its first series'.
    #[serde(default)]
    comic: String,
    /// The one-time code from the server's log.
    #[serde(default)]
    code: String,
    password: SecretString,
    password_again: SecretString,
}

pub async fn setup(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    use secrecy::ExposeSecret;
    let form = form.into_inner();
    // Whoever reaches a new site first must also see its log: the code.
    let address = crate::net::client_key(state.client_ip(&req));
    if let Err(wait) = state.login_limiter.check("(set-up)", address, false) {
        return Err(AppError::TooManyRequests {
            message: "Too many set-up attempts. Please wait and try again.".into(),
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let expected = users::setup_code(&state.db).await?;
    let code_ok = expected
        .as_deref()
        .is_some_and(|code| halftone_protocol::same_secret(form.code.trim(), code));
    let problem = match EmailAddress::parse(&form.email) {
        _ if expected.is_some() && !code_ok => Some(
            "The set-up code is not right. It is in the server's log, printed when Halftone starts \
             (or create the owner with `halftone user add you@example.com`)."
                .to_owned(),
        ),
        Err(e) => Some(e),
        Ok(_) if form.name.trim().is_empty() || form.name.chars().count() > 200 => {
            Some("Please give a name (up to 200 characters).".into())
        }
        Ok(_) if form.comic.trim().is_empty() || form.comic.chars().count() > 200 => {
            Some("Please give your comic's name (up to 200 characters).".into())
        }
        Ok(_) if form.password.expose_secret() != form.password_again.expose_secret() => {
            Some("The two passwords differ.".into())
        }
        Ok(_) => password::validate(form.password.expose_secret()).err(),
    };
    if let Some(message) = problem {
        let ctx = SetupTemplate {
            csrf: String::new(),
            email: form.email.clone(),
            name: form.name.clone(),
            comic: form.comic.clone(),
            flash: Some(Flash {
                kind: "error".into(),
                message,
            }),
        };
        return page(
            &state,
            &req,
            "admin/setup.html",
            ctx,
            actix_web::http::StatusCode::BAD_REQUEST,
        );
    }
    let email = EmailAddress::parse(&form.email).map_err(AppError::bad_request)?;
    let hash = password::hash(form.password).await?;
    let Some(id) = users::insert_first_owner(&state.db, &email, form.name.trim(), &hash).await?
    else {
        return Ok(view::fail(
            "/admin/login",
            "The site already has an owner. Please log in.",
        ));
    };
    crate::comics::series::name_the_comic(&state.db, form.comic.trim(), form.name.trim()).await?;
    state.content_changed().await;
    let token = sessions::create(&state.db, id).await?;
    tracing::info!(user = id, "owner account created");
    let mut response = view::ok("/admin", "Welcome! Your owner account is ready.");
    response
        .add_cookie(&session_cookie(&state, token))
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}
