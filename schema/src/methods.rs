//! The one table of JSON-RPC methods (API.md §3.5 and §4): name, minimum role, readiness gate,
//! WebSocket-only flag, param rules, method-specific errors and result schema. The server dispatches on it,
//! `validate` checks params against it and `openrpc` publishes it.

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::error::{ErrorCode, reason};
use crate::role::Role;
use crate::types as t;

/// One contract method.
#[derive(Debug)]
pub struct MethodSpec {
    /// Wire method name.
    pub name: &'static str,
    /// One-line description.
    pub summary: &'static str,
    /// Minimum role; `None` = callable without authentication (`ping`, `authenticate`, `rpc.discover`).
    pub min_role: Option<Role>,
    /// Subject to the readiness gate: -32050 `service_initializing` until the first discovery scan ("G").
    pub gated: bool,
    /// WebSocket only: over `POST /rpc` → -32030 `requires_websocket` ("WS").
    pub websocket_only: bool,
    /// Unknown param keys are ignored instead of rejected (`ping`, `rpc.discover`).
    pub ignores_unknown_params: bool,
    /// Accepted params, in documentation order.
    pub params: &'static [ParamSpec],
    /// Method-specific errors of §4 (the common ones of §4.0 are not repeated).
    pub errors: &'static [(ErrorCode, &'static str)],
    /// JSON Schema of the result.
    pub result_schema: fn(&mut SchemaGenerator) -> Schema,
}

impl MethodSpec {
    /// The param named `name`.
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether a caller with `role` (None = unauthenticated) may call this method.
    pub fn allows(&self, role: Option<Role>) -> bool {
        match (self.min_role, role) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(min), Some(have)) => have >= min,
        }
    }
}

/// One param of a method (or a key of a nested object param).
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Wire name.
    pub name: &'static str,
    /// Required (missing → `missing_param`).
    pub required: bool,
    /// Type and validation rule.
    pub kind: ParamKind,
    /// Human description, including the default when optional.
    pub description: &'static str,
}

/// Type and validation rule of a param.
#[derive(Clone, Copy, Debug)]
pub enum ParamKind {
    /// JSON integer, or a float with an integral value (`60.0`, normalised to `60`); fractional numbers and
    /// other types → `invalid_type`; outside `min..=max` → `out_of_range`.
    Int { min: i64, max: i64 },
    /// Any JSON number in `min..=max` (or `min < x` when `min_exclusive`); else `out_of_range`.
    Number { min: f64, max: f64, min_exclusive: bool },
    /// JSON boolean.
    Bool,
    /// String. Length counted in characters: above `max_len` → `too_long`, below `min_len` →
    /// `invalid_value`. For the self-delimiting formats (`CameraId`, `Filename`, `KeyId`) the length is
    /// part of the format and a violation gives the format's reason instead.
    Str {
        min_len: usize,
        max_len: usize,
        format: StrFormat,
    },
    /// String from a closed set; another string → `invalid_value` with `data.allowed`.
    Enum(&'static [&'static str]),
    /// Array of strings with `min_items..=max_items` entries (else `invalid_value`), each of format `item`.
    StrList {
        min_items: usize,
        max_items: usize,
        item: StrFormat,
    },
    /// Nested object; unknown keys → `unknown_param` with a dotted name (`filters.x`).
    Object(&'static [ParamSpec]),
}

/// Format rule of a string param and the reason used when it is violated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrFormat {
    /// No rule.
    Any,
    /// No control characters → else `invalid_value`.
    Printable,
    /// `^[a-z0-9_]{1,64}$` → else `invalid_device`.
    CameraId,
    /// `^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$` and no `..` → else `invalid_filename`.
    Filename,
    /// `rtsp://` or `rtsps://` with a host, no whitespace → else `invalid_url`.
    RtspUrl,
    /// RFC 3339 with offset → else `invalid_timestamp`.
    Timestamp,
    /// `^k_[0-9a-f]{12}$` → else `invalid_value`.
    KeyId,
    /// A topic, legacy name or alias of §5.3 → else `invalid_topic` with `data.valid_topics`.
    Topic,
}

impl StrFormat {
    /// The JSON Schema `pattern` equivalent of the format, where one exists.
    pub fn pattern(self) -> Option<&'static str> {
        match self {
            StrFormat::CameraId => Some("^[a-z0-9_]{1,64}$"),
            StrFormat::Filename => Some("^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"),
            StrFormat::RtspUrl => Some("^[rR][tT][sS][pP][sS]?://[^\\s]+$"),
            StrFormat::KeyId => Some("^k_[0-9a-f]{12}$"),
            StrFormat::Any | StrFormat::Printable | StrFormat::Timestamp | StrFormat::Topic => None,
        }
    }

    /// The reason tag used when a value violates the format.
    pub fn reason(self) -> &'static str {
        match self {
            StrFormat::Any | StrFormat::Printable | StrFormat::KeyId => reason::INVALID_VALUE,
            StrFormat::CameraId => reason::INVALID_DEVICE,
            StrFormat::Filename => reason::INVALID_FILENAME,
            StrFormat::RtspUrl => reason::INVALID_URL,
            StrFormat::Timestamp => reason::INVALID_TIMESTAMP,
            StrFormat::Topic => reason::INVALID_TOPIC,
        }
    }

    /// Whether `s` satisfies the format.
    pub fn check(self, s: &str) -> bool {
        match self {
            StrFormat::Any => true,
            StrFormat::Printable => !s.chars().any(char::is_control),
            StrFormat::CameraId => is_valid_camera_id(s),
            StrFormat::Filename => is_valid_filename(s),
            StrFormat::RtspUrl => is_valid_rtsp_url(s),
            StrFormat::Timestamp => crate::timestamp::is_rfc3339(s),
            StrFormat::KeyId => is_valid_key_id(s),
            StrFormat::Topic => crate::topics::canonical_topic(s).is_some(),
        }
    }

    /// Whether the format fixes the length itself (so length violations use the format's reason).
    pub fn bounds_length(self) -> bool {
        matches!(self, StrFormat::CameraId | StrFormat::Filename | StrFormat::KeyId)
    }
}

/// `^[a-z0-9_]{1,64}$`.
pub fn is_valid_camera_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// `^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$` and no `..`.
pub fn is_valid_filename(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=255).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        && !s.contains("..")
}

/// `^k_[0-9a-f]{12}$`.
pub fn is_valid_key_id(s: &str) -> bool {
    s.len() == 14
        && s.starts_with("k_")
        && s.bytes()
            .skip(2)
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// `rtsp://` or `rtsps://` (scheme case-insensitive) with a non-empty host, an optional numeric port
/// ≤ 65535, and no whitespace or control characters anywhere.
pub fn is_valid_rtsp_url(s: &str) -> bool {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower_prefix: String = s.chars().take(8).collect::<String>().to_ascii_lowercase();
    let rest = if lower_prefix.starts_with("rtsps://") {
        &s[8..]
    } else if lower_prefix.starts_with("rtsp://") {
        &s[7..]
    } else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, after)) => match after {
                "" => (h, None),
                _ => match after.strip_prefix(':') {
                    Some(p) => (h, Some(p)),
                    None => return false,
                },
            },
            None => return false,
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() || host.contains(['[', ']']) {
        return false;
    }
    match port {
        None => true,
        Some(p) => !p.is_empty() && p.len() <= 5 && p.parse::<u32>().is_ok_and(|n| n <= 65_535),
    }
}

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// The method named `name`.
pub fn method(name: &str) -> Option<&'static MethodSpec> {
    METHODS.iter().find(|m| m.name == name)
}

// ---- shared param rules -------------------------------------------------------------------------

const ROLES: &[&str] = &["viewer", "operator", "admin"];

const fn device(required: bool, description: &'static str) -> ParamSpec {
    ParamSpec {
        name: "device",
        required,
        kind: ParamKind::Str {
            min_len: 1,
            max_len: 64,
            format: StrFormat::CameraId,
        },
        description,
    }
}

const DEVICE: ParamSpec = device(true, "Camera id (`^[a-z0-9_]{1,64}$`).");

const fn filename(required: bool, description: &'static str) -> ParamSpec {
    ParamSpec {
        name: "filename",
        required,
        kind: ParamKind::Str {
            min_len: 1,
            max_len: 255,
            format: StrFormat::Filename,
        },
        description,
    }
}

const FILENAME: ParamSpec = filename(true, "Bare file name (`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`, no `..`).");

const LIMIT: ParamSpec = ParamSpec {
    name: "limit",
    required: false,
    kind: ParamKind::Int { min: 1, max: 1000 },
    description: "Page size (default 50).",
};

const OFFSET: ParamSpec = ParamSpec {
    name: "offset",
    required: false,
    kind: ParamKind::Int { min: 0, max: i64::MAX },
    description: "Items to skip (default 0).",
};

const fn boolean(name: &'static str, required: bool, description: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required,
        kind: ParamKind::Bool,
        description,
    }
}

const fn int(name: &'static str, required: bool, min: i64, max: i64, description: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        required,
        kind: ParamKind::Int { min, max },
        description,
    }
}

const fn enumeration(
    name: &'static str,
    required: bool,
    values: &'static [&'static str],
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        required,
        kind: ParamKind::Enum(values),
        description,
    }
}

const TOPIC_LIST: ParamKind = ParamKind::StrList {
    min_items: 1,
    max_items: 64,
    item: StrFormat::Topic,
};

const STREAM_URL: ParamSpec = ParamSpec {
    name: "stream_url",
    required: true,
    kind: ParamKind::Str {
        min_len: 1,
        max_len: 2048,
        format: StrFormat::RtspUrl,
    },
    description: "RTSP URL (`rtsp://` or `rtsps://` with a host, no whitespace, at most 2048 characters).",
};

const EVENT_FILTERS: &[ParamSpec] = &[
    device(false, "Deliver only events whose `device` equals this camera id."),
    ParamSpec {
        name: "topic",
        required: false,
        kind: ParamKind::Str {
            min_len: 1,
            max_len: 128,
            format: StrFormat::Any,
        },
        description: "Deliver only topics equal to this or starting with it followed by `.` (e.g. `camera`).",
    },
    ParamSpec {
        name: "timestamp_after",
        required: false,
        kind: ParamKind::Str {
            min_len: 1,
            max_len: 64,
            format: StrFormat::Timestamp,
        },
        description: "RFC 3339; deliver only events strictly later.",
    },
    ParamSpec {
        name: "timestamp_before",
        required: false,
        kind: ParamKind::Str {
            min_len: 1,
            max_len: 64,
            format: StrFormat::Timestamp,
        },
        description: "RFC 3339; deliver only events strictly earlier (must be after `timestamp_after`).",
    },
];

// ---- shared error lists --------------------------------------------------------------------------

const E_CAMERA: (ErrorCode, &str) = (ErrorCode::NotFound, reason::CAMERA_NOT_FOUND);

/// Every contract method of API.md §4, in documentation order.
pub static METHODS: &[MethodSpec] = &[
    // ---- §4.1 session and meta
    MethodSpec {
        name: "ping",
        summary: "Application-level heartbeat; returns \"pong\".",
        min_role: None,
        gated: false,
        websocket_only: false,
        ignores_unknown_params: true,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::PingResult>,
    },
    MethodSpec {
        name: "authenticate",
        summary: "Authenticate the connection with a JWT or an API key.",
        min_role: None,
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[ParamSpec {
            name: "auth_token",
            required: true,
            kind: ParamKind::Str {
                min_len: 1,
                max_len: 8192,
                format: StrFormat::Any,
            },
            description: "A JWT (HS256) or an API key (`csk_…`).",
        }],
        errors: &[
            (ErrorCode::AuthFailed, reason::AUTH_FAILED),
            (ErrorCode::AuthFailed, reason::TOKEN_EXPIRED),
            (ErrorCode::AuthFailed, reason::CREDENTIAL_REVOKED),
            (ErrorCode::RateLimited, reason::AUTH_RATE_LIMITED),
        ],
        result_schema: schema_of::<t::AuthenticateResult>,
    },
    MethodSpec {
        name: "rpc.discover",
        summary: "Return the OpenRPC document of this API.",
        min_role: None,
        gated: false,
        websocket_only: false,
        ignores_unknown_params: true,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::RpcDiscoverResult>,
    },
    MethodSpec {
        name: "issue_token",
        summary: "Mint a JWT for the caller's own identity with a role not above the caller's.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            int(
                "ttl_seconds",
                false,
                60,
                86_400,
                "Requested lifetime in seconds (default 3600); capped by the caller's own expiry.",
            ),
            enumeration(
                "role",
                false,
                ROLES,
                "Role of the token (default: the caller's role); must not exceed the caller's role.",
            ),
        ],
        errors: &[(ErrorCode::PermissionDenied, reason::ROLE_EXCEEDS_CALLER)],
        result_schema: schema_of::<t::IssueTokenResult>,
    },
    MethodSpec {
        name: "get_download_url",
        summary: "Issue a short-lived download token and URL for one recording or snapshot.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            enumeration("kind", true, &["recording", "snapshot"], "File kind."),
            FILENAME,
        ],
        errors: &[
            (ErrorCode::NotFound, reason::RECORDING_NOT_FOUND),
            (ErrorCode::NotFound, reason::SNAPSHOT_NOT_FOUND),
        ],
        result_schema: schema_of::<t::GetDownloadUrlResult>,
    },
    // ---- §4.2 cameras
    MethodSpec {
        name: "get_camera_list",
        summary: "List every known camera, sorted by id in natural order.",
        min_role: Some(Role::Viewer),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetCameraListResult>,
    },
    MethodSpec {
        name: "get_camera_status",
        summary: "Status, stream metrics, capabilities and recording state of one camera.",
        min_role: Some(Role::Viewer),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[E_CAMERA],
        result_schema: schema_of::<t::GetCameraStatusResult>,
    },
    MethodSpec {
        name: "get_camera_capabilities",
        summary: "Formats, resolutions, frame rates and modes of one camera.",
        min_role: Some(Role::Viewer),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[E_CAMERA],
        result_schema: schema_of::<t::GetCameraCapabilitiesResult>,
    },
    // ---- §4.3 snapshots and recording
    MethodSpec {
        name: "take_snapshot",
        summary: "Capture one still image from a camera.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            DEVICE,
            filename(
                false,
                "File name to write (default generated); an existing file is never overwritten.",
            ),
            enumeration(
                "format",
                false,
                &["jpg", "jpeg", "png"],
                "Image format (default `snapshots.format`, `jpg`); `jpeg` = `jpg`.",
            ),
            int(
                "quality",
                false,
                1,
                100,
                "JPEG quality (default `snapshots.quality`, 85); ignored for PNG.",
            ),
            int(
                "max_width",
                false,
                16,
                8192,
                "Scale down to at most this width, keeping the aspect ratio.",
            ),
            int(
                "max_height",
                false,
                16,
                8192,
                "Scale down to at most this height, keeping the aspect ratio.",
            ),
        ],
        errors: &[
            E_CAMERA,
            (ErrorCode::InvalidState, reason::CAMERA_DISCONNECTED),
            (ErrorCode::InvalidState, reason::CAMERA_BUSY),
            (ErrorCode::DependencyFailed, reason::CAPTURE_FAILED),
            (ErrorCode::DependencyFailed, reason::CAPTURE_TIMEOUT),
            (ErrorCode::DependencyFailed, reason::SOURCE_UNREACHABLE),
            (ErrorCode::InsufficientStorage, reason::STORAGE_FULL),
        ],
        result_schema: schema_of::<t::TakeSnapshotResult>,
    },
    MethodSpec {
        name: "start_recording",
        summary: "Start recording a camera, open-ended or for a fixed duration.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            DEVICE,
            int(
                "duration",
                false,
                1,
                86_400,
                "Stop automatically after this many seconds (default: until stopped).",
            ),
            enumeration(
                "format",
                false,
                &["fmp4", "mp4", "mkv"],
                "Container (default `recording.default_format`, `fmp4`).",
            ),
        ],
        errors: &[
            E_CAMERA,
            (ErrorCode::InvalidState, reason::ALREADY_RECORDING),
            (ErrorCode::InvalidState, reason::CAMERA_DISCONNECTED),
            (ErrorCode::Unsupported, reason::FORMAT_UNSUPPORTED),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
            (ErrorCode::DependencyFailed, reason::FFMPEG_FAILED),
            (ErrorCode::DependencyFailed, reason::SOURCE_UNREACHABLE),
            (ErrorCode::DependencyFailed, reason::RECORDING_START_TIMEOUT),
            (ErrorCode::InsufficientStorage, reason::STORAGE_FULL),
        ],
        result_schema: schema_of::<t::StartRecordingResult>,
    },
    MethodSpec {
        name: "stop_recording",
        summary: "Stop the active recording of a camera.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[
            E_CAMERA,
            (ErrorCode::InvalidState, reason::NOT_RECORDING),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
        ],
        result_schema: schema_of::<t::StopRecordingResult>,
    },
    // ---- §4.4 files
    MethodSpec {
        name: "list_recordings",
        summary: "List recording files, newest first.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            LIMIT,
            OFFSET,
            device(false, "Only files of this camera (unknown id → empty list)."),
        ],
        errors: &[],
        result_schema: schema_of::<t::ListRecordingsResult>,
    },
    MethodSpec {
        name: "list_snapshots",
        summary: "List snapshot files, newest first.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            LIMIT,
            OFFSET,
            device(false, "Only files of this camera (unknown id → empty list)."),
        ],
        errors: &[],
        result_schema: schema_of::<t::ListSnapshotsResult>,
    },
    MethodSpec {
        name: "get_recording_info",
        summary: "Describe one recording file.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[FILENAME],
        errors: &[(ErrorCode::NotFound, reason::RECORDING_NOT_FOUND)],
        result_schema: schema_of::<t::GetRecordingInfoResult>,
    },
    MethodSpec {
        name: "get_snapshot_info",
        summary: "Describe one snapshot file.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[FILENAME],
        errors: &[(ErrorCode::NotFound, reason::SNAPSHOT_NOT_FOUND)],
        result_schema: schema_of::<t::GetSnapshotInfoResult>,
    },
    MethodSpec {
        name: "delete_recording",
        summary: "Delete one recording file.",
        min_role: Some(Role::Operator),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[FILENAME],
        errors: &[
            (ErrorCode::NotFound, reason::RECORDING_NOT_FOUND),
            (ErrorCode::InvalidState, reason::FILE_IN_USE),
        ],
        result_schema: schema_of::<t::DeleteRecordingResult>,
    },
    MethodSpec {
        name: "delete_snapshot",
        summary: "Delete one snapshot file.",
        min_role: Some(Role::Operator),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[FILENAME],
        errors: &[(ErrorCode::NotFound, reason::SNAPSHOT_NOT_FOUND)],
        result_schema: schema_of::<t::DeleteSnapshotResult>,
    },
    // ---- §4.5 streaming
    MethodSpec {
        name: "start_streaming",
        summary: "Pin a camera's stream publisher running.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[
            E_CAMERA,
            (ErrorCode::InvalidState, reason::CAMERA_DISCONNECTED),
            (ErrorCode::DependencyFailed, reason::FFMPEG_FAILED),
            (ErrorCode::DependencyFailed, reason::SOURCE_UNREACHABLE),
            (ErrorCode::DependencyFailed, reason::STREAMING_UNAVAILABLE),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
        ],
        result_schema: schema_of::<t::StartStreamingResult>,
    },
    MethodSpec {
        name: "stop_streaming",
        summary: "Unpin a camera's stream publisher; connected viewers are not kicked.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[
            E_CAMERA,
            (ErrorCode::InvalidState, reason::NOT_STREAMING),
            (ErrorCode::DependencyFailed, reason::STREAMING_UNAVAILABLE),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
        ],
        result_schema: schema_of::<t::StopStreamingResult>,
    },
    MethodSpec {
        name: "get_stream_url",
        summary: "Stream URLs and readiness of a camera; starts nothing.",
        min_role: Some(Role::Viewer),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[
            E_CAMERA,
            (ErrorCode::DependencyFailed, reason::STREAMING_UNAVAILABLE),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
        ],
        result_schema: schema_of::<t::GetStreamUrlResult>,
    },
    MethodSpec {
        name: "get_stream_status",
        summary: "Publisher, MediaMTX path and metrics of a camera's stream.",
        min_role: Some(Role::Viewer),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[DEVICE],
        errors: &[
            E_CAMERA,
            (ErrorCode::DependencyFailed, reason::STREAMING_UNAVAILABLE),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
        ],
        result_schema: schema_of::<t::GetStreamStatusResult>,
    },
    MethodSpec {
        name: "get_streams",
        summary: "Every camera path in MediaMTX, sorted by name (an array).",
        min_role: Some(Role::Viewer),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[
            (ErrorCode::DependencyFailed, reason::STREAMING_UNAVAILABLE),
            (ErrorCode::DependencyFailed, reason::MEDIAMTX_UNAVAILABLE),
        ],
        result_schema: schema_of::<t::GetStreamsResult>,
    },
    // ---- §4.6 storage
    MethodSpec {
        name: "get_storage_info",
        summary: "Space figures of the recordings filesystem and media totals.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetStorageInfoResult>,
    },
    MethodSpec {
        name: "set_retention_policy",
        summary: "Configure and persist the retention policy (applies from the next scheduled run).",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            enumeration(
                "policy_type",
                true,
                &["age", "size", "age_and_size", "manual"],
                "Which limits apply.",
            ),
            boolean("enabled", true, "Whether retention runs at all."),
            int(
                "max_age_days",
                false,
                1,
                3650,
                "Delete files older than this (required for `age` / `age_and_size` unless stored).",
            ),
            ParamSpec {
                name: "max_size_gb",
                required: false,
                kind: ParamKind::Number {
                    min: 0.0,
                    max: 1_000_000.0,
                    min_exclusive: true,
                },
                description: "Keep recordings + snapshots within this many GiB (required for `size` / `age_and_size` unless stored).",
            },
            ParamSpec {
                name: "min_free_percent",
                required: false,
                kind: ParamKind::Number {
                    min: 0.0,
                    max: 50.0,
                    min_exclusive: false,
                },
                description: "Free-space floor in percent (stored value, default 10); 0 disables it.",
            },
        ],
        errors: &[],
        result_schema: schema_of::<t::SetRetentionPolicyResult>,
    },
    MethodSpec {
        name: "cleanup_old_files",
        summary: "Run the retention rules now.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            boolean("force", false, "Override the mass-delete guard (default false)."),
            boolean("dry_run", false, "Compute without deleting anything (default false)."),
        ],
        errors: &[
            (ErrorCode::InvalidState, reason::RETENTION_DISABLED),
            (ErrorCode::InvalidState, reason::MASS_DELETE_GUARD),
        ],
        result_schema: schema_of::<t::CleanupOldFilesResult>,
    },
    // ---- §4.7 system
    MethodSpec {
        name: "get_status",
        summary: "Overall health and component states.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetStatusResult>,
    },
    MethodSpec {
        name: "get_system_status",
        summary: "Readiness of the service (never gated).",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetSystemStatusResult>,
    },
    MethodSpec {
        name: "get_server_info",
        summary: "Product and API version, build, backend and capabilities.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetServerInfoResult>,
    },
    MethodSpec {
        name: "get_metrics",
        summary: "System, camera, recording and stream metrics.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetMetricsResult>,
    },
    // ---- §4.8 events
    MethodSpec {
        name: "subscribe_events",
        summary: "Add notification topics (with filters) to this connection.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: true,
        ignores_unknown_params: false,
        params: &[
            ParamSpec {
                name: "topics",
                required: true,
                kind: TOPIC_LIST,
                description: "1..64 topics, legacy names or aliases (§5.3).",
            },
            ParamSpec {
                name: "filters",
                required: false,
                kind: ParamKind::Object(EVENT_FILTERS),
                description: "Filters applied to the topics of this call (default none).",
            },
        ],
        errors: &[(ErrorCode::Unsupported, reason::REQUIRES_WEBSOCKET)],
        result_schema: schema_of::<t::SubscribeEventsResult>,
    },
    MethodSpec {
        name: "unsubscribe_events",
        summary: "Remove notification topics from this connection (all when omitted).",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: true,
        ignores_unknown_params: false,
        params: &[ParamSpec {
            name: "topics",
            required: false,
            kind: TOPIC_LIST,
            description: "1..64 topics to remove; omitted or null removes every subscription.",
        }],
        errors: &[(ErrorCode::Unsupported, reason::REQUIRES_WEBSOCKET)],
        result_schema: schema_of::<t::UnsubscribeEventsResult>,
    },
    MethodSpec {
        name: "get_subscription_stats",
        summary: "Subscription and delivery statistics, global and for this connection.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: true,
        ignores_unknown_params: false,
        params: &[],
        errors: &[(ErrorCode::Unsupported, reason::REQUIRES_WEBSOCKET)],
        result_schema: schema_of::<t::GetSubscriptionStatsResult>,
    },
    // ---- §4.9 external streams
    MethodSpec {
        name: "discover_external_streams",
        summary: "Scan the configured networks for RTSP streams.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            boolean("skydio_enabled", false, "Scan the Skydio UAV profile (default true)."),
            boolean(
                "generic_enabled",
                false,
                "Scan generic RTSP ports and paths (default false).",
            ),
            boolean(
                "force_rescan",
                false,
                "Scan even if a scan finished less than 30 s ago (default false).",
            ),
            boolean(
                "include_offline",
                false,
                "Also list earlier finds not seen now (default false).",
            ),
        ],
        errors: &[(ErrorCode::Unsupported, reason::FEATURE_DISABLED)],
        result_schema: schema_of::<t::DiscoverExternalStreamsResult>,
    },
    MethodSpec {
        name: "add_external_stream",
        summary: "Add an RTSP stream as a persistent network camera.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            STREAM_URL,
            ParamSpec {
                name: "stream_name",
                required: true,
                kind: ParamKind::Str {
                    min_len: 1,
                    max_len: 128,
                    format: StrFormat::Printable,
                },
                description: "Display name, 1..128 printable characters.",
            },
            enumeration(
                "stream_type",
                false,
                &["generic_rtsp", "skydio_stanag4609"],
                "Stream type (default `generic_rtsp`).",
            ),
            device(
                false,
                "Camera id to use (default `ext_` + the sanitised stream name); must be unused.",
            ),
        ],
        errors: &[
            (ErrorCode::InvalidState, reason::STREAM_EXISTS),
            (ErrorCode::InvalidState, reason::DEVICE_EXISTS),
            (ErrorCode::InvalidState, reason::CAMERA_LIMIT_REACHED),
        ],
        result_schema: schema_of::<t::AddExternalStreamResult>,
    },
    MethodSpec {
        name: "remove_external_stream",
        summary: "Remove a network camera added by add_external_stream.",
        min_role: Some(Role::Operator),
        gated: true,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[ParamSpec {
            description: "The stream URL as added, or as shown with `***` for the password.",
            ..STREAM_URL
        }],
        errors: &[
            (ErrorCode::NotFound, reason::EXTERNAL_STREAM_NOT_FOUND),
            (ErrorCode::InvalidState, reason::CAMERA_BUSY),
            (ErrorCode::InvalidState, reason::CONFIGURED_CAMERA),
        ],
        result_schema: schema_of::<t::RemoveExternalStreamResult>,
    },
    MethodSpec {
        name: "get_external_streams",
        summary: "List added external streams and finds of the last scan.",
        min_role: Some(Role::Viewer),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[],
        errors: &[],
        result_schema: schema_of::<t::GetExternalStreamsResult>,
    },
    MethodSpec {
        name: "set_discovery_interval",
        summary: "Set the periodic external discovery interval (persisted, applied immediately).",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[int(
            "scan_interval",
            true,
            0,
            86_400,
            "Seconds between scans: 0 (on demand only) or 10..86400.",
        )],
        errors: &[(ErrorCode::Unsupported, reason::FEATURE_DISABLED)],
        result_schema: schema_of::<t::SetDiscoveryIntervalResult>,
    },
    // ---- §4.10 API keys
    MethodSpec {
        name: "create_api_key",
        summary: "Create an API key; the secret is shown once.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            enumeration("role", true, ROLES, "Role granted by the key."),
            ParamSpec {
                name: "description",
                required: false,
                kind: ParamKind::Str {
                    min_len: 0,
                    max_len: 256,
                    format: StrFormat::Any,
                },
                description: "Free text, at most 256 characters (default \"\").",
            },
            int(
                "expires_in_days",
                false,
                1,
                3650,
                "Lifetime in days (default `api_keys.default_expiry_days`, 90).",
            ),
        ],
        errors: &[(ErrorCode::InvalidState, reason::KEY_LIMIT_REACHED)],
        result_schema: schema_of::<t::CreateApiKeyResult>,
    },
    MethodSpec {
        name: "list_api_keys",
        summary: "List API key records (never the secrets), newest first.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            boolean(
                "include_revoked",
                false,
                "Also list REVOKED and EXPIRED keys (default false).",
            ),
            LIMIT,
            OFFSET,
        ],
        errors: &[],
        result_schema: schema_of::<t::ListApiKeysResult>,
    },
    MethodSpec {
        name: "revoke_api_key",
        summary: "Revoke an API key and end its live sessions (idempotent).",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[KEY_ID],
        errors: &[(ErrorCode::NotFound, reason::API_KEY_NOT_FOUND)],
        result_schema: schema_of::<t::RevokeApiKeyResult>,
    },
    MethodSpec {
        name: "rotate_api_key",
        summary: "Replace an active API key by a new one; the old one is revoked after a grace period.",
        min_role: Some(Role::Admin),
        gated: false,
        websocket_only: false,
        ignores_unknown_params: false,
        params: &[
            KEY_ID,
            int(
                "expires_in_days",
                false,
                1,
                3650,
                "Lifetime of the new key in days (default: the old key's lifetime).",
            ),
            int(
                "grace_seconds",
                false,
                0,
                86_400,
                "How long the old key stays valid (default 0).",
            ),
        ],
        errors: &[
            (ErrorCode::NotFound, reason::API_KEY_NOT_FOUND),
            (ErrorCode::InvalidState, reason::KEY_REVOKED),
        ],
        result_schema: schema_of::<t::RotateApiKeyResult>,
    },
];

const KEY_ID: ParamSpec = ParamSpec {
    name: "key_id",
    required: true,
    kind: ParamKind::Str {
        min_len: 14,
        max_len: 14,
        format: StrFormat::KeyId,
    },
    description: "API key id (`^k_[0-9a-f]{12}$`).",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        assert_eq!(METHODS.len(), 41);
        let mut names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
        for m in METHODS {
            assert!(std::ptr::eq(method(m.name).unwrap_or(&METHODS[0]), m));
            assert_eq!(
                m.min_role.is_none(),
                m.ignores_unknown_params || m.name == "authenticate"
            );
            for (code, r) in m.errors {
                assert!(code.reasons().contains(r), "{}: {r}", m.name);
            }
            let mut params: Vec<_> = m.params.iter().map(|p| p.name).collect();
            params.sort_unstable();
            params.dedup();
            assert_eq!(params.len(), m.params.len(), "{}", m.name);
        }
        assert!(method("camera.connected").is_none());
    }

    #[test]
    fn format_checks() {
        assert!(is_valid_camera_id("camera0"));
        assert!(is_valid_camera_id(&"a".repeat(64)));
        assert!(!is_valid_camera_id(&"a".repeat(65)));
        assert!(!is_valid_camera_id("Camera0"));
        assert!(!is_valid_camera_id(""));
        assert!(!is_valid_camera_id("cam-0"));
        assert!(is_valid_filename("camera0_2025-01-15_14-30-00.mp4"));
        assert!(is_valid_filename(&"a".repeat(255)));
        assert!(!is_valid_filename(&"a".repeat(256)));
        assert!(!is_valid_filename(".hidden"));
        assert!(!is_valid_filename("a..b"));
        assert!(!is_valid_filename("a/b"));
        assert!(!is_valid_filename("a b"));
        assert!(!is_valid_filename("é.jpg"));
        assert!(is_valid_key_id("k_3fa85f6457b2"));
        assert!(!is_valid_key_id("k_3FA85F6457B2"));
        assert!(!is_valid_key_id("k_3fa85f6457b"));
        assert!(is_valid_rtsp_url("rtsp://192.168.42.15:5554/subject"));
        assert!(is_valid_rtsp_url("rtsps://user:***@cam.local/live"));
        assert!(is_valid_rtsp_url("RTSP://[::1]:554/x"));
        assert!(is_valid_rtsp_url("rtsp://host"));
        assert!(!is_valid_rtsp_url("rtsp:///path"));
        assert!(!is_valid_rtsp_url("rtsp://host:99999/x"));
        assert!(!is_valid_rtsp_url("rtsp://host:/x"));
        assert!(!is_valid_rtsp_url("http://host/x"));
        assert!(!is_valid_rtsp_url("rtsp://host/a b"));
        assert!(!is_valid_rtsp_url("rtsp://user@/x"));
    }
}
