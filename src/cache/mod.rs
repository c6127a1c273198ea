//! The hot-view cache: finished reader responses kept for a short TTL, so a
//! traffic spike costs one render per page per TTL, not one per request.
//!
//! Layers: an in-process `moka` cache on every node, and (with
//! `HALFTONE_REDIS_URL`) Redis shared by all nodes.
//!
//! Rules:
//! - **Fresh** (same generation, younger than the TTL): served as is.
//! - **Stale** (same generation, older than the TTL): served at once while
//!   one background render refreshes it (stale-while-revalidate).
//! - **Miss** (absent, or of an older generation): the first request renders
//!   and every concurrent request for the key waits for that one render
//!   (single flight).
//! - A render that fails (database down) falls back to the last good copy,
//!   kept for `cache.keep_stale_secs`; only pages never rendered get a 503.
//! - A breaker: once a render failed because the database is unavailable,
//!   every page with a last good copy is served from it at once for a short
//!   back-off (doubling while the outage lasts), and a single background
//!   render probes for the database's return. Without it every expired page
//!   waited out the pool timeout before falling back.
//! - Any content change bumps the generation: every node drops every page
//!   at once (own node directly; others through the `content` event and the
//!   shared generation in Redis). Coarse but always correct; a small site
//!   refills with one render per page.
//! - A change that touches one page only (a comment approved) drops just
//!   that page's keys (`invalidate_keys`: here, in Redis, and on the other
//!   nodes through the `cache-keys` event). A render that started before
//!   the drop is not stored, so it cannot bring the old page back.
//! - A page that is not there is remembered as missing for up to a second
//!   (in its generation), so a flood of requests for it costs no query.
//! - Personal responses are never stored: requests with a session cookie
//!   bypass the cache (see `reader::response`).

pub mod entry;
mod shared;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

pub use entry::{Entry, Rendered};
use shared::SharedLayer;

use crate::error::AppError;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    pub enabled: bool,
    /// How long a page is fresh.
    pub ttl_ms: u64,
    /// After the TTL, how long a page may still be served while one request
    /// refreshes it. Older pages are rendered before answering, so a reader
    /// arriving after a quiet hour never gets an hour-old page.
    pub stale_while_revalidate_ms: u64,
    /// How long a last good copy is kept for stale serving (database down).
    pub keep_stale_secs: u64,
    /// Memory bound of the in-process layer.
    pub max_mb: u64,
    /// `stale-while-revalidate` told to browsers and CDNs, in seconds.
    pub http_stale_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_ms: 5000,
            stale_while_revalidate_ms: 10_000,
            keep_stale_secs: 86_400,
            max_mb: 64,
            http_stale_secs: 30,
        }
    }
}

pub struct PageCache {
    config: CacheConfig,
    local: moka::sync::Cache<String, Arc<Entry>>,
    /// One lock per key being rendered: the single flight.
    flights: moka::sync::Cache<String, Arc<tokio::sync::Mutex<()>>>,
    /// When a key's render last failed (Unix ms): requests that waited for
    /// that render share its failure instead of queueing up to fail one by one.
    failures: moka::sync::Cache<String, i64>,
    /// Keys dropped one by one lately (Unix ms of the drop).
    dropped: moka::sync::Cache<String, i64>,
    /// Keys whose render said "not found" lately, with the generation and
    /// time: a flood of requests for a missing page (a bot probing, a dead
    /// link on a busy forum) is answered 404 for the TTL without a query.
    /// Bounded apart from the pages so probes cannot evict real pages.
    missing: moka::sync::Cache<String, (u64, i64)>,
    /// Bumped on every content change seen by this node.
    generation: AtomicU64,
    /// The generation shared through Redis (part of the Redis keys).
    shared_generation: AtomicU64,
    shared: Option<SharedLayer>,
    cache_control: actix_web::http::header::HeaderValue,
    /// Renders made by this cache (the metrics are process-wide; this is per app).
    renders: AtomicU64,
    breaker: Breaker,
}

/// Open while the database is known to be unavailable (see the module docs).
#[derive(Default)]
struct Breaker {
    /// Unix ms until which the breaker is open (0: closed).
    open_until: AtomicI64,
    /// The current back-off, doubled on every failed probe.
    backoff_ms: AtomicI64,
    probing: AtomicBool,
}

impl Breaker {
    const FIRST_BACKOFF_MS: i64 = 2_000;
    const MAX_BACKOFF_MS: i64 = 16_000;

    fn is_open(&self) -> bool {
        entry::now_ms() < self.open_until.load(Ordering::Acquire)
    }

    /// A render failed for want of the database.
    fn trip(&self) {
        let backoff = match self.backoff_ms.load(Ordering::Acquire) {
            0 => Self::FIRST_BACKOFF_MS,
            b => (b * 2).min(Self::MAX_BACKOFF_MS),
        };
        self.backoff_ms.store(backoff, Ordering::Release);
        if self
            .open_until
            .swap(entry::now_ms() + backoff, Ordering::AcqRel)
            == 0
        {
            tracing::warn!(
                backoff_ms = backoff,
                "the database is unavailable; serving last good copies while one render probes"
            );
            metrics::counter!("halftone_cache_breaker_trips_total").increment(1);
        }
    }

    fn close(&self) {
        self.backoff_ms.store(0, Ordering::Release);
        if self.open_until.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!("the database answers again; pages are rendered fresh");
        }
    }

    /// One probe at a time, whichever page it is.
    fn try_probe(&self) -> bool {
        !self.probing.swap(true, Ordering::AcqRel)
    }
}

/// How a response was obtained, reported in `x-cache` and in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    SharedHit,
    Stale,
    Coalesced,
    Miss,
    Fallback,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::SharedHit => "shared-hit",
            Outcome::Stale => "stale",
            Outcome::Coalesced => "coalesced",
            Outcome::Miss => "miss",
            Outcome::Fallback => "fallback",
        }
    }
}

impl PageCache {
    pub async fn new(config: CacheConfig, redis: Option<(&str, &str)>) -> anyhow::Result<Self> {
        let local = moka::sync::Cache::builder()
            .max_capacity(config.max_mb.saturating_mul(1024 * 1024))
            .weigher(|_: &String, e: &Arc<Entry>| e.weight())
            .time_to_live(Duration::from_secs(config.keep_stale_secs.max(1)))
            .build();
        let flights = moka::sync::Cache::builder()
            .time_to_idle(Duration::from_secs(60))
            .max_capacity(100_000)
            .build();
        let shared = match redis {
            Some((url, namespace)) => Some(SharedLayer::new(url, namespace)?),
            None => None,
        };
        let cache_control = actix_web::http::header::HeaderValue::from_str(&format!(
            "public, max-age={}, stale-while-revalidate={}",
            (config.ttl_ms / 1000).max(1),
            config.http_stale_secs
        ))?;
        // At most a second: enough to spare the database a flood, short
        // enough that a page published elsewhere is not refused for long.
        let missing_ttl = Duration::from_millis(config.ttl_ms.clamp(1, 1000));
        let cache = Self {
            config,
            local,
            flights,
            failures: moka::sync::Cache::builder()
                .time_to_live(Duration::from_secs(5))
                .max_capacity(100_000)
                .build(),
            dropped: moka::sync::Cache::builder()
                .time_to_live(Duration::from_secs(120))
                .max_capacity(100_000)
                .build(),
            missing: moka::sync::Cache::builder()
                .time_to_live(missing_ttl)
                .max_capacity(10_000)
                .build(),
            generation: AtomicU64::new(0),
            shared_generation: AtomicU64::new(0),
            shared,
            cache_control,
            renders: AtomicU64::new(0),
            breaker: Breaker::default(),
        };
        if let Some(shared) = &cache.shared {
            if let Some(g) = shared.generation().await {
                cache.shared_generation.store(g, Ordering::Relaxed);
            }
        }
        Ok(cache)
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    pub fn cache_control(&self) -> &actix_web::http::header::HeaderValue {
        &self.cache_control
    }

    /// The entry for `key` if it may be served as it is, with no render, no
    /// refresh and no database (the fast lane's question): fresh, of the
    /// current generation, and served through the router once already.
    pub fn fresh(&self, key: &str) -> Option<Arc<Entry>> {
        if !self.config.enabled {
            return None;
        }
        let entry = self.local.get(key)?;
        (entry.generation == self.generation.load(Ordering::Acquire)
            && entry.age_ms() < self.ttl_ms()
            && entry.lane.get().is_some())
        .then_some(entry)
    }

    /// How many pages this cache has rendered since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    pub fn redis_up(&self) -> Option<bool> {
        self.shared.as_ref().map(SharedLayer::is_up)
    }

    /// Content changed on this node: drop every page here and, through the
    /// shared generation, everywhere. Returns the new shared generation.
    pub async fn invalidate_all(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let shared = match &self.shared {
            Some(shared) => shared.bump_generation().await,
            None => None,
        };
        let generation =
            shared.unwrap_or_else(|| self.shared_generation.load(Ordering::Relaxed) + 1);
        self.shared_generation
            .fetch_max(generation, Ordering::AcqRel);
        metrics::counter!("halftone_cache_invalidations_total").increment(1);
        generation
    }

    /// One page changed here: drop its keys on this node and in Redis (the
    /// caller tells the other nodes).
    pub async fn invalidate_keys(&self, keys: &[String]) {
        self.drop_local(keys);
        if let Some(shared) = &self.shared {
            let generation = self.shared_generation.load(Ordering::Acquire);
            for key in keys {
                shared.delete(&shared.page_key(generation, key)).await;
            }
        }
        metrics::counter!("halftone_cache_key_invalidations_total").increment(keys.len() as u64);
    }

    /// One page changed on another node.
    pub fn drop_local(&self, keys: &[String]) {
        let now = entry::now_ms();
        for key in keys {
            self.dropped.insert(key.clone(), now);
            self.local.invalidate(key);
            self.missing.invalidate(key);
        }
    }

    /// Content changed on another node.
    pub fn invalidate_from_peer(&self, shared_generation: u64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.shared_generation
            .fetch_max(shared_generation, Ordering::AcqRel);
    }

    fn ttl_ms(&self) -> i64 {
        self.config.ttl_ms as i64
    }

    /// Serves `key` from the cache or renders it with `render` (once, however
    /// many requests ask at the same time).
    pub async fn serve<F, Fut>(
        self: &Arc<Self>,
        req: &HttpRequest,
        key: String,
        render: F,
    ) -> Result<HttpResponse, AppError>
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<Rendered, AppError>> + 'static,
    {
        let (entry, outcome) = self.get(key, render).await?;
        crate::cluster::stats::cache(!matches!(outcome, Outcome::Miss | Outcome::Fallback));
        metrics::counter!("halftone_cache_requests_total", "result" => outcome.label())
            .increment(1);
        if req.method() == actix_web::http::Method::GET {
            entry.lane.get_or_init(|| {
                let feed = req.extensions().contains::<crate::metrics::FeedFetch>();
                crate::metrics::RouteMetrics::new(req.match_pattern(), feed)
            });
        }
        Ok(entry.respond(req.headers(), &self.cache_control, outcome.label()))
    }

    /// Serves a stale entry and, if nobody is doing it yet, refreshes it in
    /// the background on this worker. `probe` marks the breaker's one probe.
    fn refresh_in_background<F, Fut>(self: &Arc<Self>, key: String, render: F, probe: bool)
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<Rendered, AppError>> + 'static,
    {
        let flight = self
            .flights
            .get_with(key.clone(), || Arc::new(tokio::sync::Mutex::new(())));
        let Ok(guard) = flight.clone().try_lock_owned() else {
            if probe {
                self.breaker.probing.store(false, Ordering::Release);
            }
            return;
        };
        let cache = self.clone();
        actix_web::rt::spawn(async move {
            let _guard = guard;
            let generation = cache.generation.load(Ordering::Acquire);
            let started = entry::now_ms();
            let outcome = render().await;
            match outcome {
                Ok(rendered) => {
                    cache.breaker.close();
                    cache.store(&key, rendered, generation, started).await;
                }
                Err(error) => {
                    cache.record_failure(&key, &error);
                    tracing::warn!(%key, %error, "background refresh failed; serving the last good copy")
                }
            }
            if probe {
                cache.breaker.probing.store(false, Ordering::Release);
            }
        });
    }

    /// Remembers a failed render: the key's waiters share it, and an
    /// unavailable database opens the breaker.
    fn record_failure(&self, key: &str, error: &AppError) {
        match error {
            AppError::Unavailable(_) => {
                self.failures.insert(key.to_owned(), entry::now_ms());
                self.breaker.trip();
            }
            AppError::Internal(_) => {
                self.failures.insert(key.to_owned(), entry::now_ms());
            }
            _ => {}
        }
    }

    async fn get<F, Fut>(
        self: &Arc<Self>,
        key: String,
        render: F,
    ) -> Result<(Arc<Entry>, Outcome), AppError>
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<Rendered, AppError>> + 'static,
    {
        let generation = self.generation.load(Ordering::Acquire);
        if self.missing.get(&key).is_some_and(|(g, _)| g == generation) {
            metrics::counter!("halftone_cache_requests_total", "result" => "missing").increment(1);
            return Err(AppError::NotFound);
        }
        let mut fallback = None;
        if let Some(entry) = self.local.get(&key) {
            if entry.generation == generation {
                let age = entry.age_ms();
                if age < self.ttl_ms() {
                    return Ok((entry, Outcome::Hit));
                }
                if age < self.ttl_ms() + self.config.stale_while_revalidate_ms as i64 {
                    self.refresh_in_background(key, render, false);
                    return Ok((entry, Outcome::Stale));
                }
            }
            // The database is known to be down (or this page's last render
            // failed a moment ago): the last good copy now, a retry behind it.
            let failed_lately = self
                .failures
                .get(&key)
                .is_some_and(|at| entry::now_ms() - at < Breaker::FIRST_BACKOFF_MS);
            if self.breaker.is_open() {
                let probe = self.breaker.try_probe();
                if probe {
                    self.refresh_in_background(key, render, true);
                }
                return Ok((entry, Outcome::Fallback));
            }
            if failed_lately {
                self.refresh_in_background(key, render, false);
                return Ok((entry, Outcome::Fallback));
            }
            fallback = Some(entry);
        }

        let flight = self
            .flights
            .get_with(key.clone(), || Arc::new(tokio::sync::Mutex::new(())));
        let waited = flight.try_lock().is_err();
        let waiting_since = entry::now_ms();
        let _guard = flight.lock().await;
        if waited
            && self
                .failures
                .get(&key)
                .is_some_and(|failed_at| failed_at >= waiting_since)
        {
            return match fallback {
                Some(entry) => Ok((entry, Outcome::Fallback)),
                None => Err(AppError::Unavailable(
                    "the render this request waited for failed".into(),
                )),
            };
        }
        // Someone else may have filled it (or found it missing) while we waited.
        let generation = self.generation.load(Ordering::Acquire);
        if waited && self.missing.get(&key).is_some_and(|(g, _)| g == generation) {
            return Err(AppError::NotFound);
        }
        if let Some(entry) = self.local.get(&key) {
            if entry.generation == generation && entry.age_ms() < self.ttl_ms() {
                return Ok((
                    entry,
                    if waited {
                        Outcome::Coalesced
                    } else {
                        Outcome::Hit
                    },
                ));
            }
        }
        if let Some(shared) = &self.shared {
            let shared_key = shared.page_key(self.shared_generation.load(Ordering::Acquire), &key);
            if let Some(bytes) = shared.get(&shared_key).await {
                if let Some(entry) = Entry::from_bytes(&bytes, generation) {
                    if entry.age_ms() < self.ttl_ms() {
                        let entry = Arc::new(entry);
                        self.local.insert(key, entry.clone());
                        return Ok((entry, Outcome::SharedHit));
                    }
                }
            }
        }
        let started = std::time::Instant::now();
        let started_ms = entry::now_ms();
        match render().await {
            Ok(rendered) => {
                metrics::histogram!("halftone_render_seconds")
                    .record(started.elapsed().as_secs_f64());
                self.breaker.close();
                let entry = self.store(&key, rendered, generation, started_ms).await;
                Ok((entry, Outcome::Miss))
            }
            Err(error @ (AppError::Unavailable(_) | AppError::Internal(_))) => {
                self.record_failure(&key, &error);
                match fallback {
                    Some(entry) if entry.age_ms() < (self.config.keep_stale_secs as i64) * 1000 => {
                        tracing::warn!(%key, %error, "render failed; serving the last good copy");
                        Ok((entry, Outcome::Fallback))
                    }
                    _ => Err(error),
                }
            }
            Err(AppError::NotFound) => {
                if self.dropped.get(&key).is_none_or(|at| at < started_ms) {
                    self.missing.insert(key, (generation, entry::now_ms()));
                }
                Err(AppError::NotFound)
            }
            Err(error) => Err(error),
        }
    }

    async fn store(
        &self,
        key: &str,
        rendered: Rendered,
        generation: u64,
        started_ms: i64,
    ) -> Arc<Entry> {
        metrics::counter!("halftone_renders_total").increment(1);
        self.renders.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry::new(rendered, generation));
        // A page rendered before a content change (of the site, or of this
        // page alone) must not be stored as current.
        let dropped_since = self.dropped.get(key).is_some_and(|at| at >= started_ms);
        if generation == self.generation.load(Ordering::Acquire) && !dropped_since {
            self.local.insert(key.to_owned(), entry.clone());
            if let Some(shared) = &self.shared {
                let shared_key =
                    shared.page_key(self.shared_generation.load(Ordering::Acquire), key);
                shared
                    .set(
                        &shared_key,
                        entry.to_bytes(),
                        self.config.keep_stale_secs.min(3600),
                    )
                    .await;
            }
        }
        entry
    }
}

impl PageCache {
    /// This node's content generation (changes whenever content changes).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// A small value derived from the database (the site's settings, series
/// and menu), reloaded when the content generation moves on or after the
/// page TTL, whichever comes first. Every reader page needs it; it changes
/// only when the author saves settings.
pub struct Memo<T> {
    slot: std::sync::Mutex<Option<(u64, i64, Arc<T>)>>,
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Self {
            slot: std::sync::Mutex::new(None),
        }
    }
}

impl<T> Memo<T> {
    /// The last value loaded, however old (error pages use it: they must
    /// render without the database).
    pub fn peek(&self) -> Option<Arc<T>> {
        self.slot
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|(_, _, value)| value.clone()))
    }

    pub async fn get_or_load<E, Fut>(
        &self,
        cache: &PageCache,
        load: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>, E>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let generation = cache.generation();
        let now = entry::now_ms();
        if let Ok(slot) = self.slot.lock() {
            if let Some((g, at, value)) = slot.as_ref() {
                if *g == generation && now - at < cache.ttl_ms() {
                    return Ok(value.clone());
                }
            }
        }
        let value = Arc::new(load().await?);
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((generation, now, value.clone()));
        }
        Ok(value)
    }
}

/// A larger value derived from the database (the comic's catalog), kept
/// like `Memo` but loaded once however many requests want it, and refreshed
/// ahead of time: after a content change (a new generation), or once half
/// the page TTL has passed, the first request loads it while the others wait
/// for that one load; from a quarter of the TTL (a change made outside the
/// server, or on another node while Redis is down, reaches it only this way)
/// the value is served while one background load replaces it.
pub struct Snapshot<T> {
    slot: std::sync::Mutex<Option<(u64, i64, Arc<T>)>>,
    loading: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Self {
            slot: std::sync::Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
        }
    }
}

/// What a `Snapshot` holds for the current generation.
pub enum Held<T> {
    Fresh(Arc<T>),
    /// Current generation, due for a background refresh.
    Stale(Arc<T>),
    /// Nothing, of an older generation, or too old to use.
    Missing,
}

impl<T> Snapshot<T> {
    pub fn held(&self, cache: &PageCache) -> Held<T> {
        let generation = cache.generation();
        let Ok(slot) = self.slot.lock() else {
            return Held::Missing;
        };
        match slot.as_ref() {
            // A page rendered from it is kept for the page TTL, so the value
            // itself may lag by half of it at most: refreshed in the background
            // from a quarter, loaded before use from a half.
            Some((g, at, value)) if *g == generation => match entry::now_ms() - at {
                age if age < cache.ttl_ms() / 4 => Held::Fresh(value.clone()),
                age if age < cache.ttl_ms() / 2 => Held::Stale(value.clone()),
                _ => Held::Missing,
            },
            _ => Held::Missing,
        }
    }

    /// Stores a value loaded under `generation` (read before loading: a
    /// change during the load leaves it out of date, and it is loaded again).
    pub fn store(&self, generation: u64, value: Arc<T>) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((generation, entry::now_ms(), value));
        }
    }

    /// One load at a time on this node.
    pub async fn lock_load(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.loading.lock().await
    }

    /// Claims the one background refresh (false: one is running).
    pub fn begin_refresh(&self) -> bool {
        !self.refreshing.swap(true, Ordering::AcqRel)
    }

    pub fn end_refresh(&self) {
        self.refreshing.store(false, Ordering::Release);
    }
}
