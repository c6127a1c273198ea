//! The in-memory catalog answers what the database would: a comic page's
//! navigation, its latest page and which slugs are visible come from memory
//! (`comics::catalog`), so they are checked here against the SQL that the
//! admin's preview still runs, page by page, on both databases.

use halftone::comics::catalog::Catalog;
use halftone::comics::{self, PageId, SeriesId};

use crate::common::{page, seed_pages, spawn_app, WriteAs};

fn nav_tuple(n: comics::Navigation) -> [Option<String>; 6] {
    [
        n.first_slug,
        n.prev_slug,
        n.next_slug,
        n.last_slug,
        n.prev_chapter_slug,
        n.next_chapter_slug,
    ]
}

#[tokio::test]
async fn the_catalog_navigates_like_the_database_around_drafts_and_scheduled_pages() {
    let app = spawn_app().await;
    // 24 pages over 4 chapters, then a second series, then a few pages with
    // no chapter at the end.
    seed_pages(&app, 24, 4).await;
    let now = halftone::db::now();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![
            page(&app, "loose-1", "Loose 1", None, now - 50),
            page(&app, "loose-2", "Loose 2", None, now - 40),
        ],
    )
    .await;
    let db = app.db.pool();
    let exec = |sql: &'static str| async move {
        sqlx::query(sql).execute(db).await.expect(sql);
    };
    // Chapter c2 becomes wholly scheduled (its jump must be skipped), one
    // page of c3 is a draft, the first page is scheduled, and c4 is moved
    // before c1 in chapter order while its pages keep their places.
    exec("UPDATE pages SET live_at = live_at + 10000000 WHERE chapter_id = (SELECT id FROM chapters WHERE slug = 'c2')").await;
    exec("UPDATE pages SET status = 'draft' WHERE slug = 'p14'").await;
    exec("UPDATE pages SET live_at = live_at + 10000000 WHERE slug = 'p1'").await;
    exec("UPDATE chapters SET position = -1 WHERE slug = 'c4'").await;
    exec("UPDATE pages SET position = position + 1000 WHERE slug = 'loose-1'").await;

    let catalog = Catalog::load(&app.db).await.expect("catalog");
    let ids: Vec<PageId> = sqlx::query_scalar("SELECT id FROM pages ORDER BY id")
        .fetch_all(db)
        .await
        .expect("ids");
    assert!(ids.len() >= 26);
    let now = halftone::db::now();
    let mut compared = 0;
    for id in ids {
        let page = comics::pages::by_id_any(&app.db, id)
            .await
            .expect("page")
            .expect("exists");
        let from_db = comics::pages::navigation(&app.db, &page, now)
            .await
            .expect("navigation");
        assert_eq!(
            nav_tuple(catalog.navigation(&page, now)),
            nav_tuple(from_db),
            "navigation around {} ({}, visible: {})",
            page.slug,
            page.status,
            page.visible_at(now)
        );
        // Visible by slug exactly when the database's rule says so.
        assert_eq!(
            catalog
                .by_slug(page.series_id, &page.slug, now)
                .map(|p| p.page.id),
            page.visible_at(now).then_some(page.id),
            "{}",
            page.slug
        );
        compared += 1;
    }
    assert!(compared >= 26);
    // The latest page is the last visible one in reading order.
    let series: SeriesId = sqlx::query_scalar("SELECT series_id FROM pages WHERE slug = 'p2'")
        .fetch_one(db)
        .await
        .expect("series");
    let latest: String = sqlx::query_scalar(
        "SELECT slug FROM pages WHERE series_id = ? AND status = 'published' AND live_at <= ? \
         ORDER BY position DESC, id DESC LIMIT 1",
    )
    .bind(series)
    .bind(now)
    .fetch_one(db)
    .await
    .expect("latest");
    assert_eq!(
        catalog.latest(series, now).map(|p| p.page.slug.clone()),
        Some(latest)
    );
    // A scheduled page joins at its time without a reload.
    let p1_live: i64 = sqlx::query_scalar("SELECT live_at FROM pages WHERE slug = 'p1'")
        .fetch_one(db)
        .await
        .expect("p1");
    assert!(catalog.by_slug(series, "p1", now).is_none());
    assert!(catalog.by_slug(series, "p1", p1_live).is_some());
    // Drafts are not in it at all.
    assert!(catalog.by_slug(series, "p14", i64::MAX).is_none());
}

#[tokio::test]
async fn a_published_page_shows_at_once_and_its_neighbours_link_to_it() {
    let app = spawn_app().await;
    seed_pages(&app, 5, 1).await;
    // Warm the catalog and the pages.
    assert!(app.page("/comic/p5").await.contains("Page 5"));
    let now = halftone::db::now();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![page(&app, "p6", "Page 6", Some("c1"), now)],
    )
    .await;
    // What the admin does after any publish: tell every node.
    app.state.services.content_changed().await;
    assert!(app.page("/comic/p6").await.contains("Page 6"));
    let p5 = app.page("/comic/p5").await;
    assert!(p5.contains("/comic/p6"), "p5 links to its new next page");
    assert!(app.page("/").await.contains("Page 6"));
}
