//! The writer thread: owns the open segment, group-commits what requests hand
//! it (one `write` and one `fdatasync` per round), and only then answers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::dedupe::Dedupe;
use super::format::encode;
use super::{Appended, Segment, Shared, SpoolError};
use crate::hit::Record;
use crate::realtime::Realtime;

/// A quiet segment is closed after this long so it can be cleaned up.
const SEGMENT_MAX_AGE: Duration = Duration::from_secs(300);
/// Records gathered into one round at most.
const ROUND: usize = 65_536;

/// One request's records (a beacon is one; a batch of server events many):
/// answered together, after one group commit.
pub(super) struct Job {
    pub records: Vec<(Record, Option<u64>)>,
    pub ack: oneshot::Sender<Result<Vec<Appended>, SpoolError>>,
}

pub(super) struct Writer {
    pub dir: PathBuf,
    pub file: Option<File>,
    pub current_first: u64,
    pub current_len: u64,
    pub opened: Instant,
    pub segment_bytes: u64,
    pub fsync_interval: Duration,
    pub next_seq: u64,
    pub dedupe: Dedupe,
    pub shared: Arc<Shared>,
    pub realtime: Arc<Realtime>,
}

/// What became of one record of a job during a round.
#[derive(Clone, Copy)]
enum Fate {
    Written,
    /// Counted in an earlier round: durable already.
    SeenBefore,
    /// Same id as a record written in this round: it shares that record's fate.
    SameRound,
}

impl Writer {
    pub fn run(&mut self, mut rx: mpsc::Receiver<Job>) {
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
        if !self.shared.reconciled.load(Ordering::Acquire) {
            for job in jobs.drain(..) {
                let _ = job.ack.send(Err(SpoolError::Reconciling));
            }
            return;
        }
        // The database's mark for this spool may be ahead of what the files
        // showed (segments removed by hand): never number below it.
        let floor = self.shared.floor.load(Ordering::Acquire);
        if self.next_seq <= floor {
            tracing::error!(
                from = self.next_seq,
                to = floor + 1,
                "the spool's sequence was behind the database's mark; jumping ahead"
            );
            self.next_seq = floor + 1;
        }
        buffer.clear();
        let first_seq = self.next_seq;
        let mut this_round = std::collections::HashSet::new();
        let mut fates: Vec<Vec<Fate>> = Vec::with_capacity(jobs.len());
        let mut written = 0u64;
        for job in jobs.iter_mut() {
            let mut fate = Vec::with_capacity(job.records.len());
            for (record, _) in job.records.iter_mut() {
                if self.dedupe.insert(record.id) {
                    record.seq = self.next_seq;
                    self.next_seq += 1;
                    encode(record, buffer);
                    this_round.insert(record.id);
                    written += 1;
                    fate.push(Fate::Written);
                } else if this_round.contains(&record.id) {
                    // Not "already counted" until the original is on disk.
                    fate.push(Fate::SameRound);
                } else {
                    fate.push(Fate::SeenBefore);
                }
            }
            fates.push(fate);
        }
        let result = if written == 0 {
            Ok(())
        } else {
            self.write(buffer, first_seq)
        };
        let duplicates = fates
            .iter()
            .flatten()
            .filter(|f| !matches!(f, Fate::Written))
            .count() as u64;
        match result {
            Ok(()) => {
                if written > 0 {
                    let last = self.next_seq - 1;
                    // The segment first, then the mark: a flusher that sees
                    // the mark must find the segment that holds it.
                    if let Some(segment) = self.shared.segments().get_mut(&self.current_first) {
                        segment.last_seq = last;
                        segment.bytes = self.current_len;
                    }
                    self.shared.durable_seq.store(last, Ordering::Release);
                    self.shared
                        .ledger
                        .durable_seq
                        .store(last, Ordering::Relaxed);
                    if !self.shared.writable.swap(true, Ordering::Relaxed) {
                        tracing::info!("the spool is writable again");
                    }
                }
                let ledger = &self.shared.ledger;
                ledger.spooled.fetch_add(written, Ordering::Relaxed);
                ledger.duplicates.fetch_add(duplicates, Ordering::Relaxed);
                for (job, fate) in jobs.drain(..).zip(fates) {
                    let answers = job
                        .records
                        .iter()
                        .zip(fate)
                        .map(|((record, previous), fate)| match fate {
                            Fate::Written => {
                                self.realtime.record(record, *previous);
                                Appended::Stored
                            }
                            Fate::SeenBefore | Fate::SameRound => Appended::Duplicate,
                        })
                        .collect();
                    let _ = job.ack.send(Ok(answers));
                }
            }
            Err(error) => {
                if self.shared.writable.swap(false, Ordering::Relaxed) {
                    tracing::error!(%error, "cannot write the spool; refusing hits until it can");
                }
                self.next_seq = first_seq;
                let ledger = &self.shared.ledger;
                ledger.dropped_disk.fetch_add(written, Ordering::Relaxed);
                ledger.duplicates.fetch_add(
                    fates
                        .iter()
                        .flatten()
                        .filter(|f| matches!(f, Fate::SeenBefore))
                        .count() as u64,
                    Ordering::Relaxed,
                );
                for (job, fate) in jobs.drain(..).zip(fates) {
                    for ((record, _), fate) in job.records.iter().zip(&fate) {
                        if matches!(fate, Fate::Written) {
                            // Not counted: forget the id so the client's retry is welcome.
                            self.dedupe.remove(record.id);
                        }
                    }
                    // A job is answered as a whole: if any of it was not
                    // stored, the sender retries all of it (ids dedupe the rest).
                    let all_seen = fate.iter().all(|f| matches!(f, Fate::SeenBefore));
                    let answer = if all_seen {
                        Ok(vec![Appended::Duplicate; fate.len()])
                    } else {
                        Err(SpoolError::Disk(error.to_string()))
                    };
                    let _ = job.ack.send(answer);
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
    let mut records: usize = jobs.iter().map(|j| j.records.len()).sum();
    while records < ROUND {
        match rx.try_recv() {
            Ok(job) => {
                records += job.records.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::sync::Mutex;

    use super::*;
    use crate::ledger::Ledger;
    use crate::spool::format::tests::record;

    fn writer(dir: PathBuf) -> Writer {
        let lock = tempfile::tempfile().expect("lock file");
        Writer {
            dir,
            file: None,
            current_first: 0,
            current_len: 0,
            opened: Instant::now(),
            segment_bytes: 1 << 20,
            fsync_interval: Duration::ZERO,
            next_seq: 1,
            dedupe: Dedupe::default(),
            shared: Arc::new(Shared {
                id: 7,
                durable_seq: AtomicU64::new(0),
                segments: Mutex::new(BTreeMap::new()),
                writable: AtomicBool::new(true),
                reconciled: AtomicBool::new(true),
                floor: AtomicU64::new(0),
                ledger: Arc::new(Ledger::default()),
                _lock: lock,
            }),
            realtime: Arc::new(Realtime::default()),
        }
    }

    fn job(ids: &[u64]) -> (Job, oneshot::Receiver<Result<Vec<Appended>, SpoolError>>) {
        let (ack, answer) = oneshot::channel();
        let records = ids.iter().map(|id| (record(*id), None)).collect();
        (Job { records, ack }, answer)
    }

    #[test]
    fn a_repeat_in_the_same_round_shares_the_originals_failure() {
        // The directory does not exist: the segment cannot be created.
        let mut writer = writer(PathBuf::from("/nonexistent/halftone-spool"));
        let (original, first) = job(&[1]);
        let (repeat, second) = job(&[1]);
        let mut jobs = vec![original, repeat];
        writer.commit(&mut jobs, &mut Vec::new());
        assert!(matches!(
            first.blocking_recv(),
            Ok(Err(SpoolError::Disk(_)))
        ));
        assert!(
            matches!(second.blocking_recv(), Ok(Err(SpoolError::Disk(_)))),
            "the repeat must not be told 'already counted' when the original was not stored"
        );
        assert!(
            writer.dedupe.insert(1),
            "the id is forgotten, so a retry is welcome"
        );
    }

    #[test]
    fn a_repeat_in_the_same_round_is_a_duplicate_once_stored() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut writer = writer(dir.path().to_owned());
        let (original, first) = job(&[1, 2]);
        let (repeat, second) = job(&[2, 3]);
        let mut jobs = vec![original, repeat];
        writer.commit(&mut jobs, &mut Vec::new());
        assert_eq!(
            first.blocking_recv().expect("answer").expect("stored"),
            [Appended::Stored, Appended::Stored]
        );
        assert_eq!(
            second.blocking_recv().expect("answer").expect("stored"),
            [Appended::Duplicate, Appended::Stored]
        );
        assert_eq!(writer.shared.durable_seq.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn nothing_is_acknowledged_before_reconciliation_and_numbering_starts_above_the_floor() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut writer = writer(dir.path().to_owned());
        writer.shared.reconciled.store(false, Ordering::Relaxed);
        let (early, answer) = job(&[1]);
        writer.commit(&mut vec![early], &mut Vec::new());
        assert!(matches!(
            answer.blocking_recv(),
            Ok(Err(SpoolError::Reconciling))
        ));
        writer.shared.reconcile(41);
        let (late, answer) = job(&[1]);
        writer.commit(&mut vec![late], &mut Vec::new());
        assert_eq!(
            answer.blocking_recv().expect("answer").expect("ok"),
            [Appended::Stored]
        );
        assert_eq!(writer.shared.durable_seq.load(Ordering::Relaxed), 42);
    }
}
