//! `get_status`, `get_system_status`, `get_server_info`, `get_metrics` (API.md §4.7).
//!
//! Status and readiness come from the health monitor's latest results (no check runs on a request); host
//! figures are read on the blocking pool by `health::host`. Camera, recording and stream figures come from
//! [`media_metrics`], the one place the camera registry, recorder and MediaMTX services plug into; a camera's
//! frame health from [`camera_health`].

use crate::clock::format_timestamp;
use crate::config::{Config, RecordingBackend};
use crate::health::CameraMonitorSnapshot;
use crate::health::host::HostMetrics;
use crate::media::frame_health::{FrameHealth, judge};
use crate::rpc::call::Call;
use crate::{Error, app::AppState};
use camera_api::types::{
    CameraHealth, CameraMetrics, CameraMetricsEntry, GetMetricsResult, GetServerInfoResult, PixelFormatInfo,
    RecordingMetrics, StreamMetricsSummary, SystemMetrics,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Compiler version string captured by `build.rs` (`rustc 1.95.0 (59807616e 2026-04-14)`).
pub const RUSTC_VERSION_STRING: &str = env!("RUSTC_VERSION_STRING");
/// Build time captured by `build.rs`, wire format.
pub const BUILD_TIMESTAMP: &str = env!("BUILD_TIMESTAMP");

pub async fn get_status(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    to_value(call.app.health.status())
}

pub async fn get_system_status(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    to_value(call.app.health.system_status())
}

pub async fn get_server_info(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    to_value(server_info(&call.app.config, call.app.backend.as_str()))
}

pub async fn get_metrics(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    let app = &call.app;
    let host = app.health.host_metrics().await;
    let live_tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks() as u64;
    let (camera_metrics, recording_metrics, stream_metrics) = media_metrics(app).await;
    let system_metrics = system_metrics(&host, live_tasks, app.connections.len() as u64);
    to_value(GetMetricsResult {
        timestamp: format_timestamp(app.clock.now()),
        cpu_usage: system_metrics.cpu_usage,
        memory_usage: system_metrics.memory_usage,
        disk_usage: system_metrics.disk_usage,
        system_metrics,
        camera_metrics,
        recording_metrics,
        stream_metrics,
    })
}

fn to_value<T: serde::Serialize>(result: T) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

/// Percentages on the wire: 0–100 with one decimal.
fn percent(value: f64) -> f64 {
    (value.clamp(0.0, 100.0) * 10.0).round() / 10.0
}

fn system_metrics(host: &HostMetrics, live_tasks: u64, open_connections: u64) -> SystemMetrics {
    SystemMetrics {
        cpu_usage: percent(host.cpu_usage),
        memory_usage: percent(host.memory_usage),
        disk_usage: percent(host.disk_usage),
        goroutines: live_tasks,
        process_memory_bytes: host.process_memory_bytes,
        open_connections,
    }
}

/// Camera, recording and stream figures of `get_metrics`: cameras from the registry (counts from the health
/// monitor's camera probe), recordings from the recorder (the sizes of running recordings' files are read on
/// the blocking pool), streams from MediaMTX (empty in the standalone backend).
async fn media_metrics(app: &AppState) -> (CameraMetrics, RecordingMetrics, StreamMetricsSummary) {
    let recording_metrics = RecordingMetrics {
        active_recordings: app.recorder.active_count() as u64,
        recordings_started_total: app.recorder.recordings_started_total(),
        bytes_written_total: app.recorder.bytes_written_total().await,
    };
    (
        camera_metrics(app, &app.health.cameras()),
        recording_metrics,
        app.streaming.as_ref().map(|s| s.summary()).unwrap_or_default(),
    )
}

/// A camera's frame health (API.md §4.7 `health`), from the first pipeline that can tell:
/// 1. its recording, when the engine measures frames (standalone: ffmpeg's frame counter — `last_frame_at`
///    and `measured_fps`);
/// 2. its MediaMTX path, when available (received bytes growing; `measured_fps` `null`);
/// 3. its recording without a frame signal (MediaMTX engine while the path is not available): `ok` for the
///    first 5 s, then `stalled`, no figures;
/// 4. otherwise no pipeline: `idle`.
fn camera_health(app: &AppState, device: &str) -> FrameHealth {
    app.recorder
        .frame_health(device)
        .or_else(|| app.streaming.as_ref()?.reconciler().path_health(device))
        .or_else(|| {
            let since = app.recorder.running_since(device)?;
            Some(judge(app.clock.elapsed(), since, None, None))
        })
        .unwrap_or_else(FrameHealth::idle)
}

fn wire_health(health: FrameHealth) -> CameraHealth {
    CameraHealth {
        state: health.state.as_str().to_owned(),
        last_frame_at: health.last_frame_at.map(format_timestamp),
        measured_fps: health.measured_fps,
    }
}

/// One entry per known camera: identity and status from the registry, formats from its capabilities, frame
/// health from [`camera_health`].
fn camera_metrics(app: &AppState, snapshot: &CameraMonitorSnapshot) -> CameraMetrics {
    let now = format_timestamp(app.clock.now());
    let started = format_timestamp(app.started_at);
    let cameras = app
        .cameras
        .list()
        .into_iter()
        .map(|camera| {
            let connected = camera.status.as_str() == "CONNECTED";
            let kind = camera.kind.as_str();
            let device_num = (kind == "v4l2")
                .then(|| camera.device.strip_prefix("camera")?.parse().ok())
                .flatten();
            let formats = app
                .cameras
                .capabilities(&camera.device)
                .map(|caps| {
                    caps.modes
                        .into_iter()
                        .map(|m| PixelFormatInfo {
                            pixel_format: m.format,
                            width: m.width,
                            height: m.height,
                            frame_rates: m.fps.iter().map(|f| format!("{f}.000")).collect(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let entry = CameraMetricsEntry {
                path: camera.device.clone(),
                name: camera.name.clone(),
                status: camera.status.as_str().to_owned(),
                r#type: kind.to_owned(),
                device_num,
                last_seen: if connected { now.clone() } else { started.clone() },
                formats,
                health: wire_health(camera_health(app, &camera.device)),
            };
            (camera.device, entry)
        })
        .collect::<BTreeMap<_, _>>();
    assemble_camera_metrics(snapshot, cameras)
}

fn assemble_camera_metrics(
    snapshot: &CameraMonitorSnapshot,
    cameras: BTreeMap<String, CameraMetricsEntry>,
) -> CameraMetrics {
    CameraMetrics {
        connected_cameras: snapshot.connected.len() as u64,
        total_cameras: snapshot.total.max(cameras.len()) as u64,
        cameras,
    }
}

/// The backend the configuration asks for (API.md §4.0): `standalone` when ffmpeg is chosen or MediaMTX is
/// disabled, else `mediamtx`. The backend actually running is decided at start (`auto` with an unreachable
/// MediaMTX runs standalone) and kept in `AppState::backend`; `get_server_info` reports that one.
pub fn active_backend(config: &Config) -> &'static str {
    if config.recording.backend == RecordingBackend::Ffmpeg || !config.mediamtx.enabled {
        "standalone"
    } else {
        "mediamtx"
    }
}

/// The `get_server_info` result for the running `backend` (`mediamtx` or `standalone`).
pub fn server_info(config: &Config, backend: &str) -> GetServerInfoResult {
    let standalone = backend == "standalone";
    let mut capabilities = vec!["snapshots", "recordings"];
    if !standalone {
        capabilities.push("streaming");
    }
    capabilities.extend(["external_streams", "api_keys", "download_tokens"]);
    let mut supported_formats = vec!["fmp4", "mp4"];
    if standalone {
        supported_formats.push("mkv");
    }
    supported_formats.extend(["jpg", "png"]);
    GetServerInfoResult {
        name: "Camera Service".to_owned(),
        version: crate::VERSION.to_owned(),
        api_version: camera_api::API_VERSION.to_owned(),
        build_date: BUILD_TIMESTAMP.to_owned(),
        go_version: RUSTC_VERSION_STRING.to_owned(),
        rust_version: rust_version(RUSTC_VERSION_STRING).to_owned(),
        architecture: std::env::consts::ARCH.to_owned(),
        os: "linux".to_owned(),
        backend: backend.to_owned(),
        capabilities: capabilities.into_iter().map(str::to_owned).collect(),
        supported_formats: supported_formats.into_iter().map(str::to_owned).collect(),
        max_cameras: u32::try_from(config.cameras.max_cameras).unwrap_or(u32::MAX),
    }
}

/// `1.95.0` from `rustc 1.95.0 (59807616e 2026-04-14)`.
fn rust_version(rustc: &str) -> &str {
    rustc.split_whitespace().nth(1).unwrap_or(rustc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_info_follows_the_backend() {
        let mut config = Config::default();
        let info = server_info(&config, active_backend(&config));
        assert_eq!(info.backend, "mediamtx");
        assert!(info.capabilities.contains(&"streaming".to_owned()));
        assert_eq!(info.supported_formats, ["fmp4", "mp4", "jpg", "png"]);
        assert_eq!(info.max_cameras, 32);
        assert_eq!(info.architecture, std::env::consts::ARCH);
        assert!(info.go_version.starts_with("rustc "), "{}", info.go_version);
        assert!(
            info.rust_version.chars().next().is_some_and(|c| c.is_ascii_digit()),
            "{}",
            info.rust_version
        );
        assert!(
            camera_api::timestamp::is_rfc3339(&info.build_date),
            "{}",
            info.build_date
        );

        config.recording.backend = RecordingBackend::Ffmpeg;
        let info = server_info(&config, active_backend(&config));
        assert_eq!(info.backend, "standalone");
        assert!(!info.capabilities.contains(&"streaming".to_owned()));
        assert!(info.supported_formats.contains(&"mkv".to_owned()));
        config.recording.backend = RecordingBackend::Auto;
        config.mediamtx.enabled = false;
        assert_eq!(active_backend(&config), "standalone");
    }

    #[test]
    fn health_on_the_wire() {
        let idle = wire_health(FrameHealth::idle());
        assert_eq!(
            (idle.state.as_str(), idle.last_frame_at, idle.measured_fps),
            ("idle", None, None)
        );
        let ok = wire_health(judge(
            std::time::Duration::from_secs(3),
            std::time::Duration::ZERO,
            Some(crate::media::frame_health::LastFrame {
                at: std::time::Duration::from_secs(2),
                wall: time::macros::datetime!(2025-01-15 14:29:59.96789 UTC),
            }),
            Some(29.9),
        ));
        assert_eq!(ok.state, "ok");
        assert_eq!(ok.last_frame_at.as_deref(), Some("2025-01-15T14:29:59.967Z"));
        assert_eq!(ok.measured_fps, Some(29.9));
    }

    #[test]
    fn rust_version_is_the_second_word() {
        assert_eq!(rust_version("rustc 1.95.0 (59807616e 2026-04-14)"), "1.95.0");
        assert_eq!(rust_version("weird"), "weird");
    }

    #[test]
    fn metrics_figures() {
        let host = HostMetrics {
            cpu_usage: 23.14,
            memory_usage: 145.0,
            disk_usage: 50.0,
            process_memory_bytes: 42,
        };
        let m = system_metrics(&host, 48, 3);
        assert_eq!((m.cpu_usage, m.memory_usage, m.disk_usage), (23.1, 100.0, 50.0));
        assert_eq!((m.goroutines, m.process_memory_bytes, m.open_connections), (48, 42, 3));
        let cams = CameraMonitorSnapshot {
            connected: vec!["camera0".into()],
            total: 2,
            ..Default::default()
        };
        let c = assemble_camera_metrics(&cams, BTreeMap::new());
        assert_eq!((c.connected_cameras, c.total_cameras, c.cameras.len()), (1, 2, 0));
    }
}
