//! The streaming service (API.md §4.5): `start_streaming`, `stop_streaming`, `get_stream_url`,
//! `get_stream_status`, `get_streams`, the stream URLs of §4.0, and the stream figures of `get_camera_status`.
//!
//! Model: every camera has a MediaMTX path named by its id whose publisher starts on demand. Pinning
//! (`start_streaming`) keeps it running by holding one reader of the service's own — a keepalive ffmpeg that
//! reads the path over RTSP and discards it — so viewers get no start-up delay; the pin ends with
//! `stop_streaming` (viewers are not kicked) or after `streaming.auto_close_after` without viewers.
//!
//! Invariants:
//! - Readiness is polled from MediaMTX, never assumed: `start_streaming` returns once the path is available
//!   (bounded by `streaming.start_timeout` of the injected clock), or fails and leaves nothing pinned.
//! - Every figure (ready, readers, bytes) comes from MediaMTX; the keepalive reader is never counted as a viewer.
//! - One start or stop per camera at a time (a per-camera async mutex); the pin table is a std mutex never held
//!   across an await. Each pin owns a [`Keepalive`] (restarted with backoff while pinned).
//! - A recording (MediaMTX backend) holds a keepalive of its own, so `stop_streaming` reports
//!   `stream_continues: true` while the camera records.

use super::client::PathState;
use super::keepalive::Keepalive;
use super::reconciler::{Reconciler, normalize_time, stream_item};
use crate::cameras::{CameraKind, CameraRegistry, CameraStatus};
use crate::clock::{Clock, format_timestamp};
use crate::media::ffmpeg::Ffmpeg;
use crate::media::live_feed::{LiveFeed, RunningFuture};
use crate::{Error, ErrorKind};
use camera_api::types::{
    CameraStreamMetrics, FfmpegProcess, GetStreamStatusResult, GetStreamUrlResult, MediamtxPathState,
    StartStreamingResult, StopStreamingResult, StreamItem, StreamMetrics, StreamMetricsSummary, StreamUrls,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often readiness is polled while `start_streaming` waits.
pub const READY_POLL: Duration = Duration::from_millis(100);
/// How often pins are checked for `auto_close_after`.
pub const PIN_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Where streams are reachable and how long things may take.
#[derive(Clone, Debug)]
pub struct StreamingSettings {
    pub start_timeout: Duration,
    /// `Duration::ZERO`: pins never close by themselves.
    pub auto_close_after: Duration,
    /// `mediamtx.public_host`.
    pub public_host: Option<String>,
    /// Host used when neither `public_host` nor a request host is known (the MediaMTX API host).
    pub fallback_host: String,
    pub rtsp_port: u16,
    pub hls_port: u16,
    pub webrtc_port: u16,
    /// MediaMTX serves its listeners with TLS: `rtsps://` and `https://`.
    pub tls: bool,
    /// `rtsp[s]://<api host>:<rtsp port>`, where the keepalive reader connects.
    pub internal_rtsp: String,
}

struct Pin {
    start_time: OffsetDateTime,
    /// `clock.elapsed()` when a viewer was last seen (or the pin began).
    last_viewer_at: Duration,
    keepalive: Keepalive,
}

/// See the module docs.
pub struct StreamingService {
    reconciler: Arc<Reconciler>,
    cameras: Arc<CameraRegistry>,
    ffmpeg: Ffmpeg,
    clock: Arc<dyn Clock>,
    settings: StreamingSettings,
    pins: Mutex<HashMap<String, Pin>>,
    /// Why the last start of a camera failed (cleared once its stream is ready).
    failures: Mutex<HashMap<String, String>>,
    device_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl StreamingService {
    pub fn new(
        reconciler: Arc<Reconciler>,
        cameras: Arc<CameraRegistry>,
        ffmpeg: Ffmpeg,
        clock: Arc<dyn Clock>,
        settings: StreamingSettings,
    ) -> Arc<StreamingService> {
        Arc::new(StreamingService {
            reconciler,
            cameras,
            ffmpeg,
            clock,
            settings,
            pins: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            device_locks: Mutex::new(HashMap::new()),
        })
    }

    pub fn reconciler(&self) -> &Arc<Reconciler> {
        &self.reconciler
    }

    /// Closes pins idle for `auto_close_after`, every [`PIN_CHECK_INTERVAL`]; on shutdown ends every pin.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = self.clock.sleep(PIN_CHECK_INTERVAL) => self.check_pins().await,
                () = super::stopped(&mut shutdown) => break,
            }
        }
        let pins: Vec<(String, Pin)> = self.lock_pins().drain().collect();
        for (device, pin) in pins {
            self.end_keepalive(&device, pin).await;
        }
    }

    /// The stream URLs of a camera for a client that connected with `request_host` (§4.0).
    pub fn urls(&self, device: &str, request_host: Option<&str>) -> StreamUrls {
        let s = &self.settings;
        let host = s
            .public_host
            .clone()
            .or_else(|| request_host.and_then(host_of))
            .unwrap_or_else(|| s.fallback_host.clone());
        let (rtsp, http) = if s.tls { ("rtsps", "https") } else { ("rtsp", "http") };
        StreamUrls {
            rtsp: Some(format!("{rtsp}://{host}:{}/{device}", s.rtsp_port)),
            hls: Some(format!("{http}://{host}:{}/{device}/index.m3u8", s.hls_port)),
            webrtc: Some(format!("{http}://{host}:{}/{device}/whep", s.webrtc_port)),
        }
    }

    /// `start_streaming`: pins the camera's stream and returns once it is online.
    pub async fn start(&self, device: &str, host: Option<&str>) -> crate::Result<StartStreamingResult> {
        let camera = self.cameras.camera(device)?;
        self.cameras.usable_source(device)?;
        self.reconciler.ensure_up()?;
        let lock = self.device_lock(device);
        let _serial = lock.lock().await;
        let pinned_at = self.lock_pins().get(device).map(|p| p.start_time);
        if let Some(start_time) = pinned_at {
            return Ok(self.started(device, start_time, host));
        }
        self.reconciler.ensure_path(device).await?;
        let start_time = self.clock.now();
        self.pin(device, start_time);
        match self.wait_ready(device, camera.kind).await {
            Ok(()) => {
                self.lock_failures().remove(device);
                tracing::info!(device, "stream pinned and live");
                Ok(self.started(device, start_time, host))
            }
            Err(e) => {
                let pin = self.lock_pins().remove(device);
                if let Some(pin) = pin {
                    self.end_keepalive(device, pin).await;
                }
                if e.kind != ErrorKind::Unavailable || e.reason != "mediamtx_unavailable" {
                    self.lock_failures().insert(device.to_owned(), e.details.clone());
                }
                Err(e)
            }
        }
    }

    /// `stop_streaming`: unpins; viewers stay connected.
    pub async fn stop(&self, device: &str) -> crate::Result<StopStreamingResult> {
        self.cameras.camera(device)?;
        self.reconciler.ensure_up()?;
        let lock = self.device_lock(device);
        let _serial = lock.lock().await;
        let Some(pin) = self.lock_pins().remove(device) else {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "not_streaming",
                format!("{device} is not pinned"),
            )
            .with("resource", "camera")
            .with("id", device)
            .suggest("Call start_streaming first"));
        };
        let start_time = pin.start_time;
        self.end_keepalive(device, pin).await;
        let viewers = match self.reconciler.fetch_path(device).await {
            Ok(Some(state)) => self.reconciler.viewers(&state),
            _ => 0,
        };
        let recording = self.reconciler.is_recording(device);
        let end_time = self.clock.now();
        let duration = ((end_time - start_time).as_seconds_f64().max(0.0)).round() as u64;
        tracing::info!(device, viewers, recording, "stream unpinned");
        Ok(StopStreamingResult {
            device: device.to_owned(),
            stream_name: device.to_owned(),
            status: "STOPPED".into(),
            start_time: format_timestamp(start_time),
            end_time: format_timestamp(end_time),
            duration,
            stream_continues: viewers > 0 || recording,
            message: if viewers > 0 {
                format!("Stream unpinned; {viewers} viewer(s) still connected")
            } else if recording {
                "Stream unpinned; a recording keeps it running".into()
            } else {
                "Stream stopped".into()
            },
        })
    }

    /// `get_stream_url`: URLs and readiness; starts nothing.
    pub async fn url(&self, device: &str, host: Option<&str>) -> crate::Result<GetStreamUrlResult> {
        let camera = self.cameras.camera(device)?;
        self.reconciler.ensure_up()?;
        let state = self.reconciler.fetch_path(device).await?;
        let ready = state.as_ref().is_some_and(PathState::is_available);
        let stream_status = if ready {
            "READY"
        } else if self.lock_failures().contains_key(device) {
            "ERROR"
        } else {
            "NOT_READY"
        };
        let streams = self.urls(device, host);
        Ok(GetStreamUrlResult {
            device: device.to_owned(),
            stream_name: device.to_owned(),
            stream_url: streams.rtsp.clone().unwrap_or_default(),
            available: camera.status == CameraStatus::Connected,
            active_consumers: state.as_ref().map_or(0, |s| self.reconciler.viewers(s)),
            stream_status: stream_status.into(),
            streams,
        })
    }

    /// `get_stream_status`.
    pub async fn status(&self, device: &str) -> crate::Result<GetStreamStatusResult> {
        let camera = self.cameras.camera(device)?;
        self.reconciler.ensure_up()?;
        let state = self.reconciler.fetch_path(device).await?;
        let ready = state.as_ref().is_some_and(PathState::is_available);
        let pinned = self.lock_pins().contains_key(device);
        let readers = state.as_ref().map_or(0, |s| s.readers.len());
        let status = if ready {
            "ACTIVE"
        } else if pinned || readers > 0 {
            "STARTING"
        } else if self.lock_failures().contains_key(device) {
            "ERROR"
        } else {
            "INACTIVE"
        };
        let since = state.as_ref().and_then(PathState::available_since).map(normalize_time);
        let uptime = since
            .as_deref()
            .and_then(crate::clock::parse_timestamp)
            .map_or(0, |t| (self.clock.now() - t).whole_seconds().max(0) as u64);
        let publisher_runs = ready && camera.kind != CameraKind::Network;
        let pid = if publisher_runs {
            find_publisher_pid(device.to_owned()).await.unwrap_or(0)
        } else {
            0
        };
        Ok(GetStreamStatusResult {
            device: device.to_owned(),
            stream_name: device.to_owned(),
            status: status.into(),
            ready,
            ffmpeg_process: FfmpegProcess {
                running: publisher_runs,
                pid,
                uptime: if publisher_runs { uptime } else { 0 },
            },
            mediamtx_path: MediamtxPathState {
                exists: state.is_some(),
                ready,
                readers: state.as_ref().map_or(0, |s| self.reconciler.viewers(s)),
            },
            metrics: StreamMetrics {
                bytes_sent: state.as_ref().map_or(0, PathState::bytes_out),
                frames_sent: 0,
                bitrate: if ready { self.reconciler.bitrate(device) } else { 0 },
                fps: if publisher_runs { camera.fps } else { 0 },
            },
            start_time: if ready { since } else { None },
        })
    }

    /// `get_streams`: one item per managed path that exists in MediaMTX, sorted by name.
    pub async fn list(&self) -> crate::Result<Vec<StreamItem>> {
        self.reconciler.ensure_up()?;
        let managed = self.reconciler.managed_names();
        let mut items: Vec<StreamItem> = self
            .reconciler
            .fetch_paths()
            .await?
            .iter()
            .filter(|p| managed.contains(&p.name))
            .map(|p| {
                let own = p.readers.len() as u64 - self.reconciler.viewers(p);
                stream_item(p, own)
            })
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(items)
    }

    /// `get_camera_status.metrics` and `.streaming` from the last poll (no request to MediaMTX).
    pub fn camera_metrics(&self, device: &str) -> (CameraStreamMetrics, bool) {
        let pinned = self.lock_pins().contains_key(device);
        let Some(state) = self.reconciler.cached(device) else {
            return (CameraStreamMetrics::default(), pinned);
        };
        let uptime = state
            .available_since()
            .and_then(crate::clock::parse_timestamp)
            .map_or(0, |t| (self.clock.now() - t).whole_seconds().max(0) as u64);
        let metrics = CameraStreamMetrics {
            bytes_sent: state.bytes_out(),
            readers: self.reconciler.viewers(&state),
            uptime,
        };
        (metrics, pinned)
    }

    /// `get_metrics.stream_metrics` from the last poll: paths online, paths in MediaMTX, viewers.
    pub fn summary(&self) -> StreamMetricsSummary {
        let paths = self.reconciler.cached_all();
        StreamMetricsSummary {
            active_streams: paths.iter().filter(|p| p.is_available()).count() as u64,
            total_streams: paths.len() as u64,
            total_viewers: paths.iter().map(|p| self.reconciler.viewers(p)).sum(),
        }
    }

    /// Streams pinned right now.
    pub fn pinned(&self) -> Vec<String> {
        let mut v: Vec<String> = self.lock_pins().keys().cloned().collect();
        v.sort();
        v
    }

    fn started(&self, device: &str, start_time: OffsetDateTime, host: Option<&str>) -> StartStreamingResult {
        let streams = self.urls(device, host);
        StartStreamingResult {
            device: device.to_owned(),
            stream_name: device.to_owned(),
            stream_url: streams.rtsp.clone().unwrap_or_default(),
            status: "STARTED".into(),
            start_time: format_timestamp(start_time),
            auto_close_after: format!("{}s", self.settings.auto_close_after.as_secs()),
            streams,
            message: "Stream is live".into(),
        }
    }

    async fn wait_ready(&self, device: &str, kind: CameraKind) -> crate::Result<()> {
        let deadline = self.clock.elapsed() + self.settings.start_timeout;
        loop {
            if let Some(state) = self.reconciler.fetch_path(device).await?
                && state.is_available()
            {
                return Ok(());
            }
            if self.clock.elapsed() >= deadline {
                let secs = self.settings.start_timeout.as_secs();
                return Err(match kind {
                    CameraKind::Network => Error::new(
                        ErrorKind::Unavailable,
                        "source_unreachable",
                        format!("MediaMTX could not pull {device}'s stream within {secs} s"),
                    )
                    .with("dependency", "camera")
                    .suggest("Check that the camera's RTSP URL is reachable from the MediaMTX host"),
                    _ => Error::new(
                        ErrorKind::Unavailable,
                        "ffmpeg_failed",
                        format!("the publisher of {device} did not come online within {secs} s"),
                    )
                    .with("dependency", "ffmpeg")
                    .suggest("Check that ffmpeg is installed where MediaMTX runs and see the MediaMTX log"),
                });
            }
            self.clock.sleep(READY_POLL).await;
        }
    }

    /// Starts a keepalive reader of `device`'s path (the service's own reader; see [`super::keepalive`]).
    pub fn start_keepalive(&self, device: &str) -> Keepalive {
        let url = format!("{}/{device}", self.settings.internal_rtsp);
        Keepalive::start(
            self.ffmpeg.clone(),
            self.clock.clone(),
            self.reconciler.clone(),
            device,
            url,
        )
    }

    fn pin(&self, device: &str, start_time: OffsetDateTime) {
        let keepalive = self.start_keepalive(device);
        self.lock_pins().insert(
            device.to_owned(),
            Pin {
                start_time,
                last_viewer_at: self.clock.elapsed(),
                keepalive,
            },
        );
    }

    async fn end_keepalive(&self, _device: &str, pin: Pin) {
        pin.keepalive.stop().await;
    }

    async fn check_pins(&self) {
        let limit = self.settings.auto_close_after;
        let now = self.clock.elapsed();
        let mut expired = Vec::new();
        {
            let mut pins = self.lock_pins();
            for (device, pin) in pins.iter_mut() {
                if self.cameras.camera(device).is_err() {
                    expired.push(device.clone()); // the camera was removed
                    continue;
                }
                let viewers = self
                    .reconciler
                    .cached(device)
                    .map_or(0, |s| self.reconciler.viewers(&s));
                if viewers > 0 {
                    pin.last_viewer_at = now;
                } else if !limit.is_zero() && now.saturating_sub(pin.last_viewer_at) >= limit {
                    expired.push(device.clone());
                }
            }
        }
        for device in expired {
            let lock = self.device_lock(&device);
            let _serial = lock.lock().await;
            let pin = self.lock_pins().remove(&device);
            if let Some(pin) = pin {
                tracing::info!(
                    device,
                    after = limit.as_secs(),
                    "pinned stream had no viewer (or its camera is gone); unpinning"
                );
                self.end_keepalive(&device, pin).await;
            }
        }
    }

    fn device_lock(&self, device: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.device_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(device.to_owned())
            .or_default()
            .clone()
    }

    fn lock_pins(&self) -> MutexGuard<'_, HashMap<String, Pin>> {
        self.pins.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_failures(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The host part of a `Host` header: `cam.local:8002` → `cam.local`, `[::1]:8002` → `[::1]`.
pub fn host_of(header: &str) -> Option<String> {
    let h = header.trim();
    if h.is_empty() {
        return None;
    }
    if let Some(rest) = h.strip_prefix('[') {
        let end = rest.find(']')?;
        return Some(format!("[{}]", &rest[..end]));
    }
    match h.matches(':').count() {
        0 => Some(h.to_owned()),
        1 => h.split(':').next().filter(|s| !s.is_empty()).map(str::to_owned),
        _ => Some(format!("[{h}]")),
    }
}

/// Snapshots read a camera's MediaMTX path (over the internal RTSP address) instead of opening its source a
/// second time: while the path is available, or on demand when the source is a busy device.
impl LiveFeed for StreamingService {
    fn running<'a>(&'a self, device: &'a str) -> RunningFuture<'a> {
        Box::pin(async move {
            let state = self.reconciler.fetch_path(device).await.ok().flatten();
            state
                .is_some_and(|s| s.is_available())
                .then(|| self.on_demand_input(device))
        })
    }

    fn on_demand(&self, device: &str) -> Option<Vec<String>> {
        self.reconciler
            .managed_names()
            .contains(device)
            .then(|| self.on_demand_input(device))
    }
}

impl StreamingService {
    fn on_demand_input(&self, device: &str) -> Vec<String> {
        let url = format!("{}/{device}", self.settings.internal_rtsp);
        ["-rtsp_transport", "tcp", "-i", url.as_str()].map(str::to_owned).into()
    }
}

/// Pid of the on-demand publisher MediaMTX runs for `device`, when it runs on this host (best effort: the
/// ffmpeg whose last argument is the RTSP URL of the path).
async fn find_publisher_pid(device: String) -> Option<u32> {
    tokio::task::spawn_blocking(move || {
        let suffix = format!("/{device}");
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<&[u8]> = raw.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
            let is_ffmpeg = args
                .first()
                .is_some_and(|a| a.rsplit(|b| *b == b'/').next() == Some(b"ffmpeg".as_slice()));
            let publishes = args.windows(2).any(|w| w[0] == b"-f" && w[1] == b"rtsp");
            let to_path = args
                .last()
                .and_then(|a| std::str::from_utf8(a).ok())
                .is_some_and(|a| a.starts_with("rtsp") && a.ends_with(&suffix));
            if is_ffmpeg && publishes && to_path {
                return Some(pid);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_forms() {
        assert_eq!(host_of("cam.local:8002").as_deref(), Some("cam.local"));
        assert_eq!(host_of("cam.local").as_deref(), Some("cam.local"));
        assert_eq!(host_of("[::1]:8002").as_deref(), Some("[::1]"));
        assert_eq!(host_of("::1").as_deref(), Some("[::1]"));
        assert_eq!(host_of("").as_deref(), None);
    }
}
