//! The comic on the fediverse (ActivityPub).
//!
//! Each series is an actor (`@slug@domain`, found by WebFinger) with an
//! outbox of its published pages. Followers are accepted at once; a page
//! going live — published now or at its scheduled time — reaches them as a
//! `Create` of a `Note` with the images, alt text and content warning, an
//! edit as an `Update`, an unpublish as a `Delete`.
//!
//! How nothing is missed or sent twice (`worker`): one node at a time (the
//! `fediverse` lease) compares what followers were told of each page
//! (`ap_posts`) with the published pages, and for each difference writes,
//! in one transaction, the activity, one delivery row per inbox (shared
//! inboxes batch a server's followers) and the new state. Deliveries are
//! claimed by compare-and-set, signed (HTTP Signatures, `signature`),
//! retried with backoff and resumed after a restart. Incoming activities
//! (`inbox`) are verified the same way; replies go to the comments'
//! moderation queue, likes and boosts are counted per page.
//!
//! Federation starts with the first follower (`fediverse.since`): pages
//! that went live before anyone followed are in the outbox, not pushed.

pub mod bluesky;
pub mod inbox;
pub mod objects;
pub mod peers;
pub mod signature;
pub mod store;
pub mod worker;

use std::sync::Arc;

use crate::comics::settings;
use crate::db::Db;

/// Settings: the site's private key (PKCS#8 PEM), since when pages are
/// pushed to followers (Unix seconds), and who is blocked (one per line).
pub const KEY: &str = "fediverse.key";
pub const SINCE: &str = "fediverse.since";
pub const BLOCKED: &str = "fediverse.blocked";
/// The lease of the node that sends.
pub const LEASE: &str = "fediverse";
/// The event topic that wakes the sender on whichever node holds the lease.
pub const TOPIC: &str = "fediverse";

/// This node's fediverse state: peers (and their cached keys), our key,
/// the sender's wake-up and stop signals.
pub struct Fediverse {
    pub ids: objects::Ids,
    pub peers: peers::Peers,
    key: tokio::sync::OnceCell<Arc<signature::KeyPair>>,
    wake: tokio::sync::Notify,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Fediverse {
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            ids: objects::Ids::new(&config.public_url),
            peers: peers::Peers::new(&config.fediverse),
            key: tokio::sync::OnceCell::new(),
            wake: tokio::sync::Notify::new(),
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    /// The site's key pair, made on first use (compare-and-set: two nodes
    /// racing keep the same one). Not made before anything federates, so a
    /// site that never does keeps its settings as they were.
    pub async fn key(&self, db: &Db) -> anyhow::Result<Arc<signature::KeyPair>> {
        self.key
            .get_or_try_init(|| async {
                if let Some(pem) = settings::load_map(db).await?.get(KEY) {
                    if !pem.is_empty() {
                        return Ok(Arc::new(signature::KeyPair::from_pem(pem)?));
                    }
                }
                let (key, pem) =
                    tokio::task::spawn_blocking(signature::KeyPair::generate).await??;
                if settings::compare_and_set(db, KEY, "", &pem).await? {
                    tracing::info!("fediverse: made the site's key pair");
                    return Ok(Arc::new(key));
                }
                let stored = settings::load_map(db)
                    .await?
                    .remove(KEY)
                    .unwrap_or_default();
                Ok(Arc::new(signature::KeyPair::from_pem(&stored)?))
            })
            .await
            .cloned()
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops this node's sender and gives its lease back (shutdown).
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// Blocked domains (a domain blocks its subdomains too), actors (by
/// address) and accounts (`@user@domain`).
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    domains: Vec<String>,
    actors: Vec<String>,
    handles: Vec<String>,
}

impl Blocklist {
    pub fn parse(text: &str) -> Self {
        let mut list = Self::default();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let line = line.to_ascii_lowercase();
            if line.starts_with("https://") || line.starts_with("http://") {
                list.actors.push(line);
            } else if line.starts_with('@') && line[1..].contains('@') {
                list.handles.push(line);
            } else {
                list.domains.push(
                    line.trim_start_matches("*.")
                        .trim_start_matches('.')
                        .to_owned(),
                );
            }
        }
        list
    }

    pub async fn load(db: &Db) -> Result<Self, sqlx::Error> {
        Ok(Self::parse(
            settings::load_map(db)
                .await?
                .get(BLOCKED)
                .map_or("", String::as_str),
        ))
    }

    fn blocks_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    }

    /// Whether an actor (or any address on its server) is blocked.
    pub fn blocks(&self, uri: &str) -> bool {
        let host = url::Url::parse(uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        self.blocks_host(&host) || self.actors.iter().any(|a| a.eq_ignore_ascii_case(uri))
    }

    pub fn blocks_handle(&self, handle: &str) -> bool {
        let handle = handle.to_ascii_lowercase();
        self.handles.contains(&handle)
            || handle
                .rsplit_once('@')
                .is_some_and(|(_, host)| self.blocks_host(host.split(':').next().unwrap_or(host)))
    }
}

/// After a failure worth retrying (deliveries and Bluesky posts alike):
/// `queued` again after the backoff, or `failed` once the row has been
/// failing for longer than `give_up_secs`. Returns (status, next attempt).
pub fn retry_after(
    config: &crate::config::FediverseConfig,
    attempts: i64,
    created_at: i64,
    now: i64,
) -> (&'static str, i64) {
    if now - created_at > config.give_up_secs as i64 {
        return ("failed", now);
    }
    let wait = crate::newsletter::sender::backoff(
        attempts.clamp(0, i64::from(u32::MAX)) as u32,
        config.retry_min_secs,
        config.retry_max_secs,
    );
    ("queued", now + wait.as_secs() as i64)
}

/// Since when pages are pushed, once someone follows.
pub async fn since(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    Ok(settings::load_map(db)
        .await?
        .get(SINCE)
        .and_then(|v| v.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::Blocklist;

    #[test]
    fn blocklist_matches_domains_subdomains_actors_and_handles() {
        let list = Blocklist::parse("spam.example\n*.bad.example\nhttps://ok.example/users/troll\n@rude@fine.example\n# a comment\n");
        assert!(list.blocks("https://spam.example/users/a"));
        assert!(list.blocks("https://eu.spam.example/users/a"));
        assert!(list.blocks("https://x.bad.example/u"));
        assert!(list.blocks("https://ok.example/users/troll"));
        assert!(!list.blocks("https://ok.example/users/friend"));
        assert!(!list.blocks("https://notspam.example/u"));
        assert!(list.blocks_handle("@rude@fine.example"));
        assert!(list.blocks_handle("@anyone@spam.example"));
        assert!(!list.blocks_handle("@kind@fine.example"));
    }
}
