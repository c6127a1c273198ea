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

pub mod naming;
mod plan;
pub mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

pub use plan::{plan, PlannedPage, Sidecar};
pub use write::{write_pages, ChapterSpec, ReadyImage, ReadyPage, Target};

use crate::config::Config;
use crate::db::Db;
use crate::media;

pub struct Options {
    /// Series slug; `None` means the primary series (created if the site has none).
    pub series: Option<String>,
    pub publish: bool,
    pub dry_run: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub imported: usize,
    pub already_there: usize,
    pub chapters_created: usize,
    pub images: usize,
    pub failures: Vec<(PathBuf, String)>,
    pub elapsed: Duration,
    pub dry_run: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "Would import"
        } else {
            "Imported"
        };
        write!(
            f,
            "{verb} {} pages ({} images, {} new chapters) in {:.1} s",
            self.imported,
            self.images,
            self.chapters_created,
            self.elapsed.as_secs_f64()
        )?;
        if self.already_there > 0 {
            write!(f, "; {} pages were already imported", self.already_there)?;
        }
        if !self.failures.is_empty() {
            write!(
                f,
                "\nSkipped {} pages because of these files:",
                self.failures.len()
            )?;
            for (path, error) in &self.failures {
                write!(f, "\n  {}: {error}", path.display())?;
            }
        }
        Ok(())
    }
}

#[tracing::instrument(skip_all, fields(dir = %dir.display()))]
pub async fn run(
    config: &Config,
    db: &Db,
    dir: &Path,
    options: &Options,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder", dir.display());
    }
    let (planned, mut failures) =
        plan(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let image_count: usize = planned.iter().map(|p| p.files.len()).sum();
    tracing::info!(
        pages = planned.len(),
        images = image_count,
        "import planned"
    );
    if options.dry_run {
        return Ok(Report {
            imported: planned.len(),
            images: image_count,
            failures,
            elapsed: started.elapsed(),
            dry_run: true,
            ..Report::default()
        });
    }

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
    let media_dir = config.media_dir();
    let processed = {
        let bar = bar.clone();
        tokio::task::spawn_blocking(move || {
            planned
                .into_par_iter()
                .map(|page| {
                    let result = prepare(&page, &media_config, &media_dir, &bar);
                    (page, result)
                })
                .collect::<Vec<_>>()
        })
        .await
        .context("image processing crashed")?
    };
    bar.finish_and_clear();

    let mut ready = Vec::new();
    for (page, result) in processed {
        match result {
            Ok(page) => ready.push(page),
            Err((path, error)) => {
                tracing::warn!(file = %path.display(), %error, page = %page.base, "skipping page");
                failures.push((path, error));
            }
        }
    }
    let images = ready.iter().map(|p| p.images.len()).sum();
    let target = Target {
        series: options.series.clone(),
        publish: options.publish,
        backfill: true,
    };
    let written = write_pages(db, &target, ready).await?;
    let report = Report {
        imported: written.created,
        already_there: written.skipped,
        chapters_created: written.chapters_created,
        images,
        failures,
        elapsed: started.elapsed(),
        dry_run: false,
    };
    tracing::info!(
        imported = report.imported,
        skipped = report.failures.len(),
        secs = report.elapsed.as_secs_f64(),
        "import finished"
    );
    Ok(report)
}

/// Processes and stores the images of one planned page; the first bad file
/// fails the whole page (named in the error).
fn prepare(
    page: &PlannedPage,
    config: &crate::config::MediaConfig,
    media_dir: &Path,
    bar: &ProgressBar,
) -> Result<ReadyPage, (PathBuf, String)> {
    let sidecar = match &page.sidecar {
        Some(Ok(sidecar)) => sidecar.clone(),
        Some(Err(error)) => return Err((page.sidecar_path(), error.clone())),
        None => Sidecar::default(),
    };
    let mut images = Vec::with_capacity(page.files.len());
    for (n, path) in page.files.iter().enumerate() {
        bar.inc(1);
        let bytes = std::fs::read(path).map_err(|e| (path.clone(), format!("cannot read: {e}")))?;
        let mut processed =
            media::process(&bytes, config).map_err(|e| (path.clone(), e.to_string()))?;
        media::store::write_files(media_dir, &processed)
            .map_err(|e| (path.clone(), format!("cannot write media: {e}")))?;
        processed.files.clear();
        let alt = sidecar.alt_for(n).unwrap_or_default();
        images.push(ReadyImage { processed, alt });
    }
    Ok(page.ready(sidecar, images))
}
