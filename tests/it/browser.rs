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
    app.create_user("ada@example.com", halftone::admin::auth::Role::Owner)
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
