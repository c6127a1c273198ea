//! Backups as a cartoonist relies on them: `halftone backup` while the site
//! is edited, `halftone restore` into a new site (same engine and across
//! engines), damaged and cut-short archives refused, retention, the admin's
//! page, the scheduled backup done by one node, and `export` → `import`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use halftone::config::Backend;
use sha2::{Digest, Sha256};

use crate::common::{
    halftone_bin, halftone_command, html, page, seed_pages, select_attr, spawn_app, spawn_app_with,
    test_backend, TestApp,
};

/// A site that is not running yet: a data folder and, on MariaDB, its own
/// database (dropped at the end).
struct Site {
    dir: tempfile::TempDir,
    url: Option<String>,
}

impl Site {
    fn new(backend: Backend) -> Site {
        let dir = tempfile::tempdir().expect("dir");
        let url = match backend {
            Backend::Sqlite => None,
            Backend::MySql => {
                let server = std::env::var("HALFTONE_TEST_DATABASE_URL")
                    .expect("a MariaDB server")
                    .trim_end_matches('/')
                    .to_owned();
                let name = format!(
                    "halftone_restore_{}",
                    &halftone::tokens::random_token()[..10].to_ascii_lowercase()
                )
                .replace('-', "_");
                Some(format!("{server}/{name}"))
            }
        };
        Site { dir, url }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(halftone_bin());
        c.current_dir(self.dir.path())
            .env("HALFTONE_DATA_DIR", self.dir.path())
            .env("HALFTONE_LOG", "warn")
            .env_remove("HALFTONE_DATABASE_URL");
        if let Some(url) = &self.url {
            c.env("HALFTONE_DATABASE_URL", url);
        }
        c
    }

    async fn serve(&self) -> TestApp {
        let dir = self.dir.path().to_owned();
        let url = self.url.clone();
        spawn_app_with(move |c| {
            c.data_dir = dir;
            c.database_url = url.map(Into::into);
        })
        .await
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(url) = self.url.clone() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    use sqlx::migrate::MigrateDatabase;
                    sqlx::any::install_default_drivers();
                    sqlx::Any::drop_database(&url).await.ok()
                })
            })
            .join();
        }
    }
}

fn run(mut command: Command, args: &[&str]) -> (bool, String) {
    let out = command.args(args).output().expect("run halftone");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "tar"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn backup(app: &TestApp, to: &Path) -> PathBuf {
    let (ok, text) = run(
        halftone_command(app),
        &["backup", "--to", to.to_str().expect("utf8")],
    );
    assert!(ok, "backup failed:\n{text}");
    assert!(text.contains("Backed up to"), "{text}");
    archives(to).pop().expect("an archive")
}

/// A site with everything a backup must keep: the demo comic (chapters,
/// cast, tags, transcripts, static pages), a subscriber, a revision, an
/// account, settings.
async fn rich_site() -> TestApp {
    let app = spawn_app().await;
    let (ok, text) = run(halftone_command(&app), &["demo"]);
    assert!(ok, "{text}");
    let now = halftone::db::now();
    app.exec(
        "INSERT INTO subscribers (email, status, created_at, confirmed_at) VALUES ('reader@example.com', 'confirmed', ?, ?)",
        &[now, now],
    )
    .await;
    app.exec(
        "INSERT INTO page_revisions (page_id, revision, data, created_at) \
         SELECT MIN(id), 7, '{\"title\":\"draft\"}', ? FROM pages",
        &[now],
    )
    .await;
    app.exec(
        "INSERT INTO settings (name, value) VALUES ('test.kept', 'Kept in every copy')",
        &[],
    )
    .await;
    app
}

/// Every table's rows, as the backup writes them (the history of backups
/// and leases aside: they change by backing up).
async fn tables(db: &halftone::db::Db) -> BTreeMap<String, String> {
    let mut conn = db.pool().acquire().await.expect("conn");
    let mut out = BTreeMap::new();
    for table in halftone::backup::dump::tables(&mut conn)
        .await
        .expect("tables")
    {
        if table == "backups" || table == "leases" {
            continue;
        }
        let mut bytes = Vec::new();
        halftone::backup::dump::write_table(&mut conn, &table, &mut bytes)
            .await
            .expect("dump");
        // A site with no owner yet makes a new set-up code each time it
        // starts: not data.
        let rows: String = String::from_utf8(bytes)
            .expect("utf8")
            .lines()
            .filter(|l| !l.starts_with("[\"setup.code\""))
            .map(|l| format!("{l}\n"))
            .collect();
        out.insert(table, rows);
    }
    out
}

/// Equal tables, or the first differing row of the first differing table.
fn assert_same_tables(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: the same tables"
    );
    for (table, rows) in a {
        let other = &b[table];
        for (i, (x, y)) in rows.lines().zip(other.lines()).enumerate() {
            assert_eq!(x, y, "{what}: {table} line {i} differs");
        }
        assert_eq!(
            rows.lines().count(),
            other.lines().count(),
            "{what}: {table} has a different number of rows"
        );
    }
}

fn media_checksums(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir(dir) {
        let rel = entry
            .strip_prefix(dir)
            .expect("rel")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&entry).expect("read");
        out.insert(rel, hex::encode(Sha256::digest(&bytes)));
    }
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else if !e.file_name().to_string_lossy().starts_with('.') {
            out.push(p);
        }
    }
    out
}

/// What a reader gets from every page of the site: the paths linked from
/// the home page, archive, cast and feeds, each body (with the site's own
/// address taken out), and every image's bytes.
async fn reader_view(app: &TestApp) -> BTreeMap<String, String> {
    let mut paths: Vec<String> = [
        "/",
        "/archive",
        "/cast",
        "/feed.xml",
        "/atom.xml",
        "/feed.json",
        "/sitemap.xml",
        "/robots.txt",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let archive = app.page("/archive").await;
    let doc = html(&archive);
    for href in select_attr(&doc, "a[href]", "href") {
        if href.starts_with('/') && !href.starts_with("//") && !paths.contains(&href) {
            paths.push(href);
        }
    }
    let mut out = BTreeMap::new();
    let origin = app.address.clone();
    let mut images = Vec::new();
    for path in &paths {
        let (status, body) = app.get_text(path).await;
        // Absolute addresses, and the fediverse handle's domain, name the
        // app's own port, which differs between the two sites compared.
        let body = body
            .replace(&origin, "ORIGIN")
            .replace(origin.trim_start_matches("http://"), "ORIGIN");
        if path.starts_with("/comic/") {
            let doc = html(&body);
            images.extend(
                select_attr(&doc, "img[src]", "src")
                    .into_iter()
                    .filter(|s| s.starts_with("/media/")),
            );
        }
        out.insert(path.clone(), format!("{status}\n{body}"));
    }
    assert!(images.len() > 10, "the comic has images: {images:?}");
    for src in images {
        let bytes = app.get(&src).await.bytes().await.expect("image");
        out.insert(src, hex::encode(Sha256::digest(&bytes)));
    }
    out
}

fn assert_same_view(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same pages"
    );
    for (path, body) in a {
        if !path.starts_with("/media/") {
            assert!(
                body.starts_with("200\n"),
                "{path} answers: {}",
                &body[..body.len().min(200)]
            );
        }
        let other = &b[path];
        for (i, (x, y)) in body.lines().zip(other.lines()).enumerate() {
            assert_eq!(x, y, "{path} differs after restore at line {i}");
        }
        assert_eq!(
            body.lines().count(),
            other.lines().count(),
            "{path}: length differs"
        );
    }
}

/// Backs up while pages are being published, restores into a new site:
/// the snapshot holds whole pages only (each with its images and texts);
/// a second backup of the quiet site restores to a site whose every
/// reader page, feed and image, and every table (revisions, subscribers,
/// settings, accounts…), is identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_publishing_then_restore_gives_the_same_site() {
    let app = rich_site().await;
    let out = tempfile::tempdir().expect("dir");

    // Publish pages, one transaction each, during the backup.
    let writer = {
        let db = app.db.clone();
        let pages: Vec<_> = (0..400)
            .map(|i| {
                page(
                    &app,
                    &format!("live-{i:03}"),
                    &format!("Live {i}"),
                    None,
                    halftone::db::now() - 60,
                )
            })
            .collect();
        tokio::spawn(async move {
            let mut written = 0;
            for p in pages {
                let target = halftone::import::Target {
                    series: None,
                    publish: true,
                    backfill: false,
                };
                halftone::import::write_pages(&db, &target, vec![p])
                    .await
                    .expect("publish during backup");
                written += 1;
            }
            written
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let during = {
        let out = out.path().to_owned();
        let cmd = halftone_command(&app);
        tokio::task::spawn_blocking(move || {
            let (ok, text) = run(cmd, &["backup", "--to", out.to_str().expect("utf8")]);
            assert!(ok, "backup during writes failed:\n{text}");
            archives(&out).pop().expect("archive")
        })
        .await
        .expect("join")
    };
    let written = writer.await.expect("writer");
    assert_eq!(written, 400);

    // The snapshot of a moving site is consistent: restore it and check
    // that every page it has is whole and served.
    let target = Site::new(test_backend());
    let (ok, text) = run(
        target.command(),
        &["restore", during.to_str().expect("utf8")],
    );
    assert!(ok, "restore failed:\n{text}");
    let restored = target.serve().await;
    let live: Vec<(String, i64)> = sqlx::query_as(
        "SELECT p.slug, (SELECT COUNT(*) FROM page_images i WHERE i.page_id = p.id) \
         FROM pages p WHERE p.slug LIKE 'live-%' ORDER BY p.slug",
    )
    .fetch_all(restored.db.pool())
    .await
    .expect("pages");
    for (k, (slug, images)) in live.iter().enumerate() {
        assert_eq!(
            slug,
            &format!("live-{k:03}"),
            "a prefix of the pages written"
        );
        assert_eq!(*images, 1, "{slug} kept its image");
    }
    tracing::info!(pages = live.len(), "pages published before the snapshot");
    let last = live.last().map(|(s, _)| s.clone()).unwrap_or_default();
    if !last.is_empty() {
        let (status, _) = restored.get_text(&format!("/comic/{last}")).await;
        assert_eq!(status, 200);
    }
    restored.stop().await;

    // The quiet site, backed up and restored: identical for readers and in
    // every table; its media files byte for byte.
    let quiet = backup(&app, out.path());
    let (ok, text) = run(
        halftone_command(&app),
        &["backup", "--verify", quiet.to_str().expect("utf8")],
    );
    assert!(ok && text.contains("every checksum matches"), "{text}");
    let copy = Site::new(test_backend());
    let (ok, text) = run(copy.command(), &["restore", quiet.to_str().expect("utf8")]);
    assert!(ok, "{text}");
    let copy_app = copy.serve().await;
    assert_same_tables(
        &tables(&app.db).await,
        &tables(&copy_app.db).await,
        "restored",
    );
    assert_eq!(
        media_checksums(&app.config.media_dir()),
        media_checksums(&copy_app.config.media_dir())
    );
    assert_same_view(&reader_view(&app).await, &reader_view(&copy_app).await);
}

/// SQLite → MariaDB → SQLite: the way to move a site between engines.
/// Every row and file comes back the same, and both engines serve the same
/// pages. (Runs once, in the MariaDB run: it needs both engines.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_moves_from_sqlite_to_mariadb_and_back() {
    if test_backend() != Backend::MySql {
        return;
    }
    let original = Site::new(Backend::Sqlite);
    let (ok, text) = run(original.command(), &["demo"]);
    assert!(ok, "{text}");
    let out = tempfile::tempdir().expect("dir");
    let to = out.path().to_str().expect("utf8");
    let (ok, text) = run(original.command(), &["backup", "--to", to]);
    assert!(ok, "{text}");
    let first = archives(out.path()).pop().expect("archive");

    let maria = Site::new(Backend::MySql);
    let (ok, text) = run(maria.command(), &["restore", first.to_str().expect("utf8")]);
    assert!(ok, "into MariaDB:\n{text}");
    let out2 = tempfile::tempdir().expect("dir");
    let (ok, text) = run(
        maria.command(),
        &["backup", "--to", out2.path().to_str().expect("utf8")],
    );
    assert!(ok, "{text}");
    let second = archives(out2.path()).pop().expect("archive");

    let back = Site::new(Backend::Sqlite);
    let (ok, text) = run(back.command(), &["restore", second.to_str().expect("utf8")]);
    assert!(ok, "back into SQLite:\n{text}");

    let a = original.serve().await;
    let m = maria.serve().await;
    let b = back.serve().await;
    assert_same_tables(
        &tables(&a.db).await,
        &tables(&b.db).await,
        "SQLite → MariaDB → SQLite",
    );
    assert_eq!(
        media_checksums(&a.config.media_dir()),
        media_checksums(&b.config.media_dir())
    );
    let view = reader_view(&a).await;
    assert_same_view(&view, &reader_view(&m).await);
    assert_same_view(&view, &reader_view(&b).await);
}

/// A backup killed with SIGKILL at any moment leaves nothing that passes
/// for a backup: no archive under its real name, and the partial file does
/// not verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backup_leaves_no_archive_that_verifies() {
    let app = rich_site().await;
    seed_pages(&app, 300, 5).await;
    let out = tempfile::tempdir().expect("dir");
    let mut partials_seen = 0;
    for delay_ms in [5u64, 20, 40, 80, 150] {
        let mut child = halftone_command(&app)
            .args(["backup", "--to", out.path().to_str().expect("utf8")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        for entry in std::fs::read_dir(out.path()).expect("dir").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let (ok, text) = run(
                halftone_command(&app),
                &["backup", "--verify", path.to_str().expect("utf8")],
            );
            if name.ends_with(".partial") {
                partials_seen += 1;
                assert!(!ok, "a partial archive verified: {name}");
                assert!(
                    text.contains("did not finish") || text.contains("cut short"),
                    "{text}"
                );
                std::fs::remove_file(&path).expect("rm");
            } else {
                // Finished before the kill: then it is whole.
                assert!(ok, "{name} has its real name but does not verify:\n{text}");
                std::fs::remove_file(&path).expect("rm");
            }
        }
    }
    assert!(partials_seen > 0, "no kill landed mid-backup");
}

/// A truncated or damaged archive is refused by --verify and by restore,
/// which leaves the target untouched; an archive from a newer Halftone is
/// refused with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_cut_short_and_newer_archives_are_refused() {
    let app = rich_site().await;
    let out = tempfile::tempdir().expect("dir");
    let good = backup(&app, out.path());
    let bytes = std::fs::read(&good).expect("read");

    let cut = out.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let mut flipped = bytes.clone();
    // A byte inside a media file's data (past the database dump).
    let at = bytes.len() * 3 / 4;
    flipped[at] ^= 0x55;
    let damaged = out.path().join("damaged.tar");
    std::fs::write(&damaged, &flipped).expect("write");

    let newer = out.path().join("newer.tar");
    {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let checked = halftone::backup::archive::read(
            &good,
            |_| true,
            |name, bytes| {
                files.push((name.to_owned(), bytes));
                Ok(())
            },
            |_| {},
        )
        .expect("read good archive");
        let mut writer = halftone::backup::archive::Writer::create(&newer).expect("writer");
        for (name, bytes) in &files {
            writer.add(name, bytes).expect("add");
        }
        let mut manifest = checked.manifest;
        manifest.schema_version = 99_991_231_000_000;
        manifest.halftone_version = "9.0.0".into();
        writer.finish(manifest).expect("finish");
    }

    for (archive, expect) in [
        (&cut, "cut short"),
        (&damaged, "damaged"),
        (&newer, "newer Halftone"),
    ] {
        let path = archive.to_str().expect("utf8");
        let (ok, text) = run(halftone_command(&app), &["backup", "--verify", path]);
        assert!(!ok, "{path} verified");
        assert!(text.contains(expect), "--verify {path}: {text}");
        let target = Site::new(test_backend());
        let (ok, text) = run(target.command(), &["restore", path]);
        assert!(!ok, "{path} restored");
        assert!(text.contains(expect), "restore {path}: {text}");
        // Nothing half-restored: no pages, no media.
        assert!(
            media_checksums(&target.dir.path().join("media")).is_empty(),
            "media written from a refused archive"
        );
        let site = target.serve().await;
        let pages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
            .fetch_one(site.db.pool())
            .await
            .expect("count");
        assert_eq!(pages, 0, "rows restored from a refused archive");
    }
}

/// A site with content is only replaced with --force, and then a safety
/// backup of it comes first; a running site is never restored under.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_replaces_a_site_only_when_forced_after_a_safety_copy() {
    let app = rich_site().await;
    let out = tempfile::tempdir().expect("dir");
    let archive = backup(&app, out.path());
    let path = archive.to_str().expect("utf8");

    // The running app holds its data folder.
    let (ok, text) = run(halftone_command(&app), &["restore", "--force", path]);
    assert!(!ok && text.contains("stop it first"), "{text}");

    let target = Site::new(test_backend());
    let (ok, text) = run(target.command(), &["demo"]);
    assert!(ok, "{text}");
    let (ok, text) = run(target.command(), &["restore", path]);
    assert!(!ok, "restored over a site with content");
    assert!(
        text.contains("not empty") && text.contains("--force"),
        "{text}"
    );

    let (ok, text) = run(target.command(), &["restore", "--force", path]);
    assert!(ok, "{text}");
    assert!(text.contains("saved in"), "{text}");
    let safety = archives(&target.dir.path().join("backups"));
    assert_eq!(safety.len(), 1, "one safety backup");
    assert!(
        safety[0]
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("before-restore-")),
        "{safety:?}"
    );
    let (ok, text) = run(
        target.command(),
        &["backup", "--verify", safety[0].to_str().expect("utf8")],
    );
    assert!(ok, "the safety backup verifies: {text}");
    let restored = target.serve().await;
    assert_same_tables(
        &tables(&app.db).await,
        &tables(&restored.db).await,
        "forced",
    );
}

/// Retention from the command: archives named by day are pruned to the
/// newest per day for `keep_daily` days once the new one verified; other
/// files are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_archives_after_a_verified_backup() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 0).await;
    let out = tempfile::tempdir().expect("dir");
    let today = chrono::Utc::now().date_naive();
    let mut old = Vec::new();
    for days in 1..=10 {
        for hour in ["030000", "150000"] {
            let day = today - chrono::Duration::days(days);
            let name = format!("halftone-{}-{hour}.tar", day.format("%Y%m%d"));
            std::fs::write(out.path().join(&name), b"old").expect("write");
            old.push(name);
        }
    }
    std::fs::write(out.path().join("before-restore-20200101-000000.tar"), b"x").expect("w");
    std::fs::write(out.path().join("notes.txt"), b"mine").expect("w");
    let (ok, text) = run(
        {
            let mut c = halftone_command(&app);
            c.env("HALFTONE_BACKUP__KEEP_DAILY", "4");
            c
        },
        &["backup", "--to", out.path().to_str().expect("utf8")],
    );
    assert!(ok, "{text}");
    let mut left: Vec<String> = std::fs::read_dir(out.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let newest_of = |days: i64| {
        format!(
            "halftone-{}-150000.tar",
            (today - chrono::Duration::days(days)).format("%Y%m%d")
        )
    };
    // Today's new archive and the newest of the three days before.
    let expected_old = [newest_of(1), newest_of(2), newest_of(3)];
    for name in &expected_old {
        assert!(left.contains(name), "{name} kept: {left:?}");
    }
    assert_eq!(
        left.iter().filter(|n| n.starts_with("halftone-")).count(),
        4,
        "{left:?}"
    );
    assert!(left.contains(&"before-restore-20200101-000000.tar".to_owned()));
    assert!(left.contains(&"notes.txt".to_owned()));
}

/// `export` writes the importer's format; importing it into a new site
/// gives the same reading order, chapters, texts and images.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_gives_the_same_comic() {
    let app = rich_site().await;
    let out = tempfile::tempdir().expect("dir");
    let dir = out.path().join("export");
    let (ok, text) = run(
        halftone_command(&app),
        &["export", dir.to_str().expect("utf8")],
    );
    assert!(ok, "{text}");
    assert!(dir.join("README.txt").is_file());
    let series: String = sqlx::query_scalar("SELECT slug FROM series ORDER BY position LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .expect("series");

    let fresh = spawn_app().await;
    let (ok, text) = run(
        halftone_command(&fresh),
        &[
            "import",
            dir.join(&series).to_str().expect("utf8"),
            "--series",
            &series,
            "--undated",
            "none",
        ],
    );
    assert!(ok, "{text}");

    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<i64>,
    );
    let q = "SELECT p.slug, p.title, p.hover_text, p.transcript, p.notes, c.title, p.published_at \
             FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id \
             WHERE p.status = 'published' ORDER BY p.position, p.id";
    use halftone::db::DbText;
    type DbRow = (
        DbText,
        DbText,
        DbText,
        DbText,
        DbText,
        Option<DbText>,
        Option<i64>,
    );
    let text_of = |rows: Vec<DbRow>| -> Vec<Row> {
        rows.into_iter()
            .map(|r| {
                (
                    r.0 .0,
                    r.1 .0,
                    r.2 .0,
                    r.3 .0,
                    r.4 .0,
                    r.5.map(|t| t.0),
                    r.6,
                )
            })
            .collect()
    };
    let before = text_of(sqlx::query_as(q).fetch_all(app.db.pool()).await.expect("a"));
    let after = text_of(
        sqlx::query_as(q)
            .fetch_all(fresh.db.pool())
            .await
            .expect("b"),
    );
    assert!(before.len() > 10);
    assert_eq!(
        before, after,
        "reading order, titles, texts, chapters and dates"
    );

    let images = "SELECT p.slug, i.position, i.alt_text, m.width, m.height FROM page_images i \
                  JOIN pages p ON p.id = i.page_id JOIN media m ON m.id = i.media_id \
                  ORDER BY p.slug, i.position";
    type Img = (halftone::db::DbText, i64, halftone::db::DbText, i64, i64);
    let a: Vec<Img> = sqlx::query_as(images)
        .fetch_all(app.db.pool())
        .await
        .expect("a");
    let b: Vec<Img> = sqlx::query_as(images)
        .fetch_all(fresh.db.pool())
        .await
        .expect("b");
    let norm = |v: Vec<Img>| -> Vec<(String, i64, String, i64)> {
        v.into_iter()
            .map(|(s, p, alt, w, _h)| (s.0, p, alt.0, w.min(1600)))
            .collect()
    };
    assert_eq!(norm(a), norm(b), "every image, in order, with its alt text");
}

/// The admin shows the backups and starts one with the button; the
/// dashboard warns when there is no recent verified backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_backs_up_from_the_admin() {
    let out = tempfile::tempdir().expect("dir");
    let dir = out.path().to_owned();
    let app = spawn_app_with(move |c| c.backup.dir = Some(dir)).await;
    seed_pages(&app, 3, 0).await;
    let admin = app.owner().await;
    let dashboard = admin.page("/admin").await;
    assert!(dashboard.contains("never been backed up"), "{dashboard}");

    let page = admin.page("/admin/backups").await;
    assert!(page.contains("Back up now"), "{page}");
    let response = admin.post("/admin/backups", &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    let mut verified = false;
    for _ in 0..100 {
        let page = admin.page("/admin/backups").await;
        if page.contains("verified") && !page.contains("Backing up") {
            verified = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(verified, "the backup finished and verified");
    assert_eq!(archives(out.path()).len(), 1);
    let dashboard = admin.page("/admin").await;
    assert!(
        !dashboard.contains("Backups:"),
        "no warning after a fresh backup"
    );

    // A backup that fails (its folder is a file) is reported.
    let broken = out.path().join("not-a-folder");
    std::fs::write(&broken, b"x").expect("write");
    let dir = broken.clone();
    let app2 = spawn_app_with(move |c| c.backup.dir = Some(dir)).await;
    seed_pages(&app2, 2, 0).await;
    let admin2 = app2.owner().await;
    admin2.post("/admin/backups", &[]).await;
    let mut failed = false;
    for _ in 0..100 {
        let dashboard = admin2.page("/admin").await;
        if dashboard.contains("The last backup") && dashboard.contains("failed") {
            failed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(failed, "the dashboard names the failed backup");
}

/// Two nodes with a daily time that has passed: exactly one makes the
/// (missed) scheduled backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_makes_the_scheduled_backup() {
    let out = tempfile::tempdir().expect("dir");
    let dir = out.path().to_owned();
    let app = spawn_app_with(move |c| {
        c.backup.dir = Some(dir);
        c.backup.daily_at = Some("00:00".into());
    })
    .await;
    let second = app.second_node().await;
    let mut done = 0i64;
    for _ in 0..150 {
        done = sqlx::query_scalar(
            "SELECT COUNT(*) FROM backups WHERE kind = 'schedule' AND verified = 1",
        )
        .fetch_one(app.db.pool())
        .await
        .expect("count");
        if done > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done, 1, "the scheduled backup ran");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backups WHERE kind = 'schedule'")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(attempts, 1, "one node backed up, once");
    assert_eq!(archives(out.path()).len(), 1);
    drop(second);
}

/// A backup onto a full disk fails with a clear error, leaves no file
/// behind (not even its partial one) and is recorded as failed. Needs a
/// small tmpfs (root, as on CI); elsewhere it says so and stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_clearly_and_leaves_nothing() {
    let app = rich_site().await;
    let mount = tempfile::tempdir().expect("dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a small tmpfs here (needs root): skipped");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.path().to_owned());
    let (ok, text) = run(
        halftone_command(&app),
        &["backup", "--to", mount.path().to_str().expect("utf8")],
    );
    assert!(!ok, "a backup onto a full disk succeeded:\n{text}");
    assert!(
        text.contains("No space left on device"),
        "the error names the cause:\n{text}"
    );
    let left: Vec<_> = std::fs::read_dir(mount.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    let failed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM backups WHERE verified = 0 AND error IS NOT NULL")
            .fetch_one(app.db.pool())
            .await
            .expect("count");
    assert_eq!(failed, 1, "the failure is in the history for the admin");
}
