//! Moves spooled hits into the database, in batches, exactly once.
//!
//! The flusher reads durable records back from the spool after the database's
//! applied mark, folds them into counter increments, and commits those with
//! the new mark in one transaction. If the database is down it waits and
//! retries (the spool keeps growing; nothing is lost); after a crash the same
//! loop picks up from the mark it finds in the database.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::aggregate::Aggregate;
use crate::spool::{self, Shared};
use crate::store::{CommitError, Store};

/// Records per database transaction.
const BATCH: usize = 50_000;

pub struct Flusher {
    pub store: Store,
    pub shared: Arc<Shared>,
    pub interval: Duration,
    pub dedupe_window: Duration,
}

impl Flusher {
    /// Runs until `stop` turns true, then makes one last attempt to write
    /// everything durable (best effort: what it cannot write stays spooled).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut applied: Option<u64> = None;
        let mut failing = false;
        let mut backoff = self.interval;
        loop {
            let stopping = *stop.borrow();
            match self.step(&mut applied).await {
                Ok(more) => {
                    if failing {
                        tracing::info!("the analytics database is back; writing the spool");
                        failing = false;
                    }
                    self.shared.ledger.database_up.store(1, Ordering::Relaxed);
                    backoff = self.interval;
                    if more {
                        continue;
                    }
                }
                Err(error) => {
                    self.shared.ledger.database_up.store(0, Ordering::Relaxed);
                    if !failing {
                        tracing::warn!(%error, "cannot write to the analytics database; hits stay in the spool until it is back");
                        failing = true;
                    }
                    if stopping {
                        break;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            if stopping {
                break;
            }
            let wait = if failing { backoff } else { self.interval };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!(applied = applied.unwrap_or(0), "flusher stopped");
    }

    /// One batch. Ok(true) when more is waiting.
    async fn step(&self, applied: &mut Option<u64>) -> anyhow::Result<bool> {
        let spool_id = self.shared.id;
        let from = match *applied {
            Some(seq) => seq,
            None => {
                self.store.migrate().await?;
                let seq = self.store.applied_seq(spool_id).await?;
                tracing::info!(spool = spool_id, applied = seq, "analytics database ready");
                self.shared.reconcile(seq);
                *applied = Some(seq);
                seq
            }
        };
        let durable = self.shared.durable_seq.load(Ordering::Acquire);
        self.shared
            .ledger
            .applied_seq
            .store(from, Ordering::Relaxed);
        if durable <= from {
            spool::clean(&self.shared, from, self.dedupe_window);
            return Ok(false);
        }
        let shared = self.shared.clone();
        let records =
            tokio::task::spawn_blocking(move || spool::read_range(&shared, from, durable, BATCH))
                .await??;
        let mut batch = Aggregate::default();
        for record in &records {
            batch.add(record);
        }
        if records.len() < BATCH {
            // Everything readable up to `durable` is in this batch: the
            // sequence numbers with no readable record are damage, counted.
            batch.upto = durable;
        }
        let lost = (batch.upto - from).saturating_sub(batch.records);
        if lost > 0 {
            tracing::error!(
                from,
                upto = batch.upto,
                lost,
                "spooled records unreadable (damaged or removed); the records around them are counted"
            );
        }
        match self.store.commit(spool_id, &batch, from).await {
            Ok(()) => {
                *applied = Some(batch.upto);
                let ledger = &self.shared.ledger;
                ledger.committed.fetch_add(batch.records, Ordering::Relaxed);
                ledger.damaged.fetch_add(lost, Ordering::Relaxed);
                ledger.applied_seq.store(batch.upto, Ordering::Relaxed);
                spool::clean(&self.shared, batch.upto, self.dedupe_window);
                Ok(batch.upto < durable)
            }
            Err(CommitError::Moved(actual)) => {
                // A commit whose answer was lost did land (the spool
                // directory is locked and its row is its own, so nobody
                // else moves this mark): carry on from there.
                if actual > durable {
                    tracing::error!(
                        expected = from,
                        actual,
                        durable,
                        "the database's mark for this spool is past everything spooled; another process writes under this spool's id"
                    );
                } else {
                    tracing::warn!(
                        expected = from,
                        actual,
                        "applied mark moved; resuming from the database's"
                    );
                }
                self.shared.reconcile(actual);
                *applied = Some(actual);
                Ok(true)
            }
            Err(CommitError::Db(error)) => Err(error.into()),
        }
    }
}
