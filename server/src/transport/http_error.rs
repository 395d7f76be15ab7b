//! The HTTP error body of API.md §6.4, used by every non-2xx response on port 8002:
//! `{"error":{"status":404,"reason":"not_found","message":"..."}}` with `Content-Type: application/json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub fn http_error(status: StatusCode, reason: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"error": {"status": status.as_u16(), "reason": reason, "message": message.into()}});
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// 429 / 503 responses that tell the client when to come back.
pub fn http_error_retry(
    status: StatusCode,
    reason: &str,
    message: impl Into<String>,
    retry_after_secs: u64,
) -> Response {
    let mut response = http_error(status, reason, message);
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

pub async fn not_found() -> Response {
    http_error(StatusCode::NOT_FOUND, "not_found", "No such endpoint")
}

pub async fn method_not_allowed() -> Response {
    http_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed on this endpoint",
    )
}
