//! The site's side of analytics: reports server-side events (feed fetches,
//! search queries) to the separate `halftone-analytics` service, and signs
//! admins into its dashboard.
//!
//! Reporting never slows a reader's request: an event goes into a bounded
//! queue (`try_send`, no waiting) and a background task posts batches. While
//! the service is down, up to `MAX_PENDING` events wait and are retried with
//! the same ids (so the service counts each once); beyond that the oldest are
//! dropped and counted in `/metrics`. Page views do not pass here at all:
//! readers' browsers send them straight to the service.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::AnalyticsConfig;

const QUEUE: usize = 16_384;
/// Events kept while the service is unreachable (about 200 bytes each).
const MAX_PENDING: usize = 50_000;
/// Events per request at most; a request that times out is retried smaller,
/// so a slow service still drains a backlog instead of timing out forever.
const BATCH: usize = 500;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Event {
    Feed { path: String, ua: String },
    Search { query: String },
}

impl Event {
    /// The event as the service reads it (`halftone-protocol`).
    fn wire(&self, id: &str) -> halftone_protocol::events::ServerEvent {
        use halftone_protocol::events::{EventKind, ServerEvent};
        match self {
            Event::Feed { path, ua } => ServerEvent {
                path: Some(path.clone()),
                ua: Some(ua.clone()),
                ..ServerEvent::new(id, EventKind::Feed)
            },
            Event::Search { query } => ServerEvent {
                query: Some(query.clone()),
                ..ServerEvent::new(id, EventKind::Search)
            },
        }
    }
}

/// A cheap handle; `report` never blocks.
#[derive(Clone)]
pub struct Reporter {
    tx: Option<mpsc::Sender<Event>>,
    /// `(base URL, secret)` for the calls that are not events.
    service: Option<(String, String)>,
}

impl Reporter {
    /// Starts the background sender when the service and secret are configured.
    pub fn start(config: &AnalyticsConfig) -> Reporter {
        let (Some(base), Some(secret)) = (config.report_base(), config.secret.as_ref()) else {
            return Reporter::disabled();
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let secret = secret.expose_secret().to_owned();
        tokio::spawn(send_loop(format!("{base}/api/events"), secret.clone(), rx));
        Reporter {
            tx: Some(tx),
            service: Some((base, secret)),
        }
    }

    pub fn disabled() -> Reporter {
        Reporter {
            tx: None,
            service: None,
        }
    }

    /// Ends a user's dashboard sessions (they logged out, changed password
    /// or were removed), in the background with a few retries. If the
    /// service cannot be told, its sessions still end within the hour.
    pub fn revoke_dashboard(&self, user: i64) {
        let Some((base, secret)) = self.service.clone() else {
            return;
        };
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for attempt in 0..5u32 {
                let sent = client
                    .post(format!("{base}/api/revoke"))
                    .bearer_auth(&secret)
                    .timeout(Duration::from_secs(5))
                    .json(&halftone_protocol::token::Revoke { user })
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
            }
            tracing::warn!(
                user,
                "could not end the user's analytics sessions; they expire within the hour"
            );
        });
    }

    pub fn report(&self, event: Event) {
        if let Some(tx) = &self.tx {
            if tx.try_send(event).is_err() {
                metrics::counter!("halftone_analytics_events_dropped_total").increment(1);
            }
        }
    }
}

async fn send_loop(url: String, secret: String, mut rx: mpsc::Receiver<Event>) {
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the analytics client; events are not reported");
            return;
        }
    };
    let mut pending: Vec<(String, Event)> = Vec::new();
    let mut failing = false;
    let mut batch = BATCH;
    loop {
        // Wait for something to send, then gather what else is queued.
        if pending.is_empty() {
            match rx.recv().await {
                Some(event) => pending.push((new_id(), event)),
                None => return,
            }
        }
        // Gather a batch's worth for a moment, unless a backlog is draining
        // or the last attempt failed (it waited already).
        if !failing && pending.len() < batch {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        while let Ok(event) = rx.try_recv() {
            pending.push((new_id(), event));
        }
        if pending.len() > MAX_PENDING {
            let excess = pending.len() - MAX_PENDING;
            pending.drain(..excess);
            metrics::counter!("halftone_analytics_events_dropped_total").increment(excess as u64);
        }
        let take = pending.len().min(batch);
        let body: Vec<halftone_protocol::events::ServerEvent> = pending[..take]
            .iter()
            .map(|(id, event)| event.wire(id))
            .collect();
        let sent = client
            .post(&url)
            .bearer_auth(&secret)
            .json(&body)
            .send()
            .await;
        match sent {
            // 4xx other than 429 would fail again the same way: drop, say so.
            Ok(response)
                if response.status().is_success()
                    || (response.status().is_client_error()
                        && response.status().as_u16() != 429) =>
            {
                if !response.status().is_success() {
                    tracing::warn!(status = %response.status(), "the analytics service refused events");
                }
                pending.drain(..take);
                metrics::counter!("halftone_analytics_events_sent_total").increment(take as u64);
                batch = (batch * 2).min(BATCH);
                if failing {
                    tracing::info!("analytics service reachable again");
                    failing = false;
                }
            }
            outcome => {
                if matches!(&outcome, Err(error) if error.is_timeout()) {
                    batch = (batch / 2).max(1);
                }
                if !failing {
                    let reason = match outcome {
                        Ok(response) => response.status().to_string(),
                        Err(error) => error.to_string(),
                    };
                    tracing::warn!(%reason, "cannot report to the analytics service; will retry");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

fn new_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// The dashboard's sign-in address for an admin: valid two minutes, once,
/// and for this user only (their sessions end when they log out here).
pub fn dashboard_sign_in(config: &AnalyticsConfig, user: i64) -> Option<String> {
    let base = config.public_base()?;
    let secret = config.secret.as_ref()?;
    let nonce = hex::encode(rand::random::<[u8; 12]>());
    let token = halftone_protocol::token::sign_in_token(
        secret.expose_secret(),
        user,
        &nonce,
        chrono::Utc::now().timestamp(),
    );
    Some(format!("{base}/auth?token={token}"))
}
