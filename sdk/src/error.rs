//! The one error type of the SDK, [`SdkError`], and its classification [`ErrorKind`].
//!
//! A JSON-RPC error from the server becomes [`SdkError::Rpc`] carrying the wire `code`, `message` and the
//! parsed `error.data` (`reason`, `details`, `suggestion` and the code-specific keys). HTTP errors of the
//! download endpoint (API.md §6.4) become [`SdkError::Http`] with the body's `reason`. Everything the
//! network or the local machine can do wrong has its own variant, so callers branch on [`SdkError::kind`]
//! (or the code / reason) and never on message text.

use std::fmt;
use std::time::Duration;

use camera_api::error::{ErrorCode, ErrorData, reason};
use jsonrpsee::core::client::Error as ClientError;

/// A JSON-RPC error answered by the server (API.md §2).
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// The JSON-RPC code (`-32010`, …).
    pub code: i32,
    /// The exact message for the code.
    pub message: String,
    /// `error.data`, when the server sent one (it always does for its own errors).
    pub data: Option<ErrorData>,
}

impl RpcError {
    /// The typed code, when it is one of §2.1.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// `data.reason`.
    pub fn reason(&self) -> Option<&str> {
        self.data.as_ref().map(|d| d.reason.as_str())
    }

    /// `data.details`.
    pub fn details(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.details.as_deref())
    }

    /// `data.suggestion`.
    pub fn suggestion(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.suggestion.as_deref())
    }

    /// A code-specific key of `data` (`retry_after_ms`, `param`, `resource`, …).
    pub fn data_field(&self, key: &str) -> Option<&serde_json::Value> {
        self.data.as_ref().and_then(|d| d.extra.get(key))
    }

    /// `data.retry_after_ms` as a duration (rate limits, `service_initializing`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.data_field("retry_after_ms")
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_millis)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.message, self.code)?;
        if let Some(r) = self.reason() {
            write!(f, " {r}")?;
        }
        f.write_str(")")?;
        if let Some(d) = self.details() {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The server answered the call with a JSON-RPC error.
    #[error("{0}")]
    Rpc(Box<RpcError>),
    /// The download endpoint answered with an HTTP error (API.md §6.4).
    #[error("HTTP {status}{}: {message}", reason.as_deref().map(|r| format!(" {r}")).unwrap_or_default())]
    Http {
        /// HTTP status code.
        status: u16,
        /// `error.reason` of the body, when it had one.
        reason: Option<String>,
        /// `error.message` of the body, or the status text.
        message: String,
    },
    /// The connection could not be opened, or broke while the call was in flight.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The call (including any wait for a reconnect) did not finish within its timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// The URL is not a usable `ws://` / `wss://` endpoint.
    #[error("invalid URL {url:?}: {message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// An argument was rejected before anything was sent (e.g. a file name outside the contract's rule).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The TLS settings could not be turned into a configuration (unreadable CA file, bad PEM, …).
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Local file I/O failed (downloads).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server's answer did not have the expected shape.
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// The client was closed, or gave up reconnecting because the credentials were rejected.
    #[error("client closed{}", .0.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
}

/// A coarse classification of [`SdkError`], stable for programs (the CLI maps it to exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad params or request (-32600, -32602, -32700, -32601, invalid URL or TLS settings).
    Usage,
    /// Not authenticated, bad / expired / revoked credential (-32001; HTTP 401).
    Auth,
    /// Role too low (-32002; HTTP 403).
    PermissionDenied,
    /// Resource does not exist (-32010; HTTP 404).
    NotFound,
    /// Operation not possible in the current state (-32020; HTTP 416).
    InvalidState,
    /// Feature disabled or format not producible (-32030).
    Unsupported,
    /// Request rate or failed-authentication limit exceeded (-32040; HTTP 429).
    RateLimited,
    /// A dependency is unavailable or the service is initializing (-32050; HTTP 503).
    Unavailable,
    /// Free space below the blocking threshold (-32060).
    InsufficientStorage,
    /// The server could not be reached, or the connection broke, or the call timed out.
    Connection,
    /// Anything else: internal server errors, local I/O, unexpected responses.
    Other,
}

impl SdkError {
    /// The classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SdkError::Rpc(e) => kind_of_code(e.code),
            SdkError::Http { status, reason, .. } => kind_of_http(*status, reason.as_deref()),
            SdkError::Connection(_) | SdkError::Timeout(_) => ErrorKind::Connection,
            SdkError::Closed(_) => ErrorKind::Connection,
            SdkError::InvalidUrl { .. } | SdkError::Tls(_) | SdkError::InvalidArgument(_) => ErrorKind::Usage,
            SdkError::Io(_) | SdkError::Protocol(_) => ErrorKind::Other,
        }
    }

    /// The JSON-RPC code, for [`SdkError::Rpc`].
    pub fn code(&self) -> Option<i32> {
        match self {
            SdkError::Rpc(e) => Some(e.code),
            _ => None,
        }
    }

    /// The typed JSON-RPC code, for [`SdkError::Rpc`] with a code of §2.1.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code().and_then(ErrorCode::from_code)
    }

    /// The stable reason tag (`data.reason`, or the HTTP body's `reason`).
    pub fn reason(&self) -> Option<&str> {
        match self {
            SdkError::Rpc(e) => e.reason(),
            SdkError::Http { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// Human-readable details from the server (`data.details`).
    pub fn details(&self) -> Option<&str> {
        match self {
            SdkError::Rpc(e) => e.details(),
            SdkError::Http { message, .. } => Some(message.as_str()),
            _ => None,
        }
    }

    /// The server's hint on how to proceed (`data.suggestion`).
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            SdkError::Rpc(e) => e.suggestion(),
            _ => None,
        }
    }

    /// The JSON-RPC error, for [`SdkError::Rpc`].
    pub fn as_rpc(&self) -> Option<&RpcError> {
        match self {
            SdkError::Rpc(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// Whether retrying the same call later may succeed (connection problems, rate limits, initializing).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Connection | ErrorKind::RateLimited | ErrorKind::Unavailable
        )
    }

    /// Converts a jsonrpsee client error.
    pub(crate) fn from_client(e: ClientError) -> SdkError {
        match e {
            ClientError::Call(obj) => {
                let data = obj
                    .data()
                    .and_then(|raw| serde_json::from_str::<ErrorData>(raw.get()).ok());
                SdkError::Rpc(Box::new(RpcError {
                    code: obj.code(),
                    message: obj.message().to_owned(),
                    data,
                }))
            }
            ClientError::Transport(e) => SdkError::Connection(e.to_string()),
            ClientError::RestartNeeded(e) => SdkError::Connection(e.to_string()),
            ClientError::ServiceDisconnect => SdkError::Connection("disconnected".to_owned()),
            ClientError::RequestTimeout => SdkError::Timeout(Duration::ZERO),
            ClientError::ParseError(e) => SdkError::Protocol(e.to_string()),
            other => SdkError::Protocol(other.to_string()),
        }
    }
}

impl From<ClientError> for SdkError {
    fn from(e: ClientError) -> Self {
        SdkError::from_client(e)
    }
}

/// The kind of a JSON-RPC error code.
pub fn kind_of_code(code: i32) -> ErrorKind {
    match ErrorCode::from_code(code) {
        Some(ErrorCode::ParseError)
        | Some(ErrorCode::InvalidRequest)
        | Some(ErrorCode::MethodNotFound)
        | Some(ErrorCode::InvalidParams) => ErrorKind::Usage,
        Some(ErrorCode::AuthFailed) => ErrorKind::Auth,
        Some(ErrorCode::PermissionDenied) => ErrorKind::PermissionDenied,
        Some(ErrorCode::NotFound) => ErrorKind::NotFound,
        Some(ErrorCode::InvalidState) => ErrorKind::InvalidState,
        Some(ErrorCode::Unsupported) => ErrorKind::Unsupported,
        Some(ErrorCode::RateLimited) => ErrorKind::RateLimited,
        Some(ErrorCode::DependencyFailed) => ErrorKind::Unavailable,
        Some(ErrorCode::InsufficientStorage) => ErrorKind::InsufficientStorage,
        Some(ErrorCode::InternalError) | None => ErrorKind::Other,
    }
}

/// The kind of an HTTP error status of the download endpoint.
fn kind_of_http(status: u16, body_reason: Option<&str>) -> ErrorKind {
    match (status, body_reason) {
        (_, Some(reason::TOKEN_SCOPE_MISMATCH)) => ErrorKind::PermissionDenied,
        (400, _) | (405, _) | (415, _) => ErrorKind::Usage,
        (401, _) => ErrorKind::Auth,
        (403, _) => ErrorKind::PermissionDenied,
        (404, _) => ErrorKind::NotFound,
        (416, _) => ErrorKind::InvalidState,
        (429, _) => ErrorKind::RateLimited,
        (503, _) => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonrpsee::types::ErrorObjectOwned;

    fn rpc(code: i32, data: serde_json::Value) -> SdkError {
        SdkError::from_client(ClientError::Call(ErrorObjectOwned::owned(code, "msg", Some(data))))
    }

    #[test]
    fn call_errors_carry_reason_details_suggestion_and_extra() {
        let e = rpc(
            -32020,
            serde_json::json!({"reason":"already_recording","details":"since 14:30",
                "suggestion":"Call stop_recording first","resource":"camera","id":"camera0"}),
        );
        assert_eq!(e.code(), Some(-32020));
        assert_eq!(e.error_code(), Some(ErrorCode::InvalidState));
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        assert_eq!(e.reason(), Some("already_recording"));
        assert_eq!(e.details(), Some("since 14:30"));
        assert_eq!(e.suggestion(), Some("Call stop_recording first"));
        let rpc = e.as_rpc().map(|r| r.data_field("id").cloned());
        assert_eq!(rpc, Some(Some(serde_json::json!("camera0"))));
        assert_eq!(e.to_string(), "msg (-32020 already_recording): since 14:30");
    }

    #[test]
    fn retry_after_is_read_from_data() {
        let e = rpc(
            -32040,
            serde_json::json!({"reason":"rate_limited","retry_after_ms":250}),
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.is_transient());
        let after = e.as_rpc().and_then(RpcError::retry_after);
        assert_eq!(after, Some(Duration::from_millis(250)));
    }

    #[test]
    fn codes_map_to_kinds() {
        let cases = [
            (-32700, ErrorKind::Usage),
            (-32600, ErrorKind::Usage),
            (-32601, ErrorKind::Usage),
            (-32602, ErrorKind::Usage),
            (-32603, ErrorKind::Other),
            (-32001, ErrorKind::Auth),
            (-32002, ErrorKind::PermissionDenied),
            (-32010, ErrorKind::NotFound),
            (-32020, ErrorKind::InvalidState),
            (-32030, ErrorKind::Unsupported),
            (-32040, ErrorKind::RateLimited),
            (-32050, ErrorKind::Unavailable),
            (-32060, ErrorKind::InsufficientStorage),
            (-1, ErrorKind::Other),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_of_code(code), kind, "{code}");
        }
    }

    #[test]
    fn http_and_local_errors_have_kinds() {
        let http = |status, reason: Option<&str>| SdkError::Http {
            status,
            reason: reason.map(str::to_owned),
            message: "m".into(),
        };
        assert_eq!(http(401, Some("auth_failed")).kind(), ErrorKind::Auth);
        assert_eq!(
            http(403, Some("token_scope_mismatch")).kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(http(404, Some("file_not_found")).kind(), ErrorKind::NotFound);
        assert_eq!(http(429, None).kind(), ErrorKind::RateLimited);
        assert_eq!(http(500, None).kind(), ErrorKind::Other);
        assert_eq!(http(404, Some("file_not_found")).reason(), Some("file_not_found"));
        assert_eq!(SdkError::Connection("x".into()).kind(), ErrorKind::Connection);
        assert_eq!(SdkError::Timeout(Duration::from_secs(1)).kind(), ErrorKind::Connection);
        assert_eq!(SdkError::Tls("x".into()).kind(), ErrorKind::Usage);
        assert_eq!(SdkError::Closed(None).to_string(), "client closed");
    }

    #[test]
    fn data_that_does_not_parse_is_dropped_not_fatal() {
        let e = rpc(-32603, serde_json::json!("not an object"));
        assert_eq!(e.code(), Some(-32603));
        assert_eq!(e.reason(), None);
    }
}
