//! Wires configuration, database, templates and routes into a running server.
//! `Application::build` is what `halftone serve` and the tests both start.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Compress, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::auth::ratelimit::LoginLimiter;
use crate::cache::PageCache;
use crate::config::Config;
use crate::db::Db;
use crate::email::Mailer;
use crate::events::Events;
use crate::render::{Assets, Templates};
use crate::{admin, health, media, reader};

/// What work outside a request needs — background workers take this, not
/// `AppState` (the web layer's state, which derefs to it for handlers).
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub templates: Arc<Templates>,
    pub assets: Assets,
    pub mailer: Mailer,
    /// Fan-out within this node and, with Redis, to the others.
    pub events: Events,
    /// Finished reader pages (see `cache`).
    pub cache: Arc<PageCache>,
    /// This node's backup, when one runs (see `backup`).
    pub backups: Arc<crate::backup::Progress>,
    /// Held while serving: a restore of this data folder waits for it.
    pub site_lock: Arc<SiteLock>,
    /// True once this node is shutting down: `/readyz` says "draining" and
    /// editor websockets close with "reconnect" (to another node).
    pub draining: tokio::sync::watch::Receiver<bool>,
    /// Where media files live (this machine, or a bucket all nodes share).
    pub media: crate::media::store::MediaStore,
    /// This node, as the `nodes` table and its leases name it.
    pub node: crate::cluster::NodeId,
    /// The comic on the fediverse: peers, our key, the sender's signals.
    pub fediverse: Arc<crate::fediverse::Fediverse>,
}

/// A lock on the data folder: shared by running servers, exclusive for a
/// restore, so a restore never swaps a database under a running site.
#[derive(Debug)]
pub struct SiteLock(#[allow(dead_code)] std::fs::File);

impl SiteLock {
    fn open(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let path = data_dir.join("halftone.lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))
    }

    pub fn shared(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let file = Self::open(data_dir)?;
        file.try_lock_shared().map_err(|_| {
            anyhow::anyhow!(
                "a restore is running on {}: wait for it",
                data_dir.display()
            )
        })?;
        Ok(Self(file))
    }

    pub fn exclusive(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        let file = Self::open(data_dir)?;
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "the site is running on {} (or another restore is): stop it first",
                data_dir.display()
            )
        })?;
        Ok(Self(file))
    }
}

impl Services {
    /// Something readers can see changed (a page, a chapter, a setting).
    /// Tells every node; caches listen to this topic.
    pub async fn content_changed(&self) {
        let generation = self.cache.invalidate_all().await;
        self.events
            .publish("content", serde_json::json!({ "generation": generation }))
            .await;
    }

    /// Something on one page changed that no list shows (its comments):
    /// only that page's cached entries are dropped, on every node.
    pub async fn page_changed(&self, page: crate::comics::PageId) {
        let keys = match self.page_cache_keys(page).await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::warn!(%error, "cannot tell which pages to drop; dropping all");
                return self.content_changed().await;
            }
        };
        self.cache.invalidate_keys(&keys).await;
        self.events
            .publish("cache-keys", serde_json::json!({ "keys": keys }))
            .await;
    }

    /// Every path a page's content is cached under: its permalink, its
    /// series' home (which shows the latest page) and its comments.
    async fn page_cache_keys(
        &self,
        page: crate::comics::PageId,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut keys = vec![format!("/comments/{}", page.0)];
        let Some((series, slug)) = crate::comments::page_place(&self.db, page).await? else {
            return Ok(keys);
        };
        let site = crate::site::SiteData::load(&self.db, &self.assets).await?;
        let urls = site.urls(self.config.base_url());
        let series = crate::comics::SeriesId(series);
        let home = urls.home(series);
        keys.push(urls.comic(series, &slug));
        keys.push(format!("{}/", home.trim_end_matches('/')));
        keys.push(home);
        keys.dedup();
        Ok(keys)
    }
}

/// Everything handlers share. Cheap to clone through `web::Data`.
pub struct AppState {
    pub services: Services,
    /// The reverse proxies whose forwarded headers are believed.
    pub proxies: halftone_protocol::net::TrustedProxies,
    /// Who may read `/metrics` without the token.
    pub metrics_allowed: halftone_protocol::net::TrustedProxies,
    pub login_limiter: LoginLimiter,
    /// Comments (and transcripts) per network (see `comments::policy`).
    pub comment_limiter: crate::comments::policy::Limiter,
    /// Activities posted to our inboxes per network (see `[fediverse]`).
    pub inbox_limiter: crate::net::NetworkLimit,
    /// Open editor websockets per session (capped).
    pub editor_sockets: crate::admin::ws::Sockets,
    /// Settings, series and menu, shared by every page.
    pub site_data: crate::cache::Memo<crate::reader::site::SiteData>,
    /// Every published page in memory (`comics::catalog`; see `reader::site::catalog`).
    pub catalog: crate::cache::Snapshot<crate::comics::catalog::Catalog>,
    /// Server-side events for the analytics service (never blocks).
    pub analytics: crate::analytics::Reporter,
    /// The full-text index of published pages (see `search`).
    pub search: Arc<crate::search::Search>,
    /// Subscribers and the background sender (see `newsletter`).
    pub newsletter: Arc<crate::newsletter::Newsletter>,
    /// Old addresses that redirect (see `reader::legacy`).
    pub old_links: crate::cache::Memo<crate::reader::legacy::OldLinks>,
    /// Sets `Services::draining`.
    drain: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Starts this node's shutdown: unready for the balancer, editors told
    /// to reconnect elsewhere. Requests keep being served until stopped.
    pub fn begin_draining(&self) {
        if !self.drain.send_replace(true) {
            tracing::info!("draining: /readyz answers 503, editor websockets reconnect elsewhere");
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    /// The client's address: the peer, or behind our trusted proxies the
    /// address the outermost of them saw.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> std::net::IpAddr {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        self.proxies
            .client_ip(req.peer_addr().map(|a| a.ip()), forwarded)
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
    }

    /// The origin readers use (`public_url`'s scheme, host and port), and
    /// the one this request arrived on: its own `Host` over plain HTTP, or
    /// behind a trusted proxy the forwarded scheme and host.
    pub fn request_origins(&self, req: &actix_web::HttpRequest) -> [String; 2] {
        let public = self.config.public_url.origin().ascii_serialization();
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
        };
        let via_proxy = req
            .peer_addr()
            .is_some_and(|a| self.proxies.is_trusted(a.ip()));
        let (scheme, host) = if via_proxy {
            (
                header("x-forwarded-proto").unwrap_or_else(|| "http".to_owned()),
                header("x-forwarded-host").or_else(|| header("host")),
            )
        } else {
            ("http".to_owned(), header("host"))
        };
        let own = match host {
            Some(host) if !host.is_empty() => format!("{scheme}://{host}").to_ascii_lowercase(),
            _ => public.clone(),
        };
        [public, own]
    }
}

pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
}

impl Application {
    /// Connects, migrates (unless disabled), binds, and builds the server.
    /// Nothing is served until `run_until_stopped` is awaited.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = Db::connect(&config).await?;
        if config.database.migrate_on_start {
            db.migrate().await?;
        }
        Self::build_with_db(config, db).await
    }

    pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<Self> {
        let assets = Assets::load();
        let templates = Templates::load(&assets).context("cannot load templates")?;
        let media = crate::media::store::MediaStore::open(&config)?;
        if media.is_local() {
            std::fs::create_dir_all(config.media_dir())
                .with_context(|| format!("cannot create {}", config.media_dir().display()))?;
        }
        let listener = listen(config.bind)
            .with_context(|| format!("cannot listen on {} (setting `bind`)", config.bind))?;
        let port = listener.local_addr()?.port();
        crate::metrics::install();
        let mailer = Mailer::new(&config.email).context("email settings")?;
        let events = match &config.redis_url {
            Some(url) => Events::with_redis(
                secrecy::ExposeSecret::expose_secret(url),
                &config.redis_namespace,
            )
            .await
            .context("redis_url")?,
            None => Events::local(),
        };
        let cache = Arc::new(
            PageCache::new(
                config.cache.clone(),
                config.redis_url.as_ref().map(|u| {
                    (
                        secrecy::ExposeSecret::expose_secret(u),
                        config.redis_namespace.as_str(),
                    )
                }),
            )
            .await
            .context("cache settings")?,
        );
        let config_analytics = config.analytics.clone();
        let newsletter_enabled = config.newsletter.enabled && mailer.is_enabled();
        let proxies = config.proxies()?;
        let metrics_allowed = config.metrics_allowed()?;
        let site_lock = Arc::new(SiteLock::shared(&config.data_dir)?);
        let (drain, draining) = tokio::sync::watch::channel(false);
        let config_for_node = config.clone();
        let services = Services {
            config: Arc::new(config),
            db,
            templates: Arc::new(templates),
            assets,
            mailer,
            events,
            cache,
            backups: Default::default(),
            site_lock,
            draining,
            media,
            node: crate::cluster::NodeId::new(&config_for_node, port),
            fediverse: Arc::new(crate::fediverse::Fediverse::new(&config_for_node)),
        };
        let state = web::Data::new(AppState {
            services,
            proxies,
            metrics_allowed,
            login_limiter: LoginLimiter::new(),
            comment_limiter: crate::comments::policy::Limiter::new(&config_for_node.comments),
            inbox_limiter: crate::net::NetworkLimit::new(
                config_for_node.fediverse.inbox_burst,
                std::time::Duration::from_millis(config_for_node.fediverse.inbox_every_ms.max(1)),
            ),
            editor_sockets: Default::default(),
            site_data: Default::default(),
            catalog: Default::default(),
            analytics: crate::analytics::Reporter::start(&config_analytics),
            search: Arc::new(crate::search::Search::empty().context("search index")?),
            newsletter: Arc::new(crate::newsletter::Newsletter::new(newsletter_enabled)),
            old_links: Default::default(),
            drain: Arc::new(drain),
        });
        crate::newsletter::Newsletter::start(crate::newsletter::Worker {
            services: state.services.clone(),
            newsletter: state.newsletter.clone(),
        });
        crate::search::spawn_maintainer(state.search.clone(), state.db.clone(), &state.events);
        spawn_invalidation_listener(&state);
        crate::cluster::node::spawn(state.services.clone());
        crate::backup::schedule::spawn(state.services.clone(), state.backups.clone());
        crate::fediverse::worker::spawn(state.services.clone());
        let server = run(listener, state.clone())?;
        tracing::info!(
            address = %format!("http://{}", state.config.bind.ip()),
            port,
            backend = ?state.db.backend(),
            "Halftone is serving"
        );
        // A new site is claimed by whoever can read this log, not by whoever
        // reaches the set-up page first.
        if let Some(code) = crate::auth::users::setup_code(&state.db).await? {
            tracing::warn!(
                setup = %format!("{}admin/setup", state.config.public_url),
                %code,
                "no owner account yet: open the set-up page and enter this set-up code (or run `halftone user add you@example.com`)"
            );
        }
        Ok(Self {
            server,
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone().into_inner()
    }

    /// Stops the server (tests use it to simulate a restart).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped by the handle (the tests), then lets the
    /// newsletter sender finish the mail in hand.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.state.newsletter.shutdown().await;
        self.state.fediverse.shutdown();
        served
    }

    /// `serve`: serves until SIGTERM or SIGINT, then shuts down gracefully —
    /// unready first (`shutdown_drain_ms`, so the balancer drains this node),
    /// editor websockets told to reconnect and the newsletter sender stopped
    /// (its lease given back), then no new connections while requests in
    /// flight finish (`shutdown_timeout_secs`).
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let handle = self.server.handle();
        let drain = std::time::Duration::from_millis(state.config.shutdown_drain_ms);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(drain_ms = drain.as_millis() as u64, "shutdown requested");
            state.begin_draining();
            // Singleton work moves to another node at once: the mail in hand
            // finishes and the sender's lease is given back.
            state.newsletter.shutdown().await;
            state.fediverse.shutdown();
            crate::cluster::node::stopping(&state.services).await;
            tokio::time::sleep(drain).await;
            tracing::info!("no longer accepting; finishing requests in flight");
            handle.stop(true).await;
        });
        self.run_until_stopped().await
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn num_cpus_or_one() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Drops this node's cached pages when another node changes content.
fn spawn_invalidation_listener(state: &web::Data<AppState>) {
    let mut events = state.events.subscribe();
    let cache = state.cache.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) if event.topic == "content" => {
                    cache.invalidate_from_peer(event.data["generation"].as_u64().unwrap_or(0));
                }
                Ok(event) if event.topic == "cache-keys" => {
                    let keys: Vec<String> = event.data["keys"]
                        .as_array()
                        .map(|keys| {
                            keys.iter()
                                .filter_map(|k| k.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    cache.drop_local(&keys);
                }
                Ok(_) => {}
                // Missed events: drop everything to be safe.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    cache.invalidate_from_peer(0)
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// A listening socket with a deep accept queue (a traffic spike waits in
/// the kernel instead of being refused) and `SO_REUSEADDR` (a restart can
/// take the port back at once).
fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let workers = state.config.workers;
    let shutdown_timeout = state.config.shutdown_timeout_secs;
    let server = HttpServer::new(move || {
        App::new()
            // The last `wrap` is outermost: a fresh cached page leaves by the
            // fast lane before anything else runs; then the request span
            // covers all, then headers and compression; error pages render
            // innermost.
            .wrap(ErrorHandlers::new().default_handler(reader::errors::render_error_page))
            .wrap(from_fn(reader::legacy::old_links))
            .wrap(from_fn(reader::ai::protect))
            .wrap(Compress::default())
            .wrap(crate::http::security_headers(&state.config))
            .wrap(from_fn(crate::http::request_context))
            .wrap(from_fn(crate::http::head_as_get))
            .wrap(crate::http::lane::FastLane::new(&state))
            .app_data(state.clone())
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, _| crate::error::AppError::NotFound.into()),
            )
            .route("/metrics", web::get().to(crate::metrics::scrape))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route(
                "/static/{hash}/{name:.*}",
                web::get().to(reader::assets::serve_static),
            )
            .route("/favicon.ico", web::get().to(reader::assets::favicon))
            .route("/theme.css", web::get().to(reader::assets::theme))
            .route(
                "/media/{dir}/{file}",
                web::get().to(media::routes::serve_media),
            )
            .configure(admin::routes)
            .configure(reader::routes)
            .default_service(web::to(reader::errors::not_found))
    })
    .workers(workers.unwrap_or_else(num_cpus_or_one))
    // Signals are ours (`run_until_signal`): drain first, then stop.
    .disable_signals()
    .shutdown_timeout(shutdown_timeout)
    .listen(listener)?
    .run();
    Ok(server)
}
