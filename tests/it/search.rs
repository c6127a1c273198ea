//! Search as readers use it: ranking, snippets, typos, phrases, paging,
//! scheduled pages hidden, and the index following edits — on SQLite and
//! MariaDB.

use std::time::{Duration, Instant};

use crate::common::{html, seed_pages, select_attr, select_text, spawn_app, TestApp};

/// Waits until the index has been rebuilt past `after`.
async fn index_caught_up(app: &TestApp, after: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while app
        .state
        .search
        .generation
        .load(std::sync::atomic::Ordering::Acquire)
        <= after
    {
        assert!(Instant::now() < deadline, "search index never rebuilt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn generation(app: &TestApp) -> u64 {
    app.state
        .search
        .generation
        .load(std::sync::atomic::Ordering::Acquire)
}

/// Sets a page's transcript (test-controlled text, so inlined).
async fn transcript(app: &TestApp, slug: &str, text: &str) {
    let before = generation(app);
    app.exec(
        &format!("UPDATE pages SET transcript = '{text}' WHERE slug = '{slug}'"),
        &[],
    )
    .await;
    index_caught_up(app, before).await;
}

async fn titles(app: &TestApp, query: &str) -> Vec<String> {
    let body = app.page(&format!("/search?q={}", urlencode(query))).await;
    select_text(&html(&body), ".search-results .result-title")
}

fn urlencode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn readers_find_pages_by_words_typos_prefixes_and_phrases() {
    let app = spawn_app().await;
    seed_pages(&app, 6, 2).await;
    transcript(&app, "p2", "The dragon opens one eye and yawns.").await;
    transcript(&app, "p3", "Breakfast: toast, and a dragon egg.").await;
    transcript(&app, "p4", "An egg is hidden behind the old dragon.").await;
    app.exec(
        "UPDATE pages SET title = 'The Dragon Wakes' WHERE slug = 'p5'",
        &[],
    )
    .await;
    let before = generation(&app);
    app.exec(
        "UPDATE pages SET notes = 'Inspired by **lighthouses**' WHERE slug = 'p6'",
        &[],
    )
    .await;
    index_caught_up(&app, before).await;

    let dragon = titles(&app, "dragon").await;
    assert_eq!(dragon.len(), 4, "{dragon:?}");
    assert_eq!(dragon[0], "The Dragon Wakes", "a title match ranks first");
    assert_eq!(
        titles(&app, "dargon").await.len(),
        4,
        "one typo is forgiven"
    );
    assert_eq!(
        titles(&app, "breakf").await,
        vec!["Page 3"],
        "prefixes match"
    );
    assert_eq!(
        titles(&app, "\"dragon egg\"").await,
        vec!["Page 3"],
        "phrases keep word order"
    );
    assert_eq!(
        titles(&app, "egg hidden").await,
        vec!["Page 4"],
        "every word is required"
    );
    assert_eq!(
        titles(&app, "lighthouses").await,
        vec!["Page 6"],
        "author's notes are searched"
    );
    assert_eq!(
        titles(&app, "alt of Page 1").await[0],
        "Page 1",
        "alt text is searched"
    );
    assert_eq!(
        titles(&app, "chapter c2").await.len(),
        3,
        "chapter names are searched"
    );

    let body = app.page("/search?q=yawns").await;
    let doc = html(&body);
    let snippet = select_text(&doc, ".snippet");
    assert!(
        body.contains("<b>yawns</b>"),
        "the match is highlighted: {snippet:?}"
    );
    assert_eq!(
        select_attr(&doc, ".search-results img", "src").len(),
        1,
        "with a thumbnail"
    );
    assert!(body.contains("name=\"robots\" content=\"noindex\""));
    let none = app.page("/search?q=zeppelin").await;
    assert!(none.contains("No pages match"));
    // Markup typed into the box is shown as text.
    let hostile = app
        .page("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert!(!hostile.contains("<script>alert(1)"));
}

#[tokio::test]
async fn drafts_and_scheduled_pages_never_show_and_edits_show_at_once() {
    let app = spawn_app().await;
    seed_pages(&app, 4, 1).await;
    transcript(&app, "p1", "a secret plan").await;
    transcript(&app, "p2", "the secret door").await;
    transcript(&app, "p3", "another secret").await;
    // Page 2 scheduled for tomorrow, page 3 back to draft.
    let tomorrow = chrono::Utc::now().timestamp() + 86_400;
    app.exec(
        "UPDATE pages SET live_at = ? WHERE slug = 'p2'",
        &[tomorrow],
    )
    .await;
    let before = generation(&app);
    app.exec("UPDATE pages SET status = 'draft' WHERE slug = 'p3'", &[])
        .await;
    index_caught_up(&app, before).await;
    assert_eq!(titles(&app, "secret").await, vec!["Page 1"]);
    // Going live needs no rebuild: the index filters by time.
    let soon = chrono::Utc::now().timestamp() + 1;
    app.exec("UPDATE pages SET live_at = ? WHERE slug = 'p2'", &[soon])
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        titles(&app, "secret").await.len(),
        2,
        "the scheduled page appears at its time"
    );
    // An edit is searchable at once, and the old words are gone.
    transcript(&app, "p1", "a brand new plan").await;
    assert_eq!(titles(&app, "brand").await, vec!["Page 1"]);
    assert_eq!(titles(&app, "secret").await, vec!["Page 2"]);
}

#[tokio::test]
async fn results_are_paged_and_the_box_is_on_every_page() {
    let app = spawn_app().await;
    let before = generation(&app);
    seed_pages(&app, 23, 1).await;
    index_caught_up(&app, before).await;
    // The first build may have started before the pages were written; the
    // write's own rebuild follows it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !app
        .page("/search?q=transcript")
        .await
        .contains("23 pages match")
    {
        assert!(
            Instant::now() < deadline,
            "the index never caught up with the seed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = app.page("/search?q=transcript").await;
    assert!(first.contains("23 pages match"));
    assert_eq!(
        select_text(&html(&first), ".search-results .result-title").len(),
        10
    );
    let third = app.page("/search?q=transcript&page=3").await;
    assert_eq!(
        select_text(&html(&third), ".search-results .result-title").len(),
        3
    );
    assert!(third.contains("rel=\"prev\"") && !third.contains("rel=\"next\""));
    for path in ["/", "/archive", "/comic/p3", "/cast"] {
        let doc = html(&app.page(path).await);
        assert_eq!(
            select_attr(&doc, "form[role=search]", "action"),
            vec!["/search"],
            "{path}"
        );
    }
    let empty = app.get("/search").await;
    assert_eq!(empty.status(), 200);
    let huge = app.get(&format!("/search?q={}", "a".repeat(5000))).await;
    assert_eq!(huge.status(), 200, "an absurd query is cut, not an error");
}
