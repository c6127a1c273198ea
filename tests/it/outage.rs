//! The site when its dependencies fail: a stalled database (MariaDB frozen,
//! SQLite's file locked by another process) and a Redis that was down when
//! the node started.

use std::time::{Duration, Instant};

use crate::common::proxy::Proxy;
use crate::common::stall::spawn_stallable_app;
use crate::common::{seed_pages, spawn_app_with};

fn x_cache(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn with_the_database_stalled_expired_pages_are_served_at_once_after_the_first_failure() {
    let stallable = spawn_stallable_app(|_| {}).await;
    let app = &stallable.app;
    seed_pages(app, 4, 0).await;
    for i in 1..=4 {
        assert_eq!(app.get(&format!("/comic/p{i}")).await.status(), 200);
    }
    let stall = stallable.stall();
    // Past the TTL and the stale window: every page needs a render.
    tokio::time::sleep(Duration::from_millis(3200)).await;

    // The first request finds out the hard way (it waits for the database).
    let first = app.get("/comic/p1").await;
    assert_eq!(first.status(), 200);
    assert_eq!(x_cache(&first), "fallback");

    // Everyone after it gets the last good copy at once, other pages too.
    for path in [
        "/comic/p2",
        "/comic/p3",
        "/comic/p1",
        "/comic/p4",
        "/comic/p2",
    ] {
        let started = Instant::now();
        let response = app.get(path).await;
        let took = started.elapsed();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(x_cache(&response), "fallback", "{path}");
        assert!(
            took < Duration::from_millis(50),
            "{path} took {took:?} with the database known to be down"
        );
    }

    // The database comes back: a background probe notices, pages are fresh again.
    drop(stall);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let response = app.get("/comic/p3").await;
        if response.status() == 200 && x_cache(&response) != "fallback" {
            break;
        }
        assert!(Instant::now() < deadline, "pages never rendered again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_stalled_database_answers_503_with_retry_after_and_readyz_fails() {
    let stallable = spawn_stallable_app(|c| c.database.acquire_timeout_ms = 2000).await;
    let app = &stallable.app;
    seed_pages(app, 2, 0).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let _stall = stallable.stall();
    // Taking the lock can take seconds (the node's heartbeat reads too), as
    // long as the server's keep-alive: a pooled connection may be closing
    // just as it is reused. A new connection, as a browser would retry.
    let fresh = reqwest::Client::new();
    // Never rendered, so no copy to fall back on: the database's answer counts.
    let response = fresh
        .get(app.url("/comic/p2"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        503,
        "a locked or frozen database is unavailable, not broken"
    );
    assert_eq!(response.headers()["retry-after"], "5");
    let ready = fresh.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(
        ready.status(),
        503,
        "readyz must read the database, not just ping it"
    );
    let health = fresh
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_node_started_without_redis_publishes_once_redis_returns() {
    let Some(url) = crate::common::redis_url() else {
        return;
    };
    let target = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = Proxy::start(target).await;
    proxy.cut();
    let proxied = format!("redis://127.0.0.1:{}", proxy.port);
    // Node A starts while its Redis is unreachable.
    let a = spawn_app_with(move |c| c.redis_url = Some(proxied.into())).await;
    // Node B shares A's database and Redis namespace, straight to Redis.
    let b = a
        .second_node_with(|c| c.redis_url = Some(url.clone().into()))
        .await;
    let mut seen_on_b = b.state.events.subscribe();

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        a.state.content_changed().await;
        let got = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match seen_on_b.recv().await {
                    Ok(event) if event.topic == "content" => return true,
                    Ok(_) => continue,
                    Err(_) => return false,
                }
            }
        })
        .await
        .unwrap_or(false);
        if got {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "node A never published to Redis after it came back"
        );
    }
}
