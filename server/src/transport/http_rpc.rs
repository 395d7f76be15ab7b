//! `POST /rpc`: JSON-RPC over HTTP (API.md §6.1). No session: each request is authenticated by its own
//! `Authorization: Bearer` or `X-API-Key` header; a rejected header counts as a failed authentication and is
//! reported as -32001 by methods that need a credential. Body limit `server.max_message_bytes` (413),
//! `Content-Type: application/json` (415), 204 when every element was a notification.

use crate::app::AppState;
use crate::auth::identity::Identity;
use crate::error::{Error, ErrorKind};
use crate::rpc::connection::{Connection, ConnectionInit, Session, Transport};
use crate::rpc::dispatch;
use crate::transport::http_error::{http_error, http_error_retry};
use crate::transport::limits::client_ip;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub async fn rpc(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !is_json(&parts.headers) {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        );
    }
    let limit = app.config.server.max_message_bytes;
    let Some(bytes) = read_body(body, limit).await else {
        let mut response = http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "message_too_large",
            format!("Body exceeds {limit} bytes"),
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    };
    let ip = client_ip(peer.ip(), &parts.headers, &app.config.server);
    let (identity, credential_error) = match credential(&parts.headers) {
        None => (None, None),
        Some(token) => match authenticate_header(&app, ip, token).await {
            Ok(identity) => (Some(identity), None),
            Err(err) if err.kind == ErrorKind::RateLimited => {
                let retry_ms = err.data.get("retry_after_ms").and_then(|v| v.as_u64()).unwrap_or(1000);
                return http_error_retry(
                    StatusCode::TOO_MANY_REQUESTS,
                    "auth_rate_limited",
                    err.details,
                    retry_ms.div_ceil(1000),
                );
            }
            Err(err) => (None, Some(err)),
        },
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let (id, client_id) = Connection::allocate_id();
    let conn = Arc::new(Connection::new(
        id,
        client_id,
        ConnectionInit {
            transport: Transport::Http,
            remote_ip: ip,
            host,
            tls: app.tls_enabled,
            rate: app.http_rate_buckets.bucket(ip, app.clock.elapsed()),
            credential_error,
            subscriber: None,
        },
    ));
    if let Some(identity) = identity {
        conn.set_session(Session {
            identity,
            session_id: String::new(),
        });
    }
    let reply = match std::str::from_utf8(&bytes) {
        Ok(text) => dispatch::handle_text(&app, &conn, text).await,
        Err(_) => Some(dispatch::parse_error_reply("The body is not valid UTF-8")),
    };
    match reply {
        Some(text) => {
            let mut response = (StatusCode::OK, text).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Reads the body up to `limit` bytes. A larger body is read on (and discarded) up to a bound, so the client
/// gets the 413 instead of a reset while it is still sending; `None` then.
async fn read_body(body: axum::body::Body, limit: usize) -> Option<Vec<u8>> {
    use futures_util::StreamExt;
    const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
    const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);
    let mut stream = Body::new(body).into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > limit {
                bytes = Vec::new();
                if seen > DRAIN_LIMIT {
                    break;
                }
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, read).await;
    (seen <= limit).then_some(bytes)
}

/// `Content-Type: application/json`, parameters such as charset allowed.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The credential of an HTTP request: `Authorization: Bearer <jwt or key>` or `X-API-Key: <key>`.
pub fn credential(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or("");
        return Some(token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Checks a header credential under the failed-authentication limiter.
pub async fn authenticate_header(app: &AppState, ip: IpAddr, token: &str) -> Result<Identity, Error> {
    if let Err(retry_after_ms) = app.auth_failures.check(ip, app.clock.elapsed()) {
        return Err(Error::new(
            ErrorKind::RateLimited,
            "auth_rate_limited",
            "Too many failed authentication attempts",
        )
        .with("retry_after_ms", retry_after_ms));
    }
    match app.auth.authenticate(token).await {
        Ok(identity) => Ok(identity),
        Err(err) => {
            if err.kind == ErrorKind::Unauthenticated {
                app.auth_failures.record_failure(ip, app.clock.elapsed());
            }
            Err(err)
        }
    }
}
