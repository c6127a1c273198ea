//! The reader's side: `/subscribe` (form, double opt-in confirmation) and
//! `/unsubscribe` (the signed link in every mail; one-click per RFC 8058).
//!
//! Links only ever show a page with a button: mail scanners fetch links
//! (GET) on their own, and must neither confirm nor unsubscribe anybody.
//! Nothing here is cached; every answer is `no-store`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::site::{Chrome, Meta, Site};
use crate::email::EmailAddress;
use crate::error::AppError;
use crate::newsletter::subscribers::{self, Subscribed};
use crate::newsletter::tokens::{Claim, Purpose, TokenError};
use crate::startup::AppState;

/// What the newsletter page shows.
#[derive(Serialize, Default)]
struct View {
    /// form | check-inbox | confirm | confirmed | already | unsubscribe |
    /// unsubscribed | invalid | expired | limited
    step: &'static str,
    email: String,
    token: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct NewsletterTemplate {
    chrome: Chrome,
    meta: Meta,
    #[serde(flatten)]
    view: View,
}

async fn page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    view: View,
) -> Result<HttpResponse, AppError> {
    let site = Site::load(state, None).await?;
    let mut meta = Meta::new(&site, Some(title), "", "/subscribe");
    // Only the form itself is worth a search engine's time.
    meta.noindex = view.step != "form";
    let body = state.templates.render(
        "reader/newsletter.html",
        &NewsletterTemplate {
            chrome: site.chrome("subscribe"),
            meta,
            view,
        },
    )?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

fn require_enabled(state: &AppState) -> Result<(), AppError> {
    if state.newsletter.enabled {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// `GET /subscribe`: the form.
pub async fn form(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    require_enabled(&state)?;
    page(
        &state,
        StatusCode::OK,
        "Subscribe",
        View {
            step: "form",
            ..View::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    email: String,
    /// The honeypot: hidden from people, filled in by form-filling bots.
    #[serde(default)]
    website: String,
}

/// `POST /subscribe`.
pub async fn subscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SubscribeForm>,
) -> Result<HttpResponse, AppError> {
    require_enabled(&state)?;
    let form = form.into_inner();
    let typed: String = form.email.trim().chars().take(300).collect();
    if !form.website.is_empty() {
        // Look like success (the same page a real address gets) so the bot
        // learns nothing; store and send nothing.
        metrics::counter!("halftone_subscribe_total", "result" => "honeypot").increment(1);
        tracing::info!("subscribe form: honeypot filled; ignored");
        return check_inbox(&state, typed.to_lowercase()).await;
    }
    let address = crate::net::client_key(state.client_ip(&req));
    if let Err(wait) = state.newsletter.check_rate(address) {
        metrics::counter!("halftone_subscribe_total", "result" => "limited").increment(1);
        let mut response = page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Subscribe",
            View {
                step: "form",
                email: typed,
                error: Some(format!(
                    "Too many attempts from your network. Please try again in {} minute(s).",
                    wait.as_secs().div_ceil(60).max(1)
                )),
                ..View::default()
            },
        )
        .await?;
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(response);
    }
    let email = match EmailAddress::parse(&typed) {
        Ok(email) if !typed.is_empty() => email,
        _ => {
            metrics::counter!("halftone_subscribe_total", "result" => "invalid").increment(1);
            let error = if typed.is_empty() {
                "Please enter your e-mail address.".to_owned()
            } else {
                format!("“{typed}” does not look like an e-mail address. Please check it.")
            };
            return page(
                &state,
                StatusCode::BAD_REQUEST,
                "Subscribe",
                View {
                    step: "form",
                    email: typed,
                    error: Some(error),
                    ..View::default()
                },
            )
            .await;
        }
    };
    let outcome = subscribers::subscribe(&state.db, &email, crate::db::now()).await?;
    let label = match outcome {
        Subscribed::ConfirmationQueued(id) => {
            tracing::info!(subscriber = id, "new subscription; confirmation queued");
            state.newsletter.wake_all(&state.events).await;
            "queued"
        }
        Subscribed::RecentlyAsked => "recently-asked",
        Subscribed::AlreadyConfirmed => "already-confirmed",
    };
    metrics::counter!("halftone_subscribe_total", "result" => label).increment(1);
    // The same answer whatever the address's state: the form must not tell
    // strangers who is subscribed.
    check_inbox(&state, email.as_str().to_owned()).await
}

async fn check_inbox(state: &AppState, email: String) -> Result<HttpResponse, AppError> {
    page(
        state,
        StatusCode::OK,
        "Check your inbox",
        View {
            step: "check-inbox",
            email,
            ..View::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct TokenParams {
    #[serde(default)]
    pub t: String,
}

/// The token of a signed-link POST: from the form (the page's button) or,
/// for a mail client's one-click request (RFC 8058), from the query.
pub(super) fn posted_token(params: &TokenParams, body: &[u8]) -> String {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| params.t.clone())
}

/// The subscriber a link names, if its signature holds.
async fn resolve(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Result<subscribers::Subscriber, TokenError>, AppError> {
    let Some(claim) = Claim::parse(token).filter(|c| c.purpose == purpose) else {
        return Ok(Err(TokenError::Invalid));
    };
    let Some(subscriber) = subscribers::by_id(&state.db, claim.subscriber).await? else {
        return Ok(Err(TokenError::Invalid));
    };
    let signer = state.newsletter.signer(state).await?;
    Ok(signer
        .verify(&claim, &subscriber.email, crate::db::now())
        .map(|()| subscriber))
}

async fn bad_link(state: &AppState, error: TokenError) -> Result<HttpResponse, AppError> {
    let (step, title) = match error {
        TokenError::Expired => ("expired", "This link has expired"),
        TokenError::Invalid => ("invalid", "This link does not work"),
    };
    page(
        state,
        StatusCode::BAD_REQUEST,
        title,
        View {
            step,
            ..View::default()
        },
    )
    .await
}

/// A signed link's page: a button that asks for the click (`ask`), or
/// `done` when the subscriber is in `done_status` already.
async fn link_page(
    state: &AppState,
    token: &str,
    purpose: Purpose,
    title: &str,
    done_status: subscribers::Status,
    (ask, done): (&'static str, &'static str),
) -> Result<HttpResponse, AppError> {
    let subscriber = match resolve(state, token, purpose).await? {
        Ok(s) => s,
        Err(e) => return bad_link(state, e).await,
    };
    let step = if subscriber.status == done_status {
        done
    } else {
        ask
    };
    page(
        state,
        StatusCode::OK,
        title,
        View {
            step,
            email: subscriber.email,
            token: token.to_owned(),
            ..View::default()
        },
    )
    .await
}

/// `GET /subscribe/confirm?t=…`: asks for the click that confirms.
pub async fn confirm_page(
    state: web::Data<AppState>,
    params: web::Query<TokenParams>,
) -> Result<HttpResponse, AppError> {
    link_page(
        &state,
        &params.t,
        Purpose::Confirm,
        "Confirm your subscription",
        subscribers::Status::Confirmed,
        ("confirm", "already"),
    )
    .await
}

/// `POST /subscribe/confirm`.
pub async fn confirm(
    state: web::Data<AppState>,
    form: web::Form<TokenParams>,
) -> Result<HttpResponse, AppError> {
    let subscriber = match resolve(&state, &form.t, Purpose::Confirm).await? {
        Ok(s) => s,
        Err(e) => return bad_link(&state, e).await,
    };
    if subscribers::confirm(&state.db, subscriber.id, crate::db::now()).await? {
        tracing::info!(subscriber = subscriber.id, "subscription confirmed");
        metrics::counter!("halftone_subscribe_total", "result" => "confirmed").increment(1);
    }
    page(
        &state,
        StatusCode::OK,
        "You are subscribed",
        View {
            step: "confirmed",
            email: subscriber.email,
            ..View::default()
        },
    )
    .await
}

/// `GET /unsubscribe?t=…`: the link in the mail's footer.
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    params: web::Query<TokenParams>,
) -> Result<HttpResponse, AppError> {
    link_page(
        &state,
        &params.t,
        Purpose::Unsubscribe,
        "Unsubscribe",
        subscribers::Status::Unsubscribed,
        ("unsubscribe", "unsubscribed"),
    )
    .await
}

/// `POST /unsubscribe?t=…`: the button on that page, and the mail client's
/// one-click request (body `List-Unsubscribe=One-Click`, RFC 8058). The
/// token may come in the query (one-click) or the form (the button).
pub async fn unsubscribe(
    state: web::Data<AppState>,
    params: web::Query<TokenParams>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let token = posted_token(&params, &body);
    let subscriber = match resolve(&state, &token, Purpose::Unsubscribe).await? {
        Ok(s) => s,
        Err(e) => return bad_link(&state, e).await,
    };
    if subscribers::unsubscribe(&state.db, subscriber.id, crate::db::now()).await? {
        tracing::info!(subscriber = subscriber.id, "unsubscribed");
        metrics::counter!("halftone_unsubscribe_total").increment(1);
    }
    page(
        &state,
        StatusCode::OK,
        "You are unsubscribed",
        View {
            step: "unsubscribed",
            email: subscriber.email,
            ..View::default()
        },
    )
    .await
}
