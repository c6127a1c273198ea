//! RSS 2.0, Atom and JSON Feed for each series and each chapter.
//!
//! Items are the newest pages to go *live* (ordered by `live_at`), carry
//! their full images and notes, and keep an id that never changes even if a
//! page's slug does — so a subscriber never misses a page nor sees one twice.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::cache::Rendered;
use crate::comics::pages::FeedScope;
use crate::comics::{self, Page, PageImage};
use crate::error::AppError;
use crate::media::view::Picture;
use crate::reader::response;
use crate::reader::site::{FeedLinks, Site};
use crate::render::markdown;
use crate::startup::AppState;

/// Items per feed.
const FEED_LENGTH: i64 = 20;

/// A feed, independent of its format.
struct Feed {
    title: String,
    description: String,
    language: String,
    author: String,
    /// The HTML page the feed is about.
    home: String,
    links: FeedLinks,
    /// A stable id root (`tag:` URI) for entry ids.
    tag_root: String,
    updated: DateTime<Utc>,
    items: Vec<Item>,
}

struct Item {
    id: String,
    title: String,
    url: String,
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
    content_html: String,
    summary: String,
    image: Option<String>,
    tags: Vec<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Rss,
    Atom,
    Json,
}

pub async fn rss(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    serve(state, req, Format::Rss).await
}

pub async fn atom(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    serve(state, req, Format::Atom).await
}

pub async fn json(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    serve(state, req, Format::Json).await
}

/// Tells analytics a feed was fetched (by whom: readers' feed apps say so
/// in their user agent and subscriber counts).
pub fn report_fetch(state: &AppState, path: &str, headers: &actix_web::http::header::HeaderMap) {
    state.analytics.report(crate::analytics::Event::Feed {
        path: path.to_owned(),
        ua: headers
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    });
}

async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    format: Format,
) -> Result<HttpResponse, AppError> {
    // Counted before the cache: most fetches are answered from it (and the
    // fast lane, which answers fresh ones before this handler, counts them
    // too: `FeedFetch` marks the route for it).
    report_fetch(&state, req.path(), req.headers());
    {
        use actix_web::HttpMessage;
        req.extensions_mut().insert(crate::metrics::FeedFetch);
    }
    let series = req.match_info().get("series").map(str::to_owned);
    let chapter = req.match_info().get("chapter").map(str::to_owned);
    response::page(&state, &req, move |state| {
        let (series, chapter) = (series.clone(), chapter.clone());
        async move {
            let feed = load(&state, series.as_deref(), chapter.as_deref()).await?;
            Ok(match format {
                Format::Rss => Rendered {
                    body: to_rss(&feed),
                    content_type: "application/rss+xml; charset=utf-8",
                },
                Format::Atom => Rendered {
                    body: to_atom(&feed),
                    content_type: "application/atom+xml; charset=utf-8",
                },
                Format::Json => Rendered {
                    body: to_json(&feed),
                    content_type: "application/feed+json; charset=utf-8",
                },
            })
        }
    })
    .await
}

#[tracing::instrument(skip_all)]
async fn load(
    state: &AppState,
    series: Option<&str>,
    chapter: Option<&str>,
) -> Result<Feed, AppError> {
    let site = Site::load(state, series).await?;
    let series = site.require_series()?;
    let now = crate::db::now();
    let chapters = comics::chapters::visible_in_series(&state.db, series.id, now).await?;
    // One series: the feed is the site's (a reader subscribed to the comic,
    // not to "My Comic"); several: "Series · Site".
    let series_title = if site.is_multi_series() {
        format!("{} · {}", series.title, site.settings.title)
    } else {
        site.settings.title.clone()
    };
    let (scope, title, home, links) = match chapter {
        Some(chapter_slug) => {
            let chapter = chapters
                .iter()
                .find(|c| c.slug == chapter_slug)
                .ok_or(AppError::NotFound)?;
            (
                FeedScope::Chapter(chapter.id),
                format!("{series_title} — {}", chapter.title),
                site.urls.chapter(series.id, &chapter.slug),
                FeedLinks::for_chapter(&site.urls, series.id, &chapter.slug),
            )
        }
        None => (
            FeedScope::Series(series.id),
            series_title,
            site.urls.home(series.id),
            FeedLinks::for_series(&site.urls, series.id),
        ),
    };
    // In a series feed, "Page 1" of every chapter would look alike: items
    // name their chapter (a chapter's own feed does not need to).
    let chapter_titles: std::collections::HashMap<_, _> = match scope {
        FeedScope::Series(_) => chapters.iter().map(|c| (c.id, c.title.clone())).collect(),
        FeedScope::Chapter(_) => Default::default(),
    };
    let pages = comics::pages::recent(&state.db, scope, now, FEED_LENGTH).await?;
    let ids: Vec<_> = pages.iter().map(|p| p.id).collect();
    let images = comics::pages::images_for(&state.db, &ids).await?;
    let labels = comics::taxonomy::tag_names_for(&state.db, &ids).await?;

    let host = url::Url::parse(&site.urls.base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let tag_root = format!("tag:{},2026:", host.unwrap_or_else(|| "localhost".into()));
    let items: Vec<Item> = pages
        .iter()
        .map(|page| {
            let chapter = page.chapter_id.and_then(|c| chapter_titles.get(&c));
            item(&site, &tag_root, page, chapter, &images, &labels)
        })
        .collect();
    let updated = items
        .iter()
        .map(|i| i.updated)
        .max()
        .unwrap_or_else(Utc::now);
    let description = if series.tagline.is_empty() {
        site.settings.tagline.clone()
    } else {
        series.tagline.clone()
    };
    Ok(Feed {
        title,
        description,
        language: site.settings.language.clone(),
        author: if site.settings.author.is_empty() {
            site.settings.title.clone()
        } else {
            site.settings.author.clone()
        },
        home: site.urls.absolute(&home),
        links: FeedLinks {
            rss: site.urls.absolute(&links.rss),
            atom: site.urls.absolute(&links.atom),
            json: site.urls.absolute(&links.json),
        },
        tag_root,
        updated,
        items,
    })
}

fn time(ts: Option<i64>) -> DateTime<Utc> {
    ts.and_then(|t| DateTime::from_timestamp(t, 0))
        .unwrap_or_default()
}

fn item(
    site: &Site,
    tag_root: &str,
    page: &Page,
    chapter: Option<&String>,
    images: &[PageImage],
    tags: &[(comics::PageId, String)],
) -> Item {
    let url = site
        .urls
        .absolute(&site.urls.comic(page.series_id, &page.slug));
    let mut html = String::new();
    let mut first_image = None;
    for image in images.iter().filter(|i| i.page_id == page.id) {
        let picture = Picture::new(&image.media, &image.alt_text, false);
        let src = site.urls.absolute(&picture.fallback);
        first_image.get_or_insert_with(|| src.clone());
        html.push_str(&format!(
            "<p><a href=\"{}\"><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\"{}></a></p>",
            escape(&url),
            escape(&src),
            picture.width,
            picture.height,
            escape(&picture.alt),
            if page.hover_text.is_empty() {
                String::new()
            } else {
                format!(" title=\"{}\"", escape(&page.hover_text))
            },
        ));
    }
    if !page.content_warning.is_empty() {
        html.insert_str(
            0,
            &format!(
                "<p><strong>Content warning:</strong> {}</p>",
                escape(&page.content_warning)
            ),
        );
    }
    if !page.hover_text.is_empty() {
        html.push_str(&format!("<p><em>{}</em></p>", escape(&page.hover_text)));
    }
    html.push_str(&markdown::to_html(&page.notes));
    let summary = if page.notes.is_empty() {
        page.title.clone()
    } else {
        markdown::to_text(&page.notes, 280)
    };
    let title = match chapter {
        Some(chapter) if !page.title.contains(chapter.as_str()) => {
            format!("{chapter}: {}", page.title)
        }
        _ => page.title.clone(),
    };
    Item {
        id: format!("{tag_root}page-{}", page.id),
        title,
        url,
        published: time(page.live_at),
        updated: time(Some(page.updated_at)).max(time(page.live_at)),
        content_html: html,
        summary,
        image: first_image,
        tags: tags
            .iter()
            .filter(|(id, _)| *id == page.id)
            .map(|(_, name)| name.clone())
            .collect(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn to_rss(feed: &Feed) -> String {
    let mut channel = rss::Channel::default();
    channel.set_title(feed.title.clone());
    channel.set_link(feed.home.clone());
    channel.set_description(feed.description.clone());
    channel.set_language(Some(feed.language.clone()));
    channel.set_generator(Some("Halftone".to_owned()));
    channel.set_last_build_date(Some(feed.updated.to_rfc2822()));
    channel.set_ttl(Some("60".to_owned()));
    let mut self_link = atom_syndication::Link::default();
    self_link.set_href(feed.links.rss.clone());
    self_link.set_rel("self");
    self_link.set_mime_type(Some("application/rss+xml".to_owned()));
    channel.set_atom_ext(Some(rss::extension::atom::AtomExtension {
        links: vec![self_link],
    }));
    let items = feed
        .items
        .iter()
        .map(|i| {
            let mut item = rss::Item::default();
            item.set_title(Some(i.title.clone()));
            item.set_link(Some(i.url.clone()));
            item.set_guid(Some(rss::Guid {
                value: i.id.clone(),
                permalink: false,
            }));
            item.set_pub_date(Some(i.published.to_rfc2822()));
            item.set_description(Some(i.summary.clone()));
            item.set_content(Some(i.content_html.clone()));
            item.set_categories(
                i.tags
                    .iter()
                    .map(|t| rss::Category {
                        name: t.clone(),
                        domain: None,
                    })
                    .collect::<Vec<_>>(),
            );
            item
        })
        .collect::<Vec<_>>();
    channel.set_items(items);
    channel.to_string()
}

fn to_atom(feed: &Feed) -> String {
    let fixed = |t: DateTime<Utc>| -> DateTime<FixedOffset> { t.fixed_offset() };
    let link = |href: &str, rel: &str, mime: Option<&str>| {
        let mut l = atom_syndication::Link::default();
        l.set_href(href);
        l.set_rel(rel);
        l.set_mime_type(mime.map(str::to_owned));
        l
    };
    let mut out = atom_syndication::Feed::default();
    out.set_title(atom_syndication::Text::plain(feed.title.clone()));
    out.set_subtitle(Some(atom_syndication::Text::plain(
        feed.description.clone(),
    )));
    out.set_id(format!("{}feed:{}", feed.tag_root, feed.links.atom));
    out.set_updated(fixed(feed.updated));
    out.set_lang(Some(feed.language.clone()));
    out.set_links(vec![
        link(&feed.links.atom, "self", Some("application/atom+xml")),
        link(&feed.home, "alternate", Some("text/html")),
    ]);
    out.set_authors(vec![atom_syndication::Person {
        name: feed.author.clone(),
        ..Default::default()
    }]);
    let mut generator = atom_syndication::Generator::default();
    generator.set_value("Halftone");
    out.set_generator(Some(generator));
    let entries = feed
        .items
        .iter()
        .map(|i| {
            let mut entry = atom_syndication::Entry::default();
            entry.set_title(atom_syndication::Text::plain(i.title.clone()));
            entry.set_id(i.id.clone());
            entry.set_links(vec![link(&i.url, "alternate", Some("text/html"))]);
            entry.set_published(Some(fixed(i.published)));
            entry.set_updated(fixed(i.updated));
            entry.set_summary(Some(atom_syndication::Text::plain(i.summary.clone())));
            let mut content = atom_syndication::Content::default();
            content.set_content_type(Some("html".to_owned()));
            content.set_value(Some(i.content_html.clone()));
            entry.set_content(Some(content));
            entry.set_categories(
                i.tags
                    .iter()
                    .map(|t| atom_syndication::Category {
                        term: t.clone(),
                        ..Default::default()
                    })
                    .collect::<Vec<_>>(),
            );
            entry
        })
        .collect::<Vec<_>>();
    out.set_entries(entries);
    out.to_string()
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    language: &'a str,
    authors: Vec<JsonAuthor<'a>>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    content_html: &'a str,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    tags: &'a [String],
}

fn to_json(feed: &Feed) -> String {
    let doc = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &feed.title,
        home_page_url: &feed.home,
        feed_url: &feed.links.json,
        description: &feed.description,
        language: &feed.language,
        authors: vec![JsonAuthor { name: &feed.author }],
        items: feed
            .items
            .iter()
            .map(|i| JsonItem {
                id: &i.id,
                url: &i.url,
                title: &i.title,
                content_html: &i.content_html,
                summary: &i.summary,
                image: i.image.as_deref(),
                date_published: i
                    .published
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                date_modified: i.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                tags: &i.tags,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned())
}
