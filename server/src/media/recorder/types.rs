//! The recorder's vocabulary: requested formats, why recordings end, what the methods return, and their wire
//! (camera-api) conversions. Plain data; no behaviour beyond naming.

use serde::Serialize;

/// A recording container as requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingFormat {
    Fmp4,
    Mp4,
    Mkv,
}

impl RecordingFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fmp4" => Some(RecordingFormat::Fmp4),
            "mp4" => Some(RecordingFormat::Mp4),
            "mkv" => Some(RecordingFormat::Mkv),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingFormat::Fmp4 => "fmp4",
            RecordingFormat::Mp4 => "mp4",
            RecordingFormat::Mkv => "mkv",
        }
    }
    /// File extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            RecordingFormat::Fmp4 | RecordingFormat::Mp4 => "mp4",
            RecordingFormat::Mkv => "mkv",
        }
    }
    /// The format a recording file most likely has when nothing else is known about it.
    pub fn guess_from_filename(name: &str) -> Option<Self> {
        match name.rsplit_once('.')?.1 {
            "mp4" => Some(RecordingFormat::Fmp4),
            "mkv" => Some(RecordingFormat::Mkv),
            _ => None,
        }
    }
}

/// Why a recording stopped (`reason` of `STOPPED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    Requested,
    DurationElapsed,
    Shutdown,
    Interrupted,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Requested => "requested",
            StopReason::DurationElapsed => "duration_elapsed",
            StopReason::Shutdown => "shutdown",
            StopReason::Interrupted => "interrupted",
        }
    }
}

/// Why a recording failed (`reason` of `ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    DeviceDisconnected,
    StorageFull,
    PipelineFailed,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::DeviceDisconnected => "device_disconnected",
            FailReason::StorageFull => "storage_full",
            FailReason::PipelineFailed => "pipeline_failed",
        }
    }
}

/// What the caller asked for (already validated against the contract).
#[derive(Clone, Debug, Default)]
pub struct StartRequest {
    pub device: String,
    /// Seconds, 1..86400.
    pub duration: Option<u64>,
    pub format: Option<String>,
}

/// The `start_recording` result.
#[derive(Clone, Debug, Serialize)]
pub struct StartResult {
    pub device: String,
    pub filename: String,
    pub status: &'static str,
    pub start_time: String,
    pub format: RecordingFormat,
    pub duration: Option<u64>,
    pub auto_stop_at: Option<String>,
    pub download_url: String,
}

/// The `stop_recording` result (also the payload of `recording.stop`, minus `reason`).
#[derive(Clone, Debug, Serialize)]
pub struct StopResult {
    pub device: String,
    pub filename: String,
    pub status: &'static str,
    pub start_time: String,
    pub end_time: String,
    pub duration: u64,
    pub file_size: u64,
    pub format: RecordingFormat,
    pub files: Vec<String>,
}

/// The `recording` object of `get_camera_status`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RecordingStatus {
    pub active: bool,
    pub filename: Option<String>,
    pub start_time: Option<String>,
    pub auto_stop_at: Option<String>,
}

// ---- wire conversions (camera-api contract types) ----

impl From<StartResult> for camera_api::types::StartRecordingResult {
    fn from(r: StartResult) -> Self {
        camera_api::types::StartRecordingResult {
            device: r.device,
            filename: r.filename,
            status: r.status.to_owned(),
            start_time: r.start_time,
            format: r.format.as_str().to_owned(),
            duration: r.duration,
            auto_stop_at: r.auto_stop_at,
            download_url: r.download_url,
        }
    }
}

impl From<StopResult> for camera_api::types::StopRecordingResult {
    fn from(r: StopResult) -> Self {
        camera_api::types::StopRecordingResult {
            device: r.device,
            filename: r.filename,
            status: r.status.to_owned(),
            start_time: r.start_time,
            end_time: r.end_time,
            duration: r.duration,
            file_size: r.file_size,
            format: r.format.as_str().to_owned(),
            files: r.files,
        }
    }
}

impl From<RecordingStatus> for camera_api::types::RecordingState {
    fn from(r: RecordingStatus) -> Self {
        camera_api::types::RecordingState {
            active: r.active,
            filename: r.filename,
            start_time: r.start_time,
            auto_stop_at: r.auto_stop_at,
        }
    }
}
