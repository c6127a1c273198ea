//! Which archives to keep: the newest of each of the last N days, weeks
//! and months (as restic's `forget --keep-daily` counts them). Archives
//! are named by when they were made, so the policy reads names, not file
//! times a copy may have changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};

use crate::config::BackupConfig;

/// Regular archives are `halftone-YYYYMMDD-HHMMSS.tar`; others (the safety
/// copies a restore makes) are never pruned.
pub const PREFIX: &str = "halftone";

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl From<&BackupConfig> for Policy {
    fn from(c: &BackupConfig) -> Self {
        Self {
            daily: c.keep_daily.max(1),
            weekly: c.keep_weekly,
            monthly: c.keep_monthly,
        }
    }
}

/// When a regular archive was made, from its name.
pub fn made_at(name: &str) -> Option<DateTime<Utc>> {
    let stem = name
        .strip_prefix(PREFIX)?
        .strip_prefix('-')?
        .strip_suffix(".tar")?;
    // `…-2.tar`: a second archive in the same second.
    let stamp = stem.get(..15)?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// A period an archive falls in: (year, day / ISO week / month).
type Bucket = fn(&DateTime<Utc>) -> (i32, u32);

/// The names to keep out of `names` (any order). Unparseable names are not
/// archives of ours and are kept.
pub fn keep(names: &[String], policy: &Policy) -> BTreeSet<String> {
    let mut dated: Vec<(DateTime<Utc>, &String)> = names
        .iter()
        .filter_map(|n| made_at(n).map(|t| (t, n)))
        .collect();
    dated.sort_by(|a, b| b.cmp(a));
    let mut kept: BTreeSet<String> = names
        .iter()
        .filter(|n| made_at(n).is_none())
        .cloned()
        .collect();
    let buckets: [(u32, Bucket); 3] = [
        (policy.daily, |t| (t.year(), t.ordinal())),
        (policy.weekly, |t| {
            let w = t.iso_week();
            (w.year(), w.week())
        }),
        (policy.monthly, |t| (t.year(), t.month())),
    ];
    for (limit, bucket) in buckets {
        let mut last = None;
        let mut count = 0;
        for (t, name) in &dated {
            if count >= limit {
                break;
            }
            let b = bucket(t);
            if last != Some(b) {
                last = Some(b);
                count += 1;
                kept.insert((*name).clone());
            }
        }
    }
    // The newest is always kept, whatever the policy says.
    if let Some((_, newest)) = dated.first() {
        kept.insert((*newest).clone());
    }
    kept
}

/// Deletes the archives in `dir` the policy does not keep, and partial
/// files of backups that died more than a day ago. Returns what it deleted.
pub fn prune(dir: &Path, policy: &Policy, now: DateTime<Utc>) -> std::io::Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    let mut deleted = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".partial") {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|m| DateTime::<Utc>::from(m) < now - chrono::Duration::days(1))
                .unwrap_or(false);
            if old {
                std::fs::remove_file(entry.path())?;
                deleted.push(entry.path());
            }
            continue;
        }
        if made_at(&name).is_some() {
            names.push(name);
        }
    }
    let kept = keep(&names, policy);
    for name in names {
        if !kept.contains(&name) {
            let path = dir.join(&name);
            std::fs::remove_file(&path)?;
            deleted.push(path);
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(t: DateTime<Utc>) -> String {
        format!("{PREFIX}-{}.tar", t.format("%Y%m%d-%H%M%S"))
    }

    /// 400 simulated days of one backup at 03:00 and a manual one some
    /// afternoons: what stays is exactly the newest per day for 30 days,
    /// per ISO week for 8 weeks, per month for 6 months.
    #[test]
    fn keeps_the_newest_of_each_period() {
        let policy = Policy {
            daily: 30,
            weekly: 8,
            monthly: 6,
        };
        let start = NaiveDateTime::parse_from_str("2025-10-01 03:00:00", "%Y-%m-%d %H:%M:%S")
            .unwrap_or_default()
            .and_utc();
        let mut names: Vec<String> = Vec::new();
        for day in 0..400 {
            let t = start + chrono::Duration::days(day);
            names.push(name(t));
            if day % 3 == 0 {
                names.push(name(t + chrono::Duration::hours(12)));
            }
            // What pruning leaves after each day's backup.
            names = keep(&names, &policy).into_iter().collect();
        }
        let mut expected = BTreeSet::new();
        let mut all: Vec<DateTime<Utc>> = (0..400)
            .flat_map(|d| {
                let t = start + chrono::Duration::days(d);
                if d % 3 == 0 {
                    vec![t, t + chrono::Duration::hours(12)]
                } else {
                    vec![t]
                }
            })
            .collect();
        all.sort();
        all.reverse();
        let newest = all[0];
        let mut newest_per = |key: &dyn Fn(&DateTime<Utc>) -> (i32, u32), limit: usize| {
            let mut seen = Vec::new();
            for t in &all {
                let k = key(t);
                if !seen.contains(&k) {
                    if seen.len() == limit {
                        break;
                    }
                    seen.push(k);
                    expected.insert(name(*t));
                }
            }
        };
        newest_per(&|t| (t.year(), t.ordinal()), 30);
        newest_per(
            &|t| {
                let w = t.iso_week();
                (w.year(), w.week())
            },
            8,
        );
        newest_per(&|t| (t.year(), t.month()), 6);
        let kept: BTreeSet<String> = names.into_iter().collect();
        assert_eq!(kept, expected);
        assert!(kept.contains(&name(newest)));
        // 30 days, plus weeks and months not already covered by them.
        assert!(kept.len() >= 30 && kept.len() <= 44, "{}", kept.len());
    }

    #[test]
    fn foreign_names_are_never_pruned() {
        let names = vec![
            "before-restore-20260101-000000.tar".to_owned(),
            "notes.txt".to_owned(),
            name(Utc::now()),
        ];
        assert_eq!(
            keep(
                &names,
                &Policy {
                    daily: 1,
                    weekly: 0,
                    monthly: 0
                }
            )
            .len(),
            3
        );
    }

    #[test]
    fn names_parse_with_a_same_second_suffix() {
        assert!(made_at("halftone-20261201-030000.tar").is_some());
        assert!(made_at("halftone-20261201-030000-2.tar").is_some());
        assert!(made_at("halftone-2026.tar").is_none());
    }
}
