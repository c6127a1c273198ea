//! Reader for Rarebit (1.5): a static site whose comic lives in JavaScript
//! (see `tests/fixtures/FORMATS-other.md`).
//!
//! * `js/comic_settings.js`: `const maxpg = N;` (the last page linked),
//!   `folder`, `image`, `imgPart`, `ext` (image names) and
//!   `const pgData = [ {pgNum, title, date: writeDate(Y, M, D), altText,
//!   imageFiles, authorNotes}, … ];` — page N is `pgData[N-1]`;
//! * `js/comic_archive.js`: `writeArchive("<div class>", first, last, …)`
//!   calls; `archive.html` holds one element of that class per call, with
//!   the chapter's heading in it, and `indexPage = "index.html"`.
//!
//! Only those declarations are parsed (a small tokenizer and a parser for
//! JS literals: strings of the three kinds, numbers, arrays, objects,
//! calls, names, `+`/`-`); nothing is executed.

use super::text::{claim_unique, url_path};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{Months, NaiveDate, TimeDelta};

use super::{
    decode_entities, plain_text, ChapterSpec, ForeignComic, ForeignImage, ForeignPage,
    ForeignRedirect, ForeignSeries, ForeignStatus, RedirectTarget,
};
use crate::comics::Slug;

/// The fields of a `pgData` entry that Rarebit shows.
const PAGE_KEYS: &[&str] = &[
    "pgNum",
    "title",
    "date",
    "altText",
    "imageFiles",
    "authorNotes",
];

/// Reads a Rarebit site folder (the one holding `index.html` and `js/`, or
/// a folder above it).
pub fn read(dir: &Path) -> anyhow::Result<ForeignComic> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let site = find_site(&dir)?;
    let settings_path = site.join("js").join("comic_settings.js");
    let settings_src = read_text(&settings_path)?;
    let settings = Script::parse(&settings_src)
        .with_context(|| format!("cannot read {}", settings_path.display()))?;

    let mut out = ForeignComic {
        system: "Rarebit".to_owned(),
        ..ForeignComic::default()
    };
    let notes = &mut out.notes;
    let unmapped = &mut out.unmapped;

    // The page list.
    let pg_data: Vec<Val> = match settings.vars.get("pgData") {
        Some(Val::Arr(items)) => items.clone(),
        Some(_) => bail!(
            "{}: pgData is not an array literal",
            settings_path.display()
        ),
        None => bail!("{}: no `pgData` array", settings_path.display()),
    };
    let maxpg = match settings.vars.get("maxpg").and_then(|v| settings.number(v)) {
        Some(n) if n >= 0.0 => n.floor() as usize,
        _ => {
            notes.push(format!(
                "maxpg is not a plain number: all {} pages in pgData taken as published",
                pg_data.len()
            ));
            pg_data.len()
        }
    };
    let text_setting = |name: &str, default: &str| -> String {
        settings
            .vars
            .get(name)
            .and_then(|v| settings.string(v))
            .unwrap_or_else(|| default.to_owned())
    };
    let folder = text_setting("folder", "img/comics");
    let image = text_setting("image", "pg");
    let img_part = text_setting("imgPart", "_");
    let ext = text_setting("ext", "jpg");

    // archive.html: the comic page's name, the chapters' headings.
    let archive_path = site.join("archive.html");
    let archive_html = fs::read(&archive_path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let index_page = archive_html
        .as_deref()
        .and_then(index_page_setting)
        .unwrap_or_else(|| "index.html".to_owned());
    let index_page = index_page
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_owned();
    // Images are relative to the comic page.
    let page_dir = match index_page.rfind('/') {
        Some(i) => site.join(&index_page[..i]),
        None => site.clone(),
    };
    let page_paths: Vec<String> = {
        let mut v = vec![url_path(&format!("/{index_page}"))];
        let file = index_page.rsplit('/').next().unwrap_or("");
        if file.eq_ignore_ascii_case("index.html") || file.eq_ignore_ascii_case("index.htm") {
            v.push(url_path(&format!(
                "/{}",
                &index_page[..index_page.len() - file.len()]
            )));
        }
        v
    };

    // Chapters: the writeArchive ranges that are not a list of everything.
    let chapters = read_chapters(
        &site,
        archive_html.as_deref(),
        &settings,
        maxpg,
        pg_data.len(),
        notes,
        unmapped,
    );

    let total = maxpg.max(pg_data.len());
    let mut pages = Vec::with_capacity(total);
    let mut used_slugs = HashSet::new();
    let mut untitled = Vec::new();
    let mut no_data = Vec::new();
    let mut cut_alt = Vec::new();
    let mut numbered = Vec::new();
    let mut odd_values = Vec::new();
    let mut other_keys: BTreeMap<String, usize> = BTreeMap::new();
    for n in 1..=total {
        let entry = pg_data.get(n - 1);
        let fields: &[(String, Val)] = match entry {
            Some(Val::Obj(fields)) => fields,
            Some(_) => {
                odd_values.push(format!("pgData[{}] is not an object", n - 1));
                &[]
            }
            None => {
                no_data.push(n);
                &[]
            }
        };
        let field = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        for (key, _) in fields {
            if !PAGE_KEYS.contains(&key.as_str()) {
                *other_keys.entry(key.clone()).or_default() += 1;
            }
        }
        let mut text_field = |k: &str| -> String {
            match field(k) {
                None | Some(Val::Undefined) | Some(Val::Null) => String::new(),
                Some(v) => match settings.string(v) {
                    Some(s) => s,
                    None => {
                        odd_values.push(format!("page {n}: {k} is not a literal"));
                        String::new()
                    }
                },
            }
        };
        let title_html = text_field("title");
        let alt_html = text_field("altText");
        let notes_html = text_field("authorNotes");

        // The archive shows "Page N" for a page without a title.
        let mut title = plain_text(&title_html);
        if title.is_empty() {
            title = format!("Page {n}");
            if entry.is_some() {
                untitled.push(n);
            }
        }
        if let Some(v) = field("pgNum") {
            let shown = match v {
                Val::Num(x) => js_number(*x),
                other => settings.string(other).unwrap_or_default(),
            };
            if shown != n.to_string() {
                numbered.push(format!("{n} (shown as {shown:?})"));
            }
        }
        let hover = decode_entities(&alt_html);
        if alt_html.contains('"') {
            cut_alt.push(n);
        }

        let date = match field("date") {
            None | Some(Val::Undefined) | Some(Val::Null) => None,
            Some(v) => {
                let d = write_date(v, &settings);
                if d.is_none() {
                    odd_values.push(format!(
                        "page {n}: date is neither writeDate(Y, M, D) nor \"Mon DD YYYY\""
                    ));
                }
                d
            }
        };

        // imageFiles: more than one → <image><N><imgPart><k>.<ext>, k = 1…
        let parts = match field("imageFiles") {
            Some(Val::Num(x)) if *x > 1.0 => x.ceil() as usize,
            Some(v @ Val::Str(_)) => match settings
                .string(v)
                .and_then(|s| s.trim().parse::<f64>().ok())
            {
                Some(x) if x > 1.0 => {
                    odd_values.push(format!(
                        "page {n}: imageFiles is the text {:?}; read as the number",
                        settings.string(v).unwrap_or_default()
                    ));
                    x.ceil() as usize
                }
                _ => 1,
            },
            _ => 1,
        };
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        let names: Vec<String> = if parts > 1 {
            (1..=parts)
                .map(|k| format!("{prefix}{image}{n}{img_part}{k}.{ext}"))
                .collect()
        } else {
            vec![format!("{prefix}{image}{n}.{ext}")]
        };
        let images = names
            .into_iter()
            .map(|name| image_file(&page_dir, &name, &hover))
            .collect();

        let slug_base = Slug::from_text(&title)
            .map(Slug::into_string)
            .unwrap_or_else(|| format!("page-{n}"));
        let slug = claim_unique(&slug_base, &mut used_slugs);

        pages.push(ForeignPage {
            source_id: format!("rarebit:pg{n}"),
            slug,
            title,
            status: if n <= maxpg {
                ForeignStatus::Published
            } else {
                ForeignStatus::Draft
            },
            date: date.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()),
            chapter: chapters
                .iter()
                .find(|(lo, hi, _)| *lo <= n && n <= *hi)
                .map(|(_, _, spec)| spec.clone()),
            hover_text: hover,
            transcript: String::new(),
            notes: dedent(&notes_html),
            content_warning: String::new(),
            tags: Vec::new(),
            characters: Vec::new(),
            images,
            old_urls: page_paths.iter().map(|p| format!("{p}?pg={n}")).collect(),
            comments: Vec::new(),
        });
    }

    // What the author should know.
    if pages.iter().any(|p| p.date.is_some()) {
        notes.push(
            "page dates (writeDate) are days without a time or zone: taken as midnight UTC; \
             Rarebit did not order or schedule by them"
                .to_owned(),
        );
    }
    if total > maxpg {
        notes.push(format!(
            "{} in pgData after maxpg = {maxpg}: reachable by ?pg= but never linked; imported as drafts",
            pages_label(&(maxpg + 1..=total).collect::<Vec<_>>())
        ));
    }
    if !no_data.is_empty() {
        notes.push(format!(
            "{} without a pgData entry: Rarebit showed only the image, titled \"Page N\" in the archive",
            pages_label(&no_data)
        ));
    }
    if !untitled.is_empty() {
        notes.push(format!(
            "{} without a title: titled \"Page N\" as in the archive (the page itself showed only its number)",
            pages_label(&untitled)
        ));
    }
    if !cut_alt.is_empty() {
        notes.push(format!(
            "{}: the alt text holds a \" which cut it short on the old site; imported whole",
            pages_label(&cut_alt)
        ));
    }
    for line in odd_values {
        notes.push(line);
    }
    if !numbered.is_empty() {
        unmapped.push(format!(
            "displayed page numbers (pgNum) that differ from the page's position: {}; not imported",
            numbered.join(", ")
        ));
    }
    for (key, count) in other_keys {
        unmapped.push(format!(
            "pgData field `{key}` ({count} page{}): not imported",
            if count == 1 { "" } else { "s" }
        ));
    }
    if settings.template_substitutions > 0 {
        notes.push(format!(
            "{} template literal{} with ${{…}} kept as written (not evaluated)",
            settings.template_substitutions,
            if settings.template_substitutions == 1 {
                ""
            } else {
                "s"
            }
        ));
    }

    // Addresses that are not one page.
    let opens_on_first = settings.opens_on_first_page();
    out.redirects.push(ForeignRedirect {
        from: page_paths[0].clone(),
        to: if opens_on_first {
            RedirectTarget::First { series: None }
        } else {
            RedirectTarget::Latest { series: None }
        },
    });
    if archive_html.is_some() {
        out.redirects.push(ForeignRedirect {
            from: "/archive.html".to_owned(),
            to: RedirectTarget::Archive { series: None },
        });
    }
    out.notes.push(
        "old addresses taken at the root of the domain (/index.html?pg=N, /?pg=N); \
         a site in a subfolder needs that folder in front"
            .to_owned(),
    );

    // Site files outside the data.
    let index_html = fs::read(site.join(&index_page))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    // "WebComic" is the template's own title.
    out.site_title = index_html
        .as_deref()
        .and_then(html_title)
        .filter(|t| !t.is_empty() && t != "WebComic");
    let mut others: Vec<String> = fs::read_dir(&site)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|f| {
            let lower = f.to_ascii_lowercase();
            (lower.ends_with(".html") || lower.ends_with(".htm"))
                && *f != index_page
                && lower != "archive.html"
        })
        .collect();
    others.sort();
    for f in others {
        out.unmapped
            .push(format!("{f}: a hand-written page, not imported"));
    }
    let thumb_folder = text_setting("thumbFolder", "img/thumbs");
    if site.join(&thumb_folder).is_dir() {
        out.unmapped.push(format!(
            "thumbnails ({thumb_folder}/): not imported, Halftone makes its own"
        ));
    }
    out.unmapped.push(
        "header, footer and navigation (js/comic_header.js, comic_footer.js, nav images): not imported"
            .to_owned(),
    );

    out.series.push(ForeignSeries {
        slug: None,
        title: out.site_title.clone().unwrap_or_default(),
        description: String::new(),
        pages,
    });
    Ok(out)
}

/// The folder with `js/comic_settings.js`: `dir` itself or one below it.
fn find_site(dir: &Path) -> anyhow::Result<PathBuf> {
    let has = |d: &Path| d.join("js").join("comic_settings.js").is_file();
    if has(dir) {
        return Ok(dir.to_owned());
    }
    let mut found: Vec<PathBuf> = Vec::new();
    let mut stack = vec![(dir.to_owned(), 0)];
    while let Some((d, depth)) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden || !path.is_dir() {
                continue;
            }
            if has(&path) {
                found.push(path);
            } else if depth < 2 {
                stack.push((path, depth + 1));
            }
        }
    }
    found.sort();
    match found.len() {
        0 => bail!(
            "{} is not a Rarebit site: no js/comic_settings.js",
            dir.display()
        ),
        1 => Ok(found.remove(0)),
        _ => bail!(
            "several Rarebit sites under {}: {}; name one",
            dir.display(),
            found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `(first, last, chapter)` per `writeArchive` call that is not a full list,
/// in call order (a page belongs to the first range holding it).
fn read_chapters(
    site: &Path,
    archive_html: Option<&str>,
    settings: &Script,
    maxpg: usize,
    pg_len: usize,
    notes: &mut Vec<String>,
    unmapped: &mut Vec<String>,
) -> Vec<(usize, usize, ChapterSpec)> {
    let path = site.join("js").join("comic_archive.js");
    let Ok(src) = fs::read_to_string(&path) else {
        return Vec::new();
    };
    let script = match Script::parse(&src) {
        Ok(s) => s,
        Err(e) => {
            notes.push(format!(
                "js/comic_archive.js could not be read ({e:#}): no chapters"
            ));
            return Vec::new();
        }
    };
    let number = |v: &Val| -> Option<f64> {
        match v {
            Val::Ref(name) if name == "maxpg" => Some(maxpg as f64),
            Val::Member(path) if path == "pgData.length" => Some(pg_len as f64),
            other => script.number(other).or_else(|| settings.number(other)),
        }
    };
    if archive_html.is_none() {
        notes
            .push("no archive.html: chapters named after their archive sections' class".to_owned());
    }
    let mut out = Vec::new();
    let mut slugs = HashSet::new();
    let mut full_lists = 0;
    for (name, args) in &script.calls {
        if name != "writeArchive" {
            continue;
        }
        let class = args.first().and_then(|v| script.string(v));
        let lo = args.get(1).and_then(number);
        let hi = args.get(2).and_then(number);
        let (Some(class), Some(lo), Some(hi)) = (class, lo, hi) else {
            notes.push(
                "a writeArchive(…) call with arguments that are not plain values: skipped"
                    .to_owned(),
            );
            continue;
        };
        let (lo, hi) = (lo.max(0.0) as usize, hi.max(0.0) as usize);
        if lo <= 1 && hi >= maxpg {
            full_lists += 1;
            continue;
        }
        let (title, several) = archive_html
            .and_then(|html| section_heading(html, &class))
            .unwrap_or_else(|| (class.clone(), false));
        if several {
            notes.push(format!(
                "archive section `{class}` has several headings: the first, {title:?}, names the chapter"
            ));
        }
        let slug = claim_unique(
            &Slug::from_text(&title)
                .or_else(|| Slug::from_text(&class))
                .map(Slug::into_string)
                .unwrap_or_else(|| "chapter".to_owned()),
            &mut slugs,
        );
        out.push((
            lo,
            hi,
            ChapterSpec {
                volume: None,
                slug,
                title,
                description: String::new(),
            },
        ));
    }
    let overlapping = out
        .iter()
        .enumerate()
        .any(|(i, (lo, hi, _))| out[..i].iter().any(|(l, h, _)| lo <= h && l <= hi));
    if overlapping {
        notes.push("chapter ranges in comic_archive.js overlap: a page goes to the first chapter listing it".to_owned());
    }
    if full_lists > 0 {
        unmapped.push(format!(
            "{full_lists} archive list{} of every page (chronological / latest first): Halftone has its own archive",
            if full_lists == 1 { "" } else { "s" }
        ));
    }
    if !out.is_empty() {
        let covered: BTreeSet<usize> = out.iter().flat_map(|(lo, hi, _)| *lo..=*hi).collect();
        let loose: Vec<usize> = (1..=maxpg).filter(|n| !covered.contains(n)).collect();
        if !loose.is_empty() {
            notes.push(format!(
                "{} in no chapter range: imported without a chapter",
                pages_label(&loose)
            ));
        }
    }
    out
}

/// `indexPage = "…"` in archive.html's script.
fn index_page_setting(html: &str) -> Option<String> {
    let at = html.find("indexPage")?;
    let rest = &html[at..];
    let end = rest
        .to_ascii_lowercase()
        .find("</script")
        .unwrap_or(rest.len());
    let script = Script::parse(&rest[..end]).ok()?;
    script
        .assignments
        .iter()
        .find(|(name, _)| name == "indexPage")
        .and_then(|(_, v)| script.string(v))
        .filter(|s| !s.is_empty())
}

/// The heading(s) inside the first element with all of `class`'s classes:
/// `(first heading as plain text, whether there were several)`; the
/// element's text when it has no heading.
fn section_heading(html: &str, class: &str) -> Option<(String, bool)> {
    let wanted: Vec<&str> = class.split_whitespace().collect();
    let tags = html_tags(html);
    let (open_index, open) = tags.iter().enumerate().find(|(_, t)| {
        !t.closing && {
            let classes = attr(&t.attrs, "class").unwrap_or_default();
            let have: Vec<&str> = classes.split_whitespace().collect();
            !wanted.is_empty() && wanted.iter().all(|w| have.contains(w))
        }
    })?;
    // The matching end tag (same name, nesting counted).
    let mut depth = 0usize;
    let mut end = html.len();
    for t in &tags[open_index + 1..] {
        if t.name != open.name {
            continue;
        }
        if t.closing {
            if depth == 0 {
                end = t.start;
                break;
            }
            depth -= 1;
        } else if !t.self_closing {
            depth += 1;
        }
    }
    let inner = &html[open.end..end];
    let inner_tags = html_tags(inner);
    let mut headings = Vec::new();
    for (i, t) in inner_tags.iter().enumerate() {
        let is_heading = t.name.len() == 2
            && t.name.starts_with('h')
            && matches!(t.name.as_bytes()[1], b'1'..=b'6');
        if !is_heading || t.closing {
            continue;
        }
        if let Some(close) = inner_tags[i + 1..]
            .iter()
            .find(|c| c.closing && c.name == t.name)
        {
            let text = plain_text(&inner[t.end..close.start]);
            if !text.is_empty() {
                headings.push(text);
            }
        }
    }
    if let Some(first) = headings.first() {
        return Some((first.clone(), headings.len() > 1));
    }
    let text = plain_text(inner);
    (!text.is_empty()).then_some((text, false))
}

/// `<title>` of a page, as plain text.
fn html_title(html: &str) -> Option<String> {
    let tags = html_tags(html);
    let (i, open) = tags
        .iter()
        .enumerate()
        .find(|(_, t)| t.name == "title" && !t.closing)?;
    let close = tags[i + 1..]
        .iter()
        .find(|t| t.name == "title" && t.closing)?;
    Some(plain_text(&html[open.end..close.start]))
}

struct HtmlTag {
    name: String,
    attrs: String,
    closing: bool,
    self_closing: bool,
    /// Byte offsets of `<` and just after `>`.
    start: usize,
    end: usize,
}

/// Every tag, comments and script/style bodies skipped.
fn html_tags(html: &str) -> Vec<HtmlTag> {
    let mut tags = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        if html[start..].starts_with("<!--") {
            i = html[start..]
                .find("-->")
                .map(|e| start + e + 3)
                .unwrap_or(html.len());
            continue;
        }
        let rest = &html[start + 1..];
        let closing = rest.starts_with('/');
        let name_start = start + 1 + usize::from(closing);
        let name_len = html[name_start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(html.len() - name_start);
        if name_len == 0 {
            i = start + 1;
            continue;
        }
        // Find the closing `>` outside quotes.
        let mut j = name_start + name_len;
        let mut quote: Option<u8> = None;
        while j < bytes.len() {
            let b = bytes[j];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b == b'>' => break,
                None => {}
            }
            j += 1;
        }
        let end = (j + 1).min(html.len());
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let attrs = html[name_start + name_len..j.min(html.len())].to_owned();
        let self_closing = attrs.trim_end().ends_with('/');
        tags.push(HtmlTag {
            name: name.clone(),
            attrs,
            closing,
            self_closing,
            start,
            end,
        });
        i = end;
        if !closing && (name == "script" || name == "style") {
            if let Some(e) = html[i..].to_ascii_lowercase().find(&format!("</{name}")) {
                i += e;
            }
        }
    }
    tags
}

/// An attribute's value (entities decoded).
fn attr(attrs: &str, wanted: &str) -> Option<String> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let name = &attrs[name_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let s = i + 1;
                i = s;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = attrs[s..i].to_owned();
                i += 1;
            } else {
                let s = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = attrs[s..i].to_owned();
            }
        }
        if name.eq_ignore_ascii_case(wanted) {
            return Some(decode_entities(&value));
        }
        if name.is_empty() {
            i += 1;
        }
    }
    None
}

/// An image path as Rarebit builds it, relative to the comic page.
fn image_file(page_dir: &Path, name: &str, alt: &str) -> ForeignImage {
    let external =
        name.starts_with("http:") || name.starts_with("https:") || name.starts_with("//");
    let rel = name.trim_start_matches("./").trim_start_matches('/');
    let path = page_dir.join(rel);
    if !external && path.is_file() {
        ForeignImage::File {
            path,
            alt: alt.to_owned(),
        }
    } else {
        ForeignImage::Missing {
            name: name.to_owned(),
        }
    }
}

/// `writeDate(Y, M, D)` = `new Date(Y, M-1, D)` (months and days roll
/// over as in JS), or a date already written out (`"Jan 04 2021"`).
fn write_date(v: &Val, script: &Script) -> Option<NaiveDate> {
    match v {
        Val::Call(name, args) if name == "writeDate" && args.len() >= 3 => {
            let y = script.number(&args[0])?;
            let m = script.number(&args[1])?;
            let d = script.number(&args[2])?;
            if y.fract() != 0.0 || m.fract() != 0.0 || d.fract() != 0.0 {
                return None;
            }
            let (y, m, d) = (y as i64, m as i64 - 1, d as i64 - 1);
            let y = y + m.div_euclid(12);
            let m = m.rem_euclid(12);
            let first = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, 1, 1)?;
            first
                .checked_add_months(Months::new(m as u32))?
                .checked_add_signed(TimeDelta::try_days(d)?)
        }
        other => {
            let s = script.string(other)?;
            let s = s.trim();
            ["%b %d %Y", "%a %b %d %Y", "%Y-%m-%d", "%B %d, %Y"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        }
    }
}

/// How JS prints a number.
fn js_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Author notes as written in a template literal: blank lines around them
/// dropped, the common indentation removed (so Markdown does not take the
/// HTML for code).
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let body: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else if l.len() - l.trim_start().len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .map(str::trim_end)
        .collect();
    body.join("\n").trim_matches('\n').to_owned()
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text))
}

/// `page 3` / `pages 1, 2, 5–7`.
fn pages_label(numbers: &[usize]) -> String {
    match numbers {
        [one] => format!("page {one}"),
        _ => format!("pages {}", list(numbers)),
    }
}

/// `1, 2, 5–7`.
fn list(numbers: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        parts.push(if j > i + 1 {
            format!("{}–{}", numbers[i], numbers[j])
        } else if j == i + 1 {
            format!("{}, {}", numbers[i], numbers[j])
        } else {
            numbers[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

// ---------------------------------------------------------------------------
// JavaScript literals

/// A value as written in the source.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Undefined,
    Arr(Vec<Val>),
    Obj(Vec<(String, Val)>),
    /// `name(args)`.
    Call(String, Vec<Val>),
    /// A variable.
    Ref(String),
    /// `a.b.c` (not called).
    Member(String),
    /// Anything else (an expression this reader does not evaluate).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    /// A template literal; `true` when it had `${…}` (kept as written).
    Template(String, bool),
    Regex,
    Punct(char),
}

/// The top-level declarations and calls of a script.
#[derive(Debug, Default)]
struct Script {
    /// `const|let|var name = value` at the top level (first one wins).
    vars: BTreeMap<String, Val>,
    /// `name = value` at the top level (no keyword).
    assignments: Vec<(String, Val)>,
    /// `name(args);` at the top level.
    calls: Vec<(String, Vec<Val>)>,
    /// `if (pg == 0) {pg = X;}`: X.
    start_page: Option<Val>,
    template_substitutions: usize,
}

impl Script {
    fn parse(src: &str) -> anyhow::Result<Script> {
        let toks = tokenize(src)?;
        let mut script = Script {
            template_substitutions: toks
                .iter()
                .filter(|t| matches!(t, Tok::Template(_, true)))
                .count(),
            ..Script::default()
        };
        let mut depth = 0i32;
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Punct('{' | '(' | '[') => {
                    depth += 1;
                    i += 1;
                }
                Tok::Punct('}' | ')' | ']') => {
                    depth -= 1;
                    i += 1;
                }
                Tok::Ident(kw) if depth == 0 && matches!(kw.as_str(), "const" | "let" | "var") => {
                    i += 1;
                    // name = value[, name = value]*
                    while let (Some(Tok::Ident(name)), Some(Tok::Punct('='))) =
                        (toks.get(i), toks.get(i + 1))
                    {
                        if toks.get(i + 2) == Some(&Tok::Punct('=')) {
                            break;
                        }
                        i += 2;
                        let value = parse_value(&toks, &mut i);
                        script.vars.entry(name.clone()).or_insert(value);
                        if toks.get(i) == Some(&Tok::Punct(',')) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
                Tok::Ident(kw) if depth == 0 && kw == "function" => {
                    // skip the name; the body's braces are counted above
                    i += 1;
                    if matches!(toks.get(i), Some(Tok::Ident(_))) {
                        i += 1;
                    }
                }
                Tok::Ident(kw) if depth == 0 && kw == "if" => {
                    if let Some((v, next)) = start_page_rule(&toks, i) {
                        script.start_page = Some(v);
                        i = next;
                    } else {
                        i += 1;
                    }
                }
                Tok::Ident(name) if depth == 0 => {
                    let prev_dot = i > 0 && toks[i - 1] == Tok::Punct('.');
                    match toks.get(i + 1) {
                        Some(Tok::Punct('(')) if !prev_dot => {
                            let name = name.clone();
                            i += 1;
                            let args = parse_args(&toks, &mut i, ')');
                            script.calls.push((name, args));
                        }
                        Some(Tok::Punct('='))
                            if !prev_dot && toks.get(i + 2) != Some(&Tok::Punct('=')) =>
                        {
                            let name = name.clone();
                            i += 2;
                            let value = parse_value(&toks, &mut i);
                            script.assignments.push((name, value));
                        }
                        _ => i += 1,
                    }
                }
                _ => i += 1,
            }
        }
        Ok(script)
    }

    /// A string value (numbers print as JS prints them; `+` joined).
    fn string(&self, v: &Val) -> Option<String> {
        match v {
            Val::Str(s) => Some(s.clone()),
            Val::Num(x) => Some(js_number(*x)),
            Val::Ref(name) => match self.vars.get(name) {
                Some(inner @ (Val::Str(_) | Val::Num(_))) => self.string(inner),
                _ => None,
            },
            _ => None,
        }
    }

    fn number(&self, v: &Val) -> Option<f64> {
        match v {
            Val::Num(x) => Some(*x),
            Val::Str(s) => s.trim().parse().ok(),
            Val::Ref(name) => match self.vars.get(name) {
                Some(Val::Num(x)) => Some(*x),
                _ => None,
            },
            _ => None,
        }
    }

    /// `if (pg == 0) {pg = 1;}`: the comic page opens on the first page
    /// (the template sets `maxpg`, the newest).
    fn opens_on_first_page(&self) -> bool {
        matches!(&self.start_page, Some(Val::Num(x)) if *x == 1.0)
    }
}

/// At `if`: `if ( pg ==[=] 0 ) [{] pg = VALUE`; the value and where to go on.
fn start_page_rule(toks: &[Tok], at: usize) -> Option<(Val, usize)> {
    let mut i = at + 1;
    let expect =
        |i: &mut usize, t: Tok| -> Option<()> { (toks.get(*i) == Some(&t)).then(|| *i += 1) };
    expect(&mut i, Tok::Punct('('))?;
    expect(&mut i, Tok::Ident("pg".to_owned()))?;
    expect(&mut i, Tok::Punct('='))?;
    expect(&mut i, Tok::Punct('='))?;
    let _ = expect(&mut i, Tok::Punct('='));
    match toks.get(i) {
        Some(Tok::Num(x)) if *x == 0.0 => i += 1,
        _ => return None,
    }
    expect(&mut i, Tok::Punct(')'))?;
    let braced = expect(&mut i, Tok::Punct('{')).is_some();
    expect(&mut i, Tok::Ident("pg".to_owned()))?;
    expect(&mut i, Tok::Punct('='))?;
    let v = parse_value(toks, &mut i);
    let _ = expect(&mut i, Tok::Punct(';'));
    if braced {
        let _ = expect(&mut i, Tok::Punct('}'));
    }
    Some((v, i))
}

/// At an opening bracket: values up to `close`, trailing commas allowed.
fn parse_args(toks: &[Tok], i: &mut usize, close: char) -> Vec<Val> {
    *i += 1; // the opening bracket
    let mut out = Vec::new();
    loop {
        match toks.get(*i) {
            None => return out,
            Some(Tok::Punct(c)) if *c == close => {
                *i += 1;
                return out;
            }
            Some(Tok::Punct(',')) => {
                *i += 1;
            }
            Some(_) => {
                let before = *i;
                out.push(parse_value(toks, i));
                if *i == before {
                    // nothing consumed (a stray closing bracket): give up here
                    skip_to_close(toks, i, close);
                    return out;
                }
            }
        }
    }
}

fn skip_to_close(toks: &[Tok], i: &mut usize, close: char) {
    let mut depth = 0;
    while let Some(t) = toks.get(*i) {
        *i += 1;
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(c @ (')' | ']' | '}')) => {
                if depth == 0 {
                    if *c == close {
                        return;
                    }
                } else {
                    depth -= 1;
                }
            }
            _ => {}
        }
    }
}

/// A value: a literal, a call, a name, an array or object, joined by `+`/`-`.
fn parse_value(toks: &[Tok], i: &mut usize) -> Val {
    let mut value = parse_primary(toks, i);
    while let Some(Tok::Punct(op @ ('+' | '-'))) = toks.get(*i) {
        let op = *op;
        if toks.get(*i + 1) == Some(&Tok::Punct(op)) {
            // ++ / -- : not a literal
            value = Val::Unknown;
            *i += 2;
            continue;
        }
        *i += 1;
        let rhs = parse_primary(toks, i);
        value = match (op, value, rhs) {
            ('+', Val::Str(a), Val::Str(b)) => Val::Str(a + &b),
            ('+', Val::Str(a), Val::Num(b)) => Val::Str(a + &js_number(b)),
            ('+', Val::Num(a), Val::Str(b)) => Val::Str(js_number(a) + &b),
            ('+', Val::Num(a), Val::Num(b)) => Val::Num(a + b),
            ('-', Val::Num(a), Val::Num(b)) => Val::Num(a - b),
            _ => Val::Unknown,
        };
    }
    // Anything else up to the end of this value is not understood.
    match toks.get(*i) {
        // the end of the value, or a new statement without a semicolon
        // (`const a = "x"` ⏎ `const b = …`)
        None | Some(Tok::Punct(',' | ';' | ')' | ']' | '}') | Tok::Ident(_)) => value,
        _ => {
            skip_value_rest(toks, i);
            Val::Unknown
        }
    }
}

/// Skips to the `,` `;` or closing bracket that ends the current value.
fn skip_value_rest(toks: &[Tok], i: &mut usize) {
    let mut depth = 0;
    while let Some(t) = toks.get(*i) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                if depth == 0 {
                    return;
                }
                depth -= 1;
            }
            Tok::Punct(',' | ';') if depth == 0 => return,
            _ => {}
        }
        *i += 1;
    }
}

fn parse_primary(toks: &[Tok], i: &mut usize) -> Val {
    let Some(t) = toks.get(*i) else {
        return Val::Unknown;
    };
    match t {
        Tok::Str(s) => {
            *i += 1;
            Val::Str(s.clone())
        }
        Tok::Template(s, _) => {
            *i += 1;
            Val::Str(s.clone())
        }
        Tok::Num(x) => {
            *i += 1;
            Val::Num(*x)
        }
        Tok::Punct('-') => {
            *i += 1;
            match parse_primary(toks, i) {
                Val::Num(x) => Val::Num(-x),
                _ => Val::Unknown,
            }
        }
        Tok::Punct('+') => {
            *i += 1;
            match parse_primary(toks, i) {
                Val::Num(x) => Val::Num(x),
                _ => Val::Unknown,
            }
        }
        Tok::Punct('[') => Val::Arr(parse_args(toks, i, ']')),
        Tok::Punct('(') => {
            let mut inner = parse_args(toks, i, ')');
            if inner.len() == 1 {
                inner.remove(0)
            } else {
                Val::Unknown
            }
        }
        Tok::Punct('{') => parse_object(toks, i),
        Tok::Ident(name) => {
            *i += 1;
            let mut path = name.clone();
            while let (Some(Tok::Punct('.')), Some(Tok::Ident(next))) =
                (toks.get(*i), toks.get(*i + 1))
            {
                path.push('.');
                path.push_str(next);
                *i += 2;
            }
            if toks.get(*i) == Some(&Tok::Punct('(')) {
                let args = parse_args(toks, i, ')');
                return Val::Call(path, args);
            }
            match path.as_str() {
                "true" => Val::Bool(true),
                "false" => Val::Bool(false),
                "null" => Val::Null,
                "undefined" => Val::Undefined,
                _ if path.contains('.') => Val::Member(path),
                _ => Val::Ref(path),
            }
        }
        _ => Val::Unknown,
    }
}

/// At `{`: `key: value` pairs (keys bare, quoted or numeric), trailing
/// comma allowed; shorthand `{ name }` becomes a reference.
fn parse_object(toks: &[Tok], i: &mut usize) -> Val {
    *i += 1;
    let mut fields = Vec::new();
    loop {
        let key = match toks.get(*i) {
            None => return Val::Obj(fields),
            Some(Tok::Punct('}')) => {
                *i += 1;
                return Val::Obj(fields);
            }
            Some(Tok::Punct(',')) => {
                *i += 1;
                continue;
            }
            Some(Tok::Ident(k)) | Some(Tok::Str(k)) => k.clone(),
            Some(Tok::Num(x)) => js_number(*x),
            Some(_) => {
                skip_value_rest(toks, i);
                continue;
            }
        };
        *i += 1;
        match toks.get(*i) {
            Some(Tok::Punct(':')) => {
                *i += 1;
                let v = parse_value(toks, i);
                fields.push((key, v));
            }
            Some(Tok::Punct(',' | '}')) => fields.push((key.clone(), Val::Ref(key))),
            _ => {
                // a method or something else: not data
                skip_value_rest(toks, i);
            }
        }
    }
}

/// Splits JavaScript into tokens: comments dropped, strings and template
/// literals decoded.
fn tokenize(src: &str) -> anyhow::Result<Vec<Tok>> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks: Vec<Tok> = Vec::new();
    let mut i = 0;
    let line_of = |i: usize| {
        chars[..i.min(chars.len())]
            .iter()
            .filter(|&&c| c == '\n')
            .count()
            + 1
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = i;
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            if i >= chars.len() {
                bail!("line {}: a /* comment */ that never ends", line_of(start));
            }
            i += 2;
            continue;
        }
        if c == '"' || c == '\'' {
            let start = i;
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&ch) = chars.get(i) else {
                    bail!("line {}: a string that never ends", line_of(start));
                };
                if ch == c {
                    i += 1;
                    break;
                }
                if ch == '\n' {
                    bail!(
                        "line {}: a string that runs past the end of its line",
                        line_of(start)
                    );
                }
                if ch == '\\' {
                    i = escape(&chars, i, &mut s);
                } else {
                    s.push(ch);
                    i += 1;
                }
            }
            toks.push(Tok::Str(s));
            continue;
        }
        if c == '`' {
            let start = i;
            i += 1;
            let mut s = String::new();
            let mut substituted = false;
            loop {
                let Some(&ch) = chars.get(i) else {
                    bail!(
                        "line {}: a template literal that never ends",
                        line_of(start)
                    );
                };
                match ch {
                    '`' => {
                        i += 1;
                        break;
                    }
                    '\\' => i = escape(&chars, i, &mut s),
                    '$' if chars.get(i + 1) == Some(&'{') => {
                        // ${…}: kept as written, braces and strings nested
                        substituted = true;
                        let mut depth = 0;
                        while let Some(&ch) = chars.get(i) {
                            s.push(ch);
                            i += 1;
                            match ch {
                                '{' => depth += 1,
                                '}' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        break;
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            toks.push(Tok::Template(s, substituted));
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            if c == '0' && matches!(chars.get(i + 1), Some('x' | 'X')) {
                i += 2;
                while i < chars.len() && chars[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let text: String = chars[start + 2..i].iter().collect();
                toks.push(Tok::Num(i64::from_str_radix(&text, 16).unwrap_or(0) as f64));
                continue;
            }
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == '_'
                    || ((chars[i] == 'e' || chars[i] == 'E')
                        && chars
                            .get(i + 1)
                            .is_some_and(|d| d.is_ascii_digit() || *d == '-' || *d == '+'))
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
            toks.push(Tok::Num(text.parse().unwrap_or(f64::NAN)));
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
            continue;
        }
        if c == '/' && regex_allowed(toks.last()) {
            // a regular expression literal: skip it
            i += 1;
            let mut class = false;
            while let Some(&ch) = chars.get(i) {
                i += 1;
                match ch {
                    '\\' => i += 1,
                    '[' => class = true,
                    ']' => class = false,
                    '/' if !class => break,
                    '\n' => break,
                    _ => {}
                }
            }
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            toks.push(Tok::Regex);
            continue;
        }
        toks.push(Tok::Punct(c));
        i += 1;
    }
    Ok(toks)
}

/// After these a `/` starts a regular expression, not a division.
fn regex_allowed(prev: Option<&Tok>) -> bool {
    match prev {
        None => true,
        Some(Tok::Punct(c)) => "(,=:[!&|?{};+-*%<>~^".contains(*c),
        Some(Tok::Ident(k)) => matches!(
            k.as_str(),
            "return" | "typeof" | "case" | "do" | "else" | "in"
        ),
        _ => false,
    }
}

/// At a backslash in a string: appends what it stands for, returns where
/// the string goes on.
fn escape(chars: &[char], at: usize, out: &mut String) -> usize {
    let Some(&c) = chars.get(at + 1) else {
        return at + 1;
    };
    let hex = |from: usize, len: usize| -> Option<u32> {
        let s: String = chars.get(from..from + len)?.iter().collect();
        u32::from_str_radix(&s, 16).ok()
    };
    match c {
        'n' => out.push('\n'),
        't' => out.push('\t'),
        'r' => out.push('\r'),
        'b' => out.push('\u{8}'),
        'f' => out.push('\u{c}'),
        'v' => out.push('\u{b}'),
        '0' if !chars.get(at + 2).is_some_and(|d| d.is_ascii_digit()) => out.push('\0'),
        '\r' => {
            // line continuation
            if chars.get(at + 2) == Some(&'\n') {
                return at + 3;
            }
        }
        '\n' | '\u{2028}' | '\u{2029}' => {}
        'x' => {
            if let Some(ch) = hex(at + 2, 2).and_then(char::from_u32) {
                out.push(ch);
                return at + 4;
            }
            out.push('x');
        }
        'u' => {
            if chars.get(at + 2) == Some(&'{') {
                if let Some(end) = chars[at + 3..].iter().position(|&c| c == '}') {
                    let s: String = chars[at + 3..at + 3 + end].iter().collect();
                    if let Some(ch) = u32::from_str_radix(&s, 16).ok().and_then(char::from_u32) {
                        out.push(ch);
                        return at + 4 + end;
                    }
                }
            } else if let Some(unit) = hex(at + 2, 4) {
                // a surrogate pair is two escapes
                if (0xD800..0xDC00).contains(&unit)
                    && chars.get(at + 6) == Some(&'\\')
                    && chars.get(at + 7) == Some(&'u')
                {
                    if let Some(low) = hex(at + 8, 4).filter(|l| (0xDC00..0xE000).contains(l)) {
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        if let Some(ch) = char::from_u32(code) {
                            out.push(ch);
                            return at + 12;
                        }
                    }
                }
                out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                return at + 6;
            }
            out.push('u');
        }
        other => out.push(other),
    }
    at + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rarebit")
    }

    fn expected() -> Value {
        let text = fs::read_to_string(fixture().join("expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// What a browser shows of an attribute written as `attr="` + text + `"`.
    fn shown_attribute(raw: &str) -> String {
        decode_entities(raw.split('"').next().unwrap())
    }

    #[test]
    fn reads_the_fixture_as_the_running_site_showed_it() {
        let exp = expected();
        let comic = read(&fixture()).unwrap();
        assert_eq!(comic.series.len(), 1);
        let pages = &comic.series[0].pages;
        let shown = exp["reading_order"].as_array().unwrap();
        let beyond = exp["beyond_maxpg"].as_array().unwrap();
        assert_eq!(
            exp["settings"]["maxpg"].as_u64().unwrap() as usize,
            shown.len()
        );
        assert_eq!(pages.len(), shown.len() + beyond.len());
        let site = fixture().canonicalize().unwrap();

        // The archive's full list gives every published page's label and date.
        let sections = exp["archive"]["sections"].as_array().unwrap();
        let covers_all = |s: &Value| {
            let nums: BTreeSet<u64> = s["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["num"].as_str().unwrap().parse().unwrap())
                .collect();
            (1..=shown.len() as u64).all(|n| nums.contains(&n))
        };
        let full = sections.iter().find(|s| covers_all(s)).unwrap();
        let row = |n: usize| -> &Value {
            full["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["num"].as_str().unwrap() == n.to_string())
                .unwrap()
        };
        let chapters: Vec<&Value> = sections.iter().filter(|s| !covers_all(s)).collect();

        for (i, want) in shown.iter().chain(beyond).enumerate() {
            let n = want["pg"].as_u64().unwrap() as usize;
            assert_eq!(n, i + 1, "reading order is the array position");
            let page = &pages[i];
            let published = i < shown.len();
            assert_eq!(
                page.status,
                if published {
                    ForeignStatus::Published
                } else {
                    ForeignStatus::Draft
                },
                "page {n}"
            );
            // old addresses: index.html?pg=N and /?pg=N
            let url = want["url"].as_str().unwrap();
            assert!(
                page.old_urls.contains(&format!("/{url}")),
                "{:?}",
                page.old_urls
            );
            let query = url.split_once('?').unwrap().1;
            assert!(
                page.old_urls.contains(&format!("/?{query}")),
                "{:?}",
                page.old_urls
            );
            // title: "N - title" on the page, "Page N" in the archive when empty
            let title_shown = want["title_shown"].as_str().unwrap();
            let after_number = title_shown.split_once(" - ").unwrap().1;
            if after_number.is_empty() {
                assert_eq!(
                    page.title,
                    plain_text(row(n)["title_html"].as_str().unwrap())
                );
            } else {
                assert_eq!(page.title, after_number, "page {n}");
            }
            // hover text: the alt/title of the images (whole, where a quote cut it)
            let images = want["images"].as_array().unwrap();
            let alt = images[0]["alt"].as_str().unwrap();
            assert_eq!(images[0]["title"].as_str().unwrap(), alt);
            if page.hover_text.contains('"') {
                assert_eq!(shown_attribute(&page.hover_text), alt);
                assert!(comic.notes.iter().any(|n| n.contains("cut it short")));
            } else {
                assert_eq!(page.hover_text, alt, "page {n}");
            }
            // images: the very files, in order
            assert_eq!(page.images.len(), images.len(), "page {n}");
            for (img, src) in page.images.iter().zip(images) {
                match img {
                    ForeignImage::File { path, alt: a } => {
                        assert!(path.is_absolute() && path.is_file());
                        assert_eq!(path, &site.join(src["src"].as_str().unwrap()));
                        assert_eq!(a, &page.hover_text);
                    }
                    ForeignImage::Missing { name } => panic!("page {n}: missing {name}"),
                }
            }
            // author notes
            assert_eq!(
                squash(&page.notes),
                squash(want["author_notes_html"].as_str().unwrap()),
                "page {n}"
            );
            assert!(
                page.transcript.is_empty() && page.tags.is_empty() && page.characters.is_empty()
            );
            // date, as the archive wrote it
            if published {
                let day = chrono::DateTime::from_timestamp(page.date.unwrap(), 0).unwrap();
                assert_eq!(
                    day.format("%b %d %Y").to_string(),
                    row(n)["date"].as_str().unwrap()
                );
            } else {
                assert!(page.date.is_some());
            }
            // chapter: the first range listing it
            let chapter = chapters.iter().find(|s| {
                s["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["num"].as_str().unwrap() == n.to_string())
            });
            let want_title = chapter.map(|s| s["headings"][0].as_str().unwrap());
            assert_eq!(
                page.chapter.as_ref().map(|c| c.title.as_str()),
                want_title,
                "page {n}"
            );
        }
        let chapter_slugs: HashSet<&str> = pages
            .iter()
            .filter_map(|p| p.chapter.as_ref().map(|c| c.slug.as_str()))
            .collect();
        assert_eq!(chapter_slugs.len(), chapters.len());

        // Slugs valid and unique.
        let mut seen = HashSet::new();
        for p in pages {
            Slug::parse(&p.slug).unwrap();
            assert!(seen.insert(&p.slug));
        }

        // index.html without ?pg shows the newest page; archive.html.
        let bare = &exp["index_without_pg_shows"];
        let last = shown.last().unwrap();
        assert_eq!(bare["title_shown"], last["title_shown"]);
        assert!(comic.redirects.contains(&ForeignRedirect {
            from: format!("/{}", bare["url"].as_str().unwrap()),
            to: RedirectTarget::Latest { series: None },
        }));
        assert!(comic.redirects.contains(&ForeignRedirect {
            from: format!("/{}", exp["archive"]["url"].as_str().unwrap()),
            to: RedirectTarget::Archive { series: None },
        }));
        assert!(!comic.unmapped.is_empty());
    }

    #[test]
    fn js_literals() {
        let s = Script::parse(
            r#"
            // comment
            const a = 'it\'s', b = "x\u00e9\n" + 2; /* block */
            let n = -3
            const arr = [1, 2, ,];
            const o = { "k": `multi
               line ${x}`, 'q': writeDate(2021, 13, 1), r: maxpg, s: a.b, };
            if (pg == 0) {pg = 1;}
            function f(x) { const inner = 5; writeArchive("no", 1, 2); }
            writeArchive("ch", 1, maxpg, -1, false, true);
            indexPage = "comic.html"
            const re = /["'`]/g;
            const after = "ok";
            "#,
        )
        .unwrap();
        assert_eq!(s.vars["a"], Val::Str("it's".into()));
        assert_eq!(s.vars["b"], Val::Str("xé\n2".into()));
        assert_eq!(s.vars["n"], Val::Num(-3.0));
        assert_eq!(s.vars["arr"], Val::Arr(vec![Val::Num(1.0), Val::Num(2.0)]));
        let Val::Obj(o) = &s.vars["o"] else { panic!() };
        let Val::Str(k) = &o[0].1 else { panic!() };
        assert!(
            k.starts_with("multi\n") && k.ends_with(" line ${x}"),
            "{k:?}"
        );
        assert_eq!(write_date(&o[1].1, &s), NaiveDate::from_ymd_opt(2022, 1, 1));
        assert_eq!(o[2].1, Val::Ref("maxpg".into()));
        assert_eq!(o[3].1, Val::Member("a.b".into()));
        assert!(s.opens_on_first_page());
        assert!(!s.vars.contains_key("inner"));
        assert_eq!(s.calls.len(), 1);
        assert_eq!(s.calls[0].0, "writeArchive");
        assert_eq!(
            s.assignments,
            vec![("indexPage".into(), Val::Str("comic.html".into()))]
        );
        assert_eq!(s.vars["after"], Val::Str("ok".into()));
        assert_eq!(s.template_substitutions, 1);
        assert_eq!(
            dedent("\n    <p>a</p>\n      <p>b</p>\n    "),
            "<p>a</p>\n  <p>b</p>"
        );
        assert_eq!(list(&[1, 2, 3, 5, 7, 8]), "1–3, 5, 7, 8");
    }

    #[test]
    fn split_pages_missing_files_and_unlisted_pages() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        fs::create_dir_all(site.join("js")).unwrap();
        fs::create_dir_all(site.join("img/comics")).unwrap();
        fs::write(
            site.join("js/comic_settings.js"),
            r#"const maxpg = 3;
               const folder = "img/comics"; const image = "pg"; const imgPart = "-"; const ext = "jpg";
               const pgData = [
                 { pgNum: 1, title: "One", date: writeDate(2020, 2, 30), altText: 'a "q" &amp; b', imageFiles: "2", authorNotes: `` , extra: 1},
                 { pgNum: "1.5", title: "", altText: "", imageFiles: 1, authorNotes: "<p>x</p>" },
               ];"#,
        )
        .unwrap();
        for f in ["pg1-1.jpg", "pg1-2.jpg", "pg3.jpg"] {
            fs::write(site.join("img/comics").join(f), b"x").unwrap();
        }
        // given the folder above the site
        let comic = read(dir.path()).unwrap();
        let pages = &comic.series[0].pages;
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[0].images.len(), 2);
        assert!(pages[0]
            .images
            .iter()
            .all(|i| matches!(i, ForeignImage::File { .. })));
        assert_eq!(pages[0].hover_text, "a \"q\" & b");
        // 2020-02-30 rolls over to March 1st, as JS's Date does
        let day = chrono::DateTime::from_timestamp(pages[0].date.unwrap(), 0).unwrap();
        assert_eq!(
            day.date_naive(),
            NaiveDate::from_ymd_opt(2020, 3, 1).unwrap()
        );
        assert_eq!(pages[1].title, "Page 2");
        assert_eq!(
            pages[1].images,
            vec![ForeignImage::Missing {
                name: "img/comics/pg2.jpg".into()
            }]
        );
        assert_eq!(pages[2].title, "Page 3");
        assert!(matches!(pages[2].images[0], ForeignImage::File { .. }));
        assert!(pages
            .iter()
            .all(|p| p.status == ForeignStatus::Published && p.chapter.is_none()));
        assert!(comic.unmapped.iter().any(|u| u.contains("`extra`")));
        assert!(comic.unmapped.iter().any(|u| u.contains("pgNum")));
        assert!(comic
            .notes
            .iter()
            .any(|u| u.contains("page 3 without a pgData entry")));
    }
}
