//! Writes a [`ForeignComic`] into the site: images through the media
//! pipeline (in parallel, each stored before the rows naming it), pages in
//! the source's order with their statuses and dates (one transaction per
//! series, like a folder import: a re-run adds only what is missing), then
//! static pages and every old address as a redirect. A dry run reads and
//! decodes everything and writes nothing.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::{ForeignComic, ForeignImage, ForeignPage, ForeignStatus, RedirectTarget};
use crate::config::Config;
use crate::db::Db;
use crate::import::write::{self, ReadyImage, ReadyPage, Target};
use crate::media;

#[derive(Debug, Default)]
pub struct ForeignReport {
    pub system: String,
    pub dry_run: bool,
    pub pages: usize,
    pub imported: usize,
    pub already_there: usize,
    pub drafts: usize,
    pub scheduled: usize,
    pub chapters: usize,
    pub images: usize,
    pub images_reused: usize,
    pub static_pages: usize,
    pub redirects: usize,
    /// Readers' comments written (a re-run writes none again).
    pub comments: usize,
    /// Images the source names that were not found.
    pub missing: Vec<String>,
    /// Pages skipped, with why.
    pub failures: Vec<(String, String)>,
    pub unmapped: Vec<String>,
    pub notes: Vec<String>,
    /// The chapter tree, for the dry run: "Volume 1 / Chapter 1 (4 pages)".
    pub chapter_tree: Vec<String>,
    pub elapsed: Duration,
}

impl std::fmt::Display for ForeignReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "Would import"
        } else {
            "Imported"
        };
        writeln!(
            f,
            "{verb} from {}: {} of {} pages ({} drafts, {} scheduled), {} images ({} already in the site), \
             {} static pages, {} old addresses redirected, {} readers' comments, in {:.1} s.",
            self.system,
            self.imported,
            self.pages,
            self.drafts,
            self.scheduled,
            self.images,
            self.images_reused,
            self.static_pages,
            self.redirects,
            self.comments,
            self.elapsed.as_secs_f64()
        )?;
        if self.already_there > 0 {
            writeln!(
                f,
                "{} pages were imported before (left as they are).",
                self.already_there
            )?;
        }
        if !self.chapter_tree.is_empty() {
            writeln!(f, "Chapters:")?;
            for line in &self.chapter_tree {
                writeln!(f, "  {line}")?;
            }
        }
        for (title, lines) in [
            (
                "Missing images (give --uploads, or put them there):",
                &self.missing,
            ),
            ("Not carried over:", &self.unmapped),
            ("Please check:", &self.notes),
        ] {
            if !lines.is_empty() {
                writeln!(f, "{title}")?;
                for line in lines {
                    writeln!(f, "  {line}")?;
                }
            }
        }
        if !self.failures.is_empty() {
            writeln!(f, "Skipped pages:")?;
            for (page, why) in &self.failures {
                writeln!(f, "  {page}: {why}")?;
            }
        }
        Ok(())
    }
}

pub struct ApplyOptions {
    pub dry_run: bool,
    pub progress: bool,
}

struct Prepared {
    page: ForeignPage,
    images: Vec<ReadyImage>,
    reused: usize,
}

/// Processes one page's images (blocking: decode, resize, store).
fn prepare(
    page: ForeignPage,
    config: &crate::config::MediaConfig,
    store: &media::store::MediaStore,
    runtime: &tokio::runtime::Handle,
    known: &HashSet<String>,
    dry_run: bool,
) -> Result<Prepared, Box<(ForeignPage, String)>> {
    match process_images(&page.images, config, store, runtime, known, dry_run) {
        Ok((images, reused)) => Ok(Prepared {
            page,
            images,
            reused,
        }),
        Err(why) => Err(Box::new((page, why))),
    }
}

fn process_images(
    sources: &[ForeignImage],
    config: &crate::config::MediaConfig,
    store: &media::store::MediaStore,
    runtime: &tokio::runtime::Handle,
    known: &HashSet<String>,
    dry_run: bool,
) -> Result<(Vec<ReadyImage>, usize), String> {
    let mut images = Vec::new();
    let mut reused = 0;
    for image in sources {
        let ForeignImage::File { path, alt } = image else {
            continue;
        };
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let hash = media::pipeline::content_hash(&bytes, config);
        let processed = if known.contains(&hash) && store.has_files_blocking(runtime, &hash) {
            reused += 1;
            media::Processed::known(hash)
        } else if dry_run {
            media::pipeline::decode(&bytes, config)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            media::Processed::known(hash)
        } else {
            let mut processed =
                media::process(&bytes, config).map_err(|e| format!("{}: {e}", path.display()))?;
            store
                .write_processed_blocking(runtime, &processed)
                .map_err(|e| format!("cannot store {}: {e:#}", path.display()))?;
            processed.files.clear();
            processed
        };
        images.push(ReadyImage {
            processed,
            alt: alt.clone(),
        });
    }
    Ok((images, reused))
}

fn ready(p: Prepared) -> ReadyPage {
    let page = p.page;
    ReadyPage {
        chapter: page.chapter,
        slug: page.slug,
        title: page.title,
        published_at: page.date,
        hide_date: page.date.is_none(),
        draft: page.status == ForeignStatus::Draft,
        hover_text: page.hover_text,
        transcript: page.transcript,
        notes: page.notes,
        content_warning: page.content_warning,
        tags: page.tags,
        characters: page.characters,
        images: p.images,
    }
}

/// Imports `comic` (see the module's comment).
pub async fn apply(
    config: &Config,
    db: Option<&Db>,
    comic: ForeignComic,
    options: &ApplyOptions,
) -> anyhow::Result<ForeignReport> {
    let started = Instant::now();
    let mut report = ForeignReport {
        system: comic.system.clone(),
        dry_run: options.dry_run,
        unmapped: comic.unmapped.clone(),
        notes: comic.notes.clone(),
        ..ForeignReport::default()
    };
    let store = media::store::MediaStore::open(config)?;
    let runtime = tokio::runtime::Handle::current();
    let known: HashSet<String> = match db {
        Some(db) => media::store::known_hashes(db).await?,
        None => HashSet::new(),
    };
    let known = std::sync::Arc::new(known);
    // Images this run stored that the site did not have: removed again if
    // the import fails before a row names them.
    let mut new_hashes: Vec<String> = Vec::new();
    // Old addresses of pages, by (series slug, page slug), for after the write.
    let mut page_urls: Vec<PageExtras> = Vec::new();
    for series in comic.series {
        let existing = match db {
            Some(db) => write::Existing::load(db, series.slug.as_deref()).await?,
            None => write::Existing::default(),
        };
        report.pages += series.pages.len();
        let order: Vec<String> = series.pages.iter().map(|p| p.slug.clone()).collect();
        let mut chapter_counts: Vec<(String, usize)> = Vec::new();
        let mut todo = Vec::new();
        for page in series.pages {
            page_urls.push((
                series.slug.clone(),
                page.slug.clone(),
                page.old_urls.clone(),
                page.comments.clone(),
            ));
            if let Some(ch) = &page.chapter {
                let name = match &ch.volume {
                    Some(v) => format!("{v} / {}", ch.title),
                    None => ch.title.clone(),
                };
                match chapter_counts.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, n)) => *n += 1,
                    None => chapter_counts.push((name, 1)),
                }
            }
            for image in &page.images {
                if let ForeignImage::Missing { name } = image {
                    report
                        .missing
                        .push(format!("{} (page “{}”)", name, page.title));
                }
            }
            if existing.slugs.contains(&page.slug) {
                report.already_there += 1;
                continue;
            }
            let files = page
                .images
                .iter()
                .filter(|i| matches!(i, ForeignImage::File { .. }))
                .count();
            if files == 0 && !page.images.is_empty() {
                report.failures.push((
                    page.title.clone(),
                    "none of its images was found".to_owned(),
                ));
                continue;
            }
            match page.status {
                ForeignStatus::Draft => report.drafts += 1,
                ForeignStatus::Scheduled => report.scheduled += 1,
                ForeignStatus::Published => {}
            }
            todo.push(page);
        }
        report.chapter_tree.extend(
            chapter_counts
                .into_iter()
                .map(|(name, n)| format!("{name} ({n} pages)")),
        );
        let bar = if options.progress {
            ProgressBar::new(todo.iter().map(|p| p.images.len() as u64).sum())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let prepared = {
            let media_config = config.media.clone();
            let (store, runtime, known, bar) =
                (store.clone(), runtime.clone(), known.clone(), bar.clone());
            let dry_run = options.dry_run;
            tokio::task::spawn_blocking(move || {
                todo.into_par_iter()
                    .map(|page| {
                        let n = page.images.len() as u64;
                        let done = prepare(page, &media_config, &store, &runtime, &known, dry_run);
                        bar.inc(n);
                        done
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .context("image processing crashed")?
        };
        bar.finish_and_clear();
        let mut pages = Vec::new();
        for result in prepared {
            match result {
                Ok(p) => {
                    report.images += p.images.len() - p.reused;
                    report.images_reused += p.reused;
                    new_hashes.extend(
                        p.images
                            .iter()
                            .map(|i| i.processed.hash.clone())
                            .filter(|h| !known.contains(h)),
                    );
                    pages.push(ready(p));
                }
                Err(failed) => {
                    let (page, why) = *failed;
                    report.failures.push((page.title, why));
                }
            }
        }
        report.imported += pages.len();
        if let (Some(db), false) = (db, options.dry_run) {
            let target = Target {
                series: series.slug.clone(),
                publish: true,
                backfill: true,
            };
            let written = match write::write_planned(db, &target, pages, &order).await {
                Ok(written) => written,
                Err(e) => {
                    clean_up(db, &store, &new_hashes).await;
                    return Err(e);
                }
            };
            report.chapters += written.chapters_created;
            if let Some(id) = written.series {
                // A series the import made gets the source's title: one
                // with a slug of the source's, or the primary series still
                // named by default ("My Comic"). A series the author named
                // keeps its name.
                let title = match &series.slug {
                    None if series.title.trim().is_empty() => comic.site_title.clone(),
                    _ => Some(series.title.clone()),
                };
                if let Some(title) = title.filter(|t| !t.trim().is_empty()) {
                    sqlx::query(
                        "UPDATE series SET title = ?, description = ? WHERE id = ? \
                         AND (slug = ? OR (? AND title = ?))",
                    )
                    .bind(&title)
                    .bind(&series.description)
                    .bind(id)
                    .bind(series.slug.as_deref().unwrap_or(""))
                    .bind(series.slug.is_none())
                    .bind(crate::comics::series::DEFAULT_TITLE)
                    .execute(db)
                    .await?;
                }
            }
        }
    }
    report.static_pages = comic.static_pages.len();
    if let (Some(db), false) = (db, options.dry_run) {
        (report.redirects, report.comments) = write_redirects(
            db,
            &comic.system,
            &page_urls,
            &comic.static_pages,
            &comic.redirects,
        )
        .await?;
    } else {
        report.comments = page_urls.iter().map(|(_, _, _, c)| c.len()).sum();
        report.redirects = page_urls.iter().map(|(_, _, u, _)| u.len()).sum::<usize>()
            + comic.redirects.len()
            + comic
                .static_pages
                .iter()
                .map(|s| s.old_urls.len())
                .sum::<usize>();
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Removes the files of images this run stored that no row names (the
/// write failed). Content-addressed, so a later run would reuse them; they
/// are removed all the same so a failed import leaves nothing behind.
async fn clean_up(db: &Db, store: &media::store::MediaStore, hashes: &[String]) {
    let mut removed = 0;
    for hash in hashes {
        let named: Result<i64, sqlx::Error> =
            sqlx::query_scalar("SELECT COUNT(*) FROM media WHERE hash = ?")
                .bind(hash)
                .fetch_one(db)
                .await;
        if named.is_ok_and(|n| n == 0) {
            match store.delete_hash(hash).await {
                Ok(n) => removed += n,
                Err(e) => {
                    tracing::warn!(%hash, error = %format!("{e:#}"), "cannot remove an image of the failed import")
                }
            }
        }
    }
    tracing::info!(removed, "failed import: its new media files removed");
}

/// A page's series and slug, its old addresses and its readers' comments.
type PageExtras = (
    Option<String>,
    String,
    Vec<String>,
    Vec<crate::comments::import::ForeignComment>,
);

/// Static pages, every old address and the readers' comments, in one
/// transaction. Returns (redirects, comments) written.
async fn write_redirects(
    db: &Db,
    system: &str,
    pages: &[PageExtras],
    statics: &[super::ForeignStatic],
    others: &[super::ForeignRedirect],
) -> anyhow::Result<(usize, usize)> {
    let mut comments = 0;
    let mut tx = db.begin_write().await?;
    let mut count = 0;
    let mut series_ids: HashMap<Option<String>, crate::comics::SeriesId> = HashMap::new();
    let mut ids: HashMap<(Option<String>, String), i64> = HashMap::new();
    for (series, _, _, _) in pages {
        if series_ids.contains_key(series) {
            continue;
        }
        let id = match series {
            Some(slug) => crate::comics::series::find_by_slug(&mut tx, slug)
                .await?
                .map(|s| s.id),
            None => crate::comics::series::primary(&mut tx).await?.map(|s| s.id),
        };
        if let Some(id) = id {
            series_ids.insert(series.clone(), id);
            for (slug, page) in crate::comics::pages::ids_by_slug(&mut tx, id).await? {
                ids.insert((series.clone(), slug), page);
            }
        }
    }
    let prefix = |series: &Option<String>| match series {
        Some(slug) => format!("/series/{slug}"),
        None => String::new(),
    };
    for (series, slug, urls, page_comments) in pages {
        let Some(page) = ids.get(&(series.clone(), slug.clone())) else {
            continue;
        };
        comments +=
            crate::comments::import::write(&mut tx, crate::comics::PageId(*page), page_comments)
                .await?;
        let to = format!("{}/comic/{slug}", prefix(series));
        for url in urls {
            count += usize::from(
                crate::comics::redirects::upsert(&mut tx, url, Some(*page), &to, system).await?,
            );
        }
    }
    for page in statics {
        let Ok(slug) = crate::comics::Slug::parse(&page.slug) else {
            continue;
        };
        let there: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM static_pages WHERE slug = ?")
            .bind(slug.as_str())
            .fetch_one(&mut *tx)
            .await?;
        // Imported before (or the site has its own): keep the site's copy.
        if there == 0 {
            crate::comics::static_pages::insert(&mut tx, slug.as_str(), &page.title, &page.body)
                .await
                .map_err(|e| anyhow::anyhow!("static page {}: {e}", page.slug))?;
            if page.status != ForeignStatus::Published {
                sqlx::query("UPDATE static_pages SET published = 0 WHERE slug = ?")
                    .bind(slug.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for url in &page.old_urls {
            count += usize::from(
                crate::comics::redirects::upsert(
                    &mut tx,
                    url,
                    None,
                    &format!("/{}", page.slug),
                    system,
                )
                .await?,
            );
        }
    }
    for redirect in others {
        let to = match &redirect.to {
            RedirectTarget::Chapter { series, slug } => {
                format!("{}/chapter/{slug}", prefix(series))
            }
            RedirectTarget::Archive { series } => format!("{}/archive", prefix(series)),
            RedirectTarget::Feed {
                series,
                chapter: None,
            } => format!("{}/feed.xml", prefix(series)),
            RedirectTarget::Feed {
                series,
                chapter: Some(c),
            } => format!("{}/chapter/{c}/feed.xml", prefix(series)),
            RedirectTarget::Character { name } => match crate::comics::Slug::from_text(name) {
                Some(slug) => format!("/character/{}", slug.as_str()),
                None => continue,
            },
            RedirectTarget::Tag { name } => match crate::comics::Slug::from_text(name) {
                Some(slug) => format!("/tag/{}", slug.as_str()),
                None => continue,
            },
            RedirectTarget::First { series } => {
                let Some(first) = pages.iter().find(|(s, slug, _, _)| {
                    s == series && ids.contains_key(&(s.clone(), slug.clone()))
                }) else {
                    continue;
                };
                format!("{}/comic/{}", prefix(series), first.1)
            }
            RedirectTarget::Latest { series } => {
                let home = prefix(series);
                if home.is_empty() {
                    "/".to_owned()
                } else {
                    home
                }
            }
            RedirectTarget::Home => "/".to_owned(),
        };
        count += usize::from(
            crate::comics::redirects::upsert(&mut tx, &redirect.from, None, &to, system).await?,
        );
    }
    tx.commit().await?;
    Ok((count, comments))
}
