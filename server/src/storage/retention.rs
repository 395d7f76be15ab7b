//! Retention: the planner that decides which media files a run deletes, the mass-delete guard, and the
//! executor that deletes them (API.md §4.6).
//!
//! The planner is a pure function of (files with sizes and modification times, the protected names, the
//! policy, the space reading, now, the guard limits). Rules, applied to the unprotected files oldest first
//! (by modification time, then name):
//! - age (`age`, `age_and_size`): every file last modified more than `max_age_days` before now;
//! - size (`size`, `age_and_size`): then the oldest remaining files until recordings + snapshots (protected
//!   ones included) are at most `max_size_gb` GiB;
//! - floor (every type, unless `min_free_percent` is 0): then the oldest remaining files until the free space
//!   would be at least `min_free_percent` of the usable space.
//!
//! Invariants:
//! - A recording file named by `protected` (the segments of every in-progress recording) is never chosen, and
//!   the executor's delete refuses the segment being written even if it started after planning.
//! - The guard trips when a plan deletes more than `retention.mass_delete_min_files` files **and** more than
//!   `retention.max_delete_fraction` of all recordings + snapshots (protected ones count in the total).
//! - The executor deletes one file at a time through the file catalogue, so each deletion emits `file.deleted`
//!   (`reason: "retention"`) and drops its index row; a file that vanished meanwhile is skipped.

use crate::ErrorKind;
use crate::media::files::{FileCatalog, FileKind};
use crate::storage::policy::RetentionPolicy;
use crate::storage::usage::{MediaEntry, Space};
use std::collections::HashSet;
use time::OffsetDateTime;

/// `retention.max_delete_fraction` and `retention.mass_delete_min_files`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GuardLimits {
    pub max_delete_fraction: f64,
    pub mass_delete_min_files: u32,
}

impl GuardLimits {
    /// Whether deleting `would_delete` of `total_files` trips the guard.
    pub fn trips(&self, would_delete: usize, total_files: usize) -> bool {
        would_delete > self.mass_delete_min_files as usize
            && would_delete as f64 > self.max_delete_fraction * total_files as f64
    }
}

/// What a run would delete.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Oldest first.
    pub delete: Vec<MediaEntry>,
    /// Recordings + snapshots on disk, protected ones included.
    pub total_files: usize,
    /// Bytes of the files in `delete`.
    pub bytes: u64,
    pub guard_tripped: bool,
}

impl Plan {
    pub fn count(&self, kind: FileKind) -> u64 {
        self.delete.iter().filter(|e| e.kind == kind).count() as u64
    }
}

/// Decides what a run deletes (rules in the module docs). `protected`: names of recording files that belong
/// to an in-progress recording. `space`: `None` skips the floor (usage unknown). `policy.enabled` is the
/// caller's business.
pub fn plan(
    mut files: Vec<MediaEntry>,
    protected: &HashSet<String>,
    policy: &RetentionPolicy,
    space: Option<&Space>,
    now: OffsetDateTime,
    limits: GuardLimits,
) -> Plan {
    let total_files = files.len();
    let total_bytes = files.iter().fold(0u64, |sum, f| sum.saturating_add(f.size));
    files.retain(|f| !(f.kind == FileKind::Recording && protected.contains(&f.name)));
    files.sort_by(|a, b| {
        a.modified
            .cmp(&b.modified)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| (a.kind as u8).cmp(&(b.kind as u8)))
    });
    let mut chosen = vec![false; files.len()];
    let mut freed = 0u64;
    // Each rule walks the files oldest first; `stop` says when it has done enough.
    let mut apply = |stop: &dyn Fn(u64) -> bool, picks: &dyn Fn(&MediaEntry) -> bool| {
        for (f, c) in files.iter().zip(chosen.iter_mut()) {
            if stop(freed) {
                break;
            }
            if !*c && picks(f) {
                *c = true;
                freed = freed.saturating_add(f.size);
            }
        }
    };

    if let Some(max_age) = policy.max_age() {
        let cutoff = now - max_age;
        apply(&|_| false, &|f| f.modified < cutoff);
    }
    if let Some(limit) = policy.max_size_bytes() {
        apply(&|freed| total_bytes.saturating_sub(freed) <= limit, &|_| true);
    }
    if let (Some(percent), Some(space)) = (policy.floor_percent(), space) {
        let target = (space.usable() as f64 * percent / 100.0).ceil();
        apply(&|freed| space.available.saturating_add(freed) as f64 >= target, &|_| {
            true
        });
    }

    let delete: Vec<MediaEntry> = files
        .into_iter()
        .zip(chosen)
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
    Plan {
        guard_tripped: limits.trips(delete.len(), total_files),
        total_files,
        bytes: freed,
        delete,
    }
}

/// What a run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub files_deleted: u64,
    pub recordings_removed: u64,
    pub snapshots_removed: u64,
    pub space_freed: u64,
}

/// Deletes the plan's files through the catalogue (see the module docs). Failures other than "already gone"
/// are logged and the run continues with the next file.
pub async fn execute(files: &FileCatalog, plan: &Plan) -> Outcome {
    let mut out = Outcome::default();
    for entry in &plan.delete {
        match files.delete_for_retention(entry.kind, &entry.name).await {
            Ok(()) => {
                out.files_deleted += 1;
                out.space_freed = out.space_freed.saturating_add(entry.size);
                match entry.kind {
                    FileKind::Recording => out.recordings_removed += 1,
                    FileKind::Snapshot => out.snapshots_removed += 1,
                }
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(filename = entry.name, error = %e, "retention could not delete a file"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::policy::PolicyType;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);
    const LIMITS: GuardLimits = GuardLimits {
        max_delete_fraction: 0.5,
        mass_delete_min_files: 20,
    };

    fn entry(kind: FileKind, name: &str, size: u64, days_old: i64) -> MediaEntry {
        MediaEntry {
            kind,
            name: name.into(),
            size,
            modified: NOW - time::Duration::days(days_old),
        }
    }

    fn policy(t: PolicyType, days: Option<u32>, gb: Option<f64>, floor: f64) -> RetentionPolicy {
        RetentionPolicy {
            policy_type: t,
            enabled: true,
            max_age_days: days,
            max_size_gb: gb,
            min_free_percent: floor,
            updated_at: None,
        }
    }

    fn names(p: &Plan) -> Vec<&str> {
        p.delete.iter().map(|e| e.name.as_str()).collect()
    }

    fn sample() -> Vec<MediaEntry> {
        vec![
            entry(FileKind::Recording, "r40.mp4", 400, 40),
            entry(FileKind::Snapshot, "s31.jpg", 10, 31),
            entry(FileKind::Recording, "r30.mp4", 300, 30),
            entry(FileKind::Snapshot, "s10.jpg", 10, 10),
            entry(FileKind::Recording, "r1.mkv", 100, 1),
        ]
    }

    #[test]
    fn age_deletes_strictly_older_files() {
        let p = plan(
            sample(),
            &HashSet::new(),
            &policy(PolicyType::Age, Some(30), None, 0.0),
            None,
            NOW,
            LIMITS,
        );
        assert_eq!(names(&p), ["r40.mp4", "s31.jpg"], "exactly 30 days old is kept");
        assert_eq!((p.bytes, p.total_files, p.guard_tripped), (410, 5, false));
        assert_eq!((p.count(FileKind::Recording), p.count(FileKind::Snapshot)), (1, 1));
    }

    #[test]
    fn size_deletes_oldest_until_within_the_limit() {
        // 820 bytes in total; limit 2^30 × x bytes: use a fraction of a GiB that is 500 bytes.
        let gb = 500.0 / crate::storage::policy::GIB;
        let p = plan(
            sample(),
            &HashSet::new(),
            &policy(PolicyType::Size, Some(1), Some(gb), 0.0),
            None,
            NOW,
            LIMITS,
        );
        assert_eq!(
            names(&p),
            ["r40.mp4"],
            "820 − 400 = 420 ≤ 500; the stored age limit is not applied"
        );
        let gb = 400.0 / crate::storage::policy::GIB;
        let both = policy(PolicyType::AgeAndSize, Some(35), Some(gb), 0.0);
        let p = plan(sample(), &HashSet::new(), &both, None, NOW, LIMITS);
        assert_eq!(
            names(&p),
            ["r40.mp4", "s31.jpg", "r30.mp4"],
            "age takes r40, size then s31 and r30"
        );
    }

    #[test]
    fn floor_deletes_oldest_until_enough_is_free() {
        let space = Space {
            total: 10_000,
            used: 9_500,
            available: 500,
            usage_percent: 95.0,
        };
        // 10 % of 10 000 = 1000 available wanted: 500 more bytes → r40 (400) then s31 (10) then r30 (300).
        let p = plan(
            sample(),
            &HashSet::new(),
            &policy(PolicyType::Manual, None, None, 10.0),
            Some(&space),
            NOW,
            LIMITS,
        );
        assert_eq!(names(&p), ["r40.mp4", "s31.jpg", "r30.mp4"]);
        let off = plan(
            sample(),
            &HashSet::new(),
            &policy(PolicyType::Manual, None, None, 0.0),
            Some(&space),
            NOW,
            LIMITS,
        );
        assert!(off.delete.is_empty(), "0 disables the floor");
        let roomy = Space {
            available: 5_000,
            used: 5_000,
            ..space
        };
        let p = plan(
            sample(),
            &HashSet::new(),
            &policy(PolicyType::Manual, None, None, 10.0),
            Some(&roomy),
            NOW,
            LIMITS,
        );
        assert!(p.delete.is_empty());
    }

    #[test]
    fn protected_recordings_are_never_chosen_but_count_in_totals() {
        let protected: HashSet<String> = ["r40.mp4".to_owned(), "s31.jpg".to_owned()].into();
        let gb = 100.0 / crate::storage::policy::GIB;
        let p = plan(
            sample(),
            &protected,
            &policy(PolicyType::AgeAndSize, Some(1), Some(gb), 50.0),
            None,
            NOW,
            LIMITS,
        );
        // Everything unprotected goes; a snapshot of the same name as a protected recording is not protected.
        assert_eq!(names(&p), ["s31.jpg", "r30.mp4", "s10.jpg", "r1.mkv"]);
        assert_eq!(p.total_files, 5);
    }

    #[test]
    fn guard_needs_both_the_count_and_the_fraction() {
        let many: Vec<MediaEntry> = (0..40)
            .map(|i| entry(FileKind::Snapshot, &format!("s{i:02}.jpg"), 1, 100 - i))
            .collect();
        let by_age = |days| policy(PolicyType::Age, Some(days), None, 0.0);
        // 21 of 40 (> 20 and > 50 %): trips.
        let p = plan(many.clone(), &HashSet::new(), &by_age(79), None, NOW, LIMITS);
        assert_eq!((p.delete.len(), p.guard_tripped), (21, true));
        assert_eq!(p.delete[0].name, "s00.jpg", "oldest first");
        // 20 of 40: not more than 20.
        let p = plan(many.clone(), &HashSet::new(), &by_age(80), None, NOW, LIMITS);
        assert_eq!((p.delete.len(), p.guard_tripped), (20, false));
        // 21 of 50 (42 %): not more than half.
        let mut more = many;
        more.extend((0..10).map(|i| entry(FileKind::Recording, &format!("r{i}.mp4"), 1, 0)));
        let p = plan(more, &HashSet::new(), &by_age(79), None, NOW, LIMITS);
        assert_eq!((p.delete.len(), p.guard_tripped), (21, false));
        assert!(
            GuardLimits {
                max_delete_fraction: 0.0,
                mass_delete_min_files: 0
            }
            .trips(1, 100)
        );
        assert!(!LIMITS.trips(0, 0));
    }
}
