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
