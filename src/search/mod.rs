//! Full-text search over comic pages (tantivy).
//!
//! Every node keeps its own index in memory, built from the database at
//! start and rebuilt whenever content changes — on this node or, through the
//! `content` event topic (Redis), on another — so all nodes agree. Only
//! published pages are indexed, drafts never; a scheduled page is indexed
//! with its `live_at` and filtered out at query time until then, so it turns
//! up on its own at its time, like everywhere else on the site.

mod index;

pub use index::{BuiltIndex, Hit, Results, SearchDoc};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::{Db, DbText};
use crate::startup::AppState;

/// Results per page of the results list.
pub const PER_PAGE: usize = 10;

pub struct Search {
    current: RwLock<Arc<BuiltIndex>>,
    /// Bumped after each rebuild (tests wait on it).
    pub generation: std::sync::atomic::AtomicU64,
}

impl Search {
    pub fn empty() -> anyhow::Result<Search> {
        Ok(Search {
            current: RwLock::new(Arc::new(BuiltIndex::build(&[])?)),
            generation: Default::default(),
        })
    }

    pub fn index(&self) -> Arc<BuiltIndex> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reloads every published page and swaps in a fresh index.
    pub async fn rebuild(&self, db: &Db) -> anyhow::Result<()> {
        let started = Instant::now();
        let docs = load_docs(db).await?;
        let count = docs.len();
        let built = tokio::task::spawn_blocking(move || BuiltIndex::build(&docs)).await??;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(built);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        metrics::histogram!("halftone_search_rebuild_seconds")
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            pages = count,
            ms = started.elapsed().as_millis() as u64,
            "search index built"
        );
        Ok(())
    }
}

/// Builds the index now and keeps it current: a `content` event (from any
/// node) schedules a rebuild; events arriving meanwhile are folded into it.
pub fn spawn_maintainer(state: &Arc<AppState>) {
    let state = state.clone();
    let mut events = state.events.subscribe();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match state.search.rebuild(&state.db).await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot build the search index yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        loop {
            match events.recv().await {
                Ok(event) if event.topic != "content" => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                _ => {}
            }
            // Let a burst of changes (a bulk edit) settle into one rebuild.
            tokio::time::sleep(Duration::from_millis(50)).await;
            while events.try_recv().is_ok() {}
            if let Err(error) = state.search.rebuild(&state.db).await {
                tracing::warn!(%error, "search index not rebuilt; it will be on the next change");
            }
        }
    });
}

type PageRow = (
    i64,
    i64,
    DbText,
    DbText,
    DbText,
    DbText,
    i64,
    Option<DbText>,
);

/// Every published page with what it is searched by: four queries in all.
pub async fn load_docs(db: &Db) -> Result<Vec<SearchDoc>, sqlx::Error> {
    let pages: Vec<PageRow> = sqlx::query_as(
        "SELECT p.id, p.series_id, p.title, p.transcript, p.hover_text, p.notes, p.live_at, c.title \
         FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id \
         WHERE p.status = 'published' AND p.live_at IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    let mut extra: HashMap<i64, (String, String)> = HashMap::new();
    let alts: Vec<(i64, DbText)> = sqlx::query_as(
        "SELECT i.page_id, i.alt_text FROM page_images i JOIN pages p ON p.id = i.page_id \
         WHERE p.status = 'published' ORDER BY i.page_id, i.position",
    )
    .fetch_all(db)
    .await?;
    for (page, alt) in alts {
        let entry = extra.entry(page).or_default();
        entry.0.push_str(&alt.0);
        entry.0.push('\n');
    }
    let labels: Vec<(i64, DbText)> = sqlx::query_as(
        "SELECT pt.page_id, t.name FROM page_tags pt JOIN tags t ON t.id = pt.tag_id \
         UNION ALL SELECT pc.page_id, c.name FROM page_characters pc JOIN characters c ON c.id = pc.character_id",
    )
    .fetch_all(db)
    .await?;
    for (page, label) in labels {
        let entry = extra.entry(page).or_default();
        entry.1.push_str(&label.0);
        entry.1.push('\n');
    }
    Ok(pages
        .into_iter()
        .map(
            |(id, series_id, title, transcript, hover, notes, live_at, chapter)| {
                let (mut images, mut labels) = extra.remove(&id).unwrap_or_default();
                images.push_str(&hover.0);
                if let Some(chapter) = chapter {
                    labels.push_str(&chapter.0);
                }
                SearchDoc {
                    id,
                    series_id,
                    title: title.0,
                    transcript: transcript.0,
                    images,
                    notes: notes.0,
                    labels,
                    live_at,
                }
            },
        )
        .collect())
}
