//! The SDK's own JSON-RPC transport over one WebSocket ([`WsRpc`]). It implements jsonrpsee's [`ClientT`], so
//! the typed methods generated from the camera-api `#[rpc(client)]` trait (`CameraApiClient`) run on it.
//!
//! Per connection there is one writer task, one reader task and, with a ping interval, one keepalive task:
//!
//! - **Writer**: drains a bounded queue of outgoing frames; it `feed`s every frame queued at that moment and
//!   flushes once, so a burst of calls costs one write system call.
//! - **Reader**: parses every incoming frame once. A response completes the caller waiting for its `id` (a
//!   map of pending oneshots); a notification (no `id`) becomes an [`Event`] on the client's broadcast
//!   channel, which never waits for slow consumers.
//! - **Keepalive**: sends a WebSocket Ping every interval and declares the connection dead after three
//!   intervals without any frame from the server.
//!
//! Calls in flight are bounded (a call waits for room in the pending map); a call dropped before its response (timeout) removes itself
//! from the pending map. When the connection ends, every pending call fails with a transport error (an
//! [`crate::ErrorKind::Connection`] error in the SDK) and [`WsRpc::on_disconnect`] resolves.
//!
//! Why not jsonrpsee's client: its WebSocket client writes and flushes every request separately and moves
//! every call through a background task. Even over a batched transport of ours (`TransportSenderT` /
//! `TransportReceiverT` with `ClientBuilder::build_with_tokio`) its async client reached about 140k ping
//! calls/s with 100 connections × 8 in flight, against about 650k for this transport and 650–700k for a raw
//! WebSocket client on the same machine (issue #5; `camctl bench` against `contract-tests --bin bench`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use jsonrpsee::core::client::{BatchResponse, ClientT, Error as ClientError};
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::types::ErrorObjectOwned;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::endpoint::Endpoint;
use crate::error::SdkError;
use crate::events::Event;
use crate::options::ClientOptions;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Most frames the writer takes from its queue for one flush.
const BURST: usize = 256;

/// Silent ping intervals after which the connection counts as dead.
const SILENT_INTERVALS: u32 = 3;

/// Bytes read from the socket per read call. tungstenite zeroes this much before every read, so the
/// default 128 KiB would cost more than a small response; larger messages take several reads.
const READ_BUFFER: usize = 16 * 1024;

/// How long closing the socket may take once the connection is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A successful response: the frame and the byte range of its `result` in it (no copy).
#[derive(Debug)]
struct Payload {
    frame: Utf8Bytes,
    result: Range<usize>,
}

/// What a waiting caller receives.
type Reply = Result<Payload, ClientError>;

/// One open WebSocket connection speaking JSON-RPC. Dropping it closes the socket and stops its tasks.
#[derive(Debug)]
pub(crate) struct WsRpc {
    inner: Arc<Inner>,
    out: mpsc::Sender<Message>,
    next_id: AtomicU64,
    max_request: usize,
    /// Reader and keepalive; aborted on drop (the writer ends by itself once it sent the Close frame).
    tasks: Vec<JoinHandle<()>>,
}

/// State shared by the handle and its tasks.
#[derive(Debug)]
struct Inner {
    pending: Mutex<Pending>,
    /// Most calls in the pending map at once.
    max_in_flight: usize,
    /// Wakes calls waiting for room in the pending map.
    room: Notify,
    connected: AtomicBool,
    /// Why the connection ended, once it has.
    ended: watch::Sender<Option<String>>,
    /// Frames received so far (published by the reader for the keepalive).
    frames: AtomicU64,
}

#[derive(Debug, Default)]
struct Pending {
    calls: HashMap<u64, oneshot::Sender<Reply>, BuildHasherDefault<IdHasher>>,
    /// Calls waiting for room (only then does a completed call notify).
    waiting: usize,
    /// Set once the connection ended: no call may register any more.
    ended: Option<String>,
}

/// Fibonacci hashing of the call ids, far cheaper than SipHash. Only ids this client chose are inserted, so
/// a server cannot flood one bucket.
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// One incoming frame; only the members the SDK routes on, borrowed from the frame.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

/// Opens the WebSocket (TCP, TLS, upgrade) within `options.connect_timeout` and starts the tasks.
/// Notifications go to `events`.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    options: &ClientOptions,
    events: broadcast::Sender<Arc<Event>>,
) -> Result<WsRpc, SdkError> {
    let max = options.max_message_bytes as usize;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let connector = if endpoint.is_tls() {
        Some(Connector::Rustls(Arc::new(options.tls.ws_config()?)))
    } else {
        Some(Connector::Plain)
    };
    let url = endpoint.ws_url();
    let handshake = tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, connector);
    let ws = match tokio::time::timeout(options.connect_timeout, handshake).await {
        Ok(Ok((ws, _response))) => ws,
        Ok(Err(e)) => return Err(SdkError::Connection(format!("{url}: {e}"))),
        Err(_) => {
            return Err(SdkError::Connection(format!(
                "{url}: no connection within {:?}",
                options.connect_timeout
            )));
        }
    };
    Ok(WsRpc::start(ws, options, events))
}

impl WsRpc {
    fn start(ws: Ws, options: &ClientOptions, events: broadcast::Sender<Arc<Event>>) -> WsRpc {
        let in_flight = options.max_in_flight.max(1);
        let (sink, stream) = ws.split();
        // Room for every call in flight plus a few control frames: a registered call rarely waits here (only
        // behind frames of calls that timed out before the writer took them).
        let (out, rx) = mpsc::channel(in_flight.saturating_add(8));
        let inner = Arc::new(Inner {
            pending: Mutex::new(Pending::default()),
            max_in_flight: in_flight,
            room: Notify::new(),
            connected: AtomicBool::new(true),
            ended: watch::channel(None).0,
            frames: AtomicU64::new(0),
        });
        tokio::spawn(write_loop(sink, rx, Arc::clone(&inner)));
        let mut tasks = vec![tokio::spawn(read_loop(stream, Arc::clone(&inner), events))];
        if let Some(interval) = options.ping_interval.filter(|i| !i.is_zero()) {
            tasks.push(tokio::spawn(keepalive(out.clone(), Arc::clone(&inner), interval)));
        }
        WsRpc {
            inner,
            out,
            next_id: AtomicU64::new(1),
            max_request: options.max_message_bytes as usize,
            tasks,
        }
    }

    /// Whether the connection is still open.
    pub(crate) fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// Resolves once the connection ended, with why.
    pub(crate) async fn on_disconnect(&self) -> String {
        let mut rx = self.inner.ended.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "connection closed".to_owned(),
        }
    }

    /// Sends one request frame with `id` and waits for its response.
    async fn call(&self, id: u64, frame: String) -> Reply {
        if frame.len() > self.max_request {
            return Err(ClientError::Custom(format!(
                "request of {} bytes exceeds the limit of {} bytes",
                frame.len(),
                self.max_request
            )));
        }
        let (tx, rx) = oneshot::channel();
        self.inner.register(id, tx).await?;
        let mut forget = Forget {
            inner: &self.inner,
            id: Some(id),
        };
        if self.out.send(Message::Text(frame.into())).await.is_err() {
            return Err(self.inner.lost());
        }
        let reply = rx.await.map_err(|_| self.inner.lost());
        forget.id = None;
        reply?
    }

    /// Queues a frame that expects no response.
    async fn send(&self, frame: String) -> Result<(), ClientError> {
        if !self.is_connected() {
            return Err(self.inner.lost());
        }
        self.out
            .send(Message::Text(frame.into()))
            .await
            .map_err(|_| self.inner.lost())
    }
}

impl Drop for WsRpc {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        // The writer sends the Close frame, then sees the end and stops.
        let _ = self.out.try_send(Message::Close(None));
        self.inner.end("closed by the client".to_owned());
    }
}

impl ClientT for WsRpc {
    fn notification<Params>(&self, method: &str, params: Params) -> impl Future<Output = Result<(), ClientError>> + Send
    where
        Params: ToRpcParams + Send,
    {
        let frame = params
            .to_rpc_params()
            .map(|p| request_frame(None, method, p.as_deref()));
        async move { self.send(frame?).await }
    }

    fn request<R, Params>(&self, method: &str, params: Params) -> impl Future<Output = Result<R, ClientError>> + Send
    where
        R: DeserializeOwned,
        Params: ToRpcParams + Send,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = params
            .to_rpc_params()
            .map(|p| request_frame(Some(id), method, p.as_deref()));
        async move {
            let payload = self.call(id, frame?).await?;
            let raw = payload
                .frame
                .get(payload.result)
                .ok_or_else(|| ClientError::Custom("response result out of bounds".to_owned()))?;
            Ok(serde_json::from_str(raw)?)
        }
    }

    async fn batch_request<'a, R>(&self, _batch: BatchRequestBuilder<'a>) -> Result<BatchResponse<'a, R>, ClientError>
    where
        R: DeserializeOwned + std::fmt::Debug + 'a,
    {
        Err(ClientError::Custom(
            "camera-sdk does not send batch requests".to_owned(),
        ))
    }
}

/// Counts a call waiting for room in the pending map while it waits (also when it is dropped waiting).
struct Waiting<'a>(&'a Inner);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut pending = self.0.pending();
        pending.waiting = pending.waiting.saturating_sub(1);
    }
}

/// Removes a call from the pending map if it is dropped (timed out) before its response arrived.
struct Forget<'a> {
    inner: &'a Inner,
    id: Option<u64>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let mut pending = self.inner.pending();
            pending.calls.remove(&id);
            self.inner.made_room(&pending);
        }
    }
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error of a call on a connection that ended.
    fn lost(&self) -> ClientError {
        let reason = self.pending().ended.clone();
        disconnected(reason.as_deref().unwrap_or("connection closed"))
    }

    /// Adds a call to the pending map, waiting while it holds `max_in_flight` calls.
    async fn register(&self, id: u64, tx: oneshot::Sender<Reply>) -> Result<(), ClientError> {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            {
                let mut pending = self.pending();
                if let Some(reason) = &pending.ended {
                    return Err(disconnected(reason));
                }
                if pending.calls.len() < self.max_in_flight {
                    pending.calls.insert(id, tx);
                    return Ok(());
                }
                // Registered as a waiter before the lock is released, so no wake-up is missed.
                room.as_mut().enable();
                pending.waiting += 1;
            }
            let _waiting = Waiting(self);
            room.await;
        }
    }

    /// After a call left the pending map: lets one waiting call in.
    fn made_room(&self, pending: &Pending) {
        if pending.waiting > 0 {
            self.room.notify_one();
        }
    }

    /// Marks the connection ended (first reason wins) and fails every pending call.
    fn end(&self, reason: String) {
        let calls = {
            let mut pending = self.pending();
            if pending.ended.is_some() {
                return;
            }
            pending.ended = Some(reason.clone());
            std::mem::take(&mut pending.calls)
        };
        self.room.notify_waiters();
        self.connected.store(false, Ordering::Release);
        for (_, tx) in calls {
            let _ = tx.send(Err(disconnected(&reason)));
        }
        self.ended.send_replace(Some(reason));
    }

    /// Routes one text frame: a response to its caller, a notification to the event channel.
    fn dispatch(&self, frame: Utf8Bytes, events: &broadcast::Sender<Arc<Event>>) {
        let (id, reply) = {
            let msg: Incoming<'_> = match serde_json::from_str(&frame) {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(error = %e, "ignoring an unparsable frame");
                    return;
                }
            };
            if msg.id.is_none() {
                if let Some(method) = msg.method {
                    let params = msg
                        .params
                        .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
                        .unwrap_or(Value::Null);
                    // No receiver is not an error: nobody is listening right now.
                    let _ = events.send(Arc::new(Event::new(method.into_owned(), params)));
                } else {
                    tracing::debug!("ignoring a frame without id or method");
                }
                return;
            }
            let Some(id) = msg.id.and_then(|raw| raw.get().parse::<u64>().ok()) else {
                tracing::debug!(id = ?msg.id.map(RawValue::get), "ignoring a response with a foreign id");
                return;
            };
            let reply = match msg.error {
                Some(error) => Err(match serde_json::from_str::<ErrorObjectOwned>(error.get()) {
                    Ok(obj) => ClientError::Call(obj),
                    Err(e) => ClientError::ParseError(e),
                }),
                None => Ok(msg.result.map(|r| span(&frame, r.get()))),
            };
            (id, reply)
        };
        let tx = {
            let mut pending = self.pending();
            let tx = pending.calls.remove(&id);
            self.made_room(&pending);
            tx
        };
        // None: its caller gave up (timed out) already.
        let Some(tx) = tx else { return };
        let _ = tx.send(reply.map(|range| match range {
            Some(result) => Payload { frame, result },
            None => Payload {
                frame: Utf8Bytes::from_static("null"),
                result: 0..4,
            },
        }));
    }
}

/// The byte range of `part`, a slice of `whole`.
fn span(whole: &str, part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

fn disconnected(reason: &str) -> ClientError {
    ClientError::Transport(format!("connection lost: {reason}").into())
}

/// `{"jsonrpc":"2.0","id":…,"method":…,"params":…}`; without `id` for a notification, without `params` for none.
fn request_frame(id: Option<u64>, method: &str, params: Option<&RawValue>) -> String {
    let mut frame = String::with_capacity(48 + method.len() + params.map_or(0, |p| p.get().len()));
    frame.push_str("{\"jsonrpc\":\"2.0\",");
    if let Some(id) = id {
        let _ = write!(frame, "\"id\":{id},");
    }
    frame.push_str("\"method\":");
    if method
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        frame.push('"');
        frame.push_str(method);
        frame.push('"');
    } else {
        frame.push_str(&Value::from(method).to_string());
    }
    if let Some(params) = params {
        frame.push_str(",\"params\":");
        frame.push_str(params.get());
    }
    frame.push('}');
    frame
}

async fn write_loop(mut sink: SplitSink<Ws, Message>, mut rx: mpsc::Receiver<Message>, inner: Arc<Inner>) {
    let mut ended = inner.ended.subscribe();
    let mut burst = Vec::with_capacity(BURST);
    loop {
        let n = tokio::select! {
            biased;
            n = rx.recv_many(&mut burst, BURST) => n,
            _ = ended.wait_for(Option::is_some) => 0,
        };
        if n == 0 {
            break;
        }
        let closing = burst.iter().any(Message::is_close);
        let write = async {
            for frame in burst.drain(..) {
                sink.feed(frame).await?;
            }
            sink.flush().await
        };
        let written = tokio::select! {
            biased;
            r = write => r,
            _ = ended.wait_for(Option::is_some) => return,
        };
        if let Err(e) = written {
            inner.end(format!("write failed: {e}"));
            return;
        }
        if closing {
            break;
        }
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
}

async fn read_loop(mut stream: SplitStream<Ws>, inner: Arc<Inner>, events: broadcast::Sender<Arc<Event>>) {
    let mut frames: u64 = 0;
    let reason = loop {
        let next = stream.next().await;
        frames = frames.wrapping_add(1);
        inner.frames.store(frames, Ordering::Relaxed);
        match next {
            Some(Ok(Message::Text(text))) => inner.dispatch(text, &events),
            Some(Ok(Message::Close(frame))) => {
                break match frame {
                    Some(f) => format!("closed by the server ({} {})", f.code, f.reason),
                    None => "closed by the server".to_owned(),
                };
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break e.to_string(),
            None => break "connection closed".to_owned(),
        }
    };
    inner.end(reason);
}

async fn keepalive(out: mpsc::Sender<Message>, inner: Arc<Inner>, interval: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = inner.frames.load(Ordering::Relaxed);
    let mut silent: u32 = 0;
    loop {
        ticker.tick().await;
        let now = inner.frames.load(Ordering::Relaxed);
        if now == seen {
            silent += 1;
        } else {
            seen = now;
            silent = 0;
        }
        if silent >= SILENT_INTERVALS {
            inner.end(format!(
                "no frame from the server for {:?}",
                interval.saturating_mul(SILENT_INTERVALS)
            ));
            return;
        }
        // A full queue means traffic is flowing anyway.
        let _ = out.try_send(Message::Ping(Default::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames_are_valid_json_rpc() {
        let params = RawValue::from_string(r#"{"device":"camera0"}"#.to_owned()).ok();
        let frame = request_frame(Some(7), "get_camera_status", params.as_deref());
        let v: Value = serde_json::from_str(&frame).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"jsonrpc":"2.0","id":7,"method":"get_camera_status","params":{"device":"camera0"}})
        );
        let odd: Value = serde_json::from_str(&request_frame(None, "a\"b\\c", None)).unwrap_or_default();
        assert_eq!(odd, serde_json::json!({"jsonrpc":"2.0","method":"a\"b\\c"}));
    }

    #[test]
    fn spans_point_into_the_frame() {
        let frame = r#"{"jsonrpc":"2.0","id":3,"result":{"a":[1,2]}}"#;
        let msg: Result<Incoming<'_>, _> = serde_json::from_str(frame);
        let result = msg.ok().and_then(|m| m.result).map(RawValue::get).unwrap_or_default();
        assert_eq!(frame.get(span(frame, result)), Some(r#"{"a":[1,2]}"#));
    }

    /// A one-connection WebSocket server on loopback running `script`; returns its URL.
    async fn mock<F, Fut>(script: F) -> String
    where
        F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
        let listener = listener.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
        tokio::spawn(async move {
            let Ok((tcp, _)) = listener.accept().await else { return };
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                script(ws).await;
            }
        });
        format!("ws://{addr}/ws")
    }

    async fn open(url: &str, options: ClientOptions) -> (WsRpc, broadcast::Receiver<Arc<Event>>) {
        let (tx, rx) = broadcast::channel(16);
        let endpoint = Endpoint::parse(url).unwrap_or_else(|e| panic!("{e}"));
        let rpc = connect(&endpoint, &options, tx)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        (rpc, rx)
    }

    /// The `id` of a request frame.
    fn id_of(msg: &Message) -> u64 {
        let v: Value = serde_json::from_str(msg.to_text().unwrap_or_default()).unwrap_or_default();
        v["id"].as_u64().unwrap_or_default()
    }

    async fn next_text(ws: &mut WebSocketStream<TcpStream>) -> Option<Message> {
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_text() {
                return Some(msg);
            }
        }
        None
    }

    fn none() -> jsonrpsee::core::params::ObjectParams {
        jsonrpsee::core::params::ObjectParams::new()
    }

    #[tokio::test]
    async fn responses_are_routed_by_id_and_notifications_broadcast() {
        let url = mock(|mut ws| async move {
            let (Some(a), Some(b)) = (next_text(&mut ws).await, next_text(&mut ws).await) else { return };
            let (a, b) = (id_of(&a), id_of(&b));
            let frames = [
                format!(r#"{{"jsonrpc":"2.0","id":{b},"result":{{"n":2}}}}"#),
                r#"{"jsonrpc":"2.0","method":"snapshot.taken","params":{"device":"camera0"}}"#.to_owned(),
                format!(
                    r#"{{"jsonrpc":"2.0","id":{a},"error":{{"code":-32010,"message":"Not found","data":{{"reason":"camera_not_found"}}}}}}"#
                ),
            ];
            for f in frames {
                let _ = ws.send(Message::Text(f.into())).await;
            }
            let _ = next_text(&mut ws).await;
        })
        .await;
        let (rpc, mut events) = open(&url, ClientOptions::default()).await;
        let (first, second) = tokio::join!(rpc.request::<Value, _>("first", none()), async {
            tokio::task::yield_now().await;
            rpc.request::<Value, _>("second", none()).await
        });
        assert_eq!(second.ok(), Some(serde_json::json!({"n":2})));
        let first = first.map_err(SdkError::from_client);
        assert!(
            matches!(&first, Err(e) if e.code() == Some(-32010) && e.reason() == Some("camera_not_found")),
            "{first:?}"
        );
        let event = events.recv().await.ok();
        assert_eq!(event.as_deref().map(|e| e.method.as_str()), Some("snapshot.taken"));
        assert_eq!(event.as_deref().and_then(Event::device), Some("camera0"));
    }

    #[tokio::test]
    async fn losing_the_connection_fails_pending_and_later_calls() {
        let url = mock(|mut ws| async move {
            let _ = next_text(&mut ws).await;
            drop(ws);
        })
        .await;
        let (rpc, _events) = open(&url, ClientOptions::default()).await;
        let pending = rpc.request::<Value, _>("never_answered", none()).await;
        let e = pending.map_err(SdkError::from_client).err();
        assert_eq!(
            e.as_ref().map(SdkError::kind),
            Some(crate::ErrorKind::Connection),
            "{e:?}"
        );
        let reason = tokio::time::timeout(Duration::from_secs(5), rpc.on_disconnect()).await;
        assert!(reason.is_ok_and(|r| !r.is_empty()));
        assert!(!rpc.is_connected());
        let later = rpc.request::<Value, _>("ping", none()).await;
        assert!(matches!(later, Err(ClientError::Transport(_))), "{later:?}");
        assert!(rpc.inner.pending().calls.is_empty());
    }

    #[tokio::test]
    async fn calls_in_flight_are_bounded_and_abandoned_calls_are_forgotten() {
        let (seen_tx, mut seen) = mpsc::channel::<u64>(8);
        let url = mock(move |mut ws| async move {
            while let Some(msg) = next_text(&mut ws).await {
                let _ = seen_tx.send(id_of(&msg)).await;
            }
        })
        .await;
        let options = ClientOptions {
            max_in_flight: 2,
            ..ClientOptions::default()
        };
        let (rpc, _events) = open(&url, options).await;
        let calls = async {
            tokio::join!(
                rpc.request::<Value, _>("a", none()),
                rpc.request::<Value, _>("b", none()),
                rpc.request::<Value, _>("c", none())
            )
        };
        let observe = async {
            let first_two = (seen.recv().await, seen.recv().await);
            // The third waits for a slot: nothing more reaches the server while two are unanswered.
            let third = tokio::time::timeout(Duration::from_millis(200), seen.recv()).await;
            (first_two, third.is_err())
        };
        let (outcome, ((a, b), third_held)) = tokio::select! {
            o = observe => (None, o),
            _ = calls => (Some(()), ((None, None), false)),
        };
        assert!(outcome.is_none(), "unanswered calls returned");
        assert!(a.is_some() && b.is_some());
        assert!(third_held, "a third call was sent beyond max_in_flight");
        // The abandoned calls (dropped by select) left nothing behind.
        assert!(rpc.inner.pending().calls.is_empty());
        assert_eq!(rpc.inner.pending().waiting, 0);
    }
}
