//! Reading order is its own thing: dates never decide first/previous/next.

use halftone::comics::{self, PageId, SeriesId};

use crate::common::{html, page, select_attr, spawn_app, TestApp, WriteAs};

async fn nav(app: &TestApp, slug: &str) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let doc = html(&app.page(&format!("/comic/{slug}")).await);
    (
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-first", "href"),
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-prev", "href"),
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-next", "href"),
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-last", "href"),
    )
}

async fn page_id(app: &TestApp, slug: &str) -> PageId {
    sqlx::query_scalar("SELECT id FROM pages WHERE slug = ?")
        .bind(slug)
        .fetch_one(app.db.pool())
        .await
        .expect("id")
}

#[tokio::test]
async fn back_dated_pages_keep_their_place_in_the_reading_order() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    // Written in reading order, but with dates out of order: "b" claims to
    // be the oldest page, "c" the newest.
    let pages = vec![
        page(&app, "a", "A", None, now - 3000),
        page(&app, "b", "B", None, now - 99_999),
        page(&app, "c", "C", None, now - 10),
        page(&app, "d", "D", None, now - 2000),
    ];
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        pages,
    )
    .await;
    assert_eq!(
        nav(&app, "b").await,
        (
            vec!["/comic/a".into()],
            vec!["/comic/a".into()],
            vec!["/comic/c".into()],
            vec!["/comic/d".into()]
        )
    );
    // Home is the end of the story, not the most recent date.
    let home = html(&app.page("/").await);
    assert_eq!(
        select_attr(&home, "nav.comic-nav:first-of-type a.nav-prev", "href"),
        vec!["/comic/c"]
    );
}

#[tokio::test]
async fn reordering_pages_never_breaks_navigation() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    let pages = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, s)| page(&app, s, s, None, now - 100 + i as i64))
        .collect();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        pages,
    )
    .await;
    let series: SeriesId = sqlx::query_scalar("SELECT id FROM series")
        .fetch_one(app.db.pool())
        .await
        .expect("series");
    let d = page_id(&app, "d").await;
    let b = page_id(&app, "b").await;
    // Move "d" before "b": a, d, b, c.
    let mut tx = app.db.pool().begin().await.expect("tx");
    comics::pages::move_page(&mut tx, series, d, Some(b))
        .await
        .expect("move");
    tx.commit().await.expect("commit");

    let order = ["a", "d", "b", "c"];
    for (i, slug) in order.iter().enumerate() {
        let (first, prev, next, last) = nav(&app, slug).await;
        let link = |s: &str| vec![format!("/comic/{s}")];
        assert_eq!(
            first,
            if i == 0 { vec![] } else { link("a") },
            "first of {slug}"
        );
        assert_eq!(
            prev,
            if i == 0 { vec![] } else { link(order[i - 1]) },
            "prev of {slug}"
        );
        assert_eq!(
            next,
            if i == 3 { vec![] } else { link(order[i + 1]) },
            "next of {slug}"
        );
        assert_eq!(
            last,
            if i == 3 { vec![] } else { link("c") },
            "last of {slug}"
        );
    }
    let archive = html(&app.page("/archive").await);
    assert_eq!(
        select_attr(&archive, ".tiles a", "href"),
        order
            .iter()
            .map(|s| format!("/comic/{s}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn chapter_jumps_go_to_the_first_page_of_the_neighbouring_chapter() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    let pages = vec![
        page(&app, "a1", "A1", Some("one"), now - 60),
        page(&app, "a2", "A2", Some("one"), now - 50),
        page(&app, "b1", "B1", Some("two"), now - 40),
        page(&app, "b2", "B2", Some("two"), now - 30),
        page(&app, "c1", "C1", Some("three"), now - 20),
    ];
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        pages,
    )
    .await;
    let doc = html(&app.page("/comic/b2").await);
    assert_eq!(
        select_attr(&doc, ".chapter-nav a", "href"),
        vec!["/comic/a1", "/comic/c1"]
    );
    let doc = html(&app.page("/comic/a1").await);
    assert_eq!(
        select_attr(&doc, ".chapter-nav a", "href"),
        vec!["/comic/b1"]
    );
}

#[tokio::test]
async fn random_redirects_to_a_visible_page_and_is_not_cached() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![page(&app, "only", "Only", None, now - 5)],
    )
    .await;
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![page(&app, "later", "Later", None, now + 3600)],
    )
    .await;
    for _ in 0..10 {
        let response = app.get("/random").await;
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], "/comic/only");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
}
