//! `GET /admin/pages/{id}/ws`: the editor's autosave channel.
//!
//! Client → server (JSON text frames):
//! - `{"type":"save","seq":7,"base":12,"draft":{…}}` — store `draft` as the
//!   revision after `base`;
//! - `{"type":"ping"}`.
//!
//! Server → client:
//! - `hello {revision, draft}` on connect (the newest saved draft);
//! - `saved {seq, revision}`; `conflict {seq, revision, draft}` when `base`
//!   is stale (nothing is overwritten; the client lets the author choose);
//! - `invalid {seq, errors}` (field errors), `error {seq, message, retry}`
//!   (e.g. the database is down: the client keeps the text and retries);
//! - `bad_message {message}` for oversized or malformed frames — the
//!   connection stays open;
//! - `remote {revision, draft, by}` when someone else saved this page, on
//!   this node or another (through Redis); `conflict_elsewhere {by}` when
//!   someone else's stale save was refused;
//! - `session_ended` before closing when the session was logged out.
//!
//! Every save goes through the same checks as a form post: the session
//! (re-checked per save), same-origin (checked by the guard), validation.

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, Session as WsSession};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{sessions, Session};
use crate::comics::editing::{self, PageDraft, SaveOutcome};
use crate::comics::PageId;
use crate::error::AppError;
use crate::startup::AppState;

const PING_EVERY: Duration = Duration::from_secs(15);
/// Editor connections one session may hold (a few tabs, not a flood: each
/// holds memory, a database connection when saving, and an event listener).
pub const MAX_PER_SESSION: usize = 8;

/// Open editor connections per session.
#[derive(Default)]
pub struct Sockets(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl Sockets {
    fn enter(&self, session: &str) -> bool {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(session.to_owned()).or_default();
        if *n >= MAX_PER_SESSION {
            return false;
        }
        *n += 1;
        true
    }

    fn leave(&self, session: &str) {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(session);
            }
        }
    }
}

/// Counts a connection for as long as it lives, however its task ends.
struct Counted {
    state: std::sync::Arc<AppState>,
    session: String,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.state.editor_sockets.leave(&self.session);
    }
}
const DEAD_AFTER: Duration = Duration::from_secs(45);

/// A frame from the editor (see the module notes).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Save {
        seq: u64,
        base: i64,
        draft: Box<PageDraft>,
    },
    Ping,
}

pub async fn socket(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    // Browsers always send Origin on websockets; a missing one is not a browser.
    if req.headers().get(actix_web::http::header::ORIGIN).is_none() {
        return Err(AppError::Forbidden(
            "A websocket needs an Origin header.".into(),
        ));
    }
    let id = PageId(path.into_inner());
    editing::editable(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !state.editor_sockets.enter(&session.token_hash) {
        return Err(AppError::TooManyRequests {
            message: format!(
                "This session already has {MAX_PER_SESSION} editor connections open; close a tab."
            ),
            retry_after_secs: 5,
        });
    }
    let counted = Counted {
        state: state.clone().into_inner(),
        session: session.token_hash.clone(),
    };
    let (response, ws, stream) =
        actix_ws::handle(&req, body).map_err(|e| AppError::bad_request(e.to_string()))?;
    let limit = state.config.admin.max_ws_message_bytes;
    // Frames up to 4× the message limit are read (and refused politely);
    // only beyond that does the protocol layer drop the connection.
    let stream = stream
        .max_frame_size(limit * 4)
        .aggregate_continuations()
        .max_continuation_size(limit * 4);
    actix_web::rt::spawn(async move {
        let _counted = counted;
        run(state.into_inner(), session, id, ws, stream).await;
    });
    Ok(response)
}

async fn send(ws: &mut WsSession, value: serde_json::Value) -> bool {
    ws.text(value.to_string()).await.is_ok()
}

/// Tells every other editor of the page (here and on other nodes) about a save.
pub async fn announce(state: &AppState, page: PageId, revision: i64, draft: &PageDraft, by: &str) {
    announce_from(
        state,
        page,
        "",
        json!({ "type": "remote", "revision": revision, "draft": draft, "by": by }),
    )
    .await;
}

async fn announce_from(state: &AppState, page: PageId, conn: &str, mut message: serde_json::Value) {
    message["conn"] = json!(conn);
    state.events.publish(format!("page:{page}"), message).await;
}

async fn run(
    state: std::sync::Arc<AppState>,
    session: Session,
    id: PageId,
    mut ws: WsSession,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let conn = sessions::random_token();
    let topic = format!("page:{id}");
    let mut events = state.events.subscribe();
    let limit = state.config.admin.max_ws_message_bytes;
    match editing::head(&state.db, id).await {
        Ok(Some((revision, draft))) => {
            if !send(
                &mut ws,
                json!({ "type": "hello", "revision": revision, "draft": draft }),
            )
            .await
            {
                return;
            }
        }
        _ => {
            let _ = send(&mut ws, json!({ "type": "error", "message": "The page could not be loaded; retrying.", "retry": true })).await;
            let _ = ws.close(None).await;
            return;
        }
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    let mut draining = state.draining.clone();
    loop {
        tokio::select! {
            // This node is shutting down: the editor reconnects (to another
            // node behind the balancer) and resends what is unsaved.
            Ok(()) = draining.changed() => {
                if *draining.borrow() {
                    let _ = send(&mut ws, json!({ "type": "reconnect", "message": "This server is restarting; reconnecting…" })).await;
                    let _ = ws
                        .close(Some(actix_ws::CloseReason {
                            code: actix_ws::CloseCode::Restart,
                            description: Some("reconnect".into()),
                        }))
                        .await;
                    return;
                }
            }
            message = stream.next() => {
                let Some(message) = message else { break };
                last_heard = Instant::now();
                match message {
                    Ok(AggregatedMessage::Text(text)) => {
                        if text.len() > limit {
                            let reply = json!({ "type": "bad_message", "message": format!("The message is {} KB; the limit is {} KB.", text.len() / 1024, limit / 1024) });
                            if !send(&mut ws, reply).await { break; }
                            continue;
                        }
                        match handle(&state, &session, id, &conn, &text).await {
                            Reply::Send(value) => if !send(&mut ws, value).await { break },
                            Reply::SessionEnded => {
                                let _ = send(&mut ws, json!({ "type": "session_ended", "message": "Your session has ended. Log in again; your text is kept in this browser." })).await;
                                break;
                            }
                        }
                    }
                    Ok(AggregatedMessage::Binary(_)) => {
                        if !send(&mut ws, json!({ "type": "bad_message", "message": "Binary messages are not understood; send JSON text." })).await { break; }
                    }
                    Ok(AggregatedMessage::Ping(bytes)) => { if ws.pong(&bytes).await.is_err() { break; } }
                    Ok(AggregatedMessage::Pong(_)) => {}
                    Ok(AggregatedMessage::Close(_)) => break,
                    Err(error) => {
                        // A frame beyond the protocol limit or a broken stream.
                        tracing::info!(%error, page = id.0, "editor websocket error");
                        let _ = send(&mut ws, json!({ "type": "bad_message", "message": "The message could not be read (too large or malformed)." })).await;
                        break;
                    }
                }
            }
            event = events.recv() => {
                match event {
                    Ok(event) if event.topic == topic && event.data["conn"].as_str() != Some(conn.as_str()) => {
                        let mut data = event.data;
                        if let Some(map) = data.as_object_mut() { map.remove("conn"); }
                        if !send(&mut ws, data).await { break; }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > DEAD_AFTER { break; }
                if ws.ping(b"").await.is_err() { break; }
            }
        }
    }
    let _ = ws.close(None).await;
}

enum Reply {
    Send(serde_json::Value),
    SessionEnded,
}

/// Reads one frame; the error is what the editor is told.
pub fn parse_message(text: &str) -> Result<ClientMessage, String> {
    serde_json::from_str(text).map_err(|e| format!("Not a message this editor understands: {e}"))
}

async fn handle(state: &AppState, session: &Session, id: PageId, conn: &str, text: &str) -> Reply {
    let message = match parse_message(text) {
        Ok(m) => m,
        Err(message) => return Reply::Send(json!({ "type": "bad_message", "message": message })),
    };
    let (seq, base, draft) = match message {
        ClientMessage::Ping => return Reply::Send(json!({ "type": "pong" })),
        ClientMessage::Save { seq, base, draft } => (seq, base, draft),
    };
    // Logged out elsewhere or password changed: stop accepting saves.
    match sessions::exists(&state.db, &session.token_hash).await {
        Ok(true) => {}
        Ok(false) => return Reply::SessionEnded,
        Err(e) => {
            return Reply::Send(
                json!({ "type": "error", "seq": seq, "retry": true, "message": format!("The database is unavailable ({e}); your text is kept and will be saved when it returns.") }),
            )
        }
    }
    if let Err(errors) = draft.validate() {
        return Reply::Send(json!({ "type": "invalid", "seq": seq, "errors": errors }));
    }
    match editing::save_draft(&state.db, id, base, &draft, Some(session.user.id)).await {
        Ok(SaveOutcome::Saved { revision }) => {
            announce_from(state, id, conn, json!({ "type": "remote", "revision": revision, "draft": draft, "by": session.user.name })).await;
            Reply::Send(json!({ "type": "saved", "seq": seq, "revision": revision }))
        }
        Ok(SaveOutcome::Conflict { revision, current }) => {
            announce_from(state, id, conn, json!({ "type": "conflict_elsewhere", "by": session.user.name, "revision": revision })).await;
            Reply::Send(
                json!({ "type": "conflict", "seq": seq, "revision": revision, "draft": current }),
            )
        }
        Ok(SaveOutcome::NotFound) => Reply::Send(
            json!({ "type": "error", "seq": seq, "retry": false, "message": "This page was deleted." }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, page = id.0, "autosave failed");
            Reply::Send(
                json!({ "type": "error", "seq": seq, "retry": true, "message": "The database is unavailable; your text is kept in this browser and will be saved when it returns." }),
            )
        }
    }
}
