//! The analytics service held to its promises, as a real process against a
//! real database: exact counts, no loss through a database outage, SIGKILL
//! or SIGTERM, bad input refused, figures for admins only.

mod common;

use std::time::Duration;

use common::{pairs, Options, Service, TestDb, FIREFOX, IPHONE, SECRET};

const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

fn id(n: usize) -> String {
    format!("hit-{n:08}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_stream_gives_exact_counts() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, spool.path(), &Options::default());
    let reddit = Some("https://www.reddit.com/r/comics/comments/abc/");
    // Visitor A (desktop Firefox): arrives from Reddit, reads 5 pages.
    assert_eq!(
        service
            .beacon(&id(1), "/comic/one", "10.0.0.1", FIREFOX, reddit, 1440)
            .await,
        202
    );
    for n in 2..=5 {
        let status = service
            .beacon(
                &id(n),
                &format!("/comic/p{n}"),
                "10.0.0.1",
                FIREFOX,
                Some("https://comic.example/comic/one"),
                1440,
            )
            .await;
        assert_eq!(status, 202);
    }
    // Visitor B (phone): arrives from Reddit too, reads 3 pages.
    assert_eq!(
        service
            .beacon(&id(6), "/comic/one", "10.0.0.2", IPHONE, reddit, 390)
            .await,
        202
    );
    for n in 7..=8 {
        assert_eq!(
            service
                .beacon(
                    &id(n),
                    "/comic/one",
                    "10.0.0.2",
                    IPHONE,
                    Some("https://comic.example/"),
                    390
                )
                .await,
            202
        );
    }
    // Visitor C: direct, 2 pages; the same person and browser from another address is another visitor.
    assert_eq!(
        service
            .beacon(&id(9), "/", "10.0.0.3", FIREFOX, None, 1440)
            .await,
        202
    );
    assert_eq!(
        service
            .beacon(
                &id(10),
                "/archive",
                "10.0.0.3",
                FIREFOX,
                Some("https://comic.example/"),
                1440
            )
            .await,
        202
    );
    // Retried beacons (same ids) are acknowledged and not counted again.
    assert_eq!(
        service
            .beacon(&id(1), "/comic/one", "10.0.0.1", FIREFOX, reddit, 1440)
            .await,
        202
    );
    assert_eq!(
        service
            .beacon(&id(9), "/", "10.0.0.3", FIREFOX, None, 1440)
            .await,
        202
    );
    // Bots are counted apart.
    for n in 11..=14 {
        assert_eq!(
            service
                .beacon(&id(n), "/comic/one", "66.249.0.1", GOOGLEBOT, None, 1024)
                .await,
            202
        );
    }
    // Do Not Track: not counted at all.
    let dnt = service
        .client
        .post(format!("{}/api/hit", service.address))
        .header("dnt", "1")
        .header("user-agent", FIREFOX)
        .body(serde_json::json!({ "id": id(15), "p": "/" }).to_string())
        .send()
        .await
        .expect("dnt");
    assert_eq!(dnt.status(), 204);

    let ledger = service.settled().await;
    assert_eq!(
        (
            ledger.spooled,
            ledger.committed,
            ledger.duplicates,
            ledger.opted_out
        ),
        (14, 14, 2, 1)
    );
    let stats = service.stats("24h").await;
    let totals = &stats["totals"];
    assert_eq!(totals["views"], 10, "{stats:#}");
    assert_eq!(totals["uniques"], 3);
    assert_eq!(totals["bots"], 4);
    assert_eq!(totals["entries"], 3, "A, B and C each started one visit");
    assert_eq!(
        pairs(&stats["top"]["referrers"]),
        vec![("reddit.com".to_owned(), 2)]
    );
    assert_eq!(
        pairs(&stats["top"]["referring_pages"]),
        vec![("reddit.com/r/comics/comments/abc/".to_owned(), 2)]
    );
    assert_eq!(
        pairs(&stats["top"]["pages"])[0],
        ("/comic/one".to_owned(), 4)
    );
    assert_eq!(
        pairs(&stats["top"]["devices"]),
        vec![("desktop".to_owned(), 7), ("phone".to_owned(), 3)]
    );
    assert_eq!(
        pairs(&stats["top"]["browsers"])[0],
        ("Firefox".to_owned(), 7)
    );
    let hourly: i64 = stats["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|p| p["views"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(hourly, 10, "the hourly series adds up");
    assert!(stats["uniques_note"]
        .as_str()
        .unwrap_or("")
        .contains("per day"));
    // The month view agrees.
    let month = service.stats("30d").await;
    assert_eq!(
        (
            month["totals"]["views"].as_i64(),
            month["totals"]["uniques"].as_i64()
        ),
        (Some(10), Some(3))
    );
    drop(service);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_events_count_searches_and_feed_readers() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, spool.path(), &Options::default());
    let events = serde_json::json!([
        { "id": "search-0001", "kind": "search", "query": "The Dragon" },
        { "id": "search-0002", "kind": "search", "query": "the   dragon " },
        { "id": "search-0003", "kind": "search", "query": "cast" },
        { "id": "feed-000001", "kind": "feed", "path": "/feed.xml", "ua": "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers)" },
        { "id": "feed-000002", "kind": "feed", "path": "/feed.xml", "ua": "NewsBlur Feed Fetcher - 3 subscribers" }
    ]);
    let url = format!("{}/api/events", service.address);
    let response = service
        .client
        .post(&url)
        .bearer_auth(SECRET)
        .json(&events)
        .send()
        .await
        .expect("events");
    assert_eq!(response.status(), 202);
    // Without the secret: refused.
    let anonymous = service
        .client
        .post(&url)
        .json(&events)
        .send()
        .await
        .expect("events");
    assert_eq!(anonymous.status(), 401);
    service.settled().await;
    let stats = service.stats("24h").await;
    assert_eq!(
        pairs(&stats["top"]["searches"]),
        vec![("the dragon".to_owned(), 2), ("cast".to_owned(), 1)]
    );
    assert_eq!(
        pairs(&stats["top"]["feeds"]),
        vec![("Feedly".to_owned(), 1), ("NewsBlur".to_owned(), 1)]
    );
    assert_eq!(
        (
            stats["totals"]["searches"].as_i64(),
            stats["totals"]["views"].as_i64()
        ),
        (Some(3), Some(0))
    );
    drop(service);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_mid_stream_loses_nothing() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, spool.path(), &Options::default());
    for n in 0..50 {
        assert_eq!(
            service
                .beacon(&id(n), "/comic/one", "10.1.0.1", FIREFOX, None, 1440)
                .await,
            202
        );
    }
    service.settled().await;
    db.outage().await;
    // Readers notice nothing: every hit is acknowledged while the database is away.
    for n in 50..200 {
        let ip = format!("10.1.{}.{}", n / 200, n % 200);
        assert_eq!(
            service
                .beacon(&id(n), "/comic/two", &ip, FIREFOX, None, 1440)
                .await,
            202
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ledger = service.ledger().await;
        if !ledger.database_up && ledger.lag > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "outage never seen: {ledger:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = service
        .client
        .get(format!("{}/readyz", service.address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(
        ready.status(),
        200,
        "ready: the spool takes hits while the database is down"
    );
    db.restore().await;
    let ledger = service.settled().await;
    assert_eq!(ledger.committed, 200);
    assert_eq!(
        db.stored_views().await,
        200,
        "each hit written exactly once"
    );
    let stats = service.stats("24h").await;
    assert_eq!(stats["totals"]["views"], 200);
    assert_eq!(stats["totals"]["uniques"], 151);
    assert!(
        service
            .log()
            .contains("cannot write to the analytics database"),
        "the outage is logged"
    );
    drop(service);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_restart_replays_the_spool_exactly_once() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, spool.path(), &Options::default());
    for n in 0..100 {
        assert_eq!(
            service
                .beacon(&id(n), "/a", "10.2.0.1", FIREFOX, None, 1440)
                .await,
            202
        );
    }
    service.settled().await;
    // These are acknowledged (on disk) but the flusher will not get to them.
    let mut sends = Vec::new();
    for n in 100..300 {
        let service = &service;
        sends.push(async move {
            service
                .beacon(&id(n), "/b", "10.2.0.2", FIREFOX, None, 1440)
                .await
        });
    }
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 202));
    service.sigkill();

    let service = Service::start(&db, spool.path(), &Options::default());
    // A beacon retried across the restart is still recognised.
    assert_eq!(
        service
            .beacon(&id(150), "/b", "10.2.0.2", FIREFOX, None, 1440)
            .await,
        202
    );
    assert_eq!(
        service
            .beacon(&id(7), "/a", "10.2.0.1", FIREFOX, None, 1440)
            .await,
        202
    );
    let ledger = service.settled().await;
    assert_eq!(ledger.duplicates, 2, "{ledger:?}");
    assert_eq!(db.stored_views().await, 300);
    let stats = service.stats("24h").await;
    assert_eq!(stats["totals"]["views"], 300);
    assert_eq!(
        stats["totals"]["uniques"], 2,
        "the salt survived the restart"
    );
    drop(service);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_before_exit() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    // The flusher would wait a minute; only shutdown writes these.
    let options = Options {
        flush_ms: 60_000,
        ..Options::default()
    };
    let service = Service::start(&db, spool.path(), &options);
    for n in 0..40 {
        assert_eq!(
            service
                .beacon(&id(n), "/c", "10.3.0.1", FIREFOX, None, 1440)
                .await,
            202
        );
    }
    let (status, log) = service.sigterm();
    assert!(status.success(), "clean exit: {status:?}\n{log}");
    assert_eq!(db.stored_views().await, 40, "{log}");
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_counts_stay_exact() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let options = Options {
        rate_limit: 5,
        ..Options::default()
    };
    let service = Service::start(&db, spool.path(), &options);
    let url = format!("{}/api/hit", service.address);
    let post = |body: String| {
        service
            .client
            .post(&url)
            .header("user-agent", FIREFOX)
            .header("x-forwarded-for", "10.4.0.9")
            .body(body)
            .send()
    };
    let cases = [
        ("x".repeat(10_000), 413, "larger than"),
        ("{not json".to_owned(), 400, "not valid"),
        (
            r#"{"id":"abcdefgh1","p":"/","views":1000}"#.to_owned(),
            400,
            "unknown field",
        ),
        (r#"{"id":"a b","p":"/"}"#.to_owned(), 400, "the id must be"),
        (
            r#"{"id":"abcdefgh2","p":"no-slash"}"#.to_owned(),
            400,
            "the path must",
        ),
        (
            r#"{"id":"abcdefgh3","p":"/","w":-1}"#.to_owned(),
            400,
            "not valid",
        ),
        (
            r#"{"id":"abcdefgh4","p":"/","r":"javascript:alert(1)"}"#.to_owned(),
            400,
            "referrer",
        ),
    ];
    for (body, status, message) in cases {
        let response = post(body.clone()).await.expect("post");
        assert_eq!(response.status().as_u16(), status, "{body:.60}");
        let text = response.text().await.unwrap_or_default();
        assert!(text.contains(message), "{text} should say {message}");
    }
    // A flood from one address: the first burst passes, then 429.
    let mut accepted = 0;
    let mut limited = 0;
    for n in 0..40 {
        let body = serde_json::json!({ "id": id(n), "p": "/flood" }).to_string();
        match service
            .client
            .post(&url)
            .header("user-agent", FIREFOX)
            .header("x-forwarded-for", "10.4.0.1")
            .body(body)
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
        {
            202 => accepted += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        limited > 0 && accepted >= 15,
        "accepted {accepted}, limited {limited}"
    );
    let ledger = service.settled().await;
    assert_eq!(ledger.dropped_rate_limit, limited);
    assert_eq!(ledger.dropped_too_large, 1);
    assert!(ledger.dropped_invalid >= 1);
    let stats = service.stats("24h").await;
    assert_eq!(
        stats["totals"]["views"].as_u64(),
        Some(accepted),
        "only what was accepted is counted"
    );
    drop(service);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_are_for_admins_only() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, spool.path(), &Options::default());
    assert_eq!(
        service
            .beacon(
                &id(1),
                "/comic/one",
                "10.5.0.1",
                FIREFOX,
                Some("https://news.ycombinator.com/item?id=1"),
                800
            )
            .await,
        202
    );
    service.settled().await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in [
        "/",
        "/api/stats",
        "/api/export.csv",
        "/api/realtime",
        "/api/ledger",
    ] {
        let status = plain
            .get(format!("{}{path}", service.address))
            .send()
            .await
            .expect("get")
            .status();
        assert_eq!(status, 401, "{path} is closed to anonymous readers");
    }
    // A forged or expired sign-in token is refused.
    let now = chrono::Utc::now().timestamp();
    let token_for = |secret: &str, user: i64, nonce: &str, at: i64| {
        halftone_protocol::token::sign_in_token(secret, user, nonce, at)
    };
    let expired = token_for(SECRET, 1, "old", now - 3600);
    let forged = token_for("not-the-shared-secret", 1, "forged", now);
    for token in [expired, forged] {
        let status = plain
            .get(format!("{}/auth?token={token}", service.address))
            .send()
            .await
            .expect("auth")
            .status();
        assert_eq!(status, 401);
    }
    // The site's signed token opens a session cookie — once.
    let token = token_for(SECRET, 1, "n1", now);
    let signed_in = plain
        .get(format!("{}/auth?token={token}", service.address))
        .send()
        .await
        .expect("auth");
    assert_eq!(signed_in.status(), 303);
    let replayed = plain
        .get(format!("{}/auth?token={token}", service.address))
        .send()
        .await
        .expect("auth");
    assert_eq!(replayed.status(), 401, "a sign-in link works once");
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap_or("").to_owned();
    let page = plain
        .get(format!("{}/?range=24h", service.address))
        .header("cookie", &session)
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        csp.contains("script-src 'nonce-") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.headers().contains_key("permissions-policy"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce")
        .to_owned();
    let html = page.text().await.unwrap_or_default();
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\">")),
        "the inline script carries the nonce"
    );
    assert!(!html.contains(" style=\""), "no inline style attributes");
    assert!(
        html.contains("<svg") && html.contains("news.ycombinator.com") && html.contains("per day"),
        "{html:.300}"
    );
    let csv = plain
        .get(format!("{}/api/export.csv", service.address))
        .header("cookie", &session)
        .send()
        .await
        .expect("csv");
    let csv = csv.text().await.unwrap_or_default();
    assert!(csv.starts_with("hour_utc,metric,value,count"));
    assert!(csv.contains(",views,,1\r\n"), "{csv}");
    // The realtime stream shows the visitor.
    let mut stream = plain
        .get(format!("{}/api/realtime", service.address))
        .header("cookie", &session)
        .send()
        .await
        .expect("sse");
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .expect("event in time")
        .expect("chunk")
        .expect("data");
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.starts_with("data: ") && text.contains("\"visitors\":1"),
        "{text}"
    );
    drop(stream);
    // The site says user 1 logged out: the session ends at once.
    let revoked = plain
        .post(format!("{}/api/revoke", service.address))
        .bearer_auth(SECRET)
        .json(&serde_json::json!({ "user": 1 }))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 204);
    let after = plain
        .get(format!("{}/api/stats?range=24h", service.address))
        .header("cookie", &session)
        .send()
        .await
        .expect("stats");
    assert_eq!(after.status(), 401, "the session ended with the site's");
    // Revoking needs the secret.
    let anonymous = plain
        .post(format!("{}/api/revoke", service.address))
        .json(&serde_json::json!({ "user": 1 }))
        .send()
        .await
        .expect("revoke");
    assert_eq!(anonymous.status(), 401);
    // /metrics answers this machine (the default allow-list), not the world.
    let metrics = plain
        .get(format!("{}/metrics", service.address))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200, "loopback may scrape");
    let from_afar = plain
        .get(format!("{}/metrics", service.address))
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .expect("metrics");
    assert_eq!(from_afar.status(), 401, "a reader behind the proxy may not");
    drop(service);
    db.drop_database().await;
}

/// The spool emptied by cleaning must not restart its numbering below the
/// database's mark: an idle spell after a restart, then another restart,
/// once lost every hit sent after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_after_an_idle_restart_and_another_restart_are_all_counted() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let options = Options {
        dedupe_secs: Some(1),
        ..Options::default()
    };
    async fn send(service: &Service, range: std::ops::Range<usize>) {
        for n in range {
            let status = service
                .beacon(&id(n), "/idle", "10.9.0.1", FIREFOX, None, 1440)
                .await;
            assert_eq!(status, 202);
        }
    }
    let service = Service::start(&db, spool.path(), &options);
    send(&service, 0..100).await;
    let (status, _) = service.sigterm();
    assert!(status.success());

    // Idle past the dedupe window: the cleaner may delete applied segments.
    let service = Service::start(&db, spool.path(), &options);
    service.settled().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, _) = service.sigterm();
    assert!(status.success());

    let service = Service::start(&db, spool.path(), &options);
    send(&service, 100..200).await;
    let ledger = service.settled().await;
    assert_eq!(ledger.committed, 100, "{ledger:?}\n{}", service.log());
    assert_eq!(db.stored_views().await, 200);
    let (status, _) = service.sigterm();
    assert!(status.success());

    // And once more, to be sure nothing is replayed or forgotten.
    let service = Service::start(&db, spool.path(), &options);
    send(&service, 200..250).await;
    service.settled().await;
    assert_eq!(db.stored_views().await, 250);
    drop(service);

    // A replaced spool volume (empty directory, same database) starts a
    // sequence of its own: nothing it takes hides under the old mark.
    let fresh = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, fresh.path(), &options);
    send(&service, 1000..1030).await;
    service.settled().await;
    assert_eq!(db.stored_views().await, 280);
    drop(service);
    db.drop_database().await;
}

/// The site posts events in batches of up to 500 with a 5-s timeout: one
/// group commit per request keeps a batch well inside it, and a backlog drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_batches_are_stored_within_the_timeout_and_a_backlog_drains() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(&db, spool.path(), &Options::default());
    let batch = |from: usize| {
        serde_json::Value::Array(
            (from..from + 500)
                .map(|n| serde_json::json!({ "id": format!("event-{n:08}"), "kind": "search", "query": format!("word{}", n % 7) }))
                .collect(),
        )
    };
    let mut slowest = Duration::ZERO;
    for start in (0..20_000).step_by(500) {
        let (status, took) = service.events(&batch(start)).await;
        assert_eq!(status, 202);
        slowest = slowest.max(took);
    }
    assert!(
        slowest < Duration::from_secs(5),
        "a 500-event batch took {slowest:?}"
    );
    // The same batch again (a retry after a lost answer) is all duplicates, as fast.
    let (status, took) = service.events(&batch(0)).await;
    assert_eq!(status, 202);
    assert!(took < Duration::from_secs(5));
    let ledger = service.settled().await;
    assert_eq!(ledger.committed, 20_000, "{ledger:?}");
    assert_eq!(ledger.duplicates, 500);
    let stats = service.stats("24h").await;
    assert_eq!(stats["totals"]["searches"], 20_000);
    drop(service);
    db.drop_database().await;
}

/// A record damaged on disk in the middle of a segment is skipped and
/// counted; the acknowledged records after it are all counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_mid_segment_loses_only_itself() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let slow = Options {
        flush_ms: 600_000,
        ..Options::default()
    };
    let service = Service::start(&db, spool.path(), &slow);
    for n in 0..100 {
        assert_eq!(
            service
                .beacon(&id(n), "/dmg", "10.8.0.1", FIREFOX, None, 1440)
                .await,
            202
        );
    }
    service.sigkill();
    let segment = std::fs::read_dir(spool.path())
        .expect("spool")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&segment, &bytes).expect("write");

    let service = Service::start(&db, spool.path(), &Options::default());
    let ledger = service.settled().await;
    assert_eq!(db.stored_views().await, 99, "{ledger:?}\n{}", service.log());
    assert_eq!(ledger.damaged, 1, "{ledger:?}");
    assert!(service.log().contains("damaged records in the spool"));
    drop(service);
    db.drop_database().await;
}

/// Behind our proxy, X-Forwarded-For is "what the client wrote, …, what our
/// proxy saw": only the last part is believed, so a sender cannot choose its
/// visitor hash or its rate-limit key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_for_does_not_choose_the_visitor() {
    let db = TestDb::new().await;
    let spool = tempfile::tempdir().expect("tmp");
    let service = Service::start(
        &db,
        spool.path(),
        &Options {
            rate_limit: 2,
            ..Options::default()
        },
    );
    // One reader (198.51.100.7 as our proxy saw it) writing a new address
    // in front each time, as a counter-inflating script would.
    let mut accepted = 0;
    for n in 0..12 {
        let chain = format!("6.6.6.{n}, 198.51.100.7");
        if service
            .beacon(&id(n), "/forged", &chain, FIREFOX, None, 1440)
            .await
            == 202
        {
            accepted += 1;
        }
    }
    // The rate limit (2/s, burst 6) applies to the real address.
    assert!(
        accepted <= 7,
        "{accepted} accepted: the limit keyed on forged addresses"
    );
    service.settled().await;
    let stats = service.stats("24h").await;
    assert_eq!(
        stats["totals"]["uniques"], 1,
        "one visitor, whatever it wrote"
    );
    drop(service);
    db.drop_database().await;
}
