//! Reader for the Grawlix CMS (Ayemae/Grawlix-Webcomic-CMS, the PHP 7+
//! line): its MySQL / MariaDB database, read with SELECTs only, and the
//! site's folder (`assets/images/comics/…`) for the images.
//!
//! What the format is and how the running system behaves is written down in
//! `tests/fixtures/FORMATS-other.md` and `tests/fixtures/grawlix/URLS.md`;
//! the rules this file follows, in short:
//!
//! * tables are `grlx_<name>` (a constant in Grawlix; another prefix is
//!   found when the tables are there); every book is one series, the one
//!   the home path (`/`) shows is the primary series;
//! * reading order is `sort_order` per book (ties: `id`); a page answered at
//!   `<dir><book path>/<n>` and `…/<n>-<custom url>`, `n` being its
//!   `sort_order` at the time of the dump;
//! * `date_publish` is wall-clock time in the site's time zone (milieu
//!   `timezone`); a page is public once that moment is past;
//! * markers start chapters (rank 1) and scenes (rank 2, …) on the page
//!   that has them; a chapter with scenes becomes a volume;
//! * titles are stored entity-encoded with `;` deleted; they are decoded
//!   once; blog posts and transcripts are Markdown.

use super::mysql::{list_tables, text};
use super::text::{claim_unique, encode_path, html_to_text, percent_decode};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::TimeZone;
use sqlx::{Connection, MySqlConnection, Row};

use super::{
    decode_entities, plain_text, ChapterSpec, ForeignComic, ForeignImage, ForeignPage,
    ForeignRedirect, ForeignSeries, ForeignStatus, RedirectTarget,
};
use crate::comics::Slug;

/// The book description `firstrun.php` puts in: a placeholder, not imported.
const PLACEHOLDER_DESCRIPTION: &str =
    "What’s this comic about? This is the place to put your comic’s elevator pitch.";

/// Reads a whole Grawlix site. `table_prefix` is `grlx_` unless the tables
/// were renamed; `None` finds it. `files` is the site's folder (the one
/// holding `assets/`).
pub async fn read(
    database_url: &str,
    table_prefix: Option<&str>,
    files: Option<&Path>,
) -> anyhow::Result<ForeignComic> {
    read_at(
        database_url,
        table_prefix,
        files,
        chrono::Utc::now().timestamp(),
    )
    .await
}

/// [`read`] with "now" given (what decides published or scheduled).
async fn read_at(
    database_url: &str,
    table_prefix: Option<&str>,
    files: Option<&Path>,
    now: i64,
) -> anyhow::Result<ForeignComic> {
    let mut conn = MySqlConnection::connect(database_url)
        .await
        .context("could not connect to the Grawlix database")?;
    let result = read_from(&mut conn, table_prefix, files, now).await;
    let _ = conn.close().await;
    result
}

struct Book {
    id: i64,
    title: String,
    description: String,
    options: String,
}

struct PageRow {
    id: i64,
    title: String,
    /// `sort_order` × 10 000 (the column is DECIMAL(9,4)).
    sort: i64,
    marker_id: i64,
    /// `date_publish` as stored: `YYYY-MM-DD HH:MM:SS`, or empty.
    date: String,
    custom_url: String,
    description: String,
    blog_title: String,
    blog_post: String,
    transcript: String,
}

struct Marker {
    title: String,
    description: String,
    rank: i64,
}

struct Image {
    url: Option<String>,
    description: String,
    reference: i64,
}

async fn read_from(
    conn: &mut MySqlConnection,
    table_prefix: Option<&str>,
    files: Option<&Path>,
    now: i64,
) -> anyhow::Result<ForeignComic> {
    let tables = list_tables(conn).await?;
    let p = find_prefix(&tables, table_prefix)?;
    let has = |name: &str| tables.contains(&format!("{p}{name}"));

    let milieu: HashMap<String, String> = sqlx::query(&format!(
        "SELECT CAST(label AS CHAR), CAST(value AS CHAR) FROM `{p}milieu`"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| (text(r, 0), text(r, 1)))
    .collect();
    let setting = |label: &str| milieu.get(label).cloned().unwrap_or_default();

    let mut comic = ForeignComic {
        system: match setting("db_version").trim() {
            "" => "Grawlix".to_owned(),
            v => format!("Grawlix (database version {v})"),
        },
        site_title: Some(plain_text(&setting("site_name"))).filter(|t| !t.is_empty()),
        ..ForeignComic::default()
    };

    // get_milieu_list: "/" is the web root (""), anything else "/name".
    let dir = match setting("directory").trim().trim_end_matches('/') {
        "" => String::new(),
        d if d.starts_with('/') => d.replace("//", "/"),
        d => format!("/{d}").replace("//", "/"),
    };
    if !dir.is_empty() {
        comic.notes.push(format!(
            "the site lived under {dir}/ (the directory setting): old addresses keep that prefix"
        ));
    }
    let zone_name = match setting("timezone").trim() {
        "" => "America/Los_Angeles".to_owned(),
        z => z.to_owned(),
    };
    let zone: chrono_tz::Tz = match zone_name.parse() {
        Ok(z) => z,
        Err(_) => {
            comic.notes.push(format!(
                "the site's time zone “{zone_name}” is unknown: publish dates were read as UTC"
            ));
            chrono_tz::UTC
        }
    };
    comic.notes.push(format!(
        "publish dates are wall-clock times in the site's time zone ({zone_name}); Grawlix compared them with \
         the database server's clock, so a page may have gone live some hours off that"
    ));
    comic.notes.push(
        "reading order is each book's page order (sort_order) as the dump has it; equal positions are \
         ordered by id"
            .to_owned(),
    );

    // Paths: the book routes (`/comic`), the home route (`/`).
    let mut book_paths: HashMap<i64, Vec<String>> = HashMap::new();
    let mut home_book: Option<i64> = None;
    let mut statics = 0usize;
    for r in sqlx::query(&format!(
        "SELECT CAST(COALESCE(url, '') AS CHAR), CAST(COALESCE(rel_id, 0) AS SIGNED), \
         CAST(COALESCE(rel_type, '') AS CHAR) FROM `{p}path` ORDER BY id"
    ))
    .fetch_all(&mut *conn)
    .await?
    {
        let (url, rel_id, kind) = (text(&r, 0), r.get::<i64, _>(1), text(&r, 2));
        match kind.as_str() {
            "book" if url == "/" => home_book = home_book.or(Some(rel_id)),
            "book" => book_paths.entry(rel_id).or_default().push(url),
            "static" if url != "/404" => statics += 1,
            _ => {}
        }
    }

    let books: Vec<Book> = sqlx::query(&format!(
        "SELECT CAST(id AS SIGNED), CAST(COALESCE(title, '') AS CHAR), CAST(COALESCE(description, '') AS CHAR), \
         CAST(COALESCE(options, '') AS CHAR) FROM `{p}book` ORDER BY sort_order, id"
    ))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Book {
        id: r.get(0),
        title: text(r, 1),
        description: text(r, 2),
        options: text(r, 3),
    })
    .collect();
    if books.is_empty() {
        bail!("this Grawlix site ({p}book) has no book: nothing to import");
    }
    let primary = home_book
        .filter(|id| books.iter().any(|b| b.id == *id))
        .unwrap_or(books[0].id);

    let mut markers: HashMap<i64, Marker> = HashMap::new();
    for r in sqlx::query(&format!(
        "SELECT CAST(m.id AS SIGNED), CAST(COALESCE(m.title, '') AS CHAR), \
         CAST(COALESCE(m.description, '') AS CHAR), CAST(COALESCE(t.`rank`, 0) AS SIGNED), \
         CAST(COALESCE(m.marker_type_id, 0) AS SIGNED) \
         FROM `{p}marker` m LEFT JOIN `{p}marker_type` t ON t.id = m.marker_type_id"
    ))
    .fetch_all(&mut *conn)
    .await?
    {
        markers.insert(
            r.get(0),
            Marker {
                title: text(&r, 1),
                description: text(&r, 2),
                rank: r.get(3),
            },
        );
    }

    let mut images: HashMap<i64, Vec<Image>> = HashMap::new();
    for r in sqlx::query(&format!(
        "SELECT CAST(im.rel_id AS SIGNED), CAST(ir.url AS CHAR), CAST(COALESCE(ir.description, '') AS CHAR), \
         CAST(im.image_reference_id AS SIGNED) \
         FROM `{p}image_match` im LEFT JOIN `{p}image_reference` ir ON ir.id = im.image_reference_id \
         WHERE im.rel_type = 'page' ORDER BY im.rel_id, im.sort_order, im.image_reference_id"
    ))
    .fetch_all(&mut *conn)
    .await?
    {
        images.entry(r.get(0)).or_default().push(Image {
            url: r.try_get::<Option<String>, _>(1).ok().flatten(),
            description: text(&r, 2),
            reference: r.get(3),
        });
    }

    // Nothing in Grawlix's admin writes tags; read them if something did.
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    if has("tag") && has("tag_match") {
        for r in sqlx::query(&format!(
            "SELECT CAST(tm.rel_id AS SIGNED), CAST(COALESCE(t.title, '') AS CHAR) FROM `{p}tag_match` tm \
             JOIN `{p}tag` t ON t.id = tm.tag_id WHERE tm.rel_type = 'book_page' ORDER BY tm.id"
        ))
        .fetch_all(&mut *conn)
        .await?
        {
            let tag = plain_text(&text(&r, 1));
            let list = tags.entry(r.get(0)).or_default();
            if !tag.is_empty() && !list.contains(&tag) {
                list.push(tag);
            }
        }
    }

    let mut series_slugs: HashSet<String> = HashSet::new();
    let mut ordered: Vec<&Book> = books.iter().filter(|b| b.id == primary).collect();
    ordered.extend(books.iter().filter(|b| b.id != primary));
    for book in ordered {
        let is_primary = book.id == primary;
        let paths = book_paths.get(&book.id).cloned().unwrap_or_default();
        let series_slug = if is_primary {
            None
        } else {
            let from_path = paths
                .first()
                .map(|p| p.trim_matches('/').to_owned())
                .unwrap_or_default();
            let base = Slug::parse(&from_path)
                .ok()
                .or_else(|| Slug::from_text(&from_path))
                .or_else(|| Slug::from_text(&decode_entities(&book.title)))
                .map(Slug::into_string)
                .unwrap_or_else(|| format!("book-{}", book.id));
            let slug = claim_unique(&base, &mut series_slugs);
            Some(slug)
        };
        let rows: Vec<PageRow> = sqlx::query(&format!(
            "SELECT CAST(id AS SIGNED), CAST(COALESCE(title, '') AS CHAR), \
             CAST(ROUND(COALESCE(sort_order, 0) * 10000) AS SIGNED), CAST(COALESCE(marker_id, 0) AS SIGNED), \
             CAST(COALESCE(DATE_FORMAT(date_publish, '%Y-%m-%d %H:%i:%s'), '') AS CHAR), \
             CAST(COALESCE(options, '') AS CHAR), CAST(COALESCE(description, '') AS CHAR), \
             CAST(COALESCE(blog_title, '') AS CHAR), CAST(COALESCE(blog_post, '') AS CHAR), \
             CAST(COALESCE(transcript, '') AS CHAR) \
             FROM `{p}book_page` WHERE book_id = ? ORDER BY sort_order, id"
        ))
        .bind(book.id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| PageRow {
            id: r.get(0),
            title: text(r, 1),
            sort: r.get(2),
            marker_id: r.get(3),
            date: text(r, 4),
            custom_url: text(r, 5),
            description: text(r, 6),
            blog_title: text(r, 7),
            blog_post: text(r, 8),
            transcript: text(r, 9),
        })
        .collect();
        let context = BookContext {
            dir: &dir,
            paths: &paths,
            zone,
            markers: &markers,
            images: &images,
            tags: &tags,
            files,
            now,
        };
        let series = read_book(&mut comic, book, series_slug, rows, &context);
        comic.series.push(series);
    }

    comic.redirects.push(ForeignRedirect {
        from: format!("{dir}/"),
        to: RedirectTarget::Home,
    });
    if books.len() > 1 {
        comic.notes.push(format!(
            "{} books became {} series; the one the home page showed is the primary series (Grawlix's chapter \
             lookup did not tell books apart: chapters are read per book here)",
            books.len(),
            books.len()
        ));
    }

    // What stays behind.
    if statics > 0 {
        comic.unmapped.push(format!(
            "{statics} static page(s) ({p}static_page, {p}static_content): not imported, make them as Halftone \
             pages"
        ));
    }
    let count_rows = |table: &str| format!("SELECT COUNT(*) FROM `{p}{table}`");
    if has("user") {
        let n: i64 = sqlx::query_scalar(&count_rows("user"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            comic.unmapped.push(format!(
                "{n} Grawlix user account(s) ({p}user): not imported"
            ));
        }
    }
    if has("ad_reference") {
        let n: i64 = sqlx::query_scalar(&count_rows("ad_reference"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            comic
                .unmapped
                .push(format!("{n} ad(s) ({p}ad_reference): not imported"));
        }
    }
    if has("link_list") {
        let n: i64 = sqlx::query_scalar(&count_rows("link_list"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            comic.unmapped.push(format!(
                "{n} link(s) in the link list ({p}link_list): not imported"
            ));
        }
    }
    if has("third_match") {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM `{p}third_match` WHERE active = 1"
        ))
        .fetch_one(&mut *conn)
        .await?;
        if n > 0 {
            comic.unmapped.push(format!(
                "{n} third-party service(s) switched on (follow/share links, comments, stats): not imported; \
                 comments stay with their service"
            ));
        }
    }
    if has("image_match") {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM `{p}image_match` WHERE rel_type = 'marker'"
        ))
        .fetch_one(&mut *conn)
        .await?;
        if n > 0 {
            comic
                .unmapped
                .push(format!("{n} chapter (marker) image(s): not imported"));
        }
    }
    comic.unmapped.push(
        "themes and tones (per site and per page), the archive layout options: not imported"
            .to_owned(),
    );
    comic.notes.push(
        "old addresses are given as browsers send them: path only, characters outside ASCII percent-encoded \
         (UTF-8, upper-case hex)"
            .to_owned(),
    );
    comic.notes.push(
        "/comic?sort=… addresses (random, first, latest) showed whatever page the database returned first: \
         not redirected"
            .to_owned(),
    );
    Ok(comic)
}

struct BookContext<'a> {
    dir: &'a str,
    paths: &'a [String],
    zone: chrono_tz::Tz,
    markers: &'a HashMap<i64, Marker>,
    images: &'a HashMap<i64, Vec<Image>>,
    tags: &'a HashMap<i64, Vec<String>>,
    files: Option<&'a Path>,
    now: i64,
}

fn read_book(
    comic: &mut ForeignComic,
    book: &Book,
    series_slug: Option<String>,
    rows: Vec<PageRow>,
    cx: &BookContext<'_>,
) -> ForeignSeries {
    let name = {
        let t = plain_text(&book.title);
        if t.is_empty() {
            format!("Book {}", book.id)
        } else {
            t
        }
    };
    if cx.paths.is_empty() {
        comic.notes.push(format!(
            "book “{name}” has no path of its own: its pages had no address, none is redirected"
        ));
    }
    let bases: Vec<String> = cx
        .paths
        .iter()
        .map(|p| format!("{}{}", cx.dir, encode_path(&with_slash(p))))
        .collect();

    // Markers in effect per page (getComicPage): the latest marker of each
    // rank up to the page; a new marker ends every deeper one.
    let mut active: BTreeMap<i64, i64> = BTreeMap::new();
    let mut page_markers: Vec<Vec<i64>> = Vec::with_capacity(rows.len());
    let mut deeper_inside: HashSet<i64> = HashSet::new();
    for r in &rows {
        if let Some(m) = cx.markers.get(&r.marker_id) {
            active.retain(|rank, _| *rank < m.rank);
            // A deeper marker inside an outer one: the outer is a volume.
            if let Some((_, outer)) = active.iter().next() {
                deeper_inside.insert(*outer);
            }
            active.insert(m.rank, r.marker_id);
        } else if r.marker_id != 0 {
            comic.notes.push(format!(
                "page “{}” (grawlix:{}) starts marker {}, which does not exist: ignored",
                plain_text(&r.title),
                r.id,
                r.marker_id
            ));
        }
        page_markers.push(active.values().copied().collect());
    }

    // Chapter specs per innermost marker (with its outermost as volume).
    let mut chapters = Chapters {
        markers: cx.markers,
        deeper_inside: &deeper_inside,
        specs: HashMap::new(),
        slugs: HashSet::new(),
        flattened: Vec::new(),
    };

    // Page slugs: the custom URL where Halftone accepts it, else the title.
    let mut used: HashSet<String> = rows
        .iter()
        .filter_map(|r| Slug::parse(&r.custom_url).ok().map(Slug::into_string))
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    // `/comic/<n>` shows the first row with sort_order = n.
    let mut seen_positions: HashSet<i64> = HashSet::new();
    let mut fractional: Vec<String> = Vec::new();
    let mut ties: Vec<String> = Vec::new();
    let mut meta = 0usize;
    let mut pages = Vec::with_capacity(rows.len());

    for (r, chain) in rows.iter().zip(&page_markers) {
        let whole = (r.sort % 10_000 == 0).then_some(r.sort / 10_000);
        // getComicPage: an empty title shows as "Page <n>".
        let mut title = plain_text(&r.title);
        if title.is_empty() {
            title = format!("Page {}", r.sort / 10_000);
        }
        let slug = match Slug::parse(&r.custom_url) {
            Ok(s) if !taken.contains(s.as_str()) => s.into_string(),
            _ => {
                let base = Slug::from_text(&decode_entities(&r.custom_url))
                    .or_else(|| Slug::from_text(&title))
                    .map(Slug::into_string)
                    .unwrap_or_else(|| format!("page-{}", r.id));
                claim_unique(&base, &mut used)
            }
        };
        taken.insert(slug.clone());

        let date = local_to_utc(&r.date, cx.zone, &mut comic.notes, r.id);
        let status = match date {
            Some(at) if at <= cx.now => ForeignStatus::Published,
            Some(_) => ForeignStatus::Scheduled,
            None => ForeignStatus::Draft,
        };
        if date.is_none() && !r.date.is_empty() {
            comic.notes.push(format!(
                "page “{title}” (grawlix:{}) has the publish date “{}”, which never comes: imported as a draft",
                r.id, r.date
            ));
        }

        let mut old_urls = Vec::new();
        match whole {
            Some(n) if seen_positions.insert(n) => {
                for base in &bases {
                    old_urls.push(format!("{base}/{n}"));
                    let custom = r.custom_url.trim();
                    if !custom.is_empty() {
                        old_urls.push(format!("{base}/{n}-{}", encode_path(custom)));
                    }
                }
            }
            Some(n) => ties.push(format!("“{title}” (position {n})")),
            None => fractional.push(format!("“{title}” ({})", r.sort as f64 / 10_000.0)),
        }

        let page_images = cx.images.get(&r.id).map(Vec::as_slice).unwrap_or(&[]);
        let images: Vec<ForeignImage> = page_images
            .iter()
            .map(|i| find_image(cx.files, cx.dir, i))
            .collect();
        if page_images.is_empty() {
            comic
                .notes
                .push(format!("page “{title}” (grawlix:{}) has no image", r.id));
        }
        // The description is both alt and title (hover) of each image.
        let hover_text = page_images
            .iter()
            .map(|i| decode_entities(&i.description))
            .find(|d| !d.trim().is_empty())
            .unwrap_or_default();
        if page_images.len() > 1 {
            comic.notes.push(format!(
                "page “{title}” (grawlix:{}) has {} images: each keeps its description as alt text, the first \
                 one's is the page's hover text",
                r.id,
                page_images.len()
            ));
        }
        // The admin fills the meta description from the image's; count the others.
        if !r.description.trim().is_empty()
            && page_images.iter().all(|i| i.description != r.description)
        {
            meta += 1;
        }

        let mut notes = String::new();
        let blog_title = plain_text(&r.blog_title);
        if !blog_title.is_empty() {
            notes.push_str(&format!(
                "### {}\n\n",
                html_escape::encode_text(&blog_title)
            ));
        }
        if !r.blog_post.trim().is_empty() {
            notes.push_str(r.blog_post.trim());
        }

        let chapter = chapters.spec(chain);
        pages.push(ForeignPage {
            source_id: format!("grawlix:{}", r.id),
            slug,
            title,
            status,
            date,
            chapter,
            hover_text,
            transcript: markdown_to_text(&r.transcript),
            notes: notes.trim().to_owned(),
            content_warning: String::new(),
            tags: cx.tags.get(&r.id).cloned().unwrap_or_default(),
            characters: Vec::new(),
            images,
            old_urls,
            comments: Vec::new(),
        });
    }
    if !ties.is_empty() {
        comic.notes.push(format!(
            "“{name}”: pages sharing a position are ordered by id; only the first answered its number: {}",
            ties.join(", ")
        ));
    }
    if !fractional.is_empty() {
        comic.notes.push(format!(
            "“{name}”: pages between whole positions (the admin had not renumbered them) had no address: {}",
            fractional.join(", ")
        ));
    }
    if !chapters.flattened.is_empty() {
        comic.notes.push(format!(
            "“{name}”: markers nested deeper than a scene became chapters of their chapter's volume (the levels \
             between are lost): {}",
            chapters.flattened.join(", ")
        ));
    }
    if meta > 0 {
        comic.unmapped.push(format!(
            "“{name}”: {meta} page(s) have a meta description (for search engines): not imported"
        ));
    }
    if pages.iter().any(|p| !p.tags.is_empty()) {
        comic.notes.push(format!(
            "“{name}”: tags were found (Grawlix never showed them) and imported"
        ));
    }

    // Addresses of the book as a whole.
    for base in &bases {
        let to_latest = RedirectTarget::Latest {
            series: series_slug.clone(),
        };
        comic.redirects.push(ForeignRedirect {
            from: base.clone(),
            to: to_latest.clone(),
        });
        comic.redirects.push(ForeignRedirect {
            from: format!("{base}/"),
            to: to_latest,
        });
        comic.redirects.push(ForeignRedirect {
            from: format!("{base}/archive"),
            to: RedirectTarget::Archive {
                series: series_slug.clone(),
            },
        });
        for feed in ["rss", "json"] {
            comic.redirects.push(ForeignRedirect {
                from: format!("{base}/{feed}"),
                to: RedirectTarget::Feed {
                    series: series_slug.clone(),
                    chapter: None,
                },
            });
        }
        // "multi" archives: /archive/<n> is the n-th page with a marker.
        if book.options.contains("<behavior>multi</behavior>") {
            let mut n = 0;
            for (r, chain) in rows.iter().zip(&page_markers) {
                if r.marker_id == 0 || !cx.markers.contains_key(&r.marker_id) {
                    continue;
                }
                n += 1;
                if let Some(spec) = chapters.spec(chain) {
                    comic.redirects.push(ForeignRedirect {
                        from: format!("{base}/archive/{n}"),
                        to: RedirectTarget::Chapter {
                            series: series_slug.clone(),
                            slug: spec.slug,
                        },
                    });
                }
            }
        }
    }
    comic.notes.push(format!(
        "“{name}”: its addresses carry the page's position ({}/<n>): they are mapped as the dump numbered the \
         pages",
        bases.first().map(String::as_str).unwrap_or("")
    ));

    let description = plain_text(&book.description);
    let description = if description == PLACEHOLDER_DESCRIPTION {
        comic.notes.push(format!(
            "“{name}”: the book description is Grawlix's placeholder text: left empty"
        ));
        String::new()
    } else {
        description
    };
    ForeignSeries {
        slug: series_slug,
        title: name,
        description,
        pages,
    }
}

/// The chapters of one book, made as pages meet them.
struct Chapters<'a> {
    markers: &'a HashMap<i64, Marker>,
    /// Markers with a deeper one starting inside them: volumes.
    deeper_inside: &'a HashSet<i64>,
    specs: HashMap<(i64, Option<i64>), ChapterSpec>,
    slugs: HashSet<String>,
    flattened: Vec<String>,
}

impl Chapters<'_> {
    fn title(&self, id: i64) -> String {
        let t = plain_text(&self.markers[&id].title);
        if t.is_empty() {
            format!("Chapter {id}")
        } else {
            t
        }
    }

    /// The chapter of a page whose markers in effect are `chain` (outermost
    /// first).
    fn spec(&mut self, chain: &[i64]) -> Option<ChapterSpec> {
        let inner = *chain.last()?;
        let outer = chain[0];
        let volume = (inner != outer || self.deeper_inside.contains(&outer)).then_some(outer);
        if let Some(spec) = self.specs.get(&(inner, volume)) {
            return Some(spec.clone());
        }
        let title = self.title(inner);
        if chain.len() > 2 {
            self.flattened.push(title.clone());
        }
        let base = Slug::from_text(&title)
            .map(Slug::into_string)
            .unwrap_or_else(|| format!("chapter-{inner}"));
        let slug = claim_unique(&base, &mut self.slugs);
        let spec = ChapterSpec {
            volume: volume.map(|v| self.title(v)),
            slug,
            title,
            description: decode_entities(self.markers[&inner].description.trim()),
        };
        self.specs.insert((inner, volume), spec.clone());
        Some(spec)
    }
}

/// `date_publish` (wall-clock in `zone`) as Unix seconds. A time the clocks
/// skipped is read an hour later; a repeated one as its first occurrence.
fn local_to_utc(
    stored: &str,
    zone: chrono_tz::Tz,
    notes: &mut Vec<String>,
    id: i64,
) -> Option<i64> {
    let naive = chrono::NaiveDateTime::parse_from_str(stored.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.timestamp()),
        chrono::LocalResult::Ambiguous(first, _) => {
            notes.push(format!(
                "page grawlix:{id}: {stored} happened twice in {zone} (clocks went back): the first is taken"
            ));
            Some(first.timestamp())
        }
        chrono::LocalResult::None => {
            notes.push(format!(
                "page grawlix:{id}: {stored} never happened in {zone} (clocks went forward): read an hour later"
            ));
            zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
                .map(|t| t.timestamp())
        }
    }
}

/// An image as the site served it: `<dir>/assets/images/comics/…` under
/// `files`; an absolute URL is looked for by its path.
fn find_image(files: Option<&Path>, dir: &str, image: &Image) -> ForeignImage {
    let Some(url) = image
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        return ForeignImage::Missing {
            name: format!(
                "image reference {} (gone from the database)",
                image.reference
            ),
        };
    };
    let alt = decode_entities(&image.description);
    let path = if url.starts_with("http://") || url.starts_with("https://") || url.starts_with("//")
    {
        url::Url::parse(&if url.starts_with("//") {
            format!("http:{url}")
        } else {
            url.to_owned()
        })
        .ok()
        .map(|u| u.path().to_owned())
    } else {
        Some(url.to_owned())
    };
    if let (Some(files), Some(path)) = (files, path) {
        let path = percent_decode(&path);
        let mut candidates: Vec<&str> = vec![path.as_str()];
        if !dir.is_empty() {
            if let Some(rest) = path.strip_prefix(dir) {
                candidates.push(rest);
            }
        }
        for candidate in candidates {
            let relative = candidate.trim_start_matches('/');
            if relative.is_empty() || relative.split('/').any(|part| part == "..") {
                continue;
            }
            let full: PathBuf = files.join(relative);
            if full.is_file() {
                return ForeignImage::File { path: full, alt };
            }
        }
    }
    ForeignImage::Missing {
        name: url.to_owned(),
    }
}

fn with_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// The table prefix: `<p>book_page` with `<p>milieu`, `<p>book` and
/// `<p>image_reference` present (`grlx_` in every Grawlix).
fn find_prefix(tables: &HashSet<String>, given: Option<&str>) -> anyhow::Result<String> {
    let complete = |p: &str| {
        [
            "book_page",
            "book",
            "milieu",
            "image_reference",
            "image_match",
            "path",
            "marker",
        ]
        .iter()
        .all(|t| tables.contains(&format!("{p}{t}")))
    };
    if let Some(given) = given {
        let given = given.trim();
        for candidate in [given.to_owned(), format!("{given}_")] {
            if complete(&candidate) {
                return Ok(candidate);
            }
        }
        bail!("no Grawlix tables with the prefix “{given}” (looked for {given}book_page, {given}milieu and the rest)");
    }
    let mut found: Vec<String> = tables
        .iter()
        .filter(|t| t.ends_with("book_page"))
        .map(|t| t[..t.len() - "book_page".len()].to_owned())
        .filter(|p| complete(p))
        .collect();
    found.sort();
    if found.iter().any(|p| p == "grlx_") {
        return Ok("grlx_".to_owned());
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let hint = if tables.iter().any(|t| t.starts_with("cc_") && t.ends_with("comics")) {
                " (it looks like a ComicControl database: use --from comiccontrol)"
            } else {
                ""
            };
            bail!(
                "this is not a Grawlix database: no table grlx_book_page with its milieu, book and image tables \
                 ({} tables looked at){hint}",
                tables.len()
            )
        }
        _ => bail!(
            "several Grawlix installs share this database (table prefixes {}): name one with --prefix",
            found.join(", ")
        ),
    }
}

/// A transcript (Markdown, as Grawlix renders it with Parsedown) to plain
/// text: rendered, then one line per paragraph, list item or line break.
fn markdown_to_text(markdown: &str) -> String {
    if markdown.trim().is_empty() {
        return String::new();
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    html_to_text(&html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn markdown_transcripts_become_lines() {
        assert_eq!(
            markdown_to_text("ANNA: Un café.\n\nBARISTA: **Bien** sûr &amp; voilà !"),
            "ANNA: Un café.\nBARISTA: Bien sûr & voilà !"
        );
        assert_eq!(markdown_to_text(""), "");
    }

    #[test]
    fn dates_are_wall_clock_in_the_site_zone() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().expect("zone");
        let mut notes = Vec::new();
        assert_eq!(
            local_to_utc("2021-01-04 10:00:00", berlin, &mut notes, 1),
            Some(1_609_750_800)
        );
        // 02:30 on 2021-03-28 never happened in Berlin.
        assert_eq!(
            local_to_utc("2021-03-28 02:30:00", berlin, &mut notes, 2),
            Some(1_616_895_000)
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(
            local_to_utc("0000-00-00 00:00:00", berlin, &mut notes, 3),
            None
        );
    }

    #[test]
    fn percent_coding() {
        assert_eq!(encode_path("7-第三話"), "7-%E7%AC%AC%E4%B8%89%E8%A9%B1");
        assert_eq!(percent_decode("/a%20b/%E7%AC%AC"), "/a b/第");
        assert_eq!(percent_decode("100%"), "100%");
    }

    /// A scratch database on the test server, dropped by `drop_it`.
    struct Scratch {
        server: url::Url,
        name: String,
    }

    impl Scratch {
        fn url(&self) -> String {
            let mut url = self.server.clone();
            url.set_path(&format!("/{}", self.name));
            url.to_string()
        }

        async fn create(dump: &Path) -> Option<Scratch> {
            let server = std::env::var("HALFTONE_TEST_DATABASE_URL")
                .ok()
                .filter(|u| u.starts_with("mysql://"))
                .unwrap_or_else(|| "mysql://root@127.0.0.1:3306".to_owned());
            let mut server = url::Url::parse(&server).expect("a mysql:// URL");
            server.set_path("/");
            let mut conn = match MySqlConnection::connect(server.as_str()).await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("skipped: no MariaDB server at {server} ({e})");
                    return None;
                }
            };
            let name = format!("halftone_src_{:016x}", rand::random::<u64>());
            sqlx::query(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
                .execute(&mut conn)
                .await
                .expect("create the scratch database");
            let _ = conn.close().await;
            let scratch = Scratch { server, name };
            let client = ["mariadb", "mysql"].into_iter().find(|c| {
                std::process::Command::new(c)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            });
            let Some(client) = client else {
                eprintln!("skipped: no mariadb/mysql command-line client to load the dump");
                scratch.drop_it().await;
                return None;
            };
            let mut cmd = std::process::Command::new(client);
            cmd.arg("--protocol=TCP")
                .arg(format!(
                    "--host={}",
                    scratch.server.host_str().unwrap_or("127.0.0.1")
                ))
                .arg(format!("--port={}", scratch.server.port().unwrap_or(3306)))
                .arg(format!("--user={}", scratch.server.username()))
                .arg("--default-character-set=utf8mb4")
                .arg(&scratch.name)
                .stdin(std::fs::File::open(dump).expect("the dump"));
            if let Some(password) = scratch.server.password() {
                cmd.env("MYSQL_PWD", percent_decode(password));
            }
            let output = cmd.output().expect("run the client");
            if !output.status.success() {
                scratch.drop_it().await;
                panic!(
                    "loading the dump failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            Some(scratch)
        }

        async fn drop_it(&self) {
            if let Ok(mut conn) = MySqlConnection::connect(self.server.as_str()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        }
    }

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grawlix")
    }

    #[tokio::test]
    async fn reads_the_fixture_as_the_site_showed_it() {
        let dir = fixture();
        let Some(scratch) = Scratch::create(&dir.join("fixture.sql")).await else {
            return;
        };
        let url = scratch.url();
        let outcome = tokio::spawn(async move { check_fixture(&url, &dir).await }).await;
        scratch.drop_it().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    #[tokio::test]
    async fn refuses_what_is_not_grawlix() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/comiccontrol");
        let Some(scratch) = Scratch::create(&dir.join("fixture.sql")).await else {
            return;
        };
        let url = scratch.url();
        let outcome = tokio::spawn(async move {
            let err = read(&url, None, None)
                .await
                .expect_err("a ComicControl database");
            assert!(err.to_string().contains("not a Grawlix database"), "{err}");
            assert!(err.to_string().contains("comiccontrol"), "{err}");
        })
        .await;
        scratch.drop_it().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    fn s<'a>(v: &'a Value, key: &str) -> &'a str {
        v[key].as_str().unwrap_or("")
    }

    /// A site path as a browser sends it (percent-encoded).
    fn encoded(path: &str) -> String {
        url::Url::parse(&format!("http://site.invalid{path}"))
            .expect("a path")
            .path()
            .to_owned()
    }

    fn lines_of(html: &str) -> String {
        html.split("</p>")
            .map(plain_text)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn check_fixture(url: &str, dir: &Path) {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json is JSON");
        let now = chrono::DateTime::parse_from_rfc3339(s(&expected, "generated_at_utc"))
            .expect("generated_at_utc")
            .timestamp();
        let comic = read_at(url, None, Some(dir), now)
            .await
            .expect("the reader reads the fixture");
        read_at(url, Some("grlx_"), Some(dir), now)
            .await
            .expect("the prefix named");
        read_at(url, Some("grlx"), Some(dir), now)
            .await
            .expect("the prefix without its underscore");
        assert!(read_at(url, Some("wp_"), Some(dir), now).await.is_err());

        assert!(s(&expected, "system").starts_with(comic.system.split(' ').next().unwrap_or("")));
        assert_eq!(comic.series.len(), 1);
        let series = &comic.series[0];
        assert_eq!(series.slug, None);

        let public: Vec<&Value> = expected["reading_order"]
            .as_array()
            .expect("reading_order")
            .iter()
            .collect();
        let hidden: Vec<&Value> = expected["not_public"]
            .as_array()
            .expect("not_public")
            .iter()
            .collect();
        let id = |v: &Value| format!("grawlix:{}", v["id"].as_i64().expect("id"));
        let by_id: HashMap<String, &ForeignPage> = series
            .pages
            .iter()
            .map(|p| (p.source_id.clone(), p))
            .collect();

        // Reading order: sort_order, the public pages first here.
        let order: Vec<String> = series.pages.iter().map(|p| p.source_id.clone()).collect();
        let mut want: Vec<&Value> = public.iter().chain(hidden.iter()).copied().collect();
        want.sort_by(|a, b| {
            a["sort_order"]
                .as_f64()
                .partial_cmp(&b["sort_order"].as_f64())
                .expect("numbers")
        });
        assert_eq!(order, want.iter().map(|v| id(v)).collect::<Vec<_>>());
        for v in &public {
            assert_eq!(by_id[&id(v)].status, ForeignStatus::Published, "{}", id(v));
        }
        for v in &hidden {
            assert_eq!(by_id[&id(v)].status, ForeignStatus::Scheduled, "{}", id(v));
        }

        // Chapters with scenes are volumes.
        let with_scenes: HashSet<&str> = want
            .iter()
            .filter(|v| v["scene"].is_string())
            .map(|v| s(v, "chapter"))
            .collect();
        let feed_dates: HashMap<String, i64> = expected["rss"]["items"]
            .as_array()
            .expect("rss items")
            .iter()
            .map(|i| {
                (
                    url::Url::parse(s(i, "link"))
                        .expect("link")
                        .path()
                        .to_owned(),
                    chrono::DateTime::parse_from_rfc2822(s(i, "pubDate"))
                        .expect("pubDate")
                        .timestamp(),
                )
            })
            .collect();

        let mut all_urls: Vec<String> = Vec::new();
        for v in &want {
            let page = by_id[&id(v)];
            let what = id(v);
            match v["shown"].as_object() {
                Some(shown) => {
                    assert_eq!(
                        page.title,
                        shown["title_shown"].as_str().expect("title"),
                        "{what}"
                    );
                    assert_eq!(
                        page.transcript,
                        lines_of(shown["transcript_html"].as_str().unwrap_or("")),
                        "{what}"
                    );
                    let blog = shown["blog_title"].as_str().unwrap_or("");
                    assert!(page.notes.contains(blog), "{what}: {}", page.notes);
                }
                None => assert_eq!(page.title, plain_text(s(v, "title_db")), "{what}"),
            }
            if let Some(post) = v["blog_post_db"].as_str() {
                assert!(page.notes.contains(post), "{what}: {}", page.notes);
            } else {
                assert!(
                    v["blog_title_db"].is_string() || page.notes.is_empty(),
                    "{what}"
                );
            }
            let chapter = page
                .chapter
                .as_ref()
                .expect("every fixture page is in a chapter");
            match v["scene"].as_str() {
                Some(scene) => {
                    assert_eq!(chapter.title, plain_text(scene), "{what}");
                    assert_eq!(
                        chapter.volume.as_deref(),
                        Some(plain_text(s(v, "chapter")).as_str()),
                        "{what}"
                    );
                }
                None => {
                    assert_eq!(chapter.title, plain_text(s(v, "chapter")), "{what}");
                    let volume = with_scenes
                        .contains(s(v, "chapter"))
                        .then(|| plain_text(s(v, "chapter")));
                    assert_eq!(chapter.volume, volume, "{what}");
                }
            }
            assert!(Slug::parse(&chapter.slug).is_ok(), "{what}");
            assert!(page.tags.is_empty(), "{what}");

            // Images: every one, in order, found in the fixture.
            let images: Vec<ForeignImage> = v["images_db"]
                .as_array()
                .expect("images")
                .iter()
                .map(|i| {
                    let path = dir.join(s(i, "url").trim_start_matches('/'));
                    assert!(path.is_file(), "{what}: {}", path.display());
                    ForeignImage::File {
                        path,
                        alt: decode_entities(s(i, "description")),
                    }
                })
                .collect();
            assert_eq!(page.images, images, "{what}");
            let first = &v["images_db"][0];
            assert_eq!(
                page.hover_text,
                decode_entities(s(first, "description")),
                "{what}"
            );
            if let Some(shown) = v["shown"].as_object() {
                // What the site showed is a prefix (a `"` cut it short).
                let alt = shown["images"][0]["alt"].as_str().unwrap_or("");
                if alt != "image" {
                    assert!(page.hover_text.starts_with(alt), "{what}");
                }
            }

            // Old addresses: /comic/<n> and the permalink.
            let n = v["sort_order"].as_f64().expect("sort_order") as i64;
            let mut urls = vec![format!("/comic/{n}")];
            let permalink = encoded(s(v, "url_path"));
            if !urls.contains(&permalink) {
                urls.push(permalink.clone());
            }
            assert_eq!(page.old_urls, urls, "{what}");
            if let Some(at) = feed_dates.get(&permalink) {
                assert_eq!(page.date, Some(*at), "{what}");
            }
            all_urls.extend(page.old_urls.iter().cloned());
        }
        let slugs: HashSet<&str> = series.pages.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(slugs.len(), series.pages.len());
        assert!(series.pages.iter().all(|p| Slug::parse(&p.slug).is_ok()));
        assert_eq!(
            series.title,
            plain_text(s(&expected["json"]["body"], "title"))
        );

        // Every link a page showed leads to a page or to the newest page.
        let has = |from: &str, to: RedirectTarget| {
            comic.redirects.iter().any(|r| r.from == from && r.to == to)
        };
        for v in &public {
            let shown = &v["shown"];
            let links = shown["nav"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, l)| l.as_str().unwrap_or(""))
                .chain(std::iter::once(s(shown, "image_link")));
            for link in links {
                let path = encoded(link);
                assert!(
                    all_urls.contains(&path) || has(&path, RedirectTarget::Latest { series: None }),
                    "{path}"
                );
            }
        }
        for chapter in expected["archive"]["markers"].as_array().expect("archive") {
            for page in chapter["pages"].as_array().expect("pages") {
                assert!(all_urls.contains(&encoded(s(page, "href"))));
            }
        }
        assert!(has(
            s(&expected["archive"], "url"),
            RedirectTarget::Archive { series: None }
        ));
        for feed in [&expected["rss"], &expected["json"]] {
            assert!(has(
                s(feed, "url"),
                RedirectTarget::Feed {
                    series: None,
                    chapter: None
                }
            ));
        }
        assert!(has("/", RedirectTarget::Home));
        let comic_path = s(&expected["site"], "comic_path");
        assert!(has(comic_path, RedirectTarget::Latest { series: None }));
    }
}
