//! The file catalogue (API.md §4.4): listing, describing and deleting recordings and snapshots.
//!
//! Invariants:
//! - The directories are the truth: every call scans `storage.recordings_path` / `storage.snapshots_path` on
//!   the blocking pool. Only regular files (never symlinks) whose names pass the filename rule and carry a
//!   media extension are listed; a name is only ever joined to its storage directory after that check, so no
//!   request can reach outside the storage folders.
//! - The state store (`media_files`) adds what the file system cannot tell: the camera of a custom-named
//!   snapshot and the requested format of a recording. Without a row, both come from the generated name
//!   (`.mp4` → `fmp4`).
//! - The segment a recording is writing right now is `in_progress` and cannot be deleted (`file_in_use`).
//! - Recording durations come from ffprobe and are cached by (name, size, mtime), at most [`DURATION_CACHE`]
//!   entries; lists use the cache or, for files not probed yet, the span between the name's time and the
//!   last write, so a list never waits on many ffprobe runs.

use crate::clock::{Clock, format_timestamp};
use crate::config::Config;
use crate::events::EventBus;
use crate::media::ffmpeg::Ffmpeg;
use crate::media::recorder::{Recorder, RecordingFormat};
use crate::media::snapshots::{ImageFormat, image_size};
use crate::media::{blocking, download_url, parse_generated_name, storage_unavailable};
use crate::store::{Store, parse_sql_time};
use crate::{Error, ErrorKind};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// Most recording durations kept in memory.
pub const DURATION_CACHE: usize = 4096;
/// Time limit of one ffprobe of a recording.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which storage folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Recording,
    Snapshot,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Recording => "recording",
            FileKind::Snapshot => "snapshot",
        }
    }
    /// The `/files/<dir>/` segment of download URLs.
    pub fn url_dir(self) -> &'static str {
        match self {
            FileKind::Recording => "recordings",
            FileKind::Snapshot => "snapshots",
        }
    }
    fn has_media_extension(self, name: &str) -> bool {
        match self {
            FileKind::Recording => RecordingFormat::guess_from_filename(name).is_some(),
            FileKind::Snapshot => ImageFormat::of_filename(name).is_some(),
        }
    }
    fn not_found(self, filename: &str) -> Error {
        let reason = match self {
            FileKind::Recording => "recording_not_found",
            FileKind::Snapshot => "snapshot_not_found",
        };
        Error::not_found(reason, self.as_str(), filename)
    }
}

/// A `list_recordings` item / `get_recording_info` result.
#[derive(Clone, Debug, Serialize)]
pub struct RecordingFile {
    pub filename: String,
    pub file_size: u64,
    pub created_time: String,
    pub modified_time: String,
    pub duration: u64,
    pub format: String,
    /// `""` when unknown (a file the service did not write and whose name says nothing).
    pub device: String,
    pub in_progress: bool,
    pub download_url: String,
}

/// A `list_snapshots` item; `get_snapshot_info` adds `resolution`.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotFile {
    pub filename: String,
    pub file_size: u64,
    pub created_time: String,
    pub modified_time: String,
    pub format: String,
    /// `""` when unknown.
    pub device: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    pub download_url: String,
}

/// One page of a listing.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub files: Vec<T>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

/// The `delete_recording` / `delete_snapshot` result.
#[derive(Clone, Debug, Serialize)]
pub struct Deleted {
    pub filename: String,
    pub deleted: bool,
    pub message: String,
}

/// A file found on disk, before formatting.
#[derive(Clone, Debug)]
struct Found {
    name: String,
    size: u64,
    modified: SystemTime,
    /// Birth time when the file system reports one.
    born: Option<SystemTime>,
}

/// What the state store knows about a file.
#[derive(Clone, Debug)]
struct Known {
    device: String,
    format: String,
    created: Option<OffsetDateTime>,
}

/// Lists, describes and deletes media files. Construct with [`FileCatalog::new`]; nothing to spawn.
pub struct FileCatalog {
    recordings_dir: PathBuf,
    snapshots_dir: PathBuf,
    public_base_url: Option<String>,
    recorder: Arc<Recorder>,
    ffmpeg: Ffmpeg,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    store: Store,
    durations: Mutex<HashMap<String, (u64, SystemTime, f64)>>,
}

impl FileCatalog {
    pub fn new(
        config: &Config,
        recorder: Arc<Recorder>,
        ffmpeg: Ffmpeg,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
        store: Store,
    ) -> Self {
        FileCatalog {
            recordings_dir: config.storage.recordings_path.clone(),
            snapshots_dir: config.storage.snapshots_path.clone(),
            public_base_url: config.server.public_base_url.clone(),
            recorder,
            ffmpeg,
            events,
            clock,
            store,
            durations: Mutex::new(HashMap::new()),
        }
    }

    /// The directory of a kind.
    pub fn dir(&self, kind: FileKind) -> &Path {
        match kind {
            FileKind::Recording => &self.recordings_dir,
            FileKind::Snapshot => &self.snapshots_dir,
        }
    }

    /// The path of an existing, listable file (for downloads): -32602 `invalid_filename` for a bad name,
    /// -32010 `recording_not_found` / `snapshot_not_found` when there is no such regular file.
    pub async fn path_of(&self, kind: FileKind, filename: &str) -> crate::Result<PathBuf> {
        check_name(filename)?;
        let found = self.stat(kind, filename).await?;
        Ok(self.dir(kind).join(found.name))
    }

    pub async fn list_recordings(
        &self,
        device: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> crate::Result<Page<RecordingFile>> {
        let found = scan(self.recordings_dir.clone(), FileKind::Recording).await?;
        let known = self.known(FileKind::Recording).await;
        let writing = self.recorder.files_in_progress();
        let mut items: Vec<RecordingFile> = found
            .into_iter()
            .map(|f| self.recording_item(f, &known, &writing))
            .collect();
        items.retain(|i| device.is_none_or(|d| i.device == d));
        items.sort_by(|a, b| {
            b.created_time
                .cmp(&a.created_time)
                .then_with(|| b.filename.cmp(&a.filename))
        });
        Ok(page(items, limit, offset))
    }

    pub async fn list_snapshots(
        &self,
        device: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> crate::Result<Page<SnapshotFile>> {
        let found = scan(self.snapshots_dir.clone(), FileKind::Snapshot).await?;
        let known = self.known(FileKind::Snapshot).await;
        let mut items: Vec<SnapshotFile> = found.into_iter().map(|f| self.snapshot_item(f, &known)).collect();
        items.retain(|i| device.is_none_or(|d| i.device == d));
        items.sort_by(|a, b| {
            b.created_time
                .cmp(&a.created_time)
                .then_with(|| b.filename.cmp(&a.filename))
        });
        Ok(page(items, limit, offset))
    }

    pub async fn recording_info(&self, filename: &str) -> crate::Result<RecordingFile> {
        check_name(filename)?;
        let found = self.stat(FileKind::Recording, filename).await?;
        let known = self.known_one(FileKind::Recording, filename).await;
        let mut item = self.recording_item(found.clone(), &known, &self.recorder.files_in_progress());
        if !item.in_progress
            && let Some(seconds) = self.probe_duration(&found).await
        {
            item.duration = seconds.round().max(0.0) as u64;
        }
        Ok(item)
    }

    pub async fn snapshot_info(&self, filename: &str) -> crate::Result<SnapshotFile> {
        check_name(filename)?;
        let found = self.stat(FileKind::Snapshot, filename).await?;
        let known = self.known_one(FileKind::Snapshot, filename).await;
        let path = self.snapshots_dir.join(&found.name);
        let resolution = blocking(move || {
            let mut head = Vec::with_capacity(64 * 1024);
            let read = std::fs::File::open(&path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
            Ok(read.ok().and_then(|_| image_size(&head)))
        })
        .await?;
        let mut item = self.snapshot_item(found, &known);
        item.resolution = Some(resolution.map_or_else(String::new, |(w, h)| format!("{w}x{h}")));
        Ok(item)
    }

    pub async fn delete_recording(&self, filename: &str) -> crate::Result<Deleted> {
        check_name(filename)?;
        if self.recorder.files_in_progress().iter().any(|f| f == filename) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "file_in_use",
                format!("{filename} is being recorded"),
            )
            .with("resource", "recording")
            .with("id", filename)
            .suggest("Stop the recording first"));
        }
        self.delete(FileKind::Recording, filename, "api").await?;
        lock(&self.durations).remove(filename);
        Ok(Deleted {
            filename: filename.to_owned(),
            deleted: true,
            message: "Recording file deleted successfully".into(),
        })
    }

    pub async fn delete_snapshot(&self, filename: &str) -> crate::Result<Deleted> {
        check_name(filename)?;
        self.delete(FileKind::Snapshot, filename, "api").await?;
        Ok(Deleted {
            filename: filename.to_owned(),
            deleted: true,
            message: "Snapshot file deleted successfully".into(),
        })
    }

    /// Deletes a file for the retention rules (`file.deleted` with `reason: "retention"`); refuses the segment
    /// a recording is writing (`file_in_use`), like `delete_recording`.
    pub async fn delete_for_retention(&self, kind: FileKind, filename: &str) -> crate::Result<()> {
        check_name(filename)?;
        if kind == FileKind::Recording && self.recorder.files_in_progress().iter().any(|f| f == filename) {
            return Err(Error::new(ErrorKind::InvalidState, "file_in_use", format!("{filename} is being recorded"))
                .with("resource", "recording")
                .with("id", filename));
        }
        self.delete(kind, filename, "retention").await?;
        lock(&self.durations).remove(filename);
        Ok(())
    }

    // ---- internals ----

    async fn delete(&self, kind: FileKind, filename: &str, reason: &'static str) -> crate::Result<()> {
        let known = self.known_one(kind, filename).await;
        let dir = self.dir(kind).to_owned();
        let name = filename.to_owned();
        blocking(move || {
            let path = dir.join(&name);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_file() && kind.has_media_extension(&name) => {}
                Ok(_) => return Err(kind.not_found(&name)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(kind.not_found(&name)),
                Err(e) => return Err(storage_unavailable(&dir, &e)),
            }
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(kind.not_found(&name)),
                Err(e) => Err(storage_unavailable(&dir, &e)),
            }
        })
        .await?;
        let (k, name) = (kind.as_str(), filename.to_owned());
        if let Err(e) = self
            .store
            .call(move |c| {
                Ok(c.execute(
                    "DELETE FROM media_files WHERE kind = ?1 AND filename = ?2",
                    [k, name.as_str()],
                )?)
            })
            .await
        {
            tracing::warn!(filename, error = %e, "file deleted but its index row remains");
        }
        let device = known
            .get(filename)
            .map(|k| k.device.clone())
            .or_else(|| parse_generated_name(filename).map(|(d, _)| d))
            .unwrap_or_default();
        self.events.publish(
            "file.deleted",
            json!({"kind": kind.as_str(), "filename": filename, "device": device, "reason": reason}),
        );
        tracing::info!(kind = kind.as_str(), filename, "file deleted");
        Ok(())
    }

    async fn stat(&self, kind: FileKind, filename: &str) -> crate::Result<Found> {
        let dir = self.dir(kind).to_owned();
        let name = filename.to_owned();
        blocking(move || match std::fs::symlink_metadata(dir.join(&name)) {
            Ok(m) if m.is_file() && kind.has_media_extension(&name) => Ok(found(name, &m)),
            Ok(_) => Err(kind.not_found(&name)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(kind.not_found(&name)),
            Err(e) => Err(storage_unavailable(&dir, &e)),
        })
        .await
    }

    async fn known(&self, kind: FileKind) -> HashMap<String, Known> {
        self.query_known(kind, None).await
    }

    async fn known_one(&self, kind: FileKind, filename: &str) -> HashMap<String, Known> {
        self.query_known(kind, Some(filename.to_owned())).await
    }

    /// Index rows; an unavailable store only loses the extra facts, never the listing.
    async fn query_known(&self, kind: FileKind, filename: Option<String>) -> HashMap<String, Known> {
        let k = kind.as_str();
        let rows = self
            .store
            .call(move |conn| {
                let mut st = conn.prepare(
                    "SELECT filename, device, format, created_at FROM media_files
                     WHERE kind = ?1 AND (?2 IS NULL OR filename = ?2)",
                )?;
                let rows = st
                    .query_map(rusqlite::params![k, filename], |r| {
                        let created: String = r.get(3)?;
                        Ok((
                            r.get::<_, String>(0)?,
                            Known {
                                device: r.get(1)?,
                                format: r.get(2)?,
                                created: parse_sql_time(&created).ok(),
                            },
                        ))
                    })?
                    .collect::<rusqlite::Result<HashMap<_, _>>>()?;
                Ok(rows)
            })
            .await;
        rows.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "media index unavailable; listing from file names only");
            HashMap::new()
        })
    }

    fn recording_item(&self, f: Found, known: &HashMap<String, Known>, writing: &[String]) -> RecordingFile {
        let k = known.get(&f.name);
        let parsed = parse_generated_name(&f.name);
        let created = created_time(&f, k, parsed.as_ref());
        let modified = OffsetDateTime::from(f.modified);
        let in_progress = writing.contains(&f.name);
        let duration = if in_progress {
            (self.clock.now() - created).as_seconds_f64().round().max(0.0) as u64
        } else {
            match lock(&self.durations).get(&f.name) {
                Some((size, mtime, seconds)) if *size == f.size && *mtime == f.modified => {
                    seconds.round().max(0.0) as u64
                }
                _ => (modified - created).as_seconds_f64().round().max(0.0) as u64,
            }
        };
        let format = k
            .map(|k| k.format.clone())
            .or_else(|| RecordingFormat::guess_from_filename(&f.name).map(|g| g.as_str().to_owned()))
            .unwrap_or_default();
        RecordingFile {
            download_url: download_url(self.public_base_url.as_deref(), FileKind::Recording.url_dir(), &f.name),
            device: k
                .map(|k| k.device.clone())
                .or_else(|| parsed.map(|(d, _)| d))
                .unwrap_or_default(),
            created_time: format_timestamp(created),
            modified_time: format_timestamp(modified),
            filename: f.name,
            file_size: f.size,
            duration,
            format,
            in_progress,
        }
    }

    fn snapshot_item(&self, f: Found, known: &HashMap<String, Known>) -> SnapshotFile {
        let k = known.get(&f.name);
        let parsed = parse_generated_name(&f.name);
        let created = created_time(&f, k, parsed.as_ref());
        let format = ImageFormat::of_filename(&f.name)
            .map(|i| i.as_str().to_owned())
            .unwrap_or_default();
        SnapshotFile {
            download_url: download_url(self.public_base_url.as_deref(), FileKind::Snapshot.url_dir(), &f.name),
            device: k
                .map(|k| k.device.clone())
                .or_else(|| parsed.map(|(d, _)| d))
                .unwrap_or_default(),
            created_time: format_timestamp(created),
            modified_time: format_timestamp(OffsetDateTime::from(f.modified)),
            filename: f.name,
            file_size: f.size,
            format,
            resolution: None,
        }
    }

    /// Duration by ffprobe, cached by (name, size, mtime).
    async fn probe_duration(&self, f: &Found) -> Option<f64> {
        if let Some((size, mtime, seconds)) = lock(&self.durations).get(&f.name)
            && *size == f.size
            && *mtime == f.modified
        {
            return Some(*seconds);
        }
        let path = self.recordings_dir.join(&f.name);
        let info = self.ffmpeg.probe(&path.display().to_string(), &[], PROBE_TIMEOUT).await;
        let seconds = match info {
            Ok(info) => info.duration?,
            Err(e) => {
                tracing::warn!(filename = f.name, error = ?e, "ffprobe of a recording failed");
                return None;
            }
        };
        let mut cache = lock(&self.durations);
        if cache.len() >= DURATION_CACHE {
            cache.clear();
        }
        cache.insert(f.name.clone(), (f.size, f.modified, seconds));
        Some(seconds)
    }
}

// ---- wire conversions (camera-api contract types) ----

impl From<RecordingFile> for camera_api::types::RecordingFile {
    fn from(f: RecordingFile) -> Self {
        camera_api::types::RecordingFile {
            filename: f.filename,
            file_size: f.file_size,
            created_time: f.created_time,
            modified_time: f.modified_time,
            duration: f.duration,
            format: f.format,
            device: f.device,
            in_progress: f.in_progress,
            download_url: f.download_url,
        }
    }
}

impl From<SnapshotFile> for camera_api::types::SnapshotFile {
    fn from(f: SnapshotFile) -> Self {
        camera_api::types::SnapshotFile {
            filename: f.filename,
            file_size: f.file_size,
            created_time: f.created_time,
            modified_time: f.modified_time,
            format: f.format,
            device: f.device,
            download_url: f.download_url,
        }
    }
}

impl From<SnapshotFile> for camera_api::types::GetSnapshotInfoResult {
    fn from(mut f: SnapshotFile) -> Self {
        let resolution = f.resolution.take().unwrap_or_default();
        camera_api::types::GetSnapshotInfoResult {
            file: f.into(),
            resolution,
        }
    }
}

impl From<Page<RecordingFile>> for camera_api::types::ListRecordingsResult {
    fn from(p: Page<RecordingFile>) -> Self {
        camera_api::types::ListRecordingsResult {
            files: p.files.into_iter().map(Into::into).collect(),
            total: p.total as u64,
            limit: u32::try_from(p.limit).unwrap_or(u32::MAX),
            offset: p.offset as u64,
        }
    }
}

impl From<Page<SnapshotFile>> for camera_api::types::ListSnapshotsResult {
    fn from(p: Page<SnapshotFile>) -> Self {
        camera_api::types::ListSnapshotsResult {
            files: p.files.into_iter().map(Into::into).collect(),
            total: p.total as u64,
            limit: u32::try_from(p.limit).unwrap_or(u32::MAX),
            offset: p.offset as u64,
        }
    }
}

impl From<Deleted> for camera_api::types::DeleteFileResult {
    fn from(d: Deleted) -> Self {
        camera_api::types::DeleteFileResult {
            filename: d.filename,
            deleted: d.deleted,
            message: d.message,
        }
    }
}

fn check_name(filename: &str) -> crate::Result<()> {
    if camera_api::methods::is_valid_filename(filename) {
        Ok(())
    } else {
        Err(Error::invalid_param(
            "invalid_filename",
            "filename",
            format!("Invalid file name {filename:?}"),
        ))
    }
}

/// Every listable file of a directory (a missing directory is empty).
async fn scan(dir: PathBuf, kind: FileKind) -> crate::Result<Vec<Found>> {
    blocking(move || {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(storage_unavailable(&dir, &e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !camera_api::methods::is_valid_filename(&name) || !kind.has_media_extension(&name) {
                continue;
            }
            // DirEntry::metadata does not follow symlinks.
            match entry.metadata() {
                Ok(m) if m.is_file() => out.push(found(name, &m)),
                _ => {}
            }
        }
        Ok(out)
    })
    .await
}

fn found(name: String, m: &std::fs::Metadata) -> Found {
    Found {
        name,
        size: m.len(),
        modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        born: m.created().ok(),
    }
}

/// Creation time: the index row, else the time in a generated name, else the file's birth time, else mtime.
fn created_time(f: &Found, known: Option<&Known>, parsed: Option<&(String, OffsetDateTime)>) -> OffsetDateTime {
    known
        .and_then(|k| k.created)
        .or_else(|| parsed.map(|(_, t)| *t))
        .or_else(|| f.born.map(OffsetDateTime::from))
        .unwrap_or_else(|| OffsetDateTime::from(f.modified))
}

fn page<T>(items: Vec<T>, limit: usize, offset: usize) -> Page<T> {
    let total = items.len();
    let files = items.into_iter().skip(offset).take(limit).collect();
    Page {
        files,
        total,
        limit,
        offset,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
