//! The catalog: every published page with its images and labels, in memory.
//!
//! A comic's structure is small (a 2,000-page comic is about a MiB here) and
//! read on every page view, so each node keeps it whole and answers a comic
//! page's lookups — the page by slug or the latest, first/previous/next/last
//! and the chapter jumps, a random page — without a query. Three queries load
//! it (pages, images, labels), whatever the archive's size.
//!
//! It holds published pages whether they are live yet or not, and applies the
//! one visibility rule in memory at the time of each request
//! (`Page::visible_at`, the same rule as `visible!`): a scheduled page appears
//! at its time with no reload. Who reloads it when (a content change on any
//! node, or the page TTL for writers outside the server) is the web layer's
//! business (`reader::site::catalog`).

use std::collections::HashMap;

use super::{ChapterId, Navigation, Page, PageId, PageImage, PageLabel, SeriesId};
use crate::db::Db;

/// One published page and what its view needs.
pub struct CatalogPage {
    pub page: Page,
    pub images: Vec<PageImage>,
    pub labels: Vec<PageLabel>,
}

pub struct Catalog {
    pages: Vec<CatalogPage>,
    /// Every published page's `live_at`, ascending: when the set of visible
    /// pages changes next (a scheduled page going live).
    live_times: Vec<i64>,
    /// Rendered views of pages (the comic page without its comments), kept
    /// while this catalog lives and until the next scheduled page goes live,
    /// bounded in memory. See `view`.
    views: moka::sync::Cache<(PageId, bool), std::sync::Arc<View>>,
    /// Per series, indices into `pages` in reading order `(position, id)`.
    order: HashMap<SeriesId, Vec<usize>>,
    /// Per series, slug → index.
    slugs: HashMap<SeriesId, HashMap<String, usize>>,
    /// Index into the series' `order` of each page.
    place: HashMap<PageId, usize>,
}

/// A rendered view and until when it holds (Unix seconds; `i64::MAX`: until
/// the catalog is replaced).
pub struct View {
    pub html: String,
    pub valid_until: i64,
}

/// Memory for rendered views per node.
const VIEWS_MAX_BYTES: u64 = 8 * 1024 * 1024;

impl Default for Catalog {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            live_times: Vec::new(),
            views: moka::sync::Cache::builder()
                .max_capacity(VIEWS_MAX_BYTES)
                .weigher(|_, v: &std::sync::Arc<View>| v.html.len().min(u32::MAX as usize) as u32)
                .build(),
            order: HashMap::new(),
            slugs: HashMap::new(),
            place: HashMap::new(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct LabelRow {
    page_id: PageId,
    kind: String,
    slug: String,
    name: String,
}

/// Whose warning a page shows (see `Page::warning`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningFrom {
    Page,
    Chapter,
    Series,
}

impl Page {
    /// The warning readers see before the page's images, wherever it is
    /// shown (the page, its fediverse post, its Bluesky post): the first
    /// non-blank text among the page's, its chapter's and its series', and
    /// whether any of them asks for 18+.
    pub fn warning<'a>(
        &'a self,
        series: Option<&'a super::Series>,
    ) -> (Option<(&'a str, WarningFrom)>, bool) {
        let adult = self.age_gate != 0
            || self.chapter_gate.unwrap_or(0) != 0
            || series.is_some_and(|s| s.age_gate != 0);
        let text = [
            (self.content_warning.as_str(), WarningFrom::Page),
            (
                self.chapter_warning.as_deref().unwrap_or(""),
                WarningFrom::Chapter,
            ),
            (
                series.map_or("", |s| s.content_warning.as_str()),
                WarningFrom::Series,
            ),
        ]
        .into_iter()
        .find(|(text, _)| !text.trim().is_empty())
        .map(|(text, from)| (text.trim(), from));
        (text, adult)
    }

    /// The visibility rule of `visible!`, for pages held in memory.
    pub fn visible_at(&self, now: i64) -> bool {
        self.status == "published" && self.live_at.is_some_and(|t| t <= now)
    }
}

impl Catalog {
    /// Loads every published page (three queries).
    pub async fn load(db: &Db) -> Result<Self, sqlx::Error> {
        let pages: Vec<Page> = sqlx::query_as(concat!(
            super::pages::select_pages!(),
            " WHERE p.status = 'published' ORDER BY p.series_id, p.position, p.id"
        ))
        .fetch_all(db)
        .await?;
        let images: Vec<PageImage> = sqlx::query_as(
            "SELECT i.page_id, i.position, i.alt_text, m.hash, m.width, m.height, m.widths, \
             m.fallback_ext, m.thumb_width, m.thumb_height \
             FROM page_images i JOIN media m ON m.id = i.media_id \
             JOIN pages p ON p.id = i.page_id WHERE p.status = 'published' \
             ORDER BY i.page_id, i.position",
        )
        .fetch_all(db)
        .await?;
        let labels: Vec<LabelRow> = sqlx::query_as(
            "SELECT pt.page_id, 'tag' AS kind, t.slug, t.name FROM page_tags pt \
             JOIN tags t ON t.id = pt.tag_id JOIN pages p ON p.id = pt.page_id \
             WHERE p.status = 'published' \
             UNION ALL \
             SELECT pc.page_id, 'character' AS kind, ch.slug, ch.name FROM page_characters pc \
             JOIN characters ch ON ch.id = pc.character_id JOIN pages p ON p.id = pc.page_id \
             WHERE p.status = 'published' \
             ORDER BY page_id, kind DESC, name",
        )
        .fetch_all(db)
        .await?;
        Ok(Self::build(pages, images, labels))
    }

    fn build(pages: Vec<Page>, images: Vec<PageImage>, labels: Vec<LabelRow>) -> Self {
        let mut catalog = Catalog::default();
        let mut index: HashMap<PageId, usize> = HashMap::with_capacity(pages.len());
        for page in pages {
            let i = catalog.pages.len();
            index.insert(page.id, i);
            let order = catalog.order.entry(page.series_id).or_default();
            catalog.place.insert(page.id, order.len());
            order.push(i);
            catalog
                .slugs
                .entry(page.series_id)
                .or_default()
                .insert(page.slug.clone(), i);
            catalog.pages.push(CatalogPage {
                page,
                images: Vec::new(),
                labels: Vec::new(),
            });
        }
        catalog.live_times = catalog
            .pages
            .iter()
            .filter_map(|p| p.page.live_at)
            .collect();
        catalog.live_times.sort_unstable();
        for image in images {
            if let Some(&i) = index.get(&image.page_id) {
                catalog.pages[i].images.push(image);
            }
        }
        for label in labels {
            if let Some(&i) = index.get(&label.page_id) {
                catalog.pages[i].labels.push(PageLabel {
                    kind: label.kind,
                    slug: label.slug,
                    name: label.name,
                });
            }
        }
        catalog
    }

    /// The view `(page, variant)` rendered by `render` at `now`, or the one
    /// rendered before if nothing it shows can have changed since: the
    /// catalog is replaced on every content change, and a view made before
    /// a scheduled page went live is not used after (its navigation would
    /// miss the new page). `render` runs on a miss only.
    pub fn view<E>(
        &self,
        key: (PageId, bool),
        now: i64,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<std::sync::Arc<View>, E> {
        if let Some(view) = self.views.get(&key) {
            if now < view.valid_until {
                return Ok(view);
            }
        }
        let at = self.live_times.partition_point(|&t| t <= now);
        let view = std::sync::Arc::new(View {
            html: render()?,
            valid_until: self.live_times.get(at).copied().unwrap_or(i64::MAX),
        });
        self.views.insert(key, view.clone());
        Ok(view)
    }

    /// How many published pages it holds (live or scheduled).
    /// Every published page (live or scheduled), by series and reading order.
    pub fn pages(&self) -> &[CatalogPage] {
        &self.pages
    }

    /// A published page by id (live or scheduled: check `visible_at`).
    pub fn get(&self, id: PageId) -> Option<&CatalogPage> {
        self.pages.iter().find(|p| p.page.id == id)
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The series' pages in reading order, visible or not.
    fn in_order(&self, series: SeriesId) -> impl DoubleEndedIterator<Item = &CatalogPage> + '_ {
        self.order
            .get(&series)
            .map(|o| o.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(|&i| &self.pages[i])
    }

    /// The last visible page in reading order (not the most recently dated).
    pub fn latest(&self, series: SeriesId, now: i64) -> Option<&CatalogPage> {
        self.in_order(series).rev().find(|p| p.page.visible_at(now))
    }

    pub fn by_slug(&self, series: SeriesId, slug: &str, now: i64) -> Option<&CatalogPage> {
        let &i = self.slugs.get(&series)?.get(slug)?;
        let page = &self.pages[i];
        page.page.visible_at(now).then_some(page)
    }

    /// A visible page picked at random (counted, then walked to: no list).
    pub fn random(&self, series: SeriesId, now: i64) -> Option<&CatalogPage> {
        let visible = || {
            self.in_order(series)
                .filter(move |p| p.page.visible_at(now))
        };
        let count = visible().count();
        if count == 0 {
            return None;
        }
        visible().nth(rand::random_range(0..count))
    }

    /// First, previous, next and last visible pages around `page`, and the
    /// first visible page of the nearest earlier and later chapters that have
    /// one — what `pages::navigation` answers from the database.
    pub fn navigation(&self, page: &Page, now: i64) -> Navigation {
        let order = self.order.get(&page.series_id).map_or(&[][..], |o| o);
        let visible = |i: &usize| self.pages[*i].page.visible_at(now);
        let slug = |i: usize| Some(self.pages[i].page.slug.clone());
        // Where `page` sits: by its own place when it is in the catalog,
        // else (a preview of a draft) by its reading-order key.
        let key = (page.position, page.id);
        let at = self.place.get(&page.id).copied().filter(|&at| {
            order
                .get(at)
                .is_some_and(|&i| self.pages[i].page.id == page.id)
        });
        let split = at.unwrap_or_else(|| {
            order.partition_point(|&i| {
                let p = &self.pages[i].page;
                (p.position, p.id) < key
            })
        });
        let after = if at.is_some() { split + 1 } else { split };
        let mut nav = Navigation {
            first_slug: order.iter().find(|i| visible(i)).and_then(|&i| slug(i)),
            last_slug: order
                .iter()
                .rev()
                .find(|i| visible(i))
                .and_then(|&i| slug(i)),
            prev_slug: order[..split]
                .iter()
                .rev()
                .find(|i| visible(i))
                .and_then(|&i| slug(i)),
            next_slug: order[after.min(order.len())..]
                .iter()
                .find(|i| visible(i))
                .and_then(|&i| slug(i)),
            ..Navigation::default()
        };
        if let (Some(chapter), Some(cpos)) = (page.chapter_id, page.chapter_position) {
            // The first visible page of every chapter, by chapter order.
            let mut firsts: HashMap<ChapterId, (i64, usize)> = HashMap::new();
            for &i in order.iter().filter(|i| visible(i)) {
                let p = &self.pages[i].page;
                if let (Some(c), Some(pos)) = (p.chapter_id, p.chapter_position) {
                    firsts.entry(c).or_insert((pos, i));
                }
            }
            let here = (cpos, chapter);
            let prev = firsts
                .iter()
                .filter(|(c, (pos, _))| (*pos, **c) < here)
                .max_by_key(|(c, (pos, _))| (*pos, **c));
            let next = firsts
                .iter()
                .filter(|(c, (pos, _))| (*pos, **c) > here)
                .min_by_key(|(c, (pos, _))| (*pos, **c));
            nav.prev_chapter_slug = prev.and_then(|(_, (_, i))| slug(*i));
            nav.next_chapter_slug = next.and_then(|(_, (_, i))| slug(*i));
        }
        nav
    }
}
