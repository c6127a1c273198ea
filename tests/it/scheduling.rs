//! A scheduled page is invisible everywhere until its time, then appears
//! by itself (no cron job).

use crate::common::{page, spawn_app, TestApp, WriteAs};

/// Every place a page could leak through.
async fn visible_anywhere(app: &TestApp, slug: &str, title: &str) -> Vec<&'static str> {
    let mut seen = Vec::new();
    if app.get(&format!("/comic/{slug}")).await.status() == 200 {
        seen.push("permalink");
    }
    for (name, path) in [
        ("home", "/"),
        ("archive", "/archive"),
        ("chapter", "/chapter/one"),
        ("rss", "/feed.xml"),
        ("atom", "/atom.xml"),
        ("json feed", "/feed.json"),
        ("chapter feed", "/chapter/one/feed.xml"),
        ("sitemap", "/sitemap.xml"),
        ("tag", "/tag/sea"),
        ("character", "/character/pip"),
    ] {
        let (status, body) = app.get_text(path).await;
        if status == 200 && (body.contains(&format!("/comic/{slug}")) || body.contains(title)) {
            seen.push(name);
        }
    }
    // Navigation from the page before it.
    let (_, body) = app.get_text("/comic/before").await;
    if body.contains(&format!("/comic/{slug}")) {
        seen.push("navigation");
    }
    seen
}

#[tokio::test]
async fn a_scheduled_page_is_invisible_until_its_time_then_appears() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![page(&app, "before", "Before", Some("one"), now - 100)],
    )
    .await;
    // Scheduled two seconds ahead, written "now" (not back-filled).
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![page(&app, "soon", "Soon Page", Some("one"), now + 2)],
    )
    .await;
    assert_eq!(
        visible_anywhere(&app, "soon", "Soon Page").await,
        Vec::<&str>::new()
    );

    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let seen = visible_anywhere(&app, "soon", "Soon Page").await;
    for place in [
        "permalink",
        "home",
        "archive",
        "chapter",
        "rss",
        "atom",
        "json feed",
        "chapter feed",
        "sitemap",
        "tag",
        "character",
        "navigation",
    ] {
        assert!(
            seen.contains(&place),
            "after its time the page should be in {place}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn drafts_never_show() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![page(&app, "before", "Before", Some("one"), now - 100)],
    )
    .await;
    app.write(
        WriteAs {
            series: None,
            publish: false,
            backfill: true,
        },
        vec![page(&app, "draft", "Draft Page", Some("one"), now - 50)],
    )
    .await;
    assert_eq!(
        visible_anywhere(&app, "draft", "Draft Page").await,
        Vec::<&str>::new()
    );
    // Positive control: a published page written the same way, after the
    // draft, shows in every place the draft was looked for.
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![page(&app, "after", "After Page", Some("one"), now - 10)],
    )
    .await;
    assert_eq!(
        visible_anywhere(&app, "after", "After Page").await,
        vec![
            "permalink",
            "home",
            "archive",
            "chapter",
            "rss",
            "atom",
            "json feed",
            "chapter feed",
            "sitemap",
            "tag",
            "character",
            "navigation",
        ]
    );
}

#[tokio::test]
async fn a_chapter_with_only_scheduled_pages_stays_secret() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        vec![page(&app, "before", "Before", Some("one"), now - 100)],
    )
    .await;
    let mut secret = page(&app, "twist", "Twist", Some("spoiler"), now + 3600);
    secret.characters = vec!["Mystery Guest".to_owned()];
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![secret],
    )
    .await;
    assert_eq!(app.get("/chapter/spoiler").await.status(), 404);
    assert_eq!(app.get("/character/mystery-guest").await.status(), 404);
    for path in ["/archive", "/comic/before", "/cast", "/sitemap.xml"] {
        let body = app.page(path).await;
        assert!(
            !body.contains("spoiler") && !body.contains("Mystery Guest"),
            "{path} leaks the secret chapter"
        );
    }
}

#[tokio::test]
async fn a_back_dated_page_published_today_reaches_feed_subscribers() {
    let app = spawn_app().await;
    let now = halftone::db::now();
    // 25 pages already in the feed window, all recent.
    let recent = (0..25)
        .map(|i| {
            page(
                &app,
                &format!("r{i}"),
                &format!("Recent {i}"),
                None,
                now - 1000 + i,
            )
        })
        .collect();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        recent,
    )
    .await;
    // The author publishes today a page dated years ago (not back-filled).
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![page(
            &app,
            "old",
            "Found In A Drawer",
            None,
            now - 5 * 365 * 86_400,
        )],
    )
    .await;
    let feed = app.page("/feed.xml").await;
    assert!(
        feed.contains("Found In A Drawer"),
        "a page going live today is in the feed even if back-dated"
    );
}
