//! Readers' comments and transcripts, end to end against the real server:
//! posting, holding, approving, spam, deletion, the author's replies, reply
//! notices with double opt-in (a real SMTP server), closed pages, the rate
//! limit, the honeypot, bad input, script in comments rendered inert (in a
//! real browser), the cached page refreshed for that page only, reader
//! transcripts flowing into search, and the creator's settings (support
//! links, warnings and age gates, AI-scraping protection, contrast).
//! SQLite and MariaDB.

use std::time::Duration;

use fantoccini::Locator;
use halftone::auth::Role;

use crate::common::admin::{Admin, PASSWORD};
use crate::common::smtp::{smtp_config, SmtpSink};
use crate::common::{browser, html, seed_pages, select_text, spawn_app_with, TestApp};

const OWNER: &str = "owner@example.com";

/// A site with three published pages (`p1`..`p3`), comments limits opened up
/// for tests (a ticket counts after one second), and a logged-in owner.
async fn site(adjust: impl FnOnce(&mut halftone::config::Config)) -> (TestApp, Admin) {
    let app = spawn_app_with(|c| {
        c.comments.min_seconds = 1;
        c.comments.burst = 1000;
        c.comments.every_secs = 1;
        // Long enough that "still cached" is not a matter of timing.
        c.cache.ttl_ms = 30_000;
        adjust(c);
    })
    .await;
    seed_pages(&app, 3, 0).await;
    app.create_user(OWNER, Role::Owner).await;
    let admin = app.login(OWNER, PASSWORD).await.expect("login");
    (app, admin)
}

async fn page_id(app: &TestApp, slug: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM pages WHERE slug = ?")
        .bind(slug)
        .fetch_one(app.db.pool())
        .await
        .expect("page id")
}

/// A ticket old enough to post with.
async fn ticket(app: &TestApp) -> String {
    let json: serde_json::Value = app
        .get("/comments/ticket")
        .await
        .json()
        .await
        .expect("ticket json");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    json["ticket"].as_str().expect("ticket").to_owned()
}

/// Posts as the reader's script does (JSON back); returns (status, body).
async fn post_json(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = app
        .client
        .post(app.url(path))
        .header("Accept", "application/json")
        .form(fields)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

async fn comment(
    app: &TestApp,
    page: i64,
    ticket: &str,
    name: &str,
    email: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    post_json(
        app,
        &format!("/comments/{page}"),
        &[
            ("name", name),
            ("email", email),
            ("body", body),
            ("ticket", ticket),
            ("website", ""),
        ],
    )
    .await
}

async fn count(app: &TestApp, status: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE status = ?")
        .bind(status)
        .fetch_one(app.db.pool())
        .await
        .expect("count")
}

async fn total(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM comments")
        .fetch_one(app.db.pool())
        .await
        .expect("count")
}

/// Polls a column of Zed's comment (as text) until it reads `want`, for up
/// to 5 s (the browser acts asynchronously); returns the last value read.
async fn zed_until(app: &TestApp, column: &str, want: &str) -> String {
    let sql = format!("SELECT {column} FROM comments WHERE author_name = 'Zed'");
    let mut last = String::new();
    for _ in 0..50 {
        last = sqlx::query_scalar::<_, halftone::db::DbText>(&sql)
            .fetch_one(app.db.pool())
            .await
            .expect(column)
            .0;
        if last == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

fn x_cache(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn comments_are_held_approved_spammed_deleted_and_the_cache_follows_page_by_page() {
    let (app, admin) = site(|_| {}).await;
    let p3 = page_id(&app, "p3").await;
    let t = ticket(&app).await;

    // Both pages are cached before anything happens.
    app.get("/comic/p1").await;
    app.get("/comic/p3").await;
    assert_eq!(x_cache(&app.get("/comic/p1").await), "hit");

    // The first comment from an address waits for approval; nothing of it
    // reaches the page, the list, or the home page (the latest page).
    let (status, first) = comment(
        &app,
        p3,
        &t,
        "Ann",
        "ann@example.com",
        "First! Lovely **lighthouse**.",
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "pending");
    assert!(first["token"].as_str().is_some_and(|t| t.len() == 64));
    for path in ["/comic/p3", "/", &format!("/comments/{p3}")] {
        let body = app.page(path).await;
        assert!(
            !body.contains("Lovely"),
            "a pending comment leaked on {path}"
        );
    }

    // The moderator sees it: queue, dashboard count, the reason it waits.
    let queue = admin.page("/admin/comments").await;
    assert!(queue.contains("Lovely"), "{queue}");
    assert!(queue.contains("first comment from this address"));
    assert!(admin
        .page("/admin")
        .await
        .contains("<strong>1</strong> comment to moderate"));

    // Approving it shows it at once on its page, the home page and the
    // list — and only that page's cache entries were dropped.
    let id = first["id"].as_i64().expect("id").to_string();
    let response = admin
        .post(
            "/admin/comments/bulk",
            &[("action", "approve"), ("ids", &id), ("from", "pending")],
        )
        .await;
    assert!(admin.follow(response).await.contains("1 comment approved"));
    let on_page = app.get("/comic/p3").await;
    assert_eq!(x_cache(&on_page), "miss");
    assert!(on_page
        .text()
        .await
        .expect("body")
        .contains("Lovely <strong>lighthouse</strong>"));
    assert!(app.page("/").await.contains("Lovely"));
    assert!(app
        .page(&format!("/comments/{p3}"))
        .await
        .contains("Lovely"));
    assert_eq!(
        x_cache(&app.get("/comic/p1").await),
        "hit",
        "another page was dropped too"
    );

    // Her next comment is live at once (a known address), a reply hangs under it.
    let (_, second) = post_json(
        &app,
        &format!("/comments/{p3}"),
        &[
            ("name", "Ann"),
            ("email", "ANN@example.com"),
            ("body", "Me again."),
            ("ticket", &t),
            ("parent", &id),
        ],
    )
    .await;
    assert_eq!(second["status"], "approved", "{second}");
    let page = html(&app.page("/comic/p3").await);
    assert_eq!(
        select_text(&page, ".comment-replies .comment-body"),
        vec!["Me again."]
    );

    // A blocklisted word makes spam: stored for the moderator, never shown.
    let response = admin
        .post(
            "/admin/comments/rules",
            &[
                ("enabled", "1"),
                ("hold", "first"),
                ("max_links", "2"),
                ("blocklist", "cheap pills\n203.0.113.0/24"),
                ("digest", "1"),
                ("transcripts", "1"),
            ],
        )
        .await;
    assert!(admin.follow(response).await.contains("Comment rules saved"));
    let (status, spam) = comment(
        &app,
        p3,
        &t,
        "Bot",
        "ann@example.com",
        "Buy CHEAP PILLS now",
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        spam["status"], "pending",
        "spam must look held to its sender"
    );
    assert_eq!(count(&app, "spam").await, 1);
    assert!(!app.page("/comic/p3").await.contains("PILLS"));
    assert!(admin
        .page("/admin/comments?status=spam")
        .await
        .contains("cheap pills"));

    // The author's reply from the queue is live, marked as the author's.
    let response = admin
        .post(
            &format!("/admin/comments/{id}/reply"),
            &[("body", "Thank you, Ann!"), ("from", "approved")],
        )
        .await;
    assert!(admin
        .follow(response)
        .await
        .contains("Your reply to Ann is live"));
    let page = html(&app.page("/comic/p3").await);
    assert!(select_text(&page, ".comment.by-author .comment-body")
        .contains(&"Thank you, Ann!".to_owned()));
    assert_eq!(select_text(&page, ".comment-badge"), vec!["Author"]);

    // Deleting takes it off the page; the row stays for the moderator.
    let second_id = second["id"].as_i64().expect("id").to_string();
    let response = admin
        .post(
            "/admin/comments/bulk",
            &[
                ("one", &format!("delete:{second_id}")),
                ("from", "approved"),
            ],
        )
        .await;
    assert!(admin.follow(response).await.contains("1 comment deleted"));
    assert!(!app.page("/comic/p3").await.contains("Me again."));
    assert_eq!(count(&app, "deleted").await, 1);

    // Closing the page's comments: the form goes, posting is refused.
    let response = admin
        .post(&format!("/admin/comments/page/{p3}"), &[("closed", "1")])
        .await;
    assert!(admin.follow(response).await.contains("closed"));
    let body = app.page("/comic/p3").await;
    assert!(
        body.contains("Comments on this page are closed.") && !body.contains("data-comment-form")
    );
    let before = total(&app).await;
    let (status, closed) = comment(&app, p3, &t, "Ann", "ann@example.com", "Still here?").await;
    assert_eq!(status, 403, "{closed}");
    assert!(closed["error"].as_str().expect("error").contains("closed"));
    assert_eq!(total(&app).await, before);

    // Switched off for the site: no section, the list is gone, posts refused.
    let response = admin
        .post(
            "/admin/comments/rules",
            &[("hold", "first"), ("max_links", "2"), ("blocklist", "")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(!app.page("/comic/p1").await.contains("id=\"comments\""));
    assert_eq!(app.get(&format!("/comments/{p3}")).await.status(), 404);
    let p1 = page_id(&app, "p1").await;
    let (status, _) = comment(&app, p1, &t, "Ann", "ann@example.com", "Hello?").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn bad_comments_are_answered_clearly_and_nothing_is_stored() {
    let (app, admin) = site(|_| {}).await;
    let p1 = page_id(&app, "p1").await;
    let t = ticket(&app).await;
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: &[Case] = &[
        (&[("name", "Ann"), ("body", "   ")], 400, "empty"),
        (&[("name", ""), ("body", "hi")], 400, "name"),
        (
            &[("name", "Ann"), ("body", &"x".repeat(5001))],
            400,
            "limit is 5000",
        ),
        (
            &[("name", "Ann"), ("email", "not-an-address"), ("body", "hi")],
            400,
            "e-mail",
        ),
        (
            &[
                ("name", "Ann"),
                (
                    "body",
                    "a https://a.example b http://b.example c www.c.example",
                ),
            ],
            400,
            "at most 2 links",
        ),
        (
            &[("name", "Ann"), ("body", "reply"), ("parent", "999999")],
            400,
            "no longer there",
        ),
    ];
    for (fields, code, needle) in cases {
        let mut all = fields.to_vec();
        all.push(("ticket", &t));
        let (status, body) = post_json(&app, &format!("/comments/{p1}"), &all).await;
        assert_eq!(status, *code, "{fields:?}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{fields:?}: {error}");
    }
    // Too quick (no ticket, or a fresh one): refused with a new ticket.
    let (status, body) = comment(&app, p1, "", "Ann", "", "hi").await;
    assert_eq!(status, 400);
    assert!(body["ticket"].as_str().is_some_and(|t| t.starts_with("t.")));
    let (status, _) = comment(
        &app,
        p1,
        "t.1.2.00112233445566778899aabbccddeeff",
        "Ann",
        "",
        "hi",
    )
    .await;
    assert_eq!(status, 400, "a forged ticket counts as none");
    // The honeypot: looks like success, stores nothing.
    let (status, body) = post_json(
        &app,
        &format!("/comments/{p1}"),
        &[
            ("name", "Bot"),
            ("body", "hi"),
            ("website", "http://spam.example"),
            ("ticket", &t),
        ],
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["status"], "pending");
    // Drafts, scheduled pages, unknown ids: not there.
    app.exec("UPDATE pages SET status = 'draft' WHERE slug = 'p2'", &[])
        .await;
    let p2 = page_id(&app, "p2").await;
    app.exec(
        "UPDATE pages SET live_at = ? WHERE slug = 'p3'",
        &[halftone::db::now() + 3600],
    )
    .await;
    let p3 = page_id(&app, "p3").await;
    for page in [p2, p3, 987_654] {
        let (status, _) = comment(&app, page, &t, "Ann", "", "hi").await;
        assert_eq!(status, 404, "page {page}");
        assert_eq!(app.get(&format!("/comments/{page}")).await.status(), 404);
    }
    // Another site's page cannot post for its visitors.
    let response = app
        .client
        .post(app.url(&format!("/comments/{p1}")))
        .header("Origin", "https://evil.example")
        .form(&[("name", "Ann"), ("body", "hi"), ("ticket", t.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 403);
    assert_eq!(total(&app).await, 0, "nothing may be stored");

    // Without the script the reader gets a page with their text kept and
    // a ticket to send it again with.
    let response = app
        .client
        .post(app.url(&format!("/comments/{p1}")))
        .form(&[("name", "Ann"), ("body", "My <b>long</b> thoughts")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    let page = html(&response.text().await.expect("body"));
    assert_eq!(
        select_text(&page, "textarea#r-body"),
        vec!["My <b>long</b> thoughts"]
    );
    let fresh = crate::common::select_attr(&page, "input[name=ticket]", "value");
    assert!(fresh[0].starts_with("t."));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = app
        .client
        .post(app.url(&format!("/comments/{p1}")))
        .form(&[
            ("name", "Ann"),
            ("body", "My <b>long</b> thoughts"),
            ("ticket", fresh[0].as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("waits for the author"));

    // Script and HTML are stored as typed and shown as text.
    let id: i64 = sqlx::query_scalar("SELECT id FROM comments")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    let response = admin
        .post(
            "/admin/comments/bulk",
            &[("ids", &id.to_string()), ("action", "approve")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let body = app.page("/comic/p1").await;
    assert!(
        body.contains("My &lt;b&gt;long&lt;&#x2F;b&gt; thoughts")
            || body.contains("My &lt;b&gt;long&lt;/b&gt; thoughts"),
        "{body}"
    );

    // Moderation needs a session and its CSRF token.
    let anonymous = app
        .client
        .post(app.url("/admin/comments/bulk"))
        .form(&[("ids", id.to_string().as_str()), ("action", "delete")])
        .send()
        .await
        .expect("post");
    assert!(
        matches!(anonymous.status().as_u16(), 401 | 403),
        "{}",
        anonymous.status()
    );
    let forged = admin
        .client
        .post(app.url("/admin/comments/bulk"))
        .form(&[
            ("ids", id.to_string().as_str()),
            ("action", "delete"),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);
    assert_eq!(count(&app, "approved").await, 1);
}

#[tokio::test]
async fn a_flood_from_one_network_is_limited() {
    let (app, _admin) = site(|c| {
        c.comments.burst = 3;
        c.comments.every_secs = 3600;
    })
    .await;
    let p1 = page_id(&app, "p1").await;
    let t = ticket(&app).await;
    for n in 0..3 {
        let (status, body) = comment(&app, p1, &t, "Ann", "", &format!("comment {n}")).await;
        assert_eq!(status, 201, "{body}");
    }
    let response = app
        .client
        .post(app.url(&format!("/comments/{p1}")))
        .header("Accept", "application/json")
        .form(&[
            ("name", "Ann"),
            ("body", "one more"),
            ("ticket", t.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!(wait > 60, "{wait}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(body["error"]
        .as_str()
        .expect("error")
        .contains("Too many comments"));
    assert_eq!(total(&app).await, 3);
}

#[tokio::test]
async fn reply_notices_need_a_confirmed_address_and_stop_with_one_click() {
    let smtp = SmtpSink::start();
    let (app, admin) = site(|c| smtp_config(c, smtp.port)).await;
    let p1 = page_id(&app, "p1").await;
    let t = ticket(&app).await;
    // Replies are live at once here, so the flow is the readers'.
    let response = admin
        .post(
            "/admin/comments/rules",
            &[
                ("enabled", "1"),
                ("hold", "none"),
                ("max_links", "2"),
                ("blocklist", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    let (_, ann) = post_json(
        &app,
        &format!("/comments/{p1}"),
        &[
            ("name", "Ann"),
            ("email", "ann@example.com"),
            ("body", "Who is Pip?"),
            ("notify", "1"),
            ("ticket", &t),
        ],
    )
    .await;
    let ann_id = ann["id"].as_i64().expect("id").to_string();
    let confirm = smtp
        .wait_for_mail_to("ann@example.com", Duration::from_secs(20))
        .await;
    assert!(
        confirm.subject().contains("Confirm reply notices"),
        "{}",
        confirm.subject()
    );
    let link = confirm.link("/comments/confirm?t=");

    // A reply before she confirmed: no notice.
    let (_, early) = post_json(
        &app,
        &format!("/comments/{p1}"),
        &[
            ("name", "Bob"),
            ("email", "bob@example.com"),
            ("body", "The cat!"),
            ("parent", &ann_id),
            ("ticket", &t),
        ],
    )
    .await;
    assert_eq!(early["status"], "approved");

    // Opening the link only shows a button (mail scanners open links).
    let path = link.trim_start_matches(&app.address).to_owned();
    let page = app.page(&path).await;
    assert!(page.contains("Yes, mail me replies"));
    let token = path.split("t=").nth(1).expect("token").to_owned();
    let response = app
        .client
        .post(app.url("/comments/confirm"))
        .form(&[("t", token.as_str())])
        .send()
        .await
        .expect("post");
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("Reply notices are on"));
    // A forged token changes nothing.
    // Another comment's id under the same signature.
    let bob_id = early["id"].as_i64().expect("id");
    let forged = token.replacen(&format!("cc.{ann_id}."), &format!("cc.{bob_id}."), 1);
    assert_ne!(forged, token);
    let response = app
        .client
        .post(app.url("/comments/confirm"))
        .form(&[("t", forged.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);

    // Now a reply (the author's, from the admin) is mailed to her, once.
    let response = admin
        .post(
            &format!("/admin/comments/{ann_id}/reply"),
            &[("body", "Pip is the lighthouse cat.")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let notice = smtp
        .wait_for(2, Duration::from_secs(20))
        .await
        .into_iter()
        .find(|m| m.subject().contains("replied"))
        .expect("a reply notice");
    assert!(
        notice.text().contains("Pip is the lighthouse cat."),
        "{}",
        notice.text()
    );
    assert_eq!(
        notice.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = notice.header("List-Unsubscribe").expect("header");
    let unsubscribe = unsubscribe
        .trim_matches(|c| c == '<' || c == '>')
        .to_owned();
    assert_eq!(
        smtp.mails_to("bob@example.com").len(),
        0,
        "Bob asked for nothing"
    );

    // One click (RFC 8058) stops them; a later reply is not mailed.
    let response = app
        .client
        .post(&unsubscribe)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    let (_, late) = post_json(
        &app,
        &format!("/comments/{p1}"),
        &[
            ("name", "Cy"),
            ("email", "cy@example.com"),
            ("body", "Late reply"),
            ("parent", &ann_id),
            ("ticket", &t),
        ],
    )
    .await;
    assert_eq!(late["status"], "approved");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let to_ann = smtp.mails_to("ann@example.com");
    assert_eq!(
        to_ann.len(),
        2,
        "confirmation and one notice: {:?}",
        to_ann.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM comment_mail WHERE status = 'sent'")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn a_readers_transcript_waits_then_becomes_the_pages_and_is_searchable() {
    let (app, admin) = site(|_| {}).await;
    app.exec("UPDATE pages SET transcript = '' WHERE slug = 'p2'", &[])
        .await;
    let p2 = page_id(&app, "p2").await;
    let t = ticket(&app).await;
    let page = app.page("/comic/p2").await;
    assert!(
        page.contains("data-transcript-form"),
        "a page without a transcript asks for one"
    );
    assert!(!app.page("/comic/p1").await.contains("data-transcript-form"));

    let text = "PIP: Mrrrow.\nKEEPER: The quasiparticle lamp is lit.";
    let (status, body) = post_json(
        &app,
        &format!("/transcripts/{p2}"),
        &[("name", "Dee"), ("transcript", text), ("ticket", &t)],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "pending");
    let search = app.page("/search?q=quasiparticle").await;
    assert!(
        !search.contains("/comic/p2"),
        "not searchable before approval"
    );
    let queue = admin.page("/admin/comments").await;
    assert!(queue.contains("transcript") && queue.contains("quasiparticle"));

    let id: i64 = sqlx::query_scalar("SELECT id FROM comments WHERE kind = 'transcript'")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    let response = admin
        .post(
            "/admin/comments/bulk",
            &[("ids", &id.to_string()), ("action", "approve")],
        )
        .await;
    assert!(admin.follow(response).await.contains("1 comment approved"));
    let page = app.page("/comic/p2").await;
    assert!(page.contains("The quasiparticle lamp is lit."));
    assert!(!page.contains("data-transcript-form"));
    let mut found = false;
    for _ in 0..50 {
        if app
            .page("/search?q=quasiparticle")
            .await
            .contains("/comic/p2")
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "the approved transcript is searchable");
    // The author's newest draft carries it, so the next publish keeps it.
    let (_, draft) = halftone::comics::editing::head(&app.db, halftone::comics::PageId(p2))
        .await
        .expect("head")
        .expect("page");
    assert_eq!(draft.transcript, text);
    // A second one is refused: the page has its transcript.
    let (status, body) = post_json(
        &app,
        &format!("/transcripts/{p2}"),
        &[("name", "Eve"), ("transcript", "Another"), ("ticket", &t)],
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn script_in_comments_is_inert_and_a_readers_pending_comment_is_theirs_alone() {
    let (app, admin) = site(|_| {}).await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let c = &browser.client;
    let p3 = page_id(&app, "p3").await;
    // An approved comment full of attempts, posted by another reader.
    let t = ticket(&app).await;
    let attack = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"> [click](javascript:window.pwned=3) <a href=\"#\" onclick=\"window.pwned=4\">x</a>";
    let (_, posted) = comment(
        &app,
        p3,
        &t,
        "<b onmouseover=alert(1)>Mallory</b>",
        "m@example.com",
        attack,
    )
    .await;
    let id = posted["id"].as_i64().expect("id").to_string();
    admin
        .post(
            "/admin/comments/bulk",
            &[("ids", &id), ("action", "approve")],
        )
        .await;

    c.goto(&app.url("/comic/p3")).await.expect("goto");
    browser
        .wait_for("document.querySelector('.comment-body')")
        .await;
    for link in c
        .find_all(Locator::Css(".comment-body a"))
        .await
        .expect("links")
    {
        link.click().await.ok();
    }
    let pwned = browser.eval("window.pwned || 0").await;
    assert_eq!(pwned, 0, "script ran");
    let elements = browser
        .eval("document.querySelectorAll('.comments script, .comments img, .comments [onerror], .comments [onclick], .comments [onmouseover]').length")
        .await;
    assert_eq!(elements, 0);
    assert!(browser
        .eval("document.querySelector('.comment-author').textContent")
        .await
        .as_str()
        .expect("text")
        .contains("<b onmouseover"));

    // A reader posts through the form (with the script): their pending
    // comment shows to them, marked, and they can edit it.
    c.find(Locator::Css("#comment-body"))
        .await
        .expect("body")
        .send_keys("My first thought")
        .await
        .expect("type");
    c.find(Locator::Css("#comment-name"))
        .await
        .expect("name")
        .send_keys("Zed")
        .await
        .expect("type");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    c.find(Locator::Css("[data-comment-form] button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    browser
        .wait_for("document.querySelector('.comment.is-pending')")
        .await;
    let status = browser
        .eval("document.querySelector('[data-comment-status]').textContent")
        .await;
    assert!(
        status
            .as_str()
            .expect("text")
            .contains("waits for the author"),
        "{status}"
    );
    // After a reload it is still there for this browser, and only for it.
    c.refresh().await.expect("reload");
    browser
        .wait_for("document.querySelector('.comment.is-pending .own-actions')")
        .await;
    assert!(!app.page("/comic/p3").await.contains("My first thought"));
    c.find(Locator::Css(".comment.is-pending .own-actions button"))
        .await
        .expect("edit")
        .click()
        .await
        .expect("click");
    let area = c
        .find(Locator::Css(".comment.is-pending textarea"))
        .await
        .expect("editor");
    area.clear().await.expect("clear");
    area.send_keys("My second thought").await.expect("type");
    c.find(Locator::Css(".comment.is-pending button"))
        .await
        .expect("save")
        .click()
        .await
        .expect("click");
    let saved = zed_until(&app, "body", "My second thought").await;
    assert_eq!(saved, "My second thought");

    // The moderator approves it from the keyboard: j (first row), a (approve).
    browser.log_in(&app.address, OWNER, PASSWORD).await;
    c.goto(&app.url("/admin/comments")).await.expect("goto");
    browser
        .wait_for("document.querySelector('.queued-comment')")
        .await;
    browser.press('j').await;
    browser
        .wait_for("document.querySelector('.queued-comment.is-current')")
        .await;
    browser.press('a').await;
    let status = zed_until(&app, "status", "approved").await;
    assert_eq!(status, "approved");
    assert!(app.page("/comic/p3").await.contains("My second thought"));
}

#[tokio::test]
async fn the_creators_settings_change_the_site_without_code() {
    let (app, admin) = site(|_| {}).await;
    // Out of the box: AI crawlers refused, pages and images marked, rights reserved.
    let robots = app.page("/robots.txt").await;
    for bot in ["GPTBot", "ClaudeBot", "CCBot", "Google-Extended"] {
        assert!(robots.contains(&format!("User-agent: {bot}\n")), "{robots}");
    }
    let response = app.get("/comic/p1").await;
    assert_eq!(response.headers()["x-robots-tag"], "noai, noimageai");
    let body = response.text().await.expect("body");
    assert!(body.contains(r#"<meta name="tdm-reservation" content="1">"#));
    let tdm: serde_json::Value = app
        .get("/.well-known/tdmrep.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(tdm[0]["tdm-reservation"], 1);
    let image = select_attr_first(&body, ".comic-images img", "src");
    let thumb = select_attr_first(&app.page("/archive").await, ".tiles img", "src");
    let from_elsewhere = |path: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&path))
                .header("Referer", "https://aggregator.example/page")
                .send()
                .await
                .expect("get")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        from_elsewhere(image.clone()).await,
        200,
        "hotlinks allowed until switched on"
    );

    // Support links, hotlink refusal; bad links refused with the line.
    let response = admin
        .post(
            "/admin/settings/readers",
            &[
                ("links", "Patreon | https://patreon.com/pip\nnot a link"),
                ("ai_robots", "1"),
            ],
        )
        .await;
    assert!(admin
        .follow(response)
        .await
        .contains("Line 2 of the support links"));
    let response = admin
        .post(
            "/admin/settings/readers",
            &[
                (
                    "links",
                    "Patreon | https://patreon.com/pip\r\nKo-fi | https://ko-fi.com/pip",
                ),
                ("ai_robots", "1"),
                ("ai_header", "1"),
                ("ai_tdm", "1"),
                ("refuse_hotlinks", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = html(&app.page("/comic/p1").await);
    assert_eq!(select_text(&page, ".support a"), vec!["Patreon", "Ko-fi"]);
    assert_eq!(
        from_elsewhere(image.clone()).await,
        403,
        "a full-size image on another site"
    );
    assert_eq!(
        from_elsewhere(thumb).await,
        200,
        "thumbnails may be shown anywhere"
    );
    let own = app
        .client
        .get(app.url(&image))
        .header("Referer", app.url("/comic/p1"))
        .send()
        .await
        .expect("get");
    assert_eq!(own.status(), 200, "our own pages show it");
    assert_eq!(
        app.get(&image).await.status(),
        200,
        "no Referer: a reader opening it"
    );

    // Everything off: no rules, no header, no reservation.
    let response = admin
        .post("/admin/settings/readers", &[("links", "")])
        .await;
    assert_eq!(response.status(), 303);
    assert!(!app.page("/robots.txt").await.contains("GPTBot"));
    let response = app.get("/comic/p1").await;
    assert!(response.headers().get("x-robots-tag").is_none());
    assert_eq!(app.get("/.well-known/tdmrep.json").await.status(), 404);

    // A page of its own for adults: the editor's box, saved and published
    // as the editor does it; its neighbours stay open.
    let p1 = halftone::comics::PageId(page_id(&app, "p1").await);
    let (revision, mut draft) = halftone::comics::editing::head(&app.db, p1)
        .await
        .expect("head")
        .expect("page");
    draft.age_gate = true;
    let saved = halftone::comics::editing::save_draft(&app.db, p1, revision, &draft, None)
        .await
        .expect("save");
    let halftone::comics::editing::SaveOutcome::Saved { revision } = saved else {
        panic!("not saved: {saved:?}");
    };
    halftone::comics::editing::publish(
        &app.db,
        p1,
        revision,
        halftone::comics::editing::Publish::Keep,
    )
    .await
    .expect("publish");
    app.state.content_changed().await;
    let gated = html(&app.page("/comic/p1").await);
    assert!(select_text(&gated, ".content-warning summary")
        .join(" ")
        .contains("Adults only (18+)."));
    assert!(!app.page("/comic/p2").await.contains("content-warning"));

    // A series warning with an age gate shows before every page's images; a
    // chapter's own warning comes first for its pages.
    let series: i64 = sqlx::query_scalar("SELECT id FROM series")
        .fetch_one(app.db.pool())
        .await
        .expect("series");
    let response = admin
        .post(
            &format!("/admin/series/{series}"),
            &[
                ("title", "Main"),
                ("slug", "main"),
                ("content_warning", "gore"),
                ("age_gate", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = html(&app.page("/comic/p2").await);
    let summary = select_text(&page, ".content-warning summary").join(" ");
    assert!(
        summary.contains("Adults only (18+).") && summary.contains("gore"),
        "{summary}"
    );
    assert_eq!(
        crate::common::select_attr(&page, ".content-warning", "data-remember"),
        vec![format!("adult-{series}")]
    );
    let response = admin
        .post(
            &format!("/admin/series/{series}"),
            &[
                ("title", "Main"),
                ("slug", "main"),
                ("content_warning", "line one\nline two"),
            ],
        )
        .await;
    assert!(admin.follow(response).await.contains("one line"));

    // A colour readers could not read on is refused; the page stays as it was.
    let response = admin
        .post(
            "/admin/settings/look",
            &[
                ("accent", "#777777"),
                ("heading_font", "system"),
                ("logo", ""),
            ],
        )
        .await;
    assert!(admin
        .follow(response)
        .await
        .contains("too close to a mid grey"));
    let response = admin
        .post(
            "/admin/settings/look",
            &[
                ("accent", "#1b5e20"),
                ("heading_font", "atkinson"),
                ("logo", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let css_url = select_attr_first(
        &app.page("/comic/p1").await,
        "link[href^='/theme.css']",
        "href",
    );
    assert!(app.page(&css_url).await.contains("#1b5e20"));
}

fn select_attr_first(body: &str, selector: &str, attr: &str) -> String {
    crate::common::select_attr(&html(body), selector, attr)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {selector}[{attr}]"))
}

#[tokio::test]
async fn a_disqus_export_lands_under_the_pages_it_was_made_on() {
    let (app, admin) = site(|_| {}).await;
    // The old site's `/?p=16` is page 1 here (an import made this redirect).
    let response = admin
        .post(
            "/admin/redirects",
            &[("from", "/?p=16"), ("to", "/comic/p1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let export = crate::import_foreign::fixture("disqus").join("export.xml");
    let export = export.to_str().expect("utf8");

    let plan = crate::import_foreign::import(&app, &["--from", "disqus", export, "--dry-run"]);
    assert!(
        plan.contains("Would import from Disqus: 5 comments on 2 pages"),
        "{plan}"
    );
    assert_eq!(total(&app).await, 0, "a dry run writes nothing");

    let report = crate::import_foreign::import(&app, &["--from", "disqus", export]);
    assert!(
        report.contains("Imported from Disqus: 5 comments on 2 pages"),
        "{report}"
    );
    assert!(
        report.contains("https://old.example/about/ (1 comments)"),
        "{report}"
    );
    assert!(
        report.contains("1 comments belong to threads missing"),
        "{report}"
    );
    app.state.content_changed().await;

    let page = html(&app.page("/comic/p1").await);
    assert_eq!(
        select_text(&page, ".comment-threads > li > .comment .comment-body"),
        vec!["What a start! The lamp & the sea."]
    );
    assert_eq!(
        select_text(&page, ".comment-replies .comment-body"),
        vec!["Thanks! More on Friday."]
    );
    assert!(
        select_text(&html(&app.page("/comic/p2").await), ".comment-body")
            .contains(&"Zoë was here — p2 rocks.".to_owned())
    );
    assert_eq!(count(&app, "spam").await, 1);
    assert_eq!(count(&app, "deleted").await, 1);
    let dated: i64 =
        sqlx::query_scalar("SELECT created_at FROM comments WHERE source = 'disqus:900001'")
            .fetch_one(app.db.pool())
            .await
            .expect("date");
    assert_eq!(dated, 1_456_826_400, "2016-03-01T10:00:00Z");

    let again = crate::import_foreign::import(&app, &["--from", "disqus", export]);
    assert!(
        again.contains("0 comments on 2 pages (5 imported before)"),
        "{again}"
    );
    assert_eq!(total(&app).await, 5);
}

#[tokio::test]
async fn the_owners_get_one_digest_an_hour_when_comments_wait() {
    let smtp = SmtpSink::start();
    let (app, _admin) = site(|c| {
        smtp_config(c, smtp.port);
        // The watchdog (which sends the digest) checks every second here.
        c.cluster.check_secs = 1;
        c.cluster.lease_secs = 4;
    })
    .await;
    let p1 = page_id(&app, "p1").await;
    let t = ticket(&app).await;
    let (_, held) = comment(&app, p1, &t, "Ann", "ann@example.com", "Hello there").await;
    assert_eq!(held["status"], "pending");
    let digest = smtp.wait_for_mail_to(OWNER, Duration::from_secs(20)).await;
    assert_eq!(digest.subject(), "1 comment to moderate");
    assert!(
        digest.text().contains("Ann on “Page 1”"),
        "{}",
        digest.text()
    );
    assert!(digest.text().contains("/admin/comments"));
    // More comments within the hour: no second mail.
    comment(&app, p1, &t, "Bob", "bob@example.com", "Me too").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(smtp.mails_to(OWNER).len(), 1);
}

#[tokio::test]
async fn a_long_blocklist_entry_still_files_the_comment_as_spam() {
    let (app, admin) = site(|_| {}).await;
    let p1 = page_id(&app, "p1").await;
    let entry = "spam".repeat(150);
    let response = admin
        .post(
            "/admin/comments/rules",
            &[
                ("enabled", "1"),
                ("hold", "first"),
                ("max_links", "2"),
                ("blocklist", entry.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let t = ticket(&app).await;
    let (status, body) = comment(&app, p1, &t, "Ann", "", &format!("buy {entry} now")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(count(&app, "spam").await, 1);
}
