//! File downloads (API.md §3.4, §4.1 `get_download_url`, §6.2): short-lived download tokens and the
//! `GET`/`HEAD /files/recordings/{filename}` and `/files/snapshots/{filename}` endpoints.
//!
//! - [`tokens`]: [`DownloadTokens`], the bounded in-memory token store (issue, redeem, scope, expiry on the
//!   injected clock, voided with the issuing credential).
//! - [`http`]: the endpoint: authentication order, name resolution through the media catalogue only, streaming
//!   bodies, and the `camera_service_file_downloads_total{kind,status}` metric.
//! - [`conditional`]: the pure header logic (Range, ETag, If-None-Match, If-Modified-Since, If-Range,
//!   HTTP-dates).
//!
//! Invariants: no request can name a file outside the storage folders (names go through
//! `FileCatalog::path_of`, symlinks are never followed); no download reads a whole file into memory; tokens
//! never outlive `security.download_token_ttl` nor the credential that asked for them.

pub mod conditional;
pub mod http;
pub mod tokens;

pub use tokens::DownloadTokens;

use crate::media::files::FileKind;

/// The contract's `kind` param (`recording` | `snapshot`).
pub fn parse_kind(kind: &str) -> Option<FileKind> {
    match kind {
        "recording" => Some(FileKind::Recording),
        "snapshot" => Some(FileKind::Snapshot),
        _ => None,
    }
}

/// `/files/<kind>s/<filename>?token=<token>` (the filename rule makes escaping unnecessary).
pub fn token_path(kind: FileKind, filename: &str, token: &str) -> String {
    format!("/files/{}/{filename}?token={token}", kind.url_dir())
}

/// The absolute base of download URLs: `server.public_base_url` when set, else the scheme and `Host` the caller
/// used (`request_base`), else `fallback` (scheme and configured listen address).
pub fn url_base(
    public_base_url: Option<&str>,
    request_base: Option<String>,
    fallback: impl FnOnce() -> String,
) -> String {
    match public_base_url {
        Some(base) if !base.trim().is_empty() => base.trim().trim_end_matches('/').to_owned(),
        _ => request_base.unwrap_or_else(fallback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            token_path(FileKind::Recording, "a.mp4", "dlt_x"),
            "/files/recordings/a.mp4?token=dlt_x"
        );
        assert_eq!(
            token_path(FileKind::Snapshot, "a.jpg", "t"),
            "/files/snapshots/a.jpg?token=t"
        );
        let never = || unreachable!();
        assert_eq!(
            url_base(Some("https://cam.example/base/"), Some("http://h:1".into()), never),
            "https://cam.example/base"
        );
        assert_eq!(url_base(None, Some("http://h:1".into()), never), "http://h:1");
        assert_eq!(
            url_base(Some(""), None, || "http://0.0.0.0:8002".into()),
            "http://0.0.0.0:8002"
        );
        assert_eq!(parse_kind("recording"), Some(FileKind::Recording));
        assert_eq!(parse_kind("video"), None);
    }
}
