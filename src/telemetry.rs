//! Logging set-up and the per-request database query counter. (The request
//! middleware that opens the counter and the span is in `http`.)
//!
//! Logs are human-readable by default and JSON when `log_format = "json"`;
//! the level comes from `HALFTONE_LOG` (or `RUST_LOG`), default `info`.
//! Every line logged inside a request carries that request's `request_id`
//! because it is a field of the request span opened by `request_context`.
//! (A small span of our own rather than tracing-actix-web's: its dozen
//! fields and UUID per request cost a quarter of a cached page's time.)
//!
//! Database statements are counted by the `&Db` executor (`db::executor`):
//! globally for `/metrics`, and per request through a task-local counter that
//! the request middleware opens (`count_queries_in`).

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::LogFormat;

/// Statements run since start, for `/metrics`.
pub static DB_QUERIES_TOTAL: AtomicU64 = AtomicU64::new(0);

static INIT: Once = Once::new();

/// Keeps the log file writer's background thread alive (and flushes it).
static FILE_GUARD: std::sync::OnceLock<tracing_appender::non_blocking::WorkerGuard> =
    std::sync::OnceLock::new();

/// Installs the global subscriber once; later calls are no-ops. With
/// `log.dir`, lines also go to `halftone.YYYY-MM-DD.log` there (JSON, one
/// file a day, `log.keep_days` kept).
pub fn init(format: LogFormat, files: &crate::config::LogConfig) {
    install(format, "info", false, files);
}

/// For tests: output goes through the test harness (shown only for failing
/// tests) and defaults to warnings.
pub fn init_for_tests() {
    install(
        LogFormat::Pretty,
        "warn",
        true,
        &crate::config::LogConfig::default(),
    );
}

fn install(
    format: LogFormat,
    default_level: &str,
    test_writer: bool,
    files: &crate::config::LogConfig,
) {
    INIT.call_once(|| {
        let filter = std::env::var("HALFTONE_LOG")
            .or_else(|_| std::env::var("RUST_LOG"))
            // Tantivy narrates every commit at INFO ("save metas", "Preparing
            // commit"…): the operator's log is about Halftone.
            .unwrap_or_else(|_| format!("{default_level},tantivy=warn"));
        let filter_text = filter;
        let filter = EnvFilter::try_new(&filter_text).unwrap_or_else(|_| EnvFilter::new("info"));
        let fmt = match format {
            LogFormat::Pretty if test_writer => tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_test_writer()
                .boxed(),
            LogFormat::Pretty => tracing_subscriber::fmt::layer().with_target(false).boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .boxed(),
        };
        let file = files.dir.as_ref().and_then(|dir| {
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("halftone")
                .filename_suffix("log")
                .max_log_files(files.keep_days.max(1))
                .build(dir);
            match appender {
                Ok(appender) => {
                    let (writer, guard) = tracing_appender::non_blocking(appender);
                    let _ = FILE_GUARD.set(guard);
                    Some(
                        tracing_subscriber::fmt::layer()
                            .json()
                            .with_current_span(true)
                            .with_span_list(false)
                            .with_writer(writer)
                            .with_filter(
                                EnvFilter::try_new(&filter_text)
                                    .unwrap_or_else(|_| EnvFilter::new("info")),
                            ),
                    )
                }
                Err(e) => {
                    eprintln!("halftone: cannot write log files in {}: {e}", dir.display());
                    None
                }
            }
        });
        let _ = tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .with(file)
            .with(
                crate::cluster::errors::Recorder
                    .with_filter(tracing::level_filters::LevelFilter::ERROR),
            )
            .try_init();
    });
}

tokio::task_local! {
    static REQUEST_QUERIES: Cell<u32>;
}

/// Runs `future` with a fresh per-request query counter and returns its
/// output with the number of statements it ran.
pub async fn count_queries_in<F: Future>(future: F) -> (F::Output, u32) {
    REQUEST_QUERIES
        .scope(Cell::new(0), async move {
            let output = future.await;
            (output, REQUEST_QUERIES.with(Cell::get))
        })
        .await
}

/// Called by the executor for every statement.
pub fn count_query() {
    DB_QUERIES_TOTAL.fetch_add(1, Ordering::Relaxed);
    let _ = REQUEST_QUERIES.try_with(|count| count.set(count.get() + 1));
}

/// The id of one request, on its log lines and in `X-Request-Id`.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub u64);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
