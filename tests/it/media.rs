//! Serving processed media: immutable caching and strict paths.

use crate::common::{html, seed_pages, select_attr, spawn_app};

#[tokio::test]
async fn media_is_cached_forever_and_revalidates() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let doc = html(&app.page("/").await);
    let src = select_attr(&doc, ".comic-images img", "src")[0].clone();
    let response = app.get(&src).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let etag = response.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url(&src))
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 304);
    // WebP variants and thumbnails are there too.
    let srcset = &select_attr(&doc, ".comic-images source", "srcset")[0];
    let webp = srcset.split(' ').next().expect("a url");
    let response = app.get(webp).await;
    assert_eq!(response.headers()["content-type"], "image/webp");
}

#[tokio::test]
async fn media_paths_that_are_not_ours_are_refused() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    for path in [
        "/media/../halftone.db",
        "/media/ab/..%2F..%2Fhalftone.db",
        "/media/zz/zz.webp",
        "/media/ab/abcdef.webp",
        "/media/00/00000000000000000000000000000000-800.webp",
        "/media/00/00000000000000000000000000000000-800.exe",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

/// A tiny PNG that declares `width`×`height` (a decompression bomb), with a
/// valid header checksum as a real one has.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = crate::common::png_bytes(1, 1, 0);
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

async fn upload(admin: &crate::common::admin::Admin, name: &str, bytes: Vec<u8>) -> (u16, String) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let response = admin
        .client
        .post(admin.url("/admin/media"))
        .header("x-csrf-token", &admin.csrf)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    let json: serde_json::Value = response.json().await.expect("json");
    (status, json["error"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn bombs_report_their_declared_size_and_cut_off_jpegs_are_refused() {
    let app = spawn_app().await;
    let admin = app.owner().await;
    let (status, error) = upload(&admin, "bomb.png", png_bomb(16_000, 10_000)).await;
    assert_eq!(status, 422);
    assert!(
        error.contains("16000×10000"),
        "the declared size, not 0×0: {error}"
    );
    let img = image::RgbImage::from_fn(400, 300, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&img)
        .expect("jpeg");
    let (status, _) = upload(&admin, "whole.jpg", jpeg.clone()).await;
    assert_eq!(status, 201, "a whole JPEG is fine");
    jpeg.truncate(jpeg.len() / 2);
    let (status, error) = upload(&admin, "cut.jpg", jpeg).await;
    assert_eq!(
        status, 422,
        "a cut-off JPEG must not be published grey-filled"
    );
    assert!(error.contains("cut off"), "{error}");
}
