//! Editing pages: drafts (autosaved revisions), publishing, scheduling.
//!
//! A page row holds what readers see. The editor works on a `PageDraft`,
//! saved as numbered revisions in `page_revisions`; publishing applies the
//! newest draft to the page row. Saves are compare-and-swap on
//! `pages.revision`: a save based on a stale revision is refused with the
//! current draft, so two editors never overwrite each other silently.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::{ChapterId, PageId, SeriesId, Slug};
use crate::db::{self, Db, DbText};

/// Autosaved revisions kept per page (older ones are pruned).
pub const KEEP_REVISIONS: i64 = 200;

/// Everything the editor edits, as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageDraft {
    pub title: String,
    pub slug: String,
    #[serde(default)]
    pub hover_text: String,
    #[serde(default)]
    pub transcript: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub content_warning: String,
    /// Readers confirm they are adults before the images show.
    #[serde(default)]
    pub age_gate: bool,
    #[serde(default)]
    pub chapter_id: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub characters: Vec<String>,
    #[serde(default)]
    pub images: Vec<DraftImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftImage {
    pub media_id: i64,
    #[serde(default)]
    pub alt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn too_long(field: &str, value: &str, max: usize) -> Option<FieldError> {
    (value.chars().count() > max).then(|| FieldError {
        field: field.to_owned(),
        message: format!("{field} can be at most {max} characters long"),
    })
}

impl PageDraft {
    /// The same rules whether the draft comes from a form or the websocket.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.title.trim().is_empty() {
            errors.push(FieldError {
                field: "title".into(),
                message: "title cannot be empty".into(),
            });
        }
        errors.extend(too_long("title", &self.title, 300));
        if let Err(e) = Slug::parse(&self.slug) {
            errors.push(FieldError {
                field: "slug".into(),
                message: format!("slug: {e}"),
            });
        }
        errors.extend(too_long("hover_text", &self.hover_text, 2000));
        errors.extend(too_long("transcript", &self.transcript, 200_000));
        errors.extend(too_long("notes", &self.notes, 200_000));
        errors.extend(too_long("content_warning", &self.content_warning, 500));
        for (field, list) in [("tags", &self.tags), ("characters", &self.characters)] {
            if list.len() > 50 {
                errors.push(FieldError {
                    field: field.into(),
                    message: format!("at most 50 {field}"),
                });
            }
            for item in list {
                errors.extend(too_long(field, item, 100));
                if Slug::from_text(item).is_none() {
                    errors.push(FieldError {
                        field: field.into(),
                        message: format!("“{item}” needs at least one letter or digit"),
                    });
                }
            }
        }
        if self.images.len() > 100 {
            errors.push(FieldError {
                field: "images".into(),
                message: "at most 100 images per page".into(),
            });
        }
        for image in &self.images {
            errors.extend(too_long("alt", &image.alt, 2000));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What the editor shows for a page: its status plus the newest draft.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EditablePage {
    pub id: PageId,
    pub series_id: SeriesId,
    pub status: String,
    pub published_at: Option<i64>,
    pub live_at: Option<i64>,
    pub revision: i64,
    pub updated_at: i64,
}

pub async fn editable(db: &Db, id: PageId) -> Result<Option<EditablePage>, sqlx::Error> {
    sqlx::query_as("SELECT id, series_id, status, published_at, live_at, revision, updated_at FROM pages WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The newest draft of a page: its newest revision, or (before the first
/// autosave) what the page row holds.
pub async fn head(db: &Db, id: PageId) -> Result<Option<(i64, PageDraft)>, sqlx::Error> {
    let Some(page) = editable(db, id).await? else {
        return Ok(None);
    };
    if page.revision > 0 {
        if let Some(draft) = revision(db, id, page.revision).await? {
            return Ok(Some((page.revision, draft)));
        }
    }
    Ok(Some((page.revision, from_page_row(db, id).await?)))
}

#[derive(sqlx::FromRow)]
struct PageFields {
    title: String,
    slug: String,
    hover_text: String,
    #[sqlx(try_from = "DbText")]
    transcript: String,
    #[sqlx(try_from = "DbText")]
    notes: String,
    content_warning: String,
    age_gate: i64,
    chapter_id: Option<i64>,
}

/// The page as published, as a draft document.
pub async fn from_page_row(db: &Db, id: PageId) -> Result<PageDraft, sqlx::Error> {
    let fields: PageFields = sqlx::query_as(
        "SELECT title, slug, hover_text, transcript, notes, content_warning, age_gate, chapter_id FROM pages WHERE id = ?",
    )
    .bind(id)
    .fetch_one(db)
    .await?;
    let images: Vec<(i64, String)> = sqlx::query_as(
        "SELECT media_id, alt_text FROM page_images WHERE page_id = ? ORDER BY position",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let labels = super::taxonomy::labels_for_page(db, id).await?;
    let names = |kind: &str| {
        labels
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.name.clone())
            .collect()
    };
    Ok(PageDraft {
        title: fields.title,
        slug: fields.slug,
        hover_text: fields.hover_text,
        transcript: fields.transcript,
        notes: fields.notes,
        content_warning: fields.content_warning,
        age_gate: fields.age_gate != 0,
        chapter_id: fields.chapter_id,
        tags: names("tag"),
        characters: names("character"),
        images: images
            .into_iter()
            .map(|(media_id, alt)| DraftImage { media_id, alt })
            .collect(),
    })
}

pub async fn revision(
    db: &Db,
    id: PageId,
    revision: i64,
) -> Result<Option<PageDraft>, sqlx::Error> {
    let data: Option<DbText> =
        sqlx::query_scalar("SELECT data FROM page_revisions WHERE page_id = ? AND revision = ?")
            .bind(id)
            .bind(revision)
            .fetch_optional(db)
            .await?;
    Ok(data.and_then(|d| serde_json::from_str(&d.0).ok()))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RevisionInfo {
    pub revision: i64,
    pub created_at: i64,
    pub author: Option<String>,
}

pub async fn revisions(db: &Db, id: PageId) -> Result<Vec<RevisionInfo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.revision, r.created_at, u.name AS author FROM page_revisions r \
         LEFT JOIN users u ON u.id = r.user_id WHERE r.page_id = ? ORDER BY r.revision DESC",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved {
        revision: i64,
    },
    /// The draft moved on since `base_revision`: here is what it is now.
    Conflict {
        revision: i64,
        current: Box<PageDraft>,
    },
    NotFound,
}

/// Stores `draft` as the next revision if the page is still at `base_revision`.
pub async fn save_draft(
    db: &Db,
    id: PageId,
    base_revision: i64,
    draft: &PageDraft,
    user_id: Option<i64>,
) -> Result<SaveOutcome, sqlx::Error> {
    let data = serde_json::to_string(draft).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let now = db::now();
    let mut tx = db.pool().begin().await?;
    let moved = sqlx::query(
        "UPDATE pages SET revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?",
    )
    .bind(now)
    .bind(id)
    .bind(base_revision)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        tx.rollback().await?;
        return Ok(match head(db, id).await? {
            Some((revision, current)) => SaveOutcome::Conflict {
                revision,
                current: Box::new(current),
            },
            None => SaveOutcome::NotFound,
        });
    }
    let revision = base_revision + 1;
    sqlx::query("INSERT INTO page_revisions (page_id, revision, user_id, data, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(id)
        .bind(revision)
        .bind(user_id)
        .bind(data)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM page_revisions WHERE page_id = ? AND revision <= ?")
        .bind(id)
        .bind(revision - KEEP_REVISIONS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(SaveOutcome::Saved { revision })
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("another page of this series already uses the slug “{0}”")]
    SlugTaken(String),
    #[error("the chapter does not belong to this series")]
    BadChapter,
    #[error("an image of the draft no longer exists")]
    BadImage,
    #[error("the page changed since you opened it (another tab or person saved); review the newest version, then publish again")]
    Stale,
    #[error("the page no longer exists")]
    Missing,
    #[error("{}", .0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// How a page should be published when its draft is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Publish {
    /// Keep the current status and dates ("Update").
    Keep,
    /// Live now, dated now.
    Now,
    /// Live at this moment (Unix seconds), dated then.
    At(i64),
    /// Back to draft.
    Unpublish,
}

/// The page as readers would see it with its newest draft applied — what
/// the editor's preview shows. The page row is read once; nothing is written.
pub struct Preview {
    pub page: super::Page,
    pub images: Vec<super::PageImage>,
    pub labels: Vec<super::PageLabel>,
}

pub async fn preview(db: &Db, id: PageId) -> Result<Option<Preview>, sqlx::Error> {
    let (Some((_, draft)), Some(mut page)) =
        (head(db, id).await?, super::pages::by_id_any(db, id).await?)
    else {
        return Ok(None);
    };
    page.title = draft.title.clone();
    page.slug = draft.slug.clone();
    page.hover_text = draft.hover_text.clone();
    page.transcript = draft.transcript.clone();
    page.notes = draft.notes.clone();
    page.content_warning = draft.content_warning.clone();
    page.age_gate = i64::from(draft.age_gate);
    let chapter = match draft.chapter_id {
        Some(c) => super::chapters::all_in_series(db, page.series_id)
            .await?
            .into_iter()
            .find(|ch| ch.id.0 == c),
        None => None,
    };
    page.chapter_id = chapter.as_ref().map(|c| c.id);
    page.chapter_slug = chapter.as_ref().map(|c| c.slug.clone());
    page.chapter_title = chapter.as_ref().map(|c| c.title.clone());
    page.chapter_position = chapter.as_ref().map(|c| c.position);
    let images: Vec<(i64, String)> = draft
        .images
        .iter()
        .map(|i| (i.media_id, i.alt.clone()))
        .collect();
    let images = super::pages::media_as_images(db, id, &images).await?;
    let label = |kind: &str, name: &String| super::PageLabel {
        kind: kind.into(),
        slug: Slug::from_text(name)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        name: name.clone(),
    };
    let labels = draft
        .tags
        .iter()
        .map(|t| label("tag", t))
        .chain(draft.characters.iter().map(|c| label("character", c)))
        .collect();
    Ok(Some(Preview {
        page,
        images,
        labels,
    }))
}

/// Publishes (or updates, schedules, unpublishes) the newest draft of a page:
/// the use case behind the editor's buttons, in one write transaction that
/// first checks the draft is still the revision the author looked at
/// (`seen_revision`): a save from another tab in between refuses it.
pub async fn publish(
    db: &Db,
    id: PageId,
    seen_revision: i64,
    publish: Publish,
) -> Result<(), ApplyError> {
    let mut tx = db.begin_write().await?;
    let backend = crate::config::Backend::of(&tx);
    let page: EditablePage = sqlx::query_as(&format!(
        "SELECT id, series_id, status, published_at, live_at, revision, updated_at FROM pages WHERE id = ?{}",
        crate::db::dialect::for_update(backend)
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApplyError::Missing)?;
    if page.revision != seen_revision {
        return Err(ApplyError::Stale);
    }
    // The revision row is immutable and the page row is locked: reading the
    // draft through the pool sees exactly the revision checked above.
    let (_, draft) = head(db, id).await?.ok_or(ApplyError::Missing)?;
    apply_in(&mut tx, &page, &draft, publish).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies `draft` to the page row (fields, images, tags, characters) and
/// sets its publication, all in one transaction.
pub async fn apply(
    db: &Db,
    id: PageId,
    draft: &PageDraft,
    publish: Publish,
) -> Result<(), ApplyError> {
    let mut tx = db.begin_write().await?;
    let page: EditablePage = sqlx::query_as(
        "SELECT id, series_id, status, published_at, live_at, revision, updated_at FROM pages WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApplyError::Missing)?;
    apply_in(&mut tx, &page, draft, publish).await?;
    tx.commit().await?;
    Ok(())
}

async fn apply_in(
    tx: &mut AnyConnection,
    page: &EditablePage,
    draft: &PageDraft,
    publish: Publish,
) -> Result<(), ApplyError> {
    draft.validate().map_err(ApplyError::Invalid)?;
    let id = page.id;
    if let Some(chapter) = draft.chapter_id {
        let owner: Option<SeriesId> =
            sqlx::query_scalar("SELECT series_id FROM chapters WHERE id = ?")
                .bind(chapter)
                .fetch_optional(&mut *tx)
                .await?;
        if owner != Some(page.series_id) {
            return Err(ApplyError::BadChapter);
        }
    }
    let now = db::now();
    let (status, published_at, live_at) = match publish {
        Publish::Keep => (page.status.clone(), page.published_at, page.live_at),
        Publish::Now => ("published".to_owned(), Some(now), Some(now)),
        Publish::At(at) => ("published".to_owned(), Some(at), Some(at)),
        Publish::Unpublish => ("draft".to_owned(), page.published_at, None),
    };
    let updated = sqlx::query(
        "UPDATE pages SET title = ?, slug = ?, hover_text = ?, transcript = ?, notes = ?, content_warning = ?, \
         age_gate = ?, chapter_id = ?, status = ?, published_at = ?, live_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(draft.title.trim())
    .bind(&draft.slug)
    .bind(&draft.hover_text)
    .bind(&draft.transcript)
    .bind(&draft.notes)
    .bind(draft.content_warning.trim())
    .bind(i64::from(draft.age_gate))
    .bind(draft.chapter_id)
    .bind(&status)
    .bind(published_at)
    .bind(live_at)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await;
    match updated {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(ApplyError::SlugTaken(draft.slug.clone()))
        }
        other => {
            other?;
        }
    }
    sqlx::query("DELETE FROM page_images WHERE page_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (position, image) in draft.images.iter().enumerate() {
        let inserted = super::pages::insert_image(
            tx,
            id,
            super::MediaId(image.media_id),
            position as i64,
            &image.alt,
        )
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(ApplyError::BadImage)
            }
            other => other?,
        }
    }
    set_labels(tx, id, &draft.tags, &draft.characters).await?;
    Ok(())
}

/// Replaces a page's tags and characters (created as needed).
pub async fn set_labels(
    conn: &mut AnyConnection,
    id: PageId,
    tags: &[String],
    characters: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM page_tags WHERE page_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM page_characters WHERE page_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for tag in tags {
        if let Some(slug) = Slug::from_text(tag) {
            let tag_id = super::taxonomy::ensure_tag(conn, slug.as_str(), tag.trim()).await?;
            super::taxonomy::tag_page(conn, id, tag_id).await?;
        }
    }
    for name in characters {
        if let Some(slug) = Slug::from_text(name) {
            let character =
                super::taxonomy::ensure_character(conn, slug.as_str(), name.trim()).await?;
            super::taxonomy::cast_page(conn, id, character).await?;
        }
    }
    Ok(())
}

/// A new, empty draft page at the end of a series' reading order.
pub async fn create_blank(
    db: &Db,
    series: SeriesId,
    chapter: Option<ChapterId>,
) -> Result<PageId, sqlx::Error> {
    // Reads the last position, then inserts after it.
    let mut conn = db.begin_write().await?;
    let slug = format!("untitled-{}", &crate::tokens::random_token()[..8]);
    let new = super::pages::NewPage {
        series_id: series,
        chapter_id: chapter,
        slug: &slug,
        title: "Untitled page",
        published: false,
        published_at: Some(db::now()),
        goes_live: db::now(),
        position: None,
        hover_text: "",
        transcript: "",
        notes: "",
        content_warning: "",
    };
    let id = super::pages::insert(&mut conn, &new, false).await?;
    conn.commit().await?;
    Ok(id)
}

/// Deletes pages (and, by cascade, their images links and revisions).
pub async fn delete(db: &Db, ids: &[PageId]) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    let mut tx = db.pool().begin().await?;
    for id in ids {
        deleted += sqlx::query("DELETE FROM pages WHERE id = ?")
            .bind(*id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Moves pages into a chapter (or out of any, with `None`).
pub async fn assign_chapter(
    db: &Db,
    ids: &[PageId],
    chapter: Option<ChapterId>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    for id in ids {
        sqlx::query("UPDATE pages SET chapter_id = ?, updated_at = ? WHERE id = ?")
            .bind(chapter)
            .bind(db::now())
            .bind(*id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Adds tags and characters to pages, keeping those they have.
pub async fn add_labels(
    db: &Db,
    ids: &[PageId],
    tags: &[String],
    characters: &[String],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for id in ids {
        for tag in tags {
            if let Some(slug) = Slug::from_text(tag) {
                let tag_id =
                    super::taxonomy::ensure_tag(&mut tx, slug.as_str(), tag.trim()).await?;
                super::taxonomy::tag_page(&mut tx, *id, tag_id).await?;
            }
        }
        for name in characters {
            if let Some(slug) = Slug::from_text(name) {
                let character =
                    super::taxonomy::ensure_character(&mut tx, slug.as_str(), name.trim()).await?;
                super::taxonomy::cast_page(&mut tx, *id, character).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> PageDraft {
        PageDraft {
            title: "A page".into(),
            slug: "a-page".into(),
            ..PageDraft::default()
        }
    }

    #[test]
    fn a_sound_draft_validates() {
        assert_eq!(draft().validate(), Ok(()));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = PageDraft {
            title: " ".into(),
            slug: "Bad Slug".into(),
            hover_text: "x".repeat(2001),
            tags: vec!["!!!".into()],
            ..draft()
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["title", "slug", "hover_text", "tags"]);
    }

    #[test]
    fn unknown_fields_in_json_are_refused() {
        assert!(serde_json::from_str::<PageDraft>(r#"{"title":"t","slug":"s","evil":1}"#).is_err());
        assert!(serde_json::from_str::<PageDraft>(r#"{"title":"t","slug":"s"}"#).is_ok());
    }
}
