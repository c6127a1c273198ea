//! Beacon ids seen recently, so a retried beacon is counted once.
//!
//! Ids are kept in two generations that turn over by *time*, not by count:
//! the tracker retries for about 13 s (1 + 3 + 9 s), so an id must be
//! remembered at least that long however fast hits arrive. A generation turns
//! over after `HOLD`, so every id is remembered between `HOLD` and `2 × HOLD`.
//! Memory is still bounded: past `CAP` ids a generation turns over early, and
//! that is counted (`early_turnovers`) and logged, because from then on a slow
//! retry might be counted twice.

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long an id is remembered at least (well past the tracker's retries).
pub const HOLD: Duration = Duration::from_secs(30);
/// Ids per generation before it turns over early: 4M ids (about 64 MiB for
/// two generations) is 133k hits/s for `HOLD`, beyond one core's ingest.
const CAP: usize = 4_000_000;

pub struct Dedupe {
    current: HashSet<u64>,
    previous: HashSet<u64>,
    started: Instant,
    hold: Duration,
    cap: usize,
    pub early_turnovers: u64,
}

impl Default for Dedupe {
    fn default() -> Self {
        Dedupe::new(HOLD, CAP)
    }
}

impl Dedupe {
    fn new(hold: Duration, cap: usize) -> Dedupe {
        Dedupe {
            current: HashSet::new(),
            previous: HashSet::new(),
            started: Instant::now(),
            hold,
            cap,
            early_turnovers: 0,
        }
    }

    pub fn contains(&self, id: u64) -> bool {
        self.current.contains(&id) || self.previous.contains(&id)
    }

    /// False when already present.
    pub fn insert(&mut self, id: u64) -> bool {
        if self.contains(id) {
            return false;
        }
        if self.started.elapsed() >= self.hold {
            self.turn_over();
        } else if self.current.len() >= self.cap {
            self.early_turnovers += 1;
            tracing::warn!(
                ids = self.current.len(),
                "beacon ids arrive faster than the dedupe memory holds them for {:?}; a slow retry may be counted twice",
                self.hold
            );
            self.turn_over();
        }
        self.current.insert(id)
    }

    fn turn_over(&mut self) {
        self.previous = std::mem::take(&mut self.current);
        self.started = Instant::now();
    }

    pub fn remove(&mut self, id: u64) {
        self.current.remove(&id);
        self.previous.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_remembered_for_the_hold_whatever_the_rate() {
        // A small cap stands for "very many hits": the count alone must not
        // forget an id before its time.
        let mut dedupe = Dedupe::new(Duration::from_secs(3600), 1_000_000);
        assert!(dedupe.insert(1));
        for id in 2..600_000 {
            dedupe.insert(id);
        }
        assert!(!dedupe.insert(1), "still remembered after 600k others");
        assert_eq!(dedupe.early_turnovers, 0);
    }

    #[test]
    fn generations_turn_over_by_time() {
        let mut dedupe = Dedupe::new(Duration::from_millis(20), CAP);
        assert!(dedupe.insert(1));
        std::thread::sleep(Duration::from_millis(25));
        assert!(
            dedupe.insert(2),
            "turns over; 1 moves to the previous generation"
        );
        assert!(!dedupe.insert(1), "one generation later it is still known");
        std::thread::sleep(Duration::from_millis(25));
        assert!(dedupe.insert(3));
        assert!(dedupe.insert(1), "forgotten after two generations");
    }

    #[test]
    fn the_cap_bounds_memory_and_is_counted() {
        let mut dedupe = Dedupe::new(Duration::from_secs(3600), 10);
        for id in 0..25 {
            dedupe.insert(id);
        }
        assert_eq!(dedupe.early_turnovers, 2);
        assert!(dedupe.current.len() + dedupe.previous.len() <= 20);
    }
}
