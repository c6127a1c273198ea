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

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::events::Events;

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
pub fn spawn_maintainer(search: Arc<Search>, db: Db, events: &Events) {
    let mut events = events.subscribe();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match search.rebuild(&db).await {
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
            if let Err(error) = search.rebuild(&db).await {
                tracing::warn!(%error, "search index not rebuilt; it will be on the next change");
            }
        }
    });
}

/// Every published page with what it is searched by (the comics domain
/// reads its own tables: four queries in all).
pub async fn load_docs(db: &Db) -> Result<Vec<SearchDoc>, sqlx::Error> {
    Ok(crate::comics::searchable::load(db)
        .await?
        .into_iter()
        .map(|p| SearchDoc {
            id: p.id,
            series_id: p.series_id,
            title: p.title,
            transcript: p.transcript,
            images: p.images,
            notes: p.notes,
            labels: p.labels,
            live_at: p.live_at,
        })
        .collect())
}
