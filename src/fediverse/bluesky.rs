//! New pages posted to the creator's Bluesky account (`[crosspost.bluesky]`),
//! through the AT Protocol's HTTP API (XRPC): a session from the app
//! password, the first images uploaded as blobs with their alt text, and
//! a post linking to the page.
//!
//! Once per page, even across crashes: the `crossposts` row is claimed
//! before posting, and the post is written with `putRecord` under a record
//! key derived from the page (a TID made of its live time and id), so a
//! retry after a crash between "posted" and "marked done" rewrites the same
//! post instead of making a second one. Pages that went live before the
//! account was configured are not posted.

use serde_json::{json, Value};

use crate::comics::catalog::{Catalog, CatalogPage};
use crate::comics::{PageId, Series};
use crate::config::BlueskyConfig;
use crate::startup::Services;

pub const TARGET: &str = "bluesky";
/// Settings: since when pages are posted (set when the account is first seen).
pub const SINCE: &str = "crosspost.bluesky.since";
/// Bluesky refuses blobs over 1,000,000 bytes.
const MAX_BLOB: usize = 950_000;
/// A post holds at most 4 images.
const MAX_IMAGES: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Worth another try later (network, 5xx, 429, a bad session).
    #[error("{0}")]
    Retry(String),
    /// Will not work however often tried (the server refused the post).
    #[error("{0}")]
    Refused(String),
}

/// A row to post.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: i64,
    pub page_id: PageId,
    pub attempts: i64,
    pub created_at: i64,
}

/// Queues the pages gone live since the account was configured (one
/// statement; the unique key keeps each page once). Returns when the next
/// scheduled page goes live.
pub async fn queue_new(services: &Services) -> anyhow::Result<Option<i64>> {
    let db = &services.db;
    let now = crate::db::now();
    crate::comics::settings::compare_and_set(db, SINCE, "", &now.to_string()).await?;
    let since: i64 = crate::comics::settings::load_map(db)
        .await?
        .get(SINCE)
        .and_then(|v| v.parse().ok())
        .unwrap_or(now);
    let inserted = sqlx::query(concat!(
        "INSERT INTO crossposts (target, page_id, status, attempts, next_at, created_at) \
         SELECT ?, p.id, 'queued', 0, ?, ? FROM pages p WHERE p.live_at >= ? AND ",
        crate::visible!("p"),
        " AND NOT EXISTS (SELECT 1 FROM crossposts c WHERE c.target = ? AND c.page_id = p.id)"
    ))
    .bind(TARGET)
    .bind(now)
    .bind(now)
    .bind(since)
    .bind(now)
    .bind(TARGET)
    .execute(db)
    .await;
    match inserted {
        Ok(_) => {}
        // Another node queued the same page at the same moment.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
        Err(e) => return Err(e.into()),
    }
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(live_at) FROM pages WHERE status = 'published' AND live_at > ?",
    )
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(next)
}

/// Posts what is due. Rows claimed over 10 minutes ago by a node that died
/// are taken again (the record key makes that safe).
pub async fn post_due(services: &Services, account: &BlueskyConfig) -> anyhow::Result<()> {
    let db = &services.db;
    let config = &services.config.fediverse;
    let now = crate::db::now();
    sqlx::query(
        "UPDATE crossposts SET status = 'queued' WHERE status = 'sending' AND claimed_at < ?",
    )
    .bind(now - 600)
    .execute(db)
    .await?;
    let due: Vec<Due> = sqlx::query_as(
        "SELECT id, page_id, attempts, created_at FROM crossposts \
         WHERE target = ? AND status = 'queued' AND next_at <= ? ORDER BY id LIMIT 10",
    )
    .bind(TARGET)
    .bind(now)
    .fetch_all(db)
    .await?;
    if due.is_empty() {
        return Ok(());
    }
    let catalog = Catalog::load(db).await?;
    let site = crate::site::SiteData::load(db, &services.assets).await?;
    let client = Client::new(account, config.timeout_secs);
    let mut session = None;
    for row in due {
        let claimed = sqlx::query(
            "UPDATE crossposts SET status = 'sending', claimed_at = ? WHERE id = ? AND status = 'queued'",
        )
        .bind(now)
        .bind(row.id)
        .execute(db)
        .await?;
        if claimed.rows_affected() != 1 {
            continue;
        }
        let page = catalog
            .get(row.page_id)
            .filter(|p| p.page.visible_at(crate::db::now()));
        let series = page.and_then(|p| site.series.iter().find(|s| s.id == p.page.series_id));
        let outcome = match (page, series) {
            (Some(page), Some(series)) => {
                let urls = site.urls(services.config.base_url());
                let link = urls.absolute(&urls.comic(series.id, &page.page.slug));
                if session.is_none() {
                    session = Some(client.session().await);
                }
                match session.as_ref().expect("set above") {
                    Ok(session) => {
                        post_page(
                            services,
                            &client,
                            session,
                            page,
                            series,
                            &link,
                            &site.settings.language,
                        )
                        .await
                    }
                    Err(error) => Err(PostError::Retry(error.to_string())),
                }
            }
            // Unpublished since it was queued: nothing to post.
            _ => Err(PostError::Refused(
                "the page is no longer published".to_owned(),
            )),
        };
        let now = crate::db::now();
        let attempts = row.attempts + 1;
        let (status, next_at, uri, error) = match outcome {
            Ok(uri) => ("done", now, uri, String::new()),
            Err(PostError::Refused(error)) => ("failed", now, String::new(), error),
            Err(PostError::Retry(error)) => {
                let (status, next_at) = super::retry_after(config, attempts, row.created_at, now);
                (status, next_at, String::new(), error)
            }
        };
        if status == "done" {
            tracing::info!(page = row.page_id.0, %uri, "bluesky: page posted");
        } else {
            tracing::warn!(page = row.page_id.0, status, %error, "bluesky: page not posted");
        }
        metrics::counter!("halftone_crossposts_total", "target" => TARGET, "status" => status)
            .increment(1);
        let error: String = error.chars().take(900).collect();
        sqlx::query(
            "UPDATE crossposts SET status = ?, attempts = ?, next_at = ?, remote_uri = ?, error = ?, \
             done_at = CASE WHEN ? = 'done' THEN ? ELSE done_at END WHERE id = ?",
        )
        .bind(status)
        .bind(attempts)
        .bind(next_at)
        .bind(&uri)
        .bind(&error)
        .bind(status)
        .bind(now)
        .bind(row.id)
        .execute(db)
        .await?;
    }
    Ok(())
}

struct Client {
    http: reqwest::Client,
    base: String,
    identifier: String,
    password: String,
}

struct Session {
    jwt: String,
    did: String,
}

impl Client {
    fn new(account: &BlueskyConfig, timeout_secs: u64) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(timeout_secs.max(10)))
                .user_agent(concat!("Halftone/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            base: account.service.as_str().trim_end_matches('/').to_owned(),
            identifier: account.identifier.clone(),
            password: secrecy::ExposeSecret::expose_secret(&account.app_password).to_owned(),
        }
    }

    fn xrpc(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", self.base)
    }

    async fn answer(response: reqwest::Result<reqwest::Response>) -> Result<Value, PostError> {
        let response =
            response.map_err(|e| PostError::Retry(format!("cannot reach Bluesky: {e}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = format!(
            "Bluesky answered {}: {} {}",
            status.as_u16(),
            body["error"].as_str().unwrap_or(""),
            body["message"].as_str().unwrap_or(&text)
        );
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 401 {
            Err(PostError::Retry(message))
        } else {
            Err(PostError::Refused(message))
        }
    }

    async fn session(&self) -> Result<Session, PostError> {
        let body = Self::answer(
            self.http
                .post(self.xrpc("com.atproto.server.createSession"))
                .json(&json!({ "identifier": self.identifier, "password": self.password }))
                .send()
                .await,
        )
        .await
        .map_err(|e| PostError::Retry(format!("cannot sign in: {e}")))?;
        match (body["accessJwt"].as_str(), body["did"].as_str()) {
            (Some(jwt), Some(did)) => Ok(Session {
                jwt: jwt.to_owned(),
                did: did.to_owned(),
            }),
            _ => Err(PostError::Retry("a session without a token".to_owned())),
        }
    }

    async fn upload(
        &self,
        session: &Session,
        bytes: Vec<u8>,
        mime: &str,
    ) -> Result<Value, PostError> {
        let body = Self::answer(
            self.http
                .post(self.xrpc("com.atproto.repo.uploadBlob"))
                .bearer_auth(&session.jwt)
                .header("content-type", mime)
                .body(bytes)
                .send()
                .await,
        )
        .await?;
        Ok(body["blob"].clone())
    }
}

/// The image as Bluesky takes it: the stored fallback (JPEG or PNG) when it
/// is small enough, else re-encoded as a JPEG that is.
async fn blob_bytes(
    services: &Services,
    page_image: &crate::comics::PageImage,
) -> Result<(Vec<u8>, &'static str), PostError> {
    let rel = crate::media::view::fallback_file(&page_image.media);
    let bytes = services
        .media
        .get(&rel)
        .await
        .map_err(|e| PostError::Retry(format!("{e:#}")))?
        .ok_or_else(|| PostError::Refused(format!("the image {rel} is missing")))?;
    let mime = if rel.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    if bytes.len() <= MAX_BLOB {
        return Ok((bytes.to_vec(), mime));
    }
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let _slot = crate::media::decode::DECODES.acquire();
        let mut image = image::load_from_memory(&bytes)?.to_rgb8();
        let mut quality = 85;
        loop {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .encode_image(&image)?;
            if out.len() <= MAX_BLOB {
                return Ok(out);
            }
            if quality > 60 {
                quality -= 10;
            } else {
                let (w, h) = image.dimensions();
                image = image::imageops::resize(
                    &image,
                    w * 3 / 4,
                    h * 3 / 4,
                    image::imageops::FilterType::Triangle,
                );
            }
        }
    })
    .await
    .map_err(|e| PostError::Retry(e.to_string()))?
    .map(|b| (b, "image/jpeg"))
    .map_err(|e| PostError::Refused(format!("cannot shrink the image: {e:#}")))
}

async fn post_page(
    services: &Services,
    client: &Client,
    session: &Session,
    entry: &CatalogPage,
    series: &Series,
    link: &str,
    language: &str,
) -> Result<String, PostError> {
    let page = &entry.page;
    let mut images = Vec::new();
    for image in entry.images.iter().take(MAX_IMAGES) {
        let (bytes, mime) = blob_bytes(services, image).await?;
        let blob = client.upload(session, bytes, mime).await?;
        images.push(json!({
            "alt": image.alt_text.chars().take(2000).collect::<String>(),
            "image": blob,
            "aspectRatio": { "width": image.media.width.max(1), "height": image.media.height.max(1) },
        }));
    }
    let record = record(entry, series, link, language, images, crate::db::now());
    let rkey = tid(page.live_at.unwrap_or(0), page.id);
    let body = Client::answer(
        client
            .http
            .post(client.xrpc("com.atproto.repo.putRecord"))
            .bearer_auth(&session.jwt)
            .json(&json!({
                "repo": session.did,
                "collection": "app.bsky.feed.post",
                "rkey": rkey,
                "record": record,
            }))
            .send()
            .await,
    )
    .await?;
    Ok(body["uri"].as_str().unwrap_or_default().to_owned())
}

/// The post: the page's title (and its warning), the link as a facet (byte
/// offsets into the UTF-8 text), the images, and a self-label when the
/// page carries a warning or is for adults.
pub fn record(
    entry: &CatalogPage,
    series: &Series,
    link: &str,
    language: &str,
    images: Vec<Value>,
    now: i64,
) -> Value {
    let page = &entry.page;
    let (warning, gated) = page.warning(Some(series));
    let warning = warning.map(|(text, _)| text);
    let title: String = page.title.chars().take(180).collect();
    let mut text = String::new();
    if let Some(warning) = warning {
        let warning: String = warning.chars().take(60).collect();
        text.push_str(&format!("CW: {warning}\n"));
    }
    text.push_str(&title);
    text.push_str("\n\n");
    let start = text.len();
    text.push_str(link);
    let end = text.len();
    let mut record = json!({
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": chrono::DateTime::from_timestamp(now, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "langs": [if language.trim().is_empty() { "en" } else { language.trim() }],
        "facets": [{
            "index": { "byteStart": start, "byteEnd": end },
            "features": [{ "$type": "app.bsky.richtext.facet#link", "uri": link }]
        }],
    });
    if !images.is_empty() {
        record["embed"] = json!({ "$type": "app.bsky.embed.images", "images": images });
    }
    if warning.is_some() || gated {
        record["labels"] = json!({
            "$type": "com.atproto.label.defs#selfLabels",
            "values": [{ "val": "graphic-media" }]
        });
    }
    record
}

/// A record key in the TID format (13 characters, base32-sortable, a
/// microsecond time and a 10-bit clock id), made from the page so the
/// same page always has the same key.
pub fn tid(live_at: i64, page: PageId) -> String {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    let micros = (live_at.max(0) as u64).saturating_mul(1_000_000) & ((1 << 53) - 1);
    let value = (micros << 10) | (page.0 as u64 & 0x3ff);
    (0..13)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// Recent crossposts for the admin: page, state, link, last error.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Row {
    pub page_id: i64,
    pub title: String,
    pub status: String,
    pub attempts: i64,
    pub remote_uri: String,
    pub error: String,
}

pub async fn recent(db: &crate::db::Db, limit: i64) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.page_id, p.title, c.status, c.attempts, c.remote_uri, c.error FROM crossposts c \
         JOIN pages p ON p.id = c.page_id WHERE c.target = ? ORDER BY c.id DESC LIMIT ?",
    )
    .bind(TARGET)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// `at://did/app.bsky.feed.post/rkey` → the post on bsky.app.
pub fn web_url(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.split('/');
    let (did, collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
    (collection == "app.bsky.feed.post")
        .then(|| format!("https://bsky.app/profile/{did}/post/{rkey}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tids_are_valid_sortable_and_stable() {
        let a = tid(1_700_000_000, PageId(7));
        assert_eq!(a.len(), 13);
        assert!("234567abcdefghij".contains(&a[..1]), "{a}");
        assert_eq!(a, tid(1_700_000_000, PageId(7)));
        assert!(tid(1_700_000_001, PageId(7)) > a);
        assert_ne!(tid(1_700_000_000, PageId(8)), a);
    }

    #[test]
    fn bsky_app_links() {
        assert_eq!(
            web_url("at://did:plc:abc/app.bsky.feed.post/3kxyz").as_deref(),
            Some("https://bsky.app/profile/did:plc:abc/post/3kxyz")
        );
        assert_eq!(web_url("https://x"), None);
    }
}
