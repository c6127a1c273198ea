//! The durable spool: every accepted hit is appended to a segment file and
//! fsync'd before the beacon is answered.
//!
//! One writer thread owns the open segment. Requests hand it their record and
//! wait; it takes everything queued, writes it in one `write`, and calls
//! `fdatasync` at most once per `fsync_ms` (group commit), then answers them
//! all. Each record gets a sequence number; `durable_seq` is the highest one
//! known to be on disk. The database writer (`flusher`) reads records back
//! from the files, so a restart replays exactly the same path.
//!
//! On disk a record is `[len: u32 LE][crc32: u32 LE][JSON]`. A torn tail (a
//! power cut mid-write) fails its length or checksum and is cut off at
//! start; everything before it was acknowledged and is kept.
//!
//! A segment is deleted only once the database has applied its last record,
//! and not before `dedupe_secs` (bounded by size) so that a beacon retried
//! across a restart is still recognised as already counted.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::hit::Record;
use crate::ledger::Ledger;
use crate::realtime::Realtime;

mod dedupe;
mod format;
mod writer;

pub use format::{decode, encode, Decoded};
use writer::{Job, Writer};

/// Committed segments kept for dedupe beyond this many bytes are deleted early.
const RETAINED_BYTES: u64 = 64 << 20;
/// The file naming this spool (its row in the database's `spool_state`).
const ID_FILE: &str = "spool.id";
/// Held (flock) while a process uses the directory.
const LOCK_FILE: &str = "spool.lock";
/// The id a spool directory made before ids existed keeps: the row the
/// first schema created.
const LEGACY_ID: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// On disk now; will be counted.
    Stored,
    /// This beacon id was already counted; nothing written.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool cannot be written: {0}")]
    Disk(String),
    #[error("the spool is shutting down")]
    Closed,
    #[error("the spool is being reconciled with the database; retry shortly")]
    Reconciling,
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub path: PathBuf,
    pub first_seq: u64,
    pub last_seq: u64,
    pub bytes: u64,
    /// When the writer moved on to a newer segment.
    pub closed: Option<Instant>,
}

/// What the writer, the flusher and the handlers share.
pub struct Shared {
    /// This spool's identity: its applied mark in the database is its own row.
    pub id: u64,
    pub durable_seq: AtomicU64,
    pub segments: Mutex<BTreeMap<u64, Segment>>,
    /// False while the last write or fsync failed.
    pub writable: AtomicBool,
    /// False while the spool cannot tell its own high-water mark (its files
    /// are gone but its id is not): nothing is acknowledged until the
    /// flusher has read the database's mark and raised `floor` to it.
    pub reconciled: AtomicBool,
    /// The writer numbers records above this (the database's mark).
    pub floor: AtomicU64,
    pub ledger: Arc<Ledger>,
    /// Keeps the directory's lock for the life of the process.
    _lock: File,
}

impl Shared {
    pub fn segments(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Segment>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes currently in the spool directory's segments.
    pub fn bytes(&self) -> u64 {
        self.segments().values().map(|s| s.bytes).sum()
    }

    /// Called by the flusher with the database's applied mark for this
    /// spool: the sequence never goes below it again.
    pub fn reconcile(&self, applied: u64) {
        let durable = self.durable_seq.load(Ordering::Acquire);
        if applied > durable {
            tracing::error!(
                spool = self.id,
                applied,
                durable,
                "the database has applied more of this spool than its files hold: \
                 segments were removed by hand or the spool volume was replaced; \
                 numbering continues after the database's mark"
            );
        }
        self.floor.fetch_max(applied, Ordering::AcqRel);
        if !self.reconciled.swap(true, Ordering::AcqRel) {
            tracing::info!(
                spool = self.id,
                applied,
                "spool reconciled with the database"
            );
        }
    }
}

/// The handle handlers append through.
#[derive(Clone)]
pub struct Spool {
    tx: mpsc::Sender<Job>,
    pub shared: Arc<Shared>,
}

pub struct SpoolOptions {
    pub dir: PathBuf,
    pub fsync_interval: Duration,
    pub segment_bytes: u64,
}

impl Spool {
    /// Opens the spool directory (locking it, repairing a torn tail) and
    /// starts the writer thread.
    pub fn open(
        options: SpoolOptions,
        ledger: Arc<Ledger>,
        realtime: Arc<Realtime>,
    ) -> anyhow::Result<(Spool, std::thread::JoinHandle<()>)> {
        let dir = &options.dir;
        create_dir_durably(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the spool directory {}: {e}", dir.display())
        })?;
        let lock = lock_dir(dir)?;
        let mut segments = BTreeMap::new();
        let mut dedupe = dedupe::Dedupe::default();
        let mut next_seq = 1;
        let recent = chrono::Utc::now().timestamp() - dedupe::HOLD.as_secs() as i64;
        for path in segment_paths(dir)? {
            let scan = scan_segment(&path)?;
            for id in &scan.recent_ids(recent) {
                dedupe.insert(*id);
            }
            if let Some(last) = scan.last_seq {
                next_seq = next_seq.max(last + 1);
            }
            let first_seq = first_seq_of(&path).unwrap_or(0);
            segments.insert(
                first_seq,
                Segment {
                    path,
                    first_seq,
                    last_seq: scan.last_seq.unwrap_or(first_seq.saturating_sub(1)),
                    bytes: scan.valid_bytes,
                    closed: Some(Instant::now()),
                },
            );
        }
        // The newest segment's name is the sequence's high-water mark: an
        // empty one is kept for that (it is what a crash right after
        // rotation leaves); older empty ones go.
        let newest = segments.keys().next_back().copied();
        segments.retain(|first, s| {
            if s.bytes == 0 && Some(*first) != newest {
                let _ = std::fs::remove_file(&s.path);
                false
            } else {
                true
            }
        });
        if let Some(newest) = newest {
            next_seq = next_seq.max(newest);
        }
        let (id, known) = spool_identity(dir, !segments.is_empty())?;
        let recovered: u64 = segments
            .values()
            .map(|s| (s.last_seq + 1).saturating_sub(s.first_seq))
            .sum();
        tracing::info!(
            spool = id,
            segments = segments.len(),
            records = recovered,
            next_seq,
            "spool opened"
        );
        if !known {
            tracing::warn!(
                spool = id,
                "the spool's segments are gone but its id is not; hits wait until the database's mark for it is read"
            );
        }
        let shared = Arc::new(Shared {
            id,
            durable_seq: AtomicU64::new(next_seq - 1),
            segments: Mutex::new(segments),
            writable: AtomicBool::new(true),
            reconciled: AtomicBool::new(known),
            floor: AtomicU64::new(0),
            ledger,
            _lock: lock,
        });
        shared
            .ledger
            .durable_seq
            .store(next_seq - 1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(16_384);
        let mut writer = Writer {
            dir: options.dir,
            file: None,
            current_first: 0,
            current_len: 0,
            opened: Instant::now(),
            segment_bytes: options.segment_bytes,
            fsync_interval: options.fsync_interval,
            next_seq,
            dedupe,
            shared: shared.clone(),
            realtime,
        };
        let thread = std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok((Spool { tx, shared }, thread))
    }

    /// Appends a record; returns once it is on disk (or known to be a duplicate).
    pub async fn append(
        &self,
        record: Record,
        previous_visitor: Option<u64>,
    ) -> Result<Appended, SpoolError> {
        let mut answers = self.append_all(vec![(record, previous_visitor)]).await?;
        answers.pop().ok_or(SpoolError::Closed)
    }

    /// Appends a request's records in one group commit; one answer per record.
    pub async fn append_all(
        &self,
        records: Vec<(Record, Option<u64>)>,
    ) -> Result<Vec<Appended>, SpoolError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (ack, answer) = oneshot::channel();
        self.tx
            .send(Job { records, ack })
            .await
            .map_err(|_| SpoolError::Closed)?;
        answer.await.map_err(|_| SpoolError::Closed)?
    }
}

/// Creates the directory and makes its entry durable: fsyncs the new
/// directory and its parent, so a power cut cannot take the spool away after
/// hits in it were acknowledged.
fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    File::open(dir)?.sync_all()?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// One process per spool directory: two writers would number records over
/// each other.
fn lock_dir(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another halftone-analytics is using the spool directory {}; each process needs its own",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
}

/// This spool's id, and whether its high-water mark is known. A new
/// directory gets a new random id (so its sequence starts afresh in a row of
/// its own); one from before ids existed is the legacy row's.
fn spool_identity(dir: &Path, has_segments: bool) -> anyhow::Result<(u64, bool)> {
    let path = dir.join(ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim().parse::<u64>().map_err(|_| {
                anyhow::anyhow!(
                    "{} is damaged; it must hold the spool's number",
                    path.display()
                )
            })?;
            Ok((id, has_segments))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = if has_segments {
                LEGACY_ID
            } else {
                // Positive as a signed BIGINT, never the legacy id.
                rand::random_range(2..i64::MAX as u64)
            };
            let tmp = dir.join("spool.id.tmp");
            {
                let mut file = File::create(&tmp)?;
                std::io::Write::write_all(&mut file, format!("{id}\n").as_bytes())?;
                file.sync_all()?;
            }
            std::fs::rename(&tmp, &path)?;
            File::open(dir)?.sync_all()?;
            Ok((id, true))
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

struct Scan {
    /// (beacon id, received at) of every readable record.
    ids: Vec<(u64, i64)>,
    last_seq: Option<u64>,
    valid_bytes: u64,
}

impl Scan {
    /// Ids recent enough that their beacon may still be retried.
    fn recent_ids(&self, since: i64) -> Vec<u64> {
        self.ids
            .iter()
            .filter(|(_, t)| *t >= since)
            .map(|(id, _)| *id)
            .collect()
    }
}

fn scan_segment(path: &Path) -> anyhow::Result<Scan> {
    let bytes = std::fs::read(path)?;
    let decoded = decode(&bytes);
    if decoded.skipped > 0 {
        tracing::error!(
            segment = %path.display(),
            damaged = decoded.skipped,
            "damaged records in the spool; they are skipped and counted, the records around them are kept"
        );
    }
    if decoded.valid < bytes.len() {
        tracing::warn!(
            segment = %path.display(),
            cut = bytes.len() - decoded.valid,
            "torn tail in the spool (an interrupted write that was never acknowledged); cutting it off"
        );
        OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(decoded.valid as u64)?;
    }
    Ok(Scan {
        ids: decoded.records.iter().map(|r| (r.id, r.t)).collect(),
        last_seq: decoded.records.iter().map(|r| r.seq).max(),
        valid_bytes: decoded.valid as u64,
    })
}

fn first_seq_of(path: &Path) -> Option<u64> {
    path.file_stem()?.to_str()?.parse().ok()
}

fn segment_paths(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "seg") && first_seq_of(p).is_some())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads back durable records with `after < seq <= upto`, at most `max` of
/// them. Damaged records are skipped; the flusher counts the gap they leave.
pub fn read_range(
    shared: &Shared,
    after: u64,
    upto: u64,
    max: usize,
) -> std::io::Result<Vec<Record>> {
    let candidates: Vec<Segment> = shared
        .segments()
        .values()
        .filter(|s| s.last_seq > after && s.first_seq <= upto)
        .cloned()
        .collect();
    let mut out = Vec::new();
    for segment in candidates {
        let bytes = std::fs::read(&segment.path)?;
        for record in decode(&bytes).records {
            if record.seq > after && record.seq <= upto {
                out.push(record);
                if out.len() >= max {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Deletes closed segments the database has fully applied, once they are
/// older than the dedupe window or beyond the retained-bytes budget. The
/// newest segment always stays: its name and records carry the sequence's
/// high-water mark across restarts.
pub fn clean(shared: &Shared, applied: u64, dedupe_window: Duration) {
    let mut segments = shared.segments();
    let mut retained: u64 = 0;
    let mut doomed = Vec::new();
    for (first, segment) in segments.iter().rev().skip(1) {
        let Some(closed) = segment.closed else {
            continue;
        };
        if segment.last_seq > applied {
            continue;
        }
        retained += segment.bytes;
        if closed.elapsed() > dedupe_window || retained > RETAINED_BYTES {
            doomed.push(*first);
        }
    }
    for first in doomed {
        if let Some(segment) = segments.remove(&first) {
            if let Err(error) = std::fs::remove_file(&segment.path) {
                tracing::warn!(%error, segment = %segment.path.display(), "cannot delete an applied spool segment");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path) -> SpoolOptions {
        SpoolOptions {
            dir: dir.to_owned(),
            fsync_interval: Duration::from_millis(1),
            segment_bytes: 1 << 20,
        }
    }

    #[test]
    fn a_second_process_cannot_open_the_same_spool() {
        let dir = tempfile::tempdir().expect("tmp");
        let ledger = Arc::new(Ledger::default());
        let realtime = Arc::new(Realtime::default());
        let rt = tokio::runtime::Runtime::new().expect("rt");
        let _guard = rt.enter();
        let first = Spool::open(options(dir.path()), ledger.clone(), realtime.clone());
        assert!(first.is_ok());
        let second = Spool::open(options(dir.path()), ledger, realtime);
        let error = second.err().expect("refused").to_string();
        assert!(error.contains("another halftone-analytics"), "{error}");
    }

    #[test]
    fn the_newest_segment_is_kept_even_when_applied() {
        let dir = tempfile::tempdir().expect("tmp");
        let rt = tokio::runtime::Runtime::new().expect("rt");
        let (spool, _writer) = {
            let _guard = rt.enter();
            Spool::open(
                options(dir.path()),
                Arc::new(Ledger::default()),
                Arc::new(Realtime::default()),
            )
            .expect("open")
        };
        for id in 1..=3 {
            let record = format::tests::record(id);
            rt.block_on(spool.append(record, None)).expect("append");
        }
        for segment in spool.shared.segments().values_mut() {
            segment.closed = Some(Instant::now() - Duration::from_secs(3600));
        }
        clean(&spool.shared, 3, Duration::from_secs(1));
        assert_eq!(
            spool.shared.segments().len(),
            1,
            "the high-water segment stays"
        );
    }
}
