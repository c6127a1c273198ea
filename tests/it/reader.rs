//! The reader's pages: welcome, home, comic page, archive, chapter, cast,
//! tags, static pages, errors, multiple series.

use crate::common::{html, page, seed_pages, select_attr, select_text, spawn_app, WriteAs};

#[tokio::test]
async fn an_empty_site_shows_how_to_add_content() {
    let app = spawn_app().await;
    let body = app.page("/").await;
    assert!(body.contains("halftone demo"), "{body}");
    assert!(body.contains("halftone import"));
    assert!(body.contains("/admin"));
    // Other pages of an empty site are friendly 404s, not errors.
    let (status, body) = app.get_text("/archive").await;
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"));
}

#[tokio::test]
async fn home_shows_the_latest_page_with_everything_readers_expect() {
    let app = spawn_app().await;
    seed_pages(&app, 5, 2).await;
    let doc = html(&app.page("/").await);
    assert_eq!(select_text(&doc, ".comic-header h1"), vec!["Page 5"]);
    // Navigation: first and previous are links, next and latest are not.
    assert_eq!(
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-first", "href")[0],
        "/comic/p1"
    );
    assert_eq!(
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-prev", "href")[0],
        "/comic/p4"
    );
    assert!(select_attr(&doc, "nav.comic-nav:first-of-type a.nav-next", "href").is_empty());
    assert_eq!(
        select_attr(&doc, "link[rel=prev]", "href")[0],
        app.url("/comic/p4")
    );
    // Hover text, transcript, notes (Markdown rendered), tags, characters, date.
    assert_eq!(
        select_attr(&doc, ".comic-images", "title")[0],
        "hover of Page 5"
    );
    assert!(select_text(&doc, ".transcript-text")[0].contains("transcript of Page 5"));
    assert_eq!(select_text(&doc, ".notes strong"), vec!["Page 5"]);
    assert_eq!(
        select_attr(&doc, ".labels a", "href"),
        vec!["/character/pip", "/tag/sea"]
    );
    assert!(!select_attr(&doc, ".comic-date time", "datetime")[0].is_empty());
    // Share cards and structured data.
    // The share card (see `fediverse::pages_have_share_cards`).
    assert!(select_attr(&doc, "meta[property='og:image']", "content")[0]
        .starts_with(&app.url("/card/")));
    assert_eq!(
        select_attr(&doc, "meta[name='twitter:card']", "content"),
        vec!["summary_large_image"]
    );
    let ld = select_text(&doc, "script[type='application/ld+json']");
    let ld: serde_json::Value = serde_json::from_str(&ld[0]).expect("JSON-LD parses");
    assert_eq!(ld["@type"], "ComicStory");
    assert_eq!(ld["url"], app.url("/comic/p5"));
}

#[tokio::test]
async fn a_comic_page_has_a_permalink_and_responsive_images() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 1).await;
    let doc = html(&app.page("/comic/p2").await);
    assert_eq!(
        select_attr(&doc, "link[rel=canonical]", "href"),
        vec![app.url("/comic/p2")]
    );
    assert_eq!(
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-next", "href"),
        vec!["/comic/p3"]
    );
    let img = select_attr(&doc, ".comic-images img", "src");
    assert_eq!(img.len(), 1);
    // The first comic image is never lazy and has its size set.
    assert!(select_attr(&doc, ".comic-images img", "loading").is_empty());
    assert_eq!(select_attr(&doc, ".comic-images img", "width"), vec!["320"]);
    assert_eq!(
        select_attr(&doc, ".comic-images img", "height"),
        vec!["400"]
    );
    let srcset = &select_attr(&doc, ".comic-images source[type='image/webp']", "srcset")[0];
    assert!(srcset.contains(" 320w"), "{srcset}");
    // Every image a page links to exists.
    let response = app.get(&img[0]).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn bad_slugs_get_a_friendly_not_found_page() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    for path in [
        "/comic/nope",
        "/comic/UPPER",
        "/comic/..%2F..%2Fetc",
        "/comic/a--b",
        "/chapter/none",
        "/tag/none",
        "/character/none",
        "/nothing-here",
        "/series/none/archive",
        "/series/none",
    ] {
        let (status, body) = app.get_text(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("Page not found"), "{path}: {body}");
        assert!(body.contains("href=\"/\""), "{path}: error page links home");
    }
}

#[tokio::test]
async fn the_archive_groups_pages_by_chapter_with_thumbnails() {
    let app = spawn_app().await;
    seed_pages(&app, 12, 3).await;
    let doc = html(&app.page("/archive").await);
    assert_eq!(
        select_text(&doc, ".chapter-title > a:first-child"),
        vec!["Chapter c1", "Chapter c2", "Chapter c3"]
    );
    let links = select_attr(&doc, ".tiles a", "href");
    assert_eq!(links.len(), 12);
    assert_eq!(links[0], "/comic/p1");
    assert_eq!(links[11], "/comic/p12");
    // Thumbnails have sizes; those below the fold load lazily.
    assert_eq!(select_attr(&doc, ".tiles img", "width").len(), 12);
    let lazy = select_attr(&doc, ".tiles img", "loading");
    assert!(!lazy.is_empty() && lazy.len() < 12, "{lazy:?}");
}

#[tokio::test]
async fn a_chapter_reads_in_one_long_scroll() {
    let app = spawn_app().await;
    seed_pages(&app, 6, 2).await;
    let doc = html(&app.page("/chapter/c2").await);
    assert_eq!(select_text(&doc, "h1"), vec!["Chapter c2"]);
    assert_eq!(
        select_text(&doc, "article.chapter-page h2"),
        vec!["Page 4", "Page 5", "Page 6"]
    );
    let loading = doc
        .select(&scraper::Selector::parse(".comic-images img").expect("sel"))
        .map(|e| e.value().attr("loading").unwrap_or("eager").to_owned())
        .collect::<Vec<_>>();
    assert_eq!(loading, vec!["eager", "lazy", "lazy"]);
    assert_eq!(select_text(&doc, ".chapter-nav a"), vec!["← Chapter c1"]);
}

#[tokio::test]
async fn cast_tag_and_character_pages_list_their_pages() {
    let app = spawn_app().await;
    seed_pages(&app, 4, 0).await;
    let cast = html(&app.page("/cast").await);
    assert_eq!(select_text(&cast, ".cast-member h2"), vec!["Pip"]);
    assert!(select_text(&cast, ".cast-meta")[0].contains("On 4 pages"));
    assert_eq!(
        select_attr(&cast, ".cast-meta a", "href"),
        vec!["/comic/p1"]
    );
    let tag = html(&app.page("/tag/sea").await);
    assert_eq!(select_attr(&tag, ".tiles a", "href").len(), 4);
    let character = html(&app.page("/character/pip").await);
    assert_eq!(select_text(&character, "h1"), vec!["Pip"]);
    assert_eq!(select_attr(&character, ".tiles a", "href").len(), 4);
}

#[tokio::test]
async fn static_pages_render_sanitized_markdown() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let mut conn = app.db.pool().acquire().await.expect("conn");
    halftone::comics::static_pages::insert(
        &mut conn,
        "about",
        "About",
        "# About me\n\n<script>alert(1)</script>**hi**",
    )
    .await
    .expect("insert");
    drop(conn);
    let body = app.page("/about").await;
    let doc = html(&body);
    assert_eq!(select_text(&doc, ".prose h1"), vec!["About me"]);
    assert!(!body.contains("<script>alert"), "scripts are removed");
    assert!(select_attr(&doc, ".site-nav a", "href").contains(&"/about".to_owned()));
}

#[tokio::test]
async fn notes_with_html_cannot_inject_script() {
    let app = spawn_app().await;
    let mut p = page(&app, "evil", "Evil", None, halftone::db::now() - 10);
    p.notes = "<img src=x onerror=alert(1)> <script>alert(2)</script> [x](javascript:alert(3))"
        .to_owned();
    p.hover_text = "\"><script>alert(4)</script>".to_owned();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![p],
    )
    .await;
    let body = app.page("/comic/evil").await;
    assert!(!body.contains("onerror"), "{body}");
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(!body.contains("javascript:alert"), "{body}");
}

#[tokio::test]
async fn a_second_series_lives_under_its_own_prefix() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    let now = halftone::db::now();
    let side = vec![
        page(&app, "s1", "Side 1", None, now - 100),
        page(&app, "s2", "Side 2", None, now - 50),
    ];
    app.write(
        WriteAs {
            series: Some("side-comic"),
            publish: true,
            backfill: true,
        },
        side,
    )
    .await;

    // The primary series keeps its short URLs.
    let home = html(&app.page("/").await);
    assert_eq!(select_text(&home, ".comic-header h1"), vec!["Page 2"]);
    assert!(select_attr(&home, ".series-nav a", "href").contains(&"/series/side-comic".to_owned()));
    // The side series has its own home, pages, archive, navigation and feeds.
    let side_home = html(&app.page("/series/side-comic").await);
    assert_eq!(select_text(&side_home, ".comic-header h1"), vec!["Side 2"]);
    assert_eq!(
        select_attr(&side_home, "nav.comic-nav:first-of-type a.nav-prev", "href"),
        vec!["/series/side-comic/comic/s1"]
    );
    let archive = html(&app.page("/series/side-comic/archive").await);
    assert_eq!(select_attr(&archive, ".tiles a", "href").len(), 2);
    let feed = app.page("/series/side-comic/feed.xml").await;
    assert!(feed.contains("Side 2") && !feed.contains("Page 2"));
    // A side page is not reachable under the primary series' URLs.
    assert_eq!(app.get("/comic/s1").await.status(), 404);
}

#[tokio::test]
async fn robots_and_sitemap_describe_the_public_site() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 1).await;
    let robots = app.page("/robots.txt").await;
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", app.address)));
    assert!(robots.contains("Disallow: /admin"));
    let sitemap = app.page("/sitemap.xml").await;
    for path in [
        "/",
        "/archive",
        "/chapter/c1",
        "/comic/p1",
        "/comic/p3",
        "/cast",
        "/character/pip",
        "/tag/sea",
    ] {
        assert!(
            sitemap.contains(&format!("<loc>{}</loc>", app.url(path))),
            "{path} missing:\n{sitemap}"
        );
    }
}

#[tokio::test]
async fn static_assets_are_fingerprinted_and_cached_for_a_year() {
    let app = spawn_app().await;
    let doc = html(&app.page("/").await);
    let css = select_attr(&doc, "link[rel=stylesheet]", "href")[0].clone();
    assert!(
        css.starts_with("/static/") && css.ends_with("/reader.css"),
        "{css}"
    );
    let response = app.get(&css).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/css"));
    assert_eq!(app.get("/static/abc/nope.css").await.status(), 404);
}

#[tokio::test]
async fn the_404_page_has_the_site_header_name_and_search() {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 2, 0).await;
    app.exec(
        "INSERT INTO settings (name, value) VALUES ('site.title', 'Moth Lantern')",
        &[],
    )
    .await;
    app.page("/").await;
    let (status, body) = app.get_text("/no/such/page").await;
    assert_eq!(status, 404);
    let doc = crate::common::html(&body);
    assert_eq!(
        crate::common::select_text(&doc, ".site-title"),
        vec!["Moth Lantern"]
    );
    assert!(
        !crate::common::select_attr(&doc, "form[role=search] input[name=q]", "name").is_empty()
    );
    assert!(body.contains("Page not found"));
    assert!(body.contains("noindex"));
}

#[tokio::test]
async fn favicon_ico_is_an_icon() {
    let app = spawn_app().await;
    let response = app.get("/favicon.ico").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/x-icon");
    let bytes = response.bytes().await.expect("body");
    let icon =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Ico).expect("an ICO");
    assert!(icon.width() >= 32);
}

#[tokio::test]
async fn wordpress_feed_addresses_lead_to_the_feeds() {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 2, 0).await;
    for (old, new) in [
        ("/feed", "/feed.xml"),
        ("/feed/", "/feed.xml"),
        ("/rss", "/feed.xml"),
        ("/comic/feed/", "/feed.xml"),
        ("/feed/rss2/", "/feed.xml"),
        ("/feed/atom/", "/atom.xml"),
        ("/?feed=rss2", "/feed.xml"),
        ("/?feed=atom", "/atom.xml"),
    ] {
        let response = app.get(old).await;
        assert_eq!(response.status(), 301, "{old}");
        assert_eq!(response.headers()["location"], new, "{old}");
        assert_eq!(app.get(new).await.status(), 200, "{new}");
    }
}
