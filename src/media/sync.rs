//! `halftone media sync --to s3://bucket/prefix`: copies every media file of
//! this site into another store (a bucket for a cluster, or a folder back
//! from one), so a site can move its media without downtime.
//!
//! Resumable: what the target already holds is listed first and skipped
//! when its checksum matches (a bucket's ETag is the MD5 of a single-part
//! upload; a folder's file is read back and compared by SHA-256). Every copy
//! is verified the same way; a file that does not verify is written again,
//! then reported. Nothing is deleted from either side.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use futures_util::StreamExt;
use md5::Md5;
use sha2::{Digest, Sha256};

use super::store::{Listed, MediaStore};

#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub copied: usize,
    pub already: usize,
    pub bytes_copied: u64,
    /// Files that did not verify after two tries, with the reason.
    pub failed: Vec<String>,
}

/// Progress callbacks: bytes as they are handled.
pub trait Progress: Sync {
    fn start(&self, files: usize, bytes: u64);
    fn add(&self, bytes: u64);
}

/// Copies `from` into `to` (see the module's comment). `parallel` uploads
/// run at once.
pub async fn sync(
    from: &MediaStore,
    to: &MediaStore,
    parallel: usize,
    progress: &dyn Progress,
) -> anyhow::Result<Report> {
    let source = from.list().await.context("cannot list the media to copy")?;
    let target: HashMap<String, Listed> = to
        .list()
        .await
        .context("cannot list the target")?
        .into_iter()
        .map(|l| (l.name.clone(), l))
        .collect();
    progress.start(source.len(), source.iter().map(|f| f.size).sum());
    let copied = AtomicUsize::new(0);
    let already = AtomicUsize::new(0);
    let bytes_copied = AtomicU64::new(0);
    let failed = Mutex::new(Vec::new());
    futures_util::stream::iter(source.iter())
        .for_each_concurrent(parallel.max(1), |file| {
            let target = target.get(&file.name);
            let (copied, already, bytes_copied, failed) = (&copied, &already, &bytes_copied, &failed);
            async move {
                match copy_one(from, to, file, target).await {
                    Ok(Outcome::Already) => {
                        already.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Outcome::Copied) => {
                        copied.fetch_add(1, Ordering::Relaxed);
                        bytes_copied.fetch_add(file.size, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::error!(file = %file.name, error = %format!("{e:#}"), "media sync: not copied");
                        if let Ok(mut failed) = failed.lock() {
                            failed.push(format!("{}: {e:#}", file.name));
                        }
                    }
                }
                progress.add(file.size);
            }
        })
        .await;
    Ok(Report {
        files: source.len(),
        copied: copied.into_inner(),
        already: already.into_inner(),
        bytes_copied: bytes_copied.into_inner(),
        failed: failed.into_inner().unwrap_or_default(),
    })
}

enum Outcome {
    Already,
    Copied,
}

async fn copy_one(
    from: &MediaStore,
    to: &MediaStore,
    file: &Listed,
    target: Option<&Listed>,
) -> anyhow::Result<Outcome> {
    let bytes = from
        .get(&file.name)
        .await?
        .with_context(|| format!("{} vanished from the source", file.name))?;
    let sums = Sums::of(&bytes);
    if let Some(there) = target.filter(|t| t.size == bytes.len() as u64) {
        if verified(to, &file.name, there.etag.as_deref(), &sums).await? {
            return Ok(Outcome::Already);
        }
    }
    for attempt in 1..=2 {
        let etag = to.put_replacing(&file.name, bytes.clone()).await?;
        if verified(to, &file.name, etag.as_deref(), &sums).await? {
            return Ok(Outcome::Copied);
        }
        tracing::warn!(file = %file.name, attempt, "media sync: the copy did not verify; writing it again");
    }
    anyhow::bail!("the copy's checksum differs from the original's")
}

struct Sums {
    md5: String,
    sha256: [u8; 32],
}

impl Sums {
    fn of(bytes: &[u8]) -> Self {
        Self {
            md5: hex::encode(Md5::digest(bytes)),
            sha256: Sha256::digest(bytes).into(),
        }
    }
}

/// Whether the target's copy of `name` has the source's bytes: by its MD5
/// ETag when it has one, else by reading it back.
async fn verified(
    to: &MediaStore,
    name: &str,
    etag: Option<&str>,
    sums: &Sums,
) -> anyhow::Result<bool> {
    if let Some(etag) = etag.filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Ok(etag.eq_ignore_ascii_case(&sums.md5));
    }
    Ok(to
        .get(name)
        .await?
        .is_some_and(|copy| <[u8; 32]>::from(Sha256::digest(&copy)) == sums.sha256))
}
