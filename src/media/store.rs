//! Processed media and the `media` table. Files live in a [`MediaStore`]:
//! this machine's data folder (`data/media/ab/abcd…-800.webp`) or, for a
//! cluster, an S3-compatible bucket every node shares. Names are content
//! addressed in both, so a file once written never changes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::{path::Path as ObjectPath, ObjectStore};
use secrecy::ExposeSecret;
use sqlx::AnyConnection;

use super::Processed;
use crate::comics::MediaId;
use crate::config::{Config, MediaStoreKind};

/// Where media files are kept. Cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<Backend>,
}

enum Backend {
    Local(PathBuf),
    Object {
        store: Arc<dyn ObjectStore>,
        /// `s3://bucket/prefix`, for logs and the System page.
        label: String,
        public_url: Option<url::Url>,
    },
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// How a node answers `GET /media/…` for one file.
pub enum Served {
    File(PathBuf),
    Stream {
        size: u64,
        body: futures_util::stream::BoxStream<'static, Result<Bytes, object_store::Error>>,
    },
    Redirect(String),
}

impl MediaStore {
    /// The store `config` names (`[media.store]`).
    pub fn open(config: &Config) -> anyhow::Result<Self> {
        let s = &config.media.store;
        match s.kind {
            MediaStoreKind::Local => Ok(Self::local(config.media_dir())),
            MediaStoreKind::S3 => {
                let bucket = s
                    .bucket
                    .as_deref()
                    .context("media.store.bucket is not set")?;
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(s.allow_http)
                    // MinIO, Garage and moto address buckets by path, not by
                    // a bucket subdomain; AWS accepts both.
                    .with_virtual_hosted_style_request(false);
                if let Some(endpoint) = &s.endpoint {
                    builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
                }
                builder = builder.with_region(s.region.as_deref().unwrap_or("us-east-1"));
                if let Some(key) = &s.access_key_id {
                    builder = builder.with_access_key_id(key.expose_secret());
                }
                if let Some(secret) = &s.secret_access_key {
                    builder = builder.with_secret_access_key(secret.expose_secret());
                }
                let store = builder
                    .build()
                    .with_context(|| format!("cannot configure the media bucket {bucket}"))?;
                let prefix = s.prefix.as_deref().unwrap_or("").trim_matches('/');
                let label = format!("s3://{bucket}/{prefix}");
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
                };
                Ok(Self {
                    inner: Arc::new(Backend::Object {
                        store,
                        label,
                        public_url: s.public_url.clone(),
                    }),
                })
            }
        }
    }

    pub fn local(dir: PathBuf) -> Self {
        Self {
            inner: Arc::new(Backend::Local(dir)),
        }
    }

    /// A bucket given on the command line (`media sync --to s3://bucket/prefix`),
    /// with the endpoint and keys of `[media.store]` (or the AWS_* variables).
    pub fn from_url(config: &Config, target: &str) -> anyhow::Result<Self> {
        if let Some(path) = target
            .strip_prefix("file://")
            .or_else(|| (target.starts_with('/') || target.starts_with('.')).then_some(target))
        {
            return Ok(Self::local(PathBuf::from(path)));
        }
        let rest = target
            .strip_prefix("s3://")
            .with_context(|| format!("{target}: expected s3://bucket[/prefix] or a folder"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "{target}: no bucket named");
        let mut config = config.clone();
        config.media.store.kind = MediaStoreKind::S3;
        config.media.store.bucket = Some(bucket.to_owned());
        config.media.store.prefix = Some(prefix.to_owned());
        Self::open(&config)
    }

    pub fn describe(&self) -> String {
        match &*self.inner {
            Backend::Local(dir) => format!("local folder {}", dir.display()),
            Backend::Object { label, .. } => label.clone(),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(&*self.inner, Backend::Local(_))
    }

    /// Writes one file (`ab/abcd…-800.webp`) unless it is there already.
    pub async fn put(&self, rel: &str, bytes: Bytes) -> anyhow::Result<()> {
        if let Backend::Local(dir) = &*self.inner {
            if dir.join(rel).exists() {
                return Ok(());
            }
        }
        self.put_replacing(rel, bytes).await.map(|_| ())
    }

    /// Writes (or replaces) one file. Returns the bucket's ETag for it, which
    /// for a single-part upload is the MD5 of the bytes (None for a folder).
    pub async fn put_replacing(&self, rel: &str, bytes: Bytes) -> anyhow::Result<Option<String>> {
        match &*self.inner {
            Backend::Local(dir) => {
                let path = dir.join(rel);
                tokio::task::spawn_blocking(move || write_file(&path, &bytes))
                    .await?
                    .with_context(|| format!("cannot write media file {rel}"))?;
                Ok(None)
            }
            Backend::Object { store, label, .. } => {
                let put = store
                    .put(&ObjectPath::from(rel), bytes.into())
                    .await
                    .with_context(|| format!("cannot store {rel} in {label}"))?;
                Ok(put.e_tag.map(|t| t.trim_matches('"').to_owned()))
            }
        }
    }

    /// Writes every derived file of an image. Local files are each written
    /// atomically (temp file, fsync, rename), so a crash never leaves a
    /// half-written file under a name that means "complete"; an object PUT is
    /// atomic by itself.
    pub async fn write_processed(&self, processed: &Processed) -> anyhow::Result<()> {
        let dir = &processed.hash[..2];
        let puts = processed.files.iter().map(|(name, bytes)| {
            self.put_owned(format!("{dir}/{name}"), Bytes::from(bytes.clone()))
        });
        futures_util::future::try_join_all(puts).await?;
        Ok(())
    }

    async fn put_owned(&self, rel: String, bytes: Bytes) -> anyhow::Result<()> {
        self.put(&rel, bytes).await
    }

    /// [`write_processed`](Self::write_processed) from a blocking thread (the
    /// importer's and the demo's image workers).
    pub fn write_processed_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        processed: &Processed,
    ) -> anyhow::Result<()> {
        match &*self.inner {
            // Already on a blocking thread: write in place.
            Backend::Local(dir) => {
                let dir = dir.join(&processed.hash[..2]);
                for (name, bytes) in &processed.files {
                    let path = dir.join(name);
                    if !path.exists() {
                        write_file(&path, bytes)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                }
                Ok(())
            }
            Backend::Object { .. } => runtime.block_on(self.write_processed(processed)),
        }
    }

    /// [`get`](Self::get) from a blocking thread.
    pub fn get_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        rel: &str,
    ) -> anyhow::Result<Option<Bytes>> {
        match &*self.inner {
            Backend::Local(dir) => {
                let path = dir.join(rel);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes.into())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
            Backend::Object { .. } => runtime.block_on(self.get(rel)),
        }
    }

    /// Writes (or replaces) one file from a blocking thread (a restore).
    pub fn replace_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        rel: &str,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        match &*self.inner {
            Backend::Local(dir) => {
                let path = dir.join(rel);
                write_file(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
            }
            Backend::Object { store, label, .. } => runtime.block_on(async {
                store
                    .put(&ObjectPath::from(rel), Bytes::copy_from_slice(bytes).into())
                    .await
                    .with_context(|| format!("cannot store {rel} in {label}"))
                    .map(|_| ())
            }),
        }
    }

    /// Whether the variants of `hash` are stored (a re-import reuses them
    /// instead of decoding and resizing the source again).
    pub fn has_files_blocking(&self, runtime: &tokio::runtime::Handle, hash: &str) -> bool {
        let Some(prefix) = hash.get(..2) else {
            return false;
        };
        match &*self.inner {
            Backend::Local(dir) => std::fs::read_dir(dir.join(prefix)).is_ok_and(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with(hash))
                    .count()
                    >= 2
            }),
            Backend::Object { store, .. } => runtime.block_on(async {
                let path = ObjectPath::from(prefix);
                let mut listed = store.list(Some(&path));
                let mut n = 0;
                while let Some(Ok(meta)) = listed.next().await {
                    if meta
                        .location
                        .filename()
                        .is_some_and(|f| f.starts_with(hash))
                    {
                        n += 1;
                    }
                }
                n >= 2
            }),
        }
    }

    /// Removes every file of `hash` (an import that failed after writing
    /// them: no row names them). Returns how many were removed.
    pub async fn delete_hash(&self, hash: &str) -> anyhow::Result<usize> {
        let Some(prefix) = hash.get(..2) else {
            return Ok(0);
        };
        let names: Vec<String> = match &*self.inner {
            Backend::Local(dir) => std::fs::read_dir(dir.join(prefix))
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.starts_with(hash))
                        .collect()
                })
                .unwrap_or_default(),
            Backend::Object { store, .. } => {
                let mut names = Vec::new();
                let mut listed = store.list(Some(&ObjectPath::from(prefix)));
                while let Some(meta) = listed.next().await {
                    if let Some(name) = meta?.location.filename().filter(|f| f.starts_with(hash)) {
                        names.push(name.to_owned());
                    }
                }
                names
            }
        };
        for name in &names {
            let rel = format!("{prefix}/{name}");
            match &*self.inner {
                Backend::Local(dir) => std::fs::remove_file(dir.join(&rel))
                    .with_context(|| format!("cannot remove media file {rel}"))?,
                Backend::Object { store, label, .. } => store
                    .delete(&ObjectPath::from(rel.as_str()))
                    .await
                    .with_context(|| format!("cannot remove {rel} from {label}"))?,
            }
        }
        Ok(names.len())
    }

    /// One file's bytes, or None when it is not stored.
    pub async fn get(&self, rel: &str) -> anyhow::Result<Option<Bytes>> {
        match &*self.inner {
            Backend::Local(dir) => {
                let path = dir.join(rel);
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Ok(Some(bytes.into())),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
                }
            }
            Backend::Object { store, label, .. } => match store.get(&ObjectPath::from(rel)).await {
                Ok(got) => Ok(Some(got.bytes().await?)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("cannot read {rel} from {label}")),
            },
        }
    }

    /// Every stored file: its name (`ab/abcd…-800.webp`), size and, from a
    /// bucket, its ETag (the MD5 of a single-part upload), sorted by name.
    /// Temporary files of local writes in progress (`.tmp…`) are not media.
    pub async fn list(&self) -> anyhow::Result<Vec<Listed>> {
        let mut out = match &*self.inner {
            Backend::Local(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || list_dir(&dir)).await??
            }
            Backend::Object { store, label, .. } => {
                let mut out = Vec::new();
                let mut listed = store.list(None);
                while let Some(meta) = listed.next().await {
                    let meta = meta.with_context(|| format!("cannot list {label}"))?;
                    out.push(Listed {
                        name: meta.location.to_string(),
                        size: meta.size,
                        etag: meta.e_tag.map(|t| t.trim_matches('"').to_owned()),
                    });
                }
                out
            }
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// How to answer a reader's request for `rel`; None when it is missing.
    pub async fn serve(&self, rel: &str) -> anyhow::Result<Option<Served>> {
        match &*self.inner {
            Backend::Local(dir) => Ok(Some(Served::File(dir.join(rel)))),
            Backend::Object {
                public_url: Some(base),
                ..
            } => Ok(Some(Served::Redirect(format!(
                "{}/{rel}",
                base.as_str().trim_end_matches('/')
            )))),
            Backend::Object { store, label, .. } => match store.get(&ObjectPath::from(rel)).await {
                Ok(got) => Ok(Some(Served::Stream {
                    size: got.meta.size,
                    body: got.into_stream(),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("cannot read {rel} from {label}")),
            },
        }
    }
}

/// One stored file, as [`MediaStore::list`] names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub size: u64,
    pub etag: Option<String>,
}

fn list_dir(dir: &Path) -> anyhow::Result<Vec<Listed>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if !entry.file_type().is_file() || entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let name = entry
            .path()
            .strip_prefix(dir)
            .context("media path outside the media folder")?
            .to_string_lossy()
            .replace('\\', "/");
        out.push(Listed {
            name,
            size: entry.metadata().map(|m| m.len()).unwrap_or(0),
            etag: None,
        });
    }
    Ok(out)
}

/// One file written atomically (temp file beside it, fsync, rename); its
/// folder is made if missing. Also how a restore puts media back.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Every media hash the site has (for an import to skip known files).
pub async fn known_hashes(
    db: &crate::db::Db,
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT hash FROM media")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The upload use case: the row for this image (its files are written).
pub async fn register(db: &crate::db::Db, p: &Processed) -> Result<MediaId, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    insert_or_find(&mut conn, p).await
}

/// The row for this image, inserted if new. Identical uploads share a row.
pub async fn insert_or_find(
    conn: &mut AnyConnection,
    p: &Processed,
) -> Result<MediaId, sqlx::Error> {
    if let Some(id) = find(conn, &p.hash).await? {
        return Ok(id);
    }
    let widths = p
        .widths
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let inserted = sqlx::query(
        "INSERT INTO media (hash, width, height, source_format, widths, fallback_ext, thumb_width, \
         thumb_height, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.hash)
    .bind(i64::from(p.width))
    .bind(i64::from(p.height))
    .bind(p.source_format)
    .bind(widths)
    .bind(p.fallback_ext)
    .bind(i64::from(p.thumb_width))
    .bind(i64::from(p.thumb_height))
    .bind(p.source_bytes as i64)
    .bind(crate::db::now())
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(done) => Ok(MediaId(crate::db::dialect::inserted_id(conn, &done).await?)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            find(conn, &p.hash).await?.ok_or(sqlx::Error::RowNotFound)
        }
        Err(e) => Err(e),
    }
}

async fn find(conn: &mut AnyConnection, hash: &str) -> Result<Option<MediaId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM media WHERE hash = ?")
        .bind(hash)
        .fetch_optional(conn)
        .await
}

/// One media item's names and sizes, for showing it (a logo, a portrait).
pub async fn media_ref(
    db: &crate::db::Db,
    id: i64,
) -> Result<Option<crate::comics::MediaRef>, sqlx::Error> {
    Ok(media_refs(db, &[id])
        .await?
        .into_iter()
        .next()
        .map(|(_, m)| m))
}

/// Several media items' names and sizes by id (the editor's image list),
/// in one query per 200 ids.
pub async fn media_refs(
    db: &crate::db::Db,
    ids: &[i64],
) -> Result<Vec<(i64, crate::comics::MediaRef)>, sqlx::Error> {
    type Row = (i64, String, i64, i64, String, String, i64, i64);
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200).filter(|c| !c.is_empty()) {
        let sql = format!(
            "SELECT id, hash, width, height, widths, fallback_ext, thumb_width, thumb_height \
             FROM media WHERE id IN ({})",
            crate::comics::placeholders(chunk.len())
        );
        let mut query = sqlx::query_as::<_, Row>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for (id, hash, width, height, widths, fallback_ext, thumb_width, thumb_height) in
            query.fetch_all(db).await?
        {
            out.push((
                id,
                crate::comics::MediaRef {
                    hash,
                    width,
                    height,
                    widths,
                    fallback_ext,
                    thumb_width,
                    thumb_height,
                },
            ));
        }
    }
    Ok(out)
}
