//! HTTP downloads of recordings and snapshots (API.md §6.2): `GET /files/{recordings|snapshots}/{name}`
//! authenticated with the client's credential as `Authorization: Bearer`, streamed to a file with a progress
//! callback.
//!
//! Resuming: when the destination file already exists, only the missing tail is requested
//! (`Range: bytes=<len>-`). A 206 appends; a 200 (server ignored the range) rewrites the file; a 416 whose
//! `Content-Range: bytes */<size>` equals the local length means the file is already complete, and any other
//! 416 (the local file is longer than the remote one) starts over. An interrupted transfer leaves the
//! partial file in place for the next attempt. Each read waits at most the client's call timeout.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::client::Client;
use crate::error::SdkError;

/// Which kind of file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A recording segment (`/files/recordings/…`).
    Recording,
    /// A snapshot (`/files/snapshots/…`).
    Snapshot,
}

impl FileKind {
    /// The wire name (`recording`, `snapshot`), as in `get_download_url.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Recording => "recording",
            FileKind::Snapshot => "snapshot",
        }
    }

    /// The URL directory (`recordings`, `snapshots`).
    pub fn dir(self) -> &'static str {
        match self {
            FileKind::Recording => "recordings",
            FileKind::Snapshot => "snapshots",
        }
    }

    /// Guesses the kind from a file name's extension (`.mp4`/`.mkv` recordings, `.jpg`/`.jpeg`/`.png`
    /// snapshots).
    pub fn from_filename(name: &str) -> Option<FileKind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "mp4" | "mkv" => Some(FileKind::Recording),
            "jpg" | "jpeg" | "png" => Some(FileKind::Snapshot),
            _ => None,
        }
    }
}

impl FromStr for FileKind {
    type Err = SdkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "recording" | "recordings" => Ok(FileKind::Recording),
            "snapshot" | "snapshots" => Ok(FileKind::Snapshot),
            other => Err(SdkError::InvalidArgument(format!(
                "unknown file kind {other:?} (expected recording or snapshot)"
            ))),
        }
    }
}

/// Progress of one download, passed to the callback after every chunk (and once at the start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes in the destination file so far (including a resumed prefix).
    pub downloaded: u64,
    /// Size of the whole file, when the server said.
    pub total: Option<u64>,
    /// Bytes that were already present when this download started.
    pub resumed_from: u64,
}

/// What a finished download did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// The destination file.
    pub path: PathBuf,
    /// Its final size.
    pub size: u64,
    /// Bytes transferred by this call (0 when the file was already complete).
    pub transferred: u64,
    /// Bytes that were already present and kept.
    pub resumed_from: u64,
}

/// Whether `name` satisfies the contract's file-name rule (API.md §4.0).
pub fn is_valid_filename(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.contains("..")
}

/// A parsed `Content-Range` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContentRange {
    /// `bytes a-b/size` (size may be `*`).
    Range { start: u64, size: Option<u64> },
    /// `bytes */size`.
    Unsatisfied { size: u64 },
}

fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, size) = rest.split_once('/')?;
    if range == "*" {
        return Some(ContentRange::Unsatisfied {
            size: size.parse().ok()?,
        });
    }
    let (start, _end) = range.split_once('-')?;
    let size = if size == "*" { None } else { Some(size.parse().ok()?) };
    Some(ContentRange::Range {
        start: start.parse().ok()?,
        size,
    })
}

/// The SDK error for an HTTP error response, from its §6.4 body when it has one.
fn http_error(status: StatusCode, body: &[u8]) -> SdkError {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let field = |k: &str| {
        error
            .and_then(|e| e.get(k))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    SdkError::Http {
        status: status.as_u16(),
        reason: field("reason"),
        message: field("message").unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    }
}

impl Client {
    /// Downloads a recording or snapshot to `dest`, resuming a partial file (see the module docs), and
    /// calls `progress` as bytes arrive.
    pub async fn download(
        &self,
        kind: FileKind,
        filename: &str,
        dest: impl AsRef<Path>,
        mut progress: impl FnMut(DownloadProgress),
    ) -> Result<DownloadOutcome, SdkError> {
        if !is_valid_filename(filename) {
            return Err(SdkError::InvalidArgument(format!(
                "{filename:?} is not a valid file name"
            )));
        }
        let url = self
            .shared
            .endpoint
            .http_url(&format!("/files/{}/{filename}", kind.dir()))?;
        let fetch = Fetch {
            http: self.shared.http()?,
            url,
            token: self.shared.credentials().token().to_owned(),
            timeout: self.timeout(),
        };
        fetch.run(dest.as_ref(), &mut progress).await
    }
}

/// One HTTP download: where from, with which bearer token, and how long each read may wait.
struct Fetch<'a> {
    http: &'a reqwest::Client,
    url: reqwest::Url,
    token: String,
    timeout: Duration,
}

impl Fetch<'_> {
    async fn run(&self, dest: &Path, progress: &mut impl FnMut(DownloadProgress)) -> Result<DownloadOutcome, SdkError> {
        let mut existing = match tokio::fs::metadata(dest).await {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => {
                return Err(SdkError::InvalidArgument(format!(
                    "{} exists and is not a file",
                    dest.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        // At most one restart from scratch (local file longer than the remote one, or a changed file).
        for _ in 0..2 {
            let mut request = self.http.get(self.url.clone()).bearer_auth(&self.token);
            if existing > 0 {
                request = request.header(RANGE, format!("bytes={existing}-"));
            }
            let response = tokio::time::timeout(self.timeout, request.send())
                .await
                .map_err(|_| SdkError::Timeout(self.timeout))?
                .map_err(|e| SdkError::Connection(e.to_string()))?;
            let status = response.status();
            let range = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range);
            match (status, range) {
                (StatusCode::PARTIAL_CONTENT, Some(ContentRange::Range { start, size })) if start == existing => {
                    let file = tokio::fs::OpenOptions::new().append(true).open(dest).await?;
                    return self.write_body(response, file, dest, existing, size, progress).await;
                }
                (StatusCode::OK, _) => {
                    let total = response.content_length();
                    let file = tokio::fs::File::create(dest).await?;
                    return self.write_body(response, file, dest, 0, total, progress).await;
                }
                (StatusCode::RANGE_NOT_SATISFIABLE, Some(ContentRange::Unsatisfied { size }))
                    if existing > 0 && size == existing =>
                {
                    progress(DownloadProgress {
                        downloaded: size,
                        total: Some(size),
                        resumed_from: size,
                    });
                    return Ok(DownloadOutcome {
                        path: dest.to_owned(),
                        size,
                        transferred: 0,
                        resumed_from: size,
                    });
                }
                (StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE, _) if existing > 0 => {
                    existing = 0;
                }
                (status, _) => {
                    let body = response.bytes().await.unwrap_or_default();
                    return Err(http_error(status, &body));
                }
            }
        }
        Err(SdkError::Protocol(
            "the server did not honour the download range".to_owned(),
        ))
    }

    /// Streams the body into `file`, which already holds `start` bytes.
    async fn write_body(
        &self,
        mut response: reqwest::Response,
        file: tokio::fs::File,
        dest: &Path,
        start: u64,
        total: Option<u64>,
        progress: &mut impl FnMut(DownloadProgress),
    ) -> Result<DownloadOutcome, SdkError> {
        let mut out = BufWriter::new(file);
        let mut done = start;
        let report = |done| DownloadProgress {
            downloaded: done,
            total,
            resumed_from: start,
        };
        progress(report(done));
        loop {
            let chunk = tokio::time::timeout(self.timeout, response.chunk())
                .await
                .map_err(|_| SdkError::Timeout(self.timeout));
            let chunk = match chunk {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    out.flush().await?;
                    return Err(SdkError::Connection(format!(
                        "download interrupted at {done} bytes ({e}); run it again to resume"
                    )));
                }
                Err(e) => {
                    out.flush().await?;
                    return Err(e);
                }
            };
            let Some(bytes) = chunk else { break };
            out.write_all(&bytes).await?;
            done += bytes.len() as u64;
            progress(report(done));
        }
        out.flush().await?;
        out.into_inner().sync_all().await?;
        if let Some(total) = total
            && done != total
        {
            return Err(SdkError::Connection(format!(
                "download ended at {done} of {total} bytes; run it again to resume"
            )));
        }
        Ok(DownloadOutcome {
            path: dest.to_owned(),
            size: done,
            transferred: done - start,
            resumed_from: start,
        })
    }
}

#[cfg(test)]
mod tests;
