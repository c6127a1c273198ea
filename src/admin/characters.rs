//! The cast in the admin: list, create, edit (bio, portrait, order, first
//! appearance), delete. The portrait is uploaded by the form's script through
//! `POST /admin/media` (the editor's pipeline) and saved as its media id.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::characters::{self, Appearance, CastEntry, CastError, CharacterEdit};
use crate::comics::{CharacterId, MediaId, PageId, Slug};
use crate::error::AppError;
use crate::media::view::Thumb;
use crate::startup::AppState;

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    entry: CastEntry,
    portrait: Option<Thumb>,
}

impl From<CastEntry> for Row {
    fn from(entry: CastEntry) -> Self {
        let portrait = entry.portrait().map(|m| Thumb::new(&m, &entry.name));
        Row { entry, portrait }
    }
}

#[derive(Serialize)]
struct ListTemplate {
    chrome: AdminChrome,
    characters: Vec<Row>,
}

pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "characters").await?;
    let characters = characters::list(&state.db)
        .await?
        .into_iter()
        .map(Row::from)
        .collect();
    view::render(
        &state,
        &req,
        "admin/characters.html",
        &ListTemplate { chrome, characters },
    )
}

#[derive(Deserialize)]
pub struct NewForm {
    name: String,
}

pub async fn create(
    state: web::Data<AppState>,
    _s: Session,
    form: web::Form<NewForm>,
) -> Result<HttpResponse, AppError> {
    let name = form.name.trim();
    let Some(slug) = Slug::from_text(name).filter(|_| name.chars().count() <= 200) else {
        return Ok(view::fail(
            "/admin/characters",
            "Give the character a name (up to 200 characters, with a letter or digit).",
        ));
    };
    match characters::create(&state.db, name, &slug).await {
        Ok(id) => Ok(view::ok(
            &format!("/admin/characters/{}", id.0),
            &format!("{name} joined the cast. Add a bio and a portrait."),
        )),
        Err(CastError::Db(e)) => Err(e.into()),
        Err(e) => Ok(view::fail(
            "/admin/characters",
            &format!("Not created: {e}."),
        )),
    }
}

#[derive(Serialize)]
struct EditTemplate {
    chrome: AdminChrome,
    character: Row,
    appearances: Vec<Appearance>,
}

pub async fn edit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = CharacterId(*path);
    let entry = characters::get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let appearances = characters::appearances(&state.db, id).await?;
    let chrome = AdminChrome::new(&state, &session, &req, "characters").await?;
    view::render(
        &state,
        &req,
        "admin/character_edit.html",
        &EditTemplate {
            chrome,
            character: entry.into(),
            appearances,
        },
    )
}

#[derive(Deserialize)]
pub struct EditForm {
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    position: String,
    /// The uploaded portrait's media id, or empty for none.
    #[serde(default)]
    portrait: String,
    /// A page id, or empty for "the first page they are on".
    #[serde(default)]
    first_page: String,
}

/// Parses an optional id field: empty is `None`, anything else must be a number.
fn optional_id(value: &str, what: &str) -> Result<Option<i64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("The {what} is not valid."))
}

pub async fn save(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<EditForm>,
) -> Result<HttpResponse, AppError> {
    let id = CharacterId(*path);
    let back = format!("/admin/characters/{}", id.0);
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Ok(view::fail(
            &back,
            "Give the character a name (up to 200 characters).",
        ));
    }
    if form.description.chars().count() > 4000 {
        return Ok(view::fail(
            &back,
            "The bio is longer than 4,000 characters.",
        ));
    }
    let slug = if form.slug.trim().is_empty() {
        Slug::from_text(name)
    } else {
        Slug::parse(form.slug.trim()).ok()
    };
    let Some(slug) = slug else {
        return Ok(view::fail(
            &back,
            "The slug may use lower-case letters, digits and hyphens.",
        ));
    };
    let position = match form.position.trim() {
        "" => 0,
        p => match p.parse::<i64>() {
            Ok(n) if (0..=1_000_000).contains(&n) => n,
            _ => return Ok(view::fail(&back, "The order is a number from 0 up.")),
        },
    };
    let (portrait, first_page) = match (
        optional_id(&form.portrait, "portrait"),
        optional_id(&form.first_page, "first appearance"),
    ) {
        (Ok(p), Ok(f)) => (p.map(MediaId), f.map(PageId)),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail(&back, &e)),
    };
    let edit = CharacterEdit {
        name,
        slug: &slug,
        description: form.description.trim(),
        position,
        portrait,
        first_page,
    };
    match characters::save(&state.db, id, &edit).await {
        Ok(()) => {}
        Err(CastError::Db(e)) => return Err(e.into()),
        Err(CastError::Missing) => return Err(AppError::NotFound),
        Err(e) => return Ok(view::fail(&back, &format!("Not saved: {e}."))),
    }
    state.content_changed().await;
    Ok(view::ok(&back, &format!("{name} saved.")))
}

pub async fn delete(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    characters::delete(&state.db, CharacterId(*path)).await?;
    state.content_changed().await;
    Ok(view::ok(
        "/admin/characters",
        "Character removed from the cast.",
    ))
}
