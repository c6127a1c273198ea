//! Subscribers and the newsletter: double opt-in, signed unsubscribe links,
//! mailings sent in the background from an outbox that survives restarts.
//!
//! - `subscribers`: the address list (pending → confirmed → unsubscribed).
//! - `tokens`: signed confirm/unsubscribe links (HMAC; nothing stored per link).
//! - `outbox`: mailings and one delivery row per recipient (the send log).
//! - `compose`: the mails themselves (templates in `templates/email/`).
//! - `sender`: the background sender (rate, lease, retries) and the
//!   announcer that makes a mailing when pages go live.
//!
//! The reader's side (`/subscribe`, `/unsubscribe`) is `reader::subscribe`,
//! the admin's `admin::newsletter`. The background work takes a `Worker`
//! (the shared services and this handle), never the web layer's state.

pub mod compose;
pub mod outbox;
pub mod sender;
pub mod subscribers;
pub mod tokens;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, OnceCell};

use crate::events::Events;
use crate::startup::Services;

/// What the sender and the announcer work with.
#[derive(Clone)]
pub struct Worker {
    pub services: Services,
    pub newsletter: Arc<Newsletter>,
}

impl std::ops::Deref for Worker {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// The newsletter's share of `AppState`.
pub struct Newsletter {
    /// Whether readers are offered the form (mail can be sent, not disabled).
    pub enabled: bool,
    /// This process's name in the sender lease.
    owner: String,
    signer: OnceCell<tokens::Signer>,
    wake: Notify,
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Subscribe attempts per address: a bot cannot use the form to flood.
    limiter: crate::net::NetworkLimit,
}

impl Newsletter {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            owner: format!(
                "{}-{}",
                std::process::id(),
                hex::encode(rand::random::<[u8; 6]>())
            ),
            signer: OnceCell::new(),
            wake: Notify::new(),
            stop: watch::channel(false).0,
            task: std::sync::Mutex::new(None),
            // Five tries, then one every two minutes, per address.
            limiter: crate::net::NetworkLimit::new(5, Duration::from_secs(120)),
        }
    }

    /// The key for signed links (loaded or made once per process).
    pub async fn signer(&self, services: &Services) -> Result<tokens::Signer, sqlx::Error> {
        self.signer
            .get_or_try_init(|| {
                tokens::Signer::load(&services.db, services.config.newsletter.secret.as_ref())
            })
            .await
            .cloned()
    }

    /// `Err(wait)` when this address has used up its subscribe attempts.
    pub fn check_rate(&self, address: IpAddr) -> Result<(), Duration> {
        self.limiter.check(address)
    }

    /// Tells the sender on this node and, through events, on every node
    /// that work was queued.
    pub async fn wake_all(&self, events: &Events) {
        self.wake.notify_one();
        events.publish("newsletter", serde_json::json!({})).await;
    }

    fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Starts the sender and the announcer on this node.
    pub fn start(worker: Worker) {
        if !worker.mailer.is_enabled() {
            return;
        }
        let handle = sender::spawn(worker.clone());
        if let Ok(mut task) = worker.newsletter.task.lock() {
            *task = Some(handle);
        }
        sender::spawn_announcer(worker.clone());
        // Other nodes' "work queued" events wake this node's sender too.
        let mut events = worker.events.subscribe();
        let mut stop = worker.newsletter.stop_signal();
        let weak = Arc::downgrade(&worker.newsletter);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(e) if e.topic == "newsletter" => {
                            let Some(newsletter) = weak.upgrade() else { break };
                            newsletter.wake.notify_one();
                        }
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                    _ = stop.changed() => break,
                }
            }
        });
    }

    /// Lets the mail being sent finish, records it, and gives the lease
    /// back so another node (or this one, restarted) goes on at once.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            if tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .is_err()
            {
                tracing::warn!("newsletter sender did not stop within 30 s");
            }
        }
    }
}
