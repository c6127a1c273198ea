//! The open account of every hit: received, spooled, committed, and dropped
//! by reason. The dashboard and `/metrics` read the same numbers.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

pub struct Ledger {
    /// Requests that reached the beacon or events endpoints.
    pub received: AtomicU64,
    /// Hits on local disk (acknowledged).
    pub spooled: AtomicU64,
    /// Hits written to the database.
    pub committed: AtomicU64,
    /// Retried beacons recognised and not counted again.
    pub duplicates: AtomicU64,
    /// Readers who asked not to be counted (DNT / Sec-GPC).
    pub opted_out: AtomicU64,
    pub dropped_invalid: AtomicU64,
    pub dropped_too_large: AtomicU64,
    pub dropped_rate_limit: AtomicU64,
    pub dropped_disk: AtomicU64,
    /// Acknowledged records found unreadable on disk (damaged), skipped.
    pub damaged: AtomicU64,
    /// Highest spool sequence on disk, and highest applied to the
    /// database (u64::MAX until the database has been reached).
    pub durable_seq: AtomicU64,
    pub applied_seq: AtomicU64,
    /// 1 while the database accepts writes.
    pub database_up: AtomicU64,
}

#[derive(Debug, Serialize, serde::Deserialize, Clone, Copy, PartialEq, Eq)]
pub struct LedgerSnapshot {
    pub received: u64,
    pub spooled: u64,
    pub committed: u64,
    pub duplicates: u64,
    pub opted_out: u64,
    pub dropped_invalid: u64,
    pub dropped_too_large: u64,
    pub dropped_rate_limit: u64,
    pub dropped_disk: u64,
    #[serde(default)]
    pub damaged: u64,
    pub lag: u64,
    pub database_up: bool,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            received: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            opted_out: AtomicU64::new(0),
            dropped_invalid: AtomicU64::new(0),
            dropped_too_large: AtomicU64::new(0),
            dropped_rate_limit: AtomicU64::new(0),
            dropped_disk: AtomicU64::new(0),
            damaged: AtomicU64::new(0),
            durable_seq: AtomicU64::new(0),
            applied_seq: AtomicU64::new(u64::MAX),
            database_up: AtomicU64::new(0),
        }
    }
}

impl Ledger {
    pub fn snapshot(&self) -> LedgerSnapshot {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        LedgerSnapshot {
            received: get(&self.received),
            spooled: get(&self.spooled),
            committed: get(&self.committed),
            duplicates: get(&self.duplicates),
            opted_out: get(&self.opted_out),
            dropped_invalid: get(&self.dropped_invalid),
            dropped_too_large: get(&self.dropped_too_large),
            dropped_rate_limit: get(&self.dropped_rate_limit),
            dropped_disk: get(&self.dropped_disk),
            damaged: get(&self.damaged),
            lag: self.lag(),
            database_up: get(&self.database_up) == 1,
        }
    }

    /// Spooled but not yet in the database (records); everything spooled
    /// while the database has not been reached yet.
    pub fn lag(&self) -> u64 {
        let durable = self.durable_seq.load(Ordering::Relaxed);
        match self.applied_seq.load(Ordering::Relaxed) {
            u64::MAX => durable,
            applied => durable.saturating_sub(applied),
        }
    }

    /// Publishes the ledger to the Prometheus recorder (called on scrape).
    pub fn export(&self, spool_bytes: u64) {
        let s = self.snapshot();
        metrics::counter!("analytics_hits_received_total").absolute(s.received);
        metrics::counter!("analytics_hits_spooled_total").absolute(s.spooled);
        metrics::counter!("analytics_hits_committed_total").absolute(s.committed);
        metrics::counter!("analytics_hits_duplicate_total").absolute(s.duplicates);
        metrics::counter!("analytics_hits_opted_out_total").absolute(s.opted_out);
        for (reason, n) in [
            ("invalid", s.dropped_invalid),
            ("too_large", s.dropped_too_large),
            ("rate_limit", s.dropped_rate_limit),
            ("disk", s.dropped_disk),
            ("damaged", s.damaged),
        ] {
            metrics::counter!("analytics_hits_dropped_total", "reason" => reason).absolute(n);
        }
        metrics::gauge!("analytics_spool_lag_records").set(s.lag as f64);
        metrics::gauge!("analytics_spool_bytes").set(spool_bytes as f64);
        metrics::gauge!("analytics_database_up").set(if s.database_up { 1.0 } else { 0.0 });
    }
}
