//! The recording engine: how a recording's files get produced. The [`Recorder`](super::Recorder) owns
//! everything else (slots, the state machine, persistence, events, deadlines); an engine only starts producing
//! segment files for one camera, reports each new file, and stops.
//!
//! Two implementations: [`super::engine_ffmpeg`] (standalone backend: ffmpeg writes the files straight from
//! the source) and [`super::engine_mediamtx`] (MediaMTX backend: MediaMTX's recorder writes them from the
//! camera's path).
//!
//! Contract every engine keeps:
//! - `start` resolves once the first file exists, naming it; on failure (including `recording.start_timeout`)
//!   nothing it started is left running.
//! - Files are `<device>_<YYYY-MM-DD>_<HH-MM-SS>.<ext>` (UTC), flat in the recordings directory.
//! - [`Session::next_event`] is cancel-safe (the recorder polls it inside a `select!`).
//! - [`Session::stop`] with `confirm` fails only when the engine could not stop producing files (the recording
//!   then stays active and the caller may retry); without `confirm` it never fails (best effort, for endings
//!   that happen regardless: deadlines, failures, shutdown).

use super::RecordingFormat;
use crate::cameras::CameraSource;
use crate::media::frame_health::FrameMonitor;
use crate::media::{blocking, name_stamp, storage_unavailable};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// A boxed future borrowing the engine or session.
pub type EngineFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a running session reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A new segment file (name only) was opened.
    Segment(String),
    /// The engine stopped producing files by itself (e.g. ffmpeg died); the message says why.
    Ended(String),
}

/// A started recording: its first file and the session producing the rest.
pub struct Started {
    pub first_file: String,
    pub session: Box<dyn Session>,
}

/// Produces recording files (see the module docs).
pub trait RecordingEngine: Send + Sync {
    /// Whether this engine can write `format` (else -32030 `format_unsupported`).
    fn supports(&self, format: RecordingFormat) -> bool;

    /// Starts recording `device` from `source` into `dir`; resolves once the first file exists.
    fn start<'a>(
        &'a self,
        device: &'a str,
        source: &'a CameraSource,
        format: RecordingFormat,
    ) -> EngineFuture<'a, crate::Result<Started>>;
}

/// One camera's running production of files.
pub trait Session: Send {
    /// The process writing the files, when the service runs it.
    fn pid(&self) -> Option<u32>;

    /// The next new file, or the end of production. Cancel-safe.
    fn next_event(&mut self) -> EngineFuture<'_, SessionEvent>;

    /// What the session sees of its frames, when the engine measures them (read by `get_metrics` while the
    /// session runs). `None`: no per-frame signal.
    fn frame_monitor(&self) -> Option<Arc<dyn FrameMonitor>> {
        None
    }

    /// Stops producing files and lets the last one be finalized. Returns files opened since the last
    /// [`SessionEvent::Segment`], oldest first. With `confirm`, fails when production could not be stopped
    /// (the session is then still running).
    fn stop(&mut self, confirm: bool) -> EngineFuture<'_, crate::Result<Vec<String>>>;
}

/// Waits until the next wall-clock second when a file named for the current second already exists in `dir`, so
/// that a new recording never reuses (and truncates) an earlier recording's file. Creates `dir` if needed.
pub async fn avoid_name_collision(dir: &Path, device: &str, ext: &str) -> crate::Result<()> {
    let dir = dir.to_path_buf();
    let prefix = format!("{device}_");
    let ext = ext.to_owned();
    let wait = blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| storage_unavailable(&dir, &e))?;
        let now = OffsetDateTime::now_utc();
        let taken = dir.join(format!("{prefix}{}.{ext}", name_stamp(now, false))).exists();
        Ok(taken.then(|| Duration::from_nanos(1_000_000_000 - u64::from(now.nanosecond()) + 5_000_000)))
    })
    .await?;
    if let Some(wait) = wait {
        tokio::time::sleep(wait).await;
    }
    Ok(())
}

/// Whether `name` is a segment file of `device` as engines name them: `<device>_<date>_<time>.<ext>`.
pub fn is_segment_of(name: &str, device: &str, ext: &str) -> bool {
    let Some(stem) = name
        .strip_prefix(device)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.strip_suffix(ext))
        .and_then(|rest| rest.strip_suffix('.'))
    else {
        return false;
    };
    let b = stem.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 13 | 16 => *c == b'-',
            10 => *c == b'_',
            _ => c.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names() {
        assert!(is_segment_of("camera0_2025-01-15_14-30-00.mp4", "camera0", "mp4"));
        assert!(!is_segment_of("camera0_2025-01-15_14-30-00.mkv", "camera0", "mp4"));
        assert!(!is_segment_of("camera01_2025-01-15_14-30-00.mp4", "camera0", "mp4"));
        assert!(!is_segment_of(
            "camera0_2025-01-15_14-30-00-121092.mp4",
            "camera0",
            "mp4"
        ));
        assert!(!is_segment_of("camera0_2025-01-15_14-30-00_123.mp4", "camera0", "mp4"));
        assert!(!is_segment_of("camera0_front.mp4", "camera0", "mp4"));
        assert!(is_segment_of("my_cam_2025-01-15_14-30-00.mp4", "my_cam", "mp4"));
    }

    #[tokio::test]
    async fn a_taken_second_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = OffsetDateTime::now_utc();
        for t in [now, now + time::Duration::seconds(1)] {
            std::fs::write(dir.path().join(format!("cam_{}.mp4", name_stamp(t, false))), b"x").expect("write");
        }
        avoid_name_collision(dir.path(), "cam", "mp4").await.expect("wait");
        let after = OffsetDateTime::now_utc();
        assert!(
            after.unix_timestamp() > now.unix_timestamp(),
            "waited past the taken second"
        );
    }
}
