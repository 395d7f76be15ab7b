//! The standalone recording engine: ffmpeg reads the camera source and writes segmented fragmented MP4 (or
//! Matroska) straight into `storage.recordings_path`.
//!
//! Invariants:
//! - ffmpeg names the files (`-strftime 1`, `TZ=UTC`) at the wall-clock time each segment opens; new files are
//!   learned from its verbose log (the "opened files" channel of [`FfmpegProcess`]), never by scanning.
//! - `start` returns once the first file exists; after `recording.start_timeout` (real time: it bounds a real
//!   program) the process is killed and nothing is left running.
//! - Stops are graceful (`q` on stdin, then SIGKILL after [`STOP_GRACE`]), so every file ends playable.
//! - A recording of a tapped source (V4L2) also feeds the [`FrameTap`] (a second ffmpeg output), so snapshots
//!   work while the device is recording; the tap is closed whenever the session stops or ends.
//! - ffmpeg reports its progress on stdout; each session's [`FrameTracker`] (injected clock) counts the frames,
//!   which is the camera's frame health in `get_metrics` while it records.

use super::RecordingFormat;
use super::engine::{EngineFuture, RecordingEngine, Session, SessionEvent, Started, avoid_name_collision};
use super::frame_tap::FrameTap;
use crate::cameras::CameraSource;
use crate::clock::Clock;
use crate::config::Config;
use crate::media::ffmpeg::{Ffmpeg, FfmpegError, FfmpegProcess, Role};
use crate::media::frame_health::FrameMonitor;
use crate::media::progress::FrameTracker;
use crate::media::{blocking, input_args};
use crate::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long ffmpeg may take to finish its files after `q` before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// Keyframe interval of encoded recordings (fragment and segment boundaries fall on keyframes).
const KEYFRAME_SECONDS: u32 = 2;

/// See the module docs.
pub struct FfmpegEngine {
    dir: PathBuf,
    segment_duration: u64,
    start_timeout: Duration,
    ffmpeg: Ffmpeg,
    tap: Arc<FrameTap>,
    clock: Arc<dyn Clock>,
}

impl FfmpegEngine {
    pub fn new(config: &Config, ffmpeg: Ffmpeg, tap: Arc<FrameTap>, clock: Arc<dyn Clock>) -> FfmpegEngine {
        FfmpegEngine {
            dir: config.storage.recordings_path.clone(),
            segment_duration: config.recording.segment_duration,
            start_timeout: Duration::from_secs(config.recording.start_timeout),
            ffmpeg,
            tap,
            clock,
        }
    }

    async fn launch(&self, device: &str, source: &CameraSource, format: RecordingFormat) -> crate::Result<Started> {
        avoid_name_collision(&self.dir, device, format.extension()).await?;
        let mut args = self.ffmpeg_args(device, source, format);
        let tap_args = self.tap.output_args(device, source);
        if let Some(extra) = tap_args.clone() {
            let tap = self.tap.clone();
            if let Err(e) = blocking(move || Ok(tap.prepare()?)).await {
                // Recording matters more than snapshots during it: record without the tap.
                tracing::warn!(device, error = %e, "frame tap unavailable; snapshots fail while this camera records");
            } else {
                args.extend(extra);
            }
        }
        let frames = FrameTracker::new(self.clock.clone());
        let mut process = self
            .ffmpeg
            .spawn_with_progress(Role::Recorder, &args, frames.clone())
            .map_err(|e| e.into_error("ffmpeg_failed", &format!("recording of {device}")))?;
        let mut opened = process
            .take_opened_files()
            .ok_or_else(|| Error::internal("opened-files channel missing"))?;
        let deadline = tokio::time::Instant::now() + self.start_timeout;
        let first = tokio::select! {
            file = opened.recv() => file,
            _ = tokio::time::sleep_until(deadline) => None,
        };
        let Some(first) = first else {
            return Err(self.start_failure(device, process, deadline).await);
        };
        let name = first
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = self.dir.join(&name);
        // The log line comes just before the file is created.
        loop {
            if tokio::fs::try_exists(&path).await.unwrap_or(false) {
                let tapped = tap_args.is_some().then(|| {
                    self.tap.open(device);
                    (self.tap.clone(), device.to_owned())
                });
                let session = FfmpegSession {
                    pid: process.pid(),
                    process: Some(process),
                    opened,
                    opened_live: true,
                    tapped,
                    frames,
                };
                return Ok(Started {
                    first_file: name,
                    session: Box::new(session),
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.start_failure(device, process, deadline).await);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Turns a start that produced no file into an error, leaving nothing running.
    async fn start_failure(&self, device: &str, mut process: FfmpegProcess, deadline: tokio::time::Instant) -> Error {
        let status = tokio::select! {
            s = process.wait() => s.ok(),
            _ = tokio::time::sleep_until(deadline) => None,
        };
        // Give the stderr reader a moment to take the last lines.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tail = process.stderr_tail();
        match status {
            None => {
                process.kill().await;
                Error::new(
                    ErrorKind::Unavailable,
                    "recording_start_timeout",
                    format!(
                        "The recording of {device} did not start within {} s",
                        self.start_timeout.as_secs()
                    ),
                )
                .with("dependency", "ffmpeg")
                .suggest("Check the camera source and retry")
            }
            Some(status) => {
                let e = FfmpegError::Exited {
                    status,
                    stderr_tail: tail,
                };
                if e.source_unreachable() {
                    e.into_error("source_unreachable", &format!("recording of {device}"))
                        .with("dependency", "camera")
                } else {
                    e.into_error("ffmpeg_failed", &format!("recording of {device}"))
                }
            }
        }
    }

    pub(super) fn ffmpeg_args(&self, device: &str, source: &CameraSource, format: RecordingFormat) -> Vec<String> {
        let mut args: Vec<String> = ["-loglevel", "verbose"].map(str::to_owned).into();
        args.extend(input_args(source, true));
        args.extend(["-map", "0:v:0", "-an"].map(str::to_owned));
        match source {
            CameraSource::Rtsp { .. } => args.extend(["-c:v", "copy"].map(str::to_owned)),
            CameraSource::Lavfi { .. } | CameraSource::V4l2 { .. } => {
                args.extend(
                    [
                        "-c:v",
                        "libx264",
                        "-preset",
                        "veryfast",
                        "-tune",
                        "zerolatency",
                        "-pix_fmt",
                        "yuv420p",
                    ]
                    .map(str::to_owned),
                );
                args.push("-force_key_frames".to_owned());
                args.push(format!("expr:gte(t,n_forced*{KEYFRAME_SECONDS})"));
            }
        }
        args.extend(["-f", "segment", "-segment_time"].map(str::to_owned));
        args.push(self.segment_duration.to_string());
        args.extend(["-reset_timestamps", "1", "-strftime", "1", "-segment_format"].map(str::to_owned));
        match format {
            RecordingFormat::Fmp4 | RecordingFormat::Mp4 => {
                args.extend(
                    [
                        "mp4",
                        "-segment_format_options",
                        // Each fragment reaches the disk when it closes (crash safety), not when 32 KiB are buffered.
                        "movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1",
                    ]
                    .map(str::to_owned),
                );
            }
            RecordingFormat::Mkv => args.push("matroska".to_owned()),
        }
        // '%' in the directory would be read as a strftime field.
        let dir = self.dir.display().to_string().replace('%', "%%");
        let pattern = Path::new(&dir).join(format!("{device}_%Y-%m-%d_%H-%M-%S.{}", format.extension()));
        args.push(pattern.display().to_string());
        args
    }
}

impl RecordingEngine for FfmpegEngine {
    fn supports(&self, _format: RecordingFormat) -> bool {
        true
    }

    fn start<'a>(
        &'a self,
        device: &'a str,
        source: &'a CameraSource,
        format: RecordingFormat,
    ) -> EngineFuture<'a, crate::Result<Started>> {
        Box::pin(self.launch(device, source, format))
    }
}

/// One ffmpeg writing one camera's segments.
struct FfmpegSession {
    pid: Option<u32>,
    /// `None` once stopped.
    process: Option<FfmpegProcess>,
    opened: mpsc::Receiver<PathBuf>,
    opened_live: bool,
    /// The frame tap this recording feeds, and the device; closed once, when production ends.
    tapped: Option<(Arc<FrameTap>, String)>,
    frames: Arc<FrameTracker>,
}

impl FfmpegSession {
    async fn close_tap(&mut self) {
        if let Some((tap, device)) = self.tapped.take() {
            tap.close(&device).await;
        }
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

impl Session for FfmpegSession {
    fn pid(&self) -> Option<u32> {
        self.pid
    }

    fn next_event(&mut self) -> EngineFuture<'_, SessionEvent> {
        Box::pin(async move {
            let Some(process) = self.process.as_mut() else {
                return std::future::pending().await;
            };
            loop {
                tokio::select! {
                    file = self.opened.recv(), if self.opened_live => match file.as_deref().map(file_name) {
                        Some(Some(name)) => return SessionEvent::Segment(name),
                        Some(None) => {}
                        None => self.opened_live = false,
                    },
                    status = process.wait() => {
                        // Give the stderr reader a moment to take the last lines.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                        let message = format!("ffmpeg exited unexpectedly ({status}): {}", process.stderr_tail());
                        self.close_tap().await;
                        return SessionEvent::Ended(message);
                    }
                }
            }
        })
    }

    fn frame_monitor(&self) -> Option<Arc<dyn FrameMonitor>> {
        Some(self.frames.clone())
    }

    fn stop(&mut self, _confirm: bool) -> EngineFuture<'_, crate::Result<Vec<String>>> {
        Box::pin(async move {
            if let Some(process) = self.process.take() {
                // Also right when ffmpeg already exited: writing `q` then fails quietly and the wait returns at once.
                let (status, graceful) = process.stop(STOP_GRACE).await;
                if !graceful || !status.is_some_and(|s| s.success()) {
                    tracing::debug!(?status, graceful, "ffmpeg did not finish cleanly");
                }
            }
            self.close_tap().await;
            let mut late = Vec::new();
            while let Ok(path) = self.opened.try_recv() {
                late.extend(file_name(&path));
            }
            Ok(late)
        })
    }
}
