//! The MediaMTX Control API v3 client (`shared/mediamtx/openapi.yaml`), over reqwest with rustls.
//!
//! Owns: the HTTP client (timeouts, credentials), the typed request and response bodies of the subset the
//! service uses (`/v3/info`, `/v3/config/paths/{list,replace,delete}`, `/v3/paths/{list,get}`), pagination, and
//! the classification of failures into [`ClientError`].
//!
//! Invariants:
//! - Every request is bounded: connect within [`CONNECT_TIMEOUT`], the whole exchange within
//!   [`REQUEST_TIMEOUT`] (real time: these bound the network, not domain time). A refused or timed-out
//!   connection is [`ClientError::Unreachable`], which callers turn into -32050 `mediamtx_unavailable` at once.
//! - `GET /v3/info`, the liveness check, always goes over a fresh connection: a kept-alive connection can outlive
//!   the MediaMTX it was opened to, and the check must see whether MediaMTX accepts connections now. The other
//!   requests reuse pooled connections.
//! - Request bodies are only ever built from [`PathConfWrite`], which has exactly the fields the service owns
//!   (all named as in the spec's `PathConf`). A configuration read back from MediaMTX ([`PathConfRead`]) cannot
//!   be serialized, so a read document (whose secrets come back as `<redacted>`) is never sent back.
//! - Response types accept what older MediaMTX versions send: fields added after v1.2 are optional and fall
//!   back to their deprecated twins (`available` → `ready`, `outboundBytes` → `bytesSent`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Time limit to establish a connection to the Control API.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Time limit of one whole request (the health check of API.md §7 allows 2 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Page size asked for when listing.
const PAGE_SIZE: u32 = 1000;
/// Pages fetched at most by one listing (bounds memory and time if a server misbehaves).
const MAX_PAGES: u32 = 64;
/// Longest MediaMTX error message kept.
const MAX_MESSAGE: usize = 300;

/// Control API credentials (`mediamtx.api_user` / `api_password`, or `api_token`).
#[derive(Clone, Default)]
pub enum ApiAuth {
    #[default]
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiAuth::None => f.write_str("None"),
            ApiAuth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            ApiAuth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// How a Control API call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// No answer: connection refused or reset, name resolution failed, or time limit reached.
    Unreachable(String),
    /// MediaMTX answered with an error status; `message` is its `error` text (or the body).
    Status { status: u16, message: String },
    /// The answer does not have the shape the spec gives.
    Decode(String),
}

impl ClientError {
    /// MediaMTX is not there (or not answering): the link is down.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable(_))
    }

    /// Credentials were rejected (401/403): MediaMTX is there but unusable.
    pub fn is_auth(&self) -> bool {
        matches!(self, ClientError::Status { status: 401 | 403, .. })
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Unreachable(why) => write!(f, "MediaMTX is unreachable: {why}"),
            ClientError::Status { status, message } => write!(f, "MediaMTX answered {status}: {message}"),
            ClientError::Decode(why) => write!(f, "unexpected MediaMTX answer: {why}"),
        }
    }
}

/// `GET /v3/info` (MediaMTX ≥ v1.15; older versions answer 404).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Info {
    #[serde(default)]
    pub version: String,
    /// When this MediaMTX process started; changes on every restart.
    #[serde(default)]
    pub started: String,
}

/// The `{itemCount, pageCount, items}` envelope of every list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage<T> {
    #[serde(default)]
    page_count: u64,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

/// A path configuration as the service writes it (`PathConf` in the spec). Only the fields the service owns;
/// every other field is left to MediaMTX's `pathDefaults` by replace semantics. Serialize-only on purpose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathConfWrite {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_on_demand: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_on_demand_start_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_on_demand_close_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_on_demand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_on_demand_restart: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_on_demand_start_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_on_demand_close_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_segment_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_delete_after: Option<String>,
}

/// A path configuration read from MediaMTX: the fields the service compares, nothing else. Deserialize-only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PathConfRead {
    pub name: String,
    pub source: Option<String>,
    pub source_on_demand: Option<bool>,
    pub source_on_demand_start_timeout: Option<String>,
    pub source_on_demand_close_after: Option<String>,
    pub run_on_demand: Option<String>,
    pub run_on_demand_restart: Option<bool>,
    pub run_on_demand_start_timeout: Option<String>,
    pub run_on_demand_close_after: Option<String>,
    pub record: Option<bool>,
    pub record_path: Option<String>,
    pub record_format: Option<String>,
    pub record_segment_duration: Option<String>,
    pub record_delete_after: Option<String>,
}

/// `PathSource` / `PathReader`: `{type, id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PathPeer {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub id: String,
}

/// The runtime state of a path (`Path` in the spec).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PathState {
    pub name: String,
    pub conf_name: String,
    /// v1.16+; `ready` before.
    pub available: Option<bool>,
    pub available_time: Option<String>,
    pub ready: Option<bool>,
    pub ready_time: Option<String>,
    pub online: Option<bool>,
    pub source: Option<PathPeer>,
    pub readers: Vec<PathPeer>,
    /// v1.16+; `bytesSent` before.
    pub outbound_bytes: Option<u64>,
    pub bytes_sent: Option<u64>,
    pub inbound_bytes: Option<u64>,
    pub bytes_received: Option<u64>,
}

impl PathState {
    /// Online and readable.
    pub fn is_available(&self) -> bool {
        self.available.or(self.ready).unwrap_or(false)
    }

    /// When it became available (RFC 3339 with nanoseconds), if it is.
    pub fn available_since(&self) -> Option<&str> {
        if !self.is_available() {
            return None;
        }
        self.available_time.as_deref().or(self.ready_time.as_deref())
    }

    /// Bytes sent to readers.
    pub fn bytes_out(&self) -> u64 {
        self.outbound_bytes.or(self.bytes_sent).unwrap_or(0)
    }

    /// Source type (`rtspSession`, `rtspSource`, ...) or `"none"`.
    pub fn source_kind(&self) -> &str {
        self.source
            .as_ref()
            .map(|s| s.kind.as_str())
            .filter(|k| !k.is_empty())
            .unwrap_or("none")
    }
}

/// The `{status:"error", error}` body.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: String,
}

/// Talks to one MediaMTX Control API.
#[derive(Clone)]
pub struct MediamtxClient {
    http: reqwest::Client,
    /// Keeps no idle connection: every request on it connects afresh (the liveness check).
    fresh: reqwest::Client,
    base: String,
    auth: ApiAuth,
}

impl std::fmt::Debug for MediamtxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediamtxClient")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .finish()
    }
}

impl MediamtxClient {
    /// A client for the API at `api_url` (e.g. `http://127.0.0.1:9997`).
    pub fn new(api_url: &str, auth: ApiAuth) -> Result<MediamtxClient, ClientError> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .no_proxy()
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| ClientError::Unreachable(format!("cannot build the HTTP client: {e}")))
        };
        Ok(MediamtxClient {
            http: built(builder().pool_idle_timeout(Duration::from_secs(30)))?,
            fresh: built(builder().pool_max_idle_per_host(0))?,
            base: api_url.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    /// The API base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /v3/info`, over a fresh connection (see the module docs).
    pub async fn info(&self) -> Result<Info, ClientError> {
        self.get_json_over(&self.fresh, "/v3/info").await
    }

    /// `GET /v3/config/paths/list`, every page.
    pub async fn config_paths(&self) -> Result<Vec<PathConfRead>, ClientError> {
        self.list("/v3/config/paths/list").await
    }

    /// `GET /v3/paths/list`, every page.
    pub async fn paths(&self) -> Result<Vec<PathState>, ClientError> {
        self.list("/v3/paths/list").await
    }

    /// `GET /v3/paths/get/{name}`; `None` when the path does not exist (404).
    pub async fn path(&self, name: &str) -> Result<Option<PathState>, ClientError> {
        match self.get_json(&format!("/v3/paths/get/{name}")).await {
            Ok(p) => Ok(Some(p)),
            Err(ClientError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v3/config/paths/replace/{name}`: sets the whole configuration (unspecified fields back to
    /// `pathDefaults`); creates the path when missing.
    pub async fn replace_path(&self, name: &str, conf: &PathConfWrite) -> Result<(), ClientError> {
        let req = self
            .http
            .post(format!("{}/v3/config/paths/replace/{name}", self.base))
            .json(conf);
        self.send(req).await.map(drop)
    }

    /// `DELETE /v3/config/paths/delete/{name}`; `false` when it did not exist (404).
    pub async fn delete_path(&self, name: &str) -> Result<bool, ClientError> {
        let req = self.http.delete(format!("{}/v3/config/paths/delete/{name}", self.base));
        match self.send(req).await {
            Ok(_) => Ok(true),
            Err(ClientError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ClientError> {
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let url = format!("{path}?itemsPerPage={PAGE_SIZE}&page={page}");
            let got: ListPage<T> = self.get_json(&url).await?;
            items.extend(got.items);
            if u64::from(page) + 1 >= got.page_count {
                break;
            }
        }
        Ok(items)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.get_json_over(&self.http, path).await
    }

    async fn get_json_over<T: DeserializeOwned>(&self, http: &reqwest::Client, path: &str) -> Result<T, ClientError> {
        let req = http.get(format!("{}{path}", self.base));
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(format!("GET {path}: {e}")))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, ClientError> {
        let req = match &self.auth {
            ApiAuth::None => req,
            ApiAuth::Basic { user, password } => req.basic_auth(user, Some(password)),
            ApiAuth::Bearer(token) => req.bearer_auth(token),
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(unreachable)?;
        if (200..300).contains(&status) {
            return Ok(body.to_vec());
        }
        let message = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) if !e.error.is_empty() => e.error,
            _ => String::from_utf8_lossy(&body).trim().to_owned(),
        };
        Err(ClientError::Status {
            status,
            message: cut(message),
        })
    }
}

fn unreachable(e: reqwest::Error) -> ClientError {
    // Never include the URL's userinfo; reqwest's message names the URL without credentials.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut why = kind.to_owned();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        why = format!("{why}: {s}");
        source = s.source();
    }
    ClientError::Unreachable(cut(why))
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_state_reads_recorded_and_legacy_shapes() {
        // From fixture 004 (v1.20.1), while a reader is connected.
        let live: PathState = serde_json::from_value(json!({"name":"camera0","confName":"camera0","ready":true,
            "readyTime":"2026-11-22T02:54:22.169888934Z","available":true,
            "availableTime":"2026-11-22T02:54:22.169888934Z","online":true,
            "onlineTime":"2026-11-22T02:54:22.169892941Z",
            "source":{"type":"rtspSession","id":"70bb9367-7eb4-48e5-87d7-60f684849549"},"tracks":["H264"],
            "tracks2":[{"codec":"H264","codecProps":{"width":640,"height":480,"profile":"Baseline","level":"2.2"}}],
            "readers":[{"type":"rtspSession","id":"a811fc94-b02d-4724-bb5a-303ae7a0214c"}],
            "inboundBytes":115898,"outboundBytes":115898,"inboundFramesInError":0,"bytesReceived":115898,
            "bytesSent":115898}))
        .expect("fixture shape");
        assert!(live.is_available());
        assert_eq!(live.available_since(), Some("2026-11-22T02:54:22.169888934Z"));
        assert_eq!(
            (live.source_kind(), live.readers.len(), live.bytes_out()),
            ("rtspSession", 1, 115898)
        );
        // Fresh path (fixture 004 step 2): source null.
        let idle: PathState = serde_json::from_value(json!({"name":"camera0","confName":"camera0","ready":false,
            "readyTime":null,"available":false,"availableTime":null,"online":false,"onlineTime":null,
            "source":null,"tracks":[],"tracks2":[],"readers":[],"inboundBytes":0,"outboundBytes":0,
            "inboundFramesInError":0,"bytesReceived":0,"bytesSent":0}))
        .expect("fixture shape");
        assert!(!idle.is_available());
        assert_eq!((idle.source_kind(), idle.available_since()), ("none", None));
        // An older MediaMTX: only the deprecated names.
        let old: PathState = serde_json::from_value(
            json!({"name":"x","ready":true,"readyTime":"2024-01-01T00:00:00Z","bytesSent":7,"readers":[]}),
        )
        .expect("legacy shape");
        assert!(old.is_available());
        assert_eq!(old.bytes_out(), 7);
    }

    #[test]
    fn write_body_has_only_set_fields_in_spec_names() {
        let conf = PathConfWrite {
            source: Some("publisher".into()),
            run_on_demand: Some("ffmpeg".into()),
            run_on_demand_restart: Some(true),
            run_on_demand_close_after: Some("10s".into()),
            record: Some(false),
            record_path: Some("/r/%path_%Y".into()),
            record_format: Some("fmp4".into()),
            record_segment_duration: Some("60s".into()),
            ..PathConfWrite::default()
        };
        assert_eq!(
            serde_json::to_value(&conf).expect("json"),
            json!({"source":"publisher","runOnDemand":"ffmpeg","runOnDemandRestart":true,
                   "runOnDemandCloseAfter":"10s","record":false,"recordPath":"/r/%path_%Y","recordFormat":"fmp4",
                   "recordSegmentDuration":"60s"})
        );
    }

    #[test]
    fn auth_is_never_printed() {
        let basic = ApiAuth::Basic {
            user: "u".into(),
            password: "secret".into(),
        };
        assert!(!format!("{basic:?}").contains("secret"));
        assert!(!format!("{:?}", ApiAuth::Bearer("tok".into())).contains("tok"));
    }

    #[tokio::test]
    async fn refused_connection_is_unreachable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let client = MediamtxClient::new(&format!("http://127.0.0.1:{port}/"), ApiAuth::None).expect("client");
        let started = std::time::Instant::now();
        let err = client.info().await.expect_err("nothing listens");
        assert!(err.is_unreachable(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
