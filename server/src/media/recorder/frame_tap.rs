//! The frame tap of standalone recordings: while ffmpeg records a V4L2 device it also keeps the latest frame as a
//! JPEG (`<data_dir>/live/<device>.jpg`, rewritten twice a second, atomically), so `take_snapshot` works while the
//! camera records (API.md §4.3: a V4L2 device allows one reader, and the recorder is that reader).
//!
//! - [`FrameTap::output_args`] are the extra ffmpeg output for a recording of a tapped source; the engine calls
//!   [`FrameTap::open`] when that recording starts and [`FrameTap::close`] when it ends.
//! - As a [`LiveFeed`], the tap offers the frame file of a running recording only while it is fresh (younger than
//!   [`FRESH_FOR`]): a stalled recorder's old picture is never returned as a new snapshot.
//! - Which sources are tapped is a [`TapPolicy`]: exclusive sources (V4L2) in the service; tests tap every source.

use crate::cameras::CameraSource;
use crate::media::blocking;
use crate::media::live_feed::{LiveFeed, RunningFuture};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Frames per second written to the tap file.
pub const TAP_FPS: u32 = 2;
/// A tap file older than this is stale (the recorder stopped delivering frames).
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Which recordings get a tap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapPolicy {
    /// Sources that allow one reader: V4L2 devices.
    ExclusiveSources,
    /// Every source (tests, where no real device exists).
    AllSources,
}

/// See the module docs.
pub struct FrameTap {
    dir: PathBuf,
    policy: TapPolicy,
    /// Devices whose recording currently writes a tap file, and that file.
    active: Mutex<HashMap<String, PathBuf>>,
}

impl FrameTap {
    /// A tap writing into `dir` (created when the first tapped recording starts).
    pub fn new(dir: PathBuf, policy: TapPolicy) -> FrameTap {
        FrameTap {
            dir,
            policy,
            active: Mutex::new(HashMap::new()),
        }
    }

    /// Where `device`'s frames go.
    pub fn path(&self, device: &str) -> PathBuf {
        self.dir.join(format!("{device}.jpg"))
    }

    /// The extra ffmpeg output that keeps the latest frame of `device`, when `source` is tapped.
    pub fn output_args(&self, device: &str, source: &CameraSource) -> Option<Vec<String>> {
        let tapped = match self.policy {
            TapPolicy::ExclusiveSources => matches!(source, CameraSource::V4l2 { .. }),
            TapPolicy::AllSources => true,
        };
        if !tapped {
            return None;
        }
        let mut args: Vec<String> = ["-map", "0:v:0", "-an", "-vf"].map(str::to_owned).into();
        args.push(format!("fps={TAP_FPS}"));
        args.extend(
            [
                "-c:v",
                "mjpeg",
                "-q:v",
                "2",
                "-f",
                "image2",
                "-update",
                "1",
                "-atomic_writing",
                "1",
            ]
            .map(str::to_owned),
        );
        // '%' would be read as a sequence-number field by the image2 muxer.
        args.push(self.path(device).display().to_string().replace('%', "%%"));
        Some(args)
    }

    /// Prepares the tap directory (blocking; call from `spawn_blocking`).
    pub fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }

    /// A recording of `device` with a tap started.
    pub fn open(&self, device: &str) {
        self.lock().insert(device.to_owned(), self.path(device));
    }

    /// That recording ended: its frame file is removed so no later snapshot can take it for a live one.
    pub async fn close(&self, device: &str) {
        let Some(path) = self.lock().remove(device) else {
            return;
        };
        let _ = blocking(move || Ok(std::fs::remove_file(path)?)).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PathBuf>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether the file at `path` was written within [`FRESH_FOR`] of `now`.
fn is_fresh(path: &Path, now: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|written| now.duration_since(written).unwrap_or_default() < FRESH_FOR)
}

impl LiveFeed for FrameTap {
    fn running<'a>(&'a self, device: &'a str) -> RunningFuture<'a> {
        let path = self.lock().get(device).cloned();
        Box::pin(async move {
            let path = path?;
            let probe = path.clone();
            let fresh = blocking(move || Ok(is_fresh(&probe, SystemTime::now())))
                .await
                .unwrap_or(false);
            fresh.then(|| {
                let mut args: Vec<String> = ["-f", "image2", "-pattern_type", "none", "-i"]
                    .map(str::to_owned)
                    .into();
                args.push(path.display().to_string());
                args
            })
        })
    }

    /// A tap cannot start a recording: nothing on demand.
    fn on_demand(&self, _device: &str) -> Option<Vec<String>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exclusive_sources_are_tapped_by_the_service() {
        let tap = FrameTap::new(PathBuf::from("/var/lib/cam/live"), TapPolicy::ExclusiveSources);
        let device = CameraSource::V4l2 {
            path: PathBuf::from("/dev/video0"),
        };
        let args = tap.output_args("camera0", &device).expect("a V4L2 recording is tapped");
        assert_eq!(args.last().map(String::as_str), Some("/var/lib/cam/live/camera0.jpg"));
        assert!(args.windows(2).any(|w| w == ["-atomic_writing", "1"]), "{args:?}");
        let virtual_camera = CameraSource::Lavfi {
            pattern: "testsrc".into(),
            width: 320,
            height: 240,
            fps: 10,
        };
        assert_eq!(tap.output_args("camera1", &virtual_camera), None);
        let all = FrameTap::new(PathBuf::from("/tmp/100%/live"), TapPolicy::AllSources);
        let args = all
            .output_args("camera1", &virtual_camera)
            .expect("tests tap everything");
        assert_eq!(args.last().map(String::as_str), Some("/tmp/100%%/live/camera1.jpg"));
    }

    #[tokio::test]
    async fn only_a_fresh_frame_of_a_running_recording_is_offered() {
        let dir = tempfile::tempdir().expect("tmp");
        let tap = FrameTap::new(dir.path().join("live"), TapPolicy::AllSources);
        tap.prepare().expect("dir");
        assert_eq!(tap.running("camera0").await, None, "no recording");
        tap.open("camera0");
        assert_eq!(tap.running("camera0").await, None, "no frame written yet");
        std::fs::write(tap.path("camera0"), b"jpeg").expect("frame");
        let args = tap.running("camera0").await.expect("fresh frame");
        assert_eq!(args.last(), Some(&tap.path("camera0").display().to_string()));
        let old = SystemTime::now() - FRESH_FOR - Duration::from_millis(1);
        std::fs::File::options()
            .write(true)
            .open(tap.path("camera0"))
            .and_then(|f| f.set_modified(old))
            .expect("age the frame");
        assert_eq!(tap.running("camera0").await, None, "stale frame");
        tap.close("camera0").await;
        assert!(!tap.path("camera0").exists(), "closing removes the frame");
        assert_eq!(tap.on_demand("camera0"), None);
    }
}
