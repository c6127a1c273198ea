//! Halftone's analytics service. See `analytics/README.md` for what it
//! promises and ARCHITECTURE.md ("Analytics") for how the parts fit.
//!
//! A hit flows: HTTP handler (`web`) → classification in memory (`hit`,
//! `salt`) → the durable spool (`spool`, fsync'd before the answer) →
//! the flusher (`flusher`) reads it back, folds a batch (`aggregate`) and
//! commits it with its spool position (`store`) → figures (`report`,
//! `dashboard`).

pub mod aggregate;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod dialect;
pub mod flusher;
pub mod hit;
pub mod ledger;
pub mod realtime;
pub mod report;
pub mod salt;
pub mod spool;
pub mod store;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web as aweb, App, HttpServer};
use anyhow::Context;

pub use config::Config;

/// Runs the service until SIGTERM / SIGINT, then stops taking hits, waits
/// for the spool writer to finish and flushes what it can to the database.
pub async fn run(config: Config) -> anyhow::Result<()> {
    config.validate()?;
    let listener = std::net::TcpListener::bind(&config.bind)
        .with_context(|| format!("cannot listen on HALFTONE_ANALYTICS_BIND={}", config.bind))?;
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    serve_with(config, listener, prometheus).await
}

/// Like [`run`], on a listener bound by the caller (tests embed the service
/// this way, on port 0).
///
/// Embedded in another program, the service leaves the global metrics
/// recorder to its host: its `/metrics` then shows only the ledger it sets.
pub async fn serve(config: Config, listener: std::net::TcpListener) -> anyhow::Result<()> {
    let private = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    serve_with(config, listener, private).await
}

async fn serve_with(
    config: Config,
    listener: std::net::TcpListener,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
) -> anyhow::Result<()> {
    config.validate()?;
    let now = chrono::Utc::now().timestamp();
    let ledger = Arc::new(ledger::Ledger::default());
    let realtime = Arc::new(realtime::Realtime::default());
    let (spool, writer) = spool::Spool::open(
        spool::SpoolOptions {
            dir: config.spool_dir.clone(),
            fsync_interval: config.fsync_interval(),
            segment_bytes: config.segment_bytes,
        },
        ledger.clone(),
        realtime.clone(),
    )?;
    let salts = salt::Salts::open(&config.spool_dir, &config.site, now)?;
    let store = store::Store::new(&config.database_url, config.max_connections)?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let flusher = tokio::spawn(
        flusher::Flusher {
            store: store.clone(),
            shared: spool.shared.clone(),
            interval: config.flush_interval(),
            dedupe_window: Duration::from_secs(config.dedupe_secs),
        }
        .run(stopped),
    );

    let address = listener.local_addr()?;
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let state = aweb::Data::new(web::State {
        limiter: web::State::limiter(config.rate_limit),
        proxies: config.proxies()?,
        metrics_allowed: config.metrics_allowed()?,
        sessions: auth::Sessions::default(),
        config,
        spool,
        salts,
        store: store.clone(),
        realtime,
        ledger,
        prometheus,
    });
    // Forget idle addresses in the rate limiter so it stays small.
    let pruning = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Some(limiter) = &state.limiter {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        })
    };
    let server = {
        let state = state.clone();
        HttpServer::new(move || App::new().app_data(state.clone()).configure(web::routes))
            .workers(workers)
            .backlog(4096)
            .shutdown_timeout(5)
            .listen(listener)?
            .run()
    };
    tracing::info!(%address, "analytics listening");
    // Tests and scripts read the chosen address from this line.
    println!("listening on {address}");
    server.await?;

    pruning.abort();
    drop(state);
    // Every acknowledged hit is already on disk; this only lets the writer
    // finish cleanly (it ends when the last handle is gone).
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    let _ = stop.send(true);
    let _ = flusher.await;
    store.close().await;
    tracing::info!("analytics stopped");
    Ok(())
}

/// Logs to stderr (stdout carries the listening line), text or JSON.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = std::env::var("HALFTONE_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let layer = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(std::io::stderr)
            .boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
