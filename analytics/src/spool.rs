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

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::hit::Record;
use crate::ledger::Ledger;
use crate::realtime::Realtime;

/// Committed segments kept for dedupe beyond this many bytes are deleted early.
const RETAINED_BYTES: u64 = 64 << 20;
/// Dedupe ids remembered per generation (two generations are kept).
const DEDUPE_GENERATION: usize = 250_000;
/// A quiet segment is closed after this long so it can be cleaned up.
const SEGMENT_MAX_AGE: Duration = Duration::from_secs(300);

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
}

struct Job {
    record: Record,
    /// Yesterday's visitor hash during the midnight bridge (realtime only).
    previous_visitor: Option<u64>,
    ack: oneshot::Sender<Result<Appended, SpoolError>>,
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
    pub durable_seq: AtomicU64,
    pub segments: Mutex<BTreeMap<u64, Segment>>,
    /// False while the last write or fsync failed.
    pub writable: AtomicBool,
    pub ledger: Arc<Ledger>,
}

impl Shared {
    pub fn segments(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Segment>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes currently in the spool directory's segments.
    pub fn bytes(&self) -> u64 {
        self.segments().values().map(|s| s.bytes).sum()
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
    /// Opens the spool directory (repairing a torn tail) and starts the writer thread.
    pub fn open(
        options: SpoolOptions,
        ledger: Arc<Ledger>,
        realtime: Arc<Realtime>,
    ) -> anyhow::Result<(Spool, std::thread::JoinHandle<()>)> {
        std::fs::create_dir_all(&options.dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the spool directory {}: {e}",
                options.dir.display()
            )
        })?;
        let mut segments = BTreeMap::new();
        let mut dedupe = Dedupe::default();
        let mut next_seq = 1;
        for path in segment_paths(&options.dir)? {
            let scan = scan_segment(&path)?;
            for id in &scan.ids {
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
        // Empty leftovers (a segment created just before a crash) are removed.
        segments.retain(|_, s| {
            if s.bytes == 0 {
                let _ = std::fs::remove_file(&s.path);
                false
            } else {
                true
            }
        });
        let recovered: u64 = segments
            .values()
            .map(|s| s.last_seq + 1 - s.first_seq)
            .sum();
        tracing::info!(
            segments = segments.len(),
            records = recovered,
            next_seq,
            "spool opened"
        );
        let shared = Arc::new(Shared {
            durable_seq: AtomicU64::new(next_seq - 1),
            segments: Mutex::new(segments),
            writable: AtomicBool::new(true),
            ledger,
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
        let (ack, answer) = oneshot::channel();
        self.tx
            .send(Job {
                record,
                previous_visitor,
                ack,
            })
            .await
            .map_err(|_| SpoolError::Closed)?;
        answer.await.map_err(|_| SpoolError::Closed)?
    }
}

struct Writer {
    dir: PathBuf,
    file: Option<File>,
    current_first: u64,
    current_len: u64,
    opened: Instant,
    segment_bytes: u64,
    fsync_interval: Duration,
    next_seq: u64,
    dedupe: Dedupe,
    shared: Arc<Shared>,
    realtime: Arc<Realtime>,
}

impl Writer {
    fn run(&mut self, mut rx: mpsc::Receiver<Job>) {
        let mut last_sync = Instant::now() - self.fsync_interval;
        let mut jobs = Vec::with_capacity(1024);
        let mut buffer = Vec::with_capacity(1 << 20);
        while let Some(first) = rx.blocking_recv() {
            jobs.push(first);
            drain(&mut rx, &mut jobs);
            // Group commit: gather what arrives until the next fsync is due.
            let wait = self.fsync_interval.saturating_sub(last_sync.elapsed());
            if !wait.is_zero() {
                std::thread::sleep(wait);
                drain(&mut rx, &mut jobs);
            }
            self.commit(&mut jobs, &mut buffer);
            last_sync = Instant::now();
        }
        tracing::info!("spool writer stopped; everything acknowledged is on disk");
    }

    fn commit(&mut self, jobs: &mut Vec<Job>, buffer: &mut Vec<u8>) {
        buffer.clear();
        let mut stored = Vec::with_capacity(jobs.len());
        let first_seq = self.next_seq;
        for mut job in jobs.drain(..) {
            if !self.dedupe.insert(job.record.id) {
                self.shared
                    .ledger
                    .duplicates
                    .fetch_add(1, Ordering::Relaxed);
                let _ = job.ack.send(Ok(Appended::Duplicate));
                continue;
            }
            job.record.seq = self.next_seq;
            self.next_seq += 1;
            encode(&job.record, buffer);
            stored.push(job);
        }
        if stored.is_empty() {
            return;
        }
        let result = self.write(buffer, first_seq);
        match result {
            Ok(()) => {
                let last = self.next_seq - 1;
                self.shared.durable_seq.store(last, Ordering::Release);
                self.shared
                    .ledger
                    .durable_seq
                    .store(last, Ordering::Relaxed);
                if let Some(segment) = self.shared.segments().get_mut(&self.current_first) {
                    segment.last_seq = last;
                    segment.bytes = self.current_len;
                }
                if !self.shared.writable.swap(true, Ordering::Relaxed) {
                    tracing::info!("the spool is writable again");
                }
                self.shared
                    .ledger
                    .spooled
                    .fetch_add(stored.len() as u64, Ordering::Relaxed);
                for job in stored {
                    self.realtime.record(&job.record, job.previous_visitor);
                    let _ = job.ack.send(Ok(Appended::Stored));
                }
            }
            Err(error) => {
                if self.shared.writable.swap(false, Ordering::Relaxed) {
                    tracing::error!(%error, "cannot write the spool; refusing hits until it can");
                }
                self.next_seq = first_seq;
                self.shared
                    .ledger
                    .dropped_disk
                    .fetch_add(stored.len() as u64, Ordering::Relaxed);
                for job in stored {
                    // Not counted: forget the id so the client's retry is welcome.
                    self.dedupe.remove(job.record.id);
                    let _ = job.ack.send(Err(SpoolError::Disk(error.to_string())));
                }
            }
        }
    }

    fn write(&mut self, buffer: &[u8], first_seq: u64) -> std::io::Result<()> {
        let rotate = self.file.is_none()
            || self.current_len >= self.segment_bytes
            || (self.current_len > 0 && self.opened.elapsed() > SEGMENT_MAX_AGE);
        if rotate {
            self.open_segment(first_seq)?;
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no segment"))?;
        let outcome = file.write_all(buffer).and_then(|()| file.sync_data());
        match outcome {
            Ok(()) => {
                self.current_len += buffer.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Cut off whatever part made it, so the file ends on a record.
                let _ = file.set_len(self.current_len);
                Err(error)
            }
        }
    }

    fn open_segment(&mut self, first_seq: u64) -> std::io::Result<()> {
        let path = self.dir.join(format!("{first_seq:020}.seg"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        File::open(&self.dir)?.sync_all()?;
        let mut segments = self.shared.segments();
        if let Some(previous) = segments.get_mut(&self.current_first) {
            previous.closed = Some(Instant::now());
        }
        segments.insert(
            first_seq,
            Segment {
                path,
                first_seq,
                last_seq: first_seq - 1,
                bytes: 0,
                closed: None,
            },
        );
        self.file = Some(file);
        self.current_first = first_seq;
        self.current_len = 0;
        self.opened = Instant::now();
        Ok(())
    }
}

fn drain(rx: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < 65_536 {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

fn encode(record: &Record, buffer: &mut Vec<u8>) {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; 8]);
    // Serialising our own struct to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buffer, record);
    let payload = &buffer[start + 8..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    buffer[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buffer[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes records from `bytes`, stopping at the first torn or corrupt one.
/// Returns the records and how many bytes were valid.
pub fn decode(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 8 {
        let len =
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice::<Record>(payload) else {
            break;
        };
        records.push(record);
        at += 8 + len;
    }
    (records, at)
}

struct Scan {
    ids: Vec<u64>,
    last_seq: Option<u64>,
    valid_bytes: u64,
}

fn scan_segment(path: &Path) -> anyhow::Result<Scan> {
    let bytes = std::fs::read(path)?;
    let (records, valid) = decode(&bytes);
    if valid < bytes.len() {
        tracing::warn!(
            segment = %path.display(),
            cut = bytes.len() - valid,
            "torn or damaged tail in the spool (an interrupted write that was never acknowledged); cutting it off"
        );
        OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(valid as u64)?;
    }
    Ok(Scan {
        ids: records.iter().map(|r| r.id).collect(),
        last_seq: records.last().map(|r| r.seq),
        valid_bytes: valid as u64,
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

/// Reads back durable records with `after < seq <= upto`, at most `max` of them.
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
        let (records, _) = decode(&bytes);
        for record in records {
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
/// older than the dedupe window or beyond the retained-bytes budget.
pub fn clean(shared: &Shared, applied: u64, dedupe_window: Duration) {
    let mut segments = shared.segments();
    let mut retained: u64 = 0;
    let mut doomed = Vec::new();
    for (first, segment) in segments.iter().rev() {
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

/// Beacon ids seen recently, in two generations so memory stays flat.
#[derive(Default)]
struct Dedupe {
    current: HashSet<u64>,
    previous: HashSet<u64>,
}

impl Dedupe {
    /// False when already present.
    fn insert(&mut self, id: u64) -> bool {
        if self.previous.contains(&id) || self.current.contains(&id) {
            return false;
        }
        if self.current.len() >= DEDUPE_GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id)
    }

    fn remove(&mut self, id: u64) {
        self.current.remove(&id);
        self.previous.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hit::Kind;

    fn record(id: u64) -> Record {
        Record {
            seq: 0,
            t: 1,
            k: Kind::View,
            id,
            path: "/".into(),
            page: None,
            rh: None,
            rp: None,
            entry: true,
            v: 9,
            b: "Firefox".into(),
            o: "Linux".into(),
            d: "phone".into(),
            q: None,
        }
    }

    #[test]
    fn torn_tail_is_cut_and_the_rest_survives() {
        let mut bytes = Vec::new();
        for id in 1..=3 {
            let mut r = record(id);
            r.seq = id;
            encode(&r, &mut bytes);
        }
        let whole = bytes.len();
        bytes.truncate(whole - 5);
        let (records, valid) = decode(&bytes);
        assert_eq!(records.len(), 2);
        assert!(valid < bytes.len());
        // A flipped byte fails the checksum.
        let mut corrupt = bytes.clone();
        corrupt[10] ^= 0xff;
        assert_eq!(decode(&corrupt).0.len(), 0);
    }

    #[test]
    fn dedupe_forgets_only_after_two_generations() {
        let mut dedupe = Dedupe::default();
        assert!(dedupe.insert(1));
        assert!(!dedupe.insert(1));
        for id in 2..(DEDUPE_GENERATION as u64 + 3) {
            dedupe.insert(id);
        }
        assert!(!dedupe.insert(1), "still remembered one generation later");
    }
}
