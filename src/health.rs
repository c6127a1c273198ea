//! `/healthz`: the process is up. `/readyz`: it can reach its database, so a
//! load balancer should send it readers.

use actix_web::{web, HttpResponse};

use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .body("ok")
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    // Answers are JSON (which the error pages leave alone): a probe (or a
    // person) reads why, and which node answered.
    if *state.draining.borrow() {
        return HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "ready": false, "reason": "draining" }));
    }
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "ready": true, "node": state.node.id })),
        Err(error) => {
            tracing::warn!(%error, "not ready: database unreachable");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .insert_header(("Retry-After", crate::error::RETRY_AFTER_SECS.to_string()))
                .json(serde_json::json!({ "ready": false, "reason": "database unreachable" }))
        }
    }
}
