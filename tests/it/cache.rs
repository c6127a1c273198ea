//! The hot-view cache: single flight, stale-while-revalidate, invalidation
//! (across processes through Redis), nothing personal cached, HTTP caching,
//! Redis down and back, database down, pool exhaustion, metrics.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::common::proxy::Proxy;
use crate::common::{seed_pages, spawn_app, spawn_app_with, TestApp};

fn x_cache(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// Changes a page title behind the app's back (no invalidation).
async fn retitle_quietly(app: &TestApp, slug: &str, title: &str) {
    sqlx::query("UPDATE pages SET title = ? WHERE slug = ?")
        .bind(title)
        .bind(slug)
        .execute(app.db.pool())
        .await
        .expect("update");
}

#[tokio::test]
async fn a_stampede_on_a_cold_page_renders_it_once() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 1).await;
    let before = app.state.cache.renders();
    let requests = (0..200).map(|_| app.client.get(app.url("/comic/p2")).send());
    let responses = join_all(requests).await;
    let mut bodies = std::collections::HashSet::new();
    for response in responses {
        let response = response.expect("request");
        assert_eq!(response.status(), 200);
        bodies.insert(response.text().await.expect("body"));
    }
    assert_eq!(
        app.state.cache.renders() - before,
        1,
        "200 concurrent requests, one render"
    );
    assert_eq!(bodies.len(), 1);
    // A query string is not a way around the cache.
    let with_query = app.get("/comic/p2?utm=reddit&x=1").await;
    assert_eq!(x_cache(&with_query), "hit");
    assert_eq!(app.state.cache.renders() - before, 1);
}

#[tokio::test]
async fn an_expired_page_is_served_stale_while_one_request_refreshes_it() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    assert_eq!(x_cache(&app.get("/comic/p1").await), "miss");
    assert_eq!(x_cache(&app.get("/comic/p1").await), "hit");
    retitle_quietly(&app, "p1", "Retitled In The Database").await;
    tokio::time::sleep(Duration::from_millis(1200)).await; // past the 1 s test TTL
    let stale = app.get("/comic/p1").await;
    assert_eq!(x_cache(&stale), "stale");
    assert!(
        stale.text().await.expect("body").contains("Page 1"),
        "the stale copy is served at once"
    );
    // The background refresh lands shortly after.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let body = app.page("/comic/p1").await;
        if body.contains("Retitled In The Database") {
            break;
        }
        assert!(Instant::now() < deadline, "the refresh never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn publishing_drops_cached_pages_at_once() {
    let app = spawn_app_with(|c| c.cache.ttl_ms = 60_000).await;
    seed_pages(&app, 2, 0).await;
    let admin = app.owner().await;
    for path in ["/", "/archive", "/feed.xml", "/comic/p2"] {
        app.get(path).await;
        assert_eq!(x_cache(&app.get(path).await), "hit", "{path} is cached");
    }
    let page: i64 = sqlx::query_scalar("SELECT id FROM pages WHERE slug = 'p2'")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    let mut ws = admin.ws(page).await;
    let hello = crate::common::admin::next_json(&mut ws).await;
    let mut draft = hello["draft"].clone();
    draft["title"] = "A Brand New Title".into();
    crate::common::admin::send_json(
        &mut ws,
        serde_json::json!({ "type": "save", "seq": 1, "base": hello["revision"], "draft": draft }),
    )
    .await;
    let saved = crate::common::admin::next_json(&mut ws).await;
    let revision = saved["revision"].to_string();
    let r = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "update"), ("revision", &revision)],
        )
        .await;
    assert_eq!(r.status(), 303);
    // Long before the 60 s TTL, every page showing it has the new title.
    for path in ["/", "/archive", "/feed.xml", "/comic/p2"] {
        assert!(
            app.page(path).await.contains("A Brand New Title"),
            "{path} still shows the old title"
        );
    }
}

#[tokio::test]
async fn a_logged_in_authors_page_never_reaches_readers() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    let admin = app.owner().await;
    for path in ["/", "/comic/p1", "/archive"] {
        let response = admin.get(path).await;
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        let body = response.text().await.expect("body");
        assert!(
            body.contains("Logged in as Test Author"),
            "{path} shows the admin bar"
        );
    }
    assert!(
        admin.page("/comic/p1").await.contains("/admin/pages/"),
        "with an edit link"
    );
    for path in ["/", "/comic/p1", "/archive"] {
        let response = app.get(path).await;
        assert!(response.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .starts_with("public"));
        let body = response.text().await.expect("body");
        assert!(
            !body.contains("Logged in as") && !body.contains("admin-bar\""),
            "{path} leaked the admin bar"
        );
    }
    // A cookie that is not a live session gets the public page.
    let forged = app
        .client
        .get(app.url("/"))
        .header("Cookie", format!("halftone_session={}", "a".repeat(64)))
        .send()
        .await
        .expect("get");
    assert!(forged.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .starts_with("public"));
}

#[tokio::test]
async fn browsers_and_cdns_get_validators_and_compressed_variants() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let first = app.get("/").await;
    let cache_control = first.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cache_control.contains("max-age=1") && cache_control.contains("stale-while-revalidate="),
        "{cache_control}"
    );
    let etag = first.headers()["etag"].clone();
    let body = first.text().await.expect("body");
    let again = app
        .client
        .get(app.url("/"))
        .header("If-None-Match", etag.clone())
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);

    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client");
    for (coding, decode) in [("br", true), ("gzip", true)] {
        let response = raw
            .get(app.url("/"))
            .header("Accept-Encoding", coding)
            .send()
            .await
            .expect("get");
        assert_eq!(response.headers()["content-encoding"], coding);
        assert_eq!(response.headers()["vary"], "Accept-Encoding");
        let bytes = response.bytes().await.expect("bytes");
        let mut text = String::new();
        use std::io::Read;
        if decode && coding == "br" {
            brotli::Decompressor::new(&bytes[..], 4096)
                .read_to_string(&mut text)
                .expect("brotli");
        } else {
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .expect("gzip");
        }
        assert_eq!(text, body, "{coding} variant decodes to the page");
    }
}

#[tokio::test]
async fn with_the_database_down_cached_pages_stay_up_and_others_fail_fast() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    assert_eq!(app.get("/comic/p1").await.status(), 200);
    app.db.close().await;
    // Past TTL and stale window: a render is tried, fails, the last good copy is served.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let cached = app.get("/comic/p1").await;
    assert_eq!(cached.status(), 200);
    assert_eq!(x_cache(&cached), "fallback");
    let started = Instant::now();
    let uncached = app.get("/comic/p2").await;
    assert_eq!(uncached.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a 503 in milliseconds, not a hang"
    );
    assert_eq!(uncached.headers()["retry-after"], "5");
    assert!(uncached
        .text()
        .await
        .expect("body")
        .contains("Back in a moment"));
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_in_bounded_time() {
    let app = spawn_app_with(|c| {
        c.database.max_connections = Some(1);
        c.database.acquire_timeout_ms = 300;
    })
    .await;
    seed_pages(&app, 2, 0).await;
    assert_eq!(app.get("/comic/p1").await.status(), 200);
    let held = app.db.pool().acquire().await.expect("the only connection");
    let started = Instant::now();
    let responses = join_all((0..20).map(|_| app.client.get(app.url("/comic/p2")).send())).await;
    for response in responses {
        assert_eq!(response.expect("request").status(), 503);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "requests wait a bounded time: {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.get("/comic/p1").await.status(),
        200,
        "cached pages are still served"
    );
    drop(held);
    assert_eq!(app.get("/comic/p2").await.status(), 200);
}

#[tokio::test]
async fn metrics_report_requests_cache_and_database() {
    let app = spawn_app_with(|c| c.metrics_token = Some("s3cret".to_owned().into())).await;
    seed_pages(&app, 1, 0).await;
    app.get("/").await;
    app.get("/").await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let text = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    for name in [
        "halftone_http_requests_total",
        "halftone_http_request_duration_seconds_bucket",
        "halftone_cache_requests_total",
        "halftone_renders_total",
        "halftone_db_queries_total",
        "halftone_db_pool_connections",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    assert!(text.contains("result=\"hit\""));
}

use crate::common::redis_url;

#[tokio::test]
async fn redis_going_down_and_back_never_stops_the_site() {
    let Some(url) = redis_url() else {
        return;
    };
    let target = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(target).await;
    let proxied = format!("redis://127.0.0.1:{}", proxy.port);
    let app = spawn_app_with(move |c| c.redis_url = Some(proxied.into())).await;
    seed_pages(&app, 5, 0).await;
    assert_eq!(app.get("/comic/p1").await.status(), 200);
    assert_eq!(app.state.cache.redis_up(), Some(true));

    proxy.cut();
    for i in 1..=5 {
        let started = Instant::now();
        assert_eq!(app.get(&format!("/comic/p{i}")).await.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a dead Redis must not stall pages"
        );
    }
    assert_eq!(app.state.cache.redis_up(), Some(false));

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.cache.redis_up() != Some(true) {
        assert!(Instant::now() < deadline, "Redis was never picked up again");
        app.state.content_changed().await; // any Redis use probes it
        app.get("/archive").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_change_on_one_process_reaches_another_through_redis() {
    let Some(_) = redis_url() else {
        return;
    };
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    // A second process of the real binary, same database, media and Redis,
    // with a TTL so long that only invalidation can refresh its pages.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut command = crate::common::halftone_command(&app);
    command
        .arg("serve")
        .env("HALFTONE_BIND", format!("127.0.0.1:{port}"))
        .env("HALFTONE_CACHE__TTL_MS", "600000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    let _child = crate::common::ChildGuard(command.spawn().expect("second process"));
    let other = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while app
        .client
        .get(format!("{other}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            Instant::now() < deadline,
            "the second process did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = |url: String| {
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("body")
        }
    };
    assert!(body(format!("{other}/comic/p2")).await.contains("Page 2"));
    assert!(
        body(format!("{other}/comic/p2")).await.contains("Page 2"),
        "cached on the other process"
    );

    retitle_quietly(&app, "p2", "Changed On Node A").await;
    app.state.content_changed().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !body(format!("{other}/comic/p2"))
        .await
        .contains("Changed On Node A")
    {
        assert!(
            Instant::now() < deadline,
            "the other process kept its stale page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The headers of a response, but those that differ per request by design
/// (`server-timing` counts the queries this request ran).
fn header_set(response: &reqwest::Response) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "date" | "x-request-id" | "x-cache" | "server-timing"
            )
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    headers.sort();
    headers
}

#[tokio::test]
async fn the_fast_lane_answers_as_the_router_does_and_only_what_it_may() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 0).await;
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client");
    for path in ["/", "/comic/p2", "/feed.xml", "/archive"] {
        // Through the router (a miss), then from the fast lane (a fresh hit).
        let routed = raw.get(app.url(path)).send().await.expect("get");
        assert_eq!(x_cache(&routed), "miss", "{path}");
        let routed_headers = header_set(&routed);
        let routed_body = routed.bytes().await.expect("body");
        let fast = raw.get(app.url(path)).send().await.expect("get");
        assert_eq!(x_cache(&fast), "hit", "{path}");
        assert!(fast.headers().contains_key("x-request-id"));
        assert_eq!(header_set(&fast), routed_headers, "{path}: same headers");
        assert_eq!(fast.bytes().await.expect("body"), routed_body, "{path}");
        // HEAD: the same headers, no body.
        let head = raw.head(app.url(path)).send().await.expect("head");
        assert_eq!(head.status(), 200);
        assert_eq!(header_set(&head), routed_headers, "{path}: HEAD");
        assert!(head.bytes().await.expect("body").is_empty());
    }
    // A query string may be an old link: the router decides (and the page
    // is still served from the cache there).
    let with_query = raw
        .get(app.url("/comic/p2?utm=x"))
        .send()
        .await
        .expect("get");
    assert_eq!(with_query.status(), 200);
    // A request with a session cookie is never answered from the cache.
    let session_like = raw
        .get(app.url("/comic/p2"))
        .header("Cookie", "halftone_session=not-a-live-session")
        .send()
        .await
        .expect("get");
    assert_eq!(session_like.status(), 200);
    assert_ne!(x_cache(&session_like), "", "anonymous after the lookup");
}

#[tokio::test]
async fn a_missing_page_is_remembered_briefly_and_found_once_published() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    assert_eq!(app.get("/tag/zebra").await.status(), 404);
    // The tag appears behind the app's back: a tag page is read from the
    // database on every render, so only the memory of the 404 keeps it away.
    let db = app.db.pool();
    sqlx::query("INSERT INTO tags (slug, name) VALUES ('zebra', 'Zebra')")
        .execute(db)
        .await
        .expect("tag");
    sqlx::query(
        "INSERT INTO page_tags (page_id, tag_id) SELECT p.id, t.id FROM pages p, tags t \
         WHERE p.slug = 'p1' AND t.slug = 'zebra'",
    )
    .execute(db)
    .await
    .expect("page tag");
    assert_eq!(app.get("/tag/zebra").await.status(), 404, "remembered");
    // A content change forgets what was missing; so does the TTL.
    app.state.services.content_changed().await;
    assert!(app.page("/tag/zebra").await.contains("Zebra"));
    assert_eq!(app.get("/tag/quagga").await.status(), 404);
    sqlx::query("UPDATE tags SET slug = 'quagga' WHERE slug = 'zebra'")
        .execute(db)
        .await
        .expect("rename");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.get("/tag/quagga").await.status(),
        200,
        "forgotten after a second"
    );
}
