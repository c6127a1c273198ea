//! What other servers send us: verified, then acted on.
//!
//! Every activity must be signed by its own actor (HTTP Signature over the
//! target, host, date and body digest, with the key the actor publishes);
//! blocked servers and accounts are refused before their keys are fetched.
//! Follows are accepted at once; `Like` and `Announce` of our notes are
//! counted; replies (`Create` of a `Note` in reply to one of our pages)
//! wait in the comments' moderation queue; `Undo` and `Delete` take these
//! back.

use std::collections::HashMap;

use serde_json::Value;
use sha2::Digest as _;

use super::peers::{PeerError, RemoteActor, Signer};
use super::signature::{self, SigError, SignatureHeader};
use super::{objects, store, Blocklist};
use crate::comics::PageId;
use crate::startup::Services;

/// A request to an inbox, as the web layer hands it over.
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    /// Header names in lower case; repeated headers joined with ", ".
    pub headers: &'a HashMap<String, String>,
    pub body: &'a [u8],
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("not signed as we need: {0}")]
    Unsigned(SigError),
    #[error("the signer's key cannot be had: {0}")]
    Key(PeerError),
    #[error("refused: {0}")]
    Forbidden(&'static str),
    #[error("not an activity: {0}")]
    Bad(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What became of an activity.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done(&'static str),
    Ignored(&'static str),
}

fn id_of(value: &Value) -> Option<&str> {
    value.as_str().or_else(|| value["id"].as_str())
}

fn host_of(uri: &str) -> Option<String> {
    url::Url::parse(uri).ok().and_then(|u| {
        u.host_str()
            .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
    })
}

pub async fn receive(services: &Services, incoming: Incoming<'_>) -> Result<Outcome, InboxError> {
    let activity: Value =
        serde_json::from_slice(incoming.body).map_err(|_| InboxError::Bad("not JSON"))?;
    let kind = activity["type"]
        .as_str()
        .ok_or(InboxError::Bad("no type"))?;
    let actor_id = id_of(&activity["actor"]).ok_or(InboxError::Bad("no actor"))?;
    let db = &services.db;
    let blocked = Blocklist::load(db).await?;
    if blocked.blocks(actor_id) {
        return Err(InboxError::Forbidden("blocked"));
    }

    // Mastodon tells every server it ever talked to when an account is
    // deleted, signed with a key nobody can fetch any more. Unless that
    // account follows us there is nothing to do: no fetch, no work.
    if kind == "Delete"
        && id_of(&activity["object"]) == Some(actor_id)
        && !store::is_follower(db, actor_id).await?
    {
        return Ok(Outcome::Ignored("a stranger's account deleted"));
    }

    // The signature, before anything is believed.
    let header = |name: &str| incoming.headers.get(name).map(String::as_str);
    let parsed =
        SignatureHeader::parse(header("signature").ok_or(InboxError::Unsigned(SigError::Missing))?)
            .map_err(InboxError::Unsigned)?;
    parsed
        .check_coverage(!incoming.body.is_empty())
        .map_err(InboxError::Unsigned)?;
    if !header("date").is_some_and(|d| signature::date_is_fresh(d, crate::db::now())) {
        return Err(InboxError::Unsigned(SigError::Expired));
    }
    if !header("digest").is_some_and(|d| signature::digest_matches(d, incoming.body)) {
        return Err(InboxError::Unsigned(SigError::Digest));
    }
    let signed = parsed
        .signing_string(incoming.method, incoming.path_and_query, header)
        .map_err(InboxError::Unsigned)?;
    if host_of(&parsed.key_id) != host_of(actor_id) {
        return Err(InboxError::Forbidden("signed by another server"));
    }
    let site = crate::site::SiteData::load(db, &services.assets).await?;
    let fediverse = &services.fediverse;
    let key = fediverse.key(db).await?;
    let own_key_id = site
        .series
        .first()
        .map(|s| fediverse.ids.key_id(&s.slug))
        .unwrap_or_default();
    let signer = Signer {
        key: &key,
        key_id: &own_key_id,
    };
    let remote = match fediverse
        .peers
        .actor_for_key(&parsed.key_id, &signer, false)
        .await
    {
        Ok(remote) => remote,
        // Mastodon announces a deleted account by a Delete signed with a key
        // nobody can fetch any more: drop the follower, say thanks.
        Err(PeerError::Status(404 | 410))
            if kind == "Delete" && id_of(&activity["object"]) == Some(actor_id) =>
        {
            store::remove_follower(db, None, actor_id).await?;
            return Ok(Outcome::Done("account deleted"));
        }
        Err(error) => return Err(InboxError::Key(error)),
    };
    let remote = if remote.key.verify(signed.as_bytes(), &parsed.signature) {
        remote
    } else {
        // The key may have been rotated since we cached it.
        let fresh = fediverse
            .peers
            .actor_for_key(&parsed.key_id, &signer, true)
            .await
            .map_err(InboxError::Key)?;
        if !fresh.key.verify(signed.as_bytes(), &parsed.signature) {
            return Err(InboxError::Unsigned(SigError::Invalid));
        }
        fresh
    };
    if remote.id != actor_id {
        return Err(InboxError::Forbidden(
            "signed by someone else than its actor",
        ));
    }
    if blocked.blocks_handle(&remote.handle) {
        return Err(InboxError::Forbidden("blocked"));
    }
    metrics::counter!("halftone_fediverse_received_total", "type" => kind.to_owned()).increment(1);
    tracing::info!(kind, actor = %remote.id, "fediverse: activity received");

    match kind {
        "Follow" => follow(services, &site, &remote, &activity).await,
        "Undo" => undo(services, &site, &remote, &activity["object"]).await,
        "Like" | "Announce" => {
            let Some(page) = id_of(&activity["object"]).and_then(|o| fediverse.ids.page_of(o))
            else {
                return Ok(Outcome::Ignored("not one of our pages"));
            };
            let uri = activity["id"].as_str().ok_or(InboxError::Bad("no id"))?;
            if uri.len() > store::MAX_URI {
                return Err(InboxError::Bad("id too long"));
            }
            let kind = if kind == "Like" { "like" } else { "boost" };
            match store::add_reaction(db, page, kind, &remote.id, uri, crate::db::now()).await {
                Ok(_) => Ok(Outcome::Done("counted")),
                // A page that no longer exists (foreign key): nothing to count.
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                    Ok(Outcome::Ignored("no such page"))
                }
                Err(e) => Err(e.into()),
            }
        }
        "Create" => reply(services, &site, &remote, &activity["object"]).await,
        "Delete" => {
            let Some(object) = id_of(&activity["object"]) else {
                return Ok(Outcome::Ignored("nothing named"));
            };
            if object == remote.id {
                store::remove_follower(db, None, &remote.id).await?;
                return Ok(Outcome::Done("account deleted"));
            }
            if host_of(object) != host_of(&remote.id) {
                return Err(InboxError::Forbidden("deleting another server's object"));
            }
            let gone = crate::comments::withdraw_by_source(db, object, crate::db::now()).await?;
            if gone {
                services.content_changed().await;
            }
            Ok(if gone {
                Outcome::Done("reply withdrawn")
            } else {
                Outcome::Ignored("unknown object")
            })
        }
        _ => Ok(Outcome::Ignored("not an activity we act on")),
    }
}

async fn follow(
    services: &Services,
    site: &crate::site::SiteData,
    remote: &RemoteActor,
    activity: &Value,
) -> Result<Outcome, InboxError> {
    let fediverse = &services.fediverse;
    let Some(slug) = id_of(&activity["object"]).and_then(|o| fediverse.ids.slug_of(o)) else {
        return Ok(Outcome::Ignored("not one of our actors"));
    };
    let Some(series) = site.series.iter().find(|s| s.slug == slug) else {
        return Ok(Outcome::Ignored("no such series"));
    };
    let follow_id = activity["id"].as_str().unwrap_or_default();
    if [remote.id.as_str(), remote.inbox.as_str(), follow_id]
        .iter()
        .chain(remote.shared_inbox.as_deref().iter())
        .any(|u| u.len() > store::MAX_URI)
    {
        return Err(InboxError::Bad("addresses too long"));
    }
    let now = crate::db::now();
    let actor = fediverse.ids.actor(slug);
    let accept_id = format!(
        "{actor}/accepts/{}",
        &hex::encode(sha2::Sha256::digest(
            format!("{}|{follow_id}", remote.id).as_bytes()
        ))[..24]
    );
    let accept = objects::accept(&accept_id, &actor, activity, &remote.id);
    let db = &services.db;
    // Pages are pushed from the first follower on.
    crate::comics::settings::compare_and_set(db, super::SINCE, "", &now.to_string()).await?;
    let mut tx = db.begin_write().await?;
    store::add_follower(
        &mut tx,
        &store::NewFollower {
            series_id: series.id.0,
            actor: &remote.id,
            inbox: &remote.inbox,
            shared_inbox: remote.shared_inbox.as_deref(),
            handle: &remote.handle,
            follow_id,
        },
        now,
    )
    .await?;
    // The Accept goes to the follower's own inbox. A repeated Follow (the
    // same id) is accepted once.
    store::queue_activity(
        &mut tx,
        &store::NewActivity {
            uri: &accept_id,
            kind: "Accept",
            series: series.id.0,
            page: None,
            body: &accept.to_string(),
        },
        std::slice::from_ref(&remote.inbox),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(follower = %remote.handle, series = slug, "fediverse: new follower");
    fediverse.wake();
    services
        .events
        .publish(super::TOPIC, serde_json::json!({}))
        .await;
    Ok(Outcome::Done("followed"))
}

async fn undo(
    services: &Services,
    site: &crate::site::SiteData,
    remote: &RemoteActor,
    object: &Value,
) -> Result<Outcome, InboxError> {
    let db = &services.db;
    let fediverse = &services.fediverse;
    match object["type"].as_str() {
        Some("Follow") => {
            let series = id_of(&object["object"])
                .and_then(|o| fediverse.ids.slug_of(o))
                .and_then(|slug| site.series.iter().find(|s| s.slug == slug))
                .map(|s| s.id.0);
            store::remove_follower(db, series, &remote.id).await?;
            Ok(Outcome::Done("unfollowed"))
        }
        _ => {
            let Some(id) = id_of(object) else {
                return Ok(Outcome::Ignored("nothing named"));
            };
            if store::remove_reaction(db, id, &remote.id).await? {
                Ok(Outcome::Done("reaction taken back"))
            } else {
                Ok(Outcome::Ignored("unknown object"))
            }
        }
    }
}

/// A reply to one of our pages: into the moderation queue.
async fn reply(
    services: &Services,
    site: &crate::site::SiteData,
    remote: &RemoteActor,
    note: &Value,
) -> Result<Outcome, InboxError> {
    if note["type"].as_str() != Some("Note") {
        return Ok(Outcome::Ignored("not a note"));
    }
    let Some(page) = id_of(&note["inReplyTo"]).and_then(|to| services.fediverse.ids.page_of(to))
    else {
        return Ok(Outcome::Ignored("not a reply to our pages"));
    };
    if id_of(&note["attributedTo"]) != Some(remote.id.as_str()) {
        return Err(InboxError::Forbidden("a note attributed to someone else"));
    }
    let Some(id) = note["id"].as_str() else {
        return Err(InboxError::Bad("a note without an id"));
    };
    if host_of(id) != host_of(&remote.id) || id.len() > 300 {
        return Err(InboxError::Forbidden("a note from another server"));
    }
    if !site.settings.comments.enabled {
        return Ok(Outcome::Ignored("comments are off"));
    }
    let db = &services.db;
    let now = crate::db::now();
    let Some(target) = crate::comments::visible_target(db, page, now).await? else {
        return Ok(Outcome::Ignored("no such page"));
    };
    if target.comments_closed != 0 {
        return Ok(Outcome::Ignored("comments closed on this page"));
    }
    let text = text_of(note["content"].as_str().unwrap_or_default());
    if text.is_empty() {
        return Ok(Outcome::Ignored("an empty reply"));
    }
    let body: String = text.chars().take(4000).collect();
    let reason = format!("from the fediverse: {}", remote.handle);
    let mut conn = db.pool().acquire().await?;
    let inserted = crate::comments::insert(
        &mut conn,
        &crate::comments::NewComment {
            page_id: PageId(target.id.0),
            parent_id: None,
            kind: crate::comments::Kind::Comment,
            status: crate::comments::Status::Pending,
            author_name: &remote.name,
            author_email: "",
            user_id: None,
            body: &body,
            reason: &reason,
            notify: false,
            edit_hash: "",
            source: Some(id),
            created_at: now,
        },
    )
    .await;
    match inserted {
        Ok(comment) => {
            tracing::info!(comment, page = page.0, from = %remote.handle, "fediverse: reply held for moderation");
            Ok(Outcome::Done("held for moderation"))
        }
        // The same note again (a retry): it is in the queue already.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Ok(Outcome::Ignored("known reply"))
        }
        Err(e) => Err(e.into()),
    }
}

/// A note's HTML as the plain text a comment holds: paragraphs and line
/// breaks kept, every tag dropped, the leading mentions of us removed.
pub fn text_of(html: &str) -> String {
    let spaced = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "</p>\n\n");
    let stripped = ammonia::Builder::empty().clean(&spaced).to_string();
    let text = html_escape::decode_html_entities(&stripped).into_owned();
    let text = text.trim();
    // "@comic@example.com @other nice page!" → "nice page!"
    let mut rest = text;
    while let Some(word) = rest
        .split_whitespace()
        .next()
        .filter(|w| w.starts_with('@'))
    {
        rest = rest[word.len()..].trim_start();
    }
    rest.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn note_html_becomes_comment_text() {
        assert_eq!(
            text_of("<p><span class=\"h-card\"><a href=\"https://x/@comic\">@<span>comic</span></a></span> Great page &amp; <b>art</b>!</p><p>Second<br>line</p><script>alert(1)</script>"),
            "Great page & art!\n\nSecond\nline"
        );
        assert_eq!(text_of(""), "");
    }
}
