//! RSS, Atom and JSON Feed, parsed back with real feed parsers.

use crate::common::{seed_pages, spawn_app};

#[tokio::test]
async fn rss_lists_the_newest_pages_with_full_images() {
    let app = spawn_app().await;
    seed_pages(&app, 25, 2).await;
    let response = app.get("/feed.xml").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let body = response.text().await.expect("body");
    let channel = rss::Channel::read_from(body.as_bytes()).expect("valid RSS");
    assert_eq!(channel.items().len(), 20, "feeds carry the 20 newest pages");
    let first = &channel.items()[0];
    // Items name their chapter: "Page 1" of two chapters must not look alike.
    assert_eq!(first.title(), Some("Chapter c2: Page 25"));
    assert_eq!(first.link(), Some(app.url("/comic/p25").as_str()));
    let content = first.content().expect("content:encoded");
    assert!(
        content.contains(&format!("src=\"{}/media/", app.address)),
        "{content}"
    );
    assert!(content.contains("alt=\"alt of Page 25\""));
    assert!(first.guid().is_some_and(|g| !g.is_permalink()));
    assert!(first.pub_date().is_some());
    let self_link = &channel.atom_ext().expect("atom:link").links()[0];
    assert_eq!(self_link.href(), app.url("/feed.xml"));
}

#[tokio::test]
async fn atom_and_json_feed_carry_the_same_pages() {
    let app = spawn_app().await;
    seed_pages(&app, 3, 1).await;
    let atom = app.page("/atom.xml").await;
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).expect("valid Atom");
    let titles: Vec<_> = feed
        .entries()
        .iter()
        .map(|e| e.title().value.clone())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Chapter c1: Page 3",
            "Chapter c1: Page 2",
            "Chapter c1: Page 1"
        ]
    );
    assert!(feed.entries()[0]
        .content()
        .and_then(|c| c.value())
        .is_some_and(|v| v.contains("<img")));
    assert!(feed
        .links()
        .iter()
        .any(|l| l.rel() == "self" && l.href() == app.url("/atom.xml")));

    let response = app.get("/feed.json").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/feed+json; charset=utf-8"
    );
    let json: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["items"][0]["url"], app.url("/comic/p3"));
    assert!(json["items"][0]["image"]
        .as_str()
        .is_some_and(|s| s.starts_with(&app.url("/media/"))));
}

#[tokio::test]
async fn each_chapter_has_its_own_feeds() {
    let app = spawn_app().await;
    seed_pages(&app, 6, 2).await;
    let body = app.page("/chapter/c1/feed.xml").await;
    let channel = rss::Channel::read_from(body.as_bytes()).expect("valid RSS");
    let titles: Vec<_> = channel.items().iter().filter_map(|i| i.title()).collect();
    // The chapter's own feed names the chapter once, in its title.
    assert_eq!(titles, vec!["Page 3", "Page 2", "Page 1"]);
    assert!(
        channel.title().ends_with("Chapter c1"),
        "{}",
        channel.title()
    );
    assert_eq!(app.get("/chapter/c2/atom.xml").await.status(), 200);
    assert_eq!(app.get("/chapter/c2/feed.json").await.status(), 200);
    assert_eq!(app.get("/chapter/nope/feed.xml").await.status(), 404);
}

#[tokio::test]
async fn pages_advertise_their_feeds() {
    let app = spawn_app().await;
    seed_pages(&app, 1, 0).await;
    let body = app.page("/").await;
    assert!(body.contains("type=\"application/rss+xml\""));
    assert!(body.contains("type=\"application/atom+xml\""));
    assert!(body.contains("type=\"application/feed+json\""));
}
