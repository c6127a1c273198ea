//! What happens to a new comment, decided without any third party:
//!
//! 1. **Refused** (nothing stored, the reader told why and their text kept
//!    in the form): comments off or closed, a missing name, an empty or
//!    oversized body, a bad address, more links than allowed, a form sent
//!    too quickly after the page was opened, too many comments from one
//!    network.
//! 2. **Ignored** (looks like success, nothing stored): the honeypot field
//!    was filled in, which only form-filling bots do.
//! 3. **Spam** (stored for the moderator to check): a blocklisted word,
//!    address or name.
//! 4. **Held** (pending): the site holds every comment, or this is the
//!    first from an address (or one without an address).
//! 5. **Live**: everything else, and always the site's own author.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::Status;

/// The moderation rules the author chose (the `comments.*` settings).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rules {
    /// Comments on the whole site (off: no form, no list).
    pub enabled: bool,
    /// `first` (the first comment from an address waits), `all` or `none`.
    pub hold: String,
    /// More links than this are refused.
    pub max_links: usize,
    /// Words, addresses, domains or networks (one per line) that make a
    /// comment spam.
    pub blocklist: String,
    /// Mail the owners a digest of new pending comments (at most hourly).
    pub digest: bool,
    /// Reader transcripts may be submitted for pages without one.
    pub transcripts: bool,
}

impl Rules {
    pub fn from_map(map: &HashMap<String, String>) -> Self {
        let get = |k: &str, d: &str| map.get(k).cloned().unwrap_or_else(|| d.to_owned());
        Self {
            enabled: get("comments.enabled", "1") == "1",
            hold: match get("comments.hold", "first").as_str() {
                h @ ("first" | "all" | "none") => h.to_owned(),
                _ => "first".to_owned(),
            },
            max_links: get("comments.max_links", "2").parse().unwrap_or(2),
            blocklist: get("comments.blocklist", ""),
            digest: get("comments.digest", "1") == "1",
            transcripts: get("comments.transcripts", "1") == "1",
        }
    }

    /// The blocklist entry this text, address or client matches, if any.
    /// Entries are case-insensitive; an entry that parses as an address or
    /// network (`203.0.113.0/24`) is matched against the client.
    pub fn blocked(&self, texts: &[&str], client: IpAddr) -> Option<String> {
        let haystack = texts.join("\n").to_lowercase();
        for entry in self.blocklist.lines().map(str::trim) {
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            if let Some(hit) = network_match(entry, client) {
                if hit {
                    return Some(entry.to_owned());
                }
                continue;
            }
            if haystack.contains(&entry.to_lowercase()) {
                return Some(entry.to_owned());
            }
        }
        None
    }
}

/// `Some(matches)` when `entry` is an address or a network, `None` otherwise.
fn network_match(entry: &str, client: IpAddr) -> Option<bool> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip == client);
    }
    let (addr, bits) = entry.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    Some(match (addr, client) {
        (IpAddr::V4(a), IpAddr::V4(c)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(c) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(c)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(c) & mask
        }
        _ => false,
    })
}

/// How many links a comment holds: Markdown links and bare addresses alike.
pub fn link_count(body: &str) -> usize {
    let lower = body.to_lowercase();
    ["http://", "https://", "www."]
        .iter()
        .map(|needle| lower.matches(needle).count())
        .sum::<usize>()
        // `https://www.` is one link, not two.
        .saturating_sub(lower.matches("://www.").count())
}

/// Why a comment is refused; shown to the reader as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A field is wrong (400).
    Invalid(String),
    /// The form was sent sooner than a person could have (400; the reader
    /// gets a fresh ticket and sends again).
    TooSoon,
    /// Too many comments from this network (429).
    Limited(Duration),
    /// Comments are off here (403).
    Closed(String),
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::Invalid(m) | Refusal::Closed(m) => m.clone(),
            Refusal::TooSoon => {
                "That was quick! Please check your comment and press the button again.".into()
            }
            Refusal::Limited(wait) => format!(
                "Too many comments from your network in a short time. Please try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        }
    }
}

/// A comment as typed, normalised by the handler.
pub struct Submission<'a> {
    pub name: &'a str,
    /// Lower-cased and checked, or empty.
    pub email: &'a str,
    pub body: &'a str,
    pub honeypot: &'a str,
    pub max_body: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Refused(Refusal),
    /// Answer as if it worked; store nothing.
    Ignored,
    Store {
        status: Status,
        reason: String,
    },
}

/// Decides; `known` says whether the address has an approved comment.
pub fn judge(rules: &Rules, s: &Submission<'_>, client: IpAddr, known: bool) -> Verdict {
    if !s.honeypot.trim().is_empty() {
        return Verdict::Ignored;
    }
    if let Err(refusal) = check_fields(rules, s) {
        return Verdict::Refused(refusal);
    }
    if let Some(entry) = rules.blocked(&[s.name, s.email, s.body], client) {
        return Verdict::Store {
            status: Status::Spam,
            reason: format!("matches the blocklist entry “{entry}”"),
        };
    }
    let (status, reason) = match rules.hold.as_str() {
        "all" => (Status::Pending, "every comment waits for approval"),
        "first" if s.email.is_empty() => (Status::Pending, "no e-mail address given"),
        "first" if !known => (Status::Pending, "first comment from this address"),
        _ => (Status::Approved, ""),
    };
    Verdict::Store {
        status,
        reason: reason.to_owned(),
    }
}

fn check_fields(rules: &Rules, s: &Submission<'_>) -> Result<(), Refusal> {
    let invalid = |m: &str| Err(Refusal::Invalid(m.to_owned()));
    if s.name.trim().is_empty() {
        return invalid("Please give a name (any name you like).");
    }
    if s.name.chars().count() > super::MAX_NAME {
        return invalid("That name is too long (80 characters at most).");
    }
    if s.body.trim().is_empty() {
        return invalid("The comment is empty.");
    }
    let len = s.body.chars().count();
    if len > s.max_body {
        return Err(Refusal::Invalid(format!(
            "That is {len} characters; the limit is {}. Please shorten it.",
            s.max_body
        )));
    }
    let links = link_count(s.body);
    if links > rules.max_links {
        return Err(Refusal::Invalid(if rules.max_links == 0 {
            "Links are not allowed in comments here.".to_owned()
        } else {
            format!(
                "A comment may hold at most {} link{}; this one has {links}.",
                rules.max_links,
                if rules.max_links == 1 { "" } else { "s" }
            )
        }));
    }
    Ok(())
}

/// Comments per network: a few at once, then one a minute (`[comments]`
/// in the configuration).
pub struct Limiter(crate::net::NetworkLimit);

impl Limiter {
    pub fn new(config: &crate::config::CommentsConfig) -> Self {
        Self(crate::net::NetworkLimit::new(
            config.burst,
            Duration::from_secs(config.every_secs.max(1)),
        ))
    }

    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.0.check(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(hold: &str, blocklist: &str) -> Rules {
        let mut map = HashMap::new();
        map.insert("comments.hold".into(), hold.into());
        map.insert("comments.blocklist".into(), blocklist.into());
        Rules::from_map(&map)
    }

    fn sub<'a>(email: &'a str, body: &'a str, honeypot: &'a str) -> Submission<'a> {
        Submission {
            name: "Ann",
            email,
            body,
            honeypot,
            max_body: 100,
        }
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    #[test]
    fn the_rules_decide_in_order() {
        let r = rules("first", "casino\n203.0.113.0/24");
        assert_eq!(
            judge(&r, &sub("", "hi", "x"), HOME, false),
            Verdict::Ignored
        );
        assert!(matches!(
            judge(&r, &sub("", " ", ""), HOME, false),
            Verdict::Refused(Refusal::Invalid(_))
        ));
        assert!(matches!(
            judge(&r, &sub("", &"x".repeat(101), ""), HOME, false),
            Verdict::Refused(Refusal::Invalid(_))
        ));
        assert!(matches!(
            judge(
                &r,
                &sub("", "a http://a b https://www.b c www.c", ""),
                HOME,
                true
            ),
            Verdict::Refused(Refusal::Invalid(_))
        ));
        let spam = judge(&r, &sub("a@b.c", "best CASINO", ""), HOME, true);
        assert!(
            matches!(
                spam,
                Verdict::Store {
                    status: Status::Spam,
                    ..
                }
            ),
            "{spam:?}"
        );
        let from_net = judge(
            &r,
            &sub("a@b.c", "fine", ""),
            "203.0.113.9".parse().unwrap(),
            true,
        );
        assert!(matches!(
            from_net,
            Verdict::Store {
                status: Status::Spam,
                ..
            }
        ));
        assert!(matches!(
            judge(&r, &sub("a@b.c", "fine", ""), HOME, false),
            Verdict::Store {
                status: Status::Pending,
                ..
            }
        ));
        assert!(matches!(
            judge(&r, &sub("a@b.c", "fine", ""), HOME, true),
            Verdict::Store {
                status: Status::Approved,
                ..
            }
        ));
        assert!(matches!(
            judge(&rules("all", ""), &sub("a@b.c", "fine", ""), HOME, true),
            Verdict::Store {
                status: Status::Pending,
                ..
            }
        ));
        assert!(matches!(
            judge(&rules("none", ""), &sub("", "fine", ""), HOME, false),
            Verdict::Store {
                status: Status::Approved,
                ..
            }
        ));
    }

    #[test]
    fn links_are_counted_once_each() {
        assert_eq!(
            link_count("see https://www.example.com and [x](http://a.b)"),
            2
        );
        assert_eq!(link_count("no links here"), 0);
        assert_eq!(link_count("WWW.SHOUTY.COM"), 1);
    }
}
