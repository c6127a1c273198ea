//! The author's own account (password), other accounts (owner only) and
//! the site's settings (owner only).

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::view::{self, require_owner, AdminChrome};
use crate::auth::{password, sessions, users, EmailAddress, Role, Session, User};
use crate::comics::settings;
use crate::error::AppError;
use crate::render::theme;
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
    state.analytics.revoke_dashboard(session.user.id);
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
    state.analytics.revoke_dashboard(id);
    Ok(view::ok(
        "/admin/users",
        "Account deleted; its sessions ended.",
    ))
}

#[derive(Serialize)]
struct SettingsTemplate {
    chrome: AdminChrome,
    settings: settings::SiteSettings,
    accent: String,
    fonts: Vec<FontChoice>,
    logo: Option<crate::media::view::Thumb>,
}

#[derive(Serialize)]
struct FontChoice {
    key: &'static str,
    label: &'static str,
    selected: bool,
}

pub async fn site_settings(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let chrome = AdminChrome::new(&state, &session, &req, "settings").await?;
    let settings = settings::load(&state.db).await?;
    let logo = match settings.logo {
        Some(id) => crate::media::store::media_ref(&state.db, id)
            .await?
            .map(|m| crate::media::view::Thumb::new(&m, "logo")),
        None => None,
    };
    let current_font = if settings.heading_font.is_empty() {
        "system"
    } else {
        settings.heading_font.as_str()
    };
    let fonts = theme::FONTS
        .iter()
        .map(|f| FontChoice {
            key: f.key,
            label: f.label,
            selected: f.key == current_font,
        })
        .collect();
    let accent =
        theme::parse_colour(&settings.accent).unwrap_or_else(|| theme::DEFAULT_ACCENT.to_owned());
    view::render(
        &state,
        &req,
        "admin/settings.html",
        &SettingsTemplate {
            chrome,
            settings,
            accent,
            fonts,
            logo,
        },
    )
}

#[derive(Deserialize)]
pub struct LookForm {
    accent: String,
    heading_font: String,
    /// The logo's media id (uploaded by the form's script), or empty.
    #[serde(default)]
    logo: String,
}

/// The creator's look: accent colour (refused when it would make text hard
/// to read), heading font, logo.
pub async fn save_look(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LookForm>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let back = "/admin/settings";
    let Some(accent) = theme::parse_colour(&form.accent) else {
        return Ok(view::fail(
            back,
            "The accent colour must look like #c0362c.",
        ));
    };
    if let Err(why) = theme::check_accent(&accent) {
        return Ok(view::fail(back, &format!("Not saved: {why}")));
    }
    if theme::font(&form.heading_font).is_none() {
        return Ok(view::fail(back, "Choose one of the heading fonts offered."));
    }
    let logo = match form.logo.trim() {
        "" => String::new(),
        id => match id.parse::<i64>() {
            Ok(id)
                if crate::media::store::media_ref(&state.db, id)
                    .await?
                    .is_some() =>
            {
                id.to_string()
            }
            _ => return Ok(view::fail(back, "The logo upload did not work; try again.")),
        },
    };
    settings::save_all(
        &state.db,
        &[
            ("look.accent", &accent),
            ("look.heading_font", &form.heading_font),
            ("look.logo", &logo),
        ],
    )
    .await?;
    state.content_changed().await;
    Ok(view::ok(back, "The look is saved: readers see it now."))
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
    settings::save_all(
        &state.db,
        &[
            ("site.title", title),
            ("site.tagline", form.tagline.trim()),
            ("site.description", form.description.trim()),
            ("site.author", form.author.trim()),
            ("site.language", language),
        ],
    )
    .await?;
    state.content_changed().await;
    Ok(view::ok("/admin/settings", "Settings saved."))
}

#[derive(Deserialize)]
pub struct ReadersForm {
    #[serde(default)]
    links: String,
    #[serde(default)]
    ai_robots: Option<String>,
    #[serde(default)]
    ai_header: Option<String>,
    #[serde(default)]
    ai_tdm: Option<String>,
    #[serde(default)]
    refuse_hotlinks: Option<String>,
}

/// `POST /admin/settings/readers`: the support block and AI-scraping protection.
pub async fn save_readers(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<ReadersForm>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let back = "/admin/settings";
    let links = form.links.replace("\r\n", "\n");
    let mut kept = Vec::new();
    for (n, line) in links.lines().map(str::trim).enumerate() {
        if line.is_empty() {
            continue;
        }
        if settings::support_links(line).is_empty() {
            return Ok(view::fail(
                back,
                &format!(
                    "Line {} of the support links is not “Label | https://…”: {line}",
                    n + 1
                ),
            ));
        }
        kept.push(line);
    }
    if kept.len() > 12 {
        return Ok(view::fail(back, "At most 12 support links."));
    }
    let flag = |v: &Option<String>| if v.is_some() { "1" } else { "0" };
    settings::save_all(
        &state.db,
        &[
            ("site.links", &kept.join("\n")),
            ("ai.robots", flag(&form.ai_robots)),
            ("ai.header", flag(&form.ai_header)),
            ("ai.tdm", flag(&form.ai_tdm)),
            ("ai.hotlinks", flag(&form.refuse_hotlinks)),
        ],
    )
    .await?;
    state.content_changed().await;
    Ok(view::ok(back, "Saved: readers see it now."))
}
