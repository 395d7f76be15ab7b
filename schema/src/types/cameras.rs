//! Cameras (API.md §4.2): the camera object and `get_camera_list`, `get_camera_status`,
//! `get_camera_capabilities`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoParams;

/// Stream URLs of a camera (§4.0); every field is absent (`{}`) in the standalone backend.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct StreamUrls {
    /// `rtsp://H:8554/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtsp: Option<String>,
    /// `http://H:8888/<id>/index.m3u8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<String>,
    /// WHEP endpoint `http://H:8889/<id>/whep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webrtc: Option<String>,
}

/// The camera object (`get_camera_list`, `get_camera_status`, `camera_status_update`, `camera.connected`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct Camera {
    /// Camera id.
    pub device: String,
    /// `CONNECTED`, `DISCONNECTED` or `ERROR`.
    #[schemars(extend("enum" = ["CONNECTED", "DISCONNECTED", "ERROR"]))]
    pub status: String,
    /// V4L2 card name, configured name, or `stream_name`.
    pub name: String,
    /// Capture mode in use, `"WxH"`; `""` if unknown.
    pub resolution: String,
    /// Frame rate of that mode; 0 if unknown.
    pub fps: u32,
    pub streams: StreamUrls,
    /// `v4l2`, `virtual` or `network`.
    #[schemars(extend("enum" = ["v4l2", "virtual", "network"]))]
    pub r#type: String,
}

/// Params of `get_camera_list`.
pub type GetCameraListParams = NoParams;

/// Result of `get_camera_list`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetCameraListResult {
    /// Every known camera, sorted by id in natural order.
    pub cameras: Vec<Camera>,
    /// Number of cameras listed.
    pub total: u64,
    /// Number with status `CONNECTED`.
    pub connected: u64,
}

/// Params of the methods that take only a camera id.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceParams {
    /// Camera id.
    pub device: String,
}

/// Params of `get_camera_status`.
pub type GetCameraStatusParams = DeviceParams;

/// Stream metrics of a camera (`get_camera_status.metrics`); zeros when idle.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct CameraStreamMetrics {
    pub bytes_sent: u64,
    pub readers: u64,
    /// Seconds the publisher has run.
    pub uptime: u64,
}

/// Capability summary (`get_camera_status.capabilities`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct CapabilitySummary {
    pub formats: Vec<String>,
    pub resolutions: Vec<String>,
}

/// Recording state of a camera (`get_camera_status.recording`); `null`s when inactive.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct RecordingState {
    pub active: bool,
    /// First file of the active recording.
    pub filename: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub auto_stop_at: Option<String>,
}

/// Result of `get_camera_status`: the camera object plus metrics, capabilities and recording state.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetCameraStatusResult {
    #[serde(flatten)]
    pub camera: Camera,
    pub metrics: CameraStreamMetrics,
    pub capabilities: CapabilitySummary,
    pub recording: RecordingState,
    /// `true` while pinned by `start_streaming`.
    pub streaming: bool,
}

/// Params of `get_camera_capabilities`.
pub type GetCameraCapabilitiesParams = DeviceParams;

/// One capture mode: format × size × frame rates.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CaptureMode {
    /// FourCC name (`MJPG`, `YUYV`, `H264`, …).
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// Integer frame rates, descending.
    pub fps: Vec<u32>,
}

/// Result of `get_camera_capabilities`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetCameraCapabilitiesResult {
    pub device: String,
    /// Pixel formats / codecs (FourCC names).
    pub formats: Vec<String>,
    /// Distinct `"WxH"`, largest first.
    pub resolutions: Vec<String>,
    /// Distinct integer frame rates, descending.
    pub fps_options: Vec<u32>,
    /// Legacy copy of `fps_options`.
    pub frame_rates: Vec<u32>,
    pub modes: Vec<CaptureMode>,
    /// `CONFIRMED`, `NONE` or `DISCONNECTED`.
    #[schemars(extend("enum" = ["CONFIRMED", "NONE", "DISCONNECTED"]))]
    pub validation_status: String,
}
