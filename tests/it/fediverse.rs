//! The comic on the fediverse, against a real ActivityPub server: Fedify
//! (from npm; `tests/fediverse/peer.mjs` gives it one reader actor and a
//! control API). Fedify looks Halftone's actor up, follows it, verifies
//! every signature Halftone sends with its own HTTP Signatures code, and
//! sends replies, likes, undos and deletes signed its own way (RFC 9421
//! first, then the draft Mastodon speaks: "double-knocking").
//!
//! Without Node and `tests/fediverse/node_modules` (`npm ci` there) these
//! tests skip, unless `HALFTONE_TEST_FEDIVERSE=required` (CI) makes that a
//! failure. The protocol checks that need no peer (WebFinger, NodeInfo, the
//! outbox, forged and oversized posts, blocked servers) always run.
//! SQLite and MariaDB.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use halftone::auth::Role;
use serde_json::{json, Value};

use crate::common::admin::PASSWORD;
use crate::common::{free_ports, page, spawn_app_with, ChildGuard, TestApp, WriteAs};

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fediverse")
}

/// Node and the peers are here, or the test skips (fails when required).
/// The first test to need them runs `npm ci` in `tests/fediverse` (the
/// pinned versions of the lock file) when Node and npm are installed.
fn peer_available(test: &str) -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ready = *INSTALLED.get_or_init(|| {
        let have = |tool: &str| {
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !have("node") {
            return false;
        }
        let modules = peer_dir().join("node_modules");
        let installed =
            || modules.join("@fedify/fedify").is_dir() && modules.join("@atproto/pds").is_dir();
        if !installed() && have("npm") {
            eprintln!("installing the fediverse peers: npm ci in tests/fediverse");
            let _ = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(peer_dir())
                .status();
        }
        installed()
    });
    if ready {
        return true;
    }
    let required = std::env::var("HALFTONE_TEST_FEDIVERSE").is_ok_and(|v| v == "required");
    assert!(
        !required,
        "{test}: needs node, npm and `npm ci` in tests/fediverse (HALFTONE_TEST_FEDIVERSE=required)"
    );
    eprintln!("skipping {test}: no node or no tests/fediverse/node_modules");
    false
}

/// A Fedify server with one actor, on its own port.
struct Peer {
    _child: ChildGuard,
    base: String,
    name: String,
    client: reqwest::Client,
}

impl Peer {
    async fn start(port: u16, name: &str) -> Peer {
        let child = Command::new("node")
            .arg(peer_dir().join("peer.mjs"))
            .arg(port.to_string())
            .arg(name)
            .current_dir(peer_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Fedify peer");
        let peer = Peer {
            _child: ChildGuard(child),
            base: format!("http://127.0.0.1:{port}"),
            name: name.to_owned(),
            client: reqwest::Client::new(),
        };
        wait_until(
            "the Fedify peer listens",
            Duration::from_secs(30),
            || async {
                peer.client
                    .get(format!("{}/control/log", peer.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
        peer
    }

    fn actor(&self) -> String {
        format!("{}/users/{}", self.base, self.name)
    }

    async fn control(&self, what: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/control/{what}", self.base))
            .json(&body)
            .send()
            .await
            .expect("control the peer");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "peer {what}: {status} {text}");
        serde_json::from_str(&text).expect("json")
    }

    async fn received(&self) -> Vec<Value> {
        self.control("log", json!({})).await["received"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Activities of a type whose object (id or embedded) names `object`.
    async fn received_about(&self, kind: &str, object: &str) -> Vec<Value> {
        self.received()
            .await
            .into_iter()
            .filter(|a| a["type"] == kind && object_id(&a["json"]) == Some(object.to_owned()))
            .collect()
    }
}

fn object_id(activity: &Value) -> Option<String> {
    let object = &activity["object"];
    object
        .as_str()
        .or_else(|| object["id"].as_str())
        .map(str::to_owned)
}

async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn fediverse_app() -> TestApp {
    spawn_app_with(|c| {
        c.fediverse.allow_private_peers = true;
        c.fediverse.check_secs = 1;
        c.fediverse.retry_min_secs = 1;
        c.fediverse.retry_max_secs = 1;
    })
    .await
}

async fn primary_slug(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT slug FROM series ORDER BY position, id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .expect("series")
}

async fn page_id(app: &TestApp, slug: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM pages WHERE slug = ?")
        .bind(slug)
        .fetch_one(app.db.pool())
        .await
        .expect("page id")
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(app.db.pool())
        .await
        .expect(sql)
}

/// Publishes a page live now (as the editor's "publish now" does).
async fn publish(app: &TestApp, slug: &str, title: &str, warning: &str) {
    let mut new = page(app, slug, title, None, halftone::db::now());
    new.content_warning = warning.to_owned();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![new],
    )
    .await;
}

async fn follow(app: &TestApp, peer: &Peer, actor: &str) -> String {
    let follow = peer.control("follow", json!({ "actor": actor })).await;
    let follow_id = follow["id"].as_str().expect("follow id").to_owned();
    wait_until(
        "the peer has our Accept",
        Duration::from_secs(15),
        || async { !peer.received_about("Accept", &follow_id).await.is_empty() },
    )
    .await;
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM ap_followers WHERE actor = ?",
            &peer.actor()
        )
        .await,
        1
    );
    follow_id
}

#[tokio::test]
async fn a_fediverse_reader_follows_and_gets_pages_edits_deletions_and_is_heard() {
    if !peer_available("fediverse follow") {
        return;
    }
    let app = fediverse_app().await;
    crate::common::seed_pages(&app, 2, 0).await;
    let slug = primary_slug(&app).await;
    let ids = &app.state.fediverse.ids;
    let actor = ids.actor(&slug);

    // WebFinger finds the actor the way Mastodon's search does.
    let finger: Value = app
        .get(&format!(
            "/.well-known/webfinger?resource=acct:{slug}@127.0.0.1:{}",
            app.port
        ))
        .await
        .json()
        .await
        .expect("jrd");
    let links = finger["links"].as_array().expect("links");
    assert!(links.iter().any(|l| l["rel"] == "self"
        && l["type"] == "application/activity+json"
        && l["href"] == actor.as_str()));

    let port = free_ports(1)[0];
    let peer = Peer::start(port, "reader").await;
    let follow_id = follow(&app, &peer, &actor).await;

    // Pages from before anyone followed are not pushed.
    let old = ids.note(halftone::comics::PageId(page_id(&app, "p1").await));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(peer.received_about("Create", &old).await.is_empty());

    // A page going live reaches the follower with its image and alt text.
    publish(&app, "storm", "The storm", "").await;
    let storm = ids.note(halftone::comics::PageId(page_id(&app, "storm").await));
    wait_until(
        "the new page reached the reader",
        Duration::from_secs(15),
        || async { !peer.received_about("Create", &storm).await.is_empty() },
    )
    .await;
    let create = peer.received_about("Create", &storm).await.remove(0)["json"].clone();
    let note = &create["object"];
    assert_eq!(note["type"], "Note");
    assert!(
        note["content"].as_str().unwrap_or("").contains("The storm"),
        "{note}"
    );
    let attachment = match &note["attachment"] {
        Value::Array(list) => list[0].clone(),
        one => one.clone(),
    };
    assert_eq!(attachment["name"], "alt of The storm", "{note}");
    let image = attachment["url"].as_str().expect("image url").to_owned();
    let image_path = image.trim_start_matches(&app.address);
    assert_eq!(
        app.get(image_path).await.status(),
        200,
        "the attachment is served"
    );
    assert_eq!(note["url"].as_str(), Some(app.url("/comic/storm").as_str()));

    // A content warning travels as `sensitive` + `summary`.
    publish(&app, "dark", "Dark night", "Spiders").await;
    let dark = ids.note(halftone::comics::PageId(page_id(&app, "dark").await));
    wait_until(
        "the warned page reached the reader",
        Duration::from_secs(15),
        || async { !peer.received_about("Create", &dark).await.is_empty() },
    )
    .await;
    let dark_note = peer.received_about("Create", &dark).await.remove(0)["json"]["object"].clone();
    assert_eq!(dark_note["sensitive"], true, "{dark_note}");
    assert_eq!(dark_note["summary"], "Spiders", "{dark_note}");

    // An edit sends an Update; an unpublish a Delete.
    let storm_id = page_id(&app, "storm").await;
    app.exec(
        "UPDATE pages SET title = 'The great storm' WHERE id = ?",
        &[storm_id],
    )
    .await;
    wait_until(
        "the edit reached the reader",
        Duration::from_secs(15),
        || async {
            peer.received_about("Update", &storm).await.iter().any(|u| {
                u["json"]["object"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("The great storm")
            })
        },
    )
    .await;
    let dark_id = page_id(&app, "dark").await;
    app.exec("UPDATE pages SET status = 'draft' WHERE id = ?", &[dark_id])
        .await;
    wait_until(
        "the unpublish reached the reader",
        Duration::from_secs(15),
        || async { !peer.received_about("Delete", &dark).await.is_empty() },
    )
    .await;
    // Each once: nothing was sent twice.
    assert_eq!(peer.received_about("Create", &storm).await.len(), 1);
    assert_eq!(peer.received_about("Update", &storm).await.len(), 1);

    // A scheduled page goes out when it goes live, with nothing else
    // happening then (no event, no request).
    let later = page(&app, "dawn", "Dawn", None, halftone::db::now() + 3);
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![later],
    )
    .await;
    let dawn = ids.note(halftone::comics::PageId(page_id(&app, "dawn").await));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        peer.received_about("Create", &dawn).await.is_empty(),
        "not before its time"
    );
    wait_until(
        "the scheduled page reached the reader",
        Duration::from_secs(15),
        || async { !peer.received_about("Create", &dawn).await.is_empty() },
    )
    .await;

    // A reply lands in the moderation queue; a like is counted.
    let reply = peer
        .control(
            "reply",
            json!({ "actor": actor, "note": storm, "text": "What a storm!" }),
        )
        .await;
    let reply_id = reply["id"].as_str().expect("reply id").to_owned();
    let (status, name, body, reason): (String, String, halftone::db::DbText, String) =
        sqlx::query_as("SELECT status, author_name, body, reason FROM comments WHERE source = ?")
            .bind(&reply_id)
            .fetch_one(app.db.pool())
            .await
            .expect("the reply is a comment");
    assert_eq!(status, "pending");
    assert_eq!(name, "Reader reader");
    assert_eq!(body.0, "What a storm!");
    assert!(
        reason.contains(&format!("@reader@127.0.0.1:{port}")),
        "{reason}"
    );
    app.create_user("owner@example.com", Role::Owner).await;
    let admin = app
        .login("owner@example.com", PASSWORD)
        .await
        .expect("login");
    let queue = admin.page("/admin/comments").await;
    assert!(
        queue.contains("What a storm!"),
        "the reply waits in the queue"
    );

    peer.control("like", json!({ "actor": actor, "note": storm }))
        .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ap_reactions WHERE kind = ?",
            "like"
        )
        .await,
        1
    );
    let fediverse_page = admin.page("/admin/fediverse").await;
    assert!(
        fediverse_page.contains("The great storm"),
        "likes shown per page"
    );
    assert!(
        fediverse_page.contains(&format!("@reader@127.0.0.1:{port}")),
        "the follower is listed"
    );

    // Its author deleting the reply withdraws it.
    peer.control("delete", json!({ "actor": actor, "id": reply_id }))
        .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM comments WHERE status = 'deleted' AND source = ?",
            &reply_id
        )
        .await,
        1
    );

    // Unfollowing (Undo of the Follow) removes the follower.
    peer.control("unfollow", json!({ "actor": actor, "follow": follow_id }))
        .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ap_followers WHERE actor = ?",
            &peer.actor()
        )
        .await,
        0
    );
}

#[tokio::test]
async fn forged_posts_are_refused_and_the_real_ones_are_not() {
    if !peer_available("fediverse forgery") {
        return;
    }
    let app = fediverse_app().await;
    crate::common::seed_pages(&app, 1, 0).await;
    let slug = primary_slug(&app).await;
    let ids = &app.state.fediverse.ids;
    let note = ids.note(halftone::comics::PageId(page_id(&app, "p1").await));
    let peer = Peer::start(free_ports(1)[0], "victim").await;
    let victim = peer.actor();
    let reply = |id: &str| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{victim}/forged/{id}"),
            "type": "Create",
            "actor": victim,
            "object": {
                "id": format!("{victim}/notes/{id}"),
                "type": "Note",
                "attributedTo": victim,
                "inReplyTo": note,
                "content": "<p>forged</p>",
            }
        })
        .to_string()
    };
    let inbox: url::Url = ids.inbox(&slug).parse().expect("inbox");
    let post = |body: String, headers: Vec<(&'static str, String)>| {
        let mut request = app
            .client
            .post(inbox.as_str())
            .header("content-type", "application/activity+json");
        for (name, value) in headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        async move {
            request
                .body(body)
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }
    };
    let now = halftone::db::now();

    // Unsigned.
    assert_eq!(post(reply("a"), vec![]).await, 401);
    // Signed with another key under the victim's key id.
    let (forger, _) = halftone::fediverse::signature::KeyPair::generate().expect("key");
    let key_id = format!("{victim}#main-key");
    let body = reply("b");
    let signed = halftone::fediverse::signature::sign_request(
        &forger,
        &key_id,
        "POST",
        &inbox,
        Some(body.as_bytes()),
        now,
    );
    assert_eq!(post(body, signed).await, 401);
    // A correctly signed body, changed on the way (the digest no longer matches).
    let body = reply("c");
    let signed = halftone::fediverse::signature::sign_request(
        &forger,
        &key_id,
        "POST",
        &inbox,
        Some(body.as_bytes()),
        now,
    );
    assert_eq!(post(reply("d"), signed).await, 401);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM comments WHERE source LIKE ?",
            &format!("{}/%", peer.base)
        )
        .await,
        0,
        "nothing forged was stored"
    );
    // The same reply really sent by the peer is taken.
    peer.control(
        "reply",
        json!({ "actor": ids.actor(&slug), "note": note, "text": "real" }),
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM comments WHERE source LIKE ?",
            &format!("{}/%", peer.base)
        )
        .await,
        1
    );
}

#[tokio::test]
async fn deliveries_resume_after_a_restart_and_each_follower_gets_a_page_once() {
    if !peer_available("fediverse restart") {
        return;
    }
    let mut app = fediverse_app().await;
    crate::common::seed_pages(&app, 1, 0).await;
    let slug = primary_slug(&app).await;
    let actor = app.state.fediverse.ids.actor(&slug);
    let ports = free_ports(2);
    let up = Peer::start(ports[0], "steady").await;
    let down = Peer::start(ports[1], "sleepy").await;
    follow(&app, &up, &actor).await;
    follow(&app, &down, &actor).await;

    // One follower's server goes away; a page goes live.
    drop(down);
    publish(&app, "wave", "The wave", "").await;
    let wave = app
        .state
        .fediverse
        .ids
        .note(halftone::comics::PageId(page_id(&app, "wave").await));
    wait_until(
        "the steady reader got the page",
        Duration::from_secs(15),
        || async { !up.received_about("Create", &wave).await.is_empty() },
    )
    .await;
    wait_until(
        "a delivery to the sleeper failed",
        Duration::from_secs(15),
        || async {
            count(
                &app,
                "SELECT COUNT(*) FROM ap_deliveries WHERE attempts > 0 AND status = ?",
                "queued",
            )
            .await
                > 0
        },
    )
    .await;

    // Halftone restarts; the sleeper comes back; the page reaches it.
    app.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let back = Peer::start(ports[1], "sleepy").await;
    app.start_again().await;
    wait_until(
        "the sleeper got the page after the restart",
        Duration::from_secs(20),
        || async { !back.received_about("Create", &wave).await.is_empty() },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(back.received_about("Create", &wave).await.len(), 1);
    assert_eq!(
        up.received_about("Create", &wave).await.len(),
        1,
        "no second copy after the restart"
    );
    let (done, total): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(CASE WHEN d.status = 'done' THEN 1 END), COUNT(*) FROM ap_deliveries d \
         JOIN ap_activities a ON a.id = d.activity_id WHERE a.kind = 'Create'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("deliveries");
    assert_eq!(
        (done, total),
        (2, 2),
        "one delivery per follower's server, both made"
    );
}

/// What needs no peer: discovery documents, the outbox, size limits,
/// blocked servers, unsigned posts, and the address checks that keep a
/// stranger from making the server call its own network.
#[tokio::test]
async fn discovery_outbox_and_refusals() {
    let app = spawn_app_with(|c| {
        c.fediverse.inbox_max_bytes = 4096;
        c.fediverse.inbox_burst = 3;
        c.fediverse.inbox_every_ms = 600_000;
    })
    .await;
    crate::common::seed_pages(&app, 25, 0).await;
    let slug = primary_slug(&app).await;
    let ids = &app.state.fediverse.ids;

    let actor: Value = app
        .client
        .get(ids.actor(&slug))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("actor")
        .json()
        .await
        .expect("json");
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], slug.as_str());
    assert_eq!(actor["inbox"], ids.inbox(&slug).as_str());
    assert_eq!(
        actor["endpoints"]["sharedInbox"],
        ids.shared_inbox().as_str()
    );
    assert!(actor["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap_or("")
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    // A browser visiting the actor goes to the comic.
    let html = app
        .client
        .get(ids.actor(&slug))
        .header("accept", "text/html")
        .send()
        .await
        .expect("actor as html");
    assert_eq!(html.status(), 302);

    assert_eq!(
        app.get("/.well-known/webfinger?resource=acct:nobody@127.0.0.1")
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/.well-known/webfinger").await.status(), 400);
    let nodeinfo: Value = app
        .get("/nodeinfo/2.1")
        .await
        .json()
        .await
        .expect("nodeinfo");
    assert_eq!(nodeinfo["protocols"][0], "activitypub");
    assert_eq!(nodeinfo["usage"]["localPosts"], 25);

    // The outbox: 25 pages, newest first, 20 a page.
    let outbox: Value = app
        .client
        .get(ids.outbox(&slug))
        .send()
        .await
        .expect("outbox")
        .json()
        .await
        .expect("json");
    assert_eq!(outbox["totalItems"], 25);
    let first: Value = app
        .client
        .get(format!("{}?page=1", ids.outbox(&slug)))
        .send()
        .await
        .expect("page")
        .json()
        .await
        .expect("json");
    let items = first["orderedItems"].as_array().expect("items");
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["type"], "Create");
    assert!(items[0]["object"]["url"]
        .as_str()
        .unwrap_or("")
        .ends_with("/comic/p25"));
    assert!(first["next"].is_string());

    // Oversized, unsigned, from a blocked server.
    let inbox = ids.shared_inbox();
    let big = app
        .client
        .post(&inbox)
        .body(vec![b' '; 5000])
        .send()
        .await
        .expect("post");
    assert_eq!(big.status(), 413);
    let unsigned = json!({"id": "https://peer.example/a", "type": "Follow", "actor": "https://peer.example/u", "object": ids.actor(&slug)});
    let refused = app
        .client
        .post(&inbox)
        .body(unsigned.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 401);
    app.exec_setting(halftone::fediverse::BLOCKED, "peer.example")
        .await;
    let blocked = app
        .client
        .post(&inbox)
        .body(unsigned.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(blocked.status(), 403);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM ap_followers WHERE actor <> ?",
            ""
        )
        .await,
        0
    );
    // A fourth post from the same network within the limit's window.
    let limited = app
        .client
        .post(&inbox)
        .body(unsigned.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}

impl TestApp {
    async fn exec_setting(&self, name: &str, value: &str) {
        halftone::comics::settings::save_all(&self.db, &[(name, value)])
            .await
            .expect("setting");
    }
}

/// A shared page link shows its share card: `og:image` names a card made
/// from the first panel with the comic's and the page's names, served as a
/// 1200×630 JPEG cached for a year; after a rename the old card address
/// leads to the new card.
#[tokio::test]
async fn pages_have_share_cards() {
    let app = spawn_app_with(|_| {}).await;
    crate::common::seed_pages(&app, 2, 0).await;
    let page = app.page("/comic/p2").await;
    let doc = crate::common::html(&page);
    let og = crate::common::select_attr(&doc, "meta[property='og:image']", "content");
    let card = og.first().expect("og:image").clone();
    assert!(card.contains("/card/") && card.ends_with(".jpg"), "{card}");
    assert_eq!(
        crate::common::select_attr(&doc, "meta[property='og:image:width']", "content"),
        vec!["1200".to_owned()]
    );
    // The page's ActivityPub note is linked for Mastodon's search.
    assert_eq!(
        crate::common::select_attr(
            &doc,
            "link[rel='alternate'][type='application/activity+json']",
            "href"
        )
        .len(),
        1
    );
    let path = card.trim_start_matches(&app.address).to_owned();
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap_or("")
        .contains("immutable"));
    let bytes = response.bytes().await.expect("card");
    let image = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!((image.width(), image.height()), (1200, 630));
    // Drawn once, then read back.
    let again = app.get(&path).await.bytes().await.expect("card");
    assert_eq!(bytes, again);

    let id = page_id(&app, "p2").await;
    app.exec("UPDATE pages SET title = 'Renamed' WHERE id = ?", &[id])
        .await;
    let moved = app.get(&path).await;
    assert_eq!(moved.status(), 302);
    let new_card = moved.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_ne!(new_card, path);
    assert_eq!(app.get(&new_card).await.status(), 200);
    assert_eq!(
        app.get("/card/999999/0123456789abcdef0123.jpg")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/card/{id}/nothex.jpg")).await.status(),
        404
    );
}

/// Bluesky's own PDS (and PLC directory) from npm, on two ports.
struct Pds {
    _child: ChildGuard,
    _dir: tempfile::TempDir,
    base: String,
    client: reqwest::Client,
}

impl Pds {
    async fn start() -> Pds {
        let ports = free_ports(2);
        let dir = tempfile::tempdir().expect("pds dir");
        let child = Command::new("node")
            .arg(peer_dir().join("pds.mjs"))
            .arg(ports[0].to_string())
            .arg(ports[1].to_string())
            .arg(dir.path())
            .current_dir(peer_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the PDS");
        let pds = Pds {
            _child: ChildGuard(child),
            _dir: dir,
            base: format!("http://127.0.0.1:{}", ports[1]),
            client: reqwest::Client::new(),
        };
        wait_until("the PDS listens", Duration::from_secs(60), || async {
            pds.client
                .get(format!("{}/xrpc/_health", pds.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        pds
    }

    async fn xrpc(&self, method: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/xrpc/{method}", self.base))
            .json(&body)
            .send()
            .await
            .expect("xrpc");
        let status = response.status();
        let value: Value = response.json().await.expect("json");
        assert!(status.is_success(), "{method}: {status} {value}");
        value
    }

    async fn posts(&self, did: &str) -> Vec<Value> {
        let value: Value = self
            .client
            .get(format!(
                "{}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post",
                self.base
            ))
            .send()
            .await
            .expect("listRecords")
            .json()
            .await
            .expect("json");
        value["records"].as_array().cloned().unwrap_or_default()
    }
}

/// New pages are posted to the creator's Bluesky account with their image
/// and alt text, once each (a post lost between "posted" and "marked done"
/// is rewritten, not doubled), and the admin shows where they went; pages
/// from before the account was set are not posted, and a wrong password is
/// retried and shown.
#[tokio::test]
async fn new_pages_are_posted_to_bluesky_once_with_their_images() {
    if !peer_available("bluesky") {
        return;
    }
    let pds = Pds::start().await;
    let account = pds
        .xrpc(
            "com.atproto.server.createAccount",
            json!({ "email": "comic@example.com", "handle": "comic.test", "password": "app-pass-1234" }),
        )
        .await;
    let did = account["did"].as_str().expect("did").to_owned();
    let service: url::Url = pds.base.parse().expect("url");
    let app = spawn_app_with(|c| {
        c.fediverse.check_secs = 1;
        c.fediverse.retry_min_secs = 1;
        c.fediverse.retry_max_secs = 1;
        c.crosspost.bluesky = Some(halftone::config::BlueskyConfig {
            service,
            identifier: "comic.test".to_owned(),
            app_password: "app-pass-1234".to_owned().into(),
        });
    })
    .await;
    crate::common::seed_pages(&app, 2, 0).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    publish(&app, "kite", "The kite", "Heights").await;
    wait_until(
        "the page is on Bluesky",
        Duration::from_secs(20),
        || async { !pds.posts(&did).await.is_empty() },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let posts = pds.posts(&did).await;
    assert_eq!(posts.len(), 1, "only the new page: {posts:?}");
    let post = &posts[0]["value"];
    let text = post["text"].as_str().unwrap_or("");
    assert!(
        text.contains("The kite") && text.contains("CW: Heights"),
        "{text}"
    );
    let link = app.url("/comic/kite");
    assert!(text.contains(&link));
    assert_eq!(post["facets"][0]["features"][0]["uri"], link.as_str());
    assert_eq!(post["labels"]["values"][0]["val"], "graphic-media");
    let image = &post["embed"]["images"][0];
    assert_eq!(image["alt"], "alt of The kite");
    let cid = image["image"]["ref"]["$link"].as_str().expect("blob cid");
    let blob = pds
        .client
        .get(format!(
            "{}/xrpc/com.atproto.sync.getBlob?did={did}&cid={cid}",
            pds.base
        ))
        .send()
        .await
        .expect("getBlob")
        .bytes()
        .await
        .expect("bytes");
    assert!(
        image::load_from_memory(&blob).is_ok(),
        "the uploaded image decodes"
    );

    // A node that died after posting, before marking the row: the retry
    // rewrites the same post.
    let uri: String = sqlx::query_scalar("SELECT remote_uri FROM crossposts WHERE status = 'done'")
        .fetch_one(app.db.pool())
        .await
        .expect("posted row");
    assert!(uri.starts_with(&format!("at://{did}/app.bsky.feed.post/")));
    sqlx::query("UPDATE crossposts SET status = 'queued', remote_uri = '', next_at = 0")
        .execute(app.db.pool())
        .await
        .expect("requeue");
    wait_until("the retry is done", Duration::from_secs(15), || async {
        count(
            &app,
            "SELECT COUNT(*) FROM crossposts WHERE status = ?",
            "done",
        )
        .await
            == 1
    })
    .await;
    assert_eq!(pds.posts(&did).await.len(), 1, "still one post");

    app.create_user("owner@example.com", Role::Owner).await;
    let admin = app
        .login("owner@example.com", PASSWORD)
        .await
        .expect("login");
    let page = admin.page("/admin/fediverse").await;
    assert!(
        page.contains("https://bsky.app/profile/"),
        "the admin links the post"
    );

    // A wrong password: retried, and the reason shown.
    let other = app
        .second_node_with(|c| {
            if let Some(b) = c.crosspost.bluesky.as_mut() {
                b.app_password = "wrong".to_owned().into();
            }
        })
        .await;
    app.stop().await;
    app.state.fediverse.shutdown();
    publish(&other, "rain", "Rain", "").await;
    wait_until(
        "the failure is recorded",
        Duration::from_secs(20),
        || async {
            count(
                &other,
                "SELECT COUNT(*) FROM crossposts WHERE error LIKE ? AND status = 'queued'",
                "%sign in%",
            )
            .await
                == 1
        },
    )
    .await;
    assert_eq!(pds.posts(&did).await.len(), 1);
}
