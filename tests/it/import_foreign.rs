//! Moving in from another system: the real command imports the fixtures
//! the real systems made (tests/fixtures/), and every page's order,
//! chapter, texts and images are checked against what the source system
//! itself showed (`expected.json`), and every old address against its
//! redirect. SQLite and MariaDB.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use halftone::db::DbText;

use crate::common::{halftone_command, spawn_app, TestApp};

pub(super) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub(super) fn expected(rel: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(rel)).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

pub(super) fn import(app: &TestApp, args: &[&str]) -> String {
    let output = halftone_command(app)
        .arg("import")
        .args(args)
        .output()
        .expect("halftone import");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "import failed:\n{text}");
    text
}

/// WordPress shows texturized text (’ “ ” – …); Halftone keeps what the
/// author typed. Compare the two modulo that.
pub(super) fn untexturize(s: &str) -> String {
    s.replace(['’', '‘'], "'")
        .replace(['“', '”', '″'], "\"")
        .replace('…', "...")
        .replace("&#8217;", "'")
}

/// The path (and query) of an old site's URL, as a browser requests it
/// (percent-encoded).
/// The path and query of an old site's URL (absolute, or already a path),
/// escaped as a browser sends it.
pub(super) fn path_of(url: &str) -> String {
    let base = url::Url::parse("http://old.invalid/").expect("base");
    let url = base.join(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

struct PageRow {
    slug: String,
    title: String,
    status: String,
    live_at: Option<i64>,
    hover: String,
    transcript: String,
    chapter: Option<String>,
    volume: Option<String>,
}

async fn pages(app: &TestApp) -> Vec<PageRow> {
    type Row = (
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
        "SELECT p.slug, p.title, p.status, p.live_at, p.hover_text, p.transcript, c.title, v.title \
         FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id \
         LEFT JOIN volumes v ON v.id = c.volume_id ORDER BY p.position, p.id",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("pages");
    rows.into_iter()
        .map(
            |(slug, title, status, live_at, hover, transcript, chapter, volume)| PageRow {
                slug: slug.0,
                title: title.0,
                status: status.0,
                live_at,
                hover: hover.0,
                transcript: transcript.0,
                chapter: chapter.map(|c| c.0),
                volume: volume.map(|v| v.0),
            },
        )
        .collect()
}

async fn names(app: &TestApp, slug: &str, table: &str, link: &str, key: &str) -> BTreeSet<String> {
    let sql = format!(
        "SELECT t.name FROM {table} t JOIN {link} l ON l.{key} = t.id JOIN pages p ON p.id = l.page_id \
         WHERE p.slug = ?"
    );
    let rows: Vec<(DbText,)> = sqlx::query_as(&sql)
        .bind(slug)
        .fetch_all(app.db.pool())
        .await
        .expect("names");
    rows.into_iter().map(|(n,)| n.0).collect()
}

async fn image_sizes(app: &TestApp, slug: &str) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT m.width, m.height FROM page_images i JOIN media m ON m.id = i.media_id \
         JOIN pages p ON p.id = i.page_id WHERE p.slug = ? ORDER BY i.position",
    )
    .bind(slug)
    .fetch_all(app.db.pool())
    .await
    .expect("images")
}

pub(super) async fn redirect_of(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, location)
}

#[tokio::test]
async fn a_comic_easel_site_moves_in_with_its_order_texts_images_and_old_links() {
    let app = spawn_app().await;
    let dir = fixture("wordpress/comic-easel");
    let export = dir.join("export.xml");
    let uploads = dir.join("uploads");
    let want = expected("wordpress/comic-easel/expected.json");

    // A dry run reports the plan and writes nothing.
    let plan = import(
        &app,
        &[
            "--from",
            "wordpress",
            export.to_str().expect("utf8"),
            "--uploads",
            uploads.to_str().expect("utf8"),
            "--dry-run",
        ],
    );
    assert!(plan.contains("Would import"), "{plan}");
    assert!(pages(&app).await.is_empty(), "a dry run writes nothing");

    let started = std::time::Instant::now();
    let report = import(
        &app,
        &[
            "--from",
            "wordpress",
            export.to_str().expect("utf8"),
            "--uploads",
            uploads.to_str().expect("utf8"),
        ],
    );
    let took = started.elapsed();
    assert!(report.contains("Imported"), "{report}");
    app.state.content_changed().await;

    let rows = pages(&app).await;
    let now = halftone::db::now();
    let live: Vec<&PageRow> = rows
        .iter()
        .filter(|r| r.status == "published" && r.live_at.is_some_and(|t| t <= now))
        .collect();
    let comics = want["comics_in_reading_order"].as_array().expect("comics");
    assert_eq!(
        live.iter().map(|r| r.slug.as_str()).collect::<Vec<_>>(),
        comics
            .iter()
            .map(|c| c["slug"].as_str().expect("slug"))
            .collect::<Vec<_>>(),
        "reading order as Comic Easel shows it"
    );
    for comic in comics {
        let slug = comic["slug"].as_str().expect("slug");
        let row = live.iter().find(|r| r.slug == slug).expect("imported");
        assert_eq!(
            untexturize(&row.title),
            untexturize(comic["title_text"].as_str().expect("title")),
            "{slug}"
        );
        assert_eq!(
            row.hover,
            comic["hovertext_text"].as_str().unwrap_or(""),
            "{slug} hover"
        );
        assert_eq!(
            row.transcript,
            comic["transcript_text"].as_str().unwrap_or(""),
            "{slug} transcript"
        );
        let path: Vec<&str> = comic["chapter_path"]
            .as_array()
            .map(|p| p.iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default();
        match path.as_slice() {
            [] => assert_eq!(row.chapter, None, "{slug} has no chapter"),
            [chapter] => {
                assert_eq!(row.chapter.as_deref(), Some(*chapter), "{slug}");
            }
            [volume, .., chapter] => {
                assert_eq!(row.chapter.as_deref(), Some(*chapter), "{slug}");
                assert_eq!(row.volume.as_deref(), Some(*volume), "{slug}");
            }
        }
        let tags: BTreeSet<String> = comic["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            names(&app, slug, "tags", "page_tags", "tag_id").await,
            tags,
            "{slug} tags"
        );
        let cast: BTreeSet<String> = comic["characters"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            names(&app, slug, "characters", "page_characters", "character_id").await,
            cast,
            "{slug} cast"
        );
        // The original upload, not one of WordPress's resized copies.
        let sizes = image_sizes(&app, slug).await;
        let image = &comic["image"];
        assert_eq!(
            sizes.first().copied(),
            Some((
                image["width"].as_i64().expect("w"),
                image["height"].as_i64().expect("h")
            )),
            "{slug} image"
        );
        let extra = comic["body_images"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(
            sizes.len(),
            1 + extra,
            "{slug}: the comic and each image in its text"
        );
        // The page itself and its old addresses.
        assert_eq!(
            app.get(&format!("/comic/{slug}")).await.status(),
            200,
            "{slug}"
        );
        for old in ["permalink", "shortlink"] {
            let from = path_of(comic[old].as_str().expect("url"));
            let (status, to) = redirect_of(&app, &from).await;
            assert_eq!(
                (status, to.as_str()),
                (301, format!("/comic/{slug}").as_str()),
                "{from}"
            );
        }
    }
    // Drafts, private and scheduled comics are not public, and are kept.
    for comic in want["comics_not_public"].as_array().expect("not public") {
        let slug = comic["slug"].as_str().expect("slug");
        let row = rows
            .iter()
            .find(|r| r.slug == slug)
            .unwrap_or_else(|| panic!("{slug} kept"));
        assert!(
            row.status == "draft" || row.live_at.is_some_and(|t| t > now),
            "{slug} is not public: {} {:?}",
            row.status,
            row.live_at
        );
        assert_eq!(
            app.get(&format!("/comic/{slug}")).await.status(),
            404,
            "{slug}"
        );
        // Its old address does not tell the slug of a page readers cannot
        // see (`/?p=ID` shows the home page, as for any unknown id).
        let (status, to) = redirect_of(
            &app,
            &path_of(comic["shortlink"].as_str().expect("shortlink")),
        )
        .await;
        assert_ne!(status, 301, "{slug} → {to}");
        assert!(!to.contains(slug), "{slug} → {to}");
    }
    // The series is named as on the old site, not "My Comic".
    let (title,): (DbText,) = sqlx::query_as("SELECT title FROM series ORDER BY position LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .expect("series");
    assert_ne!(title.0, "My Comic");
    // Chapter archives and feeds of the old site lead to ours.
    for chapter in want["chapters_in_plugin_order"]
        .as_array()
        .expect("chapters")
    {
        let count = chapter["count"].as_i64().unwrap_or(0);
        if count == 0 {
            continue;
        }
        let (status, to) =
            redirect_of(&app, &path_of(chapter["link"].as_str().expect("link"))).await;
        assert_eq!(status, 301, "{chapter}");
        assert!(to.starts_with("/chapter/"), "{to}");
        assert_eq!(app.get(&to).await.status(), 200, "{to}");
    }
    let (status, to) = redirect_of(
        &app,
        &path_of(want["site"]["comic_feed"].as_str().expect("feed")),
    )
    .await;
    assert_eq!((status, to.as_str()), (301, "/feed.xml"));

    // Readers' comments came along under their pages, threads and statuses
    // kept: approved ones shown (a reply under its thread), the pending one
    // in the moderation queue, the blog post's reported as not carried over.
    assert!(
        report.contains("5 readers' comments")
            && report.contains("1 comments on blog posts and pages"),
        "{report}"
    );
    let page = crate::common::html(&app.page("/comic/page-1-arrival").await);
    assert_eq!(
        crate::common::select_text(&page, ".comment-threads > li > .comment .comment-body"),
        vec!["Great start! Can't wait for more."]
    );
    assert_eq!(
        crate::common::select_text(&page, ".comment-replies .comment-body"),
        vec!["Thanks! Next page on Friday."]
    );
    let cafe = app.page("/comic/cafe-quotes").await;
    assert!(
        cafe.contains("Zoë") && !cafe.contains("&lt;b&gt;bold&lt;"),
        "{cafe}"
    );
    let pending: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT c.author_name, c.parent_id FROM comments c WHERE c.status = 'pending'",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0, "Reader Two");
    assert!(
        pending[0].1.is_some(),
        "a reply to a reply hangs under the thread"
    );

    // The admin sees the redirects.
    let owner = app.owner().await;
    let list = owner.page("/admin/redirects").await;
    assert!(
        list.contains("/?p=") && list.contains("/comic/"),
        "the redirect list"
    );

    // Running it again adds nothing.
    let again = import(
        &app,
        &[
            "--from",
            "wordpress",
            export.to_str().expect("utf8"),
            "--uploads",
            uploads.to_str().expect("utf8"),
        ],
    );
    assert_eq!(pages(&app).await.len(), rows.len(), "{again}");
    assert!(again.contains("imported before"), "{again}");
    assert!(again.contains(" 0 readers' comments"), "{again}");
    eprintln!(
        "comic-easel fixture: {} pages imported in {:.2} s",
        rows.len(),
        took.as_secs_f64()
    );
}

#[tokio::test]
async fn a_wordpress_import_without_uploads_names_every_missing_image() {
    let app = spawn_app().await;
    let export = fixture("wordpress/comic-easel/export.xml");
    let plan = import(
        &app,
        &[
            "--from",
            "wordpress",
            export.to_str().expect("utf8"),
            "--dry-run",
        ],
    );
    assert!(plan.contains("Missing images"), "{plan}");
    assert!(plan.contains("2024/03/page-01.png"), "{plan}");
}

#[tokio::test]
async fn redirects_are_managed_in_the_admin_and_never_hide_a_page() {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 2, 1).await;
    let owner = app.owner().await;
    let slug: (DbText,) = sqlx::query_as("SELECT slug FROM pages ORDER BY position LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .expect("a page");
    let to = format!("/comic/{}", slug.0 .0);
    let added = owner
        .post(
            "/admin/redirects",
            &[("from", "/old/page-one.html"), ("to", &to)],
        )
        .await;
    assert!(owner.follow(added).await.contains("now leads to"));
    assert_eq!(
        redirect_of(&app, "/old/page-one.html").await,
        (301, to.clone())
    );
    assert_eq!(
        redirect_of(&app, "/old/page-one.html/").await,
        (301, to.clone())
    );
    // A redirect from an address the site answers itself never wins.
    let r = owner
        .post("/admin/redirects", &[("from", "/archive"), ("to", &to)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get("/archive").await.status(), 200);
    // Bad input is refused with a reason.
    let bad = owner
        .post(
            "/admin/redirects",
            &[("from", "https://evil.example/"), ("to", &to)],
        )
        .await;
    assert!(owner
        .follow(bad)
        .await
        .contains("must be paths on this site"));
    // An address too long to keep once escaped is refused with a reason,
    // not a database error.
    let long = format!("/{}", "é".repeat(200));
    let too_long = owner
        .post("/admin/redirects", &[("from", &long), ("to", &to)])
        .await;
    assert!(owner.follow(too_long).await.contains("too long"));
    let own = owner
        .post("/admin/redirects", &[("from", &to), ("to", &to)])
        .await;
    assert!(owner.follow(own).await.contains("cannot lead to itself"));
    // Removing one ends it.
    let id: (i64,) =
        sqlx::query_as("SELECT id FROM redirects WHERE from_path = '/old/page-one.html'")
            .fetch_one(app.db.pool())
            .await
            .expect("row");
    let removed = owner
        .post(&format!("/admin/redirects/{}/delete", id.0), &[])
        .await;
    assert!(owner.follow(removed).await.contains("Redirect removed"));
    assert_eq!(app.get("/old/page-one.html").await.status(), 404);
}

/// A MariaDB database holding another system's dump (ComicControl,
/// Grawlix), loaded with the `mariadb` client; dropped at the end.
struct SourceDb {
    server: String,
    name: String,
}

impl SourceDb {
    fn load(dump: &Path) -> Option<SourceDb> {
        let server = std::env::var("HALFTONE_TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("mysql"))
            .unwrap_or_else(|| "mysql://root@127.0.0.1:3306".to_owned())
            .trim_end_matches('/')
            .to_owned();
        let name = format!(
            "halftone_src_{}",
            std::process::id() as u64 * 1000 + rand_u16() as u64
        );
        let client = |sql: Option<&str>| {
            let mut c = std::process::Command::new("mariadb");
            c.args(["--protocol=tcp", "-h127.0.0.1", "-P3306", "-uroot"]);
            if let Some(sql) = sql {
                c.args(["-e", sql]);
            }
            c
        };
        let created = client(Some(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
        )))
        .status();
        if !created.is_ok_and(|s| s.success()) {
            eprintln!("no MariaDB client or server here: the source-database import test skips");
            return None;
        }
        let mut load = client(None);
        load.arg(&name)
            .stdin(std::fs::File::open(dump).expect("dump"));
        assert!(load.status().expect("mariadb").success(), "the dump loads");
        Some(SourceDb { server, name })
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for SourceDb {
    fn drop(&mut self) {
        let _ = std::process::Command::new("mariadb")
            .args(["--protocol=tcp", "-h127.0.0.1", "-P3306", "-uroot", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .status();
    }
}

fn rand_u16() -> u16 {
    use rand::Rng;
    rand::rng().random()
}

/// Both PHP systems: public pages in their order with their titles and
/// chapters, the scheduled page kept but hidden, every page's old address
/// answering 301 to it, and a second run adding nothing.
async fn moves_in_from_a_database(system: &str, dir: &str) {
    let want = expected(&format!("{dir}/expected.json"));
    let Some(source) = SourceDb::load(&fixture(dir).join("fixture.sql")) else {
        return;
    };
    let app = spawn_app().await;
    let files = fixture(dir);
    let args = [
        "--from",
        system,
        &source.url(),
        "--uploads",
        files.to_str().expect("utf8"),
    ];
    let report = import(&app, &args);
    assert!(report.contains("Imported"), "{report}");
    app.state.content_changed().await;
    let rows = pages(&app).await;
    let now = halftone::db::now();
    let live: Vec<&PageRow> = rows
        .iter()
        .filter(|r| r.status == "published" && r.live_at.is_some_and(|t| t <= now))
        .collect();
    let order = want["reading_order"].as_array().expect("order");
    let public: Vec<&serde_json::Value> = order
        .iter()
        .filter(|p| p["scheduled"] != true && p["http_status"].as_i64().unwrap_or(200) == 200)
        .collect();
    assert_eq!(live.len(), public.len(), "{report}");
    for (row, page) in live.iter().zip(&public) {
        let shown = page["title_shown"]
            .as_str()
            .or_else(|| page["shown"]["title_shown"].as_str())
            .expect("title");
        assert_eq!(
            row.title, shown,
            "{} in the order {system} showed",
            row.slug
        );
        let chapter = page["chapter"]
            .as_str()
            .map(halftone::import::foreign::plain_text);
        if let Some(chapter) = chapter {
            let scene = page["scene"].as_str();
            let ours = [row.chapter.clone(), row.volume.clone()];
            assert!(
                ours.iter().flatten().any(|c| *c == chapter) || scene.is_some(),
                "{}: chapter {chapter:?}, ours {ours:?}",
                row.slug
            );
        }
        assert!(
            !image_sizes(&app, &row.slug).await.is_empty(),
            "{} has its image",
            row.slug
        );
        // Its old address leads to it (a ComicControl page with an empty
        // slug had none: its URL showed the newest page).
        if page["slug"] == "" {
            continue;
        }
        let old = page["url"]
            .as_str()
            .or_else(|| page["url_path"].as_str())
            .map(path_of)
            .expect("old url");
        let (status, to) = redirect_of(&app, &old).await;
        if !(status == 200 && old == format!("/comic/{}", row.slug)) {
            assert_eq!(
                (status, to.clone()),
                (301, format!("/comic/{}", row.slug)),
                "{old}"
            );
        }
    }
    // The scheduled page exists, hidden until its time.
    assert!(rows
        .iter()
        .any(|r| r.status == "published" && r.live_at.is_some_and(|t| t > now)));
    let again = import(&app, &args);
    assert_eq!(pages(&app).await.len(), rows.len(), "{again}");
}

#[tokio::test]
async fn a_comiccontrol_site_moves_in_from_its_database() {
    moves_in_from_a_database("comiccontrol", "comiccontrol").await;
}

#[tokio::test]
async fn a_grawlix_site_moves_in_from_its_database() {
    moves_in_from_a_database("grawlix", "grawlix").await;
}

/// An import whose write fails (here the database refuses new pages)
/// leaves no page, no media row and no media file behind.
#[tokio::test]
async fn a_failed_import_leaves_no_media_behind() {
    let app = spawn_app().await;
    let refuse = match crate::common::test_backend() {
        halftone::config::Backend::Sqlite => {
            "CREATE TRIGGER refuse_pages BEFORE INSERT ON pages BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        }
        halftone::config::Backend::MySql => {
            "CREATE TRIGGER refuse_pages BEFORE INSERT ON pages FOR EACH ROW \
             SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'"
        }
    };
    sqlx::query(refuse)
        .execute(app.db.pool())
        .await
        .expect("trigger");
    let dir = fixture("wordpress/comic-easel");
    let output = halftone_command(&app)
        .args(["import", "--from", "wordpress"])
        .arg(dir.join("export.xml"))
        .arg("--uploads")
        .arg(dir.join("uploads"))
        .output()
        .expect("import");
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "the import fails");
    assert!(text.contains("refused by the test"), "{text}");
    assert!(pages(&app).await.is_empty());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(rows, 0);
    let media = app.data_dir.path().join("media");
    let files = walk_files(&media);
    assert!(files.is_empty(), "left behind: {files:?}");
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk_files(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
