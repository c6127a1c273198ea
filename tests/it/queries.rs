//! Pages run a fixed number of queries however large the archive (no N+1).

use crate::common::{seed_pages, TestApp, WriteAs};

const ROUTES: &[&str] = &[
    "/",
    "/comic/p5",
    "/archive",
    "/chapter/c1",
    "/feed.xml",
    "/atom.xml",
    "/feed.json",
    "/chapter/c1/feed.xml",
    "/sitemap.xml",
    "/cast",
    "/tag/sea",
    "/character/pip",
];

/// The most queries a reader page may run, once what every page shares is
/// loaded (the site data and the catalog, each reloaded only after a change):
/// a comic page runs one (its comments); lists and feeds a few.
const COMIC_PAGE_MAX: u32 = 1;
const OTHER_PAGE_MAX: u32 = 8;

async fn counts(app: &TestApp) -> Vec<(&'static str, u32)> {
    // The first request after a change loads what pages share.
    for route in ROUTES {
        app.queries_for(route).await;
    }
    let mut out = Vec::new();
    for route in ROUTES {
        out.push((*route, app.queries_for(route).await));
    }
    out
}

#[tokio::test]
async fn query_count_is_the_same_for_10_and_2000_pages() {
    // Counting what a render costs: the cache would hide it. The site data
    // memo (settings, series, menu) lives for the page TTL: a long one, so a
    // slow machine does not see it expire mid-count and reload it.
    let app = crate::common::spawn_app_with(|c| {
        c.cache.enabled = false;
        c.cache.ttl_ms = 600_000;
    })
    .await;
    seed_pages(&app, 10, 2).await;
    let small = counts(&app).await;
    for (route, n) in &small {
        let max = if *route == "/" || route.starts_with("/comic/") {
            COMIC_PAGE_MAX
        } else {
            OTHER_PAGE_MAX
        };
        assert!(
            *n > 0 && *n <= max,
            "{route} runs {n} queries (at most {max})"
        );
    }

    // Grow the archive to 2,000 pages (same chapters) and ask again.
    let now = halftone::db::now();
    let more = (11..=2000)
        .map(|i| {
            let chapter = if i % 2 == 0 { "c1" } else { "c2" };
            crate::common::page(
                &app,
                &format!("p{i}"),
                &format!("Page {i}"),
                Some(chapter),
                now - 86_400 + i as i64,
            )
        })
        .collect();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        more,
    )
    .await;
    // What a publish does: every node reloads what pages share.
    app.state.services.content_changed().await;
    let large = counts(&app).await;
    assert_eq!(small, large, "query counts must not grow with the archive");

    // And the archive really lists them all.
    let archive = app.page("/archive").await;
    assert_eq!(archive.matches("class=\"tile-title\"").count(), 2000);
}
