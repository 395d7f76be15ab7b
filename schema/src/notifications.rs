//! Server-to-client notifications (API.md §5): one payload struct per notification method, each with the
//! `timestamp` of the event, and the table of every notification method (legacy names and topics).

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::types::{Camera, GetStatusResult, StreamItem};

/// `camera_status_update` (legacy): the camera object + `timestamp`; `removed: true` when an external stream
/// was removed.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CameraStatusUpdate {
    #[serde(flatten)]
    pub camera: Camera,
    /// Present (`true`) only when an external stream was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `recording_status_update` (legacy).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingStatusUpdate {
    pub device: String,
    /// `STARTING`, `RECORDING`, `STOPPED` or `ERROR`.
    #[schemars(extend("enum" = ["STARTING", "RECORDING", "STOPPED", "ERROR"]))]
    pub status: String,
    /// First file of the recording.
    pub filename: Option<String>,
    pub format: String,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: Option<String>,
    /// Seconds recorded so far (0 at start, total at stop).
    pub duration: u64,
    /// Bytes so far (0 at start).
    pub file_size: u64,
    /// `null` for `RECORDING`/`STARTING`; for `STOPPED`: `requested`, `duration_elapsed`, `shutdown`,
    /// `interrupted`; for `ERROR`: `device_disconnected`, `storage_full`, `pipeline_failed`,
    /// `mediamtx_unavailable`.
    pub reason: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `system_health_update` (legacy) and `system.health`: the `get_status` result + `readiness` +
/// `timestamp`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct SystemHealthUpdate {
    #[serde(flatten)]
    pub status: GetStatusResult,
    /// `get_system_status.status`: `starting`, `ready` or `partial`.
    #[schemars(extend("enum" = ["starting", "ready", "partial"]))]
    pub readiness: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `system.health`: same payload as `system_health_update`.
pub type SystemHealth = SystemHealthUpdate;

/// `camera.connected`: the camera object + `timestamp`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CameraConnected {
    #[serde(flatten)]
    pub camera: Camera,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `camera.disconnected`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CameraDisconnected {
    pub device: String,
    pub name: String,
    /// `DISCONNECTED`.
    #[schemars(extend("enum" = ["DISCONNECTED"]))]
    pub status: String,
    /// The camera was an external stream that was removed.
    pub removed: bool,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `camera.status_change`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CameraStatusChange {
    pub device: String,
    pub name: String,
    #[schemars(extend("enum" = ["CONNECTED", "DISCONNECTED", "ERROR"]))]
    pub old_status: String,
    #[schemars(extend("enum" = ["CONNECTED", "DISCONNECTED", "ERROR"]))]
    pub new_status: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `camera.capability_detected`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CameraCapabilityDetected {
    pub device: String,
    pub formats: Vec<String>,
    pub resolutions: Vec<String>,
    pub fps_options: Vec<u32>,
    #[schemars(extend("enum" = ["CONFIRMED", "NONE", "DISCONNECTED"]))]
    pub validation_status: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `camera.capability_error`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CameraCapabilityError {
    pub device: String,
    pub reason: String,
    pub message: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `recording.start`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingStart {
    pub device: String,
    pub filename: String,
    pub format: String,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    /// Requested seconds, `null` if open-ended.
    pub duration: Option<u64>,
    #[schemars(extend("format" = "date-time"))]
    pub auto_stop_at: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `recording.stop`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingStop {
    pub device: String,
    pub filename: String,
    /// All segment files, oldest first.
    pub files: Vec<String>,
    #[schemars(extend("format" = "date-time"))]
    pub start_time: String,
    #[schemars(extend("format" = "date-time"))]
    pub end_time: String,
    pub duration: u64,
    pub file_size: u64,
    pub format: String,
    /// `requested`, `duration_elapsed`, `shutdown`, `interrupted` or `storage_full`.
    pub reason: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `recording.progress` (every 10 s while recording).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingProgress {
    pub device: String,
    pub filename: String,
    /// Seconds recorded so far.
    pub elapsed: u64,
    pub file_size: u64,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `recording.segment` (a new segment file was started).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingSegment {
    pub device: String,
    /// The new segment.
    pub filename: String,
    /// The segment before it.
    pub previous: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `recording.error`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RecordingError {
    pub device: String,
    pub filename: Option<String>,
    /// `device_disconnected`, `storage_full`, `pipeline_failed` or `mediamtx_unavailable`.
    pub reason: String,
    pub message: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `snapshot.taken`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotTaken {
    pub device: String,
    pub filename: String,
    pub file_size: u64,
    pub format: String,
    pub resolution: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `snapshot.error`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError {
    pub device: String,
    pub reason: String,
    pub message: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `file.deleted`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct FileDeleted {
    /// `recording` or `snapshot`.
    #[schemars(extend("enum" = ["recording", "snapshot"]))]
    pub kind: String,
    pub filename: String,
    pub device: String,
    /// `api` or `retention`.
    #[schemars(extend("enum" = ["api", "retention"]))]
    pub reason: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `storage.warning` (threshold crossings).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct StorageWarning {
    pub usage_percentage: f64,
    pub available_space: u64,
    /// `warn`, `block` or `ok`.
    #[schemars(extend("enum" = ["warn", "block", "ok"]))]
    pub level: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `storage.cleanup`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct StorageCleanup {
    /// `scheduled`, `manual` or `floor`.
    #[schemars(extend("enum" = ["scheduled", "manual", "floor"]))]
    pub trigger: String,
    pub files_deleted: u64,
    pub space_freed: u64,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `system.error`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SystemError {
    pub component: String,
    pub reason: String,
    pub message: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `system.startup` (the service became ready).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SystemStartup {
    pub version: String,
    pub api_version: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `system.shutdown` (before connections are closed with 1001).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct SystemShutdown {
    pub reason: String,
    pub grace_seconds: u64,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `mediamtx.stream_started`, `mediamtx.stream_stopped`, `mediamtx.path`, `mediamtx.stream`: a
/// `get_streams` item + `timestamp`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct MediamtxStreamEvent {
    #[serde(flatten)]
    pub stream: StreamItem,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// `mediamtx.error`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct MediamtxError {
    pub reason: String,
    pub message: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
}

/// One notification method sent by the server.
#[derive(Debug)]
pub struct NotificationSpec {
    /// The notification `method` (topic or legacy name).
    pub name: &'static str,
    /// When it is sent.
    pub summary: &'static str,
    /// Legacy notification (§5.2) rather than a topic (§5.3).
    pub legacy: bool,
    /// JSON Schema of `params`.
    pub params_schema: fn(&mut SchemaGenerator) -> Schema,
}

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

const fn n(
    name: &'static str,
    legacy: bool,
    summary: &'static str,
    params_schema: fn(&mut SchemaGenerator) -> Schema,
) -> NotificationSpec {
    NotificationSpec {
        name,
        summary,
        legacy,
        params_schema,
    }
}

/// Every notification method: the legacy names of §5.2 and the topics of §5.3, in documentation order.
pub static NOTIFICATIONS: &[NotificationSpec] = &[
    n(
        "camera_status_update",
        true,
        "A camera appeared, disappeared, or changed status, name or mode.",
        schema_of::<CameraStatusUpdate>,
    ),
    n(
        "recording_status_update",
        true,
        "A recording started, stopped or failed.",
        schema_of::<RecordingStatusUpdate>,
    ),
    n(
        "system_health_update",
        true,
        "get_status.status or a component changed (at most one per 5 s).",
        schema_of::<SystemHealthUpdate>,
    ),
    n(
        "camera.connected",
        false,
        "A camera became available.",
        schema_of::<CameraConnected>,
    ),
    n(
        "camera.disconnected",
        false,
        "A camera disappeared or was removed.",
        schema_of::<CameraDisconnected>,
    ),
    n(
        "camera.status_change",
        false,
        "A camera's status changed.",
        schema_of::<CameraStatusChange>,
    ),
    n(
        "camera.capability_detected",
        false,
        "A camera's capabilities were probed.",
        schema_of::<CameraCapabilityDetected>,
    ),
    n(
        "camera.capability_error",
        false,
        "Probing a camera's capabilities failed.",
        schema_of::<CameraCapabilityError>,
    ),
    n(
        "recording.start",
        false,
        "A recording started.",
        schema_of::<RecordingStart>,
    ),
    n(
        "recording.stop",
        false,
        "A recording stopped.",
        schema_of::<RecordingStop>,
    ),
    n(
        "recording.progress",
        false,
        "Recording progress, every 10 s while recording.",
        schema_of::<RecordingProgress>,
    ),
    n(
        "recording.segment",
        false,
        "A new segment file was started.",
        schema_of::<RecordingSegment>,
    ),
    n(
        "recording.error",
        false,
        "A recording failed.",
        schema_of::<RecordingError>,
    ),
    n(
        "snapshot.taken",
        false,
        "A snapshot was written.",
        schema_of::<SnapshotTaken>,
    ),
    n(
        "snapshot.error",
        false,
        "A snapshot failed.",
        schema_of::<SnapshotError>,
    ),
    n(
        "file.deleted",
        false,
        "A recording or snapshot file was deleted.",
        schema_of::<FileDeleted>,
    ),
    n(
        "storage.warning",
        false,
        "Storage usage crossed a threshold.",
        schema_of::<StorageWarning>,
    ),
    n(
        "storage.cleanup",
        false,
        "A retention run deleted files.",
        schema_of::<StorageCleanup>,
    ),
    n(
        "system.health",
        false,
        "Same as system_health_update.",
        schema_of::<SystemHealth>,
    ),
    n(
        "system.error",
        false,
        "A component reported an error.",
        schema_of::<SystemError>,
    ),
    n(
        "system.startup",
        false,
        "The service became ready.",
        schema_of::<SystemStartup>,
    ),
    n(
        "system.shutdown",
        false,
        "The service is shutting down; connections close with 1001.",
        schema_of::<SystemShutdown>,
    ),
    n(
        "mediamtx.stream_started",
        false,
        "A path's publisher came online.",
        schema_of::<MediamtxStreamEvent>,
    ),
    n(
        "mediamtx.stream_stopped",
        false,
        "A path's publisher went offline.",
        schema_of::<MediamtxStreamEvent>,
    ),
    n(
        "mediamtx.path",
        false,
        "A path's state changed.",
        schema_of::<MediamtxStreamEvent>,
    ),
    n(
        "mediamtx.stream",
        false,
        "A path's reader count changed.",
        schema_of::<MediamtxStreamEvent>,
    ),
    n(
        "mediamtx.error",
        false,
        "MediaMTX is unreachable, restarted, or rejected a change.",
        schema_of::<MediamtxError>,
    ),
];

/// The notification named `name`.
pub fn notification(name: &str) -> Option<&'static NotificationSpec> {
    NOTIFICATIONS.iter().find(|n| n.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::{LEGACY_TOPICS, TOPICS};

    #[test]
    fn table_covers_every_topic_and_legacy_name() {
        let names: Vec<_> = NOTIFICATIONS.iter().map(|n| n.name).collect();
        let expected: Vec<_> = LEGACY_TOPICS.iter().chain(TOPICS).copied().collect();
        assert_eq!(names, expected);
        for n in NOTIFICATIONS {
            assert_eq!(n.legacy, LEGACY_TOPICS.contains(&n.name));
        }
    }

    #[test]
    fn every_payload_has_a_timestamp() {
        let mut g = SchemaGenerator::default();
        for n in NOTIFICATIONS {
            let schema = (n.params_schema)(&mut g);
            let reference = schema
                .get("$ref")
                .and_then(|r| r.as_str())
                .and_then(|r| r.rsplit('/').next())
                .map(str::to_owned);
            let defs = g.definitions();
            let body = reference.and_then(|r| defs.get(&r));
            let required = body.and_then(|b| b.get("required")).and_then(|r| r.as_array());
            assert!(
                required.is_some_and(|r| r.iter().any(|f| f == "timestamp")),
                "{}",
                n.name
            );
        }
    }
}
