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
