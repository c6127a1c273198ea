//! Other servers: fetching their actors (and keys), posting to their inboxes.
//!
//! Every address comes from a stranger's JSON, so each one is checked before
//! we connect: https only, and never this machine's own networks (loopback,
//! private, link-local…) unless `[fediverse] allow_private_peers` says so —
//! otherwise a forged actor could make the server fetch from, or post to,
//! services behind the firewall. Bodies read are capped.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::signature::{self, KeyPair, PublicKey};
use crate::config::FediverseConfig;

/// ActivityStreams' media type, as we send and accept it.
pub const AS_TYPE: &str = "application/activity+json";
const ACCEPT: &str =
    "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("address refused: {0}")]
    Refused(String),
    #[error("request failed: {0}")]
    Http(String),
    #[error("answered {0}")]
    Status(u16),
    #[error("document too large")]
    TooLarge,
    #[error("not an actor we can use: {0}")]
    BadDocument(&'static str),
}

/// What we keep of a remote actor.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub key_id: String,
    pub key: PublicKey,
    /// Display name, or the handle when it has none.
    pub name: String,
    /// `@user@host`.
    pub handle: String,
}

/// Who signs our fetches (the site's key, named as the primary actor's).
pub struct Signer<'a> {
    pub key: &'a KeyPair,
    pub key_id: &'a str,
}

pub struct Peers {
    client: reqwest::Client,
    config: FediverseConfig,
    /// Actors by key id, for verifying what they send (an hour, then fetched again).
    actors: moka::sync::Cache<String, Arc<RemoteActor>>,
}

impl Peers {
    pub fn new(config: &FediverseConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(5)))
            // A redirect could lead anywhere; a peer gets no second address.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "Halftone/",
                env!("CARGO_PKG_VERSION"),
                " (ActivityPub)"
            ))
            .build()
            .unwrap_or_default();
        Self {
            client,
            config: config.clone(),
            actors: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }

    /// Refuses addresses we must not reach (see the module's comment).
    pub async fn check_address(&self, url: &url::Url) -> Result<(), PeerError> {
        let refuse = |why: &str| Err(PeerError::Refused(format!("{url}: {why}")));
        match url.scheme() {
            "https" => {}
            "http" if self.config.allow_private_peers => {}
            _ => return refuse("not https"),
        }
        if self.config.allow_private_peers {
            return Ok(());
        }
        let Some(host) = url.host_str() else {
            return refuse("no host");
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| PeerError::Http(format!("{host}: {e}")))?
                .map(|a| a.ip())
                .collect(),
        };
        if addresses.is_empty() || addresses.iter().any(|ip| !is_public(*ip)) {
            return refuse("a private or local address");
        }
        Ok(())
    }

    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, PeerError> {
        let max = self.config.fetch_max_bytes;
        if response.content_length().is_some_and(|n| n as usize > max) {
            return Err(PeerError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| PeerError::Http(e.to_string()))?
        {
            if body.len() + chunk.len() > max {
                return Err(PeerError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// GETs an ActivityStreams document, signed (servers in "secure mode"
    /// answer only signed fetches).
    pub async fn fetch(
        &self,
        url: &str,
        signer: &Signer<'_>,
    ) -> Result<serde_json::Value, PeerError> {
        let url: url::Url = url
            .parse()
            .map_err(|_| PeerError::Refused(format!("{url}: not an address")))?;
        self.check_address(&url).await?;
        let mut request = self.client.get(url.clone()).header("accept", ACCEPT);
        for (name, value) in signature::sign_request(
            signer.key,
            signer.key_id,
            "GET",
            &url,
            None,
            crate::db::now(),
        ) {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| PeerError::Http(e.to_string()))?;
        if !response.status().is_success() {
            return Err(PeerError::Status(response.status().as_u16()));
        }
        let body = self.read_capped(response).await?;
        serde_json::from_slice(&body).map_err(|_| PeerError::BadDocument("not JSON"))
    }

    /// The actor behind a key id, from the cache unless `fresh` (a key that
    /// failed to verify may have been rotated: fetched once more).
    pub async fn actor_for_key(
        &self,
        key_id: &str,
        signer: &Signer<'_>,
        fresh: bool,
    ) -> Result<Arc<RemoteActor>, PeerError> {
        if !fresh {
            if let Some(actor) = self.actors.get(key_id) {
                return Ok(actor);
            }
        }
        let document_url = key_id.split('#').next().unwrap_or(key_id);
        let mut document = self.fetch(document_url, signer).await?;
        // A key document (GoToSocial, some others) names its owner: fetch that.
        if document.get("publicKeyPem").is_some() && document.get("inbox").is_none() {
            let owner = document["owner"]
                .as_str()
                .ok_or(PeerError::BadDocument("a key without an owner"))?
                .to_owned();
            document = self.fetch(&owner, signer).await?;
        }
        let actor = Arc::new(parse_actor(&document, Some(key_id))?);
        self.actors.insert(key_id.to_owned(), actor.clone());
        Ok(actor)
    }

    /// An actor by its id (a follower we must answer).
    pub async fn actor(&self, id: &str, signer: &Signer<'_>) -> Result<RemoteActor, PeerError> {
        let document = self.fetch(id, signer).await?;
        parse_actor(&document, None)
    }

    /// POSTs a signed activity to an inbox; the status code is the answer.
    pub async fn deliver(
        &self,
        inbox: &str,
        body: &[u8],
        signer: &Signer<'_>,
    ) -> Result<u16, PeerError> {
        let url: url::Url = inbox
            .parse()
            .map_err(|_| PeerError::Refused(format!("{inbox}: not an address")))?;
        self.check_address(&url).await?;
        let mut request = self
            .client
            .post(url.clone())
            .header("content-type", AS_TYPE)
            .header("accept", ACCEPT);
        for (name, value) in signature::sign_request(
            signer.key,
            signer.key_id,
            "POST",
            &url,
            Some(body),
            crate::db::now(),
        ) {
            request = request.header(name, value);
        }
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| PeerError::Http(e.to_string()))?;
        Ok(response.status().as_u16())
    }
}

/// An actor document's inbox, key and names. With `key_id`, the key must be
/// that one (an actor may list several).
pub fn parse_actor(
    document: &serde_json::Value,
    key_id: Option<&str>,
) -> Result<RemoteActor, PeerError> {
    let id = document["id"]
        .as_str()
        .ok_or(PeerError::BadDocument("no id"))?
        .to_owned();
    let inbox = document["inbox"]
        .as_str()
        .ok_or(PeerError::BadDocument("no inbox"))?
        .to_owned();
    let shared_inbox = document["endpoints"]["sharedInbox"]
        .as_str()
        .map(str::to_owned);
    let keys: Vec<&serde_json::Value> = match &document["publicKey"] {
        serde_json::Value::Array(keys) => keys.iter().collect(),
        key @ serde_json::Value::Object(_) => vec![key],
        _ => Vec::new(),
    };
    let key = keys
        .into_iter()
        .find(|k| key_id.is_none_or(|wanted| k["id"].as_str() == Some(wanted)))
        .ok_or(PeerError::BadDocument("no such key"))?;
    if key["owner"].as_str().is_some_and(|owner| owner != id) {
        return Err(PeerError::BadDocument("the key belongs to someone else"));
    }
    let pem = key["publicKeyPem"]
        .as_str()
        .ok_or(PeerError::BadDocument("no key"))?;
    let public = PublicKey::from_pem(pem).map_err(|_| PeerError::BadDocument("unreadable key"))?;
    let host = url::Url::parse(&id)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_default();
    let user = document["preferredUsername"].as_str().unwrap_or("someone");
    let handle = format!("@{user}@{host}");
    let name = document["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| handle.clone(), str::to_owned);
    Ok(RemoteActor {
        key_id: key["id"].as_str().unwrap_or_default().to_owned(),
        id,
        inbox,
        shared_inbox,
        key: public,
        name: name.chars().take(100).collect(),
        handle,
    })
}

/// Addresses on the public internet (not this machine's networks).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || a >= 224)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn peers_on_this_machine_are_refused_by_default() {
        let peers = Peers::new(&FediverseConfig::default());
        for url in [
            "http://example.com/inbox",
            "https://127.0.0.1/inbox",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "file:///etc/passwd",
        ] {
            let url: url::Url = url.parse().expect("url");
            assert!(peers.check_address(&url).await.is_err(), "{url}");
        }
    }
}
