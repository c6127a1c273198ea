//! What the mails say: the confirmation mail, a mailing's body (rendered
//! once, from the templates in `templates/email/`), and each recipient's
//! copy with their own unsubscribe link and the list headers.

use lettre::message::Mailbox;
use serde::Serialize;

use super::outbox::{Body, Kind, NewMailing};
use crate::comics::{self, Page, PageId};
use crate::email::Mail;
use crate::error::AppError;
use crate::media::view::Picture;
use crate::site::{dates, SiteData};
use crate::startup::Services;

/// Stands in a mailing's stored body for each recipient's unsubscribe URL.
pub const UNSUBSCRIBE_MARK: &str = "%%HALFTONE_UNSUBSCRIBE_URL%%";

/// Longest subject line kept.
const SUBJECT_CHARS: usize = 200;

/// Width the comic is shown at in mails (most clients are about 600px wide).
const MAIL_IMAGE_WIDTH: i64 = 600;

#[derive(Serialize)]
struct ConfirmContext<'a> {
    site_title: &'a str,
    site_url: &'a str,
    email: &'a str,
    confirm_url: &'a str,
    hours: u64,
}

/// The mail that asks an address to confirm it wants the newsletter.
pub fn confirmation(
    state: &Services,
    site_title: &str,
    to: Mailbox,
    confirm_url: &str,
    delivery: i64,
) -> Result<Mail, AppError> {
    let email = to.email.to_string();
    let context = ConfirmContext {
        site_title,
        site_url: state.config.base_url(),
        email: &email,
        confirm_url,
        hours: state.config.newsletter.confirm_hours,
    };
    Ok(Mail {
        to,
        subject: format!("Confirm your subscription to {site_title}"),
        text: state.templates.render("email/confirm.txt", &context)?,
        html: Some(state.templates.render("email/confirm.html", &context)?),
        headers: vec![("Auto-Submitted".into(), "auto-generated".into())],
        message_id: Some(message_id(state, "confirm", delivery)),
    })
}

#[derive(Serialize)]
struct MailingContext<'a> {
    site_title: &'a str,
    site_url: &'a str,
    intro_html: String,
    intro_text: String,
    pages: Vec<PageEntry>,
    unsubscribe_url: &'static str,
}

#[derive(Serialize)]
struct PageEntry {
    title: String,
    url: String,
    date: String,
    chapter: Option<String>,
    image: Option<MailImage>,
}

#[derive(Serialize)]
struct MailImage {
    src: String,
    alt: String,
    width: i64,
    height: i64,
}

/// Renders a mailing about `pages` (visible ones only; the caller checked).
/// `intro` is the author's Markdown, sanitized like everything they write.
pub async fn mailing(
    state: &Services,
    kind: Kind,
    subject: Option<&str>,
    intro: &str,
    pages: &[Page],
    created_by: Option<i64>,
) -> Result<NewMailing, AppError> {
    let site = SiteData::load(&state.db, &state.assets).await?;
    let urls = site.urls(state.config.base_url());
    let ids: Vec<PageId> = pages.iter().map(|p| p.id).collect();
    let images = comics::pages::images_for(&state.db, &ids).await?;
    let entries = pages
        .iter()
        .map(|page| {
            let image = images.iter().find(|i| i.page_id == page.id).map(|i| {
                let picture = Picture::new(&i.media, &i.alt_text, false);
                let width = i.media.width.clamp(1, MAIL_IMAGE_WIDTH);
                MailImage {
                    src: urls.absolute(&picture.fallback),
                    alt: if i.alt_text.trim().is_empty() {
                        page.title.clone()
                    } else {
                        i.alt_text.clone()
                    },
                    width,
                    height: i.media.height * width / i.media.width.max(1),
                }
            });
            PageEntry {
                title: page.title.clone(),
                url: urls.absolute(&urls.comic(page.series_id, &page.slug)),
                date: dates(page.published_at.or(page.live_at)).0,
                chapter: page.chapter_title.clone(),
                image,
            }
        })
        .collect::<Vec<_>>();
    let site_title = site.settings.title.as_str();
    let subject: String = match subject.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => match pages {
            [one] => format!("{site_title}: {}", one.title),
            many => format!("{site_title}: {} new pages", many.len()),
        },
    };
    // Titles may be long; the column holds 400 characters, mail clients
    // show far fewer.
    let subject = match subject.char_indices().nth(SUBJECT_CHARS) {
        Some((cut, _)) => format!("{}…", subject[..cut].trim_end()),
        None => subject,
    };
    let context = MailingContext {
        site_title,
        site_url: state.config.base_url(),
        intro_html: crate::render::markdown::to_html(intro),
        intro_text: crate::render::markdown::to_text(intro, 5000),
        pages: entries,
        unsubscribe_url: UNSUBSCRIBE_MARK,
    };
    Ok(NewMailing {
        kind,
        subject,
        html: state.templates.render("email/mailing.html", &context)?,
        text: state.templates.render("email/mailing.txt", &context)?,
        created_by,
        pages: pages.iter().map(|p| p.id.0).collect(),
    })
}

/// One recipient's copy of a mailing: their unsubscribe link in the body and
/// in the `List-Unsubscribe` headers (RFC 2369, one-click per RFC 8058).
pub fn personal(
    state: &Services,
    site_title: &str,
    body: &Body,
    to: Mailbox,
    unsubscribe_url: &str,
    delivery: i64,
) -> Mail {
    let host = state.config.public_url.host_str().unwrap_or("localhost");
    Mail {
        to,
        subject: body.subject.clone(),
        text: body.text.replace(UNSUBSCRIBE_MARK, unsubscribe_url),
        html: Some(body.html.replace(
            UNSUBSCRIBE_MARK,
            &crate::render::escape_html(unsubscribe_url),
        )),
        headers: vec![
            ("List-Unsubscribe".into(), format!("<{unsubscribe_url}>")),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
            (
                "List-Id".into(),
                format!("\"{}\" <newsletter.{host}>", site_title.replace('"', "'")),
            ),
            ("Precedence".into(), "bulk".into()),
        ],
        message_id: Some(message_id(state, "mailing", delivery)),
    }
}

fn message_id(state: &Services, kind: &str, delivery: i64) -> String {
    let host = state.config.public_url.host_str().unwrap_or("localhost");
    format!("halftone.{kind}.{delivery}@{host}")
}
