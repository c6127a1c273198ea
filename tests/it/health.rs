use crate::common::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_when_all_is_well() {
    let app = spawn_app().await;
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready"));
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
