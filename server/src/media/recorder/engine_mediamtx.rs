//! The MediaMTX recording engine: MediaMTX's own recorder writes the files from the camera's path, so the
//! camera keeps one reader (the on-demand publisher MediaMTX runs) — a V4L2 device allows only one.
//!
//! A recording is: the path's `record` flag on (desired state of the reconciler, applied at once, re-applied
//! after MediaMTX restarts and drift) plus a keepalive reader of the path, so the on-demand publisher (V4L2 and
//! virtual cameras) or on-demand pull (network cameras: the service configures them with `sourceOnDemand`)
//! keeps running. MediaMTX writes `recordPath` (`<recordings dir>/%path_%Y-%m-%d_%H-%M-%S`) + `.mp4`, fragmented
//! MP4 only, a new file every `recordSegmentDuration` (see `mediamtx::desired`).
//!
//! Invariants:
//! - New files are learned from the media index's watch ([`MediaIndex::recording_arrivals`]: names, no
//!   directory listing), with one listing of the folder at the start (the files that existed before are never
//!   claimed), when an announcement was missed (lag), at stop, and every [`SAFETY_SCAN`] while waiting. Without
//!   the watch the folder is listed every [`START_POLL`] while starting and every [`SEGMENT_POLL`] while running
//!   (a listing of a folder of 100,000 files costs tens of milliseconds). MediaMTX must therefore write to the
//!   same filesystem the service reads (same host or a shared volume).
//! - `start` returns once the first new file exists; after `recording.start_timeout` (real time: it bounds
//!   MediaMTX and the camera) the flag goes back off and the keepalive stops: nothing is left running.
//! - A stop turns the flag off in MediaMTX before anything else. A confirmed stop (`stop_recording`) that
//!   cannot tell MediaMTX fails with -32050 `mediamtx_unavailable` and leaves the session (flag, keepalive) as
//!   it was; any other ending (deadline, failure, shutdown) leaves the flag off in the desired state, which the
//!   reconciler applies as soon as MediaMTX answers.

use super::RecordingFormat;
use super::engine::{
    EngineFuture, RecordingEngine, Session, SessionEvent, Started, avoid_name_collision, is_segment_of,
};
use crate::cameras::CameraSource;
use crate::config::Config;
use crate::media::blocking;
use crate::media::index::MediaIndex;
use crate::mediamtx::keepalive::Keepalive;
use crate::mediamtx::reconciler::Reconciler;
use crate::mediamtx::streaming::StreamingService;
use crate::{Error, ErrorKind};
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the directory is listed while a start waits for the first file.
pub const START_POLL: Duration = Duration::from_millis(100);
/// How often the directory is listed for new segments while recording, when the index watch does not run.
pub const SEGMENT_POLL: Duration = Duration::from_millis(500);
/// With the index watch: how often the folder is listed anyway, in case an announcement went missing.
pub const SAFETY_SCAN: Duration = Duration::from_secs(30);
/// The same while a start waits for its first file.
pub const START_SAFETY_SCAN: Duration = Duration::from_secs(1);
/// How long a stop waits at most for MediaMTX to finish the last file (it takes up to 1 s, fixture 004).
const FINALIZE_WAIT: Duration = Duration::from_secs(2);
/// The last file counts as finished once its size holds still this long.
const FINALIZE_STEADY: Duration = Duration::from_millis(300);
/// MediaMTX writes fragmented MP4 with this extension.
const EXT: &str = "mp4";

/// See the module docs.
pub struct MediamtxEngine {
    dir: PathBuf,
    start_timeout: Duration,
    streaming: Arc<StreamingService>,
    index: Arc<MediaIndex>,
}

impl MediamtxEngine {
    pub fn new(config: &Config, streaming: Arc<StreamingService>, index: Arc<MediaIndex>) -> MediamtxEngine {
        MediamtxEngine {
            dir: config.storage.recordings_path.clone(),
            start_timeout: Duration::from_secs(config.recording.start_timeout),
            streaming,
            index,
        }
    }

    async fn launch(&self, device: &str) -> crate::Result<Started> {
        let reconciler = self.streaming.reconciler().clone();
        reconciler.ensure_up()?;
        avoid_name_collision(&self.dir, device, EXT).await?;
        // Subscribe before the baseline listing: a file can then be missed by neither.
        let arrivals = self.index.recording_arrivals();
        let known: HashSet<String> = list_segments(&self.dir, device).await?.into_iter().collect();
        reconciler.ensure_path(device).await?;
        reconciler.set_record(device, true).await?;
        let keepalive = self.streaming.start_keepalive(device);
        let deadline = tokio::time::Instant::now() + self.start_timeout;
        let mut session = MediamtxSession {
            device: device.to_owned(),
            dir: self.dir.clone(),
            reconciler,
            keepalive: Some(keepalive),
            known,
            pending: VecDeque::new(),
            last: String::new(),
            arrivals,
        };
        loop {
            if let Some(first) = session.pending.pop_front() {
                return Ok(Started {
                    first_file: first,
                    session: Box::new(session),
                });
            }
            let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
            if wait.is_zero() {
                session.abandon().await;
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "recording_start_timeout",
                    format!(
                        "MediaMTX wrote no recording file for {device} within {} s",
                        self.start_timeout.as_secs()
                    ),
                )
                .with("dependency", "mediamtx")
                .suggest("Check that the camera streams (get_stream_status) and the MediaMTX log, then retry"));
            }
            // A start lists the folder every second even with announcements: it is short and must not miss.
            let poll = if session.arrivals.is_some() {
                START_SAFETY_SCAN
            } else {
                START_POLL
            };
            if let Err(e) = tokio::time::timeout(wait, session.discover(poll))
                .await
                .unwrap_or(Ok(()))
            {
                session.abandon().await;
                return Err(e);
            }
        }
    }
}

impl RecordingEngine for MediamtxEngine {
    fn supports(&self, format: RecordingFormat) -> bool {
        format != RecordingFormat::Mkv
    }

    fn start<'a>(
        &'a self,
        device: &'a str,
        _source: &'a CameraSource,
        _format: RecordingFormat,
    ) -> EngineFuture<'a, crate::Result<Started>> {
        Box::pin(self.launch(device))
    }
}

/// One camera recorded by MediaMTX.
struct MediamtxSession {
    device: String,
    dir: PathBuf,
    reconciler: Arc<Reconciler>,
    /// `None` once stopped.
    keepalive: Option<Keepalive>,
    /// Segment names already claimed or present before the start.
    known: HashSet<String>,
    /// New segments found but not reported yet, oldest first.
    pending: VecDeque<String>,
    /// The newest file of this recording.
    last: String,
    /// New recording files announced by the media index; `None` when its watch does not run.
    arrivals: Option<broadcast::Receiver<String>>,
}

impl MediamtxSession {
    /// Undoes a start that produced no file: record flag off (applied now, so the caller's error means nothing
    /// runs; or, when MediaMTX does not answer, as soon as it does), keepalive stopped.
    async fn abandon(&mut self) {
        if self.reconciler.set_record(&self.device, false).await.is_err() {
            self.reconciler.clear_record(&self.device);
        }
        if let Some(keepalive) = self.keepalive.take() {
            keepalive.stop().await;
        }
    }

    /// Queues `name` when it is a new segment of this camera.
    fn claim(&mut self, name: String) {
        if is_segment_of(&name, &self.device, EXT) && self.known.insert(name.clone()) {
            self.last = name.clone();
            self.pending.push_back(name);
        }
    }

    /// Lists the directory and queues the new segments (kept across a cancelled poll).
    async fn scan(&mut self) -> crate::Result<()> {
        for name in list_segments(&self.dir, &self.device).await? {
            self.claim(name);
        }
        Ok(())
    }

    /// Waits for new segments: an announcement of the index, or a listing after `poll` (also when an
    /// announcement was missed, or the announcements end). Cancel-safe: what was found is kept in `pending`.
    async fn discover(&mut self, poll: Duration) -> crate::Result<()> {
        let heard = match self.arrivals.as_mut() {
            Some(arrivals) => tokio::select! {
                heard = arrivals.recv() => Some(heard),
                () = tokio::time::sleep(poll) => None,
            },
            None => {
                tokio::time::sleep(poll).await;
                None
            }
        };
        match heard {
            Some(Ok(name)) => {
                self.claim(name);
                Ok(())
            }
            Some(Err(broadcast::error::RecvError::Closed)) => {
                self.arrivals = None;
                self.scan().await
            }
            Some(Err(broadcast::error::RecvError::Lagged(_))) | None => self.scan().await,
        }
    }

    /// Waits (bounded) until MediaMTX has finished writing the newest file.
    async fn wait_finalized(&self) {
        let path = self.dir.join(&self.last);
        let size = || async {
            let path = path.clone();
            blocking(move || Ok(std::fs::metadata(path)?.len())).await.ok()
        };
        let deadline = tokio::time::Instant::now() + FINALIZE_WAIT;
        let mut before = size().await;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(FINALIZE_STEADY).await;
            let now = size().await;
            if now == before {
                return;
            }
            before = now;
        }
    }
}

impl Session for MediamtxSession {
    fn pid(&self) -> Option<u32> {
        None
    }

    fn next_event(&mut self) -> EngineFuture<'_, SessionEvent> {
        Box::pin(async move {
            loop {
                if let Some(name) = self.pending.pop_front() {
                    return SessionEvent::Segment(name);
                }
                let poll = if self.arrivals.is_some() {
                    SAFETY_SCAN
                } else {
                    SEGMENT_POLL
                };
                if let Err(e) = self.discover(poll).await {
                    tracing::warn!(device = self.device, error = %e, "cannot list the recordings directory");
                }
            }
        })
    }

    fn stop(&mut self, confirm: bool) -> EngineFuture<'_, crate::Result<Vec<String>>> {
        Box::pin(async move {
            match self.reconciler.set_record(&self.device, false).await {
                Ok(()) => {}
                Err(e) if confirm => return Err(e),
                // The recording ends regardless: MediaMTX gets the flag off as soon as it answers again.
                Err(_) => self.reconciler.clear_record(&self.device),
            }
            if let Some(keepalive) = self.keepalive.take() {
                keepalive.stop().await;
            }
            self.wait_finalized().await;
            if let Err(e) = self.scan().await {
                tracing::warn!(device = self.device, error = %e, "cannot list the recordings directory");
            }
            Ok(self.pending.drain(..).collect())
        })
    }
}

/// Names of `device`'s segment files in `dir`, sorted (names sort by start time).
async fn list_segments(dir: &Path, device: &str) -> crate::Result<Vec<String>> {
    let dir = dir.to_path_buf();
    let device = device.to_owned();
    blocking(move || {
        let entries = std::fs::read_dir(&dir).map_err(|e| crate::media::storage_unavailable(&dir, &e))?;
        let names: BTreeSet<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_segment_of(n, &device, EXT))
            .collect();
        Ok(names.into_iter().collect())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_only_this_cameras_segments_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "camera0_2025-01-15_14-30-10.mp4",
            "camera0_2025-01-15_14-30-00.mp4",
            "camera1_2025-01-15_14-30-00.mp4",
            "camera0_2025-01-15_14-30-00.mkv",
            "camera0_notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        let names = list_segments(dir.path(), "camera0").await.expect("list");
        assert_eq!(
            names,
            ["camera0_2025-01-15_14-30-00.mp4", "camera0_2025-01-15_14-30-10.mp4"]
        );
        let missing = list_segments(&dir.path().join("nope"), "camera0").await;
        assert_eq!(missing.map_err(|e| e.reason).err(), Some("storage_unavailable"));
    }
}
