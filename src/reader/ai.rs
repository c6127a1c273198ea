//! AI-scraping protection, on by default (the creator can switch each part
//! off in Settings):
//!
//! - `robots.txt` refuses the known AI crawlers (`AI_CRAWLERS`) the whole site;
//! - every reader response and image says `X-Robots-Tag: noai, noimageai`;
//! - `/.well-known/tdmrep.json` and a `tdm-reservation` meta tag reserve
//!   text-and-data-mining rights (W3C TDMRep, the EU DSM directive's
//!   machine-readable opt-out);
//! - optionally, full-size images (every variant but thumbnails) are refused
//!   to pages of other sites (a foreign `Referer`), so they cannot be
//!   hotlinked; a request without a `Referer` (a reader opening the image, a
//!   link preview) still gets it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::startup::AppState;

/// User agents of crawlers that gather training data for AI models (or
/// answer for them), as their operators document them.
pub const AI_CRAWLERS: &[&str] = &[
    "GPTBot",
    "ChatGPT-User",
    "OAI-SearchBot",
    "ClaudeBot",
    "Claude-Web",
    "anthropic-ai",
    "Google-Extended",
    "Applebot-Extended",
    "CCBot",
    "PerplexityBot",
    "Bytespider",
    "Meta-ExternalAgent",
    "meta-externalfetcher",
    "FacebookBot",
    "Amazonbot",
    "cohere-ai",
    "cohere-training-data-crawler",
    "Diffbot",
    "ImagesiftBot",
    "Omgilibot",
    "Timpibot",
    "YouBot",
    "AI2Bot",
    "Ai2Bot-Dolma",
    "img2dataset",
    "DuckAssistBot",
    "MistralAI-User",
];

/// The robots.txt lines for `AI_CRAWLERS`.
pub fn robots_rules() -> String {
    let mut out = String::from("# AI crawlers: no training on this comic.\n");
    for bot in AI_CRAWLERS {
        out.push_str("User-agent: ");
        out.push_str(bot);
        out.push('\n');
    }
    out.push_str("Disallow: /\n\n");
    out
}

/// `/.well-known/tdmrep.json`: all rights reserved for text and data mining.
pub async fn tdmrep(state: web::Data<AppState>) -> HttpResponse {
    let on = state
        .site_data
        .peek()
        .is_none_or(|data| data.settings.ai_tdm);
    if !on {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .content_type("application/json")
        .body(r#"[{"location":"/*","tdm-reservation":1}]"#)
}

/// The middleware: the header on reader responses, hotlinks refused.
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let path = req.path().to_owned();
    if path.starts_with("/admin") || path.starts_with("/static/") {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    // The settings as last loaded (no database on this path, and only two
    // flags read: this runs on every request, cached ones included). On by
    // default.
    let (header_on, refuse) = state.site_data.peek().map_or((true, false), |d| {
        (d.settings.ai_header, d.settings.refuse_hotlinks)
    });
    if refuse && path.starts_with("/media/") && is_full_size(&path) {
        if let Some(referer) = req
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| url::Url::parse(v).ok())
        {
            let origin = referer.origin().ascii_serialization();
            let ours = state
                .request_origins(req.request())
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&origin));
            if !ours {
                metrics::counter!("halftone_hotlinks_refused_total").increment(1);
                let response = HttpResponse::Forbidden()
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header((header::VARY, "Referer"))
                    .content_type("text/plain; charset=utf-8")
                    .body("This image is shown on its own site only. Follow the link to read the comic there.");
                return Ok(req.into_response(response));
            }
        }
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    if header_on {
        response.headers_mut().insert(
            header::HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noai, noimageai"),
        );
    }
    if refuse && path.starts_with("/media/") {
        // Caches must not hand our copy to another site's page.
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Referer"));
    }
    Ok(response)
}

/// A page image rather than a thumbnail (`…-t320.webp` is a thumbnail).
fn is_full_size(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or("");
    file.rsplit_once('.')
        .and_then(|(stem, _)| stem.split_once('-'))
        .is_some_and(|(_, size)| !size.starts_with('t'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn thumbnails_are_not_full_size() {
        assert!(super::is_full_size("/media/ab/ab12-1200.webp"));
        assert!(!super::is_full_size("/media/ab/ab12-t320.webp"));
    }

    #[test]
    fn robots_rules_name_every_crawler_and_disallow() {
        let rules = super::robots_rules();
        assert!(rules.contains("User-agent: GPTBot\n"));
        assert!(rules.ends_with("Disallow: /\n\n"));
    }
}
