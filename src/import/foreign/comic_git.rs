//! Reader for comic_git (engine 1.0): a static site built on GitHub Pages
//! from `your_content/` (see `tests/fixtures/FORMATS-other.md`).
//!
//! What the engine does (`comic_git_engine/scripts/build_site.py`,
//! `utils.py`), and so what this reader does:
//! * settings: `your_content/comic_info.ini`, read by Python's
//!   `RawConfigParser` with `optionxform = str` (keys are case-sensitive);
//! * pages: every folder `your_content/comics/<name>/` with an `info.ini`
//!   (no section header; the engine prepends `[DEFAULT]`), sorted by
//!   `(strptime(Post date, Date format), folder name)`;
//! * a post date later than now in `[Comic Settings] Timezone` is not built
//!   (scheduled);
//! * extra comics (`[Comic Settings] Extra comics`) repeat all this under
//!   `your_content/<name>/`, their `comic_info.ini` merged over the main one.
//!
//! Nothing is evaluated: no Jinja, no hooks. The INI rules are those of
//! `configparser` (a small parser below; no INI crate is in the tree).

use super::text::{claim_unique, url_path};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use super::{
    decode_entities, plain_text, ChapterSpec, ForeignComic, ForeignImage, ForeignPage,
    ForeignRedirect, ForeignSeries, ForeignStatic, ForeignStatus, RedirectTarget,
};
use crate::comics::Slug;

/// Image names the engine picks up when `Filenames` is not given
/// (`build_site.get_page_info_list`; case-sensitive, as there).
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "tif", "tiff", "gif", "bmp", "webp", "webv", "svg", "eps",
];

/// `info.ini` keys this reader maps; any other key is reported.
const KNOWN_PAGE_KEYS: &[&str] = &[
    "Title",
    "Post date",
    "Filename",
    "Filenames",
    "Alt text",
    "Storyline",
    "Characters",
    "Tags",
];

/// `[Pages]` entries the engine builds from its own templates.
const ENGINE_PAGES: &[&str] = &[
    "index",
    "404",
    "latest",
    "archive",
    "tagged",
    "infinite_scroll",
];

/// Reads a comic_git site: `dir` is `your_content/` or the repository root
/// that contains it.
pub fn read(dir: &Path) -> anyhow::Result<ForeignComic> {
    read_at(dir, chrono::Utc::now().timestamp())
}

/// [`read`] with "now" given (Unix seconds), which decides what is scheduled.
pub fn read_at(dir: &Path, now: i64) -> anyhow::Result<ForeignComic> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let (root, content) = if dir.join("your_content").join("comic_info.ini").is_file() {
        (dir.clone(), dir.join("your_content"))
    } else if dir.join("comic_info.ini").is_file() {
        let root = dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.clone());
        (root, dir.clone())
    } else {
        bail!(
            "{} is not a comic_git folder: no comic_info.ini in it or in its your_content/",
            dir.display()
        );
    };

    let info_path = content.join("comic_info.ini");
    let mut info = Ini::default();
    info.read(&read_text(&info_path)?)
        .with_context(|| format!("cannot read {}", info_path.display()))?;

    let mut out = ForeignComic {
        system: match info.get("Comic Settings", "Engine version") {
            Some(v) if !v.is_empty() => format!("comic_git (engine {v})"),
            _ => "comic_git".to_owned(),
        },
        site_title: info
            .get("Comic Info", "Comic name")
            .map(plain_text)
            .filter(|t| !t.is_empty()),
        ..ForeignComic::default()
    };

    let base = base_directory(&info, &root, &mut out.notes);
    let mut cx = Cx {
        root: &root,
        content: &content,
        base: &base,
        now,
        out: &mut out,
        tags: BTreeMap::new(),
        characters: BTreeMap::new(),
        other_languages: BTreeMap::new(),
        extra_keys: BTreeMap::new(),
        uncategorized: 0,
        single_newlines: 0,
    };

    let mut series = Vec::new();
    let main = read_comic(&mut cx, &info, "", None)?;
    series.push(main);

    let mut used_series: HashSet<String> = HashSet::new();
    for extra in str_to_list(
        info.get("Comic Settings", "Extra comics").unwrap_or(""),
        ',',
    ) {
        let folder = extra.trim_matches('/').to_owned();
        if folder.is_empty() {
            continue;
        }
        // get_extra_comic_info: the main settings without [Pages], the extra
        // comic's comic_info.ini read over them.
        let mut extra_info = info.clone();
        extra_info.remove_section("Pages");
        let extra_path = content.join(&folder).join("comic_info.ini");
        let own = match fs::read_to_string(&extra_path) {
            Ok(text) => {
                let mut own = Ini::default();
                own.read(&text)
                    .with_context(|| format!("cannot read {}", extra_path.display()))?;
                if own.has_section("Links Bar") {
                    extra_info.remove_section("Links Bar");
                }
                extra_info
                    .read(&text)
                    .with_context(|| format!("cannot read {}", extra_path.display()))?;
                Some(own)
            }
            Err(_) => None,
        };
        let slug = claim_unique(
            &Slug::from_text(&folder)
                .map(Slug::into_string)
                .unwrap_or_else(|| "extra".to_owned()),
            &mut used_series,
        );
        let mut s = read_comic(&mut cx, &extra_info, &format!("{folder}/"), Some(slug))?;
        // The extra comic's own name, else its folder (it inherits the main name).
        s.title = own
            .as_ref()
            .and_then(|o| o.get("Comic Info", "Comic name"))
            .map(plain_text)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| folder.clone());
        s.description = own
            .as_ref()
            .and_then(|o| o.get("Comic Info", "Description"))
            .map(plain_text)
            .unwrap_or_default();
        series.push(s);
    }

    // One /tagged/<name>/ folder per tag and per character, for every comic
    // (the engine writes them at the site root even for extra comics).
    let tagged_built = info.get("Pages", "tagged").is_some();
    if tagged_built {
        // The folder is the name as typed; the page showed it as HTML.
        let names: BTreeSet<&String> = cx.tags.keys().chain(cx.characters.keys()).collect();
        for raw in names {
            let to = match (cx.tags.get(raw), cx.characters.get(raw)) {
                (Some(name), _) => RedirectTarget::Tag { name: name.clone() },
                (None, Some(name)) => RedirectTarget::Character { name: name.clone() },
                (None, None) => continue,
            };
            cx.out.redirects.push(ForeignRedirect {
                from: url_path(&format!("{base}/tagged/{raw}/")),
                to,
            });
        }
        if cx.tags.keys().any(|t| cx.characters.contains_key(t)) {
            cx.out.notes.push(
                "a name used both as a tag and as a character: its /tagged/ address leads to the tag"
                    .to_owned(),
            );
        }
    }
    if info.get_bool("RSS Feed", "Build RSS feed").unwrap_or(false) {
        cx.out.redirects.push(ForeignRedirect {
            from: url_path(&format!("{base}/feed.xml")),
            to: RedirectTarget::Feed {
                series: None,
                chapter: None,
            },
        });
    }

    // Summary lines.
    for (lang, n) in &cx.other_languages {
        cx.out.unmapped.push(format!(
            "transcripts in {lang} ({n} page{}): only the default language is imported",
            plural(*n)
        ));
    }
    for (key, n) in &cx.extra_keys {
        cx.out.unmapped.push(format!(
            "info.ini key `{key}` ({n} page{}): passed to theme templates, not imported",
            plural(*n)
        ));
    }
    if cx.uncategorized > 0 {
        cx.out.unmapped.push(format!(
            "the archive's \"Uncategorized\" section ({} page{} without a Storyline): imported without a chapter",
            cx.uncategorized,
            plural(cx.uncategorized)
        ));
    }
    if cx.single_newlines > 0 {
        cx.out.notes.push(format!(
            "{} post text{} single line breaks inside a paragraph: comic_git showed each as a line break \
             (markdown2 break-on-newline); in Markdown they join the lines",
            cx.single_newlines,
            if cx.single_newlines == 1 { " has" } else { "s have" }
        ));
    }
    if !cx.characters.is_empty() {
        cx.out.notes.push(
            "Characters became the cast; comic_git listed them with the tags on /tagged/<name>/"
                .to_owned(),
        );
    }
    site_unmapped(&info, &content, cx.out);
    drop(cx);
    out.series = series;
    Ok(out)
}

struct Cx<'a> {
    root: &'a Path,
    content: &'a Path,
    /// `""` or `/subdirectory`.
    base: &'a str,
    now: i64,
    out: &'a mut ForeignComic,
    /// Every tag and character, as typed → as shown (plain text).
    tags: BTreeMap<String, String>,
    characters: BTreeMap<String, String>,
    other_languages: BTreeMap<String, usize>,
    extra_keys: BTreeMap<String, usize>,
    uncategorized: usize,
    single_newlines: usize,
}

/// A page read from its folder, before ordering.
struct RawPage {
    name: String,
    sort_key: NaiveDateTime,
    page: ForeignPage,
    storyline: String,
}

/// One comic (the main one: `comic_folder` = "", or an extra one: "name/").
fn read_comic(
    cx: &mut Cx,
    info: &Ini,
    comic_folder: &str,
    series_slug: Option<String>,
) -> anyhow::Result<ForeignSeries> {
    let date_format = match info.get("Comic Settings", "Date format") {
        Some(f) if !f.is_empty() => f.to_owned(),
        _ => {
            cx.out.notes.push(
                "[Comic Settings] Date format is not set: read post dates as \"%B %d, %Y\""
                    .to_owned(),
            );
            "%B %d, %Y".to_owned()
        }
    };
    // pytz looks names up without regard to case.
    let tz = match info.get("Comic Settings", "Timezone").map(|name| {
        name.parse().or_else(|_| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(name))
                .copied()
                .ok_or(())
        })
    }) {
        Some(Ok(tz)) => tz,
        other => {
            let said = match other {
                Some(Err(_)) => "is not a known time zone",
                _ => "is not set",
            };
            cx.out.notes.push(format!(
                "[Comic Settings] Timezone {said}: post dates read as UTC"
            ));
            chrono_tz::UTC
        }
    };
    let comic_base = format!("{}/{}", cx.base, comic_folder.trim_end_matches('/'))
        .trim_end_matches('/')
        .to_owned();
    let comics_dir = cx.content.join(comic_folder).join("comics");
    let shown = if comic_folder.is_empty() {
        "comics".to_owned()
    } else {
        format!("{comic_folder}comics")
    };

    let transcripts = TranscriptSettings::from(info, cx.root);
    let mut raw = Vec::new();
    let mut folders: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir(&comics_dir) {
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                cx.out.unmapped.push(format!(
                    "{shown}/{}: folder name is not UTF-8, skipped",
                    entry.file_name().to_string_lossy()
                ));
                continue;
            };
            // glob's `*` skips hidden entries.
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            folders.push((name, entry.path()));
        }
    } else if comic_folder.is_empty() {
        cx.out
            .notes
            .push(format!("no {shown}/ folder: the comic has no pages"));
    } else {
        cx.out
            .unmapped
            .push(format!("extra comic {comic_folder}: no comics/ folder"));
    }
    folders.sort();

    for (name, path) in folders {
        let ini_path = path.join("info.ini");
        if !ini_path.is_file() {
            cx.out.unmapped.push(format!(
                "{shown}/{name}: no info.ini, the engine skips the folder"
            ));
            continue;
        }
        let values = match read_page_ini(&ini_path) {
            Ok(v) => v,
            Err(e) => {
                cx.out.unmapped.push(format!(
                    "{shown}/{name}/info.ini: {e:#}; the engine cannot build it, skipped"
                ));
                continue;
            }
        };
        let get = |k: &str| {
            values
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let Some(post_date) = get("Post date") else {
            cx.out.unmapped.push(format!(
                "{shown}/{name}: info.ini has no Post date; the engine cannot build it, skipped"
            ));
            continue;
        };
        let Some(naive) = strptime(post_date, &date_format) else {
            cx.out.unmapped.push(format!(
                "{shown}/{name}: Post date {post_date:?} does not match the date format {date_format:?}; \
                 the engine cannot build it, skipped"
            ));
            continue;
        };
        let instant = localize(tz, naive);
        let status = if instant > cx.now {
            ForeignStatus::Scheduled
        } else {
            ForeignStatus::Published
        };

        // Images, in order.
        let filenames = get("Filenames")
            .filter(|v| !v.is_empty())
            .or_else(|| get("Filename"))
            .unwrap_or("");
        let image_names: Vec<String> = if !filenames.is_empty() {
            str_to_list(filenames, ',')
        } else {
            let mut found: Vec<String> = fs::read_dir(&path)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|f| !f.starts_with('_') && has_image_extension(f))
                .collect();
            found.sort();
            found
        };
        let alt_text = get("Alt text").unwrap_or("").to_owned();
        let images: Vec<ForeignImage> = image_names
            .iter()
            .map(|file| {
                let rel = Path::new(file);
                let safe = rel
                    .components()
                    .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
                let full = path.join(rel);
                if safe && full.is_file() {
                    ForeignImage::File {
                        path: full,
                        alt: alt_text.clone(),
                    }
                } else {
                    ForeignImage::Missing {
                        name: format!("{shown}/{name}/{file}"),
                    }
                }
            })
            .collect();

        // Title: info.ini's (raw HTML), else the first image's name.
        let title_html = match get("Title") {
            Some(t) => t.to_owned(),
            None => image_names
                .first()
                .map(|f| match f.rfind('.') {
                    Some(i) if i > 0 => f[..i].to_owned(),
                    _ => f.clone(),
                })
                .unwrap_or_default(),
        };
        let mut title = plain_text(&title_html);
        if title.is_empty() {
            cx.out.notes.push(format!(
                "{shown}/{name}: no title shown; titled after its folder"
            ));
            title = name.clone();
        }

        let storyline = get("Storyline").unwrap_or("").to_owned();
        // Printed as HTML on the page; linked by the name as typed.
        let shown_list = |key: &str, seen: &mut BTreeMap<String, String>| -> Vec<String> {
            str_to_list(get(key).unwrap_or(""), ',')
                .into_iter()
                .filter_map(|raw| {
                    let shown = plain_text(&raw);
                    seen.insert(raw, shown.clone());
                    (!shown.is_empty()).then_some(shown)
                })
                .collect()
        };
        let characters = shown_list("Characters", &mut cx.characters);
        let tags = shown_list("Tags", &mut cx.tags);
        for (key, _) in &values {
            if !KNOWN_PAGE_KEYS.contains(&key.as_str()) && !key.starts_with('!') {
                *cx.extra_keys.entry(key.clone()).or_default() += 1;
            }
        }

        let notes = match fs::read(path.join("post.txt")) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
            Err(_) => String::new(),
        };
        if has_single_newline(&notes) {
            cx.single_newlines += 1;
        }

        let (transcript, others) = transcripts.load(&path, &name);
        for lang in others {
            *cx.other_languages.entry(lang).or_default() += 1;
        }

        raw.push(RawPage {
            sort_key: naive,
            storyline,
            page: ForeignPage {
                source_id: format!("comic_git:{shown}/{name}"),
                slug: String::new(),
                title,
                status,
                date: Some(instant),
                chapter: None,
                hover_text: alt_text,
                transcript,
                notes,
                content_warning: String::new(),
                tags,
                characters,
                images,
                old_urls: vec![url_path(&format!("{comic_base}/comic/{name}/"))],
                comments: Vec::new(),
            },
            name,
        });
    }

    // get_page_info_list: (post date, folder name).
    raw.sort_by(|a, b| {
        a.sort_key
            .cmp(&b.sort_key)
            .then_with(|| a.name.cmp(&b.name))
    });

    // Storylines: flat, one chapter each, in order of first appearance.
    let mut chapters: HashMap<String, ChapterSpec> = HashMap::new();
    let mut chapter_slugs = HashSet::new();
    let mut page_slugs = HashSet::new();
    let mut renamed = Vec::new();
    let mut pages = Vec::with_capacity(raw.len());
    for mut r in raw {
        if r.storyline.is_empty() {
            cx.uncategorized += 1;
        } else {
            let spec = chapters.entry(r.storyline.clone()).or_insert_with(|| {
                let title = plain_text(&r.storyline);
                let slug = claim_unique(
                    &Slug::from_text(&title)
                        .map(Slug::into_string)
                        .unwrap_or_else(|| "chapter".to_owned()),
                    &mut chapter_slugs,
                );
                ChapterSpec {
                    volume: None,
                    slug,
                    title,
                    description: String::new(),
                }
            });
            r.page.chapter = Some(spec.clone());
        }
        let wanted = Slug::parse(&r.name)
            .or_else(|_| Slug::from_text(&r.name).ok_or(()))
            .map(Slug::into_string)
            .unwrap_or_else(|_| "page".to_owned());
        r.page.slug = claim_unique(&wanted, &mut page_slugs);
        if r.page.slug != r.name {
            renamed.push(format!("{} → {}", r.name, r.page.slug));
        }
        pages.push(r.page);
    }
    if !renamed.is_empty() {
        cx.out.notes.push(format!(
            "{shown}: page folders that are not Halftone slugs got new slugs (the old addresses redirect): {}",
            renamed.join(", ")
        ));
    }
    if pages.iter().any(|p| p.status == ForeignStatus::Scheduled) {
        cx.out.notes.push(format!(
            "{shown}: pages dated after today are scheduled for midnight of their date in {tz}; \
             comic_git published them at the first daily build after that (08:00 UTC), \
             and their old address is kept although the old site never showed them"
        ));
    }
    if pages.iter().any(|p| p.status == ForeignStatus::Published) {
        cx.out.notes.push(format!(
            "{shown}: post dates carry no time of day; pages dated midnight {tz}"
        ));
    }

    // Addresses of this comic's own pages ([Pages]).
    let series = series_slug.clone();
    let pages_section: Vec<(String, String)> = info.section("Pages").unwrap_or_default();
    for (page_name, page_title) in pages_section {
        let target = match page_name.as_str() {
            "index" if !comic_folder.is_empty() => Some(RedirectTarget::Latest {
                series: series.clone(),
            }),
            "index" if !cx.base.is_empty() => Some(RedirectTarget::Home),
            "index" | "404" | "tagged" => None,
            "latest" if !pages.is_empty() => Some(RedirectTarget::Latest {
                series: series.clone(),
            }),
            "latest" => None,
            "archive" => Some(RedirectTarget::Archive {
                series: series.clone(),
            }),
            "infinite_scroll" => Some(RedirectTarget::First {
                series: series.clone(),
            }),
            _ => {
                custom_page(cx, info, comic_folder, &comic_base, &page_name, &page_title);
                None
            }
        };
        if let Some(to) = target {
            let from = if page_name == "index" {
                format!("{comic_base}/")
            } else {
                format!("{comic_base}/{page_name}/")
            };
            cx.out.redirects.push(ForeignRedirect {
                from: url_path(&from),
                to,
            });
        }
    }
    if info.get("Pages", "infinite_scroll").is_some() {
        cx.out.notes.push(format!(
            "{}/infinite_scroll/ (all pages on one scroll) leads to the first page",
            comic_base
        ));
    }

    Ok(ForeignSeries {
        slug: series_slug,
        title: info
            .get("Comic Info", "Comic name")
            .map(plain_text)
            .unwrap_or_default(),
        description: info
            .get("Comic Info", "Description")
            .map(plain_text)
            .unwrap_or_default(),
        pages,
    })
}

/// A `[Pages]` entry that is not one of the engine's: a Markdown page of the
/// theme (`themes/<theme>/pages/<name>.md`) becomes a static page; a
/// template page cannot be rendered here.
fn custom_page(
    cx: &mut Cx,
    info: &Ini,
    comic_folder: &str,
    comic_base: &str,
    name: &str,
    title: &str,
) {
    debug_assert!(!ENGINE_PAGES.contains(&name));
    let theme = info.get("Comic Settings", "Theme").unwrap_or("default");
    let md = cx
        .content
        .join("themes")
        .join(theme)
        .join("pages")
        .join(format!("{name}.md"));
    let from = url_path(&format!("{comic_base}/{name}/"));
    match fs::read(&md) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let body = markdown_html(strip_metadata(&text));
            let slug = Slug::from_text(name)
                .map(Slug::into_string)
                .unwrap_or_else(|| "page".to_owned());
            cx.out.static_pages.push(ForeignStatic {
                slug,
                title: if title.is_empty() {
                    name.to_owned()
                } else {
                    plain_text(title)
                },
                body,
                date: None,
                status: ForeignStatus::Published,
                is_post: false,
                old_urls: vec![from],
            });
        }
        Err(_) => cx.out.unmapped.push(format!(
            "[Pages] {comic_folder}{name} ({from}): a theme template page, not imported"
        )),
    }
}

/// Settings and files that have no place in Halftone.
fn site_unmapped(info: &Ini, content: &Path, out: &mut ForeignComic) {
    if let Some(links) = info.section("Links Bar") {
        if !links.is_empty() {
            out.unmapped.push(format!(
                "[Links Bar]: {} link{} (menu), not imported",
                links.len(),
                plural(links.len())
            ));
        }
    }
    if let Some(author) = info.get("Comic Info", "Author").filter(|a| !a.is_empty()) {
        out.unmapped
            .push(format!("[Comic Info] Author ({author}): not imported"));
    }
    let theme = info.get("Comic Settings", "Theme").unwrap_or("default");
    let hooks = content
        .join("themes")
        .join(theme)
        .join("scripts")
        .join("hooks.py");
    if hooks.is_file() {
        out.notes.push(format!(
            "theme `{theme}` has scripts/hooks.py, which can change pages, their order and storylines \
             at build time; it was not run: check the result against the old site"
        ));
    }
    if content.join("themes").join(theme).is_dir() {
        out.unmapped.push(format!(
            "theme `{theme}` (templates, CSS, hooks): not imported"
        ));
    }
    if let Some(v) = info.get("Comic Settings", "On comic click") {
        out.unmapped.push(format!(
            "[Comic Settings] On comic click = {v}: not imported"
        ));
    }
    for file in ["home page.txt", "home page.html"] {
        if content.join(file).is_file() {
            out.unmapped.push(format!(
                "your_content/{file} (home page text): not imported"
            ));
        }
    }
    for file in [
        "before post text.txt",
        "before post text.html",
        "after post text.txt",
        "after post text.html",
    ] {
        if content.join(file).is_file() {
            out.unmapped.push(format!(
                "your_content/{file} (shown around every post text): not imported"
            ));
        }
    }
    if info.get_bool("Webring", "Enable webring").unwrap_or(false) {
        out.unmapped.push("[Webring]: not imported".to_owned());
    }
    if info
        .get("Google Analytics", "Tracking ID")
        .is_some_and(|v| !v.is_empty())
    {
        out.unmapped
            .push("[Google Analytics] Tracking ID: not imported".to_owned());
    }
    out.unmapped.push(
        "archive thumbnails (_thumbnail.jpg) and chapter anchors (/archive/#archive-section-…): \
         not imported (fragments never reach a server)"
            .to_owned(),
    );
}

/// `utils.get_comic_url`: the site's path prefix, `""` or `/subdirectory`.
fn base_directory(info: &Ini, root: &Path, notes: &mut Vec<String>) -> String {
    let clean = |s: &str| {
        let s = s.trim_matches('/');
        if s.is_empty() {
            String::new()
        } else {
            format!("/{s}")
        }
    };
    let subdirectory = info.get("Comic Settings", "Comic subdirectory");
    if info.get("Comic Settings", "Comic domain").is_some() {
        return clean(subdirectory.unwrap_or(""));
    }
    if root.join("CNAME").is_file() {
        return String::new();
    }
    if let Some(sub) = subdirectory {
        return clean(sub);
    }
    // On GitHub Pages without those keys: https://<user>.github.io/<repo>.
    if let Ok(config) = fs::read_to_string(root.join(".git").join("config")) {
        if let Some((owner, repo)) = github_origin(&config) {
            if repo.eq_ignore_ascii_case(&format!("{owner}.github.io")) {
                return String::new();
            }
            notes.push(format!(
                "no Comic domain in comic_info.ini: old addresses taken as GitHub Pages' /{repo}/ (from .git/config)"
            ));
            return clean(&repo);
        }
    }
    notes.push(
        "no Comic domain in comic_info.ini, no CNAME, no GitHub remote: old addresses taken \
         as at the root of the domain (on GitHub Pages they were under /<repository>/)"
            .to_owned(),
    );
    String::new()
}

/// `(owner, repo)` of the `origin` remote when it is on GitHub.
fn github_origin(config: &str) -> Option<(String, String)> {
    let mut in_origin = false;
    for line in config.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_origin = t.replace(' ', "") == "[remote\"origin\"]";
            continue;
        }
        if !in_origin {
            continue;
        }
        let Some((key, value)) = t.split_once('=') else {
            continue;
        };
        if key.trim() != "url" {
            continue;
        }
        let url = value.trim();
        let rest = url.split_once("github.com").map(|(_, r)| r)?;
        let rest = rest.trim_start_matches([':', '/']).trim_end_matches('/');
        let rest = rest.strip_suffix(".git").unwrap_or(rest);
        let (owner, repo) = rest.split_once('/')?;
        if owner.is_empty() || repo.is_empty() || repo.contains('/') {
            return None;
        }
        return Some((owner.to_owned(), repo.to_owned()));
    }
    None
}

struct TranscriptSettings {
    enabled: bool,
    from_comic_folder: bool,
    folder: Option<PathBuf>,
    default_language: String,
}

impl TranscriptSettings {
    fn from(info: &Ini, root: &Path) -> Self {
        TranscriptSettings {
            enabled: info
                .get_bool("Transcripts", "Enable transcripts")
                .unwrap_or(false),
            from_comic_folder: info
                .get_bool("Transcripts", "Load transcripts from comic folder")
                .unwrap_or(true),
            folder: info
                .get("Transcripts", "Transcripts folder")
                .filter(|f| !f.is_empty())
                .map(|f| root.join(f)),
            default_language: info
                .get("Transcripts", "Default language")
                .unwrap_or("English")
                .to_owned(),
        }
    }

    /// `get_transcripts`: the default language's text (plain), and the
    /// other languages found.
    fn load(&self, page_dir: &Path, page_name: &str) -> (String, Vec<String>) {
        if !self.enabled {
            return (String::new(), Vec::new());
        }
        let mut found: Vec<(String, String)> = Vec::new();
        let mut load_from = |dir: &Path| {
            for ext in ["txt", "md"] {
                let mut files: Vec<(String, PathBuf)> = fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                    .filter(|(n, p)| {
                        !n.starts_with('.')
                            && n.ends_with(&format!(".{ext}"))
                            && !n.ends_with("post.txt")
                            && p.is_file()
                    })
                    .collect();
                files.sort();
                for (file, path) in files {
                    let language = file[..file.len() - ext.len() - 1].to_owned();
                    let bytes = fs::read(&path).unwrap_or_default();
                    let text = match String::from_utf8(bytes) {
                        Ok(t) => t,
                        // the engine falls back to latin-1
                        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
                    };
                    match found.iter_mut().find(|(l, _)| *l == language) {
                        Some(slot) => slot.1 = text,
                        None => found.push((language, text)),
                    }
                }
            }
        };
        if self.from_comic_folder {
            load_from(page_dir);
        }
        if let Some(folder) = &self.folder {
            load_from(&folder.join(page_name));
        }
        if found.is_empty() {
            return (String::new(), Vec::new());
        }
        let index = found
            .iter()
            .position(|(l, _)| *l == self.default_language)
            .unwrap_or(0);
        let (_, text) = found.remove(index);
        (
            markdown_plain(&text),
            found.into_iter().map(|(l, _)| l).collect(),
        )
    }
}

// ---------------------------------------------------------------------------
// configparser

/// A parsed INI file with `configparser.RawConfigParser` rules as comic_git
/// sets it up: `=` or `:` separate key and value (the first one on the
/// line), whole-line comments start with `#` or `;`, a value continues on
/// lines indented deeper than its key (blank lines inside are kept), keys
/// and section names are case-sensitive (`optionxform = str`), `[DEFAULT]`
/// values show through in every section, a second read merges over the first.
#[derive(Debug, Clone, Default)]
struct Ini {
    defaults: Vec<(String, String)>,
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    fn read(&mut self, text: &str) -> anyhow::Result<()> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Where the value lines of an option go while reading: (section
        // index or None for DEFAULT, key).
        enum Sect {
            Default,
            Named(usize),
        }
        let mut cursect: Option<Sect> = None;
        let mut optname: Option<String> = None;
        let mut indent_level = 0usize;
        let mut added_sections: HashSet<String> = HashSet::new();
        let mut added_options: HashSet<(String, String)> = HashSet::new();
        let mut sectname = String::new();
        let mut pending: Vec<(Option<usize>, String, Vec<String>)> = Vec::new();

        for (lineno, line) in text.lines().enumerate() {
            let lineno = lineno + 1;
            let stripped = line.trim();
            let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
            let value = if is_comment { "" } else { stripped };
            if value.is_empty() {
                if !is_comment && cursect.is_some() && optname.is_some() {
                    if let Some(last) = pending.last_mut() {
                        last.2.push(String::new());
                    }
                }
                continue;
            }
            let cur_indent = line.chars().take_while(|c| c.is_whitespace()).count();
            if cursect.is_some() && optname.is_some() && cur_indent > indent_level {
                if let Some(last) = pending.last_mut() {
                    last.2.push(value.to_owned());
                }
                continue;
            }
            indent_level = cur_indent;
            if let Some(header) = section_header(value) {
                if added_sections.contains(header) {
                    bail!("line {lineno}: section [{header}] appears twice");
                }
                sectname = header.to_owned();
                if header == "DEFAULT" {
                    cursect = Some(Sect::Default);
                } else {
                    let index = match self.sections.iter().position(|(n, _)| n == header) {
                        Some(i) => i,
                        None => {
                            self.sections.push((header.to_owned(), Vec::new()));
                            self.sections.len() - 1
                        }
                    };
                    added_sections.insert(header.to_owned());
                    cursect = Some(Sect::Named(index));
                }
                optname = None;
                continue;
            }
            let Some(sect) = &cursect else {
                bail!("line {lineno}: a value before any [section]");
            };
            let Some(split) = value.find(['=', ':']) else {
                bail!("line {lineno}: {value:?} is neither `key = value` nor a [section]");
            };
            let key = value[..split].trim_end();
            if key.is_empty() {
                bail!("line {lineno}: a value without a key");
            }
            if !added_options.insert((sectname.clone(), key.to_owned())) {
                bail!("line {lineno}: `{key}` appears twice in [{sectname}]");
            }
            let first = value[split + 1..].trim().to_owned();
            let index = match sect {
                Sect::Default => None,
                Sect::Named(i) => Some(*i),
            };
            optname = Some(key.to_owned());
            pending.push((index, key.to_owned(), vec![first]));
        }
        for (index, key, lines) in pending {
            let value = lines.join("\n").trim_end().to_owned();
            let target = match index {
                None => &mut self.defaults,
                Some(i) => &mut self.sections[i].1,
            };
            match target.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => target.push((key, value)),
            }
        }
        Ok(())
    }

    fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|(n, _)| n == name)
    }

    fn remove_section(&mut self, name: &str) {
        self.sections.retain(|(n, _)| n != name);
    }

    /// A section's options (without the defaults), in file order.
    fn section(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, opts)| opts.clone())
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        let (_, opts) = self.sections.iter().find(|(n, _)| n == section)?;
        opts.iter()
            .chain(self.defaults.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `getboolean`: `None` when missing or not a boolean word.
    fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        match self.get(section, key)?.to_ascii_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => Some(true),
            "0" | "no" | "false" | "off" => Some(false),
            _ => None,
        }
    }
}

/// `\[(?P<header>.+)\]` matched at the start: up to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// `utils.read_info(path, to_dict=True)`: an `info.ini`, keys in file order.
fn read_page_ini(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = read_text(path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // re.search(r"^\[.*?]", text): a header on the first line only.
    let first_line = text.lines().next().unwrap_or("");
    let has_header = first_line.starts_with('[') && first_line[1..].contains(']');
    let mut ini = Ini::default();
    if has_header {
        ini.read(text)?;
    } else {
        ini.read(&format!("[DEFAULT]\n{text}"))?;
    }
    if !ini.sections.is_empty() {
        bail!("sections are not supported in info.ini");
    }
    Ok(ini.defaults)
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))
}

/// `utils.str_to_list`: split, strip spaces and leading/trailing delimiters.
fn str_to_list(s: &str, delimiter: char) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.trim_matches(|c| c == delimiter || c == ' ')
        .split(delimiter)
        .map(|item| item.trim_matches(' ').to_owned())
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|item| !item.is_empty())
        .collect()
}

fn has_image_extension(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.contains(&ext))
}

// ---------------------------------------------------------------------------
// dates

/// Python's `datetime.strptime(text, format)`: fields the format lacks
/// default to 1900-01-01 00:00:00.
fn strptime(text: &str, format: &str) -> Option<NaiveDateTime> {
    use chrono::format::{parse, Parsed, StrftimeItems};
    let mut p = Parsed::new();
    parse(&mut p, text, StrftimeItems::new(format)).ok()?;
    if p.to_naive_date().is_err() {
        if p.year().is_none() && p.isoyear().is_none() && p.year_mod_100().is_none() {
            p.set_year(1900).ok()?;
        }
        if p.ordinal().is_none() {
            if p.month().is_none() {
                p.set_month(1).ok()?;
            }
            if p.day().is_none() {
                p.set_day(1).ok()?;
            }
        }
    }
    let date: NaiveDate = p.to_naive_date().ok()?;
    if p.hour_mod_12().is_some() {
        if p.hour_div_12().is_none() {
            p.set_ampm(false).ok()?;
        }
        if p.minute().is_none() {
            p.set_minute(0).ok()?;
        }
    }
    let time = p.to_naive_time().unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time))
}

/// pytz `localize` (is_dst=False): the wall-clock time in `tz`, as Unix
/// seconds. An ambiguous time takes standard time (the later instant); a
/// time in a gap is read with the offset in force before the gap.
fn localize(tz: chrono_tz::Tz, naive: NaiveDateTime) -> i64 {
    use chrono::LocalResult;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(_, later) => later.timestamp(),
        LocalResult::None => {
            let offset = tz.offset_from_utc_datetime(&(naive - chrono::Duration::hours(3)));
            use chrono::Offset;
            (naive - chrono::Duration::seconds(offset.fix().local_minus_utc() as i64))
                .and_utc()
                .timestamp()
        }
    }
}

// ---------------------------------------------------------------------------
// text

/// Plain text of Markdown (a transcript): paragraphs apart by a blank line,
/// line breaks kept (comic_git's markdown2 breaks on every newline).
fn markdown_plain(md: &str) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut out = String::new();
    for event in Parser::new(md) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Html(h) | Event::InlineHtml(h) => {
                let lower = h.to_ascii_lowercase();
                if lower.starts_with("<br") || lower.starts_with("</p") {
                    out.push('\n');
                }
                out.push_str(&decode_entities(&strip_tags(&h)));
            }
            Event::Start(Tag::Item) => out.push_str("- "),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::HtmlBlock
                | TagEnd::List(_),
            )
            | Event::Rule => out.push_str("\n\n"),
            Event::End(TagEnd::Item) => out.push('\n'),
            _ => {}
        }
    }
    tidy_lines(&out)
}

/// Trailing spaces off every line, at most one blank line in a row, trimmed.
fn tidy_lines(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Markdown to HTML (a theme's Markdown page).
fn markdown_html(md: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(md));
    html
}

/// A `---` metadata block at the top of a Markdown page (markdown2's
/// "metadata" extra) is not content.
fn strip_metadata(md: &str) -> &str {
    let Some(rest) = md.strip_prefix("---") else {
        return md;
    };
    let Some(nl) = rest.find('\n') else { return md };
    if !rest[..nl].trim().is_empty() {
        return md;
    }
    let body = &rest[nl + 1..];
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "---" {
            return &body[offset..];
        }
    }
    md
}

/// A line break inside a paragraph (not before a blank line, list item,
/// heading, quote or fence).
fn has_single_newline(md: &str) -> bool {
    let lines: Vec<&str> = md.lines().collect();
    lines.windows(2).any(|w| {
        let (a, b) = (w[0].trim(), w[1].trim_start());
        !a.is_empty()
            && !b.trim().is_empty()
            && !w[0].ends_with("  ")
            && !a.starts_with('#')
            && !a.starts_with("```")
            && !b.starts_with(['-', '*', '+', '>', '#', '|'])
            && !b.starts_with("```")
            && !b.chars().next().is_some_and(|c| c.is_ascii_digit())
    })
}

// ---------------------------------------------------------------------------
// addresses and slugs

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/comic_git")
    }

    fn expected() -> Value {
        let text = fs::read_to_string(fixture().join("expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The path (and query) of an absolute URL, as a request carries it.
    fn request_path(url: &str) -> String {
        let u = url::Url::parse(url).unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    fn str_list(v: &Value, field: &str) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x[field].as_str().unwrap().to_owned())
            .collect()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn html_text(html: &str) -> String {
        squash(&decode_entities(&strip_tags(html)))
    }

    #[test]
    fn reads_the_fixture_as_the_built_site_showed_it() {
        let exp = expected();
        let comic = read(&fixture()).unwrap();
        assert!(comic.system.starts_with("comic_git"));
        assert_eq!(comic.series.len(), 1, "no extra comics in the fixture");
        let series = &comic.series[0];
        assert_eq!(series.slug, None);
        let site_title = comic.site_title.clone().unwrap();
        let html_title = exp["home_page"]["title"].as_str().unwrap();
        assert!(
            html_title.ends_with(&format!(" - {site_title}")),
            "{html_title}"
        );
        assert_eq!(series.title, site_title);

        // Reading order: the published pages, then the scheduled ones.
        let order = exp["reading_order"].as_array().unwrap();
        let published: Vec<&ForeignPage> = series
            .pages
            .iter()
            .filter(|p| p.status == ForeignStatus::Published)
            .collect();
        assert_eq!(published.len(), order.len());
        let scheduled: Vec<&ForeignPage> = series
            .pages
            .iter()
            .filter(|p| p.status == ForeignStatus::Scheduled)
            .collect();
        assert_eq!(
            scheduled.len() as u64,
            exp["scheduled_post_count"].as_u64().unwrap()
        );
        let deleted: Vec<String> = exp["scheduled_deleted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        for (page, name) in scheduled.iter().zip(&deleted) {
            assert!(
                page.source_id.ends_with(&format!("/{name}")),
                "{}",
                page.source_id
            );
        }
        assert!(series.pages[..published.len()]
            .iter()
            .all(|p| p.status == ForeignStatus::Published));
        assert!(series.pages.iter().all(|p| p.content_warning.is_empty()));

        let feed = exp["feed"]["items"].as_array().unwrap();
        let tz: chrono_tz::Tz = exp["site"]["timezone"].as_str().unwrap().parse().unwrap();
        let content = fixture().canonicalize().unwrap();
        let base_dir = exp["site"]["base_dir"].as_str().unwrap();

        for (page, want) in published.iter().zip(order) {
            let name = want["page_name"].as_str().unwrap();
            assert!(
                page.source_id.ends_with(&format!("/{name}")),
                "{} vs {name}",
                page.source_id
            );
            // old address
            assert_eq!(
                page.old_urls,
                vec![request_path(want["url"].as_str().unwrap())]
            );
            // texts
            assert_eq!(page.title, want["title_shown"].as_str().unwrap(), "{name}");
            let images = want["images"].as_array().unwrap();
            let hover = images
                .first()
                .map(|i| i["title"].as_str().unwrap())
                .unwrap_or("");
            assert_eq!(page.hover_text, hover, "{name}");
            let post = want["post_html"].as_str().unwrap();
            assert_eq!(
                html_text(&markdown_html(&page.notes)),
                html_text(post),
                "{name}"
            );
            if !html_text(post).is_empty() {
                assert_eq!(markdown_html(&page.notes).trim(), post, "{name}");
            }
            let transcripts = want["transcripts_html"].as_object().unwrap();
            let default = TranscriptSettings::from(
                &{
                    let mut i = Ini::default();
                    i.read(
                        &fs::read_to_string(fixture().join("your_content/comic_info.ini")).unwrap(),
                    )
                    .unwrap();
                    i
                },
                &fixture(),
            )
            .default_language;
            let wanted_transcript = transcripts
                .get(&default)
                .or_else(|| (transcripts.len() == 1).then(|| transcripts.values().next().unwrap()))
                .map(|v| html_text(v.as_str().unwrap()))
                .unwrap_or_default();
            assert_eq!(squash(&page.transcript), wanted_transcript, "{name}");
            // chapter
            let storyline = want["storyline"].as_str();
            assert_eq!(
                page.chapter.as_ref().map(|c| c.title.as_str()),
                storyline,
                "{name}"
            );
            // tags and characters
            assert_eq!(page.tags, str_list(&want["tags"], "tag"), "{name}");
            assert_eq!(
                page.characters,
                str_list(&want["characters"], "name"),
                "{name}"
            );
            // images: the very files the site served
            assert_eq!(page.images.len(), images.len(), "{name}");
            for (img, src) in page.images.iter().zip(images) {
                let src = src["src"].as_str().unwrap();
                let rel = src.strip_prefix(base_dir).unwrap().trim_start_matches('/');
                match img {
                    ForeignImage::File { path, alt } => {
                        assert!(path.is_absolute() && path.is_file());
                        assert_eq!(path, &content.join(rel));
                        assert_eq!(alt, hover);
                    }
                    ForeignImage::Missing { name } => panic!("missing {name}"),
                }
            }
            // date: the post date, midnight in the site's zone
            let pub_date = want["url"].as_str().unwrap();
            let item = feed
                .iter()
                .find(|i| i["link"].as_str().unwrap() == pub_date)
                .unwrap();
            let day = chrono::DateTime::parse_from_rfc2822(item["pubDate"].as_str().unwrap())
                .unwrap()
                .date_naive();
            let local = tz.timestamp_opt(page.date.unwrap(), 0).unwrap();
            assert_eq!(local.date_naive(), day, "{name}");
            assert_eq!(local.time(), NaiveTime::MIN, "{name}");
        }

        // Chapters: the archive's sections in order (pages without a
        // storyline are in none).
        let mut chapter_order: Vec<String> = Vec::new();
        for p in &published {
            if let Some(c) = &p.chapter {
                if !chapter_order.contains(&c.title) {
                    chapter_order.push(c.title.clone());
                }
            }
        }
        let titled: Vec<String> = exp["archive"]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["pages"].as_array().unwrap().iter().any(|p| {
                    order.iter().any(|o| {
                        o["storyline"].is_string()
                            && request_path(o["url"].as_str().unwrap())
                                == url_path(p["href"].as_str().unwrap())
                    })
                })
            })
            .map(|s| s["heading"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(chapter_order, titled);
        let slugs: HashSet<&str> = published
            .iter()
            .filter_map(|p| p.chapter.as_ref().map(|c| c.slug.as_str()))
            .collect();
        assert_eq!(slugs.len(), chapter_order.len());
        for s in slugs {
            Slug::parse(s).unwrap();
        }

        // Slugs: valid and unique.
        let mut seen = HashSet::new();
        for p in &series.pages {
            Slug::parse(&p.slug).unwrap();
            assert!(seen.insert(p.slug.clone()));
        }

        // Redirects: archive, feed, latest, every tagged page.
        let has = |from: &str, to: &RedirectTarget| {
            comic
                .redirects
                .iter()
                .any(|r| r.from == from && &r.to == to)
        };
        assert!(has(
            &request_path(exp["archive"]["url"].as_str().unwrap()),
            &RedirectTarget::Archive { series: None }
        ));
        assert!(has(
            &request_path(exp["feed"]["url"].as_str().unwrap()),
            &RedirectTarget::Feed {
                series: None,
                chapter: None
            }
        ));
        if exp["latest_page_built"].as_bool().unwrap() {
            assert!(has(
                &format!("{base_dir}/latest/"),
                &RedirectTarget::Latest { series: None }
            ));
        }
        let tagged = exp["tagged_pages"].as_array().unwrap();
        let tag_redirects: Vec<&ForeignRedirect> = comic
            .redirects
            .iter()
            .filter(|r| {
                matches!(
                    r.to,
                    RedirectTarget::Tag { .. } | RedirectTarget::Character { .. }
                )
            })
            .collect();
        assert_eq!(tag_redirects.len(), tagged.len());
        for url in tagged {
            let from = request_path(url.as_str().unwrap());
            let r = tag_redirects
                .iter()
                .find(|r| r.from == from)
                .unwrap_or_else(|| panic!("{from}"));
            let name = match &r.to {
                RedirectTarget::Tag { name } => {
                    assert!(published.iter().any(|p| p.tags.contains(name)));
                    name
                }
                RedirectTarget::Character { name } => {
                    assert!(published.iter().any(|p| p.characters.contains(name)));
                    name
                }
                _ => unreachable!(),
            };
            assert!(url.as_str().unwrap().ends_with(&format!("/tagged/{name}/")));
        }
        assert!(!comic.unmapped.is_empty());
        assert!(comic.unmapped.iter().any(|u| u.contains("Uncategorized")));
    }

    #[test]
    fn scheduled_pages_are_published_once_their_date_has_passed() {
        let exp = expected();
        // far in the future: every page published, in date order
        let comic = read_at(&fixture(), 5_000_000_000).unwrap();
        let pages = &comic.series[0].pages;
        assert!(pages.iter().all(|p| p.status == ForeignStatus::Published));
        let n = exp["reading_order"].as_array().unwrap().len()
            + exp["scheduled_deleted"].as_array().unwrap().len();
        assert_eq!(pages.len(), n);
        assert!(pages.windows(2).all(|w| w[0].date <= w[1].date));
    }

    #[test]
    fn extra_comics_custom_pages_and_broken_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let yc = root.join("your_content");
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("CNAME", "comic.example\n");
        write(
            "your_content/comic_info.ini",
            "[Comic Info]\nComic name = Main\nAuthor = A\n\n[Comic Settings]\nDate format = %Y-%m-%d\n\
             Timezone = America/New_York\nExtra comics = side\n[Pages]\narchive = Archive\nabout = About us\n\
             [Transcripts]\nEnable transcripts = True\nDefault language = English\n\
             [RSS Feed]\nBuild RSS feed = False\n",
        );
        write(
            "your_content/comics/a/info.ini",
            "Title = A\nPost date = 2020-01-02\nFilenames = x.png, gone.png\nCustom key = 1\nStoryline = S\n",
        );
        write("your_content/comics/a/x.png", "png");
        write("your_content/comics/a/English.txt", "txt");
        write("your_content/comics/a/English.md", "**md**");
        write("your_content/comics/b/info.ini", "Title = B\n");
        write("your_content/comics/c/page.png", "png");
        write(
            "your_content/comics/Page One/info.ini",
            "Post date = 2020-01-01\n",
        );
        write("your_content/comics/Page One/upper.PNG", "png");
        write(
            "your_content/themes/default/pages/about.md",
            "---\ntitle: x\n---\n# Hi\n",
        );
        write(
            "your_content/side/comic_info.ini",
            "[Comic Info]\nComic name = Side\n[Pages]\narchive = Archive\n",
        );
        write(
            "your_content/side/comics/s1/info.ini",
            "Title = S1\nPost date = 2021-05-05\n",
        );
        write("your_content/side/comics/s1/s1.png", "png");

        // given your_content itself
        let comic = read(&yc).unwrap();
        assert_eq!(comic.site_title.as_deref(), Some("Main"));
        assert_eq!(comic.series.len(), 2);
        let main = &comic.series[0];
        let names: Vec<&str> = main.pages.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(names, ["Page One", "A"]);
        let one = &main.pages[0];
        assert_eq!(one.slug, "page-one");
        assert_eq!(one.old_urls, ["/comic/Page%20One/"]);
        assert!(one.images.is_empty(), "extensions are case-sensitive");
        let a = &main.pages[1];
        assert_eq!(a.date, Some(1_577_941_200), "midnight in New York");
        assert_eq!(a.transcript, "md", ".md wins over .txt");
        assert_eq!(a.chapter.as_ref().unwrap().title, "S");
        assert!(
            matches!(&a.images[0], ForeignImage::File { path, .. } if path.ends_with("a/x.png"))
        );
        assert_eq!(
            a.images[1],
            ForeignImage::Missing {
                name: "comics/a/gone.png".into()
            }
        );

        let side = &comic.series[1];
        assert_eq!(side.slug.as_deref(), Some("side"));
        assert_eq!(side.title, "Side");
        assert_eq!(side.pages[0].old_urls, ["/side/comic/s1/"]);

        assert!(comic.redirects.contains(&ForeignRedirect {
            from: "/archive/".into(),
            to: RedirectTarget::Archive { series: None }
        }));
        assert!(comic.redirects.contains(&ForeignRedirect {
            from: "/side/archive/".into(),
            to: RedirectTarget::Archive {
                series: Some("side".into())
            }
        }));
        assert!(!comic
            .redirects
            .iter()
            .any(|r| matches!(r.to, RedirectTarget::Feed { .. })));
        assert!(!comic.redirects.iter().any(|r| r.to == RedirectTarget::Home));

        let about = &comic.static_pages[0];
        assert_eq!(
            (about.slug.as_str(), about.title.as_str()),
            ("about", "About us")
        );
        assert_eq!(about.body.trim(), "<h1>Hi</h1>");
        assert_eq!(about.old_urls, ["/about/"]);

        let unmapped = comic.unmapped.join("\n");
        assert!(unmapped.contains("`Custom key`"), "{unmapped}");
        assert!(
            unmapped.contains("comics/b: info.ini has no Post date"),
            "{unmapped}"
        );
        assert!(unmapped.contains("comics/c: no info.ini"), "{unmapped}");
        assert!(unmapped.contains("Author"), "{unmapped}");
    }

    #[test]
    fn configparser_rules() {
        let mut ini = Ini::default();
        ini.read(
            "[A]\nKey = one\n  two\n\n  three\n# comment\nOther: x = y\n[DEFAULT]\nshared = s\n[B]\nk=v\n",
        )
        .unwrap();
        assert_eq!(ini.get("A", "Key"), Some("one\ntwo\n\nthree"));
        assert_eq!(ini.get("A", "Other"), Some("x = y"));
        assert_eq!(ini.get("A", "key"), None, "keys are case-sensitive");
        assert_eq!(ini.get("B", "shared"), Some("s"));
        assert!(Ini::default().read("[A]\nk = 1\nk = 2\n").is_err());
        assert!(Ini::default().read("k = 1\n").is_err());
        ini.read("[A]\nKey = new\n").unwrap();
        assert_eq!(ini.get("A", "Key"), Some("new"));
        assert_eq!(str_to_list(" a, b ,, c,", ','), vec!["a", "b", "c"]);
    }

    #[test]
    fn strptime_like_python() {
        let d = strptime("January 4, 2021", "%B %d, %Y").unwrap();
        assert_eq!(
            d,
            NaiveDate::from_ymd_opt(2021, 1, 4)
                .unwrap()
                .and_time(NaiveTime::MIN)
        );
        let d = strptime("2021-03-01 14:30", "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(d.to_string(), "2021-03-01 14:30:00");
        assert!(strptime("4 January 2021", "%B %d, %Y").is_none());
        assert_eq!(
            strptime("March", "%B").unwrap().to_string(),
            "1900-03-01 00:00:00"
        );
    }
}
