//! What a hit is: the beacon and server-event payloads as they arrive, their
//! validation, and the [`Record`] that is spooled — derived facts only. The
//! raw address and user agent are used here, in memory, and never go further.

use serde::{Deserialize, Serialize};

use crate::salt::VisitorIds;

/// Longest accepted beacon body; anything bigger is refused before parsing.
pub const MAX_BEACON_BYTES: usize = 4 * 1024;
/// Longest accepted batch of server events.
pub const MAX_EVENTS_BYTES: usize = 256 * 1024;
/// Longest stored dimension value (the column is VARCHAR(255)).
const MAX_DIM_CHARS: usize = 255;

/// What the reader page's script (or the `<noscript>` pixel) sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// Random id made by the page, so a retried beacon counts once.
    pub id: String,
    /// Path of the page viewed.
    pub p: String,
    /// Comic page id, when the page shows one.
    #[serde(default)]
    pub c: Option<i64>,
    /// `document.referrer`.
    #[serde(default)]
    pub r: Option<String>,
    /// Screen width in CSS pixels.
    #[serde(default)]
    pub w: Option<u32>,
}

/// What another service (the site) reports, authenticated by the shared
/// secret: defined once, in `halftone-protocol`.
pub use halftone_protocol::events::{EventKind, ServerEvent};

/// One spooled hit. Short field names: this is written 50,000 times a second.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Spool sequence number (assigned by the writer).
    #[serde(default)]
    pub seq: u64,
    /// Unix seconds when received.
    pub t: i64,
    pub k: Kind,
    /// Dedupe key (a hash of the beacon id); not stored in the database.
    pub id: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    /// External referrer host and host+path (no query string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp: Option<String>,
    /// True when the view did not come from another page of the site.
    #[serde(default)]
    pub entry: bool,
    /// Visitor hash under the day's salt (0: none, as for server events).
    #[serde(default)]
    pub v: u64,
    /// Browser, OS, device class — or for bots and feeds, the agent's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub b: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub o: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub d: String,
    /// Normalised search terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Kind {
    /// A reader's page view.
    #[serde(rename = "v")]
    View,
    /// A page view by a known bot or crawler: counted apart.
    #[serde(rename = "b")]
    Bot,
    #[serde(rename = "s")]
    Search,
    #[serde(rename = "f")]
    Feed,
}

/// Why a hit was refused (the 4xx body names it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("the id must be 8 to 64 letters, digits, '-' or '_'")]
    Id,
    #[error("the path must start with '/' and be at most 512 characters")]
    Path,
    #[error("the referrer must be an http(s) URL of at most 1024 characters")]
    Referrer,
    #[error("the screen width must be between 1 and 20000")]
    Width,
    #[error("the page id must be a positive number")]
    Page,
    #[error("a search event needs a query of 1 to 200 characters")]
    Query,
}

/// The request facts a hit is classified with.
pub struct Client<'a> {
    pub ua: &'a str,
    /// The site's own host (from the beacon's `Origin`), to tell internal
    /// navigation from referrals.
    pub site_host: Option<&'a str>,
}

fn check_id(id: &str) -> Result<u64, Invalid> {
    let ok = (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(Invalid::Id);
    }
    Ok(dedupe_key(id))
}

/// A stable 64-bit key for a beacon id (FNV-1a; ids are random already).
pub fn dedupe_key(id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash.max(1)
}

fn check_path(path: &str) -> Result<String, Invalid> {
    if !path.starts_with('/') || path.len() > 512 || path.chars().any(char::is_control) {
        return Err(Invalid::Path);
    }
    // Query strings and fragments can carry personal data; the path is enough.
    let path = path.split(['?', '#']).next().unwrap_or("/");
    Ok(truncate(path))
}

fn check_width(width: Option<u32>) -> Result<Option<u32>, Invalid> {
    match width {
        Some(w) if !(1..=20_000).contains(&w) => Err(Invalid::Width),
        other => Ok(other),
    }
}

fn check_page(page: Option<i64>) -> Result<Option<i64>, Invalid> {
    match page {
        Some(p) if p <= 0 => Err(Invalid::Page),
        other => Ok(other),
    }
}

/// External referrer as (host, host+path), or None for none / internal.
fn referrer(
    raw: Option<&str>,
    site_host: Option<&str>,
) -> Result<Option<(String, String)>, Invalid> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > 1024 {
        return Err(Invalid::Referrer);
    }
    let url = url::Url::parse(raw).map_err(|_| Invalid::Referrer)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Invalid::Referrer);
    }
    let Some(host) = url.host_str() else {
        return Err(Invalid::Referrer);
    };
    let host = host
        .strip_prefix("www.")
        .unwrap_or(host)
        .to_ascii_lowercase();
    if let Some(site) = site_host {
        let site = site.strip_prefix("www.").unwrap_or(site);
        if host.eq_ignore_ascii_case(site) {
            return Ok(None);
        }
    }
    let page = format!("{host}{}", url.path());
    Ok(Some((truncate(&host), truncate(&page))))
}

fn truncate(value: &str) -> String {
    match value.char_indices().nth(MAX_DIM_CHARS) {
        Some((cut, _)) => value[..cut].to_owned(),
        None => value.to_owned(),
    }
}

/// Device class from the screen width, the only screen fact kept.
fn device(width: Option<u32>) -> &'static str {
    match width {
        None => "unknown",
        Some(w) if w < 600 => "phone",
        Some(w) if w < 1024 => "tablet",
        Some(w) if w < 1920 => "desktop",
        Some(_) => "large",
    }
}

/// Normalised search terms: lower case, single spaces, at most 100 characters.
pub fn normalise_query(query: &str) -> Option<String> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let joined = words.join(" ");
    if joined.is_empty() || query.chars().count() > 200 {
        return None;
    }
    Some(joined.chars().take(100).collect())
}

/// (is_bot, browser or agent name, operating system).
type Agent = (bool, String, String);

/// [`agent`], remembered: readers' user agents repeat a lot, and parsing
/// one is the dearest step of taking a hit.
pub fn agent_cached(ua: &str) -> (bool, String, String) {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Agent>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(ua).cloned()) {
        return hit;
    }
    let parsed = agent(ua);
    if let Ok(mut cache) = cache.lock() {
        // Bounded: a flood of made-up agents only costs parsing, not memory.
        if cache.len() >= 10_000 {
            cache.clear();
        }
        cache.insert(ua.to_owned(), parsed.clone());
    }
    parsed
}

/// The user agent's family: (is_bot, name, os).
pub fn agent(ua: &str) -> (bool, String, String) {
    let lower = ua.to_ascii_lowercase();
    const BOT_MARKS: &[&str] = &[
        "bot",
        "crawl",
        "spider",
        "slurp",
        "curl/",
        "wget/",
        "python-",
        "python/",
        "go-http",
        "java/",
        "headless",
        "httpclient",
        "okhttp",
        "libwww",
        "scrapy",
        "facebookexternalhit",
        "preview",
        "monitor",
        "lighthouse",
        "pingdom",
        "uptime",
    ];
    let parsed = woothee::parser::Parser::new().parse(ua);
    let marked = ua.trim().is_empty() || BOT_MARKS.iter().any(|mark| lower.contains(mark));
    match parsed {
        Some(result) => {
            let bot = marked || result.category == "crawler";
            let name = if result.name == "UNKNOWN" {
                first_product(ua)
            } else {
                result.name.to_owned()
            };
            let os = if result.os == "UNKNOWN" {
                "Other"
            } else {
                result.os
            };
            (bot, name, os.to_owned())
        }
        None => (marked, first_product(ua), "Other".to_owned()),
    }
}

/// "Feedly/1.0 (+http://…)" → "Feedly": how feed readers name themselves.
fn first_product(ua: &str) -> String {
    let name = ua
        .split(['/', ' ', ';', '('])
        .find(|part| !part.is_empty() && *part != "Mozilla")
        .unwrap_or("Other");
    truncate(name).chars().take(40).collect()
}

/// Classifies a beacon into a record (seq is assigned later by the spool).
pub fn from_beacon(
    beacon: &Beacon,
    client: &Client,
    ids: &VisitorIds,
    now: i64,
) -> Result<Record, Invalid> {
    let id = check_id(&beacon.id)?;
    let path = check_path(&beacon.p)?;
    let page = check_page(beacon.c)?;
    let width = check_width(beacon.w)?;
    let referral = referrer(beacon.r.as_deref(), client.site_host)?;
    let internal = beacon.r.as_deref().is_some_and(|r| !r.is_empty()) && referral.is_none();
    let (bot, name, os) = agent_cached(client.ua);
    let (rh, rp) = referral.map_or((None, None), |(h, p)| (Some(h), Some(p)));
    Ok(Record {
        seq: 0,
        t: now,
        k: if bot { Kind::Bot } else { Kind::View },
        id,
        path,
        page,
        rh,
        rp,
        entry: !internal,
        v: if bot { 0 } else { ids.today },
        b: name,
        o: if bot { String::new() } else { os },
        d: if bot {
            String::new()
        } else {
            device(width).to_owned()
        },
        q: None,
    })
}

/// Classifies a server-side event.
pub fn from_event(
    event: &ServerEvent,
    ids: Option<&VisitorIds>,
    now: i64,
) -> Result<Record, Invalid> {
    let id = check_id(&event.id)?;
    let path = match &event.path {
        Some(path) => check_path(path)?,
        None => String::new(),
    };
    let page = check_page(event.page)?;
    let width = check_width(event.width)?;
    let ua = event.ua.as_deref().unwrap_or("");
    let (bot, name, os) = agent_cached(ua);
    let mut record = Record {
        seq: 0,
        t: now,
        k: Kind::View,
        id,
        path,
        page,
        rh: None,
        rp: None,
        entry: false,
        v: 0,
        b: String::new(),
        o: String::new(),
        d: String::new(),
        q: None,
    };
    match event.kind {
        EventKind::View => {
            if record.path.is_empty() {
                return Err(Invalid::Path);
            }
            let referral = referrer(event.referrer.as_deref(), None)?;
            record.entry = true;
            if let Some((h, p)) = referral {
                record.rh = Some(h);
                record.rp = Some(p);
            }
            record.k = if bot { Kind::Bot } else { Kind::View };
            record.v = if bot {
                0
            } else {
                ids.map_or(0, |ids| ids.today)
            };
            record.b = name;
            if !bot {
                record.o = os;
                record.d = device(width).to_owned();
            }
        }
        EventKind::Search => {
            record.k = Kind::Search;
            record.q = Some(
                event
                    .query
                    .as_deref()
                    .and_then(normalise_query)
                    .ok_or(Invalid::Query)?,
            );
        }
        EventKind::Feed => {
            record.k = Kind::Feed;
            record.b = if ua.is_empty() {
                "Other".to_owned()
            } else {
                first_product(ua)
            };
        }
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

    fn ids() -> VisitorIds {
        VisitorIds {
            today: 42,
            previous: None,
        }
    }

    fn beacon(r: Option<&str>) -> Beacon {
        Beacon {
            id: "abcdefgh1234".into(),
            p: "/comic/hello?utm=x".into(),
            c: Some(3),
            r: r.map(Into::into),
            w: Some(390),
        }
    }

    #[test]
    fn a_view_keeps_facts_not_identities() {
        let client = Client {
            ua: FIREFOX,
            site_host: Some("comic.example"),
        };
        let record = from_beacon(
            &beacon(Some("https://www.reddit.com/r/comics/abc?x=1")),
            &client,
            &ids(),
            7,
        )
        .expect("valid");
        assert_eq!(record.k, Kind::View);
        assert_eq!(record.path, "/comic/hello");
        assert_eq!(record.rh.as_deref(), Some("reddit.com"));
        assert_eq!(record.rp.as_deref(), Some("reddit.com/r/comics/abc"));
        assert!(record.entry);
        assert_eq!(
            (record.b.as_str(), record.o.as_str(), record.d.as_str()),
            ("Firefox", "Linux", "phone")
        );
        let line = serde_json::to_string(&record).expect("json");
        assert!(!line.contains("Mozilla"), "no raw user agent in {line}");
    }

    #[test]
    fn internal_navigation_is_not_an_entry_or_referral() {
        let client = Client {
            ua: FIREFOX,
            site_host: Some("comic.example"),
        };
        let record = from_beacon(
            &beacon(Some("https://comic.example/comic/1")),
            &client,
            &ids(),
            7,
        )
        .expect("valid");
        assert!(!record.entry);
        assert_eq!(record.rh, None);
    }

    #[test]
    fn bots_are_apart() {
        for ua in [
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            "curl/8.0",
            "",
            "python-requests/2.31",
        ] {
            let client = Client {
                ua,
                site_host: None,
            };
            let record = from_beacon(&beacon(None), &client, &ids(), 7).expect("valid");
            assert_eq!(record.k, Kind::Bot, "{ua:?}");
            assert_eq!(record.v, 0);
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let client = Client {
            ua: FIREFOX,
            site_host: None,
        };
        let mut b = beacon(None);
        b.id = "x".into();
        assert_eq!(from_beacon(&b, &client, &ids(), 0), Err(Invalid::Id));
        let mut b = beacon(None);
        b.p = "comic".into();
        assert_eq!(from_beacon(&b, &client, &ids(), 0), Err(Invalid::Path));
        let mut b = beacon(Some("javascript:alert(1)"));
        assert_eq!(from_beacon(&b, &client, &ids(), 0), Err(Invalid::Referrer));
        b = beacon(None);
        b.w = Some(0);
        assert_eq!(from_beacon(&b, &client, &ids(), 0), Err(Invalid::Width));
    }

    #[test]
    fn queries_are_normalised() {
        assert_eq!(normalise_query("  The  Dragon "), Some("the dragon".into()));
        assert_eq!(normalise_query("   "), None);
    }

    #[test]
    fn feed_readers_are_named() {
        let event = ServerEvent {
            id: "feedfetch01".into(),
            kind: EventKind::Feed,
            path: Some("/feed.xml".into()),
            page: None,
            referrer: None,
            width: None,
            ua: Some("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 3 subscribers)".into()),
            ip: None,
            query: None,
        };
        let record = from_event(&event, None, 1).expect("valid");
        assert_eq!((record.k, record.b.as_str()), (Kind::Feed, "Feedly"));
    }
}
