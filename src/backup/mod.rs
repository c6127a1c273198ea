//! Backups: one archive of the whole site (a consistent database snapshot,
//! every media file, the configuration file, a manifest of checksums),
//! verified after writing, pruned by a retention policy, restored into a
//! fresh database that then replaces the site's.
//!
//! The database goes into the archive as rows, not as an engine's file, so
//! a SQLite site restores into MariaDB and back: that is also how a site
//! moves between engines (see the README).

pub mod archive;
pub mod dump;
pub mod export;
pub mod history;
pub mod restore;
pub mod retention;
pub mod schedule;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use sqlx::{Connection, Executor};

use crate::config::{Backend, Config};
use crate::db::Db;
use archive::{Manifest, Writer};

/// Where long work stands: the command line draws it as a bar, the admin
/// shows it on the backups page.
#[derive(Debug, Default)]
pub struct Progress {
    phase: Mutex<String>,
    done: AtomicU64,
    total: AtomicU64,
    running: AtomicBool,
}

impl Progress {
    pub fn start_phase(&self, phase: &str, total: u64) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase.to_owned();
        }
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// (phase, done, total)
    pub fn get(&self) -> (String, u64, u64) {
        let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
        (
            phase,
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Claims this node's one backup slot (false when one is running).
    pub fn try_begin(&self) -> bool {
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn end(&self) {
        self.running.store(false, Ordering::Release);
    }

    /// Draws the progress on the terminal until `finished` is set (the
    /// command line's bar; nothing when output is not a terminal).
    pub fn draw(self: &Arc<Self>) -> ProgressBarGuard {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {percent:>3}% ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let thread = {
            let progress = self.clone();
            let stop = stop.clone();
            let bar = bar.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let (phase, done, total) = progress.get();
                    bar.set_message(phase);
                    bar.set_length(total);
                    bar.set_position(done);
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                bar.finish_and_clear();
            })
        };
        ProgressBarGuard {
            stop,
            thread: Some(thread),
        }
    }
}

pub struct ProgressBarGuard {
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProgressBarGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// "7.9 MiB": sizes as the command line and the admin show them.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

/// A finished, verified archive.
#[derive(Debug)]
pub struct Done {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub bytes: u64,
    pub write_secs: f64,
    pub verify_secs: f64,
}

/// What starts a backup, as the history shows it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Command,
    Schedule,
    Admin,
    BeforeRestore,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Schedule => "schedule",
            Kind::Admin => "admin",
            Kind::BeforeRestore => "before-restore",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::BeforeRestore => "before-restore",
            _ => retention::PREFIX,
        }
    }
}

/// The archive's name: when it was made (UTC), which retention reads back.
fn archive_name(kind: Kind, at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}-{}.tar", kind.prefix(), at.format("%Y%m%d-%H%M%S"))
}

/// Backs up the site into `dir`, verifies the archive, records the attempt
/// in the history, and (for regular backups) prunes older archives by the
/// retention policy — only once the new one has verified.
pub async fn run(
    db: &Db,
    config: &Config,
    config_file: Option<&Path>,
    dir: &Path,
    kind: Kind,
    progress: &Arc<Progress>,
) -> anyhow::Result<Done> {
    let id = history::started(db, kind).await.ok();
    let result = create_and_verify(db, config, config_file, dir, kind, progress).await;
    if let Some(id) = id {
        let recorded = match &result {
            Ok(done) => history::finished(db, id, &done.path, done.bytes).await,
            Err(e) => history::failed(db, id, &format!("{e:#}")).await,
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "backup: could not record the attempt");
        }
    }
    match &result {
        Ok(done) => {
            metrics::counter!("halftone_backups_total", "outcome" => "ok").increment(1);
            metrics::gauge!("halftone_backup_last_success_timestamp_seconds")
                .set(done.manifest.created_at as f64);
            metrics::gauge!("halftone_backup_last_bytes").set(done.bytes as f64);
            tracing::info!(
                path = %done.path.display(),
                bytes = done.bytes,
                media = done.manifest.media_files(),
                secs = done.write_secs + done.verify_secs,
                "backup written and verified"
            );
            if !matches!(kind, Kind::BeforeRestore) {
                let policy = retention::Policy::from(&config.backup);
                match retention::prune(dir, &policy, chrono::Utc::now()) {
                    Ok(deleted) if !deleted.is_empty() => {
                        tracing::info!(count = deleted.len(), "backup: pruned older archives")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "backup: could not prune"),
                }
            }
        }
        Err(e) => {
            metrics::counter!("halftone_backups_total", "outcome" => "failed").increment(1);
            tracing::error!(error = %format!("{e:#}"), "backup failed");
        }
    }
    result
}

async fn create_and_verify(
    db: &Db,
    config: &Config,
    config_file: Option<&Path>,
    dir: &Path,
    kind: Kind,
    progress: &Arc<Progress>,
) -> anyhow::Result<Done> {
    let started = Instant::now();
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the backup folder {}", dir.display()))?;
    let now = chrono::Utc::now();
    let mut path = dir.join(archive_name(kind, now));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!(
            "{}-{}.tar",
            archive_name(kind, now).trim_end_matches(".tar"),
            n
        ));
    }
    let mut writer = Writer::create(&path)?;
    let manifest = snapshot(db, &mut writer, progress).await?;
    let store = crate::media::store::MediaStore::open(config)?;
    let config_file = config_file.filter(|p| p.is_file()).map(Path::to_owned);
    let manifest = {
        let files = store.list().await?;
        progress.start_phase("media", files.iter().map(|f| f.size).sum());
        let progress = progress.clone();
        let runtime = tokio::runtime::Handle::current();
        // Reading files blocks: keep it off the async workers serving readers.
        tokio::task::spawn_blocking(move || -> anyhow::Result<Manifest> {
            for file in &files {
                let rel = &file.name;
                let bytes = store
                    .get_blocking(&runtime, rel)?
                    .with_context(|| format!("media file {rel} went missing"))?;
                writer.add(&format!("media/{rel}"), &bytes)?;
                progress.add(bytes.len() as u64);
            }
            if let Some(file) = &config_file {
                let bytes = std::fs::read(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                writer.add("config/halftone.toml", &bytes)?;
            }
            writer.finish(manifest)
        })
        .await??
    };
    let write_secs = started.elapsed().as_secs_f64();
    let verify_started = Instant::now();
    let checked = verify(&path, progress).await.with_context(|| {
        format!(
            "the new archive {} did not verify (left in place to inspect)",
            path.display()
        )
    })?;
    debug_assert_eq!(checked.files.len(), manifest.files.len());
    Ok(Done {
        bytes: archive::size(&path),
        path,
        manifest: checked,
        write_secs,
        verify_secs: verify_started.elapsed().as_secs_f64(),
    })
}

/// Dumps every table from one consistent read: SQLite's read transaction
/// sees one WAL snapshot while writers go on; MariaDB's `WITH CONSISTENT
/// SNAPSHOT` does the same for InnoDB. Media files are content-addressed
/// and written before the rows that name them, so the files read after
/// the snapshot include every file it refers to.
async fn snapshot(db: &Db, writer: &mut Writer, progress: &Progress) -> anyhow::Result<Manifest> {
    // A connection of its own, outside the pool: a long read must not hold
    // one of the readers' connections, nor go back to the pool mid-transaction.
    let mut conn = db.pool().acquire().await?.detach();
    let result = async {
        match db.backend() {
            Backend::Sqlite => {
                conn.execute("BEGIN").await?;
            }
            Backend::MySql => {
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .await?;
                conn.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                    .await?;
            }
        }
        let schema_version = dump::schema_version(&mut conn).await?;
        let tables = dump::tables(&mut conn).await?;
        let site_title: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'site.title'")
                .fetch_optional(&mut conn)
                .await
                .ok()
                .flatten()
                .map(|t: crate::db::DbText| t.0);
        progress.start_phase("database", tables.len() as u64);
        let mut counts = BTreeMap::new();
        for table in &tables {
            let mut bytes = Vec::new();
            let n = dump::write_table(&mut conn, table, &mut bytes).await?;
            writer.add(&format!("database/{table}.jsonl"), &bytes)?;
            counts.insert(table.clone(), n);
            progress.add(1);
        }
        conn.execute("COMMIT").await?;
        anyhow::Ok(Manifest {
            format: archive::FORMAT,
            halftone_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version,
            engine: match db.backend() {
                Backend::Sqlite => "sqlite",
                Backend::MySql => "mysql",
            }
            .to_owned(),
            created_at: crate::db::now(),
            site_title: site_title.unwrap_or_default(),
            tables: counts,
            files: BTreeMap::new(),
        })
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Checks an archive: every checksum, the manifest, every table's rows
/// against the manifest's counts, every media row's files present, and that
/// the snapshot loads (into a scratch SQLite database, with foreign keys
/// checked).
pub async fn verify(path: &Path, progress: &Arc<Progress>) -> anyhow::Result<Manifest> {
    let (manifest, tables) = {
        let path = path.to_owned();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || read_checked(&path, &progress)).await??
    };
    let scratch = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        scratch.path().join("verify.db").display()
    );
    let db = restore::open_scratch(&url, 2).await?;
    let loaded = restore::load(&db, &manifest, &tables, progress).await;
    db.close().await;
    loaded?;
    Ok(manifest)
}

/// The database part of an archive, checked and parsed once: table → rows.
pub type Tables = BTreeMap<String, dump::TableRows>;

/// Reads an archive once, checking every checksum; keeps the table dumps.
pub fn read_checked(path: &Path, progress: &Progress) -> anyhow::Result<(Manifest, Tables)> {
    // Only the rename makes an archive: a partial file is never a backup,
    // even one killed after its last byte.
    if path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".partial"))
    {
        anyhow::bail!(
            "{} is the temporary file of a backup that did not finish",
            path.display()
        );
    }
    progress.start_phase("checking", archive::size(path));
    let mut dumps: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let checked = {
        archive::read(
            path,
            |name| name.starts_with("database/"),
            |name, bytes| {
                let table = name
                    .trim_start_matches("database/")
                    .trim_end_matches(".jsonl")
                    .to_owned();
                dump::check_identifier(&table)?;
                dumps.insert(table, bytes);
                Ok(())
            },
            |n| progress.add(n),
        )
    }?;
    let manifest = checked.manifest;
    // Parsed only now: a damaged byte is named by its checksum first.
    let mut tables = Tables::new();
    for (table, bytes) in dumps {
        let data = dump::read_table(bytes.as_slice(), &table)?;
        tables.insert(table, data);
    }
    for (table, expected) in &manifest.tables {
        let rows = tables
            .get(table)
            .with_context(|| format!("the archive lacks the rows of {table}"))?
            .rows
            .len() as u64;
        if rows != *expected {
            anyhow::bail!("{table} has {rows} rows in the archive; its manifest says {expected}");
        }
    }
    if let Some(data) = tables.get("media") {
        let hash_col = data
            .columns
            .iter()
            .position(|c| c == "hash")
            .context("the archive's media table has no hash column")?;
        let present: std::collections::HashSet<&str> = manifest
            .files
            .keys()
            .filter_map(|k| k.strip_prefix("media/"))
            .filter_map(|k| k.split('/').nth(1))
            .filter_map(|name| name.split(['-', '.']).next())
            .collect();
        for row in &data.rows {
            if let Some(hash) = row[hash_col].as_str() {
                if !present.contains(hash) {
                    anyhow::bail!("the archive lacks the image files of media {hash}");
                }
            }
        }
    }
    Ok((manifest, tables))
}
