//! Step 1 of an import: which files make which pages, in which order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use super::naming::{self, natural_cmp, FileName};
use super::write::{ChapterSpec, ReadyImage, ReadyPage};
use crate::comics::Slug;

const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "webp", "bmp"];

/// The keys a sidecar may set (named in error messages).
pub const SIDECAR_KEYS: &[&str] = &[
    "title",
    "slug",
    "date",
    "alt",
    "hover",
    "transcript",
    "notes",
    "tags",
    "characters",
    "content_warning",
];
const CHAPTER_KEYS: &[&str] = &["title", "slug", "description"];

/// Optional `<name>.toml` beside an image.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub title: Option<String>,
    pub slug: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339.
    pub date: Option<String>,
    /// One text for all images, or one per slice.
    pub alt: Option<AltText>,
    pub hover: Option<String>,
    pub transcript: Option<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub characters: Vec<String>,
    pub content_warning: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AltText {
    One(String),
    PerImage(Vec<String>),
}

impl Sidecar {
    pub fn alt_for(&self, index: usize) -> Option<String> {
        match &self.alt {
            Some(AltText::One(text)) => Some(text.clone()),
            Some(AltText::PerImage(list)) => list.get(index).cloned(),
            None => None,
        }
    }
}

/// Optional `chapter.toml` in a chapter folder.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChapterFile {
    title: Option<String>,
    slug: Option<String>,
    description: Option<String>,
}

#[derive(Debug)]
pub struct PlannedPage {
    /// The page's name without slice suffix, e.g. `0012` or `2010-05-03-title`.
    pub base: String,
    pub name: FileName,
    pub files: Vec<PathBuf>,
    pub sidecar: Option<Result<Sidecar, String>>,
    pub chapter: Option<ChapterSpec>,
    /// The oldest modification time of the page's files (Unix seconds).
    pub modified: Option<i64>,
    slug: String,
    folder: PathBuf,
}

impl PlannedPage {
    pub fn sidecar_path(&self) -> PathBuf {
        self.folder.join(format!("{}.toml", self.base))
    }

    /// The slug the page gets: the sidecar's, else the one its name gives.
    pub fn slug_for(&self, sidecar: &Sidecar) -> String {
        sidecar
            .slug
            .clone()
            .and_then(|s| Slug::parse(&s).ok())
            .map(Slug::into_string)
            .unwrap_or_else(|| self.slug.clone())
    }

    /// The page's date from its sidecar or its name, if either has one.
    pub fn date(&self, sidecar: &Sidecar) -> Option<i64> {
        sidecar.date.as_deref().and_then(parse_date).or_else(|| {
            self.name
                .date
                .map(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp())
        })
    }

    /// Combines what the name and the sidecar say into a page to write.
    /// `undated` is the date to use (and whether to show it) when neither
    /// says when the page was made.
    pub fn ready(
        &self,
        sidecar: Sidecar,
        images: Vec<ReadyImage>,
        undated: (Option<i64>, bool),
    ) -> ReadyPage {
        let title = sidecar
            .title
            .clone()
            .or_else(|| self.name.title.clone())
            .or_else(|| self.name.number.map(|n| format!("Page {n}")))
            .or_else(|| self.name.date.map(|d| d.format("%-d %B %Y").to_string()))
            .unwrap_or_else(|| self.base.clone());
        let (published_at, hide_date) = match self.date(&sidecar) {
            Some(date) => (Some(date), false),
            None => undated,
        };
        ReadyPage {
            chapter: self.chapter.clone(),
            slug: self.slug_for(&sidecar),
            title,
            published_at,
            hide_date,
            draft: false,
            hover_text: sidecar.hover.clone().unwrap_or_default(),
            transcript: sidecar.transcript.clone().unwrap_or_default(),
            notes: sidecar.notes.clone().unwrap_or_default(),
            content_warning: sidecar.content_warning.clone().unwrap_or_default(),
            tags: sidecar.tags.clone(),
            characters: sidecar.characters.clone(),
            images,
        }
    }
}

fn parse_date(s: &str) -> Option<i64> {
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(date.and_time(NaiveTime::MIN).and_utc().timestamp());
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp())
}

/// A file that could not be used, and why.
pub type Failure = (PathBuf, String);

/// Slice files of one page: (slice suffix, path).
type Slices = Vec<(Option<String>, PathBuf)>;

/// Walks `root` and returns the pages in reading order, plus files that
/// could not even be listed.
pub fn plan(root: &Path) -> std::io::Result<(Vec<PlannedPage>, Vec<Failure>)> {
    let mut failures = Vec::new();
    // folder (relative) → base name → slice files
    let mut folders: BTreeMap<PathBuf, BTreeMap<String, Slices>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false).into_iter() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let path = error
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                failures.push((path, error.to_string()));
                continue;
            }
        };
        let path = entry.path();
        let hidden = path.strip_prefix(root).ok().is_some_and(|rel| {
            rel.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        });
        if !entry.file_type().is_file() || hidden {
            continue;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            continue;
        }
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        let folder = path
            .parent()
            .and_then(|p| p.strip_prefix(root).ok())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let name = naming::parse(&stem);
        folders
            .entry(folder)
            .or_default()
            .entry(name.base)
            .or_default()
            .push((name.slice, path.to_path_buf()));
    }

    let mut folder_list: Vec<_> = folders.into_iter().collect();
    // Loose files first, then folders in natural order.
    folder_list.sort_by(|(a, _), (b, _)| {
        let depth = |p: &Path| p.components().count().min(1);
        depth(a)
            .cmp(&depth(b))
            .then_with(|| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()))
    });

    let mut pages = Vec::new();
    for (folder, bases) in folder_list {
        let chapter = match chapter_for(root, &folder) {
            Ok(chapter) => chapter,
            Err(failure) => {
                // Its pages wait until the chapter file is fixed (a re-run
                // places them among their neighbours).
                failures.push(failure);
                continue;
            }
        };
        let mut bases: Vec<_> = bases.into_iter().collect();
        bases.sort_by(|(a, _), (b, _)| natural_cmp(a, b));
        for (base, mut slices) in bases {
            slices.sort_by(|(a, _), (b, _)| {
                natural_cmp(a.as_deref().unwrap_or(""), b.as_deref().unwrap_or(""))
            });
            let name = naming::parse(&base);
            let sidecar_path = root.join(&folder).join(format!("{base}.toml"));
            let sidecar = sidecar_path.is_file().then(|| {
                std::fs::read_to_string(&sidecar_path)
                    .map_err(|e| format!("cannot read: {e}"))
                    .and_then(|text| parse_sidecar(&text))
            });
            let slug = page_slug(&name, &base, chapter.as_ref(), &folder);
            let modified = slices
                .iter()
                .filter_map(|(_, path)| std::fs::metadata(path).and_then(|m| m.modified()).ok())
                .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64)
                .min();
            pages.push(PlannedPage {
                modified,
                files: slices.into_iter().map(|(_, path)| path).collect(),
                base,
                name,
                sidecar,
                chapter: chapter.clone(),
                slug,
                folder: root.join(&folder),
            });
        }
    }
    Ok((pages, failures))
}

/// Reads a sidecar, checking what serde cannot: the date and slug parse.
fn parse_sidecar(text: &str) -> Result<Sidecar, String> {
    let sidecar: Sidecar = toml_parse(text, SIDECAR_KEYS)?;
    if let Some(date) = sidecar.date.as_deref() {
        if parse_date(date).is_none() {
            return Err(format!(
                "{}key `date`: {date:?} is not a date; write it as YYYY-MM-DD or as RFC 3339 (2010-05-03T12:00:00+02:00)",
                line_of_key(text, "date")
            ));
        }
    }
    if let Some(slug) = sidecar.slug.as_deref() {
        if let Err(error) = Slug::parse(slug) {
            return Err(format!("{}key `slug`: {error}", line_of_key(text, "slug")));
        }
    }
    Ok(sidecar)
}

/// Parses TOML into `T`, with an error a cartoonist can act on: the line,
/// the key, and for an unknown key the allowed ones (and the likely typo).
fn toml_parse<T: serde::de::DeserializeOwned>(text: &str, allowed: &[&str]) -> Result<T, String> {
    toml::from_str(text).map_err(|error| {
        let line = error
            .span()
            .map(|span| {
                format!(
                    "line {}: ",
                    text[..span.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        let message = error.message().trim();
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            let suggestion = allowed
                .iter()
                .map(|k| (strsim::damerau_levenshtein(key, k), *k))
                .filter(|(distance, _)| *distance <= 2)
                .min()
                .map(|(_, k)| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return format!(
                "{line}unknown key `{key}`{suggestion}; the keys allowed are {}",
                allowed.join(", ")
            );
        }
        let key = error
            .span()
            .and_then(|span| {
                let start = text[..span.start.min(text.len())]
                    .rfind('\n')
                    .map_or(0, |i| i + 1);
                let row = &text[start..];
                row.split_once('=').map(|(k, _)| k.trim().to_owned())
            })
            .filter(|k| !k.is_empty() && !k.contains('\n'))
            .map(|k| format!("key `{k}`: "))
            .unwrap_or_default();
        format!("{line}{key}{}", plain_message(message))
    })
}

/// serde's wording, told in terms of TOML.
fn plain_message(message: &str) -> String {
    message
        .replace("invalid type: ", "")
        .replace("a sequence", "a list (like [\"a\", \"b\"])")
        .replace(
            "expected string or list of strings",
            "expected a text or a list of texts",
        )
}

fn line_of_key(text: &str, key: &str) -> String {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|n| format!("line {}: ", n + 1))
        .unwrap_or_default()
}

/// Dated or titled names are unique enough; a bare number inside a chapter
/// folder (`ch02/003.png`) gets the folder in front so chapters don't collide.
fn page_slug(name: &FileName, base: &str, chapter: Option<&ChapterSpec>, folder: &Path) -> String {
    let bare_number = name.date.is_none() && name.title.is_none() && name.number.is_some();
    let text = if bare_number && chapter.is_some() {
        format!(
            "{} {base}",
            folder.to_string_lossy().replace(['/', '\\'], " ")
        )
    } else {
        base.to_owned()
    };
    Slug::from_text(&text)
        .map(Slug::into_string)
        .unwrap_or_else(|| "page".to_owned())
}

fn chapter_for(root: &Path, folder: &Path) -> Result<Option<ChapterSpec>, Failure> {
    let parts: Vec<String> = folder
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let Some(last) = parts.last() else {
        return Ok(None);
    };
    let path = root.join(folder).join("chapter.toml");
    let file: ChapterFile = match std::fs::read_to_string(&path) {
        Ok(text) => toml_parse(&text, CHAPTER_KEYS).map_err(|e| {
            (
                path.clone(),
                format!("{e} (the chapter's pages were skipped)"),
            )
        })?,
        Err(_) => ChapterFile::default(),
    };
    let title = file.title.unwrap_or_else(|| naming::chapter_title(last));
    let slug = file
        .slug
        .and_then(|s| Slug::parse(&s).ok())
        .or_else(|| Slug::from_text(&title))
        .map(Slug::into_string)
        .unwrap_or_else(|| "chapter".to_owned());
    let volume = (parts.len() >= 2).then(|| volume_title(&parts[0]));
    Ok(Some(ChapterSpec {
        volume,
        slug,
        title,
        description: file.description.unwrap_or_default(),
    }))
}

/// "vol1" / "volume-2" → "Volume 1"; otherwise the humanized folder name.
fn volume_title(dir: &str) -> String {
    let lower = dir.to_ascii_lowercase();
    for prefix in ["volume", "vol"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            let rest = rest.trim_start_matches(['-', '_', ' ', '.']);
            if let Ok(n) = rest.parse::<u64>() {
                return format!("Volume {n}");
            }
        }
    }
    naming::humanize(dir).unwrap_or_else(|| dir.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_in_a_sidecar_names_the_line_the_key_and_the_fix() {
        let text = "title = \"The Storm\"\ncharaters = [\"Ada\"]\n";
        let error = parse_sidecar(text).expect_err("unknown key");
        assert!(
            error.starts_with("line 2: unknown key `charaters` (did you mean `characters`?)"),
            "{error}"
        );
        assert!(error.contains("title, slug, date"), "{error}");
        assert!(!error.contains("default."), "no parser internals: {error}");
    }

    #[test]
    fn a_wrong_type_and_a_bad_date_name_their_key() {
        let error = parse_sidecar("title = \"x\"\ntags = \"sea\"\n").expect_err("type");
        assert!(error.starts_with("line 2: key `tags`:"), "{error}");
        let error = parse_sidecar("date = \"2020-13-45\"\n").expect_err("date");
        assert!(error.starts_with("line 1: key `date`:"), "{error}");
        assert!(parse_sidecar("date = \"2020-02-03\"\nalt = [\"a\", \"b\"]\n").is_ok());
    }
}
