//! `halftone import --from disqus EXPORT.xml`: a Disqus export's comments
//! into the pages they were made on.
//!
//! Disqus sends its export (Admin → Community → Export) as one XML file:
//! `<thread dsq:id>` elements (a page: `<link>`, `<id>`, `<title>`), then
//! `<post dsq:id>` elements (a comment: `<message>` in HTML, `<createdAt>`,
//! `<isDeleted>`, `<isSpam>`, `<author>` with `<name>` and `<email>`, a
//! `<thread dsq:id>` reference and an optional `<parent dsq:id>`). Known
//! quirks: threads without a link, and posts whose thread is not in the file.
//!
//! A thread's page is found by its old address (the `redirects` a comic's
//! import made, so `/?p=16` works), by `/comic/{slug}` (also under
//! `/series/{series}`), or by the address's last part as a page's slug when
//! only one page has it. Comments of threads that match no page are listed,
//! not guessed. Everything is written in one transaction; `source` keeps a
//! re-run from adding anything twice.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;
use quick_xml::events::Event;

use super::import::{ForeignComment, ForeignStatus};
use crate::comics::PageId;
use crate::db::Db;

#[derive(Debug, Default, Clone)]
struct Thread {
    link: String,
    ident: String,
    title: String,
}

#[derive(Debug, Default, Clone)]
struct Post {
    id: String,
    thread: String,
    parent: Option<String>,
    message: String,
    created_at: String,
    deleted: bool,
    spam: bool,
    name: String,
    email: String,
}

#[derive(Debug, Default)]
pub struct Export {
    threads: HashMap<String, Thread>,
    posts: Vec<Post>,
}

/// What an import did (or, with `--dry-run`, would do).
#[derive(Debug, Default)]
pub struct Report {
    pub dry_run: bool,
    pub comments: usize,
    pub pages: usize,
    pub already_there: usize,
    /// Threads that match no page: (link or id, comments).
    pub unmatched: Vec<(String, usize)>,
    /// Posts whose thread is not in the export.
    pub orphans: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} from Disqus: {} comments on {} pages ({} imported before).",
            if self.dry_run {
                "Would import"
            } else {
                "Imported"
            },
            self.comments,
            self.pages,
            self.already_there
        )?;
        if !self.unmatched.is_empty() {
            writeln!(f, "Threads that match no page (not imported):")?;
            for (link, n) in &self.unmatched {
                writeln!(f, "  {link} ({n} comments)")?;
            }
        }
        if self.orphans > 0 {
            writeln!(
                f,
                "{} comments belong to threads missing from the export (not imported).",
                self.orphans
            )?;
        }
        Ok(())
    }
}

/// Reads the export, streaming (large forums export hundreds of MB).
pub fn read(path: &Path) -> anyhow::Result<Export> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(file));
    let mut export = Export::default();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut thread: Option<(String, Thread)> = None;
    let mut post: Option<Post> = None;
    let mut seen_root = false;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).with_context(|| {
            format!(
                "{}: not well-formed XML near byte {}",
                path.display(),
                reader.error_position()
            )
        })?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let id = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"dsq:id")
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                    .unwrap_or_default();
                let parent = stack.last().map(String::as_str).unwrap_or("");
                match (parent, name.as_str()) {
                    ("", "disqus") => seen_root = true,
                    ("disqus", "thread") => thread = Some((id, Thread::default())),
                    ("disqus", "post") => {
                        post = Some(Post {
                            id,
                            ..Post::default()
                        })
                    }
                    ("post", "thread") => {
                        if let Some(p) = &mut post {
                            p.thread = id;
                        }
                    }
                    ("post", "parent") => {
                        if let Some(p) = &mut post {
                            p.parent = Some(id).filter(|i| !i.is_empty());
                        }
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                    text.clear();
                }
            }
            Event::Text(t) => text.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0)?),
            Event::CData(c) => text.push_str(&c.xml_content(quick_xml::XmlVersion::Implicit1_0)?),
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                text.push_str(&entity(&name));
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let parent = stack.last().map(String::as_str).unwrap_or("");
                let value = std::mem::take(&mut text);
                match (parent, name.as_str()) {
                    ("disqus", "thread") => {
                        if let Some((id, t)) = thread.take() {
                            export.threads.insert(id, t);
                        }
                    }
                    ("disqus", "post") => export.posts.extend(post.take()),
                    ("thread", field) if stack.len() == 2 => {
                        if let Some((_, t)) = &mut thread {
                            match field {
                                "link" => t.link = value.trim().to_owned(),
                                "id" => t.ident = value.trim().to_owned(),
                                "title" => t.title = value.trim().to_owned(),
                                _ => {}
                            }
                        }
                    }
                    ("post", field) => {
                        if let Some(p) = &mut post {
                            match field {
                                "message" => p.message = value,
                                "createdAt" => p.created_at = value.trim().to_owned(),
                                "isDeleted" => p.deleted = value.trim() == "true",
                                "isSpam" => p.spam = value.trim() == "true",
                                _ => {}
                            }
                        }
                    }
                    ("author", field) => {
                        if let Some(p) = &mut post {
                            match field {
                                "name" => p.name = value.trim().to_owned(),
                                "email" => p.email = value.trim().to_owned(),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        anyhow::bail!(
            "{}: not a Disqus export (no <disqus> element)",
            path.display()
        );
    }
    Ok(export)
}

/// The five XML entities and character references.
fn entity(name: &str) -> String {
    match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code = name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()));
            code.and_then(char::from_u32)
                .map(String::from)
                .unwrap_or_else(|| format!("&{name};"))
        }
    }
}

impl Post {
    fn foreign(&self) -> ForeignComment {
        let created_at = chrono::DateTime::parse_from_rfc3339(&self.created_at)
            .map(|d| d.timestamp())
            .unwrap_or(0);
        ForeignComment {
            source: format!("disqus:{}", self.id),
            parent_source: self.parent.as_ref().map(|p| format!("disqus:{p}")),
            author_name: self.name.clone(),
            author_email: self.email.to_lowercase(),
            body: crate::import::foreign::text::html_to_text(&self.message),
            created_at,
            status: if self.spam {
                ForeignStatus::Spam
            } else if self.deleted {
                ForeignStatus::Deleted
            } else {
                ForeignStatus::Approved
            },
        }
    }
}

/// The page a thread was about, if one can be told for sure.
async fn page_for(db: &Db, thread: &Thread) -> Result<Option<PageId>, sqlx::Error> {
    for candidate in [&thread.link, &thread.ident] {
        let Some(path) = path_of(candidate) else {
            continue;
        };
        let from = crate::comics::redirects::normalize_url(&path);
        let redirected: Option<(Option<i64>, String)> =
            sqlx::query_as("SELECT page_id, to_path FROM redirects WHERE from_path = ?")
                .bind(&from)
                .fetch_optional(db)
                .await?;
        // A redirect names the page, or (made by hand) the page's address.
        let path = match redirected {
            Some((Some(page), _)) => return Ok(Some(PageId(page))),
            Some((None, to)) => to,
            None => path,
        };
        let parts: Vec<&str> = path
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let by_slug = |series: Option<&str>, slug: &str| {
            let (series, slug) = (series.map(str::to_owned), slug.to_owned());
            async move {
                let ids: Vec<i64> = match series {
                    Some(series) => sqlx::query_scalar(
                        "SELECT p.id FROM pages p JOIN series s ON s.id = p.series_id WHERE s.slug = ? AND p.slug = ?",
                    )
                    .bind(series)
                    .bind(slug)
                    .fetch_all(db)
                    .await?,
                    None => sqlx::query_scalar("SELECT id FROM pages WHERE slug = ?")
                        .bind(slug)
                        .fetch_all(db)
                        .await?,
                };
                Ok::<_, sqlx::Error>(match ids.as_slice() {
                    [one] => Some(PageId(*one)),
                    _ => None,
                })
            }
        };
        let found = match parts.as_slice() {
            ["series", series, "comic", slug] => by_slug(Some(series), slug).await?,
            [.., last] => by_slug(None, last).await?,
            [] => None,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The path and query of an address (`https://host/comic/x/?a=1` → `/comic/x/?a=1`).
fn path_of(address: &str) -> Option<String> {
    let address = address.trim();
    if address.starts_with('/') {
        return Some(address.to_owned());
    }
    let url = url::Url::parse(address).ok()?;
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    Some(path)
}

/// Reads `path` and writes its comments under their pages (see the module).
pub async fn import(db: &Db, path: &Path, dry_run: bool) -> anyhow::Result<Report> {
    let export = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || read(&path)).await??
    };
    let mut report = Report {
        dry_run,
        ..Report::default()
    };
    let mut by_thread: HashMap<&str, Vec<&Post>> = HashMap::new();
    for post in &export.posts {
        if export.threads.contains_key(&post.thread) {
            by_thread
                .entry(post.thread.as_str())
                .or_default()
                .push(post);
        } else {
            report.orphans += 1;
        }
    }
    let mut threads: Vec<_> = by_thread.into_iter().collect();
    threads.sort_by(|a, b| a.0.cmp(b.0));
    let mut plan: Vec<(PageId, Vec<ForeignComment>)> = Vec::new();
    for (id, posts) in threads {
        let thread = &export.threads[id];
        match page_for(db, thread).await? {
            Some(page) => plan.push((page, posts.iter().map(|p| p.foreign()).collect())),
            None => report.unmatched.push((
                if thread.link.is_empty() {
                    format!("thread {id} “{}”", thread.title)
                } else {
                    thread.link.clone()
                },
                posts.len(),
            )),
        }
    }
    report.pages = plan.len();
    if dry_run {
        report.comments = plan.iter().map(|(_, c)| c.len()).sum();
        return Ok(report);
    }
    let mut tx = db.begin_write().await?;
    for (page, comments) in &plan {
        let written = super::import::write(&mut tx, *page, comments).await?;
        report.comments += written;
        report.already_there += comments.len() - written;
    }
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn entities_and_addresses() {
        assert_eq!(super::entity("amp"), "&");
        assert_eq!(super::entity("#233"), "é");
        assert_eq!(super::entity("#x1F600"), "😀");
        assert_eq!(
            super::path_of("https://old.example/comic/p1/?x=1").as_deref(),
            Some("/comic/p1/?x=1")
        );
        assert_eq!(super::path_of("not a url"), None);
    }
}
