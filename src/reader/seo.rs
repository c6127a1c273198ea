//! `robots.txt` and `sitemap.xml`.

use std::fmt::Write;

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};

use super::response;
use super::site::Site;
use crate::cache::Rendered;
use crate::comics;
use crate::error::AppError;
use crate::startup::AppState;

pub async fn robots(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, |state| async move {
        let site = Site::load(&state, None).await?;
        Ok(render_robots(&state, site.settings.ai_robots))
    })
    .await
}

fn render_robots(state: &AppState, refuse_ai: bool) -> Rendered {
    let ai = if refuse_ai {
        super::ai::robots_rules()
    } else {
        String::new()
    };
    let body = format!(
        "{ai}User-agent: *\nAllow: /\nDisallow: /admin\nDisallow: /random\nDisallow: /bookmarks\nDisallow: /comments/\n\nSitemap: {}/sitemap.xml\n",
        state.config.base_url()
    );
    Rendered {
        body,
        content_type: "text/plain; charset=utf-8",
    }
}

/// Every public URL: series homes and archives, chapters, pages, tags,
/// characters, static pages. Only visible pages appear.
pub async fn sitemap(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, render_sitemap).await
}

async fn render_sitemap(state: Arc<AppState>) -> Result<Rendered, AppError> {
    let site = Site::load(&state, None).await?;
    let now = crate::db::now();
    let pages = comics::pages::sitemap_entries(&state.db, now).await?;
    let statics = comics::static_pages::all_published(&state.db).await?;
    let (tags, characters) = comics::taxonomy::sitemap_slugs(&state.db, now).await?;
    let mut chapters = Vec::new();
    for series in &site.series {
        // One query per series, not per page: sites have one or a few series.
        chapters.extend(comics::chapters::visible_in_series(&state.db, series.id, now).await?);
    }

    let mut xml = String::with_capacity(128 * (pages.len() + 16));
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    let mut url = |path: &str, lastmod: Option<i64>| {
        let loc = escape(&site.urls.absolute(path));
        let _ = match lastmod.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
            Some(t) => writeln!(
                xml,
                "<url><loc>{loc}</loc><lastmod>{}</lastmod></url>",
                t.format("%Y-%m-%d")
            ),
            None => writeln!(xml, "<url><loc>{loc}</loc></url>"),
        };
    };
    for series in &site.series {
        url(&site.urls.home(series.id), None);
        url(&site.urls.archive(series.id), None);
    }
    for chapter in &chapters {
        url(&site.urls.chapter(chapter.series_id, &chapter.slug), None);
    }
    for (series, slug, updated) in &pages {
        url(&site.urls.comic(*series, slug), Some(*updated));
    }
    url("/cast", None);
    for slug in &characters {
        url(&format!("/character/{slug}"), None);
    }
    for slug in &tags {
        url(&format!("/tag/{slug}"), None);
    }
    for page in &statics {
        url(&format!("/{}", page.slug), Some(page.updated_at));
    }
    xml.push_str("</urlset>\n");
    Ok(Rendered {
        body: xml,
        content_type: "application/xml; charset=utf-8",
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
