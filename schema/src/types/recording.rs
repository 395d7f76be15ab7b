//! Snapshots and recording (API.md §4.3): `take_snapshot`, `start_recording`, `stop_recording`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DeviceParams;

/// Params of `take_snapshot`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TakeSnapshotParams {
    pub device: String,
    /// File name to write (default generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// `jpg`, `jpeg` (= `jpg`) or `png`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["jpg", "jpeg", "png", null]))]
    pub format: Option<String>,
    /// JPEG quality 1..100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<u32>,
    /// 16..8192.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_width: Option<u32>,
    /// 16..8192.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<u32>,
}

/// Result of `take_snapshot`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct TakeSnapshotResult {
    pub device: String,
    /// Name actually written.
    pub filename: String,
    /// Always `SUCCESS`.
    #[schemars(extend("enum" = ["SUCCESS"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
    pub file_size: u64,
    /// Absolute server-side path.
    pub file_path: String,
    /// `jpg` or `png`.
    pub format: String,
    /// `"WxH"` of the image.
    pub resolution: String,
    pub download_url: String,
}

/// Params of `start_recording`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StartRecordingParams {
    pub device: String,
    /// Seconds, 1..86400 (default: until stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// `fmp4`, `mp4` or `mkv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["fmp4", "mp4", "mkv", null]))]
    pub format: Option<String>,
}

/// Result of `start_recording`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StartRecordingResult {
    pub device: String,
    /// First file, with extension.
    pub filename: String,
    /// `RECORDING`.
    #[schemars(extend("enum" = ["RECORDING"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    #[schemars(extend("enum" = ["fmp4", "mp4", "mkv"]))]
    pub format: String,
    /// Requested seconds, `null` if none.
    pub duration: Option<u64>,
    /// `null` without `duration`.
    #[schemars(extend("format" = "date-time"))]
    pub auto_stop_at: Option<String>,
    pub download_url: String,
}

/// Params of `stop_recording`.
pub type StopRecordingParams = DeviceParams;

/// Result of `stop_recording`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StopRecordingResult {
    pub device: String,
    /// First file of the recording.
    pub filename: String,
    /// `STOPPED`.
    #[schemars(extend("enum" = ["STOPPED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    #[schemars(extend("format" = "date-time"))]
    pub end_time: String,
    /// `end_time − start_time`, rounded to the nearest second.
    pub duration: u64,
    /// Total bytes of all files.
    pub file_size: u64,
    #[schemars(extend("enum" = ["fmp4", "mp4", "mkv"]))]
    pub format: String,
    /// All segment files, oldest first.
    pub files: Vec<String>,
}
