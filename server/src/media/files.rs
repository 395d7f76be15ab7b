//! The file catalogue (API.md §4.4): listing, describing and deleting recordings and snapshots.
//!
//! Invariants:
//! - The directories are the truth, followed by the [media index](super::index): a list is one paged SQL
//!   query on `media_index` (no directory scan while the index is live); info and delete re-stat the one file
//!   they name and refresh its row. Only regular files (never symlinks) whose names pass the filename rule
//!   and carry a media extension are listed; a name is only ever joined to its storage directory after that
//!   check, so no request can reach outside the storage folders.
//! - The state store (`media_files`) adds what the file system cannot tell: the camera of a custom-named
//!   snapshot and the requested format of a recording. Without a row, both come from the generated name
//!   (`.mp4` → `fmp4`). The index carries these facts.
//! - The segment a recording is writing right now is `in_progress` and cannot be deleted (`file_in_use`); its
//!   size and modification time are read from the disk at list time (the index sees it at close).
//! - Recording durations come from ffprobe, run lazily by `get_recording_info` and stored in the index while
//!   the file's size and mtime are unchanged; lists use that or, for files not probed yet, the span between
//!   the creation time and the last write, so a list never waits on ffprobe.

use crate::clock::parse_timestamp;
use crate::clock::{Clock, format_timestamp};
use crate::config::Config;
use crate::events::EventBus;
use crate::media::ffmpeg::Ffmpeg;
use crate::media::index::{IndexRow, MediaIndex};
use crate::media::recorder::{Recorder, RecordingFormat};
use crate::media::snapshots::{ImageFormat, image_size};
use crate::media::{blocking, download_url, parse_generated_name, storage_unavailable};
use crate::store::Store;
use crate::{Error, ErrorKind};
use camera_api::types::{
    DeleteFileResult, GetSnapshotInfoResult, ListRecordingsResult, ListSnapshotsResult, RecordingFile, SnapshotFile,
};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

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
    pub(crate) fn has_media_extension(self, name: &str) -> bool {
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

/// A file found on disk, before formatting.
#[derive(Clone, Debug)]
struct Found {
    name: String,
    size: u64,
    modified: SystemTime,
}

/// Lists, describes and deletes media files. Construct with [`FileCatalog::new`]; spawn
/// [`FileCatalog::run_index`] so the index follows the disk without a scan per list.
pub struct FileCatalog {
    recordings_dir: PathBuf,
    snapshots_dir: PathBuf,
    public_base_url: Option<String>,
    recorder: Arc<Recorder>,
    ffmpeg: Ffmpeg,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    index: Arc<MediaIndex>,
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
            index: MediaIndex::new(
                store,
                config.storage.recordings_path.clone(),
                config.storage.snapshots_path.clone(),
            ),
        }
    }

    /// The index the listings read.
    pub fn index(&self) -> &Arc<MediaIndex> {
        &self.index
    }

    /// Keeps the index following the storage folders until `shutdown` (see [`MediaIndex::run`]).
    pub async fn run_index(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        Arc::clone(&self.index).run(Arc::clone(&self.clock), shutdown).await;
    }

    /// Tells the index a file was written, renamed or removed (called by the writers; the watch would see it
    /// too, a little later).
    pub async fn file_changed(&self, kind: FileKind, filename: &str) {
        if let Err(e) = self.index.refresh(kind, filename).await {
            tracing::warn!(filename, error = %e, "media index update failed");
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
    ) -> crate::Result<ListRecordingsResult> {
        self.index.ensure_fresh(FileKind::Recording).await?;
        let (rows, total) = self.index.page(FileKind::Recording, device, limit, offset).await?;
        let writing = self.recorder.files_in_progress();
        let mut files = Vec::with_capacity(rows.len());
        for mut row in rows {
            let in_progress = writing.contains(&row.filename);
            if in_progress {
                self.live_stat(&mut row).await;
            }
            files.push(self.recording_item(row, in_progress));
        }
        Ok(ListRecordingsResult {
            files,
            total: total as u64,
            limit: wire_limit(limit),
            offset: offset as u64,
        })
    }

    pub async fn list_snapshots(
        &self,
        device: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> crate::Result<ListSnapshotsResult> {
        self.index.ensure_fresh(FileKind::Snapshot).await?;
        let (rows, total) = self.index.page(FileKind::Snapshot, device, limit, offset).await?;
        Ok(ListSnapshotsResult {
            files: rows.into_iter().map(|r| self.snapshot_item(r)).collect(),
            total: total as u64,
            limit: wire_limit(limit),
            offset: offset as u64,
        })
    }

    pub async fn recording_info(&self, filename: &str) -> crate::Result<RecordingFile> {
        check_name(filename)?;
        let mut row = self.row(FileKind::Recording, filename).await?;
        let in_progress = self.recorder.files_in_progress().iter().any(|f| f == filename);
        if !in_progress
            && row.duration.is_none()
            && let Some(seconds) = self.probe_duration(&row).await
        {
            row.duration = Some(seconds);
        }
        Ok(self.recording_item(row, in_progress))
    }

    /// `get_snapshot_info`: the list item plus `resolution` (`""` when the image header cannot be read).
    pub async fn snapshot_info(&self, filename: &str) -> crate::Result<GetSnapshotInfoResult> {
        check_name(filename)?;
        let row = self.row(FileKind::Snapshot, filename).await?;
        let path = self.snapshots_dir.join(&row.filename);
        let resolution = blocking(move || {
            let mut head = Vec::with_capacity(64 * 1024);
            let read = std::fs::File::open(&path).and_then(|f| f.take(64 * 1024).read_to_end(&mut head));
            Ok(read.ok().and_then(|_| image_size(&head)))
        })
        .await?;
        Ok(GetSnapshotInfoResult {
            file: self.snapshot_item(row),
            resolution: resolution.map_or_else(String::new, |(w, h)| format!("{w}x{h}")),
        })
    }

    pub async fn delete_recording(&self, filename: &str) -> crate::Result<DeleteFileResult> {
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
        Ok(DeleteFileResult {
            filename: filename.to_owned(),
            deleted: true,
            message: "Recording file deleted successfully".into(),
        })
    }

    pub async fn delete_snapshot(&self, filename: &str) -> crate::Result<DeleteFileResult> {
        check_name(filename)?;
        self.delete(FileKind::Snapshot, filename, "api").await?;
        Ok(DeleteFileResult {
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
            return Err(Error::new(
                ErrorKind::InvalidState,
                "file_in_use",
                format!("{filename} is being recorded"),
            )
            .with("resource", "recording")
            .with("id", filename));
        }
        self.delete(kind, filename, "retention").await?;
        Ok(())
    }

    // ---- internals ----

    async fn delete(&self, kind: FileKind, filename: &str, reason: &'static str) -> crate::Result<()> {
        let indexed = self.index.get(kind, filename).await.ok().flatten();
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
            .store()
            .call(move |c| {
                Ok(c.execute(
                    "DELETE FROM media_files WHERE kind = ?1 AND filename = ?2",
                    [k, name.as_str()],
                )?)
            })
            .await
        {
            tracing::warn!(filename, error = %e, "file deleted but its media_files row remains");
        }
        if let Err(e) = self.index.remove(kind, filename).await {
            tracing::warn!(filename, error = %e, "file deleted but its index row remains until the next reconcile");
        }
        let device = indexed
            .map(|r| r.device)
            .filter(|d| !d.is_empty())
            .or_else(|| parse_generated_name(filename).map(|(d, _)| d))
            .unwrap_or_default();
        self.events.publish(
            "file.deleted",
            json!({"kind": kind.as_str(), "filename": filename, "device": device, "reason": reason}),
        );
        tracing::info!(kind = kind.as_str(), filename, "file deleted");
        Ok(())
    }

    fn store(&self) -> &Store {
        self.index.store()
    }

    /// The refreshed index row of a file, or -32010 when there is no such listable file.
    async fn row(&self, kind: FileKind, filename: &str) -> crate::Result<IndexRow> {
        self.index
            .refresh(kind, filename)
            .await?
            .ok_or_else(|| kind.not_found(filename))
    }

    /// Size and modification time of a file being written, from the disk (the index sees it at close).
    async fn live_stat(&self, row: &mut IndexRow) {
        if let Ok(found) = self.stat(FileKind::Recording, &row.filename).await {
            row.file_size = found.size;
            row.modified_at = format_timestamp(OffsetDateTime::from(found.modified));
        }
    }

    async fn stat(&self, kind: FileKind, filename: &str) -> crate::Result<Found> {
        let dir = self.dir(kind).to_owned();
        let name = filename.to_owned();
        blocking(move || match std::fs::symlink_metadata(dir.join(&name)) {
            Ok(m) if m.is_file() && kind.has_media_extension(&name) => Ok(Found {
                name,
                size: m.len(),
                modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            }),
            Ok(_) => Err(kind.not_found(&name)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(kind.not_found(&name)),
            Err(e) => Err(storage_unavailable(&dir, &e)),
        })
        .await
    }

    fn recording_item(&self, row: IndexRow, in_progress: bool) -> RecordingFile {
        let created = parse_timestamp(&row.created_at);
        let modified = parse_timestamp(&row.modified_at);
        let span = |to: OffsetDateTime| created.map_or(0, |c| (to - c).as_seconds_f64().round().max(0.0) as u64);
        let duration = if in_progress {
            span(self.clock.now())
        } else {
            match row.duration {
                Some(seconds) => seconds.round().max(0.0) as u64,
                None => modified.map_or(0, span),
            }
        };
        RecordingFile {
            download_url: download_url(
                self.public_base_url.as_deref(),
                FileKind::Recording.url_dir(),
                &row.filename,
            ),
            device: row.device,
            created_time: row.created_at,
            modified_time: row.modified_at,
            filename: row.filename,
            file_size: row.file_size,
            duration,
            format: row.format,
            in_progress,
        }
    }

    fn snapshot_item(&self, row: IndexRow) -> SnapshotFile {
        SnapshotFile {
            download_url: download_url(
                self.public_base_url.as_deref(),
                FileKind::Snapshot.url_dir(),
                &row.filename,
            ),
            device: row.device,
            created_time: row.created_at,
            modified_time: row.modified_at,
            filename: row.filename,
            file_size: row.file_size,
            format: row.format,
        }
    }

    /// Duration by ffprobe, stored in the index for this size and mtime.
    async fn probe_duration(&self, row: &IndexRow) -> Option<f64> {
        let path = self.recordings_dir.join(&row.filename);
        let info = self.ffmpeg.probe(&path.display().to_string(), &[], PROBE_TIMEOUT).await;
        let seconds = match info {
            Ok(info) => info.duration?,
            Err(e) => {
                tracing::warn!(filename = row.filename, error = ?e, "ffprobe of a recording failed");
                return None;
            }
        };
        if let Err(e) = self
            .index
            .set_duration(FileKind::Recording, &row.filename, row.file_size, seconds)
            .await
        {
            tracing::warn!(filename = row.filename, error = %e, "probed duration not stored");
        }
        Some(seconds)
    }
}

/// `limit` as the wire carries it (the handlers cap it well below `u32::MAX`).
fn wire_limit(limit: usize) -> u32 {
    u32::try_from(limit).unwrap_or(u32::MAX)
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

#[cfg(test)]
mod tests;
