//! The editor: websocket autosave protocol, conflicts, revisions, preview,
//! uploads, and publishing or scheduling to the reader's site.

use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::common::admin::{draft, next_json, send_json, Admin};
use crate::common::{png_bytes, spawn_app, spawn_app_with, TestApp};

async fn site_with_owner() -> (TestApp, Admin) {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 2, 0).await;
    let admin = app.owner().await;
    (app, admin)
}

#[tokio::test]
async fn autosave_stores_revisions_and_refuses_stale_ones() {
    let (_app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["revision"], 0);
    assert_eq!(hello["draft"]["title"], "Untitled page");

    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("First", "first", "one") }),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({ "type": "saved", "seq": 1, "revision": 1 })
    );
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 2, "base": 1, "draft": draft("First", "first", "one two") }),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["revision"], 2);

    // A save based on revision 1 (another tab that missed revision 2).
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 3, "base": 1, "draft": draft("Other", "first", "stale") }),
    )
    .await;
    let conflict = next_json(&mut ws).await;
    assert_eq!(conflict["type"], "conflict");
    assert_eq!(conflict["revision"], 2);
    assert_eq!(
        conflict["draft"]["transcript"], "one two",
        "the server keeps the newer text and says what it is"
    );

    // Nothing was overwritten; history has both revisions.
    let history = admin.page(&format!("/admin/pages/{page}/revisions")).await;
    assert!(history.contains("#2") && history.contains("#1"));
}

#[tokio::test]
async fn bad_messages_get_clear_errors_and_the_connection_stays_usable() {
    let (_app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;

    ws.send(Message::Text("this is not json".into()))
        .await
        .expect("send");
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["type"], "bad_message");
    assert!(reply["message"]
        .as_str()
        .expect("text")
        .contains("Not a message"));

    send_json(&mut ws, json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("x", "x", &"a".repeat(600 * 1024)) })).await;
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["type"], "bad_message");
    assert!(
        reply["message"].as_str().expect("text").contains("limit"),
        "{reply}"
    );

    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 2, "base": 0, "draft": draft("", "Bad Slug!", "") }),
    )
    .await;
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["type"], "invalid");
    let fields: Vec<&str> = reply["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["title", "slug"]);

    send_json(&mut ws, json!({ "type": "save", "seq": 3, "base": 0, "draft": { "title": "t", "slug": "t", "sneaky": true } })).await;
    assert_eq!(next_json(&mut ws).await["type"], "bad_message");

    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .expect("send");
    assert_eq!(next_json(&mut ws).await["type"], "bad_message");

    // Still open and working.
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 4, "base": 0, "draft": draft("Fine", "fine", "ok") }),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "saved");
}

#[tokio::test]
async fn a_dropped_connection_reconnects_and_resends() {
    let (_app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;
    send_json(&mut ws, json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("Draft", "draft", "before the drop") })).await;
    assert_eq!(next_json(&mut ws).await["revision"], 1);
    drop(ws);

    // The editor kept typing offline; on reconnect it learns the newest
    // revision and resends what it had, based on the revision it knew.
    let mut ws = admin.ws(page).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["revision"], 1);
    assert_eq!(hello["draft"]["transcript"], "before the drop");
    send_json(&mut ws, json!({ "type": "save", "seq": 1, "base": 1, "draft": draft("Draft", "draft", "typed while offline") })).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({ "type": "saved", "seq": 1, "revision": 2 })
    );
}

#[tokio::test]
async fn the_server_restarting_keeps_every_saved_word() {
    let (mut app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;
    send_json(&mut ws, json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("Restart", "restart", "saved before") })).await;
    assert_eq!(next_json(&mut ws).await["type"], "saved");
    app.stop().await;
    app.start_again().await;
    let mut ws = admin.ws(page).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["draft"]["transcript"], "saved before");
    send_json(&mut ws, json!({ "type": "save", "seq": 2, "base": 1, "draft": draft("Restart", "restart", "saved after") })).await;
    assert_eq!(next_json(&mut ws).await["revision"], 2);
}

#[tokio::test]
async fn other_editors_see_saves_live() {
    let (app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut alice = admin.ws(page).await;
    next_json(&mut alice).await;
    // The second editor is on another app node when Redis is configured.
    let node_b = if crate::common::redis_url().is_some() {
        Some(app.second_node().await)
    } else {
        None
    };
    let bob_admin = match &node_b {
        Some(node) => Admin {
            base: node.address.clone(),
            client: admin.client.clone(),
            jar: admin.jar.clone(),
            csrf: admin.csrf.clone(),
        },
        None => Admin {
            base: admin.base.clone(),
            client: admin.client.clone(),
            jar: admin.jar.clone(),
            csrf: admin.csrf.clone(),
        },
    };
    let mut bob = bob_admin.ws(page).await;
    next_json(&mut bob).await;
    // Let the second node's Redis subscription settle.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    send_json(&mut alice, json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("Live", "live", "from alice") })).await;
    assert_eq!(next_json(&mut alice).await["type"], "saved");
    let remote = next_json(&mut bob).await;
    assert_eq!(remote["type"], "remote");
    assert_eq!(remote["revision"], 1);
    assert_eq!(remote["draft"]["transcript"], "from alice");

    // Bob, not knowing yet, saves on revision 0: refused, and Alice is told.
    send_json(
        &mut bob,
        json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("Live", "live", "from bob") }),
    )
    .await;
    assert_eq!(next_json(&mut bob).await["type"], "conflict");
    assert_eq!(next_json(&mut alice).await["type"], "conflict_elsewhere");
}

#[tokio::test]
async fn websockets_check_origin_and_session() {
    let (app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let foreign = admin.ws_with_origin(page, "https://evil.example").await;
    assert!(
        matches!(foreign, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 403),
        "{foreign:?}"
    );
    // Logged out elsewhere: the open socket stops accepting saves.
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;
    sqlx::query("DELETE FROM sessions")
        .execute(app.db.pool())
        .await
        .expect("delete sessions");
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("x", "x", "x") }),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "session_ended");
}

#[tokio::test]
async fn a_database_outage_is_reported_and_retryable() {
    let (app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;
    app.db.close().await;
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("x", "x", "x") }),
    )
    .await;
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["retry"], true);
    assert!(reply["message"].as_str().expect("text").contains("kept"));
}

#[tokio::test]
async fn revisions_can_be_viewed_and_restored() {
    let (_app, admin) = site_with_owner().await;
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;
    send_json(&mut ws, json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("Good", "good", "the good text") })).await;
    next_json(&mut ws).await;
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 2, "base": 1, "draft": draft("Oops", "good", "a mistake") }),
    )
    .await;
    next_json(&mut ws).await;
    assert!(admin
        .page(&format!("/admin/pages/{page}/revisions/1"))
        .await
        .contains("the good text"));
    let restored = admin
        .post(&format!("/admin/pages/{page}/revisions/1/restore"), &[])
        .await;
    assert!(admin
        .follow(restored)
        .await
        .contains("restored as revision 3"));
    // The open editor is told.
    let remote = next_json(&mut ws).await;
    assert_eq!(
        (remote["type"].as_str(), remote["revision"].as_i64()),
        (Some("remote"), Some(3))
    );
    assert_eq!(remote["draft"]["transcript"], "the good text");
}

async fn upload(admin: &Admin, bytes: Vec<u8>, name: &str, with_csrf: bool) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let mut request = admin.client.post(admin.url("/admin/media")).multipart(form);
    if with_csrf {
        request = request.header("X-CSRF-Token", &admin.csrf);
    }
    request.send().await.expect("upload")
}

#[tokio::test]
async fn uploads_accept_images_and_explain_refusals() {
    let app = spawn_app_with(|c| c.admin.max_upload_bytes = 200_000).await;
    crate::common::seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;

    let good = upload(&admin, png_bytes(300, 400, 3), "page.png", true).await;
    assert_eq!(good.status(), 201);
    let body: serde_json::Value = good.json().await.expect("json");
    assert!(body["media_id"].as_i64().is_some());
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(300), Some(400))
    );
    assert_eq!(
        admin
            .get(body["thumb"].as_str().expect("thumb"))
            .await
            .status(),
        200
    );

    let broken = upload(&admin, b"GIF89a not really".to_vec(), "broken.gif", true).await;
    assert_eq!(broken.status(), 422);
    let message = broken.json::<serde_json::Value>().await.expect("json")["error"]
        .as_str()
        .expect("error")
        .to_owned();
    assert!(message.starts_with("broken.gif:"), "{message}");

    let text = upload(&admin, b"hello".to_vec(), "notes.txt", true).await;
    assert!(
        text.json::<serde_json::Value>().await.expect("json")["error"]
            .as_str()
            .expect("e")
            .contains("not a supported image")
    );

    let huge = upload(&admin, vec![0u8; 300_000], "huge.png", true).await;
    assert_eq!(huge.status(), 413);

    assert_eq!(
        upload(&admin, png_bytes(10, 10, 1), "x.png", false)
            .await
            .status(),
        403
    );
    let empty = admin
        .client
        .post(admin.url("/admin/media"))
        .header("X-CSRF-Token", &admin.csrf)
        .multipart(reqwest::multipart::Form::new().text("other", "x"))
        .send()
        .await
        .expect("post");
    assert_eq!(empty.status(), 400);
}

/// Autosaves a draft with an uploaded image and returns the page id.
async fn drafted_page(admin: &Admin, title: &str, slug: &str) -> i64 {
    let page = admin.new_page().await;
    let uploaded: serde_json::Value = upload(admin, png_bytes(200, 300, 9), "p.png", true)
        .await
        .json()
        .await
        .expect("json");
    let mut d = draft(title, slug, "the transcript");
    d["images"] = json!([{ "media_id": uploaded["media_id"], "alt": "the alt text" }]);
    d["tags"] = json!(["fresh"]);
    let mut ws = admin.ws(page).await;
    next_json(&mut ws).await;
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 1, "base": 0, "draft": d }),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "saved");
    page
}

#[tokio::test]
async fn publishing_applies_the_newest_draft_and_preview_shows_it_first() {
    let (app, admin) = site_with_owner().await;
    let page = drafted_page(&admin, "Brand New", "brand-new").await;
    assert_eq!(
        app.get("/comic/brand-new").await.status(),
        404,
        "a draft is private"
    );
    let preview = admin.page(&format!("/admin/pages/{page}/preview")).await;
    assert!(preview.contains("Brand New") && preview.contains("Preview of the newest draft"));
    assert!(preview.contains("alt=\"the alt text\""));

    // Publishing with a stale revision is refused.
    let stale = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "now"), ("revision", "0")],
        )
        .await;
    assert!(admin
        .follow(stale)
        .await
        .contains("changed since you opened it"));
    let ok = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "now"), ("revision", "1")],
        )
        .await;
    assert!(admin.follow(ok).await.contains("Published"));
    let live = app.page("/comic/brand-new").await;
    assert!(live.contains("the transcript") && live.contains("/tag/fresh"));
    assert!(app.page("/feed.xml").await.contains("Brand New"));

    let off = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "unpublish"), ("revision", "1")],
        )
        .await;
    assert!(admin.follow(off).await.contains("Unpublished"));
    assert_eq!(app.get("/comic/brand-new").await.status(), 404);
}

#[tokio::test]
async fn a_page_scheduled_a_second_ahead_appears_after_its_time_not_before() {
    let (app, admin) = site_with_owner().await;
    let page = drafted_page(&admin, "Soon", "soon").await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let value = at.format("%Y-%m-%dT%H:%M:%S").to_string(); // the site's zone is UTC
    let r = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "schedule"), ("revision", "1"), ("at", &value)],
        )
        .await;
    assert!(admin.follow(r).await.contains("Scheduled for"));
    assert_eq!(app.get("/comic/soon").await.status(), 404);
    assert!(!app.page("/feed.xml").await.contains("Soon"));
    assert!(
        admin.page("/admin").await.contains("Soon"),
        "the dashboard lists what goes live next"
    );

    let wait = (at.timestamp() + 1 - chrono::Utc::now().timestamp()).max(0) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
    // Visible within one cache TTL (1 s in tests) of its time; allow a
    // loaded machine a little more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while app.get("/comic/soon").await.status() != 200 {
        assert!(std::time::Instant::now() < deadline, "never appeared");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    while !app.page("/feed.xml").await.contains("Soon") {
        assert!(std::time::Instant::now() < deadline, "never in the feed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let past = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[
                ("action", "schedule"),
                ("revision", "1"),
                ("at", "2001-01-01T10:00"),
            ],
        )
        .await;
    assert!(admin.follow(past).await.contains("That time has passed"));
}

#[tokio::test]
async fn one_session_cannot_open_editor_sockets_without_end() {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    let page = admin.new_page().await;
    let mut open = Vec::new();
    for _ in 0..halftone::admin::ws::MAX_PER_SESSION {
        open.push(admin.ws(page).await);
    }
    let refused = admin.ws_with_origin(page, &admin.base).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("the ninth socket was not refused: {:?}", other.map(|_| ())),
    }
    // Closing one frees a place.
    let mut first = open.remove(0);
    first.close(None).await.expect("close");
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(socket) = admin.ws_with_origin(page, &admin.base).await {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a closed socket gives its place back");
}
