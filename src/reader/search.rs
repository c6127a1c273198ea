//! `/search`: the results page (the box is in every page's header).

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::archive::tiles;
use super::response;
use super::site::{Chrome, Meta, Site};
use crate::comics;
use crate::error::AppError;
use crate::media::view::Thumb;
use crate::search::PER_PAGE;
use crate::startup::AppState;

/// Longest query accepted; longer input is cut, not refused.
const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

#[derive(Serialize)]
struct SearchTemplate {
    chrome: Chrome,
    meta: Meta,
    query: String,
    total: usize,
    results: Vec<ResultView>,
    page: usize,
    prev_url: Option<String>,
    next_url: Option<String>,
}

#[derive(Serialize)]
struct ResultView {
    title: String,
    url: String,
    date: String,
    date_iso: String,
    thumb: Option<Thumb>,
    /// Escaped text with `<b>` around matches (made by the index).
    snippet_html: String,
}

pub async fn search(
    state: web::Data<AppState>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let site = Site::load(&state, None).await?;
    let query: String = params.q.trim().chars().take(MAX_QUERY_CHARS).collect();
    let page = params.page.unwrap_or(1).clamp(1, 500);
    let now = crate::db::now();
    let (total, results) = if query.is_empty() {
        (0, Vec::new())
    } else {
        if page == 1 {
            state.analytics.report(crate::analytics::Event::Search {
                query: query.clone(),
            });
        }
        let found = state
            .search
            .index()
            .search(&query, now, None, (page - 1) * PER_PAGE, PER_PAGE)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("search failed: {e}")))?;
        let ids: Vec<comics::PageId> = found.hits.iter().map(|h| comics::PageId(h.id)).collect();
        let summaries = comics::pages::visible_summaries(&state.db, &ids, now).await?;
        let by_id: HashMap<i64, usize> = summaries
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.0, i))
            .collect();
        let mut views = tiles(&site, &summaries);
        let mut results = Vec::new();
        for hit in &found.hits {
            // A page unpublished since the last rebuild is simply left out.
            let Some(&i) = by_id.get(&hit.id) else {
                continue;
            };
            let tile = &mut views[i];
            results.push(ResultView {
                title: tile.title.clone(),
                url: tile.url.clone(),
                date: tile.date.clone(),
                date_iso: tile.date_iso.clone(),
                thumb: tile.thumb.take(),
                snippet_html: hit.snippet.clone(),
            });
        }
        (found.total, results)
    };
    let link = |n: usize| {
        format!(
            "/search?q={}&page={n}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        )
    };
    let pages = total.div_ceil(PER_PAGE);
    let title = if query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {query}")
    };
    let mut meta = Meta::new(&site, Some(&title), "", "/search");
    meta.noindex = true;
    let body = state.templates.render(
        "reader/search.html",
        &SearchTemplate {
            chrome: site.chrome("search"),
            meta,
            total,
            results,
            page,
            prev_url: (page > 1).then(|| link(page - 1)),
            next_url: (page < pages).then(|| link(page + 1)),
            query,
        },
    )?;
    Ok(response::html(body))
}
