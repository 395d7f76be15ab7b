//! Streaming (API.md §4.5): `start_streaming`, `stop_streaming`, `get_stream_url`, `get_stream_status`,
//! `get_streams`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DeviceParams, NoParams, StreamUrls};

/// Params of `start_streaming`.
pub type StartStreamingParams = DeviceParams;
/// Params of `stop_streaming`.
pub type StopStreamingParams = DeviceParams;
/// Params of `get_stream_url`.
pub type GetStreamUrlParams = DeviceParams;
/// Params of `get_stream_status`.
pub type GetStreamStatusParams = DeviceParams;
/// Params of `get_streams`.
pub type GetStreamsParams = NoParams;

/// Result of `start_streaming`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StartStreamingResult {
    pub device: String,
    /// MediaMTX path name (= camera id).
    pub stream_name: String,
    /// RTSP URL.
    pub stream_url: String,
    /// `STARTED`.
    #[schemars(extend("enum" = ["STARTED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    /// Duration string such as `"300s"`; `"0s"` = never.
    pub auto_close_after: String,
    pub streams: StreamUrls,
    pub message: String,
}

/// Result of `stop_streaming`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StopStreamingResult {
    pub device: String,
    pub stream_name: String,
    /// `STOPPED`.
    #[schemars(extend("enum" = ["STOPPED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    #[schemars(extend("format" = "date-time"))]
    pub end_time: String,
    /// Seconds pinned.
    pub duration: u64,
    /// Readers or a recording keep the publisher running.
    pub stream_continues: bool,
    pub message: String,
}

/// Result of `get_stream_url`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetStreamUrlResult {
    pub device: String,
    pub stream_name: String,
    pub stream_url: String,
    /// Camera `CONNECTED` (readers can start it on demand).
    pub available: bool,
    /// Current readers.
    pub active_consumers: u64,
    /// `READY`, `NOT_READY` or `ERROR`.
    #[schemars(extend("enum" = ["READY", "NOT_READY", "ERROR"]))]
    pub stream_status: String,
    pub streams: StreamUrls,
}

/// The publisher process (`get_stream_status.ffmpeg_process`); `running:false, pid:0, uptime:0` when none.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct FfmpegProcess {
    pub running: bool,
    pub pid: u32,
    /// Seconds.
    pub uptime: u64,
}

/// The MediaMTX path (`get_stream_status.mediamtx_path`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct MediamtxPathState {
    /// Configured in MediaMTX.
    pub exists: bool,
    /// Online.
    pub ready: bool,
    pub readers: u64,
}

/// Stream metrics (`get_stream_status.metrics`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct StreamMetrics {
    /// Outbound bytes.
    pub bytes_sent: u64,
    /// From the publisher; 0 if unknown.
    pub frames_sent: u64,
    /// Bits/s over the last 10 s.
    pub bitrate: u64,
    /// From the publisher; 0 if unknown.
    pub fps: u32,
}

/// Result of `get_stream_status`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetStreamStatusResult {
    pub device: String,
    pub stream_name: String,
    /// `ACTIVE`, `INACTIVE`, `STARTING`, `STOPPING` or `ERROR`.
    #[schemars(extend("enum" = ["ACTIVE", "INACTIVE", "STARTING", "STOPPING", "ERROR"]))]
    pub status: String,
    /// Path online and readable.
    pub ready: bool,
    pub ffmpeg_process: FfmpegProcess,
    pub mediamtx_path: MediamtxPathState,
    pub metrics: StreamMetrics,
    /// When the publisher came online; `null` when `INACTIVE`.
    #[schemars(extend("format" = "date-time"))]
    pub start_time: Option<String>,
}

/// One camera path in MediaMTX (`get_streams` item, `mediamtx.*` notification payload).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StreamItem {
    /// Path name.
    pub name: String,
    /// Camera id.
    pub device: String,
    /// MediaMTX source type (`rtspSession`, `rtspSource`, …) or `"none"`.
    pub source: String,
    pub ready: bool,
    pub readers: u64,
    pub bytes_sent: u64,
}

/// Result of `get_streams`: an array sorted by name.
pub type GetStreamsResult = Vec<StreamItem>;
