//! Comments that move in with a comic (WordPress exports, Disqus exports):
//! written with their page, their thread and their status kept, once
//! (`source` is unique, so a re-run adds nothing).

use sqlx::AnyConnection;

use super::{Kind, NewComment, Status};
use crate::comics::PageId;

/// A comment as another system kept it, already decoded to plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignComment {
    /// `wordpress:12`, `disqus:123456`: unique per source system.
    pub source: String,
    pub parent_source: Option<String>,
    pub author_name: String,
    pub author_email: String,
    pub body: String,
    pub created_at: i64,
    /// Approved there (shown); otherwise kept as pending, or spam.
    pub status: ForeignStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignStatus {
    Approved,
    Pending,
    Spam,
    Deleted,
}

impl ForeignStatus {
    fn ours(self) -> Status {
        match self {
            ForeignStatus::Approved => Status::Approved,
            ForeignStatus::Pending => Status::Pending,
            ForeignStatus::Spam => Status::Spam,
            ForeignStatus::Deleted => Status::Deleted,
        }
    }
}

/// Writes a page's comments in order (parents before replies); a reply
/// to a reply is attached to the thread's top comment (threads here are one
/// level deep). Returns how many were new.
pub async fn write(
    conn: &mut AnyConnection,
    page: PageId,
    comments: &[ForeignComment],
) -> Result<usize, sqlx::Error> {
    let mut sorted: Vec<&ForeignComment> = comments.iter().collect();
    sorted.sort_by_key(|c| c.created_at);
    let mut written = 0;
    for comment in sorted {
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM comments WHERE source = ?")
            .bind(&comment.source)
            .fetch_optional(&mut *conn)
            .await?;
        if existing.is_some() {
            continue;
        }
        let parent = match &comment.parent_source {
            Some(source) => top_of_thread(conn, source).await?,
            None => None,
        };
        let body = truncate(&comment.body, super::MAX_BODY * 4);
        let name = truncate(
            if comment.author_name.trim().is_empty() {
                "Anonymous"
            } else {
                comment.author_name.trim()
            },
            super::MAX_NAME,
        );
        super::insert(
            conn,
            &NewComment {
                page_id: page,
                parent_id: parent,
                kind: Kind::Comment,
                status: comment.status.ours(),
                author_name: &name,
                // Another system's address may be longer than any real
                // one (and than the column): then it is dropped, not fatal.
                author_email: &Some(comment.author_email.trim().to_lowercase())
                    .filter(|e| e.len() <= 254)
                    .unwrap_or_default(),
                user_id: None,
                body: &body,
                reason: "imported",
                notify: false,
                edit_hash: "",
                source: Some(&comment.source),
                created_at: comment.created_at,
            },
        )
        .await?;
        written += 1;
    }
    Ok(written)
}

/// The top-level comment of the thread `source` belongs to.
async fn top_of_thread(conn: &mut AnyConnection, source: &str) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, parent_id FROM comments WHERE source = ?")
            .bind(source)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(id, parent)| parent.unwrap_or(id)))
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
