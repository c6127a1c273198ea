//! The one error type of the web layer, mapped to HTTP in one place.
//!
//! Handlers return `Result<_, AppError>`. `ResponseError` decides the status
//! and marks the response; the `render_error_pages` middleware in
//! `reader::errors` turns the mark into the friendly HTML page, because only
//! it can reach the templates. Causes of internal errors are logged with their
//! chain and never shown to readers.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

/// Seconds a client is asked to wait when the database is unavailable.
pub const RETRY_AFTER_SECS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No (or an expired) session where one is needed.
    #[error("not logged in")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("too many requests: {message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// The request body is larger than the route accepts.
    #[error("payload too large: {0}")]
    TooLarge(String),
    /// The database (or another dependency) cannot answer right now.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Put on error responses so the error-page middleware knows what to render.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: Option<String>,
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => AppError::NotFound,
            // Out of connections or the server gone: tell the client to come
            // back shortly instead of letting requests pile up.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => AppError::Unavailable(error.to_string()),
            sqlx::Error::Database(ref db) if database_unavailable(db.as_ref()) => {
                AppError::Unavailable(error.to_string())
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

/// Errors that mean "the database cannot answer right now", not "this query
/// is wrong": the client should come back shortly (503 + Retry-After).
fn database_unavailable(error: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(sqlite) = error.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        // Primary result codes: BUSY (5), LOCKED (6), IOERR (10), FULL (13),
        // CANTOPEN (14), PROTOCOL (15, "locking protocol": another process
        // holds the file in exclusive mode).
        let code = sqlx::error::DatabaseError::code(sqlite)
            .and_then(|c| c.parse::<i32>().ok())
            .map_or(0, |c| c & 0xff);
        return matches!(code, 5 | 6 | 10 | 13 | 14 | 15);
    }
    if let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // Too many connections, lock wait timeout, deadlock, server shutting
        // down, read-only (a failover in progress).
        return matches!(
            mysql.number(),
            1040 | 1203 | 1205 | 1213 | 1053 | 1290 | 1836
        );
    }
    false
}

impl From<crate::comics::WriteError> for AppError {
    fn from(error: crate::comics::WriteError) -> Self {
        match error {
            crate::comics::WriteError::Db(e) => e.into(),
            taken @ crate::comics::WriteError::SlugTaken(_) => {
                AppError::BadRequest(taken.to_string())
            }
        }
    }
}

impl From<tera::Error> for AppError {
    fn from(error: tera::Error) -> Self {
        AppError::Internal(anyhow::Error::new(error).context("template rendering failed"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match self {
            AppError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                None
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(%cause, "dependency unavailable");
                None
            }
            AppError::BadRequest(message)
            | AppError::Forbidden(message)
            | AppError::TooLarge(message) => Some(message.clone()),
            AppError::TooManyRequests { message, .. } => Some(message.clone()),
            AppError::Unauthorized => {
                Some("Your session has ended. Please log in again.".to_owned())
            }
            AppError::NotFound => None,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        let mut response = response.body(status.canonical_reason().unwrap_or("error"));
        response
            .extensions_mut()
            .insert(ErrorPage { status, message });
        response
    }
}
