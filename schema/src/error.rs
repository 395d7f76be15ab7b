//! The error model of API.md §2: JSON-RPC error codes with their exact messages, the stable reason tags
//! (including the HTTP ones of §6), and the wire error object with its `data`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A JSON-RPC error code of §2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// -32700: invalid JSON or UTF-8.
    ParseError,
    /// -32600: bad envelope, empty or oversized batch, binary frame.
    InvalidRequest,
    /// -32601: unknown method.
    MethodNotFound,
    /// -32602: every validation failure.
    InvalidParams,
    /// -32603: genuine bugs only.
    InternalError,
    /// -32001: not authenticated, bad, expired or revoked credential.
    AuthFailed,
    /// -32002: role too low.
    PermissionDenied,
    /// -32010: resource does not exist.
    NotFound,
    /// -32020: operation not possible in the current state.
    InvalidState,
    /// -32030: feature disabled or format not producible.
    Unsupported,
    /// -32040: request rate or failed-authentication limit exceeded.
    RateLimited,
    /// -32050: a dependency is unavailable, or the service is still initializing.
    DependencyFailed,
    /// -32060: free space below the blocking threshold.
    InsufficientStorage,
}

impl ErrorCode {
    /// Every code, in the order of the §2.1 table.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::ParseError,
        ErrorCode::InvalidRequest,
        ErrorCode::MethodNotFound,
        ErrorCode::InvalidParams,
        ErrorCode::InternalError,
        ErrorCode::AuthFailed,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::InvalidState,
        ErrorCode::Unsupported,
        ErrorCode::RateLimited,
        ErrorCode::DependencyFailed,
        ErrorCode::InsufficientStorage,
    ];

    /// The numeric JSON-RPC code.
    pub const fn code(self) -> i32 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::InvalidRequest => -32600,
            ErrorCode::MethodNotFound => -32601,
            ErrorCode::InvalidParams => -32602,
            ErrorCode::InternalError => -32603,
            ErrorCode::AuthFailed => -32001,
            ErrorCode::PermissionDenied => -32002,
            ErrorCode::NotFound => -32010,
            ErrorCode::InvalidState => -32020,
            ErrorCode::Unsupported => -32030,
            ErrorCode::RateLimited => -32040,
            ErrorCode::DependencyFailed => -32050,
            ErrorCode::InsufficientStorage => -32060,
        }
    }

    /// The exact `error.message` for the code (§2.1).
    pub const fn message(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "Parse error",
            ErrorCode::InvalidRequest => "Invalid Request",
            ErrorCode::MethodNotFound => "Method not found",
            ErrorCode::InvalidParams => "Invalid params",
            ErrorCode::InternalError => "Internal server error",
            ErrorCode::AuthFailed => "Authentication failed or token expired",
            ErrorCode::PermissionDenied => "Permission denied",
            ErrorCode::NotFound => "Not found",
            ErrorCode::InvalidState => "Invalid state",
            ErrorCode::Unsupported => "Unsupported",
            ErrorCode::RateLimited => "Rate limited",
            ErrorCode::DependencyFailed => "Dependency failed",
            ErrorCode::InsufficientStorage => "Insufficient storage",
        }
    }

    /// The code for a numeric value, if it is one of §2.1.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The reason tags of §2.3 that may accompany this code.
    pub fn reasons(self) -> &'static [&'static str] {
        use reason::*;
        match self {
            ErrorCode::ParseError => &[PARSE_ERROR],
            ErrorCode::InvalidRequest => &[
                INVALID_REQUEST,
                INVALID_VERSION,
                MISSING_METHOD,
                INVALID_ID,
                EMPTY_BATCH,
                BATCH_TOO_LARGE,
                BINARY_FRAME,
            ],
            ErrorCode::MethodNotFound => &[METHOD_NOT_FOUND],
            ErrorCode::InvalidParams => &[
                PARAMS_MUST_BE_OBJECT,
                MISSING_PARAM,
                UNKNOWN_PARAM,
                INVALID_TYPE,
                OUT_OF_RANGE,
                INVALID_VALUE,
                TOO_LONG,
                INVALID_DEVICE,
                INVALID_FILENAME,
                INVALID_URL,
                INVALID_TIMESTAMP,
                INVALID_TOPIC,
                CONFLICTING_PARAMS,
            ],
            ErrorCode::InternalError => &[INTERNAL_ERROR],
            ErrorCode::AuthFailed => &[AUTH_REQUIRED, AUTH_FAILED, TOKEN_EXPIRED, CREDENTIAL_REVOKED],
            ErrorCode::PermissionDenied => &[INSUFFICIENT_ROLE, ROLE_EXCEEDS_CALLER],
            ErrorCode::NotFound => &[
                CAMERA_NOT_FOUND,
                RECORDING_NOT_FOUND,
                SNAPSHOT_NOT_FOUND,
                EXTERNAL_STREAM_NOT_FOUND,
                API_KEY_NOT_FOUND,
            ],
            ErrorCode::InvalidState => &[
                ALREADY_RECORDING,
                NOT_RECORDING,
                NOT_STREAMING,
                CAMERA_DISCONNECTED,
                CAMERA_BUSY,
                FILE_EXISTS,
                FILE_IN_USE,
                STREAM_EXISTS,
                DEVICE_EXISTS,
                CONFIGURED_CAMERA,
                CAMERA_LIMIT_REACHED,
                RETENTION_DISABLED,
                MASS_DELETE_GUARD,
                KEY_REVOKED,
                KEY_LIMIT_REACHED,
            ],
            ErrorCode::Unsupported => &[FEATURE_DISABLED, FORMAT_UNSUPPORTED, REQUIRES_WEBSOCKET],
            ErrorCode::RateLimited => &[RATE_LIMITED, AUTH_RATE_LIMITED],
            ErrorCode::DependencyFailed => &[
                SERVICE_INITIALIZING,
                MEDIAMTX_UNAVAILABLE,
                STREAMING_UNAVAILABLE,
                FFMPEG_FAILED,
                CAPTURE_FAILED,
                CAPTURE_TIMEOUT,
                RECORDING_START_TIMEOUT,
                SOURCE_UNREACHABLE,
                STORAGE_UNAVAILABLE,
                DATABASE_UNAVAILABLE,
            ],
            ErrorCode::InsufficientStorage => &[STORAGE_FULL],
        }
    }

    /// The code whose reason list contains `reason` (JSON-RPC reasons only; HTTP-only tags give `None`).
    pub fn for_reason(reason: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.reasons().contains(&reason))
    }

    /// An error object with this code's exact message and `data.reason` / `data.details`.
    pub fn with_reason(self, reason: &str, details: impl Into<String>) -> ErrorObject {
        ErrorObject {
            code: self.code(),
            message: self.message().to_owned(),
            data: Some(ErrorData {
                reason: reason.to_owned(),
                details: Some(details.into()),
                suggestion: None,
                extra: serde_json::Map::new(),
            }),
        }
    }
}

/// The stable reason tags of §2.3, one constant per tag (tags shared by JSON-RPC and HTTP appear once).
pub mod reason {
    // -32700
    pub const PARSE_ERROR: &str = "parse_error";
    // -32600
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const INVALID_VERSION: &str = "invalid_version";
    pub const MISSING_METHOD: &str = "missing_method";
    pub const INVALID_ID: &str = "invalid_id";
    pub const EMPTY_BATCH: &str = "empty_batch";
    pub const BATCH_TOO_LARGE: &str = "batch_too_large";
    pub const BINARY_FRAME: &str = "binary_frame";
    // -32601
    pub const METHOD_NOT_FOUND: &str = "method_not_found";
    // -32602
    pub const PARAMS_MUST_BE_OBJECT: &str = "params_must_be_object";
    pub const MISSING_PARAM: &str = "missing_param";
    pub const UNKNOWN_PARAM: &str = "unknown_param";
    pub const INVALID_TYPE: &str = "invalid_type";
    pub const OUT_OF_RANGE: &str = "out_of_range";
    pub const INVALID_VALUE: &str = "invalid_value";
    pub const TOO_LONG: &str = "too_long";
    pub const INVALID_DEVICE: &str = "invalid_device";
    pub const INVALID_FILENAME: &str = "invalid_filename";
    pub const INVALID_URL: &str = "invalid_url";
    pub const INVALID_TIMESTAMP: &str = "invalid_timestamp";
    pub const INVALID_TOPIC: &str = "invalid_topic";
    pub const CONFLICTING_PARAMS: &str = "conflicting_params";
    // -32603
    pub const INTERNAL_ERROR: &str = "internal_error";
    // -32001
    pub const AUTH_REQUIRED: &str = "auth_required";
    pub const AUTH_FAILED: &str = "auth_failed";
    pub const TOKEN_EXPIRED: &str = "token_expired";
    pub const CREDENTIAL_REVOKED: &str = "credential_revoked";
    // -32002
    pub const INSUFFICIENT_ROLE: &str = "insufficient_role";
    pub const ROLE_EXCEEDS_CALLER: &str = "role_exceeds_caller";
    // -32010
    pub const CAMERA_NOT_FOUND: &str = "camera_not_found";
    pub const RECORDING_NOT_FOUND: &str = "recording_not_found";
    pub const SNAPSHOT_NOT_FOUND: &str = "snapshot_not_found";
    pub const EXTERNAL_STREAM_NOT_FOUND: &str = "external_stream_not_found";
    pub const API_KEY_NOT_FOUND: &str = "api_key_not_found";
    // -32020
    pub const ALREADY_RECORDING: &str = "already_recording";
    pub const NOT_RECORDING: &str = "not_recording";
    pub const NOT_STREAMING: &str = "not_streaming";
    pub const CAMERA_DISCONNECTED: &str = "camera_disconnected";
    pub const CAMERA_BUSY: &str = "camera_busy";
    pub const FILE_EXISTS: &str = "file_exists";
    pub const FILE_IN_USE: &str = "file_in_use";
    pub const STREAM_EXISTS: &str = "stream_exists";
    pub const DEVICE_EXISTS: &str = "device_exists";
    pub const CONFIGURED_CAMERA: &str = "configured_camera";
    pub const CAMERA_LIMIT_REACHED: &str = "camera_limit_reached";
    pub const RETENTION_DISABLED: &str = "retention_disabled";
    pub const MASS_DELETE_GUARD: &str = "mass_delete_guard";
    pub const KEY_REVOKED: &str = "key_revoked";
    pub const KEY_LIMIT_REACHED: &str = "key_limit_reached";
    // -32030
    pub const FEATURE_DISABLED: &str = "feature_disabled";
    pub const FORMAT_UNSUPPORTED: &str = "format_unsupported";
    pub const REQUIRES_WEBSOCKET: &str = "requires_websocket";
    // -32040
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const AUTH_RATE_LIMITED: &str = "auth_rate_limited";
    // -32050
    pub const SERVICE_INITIALIZING: &str = "service_initializing";
    pub const MEDIAMTX_UNAVAILABLE: &str = "mediamtx_unavailable";
    pub const STREAMING_UNAVAILABLE: &str = "streaming_unavailable";
    pub const FFMPEG_FAILED: &str = "ffmpeg_failed";
    pub const CAPTURE_FAILED: &str = "capture_failed";
    pub const CAPTURE_TIMEOUT: &str = "capture_timeout";
    pub const RECORDING_START_TIMEOUT: &str = "recording_start_timeout";
    pub const SOURCE_UNREACHABLE: &str = "source_unreachable";
    pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable";
    pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";
    // -32060
    pub const STORAGE_FULL: &str = "storage_full";
    // HTTP only (§6)
    pub const DOWNLOAD_TOKEN_INVALID: &str = "download_token_invalid";
    pub const TOKEN_SCOPE_MISMATCH: &str = "token_scope_mismatch";
    pub const FILE_NOT_FOUND: &str = "file_not_found";
    pub const RANGE_NOT_SATISFIABLE: &str = "range_not_satisfiable";
    pub const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";
    pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";
    pub const SERVER_AT_CAPACITY: &str = "server_at_capacity";
    pub const SHUTTING_DOWN: &str = "shutting_down";
    pub const UPGRADE_REQUIRED: &str = "upgrade_required";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const MESSAGE_TOO_LARGE: &str = "message_too_large";
}

/// The reason tags used in HTTP error bodies on port 8002 (§2.3 "HTTP", §6.4).
pub const HTTP_REASONS: &[&str] = &[
    reason::AUTH_REQUIRED,
    reason::AUTH_FAILED,
    reason::TOKEN_EXPIRED,
    reason::CREDENTIAL_REVOKED,
    reason::AUTH_RATE_LIMITED,
    reason::RATE_LIMITED,
    reason::DOWNLOAD_TOKEN_INVALID,
    reason::TOKEN_SCOPE_MISMATCH,
    reason::INVALID_FILENAME,
    reason::FILE_NOT_FOUND,
    reason::RANGE_NOT_SATISFIABLE,
    reason::ORIGIN_NOT_ALLOWED,
    reason::TOO_MANY_CONNECTIONS,
    reason::SERVER_AT_CAPACITY,
    reason::SHUTTING_DOWN,
    reason::UPGRADE_REQUIRED,
    reason::NOT_FOUND,
    reason::METHOD_NOT_ALLOWED,
    reason::UNSUPPORTED_MEDIA_TYPE,
    reason::MESSAGE_TOO_LARGE,
];

/// The JSON-RPC `error` member: `{code, message, data}`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct ErrorObject {
    /// A code of §2.1.
    pub code: i32,
    /// The exact message for `code`.
    pub message: String,
    /// Reason and code-specific details; always present in errors produced by the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ErrorData>,
}

impl ErrorObject {
    /// An error object for `code` with the exact message and the given data.
    pub fn new(code: ErrorCode, data: ErrorData) -> ErrorObject {
        ErrorObject {
            code: code.code(),
            message: code.message().to_owned(),
            data: Some(data),
        }
    }

    /// The typed code, when `code` is one of §2.1.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// `data.reason`, if any.
    pub fn reason(&self) -> Option<&str> {
        self.data.as_ref().map(|d| d.reason.as_str())
    }
}

/// `error.data` (§2.2): `reason`, `details`, `suggestion`, plus code-specific keys flattened into `extra`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ErrorData {
    /// Stable snake_case tag of §2.3.
    pub reason: String,
    /// Human-readable text; may change between versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Human-readable hint on how to proceed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Code-specific keys (`param`, `allowed`, `resource`, `id`, `retry_after_ms`, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ErrorData {
    /// Data with only a reason.
    pub fn new(reason: &str) -> ErrorData {
        ErrorData {
            reason: reason.to_owned(),
            ..ErrorData::default()
        }
    }

    /// Sets `details`.
    pub fn details(mut self, details: impl Into<String>) -> ErrorData {
        self.details = Some(details.into());
        self
    }

    /// Sets `suggestion`.
    pub fn suggestion(mut self, suggestion: impl Into<String>) -> ErrorData {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// Adds a code-specific key.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> ErrorData {
        self.extra.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_reasons_are_unique_per_code() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
            for r in c.reasons() {
                assert_eq!(ErrorCode::for_reason(r), Some(c), "{r}");
            }
        }
        assert_eq!(ErrorCode::from_code(-1), None);
        assert_eq!(ErrorCode::InternalError.message(), "Internal server error");
    }

    #[test]
    fn error_object_wire_shape() {
        let e = ErrorObject::new(
            ErrorCode::InvalidState,
            ErrorData::new(reason::ALREADY_RECORDING)
                .details("busy")
                .with("resource", "camera")
                .with("id", "camera0"),
        );
        let v = serde_json::to_value(&e).ok();
        let expected = serde_json::json!({"code":-32020,"message":"Invalid state","data":{
            "reason":"already_recording","details":"busy","resource":"camera","id":"camera0"}});
        assert_eq!(v, Some(expected.clone()));
        let back: Option<ErrorObject> = serde_json::from_value(expected).ok();
        assert_eq!(back, Some(e));
    }
}
