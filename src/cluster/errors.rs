//! The last errors this node logged, for the System page: a `tracing` layer
//! that keeps the newest few ERROR events in memory (the log files and
//! stdout keep them all).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

const KEEP: usize = 20;

static LAST: Mutex<VecDeque<LoggedError>> = Mutex::new(VecDeque::new());

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoggedError {
    /// Unix seconds.
    pub at: i64,
    pub message: String,
}

/// The newest errors, newest first.
pub fn recent() -> Vec<LoggedError> {
    LAST.lock()
        .map(|last| last.iter().rev().cloned().collect())
        .unwrap_or_default()
}

pub struct Recorder;

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let mut message = text.message + &text.fields;
        if message.len() > 500 {
            let mut cut = 500;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        if let Ok(mut last) = LAST.lock() {
            if last.len() == KEEP {
                last.pop_front();
            }
            last.push_back(LoggedError {
                at: chrono::Utc::now().timestamp(),
                message,
            });
        }
    }
}

/// `message field=value …`, as the log line reads.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}
