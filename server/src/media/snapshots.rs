//! Snapshots (API.md §4.3 `take_snapshot`): one still image from a camera's source, written to
//! `storage.snapshots_path`.
//!
//! Invariants:
//! - Params are fully checked (name, format, extension agreement) before anything runs.
//! - Captures of one camera are serialized by a per-camera lane (a one-permit semaphore); at most
//!   [`MAX_WAITING`] callers may wait behind the running capture, the next gets -32020 `camera_busy`. Lanes of
//!   different cameras are independent.
//! - ffmpeg writes the encoded image to a pipe; the file is then created with `O_EXCL` (`create_new`), so an
//!   existing file is never overwritten: on collision `_<n>` is appended before the extension. A failed capture
//!   leaves no file behind.
//! - Each capture attempt (one ffmpeg run) is limited to `snapshots.timeout` of real time; the name's time stamp
//!   comes from the injected clock. Attempts follow [`capture_inputs`]: a running live feed (MediaMTX path) first,
//!   then the source, so a device that a publisher holds is not opened twice.
//! - Outcomes are published: `snapshot.taken` on success, `snapshot.error` on a capture failure.

use crate::cameras::CameraRegistry;
use crate::clock::{Clock, format_timestamp};
use crate::config::Config;
use crate::events::EventBus;
use crate::media::ffmpeg::{Ffmpeg, FfmpegError, Role};
use crate::media::live_feed::{LiveFeed, capture_inputs};
use crate::media::{blocking, download_url, name_stamp, storage_unavailable};
use crate::store::Store;
use crate::{Error, ErrorKind};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Callers allowed to wait behind a running capture of the same camera.
pub const MAX_WAITING: usize = 4;
/// Highest `_<n>` tried before giving up with `file_exists`.
const MAX_SUFFIX: u32 = 9999;

/// Image formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpg,
    Png,
}

impl ImageFormat {
    /// `jpg`, `jpeg` (= jpg) or `png`, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(ImageFormat::Jpg),
            "png" => Some(ImageFormat::Png),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpg => "jpg",
            ImageFormat::Png => "png",
        }
    }
    /// The image format a file name's extension names, if any.
    pub fn of_filename(name: &str) -> Option<Self> {
        name.rsplit_once('.').and_then(|(_, ext)| ImageFormat::parse(ext))
    }
}

/// What the caller asked for (already validated against the contract).
#[derive(Clone, Debug, Default)]
pub struct SnapshotRequest {
    pub device: String,
    pub filename: Option<String>,
    pub format: Option<String>,
    pub quality: Option<u32>,
    pub max_width: Option<u32>,
    pub max_height: Option<u32>,
}

/// The `take_snapshot` result.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotResult {
    pub device: String,
    pub filename: String,
    pub status: &'static str,
    pub timestamp: String,
    pub file_size: u64,
    pub file_path: String,
    pub format: ImageFormat,
    pub resolution: String,
    pub download_url: String,
}

/// Takes snapshots. Construct with [`SnapshotService::new`]; nothing to spawn.
pub struct SnapshotService {
    dir: PathBuf,
    default_format: String,
    default_quality: u32,
    timeout: Duration,
    /// Refuses new media at `storage.block_percent` (-32060).
    storage: crate::storage::StorageGuard,
    public_base_url: Option<String>,
    cameras: Arc<CameraRegistry>,
    ffmpeg: Ffmpeg,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    store: Store,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    /// Where pictures already flow (the MediaMTX backend's streams); set once at start-up.
    live_feed: OnceLock<Arc<dyn LiveFeed>>,
}

struct Lane {
    running: Semaphore,
    /// Callers in the lane: the running capture plus those waiting for it.
    inside: AtomicUsize,
}

/// A place in a lane; leaving (drop, also on cancellation) frees it.
struct LanePlace<'a>(&'a Lane);

impl<'a> LanePlace<'a> {
    fn enter(lane: &'a Lane) -> Option<Self> {
        let before = lane.inside.fetch_add(1, Ordering::AcqRel);
        if before > MAX_WAITING {
            lane.inside.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(LanePlace(lane))
    }
}

impl Drop for LanePlace<'_> {
    fn drop(&mut self) {
        self.0.inside.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The file name and format a request resolves to, before collision handling.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// `None`: generate from the device and the capture time.
    name: Option<String>,
    format: ImageFormat,
}

impl SnapshotService {
    pub fn new(
        config: &Config,
        cameras: Arc<CameraRegistry>,
        ffmpeg: Ffmpeg,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
        store: Store,
    ) -> Self {
        SnapshotService {
            dir: config.storage.snapshots_path.clone(),
            default_format: config.snapshots.format.clone(),
            default_quality: config.snapshots.quality,
            timeout: Duration::from_secs(config.snapshots.timeout),
            storage: crate::storage::StorageGuard::new(config),
            public_base_url: config.server.public_base_url.clone(),
            cameras,
            ffmpeg,
            events,
            clock,
            store,
            lanes: Mutex::new(HashMap::new()),
            live_feed: OnceLock::new(),
        }
    }

    /// Lets snapshots read running streams (MediaMTX backend); call once, before clients connect.
    pub fn set_live_feed(&self, feed: Arc<dyn LiveFeed>) {
        if self.live_feed.set(feed).is_err() {
            tracing::warn!("snapshot live feed set twice; keeping the first");
        }
    }

    /// The directory snapshots are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes one snapshot.
    pub async fn take(&self, req: SnapshotRequest) -> crate::Result<SnapshotResult> {
        let plan = plan(req.filename.as_deref(), req.format.as_deref(), &self.default_format)?;
        let source = self.cameras.usable_source(&req.device)?;
        self.storage.ensure_space().await?;

        let lane = self.lane(&req.device);
        let Some(_place) = LanePlace::enter(&lane) else {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "camera_busy",
                format!("{} already has {MAX_WAITING} snapshots waiting", req.device),
            )
            .with("resource", "camera")
            .with("id", req.device.as_str())
            .suggest("Retry shortly"));
        };
        let _permit = lane
            .running
            .acquire()
            .await
            .map_err(|_| Error::internal("snapshot lane closed"))?;

        let quality = req.quality.unwrap_or(self.default_quality).clamp(1, 100);
        let taken_at = self.clock.now();
        let image = self.capture(&req, &source, plan.format, quality).await?;
        let resolution = image_size(&image).map_or_else(String::new, |(w, h)| format!("{w}x{h}"));
        let base = match plan.name {
            Some(name) => name,
            None => format!("{}_{}.{}", req.device, name_stamp(taken_at, true), plan.format.as_str()),
        };
        let dir = self.dir.clone();
        let (filename, path, file_size) = blocking(move || write_exclusive(&dir, &base, &image)).await?;
        drop(_permit);
        drop(_place);

        let created = format_timestamp(taken_at);
        let (fname, device, format) = (filename.clone(), req.device.clone(), plan.format.as_str());
        let recorded = self
            .store
            .call(move |conn| {
                conn.execute(
                    "INSERT OR REPLACE INTO media_files (kind, filename, device, format, created_at)
                     VALUES ('snapshot', ?1, ?2, ?3, ?4)",
                    rusqlite::params![fname, device, format, created],
                )?;
                Ok(())
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(filename, error = %e, "snapshot written but not indexed");
        }
        self.events.publish(
            "snapshot.taken",
            json!({"device": req.device, "filename": filename, "file_size": file_size,
                   "format": plan.format, "resolution": resolution}),
        );
        Ok(SnapshotResult {
            download_url: download_url(self.public_base_url.as_deref(), "snapshots", &filename),
            device: req.device,
            filename,
            status: "SUCCESS",
            timestamp: format_timestamp(taken_at),
            file_size,
            file_path: absolute(&path).display().to_string(),
            format: plan.format,
            resolution,
        })
    }

    /// Runs the capture attempts in order (see [`capture_inputs`]); the first image wins. When every attempt
    /// fails, the last error is returned (and published as `snapshot.error`).
    async fn capture(
        &self,
        req: &SnapshotRequest,
        source: &crate::cameras::CameraSource,
        format: ImageFormat,
        quality: u32,
    ) -> crate::Result<Vec<u8>> {
        let device = req.device.as_str();
        let mut last_error = None;
        for input in capture_inputs(device, source, self.live_feed.get().map(|f| f.as_ref())).await {
            let args = capture_args(input.args, format, quality, req.max_width, req.max_height);
            let error = match self.ffmpeg.run(Role::Snapshot, &args, self.timeout).await {
                Ok(out) if !out.stdout.is_empty() => return Ok(out.stdout),
                Ok(out) => capture_failed(device, &out.stderr_tail),
                Err(e) => capture_error(device, e),
            };
            tracing::debug!(device, via = input.via.as_str(), error = %error, "snapshot attempt failed");
            last_error = Some(error);
        }
        let error = last_error.unwrap_or_else(|| capture_failed(device, ""));
        Err(self.failed(device, error))
    }

    fn lane(&self, device: &str) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(lanes.entry(device.to_owned()).or_insert_with(|| {
            Arc::new(Lane {
                running: Semaphore::new(1),
                inside: AtomicUsize::new(0),
            })
        }))
    }

    fn failed(&self, device: &str, error: Error) -> Error {
        self.events.publish(
            "snapshot.error",
            json!({"device": device, "reason": error.reason, "message": error.details}),
        );
        error
    }
}

impl From<SnapshotResult> for camera_api::types::TakeSnapshotResult {
    fn from(r: SnapshotResult) -> Self {
        camera_api::types::TakeSnapshotResult {
            device: r.device,
            filename: r.filename,
            status: r.status.to_owned(),
            timestamp: r.timestamp,
            file_size: r.file_size,
            file_path: r.file_path,
            format: r.format.as_str().to_owned(),
            resolution: r.resolution,
            download_url: r.download_url,
        }
    }
}

/// Resolves name and format from the params (API.md §4.3 "Name").
fn plan(filename: Option<&str>, format: Option<&str>, default_format: &str) -> crate::Result<Plan> {
    let requested = match format {
        Some(f) => Some(ImageFormat::parse(f).ok_or_else(|| {
            Error::invalid_param("invalid_value", "format", format!("Unknown snapshot format {f:?}"))
                .with("allowed", json!(["jpg", "jpeg", "png"]))
        })?),
        None => None,
    };
    let Some(name) = filename else {
        let format = match requested {
            Some(f) => f,
            None => ImageFormat::parse(default_format).ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    "format_unsupported",
                    format!("snapshots.format {default_format:?} is not jpg or png"),
                )
                .with("feature", "snapshot_format")
            })?,
        };
        return Ok(Plan { name: None, format });
    };
    if !camera_api::methods::is_valid_filename(name) {
        return Err(Error::invalid_param(
            "invalid_filename",
            "filename",
            format!("Invalid file name {name:?}"),
        ));
    }
    match (ImageFormat::of_filename(name), requested) {
        (Some(ext), Some(f)) if ext != f => Err(Error::invalid_param(
            "conflicting_params",
            "format",
            format!(
                "The file name {name:?} says {} but format is {}",
                ext.as_str(),
                f.as_str()
            ),
        )),
        (Some(ext), _) => Ok(Plan {
            name: Some(name.to_owned()),
            format: ext,
        }),
        (None, requested) => {
            let format = match requested {
                Some(f) => f,
                None => ImageFormat::parse(default_format).unwrap_or(ImageFormat::Jpg),
            };
            let full = format!("{name}.{}", format.as_str());
            if !camera_api::methods::is_valid_filename(&full) {
                return Err(Error::invalid_param(
                    "invalid_filename",
                    "filename",
                    format!(
                        "{name:?} with the extension .{} is longer than 255 characters",
                        format.as_str()
                    ),
                ));
            }
            Ok(Plan {
                name: Some(full),
                format,
            })
        }
    }
}

/// `-q:v` for a JPEG quality 1..100: 100 → 2 (best), 1 → 31 (worst).
pub fn jpeg_qscale(quality: u32) -> u32 {
    let q = quality.clamp(1, 100);
    31 - ((q - 1) * 29 + 49) / 99
}

fn capture_args(
    input: Vec<String>,
    format: ImageFormat,
    quality: u32,
    max_width: Option<u32>,
    max_height: Option<u32>,
) -> Vec<String> {
    let mut args: Vec<String> = ["-loglevel", "error"].map(str::to_owned).into();
    args.extend(input);
    args.extend(["-frames:v", "1", "-an"].map(str::to_owned));
    if max_width.is_some() || max_height.is_some() {
        let w = max_width.map_or("iw".to_owned(), |w| format!("min(iw\\,{w})"));
        let h = max_height.map_or("ih".to_owned(), |h| format!("min(ih\\,{h})"));
        args.push("-vf".to_owned());
        args.push(format!("scale=w={w}:h={h}:force_original_aspect_ratio=decrease"));
    }
    match format {
        ImageFormat::Jpg => {
            args.extend(["-c:v", "mjpeg", "-q:v"].map(str::to_owned));
            args.push(jpeg_qscale(quality).to_string());
        }
        ImageFormat::Png => args.extend(["-c:v", "png"].map(str::to_owned)),
    }
    args.extend(["-f", "image2pipe", "pipe:1"].map(str::to_owned));
    args
}

fn capture_error(device: &str, e: FfmpegError) -> Error {
    match e {
        FfmpegError::Timeout { .. } => e
            .into_error("capture_timeout", &format!("snapshot of {device}"))
            .with("dependency", "camera")
            .suggest("The camera did not deliver a frame in time; retry or check the source"),
        ref failed @ FfmpegError::Exited { .. } if failed.source_unreachable() => e
            .into_error("source_unreachable", &format!("snapshot of {device}"))
            .with("dependency", "camera"),
        FfmpegError::Exited { .. } => {
            let tail = e.stderr_tail().to_owned();
            capture_failed(device, &tail)
        }
        FfmpegError::Spawn { .. } | FfmpegError::Io(_) => {
            e.into_error("ffmpeg_failed", &format!("snapshot of {device}"))
        }
    }
}

fn capture_failed(device: &str, tail: &str) -> Error {
    let details = if tail.is_empty() {
        format!("snapshot of {device}: ffmpeg produced no image")
    } else {
        format!("snapshot of {device}: {tail}")
    };
    Error::new(ErrorKind::Unavailable, "capture_failed", details).with("dependency", "camera")
}

/// Creates `dir/base` (or `dir/<stem>_<n>.<ext>`) exclusively and writes `data`. Returns the name written.
fn write_exclusive(dir: &Path, base: &str, data: &[u8]) -> crate::Result<(String, PathBuf, u64)> {
    std::fs::create_dir_all(dir).map_err(|e| storage_unavailable(dir, &e))?;
    let (stem, ext) = match base.rsplit_once('.') {
        Some((s, e)) => (s, format!(".{e}")),
        None => (base, String::new()),
    };
    for n in 0..=MAX_SUFFIX {
        let name = if n == 0 {
            base.to_owned()
        } else {
            format!("{stem}_{n}{ext}")
        };
        if !camera_api::methods::is_valid_filename(&name) {
            break;
        }
        let path = dir.join(&name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                let written = file.write_all(data).and_then(|()| file.flush());
                if let Err(e) = written {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    return Err(storage_unavailable(dir, &e));
                }
                return Ok((name, path, data.len() as u64));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(storage_unavailable(dir, &e)),
        }
    }
    Err(Error::new(
        ErrorKind::InvalidState,
        "file_exists",
        format!("No free name for {base}"),
    )
    .with("resource", "snapshot")
    .with("id", base))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Width and height of a PNG or baseline/progressive JPEG, read from its header.
pub fn image_size(data: &[u8]) -> Option<(u32, u32)> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") && data.len() >= 24 && &data[12..16] == b"IHDR" {
        let w = u32::from_be_bytes(data[16..20].try_into().ok()?);
        let h = u32::from_be_bytes(data[20..24].try_into().ok()?);
        return Some((w, h));
    }
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xD8 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = data.get(i + 4..i + 9)?;
            let h = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let w = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            return Some((w, h));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::live_feed::RunningFuture;
    use crate::media::test_support::{Harness, harness, probe};

    #[test]
    fn naming_rules() {
        let p = |f: Option<&str>, fmt: Option<&str>| plan(f, fmt, "jpg");
        assert_eq!(
            p(None, None).expect("ok"),
            Plan {
                name: None,
                format: ImageFormat::Jpg
            }
        );
        assert_eq!(p(None, Some("png")).expect("ok").format, ImageFormat::Png);
        assert_eq!(
            p(Some("front.png"), None).expect("ok"),
            Plan {
                name: Some("front.png".into()),
                format: ImageFormat::Png
            }
        );
        assert_eq!(
            p(Some("front.jpeg"), Some("jpg")).expect("ok").name.as_deref(),
            Some("front.jpeg")
        );
        assert_eq!(p(Some("front.JPG"), Some("jpeg")).expect("ok").format, ImageFormat::Jpg);
        assert_eq!(
            p(Some("front"), Some("png")).expect("ok").name.as_deref(),
            Some("front.png")
        );
        assert_eq!(
            p(Some("clip.mp4"), None).expect("ok").name.as_deref(),
            Some("clip.mp4.jpg")
        );
        let err = p(Some("front.png"), Some("jpg")).expect_err("conflict");
        assert_eq!(
            (err.kind, err.reason),
            (ErrorKind::InvalidArgument, "conflicting_params")
        );
        let long = "a".repeat(253);
        assert_eq!(
            p(Some(&long), None).expect_err("too long with .jpg").reason,
            "invalid_filename"
        );
        assert_eq!(p(Some("../x.jpg"), None).expect_err("bad").reason, "invalid_filename");
        assert_eq!(
            plan(None, None, "gif").expect_err("bad default").reason,
            "format_unsupported"
        );
    }

    #[test]
    fn jpeg_quality_mapping() {
        assert_eq!(jpeg_qscale(100), 2);
        assert_eq!(jpeg_qscale(1), 31);
        assert!((2..=31).contains(&jpeg_qscale(85)));
        assert!(jpeg_qscale(85) < jpeg_qscale(50));
    }

    #[test]
    fn exclusive_writes_never_overwrite() {
        let dir = tempfile::tempdir().expect("tmp");
        let (a, _, _) = write_exclusive(dir.path(), "x.jpg", b"one").expect("first");
        let (b, _, _) = write_exclusive(dir.path(), "x.jpg", b"two").expect("second");
        let (c, _, _) = write_exclusive(dir.path(), "x.jpg", b"three").expect("third");
        assert_eq!((a.as_str(), b.as_str(), c.as_str()), ("x.jpg", "x_1.jpg", "x_2.jpg"));
        assert_eq!(std::fs::read(dir.path().join("x.jpg")).expect("read"), b"one");
        assert_eq!(std::fs::read(dir.path().join("x_2.jpg")).expect("read"), b"three");
    }

    fn service(h: &Harness) -> SnapshotService {
        SnapshotService::new(
            &h.config,
            Arc::clone(&h.cameras),
            Ffmpeg::default(),
            Arc::clone(&h.events),
            h.clock.clone(),
            h.store.clone(),
        )
    }

    async fn codec_size(path: &str) -> (String, u32, u32) {
        let info = probe(path).await;
        (
            info.codec.unwrap_or_default(),
            info.width.unwrap_or(0),
            info.height.unwrap_or(0),
        )
    }

    /// A live feed whose running picture is a 320x240 test pattern, or a feed that cannot be read.
    struct TestFeed {
        readable: bool,
    }

    impl LiveFeed for TestFeed {
        fn running<'a>(&'a self, _device: &'a str) -> RunningFuture<'a> {
            let args = self.input();
            Box::pin(async move { Some(args) })
        }
        fn on_demand(&self, _device: &str) -> Option<Vec<String>> {
            Some(self.input())
        }
    }

    impl TestFeed {
        fn input(&self) -> Vec<String> {
            let input = if self.readable {
                "testsrc2=size=320x240:rate=5"
            } else {
                "nosuchfilter=size=320x240"
            };
            ["-f", "lavfi", "-i", input].map(str::to_owned).into()
        }
    }

    #[tokio::test]
    async fn a_running_feed_is_read_instead_of_the_source_and_a_broken_one_falls_back() {
        let h = harness().await;
        let s = service(&h);
        s.set_live_feed(Arc::new(TestFeed { readable: true }));
        let request = SnapshotRequest {
            device: "camera0".into(),
            ..Default::default()
        };
        let from_feed = s.take(request.clone()).await.expect("from the feed");
        assert_eq!(
            from_feed.resolution, "320x240",
            "the feed's picture, not the 640x480 source"
        );
        assert_eq!(codec_size(&from_feed.file_path).await, ("mjpeg".into(), 320, 240));

        let s = service(&h);
        s.set_live_feed(Arc::new(TestFeed { readable: false }));
        let from_source = s.take(request).await.expect("fell back to the source");
        assert_eq!(from_source.resolution, "640x480");
    }

    #[tokio::test]
    async fn snapshot_decodes_to_requested_format_and_size() {
        let h = harness().await;
        let s = service(&h);
        let r = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                ..Default::default()
            })
            .await
            .expect("jpg");
        assert_eq!(r.filename, "camera0_2025-01-15_14-30-00_123.jpg");
        assert_eq!(
            (r.status, r.format, r.resolution.as_str()),
            ("SUCCESS", ImageFormat::Jpg, "640x480")
        );
        assert_eq!(r.timestamp, "2025-01-15T14:30:00.123Z");
        assert_eq!(r.download_url, "/files/snapshots/camera0_2025-01-15_14-30-00_123.jpg");
        assert!(Path::new(&r.file_path).is_absolute());
        assert_eq!(codec_size(&r.file_path).await, ("mjpeg".into(), 640, 480));
        assert_eq!(std::fs::metadata(&r.file_path).expect("meta").len(), r.file_size);

        let r = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                format: Some("png".into()),
                max_width: Some(200),
                ..Default::default()
            })
            .await
            .expect("png");
        assert_eq!(r.filename, "camera0_2025-01-15_14-30-00_123.png");
        assert_eq!(r.resolution, "200x150");
        assert_eq!(codec_size(&r.file_path).await, ("png".into(), 200, 150));
        let first_jpg = std::fs::read(
            h.config
                .storage
                .snapshots_path
                .join("camera0_2025-01-15_14-30-00_123.jpg"),
        )
        .expect("jpg");
        let r = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                ..Default::default()
            })
            .await
            .expect("again");
        assert_eq!(
            r.filename, "camera0_2025-01-15_14-30-00_123_1.jpg",
            "same instant: suffixed"
        );
        let still = std::fs::read(
            h.config
                .storage
                .snapshots_path
                .join("camera0_2025-01-15_14-30-00_123.jpg"),
        )
        .expect("jpg");
        assert_eq!(first_jpg, still, "never overwritten");

        // Never scaled up; the tighter bound wins and the aspect ratio is kept.
        let r = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                filename: Some("front".into()),
                max_width: Some(4000),
                max_height: Some(120),
                quality: Some(10),
                ..Default::default()
            })
            .await
            .expect("bounded");
        assert_eq!((r.filename.as_str(), r.resolution.as_str()), ("front.jpg", "160x120"));
        let r2 = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                filename: Some("front.jpg".into()),
                ..Default::default()
            })
            .await
            .expect("collision");
        assert_eq!(r2.filename, "front_1.jpg");
        let big = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                max_width: Some(8000),
                ..Default::default()
            })
            .await
            .expect("no upscale");
        assert_eq!(big.resolution, "640x480");

        let err = s
            .take(SnapshotRequest {
                device: "camera0".into(),
                filename: Some("x.png".into()),
                format: Some("jpeg".into()),
                ..Default::default()
            })
            .await
            .expect_err("conflict");
        assert_eq!(err.reason, "conflicting_params");
        let err = s
            .take(SnapshotRequest {
                device: "nope".into(),
                ..Default::default()
            })
            .await
            .expect_err("unknown");
        assert_eq!(err.reason, "camera_not_found");

        let log = h.events.log.lock().expect("log");
        let taken: Vec<_> = log.iter().filter(|(t, _)| t == "snapshot.taken").collect();
        assert_eq!(taken.len(), 6);
        assert_eq!(taken[1].1["resolution"], "200x150");
        assert_eq!(taken[1].1["format"], "png");
    }

    #[tokio::test]
    async fn concurrent_snapshots_are_serialized_and_bounded() {
        let h = harness().await;
        let s = Arc::new(service(&h));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = Arc::clone(&s);
            tasks.push(tokio::spawn(async move {
                s.take(SnapshotRequest {
                    device: "camera1".into(),
                    format: Some("png".into()),
                    ..Default::default()
                })
                .await
            }));
        }
        let mut ok = Vec::new();
        let mut busy = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(r) => ok.push(r.filename),
                Err(e) if e.reason == "camera_busy" => busy += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok.len() + busy, 8);
        assert!(
            ok.len() > MAX_WAITING,
            "one running plus {MAX_WAITING} waiting succeed: {ok:?}"
        );
        ok.sort();
        ok.dedup();
        assert_eq!(ok.len() + busy, 8, "every success has its own file");
    }

    #[test]
    fn image_header_sizes() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&320u32.to_be_bytes());
        png.extend_from_slice(&240u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((320, 240)));
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x78, 0x00, 0xA0, 0x01,
        ];
        assert_eq!(image_size(&jpeg), Some((160, 120)));
        assert_eq!(image_size(b"garbage"), None);
        assert_eq!(image_size(&[0xFF, 0xD8, 0xFF]), None);
    }
}
