//! Files (API.md §4.4): listing, describing and deleting recordings and snapshots.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Params of `list_recordings` and `list_snapshots`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ListFilesParams {
    /// 1..1000 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// ≥ 0 (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Only files of this camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// Params of `list_recordings`.
pub type ListRecordingsParams = ListFilesParams;
/// Params of `list_snapshots`.
pub type ListSnapshotsParams = ListFilesParams;

/// Params of the methods that take only a file name.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FilenameParams {
    pub filename: String,
}

/// Params of `get_recording_info`.
pub type GetRecordingInfoParams = FilenameParams;
/// Params of `get_snapshot_info`.
pub type GetSnapshotInfoParams = FilenameParams;
/// Params of `delete_recording`.
pub type DeleteRecordingParams = FilenameParams;
/// Params of `delete_snapshot`.
pub type DeleteSnapshotParams = FilenameParams;

/// One recording file (`list_recordings` item, `get_recording_info` result).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingFile {
    pub filename: String,
    pub file_size: u64,
    #[schemars(extend("format" = "date-time"))]
    pub created_time: String,
    #[schemars(extend("format" = "date-time"))]
    pub modified_time: String,
    /// Seconds (elapsed so far when `in_progress`; 0 if unknown).
    pub duration: u64,
    /// Requested format of the recording: `fmp4`, `mp4` or `mkv`.
    pub format: String,
    pub device: String,
    /// A segment still being written.
    pub in_progress: bool,
    pub download_url: String,
}

/// One snapshot file (`list_snapshots` item).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    pub filename: String,
    pub file_size: u64,
    #[schemars(extend("format" = "date-time"))]
    pub created_time: String,
    #[schemars(extend("format" = "date-time"))]
    pub modified_time: String,
    /// `jpg` or `png`.
    pub format: String,
    pub device: String,
    pub download_url: String,
}

/// Result of `list_recordings`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ListRecordingsResult {
    /// Newest first.
    pub files: Vec<RecordingFile>,
    /// Matching files ignoring pagination.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// Result of `list_snapshots`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ListSnapshotsResult {
    /// Newest first.
    pub files: Vec<SnapshotFile>,
    /// Matching files ignoring pagination.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// Result of `get_recording_info`.
pub type GetRecordingInfoResult = RecordingFile;

/// Result of `get_snapshot_info`: a `list_snapshots` item plus `resolution`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetSnapshotInfoResult {
    #[serde(flatten)]
    pub file: SnapshotFile,
    /// `"WxH"`.
    pub resolution: String,
}

/// Result of `delete_recording` and `delete_snapshot`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct DeleteFileResult {
    pub filename: String,
    /// Always `true`.
    pub deleted: bool,
    pub message: String,
}

/// Result of `delete_recording`.
pub type DeleteRecordingResult = DeleteFileResult;
/// Result of `delete_snapshot`.
pub type DeleteSnapshotResult = DeleteFileResult;
