//! The daily salt behind unique-visitor counting.
//!
//! A visitor is `sha256(salt ‖ site ‖ address ‖ user agent)`, cut to 64 bits.
//! The salt is random, made fresh each UTC day and persisted (so a restart
//! keeps counting the same visitors as the same). Yesterday's salt is kept
//! only for the first minutes after midnight, so the realtime panel does not
//! see everyone online at midnight twice, then destroyed: with it gone, no
//! hash of one day can be tied to a hash of another.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long after midnight yesterday's salt survives.
pub const BRIDGE_SECS: i64 = 10 * 60;
const DAY: i64 = 86_400;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SaltFile {
    day: i64,
    salt: String,
    #[serde(default)]
    previous: Option<String>,
}

/// A visitor's hash under today's salt and, during the midnight bridge,
/// under yesterday's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorIds {
    pub today: u64,
    pub previous: Option<u64>,
}

pub struct Salts {
    path: PathBuf,
    site: String,
    state: Mutex<SaltFile>,
}

impl Salts {
    /// Loads the salt file, or makes one.
    pub fn open(dir: &Path, site: &str, now: i64) -> anyhow::Result<Salts> {
        let path = dir.join("salt.json");
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{} is damaged ({e}); delete it to start a new day's salt",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let fresh = SaltFile {
                    day: now.div_euclid(DAY),
                    salt: random_salt(),
                    previous: None,
                };
                write_atomically(&path, &fresh)?;
                fresh
            }
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        };
        let salts = Salts {
            path,
            site: site.to_owned(),
            state: Mutex::new(state),
        };
        salts.rotate(now)?;
        Ok(salts)
    }

    /// Moves to a new day's salt and drops yesterday's after the bridge.
    /// Cheap when nothing changes; called on every hit.
    pub fn rotate(&self, now: i64) -> anyhow::Result<()> {
        let day = now.div_euclid(DAY);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed = false;
        if state.day != day {
            let previous = (state.day == day - 1).then(|| state.salt.clone());
            *state = SaltFile {
                day,
                salt: random_salt(),
                previous,
            };
            changed = true;
        }
        if state.previous.is_some() && now - day * DAY >= BRIDGE_SECS {
            state.previous = None;
            changed = true;
        }
        if changed {
            write_atomically(&self.path, &state)?;
            tracing::info!(day, "visitor salt rotated");
        }
        Ok(())
    }

    pub fn visitor(&self, address: &str, user_agent: &str, now: i64) -> VisitorIds {
        if let Err(error) = self.rotate(now) {
            // Counting goes on with the salt in memory; the next hit retries the write.
            tracing::warn!(%error, "cannot persist the rotated salt");
        }
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let hash = |salt: &str| {
            let mut digest = Sha256::new();
            for part in [salt, &self.site, address, user_agent] {
                digest.update(part.as_bytes());
                digest.update([0]);
            }
            let bytes = digest.finalize();
            let mut first = [0u8; 8];
            first.copy_from_slice(&bytes[..8]);
            // Stored as a signed BIGINT; keep it positive and never 0 (0 = none).
            (u64::from_le_bytes(first) >> 1).max(1)
        };
        VisitorIds {
            today: hash(&state.salt),
            previous: state.previous.as_deref().map(hash),
        }
    }
}

fn random_salt() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn write_atomically(path: &Path, state: &SaltFile) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&serde_json::to_vec(state)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_day_same_visitor_new_day_new_hash_and_old_salt_destroyed() {
        let dir = tempfile::tempdir().expect("tmp");
        let t0 = 20_000 * DAY + 3600;
        let salts = Salts::open(dir.path(), "site", t0).expect("open");
        let a = salts.visitor("1.2.3.4", "ua", t0);
        assert_eq!(a, salts.visitor("1.2.3.4", "ua", t0 + 60));
        assert_ne!(a.today, salts.visitor("1.2.3.5", "ua", t0).today);
        // Restart: same salt from disk.
        let reopened = Salts::open(dir.path(), "site", t0 + 120).expect("reopen");
        assert_eq!(a, reopened.visitor("1.2.3.4", "ua", t0 + 120));
        // Next day: new hash, yesterday's kept for the bridge only.
        let next = reopened.visitor("1.2.3.4", "ua", t0 + DAY - 3600 + 5);
        assert_ne!(next.today, a.today);
        assert_eq!(next.previous, Some(a.today));
        let later = reopened.visitor("1.2.3.4", "ua", t0 + DAY);
        assert_eq!(later.previous, None);
        let on_disk = std::fs::read_to_string(dir.path().join("salt.json")).expect("read");
        assert!(
            !on_disk.contains("previous\":\""),
            "yesterday's salt destroyed: {on_disk}"
        );
    }
}
