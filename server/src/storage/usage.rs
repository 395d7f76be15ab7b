//! Storage usage: how full the storage is, which threshold level that is, and the guard that refuses new media
//! at the blocking level (API.md §4.3, §4.6).
//!
//! Two ways to measure, chosen by `storage.capacity_bytes`:
//! - `null` (default): the filesystem holding `storage.recordings_path`, read with `statvfs` and `df`
//!   semantics (blocks reserved for root count as unavailable): `used = blocks − free`,
//!   `usage = used / (used + available)`. This matches the health check of the `storage` component.
//! - a number `C`: the storage is a volume of `C` bytes holding only the media. `used` is what is left after
//!   `available = min(C − (recordings + snapshots bytes), filesystem available)`, so a nearly full disk still
//!   counts; `usage = used / C`. Tests reach any level by writing a few small files.
//!
//! Invariants:
//! - In both modes `usage_percent = used / (used + available) × 100` (0 when both are 0), which is what the
//!   retention floor computes with.
//! - Everything here that touches the disk is blocking and runs on the blocking pool (the async wrappers do
//!   that); scanning a directory keeps only running totals, never a list.
//! - Media files are the ones the file catalogue lists: regular files (symlinks are not followed) whose name
//!   passes the filename rule and carries a media extension of their kind.

use crate::config::Config;
use crate::media::files::FileKind;
use crate::media::recorder::RecordingFormat;
use crate::media::snapshots::ImageFormat;
use crate::media::{blocking, storage_unavailable};
use crate::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use time::OffsetDateTime;

/// Threshold level of the usage, ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Block,
}

impl Level {
    /// `level` of `storage.warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Block => "block",
        }
    }

    /// `Block` at or above `block`, `Warn` at or above `warn`, else `Ok`.
    pub fn of(usage_percent: f64, warn: f64, block: f64) -> Level {
        if usage_percent >= block {
            Level::Block
        } else if usage_percent >= warn {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

/// One reading of the storage's space, in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Space {
    /// `total_space`: the filesystem's size, or `storage.capacity_bytes`.
    pub total: u64,
    pub used: u64,
    pub available: u64,
    /// `used / (used + available) × 100`.
    pub usage_percent: f64,
}

impl Space {
    fn new(total: u64, used: u64, available: u64) -> Space {
        let denominator = used.saturating_add(available);
        let usage_percent = if denominator == 0 {
            0.0
        } else {
            used as f64 * 100.0 / denominator as f64
        };
        Space {
            total,
            used,
            available,
            usage_percent,
        }
    }

    /// The bytes the usage percentages are relative to (`used + available`).
    pub fn usable(&self) -> u64 {
        self.used.saturating_add(self.available)
    }

    /// Free space in percent (`100 − usage`).
    pub fn free_percent(&self) -> f64 {
        100.0 - self.usage_percent
    }
}

/// Media bytes and counts per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaTotals {
    pub recordings_size: u64,
    pub recordings_count: u64,
    pub snapshots_size: u64,
    pub snapshots_count: u64,
}

impl MediaTotals {
    pub fn bytes(&self) -> u64 {
        self.recordings_size.saturating_add(self.snapshots_size)
    }
}

/// One media file as retention sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaEntry {
    pub kind: FileKind,
    pub name: String,
    pub size: u64,
    /// Last modification (the end of a recording segment).
    pub modified: OffsetDateTime,
}

/// Whether `name` is a listable media file name of `kind`.
pub fn is_media_name(kind: FileKind, name: &str) -> bool {
    camera_api::methods::is_valid_filename(name)
        && match kind {
            FileKind::Recording => RecordingFormat::guess_from_filename(name).is_some(),
            FileKind::Snapshot => ImageFormat::of_filename(name).is_some(),
        }
}

/// Calls `each(name, metadata)` for every media file of `kind` in `dir` (a missing directory is empty).
/// Blocking.
fn for_each_media(dir: &Path, kind: FileKind, mut each: impl FnMut(String, &std::fs::Metadata)) -> crate::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(storage_unavailable(dir, &e)),
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_media_name(kind, &name) {
            continue;
        }
        // DirEntry::metadata does not follow symlinks.
        if let Ok(m) = entry.metadata()
            && m.is_file()
        {
            each(name, &m);
        }
    }
    Ok(())
}

/// Every media file of `kind` in `dir`, with size and modification time. Blocking.
pub fn scan_media(dir: &Path, kind: FileKind) -> crate::Result<Vec<MediaEntry>> {
    let mut out = Vec::new();
    for_each_media(dir, kind, |name, m| {
        let modified = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        out.push(MediaEntry {
            kind,
            name,
            size: m.len(),
            modified: OffsetDateTime::from(modified),
        });
    })?;
    Ok(out)
}

/// Bytes and counts of the media in both directories. Blocking.
pub fn media_totals(recordings: &Path, snapshots: &Path) -> crate::Result<MediaTotals> {
    let mut t = MediaTotals::default();
    for_each_media(recordings, FileKind::Recording, |_, m| {
        t.recordings_size = t.recordings_size.saturating_add(m.len());
        t.recordings_count += 1;
    })?;
    for_each_media(snapshots, FileKind::Snapshot, |_, m| {
        t.snapshots_size = t.snapshots_size.saturating_add(m.len());
        t.snapshots_count += 1;
    })?;
    Ok(t)
}

/// `statvfs` figures in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FsFigures {
    total: u64,
    free: u64,
    available: u64,
}

fn statvfs(path: &Path) -> std::io::Result<FsFigures> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: statvfs only writes into the zeroed struct we own; c_path is a valid NUL-terminated string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = st.f_frsize as u64;
    let bytes = |blocks: u64| blocks.saturating_mul(frsize);
    Ok(FsFigures {
        total: bytes(st.f_blocks as u64),
        free: bytes(st.f_bfree as u64),
        available: bytes(st.f_bavail as u64),
    })
}

/// The usage of the storage per `storage.*` (see the module docs) and the refusal of new media at the
/// blocking level. Cheap to clone; every service that writes media holds one.
#[derive(Clone, Debug)]
pub struct StorageGuard {
    recordings_dir: PathBuf,
    snapshots_dir: PathBuf,
    capacity: Option<u64>,
    warn_percent: f64,
    block_percent: f64,
}

impl StorageGuard {
    pub fn new(config: &Config) -> StorageGuard {
        StorageGuard {
            recordings_dir: config.storage.recordings_path.clone(),
            snapshots_dir: config.storage.snapshots_path.clone(),
            capacity: config.storage.capacity_bytes,
            warn_percent: config.storage.warn_percent,
            block_percent: config.storage.block_percent,
        }
    }

    pub fn recordings_dir(&self) -> &Path {
        &self.recordings_dir
    }
    pub fn snapshots_dir(&self) -> &Path {
        &self.snapshots_dir
    }
    pub fn warn_percent(&self) -> f64 {
        self.warn_percent
    }
    pub fn block_percent(&self) -> f64 {
        self.block_percent
    }
    /// `storage.capacity_bytes`.
    pub fn capacity(&self) -> Option<u64> {
        self.capacity
    }

    pub fn level(&self, space: &Space) -> Level {
        Level::of(space.usage_percent, self.warn_percent, self.block_percent)
    }

    /// The space reading, and the media totals when they were needed for it (capacity mode) or asked for.
    /// Blocking. The recordings directory is created when missing (its filesystem is the one measured).
    pub fn measure_blocking(&self, with_totals: bool) -> crate::Result<(Space, Option<MediaTotals>)> {
        let dir = &self.recordings_dir;
        std::fs::create_dir_all(dir).map_err(|e| storage_unavailable(dir, &e))?;
        let fs = statvfs(dir).map_err(|e| storage_unavailable(dir, &e))?;
        let totals = if with_totals || self.capacity.is_some() {
            Some(media_totals(&self.recordings_dir, &self.snapshots_dir)?)
        } else {
            None
        };
        let space = match (self.capacity, &totals) {
            (Some(capacity), Some(t)) => {
                let available = capacity.saturating_sub(t.bytes()).min(fs.available);
                Space::new(capacity, capacity - available, available)
            }
            _ => Space::new(fs.total, fs.total.saturating_sub(fs.free), fs.available),
        };
        Ok((space, totals))
    }

    /// The space reading (on the blocking pool).
    pub async fn space(&self) -> crate::Result<Space> {
        let guard = self.clone();
        blocking(move || Ok(guard.measure_blocking(false)?.0)).await
    }

    /// The space reading with the media totals (on the blocking pool).
    pub async fn space_and_totals(&self) -> crate::Result<(Space, MediaTotals)> {
        let guard = self.clone();
        blocking(move || {
            let (space, totals) = guard.measure_blocking(true)?;
            Ok((space, totals.unwrap_or_default()))
        })
        .await
    }

    /// Call before starting a snapshot or a recording: -32060 `storage_full` (with `available_bytes` and
    /// `usage_percentage`) at or above `storage.block_percent`; -32050 `storage_unavailable` when the storage
    /// cannot be measured.
    pub async fn ensure_space(&self) -> crate::Result<()> {
        let space = self.space().await?;
        match self.level(&space) {
            Level::Block => Err(storage_full(&space, self.block_percent)),
            Level::Ok | Level::Warn => Ok(()),
        }
    }
}

/// A percentage as reported on the wire (two decimals).
pub fn wire_percent(p: f64) -> f64 {
    (p * 100.0).round() / 100.0
}

/// -32060 `storage_full`.
pub fn storage_full(space: &Space, block_percent: f64) -> Error {
    Error::new(
        ErrorKind::StorageFull,
        "storage_full",
        format!(
            "Storage is {:.1}% full, at or above the blocking threshold of {block_percent}%",
            space.usage_percent
        ),
    )
    .with("available_bytes", space.available)
    .with("usage_percentage", wire_percent(space.usage_percent))
    .suggest("Delete old files or call cleanup_old_files")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(dir: &Path, capacity: Option<u64>, warn: f64, block: f64) -> StorageGuard {
        let mut config = Config::default();
        config.storage.recordings_path = dir.join("recordings");
        config.storage.snapshots_path = dir.join("snapshots");
        config.storage.capacity_bytes = capacity;
        config.storage.warn_percent = warn;
        config.storage.block_percent = block;
        StorageGuard::new(&config)
    }

    fn write(path: PathBuf, bytes: usize) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, vec![0u8; bytes]).expect("write");
    }

    #[test]
    fn levels() {
        assert_eq!(Level::of(79.9, 80.0, 95.0), Level::Ok);
        assert_eq!(Level::of(80.0, 80.0, 95.0), Level::Warn);
        assert_eq!(Level::of(95.0, 80.0, 95.0), Level::Block);
        assert!(Level::Ok < Level::Warn && Level::Warn < Level::Block);
    }

    #[test]
    fn totals_count_only_listable_media() {
        let dir = tempfile::tempdir().expect("tmp");
        let (rec, snap) = (dir.path().join("recordings"), dir.path().join("snapshots"));
        write(rec.join("camera0_2025-01-15_14-30-00.mp4"), 1000);
        write(rec.join("b.mkv"), 500);
        write(rec.join("notes.txt"), 7000);
        write(rec.join(".hidden.mp4"), 7000);
        write(snap.join("a.jpg"), 100);
        write(snap.join("a.mp4"), 7000);
        std::os::unix::fs::symlink(rec.join("b.mkv"), rec.join("link.mkv")).expect("symlink");
        let t = media_totals(&rec, &snap).expect("totals");
        assert_eq!(
            t,
            MediaTotals {
                recordings_size: 1500,
                recordings_count: 2,
                snapshots_size: 100,
                snapshots_count: 1
            }
        );
        let mut names: Vec<String> = scan_media(&rec, FileKind::Recording)
            .expect("scan")
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        assert_eq!(names, ["b.mkv", "camera0_2025-01-15_14-30-00.mp4"]);
        assert!(
            scan_media(&dir.path().join("absent"), FileKind::Snapshot)
                .expect("missing dir")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn capacity_mode_counts_media_against_the_capacity() {
        let dir = tempfile::tempdir().expect("tmp");
        let g = guard(dir.path(), Some(10_000), 50.0, 90.0);
        let empty = g.space().await.expect("space");
        assert_eq!((empty.total, empty.used, empty.available), (10_000, 0, 10_000));
        assert_eq!(g.level(&empty), Level::Ok);
        g.ensure_space().await.expect("empty storage has room");

        write(dir.path().join("recordings/a.mp4"), 6_000);
        let (space, totals) = g.space_and_totals().await.expect("space");
        assert_eq!(
            (space.used, space.available, totals.recordings_count),
            (6_000, 4_000, 1)
        );
        assert!((space.usage_percent - 60.0).abs() < 1e-9);
        assert_eq!(g.level(&space), Level::Warn);
        g.ensure_space().await.expect("warn still admits");

        write(dir.path().join("snapshots/b.png"), 3_500);
        let err = g.ensure_space().await.expect_err("95% is over the block threshold");
        assert_eq!((err.kind, err.reason), (ErrorKind::StorageFull, "storage_full"));
        assert_eq!(err.data["available_bytes"], 500);
        assert_eq!(err.data["usage_percentage"], 95.0);

        // More media than the capacity: nothing available, usage 100 %.
        write(dir.path().join("snapshots/c.png"), 5_000);
        let over = g.space().await.expect("space");
        assert_eq!((over.available, over.used, over.usage_percent), (0, 10_000, 100.0));
    }

    #[tokio::test]
    async fn filesystem_mode_reads_statvfs() {
        let dir = tempfile::tempdir().expect("tmp");
        let g = guard(dir.path(), None, 100.0, 100.0);
        let s = g.space().await.expect("space");
        assert!(s.total > 0 && s.available <= s.total && s.used <= s.total);
        assert!((0.0..=100.0).contains(&s.usage_percent));
        assert!(
            dir.path().join("recordings").is_dir(),
            "the measured directory is created"
        );
        // Any real filesystem is at or above 0 %.
        let err = guard(dir.path(), None, 0.0, 0.0)
            .ensure_space()
            .await
            .expect_err("blocked at 0 %");
        assert_eq!(err.reason, "storage_full");
    }
}
