//! `halftone import <DIR>`: a folder of images becomes pages and chapters.
//!
//! Three steps, so nothing is ever half-imported:
//! 1. plan: walk the folder, group slices into pages, order them;
//! 2. process: decode, validate and make variants of every image in
//!    parallel (a progress bar counts them); a page with any bad file is
//!    reported by name and skipped as a whole;
//! 3. write: every page, chapter and image row in one transaction.
//!
//! Files are content-addressed, so an interrupted import only leaves files
//! that the next run reuses. Re-running an import skips pages already there.

pub mod foreign;
pub mod naming;
mod plan;
pub mod write;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

pub use plan::{plan, PlannedPage, Sidecar, SIDECAR_KEYS};
pub use write::{write_pages, write_planned, ChapterSpec, Existing, ReadyImage, ReadyPage, Target};

use crate::config::Config;
use crate::db::Db;
use crate::media;

/// What to do with pages whose name and sidecar give no date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Undated {
    /// The files' modification times, unless they look like a copy's (all
    /// within the same hour): then no date.
    #[default]
    Auto,
    /// The files' modification times.
    FileTime,
    /// No date shown (feeds still list the pages in reading order).
    None,
}

pub struct Options {
    /// Series slug; `None` means the primary series (created if the site has none).
    pub series: Option<String>,
    pub publish: bool,
    pub dry_run: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
    pub undated: Undated,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            series: None,
            publish: true,
            dry_run: false,
            progress: false,
            undated: Undated::Auto,
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub imported: usize,
    pub already_there: usize,
    pub chapters_created: usize,
    /// Images decoded and resized in this run.
    pub images: usize,
    /// Images already in the site (same bytes): reused, not processed again.
    pub images_reused: usize,
    pub failures: Vec<(PathBuf, String)>,
    /// How pages without a date were dated, when there were any.
    pub undated: Option<String>,
    pub elapsed: Duration,
    pub dry_run: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, process) = if self.dry_run {
            ("Would import", "to process")
        } else {
            ("Imported", "processed")
        };
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{verb} {} ({} {process}",
            plural(self.imported, "page", "pages"),
            plural(self.images, "image", "images"),
        )?;
        if self.images_reused > 0 {
            write!(f, ", {} already in the site", self.images_reused)?;
        }
        write!(
            f,
            ", {}) in {:.1} s",
            plural(self.chapters_created, "new chapter", "new chapters"),
            self.elapsed.as_secs_f64()
        )?;
        if self.already_there > 0 {
            write!(
                f,
                "; {} already imported",
                plural(self.already_there, "page was", "pages were")
            )?;
        }
        if let Some(undated) = &self.undated {
            write!(f, "\n{undated}")?;
        }
        if !self.failures.is_empty() {
            write!(
                f,
                "\n{} because of these files (fix them and run the import again; \
                 the pages will take their place in the order):",
                plural(self.failures.len(), "Skipped a page", "Skipped pages")
            )?;
            for (path, error) in &self.failures {
                write!(f, "\n  {}: {error}", path.display())?;
            }
        }
        Ok(())
    }
}

/// One page on its way: the plan, its sidecar, and its slug.
struct Todo {
    page: PlannedPage,
    sidecar: Sidecar,
}

/// Plans the import against what the site already holds (`db` is `None` for
/// a dry run on a site whose database does not exist yet), processes the new
/// pages' images and, unless it is a dry run, writes them in one transaction.
/// A dry run does everything but write: it decodes every image and reports
/// exactly what the run would do.
#[tracing::instrument(skip_all, fields(dir = %dir.display(), dry_run = options.dry_run))]
pub async fn run(
    config: &Config,
    db: Option<&Db>,
    dir: &Path,
    options: &Options,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder", dir.display());
    }
    let (planned, mut failures) =
        plan(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let existing = match db {
        Some(db) => Existing::load(db, options.series.as_deref()).await?,
        None => Existing::default(),
    };

    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    let mut order = Vec::with_capacity(planned.len());
    let mut todo = Vec::new();
    // Whether file times mean anything is judged on the whole folder, so a
    // page imported again later is dated like its siblings were.
    let mut undated_times = Vec::new();
    for page in planned {
        let sidecar = match &page.sidecar {
            Some(Ok(sidecar)) => sidecar.clone(),
            Some(Err(error)) => {
                failures.push((page.sidecar_path(), error.clone()));
                continue;
            }
            None => Sidecar::default(),
        };
        let slug = page.slug_for(&sidecar);
        order.push(slug.clone());
        if page.date(&sidecar).is_none() {
            undated_times.push(page.modified);
        }
        if existing.slugs.contains(&slug) {
            report.already_there += 1;
        } else {
            todo.push(Todo { page, sidecar });
        }
    }
    let undated = date_undated(&todo, &undated_times, options.undated);
    report.undated = undated.note;

    let image_count: usize = todo.iter().map(|t| t.page.files.len()).sum();
    tracing::info!(
        pages = todo.len(),
        images = image_count,
        already_there = report.already_there,
        "import planned"
    );
    let bar = if options.progress {
        ProgressBar::new(image_count as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images ({per_sec}, {eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let media_config = Arc::new(config.media.clone());
    let store = media::store::MediaStore::open(config)?;
    let runtime = tokio::runtime::Handle::current();
    let dry_run = options.dry_run;
    let known = Arc::new(existing.media);
    let processed = {
        let bar = bar.clone();
        let dates = undated.dates;
        tokio::task::spawn_blocking(move || {
            todo.into_par_iter()
                .enumerate()
                .map(|(i, t)| {
                    let result =
                        prepare(&t, &media_config, (&store, &runtime), &known, dry_run, &bar);
                    (t, dates.get(i).copied().flatten(), result)
                })
                .collect::<Vec<_>>()
        })
        .await
        .context("image processing crashed")?
    };
    bar.finish_and_clear();

    let mut ready = Vec::new();
    let mut new_chapters = HashSet::new();
    for (todo, date, result) in processed {
        match result {
            Ok((images, reused)) => {
                report.images += images.len() - reused;
                report.images_reused += reused;
                if let Some(chapter) = &todo.page.chapter {
                    if !existing.chapters.contains(&chapter.slug) {
                        new_chapters.insert(chapter.slug.clone());
                    }
                }
                let undated = match date {
                    Some(time) => (Some(time), false),
                    None => (None, true),
                };
                ready.push(todo.page.ready(todo.sidecar, images, undated));
            }
            Err((path, error)) => {
                tracing::warn!(file = %path.display(), %error, page = %todo.page.base, "skipping page");
                failures.push((path, error));
            }
        }
    }
    // Pages without a date and without a usable file time keep reading
    // order in feeds: they count as published a second apart, just now.
    let now = crate::db::now();
    let hidden = ready.iter().filter(|p| p.hide_date).count() as i64;
    for (n, page) in ready.iter_mut().filter(|p| p.hide_date).enumerate() {
        page.published_at = Some(now - hidden + n as i64 + 1);
    }
    report.failures = failures;
    if dry_run {
        report.imported = ready.len();
        report.chapters_created = new_chapters.len();
    } else {
        let db = db.context("no database to import into")?;
        let target = Target {
            series: options.series.clone(),
            publish: options.publish,
            backfill: true,
        };
        let written = write_planned(db, &target, ready, &order).await?;
        report.imported = written.created;
        report.already_there += written.skipped;
        report.chapters_created = written.chapters_created;
    }
    report.elapsed = started.elapsed();
    tracing::info!(
        imported = report.imported,
        skipped = report.failures.len(),
        secs = report.elapsed.as_secs_f64(),
        "import finished"
    );
    Ok(report)
}

/// Dates for pages whose name and sidecar have none (by index in `todo`;
/// `None` = show no date), and a sentence saying what was done.
struct UndatedPlan {
    dates: Vec<Option<i64>>,
    note: Option<String>,
}

fn date_undated(todo: &[Todo], all_times: &[Option<i64>], policy: Undated) -> UndatedPlan {
    let undated: Vec<usize> = todo
        .iter()
        .enumerate()
        .filter(|(_, t)| t.page.date(&t.sidecar).is_none())
        .map(|(i, _)| i)
        .collect();
    let mut dates = vec![None; todo.len()];
    if undated.is_empty() {
        return UndatedPlan { dates, note: None };
    }
    let times: Vec<i64> = all_times.iter().flatten().copied().collect();
    let spread = times.iter().max().unwrap_or(&0) - times.iter().min().unwrap_or(&0);
    // Copied files all carry the moment of the copy: that date would be wrong.
    let looks_copied = times.len() > 1 && spread < 3600;
    let use_file_times = match policy {
        Undated::FileTime => true,
        Undated::None => false,
        Undated::Auto => !looks_copied && times.len() == all_times.len(),
    };
    let n = undated.len();
    let note = if use_file_times {
        for &i in &undated {
            dates[i] = todo[i].page.modified;
        }
        format!("{n} page(s) have no date in their name or sidecar: dated by their files' modification times (--undated none shows no date instead).")
    } else {
        format!("{n} page(s) have no date in their name or sidecar: shown without a date{} (give them a `date` in a sidecar, or --undated file-time).",
            if looks_copied && policy == Undated::Auto { ", as their files' times are all the same (a copy's)" } else { "" })
    };
    UndatedPlan {
        dates,
        note: Some(note),
    }
}

/// Processes and stores the images of one planned page (or, in a dry run,
/// only checks them); the first bad file fails the whole page (named in the
/// error). Images already in the site are reused. Returns the images and
/// how many were reused.
fn prepare(
    todo: &Todo,
    config: &crate::config::MediaConfig,
    (store, runtime): (&media::store::MediaStore, &tokio::runtime::Handle),
    known: &HashSet<String>,
    dry_run: bool,
    bar: &ProgressBar,
) -> Result<(Vec<ReadyImage>, usize), (PathBuf, String)> {
    let page = &todo.page;
    let mut images = Vec::with_capacity(page.files.len());
    let mut reused = 0;
    for (n, path) in page.files.iter().enumerate() {
        bar.inc(1);
        let bytes = std::fs::read(path).map_err(|e| (path.clone(), format!("cannot read: {e}")))?;
        let hash = media::pipeline::content_hash(&bytes, config);
        let processed = if known.contains(&hash) && store.has_files_blocking(runtime, &hash) {
            reused += 1;
            // The row and files exist: only the name is needed to link them.
            media::Processed::known(hash)
        } else if dry_run {
            let image = media::pipeline::decode(&bytes, config)
                .map_err(|e| (path.clone(), e.to_string()))?;
            drop(image);
            media::Processed::known(hash)
        } else {
            let mut processed =
                media::process(&bytes, config).map_err(|e| (path.clone(), e.to_string()))?;
            store
                .write_processed_blocking(runtime, &processed)
                .map_err(|e| (path.clone(), format!("cannot write media: {e:#}")))?;
            processed.files.clear();
            processed
        };
        let alt = todo.sidecar.alt_for(n).unwrap_or_default();
        images.push(ReadyImage { processed, alt });
    }
    Ok((images, reused))
}
