//! The site with the analytics service: the beacon on reader pages, feed
//! fetches reported, admins signed into the dashboard — and the site going
//! on unharmed when the service is down.

use std::time::{Duration, Instant};

use clap::Parser;

use crate::common::{html, seed_pages, select_attr, spawn_app_with};

const SECRET: &str = "shared-secret-0123456789";

/// The real analytics service, embedded on a free port (SQLite, own spool).
async fn start_analytics(dir: &std::path::Path) -> String {
    start_analytics_on(dir, "127.0.0.1:0").await
}

async fn start_analytics_on(dir: &std::path::Path, bind: &str) -> String {
    let listener = std::net::TcpListener::bind(bind).expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let config = halftone_analytics::Config::parse_from([
        "halftone-analytics".to_owned(),
        format!("--database-url=sqlite://{}", dir.join("a.db").display()),
        format!("--spool-dir={}", dir.join("spool").display()),
        format!("--secret={SECRET}"),
        "--flush-ms=100".to_owned(),
        "--rate-limit=0".to_owned(),
        "--workers=1".to_owned(),
    ]);
    tokio::spawn(async move {
        if let Err(error) = halftone_analytics::serve(config, listener).await {
            panic!("analytics stopped: {error:#}");
        }
    });
    address
}

#[tokio::test]
async fn reader_pages_carry_the_beacon_and_noscript_pixel() {
    let app = spawn_app_with(|c| {
        c.analytics.url = Some("https://stats.example.com/".parse().expect("url"));
    })
    .await;
    seed_pages(&app, 3, 1).await;
    for path in ["/", "/comic/p2", "/archive"] {
        let page = html(&app.page(path).await);
        let script = select_attr(&page, "script[data-endpoint]", "data-endpoint");
        assert_eq!(script, vec!["https://stats.example.com"], "{path}");
        let src = select_attr(&page, "script[data-endpoint]", "src");
        assert!(src[0].contains("stats.js"));
        let stats_js = app.get(&src[0]).await.text().await.expect("js");
        assert!(stats_js.contains("doNotTrack") && stats_js.contains("/api/hit"));
    }
    // The pixel lives inside <noscript>, which HTML parsers keep as text.
    let body = app.page("/comic/p2").await;
    assert!(body.contains(
        "<noscript><img class=\"stats-pixel\" src=\"https://stats.example.com/hit.gif?p="
    ));
    // Without a configured service: no beacon at all.
    let plain = spawn_app_with(|_| {}).await;
    seed_pages(&plain, 1, 1).await;
    assert!(!plain.page("/").await.contains("data-endpoint"));
}

#[tokio::test]
async fn feed_fetches_reach_the_service_and_admins_reach_the_dashboard() {
    let dir = tempfile::tempdir().expect("tmp");
    let analytics = start_analytics(dir.path()).await;
    let base = analytics.clone();
    let app = spawn_app_with(move |c| {
        c.analytics.url = Some(base.parse().expect("url"));
        c.analytics.secret = Some(SECRET.to_owned().into());
    })
    .await;
    seed_pages(&app, 2, 1).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for _ in 0..3 {
        let response = client
            .get(app.url("/feed.xml"))
            .header(
                "user-agent",
                "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 7 subscribers)",
            )
            .send()
            .await
            .expect("feed");
        assert_eq!(response.status(), 200);
    }
    // A reader's search is reported too (the terms, not who searched).
    let search = client
        .get(app.url("/search?q=Page%20Two"))
        .send()
        .await
        .expect("search");
    assert_eq!(search.status(), 200);
    // The site reports in the background; wait for the service to count them.
    let deadline = Instant::now() + Duration::from_secs(15);
    let feeds = loop {
        let stats: serde_json::Value = client
            .get(format!("{analytics}/api/stats"))
            .bearer_auth(SECRET)
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        if (stats["totals"]["feeds"] == 3 && stats["totals"]["searches"] == 1)
            || Instant::now() > deadline
        {
            assert_eq!(
                stats["top"]["searches"],
                serde_json::json!([["page two", 1]])
            );
            break stats["top"]["feeds"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(feeds, serde_json::json!([["Feedly", 3]]));

    // An admin follows the admin's Analytics link into the dashboard.
    let admin = app.owner().await;
    let dashboard = admin.page("/admin").await;
    assert!(dashboard.contains("href=\"/admin/analytics\""));
    let hop = admin.get("/admin/analytics").await;
    assert_eq!(hop.status(), 303);
    let target = hop.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        target.starts_with(&format!("{analytics}/auth?token=")),
        "{target}"
    );
    let signed_in = client.get(&target).send().await.expect("sign in");
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let page = client
        .get(format!("{analytics}/"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("dashboard");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("Feed readers"));
    // Anonymous readers get nothing from either side.
    assert_eq!(
        client
            .get(format!("{analytics}/"))
            .send()
            .await
            .expect("get")
            .status(),
        401
    );
    assert_eq!(
        client
            .get(app.url("/admin/analytics"))
            .send()
            .await
            .expect("get")
            .status(),
        303
    );
}

#[tokio::test]
async fn the_site_serves_normally_with_the_analytics_service_down() {
    // Nothing listens on this port: the service is down for the whole test.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let app = spawn_app_with(move |c| {
        c.analytics.url = Some(format!("http://{closed}").parse().expect("url"));
        c.analytics.secret = Some(SECRET.to_owned().into());
    })
    .await;
    seed_pages(&app, 5, 1).await;
    // Feeds are reported server-side; reporting must not hold a request up.
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let path = if i % 2 == 0 { "/feed.xml" } else { "/comic/p3" };
        let started = Instant::now();
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        slowest = slowest.max(started.elapsed());
    }
    // Not a speed target (that lives in benches/analytics.sh): a request
    // waiting on the dead service would take the client's 5 s timeout.
    assert!(
        slowest < Duration::from_secs(4),
        "a request waited on analytics: {slowest:?}"
    );
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("halftone_http_requests_total"),
        "metrics still served"
    );
}

/// Events reported while the service is down wait, and all of them arrive
/// once it is back: a backlog bigger than one request drains completely.
#[tokio::test]
async fn a_backlog_of_events_reported_during_an_outage_drains_completely() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let app = spawn_app_with(move |c| {
        c.analytics.url = Some(format!("http://127.0.0.1:{port}").parse().expect("url"));
        c.analytics.secret = Some(SECRET.to_owned().into());
    })
    .await;
    for n in 0..20_000 {
        app.state
            .analytics
            .report(halftone::analytics::Event::Search {
                query: format!("word{}", n % 13),
            });
        if n % 2_000 == 1_999 {
            // Let the sender take the queue into its backlog, as time would.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let analytics = start_analytics_on(dir.path(), &format!("127.0.0.1:{port}")).await;
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats: serde_json::Value = client
            .get(format!("{analytics}/api/stats?range=24h"))
            .bearer_auth(SECRET)
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        let searches = stats["totals"]["searches"].as_i64().unwrap_or(0);
        if searches == 20_000 {
            break;
        }
        assert!(searches <= 20_000, "counted twice: {searches}");
        assert!(
            Instant::now() < deadline,
            "only {searches} of 20000 events arrived"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_real_browser_counts_one_view_per_page_without_cookies() {
    let dir = tempfile::tempdir().expect("tmp");
    let analytics = start_analytics(dir.path()).await;
    let base = analytics.clone();
    let app = spawn_app_with(move |c| {
        c.analytics.url = Some(base.parse().expect("url"));
        c.analytics.secret = Some(SECRET.to_owned().into());
    })
    .await;
    seed_pages(&app, 4, 1).await;
    let Some(browser) = crate::common::browser::start().await else {
        return;
    };
    let c = &browser.client;
    c.goto(&app.url("/comic/p2")).await.expect("goto");
    browser.press(fantoccini::key::Key::Right.into()).await;
    browser.wait_for("location.pathname === '/comic/p3'").await;
    let cookies = c
        .execute("return document.cookie", vec![])
        .await
        .expect("cookies");
    assert_eq!(
        cookies,
        serde_json::json!(""),
        "nothing stored for the reader"
    );

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let stats = loop {
        let stats: serde_json::Value = client
            .get(format!("{analytics}/api/stats"))
            .bearer_auth(SECRET)
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        let counted = stats["totals"]["views"].as_i64().unwrap_or(0)
            + stats["totals"]["bots"].as_i64().unwrap_or(0);
        if counted >= 2 || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Headless Chromium names itself HeadlessChrome: counted apart as a bot.
    let views = stats["totals"]["views"].as_i64().unwrap_or(0)
        + stats["totals"]["bots"].as_i64().unwrap_or(0);
    assert_eq!(views, 2, "one hit per page view: {stats:#}");
    let pages: Vec<String> = stats["top"]["pages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| row[0].as_str().unwrap_or("").to_owned())
        .collect();
    let bots: Vec<String> = stats["top"]["bots"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| row[0].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        pages.len() == 2 || !bots.is_empty(),
        "the two pages or the headless agent are named: {stats:#}"
    );
}
