//! The newsletter against a real SMTP server (aiosmtpd, started by each
//! test): double opt-in, one-click unsubscribe and its headers, bad input,
//! the admin's list and export, SMTP outages, automatic mails when a page
//! goes live, and a send interrupted by crashes and restarts of the real
//! binary — every subscriber mailed exactly once. SQLite and MariaDB.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use halftone::auth::{EmailAddress, Role};
use halftone::newsletter::tokens::Purpose;
use halftone::newsletter::{compose, outbox, subscribers};

use crate::common::admin::PASSWORD;
use crate::common::smtp::{free_port, smtp_config, SmtpSink};
use crate::common::{
    halftone_command, html, seed_pages, select_attr, spawn_app_with, ChildGuard, TestApp, WriteAs,
};

const WAIT: Duration = Duration::from_secs(20);

async fn status_of(app: &TestApp, email: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM subscribers WHERE email = ?")
        .bind(email)
        .fetch_optional(app.db.pool())
        .await
        .expect("query")
}

async fn subscribe(app: &TestApp, email: &str) -> (u16, String) {
    let response = app
        .client
        .post(app.url("/subscribe"))
        .form(&[("email", email), ("website", "")])
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn confirmed(app: &TestApp, emails: &[String]) {
    let now = halftone::db::now();
    for e in emails {
        subscribers::insert_confirmed(&app.db, &EmailAddress::parse(e).expect("email"), now)
            .await
            .expect("insert");
    }
}

/// Ids of the visible pages, oldest first.
async fn page_ids(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM pages ORDER BY position")
        .fetch_all(app.db.pool())
        .await
        .expect("pages")
}

/// Queues a digest of `pages` the way the admin's form does.
async fn queue_digest(app: &TestApp, pages: &[i64]) -> i64 {
    let ids: Vec<_> = pages
        .iter()
        .map(|&id| halftone::comics::PageId(id))
        .collect();
    let now = halftone::db::now();
    let pages = halftone::comics::pages::visible_by_ids(&app.db, &ids, now)
        .await
        .expect("pages");
    let mailing = compose::mailing(
        &app.state,
        outbox::Kind::Digest,
        Some("This week"),
        "",
        &pages,
        None,
    )
    .await
    .expect("compose");
    outbox::create_mailing(&app.db, &mailing, now)
        .await
        .expect("create")
        .expect("made")
}

async fn delivery_counts(app: &TestApp) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
            .fetch_all(app.db.pool())
            .await
            .expect("counts");
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_subscribe_confirm_and_unsubscribe_with_one_click() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| smtp_config(c, sink.port)).await;
    seed_pages(&app, 3, 0).await;

    // Every reader page offers the form.
    let home = app.page("/").await;
    assert_eq!(
        select_attr(&html(&home), "footer form.subscribe-form", "action"),
        ["/subscribe"]
    );

    let (status, body) = subscribe(&app, "  Reader@Example.COM ").await;
    assert_eq!(status, 200);
    assert!(body.contains("Check your inbox"), "{body}");
    assert_eq!(
        status_of(&app, "reader@example.com").await.as_deref(),
        Some("pending")
    );

    let mail = sink.wait_for_mail_to("reader@example.com", WAIT).await;
    assert!(
        mail.subject().starts_with("Confirm your subscription"),
        "{}",
        mail.subject()
    );
    assert!(mail.html().is_some(), "the confirmation has an HTML part");
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "a confirmation is not list mail"
    );
    let confirm = mail.link("/subscribe/confirm?t=");

    // Opening the link (as a mail scanner would) confirms nothing by itself.
    let page = app.client.get(&confirm).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("body");
    assert!(page.contains("Yes, subscribe me"), "{page}");
    assert_eq!(
        status_of(&app, "reader@example.com").await.as_deref(),
        Some("pending")
    );
    let token = select_attr(&html(&page), "form input[name=t]", "value").remove(0);
    let done = app
        .client
        .post(app.url("/subscribe/confirm"))
        .form(&[("t", token.as_str())])
        .send()
        .await
        .expect("confirm");
    assert_eq!(done.status(), 200);
    assert!(done
        .text()
        .await
        .expect("body")
        .contains("You are subscribed"));
    assert_eq!(
        status_of(&app, "reader@example.com").await.as_deref(),
        Some("confirmed")
    );

    // The author sends a digest from the admin.
    let admin = app.owner().await;
    let pages = page_ids(&app).await;
    let response = admin
        .post(
            "/admin/newsletter/digest",
            &[
                ("pages", &pages[1].to_string()),
                ("pages", &pages[2].to_string()),
                ("subject", ""),
                ("intro", "Two new pages **this week**."),
            ],
        )
        .await;
    let progress_page = admin.follow(response).await;
    assert!(progress_page.contains("Digest queued"), "{progress_page}");

    sink.wait_for(2, WAIT).await;
    let issue = sink
        .mails_to("reader@example.com")
        .pop()
        .expect("the digest");
    assert_eq!(
        issue.subject(),
        format!("{}: 2 new pages", site_title(&app).await)
    );
    let unsubscribe = issue.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with('<') && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    let unsubscribe_url = unsubscribe.trim_matches(['<', '>']).to_owned();
    assert!(unsubscribe_url.starts_with(&format!("{}/unsubscribe?t=u.", app.address)));
    assert_eq!(
        issue.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let text = issue.text();
    let html_part = issue.html().expect("an HTML part");
    for body in [&text, &html_part] {
        assert!(
            body.contains(&format!("{}/comic/p2", app.address)),
            "{body}"
        );
        assert!(
            body.contains(&format!("{}/comic/p3", app.address)),
            "{body}"
        );
        assert!(body.contains("/unsubscribe?t=u."), "{body}");
    }
    assert!(
        html_part.contains("<strong>this week</strong>"),
        "{html_part}"
    );
    assert!(
        html_part.contains(&format!("src=\"{}/media/", app.address)),
        "the comic image"
    );
    assert!(
        text.contains(&unsubscribe_url),
        "the text names the same link"
    );

    // The image in the mail is really served.
    let src = select_attr(&html(&html_part), "img", "src").remove(0);
    assert_eq!(
        app.client.get(&src).send().await.expect("img").status(),
        200
    );

    // One-click unsubscribe, as a mail client does it (RFC 8058).
    let response = app
        .client
        .post(&unsubscribe_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("one-click");
    assert_eq!(response.status(), 200);
    assert_eq!(
        status_of(&app, "reader@example.com").await.as_deref(),
        Some("unsubscribed")
    );
    // The link still answers, saying so.
    let again = app.client.get(&unsubscribe_url).send().await.expect("get");
    assert!(again
        .text()
        .await
        .expect("body")
        .contains("You are unsubscribed"));

    // The next mailing does not go to them.
    let before = sink.mails().len();
    let id = queue_digest(&app, &pages[..1]).await;
    let mailing = outbox::mailing(&app.db, id)
        .await
        .expect("q")
        .expect("mailing");
    assert_eq!(mailing.progress.total, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails().len(), before);
}

async fn site_title(app: &TestApp) -> String {
    halftone::comics::settings::load(&app.db)
        .await
        .expect("settings")
        .title
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_on_the_subscribe_form_loses_nothing_and_mails_nobody_twice() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| smtp_config(c, sink.port)).await;

    // Malformed and empty addresses: 400, the typed text kept, a clear message.
    let (status, body) = subscribe(&app, "reader at example.com").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("does not look like an e-mail address"),
        "{body}"
    );
    assert_eq!(
        select_attr(&html(&body), "input[name=email]", "value"),
        ["reader at example.com"]
    );
    let (status, body) = subscribe(&app, "").await;
    assert_eq!(status, 400);
    assert!(body.contains("Please enter your e-mail address"));

    // A bot filling the hidden field is told "check your inbox" and ignored.
    let response = app
        .client
        .post(app.url("/subscribe"))
        .form(&[
            ("email", "bot@example.com"),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    assert_eq!(status_of(&app, "bot@example.com").await, None);

    // The same address twice: one row, one confirmation mail.
    assert_eq!(subscribe(&app, "twice@example.com").await.0, 200);
    assert_eq!(subscribe(&app, "Twice@Example.com").await.0, 200);
    let mail = sink.wait_for_mail_to("twice@example.com", WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mails_to("twice@example.com").len(), 1);
    let queued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE kind = 'confirm' AND status <> 'cancelled'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("count");
    assert_eq!(queued, 1, "one confirmation queued, not two");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscribers")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(rows, 1);

    // Broken, forged and expired links get a friendly 400 and change nothing.
    let confirm = mail.link("/subscribe/confirm?t=");
    let token = confirm.split("t=").nth(1).expect("token").to_owned();
    let id = token.split('.').nth(1).expect("id").to_owned();
    let forged = token.replacen(&format!(".{id}."), ".999.", 1);
    for (t, expect) in [
        ("", "does not work"),
        ("c.1.0", "does not work"),
        (forged.as_str(), "does not work"),
        (&token[..token.len() - 4], "does not work"),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/subscribe/confirm?t={t}")))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 400, "{t}");
        assert!(response.text().await.expect("body").contains(expect));
    }
    let signer = app
        .state
        .newsletter
        .signer(&app.state)
        .await
        .expect("signer");
    let expired = signer.sign(
        Purpose::Confirm,
        id.parse().expect("id"),
        "twice@example.com",
        halftone::db::now() - 1,
    );
    let response = app
        .client
        .post(app.url("/subscribe/confirm"))
        .form(&[("t", expired.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("body").contains("expired"));
    // An unsubscribe token cannot confirm, nor a confirm token unsubscribe.
    let unsubscribe = signer.sign(
        Purpose::Unsubscribe,
        id.parse().expect("id"),
        "twice@example.com",
        0,
    );
    let response = app
        .client
        .post(app.url("/subscribe/confirm"))
        .form(&[("t", unsubscribe.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    let response = app
        .client
        .post(app.url(&format!("/unsubscribe?t={token}")))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    assert_eq!(
        status_of(&app, "twice@example.com").await.as_deref(),
        Some("pending")
    );

    // Confirmed, then subscribing again changes nothing and sends nothing.
    let ok = app
        .client
        .post(app.url("/subscribe/confirm"))
        .form(&[("t", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 200);
    let (status, body) = subscribe(&app, "twice@example.com").await;
    assert_eq!(status, 200);
    assert!(body.contains("Check your inbox"), "the same answer: {body}");
    // Five tries per network address, then the form says to wait.
    let (status, body) = subscribe(&app, "sixth@example.com").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many attempts"));
    assert_eq!(status_of(&app, "sixth@example.com").await, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails_to("twice@example.com").len(), 1);
    assert_eq!(
        status_of(&app, "twice@example.com").await.as_deref(),
        Some("confirmed")
    );
    // Addresses differing only by an accent are two people (MariaDB's
    // default collation would make them one row).
    let now = halftone::db::now();
    for e in ["jose@example.com", "josé@example.com"] {
        subscribers::insert_confirmed(&app.db, &EmailAddress::parse(e).unwrap(), now)
            .await
            .unwrap_or_else(|err| panic!("{e}: {err}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_lists_searches_removes_and_exports_subscribers() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| smtp_config(c, sink.port)).await;
    confirmed(
        &app,
        &[
            "ann@example.com".into(),
            "bob@example.org".into(),
            "=cmd@example.com".into(),
        ],
    )
    .await;
    let now = halftone::db::now();
    subscribers::subscribe(
        &app.db,
        &EmailAddress::parse("carl@example.com").unwrap(),
        now,
    )
    .await
    .expect("pending");
    let admin = app.owner().await;

    let page = admin.page("/admin/subscribers?q=BOB").await;
    let doc = html(&page);
    let cells = crate::common::select_text(&doc, "tbody td:first-child");
    assert_eq!(cells, ["bob@example.org"]);
    let page = admin.page("/admin/subscribers?status=pending").await;
    let cells = crate::common::select_text(&html(&page), "tbody td:first-child");
    assert_eq!(cells, ["carl@example.com"]);
    // `%` and `_` are searched for literally.
    let page = admin.page("/admin/subscribers?q=%25").await;
    assert!(crate::common::select_text(&html(&page), "tbody td:first-child").is_empty());

    // The plain CSV: confirmed only, each with a working unsubscribe link.
    let response = admin.get("/admin/subscribers/export.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let body = response.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("headers")
            .iter()
            .collect::<Vec<_>>(),
        ["email", "confirmed_at", "unsubscribe_url"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let emails: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        emails,
        ["ann@example.com", "bob@example.org", "'=cmd@example.com"]
    );
    assert!(rows[0][1].ends_with('Z'), "ISO 8601 UTC: {}", &rows[0][1]);
    let response = app
        .client
        .post(&rows[1][2])
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(response.status(), 200);
    assert_eq!(
        status_of(&app, "bob@example.org").await.as_deref(),
        Some("unsubscribed")
    );

    // The Google Sheets variant: mail-merge column names, dates Sheets reads.
    let body = admin
        .get("/admin/subscribers/export.csv?format=sheets")
        .await
        .text()
        .await
        .expect("csv");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("headers")
            .iter()
            .collect::<Vec<_>>(),
        ["Email Address", "Subscribed On", "Unsubscribe Link"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2, "bob left");
    assert_eq!(
        rows[0][1].len(),
        "2026-11-23 10:00:00".len(),
        "{}",
        &rows[0][1]
    );

    // Remove.
    let id: i64 = sqlx::query_scalar("SELECT id FROM subscribers WHERE email = 'ann@example.com'")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    let response = admin
        .post(&format!("/admin/subscribers/{id}/delete"), &[])
        .await;
    assert!(admin.follow(response).await.contains("Subscriber removed"));
    assert_eq!(status_of(&app, "ann@example.com").await, None);

    // Editors cannot see readers' addresses.
    app.create_user("editor@example.com", Role::Editor).await;
    let editor = app
        .login("editor@example.com", PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    assert_eq!(editor.get("/admin/subscribers").await.status(), 403);
    assert_eq!(
        editor.get("/admin/subscribers/export.csv").await.status(),
        403
    );
    // A state-changing request without the CSRF token is refused.
    let response = admin
        .client
        .post(admin.url(&format!("/admin/subscribers/{id}/delete")))
        .header("Origin", &app.address)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smtp_outage_is_retried_with_backoff_shown_to_the_owner_and_loses_nothing() {
    let port = free_port();
    // Nothing listens on `port` yet: the SMTP server is down.
    let app = spawn_app_with(|c| smtp_config(c, port)).await;
    seed_pages(&app, 2, 0).await;
    let readers: Vec<String> = (0..3).map(|i| format!("r{i}@example.com")).collect();
    confirmed(&app, &readers).await;
    let pages = page_ids(&app).await;
    let mailing = queue_digest(&app, &pages).await;
    app.state.newsletter.wake_all(&app.state.events).await;
    // A reader subscribing during the outage is not lost either.
    assert_eq!(subscribe(&app, "late@example.com").await.0, 200);

    let deadline = Instant::now() + WAIT;
    loop {
        let sender = halftone::newsletter::sender::sender_state(&app.db)
            .await
            .expect("state");
        if sender.last_error.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sender never noticed the outage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = app.owner().await;
    let page = admin.page("/admin/newsletter").await;
    assert!(page.contains("Mail is not going out"), "{page}");
    let page = admin.page(&format!("/admin/newsletter/{mailing}")).await;
    assert!(page.contains("Mail is not going out"), "{page}");

    // Meanwhile one reader leaves, and a second mailing is stopped.
    let leaver: i64 =
        sqlx::query_scalar("SELECT id FROM subscribers WHERE email = 'r2@example.com'")
            .fetch_one(app.db.pool())
            .await
            .expect("id");
    let signer = app
        .state
        .newsletter
        .signer(&app.state)
        .await
        .expect("signer");
    let token = signer.sign(Purpose::Unsubscribe, leaver, "r2@example.com", 0);
    let response = app
        .client
        .post(app.url(&format!("/unsubscribe?t={token}")))
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(response.status(), 200);
    let stopped = queue_digest(&app, &pages[..1]).await;
    let response = admin
        .post(&format!("/admin/newsletter/{stopped}/cancel"), &[])
        .await;
    assert!(admin.follow(response).await.contains("Mailing stopped"));

    // The server comes back: everything still wanted arrives, once.
    let sink = SmtpSink::start_on(port, None);
    sink.wait_for(3, Duration::from_secs(30)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let p = outbox::mailing(&app.db, mailing)
            .await
            .unwrap()
            .unwrap()
            .progress;
        let confirm_sent = delivery_counts(&app)
            .await
            .get("sent")
            .copied()
            .unwrap_or(0)
            >= 3;
        if p.done && confirm_sent {
            assert_eq!((p.sent, p.skipped, p.total), (2, 1, 3), "{p:?}");
            break;
        }
        assert!(Instant::now() < deadline, "not finished: {p:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for r in ["r0@example.com", "r1@example.com", "late@example.com"] {
        assert_eq!(sink.mails_to(r).len(), 1, "{r}");
    }
    assert!(
        sink.mails_to("r2@example.com").is_empty(),
        "left before it was sent"
    );
    assert_eq!(sink.mails().len(), 3, "nothing of the stopped mailing");
    let p = outbox::mailing(&app.db, stopped)
        .await
        .unwrap()
        .unwrap()
        .progress;
    assert_eq!((p.sent, p.cancelled, p.done), (0, 2, true), "{p:?}");
    let page = admin.page(&format!("/admin/newsletter/{stopped}")).await;
    assert!(
        !page.contains("Retry the"),
        "a stopped mailing is not retried"
    );
    let page = admin.page("/admin/newsletter").await;
    assert!(
        !page.contains("Mail is not going out"),
        "the warning clears"
    );
    let json: serde_json::Value = admin
        .get("/admin/newsletter/progress.json")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(json["mailings"][1]["progress"]["sent"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_address_is_shown_as_failed_and_can_be_retried() {
    let port = free_port();
    let sink = SmtpSink::start_on(port, Some("nobody"));
    let app = spawn_app_with(|c| smtp_config(c, port)).await;
    seed_pages(&app, 1, 0).await;
    confirmed(
        &app,
        &["ok@example.com".into(), "nobody@example.com".into()],
    )
    .await;
    let mailing = queue_digest(&app, &page_ids(&app).await).await;
    app.state.newsletter.wake_all(&app.state.events).await;
    sink.wait_for_mail_to("ok@example.com", WAIT).await;
    let deadline = Instant::now() + WAIT;
    while outbox::mailing(&app.db, mailing)
        .await
        .unwrap()
        .unwrap()
        .progress
        .failed
        < 1
    {
        assert!(Instant::now() < deadline, "never marked failed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = app.owner().await;
    let page = admin.page(&format!("/admin/newsletter/{mailing}")).await;
    assert!(
        page.contains("nobody@example.com") && page.contains("550"),
        "{page}"
    );
    assert!(page.contains("Retry the 1 failed"));

    // The mailbox exists now; retrying sends it that one mail, nobody else.
    drop(sink);
    let sink = SmtpSink::start_on(port, None);
    let response = admin
        .post(&format!("/admin/newsletter/{mailing}/retry"), &[])
        .await;
    assert!(admin
        .follow(response)
        .await
        .contains("1 failed mail(s) queued again"));
    sink.wait_for_mail_to("nobody@example.com", WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_going_live_is_mailed_once_even_with_two_nodes() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| smtp_config(c, sink.port)).await;
    let node2 = app.second_node().await;
    seed_pages(&app, 2, 0).await;
    let readers: Vec<String> = (0..4).map(|i| format!("fan{i}@example.com")).collect();
    confirmed(&app, &readers).await;
    let admin = app.owner().await;
    let response = admin.post("/admin/newsletter/auto", &[("auto", "1")]).await;
    assert!(admin
        .follow(response)
        .await
        .contains("whenever a page goes live"));

    // The archive that was live before switching on is not mailed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(sink.mails().is_empty());

    // A page scheduled ahead: no mailing before its time, one after.
    let live_at = halftone::db::now() + 3;
    let mut page = crate::common::page(&app, "p3", "The Big Reveal", None, live_at);
    page.published_at = Some(live_at);
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: false,
        },
        vec![page],
    )
    .await;
    app.exec("UPDATE pages SET live_at = ? WHERE slug = 'p3'", &[live_at])
        .await;
    while halftone::db::now() < live_at {
        let made: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mailings")
            .fetch_one(app.db.pool())
            .await
            .expect("count");
        assert_eq!(made, 0, "mailed before it went live");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sink.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for r in &readers {
        let mails = sink.mails_to(r);
        assert_eq!(mails.len(), 1, "{r}");
        assert!(
            mails[0].subject().ends_with("The Big Reveal"),
            "{}",
            mails[0].subject()
        );
        assert!(mails[0].text().contains("/comic/p3"));
    }
    let mailings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mailings")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(mailings, 1, "two nodes, one mailing");
    drop(node2);
}

/// The real binary serving `app`'s site, sending through the sink.
fn spawn_site(app: &TestApp, smtp_port: u16, port: u16) -> ChildGuard {
    let mut command = halftone_command(app);
    command
        .arg("serve")
        .env("HALFTONE_BIND", format!("127.0.0.1:{port}"))
        .env("HALFTONE_PUBLIC_URL", &app.address)
        .env("HALFTONE_EMAIL__TRANSPORT", "smtp")
        .env("HALFTONE_EMAIL__SMTP_HOST", "127.0.0.1")
        .env("HALFTONE_EMAIL__SMTP_PORT", smtp_port.to_string())
        .env("HALFTONE_EMAIL__FROM", "comic@example.com")
        // One mail every 200 ms, so a kill can land between two.
        .env("HALFTONE_NEWSLETTER__MAX_PER_MINUTE", "300")
        .env("HALFTONE_NEWSLETTER__SENDER_LEASE_SECS", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    ChildGuard(command.spawn().expect("start halftone"))
}

/// Waits for the `n`th mail and for its row to be recorded as sent, so the
/// kill lands while the sender waits for its next turn under the rate limit
/// (one mail per 200 ms). A kill inside the SMTP transaction itself is the
/// one case that can duplicate a mail, and the sender documents it.
async fn between_mails(app: &TestApp, sink: &SmtpSink, n: usize) {
    sink.wait_for(n, Duration::from_secs(60)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let counts = delivery_counts(app).await;
        if !counts.contains_key("sending") && counts.get("sent").copied().unwrap_or(0) >= n as i64 {
            return;
        }
        assert!(Instant::now() < deadline, "{counts:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_interrupted_by_a_crash_and_a_restart_reaches_everyone_exactly_once() {
    let sink = SmtpSink::start();
    // Arrange with the in-process app (mail off, so it sends nothing).
    let app = spawn_app_with(|_| {}).await;
    seed_pages(&app, 2, 0).await;
    let readers: Vec<String> = (0..30)
        .map(|i| format!("reader{i:02}@example.com"))
        .collect();
    confirmed(&app, &readers).await;
    let mailing = queue_digest(&app, &page_ids(&app).await).await;
    app.stop().await;

    let port = free_port();
    let mut child = spawn_site(&app, sink.port, port);
    between_mails(&app, &sink, 8).await;
    // A crash: no chance to clean up.
    child.0.kill().expect("kill");
    child.0.wait().expect("wait");
    let after_crash = sink.mails().len();
    assert!(after_crash < 30, "the crash came too late to test anything");

    // Restarted: the lease of the dead process runs out, sending resumes.
    let mut child = spawn_site(&app, sink.port, port);
    between_mails(&app, &sink, after_crash + 8).await;
    // A deploy: SIGTERM lets the mail in hand finish and frees the lease.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.0.wait().expect("wait").success(), "a clean stop");
    let after_stop = sink.mails().len();
    assert!(after_stop < 30, "the stop came too late to test anything");

    let _child = spawn_site(&app, sink.port, port);
    sink.wait_for(30, Duration::from_secs(60)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let p = outbox::mailing(&app.db, mailing)
            .await
            .unwrap()
            .unwrap()
            .progress;
        if p.done {
            assert_eq!((p.sent, p.failed), (30, 0), "{p:?}");
            break;
        }
        assert!(Instant::now() < deadline, "never finished: {p:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 30, "nobody twice");
    for r in &readers {
        assert_eq!(sink.mails_to(r).len(), 1, "{r} exactly once");
    }
    // Every copy is the same mail with the reader's own link.
    let ids: std::collections::HashSet<String> = mails
        .iter()
        .map(|m| m.header("List-Unsubscribe").expect("header"))
        .collect();
    assert_eq!(ids.len(), 30);
    assert!(mails.iter().all(|m| m.subject() == "This week"));
}
