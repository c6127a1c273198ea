//! This node's counters for its heartbeat (the System page): requests and
//! page-cache outcomes since start. Prometheus has the detailed series
//! (`/metrics`); these are the few numbers a cartoonist reads.

use std::sync::atomic::{AtomicU64, Ordering};

static REQUESTS: AtomicU64 = AtomicU64::new(0);
static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
static CACHE_MISSES: AtomicU64 = AtomicU64::new(0);

pub fn request() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// One page-cache answer: served from a cache (this node's, Redis, stale
/// or joined to another request's render) or rendered.
pub fn cache(hit: bool) {
    if hit {
        CACHE_HITS.fetch_add(1, Ordering::Relaxed);
    } else {
        CACHE_MISSES.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub requests: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
}

pub fn read() -> Counters {
    Counters {
        requests: REQUESTS.load(Ordering::Relaxed),
        cache_hits: CACHE_HITS.load(Ordering::Relaxed),
        cache_misses: CACHE_MISSES.load(Ordering::Relaxed),
    }
}

/// Resident memory of this process in bytes (Linux; 0 elsewhere).
pub fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Share of the disk holding `path` that is used, in percent.
pub fn disk_used_percent(path: &std::path::Path) -> Option<f64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let total = stat.f_blocks as f64 * stat.f_frsize as f64;
    let free = stat.f_bavail as f64 * stat.f_frsize as f64;
    (total > 0.0).then(|| 100.0 * (total - free) / total)
}
