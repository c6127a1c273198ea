//! The Redis layer of the page cache, shared by every app node.
//!
//! Redis is an accelerator, never a dependency: each call has a short
//! timeout; the first failure marks Redis down (logged once) and further
//! calls are skipped, except one probe every few seconds, until it answers
//! again (logged once).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;

const PROBE_EVERY_MS: i64 = 2000;

pub struct SharedLayer {
    manager: tokio::sync::OnceCell<ConnectionManager>,
    client: redis::Client,
    namespace: String,
    down: AtomicBool,
    retry_at_ms: AtomicI64,
}

impl SharedLayer {
    pub fn new(url: &str, namespace: &str) -> anyhow::Result<Self> {
        Ok(Self {
            manager: tokio::sync::OnceCell::new(),
            client: redis::Client::open(url)?,
            namespace: namespace.to_owned(),
            down: AtomicBool::new(false),
            retry_at_ms: AtomicI64::new(0),
        })
    }

    pub fn is_up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    pub fn page_key(&self, generation: u64, path: &str) -> String {
        format!("{}:page:{generation}:{path}", self.namespace)
    }

    fn generation_key(&self) -> String {
        format!("{}:generation", self.namespace)
    }

    /// A connection, unless Redis is down and it is not yet time to probe.
    async fn connection(&self) -> Option<ConnectionManager> {
        if self.down.load(Ordering::Relaxed) {
            let now = super::entry::now_ms();
            let retry_at = self.retry_at_ms.load(Ordering::Relaxed);
            if now < retry_at
                || self
                    .retry_at_ms
                    .compare_exchange(
                        retry_at,
                        now + PROBE_EVERY_MS,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                return None;
            }
        }
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(250)))
                    .set_number_of_retries(0);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await;
        match manager {
            Ok(m) => Some(m.clone()),
            Err(error) => {
                self.failed(&error);
                None
            }
        }
    }

    fn failed(&self, error: &redis::RedisError) {
        self.retry_at_ms
            .store(super::entry::now_ms() + PROBE_EVERY_MS, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "Redis is unreachable; pages are served from the in-process cache and the database until it returns");
            metrics::gauge!("halftone_redis_up").set(0.0);
        }
    }

    fn succeeded(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis is reachable again; the shared page cache is back");
        }
        metrics::gauge!("halftone_redis_up").set(1.0);
    }

    async fn run<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Option<T> {
        let mut conn = self.connection().await?;
        match command.query_async::<T>(&mut conn).await {
            Ok(value) => {
                self.succeeded();
                Some(value)
            }
            Err(error) => {
                self.failed(&error);
                None
            }
        }
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.run::<Option<Vec<u8>>>(redis::cmd("GET").arg(key).clone())
            .await
            .flatten()
    }

    pub async fn set(&self, key: &str, value: Vec<u8>, ttl_secs: u64) {
        let _: Option<()> = self
            .run(
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("EX")
                    .arg(ttl_secs.max(1))
                    .clone(),
            )
            .await;
    }

    pub async fn delete(&self, key: &str) {
        let _: Option<i64> = self.run(redis::cmd("DEL").arg(key).clone()).await;
    }

    /// The shared content generation (0 when unknown).
    pub async fn generation(&self) -> Option<u64> {
        self.run::<Option<u64>>(redis::cmd("GET").arg(self.generation_key()).clone())
            .await
            .map(|g| g.unwrap_or(0))
    }

    /// Moves every node to a new shared generation.
    pub async fn bump_generation(&self) -> Option<u64> {
        self.run::<u64>(redis::cmd("INCR").arg(self.generation_key()).clone())
            .await
    }
}
