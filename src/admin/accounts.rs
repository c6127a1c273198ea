//! The author's own account (password), other accounts (owner only) and
//! the site's settings (owner only).

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::auth::{password, sessions, users, EmailAddress, Role, Session, User};
use super::view::{self, require_owner, AdminChrome};
use crate::comics::settings;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Serialize)]
struct AccountTemplate {
    chrome: AdminChrome,
}

pub async fn account(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "account").await?;
    view::render(
        &state,
        &req,
        "admin/account.html",
        &AccountTemplate { chrome },
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: SecretString,
    new: SecretString,
    again: SecretString,
}

/// Changing the password ends every other session of the account.
pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let stored = users::password_hash(&state.db, session.user.id).await?;
    if !password::verify(form.current, stored).await {
        return Ok(view::fail(
            "/admin/account",
            "Your current password is not right.",
        ));
    }
    if form.new.expose_secret() != form.again.expose_secret() {
        return Ok(view::fail(
            "/admin/account",
            "The two new passwords differ.",
        ));
    }
    if let Err(message) = password::validate(form.new.expose_secret()) {
        return Ok(view::fail("/admin/account", &message));
    }
    let hash = password::hash(form.new).await?;
    users::set_password(&state.db, session.user.id, &hash).await?;
    sessions::delete_for_user(&state.db, session.user.id, Some(&session.token_hash)).await?;
    tracing::info!(
        user = session.user.id,
        "password changed; other sessions ended"
    );
    Ok(view::ok(
        "/admin/account",
        "Password changed. You were logged out everywhere else.",
    ))
}

#[derive(Serialize)]
struct UsersTemplate {
    chrome: AdminChrome,
    users: Vec<User>,
}

pub async fn users_list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let chrome = AdminChrome::new(&state, &session, &req, "users").await?;
    let users = users::list(&state.db).await?;
    view::render(
        &state,
        &req,
        "admin/users.html",
        &UsersTemplate { chrome, users },
    )
}

#[derive(Deserialize)]
pub struct NewUserForm {
    email: String,
    name: String,
    role: String,
    password: SecretString,
}

pub async fn user_create(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let form = form.into_inner();
    let email = match EmailAddress::parse(&form.email) {
        Ok(e) => e,
        Err(e) => return Ok(view::fail("/admin/users", &e)),
    };
    let Some(role) = Role::parse(&form.role) else {
        return Ok(view::fail(
            "/admin/users",
            "Choose a role: owner or editor.",
        ));
    };
    if form.name.trim().is_empty() || form.name.chars().count() > 200 {
        return Ok(view::fail(
            "/admin/users",
            "Give a name (up to 200 characters).",
        ));
    }
    if let Err(message) = password::validate(form.password.expose_secret()) {
        return Ok(view::fail("/admin/users", &message));
    }
    let hash = password::hash(form.password).await?;
    match users::insert(&state.db, &email, form.name.trim(), role, &hash).await {
        Ok(_) => Ok(view::ok(
            "/admin/users",
            &format!("Account for {} created.", email.as_str()),
        )),
        Err(users::CreateUserError::Taken) => Ok(view::fail(
            "/admin/users",
            "An account with this e-mail address exists already.",
        )),
        Err(users::CreateUserError::Db(e)) => Err(e.into()),
    }
}

pub async fn user_delete(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let id = path.into_inner();
    if id == session.user.id {
        return Ok(view::fail(
            "/admin/users",
            "You cannot delete your own account.",
        ));
    }
    users::delete(&state.db, id).await?;
    Ok(view::ok(
        "/admin/users",
        "Account deleted; its sessions ended.",
    ))
}

#[derive(Serialize)]
struct SettingsTemplate {
    chrome: AdminChrome,
    settings: settings::SiteSettings,
}

pub async fn site_settings(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let chrome = AdminChrome::new(&state, &session, &req, "settings").await?;
    let settings = settings::load(&state.db).await?;
    view::render(
        &state,
        &req,
        "admin/settings.html",
        &SettingsTemplate { chrome, settings },
    )
}

#[derive(Deserialize)]
pub struct SettingsForm {
    title: String,
    #[serde(default)]
    tagline: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    author: String,
    language: String,
}

pub async fn save_settings(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Ok(view::fail(
            "/admin/settings",
            "The site title must have 1 to 200 characters.",
        ));
    }
    let language = form.language.trim();
    if language.is_empty()
        || language.len() > 20
        || !language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Ok(view::fail(
            "/admin/settings",
            "The language must be a code like en or fr-CA.",
        ));
    }
    for (name, value) in [
        ("tagline", &form.tagline),
        ("description", &form.description),
        ("author", &form.author),
    ] {
        if value.chars().count() > 1000 {
            return Ok(view::fail(
                "/admin/settings",
                &format!("The {name} can have at most 1000 characters."),
            ));
        }
    }
    let mut tx = state.db.pool().begin().await?;
    settings::set(&mut tx, "site.title", title).await?;
    settings::set(&mut tx, "site.tagline", form.tagline.trim()).await?;
    settings::set(&mut tx, "site.description", form.description.trim()).await?;
    settings::set(&mut tx, "site.author", form.author.trim()).await?;
    settings::set(&mut tx, "site.language", language).await?;
    tx.commit().await?;
    state.content_changed().await;
    Ok(view::ok("/admin/settings", "Settings saved."))
}
