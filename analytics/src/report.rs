//! The figures the dashboard, the JSON API and the CSV export show, built
//! from the store for one of three ranges.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;

use crate::aggregate::HOUR;
use crate::ledger::LedgerSnapshot;
use crate::store::Store;

const DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
pub enum Range {
    /// The last 24 hours, by hour.
    #[default]
    #[serde(rename = "24h")]
    Day,
    /// The last 30 days, by day.
    #[serde(rename = "30d")]
    Month,
    /// The last 12 months, by month.
    #[serde(rename = "12m")]
    Year,
}

impl Range {
    pub fn name(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Month => "30d",
            Range::Year => "12m",
        }
    }

    /// Bucket starts (oldest first) and the range's end.
    pub fn buckets(self, now: i64) -> (Vec<i64>, i64) {
        match self {
            Range::Day => {
                let this_hour = now - now.rem_euclid(HOUR);
                (
                    (0..24).rev().map(|i| this_hour - i * HOUR).collect(),
                    this_hour + HOUR,
                )
            }
            Range::Month => {
                let today = now - now.rem_euclid(DAY);
                (
                    (0..30).rev().map(|i| today - i * DAY).collect(),
                    today + DAY,
                )
            }
            Range::Year => {
                let now = Utc.timestamp_opt(now, 0).single().unwrap_or_default();
                let mut starts = Vec::new();
                let (mut year, mut month) = (now.year(), now.month());
                for _ in 0..12 {
                    starts.push(month_start(year, month));
                    (year, month) = if month == 1 {
                        (year - 1, 12)
                    } else {
                        (year, month - 1)
                    };
                }
                starts.reverse();
                let end = if now.month() == 12 {
                    month_start(now.year() + 1, 1)
                } else {
                    month_start(now.year(), now.month() + 1)
                };
                (starts, end)
            }
        }
    }

    pub fn label(self, start: i64) -> String {
        let at: DateTime<Utc> = Utc.timestamp_opt(start, 0).single().unwrap_or_default();
        match self {
            Range::Day => at.format("%H:00").to_string(),
            Range::Month => at.format("%b %-d").to_string(),
            Range::Year => at.format("%b %Y").to_string(),
        }
    }
}

fn month_start(year: i32, month: u32) -> i64 {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp())
}

#[derive(Debug, Serialize)]
pub struct Point {
    pub start: i64,
    pub label: String,
    pub views: i64,
    pub uniques: i64,
}

#[derive(Debug, Serialize, Default)]
pub struct Totals {
    pub views: i64,
    /// Sum of each day's unique visitors (a visitor on two days counts twice).
    pub uniques: i64,
    pub entries: i64,
    pub bots: i64,
    pub searches: i64,
    pub feeds: i64,
}

#[derive(Debug, Serialize)]
pub struct Top {
    pub pages: Vec<(String, i64)>,
    pub comics: Vec<(String, i64)>,
    pub referrers: Vec<(String, i64)>,
    pub referring_pages: Vec<(String, i64)>,
    pub entries: Vec<(String, i64)>,
    pub browsers: Vec<(String, i64)>,
    pub systems: Vec<(String, i64)>,
    pub devices: Vec<(String, i64)>,
    pub bots: Vec<(String, i64)>,
    pub feeds: Vec<(String, i64)>,
    pub searches: Vec<(String, i64)>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub range: Range,
    pub from: i64,
    pub to: i64,
    pub totals: Totals,
    pub series: Vec<Point>,
    pub top: Top,
    pub uniques_note: &'static str,
    pub ledger: LedgerSnapshot,
}

pub const UNIQUES_NOTE: &str = "Unique visitors are counted per day: a visitor is recognised only within one UTC day \
     (the salt that makes them recognisable is destroyed after it), so weekly or monthly figures add up days and one \
     person reading on two days counts twice.";

pub async fn build(
    store: &Store,
    range: Range,
    now: i64,
    ledger: LedgerSnapshot,
) -> Result<Report, sqlx::Error> {
    let (starts, to) = range.buckets(now);
    let from = starts.first().copied().unwrap_or(now);
    let views = store.views_by_hour(from, to).await?;
    let uniques = match range {
        Range::Day => store.uniques_by_hour(from, to).await?,
        Range::Month | Range::Year => store.uniques_by_day(from, to).await?,
    };
    let bucket_of = |t: i64| starts.iter().rposition(|s| *s <= t);
    let mut series: Vec<Point> = starts
        .iter()
        .map(|s| Point {
            start: *s,
            label: range.label(*s),
            views: 0,
            uniques: 0,
        })
        .collect();
    for (hour, n) in views {
        if let Some(i) = bucket_of(hour) {
            series[i].views += n;
        }
    }
    for (t, n) in &uniques {
        if let Some(i) = bucket_of(*t) {
            series[i].uniques += n;
        }
    }
    let mut totals = Totals::default();
    for (metric, n) in store.totals(from, to).await? {
        match metric.as_str() {
            "views" => totals.views = n,
            "bots" => totals.bots = n,
            "searches" => totals.searches = n,
            "feeds" => totals.feeds = n,
            "entries" => totals.entries = n,
            _ => {}
        }
    }
    let daily = if range == Range::Day {
        store.uniques_by_day(from, to).await?
    } else {
        uniques
    };
    totals.uniques = daily.iter().map(|(_, n)| n).sum();
    let top = |metric: &'static str| store.top(metric, from, to, 10);
    let entries = top("entry").await?;
    Ok(Report {
        range,
        from,
        to,
        totals,
        series,
        top: Top {
            pages: top("path").await?,
            comics: top("comic").await?,
            referrers: top("ref").await?,
            referring_pages: top("refpage").await?,
            entries,
            browsers: top("browser").await?,
            systems: top("os").await?,
            devices: top("device").await?,
            bots: top("bot").await?,
            feeds: top("feed").await?,
            searches: top("search").await?,
        },
        uniques_note: UNIQUES_NOTE,
        ledger,
    })
}

/// Every counter row of the range as CSV (hour start in UTC, metric, value, count).
pub async fn csv(store: &Store, range: Range, now: i64) -> Result<String, sqlx::Error> {
    let (starts, to) = range.buckets(now);
    let from = starts.first().copied().unwrap_or(now);
    let mut out = String::from("hour_utc,metric,value,count\r\n");
    for (hour, metric, dim, n) in store.rows(from, to).await? {
        let at = Utc
            .timestamp_opt(hour, 0)
            .single()
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:00:00Z");
        out.push_str(&format!("{at},{metric},{},{n}\r\n", csv_field(&dim)));
    }
    Ok(out)
}

pub use halftone_protocol::spreadsheet_safe;

/// Quotes a field, and defuses spreadsheet formulas (a referrer can be anything).
fn csv_field(value: &str) -> String {
    let value = spreadsheet_safe(value).into_owned();
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_have_the_right_buckets() {
        let now = 1_764_000_000; // 2025-11-24T16:00:00Z
        let (hours, end) = Range::Day.buckets(now + 125);
        assert_eq!(hours.len(), 24);
        assert_eq!(end, now + HOUR);
        let (months, _) = Range::Year.buckets(now);
        assert_eq!(months.len(), 12);
        assert_eq!(Range::Year.label(months[11]), "Nov 2025");
        assert_eq!(Range::Year.label(months[0]), "Dec 2024");
    }

    #[test]
    fn csv_is_safe_for_spreadsheets() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
