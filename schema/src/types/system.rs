//! System (API.md §4.7): `get_status`, `get_system_status`, `get_server_info`, `get_metrics`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoParams;

/// Params of `get_status`.
pub type GetStatusParams = NoParams;
/// Params of `get_system_status`.
pub type GetSystemStatusParams = NoParams;
/// Params of `get_server_info`.
pub type GetServerInfoParams = NoParams;
/// Params of `get_metrics`.
pub type GetMetricsParams = NoParams;

/// Component states of `get_status`: `RUNNING`, `STOPPED`, `ERROR`, `STARTING` or `STOPPING`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StatusComponents {
    #[schemars(extend("enum" = ["RUNNING", "STOPPED", "ERROR", "STARTING", "STOPPING"]))]
    pub websocket_server: String,
    #[schemars(extend("enum" = ["RUNNING", "STOPPED", "ERROR", "STARTING", "STOPPING"]))]
    pub camera_monitor: String,
    #[schemars(extend("enum" = ["RUNNING", "STOPPED", "ERROR", "STARTING", "STOPPING"]))]
    pub mediamtx: String,
    #[schemars(extend("enum" = ["RUNNING", "STOPPED", "ERROR", "STARTING", "STOPPING"]))]
    pub storage: String,
    #[schemars(extend("enum" = ["RUNNING", "STOPPED", "ERROR", "STARTING", "STOPPING"]))]
    pub database: String,
}

/// Result of `get_status`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct GetStatusResult {
    /// `HEALTHY`, `DEGRADED` or `UNHEALTHY`.
    #[schemars(extend("enum" = ["HEALTHY", "DEGRADED", "UNHEALTHY"]))]
    pub status: String,
    /// Seconds since the process started.
    pub uptime: f64,
    /// Product version.
    pub version: String,
    /// [`crate::API_VERSION`].
    pub api_version: String,
    pub components: StatusComponents,
}

/// Result of `get_system_status`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetSystemStatusResult {
    /// `starting`, `ready` or `partial`.
    #[schemars(extend("enum" = ["starting", "ready", "partial"]))]
    pub status: String,
    pub message: String,
    /// Ids of cameras with status `CONNECTED`.
    pub available_cameras: Vec<String>,
    /// A discovery scan is running now.
    pub discovery_active: bool,
}

/// Result of `get_server_info`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetServerInfoResult {
    pub name: String,
    pub version: String,
    pub api_version: String,
    #[schemars(extend("format" = "date-time"))]
    pub build_date: String,
    /// Legacy field name: the Rust compiler version string.
    pub go_version: String,
    pub rust_version: String,
    /// Target CPU architecture (`x86_64`, `aarch64`, …).
    pub architecture: String,
    pub os: String,
    /// `mediamtx` or `standalone`.
    #[schemars(extend("enum" = ["mediamtx", "standalone"]))]
    pub backend: String,
    /// Open set: `snapshots`, `recordings`, `streaming`, `external_streams`, `external_discovery`,
    /// `api_keys`, `download_tokens`.
    pub capabilities: Vec<String>,
    /// Recording formats of the active backend plus snapshot formats.
    pub supported_formats: Vec<String>,
    pub max_cameras: u32,
}

/// `get_metrics.system_metrics`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct SystemMetrics {
    pub cpu_usage: f64,
    pub memory_usage: f64,
    pub disk_usage: f64,
    /// Legacy name: live asynchronous tasks.
    pub goroutines: u64,
    pub process_memory_bytes: u64,
    pub open_connections: u64,
}

/// One pixel format and size of a camera (`get_metrics` camera entry).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct PixelFormatInfo {
    pub pixel_format: String,
    pub width: u32,
    pub height: u32,
    /// Frame rates as decimal strings (`"30.000"`).
    pub frame_rates: Vec<String>,
}

/// Capture health of a camera (`get_metrics` camera entry).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct CameraHealth {
    /// `ok`, `stalled` or `idle`.
    #[schemars(extend("enum" = ["ok", "stalled", "idle"]))]
    pub state: String,
    /// `null` when idle.
    #[schemars(extend("format" = "date-time"))]
    pub last_frame_at: Option<String>,
    /// `null` when idle.
    pub measured_fps: Option<f64>,
}

/// One camera in `get_metrics.camera_metrics.cameras`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct CameraMetricsEntry {
    /// MediaMTX path name.
    pub path: String,
    pub name: String,
    #[schemars(extend("enum" = ["CONNECTED", "DISCONNECTED", "ERROR"]))]
    pub status: String,
    #[schemars(extend("enum" = ["v4l2", "virtual", "network"]))]
    pub r#type: String,
    /// N for `cameraN` V4L2 cameras, else `null`.
    pub device_num: Option<u32>,
    #[schemars(extend("format" = "date-time"))]
    pub last_seen: String,
    pub formats: Vec<PixelFormatInfo>,
    pub health: CameraHealth,
}

/// `get_metrics.camera_metrics`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct CameraMetrics {
    pub connected_cameras: u64,
    pub total_cameras: u64,
    /// Keyed by camera id.
    pub cameras: BTreeMap<String, CameraMetricsEntry>,
}

/// `get_metrics.recording_metrics`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct RecordingMetrics {
    pub active_recordings: u64,
    pub recordings_started_total: u64,
    pub bytes_written_total: u64,
}

/// `get_metrics.stream_metrics`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct StreamMetricsSummary {
    pub active_streams: u64,
    pub total_streams: u64,
    pub total_viewers: u64,
}

/// Result of `get_metrics`. `cpu_usage`, `memory_usage`, `disk_usage` appear both at top level and in
/// `system_metrics`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct GetMetricsResult {
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
    /// System CPU % over the last sampling interval.
    pub cpu_usage: f64,
    /// System memory %.
    pub memory_usage: f64,
    /// Recordings filesystem %.
    pub disk_usage: f64,
    pub system_metrics: SystemMetrics,
    pub camera_metrics: CameraMetrics,
    pub recording_metrics: RecordingMetrics,
    pub stream_metrics: StreamMetricsSummary,
}
