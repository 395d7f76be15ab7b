//! External streams and network cameras (API.md §4.9): discovery, adding, removing and listing RTSP streams,
//! and the discovery interval.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoParams;

/// `capabilities` of an external stream item.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ExternalStreamCapabilities {
    /// `rtsp`.
    pub protocol: String,
    /// `stanag4609` or `unknown`.
    #[schemars(extend("enum" = ["stanag4609", "unknown"]))]
    pub format: String,
    /// `skydio_uav` or `generic`.
    #[schemars(extend("enum" = ["skydio_uav", "generic"]))]
    pub source: String,
    /// `eo`, `ir` or `generic`.
    #[schemars(extend("enum" = ["eo", "ir", "generic"]))]
    pub stream_type: String,
    pub port: u16,
    pub stream_path: String,
    pub codec: Option<String>,
    pub metadata: Option<String>,
}

/// External stream item (discovery and listing).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ExternalStream {
    /// RTSP URL; a password is shown as `***`.
    pub url: String,
    /// `skydio_stanag4609` or `generic_rtsp`.
    #[schemars(extend("enum" = ["skydio_stanag4609", "generic_rtsp"]))]
    pub r#type: String,
    pub name: String,
    /// `DISCOVERED`, `ADDED`, `OFFLINE` or `ERROR`.
    #[schemars(extend("enum" = ["DISCOVERED", "ADDED", "OFFLINE", "ERROR"]))]
    pub status: String,
    /// Camera id when added, else `null`.
    pub device: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub discovered_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub last_seen: String,
    pub capabilities: ExternalStreamCapabilities,
}

/// Params of `discover_external_streams`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct DiscoverExternalStreamsParams {
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skydio_enabled: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_enabled: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_rescan: Option<bool>,
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_offline: Option<bool>,
}

/// The options a discovery ran with (`discovery_options`).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DiscoveryOptions {
    pub skydio_enabled: bool,
    pub generic_enabled: bool,
    pub force_rescan: bool,
    pub include_offline: bool,
}

/// Result of `discover_external_streams`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct DiscoverExternalStreamsResult {
    pub discovered_streams: Vec<ExternalStream>,
    pub skydio_streams: Vec<ExternalStream>,
    pub generic_streams: Vec<ExternalStream>,
    #[schemars(extend("format" = "date-time"))]
    pub scan_timestamp: String,
    pub total_found: u64,
    pub discovery_options: DiscoveryOptions,
    /// Duration string such as `"2.5s"`.
    pub scan_duration: String,
    pub scan_duration_ms: u64,
    /// Problems of the scan (e.g. cut short by the scan timeout).
    pub errors: Vec<String>,
}

/// Params of `add_external_stream`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddExternalStreamParams {
    pub stream_url: String,
    pub stream_name: String,
    /// `generic_rtsp` (default) or `skydio_stanag4609`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["generic_rtsp", "skydio_stanag4609", null]))]
    pub stream_type: Option<String>,
    /// Camera id to use (default derived from `stream_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// Result of `add_external_stream`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct AddExternalStreamResult {
    pub stream_url: String,
    pub stream_name: String,
    #[schemars(extend("enum" = ["generic_rtsp", "skydio_stanag4609"]))]
    pub stream_type: String,
    /// Camera id of the new network camera.
    pub device: String,
    /// `ADDED`.
    #[schemars(extend("enum" = ["ADDED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// Params of `remove_external_stream`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RemoveExternalStreamParams {
    pub stream_url: String,
}

/// Result of `remove_external_stream`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RemoveExternalStreamResult {
    pub stream_url: String,
    pub device: String,
    /// `REMOVED`.
    #[schemars(extend("enum" = ["REMOVED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// Params of `get_external_streams`.
pub type GetExternalStreamsParams = NoParams;

/// Result of `get_external_streams`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetExternalStreamsResult {
    pub external_streams: Vec<ExternalStream>,
    pub skydio_streams: Vec<ExternalStream>,
    pub generic_streams: Vec<ExternalStream>,
    /// Length of `external_streams`.
    pub total_count: u64,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// Params of `set_discovery_interval`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SetDiscoveryIntervalParams {
    /// 0 (on demand only) or 10..86400 seconds.
    pub scan_interval: u32,
}

/// Result of `set_discovery_interval`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SetDiscoveryIntervalResult {
    pub scan_interval: u32,
    /// `UPDATED`.
    #[schemars(extend("enum" = ["UPDATED"]))]
    pub status: String,
    pub message: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}
