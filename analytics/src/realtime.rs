//! The realtime panel: visitors and page views of the last minutes, kept in
//! memory only (a restart starts it afresh; the database has the history).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::hit::{Kind, Record};

/// Minutes of history kept for the sparkline.
const MINUTES: usize = 30;
/// The "visitors right now" window.
pub const WINDOW_MINUTES: i64 = 5;

#[derive(Default)]
struct Minute {
    minute: i64,
    views: u64,
    visitors: HashSet<u64>,
    paths: HashMap<String, u64>,
    referrers: HashMap<String, u64>,
}

#[derive(Default)]
pub struct Realtime {
    minutes: Mutex<VecDeque<Minute>>,
}

#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Distinct visitors in the last five minutes.
    pub visitors: usize,
    /// Page views per minute, oldest first, ending with the current minute.
    pub per_minute: Vec<u64>,
    pub top_pages: Vec<(String, u64)>,
    pub top_referrers: Vec<(String, u64)>,
}

impl Realtime {
    pub fn record(&self, record: &Record, previous_visitor: Option<u64>) {
        if record.k != Kind::View {
            return;
        }
        let minute = record.t.div_euclid(60);
        let mut minutes = self.minutes.lock().unwrap_or_else(|p| p.into_inner());
        if minutes.back().is_none_or(|m| m.minute < minute) {
            minutes.push_back(Minute {
                minute,
                ..Minute::default()
            });
            while minutes.len() > MINUTES {
                minutes.pop_front();
            }
        }
        // Clocks only move forward here (records are stamped on arrival).
        let Some(current) = minutes.back_mut() else {
            return;
        };
        current.views += 1;
        if record.v != 0 {
            // Just after midnight a visitor's hash changes with the salt; count
            // them under yesterday's hash if they were seen under it.
            let known_as_before = previous_visitor.filter(|old| current.visitors.contains(old));
            current.visitors.insert(known_as_before.unwrap_or(record.v));
        }
        *current.paths.entry(record.path.clone()).or_default() += 1;
        if let Some(host) = &record.rh {
            *current.referrers.entry(host.clone()).or_default() += 1;
        }
    }

    pub fn snapshot(&self, now: i64) -> Snapshot {
        let this_minute = now.div_euclid(60);
        let minutes = self.minutes.lock().unwrap_or_else(|p| p.into_inner());
        let mut visitors = HashSet::new();
        let mut pages: HashMap<&str, u64> = HashMap::new();
        let mut referrers: HashMap<&str, u64> = HashMap::new();
        let mut per_minute = vec![0; MINUTES];
        for m in minutes.iter() {
            let age = this_minute - m.minute;
            if (0..MINUTES as i64).contains(&age) {
                per_minute[MINUTES - 1 - age as usize] = m.views;
            }
            if (0..WINDOW_MINUTES).contains(&age) {
                visitors.extend(m.visitors.iter().copied());
                for (path, n) in &m.paths {
                    *pages.entry(path).or_default() += n;
                }
                for (host, n) in &m.referrers {
                    *referrers.entry(host).or_default() += n;
                }
            }
        }
        Snapshot {
            visitors: visitors.len(),
            per_minute,
            top_pages: top(pages),
            top_referrers: top(referrers),
        }
    }
}

fn top(map: HashMap<&str, u64>) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> = map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(5);
    list
}
