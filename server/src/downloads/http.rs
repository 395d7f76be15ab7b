//! `GET` / `HEAD /files/recordings/{filename}` and `/files/snapshots/{filename}` (API.md §6.2).
//!
//! Check order for every request: request rate (per IP, as `/rpc`; 429 `rate_limited`) → credential, first
//! match wins: `Authorization: Bearer`, `X-API-Key`, `?token=` download token (failed-authentication limiter
//! applies to all three; 401 / 429 `auth_rate_limited`) → file name (400 `invalid_filename`) → token scope (403
//! `token_scope_mismatch`) → the file through the catalogue (404 `file_not_found`) → `If-None-Match` /
//! `If-Modified-Since` (304) → `Range` with `If-Range` (206 / 416) → the body.
//!
//! Invariants:
//! - A name reaches the file system only through [`FileCatalog::path_of`](crate::media::files::FileCatalog::path_of)
//!   (filename rule, storage folder of its kind, regular file with a media extension). The file is then opened
//!   with `O_NOFOLLOW | O_NONBLOCK` and checked again on the open descriptor, so a symlink or FIFO swapped in
//!   after the check is refused rather than followed or waited on.
//! - The size is fixed when the file is opened: a recording still being written is served up to that size
//!   (`Cache-Control: no-store`), and the body never runs past it.
//! - Bodies stream from the open file in [`CHUNK`]-sized reads on the blocking pool; memory per download is
//!   bounded by a few chunks, whatever the file size.
//! - Every response is counted in `camera_service_file_downloads_total{kind,status}`.

use super::conditional::{self, RangeRequest};
use super::tokens::{DownloadTokens, Rejected};
use crate::app::AppState;
use crate::auth::AuthService;
use crate::auth::limits::FailureLimiter;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::error::{Error, ErrorKind};
use crate::media::files::{FileCatalog, FileKind};
use crate::media::recorder::Recorder;
use crate::transport::http_error::{http_error, http_error_retry, method_not_allowed};
use crate::transport::http_rpc::credential;
use crate::transport::limits::{HttpRateBuckets, client_ip};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::io::SeekFrom;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Size of one read from disk and of one body chunk.
pub const CHUNK: usize = 256 * 1024;

/// The two download routes (GET and HEAD; any other method 405). Merge into the router that applies CORS
/// (`transport::cors`), so allowed origins can fetch files.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/files/recordings/{filename}",
            get(recording).head(recording).fallback(method_not_allowed),
        )
        .route(
            "/files/snapshots/{filename}",
            get(snapshot).head(snapshot).fallback(method_not_allowed),
        )
}

pub async fn recording(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    download(&app, peer, FileKind::Recording, request).await
}

pub async fn snapshot(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    download(&app, peer, FileKind::Snapshot, request).await
}

/// What a download needs from the application (borrowed from `AppState`; built from parts in tests).
pub(crate) struct Deps<'a> {
    pub server: &'a ServerConfig,
    pub clock: &'a dyn Clock,
    pub rate_buckets: &'a HttpRateBuckets,
    pub auth_failures: &'a FailureLimiter,
    pub auth: &'a AuthService,
    pub tokens: &'a DownloadTokens,
    pub files: &'a FileCatalog,
    pub recorder: &'a Recorder,
}

async fn download(app: &AppState, peer: SocketAddr, kind: FileKind, request: Request) -> Response {
    let deps = Deps {
        server: &app.config.server,
        clock: app.clock.as_ref(),
        rate_buckets: &app.http_rate_buckets,
        auth_failures: &app.auth_failures,
        auth: &app.auth,
        tokens: &app.download_tokens,
        files: &app.files,
        recorder: &app.recorder,
    };
    let (parts, _body) = request.into_parts();
    // The route is `/files/<dir>/{filename}`: the name is the raw last segment, decoded here.
    let segment = parts.uri.path().rsplit('/').next().unwrap_or("");
    let response = serve(
        &deps,
        peer.ip(),
        kind,
        segment,
        &parts.method,
        &parts.headers,
        parts.uri.query(),
    )
    .await;
    metrics::counter!(
        "camera_service_file_downloads_total",
        "kind" => kind.as_str(),
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    response
}

/// Percent-decodes a path segment into a file name; `None` for bad escapes or non-UTF-8 bytes. The result is
/// still unchecked (it may contain `/`, `..`, NUL): callers apply the filename rule.
fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `?token=` and `?inline=` of the query string (first occurrence of each; other keys ignored).
#[derive(Debug, Default, PartialEq, Eq)]
struct Query<'a> {
    token: Option<&'a str>,
    inline: bool,
}

fn parse_query(query: Option<&str>) -> Query<'_> {
    let mut q = Query::default();
    let mut inline_seen = false;
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "token" if q.token.is_none() => q.token = Some(value),
            "inline" if !inline_seen => {
                inline_seen = true;
                q.inline = matches!(value, "1" | "true");
            }
            _ => {}
        }
    }
    q
}

/// One download request, after routing: `segment` is the raw (percent-encoded) last path segment.
pub(crate) async fn serve(
    deps: &Deps<'_>,
    peer: IpAddr,
    kind: FileKind,
    segment: &str,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    let ip = client_ip(peer, headers, deps.server);
    let now = deps.clock.elapsed();
    let rate = deps.rate_buckets.bucket(ip, now);
    let taken = rate.lock().unwrap_or_else(|p| p.into_inner()).try_take(now);
    if let Err(retry_ms) = taken {
        return http_error_retry(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            retry_ms.div_ceil(1000),
        );
    }

    let query = parse_query(query);
    let name = decode_segment(segment);
    let valid_name = name.as_deref().filter(|n| camera_api::methods::is_valid_filename(n));
    match credential(headers) {
        Some(token) => {
            if let Err(retry_ms) = deps.auth_failures.check(ip, now) {
                return auth_rate_limited(retry_ms);
            }
            if let Err(e) = deps.auth.authenticate(token).await {
                if e.kind == ErrorKind::Unauthenticated {
                    deps.auth_failures.record_failure(ip, deps.clock.elapsed());
                }
                return credential_error(e);
            }
        }
        None => {
            let Some(token) = query.token else {
                return unauthorized(
                    "auth_required",
                    "Credentials required: Authorization, X-API-Key or ?token=",
                );
            };
            if let Err(retry_ms) = deps.auth_failures.check(ip, now) {
                return auth_rate_limited(retry_ms);
            }
            let redeemed = deps
                .tokens
                .redeem(token, kind, valid_name.unwrap_or(""), |id| deps.auth.check_session(id));
            match redeemed {
                Ok(_) => {}
                Err(Rejected::ScopeMismatch) if valid_name.is_some() => {
                    return http_error(
                        StatusCode::FORBIDDEN,
                        "token_scope_mismatch",
                        "The download token was issued for another file",
                    );
                }
                // A valid token with a bad name: the name is the problem.
                Err(Rejected::ScopeMismatch) => {}
                Err(Rejected::Invalid) => {
                    deps.auth_failures.record_failure(ip, now);
                    return unauthorized("download_token_invalid", "Unknown or expired download token");
                }
                Err(Rejected::Credential(e)) => {
                    deps.auth_failures.record_failure(ip, now);
                    return unauthorized(e.reason, format!("The download token is void: {}", e.details));
                }
            }
        }
    }
    let Some(name) = valid_name else {
        return http_error(StatusCode::BAD_REQUEST, "invalid_filename", "Invalid file name");
    };

    let file = match open(deps.files, kind, name).await {
        Ok(file) => file,
        Err(response) => return response,
    };
    let in_progress = kind == FileKind::Recording && deps.recorder.files_in_progress().iter().any(|f| f == name);
    respond(file, kind, name, in_progress, method, headers, query.inline).await
}

/// An open file and what was true of it when it was opened.
struct OpenFile {
    file: tokio::fs::File,
    size: u64,
    modified: SystemTime,
}

/// Resolves the name through the catalogue and opens it without following links.
async fn open(files: &FileCatalog, kind: FileKind, name: &str) -> Result<OpenFile, Response> {
    let path = files.path_of(kind, name).await.map_err(|e| match e.kind {
        ErrorKind::InvalidArgument => http_error(StatusCode::BAD_REQUEST, "invalid_filename", "Invalid file name"),
        ErrorKind::NotFound => not_found(kind, name),
        _ => unavailable(&e),
    })?;
    let opened = tokio::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .await;
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(not_found(kind, name));
        }
        Err(e) => return Err(unavailable(&Error::from(e))),
    };
    let meta = file.metadata().await.map_err(|e| unavailable(&Error::from(e)))?;
    if !meta.is_file() {
        return Err(not_found(kind, name));
    }
    Ok(OpenFile {
        file,
        size: meta.len(),
        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    })
}

async fn respond(
    open: OpenFile,
    kind: FileKind,
    name: &str,
    in_progress: bool,
    method: &Method,
    headers: &HeaderMap,
    inline: bool,
) -> Response {
    let OpenFile {
        mut file,
        size,
        modified,
    } = open;
    let etag = conditional::etag(size, modified);
    let modified_secs = conditional::unix_seconds(modified);
    let cache_control = if in_progress { "no-store" } else { "private, no-cache" };
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());

    // Validators first (RFC 9110 §13.2.2): If-None-Match, else If-Modified-Since.
    let inm: Vec<&str> = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let not_modified = if headers.contains_key(header::IF_NONE_MATCH) {
        conditional::none_match(&inm, &etag)
    } else {
        text(header::IF_MODIFIED_SINCE).is_some_and(|v| conditional::not_modified_since(v, modified_secs))
    };
    if not_modified {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let h = response.headers_mut();
        put(h, header::ETAG, &etag);
        put(h, header::LAST_MODIFIED, &conditional::format_http_date(modified_secs));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
        return response;
    }

    // Range applies to GET only, and only while If-Range (when sent) still matches.
    let range = match text(header::RANGE) {
        Some(r)
            if *method == Method::GET
                && text(header::IF_RANGE).is_none_or(|v| conditional::if_range_matches(v, &etag, modified_secs)) =>
        {
            conditional::parse_range(r, size)
        }
        _ => RangeRequest::Whole,
    };
    let (status, start, len) = match range {
        RangeRequest::Whole => (StatusCode::OK, 0, size),
        RangeRequest::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            let mut response = http_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("The range is outside the file ({size} bytes)"),
            );
            let h = response.headers_mut();
            put(h, header::CONTENT_RANGE, &format!("bytes */{size}"));
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return response;
        }
    };

    let body = if *method == Method::HEAD || len == 0 {
        Body::empty()
    } else {
        if start > 0
            && let Err(e) = file.seek(SeekFrom::Start(start)).await
        {
            return unavailable(&Error::from(e));
        }
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file.take(len), CHUNK))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    put(h, header::CONTENT_LENGTH, &len.to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        put(
            h,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    let disposition = if inline { "inline" } else { "attachment" };
    // The filename rule leaves only [A-Za-z0-9._-], so the quoted form needs no escaping.
    put(
        h,
        header::CONTENT_DISPOSITION,
        &format!("{disposition}; filename=\"{name}\""),
    );
    put(h, header::ETAG, &etag);
    put(h, header::LAST_MODIFIED, &conditional::format_http_date(modified_secs));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    tracing::debug!(
        kind = kind.as_str(),
        filename = name,
        status = status.as_u16(),
        start,
        len,
        "download"
    );
    response
}

/// `Content-Type` by extension.
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
    match ext.as_str() {
        "mp4" => "video/mp4",
        "mkv" => "video/x-matroska",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

/// Sets a header from text we built; values that cannot be a header (never expected) are left out.
fn put(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn unauthorized(reason: &str, message: impl Into<String>) -> Response {
    let mut response = http_error(StatusCode::UNAUTHORIZED, reason, message);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn auth_rate_limited(retry_ms: u64) -> Response {
    http_error_retry(
        StatusCode::TOO_MANY_REQUESTS,
        "auth_rate_limited",
        "Too many failed authentication attempts",
        retry_ms.div_ceil(1000),
    )
}

/// A rejected header credential.
fn credential_error(e: Error) -> Response {
    match e.kind {
        ErrorKind::RateLimited => {
            auth_rate_limited(e.data.get("retry_after_ms").and_then(|v| v.as_u64()).unwrap_or(1000))
        }
        ErrorKind::Unauthenticated => unauthorized(e.reason, e.details),
        _ => unavailable(&e),
    }
}

fn not_found(kind: FileKind, name: &str) -> Response {
    http_error(
        StatusCode::NOT_FOUND,
        "file_not_found",
        format!("No {} named {name}", kind.as_str()),
    )
}

fn unavailable(e: &Error) -> Response {
    tracing::warn!(error = %e, "download failed");
    http_error(StatusCode::SERVICE_UNAVAILABLE, e.reason, e.details.clone())
}

#[cfg(test)]
mod tests;
