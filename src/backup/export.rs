//! `halftone export DIR`: the comic in the importer's own folder format,
//! so `halftone import` of it on a new site gives the same comic — no
//! lock-in, and a copy a person can read without Halftone.
//!
//! ```text
//! DIR/README.txt                   how to import it again
//! DIR/<series>/01-<chapter>/chapter.toml
//! DIR/<series>/01-<chapter>/0001.webp, 0001.toml (or 0001_1.webp, 0001_2.webp)
//! DIR/<series>/0001.webp           pages outside any chapter
//! DIR/<series>.drafts/…            drafts, the same way (import with --draft)
//! ```
//!
//! Halftone keeps the processed images, not the uploaded files: each image
//! is exported as its largest stored version.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use super::Progress;
use crate::comics::portable::{self, Page, Series};
use crate::config::Config;
use crate::db::Db;

#[derive(Debug, Default)]
pub struct Exported {
    pub series: usize,
    pub chapters: usize,
    pub pages: usize,
    pub drafts: usize,
    pub images: usize,
    pub missing_images: Vec<String>,
}

#[derive(Serialize)]
struct ChapterToml<'a> {
    title: &'a str,
    slug: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Alt {
    One(String),
    PerImage(Vec<String>),
}

#[derive(Serialize)]
struct Sidecar<'a> {
    title: &'a str,
    slug: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt: Option<Alt>,
    #[serde(skip_serializing_if = "str::is_empty")]
    hover: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    transcript: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    notes: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    characters: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    content_warning: &'a str,
}

/// Writes the comic into `dir` (created; must be empty if it exists).
pub async fn export(
    db: &Db,
    config: &Config,
    dir: &Path,
    progress: &Arc<Progress>,
) -> anyhow::Result<Exported> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some()
    {
        anyhow::bail!("{} is not empty: export into a new folder", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let comic = portable::load(db).await?;
    let media = Media {
        store: crate::media::store::MediaStore::open(config)?,
        runtime: tokio::runtime::Handle::current(),
    };
    let dir = dir.to_owned();
    let progress = progress.clone();
    tokio::task::spawn_blocking(move || write_all(&comic, &media, &dir, &progress)).await?
}

/// Where the images come from, read from the export's blocking thread.
struct Media {
    store: crate::media::store::MediaStore,
    runtime: tokio::runtime::Handle,
}

fn write_all(
    comic: &[Series],
    media: &Media,
    dir: &Path,
    progress: &Progress,
) -> anyhow::Result<Exported> {
    let mut done = Exported::default();
    progress.start_phase(
        "exporting",
        comic.iter().map(|s| s.pages.len() as u64).sum(),
    );
    let mut readme = String::from(
        "This folder is a Halftone comic in Halftone's import format: images with a\n\
         .toml beside each (title, date, alt text, transcript…), one folder per\n\
         chapter with a chapter.toml. To bring it into a new site:\n\n",
    );
    for series in comic {
        done.series += 1;
        for (drafts, suffix) in [(false, ""), (true, ".drafts")] {
            let pages: Vec<&Page> = series.pages.iter().filter(|p| p.draft == drafts).collect();
            if pages.is_empty() {
                continue;
            }
            let root = dir.join(format!("{}{suffix}", series.slug));
            let chapters = write_series(series, &pages, media, &root, &mut done, progress)?;
            if !drafts {
                done.chapters += chapters;
            }
            let _ = writeln!(
                readme,
                "  halftone import \"{}{suffix}\" --series {}{}   # {} ({} pages{})",
                series.slug,
                series.slug,
                if drafts { " --draft" } else { "" },
                series.title,
                pages.len(),
                if drafts { ", drafts" } else { "" },
            );
        }
    }
    readme.push_str(
        "\nAdd --undated none to keep undated pages without a date. Images are the largest\n\
         version the site stored.\n",
    );
    std::fs::write(dir.join("README.txt"), readme)?;
    Ok(done)
}

fn write_series(
    series: &Series,
    pages: &[&Page],
    media: &Media,
    root: &Path,
    done: &mut Exported,
    progress: &Progress,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(root)?;
    // Chapter folders: `01-slug`, in reading order; a volume adds a folder
    // above (`vol1`, `vol2`: the importer names them "Volume 1"…).
    let mut volumes: BTreeMap<String, usize> = BTreeMap::new();
    let mut folders: BTreeMap<i64, PathBuf> = BTreeMap::new();
    let width = series.chapters.len().to_string().len().max(2);
    let mut used_chapters = 0;
    for (i, chapter) in series.chapters.iter().enumerate() {
        if !pages.iter().any(|p| p.chapter_id == Some(chapter.id)) {
            continue;
        }
        used_chapters += 1;
        let mut folder = root.to_owned();
        if let Some(volume) = &chapter.volume {
            let n = volumes.len() + 1;
            let n = *volumes.entry(volume.clone()).or_insert(n);
            folder = folder.join(format!("vol{n}"));
        }
        folder = folder.join(format!("{:0width$}-{}", i + 1, chapter.slug));
        std::fs::create_dir_all(&folder)?;
        let toml = toml::to_string(&ChapterToml {
            title: &chapter.title,
            slug: &chapter.slug,
            description: &chapter.description,
        })?;
        std::fs::write(folder.join("chapter.toml"), toml)?;
        folders.insert(chapter.id, folder);
    }
    let mut numbers: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for page in pages {
        let folder = page
            .chapter_id
            .and_then(|c| folders.get(&c).cloned())
            .unwrap_or_else(|| root.to_owned());
        let n = numbers.entry(folder.clone()).or_insert(0);
        *n += 1;
        let base = format!("{:04}", *n);
        write_page(page, media, &folder, &base, done)?;
        if page.draft {
            done.drafts += 1;
        } else {
            done.pages += 1;
        }
        progress.add(1);
    }
    Ok(used_chapters)
}

fn write_page(
    page: &Page,
    media: &Media,
    folder: &Path,
    base: &str,
    done: &mut Exported,
) -> anyhow::Result<()> {
    let several = page.images.len() > 1;
    for (i, image) in page.images.iter().enumerate() {
        let Some((bytes, ext)) = largest(media, image)? else {
            done.missing_images
                .push(format!("{} ({})", page.title, image.hash));
            continue;
        };
        let name = if several {
            format!("{base}_{}.{ext}", i + 1)
        } else {
            format!("{base}.{ext}")
        };
        let target = folder.join(&name);
        std::fs::write(&target, &bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
        done.images += 1;
    }
    let alts: Vec<String> = page.images.iter().map(|i| i.alt.clone()).collect();
    let alt = match alts.as_slice() {
        [] => None,
        [one] if one.is_empty() => None,
        [one] => Some(Alt::One(one.clone())),
        many if many.iter().all(String::is_empty) => None,
        many => Some(Alt::PerImage(many.to_vec())),
    };
    let date = page
        .published_at
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0).map(|d| d.to_rfc3339()));
    let sidecar = Sidecar {
        title: &page.title,
        slug: &page.slug,
        date,
        alt,
        hover: &page.hover,
        transcript: &page.transcript,
        notes: &page.notes,
        tags: &page.tags,
        characters: &page.characters,
        content_warning: &page.content_warning,
    };
    std::fs::write(
        folder.join(format!("{base}.toml")),
        toml::to_string(&sidecar)?,
    )?;
    Ok(())
}

/// The largest stored version of an image: the widest WebP, or the
/// lossless fallback (PNG) when it is as wide.
fn largest(
    media: &Media,
    image: &crate::comics::portable::Image,
) -> anyhow::Result<Option<(bytes::Bytes, &'static str)>> {
    use crate::media::variants;
    let Some(widest) = image
        .widths
        .split(',')
        .filter_map(|w| w.trim().parse::<u32>().ok())
        .max()
    else {
        return Ok(None);
    };
    let Some(dir) = image.hash.get(..2) else {
        return Ok(None);
    };
    if image.fallback_ext == "png" {
        let png = variants::fallback_name(&image.hash, widest, &image.fallback_ext);
        if let Some(bytes) = media
            .store
            .get_blocking(&media.runtime, &format!("{dir}/{png}"))?
        {
            return Ok(Some((bytes, "png")));
        }
    }
    let webp = variants::webp_name(&image.hash, widest);
    Ok(media
        .store
        .get_blocking(&media.runtime, &format!("{dir}/{webp}"))?
        .map(|bytes| (bytes, "webp")))
}
