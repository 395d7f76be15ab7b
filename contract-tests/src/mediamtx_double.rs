//! A MediaMTX test double: the subset of the Control API v3 that camera-service uses, with the behaviour and
//! error bodies of the recorded MediaMTX v1.20.1 fixtures (`mediamtx/fixtures`, `mediamtx/SOURCE.md`).
//!
//! Served on 127.0.0.1 (port 0 unless told otherwise):
//! - `GET /v3/info`; `GET /v3/config/paths/{list,get/NAME}`, `POST /v3/config/paths/{add,replace}/NAME`,
//!   `PATCH /v3/config/paths/patch/NAME`, `DELETE /v3/config/paths/delete/NAME`; `GET /v3/paths/{list,get/NAME}`.
//!   Anything else, including a wrong method on a known URL, is the router's plain-text `404 page not found`.
//! - Strict bodies: every key must be a property of `PathConf` in the vendored `openapi.yaml` (parsed at start)
//!   with a JSON type the spec allows, else 400 `json: unknown field "x"` / `json: cannot unmarshal ...`; such a
//!   request is also recorded as a *violation* ([`MediamtxDouble::violations`]) so a test fails when the service
//!   sends a field the spec does not have. Then MediaMTX's own checks (source, `sourceOnDemand` with a
//!   publisher, `recordPath`, durations, path names), duplicate add → 400 `path already exists`, unknown path →
//!   404. Add and replace fill unspecified fields from the path defaults recorded in fixture 005; replace
//!   creates a missing path; PATCH merges.
//! - Runtime paths: every configured path exists at once in the fresh state (`available:false`, `source:null`).
//!   An on-demand path (`runOnDemand`, or a URL source with `sourceOnDemand`) becomes available
//!   [`DoubleOptions::ondemand_delay`] after its first reader arrives and returns to the fresh state
//!   `runOnDemandCloseAfter` after the last one leaves. A non-on-demand pull source shows fixture 007's
//!   "retrying" shape. Changing any field but the `record*` ones recreates the path and drops its readers
//!   (fixture 012; `record` is hot in fixture 004, the other `record*` fields are hot in MediaMTX's source).
//! - Recorder: while a path has `record: true` and is available, segment files are written at its `recordPath`
//!   (`%path`, `%Y %m %d %H %M %S` in UTC, `%f` microseconds, `%s` Unix seconds expanded; `.mp4` appended, as
//!   MediaMTX does), the first one at once and a new one every `recordSegmentDuration`. Each file is a small
//!   real fragmented MP4 (1 s of H.264 made once with ffmpeg) so ffprobe can read it. Recording stops with the
//!   flag, with the publisher, on restart and on kill.
//! - Readers: RTSP clients of the fake RTSP port (a request for `rtsp://host:port/NAME` registers a reader of
//!   NAME until the connection closes; OPTIONS is answered, later requests are left waiting like a slow
//!   server), or simulated ones ([`MediamtxDouble::add_reader`]).
//! - Operations for tests: [`MediamtxDouble::restart`] (new `started`, API-added paths and readers lost, file
//!   paths kept), [`MediamtxDouble::kill`] / [`MediamtxDouble::revive`] (the ports stop answering, then answer
//!   again on the same ports as a fresh process), [`MediamtxDouble::tamper`] (change a path behind the
//!   service's back), the request log.
//!
//! Time is real (tokio) time: this is a stand-in for an external process.

use hyper::body::{Body as _, Bytes, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The vendored MediaMTX Control API spec.
pub const OPENAPI_YAML: &str = include_str!("../mediamtx/openapi.yaml");
/// Fixture 005 (error shapes); its last step lists `static0` with every path default.
const FIXTURE_005: &str = include_str!("../mediamtx/fixtures/005-errors.json");

const JSON: &str = "application/json; charset=utf-8";
/// Fields MediaMTX parses as durations.
const DURATION_FIELDS: &[&str] = &[
    "sourceOnDemandStartTimeout",
    "sourceOnDemandCloseAfter",
    "recordPartDuration",
    "recordSegmentDuration",
    "recordDeleteAfter",
    "runOnDemandStartTimeout",
    "runOnDemandCloseAfter",
    "whepSTUNGatherTimeout",
    "whepHandshakeTimeout",
    "whepTrackGatherTimeout",
];
/// Source URL schemes MediaMTX accepts (besides `publisher`, `redirect`, `rpiCamera`).
const SOURCE_SCHEMES: &[&str] = &[
    "rtsp://",
    "rtsps://",
    "rtmp://",
    "rtmps://",
    "http://",
    "https://",
    "udp://",
    "udp+mpegts://",
    "unix+mpegts://",
    "udp+rtp://",
    "srt://",
    "whep://",
    "wheps://",
];

/// How the double behaves.
#[derive(Clone, Debug)]
pub struct DoubleOptions {
    pub version: String,
    /// Required credentials; `None`: the API is open (like MediaMTX's default for localhost).
    pub auth: Option<DoubleAuth>,
    /// Time from the first reader to `available` for on-demand paths (the fixtures measured 0.24 s).
    pub ondemand_delay: Duration,
    /// Paths defined "in the config file": they survive restarts.
    pub static_paths: Vec<String>,
    /// API listen address (`127.0.0.1:0` by default).
    pub api_addr: SocketAddr,
    /// Fake RTSP listen address.
    pub rtsp_addr: SocketAddr,
}

impl Default for DoubleOptions {
    fn default() -> Self {
        DoubleOptions {
            version: "v1.20.1".into(),
            auth: None,
            ondemand_delay: Duration::from_millis(250),
            static_paths: vec!["static0".into()],
            api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rtsp_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

#[derive(Clone, Debug)]
pub enum DoubleAuth {
    Basic { user: String, pass: String },
    Bearer(String),
}

/// One request as the double saw it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query.
    pub url: String,
    /// Parsed JSON body (`Value::String` with the raw text when it is not JSON; `Null` when empty).
    pub body: Value,
    pub status: u16,
}

/// A simulated reader ([`MediamtxDouble::add_reader`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReaderId(u64);

/// The type of one `PathConf` property.
#[derive(Clone, Debug, PartialEq)]
struct PropSpec {
    ty: String,
    format: Option<String>,
    items: Option<Box<PropSpec>>,
    enumeration: Option<Vec<String>>,
}

/// `PathConf` from the spec: property name → type.
#[derive(Clone, Debug)]
pub struct PathConfSchema {
    props: BTreeMap<String, PropSpec>,
}

impl PathConfSchema {
    /// Reads `components.schemas.PathConf` from the OpenAPI YAML.
    pub fn from_openapi(yaml: &str) -> Result<PathConfSchema, String> {
        let doc: Value = serde_saphyr::from_str(yaml).map_err(|e| format!("openapi.yaml: {e}"))?;
        let schemas = doc
            .pointer("/components/schemas")
            .ok_or("openapi.yaml has no components.schemas")?;
        let props = schemas
            .pointer("/PathConf/properties")
            .and_then(Value::as_object)
            .ok_or("openapi.yaml has no PathConf.properties")?;
        let mut out = BTreeMap::new();
        for (name, spec) in props {
            out.insert(name.clone(), prop_spec(spec, schemas)?);
        }
        Ok(PathConfSchema { props: out })
    }

    /// Property names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.props.keys().map(String::as_str).collect()
    }

    /// Checks a request body like MediaMTX's strict JSON decoder; the error is MediaMTX's message.
    pub fn check(&self, body: &Value) -> Result<(), String> {
        let Value::Object(map) = body else {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type conf.OptionalPath",
                json_kind(body)
            ));
        };
        for (key, value) in map {
            let Some(spec) = self.props.get(key) else {
                return Err(format!("json: unknown field {}", Value::from(key.as_str())));
            };
            check_type(value, spec)?;
        }
        Ok(())
    }
}

fn prop_spec(spec: &Value, schemas: &Value) -> Result<PropSpec, String> {
    let reference = spec
        .get("$ref")
        .or_else(|| spec.pointer("/allOf/0/$ref"))
        .and_then(Value::as_str);
    if let Some(r) = reference {
        let name = r.rsplit('/').next().unwrap_or(r);
        let target = schemas.get(name).ok_or_else(|| format!("unresolved $ref {r}"))?;
        return prop_spec(target, schemas);
    }
    let ty = spec.get("type").and_then(Value::as_str).unwrap_or("object").to_owned();
    let items = match spec.get("items") {
        Some(i) => Some(Box::new(prop_spec(i, schemas)?)),
        None => None,
    };
    let enumeration = spec.get("enum").and_then(Value::as_array).map(|values| {
        values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect()
    });
    Ok(PropSpec {
        ty,
        format: spec.get("format").and_then(Value::as_str).map(str::to_owned),
        items,
        enumeration,
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn go_type(spec: &PropSpec) -> String {
    match spec.ty.as_str() {
        "boolean" => "bool".into(),
        "string" => "string".into(),
        "integer" => match spec.format.as_deref() {
            Some("uint64") => "uint64".into(),
            _ => "int64".into(),
        },
        "number" => "float64".into(),
        "array" => format!("[]{}", spec.items.as_deref().map_or("interface {}".into(), go_type)),
        _ => "struct".into(),
    }
}

fn check_type(value: &Value, spec: &PropSpec) -> Result<(), String> {
    // Go's decoder treats null as "leave unchanged" for every type.
    if value.is_null() {
        return Ok(());
    }
    let mismatch = || {
        format!(
            "json: cannot unmarshal {} into Go value of type {}",
            json_kind(value),
            go_type(spec)
        )
    };
    let ok = match (spec.ty.as_str(), value) {
        ("boolean", Value::Bool(_)) | ("string", Value::String(_)) | ("object", Value::Object(_)) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => {
            if spec.format.as_deref() == Some("uint64") {
                n.as_u64().is_some()
            } else {
                n.as_i64().is_some()
            }
        }
        ("array", Value::Array(items)) => {
            if let Some(item) = &spec.items {
                for v in items {
                    check_type(v, item)?;
                }
            }
            true
        }
        _ => false,
    };
    if !ok {
        return Err(mismatch());
    }
    if let (Some(allowed), Value::String(s)) = (&spec.enumeration, value)
        && !allowed.contains(s)
    {
        return Err(format!("invalid value '{s}'"));
    }
    Ok(())
}

/// Parses a Go duration (`10s`, `1m0s`, `1.5h`, `250ms`; `0` alone) or MediaMTX's whole days (`1d`): one or
/// more number-and-unit pairs. This is the test oracle of what MediaMTX accepts, so it is written apart from
/// the service's parser rather than shared with it.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    const UNITS: [(&str, f64); 8] = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
        ("d", 86400.0),
    ];
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let numeric = |c: &char| c.is_ascii_digit() || *c == '.';
    let mut chars = s.chars().peekable();
    chars.peek()?;
    let mut seconds = 0f64;
    while chars.peek().is_some() {
        let number: String = std::iter::from_fn(|| chars.next_if(numeric)).collect();
        let unit: String = std::iter::from_fn(|| chars.next_if(|c| !numeric(c))).collect();
        let value: f64 = number.parse().ok()?;
        let (_, scale) = UNITS.iter().find(|(name, _)| *name == unit)?;
        seconds += value * scale;
    }
    Duration::try_from_secs_f64(seconds).ok()
}

/// Runtime state of one configured path.
#[derive(Default)]
struct Runtime {
    /// Bumped by every change; delayed transitions check it.
    generation: u64,
    /// `(since, RFC 3339 time)` while available.
    available: Option<(Instant, String)>,
    source_id: String,
    /// Reader-milliseconds sent before `counted_at`.
    sent_ms: u64,
    counted_at: Option<Instant>,
}

struct Reader {
    path: String,
    id: String,
    kind: &'static str,
    /// Set to true to drop the reader's connection (RTSP readers).
    kick: Option<watch::Sender<bool>>,
}

struct State {
    started: String,
    confs: BTreeMap<String, Map<String, Value>>,
    runtime: HashMap<String, Runtime>,
    readers: BTreeMap<u64, Reader>,
    next_id: u64,
    log: Vec<LoggedRequest>,
    violations: Vec<String>,
    source_reachable: bool,
    up: bool,
    /// Paths being recorded: when their current segment opened.
    segments: HashMap<String, Instant>,
    /// Every segment file written so far, oldest first.
    written: Vec<std::path::PathBuf>,
}

struct Shared {
    state: Mutex<State>,
    schema: PathConfSchema,
    defaults: Map<String, Value>,
    options: DoubleOptions,
}

/// The running double. Dropping it stops its listeners.
pub struct MediamtxDouble {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    rtsp_addr: SocketAddr,
    tasks: tokio::sync::Mutex<JoinSet<()>>,
}

impl MediamtxDouble {
    /// Starts a double with the default options on free ports.
    pub async fn start() -> MediamtxDouble {
        MediamtxDouble::start_with(DoubleOptions::default()).await
    }

    /// Starts a double; panics when the spec or the fixtures cannot be read or the ports cannot be bound.
    pub async fn start_with(options: DoubleOptions) -> MediamtxDouble {
        let schema = PathConfSchema::from_openapi(OPENAPI_YAML).expect("PathConf schema from openapi.yaml");
        let fixture: Value = serde_json::from_str(FIXTURE_005).expect("fixture 005 is JSON");
        let mut defaults = fixture["steps"]
            .as_array()
            .and_then(|steps| steps.last())
            .and_then(|step| step.pointer("/response/body/items/0"))
            .and_then(Value::as_object)
            .cloned()
            .expect("fixture 005 ends with the static0 path configuration");
        defaults.remove("name");
        let mut state = State {
            started: rfc3339_now(),
            confs: BTreeMap::new(),
            runtime: HashMap::new(),
            readers: BTreeMap::new(),
            next_id: 1,
            log: Vec::new(),
            violations: Vec::new(),
            source_reachable: false,
            up: true,
            segments: HashMap::new(),
            written: Vec::new(),
        };
        for name in &options.static_paths {
            let mut conf = defaults.clone();
            conf.insert("name".into(), Value::from(name.as_str()));
            state.confs.insert(name.clone(), conf);
            state.runtime.insert(name.clone(), Runtime::default());
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            schema,
            defaults,
            options: options.clone(),
        });
        let api = bind(options.api_addr).expect("bind the double's API port");
        let rtsp = bind(options.rtsp_addr).expect("bind the double's RTSP port");
        let double = MediamtxDouble {
            api_addr: api.local_addr().expect("api addr"),
            rtsp_addr: rtsp.local_addr().expect("rtsp addr"),
            shared,
            tasks: tokio::sync::Mutex::new(JoinSet::new()),
        };
        double.serve(api, rtsp).await;
        double
    }

    async fn serve(&self, api: TcpListener, rtsp: TcpListener) {
        let mut tasks = self.tasks.lock().await;
        let shared = self.shared.clone();
        let conns = Arc::new(Mutex::new(JoinSet::new()));
        let api_conns = conns.clone();
        tasks.spawn(async move {
            // Connection tasks live in `api_conns`, so aborting this task drops them all.
            let _guard = AbortOnDrop(api_conns.clone());
            while let Ok((stream, _)) = api.accept().await {
                let shared = shared.clone();
                lock(&api_conns).spawn(serve_http(shared, stream));
            }
        });
        let shared = self.shared.clone();
        let rtsp_conns = conns;
        tasks.spawn(async move {
            let _guard = AbortOnDrop(rtsp_conns.clone());
            while let Ok((stream, _)) = rtsp.accept().await {
                let shared = shared.clone();
                lock(&rtsp_conns).spawn(serve_rtsp(shared, stream));
            }
        });
        tasks.spawn(run_recorder(self.shared.clone()));
    }

    /// `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Port of the fake RTSP listener.
    pub fn rtsp_port(&self) -> u16 {
        self.rtsp_addr.port()
    }

    /// `info.started` of the current "process".
    pub fn started(&self) -> String {
        self.state().started.clone()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// Request bodies that did not follow the `PathConf` schema (unknown field or wrong type).
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// The stored configuration of a path (every field, as `config/paths/get` shows it).
    pub fn conf(&self, name: &str) -> Option<Value> {
        self.state().confs.get(name).cloned().map(Value::Object)
    }

    /// The runtime state of a path (as `paths/get` shows it).
    pub fn path(&self, name: &str) -> Option<Value> {
        path_json(&self.state(), name)
    }

    /// Names of the configured paths, sorted.
    pub fn path_names(&self) -> Vec<String> {
        self.state().confs.keys().cloned().collect()
    }

    /// Whether non-on-demand pull sources become available (default false: they keep retrying, fixture 007).
    pub fn set_source_reachable(&self, reachable: bool) {
        self.state().source_reachable = reachable;
    }

    /// Changes a stored path behind the service's back (no validation, no recreation): drift.
    pub fn tamper(&self, name: &str, patch: Value) {
        let mut state = self.state();
        if let (Some(conf), Value::Object(patch)) = (state.confs.get_mut(name), patch) {
            conf.extend(patch);
        }
    }

    /// Removes a path behind the service's back.
    pub fn remove_behind(&self, name: &str) {
        let mut state = self.state();
        state.confs.remove(name);
        drop_path_runtime(&mut state, name);
    }

    /// Adds a simulated reader (an HLS viewer, say) of `name`; `None` when the path is not configured.
    pub fn add_reader(&self, name: &str) -> Option<ReaderId> {
        let id = add_reader(&self.shared, name, "hlsSession", None)?;
        Some(ReaderId(id))
    }

    pub fn remove_reader(&self, reader: ReaderId) {
        remove_reader(&self.shared, reader.0);
    }

    /// Readers of `name` right now (RTSP and simulated).
    pub fn readers(&self, name: &str) -> usize {
        self.state().readers.values().filter(|r| r.path == name).count()
    }

    /// Segment files the simulated recorder has written so far, oldest first.
    pub fn written_segments(&self) -> Vec<std::path::PathBuf> {
        self.state().written.clone()
    }

    /// A MediaMTX restart: new `started`, API-added paths gone, static paths fresh, every reader dropped.
    pub fn restart(&self) {
        let mut state = self.state();
        restart_state(&mut state, &self.shared);
    }

    /// Stops answering: both ports close and every connection drops.
    pub async fn kill(&self) {
        self.state().up = false;
        let mut tasks = self.tasks.lock().await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let mut state = self.state();
        for reader in state.readers.values() {
            if let Some(kick) = &reader.kick {
                kick.send_replace(true);
            }
        }
        state.readers.clear();
        state.segments.clear();
    }

    /// Answers again on the same ports, as a freshly started MediaMTX (runtime configuration lost).
    pub async fn revive(&self) {
        {
            let mut state = self.state();
            restart_state(&mut state, &self.shared);
            state.up = true;
        }
        let api = bind(self.api_addr).expect("re-bind the double's API port");
        let rtsp = bind(self.rtsp_addr).expect("re-bind the double's RTSP port");
        self.serve(api, rtsp).await;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }
}

struct AbortOnDrop(Arc<Mutex<JoinSet<()>>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        lock(&self.0).abort_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

fn restart_state(state: &mut State, shared: &Shared) {
    state.started = rfc3339_now();
    for reader in state.readers.values() {
        if let Some(kick) = &reader.kick {
            kick.send_replace(true);
        }
    }
    state.readers.clear();
    state.segments.clear();
    let statics = &shared.options.static_paths;
    state.confs.retain(|name, _| statics.contains(name));
    for name in statics {
        if !state.confs.contains_key(name) {
            let mut conf = shared.defaults.clone();
            conf.insert("name".into(), Value::from(name.as_str()));
            state.confs.insert(name.clone(), conf);
        }
    }
    state.runtime.clear();
    for name in statics {
        state.runtime.insert(name.clone(), Runtime::default());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/// A response body of one chunk.
struct Full(Option<Bytes>);

impl hyper::body::Body for Full {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|b| Ok(Frame::data(b))))
    }
}

fn respond(status: u16, content_type: &str, body: String) -> Response<Full> {
    let mut resp = Response::new(Full(Some(Bytes::from(body))));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

fn json_reply(status: u16, body: &Value) -> (u16, Value) {
    (status, body.clone())
}

fn ok() -> (u16, Value) {
    json_reply(200, &json!({"status": "ok"}))
}

fn error(status: u16, message: impl Into<String>) -> (u16, Value) {
    json_reply(status, &json!({"status": "error", "error": message.into()}))
}

async fn serve_http(shared: Arc<Shared>, stream: TcpStream) {
    let io = hyper_util::rt::TokioIo::new(stream);
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(shared, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn read_body(mut body: Incoming) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Err(_) => break,
        }
    }
    out
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let authorized = authorized(&shared.options, req.headers());
    let raw = read_body(req.into_body()).await;
    let body = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()))
    };
    let url = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let outcome = if !authorized {
        Some(error(401, "authentication error"))
    } else {
        route(&shared, &method, &path, &query, &raw)
    };
    let status = outcome.as_ref().map_or(404, |(s, _)| *s);
    lock(&shared.state).log.push(LoggedRequest {
        method: method.to_string(),
        url,
        body,
        status,
    });
    match outcome {
        Some((status, body)) => {
            let mut resp = respond(status, JSON, body.to_string());
            if status == 401
                && let Ok(v) = "Basic realm=\"mediamtx\"".parse()
            {
                resp.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
            }
            resp
        }
        None => respond(404, "text/plain", "404 page not found".into()),
    }
}

fn authorized(options: &DoubleOptions, headers: &hyper::HeaderMap) -> bool {
    use base64::Engine as _;
    let Some(auth) = &options.auth else {
        return true;
    };
    let Some(header) = headers.get(hyper::header::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    match auth {
        DoubleAuth::Bearer(token) => header.strip_prefix("Bearer ") == Some(token.as_str()),
        DoubleAuth::Basic { user, pass } => header
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|decoded| decoded == format!("{user}:{pass}").into_bytes()),
    }
}

/// `None`: the router's plain-text 404.
fn route(shared: &Arc<Shared>, method: &Method, path: &str, query: &str, raw: &[u8]) -> Option<(u16, Value)> {
    let name_after = |prefix: &str| path.strip_prefix(prefix).map(percent_decode);
    if path == "/v3/info" {
        return (method == Method::GET).then(|| {
            let state = lock(&shared.state);
            json_reply(
                200,
                &json!({"version": shared.options.version, "started": state.started}),
            )
        });
    }
    if path == "/v3/config/paths/list" {
        return (method == Method::GET).then(|| {
            let state = lock(&shared.state);
            let items: Vec<Value> = state.confs.values().cloned().map(Value::Object).collect();
            paginate(items, query)
        });
    }
    if path == "/v3/paths/list" {
        return (method == Method::GET).then(|| {
            let state = lock(&shared.state);
            let items: Vec<Value> = state.confs.keys().filter_map(|n| path_json(&state, n)).collect();
            paginate(items, query)
        });
    }
    if let Some(name) = name_after("/v3/config/paths/get/") {
        return (method == Method::GET).then(|| match lock(&shared.state).confs.get(&name) {
            Some(conf) => json_reply(200, &Value::Object(conf.clone())),
            None => error(404, "path configuration not found"),
        });
    }
    if let Some(name) = name_after("/v3/paths/get/") {
        return (method == Method::GET).then(|| match path_json(&lock(&shared.state), &name) {
            Some(p) => json_reply(200, &p),
            None => error(404, "path not found"),
        });
    }
    if let Some(name) = name_after("/v3/config/paths/add/") {
        return (method == Method::POST).then(|| write_conf(shared, Write::Add, &name, raw));
    }
    if let Some(name) = name_after("/v3/config/paths/replace/") {
        return (method == Method::POST).then(|| write_conf(shared, Write::Replace, &name, raw));
    }
    if let Some(name) = name_after("/v3/config/paths/patch/") {
        return (method == Method::PATCH).then(|| write_conf(shared, Write::Patch, &name, raw));
    }
    if let Some(name) = name_after("/v3/config/paths/delete/") {
        return (method == Method::DELETE).then(|| {
            let mut state = lock(&shared.state);
            if state.confs.remove(&name).is_none() {
                return error(404, "path not found");
            }
            drop_path_runtime(&mut state, &name);
            ok()
        });
    }
    None
}

fn paginate(items: Vec<Value>, query: &str) -> (u16, Value) {
    let mut per_page = 100u64;
    let mut page = 0u64;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let parsed = match v.parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return error(
                    400,
                    format!("strconv.ParseUint: parsing {}: invalid syntax", Value::from(v)),
                );
            }
        };
        match k {
            "itemsPerPage" => per_page = parsed,
            "page" => page = parsed,
            _ => {}
        }
    }
    if per_page == 0 {
        return error(400, "invalid items per page");
    }
    let total = items.len() as u64;
    let page_count = total.div_ceil(per_page);
    let start = page.saturating_mul(per_page).min(total) as usize;
    let end = (start as u64 + per_page).min(total) as usize;
    json_reply(
        200,
        &json!({"itemCount": total, "pageCount": page_count, "items": items[start..end].to_vec()}),
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Add,
    Replace,
    Patch,
}

fn write_conf(shared: &Arc<Shared>, kind: Write, name: &str, raw: &[u8]) -> (u16, Value) {
    let body: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(e) if e.is_eof() => return error(400, "unexpected end of JSON input"),
        Err(e) => return error(400, format!("invalid character in JSON input: {e}")),
    };
    let mut state = lock(&shared.state);
    if let Err(message) = shared.schema.check(&body) {
        state
            .violations
            .push(format!("{} {name}: {message} in {body}", kind_name(kind)));
        return error(400, message);
    }
    let Value::Object(fields) = body else {
        return error(400, "json: cannot unmarshal into Go value of type conf.OptionalPath");
    };
    if let Err(message) = check_name(name) {
        return error(400, message);
    }
    let existing = state.confs.get(name).cloned();
    let mut conf = match (kind, &existing) {
        (Write::Add, Some(_)) => return error(400, "path already exists"),
        (Write::Patch, None) => return error(404, "path not found"),
        (Write::Patch, Some(old)) => old.clone(),
        _ => shared.defaults.clone(),
    };
    conf.extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
    conf.insert("name".into(), Value::from(name));
    if let Err(message) = validate(&conf) {
        return error(400, message);
    }
    let recreate = match &existing {
        None => true,
        Some(old) => differs_beyond_record(old, &conf),
    };
    state.confs.insert(name.to_owned(), conf);
    if recreate {
        drop_path_runtime(&mut state, name);
        state.runtime.insert(name.to_owned(), Runtime::default());
        drop(state);
        start_static_source(shared, name);
    }
    ok()
}

fn kind_name(kind: Write) -> &'static str {
    match kind {
        Write::Add => "add",
        Write::Replace => "replace",
        Write::Patch => "patch",
    }
}

/// Whether a write changes more than the hot `record*` fields (MediaMTX's `pathConfCanBeUpdated`).
fn differs_beyond_record(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let strip = |m: &Map<String, Value>| {
        let mut m = m.clone();
        m.retain(|k, _| !k.starts_with("record"));
        m
    };
    strip(old) != strip(new)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '~'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid path name '{name}': can contain only alphanumeric characters, underscore, dot, minus, slash"
        ))
    }
}

/// MediaMTX's checks of a merged path configuration (the subset the fixtures show).
fn validate(conf: &Map<String, Value>) -> Result<(), String> {
    let text = |k: &str| conf.get(k).and_then(Value::as_str).unwrap_or("");
    let source = text("source");
    let known = matches!(source, "publisher" | "redirect" | "rpiCamera")
        || SOURCE_SCHEMES.iter().any(|s| source.starts_with(s));
    if !known {
        return Err(format!("invalid source: '{source}'"));
    }
    if source == "publisher" && conf.get("sourceOnDemand") == Some(&Value::Bool(true)) {
        return Err("'sourceOnDemand' is useless when source is 'publisher'".into());
    }
    if !text("recordPath").contains("%path") {
        return Err("'recordPath' must contain %path".into());
    }
    for field in DURATION_FIELDS {
        if let Some(Value::String(d)) = conf.get(*field)
            && parse_go_duration(d).is_none()
        {
            return Err(format!("time: invalid duration {}", Value::from(d.as_str())));
        }
    }
    Ok(())
}

fn duration_of(conf: &Map<String, Value>, field: &str) -> Duration {
    conf.get(field)
        .and_then(Value::as_str)
        .and_then(parse_go_duration)
        .unwrap_or(Duration::from_secs(10))
}

/// How a path gets a source.
#[derive(PartialEq, Eq)]
enum SourceKind {
    /// `runOnDemand` publisher, started by the first reader.
    OnDemandPublisher,
    /// URL source pulled while read.
    OnDemandPull,
    /// URL source pulled all the time.
    StaticPull,
    /// Waits for a publisher (none comes in this double).
    Publisher,
}

fn source_kind(conf: &Map<String, Value>) -> SourceKind {
    let source = conf.get("source").and_then(Value::as_str).unwrap_or("publisher");
    let run_on_demand = conf.get("runOnDemand").and_then(Value::as_str).unwrap_or("");
    let on_demand = conf.get("sourceOnDemand") == Some(&Value::Bool(true));
    if source == "publisher" {
        if run_on_demand.is_empty() {
            SourceKind::Publisher
        } else {
            SourceKind::OnDemandPublisher
        }
    } else if on_demand {
        SourceKind::OnDemandPull
    } else {
        SourceKind::StaticPull
    }
}

/// A non-on-demand pull source starts at once (when the double is told sources are reachable).
fn start_static_source(shared: &Arc<Shared>, name: &str) {
    let state = lock(&shared.state);
    let Some(conf) = state.confs.get(name) else {
        return;
    };
    if source_kind(conf) != SourceKind::StaticPull || !state.source_reachable {
        return;
    }
    let generation = state.runtime.get(name).map_or(0, |r| r.generation);
    drop(state);
    schedule_available(shared, name, generation, "rtspSource");
}

fn schedule_available(shared: &Arc<Shared>, name: &str, generation: u64, source_type: &'static str) {
    let shared = shared.clone();
    let name = name.to_owned();
    let delay = shared.options.ondemand_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut state = lock(&shared.state);
        let wanted = source_type == "rtspSource" && {
            let conf = state.confs.get(&name);
            conf.is_some_and(|c| source_kind(c) == SourceKind::StaticPull)
        };
        let has_readers = state.readers.values().any(|r| r.path == name);
        let Some(rt) = state.runtime.get_mut(&name) else {
            return;
        };
        if rt.generation != generation || rt.available.is_some() || !(has_readers || wanted) {
            return;
        }
        rt.available = Some((Instant::now(), rfc3339_now()));
        rt.source_id = if source_type == "rtspSource" {
            String::new()
        } else {
            uuid()
        };
        rt.generation += 1;
        rt.counted_at = Some(Instant::now());
    });
}

fn schedule_close(shared: &Arc<Shared>, name: &str, generation: u64, after: Duration) {
    let shared = shared.clone();
    let name = name.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let mut state = lock(&shared.state);
        let has_readers = state.readers.values().any(|r| r.path == name);
        if let Some(rt) = state.runtime.get_mut(&name)
            && rt.generation == generation
            && !has_readers
        {
            *rt = Runtime {
                generation: rt.generation + 1,
                ..Runtime::default()
            };
        }
    });
}

/// Counts sent bytes up to now (before the reader set changes).
fn settle(state: &mut State, name: &str) {
    let readers = state.readers.values().filter(|r| r.path == name).count() as u64;
    if let Some(rt) = state.runtime.get_mut(name)
        && rt.available.is_some()
    {
        let now = Instant::now();
        if let Some(at) = rt.counted_at {
            rt.sent_ms += readers * now.duration_since(at).as_millis() as u64;
        }
        rt.counted_at = Some(now);
    }
}

fn add_reader(shared: &Arc<Shared>, name: &str, kind: &'static str, kick: Option<watch::Sender<bool>>) -> Option<u64> {
    let mut state = lock(&shared.state);
    if !state.up || !state.confs.contains_key(name) {
        return None;
    }
    settle(&mut state, name);
    let id = state.next_id;
    state.next_id += 1;
    state.readers.insert(
        id,
        Reader {
            path: name.to_owned(),
            id: uuid(),
            kind,
            kick,
        },
    );
    let on_demand = state
        .confs
        .get(name)
        .is_some_and(|c| matches!(source_kind(c), SourceKind::OnDemandPublisher | SourceKind::OnDemandPull));
    let rt = state.runtime.entry(name.to_owned()).or_default();
    rt.generation += 1;
    let generation = rt.generation;
    let idle = rt.available.is_none();
    drop(state);
    if on_demand && idle {
        let source_type = if lock(&shared.state)
            .confs
            .get(name)
            .is_some_and(|c| source_kind(c) == SourceKind::OnDemandPull)
        {
            "rtspSource"
        } else {
            "rtspSession"
        };
        if source_type == "rtspSession" || lock(&shared.state).source_reachable {
            schedule_available(shared, name, generation, source_type);
        }
    }
    Some(id)
}

fn remove_reader(shared: &Arc<Shared>, id: u64) {
    let mut state = lock(&shared.state);
    let Some(path) = state.readers.get(&id).map(|r| r.path.clone()) else {
        return;
    };
    settle(&mut state, &path);
    state.readers.remove(&id);
    let left = state.readers.values().any(|r| r.path == path);
    let Some(conf) = state.confs.get(&path).cloned() else {
        return;
    };
    let Some(rt) = state.runtime.get_mut(&path) else {
        return;
    };
    rt.generation += 1;
    let generation = rt.generation;
    let close_after = match source_kind(&conf) {
        SourceKind::OnDemandPublisher => Some(duration_of(&conf, "runOnDemandCloseAfter")),
        SourceKind::OnDemandPull => Some(duration_of(&conf, "sourceOnDemandCloseAfter")),
        _ => None,
    };
    drop(state);
    if let (false, Some(after)) = (left, close_after) {
        schedule_close(shared, &path, generation, after);
    }
}

/// Forgets a path's runtime state and drops its readers (path deleted or recreated).
fn drop_path_runtime(state: &mut State, name: &str) {
    state.runtime.remove(name);
    let gone: Vec<u64> = state
        .readers
        .iter()
        .filter(|(_, r)| r.path == name)
        .map(|(id, _)| *id)
        .collect();
    for id in gone {
        if let Some(reader) = state.readers.remove(&id)
            && let Some(kick) = reader.kick
        {
            kick.send_replace(true);
        }
    }
}

/// The `Path` object of a configured path, keys in MediaMTX's order.
fn path_json(state: &State, name: &str) -> Option<Value> {
    let conf = state.confs.get(name)?;
    let default_rt = Runtime::default();
    let rt = state.runtime.get(name).unwrap_or(&default_rt);
    let readers: Vec<Value> = state
        .readers
        .values()
        .filter(|r| r.path == name)
        .map(|r| json!({"type": r.kind, "id": r.id}))
        .collect();
    let kind = source_kind(conf);
    let (ready, time, online, online_time, source) = match &rt.available {
        Some((_, at)) => {
            let source_type = if matches!(kind, SourceKind::OnDemandPull | SourceKind::StaticPull) {
                "rtspSource"
            } else {
                "rtspSession"
            };
            (
                true,
                Value::from(at.as_str()),
                true,
                Value::from(at.as_str()),
                json!({"type": source_type, "id": rt.source_id}),
            )
        }
        None if kind == SourceKind::StaticPull => (
            false,
            Value::Null,
            true,
            Value::from("0001-01-01T00:00:00Z"),
            json!({"type": "rtspSource", "id": ""}),
        ),
        None => (false, Value::Null, false, Value::Null, Value::Null),
    };
    let (inbound, outbound) = match &rt.available {
        Some((since, _)) => {
            let now = Instant::now();
            let live_readers = readers.len() as u64;
            let pending = rt
                .counted_at
                .map_or(0, |at| live_readers * now.duration_since(at).as_millis() as u64);
            (
                now.duration_since(*since).as_millis() as u64 * 100,
                (rt.sent_ms + pending) * 100,
            )
        }
        None => (0, 0),
    };
    let tracks = if ready { json!(["H264"]) } else { json!([]) };
    let tracks2 = if ready {
        json!([{"codec": "H264", "codecProps": {"width": 640, "height": 480, "profile": "Baseline", "level": "2.2"}}])
    } else {
        json!([])
    };
    Some(json!({
        "name": name, "confName": name,
        "ready": ready, "readyTime": time, "available": ready, "availableTime": time,
        "online": online, "onlineTime": online_time, "source": source,
        "tracks": tracks, "tracks2": tracks2, "readers": readers,
        "inboundBytes": inbound, "outboundBytes": outbound, "inboundFramesInError": 0,
        "bytesReceived": inbound, "bytesSent": outbound
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// RTSP: just enough for a reader to register and stay connected.

async fn serve_rtsp(shared: Arc<Shared>, mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // The first request head names the path.
    let head = loop {
        if let Some(end) = find_head_end(&buf) {
            break String::from_utf8_lossy(&buf[..end]).into_owned();
        }
        if buf.len() > 16 * 1024 {
            return;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let url = parts.next().unwrap_or("");
    let cseq = lines
        .find_map(|l| l.strip_prefix("CSeq:").map(str::trim))
        .unwrap_or("0")
        .to_owned();
    let name = rtsp_path(url);
    let (kick, mut kicked) = watch::channel(false);
    let Some(reader) = add_reader(&shared, &name, "rtspSession", Some(kick)) else {
        let _ = stream
            .write_all(format!("RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n").as_bytes())
            .await;
        return;
    };
    if method == "OPTIONS" {
        let reply = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n");
        if stream.write_all(reply.as_bytes()).await.is_err() {
            remove_reader(&shared, reader);
            return;
        }
    }
    // Further requests (DESCRIBE ...) are never answered: the reader waits, like one of a slow start.
    loop {
        tokio::select! {
            read = stream.read(&mut chunk) => {
                if matches!(read, Ok(0) | Err(_)) {
                    break;
                }
            }
            _ = kicked.wait_for(|k| *k) => break,
        }
    }
    remove_reader(&shared, reader);
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// `rtsp://host:port/a/b?x` → `a/b`.
fn rtsp_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    path.split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned()
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A random-looking v4 UUID (unique per process; good enough for ids in a test double).
fn uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos()) as u64;
    let mix = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos ^ u64::from(std::process::id())) & 0xFFFF_FFFF_FFFF;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (n >> 16) as u32 ^ 0x5a5a_0000,
        n & 0xffff,
        nanos & 0xfff,
        (nanos >> 12) & 0xfff,
        mix
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Recorder

/// How often the simulated recorder looks at the paths.
const RECORDER_TICK: Duration = Duration::from_millis(100);

/// Writes segment files for the paths being recorded (see the module docs) until the double is killed.
async fn run_recorder(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(RECORDER_TICK);
    loop {
        tick.tick().await;
        let due = recorder_round(&shared);
        if due.is_empty() {
            continue;
        }
        let content = tokio::task::spawn_blocking(sample_mp4).await.unwrap_or_default();
        for path in due {
            if let Some(dir) = path.parent() {
                let _ = tokio::fs::create_dir_all(dir).await;
            }
            if tokio::fs::write(&path, content.as_slice()).await.is_ok() {
                lock(&shared.state).written.push(path);
            }
        }
    }
}

/// One look at every path: which segment files to open now.
fn recorder_round(shared: &Shared) -> Vec<std::path::PathBuf> {
    let mut state = lock(&shared.state);
    let now = Instant::now();
    let mut due = Vec::new();
    let mut recording = HashMap::new();
    for (name, conf) in &state.confs {
        let available = state.runtime.get(name).is_some_and(|rt| rt.available.is_some());
        if conf.get("record") != Some(&Value::Bool(true)) || !available {
            continue;
        }
        let every = duration_of(conf, "recordSegmentDuration");
        let opened = match state.segments.get(name) {
            Some(at) if now.duration_since(*at) < every => *at,
            _ => {
                let pattern = conf.get("recordPath").and_then(Value::as_str).unwrap_or("");
                due.push(std::path::PathBuf::from(format!(
                    "{}.mp4",
                    expand_record_path(pattern, name, SystemTime::now())
                )));
                now
            }
        };
        recording.insert(name.clone(), opened);
    }
    state.segments = recording;
    due
}

/// `recordPath` with MediaMTX's variables expanded for `path` at `at` (UTC).
pub fn expand_record_path(pattern: &str, path: &str, at: SystemTime) -> String {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (year, month, day, h, m, sec) = civil(d.as_secs() as i64);
    pattern
        .replace("%path", path)
        .replace("%Y", &format!("{year:04}"))
        .replace("%m", &format!("{month:02}"))
        .replace("%d", &format!("{day:02}"))
        .replace("%H", &format!("{h:02}"))
        .replace("%M", &format!("{m:02}"))
        .replace("%S", &format!("{sec:02}"))
        .replace("%f", &format!("{:06}", d.subsec_micros()))
        .replace("%s", &d.as_secs().to_string())
}

/// 1 s of 320x240 H.264 as fragmented MP4, made once with ffmpeg (empty if ffmpeg fails). Blocking.
fn sample_mp4() -> Vec<u8> {
    static SAMPLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SAMPLE
        .get_or_init(|| {
            let Ok(dir) = tempfile::tempdir() else {
                return Vec::new();
            };
            let out = dir.path().join("sample.mp4");
            let made = std::process::Command::new("ffmpeg")
                .args([
                    "-v",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc=size=320x240:rate=10",
                    "-t",
                    "1",
                ])
                .args([
                    "-c:v",
                    "libx264",
                    "-pix_fmt",
                    "yuv420p",
                    "-movflags",
                    "frag_keyframe+empty_moov",
                ])
                .arg(&out)
                .stdin(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if made {
                std::fs::read(&out).unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .clone()
}

/// `(year, month, day, hour, minute, second)` of Unix seconds, UTC.
fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Now as RFC 3339 UTC with nanoseconds, like MediaMTX (`2026-11-22T02:54:18.205242161Z`).
pub fn rfc3339_now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let (year, month, day, h, m, sec) = civil(d.as_secs() as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}.{:09}Z",
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_path_variables() {
        let at = UNIX_EPOCH + Duration::from_micros(1_763_780_066_121_092);
        assert_eq!(
            expand_record_path("/rec/%path/%path_%Y-%m-%d_%H-%M-%S-%f", "camera0", at),
            "/rec/camera0/camera0_2025-11-22_02-54-26-121092"
        );
        assert_eq!(expand_record_path("%path_%s", "c", at), "c_1763780066");
    }

    #[test]
    fn schema_comes_from_the_spec() {
        let schema = PathConfSchema::from_openapi(OPENAPI_YAML).expect("schema");
        let names = schema.names();
        for field in [
            "source",
            "sourceOnDemand",
            "runOnDemand",
            "runOnDemandCloseAfter",
            "record",
            "name",
        ] {
            assert!(names.contains(&field), "{field} missing from {names:?}");
        }
        assert!(names.len() > 100, "{}", names.len());
        assert_eq!(
            schema.check(&json!({"nope": 1})),
            Err("json: unknown field \"nope\"".into())
        );
        assert_eq!(
            schema.check(&json!({"record": "yes"})),
            Err("json: cannot unmarshal string into Go value of type bool".into())
        );
        assert!(
            schema
                .check(&json!({"rtspTransport": "tcp", "maxReaders": 3, "rpiCameraAWBGains": [0, 1.5]}))
                .is_ok()
        );
        assert!(schema.check(&json!({"rtspTransport": "carrier-pigeon"})).is_err());
        assert!(schema.check(&json!({"maxReaders": -1})).is_ok(), "int64");
        assert!(schema.check(&json!({"rpiCameraWidth": -1})).is_err(), "uint64");
    }

    #[test]
    fn helpers() {
        assert_eq!(rtsp_path("rtsp://127.0.0.1:8554/camera0"), "camera0");
        assert_eq!(rtsp_path("rtsp://h/a/b?x=1"), "a/b");
        assert_eq!(percent_decode("bad%20name"), "bad name");
        assert_eq!(parse_go_duration("1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "s", "1x", "1.2.3s", "10 s", "-"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
        let now = rfc3339_now();
        assert_eq!(now.len(), 30, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
        assert_ne!(uuid(), uuid());
    }
}
