//! The one error type of the camera-service crate.
//!
//! Every domain failure is an [`Error`] with an [`ErrorKind`] (what class of failure, chosen once at the
//! boundary where it happens), a stable snake_case `reason` tag from API.md §2.3, human `details`, an optional
//! `suggestion`, and extra `data` keys (`param`, `resource`, `retry_after_ms`, ...). Only `rpc::errors` maps a
//! kind to a JSON-RPC code and only `transport::http_error` maps it to an HTTP status; nothing else in the
//! server knows either.

use serde_json::{Map, Value};
use std::fmt;

/// The class of a failure. One JSON-RPC code per kind (see `rpc::errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The message is not JSON (-32700).
    Parse,
    /// Bad request envelope (-32600).
    InvalidRequest,
    /// No such method (-32601).
    MethodNotFound,
    /// A parameter failed validation (-32602).
    InvalidArgument,
    /// Missing, bad, expired or revoked credential (-32001).
    Unauthenticated,
    /// Role too low (-32002).
    PermissionDenied,
    /// The named resource does not exist (-32010).
    NotFound,
    /// The operation conflicts with the current state (-32020).
    InvalidState,
    /// Feature disabled or not producible (-32030).
    Unsupported,
    /// Too many requests or failed authentications (-32040).
    RateLimited,
    /// A dependency (MediaMTX, ffmpeg, camera, database, storage) is unavailable (-32050).
    Unavailable,
    /// Free space below the blocking threshold (-32060).
    StorageFull,
    /// A bug (-32603). Never used for bad input.
    Internal,
}

/// A domain error: kind + stable reason + human text + extra structured data.
#[derive(Clone, Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub reason: &'static str,
    pub details: String,
    pub suggestion: Option<String>,
    pub data: Map<String, Value>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, reason: &'static str, details: impl Into<String>) -> Self {
        Error {
            kind,
            reason,
            details: details.into(),
            suggestion: None,
            data: Map::new(),
        }
    }

    /// Adds a human suggestion (`data.suggestion`).
    pub fn suggest(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// Adds one code-specific key to `data` (e.g. `param`, `resource`, `retry_after_ms`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// A genuine bug or an unexpected failure of something that should not fail.
    pub fn internal(details: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Internal, "internal_error", details.to_string())
    }

    pub fn invalid_param(reason: &'static str, param: &str, details: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, reason, details).with("param", param)
    }

    pub fn not_found(reason: &'static str, resource: &str, id: &str) -> Self {
        Error::new(ErrorKind::NotFound, reason, format!("No {resource} with id {id}"))
            .with("resource", resource)
            .with("id", id)
    }

    pub fn database(e: impl fmt::Display) -> Self {
        Error::new(
            ErrorKind::Unavailable,
            "database_unavailable",
            format!("Database error: {e}"),
        )
        .with("dependency", "database")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/{}: {}", self.kind, self.reason, self.details)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::database(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Unavailable, "storage_unavailable", format!("I/O error: {e}"))
            .with("dependency", "storage")
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::internal(format!("background task failed: {e}"))
    }
}
