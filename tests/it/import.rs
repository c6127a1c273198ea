//! `halftone import`: real files on disk, good, broken and hostile.

use std::path::Path;

use halftone::import::{self, Options};

use crate::common::{html, png_bytes, select_attr, select_text, spawn_app, write_file, TestApp};

/// A PNG header claiming 100,000 × 100,000 pixels: a decompression bomb.
fn bomb() -> Vec<u8> {
    let mut bytes = png_bytes(1, 1, 0);
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    bytes
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 200) as u8, (y % 200) as u8, 90])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("jpeg");
    out
}

fn archive_folder(dir: &Path) {
    write_file(dir, "0001.png", &png_bytes(300, 420, 1));
    write_file(dir, "0001.toml", b"title = \"The Very First\"\ntranscript = \"Hello.\"\ntags = [\"Origins\"]\ncharacters = [\"Ada\"]\nalt = \"Ada waves.\"\n");
    write_file(dir, "0002.png", &png_bytes(300, 420, 2));
    // A long page in two slices.
    write_file(dir, "0003_1.png", &png_bytes(300, 420, 3));
    write_file(dir, "0003_2.png", &png_bytes(300, 420, 4));
    // Broken and hostile files.
    write_file(dir, "0004.png", b"this is not a png at all");
    write_file(dir, "0005.png", &bomb());
    // One good slice, one truncated: the whole page must be skipped.
    write_file(dir, "0006_1.png", &png_bytes(300, 420, 5));
    let mut truncated = png_bytes(300, 420, 6);
    truncated.truncate(200);
    write_file(dir, "0006_2.png", &truncated);
    // Chapter folders with dated names; files the importer must ignore.
    write_file(dir, "ch02/2010-05-03-into-the-woods.jpg", &jpeg(400, 560));
    write_file(dir, "ch02/2010-05-10-the-clearing.jpg", &jpeg(400, 560));
    write_file(
        dir,
        "ch02/chapter.toml",
        b"title = \"The Woods\"\ndescription = \"Trees.\"\n",
    );
    write_file(dir, "ch10/1.png", &png_bytes(200, 280, 7));
    write_file(dir, "ch10/2.png", &png_bytes(200, 280, 8));
    write_file(dir, "notes.txt", b"not an image");
    write_file(dir, ".hidden.png", &png_bytes(10, 10, 9));
}

async fn run_import(app: &TestApp, dir: &Path) -> import::Report {
    let options = Options::default();
    import::run(&app.config, Some(&app.db), dir, &options)
        .await
        .expect("import runs")
}

#[tokio::test]
async fn an_archive_folder_becomes_ordered_pages_and_chapters() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    archive_folder(dir.path());
    let report = run_import(&app, dir.path()).await;

    assert_eq!(report.imported, 7, "{report}");
    let failed: Vec<String> = report
        .failures
        .iter()
        .map(|(p, _)| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(failed.len(), 3, "{report}");
    for name in ["0004.png", "0005.png", "0006_2.png"] {
        assert!(
            failed.contains(&name.to_owned()),
            "{name} should be reported: {report}"
        );
    }
    assert!(
        report.to_string().contains("0005.png: the image is"),
        "{report}"
    );

    let archive = html(&app.page("/archive").await);
    assert_eq!(
        select_attr(&archive, ".tiles a", "href"),
        vec![
            "/comic/0001",
            "/comic/0002",
            "/comic/0003",
            "/comic/2010-05-03-into-the-woods",
            "/comic/2010-05-10-the-clearing",
            "/comic/ch10-1",
            "/comic/ch10-2",
        ]
    );
    assert_eq!(
        select_text(&archive, ".chapter-title > a:first-child"),
        vec!["The Woods", "Chapter 10"]
    );
    // The sidecar's words arrive; slices make one page of two images.
    let first = html(&app.page("/comic/0001").await);
    assert_eq!(
        select_text(&first, ".comic-header h1"),
        vec!["The Very First"]
    );
    assert_eq!(
        select_attr(&first, ".comic-images img", "alt"),
        vec!["Ada waves."]
    );
    assert_eq!(
        select_attr(&first, ".labels a", "href"),
        vec!["/character/ada", "/tag/origins"]
    );
    let sliced = html(&app.page("/comic/0003").await);
    assert_eq!(select_attr(&sliced, ".comic-images img", "src").len(), 2);
    let dated = html(&app.page("/comic/2010-05-03-into-the-woods").await);
    assert_eq!(
        select_text(&dated, ".comic-header h1"),
        vec!["Into the woods"]
    );
    assert_eq!(
        select_attr(&dated, ".comic-date time", "datetime"),
        vec!["2010-05-03T00:00:00Z"]
    );
    // Nothing of the skipped page exists.
    assert_eq!(app.get("/comic/0006").await.status(), 404);
}

#[tokio::test]
async fn importing_the_same_folder_twice_adds_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    archive_folder(dir.path());
    run_import(&app, dir.path()).await;
    let again = run_import(&app, dir.path()).await;
    assert_eq!(again.imported, 0, "{again}");
    assert_eq!(again.already_there, 7, "{again}");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(count, 7);
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    archive_folder(dir.path());
    let options = Options {
        dry_run: true,
        ..Options::default()
    };
    let report = import::run(&app.config, Some(&app.db), dir.path(), &options)
        .await
        .expect("dry run");
    assert!(report.to_string().starts_with("Would import"));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn import_can_target_a_new_series_as_drafts() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    write_file(dir.path(), "01.png", &png_bytes(100, 140, 1));
    let options = Options {
        series: Some("sketches".into()),
        publish: false,
        ..Options::default()
    };
    let report = import::run(&app.config, Some(&app.db), dir.path(), &options)
        .await
        .expect("import");
    assert_eq!(report.imported, 1);
    // Drafts are not public.
    assert_eq!(app.get("/series/sketches/comic/01").await.status(), 404);
    let status: String = sqlx::query_scalar("SELECT status FROM pages")
        .fetch_one(app.db.pool())
        .await
        .expect("status");
    assert_eq!(status, "draft");
}

/// The first-day folder: three chapters, sidecars, one with a typo.
fn first_day_folder(dir: &Path, typo: bool) {
    let mut seed = 0u8;
    for (chapter, pages) in [("ch01", 4), ("ch02", 4), ("ch03", 3)] {
        for n in 1..=pages {
            seed += 1;
            // Distinct pictures: identical files would be one media item.
            write_file(
                dir,
                &format!("{chapter}/{n:04}.png"),
                &png_bytes(120 + u32::from(seed), 160, seed),
            );
        }
    }
    let key = if typo { "charaters" } else { "characters" };
    write_file(
        dir,
        "ch02/0002.toml",
        format!("title = \"The Storm\"\n{key} = [\"Ada\"]\n").as_bytes(),
    );
}

async fn reading_order(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT slug FROM pages ORDER BY position, id")
        .fetch_all(app.db.pool())
        .await
        .expect("order")
}

#[tokio::test]
async fn a_page_fixed_and_imported_again_takes_its_place_among_its_neighbours() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    first_day_folder(dir.path(), true);
    let first = run_import(&app, dir.path()).await;
    assert_eq!(first.imported, 10, "{first}");
    assert_eq!(first.failures.len(), 1, "{first}");
    let message = &first.failures[0].1;
    assert!(
        message.starts_with("line 2: unknown key `charaters` (did you mean `characters`?)"),
        "{message}"
    );
    assert!(first.failures[0].0.ends_with("ch02/0002.toml"));
    let before = reading_order(&app).await;

    // The author fixes the typo and runs the same import again.
    first_day_folder(dir.path(), false);
    let again = run_import(&app, dir.path()).await;
    assert_eq!(again.imported, 1, "{again}");
    assert_eq!(again.already_there, 10, "{again}");
    assert_eq!(
        again.images, 1,
        "only the new page's image is processed: {again}"
    );
    assert!(
        again
            .undated
            .as_deref()
            .is_some_and(|n| n.contains("without a date")),
        "judged with its siblings: {again}"
    );
    assert!(
        again
            .to_string()
            .starts_with("Imported 1 page (1 image processed"),
        "{again}"
    );
    let after = reading_order(&app).await;
    let fixed = after
        .iter()
        .position(|s| s == "ch02-0002")
        .expect("imported");
    assert_eq!(after[fixed - 1], "ch02-0001");
    assert_eq!(after[fixed + 1], "ch02-0003");
    let mut without: Vec<String> = after.clone();
    without.remove(fixed);
    assert_eq!(without, before, "no existing page moved");
    // The latest page is still the last page of the last chapter.
    let home = app.page("/").await;
    assert!(home.contains("Page 3"), "the home page is ch03's last page");
    assert!(!home.contains("The Storm"));
}

#[tokio::test]
async fn a_dry_run_plans_exactly_what_the_run_does_and_writes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    first_day_folder(dir.path(), true);
    write_file(dir.path(), "ch03/0004.png", b"not an image");
    let dry = import::run(
        &app.config,
        Some(&app.db),
        dir.path(),
        &Options {
            dry_run: true,
            ..Options::default()
        },
    )
    .await
    .expect("dry run");
    assert_eq!(reading_order(&app).await.len(), 0, "nothing written");
    let real = run_import(&app, dir.path()).await;
    assert_eq!(
        (dry.imported, dry.chapters_created, dry.failures.len()),
        (real.imported, real.chapters_created, real.failures.len()),
        "dry: {dry}\nreal: {real}"
    );
    assert_eq!((real.imported, real.chapters_created), (10, 3));

    // Without a database at all, a dry run creates none.
    let data = tempfile::tempdir().expect("data");
    let output = crate::common::halftone_command(&app)
        .env_remove("HALFTONE_DATABASE_URL")
        .env("HALFTONE_DATA_DIR", data.path())
        .args(["import", "--dry-run"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Would import 10 pages"), "{stdout}");
    assert!(stdout.contains("3 new chapters"), "{stdout}");
    assert!(
        std::fs::read_dir(data.path())
            .expect("dir")
            .next()
            .is_none(),
        "the dry run created files in an empty data folder"
    );
}

#[tokio::test]
async fn undated_pages_say_no_date_rather_than_the_import_date() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    // Files written just now, like a copy: their times say nothing.
    for n in 1..=3 {
        write_file(dir.path(), &format!("{n:03}.png"), &png_bytes(100, 140, n));
    }
    let report = run_import(&app, dir.path()).await;
    assert_eq!(report.imported, 3);
    assert!(
        report
            .undated
            .as_deref()
            .is_some_and(|n| n.contains("shown without a date")),
        "{report}"
    );
    let shown: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT published_at FROM pages ORDER BY position")
            .fetch_all(app.db.pool())
            .await
            .expect("dates");
    assert_eq!(shown, vec![None, None, None]);
    let page = app.page("/comic/001").await;
    assert!(!page.contains("<time"), "no date on the page");
    // Feeds still list them, newest (last in reading order) first.
    let feed = app.page("/feed.xml").await;
    let first = feed.find("/comic/003").expect("003 in feed");
    let last = feed.find("/comic/001").expect("001 in feed");
    assert!(first < last, "feed order follows reading order");

    // Files with their own, different times are dated by them.
    let dated = tempfile::tempdir().expect("dir");
    for (n, days_ago) in [(1u8, 30u64), (2, 20)] {
        let path = dated.path().join(format!("s{n}.png"));
        std::fs::write(&path, png_bytes(100, 140, n + 10)).expect("write");
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(days_ago * 86_400);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open")
            .set_modified(when)
            .expect("mtime");
    }
    let report = import::run(
        &app.config,
        Some(&app.db),
        dated.path(),
        &Options {
            series: Some("sketches".into()),
            ..Options::default()
        },
    )
    .await
    .expect("import");
    assert!(
        report
            .undated
            .as_deref()
            .is_some_and(|n| n.contains("modification times")),
        "{report}"
    );
    let times: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT p.published_at FROM pages p JOIN series s ON s.id = p.series_id WHERE s.slug = 'sketches' ORDER BY p.position",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("dates");
    let now = halftone::db::now();
    assert!(
        times
            .iter()
            .all(|t| t.is_some_and(|t| t < now - 19 * 86_400)),
        "{times:?}"
    );
}
