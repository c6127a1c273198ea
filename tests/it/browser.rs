//! The reader's page in a real browser: keyboard navigation, bookmarks and
//! "continue reading", all without an account.

use fantoccini::key::Key;
use fantoccini::Locator;

use crate::common::{browser, seed_pages, spawn_app};

#[tokio::test]
async fn a_reader_pages_with_the_keyboard_bookmarks_and_is_welcomed_back() {
    let app = spawn_app().await;
    seed_pages(&app, 5, 1).await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let c = &browser.client;

    c.goto(&app.url("/comic/p2")).await.expect("goto");
    browser.press(Key::Right.into()).await;
    browser.wait_for("location.pathname === '/comic/p3'").await;
    browser.press(Key::Left.into()).await;
    browser.wait_for("location.pathname === '/comic/p2'").await;
    assert_eq!(browser.path().await, "/comic/p2");

    // Bookmark page 2; the bookmarks page lists it.
    let button = c
        .find(Locator::Css("[data-bookmark]"))
        .await
        .expect("bookmark button");
    button.click().await.expect("click");
    assert_eq!(
        button.attr("aria-pressed").await.expect("attr").as_deref(),
        Some("true")
    );
    c.goto(&app.url("/bookmarks")).await.expect("goto");
    browser
        .wait_for("document.querySelector('#bookmark-list a')")
        .await;
    let link = c
        .find(Locator::Css("#bookmark-list a"))
        .await
        .expect("bookmark link");
    assert_eq!(link.text().await.expect("text"), "Page 2");
    assert_eq!(
        link.attr("href").await.expect("href").as_deref(),
        Some("/comic/p2")
    );

    // Back on the home page (the latest page), the reader is offered to
    // continue where they left off.
    c.goto(&app.url("/")).await.expect("goto");
    browser
        .wait_for("!document.getElementById('continue-reading').hidden")
        .await;
    let resume = c
        .find(Locator::Css("#continue-reading a"))
        .await
        .expect("continue link");
    assert_eq!(
        resume.attr("href").await.expect("href").as_deref(),
        Some("/comic/p2")
    );

    // Typing in a form field does not turn pages.
    c.execute("document.body.insertAdjacentHTML('beforeend', '<input id=t>'); document.getElementById('t').focus();", vec![])
        .await
        .expect("script");
    browser.press(Key::Left.into()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(browser.path().await, "/");
}

/// The promise: type in the editor, lose the server mid-typing,
/// get it back, and every word is saved and reaches the reader's page.
#[tokio::test]
async fn the_editor_keeps_every_word_through_a_server_restart() {
    let mut app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    app.create_user("ada@example.com", halftone::auth::Role::Owner)
        .await;
    let page: i64 = sqlx::query_scalar("SELECT id FROM pages WHERE slug = 'p2'")
        .fetch_one(app.db.pool())
        .await
        .expect("id");
    let Some(browser) = browser::start().await else {
        return;
    };
    let c = &browser.client;

    c.goto(&app.url("/admin/login")).await.expect("goto");
    c.find(Locator::Css("#email"))
        .await
        .expect("email")
        .send_keys("ada@example.com")
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys(crate::common::admin::PASSWORD)
        .await
        .expect("type");
    c.find(Locator::Css("button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    browser.wait_for("location.pathname === '/admin'").await;

    c.goto(&app.url(&format!("/admin/pages/{page}")))
        .await
        .expect("goto");
    browser
        .wait_for("window.halftoneEditor && window.halftoneEditor.state() === 'saved'")
        .await;
    let transcript = c
        .find(Locator::Css("#f-transcript"))
        .await
        .expect("transcript");
    transcript.clear().await.expect("clear");
    transcript.send_keys("First part. ").await.expect("type");
    browser
        .wait_for(
            "window.halftoneEditor.state() === 'saved' && window.halftoneEditor.revision() >= 1",
        )
        .await;

    // The server goes away while the author keeps typing.
    app.stop().await;
    transcript
        .send_keys("Typed while the server was down.")
        .await
        .expect("type");
    browser
        .wait_for("window.halftoneEditor.state() === 'offline'")
        .await;
    let kept: String = c
        .execute(
            "return localStorage.getItem('halftone:draft:' + arguments[0]);",
            vec![serde_json::json!(page.to_string())],
        )
        .await
        .expect("script")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        kept.contains("Typed while the server was down."),
        "the browser keeps the unsaved text: {kept}"
    );

    // It comes back; the editor reconnects by itself and saves.
    app.start_again().await;
    browser
        .wait_for(
            "window.halftoneEditor.state() === 'saved' && window.halftoneEditor.revision() >= 2",
        )
        .await;
    c.find(Locator::Css("form[data-publish] button[value=update]"))
        .await
        .expect("update")
        .click()
        .await
        .expect("click");
    browser.wait_for("document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Updated')").await;

    let reader = app.page("/comic/p2").await;
    assert!(
        reader.contains("First part. Typed while the server was down."),
        "the reader sees every word"
    );
}

/// How far the page scrolls sideways (0 when it fits the screen).
const OVERFLOW: &str = "document.documentElement.scrollWidth - window.innerWidth";

#[tokio::test]
async fn on_a_phone_the_comic_comes_first_and_nothing_overflows() {
    let app = spawn_app().await;
    seed_pages(&app, 6, 2).await;
    let Some(browser) = browser::start_phone().await else {
        return;
    };
    let c = &browser.client;
    for path in ["/", "/comic/p3"] {
        c.goto(&app.url(path)).await.expect("goto");
        assert_eq!(browser.eval("window.innerWidth").await, 390);
        let top = browser
            .eval("document.querySelector('.comic-images img').getBoundingClientRect().top + window.scrollY")
            .await
            .as_f64()
            .expect("a number");
        assert!(top <= 150.0, "{path}: the comic starts {top} px down");
    }
    for path in [
        "/",
        "/comic/p3",
        "/archive",
        "/cast",
        "/chapter/c1",
        "/search?q=page",
    ] {
        c.goto(&app.url(path)).await.expect("goto");
        assert_eq!(browser.eval(OVERFLOW).await, 0, "{path} scrolls sideways");
    }
    // An image is never shown wider than it is (the test images are 320 px).
    c.goto(&app.url("/comic/p3")).await.expect("goto");
    let shown = browser
        .eval("document.querySelector('.comic-images img').getBoundingClientRect().width")
        .await
        .as_f64()
        .expect("width");
    assert!(shown <= 320.5, "upscaled to {shown} px");
}

#[tokio::test]
async fn cast_cards_work_with_and_without_a_portrait() {
    let app = spawn_app().await;
    seed_pages(&app, 2, 0).await;
    // Pip (from the seed) gets a portrait; Ada, on page 1 only, has none.
    let media: i64 = sqlx::query_scalar("SELECT MIN(id) FROM media")
        .fetch_one(app.db.pool())
        .await
        .expect("media");
    app.exec(
        "UPDATE characters SET media_id = ? WHERE slug = 'pip'",
        &[media],
    )
    .await;
    app.exec("INSERT INTO characters (slug, name, description, position) VALUES ('ada', 'Ada', 'An engineer who talks to lighthouses and writes long letters to the sea about it.', 2)", &[])
        .await;
    let page: i64 = sqlx::query_scalar("SELECT id FROM pages WHERE slug = 'p1'")
        .fetch_one(app.db.pool())
        .await
        .expect("page");
    let ada: i64 = sqlx::query_scalar("SELECT id FROM characters WHERE slug = 'ada'")
        .fetch_one(app.db.pool())
        .await
        .expect("ada");
    app.exec(
        "INSERT INTO page_characters (page_id, character_id) VALUES (?, ?)",
        &[page, ada],
    )
    .await;
    for phone in [true, false] {
        let browser = if phone {
            browser::start_phone().await
        } else {
            browser::start().await
        };
        let Some(browser) = browser else {
            return;
        };
        browser.client.goto(&app.url("/cast")).await.expect("goto");
        let cards = browser
            .eval(
                "Array.from(document.querySelectorAll('.cast-member')).map(card => { \
                   const h = card.querySelector('h2'); const b = card.getBoundingClientRect(); \
                   const t = h.getBoundingClientRect(); \
                   return { name: h.textContent.trim(), portrait: !!card.querySelector('img'), \
                            card: b.width, text: t.width, lines: Math.round(card.querySelector('p, div').getBoundingClientRect().height) }; })",
            )
            .await;
        let cards = cards.as_array().expect("cards").clone();
        assert_eq!(cards.len(), 2, "{cards:?}");
        for card in &cards {
            let name = card["name"].as_str().unwrap_or("");
            let portrait = card["portrait"].as_bool().unwrap_or(false);
            assert_eq!(portrait, name == "Pip", "{card}");
            // Without a portrait the text is not squeezed into a narrow column.
            let share = card["text"].as_f64().unwrap_or(0.0) / card["card"].as_f64().unwrap_or(1.0);
            assert!(
                share > 0.5,
                "{name}: the text takes {share:.2} of its card ({card})"
            );
        }
        assert_eq!(browser.eval(OVERFLOW).await, 0, "the cast scrolls sideways");
    }
}

#[tokio::test]
async fn the_admin_fits_a_phone() {
    let app = spawn_app().await;
    seed_pages(&app, 30, 3).await;
    app.create_user("phone@example.com", halftone::auth::Role::Owner)
        .await;
    let Some(browser) = browser::start_phone().await else {
        return;
    };
    browser
        .log_in(
            &app.address,
            "phone@example.com",
            crate::common::admin::PASSWORD,
        )
        .await;
    for path in [
        "/admin",
        "/admin/pages",
        "/admin/queue",
        "/admin/chapters",
        "/admin/characters",
        "/admin/settings",
        "/admin/series",
    ] {
        browser.client.goto(&app.url(path)).await.expect("goto");
        assert_eq!(
            browser.eval(OVERFLOW).await,
            0,
            "{path} scrolls sideways at 390 px"
        );
    }
    // The page list shows thumbnails and tells "Page 1" of each chapter apart.
    browser
        .client
        .goto(&app.url("/admin/pages"))
        .await
        .expect("goto");
    let rows = browser
        .eval("Array.from(document.querySelectorAll('table.pages tbody tr')).slice(0, 3).map(r => [!!r.querySelector('td.thumb img'), r.querySelector('td.title a').innerText])")
        .await;
    for row in rows.as_array().expect("rows") {
        assert_eq!(row[0], true, "a thumbnail: {row}");
        assert!(
            row[1].as_str().is_some_and(|t| t.starts_with("Chapter c")),
            "{row}"
        );
    }
}
