//! The one place that maps a domain [`ErrorKind`] to a JSON-RPC error code and builds the wire error object
//! (`code`, the exact `message` of API.md §2.1, and `data` with `reason`, `details`, `suggestion` and the
//! code-specific keys). Internal errors get an `incident_id` that is also logged.

use crate::error::{Error, ErrorKind};
use camera_api::error::ErrorCode;
use serde_json::{Map, Value};

pub fn code_for(kind: ErrorKind) -> ErrorCode {
    match kind {
        ErrorKind::Parse => ErrorCode::ParseError,
        ErrorKind::InvalidRequest => ErrorCode::InvalidRequest,
        ErrorKind::MethodNotFound => ErrorCode::MethodNotFound,
        ErrorKind::InvalidArgument => ErrorCode::InvalidParams,
        ErrorKind::Unauthenticated => ErrorCode::AuthFailed,
        ErrorKind::PermissionDenied => ErrorCode::PermissionDenied,
        ErrorKind::NotFound => ErrorCode::NotFound,
        ErrorKind::InvalidState => ErrorCode::InvalidState,
        ErrorKind::Unsupported => ErrorCode::Unsupported,
        ErrorKind::RateLimited => ErrorCode::RateLimited,
        ErrorKind::Unavailable => ErrorCode::DependencyFailed,
        ErrorKind::StorageFull => ErrorCode::InsufficientStorage,
        ErrorKind::Internal => ErrorCode::InternalError,
    }
}

/// Serializes the `error` member for a domain error.
pub fn error_object(err: &Error) -> Value {
    let code = code_for(err.kind);
    let mut data = Map::with_capacity(4 + err.data.len());
    data.insert("reason".into(), Value::from(err.reason));
    data.insert("details".into(), Value::from(err.details.as_str()));
    if let Some(s) = &err.suggestion {
        data.insert("suggestion".into(), Value::from(s.as_str()));
    }
    for (k, v) in &err.data {
        data.insert(k.clone(), v.clone());
    }
    if err.kind == ErrorKind::Internal && !data.contains_key("incident_id") {
        let incident = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(incident_id = %incident, details = %err.details, "internal error");
        data.insert("incident_id".into(), Value::from(incident));
    }
    let mut obj = Map::with_capacity(3);
    obj.insert("code".into(), Value::from(code.code()));
    obj.insert("message".into(), Value::from(code.message()));
    obj.insert("data".into(), Value::Object(data));
    Value::Object(obj)
}
