//! Fan-out of events between the parts of one node and across nodes.
//!
//! `publish` delivers to local subscribers at once and, when Redis is
//! configured, to every other node through one Redis channel. A node ignores
//! its own messages coming back from Redis. When Redis is down, local
//! delivery goes on; the bridge logs the outage once and reconnects, and a
//! node that started while Redis was down gets its publishing connection
//! from the bridge when Redis comes back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// What the event is about, e.g. `page:42` or `cache`.
    pub topic: String,
    pub data: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: Event,
}

#[derive(Clone)]
pub struct Events {
    local: broadcast::Sender<Event>,
    node: Arc<str>,
    /// The publishing connection: `None` without Redis, or until the first
    /// successful connection (the manager reconnects by itself after that).
    redis: Option<Arc<RwLock<Option<redis::aio::ConnectionManager>>>>,
    redis_down: Arc<AtomicBool>,
    channel: Arc<str>,
}

impl Events {
    /// In-process only.
    pub fn local() -> Self {
        let (local, _) = broadcast::channel(1024);
        Self {
            local,
            node: crate::tokens::random_token().into(),
            redis: None,
            redis_down: Arc::new(AtomicBool::new(false)),
            channel: "halftone:events".into(),
        }
    }

    /// Shared through Redis at `url`. Connecting is lazy: a Redis that is down
    /// at start-up does not stop the site.
    pub async fn with_redis(url: &str, namespace: &str) -> anyhow::Result<Self> {
        let mut events = Self::local();
        events.channel = format!("{namespace}:events").into();
        let client = redis::Client::open(url)?;
        let slot = Arc::new(RwLock::new(None));
        match connect(&client).await {
            Ok(manager) => *slot.write().unwrap_or_else(|p| p.into_inner()) = Some(manager),
            Err(error) => {
                tracing::warn!(%error, "Redis is unreachable; events stay on this node until it returns");
                events.redis_down.store(true, Ordering::Relaxed);
            }
        }
        events.redis = Some(slot.clone());
        tokio::spawn(bridge(
            client,
            events.channel.clone(),
            events.local.clone(),
            events.node.clone(),
            events.redis_down.clone(),
            slot,
        ));
        Ok(events)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    pub fn redis_up(&self) -> bool {
        self.publisher().is_some() && !self.redis_down.load(Ordering::Relaxed)
    }

    fn publisher(&self) -> Option<redis::aio::ConnectionManager> {
        let slot = self.redis.as_ref()?;
        slot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub async fn publish(&self, topic: impl Into<String>, data: serde_json::Value) {
        let event = Event {
            topic: topic.into(),
            data,
        };
        let _ = self.local.send(event.clone());
        // None without Redis, or not connected yet (the bridge connects when
        // Redis is back).
        if let Some(mut conn) = self.publisher() {
            let payload = match serde_json::to_string(&Envelope {
                origin: self.node.to_string(),
                event,
            }) {
                Ok(p) => p,
                Err(_) => return,
            };
            let result: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&*self.channel)
                .arg(payload)
                .query_async(&mut conn)
                .await;
            if let Err(error) = result {
                if !self.redis_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error, "cannot publish to Redis; other nodes miss events until it returns");
                }
            }
        }
    }
}

async fn connect(client: &redis::Client) -> redis::RedisResult<redis::aio::ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(1);
    redis::aio::ConnectionManager::new_with_config(client.clone(), config).await
}

/// Relays events from other nodes to local subscribers, reconnecting forever;
/// makes the publishing connection if the node started without Redis.
async fn bridge(
    client: redis::Client,
    channel: Arc<str>,
    local: broadcast::Sender<Event>,
    node: Arc<str>,
    down: Arc<AtomicBool>,
    publisher: Arc<RwLock<Option<redis::aio::ConnectionManager>>>,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&*channel).await.is_ok() {
                    let missing = publisher
                        .read()
                        .unwrap_or_else(|p| p.into_inner())
                        .is_none();
                    if missing {
                        match connect(&client).await {
                            Ok(manager) => {
                                *publisher.write().unwrap_or_else(|p| p.into_inner()) =
                                    Some(manager)
                            }
                            Err(error) => {
                                tracing::warn!(%error, "cannot open the Redis publishing connection; retrying");
                                tokio::time::sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(5));
                                continue;
                            }
                        }
                    }
                    if down.swap(false, Ordering::Relaxed) {
                        tracing::info!("Redis is reachable again; events are shared between nodes");
                    }
                    delay = Duration::from_millis(200);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        let Ok(envelope) = serde_json::from_str::<Envelope>(&payload) else {
                            continue;
                        };
                        if *envelope.origin != *node {
                            let _ = local.send(envelope.event);
                        }
                    }
                }
            }
            Err(error) => {
                if !down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error, "lost the Redis event channel; retrying");
                }
            }
        }
        if !down.swap(true, Ordering::Relaxed) {
            tracing::warn!("lost the Redis event channel; retrying");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
