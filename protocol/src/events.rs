//! Server events: what the site reports to the analytics service on
//! `POST /api/events` (a JSON array), written by one side and read by the
//! other from this one definition.

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View,
    Search,
    Feed,
}

/// One event. `id` is unique per event: a retried batch is counted once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerEvent {
    pub id: String,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// The reader's user agent, when the event stands for a reader's request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ua: Option<String>,
    /// The reader's address, likewise (hashed in memory, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Search terms, for `kind = "search"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl ServerEvent {
    pub fn new(id: impl Into<String>, kind: EventKind) -> Self {
        Self {
            id: id.into(),
            kind,
            path: None,
            page: None,
            referrer: None,
            width: None,
            ua: None,
            ip: None,
            query: None,
        }
    }
}
