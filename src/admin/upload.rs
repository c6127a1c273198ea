//! `POST /admin/media`: one image from the editor (drag and drop), run
//! through the media pipeline; `POST /admin/markdown`: the notes preview.
//! Both answer JSON, errors included, so the editor can show them.

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::auth::Session;
use crate::error::AppError;
use crate::media;
use crate::startup::AppState;

#[derive(Serialize)]
struct Uploaded {
    media_id: i64,
    thumb: String,
    width: u32,
    height: u32,
    name: String,
}

fn json_error(status: actix_web::http::StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message.into() }))
}

#[tracing::instrument(skip_all, fields(user = session.user.id))]
pub async fn upload(
    state: web::Data<AppState>,
    session: Session,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let limit = state.config.admin.max_upload_bytes;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = payload.next().await {
        let mut field = match field {
            Ok(f) => f,
            Err(e) => {
                return Ok(json_error(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    format!("The upload was malformed: {e}"),
                ))
            }
        };
        if field.name() != Some("file") {
            // Drain and ignore other fields.
            while let Some(chunk) = field.next().await {
                chunk.map_err(|e| AppError::bad_request(e.to_string()))?;
            }
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("image")
            .to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    return Ok(json_error(
                        actix_web::http::StatusCode::BAD_REQUEST,
                        format!("The upload broke off: {e}"),
                    ))
                }
            };
            if bytes.len() + chunk.len() > limit {
                return Ok(json_error(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "{name} is larger than the {} MB limit.",
                        limit / (1024 * 1024)
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some((name, bytes));
    }
    let Some((name, bytes)) = file else {
        return Ok(json_error(
            actix_web::http::StatusCode::BAD_REQUEST,
            "No file was sent (expected a field named “file”).",
        ));
    };
    let config = state.config.media.clone();
    let processed = tokio::task::spawn_blocking(move || media::process(&bytes, &config))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| e.to_string());
    // A store that fails (a bucket unreachable) is the server's fault, not
    // the file's: 503, and the author may simply retry.
    if let Ok(processed) = &processed {
        state
            .media
            .write_processed(processed)
            .await
            .map_err(|e| AppError::Unavailable(format!("cannot store an upload: {e:#}")))?;
    }
    let processed = match processed {
        Ok(mut p) => {
            p.files.clear();
            p
        }
        Err(message) => {
            tracing::info!(file = %name, %message, "upload refused");
            return Ok(json_error(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name}: {message}"),
            ));
        }
    };
    let media_id = media::store::register(&state.db, &processed).await?;
    let thumb = media::variants::url(
        &processed.hash,
        &media::variants::thumb_name(&processed.hash, processed.thumb_width),
    );
    Ok(HttpResponse::Created().json(Uploaded {
        media_id: media_id.0,
        thumb,
        width: processed.width,
        height: processed.height,
        name,
    }))
}

#[derive(Deserialize)]
pub struct MarkdownBody {
    markdown: String,
}

pub async fn markdown(_session: Session, body: web::Json<MarkdownBody>) -> HttpResponse {
    HttpResponse::Ok()
        .json(serde_json::json!({ "html": crate::render::markdown::to_html(&body.markdown) }))
}
