//! Managing the site: reordering, bulk actions, chapters, series, static
//! pages, site settings, the queue, hiatus and the buffer warning mail.

use crate::common::{html, seed_pages, select_attr, select_text, spawn_app, spawn_app_with};

async fn page_id(app: &crate::common::TestApp, slug: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM pages WHERE slug = ?")
        .bind(slug)
        .fetch_one(app.db.pool())
        .await
        .expect("id")
}

#[tokio::test]
async fn reordering_in_the_admin_changes_reader_navigation() {
    let app = spawn_app().await;
    seed_pages(&app, 4, 0).await;
    let admin = app.owner().await;
    let list = html(&admin.page("/admin/pages").await);
    assert_eq!(select_attr(&list, "tbody tr", "data-page-id").len(), 4);
    let (p4, p2) = (
        page_id(&app, "p4").await.to_string(),
        page_id(&app, "p2").await.to_string(),
    );
    let r = admin
        .post("/admin/pages/reorder", &[("page", &p4), ("before", &p2)])
        .await;
    assert_eq!(r.status(), 204);
    let doc = html(&app.page("/comic/p4").await);
    assert_eq!(
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-prev", "href"),
        vec!["/comic/p1"]
    );
    assert_eq!(
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-next", "href"),
        vec!["/comic/p2"]
    );
    let bad = admin
        .post("/admin/pages/reorder", &[("page", &p4), ("before", "x")])
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn bulk_actions_assign_chapters_and_labels_and_delete_with_confirmation() {
    let app = spawn_app().await;
    seed_pages(&app, 4, 2).await;
    let admin = app.owner().await;
    let (p1, p2, p3) = (
        page_id(&app, "p1").await.to_string(),
        page_id(&app, "p2").await.to_string(),
        page_id(&app, "p3").await.to_string(),
    );
    let c2: i64 = sqlx::query_scalar("SELECT id FROM chapters WHERE slug = 'c2'")
        .fetch_one(app.db.pool())
        .await
        .expect("c2");
    let c2 = c2.to_string();

    let moved = admin
        .post(
            "/admin/pages/bulk",
            &[
                ("action", "chapter"),
                ("ids", &p1),
                ("ids", &p2),
                ("chapter", &c2),
            ],
        )
        .await;
    assert!(admin.follow(moved).await.contains("Moved 2 pages"));
    let chapter = html(&app.page("/chapter/c2").await);
    assert_eq!(select_text(&chapter, "article.chapter-page h2").len(), 4);

    let labelled = admin
        .post(
            "/admin/pages/bulk",
            &[
                ("action", "labels"),
                ("ids", &p3),
                ("tags", "storm, night"),
                ("characters", "Marlo"),
            ],
        )
        .await;
    assert!(admin.follow(labelled).await.contains("Labelled 1 pages"));
    assert!(app.page("/tag/night").await.contains("/comic/p3"));
    assert!(app.page("/character/marlo").await.contains("/comic/p3"));

    let unconfirmed = admin
        .post("/admin/pages/bulk", &[("action", "delete"), ("ids", &p3)])
        .await;
    assert!(admin.follow(unconfirmed).await.contains("confirmation"));
    assert_eq!(app.get("/comic/p3").await.status(), 200);
    let deleted = admin
        .post(
            "/admin/pages/bulk",
            &[("action", "delete"), ("ids", &p3), ("confirm", "yes")],
        )
        .await;
    assert!(admin.follow(deleted).await.contains("Deleted 1 pages"));
    assert_eq!(app.get("/comic/p3").await.status(), 404);
    // Navigation closes the gap.
    let doc = html(&app.page("/comic/p4").await);
    assert_eq!(
        select_attr(&doc, "nav.comic-nav:first-of-type a.nav-prev", "href"),
        vec!["/comic/p2"]
    );

    let none = admin
        .post(
            "/admin/pages/bulk",
            &[("action", "delete"), ("confirm", "yes")],
        )
        .await;
    assert!(admin
        .follow(none)
        .await
        .contains("Select at least one page"));
}

#[tokio::test]
async fn chapters_are_created_renamed_reordered_and_deleted() {
    let app = spawn_app().await;
    seed_pages(&app, 4, 2).await;
    let admin = app.owner().await;
    let r = admin
        .post(
            "/admin/chapters",
            &[("title", "Epilogue"), ("volume", "Book One")],
        )
        .await;
    assert!(admin.follow(r).await.contains("Chapter “Epilogue” created"));
    let dup = admin
        .post("/admin/chapters", &[("title", "Epilogue")])
        .await;
    assert!(admin.follow(dup).await.contains("already uses the slug"));
    let c1: i64 = sqlx::query_scalar("SELECT id FROM chapters WHERE slug = 'c1'")
        .fetch_one(app.db.pool())
        .await
        .expect("c1");
    let r = admin
        .post(
            &format!("/admin/chapters/{c1}"),
            &[
                ("title", "The Beginning"),
                ("slug", "beginning"),
                ("description", "Where it starts."),
                ("volume", ""),
            ],
        )
        .await;
    assert!(admin.follow(r).await.contains("Chapter saved"));
    let archive = html(&app.page("/archive").await);
    assert_eq!(
        select_text(&archive, ".chapter-title > a:first-child")[0],
        "The Beginning"
    );
    assert_eq!(app.get("/chapter/beginning").await.status(), 200);

    let r = admin
        .post(
            &format!("/admin/chapters/{c1}/move"),
            &[("direction", "down")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let order: Vec<String> = sqlx::query_scalar("SELECT slug FROM chapters ORDER BY position")
        .fetch_all(app.db.pool())
        .await
        .expect("order");
    assert_eq!(order, vec!["c2", "beginning", "epilogue"]);

    let r = admin
        .post(
            &format!("/admin/chapters/{c1}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert!(admin.follow(r).await.contains("Chapter deleted"));
    assert_eq!(app.get("/comic/p1").await.status(), 200, "its pages stay");
}

#[tokio::test]
async fn series_and_static_pages_are_managed_from_the_admin() {
    let app = spawn_app().await;
    let admin = app.owner().await;
    let r = admin
        .post(
            "/admin/series",
            &[("title", "Side Stories"), ("tagline", "Extras")],
        )
        .await;
    assert!(admin
        .follow(r)
        .await
        .contains("Series “Side Stories” created"));
    let r = admin
        .post(
            "/admin/static",
            &[
                ("title", "About me"),
                ("slug", "about"),
                ("body", "I **draw**."),
                ("published", "1"),
            ],
        )
        .await;
    assert!(admin.follow(r).await.contains("created at /about"));
    assert!(app.page("/about").await.contains("<strong>draw</strong>"));
    let reserved = admin
        .post(
            "/admin/static",
            &[("title", "Archive"), ("slug", "archive"), ("body", "x")],
        )
        .await;
    assert!(admin
        .follow(reserved)
        .await
        .contains("used by the site itself"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM static_pages WHERE slug = 'about'")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    let hidden = admin
        .post(
            &format!("/admin/static/{id}"),
            &[
                ("title", "About me"),
                ("slug", "about"),
                ("body", "hidden now"),
            ],
        )
        .await;
    assert!(admin.follow(hidden).await.contains("Page saved"));
    assert_eq!(app.get("/about").await.status(), 404);
}

#[tokio::test]
async fn site_settings_change_what_readers_see() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    let r = admin
        .post(
            "/admin/settings",
            &[
                ("title", "Moth Comics"),
                ("tagline", "Tiny wings"),
                ("description", ""),
                ("author", "Ada"),
                ("language", "fr"),
            ],
        )
        .await;
    assert!(admin.follow(r).await.contains("Settings saved"));
    let home = app.page("/").await;
    assert!(home.contains("Moth Comics") && home.contains("lang=\"fr\""));
    let bad = admin
        .post("/admin/settings", &[("title", ""), ("language", "fr")])
        .await;
    assert!(admin.follow(bad).await.contains("1 to 200 characters"));
}

#[tokio::test]
async fn the_queue_takes_the_next_free_slot_of_the_cadence() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    let r = admin
        .client
        .post(admin.url("/admin/queue"))
        .form(&[
            ("csrf_token", admin.csrf.as_str()),
            ("days", "mon"),
            ("days", "thu"),
            ("time", "09:30"),
            ("timezone", "Europe/Paris"),
            ("buffer", "2"),
            ("hiatus_message", ""),
        ])
        .send()
        .await
        .expect("post");
    assert!(admin.follow(r).await.contains("Queue settings saved"));

    let page = admin.new_page().await;
    let queued = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "queue"), ("revision", "0")],
        )
        .await;
    assert!(admin.follow(queued).await.contains("Added to the queue"));
    let live_at: i64 = sqlx::query_scalar("SELECT live_at FROM pages WHERE id = ?")
        .bind(page)
        .fetch_one(app.db.pool())
        .await
        .expect("live_at");
    let local = chrono::DateTime::from_timestamp(live_at, 0)
        .expect("time")
        .with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(local.format("%H:%M").to_string(), "09:30");
    assert!(matches!(
        chrono::Datelike::weekday(&local),
        chrono::Weekday::Mon | chrono::Weekday::Thu
    ));

    // The next page takes the slot after.
    let second = admin.new_page().await;
    admin
        .post(
            &format!("/admin/pages/{second}/publish"),
            &[("action", "queue"), ("revision", "0")],
        )
        .await;
    let next: i64 = sqlx::query_scalar("SELECT live_at FROM pages WHERE id = ?")
        .bind(second)
        .fetch_one(app.db.pool())
        .await
        .expect("live_at");
    assert!(next > live_at);
    let calendar = admin.page("/admin/queue").await;
    assert!(calendar.contains("09:30 Untitled page"));
}

#[tokio::test]
async fn hiatus_pauses_the_queue_and_tells_readers() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    let r = admin
        .post(
            "/admin/queue",
            &[
                ("time", "09:00"),
                ("timezone", "UTC"),
                ("buffer", "3"),
                ("hiatus", "1"),
                ("hiatus_message", "Back in March!"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(app.page("/").await.contains("Back in March!"));
    assert!(admin.page("/admin").await.contains("on hiatus"));
}

#[tokio::test]
async fn a_low_buffer_warns_the_owner_by_mail_once() {
    let mail_dir = tempfile::tempdir().expect("dir");
    let dir = mail_dir.path().to_path_buf();
    let app = spawn_app_with(move |c| {
        c.email.transport = halftone::config::EmailTransport::File;
        c.email.file_dir = Some(dir);
        c.email.from = "Comic <comic@example.com>".into();
    })
    .await;
    seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    // A new site has no cadence and nothing queued: nothing is "running low".
    assert!(!admin.page("/admin").await.contains("Your buffer is low"));
    assert!(!halftone::queue::notify::check(&app.state)
        .await
        .expect("check"));
    let r = admin
        .post(
            "/admin/queue",
            &[
                ("days", "mon"),
                ("time", "09:00"),
                ("timezone", "UTC"),
                ("buffer", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        !halftone::queue::notify::check(&app.state)
            .await
            .expect("check"),
        "a cadence alone, with nothing ever queued, is no warning"
    );
    // The author queues a page: one of three is queued, the buffer is low.
    let page = admin.new_page().await;
    admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "queue"), ("revision", "0")],
        )
        .await;
    let mut mails = Vec::new();
    for _ in 0..50 {
        mails = std::fs::read_dir(mail_dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .collect();
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    if mails.is_empty() {
        let warned: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'queue.warned_at'")
                .fetch_optional(app.db.pool())
                .await
                .expect("q");
        panic!(
            "no mail in {:?}; warned_at={warned:?}; transport={:?}",
            mail_dir.path(),
            app.config.email.transport
        );
    }
    assert_eq!(mails.len(), 1, "one warning mail");
    let mail = std::fs::read_to_string(mails[0].path()).expect("read");
    assert!(mail.contains("only 1 page(s) left in the queue"), "{mail}");
    assert!(mail.contains("From: Comic <comic@example.com>"), "{mail}");
    assert!(
        mail.contains("To: \"Test Author\" <owner") || mail.contains("To: Test Author <owner"),
        "{mail}"
    );
    // Checking again the same day sends nothing more.
    let state_sent = halftone::queue::notify::check(&app.state)
        .await
        .expect("check");
    assert!(!state_sent);
}

/// Uploads an image through the editor's endpoint, as the admin's forms do.
async fn upload(admin: &crate::common::admin::Admin, png: Vec<u8>) -> i64 {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png)
            .file_name("portrait.png")
            .mime_str("image/png")
            .expect("mime"),
    );
    let response = admin
        .client
        .post(admin.url("/admin/media"))
        .header("x-csrf-token", &admin.csrf)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201);
    let json: serde_json::Value = response.json().await.expect("json");
    json["media_id"].as_i64().expect("media id")
}

#[tokio::test]
async fn the_cast_is_managed_from_the_admin() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 0).await;
    let admin = app.owner().await;
    // Pip comes from the pages; the cast page shows no portrait and no bio yet.
    let pip: i64 = sqlx::query_scalar("SELECT id FROM characters WHERE slug = 'pip'")
        .fetch_one(app.db.pool())
        .await
        .expect("pip");
    let list = admin.page("/admin/characters").await;
    assert!(
        list.contains("Pip") && list.contains("no portrait"),
        "{list}"
    );

    let portrait = upload(&admin, crate::common::png_bytes(200, 200, 3)).await;
    let p2: i64 = sqlx::query_scalar("SELECT id FROM pages WHERE slug = 'p2'")
        .fetch_one(app.db.pool())
        .await
        .expect("p2");
    let saved = admin
        .post(
            &format!("/admin/characters/{pip}"),
            &[
                ("name", "Pip"),
                ("slug", "pip"),
                ("description", "The lighthouse keeper's *small* cat."),
                ("position", "1"),
                ("portrait", &portrait.to_string()),
                ("first_page", &p2.to_string()),
            ],
        )
        .await;
    assert!(admin.follow(saved).await.contains("Pip saved."));
    let cast = app.page("/cast").await;
    assert!(
        cast.contains("<em>small</em>"),
        "the bio as Markdown: {cast}"
    );
    assert!(cast.contains("Portrait of Pip"));
    assert!(
        cast.contains("href=\"/comic/p2\">First appearance"),
        "the first appearance the author chose: {cast}"
    );

    // A first appearance on a page Pip is not on, and a taken slug: refused.
    app.exec(
        "INSERT INTO characters (slug, name, description, position) VALUES ('ada', 'Ada', '', 2)",
        &[],
    )
    .await;
    let other: i64 = sqlx::query_scalar("SELECT MAX(id) FROM pages")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    app.exec("DELETE FROM page_characters WHERE page_id = ?", &[other])
        .await;
    let wrong = admin
        .post(
            &format!("/admin/characters/{pip}"),
            &[("name", "Pip"), ("first_page", &other.to_string())],
        )
        .await;
    assert!(admin
        .follow(wrong)
        .await
        .contains("the first appearance must be a page the character is on"));
    let taken = admin
        .post(
            &format!("/admin/characters/{pip}"),
            &[("name", "Pip"), ("slug", "ada")],
        )
        .await;
    assert!(admin.follow(taken).await.contains("already uses the slug"));

    // A new character, then removed.
    let created = admin
        .post("/admin/characters", &[("name", "Mo Rivers")])
        .await;
    assert!(admin
        .follow(created)
        .await
        .contains("Mo Rivers joined the cast"));
    let mo: i64 = sqlx::query_scalar("SELECT id FROM characters WHERE slug = 'mo-rivers'")
        .fetch_one(app.db.pool())
        .await
        .expect("mo");
    let removed = admin
        .post(&format!("/admin/characters/{mo}/delete"), &[])
        .await;
    assert!(admin
        .follow(removed)
        .await
        .contains("removed from the cast"));
}

#[tokio::test]
async fn a_page_moves_far_in_one_step() {
    let app = spawn_app().await;
    seed_pages(&app, 30, 3).await;
    let admin = app.owner().await;
    let order = |app: &crate::common::TestApp| {
        let pool = app.db.pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT slug FROM pages ORDER BY position, id")
                .fetch_all(&pool)
                .await
                .expect("order")
        }
    };
    // Page #27 to place 3: one request instead of 24 clicks.
    let moved = admin
        .post("/admin/pages/move", &[("number", "27"), ("position", "3")])
        .await;
    assert!(admin.follow(moved).await.contains("to place 3"));
    let now = order(&app).await;
    assert_eq!(&now[..4], ["p1", "p2", "p27", "p3"]);
    assert_eq!(now.len(), 30);
    // Page #1 to the end of chapter c2 (pages 11–20): it joins that chapter.
    let c2: i64 = sqlx::query_scalar("SELECT id FROM chapters WHERE slug = 'c2'")
        .fetch_one(app.db.pool())
        .await
        .expect("c2");
    let moved = admin
        .post(
            "/admin/pages/move",
            &[("number", "1"), ("to_chapter", &c2.to_string())],
        )
        .await;
    assert!(admin.follow(moved).await.contains("end of the chapter"));
    let now = order(&app).await;
    let at = now.iter().position(|s| s == "p1").expect("p1");
    assert_eq!(now[at - 1], "p20");
    assert_eq!(now[at + 1], "p21");
    let chapter: Option<i64> = sqlx::query_scalar("SELECT chapter_id FROM pages WHERE slug = 'p1'")
        .fetch_one(app.db.pool())
        .await
        .expect("chapter");
    assert_eq!(chapter, Some(c2));
    // Reader navigation follows the new order.
    assert!(app.page("/comic/p20").await.contains("href=\"/comic/p1\""));
    // Bad numbers get a clear message.
    let bad = admin
        .post("/admin/pages/move", &[("number", "99"), ("position", "1")])
        .await;
    assert!(admin.follow(bad).await.contains("1 to 30"));
}

#[tokio::test]
async fn the_creator_sets_the_look_without_code_and_unreadable_colours_are_refused() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    // The default look needs no extra stylesheet.
    assert!(!app.page("/").await.contains("/theme.css"));
    let grey = admin
        .post(
            "/admin/settings/look",
            &[
                ("accent", "#808080"),
                ("heading_font", "bangers"),
                ("logo", ""),
            ],
        )
        .await;
    assert!(admin.follow(grey).await.contains("too close to a mid grey"));
    assert!(!app.page("/").await.contains("/theme.css"), "nothing saved");

    let logo = upload(&admin, crate::common::png_bytes(300, 80, 5)).await;
    let saved = admin
        .post(
            "/admin/settings/look",
            &[
                ("accent", "#1A5FB4"),
                ("heading_font", "comic-neue"),
                ("logo", &logo.to_string()),
            ],
        )
        .await;
    assert!(admin.follow(saved).await.contains("The look is saved"));
    let home = crate::common::html(&app.page("/").await);
    let theme = crate::common::select_attr(&home, "link[href^='/theme.css']", "href");
    assert_eq!(theme.len(), 1, "the theme is linked");
    let css = app.get(&theme[0]).await;
    assert!(css.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    let css = css.text().await.expect("css");
    assert!(
        css.contains("--accent: #1a5fb4") && css.contains("--accent-ink: #ffffff"),
        "{css}"
    );
    assert!(css.contains("\"Comic Neue\""), "{css}");
    let font = css
        .split("url(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a font url");
    let woff = app.get(font).await;
    assert_eq!(woff.status(), 200, "{font}");
    assert_eq!(woff.headers()["content-type"], "font/woff2");
    let logo = crate::common::select_attr(&home, ".site-title img", "src");
    assert_eq!(app.get(&logo[0]).await.status(), 200);
    assert_eq!(
        crate::common::select_attr(&home, ".site-title img", "alt"),
        vec!["Halftone"]
    );
}
