//! The publishing queue: the author's cadence (e.g. Mon/Wed/Fri at 09:00 in
//! their time zone), the next free slot, the calendar and the buffer.

pub mod notify;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use crate::comics::settings;
use crate::db::Db;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    pub days: Vec<Weekday>,
    pub time: NaiveTime,
    pub tz: Tz,
    /// Warn when fewer pages than this are queued.
    pub buffer: u32,
    pub hiatus: bool,
    /// The author set a cadence and has queued a page: only then does a
    /// short queue mean anything (a new site is not "running low").
    pub in_use: bool,
}

/// Set the first time a page is added to the queue.
const IN_USE: &str = "queue.in_use";

/// Remembers that the author uses the queue (see `Cadence::in_use`).
pub async fn mark_in_use(db: &Db) -> Result<(), sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    settings::set(&mut conn, IN_USE, "1").await
}

pub const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

impl Cadence {
    pub fn from_settings(map: &HashMap<String, String>) -> Self {
        let days = map
            .get("queue.days")
            .map(String::as_str)
            .unwrap_or("mon,wed,fri")
            .split(',')
            .filter_map(|d| {
                DAY_NAMES
                    .iter()
                    .find(|(n, _)| *n == d.trim())
                    .map(|(_, w)| *w)
            })
            .collect();
        Self {
            days,
            time: map
                .get("queue.time")
                .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
                .unwrap_or(NaiveTime::MIN + Duration::hours(9)),
            tz: map
                .get("site.timezone")
                .and_then(|t| t.parse().ok())
                .unwrap_or(chrono_tz::UTC),
            buffer: map
                .get("queue.buffer")
                .and_then(|b| b.parse().ok())
                .unwrap_or(4),
            hiatus: map.get("queue.hiatus").is_some_and(|h| h == "1"),
            in_use: map.contains_key("queue.days") && map.contains_key(IN_USE),
        }
    }

    /// The next `n` slots strictly after `after` that are not in `taken`
    /// (Unix seconds). Local times that do not exist (a DST gap) are skipped;
    /// ambiguous ones (DST overlap) take the earlier instant.
    pub fn next_slots(&self, after: DateTime<Utc>, taken: &[i64], n: usize) -> Vec<DateTime<Utc>> {
        let mut slots = Vec::with_capacity(n);
        if self.days.is_empty() || n == 0 {
            return slots;
        }
        let mut day = after.with_timezone(&self.tz).date_naive();
        // Two years of days is far more than any sane `n` needs.
        for _ in 0..730 {
            if self.days.contains(&day.weekday()) {
                if let Some(local) = self
                    .tz
                    .from_local_datetime(&day.and_time(self.time))
                    .earliest()
                {
                    let at = local.with_timezone(&Utc);
                    if at > after && !taken.contains(&at.timestamp()) {
                        slots.push(at);
                        if slots.len() == n {
                            break;
                        }
                    }
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
        slots
    }
}

/// A scheduled page, for the calendar.
#[derive(Debug, Clone, Serialize)]
pub struct Scheduled {
    pub id: i64,
    pub title: String,
    pub live_at: i64,
}

pub async fn scheduled(db: &Db, now: i64) -> Result<Vec<Scheduled>, sqlx::Error> {
    Ok(crate::comics::pages::scheduled_after(db, now)
        .await?
        .into_iter()
        .map(|(id, title, live_at)| Scheduled { id, title, live_at })
        .collect())
}

pub async fn cadence(db: &Db) -> Result<Cadence, sqlx::Error> {
    Ok(Cadence::from_settings(&settings::load_map(db).await?))
}

/// The next free slot for "add to queue".
pub async fn next_free_slot(db: &Db) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let cadence = cadence(db).await?;
    let now = Utc::now();
    let taken: Vec<i64> = scheduled(db, now.timestamp())
        .await?
        .iter()
        .map(|s| s.live_at)
        .collect();
    Ok(cadence.next_slots(now, &taken, 1).into_iter().next())
}

/// The buffer state the dashboard and the warning mail report.
#[derive(Debug, Clone, Serialize)]
pub struct Buffer {
    pub queued: usize,
    pub minimum: u32,
    pub low: bool,
    /// When the last queued page goes live (Unix seconds).
    pub runs_out_at: Option<i64>,
}

pub fn buffer(cadence: &Cadence, scheduled: &[Scheduled]) -> Buffer {
    Buffer {
        queued: scheduled.len(),
        minimum: cadence.buffer,
        low: cadence.in_use && !cadence.hiatus && (scheduled.len() as u32) < cadence.buffer,
        runs_out_at: scheduled.last().map(|s| s.live_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cadence(tz: &str) -> Cadence {
        let map: HashMap<String, String> = [
            ("queue.days".to_owned(), "mon,wed,fri".to_owned()),
            ("queue.time".to_owned(), "09:00".to_owned()),
            ("site.timezone".to_owned(), tz.to_owned()),
        ]
        .into_iter()
        .collect();
        Cadence::from_settings(&map)
    }

    #[test]
    fn slots_follow_the_cadence_in_the_authors_zone() {
        let c = cadence("Europe/Paris");
        // Monday 2026-11-23 10:00 UTC = 11:00 in Paris, after 09:00.
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let slots = c.next_slots(after, &[], 3);
        let expected = [
            Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(),
        ];
        assert_eq!(slots, expected);
    }

    #[test]
    fn taken_slots_are_skipped() {
        let c = cadence("UTC");
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let next = c.next_slots(after, &[monday.timestamp()], 1);
        assert_eq!(
            next,
            vec![Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()]
        );
    }

    #[test]
    fn summer_time_moves_the_utc_hour() {
        let c = cadence("Europe/Paris");
        let after = Utc.with_ymd_and_hms(2026, 6, 29, 0, 0, 0).unwrap();
        assert_eq!(
            c.next_slots(after, &[], 1),
            vec![Utc.with_ymd_and_hms(2026, 6, 29, 7, 0, 0).unwrap()]
        );
    }

    #[test]
    fn the_buffer_is_low_below_the_minimum_unless_on_hiatus() {
        let mut c = cadence("UTC");
        c.buffer = 2;
        let one = vec![Scheduled {
            id: 1,
            title: "x".into(),
            live_at: 10,
        }];
        assert!(!buffer(&c, &one).low, "not before the queue is in use");
        c.in_use = true;
        assert!(buffer(&c, &one).low);
        c.hiatus = true;
        assert!(!buffer(&c, &one).low);
    }
}
