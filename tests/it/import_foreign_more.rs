//! Moving in from Webcomic, Toocheke, comic_git and Rarebit: the real
//! `halftone import --from …` command imports the fixtures the real systems
//! made (tests/fixtures/), and every page of every series — its place in
//! the reading order, title, hover text, transcript, chapter, tags, cast
//! and images — is checked against what the source system itself showed
//! (`expected.json`); pages that were not public are kept but hidden, and
//! every old address answers 301 with the page's address. SQLite and
//! MariaDB.

use std::collections::BTreeSet;
use std::path::Path;

use halftone::db::DbText;
use serde_json::Value;

use super::import_foreign::{expected, fixture, import, path_of, redirect_of, untexturize};
use crate::common::{spawn_app, TestApp};

// ---------------------------------------------------------------------------
// Reading the fixtures

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn strings(v: &Value) -> BTreeSet<String> {
    list(v)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// What a reader reads of an HTML fragment: tags removed, character
/// references decoded once, trimmed.
fn html_text(html: &str) -> String {
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
    html_escape::decode_html_entities(&out).trim().to_owned()
}

/// Whitespace runs made one space: paragraphs (`<p>`) on the old site are
/// blank lines in Halftone's plain-text transcript.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Width and height of a PNG file, from its IHDR chunk.
fn png_size(path: &Path) -> (i64, i64) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[1..4], b"PNG", "{} is a PNG", path.display());
    let be = |at: usize| {
        i64::from(u32::from_be_bytes(
            bytes[at..at + 4].try_into().expect("4 bytes"),
        ))
    };
    (be(16), be(20))
}

// ---------------------------------------------------------------------------
// The command and the site

#[derive(Debug)]
struct SeriesRow {
    id: i64,
    slug: String,
    title: String,
}

/// Every series, the primary (first by position) first.
async fn series(app: &TestApp) -> Vec<SeriesRow> {
    let rows: Vec<(i64, DbText, DbText)> =
        sqlx::query_as("SELECT id, slug, title FROM series ORDER BY position, id")
            .fetch_all(app.db.pool())
            .await
            .expect("series");
    rows.into_iter()
        .map(|(id, slug, title)| SeriesRow {
            id,
            slug: slug.0,
            title: title.0,
        })
        .collect()
}

/// Where a series' pages live: the primary at the root, others under
/// `/series/<slug>`.
fn prefix(all: &[SeriesRow], series: &SeriesRow) -> String {
    if all.first().is_some_and(|p| p.id == series.id) {
        String::new()
    } else {
        format!("/series/{}", series.slug)
    }
}

#[derive(Debug)]
struct PageRow {
    id: i64,
    series_id: i64,
    slug: String,
    title: String,
    status: String,
    live_at: Option<i64>,
    hover: String,
    transcript: String,
    chapter: Option<String>,
    volume: Option<String>,
}

impl PageRow {
    fn is_live(&self, now: i64) -> bool {
        self.status == "published" && self.live_at.is_some_and(|t| t <= now)
    }
}

async fn pages(app: &TestApp) -> Vec<PageRow> {
    type Row = (
        i64,
        i64,
        DbText,
        DbText,
        DbText,
        Option<i64>,
        DbText,
        DbText,
        Option<DbText>,
        Option<DbText>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id, p.series_id, p.slug, p.title, p.status, p.live_at, p.hover_text, p.transcript, \
         c.title, v.title \
         FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id \
         LEFT JOIN volumes v ON v.id = c.volume_id ORDER BY p.series_id, p.position, p.id",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("pages");
    rows.into_iter()
        .map(
            |(id, series_id, slug, title, status, live_at, hover, transcript, chapter, volume)| {
                PageRow {
                    id,
                    series_id,
                    slug: slug.0,
                    title: title.0,
                    status: status.0,
                    live_at,
                    hover: hover.0,
                    transcript: transcript.0,
                    chapter: chapter.map(|c| c.0),
                    volume: volume.map(|v| v.0),
                }
            },
        )
        .collect()
}

/// Chapter slugs of a series in Halftone's order.
async fn chapter_slugs(app: &TestApp, series_id: i64) -> Vec<String> {
    let rows: Vec<(DbText,)> =
        sqlx::query_as("SELECT slug FROM chapters WHERE series_id = ? ORDER BY position, id")
            .bind(series_id)
            .fetch_all(app.db.pool())
            .await
            .expect("chapters");
    rows.into_iter().map(|(s,)| s.0).collect()
}

async fn names(
    app: &TestApp,
    page_id: i64,
    table: &str,
    link: &str,
    key: &str,
) -> BTreeSet<String> {
    let sql =
        format!("SELECT t.name FROM {table} t JOIN {link} l ON l.{key} = t.id WHERE l.page_id = ?");
    let rows: Vec<(DbText,)> = sqlx::query_as(&sql)
        .bind(page_id)
        .fetch_all(app.db.pool())
        .await
        .expect("names");
    rows.into_iter().map(|(n,)| n.0).collect()
}

/// (width, height, alt) of a page's images, in order.
async fn images(app: &TestApp, page_id: i64) -> Vec<(i64, i64, String)> {
    let rows: Vec<(i64, i64, DbText)> = sqlx::query_as(
        "SELECT m.width, m.height, i.alt_text FROM page_images i JOIN media m ON m.id = i.media_id \
         WHERE i.page_id = ? ORDER BY i.position",
    )
    .bind(page_id)
    .fetch_all(app.db.pool())
    .await
    .expect("images");
    rows.into_iter().map(|(w, h, alt)| (w, h, alt.0)).collect()
}

/// An old address that is not one page (a chapter, a character, the
/// archive, a feed): 301 to an address of ours that answers.
async fn leads_somewhere(app: &TestApp, from: &str) -> String {
    let (status, to) = redirect_of(app, from).await;
    assert_eq!(status, 301, "{from} → {to:?}");
    assert_eq!(app.get(&to).await.status(), 200, "{from} → {to}");
    to
}

/// Runs the import again: nothing is added.
async fn import_again(app: &TestApp, args: &[&str], before: usize) {
    let again = import(app, args);
    assert_eq!(pages(app).await.len(), before, "{again}");
    assert!(again.contains("imported before"), "{again}");
}

// ---------------------------------------------------------------------------
// What the old site showed, and the checks

/// One image: its pixel size and alt text where the source says them.
struct Image {
    size: Option<(i64, i64)>,
    alt: Option<String>,
}

enum Transcript {
    /// The text, exactly (trimmed).
    Is(String),
    /// Several transcripts (languages) joined into one: each line of each
    /// is there, and none of the lines of the unpublished ones.
    Joins {
        lines: Vec<String>,
        not: Vec<String>,
    },
    /// Equal modulo whitespace (paragraphs vs blank lines).
    Reads(String),
}

/// One page as the old site showed it.
struct Want {
    /// The old slug, where it carries over (WordPress); pages of the other
    /// systems are matched by their place in the reading order.
    slug: Option<String>,
    title: String,
    hover: String,
    /// Rarebit put the alt text into `alt="…"` unescaped: a `"` cut it
    /// short there; Halftone keeps it whole.
    hover_cut_at_quote: bool,
    transcript: Transcript,
    /// `[]`, `[chapter]` or `[volume, chapter]`.
    chapter: Vec<String>,
    tags: BTreeSet<String>,
    characters: BTreeSet<String>,
    images: Vec<Image>,
    /// Paths (with query) that answer 301 with the page's address.
    old: Vec<String>,
}

/// A page that was not public: kept, hidden.
struct Hidden {
    slug: Option<String>,
    title: String,
}

/// The live pages of one series read as `wants` do, each as it was shown.
async fn check_series(
    app: &TestApp,
    rows: &[&PageRow],
    prefix: &str,
    wants: &[Want],
    texturized: bool,
) {
    let now = halftone::db::now();
    let live: Vec<&&PageRow> = rows.iter().filter(|r| r.is_live(now)).collect();
    let title = |s: &str| {
        if texturized {
            untexturize(s)
        } else {
            s.to_owned()
        }
    };
    if wants.iter().all(|w| w.slug.is_some()) {
        assert_eq!(
            live.iter().map(|r| r.slug.as_str()).collect::<Vec<_>>(),
            wants
                .iter()
                .map(|w| w.slug.as_deref().unwrap_or(""))
                .collect::<Vec<_>>(),
            "reading order of {prefix:?}"
        );
    } else {
        assert_eq!(
            live.iter().map(|r| title(&r.title)).collect::<Vec<_>>(),
            wants.iter().map(|w| title(&w.title)).collect::<Vec<_>>(),
            "reading order of {prefix:?} (by title)"
        );
    }
    for (row, want) in live.iter().zip(wants) {
        let slug = &row.slug;
        assert_eq!(title(&row.title), title(&want.title), "{slug}: title");
        if want.hover_cut_at_quote {
            assert_eq!(
                row.hover.split('"').next().unwrap_or(""),
                want.hover,
                "{slug}: hover"
            );
        } else {
            assert_eq!(row.hover, want.hover, "{slug}: hover");
        }
        match &want.transcript {
            Transcript::Is(t) => assert_eq!(row.transcript.trim(), t.trim(), "{slug}: transcript"),
            Transcript::Reads(t) => {
                assert_eq!(squash(&row.transcript), squash(t), "{slug}: transcript")
            }
            Transcript::Joins { lines, not } => {
                for line in lines {
                    assert!(
                        row.transcript.contains(line.as_str()),
                        "{slug}: {line:?} in {:?}",
                        row.transcript
                    );
                }
                for line in not {
                    assert!(
                        !row.transcript.contains(line.as_str()),
                        "{slug}: unpublished {line:?} imported"
                    );
                }
            }
        }
        match want.chapter.as_slice() {
            [] => assert_eq!(row.chapter, None, "{slug} has no chapter"),
            [chapter] => assert_eq!(
                (row.volume.as_deref(), row.chapter.as_deref()),
                (None, Some(chapter.as_str())),
                "{slug}: chapter"
            ),
            [volume, .., chapter] => assert_eq!(
                (row.volume.as_deref(), row.chapter.as_deref()),
                (Some(volume.as_str()), Some(chapter.as_str())),
                "{slug}: volume and chapter"
            ),
        }
        assert_eq!(
            names(app, row.id, "tags", "page_tags", "tag_id").await,
            want.tags,
            "{slug}: tags"
        );
        assert_eq!(
            names(app, row.id, "characters", "page_characters", "character_id").await,
            want.characters,
            "{slug}: cast"
        );
        let got = images(app, row.id).await;
        assert_eq!(got.len(), want.images.len(), "{slug}: images {got:?}");
        for (i, (image, wanted)) in got.iter().zip(&want.images).enumerate() {
            if let Some(size) = wanted.size {
                assert_eq!(
                    (image.0, image.1),
                    size,
                    "{slug}: image {i} is the original upload"
                );
            }
            if let Some(alt) = &wanted.alt {
                assert_eq!(&image.2, alt, "{slug}: image {i} alt");
            }
        }
        let url = format!("{prefix}/comic/{slug}");
        assert_eq!(app.get(&url).await.status(), 200, "{url}");
        for from in &want.old {
            assert_eq!(redirect_of(app, from).await, (301, url.clone()), "{from}");
        }
    }
}

/// Pages that were not public are kept, and not shown.
async fn check_hidden(app: &TestApp, rows: &[&PageRow], prefix: &str, hidden: &[Hidden]) {
    let now = halftone::db::now();
    let not_live = rows.iter().filter(|r| !r.is_live(now)).count();
    assert_eq!(not_live, hidden.len(), "pages of {prefix:?} not public");
    for h in hidden {
        let row = rows
            .iter()
            .find(|r| match &h.slug {
                Some(slug) => &r.slug == slug,
                None => r.title == h.title,
            })
            .unwrap_or_else(|| panic!("{} ({:?}) kept", h.title, h.slug));
        assert!(
            !row.is_live(now),
            "{} is not public: {} {:?}",
            row.slug,
            row.status,
            row.live_at
        );
        assert_eq!(
            untexturize(&row.title),
            untexturize(&h.title),
            "{}: title",
            row.slug
        );
        assert_eq!(
            app.get(&format!("{prefix}/comic/{}", row.slug))
                .await
                .status(),
            404,
            "{}",
            row.slug
        );
    }
}

// ---------------------------------------------------------------------------
// WordPress: Webcomic and Toocheke

fn wordpress_args(dir: &Path) -> Vec<String> {
    vec![
        "--from".to_owned(),
        "wordpress".to_owned(),
        dir.join("export.xml").to_str().expect("utf8").to_owned(),
        "--uploads".to_owned(),
        dir.join("uploads").to_str().expect("utf8").to_owned(),
    ]
}

fn wp_image(image: &Value) -> Image {
    Image {
        size: Some((
            image["width"].as_i64().expect("width"),
            image["height"].as_i64().expect("height"),
        )),
        alt: Some(text(&image["alt"]).to_owned()),
    }
}

fn wp_hidden(comic: &Value) -> Hidden {
    // WordPress shows "Private: " before a private post's title; it is not
    // part of the title.
    let shown = text(&comic["title_text"]);
    let title = if text(&comic["status"]) == "private" {
        shown.strip_prefix("Private: ").unwrap_or(shown)
    } else {
        shown
    };
    Hidden {
        slug: Some(text(&comic["slug"]).to_owned()),
        title: untexturize(title),
    }
}

/// A Webcomic comic: images are `webcomic_media` then the images in its
/// text; no hover text (Webcomic has none); transcripts are separate posts,
/// of which only the published ones count.
fn webcomic_want(comic: &Value) -> Want {
    let transcripts = list(&comic["transcripts"]);
    let published: Vec<String> = transcripts
        .iter()
        .filter(|t| text(&t["status"]) == "publish")
        .map(|t| html_text(text(&t["content_raw"])))
        .collect();
    let unpublished: Vec<String> = transcripts
        .iter()
        .filter(|t| text(&t["status"]) != "publish")
        .flat_map(|t| {
            html_text(text(&t["content_raw"]))
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let transcript = match published.as_slice() {
        [] => Transcript::Is(String::new()),
        [one] => Transcript::Is(one.clone()),
        several => Transcript::Joins {
            lines: several
                .iter()
                .flat_map(|t| t.lines().map(str::to_owned))
                .collect(),
            not: unpublished,
        },
    };
    assert!(comic["hover_text"].is_null(), "Webcomic has no hover text");
    Want {
        slug: Some(text(&comic["slug"]).to_owned()),
        title: text(&comic["title_text"]).to_owned(),
        hover: String::new(),
        hover_cut_at_quote: false,
        transcript,
        chapter: list(&comic["chapter_path"])
            .iter()
            .map(|s| text(s).to_owned())
            .collect(),
        tags: strings(&comic["tags"]),
        characters: strings(&comic["characters"]),
        images: list(&comic["media"])
            .iter()
            .chain(list(&comic["body_images"]))
            .map(wp_image)
            .collect(),
        old: vec![
            path_of(text(&comic["permalink"])),
            path_of(text(&comic["shortlink"])),
        ],
    }
}

/// A Toocheke comic: the images are those in its content; hover text and
/// transcript are stored as typed and printed into the page as they are,
/// so a reader saw them with character references decoded once.
fn toocheke_want(comic: &Value) -> Want {
    let decoded = |v: &Value| html_escape::decode_html_entities(text(v)).into_owned();
    Want {
        slug: Some(text(&comic["slug"]).to_owned()),
        title: text(&comic["title_text"]).to_owned(),
        hover: decoded(&comic["hovertext_text"]),
        hover_cut_at_quote: false,
        transcript: Transcript::Is(decoded(&comic["transcript_text"])),
        chapter: list(&comic["chapter_path"])
            .iter()
            .map(|s| text(s).to_owned())
            .collect(),
        tags: strings(&comic["tags"]),
        characters: strings(&comic["characters"]),
        images: list(&comic["content_images"])
            .iter()
            .map(wp_image)
            .collect(),
        old: vec![
            path_of(text(&comic["permalink"])),
            path_of(text(&comic["shortlink"])),
        ],
    }
}

/// The leaf chapters (storylines) of a plugin's tree, in its order, that
/// hold at least one of `comics`.
fn chapters_used(
    tree: &[Value],
    comics: &[&Value],
    slug_of: impl Fn(&Value) -> Option<String>,
) -> Vec<String> {
    let used: BTreeSet<String> = comics.iter().filter_map(|c| slug_of(c)).collect();
    tree.iter()
        .map(|t| text(&t["slug"]).to_owned())
        .filter(|s| used.contains(s))
        .collect()
}

#[tokio::test]
async fn a_webcomic_site_moves_in_with_its_collections_storylines_transcripts_and_old_links() {
    let app = spawn_app().await;
    let want = expected("wordpress/webcomic/expected.json");
    let args = wordpress_args(&fixture("wordpress/webcomic"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = import(&app, &args);
    assert!(report.contains("Imported"), "{report}");
    app.state.content_changed().await;

    // One series per collection: the first is the primary series (at the
    // root), the others keep the slug of their addresses.
    let all = series(&app).await;
    let collections = list(&want["collections"]);
    assert_eq!(
        all.len(),
        collections.len(),
        "one series per collection: {all:?}"
    );
    for (s, c) in all.iter().zip(collections).skip(1) {
        assert_eq!(s.slug, text(&c["options"]["slug"]), "{all:?}");
    }

    let rows = pages(&app).await;
    for (s, collection) in all.iter().zip(collections) {
        let prefix = prefix(&all, s);
        let in_series: Vec<&PageRow> = rows.iter().filter(|r| r.series_id == s.id).collect();
        let comics = list(&collection["comics_in_reading_order"]);
        let wants: Vec<Want> = comics.iter().map(webcomic_want).collect();
        check_series(&app, &in_series, &prefix, &wants, true).await;
        let hidden: Vec<Hidden> = list(&collection["comics_not_public"])
            .iter()
            .map(wp_hidden)
            .collect();
        check_hidden(&app, &in_series, &prefix, &hidden).await;

        // Storylines: the leaves are chapters, in the plugin's order; each
        // storyline's old address leads to its chapter.
        let storylines = list(&collection["storylines_in_plugin_order"]);
        let every: Vec<&Value> = comics
            .iter()
            .chain(list(&collection["comics_not_public"]))
            .collect();
        let leaves: Vec<Value> = storylines
            .iter()
            .filter(|t| !storylines.iter().any(|c| c["parent"] == t["term_id"]))
            .cloned()
            .collect();
        let order = chapters_used(&leaves, &every, |c| {
            list(&c["storylines"])
                .first()
                .map(|s| text(&s["slug"]).to_owned())
        });
        assert_eq!(
            chapter_slugs(&app, s.id).await,
            order,
            "chapters of {prefix:?}"
        );
        for storyline in storylines
            .iter()
            .filter(|t| t["count"].as_i64().unwrap_or(0) > 0)
        {
            let from = path_of(text(&storyline["link"]));
            let to = format!("{prefix}/chapter/{}", text(&storyline["slug"]));
            assert_eq!(redirect_of(&app, &from).await, (301, to.clone()), "{from}");
            assert_eq!(app.get(&to).await.status(), 200, "{to}");
        }
        for character in list(&collection["characters_in_plugin_order"]) {
            let to = leads_somewhere(&app, &path_of(text(&character["link"]))).await;
            assert!(to.starts_with("/character/"), "{to}");
        }
        // The collection's archive and feed.
        leads_somewhere(&app, &path_of(text(&collection["archive"]))).await;
        let to = leads_somewhere(&app, &path_of(text(&collection["feed"]))).await;
        assert_eq!(to, format!("{prefix}/feed.xml"));
    }

    import_again(&app, &args, rows.len()).await;
}

#[tokio::test]
async fn a_toocheke_site_moves_in_with_its_series_chapters_texts_and_old_links() {
    let app = spawn_app().await;
    let want = expected("wordpress/toocheke/expected.json");
    let args = wordpress_args(&fixture("wordpress/toocheke"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = import(&app, &args);
    assert!(report.contains("Imported"), "{report}");
    app.state.content_changed().await;

    // Comics without a series are the primary series; each Toocheke series
    // is a series of its own, with its slug and title.
    let all = series(&app).await;
    let toocheke_series = list(&want["series"]);
    assert_eq!(all.len(), 1 + toocheke_series.len(), "{all:?}");
    let mut groups: Vec<(&SeriesRow, Vec<&Value>, Option<&Value>)> = vec![(
        &all[0],
        list(&want["comics_without_series_in_reading_order"])
            .iter()
            .collect(),
        None,
    )];
    for s in toocheke_series {
        let row = all
            .iter()
            .skip(1)
            .find(|r| r.slug == text(&s["slug"]))
            .unwrap_or_else(|| panic!("series {} in {all:?}", s["slug"]));
        assert_eq!(row.title, text(&s["title_text"]), "series title");
        assert_eq!(
            app.get(&format!("/series/{}", row.slug)).await.status(),
            200
        );
        groups.push((
            row,
            list(&s["comics_in_reading_order"]).iter().collect(),
            Some(s),
        ));
    }

    let rows = pages(&app).await;
    let not_public = list(&want["comics_not_public"]);
    for (s, comics, source) in &groups {
        let prefix = prefix(&all, s);
        let in_series: Vec<&PageRow> = rows.iter().filter(|r| r.series_id == s.id).collect();
        let wants: Vec<Want> = comics.iter().map(|c| toocheke_want(c)).collect();
        check_series(&app, &in_series, &prefix, &wants, true).await;
        let source_id = source.map(|s| s["id"].clone()).unwrap_or(Value::Null);
        let hidden: Vec<&Value> = not_public
            .iter()
            .filter(|c| c["series_id"] == source_id)
            .collect();
        check_hidden(
            &app,
            &in_series,
            &prefix,
            &hidden.iter().map(|c| wp_hidden(c)).collect::<Vec<_>>(),
        )
        .await;

        // Chapters, in the plugin's order (its exported chapter-order).
        let tree = list(&want["chapters_in_plugin_order"]);
        let leaves: Vec<Value> = tree
            .iter()
            .filter(|t| !tree.iter().any(|c| c["parent"] == t["term_id"]))
            .cloned()
            .collect();
        let every: Vec<&Value> = comics
            .iter()
            .copied()
            .chain(hidden.iter().copied())
            .collect();
        let order = chapters_used(&leaves, &every, |c| {
            c["chapter"].get("slug").map(|s| text(s).to_owned())
        });
        assert_eq!(
            chapter_slugs(&app, s.id).await,
            order,
            "chapters of {prefix:?}"
        );
    }

    // The plugin's navigation links (`/comic/<slug>/?sid=<series>`) lead to
    // the page they named, wherever its series now lives.
    let published: Vec<(&Value, String)> = groups
        .iter()
        .flat_map(|(s, comics, _)| {
            let prefix = prefix(&all, s);
            comics
                .iter()
                .map(move |c| (*c, format!("{prefix}/comic/{}", text(&c["slug"]))))
        })
        .collect();
    for (comic, _) in &published {
        for link in comic["nav"]
            .as_object()
            .expect("nav")
            .values()
            .filter_map(Value::as_str)
        {
            let from = path_of(link);
            let page_path = from.split('?').next().unwrap_or("");
            let (_, to) = published
                .iter()
                .find(|(c, _)| path_of(text(&c["permalink"])) == page_path)
                .unwrap_or_else(|| panic!("{link} names a published comic"));
            assert_eq!(redirect_of(&app, &from).await, (301, to.clone()), "{from}");
        }
    }
    // Chapter archives, the cast's pages and the comic feed.
    for chapter in list(&want["chapters_in_plugin_order"]) {
        if chapter["count"].as_i64().unwrap_or(0) == 0 {
            continue;
        }
        let to = leads_somewhere(&app, &path_of(text(&chapter["link"]))).await;
        assert!(
            to.ends_with(&format!("/chapter/{}", text(&chapter["slug"]))),
            "{to}"
        );
    }
    for character in list(&want["characters"]) {
        let to = leads_somewhere(&app, &path_of(text(&character["link"]))).await;
        assert!(to.starts_with("/character/"), "{to}");
    }
    let (status, to) = redirect_of(&app, &path_of(text(&want["site"]["comic_feed"]))).await;
    assert_eq!((status, to.as_str()), (301, "/feed.xml"));

    import_again(&app, &args, rows.len()).await;
}

// ---------------------------------------------------------------------------
// comic_git

#[tokio::test]
async fn a_comic_git_site_moves_in_with_its_storylines_alt_texts_and_old_urls() {
    let app = spawn_app().await;
    let root = fixture("comic_git");
    let content = root.join("your_content");
    let want = expected("comic_git/expected.json");
    let args = ["--from", "comic-git", content.to_str().expect("utf8")];
    let report = import(&app, &args);
    assert!(report.contains("Imported"), "{report}");
    app.state.content_changed().await;

    // Only the default language's transcript is carried over
    // (comic_info.ini `[Transcripts] Default language`).
    let info = std::fs::read_to_string(content.join("comic_info.ini")).expect("comic_info.ini");
    let language = info
        .lines()
        .find_map(|l| l.strip_prefix("Default language"))
        .map(|v| v.trim_start_matches([' ', '=']).trim().to_owned())
        .expect("a default language");
    // Images are served from <base_dir>/your_content/…: the fixture's files.
    let base = format!("{}/", text(&want["site"]["base_dir"]));
    let file_of = |src: &str| root.join(src.strip_prefix(base.as_str()).unwrap_or(src));

    let wants: Vec<Want> = list(&want["reading_order"])
        .iter()
        .map(|page| {
            let shown = list(&page["images"]);
            Want {
                slug: None,
                title: text(&page["title_shown"]).to_owned(),
                // The alt text is what the image's title="…" showed.
                hover: shown
                    .first()
                    .map(|i| text(&i["title"]).to_owned())
                    .unwrap_or_default(),
                hover_cut_at_quote: false,
                transcript: Transcript::Reads(
                    page["transcripts_html"]
                        .get(&language)
                        .map(|t| html_text(text(t)))
                        .unwrap_or_default(),
                ),
                chapter: page["storyline"]
                    .as_str()
                    .map(|s| vec![s.to_owned()])
                    .unwrap_or_default(),
                tags: list(&page["tags"])
                    .iter()
                    .map(|t| text(&t["tag"]).to_owned())
                    .collect(),
                characters: list(&page["characters"])
                    .iter()
                    .map(|c| text(&c["name"]).to_owned())
                    .collect(),
                images: shown
                    .iter()
                    .map(|i| Image {
                        size: Some(png_size(&file_of(text(&i["src"])))),
                        alt: None,
                    })
                    .collect(),
                old: vec![path_of(text(&page["url"]))],
            }
        })
        .collect();

    let all = series(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let rows = pages(&app).await;
    let in_series: Vec<&PageRow> = rows.iter().collect();
    check_series(&app, &in_series, "", &wants, false).await;

    // A page dated after today was never built: kept, not public. Its
    // folder name is a valid slug and stays its slug.
    let hidden: Vec<Hidden> = list(&want["scheduled_deleted"])
        .iter()
        .map(|name| {
            let info =
                std::fs::read_to_string(content.join("comics").join(text(name)).join("info.ini"))
                    .expect("info.ini");
            let title = info
                .lines()
                .find_map(|l| l.strip_prefix("Title"))
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_owned())
                .expect("a title");
            Hidden {
                slug: Some(text(name).to_owned()),
                title,
            }
        })
        .collect();
    assert_eq!(
        hidden.len() as i64,
        want["scheduled_post_count"].as_i64().expect("count")
    );
    check_hidden(&app, &in_series, "", &hidden).await;

    // Storylines are chapters in order of first appearance (the archive's
    // sections); "Uncategorized" is no chapter.
    let chapters: Vec<(DbText,)> =
        sqlx::query_as("SELECT title FROM chapters ORDER BY position, id")
            .fetch_all(app.db.pool())
            .await
            .expect("chapters");
    let storylines: Vec<String> = list(&want["reading_order"])
        .iter()
        .filter_map(|p| p["storyline"].as_str().map(str::to_owned))
        .fold(Vec::new(), |mut seen, s| {
            if !seen.contains(&s) {
                seen.push(s);
            }
            seen
        });
    assert_eq!(
        chapters.into_iter().map(|(t,)| t.0).collect::<Vec<_>>(),
        storylines
    );

    // /tagged/<name>/, the archive and the feed of the old site.
    for url in list(&want["tagged_pages"]) {
        let to = leads_somewhere(&app, &path_of(text(url))).await;
        assert!(
            to.starts_with("/tag/") || to.starts_with("/character/"),
            "{url} → {to}"
        );
    }
    let to = leads_somewhere(&app, &path_of(text(&want["archive"]["url"]))).await;
    assert_eq!(to, "/archive");
    let to = leads_somewhere(&app, &path_of(text(&want["feed"]["url"]))).await;
    assert_eq!(to, "/feed.xml");

    import_again(&app, &args, rows.len()).await;
}

// ---------------------------------------------------------------------------
// Rarebit

#[tokio::test]
async fn a_rarebit_site_moves_in_with_its_pages_in_array_order_and_its_pg_links() {
    let app = spawn_app().await;
    let dir = fixture("rarebit");
    let want = expected("rarebit/expected.json");
    let args = ["--from", "rarebit", dir.to_str().expect("utf8")];
    let report = import(&app, &args);
    assert!(report.contains("Imported"), "{report}");
    app.state.content_changed().await;

    // The archive's full list ("chrono") titles untitled pages "Page N";
    // the other sections that are not full lists are the chapters.
    let maxpg = want["settings"]["maxpg"].as_u64().expect("maxpg");
    let sections = list(&want["archive"]["sections"]);
    let numbers = |s: &Value| -> BTreeSet<u64> {
        list(&s["rows"])
            .iter()
            .filter_map(|r| text(&r["num"]).parse().ok())
            .collect()
    };
    let full: Vec<&Value> = sections
        .iter()
        .filter(|s| (1..=maxpg).all(|n| numbers(s).contains(&n)))
        .collect();
    let chapters: Vec<&Value> = sections
        .iter()
        .filter(|s| !full.iter().any(|f| std::ptr::eq(*f, *s)))
        .collect();
    let archive_title = |n: u64| -> String {
        list(&full[0]["rows"])
            .iter()
            .find(|r| text(&r["num"]) == n.to_string())
            .map(|r| html_text(text(&r["title_html"])))
            .unwrap_or_default()
    };
    // The page shows "N - title"; an untitled page is "Page N" as in the archive.
    let title_of = |page: &Value| -> String {
        let n = page["pg"].as_u64().expect("pg");
        let shown = text(&page["title_shown"]);
        match shown.split_once(" - ").map(|(_, t)| t) {
            Some(t) if !t.is_empty() => t.to_owned(),
            _ => archive_title(n),
        }
    };

    let wants: Vec<Want> = list(&want["reading_order"])
        .iter()
        .map(|page| {
            let n = page["pg"].as_u64().expect("pg");
            let shown = list(&page["images"]);
            let url = format!("/{}", text(&page["url"]));
            let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
            Want {
                slug: None,
                title: title_of(page),
                hover: shown
                    .first()
                    .map(|i| text(&i["title"]).to_owned())
                    .unwrap_or_default(),
                hover_cut_at_quote: true,
                transcript: Transcript::Is(String::new()),
                chapter: chapters
                    .iter()
                    .find(|s| numbers(s).contains(&n))
                    .map(|s| vec![text(&s["headings"][0]).to_owned()])
                    .unwrap_or_default(),
                tags: BTreeSet::new(),
                characters: BTreeSet::new(),
                images: shown
                    .iter()
                    .map(|i| Image {
                        size: Some(png_size(&dir.join(text(&i["src"])))),
                        alt: None,
                    })
                    .collect(),
                // index.html?pg=N, and the same page served as /?pg=N.
                old: vec![url.clone(), format!("/?{query}")],
            }
        })
        .collect();

    let all = series(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let rows = pages(&app).await;
    let in_series: Vec<&PageRow> = rows.iter().collect();
    check_series(&app, &in_series, "", &wants, false).await;

    // Pages past maxpg were reachable by ?pg= but never linked: drafts.
    let hidden: Vec<Hidden> = list(&want["beyond_maxpg"])
        .iter()
        .map(|page| Hidden {
            slug: None,
            title: title_of(page),
        })
        .collect();
    check_hidden(&app, &in_series, "", &hidden).await;

    // index.html without ?pg showed the newest page; archive.html.
    let (status, to) = redirect_of(
        &app,
        &format!("/{}", text(&want["index_without_pg_shows"]["url"])),
    )
    .await;
    assert_eq!((status, to.as_str()), (301, "/"));
    let to = leads_somewhere(&app, &format!("/{}", text(&want["archive"]["url"]))).await;
    assert_eq!(to, "/archive");

    import_again(&app, &args, rows.len()).await;
}
