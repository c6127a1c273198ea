//! The JSON we publish: actors (one per series), notes (one per page) and
//! the activities that carry them. Shapes follow what Mastodon renders well:
//! a `Note` with `Document` attachments (alt text in `name`), a content
//! warning as `sensitive` + `summary`, hashtags as `Hashtag` tags.

use serde_json::{json, Value};
use sha2::Digest as _;

use crate::comics::catalog::CatalogPage;
use crate::comics::{PageId, Series};
use crate::site::{SiteData, Urls};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The JSON-LD context of everything we send: ActivityStreams, the security
/// vocabulary (keys) and the extensions Mastodon reads (`sensitive`,
/// `Hashtag`, `discoverable`, `PropertyValue`).
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// Our addresses under `/ap/`.
#[derive(Debug, Clone)]
pub struct Ids {
    base: String,
}

impl Ids {
    pub fn new(public_url: &url::Url) -> Self {
        Self {
            base: public_url.as_str().trim_end_matches('/').to_owned(),
        }
    }

    /// `host[:port]`, the domain part of handles.
    pub fn authority(&self) -> String {
        let url = url::Url::parse(&self.base).ok();
        url.as_ref()
            .and_then(|u| {
                u.host_str()
                    .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
            })
            .unwrap_or_default()
    }

    pub fn actor(&self, slug: &str) -> String {
        format!("{}/ap/actors/{slug}", self.base)
    }
    pub fn key_id(&self, slug: &str) -> String {
        format!("{}#main-key", self.actor(slug))
    }
    pub fn inbox(&self, slug: &str) -> String {
        format!("{}/inbox", self.actor(slug))
    }
    pub fn outbox(&self, slug: &str) -> String {
        format!("{}/outbox", self.actor(slug))
    }
    pub fn followers(&self, slug: &str) -> String {
        format!("{}/followers", self.actor(slug))
    }
    pub fn following(&self, slug: &str) -> String {
        format!("{}/following", self.actor(slug))
    }
    pub fn shared_inbox(&self) -> String {
        format!("{}/ap/inbox", self.base)
    }
    pub fn note(&self, page: PageId) -> String {
        format!("{}{}", self.notes_prefix(), page.0)
    }
    pub fn notes_prefix(&self) -> String {
        format!("{}/ap/notes/", self.base)
    }
    pub fn handle(&self, slug: &str) -> String {
        format!("@{slug}@{}", self.authority())
    }

    /// The page a note address of ours names.
    pub fn page_of(&self, uri: &str) -> Option<PageId> {
        let rest = uri.strip_prefix(&self.base)?.strip_prefix("/ap/notes/")?;
        rest.parse().ok().map(PageId)
    }

    /// The series slug an actor address of ours names.
    pub fn slug_of<'a>(&self, uri: &'a str) -> Option<&'a str> {
        let rest = uri.strip_prefix(&self.base)?.strip_prefix("/ap/actors/")?;
        (!rest.is_empty() && !rest.contains('/')).then_some(rest)
    }
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// A series as an actor (`Person`: Mastodon shows `Service` as a bot).
pub fn actor(site: &SiteData, series: &Series, urls: &Urls, ids: &Ids, public_pem: &str) -> Value {
    let slug = &series.slug;
    let primary = site.series.first().is_some_and(|s| s.id == series.id);
    let name = if primary || series.title.is_empty() {
        if site.settings.title.is_empty() {
            series.title.clone()
        } else {
            site.settings.title.clone()
        }
    } else {
        series.title.clone()
    };
    let about = [
        series.tagline.as_str(),
        series.description.as_str(),
        site.settings.description.as_str(),
    ]
    .into_iter()
    .find(|t| !t.trim().is_empty())
    .unwrap_or("");
    let home = urls.absolute(&urls.home(series.id));
    let mut value = json!({
        "@context": context(),
        "id": ids.actor(slug),
        "type": "Person",
        "preferredUsername": slug,
        "name": name,
        "summary": format!("<p>{}</p><p><a href=\"{home}\">{home}</a></p>", escape(about)),
        "url": home,
        "inbox": ids.inbox(slug),
        "outbox": ids.outbox(slug),
        "followers": ids.followers(slug),
        "following": ids.following(slug),
        "endpoints": { "sharedInbox": ids.shared_inbox() },
        "manuallyApprovesFollowers": false,
        "discoverable": true,
        "indexable": true,
        "attachment": [{
            "type": "PropertyValue",
            "name": "Website",
            "value": format!("<a href=\"{home}\" rel=\"me\">{}</a>", escape(home.trim_start_matches("https://").trim_start_matches("http://")))
        }],
        "publicKey": {
            "id": ids.key_id(slug),
            "owner": ids.actor(slug),
            "publicKeyPem": public_pem,
        },
    });
    if let Some(logo) = &site.logo {
        let picture = crate::media::view::Picture::new(logo, "", false);
        value["icon"] = json!({
            "type": "Image",
            "mediaType": mime_guess::from_path(&picture.fallback).first_or_octet_stream().essence_str(),
            "url": urls.absolute(&picture.fallback),
        });
    }
    value
}

/// A page as a `Note`. `published` is when it went live.
pub fn note(page: &CatalogPage, series: &Series, urls: &Urls, ids: &Ids, language: &str) -> Value {
    let p = &page.page;
    let link = urls.absolute(&urls.comic(series.id, &p.slug));
    let mut html = format!(
        "<p>{}</p><p><a href=\"{link}\">{link}</a></p>",
        escape(&p.title)
    );
    let tags: Vec<&crate::comics::PageLabel> =
        page.labels.iter().filter(|l| l.kind == "tag").collect();
    let mut tag_objects = Vec::new();
    if !tags.is_empty() {
        let mut line = Vec::new();
        for tag in tags {
            let name: String = tag
                .name
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                continue;
            }
            let href = urls.absolute(&format!("/tag/{}", tag.slug));
            line.push(format!(
                "<a href=\"{href}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                escape(&name)
            ));
            tag_objects
                .push(json!({ "type": "Hashtag", "href": href, "name": format!("#{name}") }));
        }
        if !line.is_empty() {
            html.push_str(&format!("<p>{}</p>", line.join(" ")));
        }
    }
    let attachments: Vec<Value> = page
        .images
        .iter()
        .map(|image| {
            let picture = crate::media::view::Picture::new(&image.media, &image.alt_text, false);
            json!({
                "type": "Document",
                "mediaType": mime_guess::from_path(&picture.fallback).first_or_octet_stream().essence_str(),
                "url": urls.absolute(&picture.fallback),
                "name": image.alt_text,
                "width": image.media.width,
                "height": image.media.height,
            })
        })
        .collect();
    let (warning, gated) = p.warning(Some(series));
    let warning = warning.map_or(String::new(), |(text, _)| text.to_owned());
    let summary = match (warning.is_empty(), gated) {
        (false, true) => Value::from(format!("18+ · {warning}")),
        (false, false) => Value::from(warning),
        (true, true) => Value::from("18+"),
        (true, false) => Value::Null,
    };
    let language = if language.trim().is_empty() {
        "en"
    } else {
        language.trim()
    };
    json!({
        "id": ids.note(p.id),
        "type": "Note",
        "attributedTo": ids.actor(&series.slug),
        "content": html,
        "contentMap": { language: html },
        "url": link,
        "published": rfc3339(p.live_at.unwrap_or(0)),
        "to": [PUBLIC],
        "cc": [ids.followers(&series.slug)],
        "sensitive": !summary.is_null(),
        "summary": summary,
        "attachment": attachments,
        "tag": tag_objects,
    })
}

/// A short fingerprint of what followers were told of a page: an edit that
/// changes it sends an Update.
pub fn fingerprint(note: &Value) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(note.to_string().as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// Wraps an object in an activity (`Create`, `Update`, `Delete`).
pub fn activity(
    kind: &str,
    id: &str,
    actor: &str,
    followers: &str,
    object: Value,
    now: i64,
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "published": rfc3339(now),
        "to": [PUBLIC],
        "cc": [followers],
        "object": object,
    })
}

/// What a deleted page becomes.
pub fn tombstone(id: &str, now: i64) -> Value {
    json!({ "id": id, "type": "Tombstone", "deleted": rfc3339(now) })
}

/// `Accept` of a `Follow` (sent to the follower alone).
pub fn accept(id: &str, actor: &str, follow: &Value, follower: &str) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": "Accept",
        "actor": actor,
        "to": [follower],
        "object": follow,
    })
}

/// A page of a series as `Create` in its outbox.
pub fn create_for_outbox(note: Value, ids: &Ids, slug: &str) -> Value {
    let id = format!("{}/create", note["id"].as_str().unwrap_or_default());
    let published = note["published"].clone();
    let mut value = activity(
        "Create",
        &id,
        &ids.actor(slug),
        &ids.followers(slug),
        note,
        0,
    );
    value["published"] = published;
    if let Value::Object(map) = &mut value {
        map.remove("@context");
    }
    value
}

/// The WebFinger answer (JRD) for a series.
pub fn webfinger(ids: &Ids, slug: &str, home: &str) -> Value {
    json!({
        "subject": format!("acct:{slug}@{}", ids.authority()),
        "aliases": [ids.actor(slug), home],
        "links": [
            { "rel": "self", "type": super::peers::AS_TYPE, "href": ids.actor(slug) },
            { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": home }
        ]
    })
}
