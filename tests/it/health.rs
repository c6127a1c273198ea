use crate::common::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_when_all_is_well() {
    let app = spawn_app().await;
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["ready"], true);
    assert_eq!(body["node"], app.state.node.id.as_str());
}

#[tokio::test]
async fn readyz_says_not_ready_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    // The process itself is still up.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let a = app.get("/healthz").await;
    let b = app.get("/healthz").await;
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap_or("").to_owned())
    };
    assert!(id(&a).is_some_and(|v| v.len() >= 16));
    assert_ne!(id(&a), id(&b));
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_everywhere() {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 2, 1).await;
    let page = crate::common::html(&app.page("/comic/p1").await);
    let image = crate::common::select_attr(&page, ".comic-images img", "src")
        .into_iter()
        .next()
        .expect("an image");
    let stylesheet = crate::common::select_attr(&page, "link[rel=stylesheet]", "href")
        .into_iter()
        .next()
        .expect("a stylesheet");
    for path in [
        "/",
        "/comic/p1",
        "/archive",
        "/feed.xml",
        "/atom.xml",
        "/sitemap.xml",
        "/healthz",
        "/readyz",
        image.as_str(),
        stylesheet.as_str(),
        "/no-such-page",
    ] {
        let get = app.client.get(app.url(path)).send().await.expect("get");
        let head = app.client.head(app.url(path)).send().await.expect("head");
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        // (reqwest's content_length() is the body's, always 0 for HEAD.)
        let length = head
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = get.bytes().await.expect("get body");
        assert_eq!(
            length,
            Some(body.len()),
            "HEAD {path} announces the GET body's length"
        );
        assert!(
            head.bytes().await.expect("head body").is_empty(),
            "HEAD {path} has no body"
        );
    }
}

#[tokio::test]
async fn metrics_are_for_this_machine_unless_a_token_is_set() {
    let app = crate::common::spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    assert_eq!(
        app.get("/metrics").await.status(),
        200,
        "loopback may scrape"
    );
    let from_afar = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .expect("get");
    assert_eq!(from_afar.status(), 401, "a reader behind our proxy may not");
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = crate::common::spawn_app_with(|c| {
        c.analytics.url = Some("https://stats.example.com".parse().expect("url"));
    })
    .await;
    crate::common::seed_pages(&app, 1, 0).await;
    for path in [
        "/",
        "/comic/p1",
        "/archive",
        "/admin/login",
        "/no-such-page",
        "/feed.xml",
    ] {
        let response = app.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("style-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'self'"), "{path}: {csp}");
        assert!(
            csp.contains("connect-src 'self' https://stats.example.com"),
            "the beacon may reach analytics: {csp}"
        );
        assert!(header("permissions-policy").contains("camera=()"), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "SAMEORIGIN", "{path}");
        assert_eq!(
            header("strict-transport-security"),
            "",
            "no HSTS over plain http"
        );
    }
    let https = crate::common::spawn_app_with(|c| {
        c.public_url = "https://comic.example/".parse().expect("url");
    })
    .await;
    let response = https.get("/healthz").await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

/// A node going down drains first: `/readyz` turns 503 so the balancer
/// moves readers away while pages still answer, and open editor websockets
/// are told to reconnect (code 1012, "reconnect") — to another node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_is_unready_and_sends_editors_elsewhere() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::Message;

    let app = spawn_app().await;
    crate::common::seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    let page = admin.new_page().await;
    let mut socket = admin.ws(page).await;
    let hello = crate::common::admin::next_json(&mut socket).await;
    assert_eq!(hello["type"], "hello");

    app.state.begin_draining();
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("\"draining\""), "{body}");
    assert_eq!(app.get("/healthz").await.status(), 200, "still alive");
    assert_eq!(app.get("/").await.status(), 200, "still serving readers");

    let reconnect = crate::common::admin::next_json(&mut socket).await;
    assert_eq!(reconnect["type"], "reconnect", "{reconnect}");
    let close = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .expect("a close frame in time");
    match close {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Restart);
            assert_eq!(frame.reason.as_str(), "reconnect");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// `halftone serve` on SIGTERM: unready at once, serving for the drain
/// time, then it exits cleanly (status 0) and the port is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_exits_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut command = std::process::Command::new(crate::common::halftone_bin());
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("HALFTONE_DATA_DIR", dir.path())
        .env("HALFTONE_BIND", format!("127.0.0.1:{port}"))
        .env("HALFTONE_SHUTDOWN_DRAIN_MS", "1500")
        .env("HALFTONE_LOG", "warn")
        .env_remove("HALFTONE_DATABASE_URL")
        .env_remove("HALFTONE_REDIS_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = crate::common::ChildGuard(command.spawn().expect("spawn serve"));
    let client = reqwest::Client::new();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let mut up = false;
    for _ in 0..150 {
        if let Ok(r) = client.get(url("/readyz")).send().await {
            if r.status() == 200 {
                up = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "serve came up");
    let pid = child.0.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = std::time::Instant::now();
    let mut saw_draining = false;
    while started.elapsed() < std::time::Duration::from_millis(1000) {
        if let Ok(r) = client.get(url("/readyz")).send().await {
            if r.status() == 503 && r.text().await.unwrap_or_default().contains("\"draining\"") {
                saw_draining = true;
                let home = client
                    .get(url("/"))
                    .send()
                    .await
                    .expect("home while draining");
                assert_eq!(
                    home.status(),
                    200,
                    "readers are still served while draining"
                );
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(saw_draining, "readyz said draining after SIGTERM");
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = child.0.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = status.expect("serve exited after the drain");
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1400),
        "it drained for the configured time first"
    );
    assert!(
        client.get(url("/healthz")).send().await.is_err(),
        "the port is closed"
    );
}
