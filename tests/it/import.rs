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
    let options = Options {
        series: None,
        publish: true,
        dry_run: false,
        progress: false,
    };
    import::run(&app.config, &app.db, dir, &options)
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
        series: None,
        publish: true,
        dry_run: true,
        progress: false,
    };
    let report = import::run(&app.config, &app.db, dir.path(), &options)
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
        dry_run: false,
        progress: false,
    };
    let report = import::run(&app.config, &app.db, dir.path(), &options)
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
