//! A batch of spooled records folded into counter increments, ready for one
//! database transaction.

use std::collections::{HashMap, HashSet};

use crate::hit::{Kind, Record};

pub const HOUR: i64 = 3600;

#[derive(Default, Debug)]
pub struct Aggregate {
    /// (hour, metric, dim) → increment.
    pub counts: HashMap<(i64, &'static str, String), i64>,
    /// (hour, visitor hash).
    pub visitors: HashSet<(i64, i64)>,
    pub records: u64,
    /// Highest sequence number folded in.
    pub upto: u64,
}

impl Aggregate {
    pub fn add(&mut self, r: &Record) {
        let hour = r.t - r.t.rem_euclid(HOUR);
        let mut bump = |metric: &'static str, dim: &str| {
            *self
                .counts
                .entry((hour, metric, dim.to_owned()))
                .or_default() += 1;
        };
        match r.k {
            Kind::View => {
                bump("views", "");
                bump("path", &r.path);
                if let Some(page) = r.page {
                    bump("comic", &page.to_string());
                }
                if r.entry {
                    bump("entries", "");
                    bump("entry", &r.path);
                }
                if let (Some(host), Some(page)) = (&r.rh, &r.rp) {
                    bump("ref", host);
                    bump("refpage", page);
                }
                bump("browser", &r.b);
                bump("os", &r.o);
                bump("device", &r.d);
                if r.v != 0 {
                    // Visitor hashes are 63-bit (see salt.rs), so they fit a signed BIGINT.
                    self.visitors.insert((hour, r.v as i64));
                }
            }
            Kind::Bot => {
                bump("bots", "");
                bump("bot", &r.b);
            }
            Kind::Search => {
                bump("searches", "");
                bump("search", r.q.as_deref().unwrap_or(""));
            }
            Kind::Feed => {
                bump("feeds", "");
                bump("feed", &r.b);
            }
        }
        self.records += 1;
        self.upto = self.upto.max(r.seq);
    }
}
