//! Logging set-up and the per-request database query counter.
//!
//! Logs are human-readable by default and JSON when `log_format = "json"`;
//! the level comes from `HALFTONE_LOG` (or `RUST_LOG`), default `info`.
//! Every line logged inside a request carries that request's `request_id`
//! because it is a field of the root span opened by `tracing-actix-web`.
//!
//! Query counting listens to the events sqlx emits for every statement it
//! runs (target `sqlx::query`) and adds them up on the request's root span.
//! Nothing has to remember to count, so the number cannot drift from the
//! truth — that is what the "no N+1" tests rely on.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Once;

use tracing::Subscriber;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::LogFormat;

/// Statements run since start, for `/metrics`.
pub static DB_QUERIES_TOTAL: AtomicU64 = AtomicU64::new(0);

static INIT: Once = Once::new();

/// Installs the global subscriber once; later calls are no-ops (tests call it per app).
pub fn init(format: LogFormat) {
    INIT.call_once(|| {
        let filter = std::env::var("HALFTONE_LOG")
            .or_else(|_| std::env::var("RUST_LOG"))
            .unwrap_or_else(|_| "info".to_owned());
        let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
        let fmt = match format {
            LogFormat::Pretty => tracing_subscriber::fmt::layer().with_target(false).boxed(),
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .boxed(),
        };
        let counter =
            QueryCounter.with_filter(Targets::new().with_target("sqlx::query", tracing::Level::TRACE));
        let _ = tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .with(counter)
            .try_init();
    });
}

/// The number of statements counted on a root span so far.
struct QueryCount(AtomicU32);

struct QueryCounter;

impl<S> Layer<S> for QueryCounter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        DB_QUERIES_TOTAL.fetch_add(1, Ordering::Relaxed);
        let Some(root) = ctx.event_scope(event).and_then(|scope| scope.from_root().next()) else {
            return;
        };
        let mut extensions = root.extensions_mut();
        match extensions.get_mut::<QueryCount>() {
            Some(count) => {
                count.0.fetch_add(1, Ordering::Relaxed);
            }
            None => extensions.insert(QueryCount(AtomicU32::new(1))),
        }
    }
}

/// Statements run so far under the current span's root (the HTTP request).
pub fn queries_in_current_request() -> u32 {
    let span = tracing::Span::current();
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let span = registry.span(id)?;
        let root = span.scope().from_root().next()?;
        let count = root.extensions().get::<QueryCount>().map(|c| c.0.load(Ordering::Relaxed));
        Some(count.unwrap_or(0))
    })
    .flatten()
    .unwrap_or(0)
}
