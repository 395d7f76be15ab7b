//! A WebSocket JSON-RPC client for tests (tokio-tungstenite, ws or wss).
//!
//! A reader task forwards every inbound frame into a channel. The client sorts them as they are consumed:
//! frames with an `id` member and arrays (batch replies) are *replies* (kept with their raw text, so exact
//! number formatting can be checked), objects without `id` are *notifications* (collected separately), and a
//! Close frame or the end of the stream records the close code. [`WsClient::call`] matches its reply by id and
//! leaves every other reply buffered for [`WsClient::next_reply`].

use crate::server::TestServer;
use crate::{CALL_TIMEOUT, assert_error, assert_not_error};
use futures_util::SinkExt;
use futures_util::stream::{SplitSink, StreamExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One reply frame: its raw text and the parsed value.
#[derive(Clone, Debug)]
pub struct Reply {
    pub raw: String,
    pub value: Value,
}

/// How the connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// Close code from the server's Close frame; `None` when the stream ended without one.
    pub code: Option<u16>,
    pub reason: String,
}

enum Inbound {
    Text(String),
    Binary(Vec<u8>),
    Pong(Vec<u8>),
    Closed(Closed),
}

/// A test WebSocket connection speaking JSON-RPC.
pub struct WsClient {
    sink: SplitSink<Stream, Message>,
    rx: mpsc::UnboundedReceiver<Inbound>,
    reader: JoinHandle<()>,
    replies: VecDeque<Reply>,
    notifications: Vec<Value>,
    binaries: Vec<Vec<u8>>,
    pongs: Vec<Vec<u8>>,
    closed: Option<Closed>,
    next_id: u64,
}

/// Why a WebSocket handshake did not produce a connection.
#[derive(Debug)]
pub enum ConnectError {
    /// The server answered the upgrade with an HTTP status other than 101.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Anything else (TCP, TLS, protocol).
    Other(String),
}

impl ConnectError {
    /// The HTTP rejection, panicking for any other failure.
    #[track_caller]
    pub fn http(self) -> (u16, Vec<(String, String)>, String) {
        match self {
            ConnectError::Http { status, headers, body } => (status, headers, body),
            ConnectError::Other(e) => panic!("expected an HTTP rejection of the upgrade, got: {e}"),
        }
    }
}

impl WsClient {
    /// Connects to `server`'s `/ws` (ws or wss as the server runs), panicking on failure.
    pub async fn connect(server: &TestServer) -> WsClient {
        match WsClient::try_connect(server, &[]).await {
            Ok(c) => c,
            Err(e) => panic!("WebSocket connect to {} failed: {e:?}", server.ws_url()),
        }
    }

    /// Connects with extra request headers (e.g. `Origin`), returning the server's rejection if any.
    pub async fn try_connect(server: &TestServer, headers: &[(&str, &str)]) -> Result<WsClient, ConnectError> {
        let connector = server.tls.as_ref().map(|t| Connector::Rustls(t.client_config()));
        WsClient::try_connect_url(&server.ws_url(), headers, connector).await
    }

    /// Connects to any URL with an optional TLS connector.
    pub async fn try_connect_url(
        url: &str,
        headers: &[(&str, &str)],
        connector: Option<Connector>,
    ) -> Result<WsClient, ConnectError> {
        use tungstenite::client::IntoClientRequest;
        crate::install_crypto_provider();
        let mut request = url
            .into_client_request()
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        for (k, v) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("header name");
            request.headers_mut().insert(name, v.parse().expect("header value"));
        }
        let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
        let (stream, _response) = match tokio::time::timeout(CALL_TIMEOUT, connect).await {
            Err(_) => return Err(ConnectError::Other(format!("handshake with {url} timed out"))),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return Err(ConnectError::Http { status, headers, body });
            }
            Ok(Err(e)) => return Err(ConnectError::Other(e.to_string())),
            Ok(Ok(pair)) => pair,
        };
        let (sink, mut stream) = stream.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut closed = Closed {
                code: None,
                reason: "stream ended without a Close frame".into(),
            };
            while let Some(item) = stream.next().await {
                match item {
                    Ok(Message::Text(t)) => {
                        let _ = tx.send(Inbound::Text(t.as_str().to_owned()));
                    }
                    Ok(Message::Binary(b)) => {
                        let _ = tx.send(Inbound::Binary(b.to_vec()));
                    }
                    Ok(Message::Pong(p)) => {
                        let _ = tx.send(Inbound::Pong(p.to_vec()));
                    }
                    Ok(Message::Close(frame)) => {
                        closed = match frame {
                            Some(f) => Closed {
                                code: Some(u16::from(f.code)),
                                reason: f.reason.as_str().to_owned(),
                            },
                            None => Closed {
                                code: None,
                                reason: "Close frame without a code".into(),
                            },
                        };
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        closed = Closed {
                            code: None,
                            reason: format!("read error: {e}"),
                        };
                        break;
                    }
                }
            }
            let _ = tx.send(Inbound::Closed(closed));
        });
        Ok(WsClient {
            sink,
            rx,
            reader,
            replies: VecDeque::new(),
            notifications: Vec::new(),
            binaries: Vec::new(),
            pongs: Vec::new(),
            closed: None,
            // Far from the small ids tests put in hand-written requests, so replies never get mixed up.
            next_id: 100_001,
        })
    }

    /// Receives one inbound item (or times out) and files it; returns false on timeout or when closed.
    async fn pump(&mut self, limit: Duration) -> bool {
        if self.closed.is_some() {
            return false;
        }
        let item = match tokio::time::timeout(limit, self.rx.recv()).await {
            Err(_) => return false,
            Ok(None) => Inbound::Closed(Closed {
                code: None,
                reason: "reader ended".into(),
            }),
            Ok(Some(item)) => item,
        };
        match item {
            Inbound::Text(raw) => {
                let value: Value =
                    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("server sent non-JSON ({e}): {raw}"));
                let is_notification = value.is_object() && value.get("id").is_none();
                if is_notification {
                    self.notifications.push(value);
                } else {
                    self.replies.push_back(Reply { raw, value });
                }
            }
            Inbound::Binary(b) => self.binaries.push(b),
            Inbound::Pong(p) => self.pongs.push(p),
            Inbound::Closed(c) => self.closed = Some(c),
        }
        true
    }

    /// Sends a text message as is.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        self.sink.send(Message::text(text)).await.expect("send text frame");
    }

    /// Sends a text message, ignoring write errors (for messages the server may reject by closing).
    pub async fn send_text_lossy(&mut self, text: impl Into<String>) -> Result<(), String> {
        let text: String = text.into();
        self.sink.send(Message::text(text)).await.map_err(|e| e.to_string())
    }

    /// Sends a JSON value as one text message.
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(value.to_string()).await;
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.sink.send(Message::binary(bytes)).await.expect("send binary frame");
    }

    /// Sends a single final text frame whose payload is `bytes` unchecked (e.g. invalid UTF-8).
    pub async fn send_raw_text_frame(&mut self, bytes: Vec<u8>) {
        let frame = Frame::message(bytes, OpCode::Data(Data::Text), true);
        self.sink.send(Message::Frame(frame)).await.expect("send raw frame");
    }

    /// Sends a WebSocket Ping control frame.
    pub async fn send_ping(&mut self, payload: Vec<u8>) {
        self.sink
            .send(Message::Ping(payload.into()))
            .await
            .expect("send ping frame");
    }

    /// Waits for a Pong carrying `payload`.
    pub async fn wait_pong(&mut self, payload: &[u8], limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.pongs.iter().any(|p| p == payload) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || !self.pump(left).await {
                panic!(
                    "no Pong with payload {payload:?} within {limit:?} (closed: {:?})",
                    self.closed
                );
            }
        }
    }

    /// Keeps reading (so automatic Pongs go out) for `period`; returns early only if the connection ends.
    pub async fn idle(&mut self, period: Duration) {
        let deadline = tokio::time::Instant::now() + period;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || self.closed.is_some() {
                return;
            }
            self.pump(left).await;
        }
    }

    /// Sends a WebSocket Close frame with code 1000.
    pub async fn close(&mut self) {
        let _ = self.sink.send(Message::Close(None)).await;
    }

    /// The next buffered or arriving reply (response or batch array), or `None` after `limit`.
    pub async fn next_reply(&mut self, limit: Duration) -> Option<Reply> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(r) = self.replies.pop_front() {
                return Some(r);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || !self.pump(left).await {
                return None;
            }
        }
    }

    /// Like [`WsClient::next_reply`] but panics with `what` when nothing arrives.
    pub async fn expect_reply(&mut self, what: &str) -> Reply {
        let closed = self.closed.clone();
        match self.next_reply(CALL_TIMEOUT).await {
            Some(r) => r,
            None => panic!("no reply to {what} (closed: {:?})", self.closed.clone().or(closed)),
        }
    }

    /// Sends `request` and waits for the reply with the same `id`; other replies stay buffered.
    pub async fn request(&mut self, request: &Value) -> Reply {
        let id = request
            .get("id")
            .cloned()
            .unwrap_or_else(|| panic!("request without id: {request}"));
        self.send_json(request).await;
        self.reply_for(&id, &request.to_string()).await
    }

    /// Waits for the reply whose `id` equals `id`.
    pub async fn reply_for(&mut self, id: &Value, what: &str) -> Reply {
        let deadline = tokio::time::Instant::now() + CALL_TIMEOUT;
        loop {
            if let Some(pos) = self.replies.iter().position(|r| r.value.get("id") == Some(id)) {
                return self.replies.remove(pos).expect("position is valid");
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || !self.pump(left).await {
                panic!(
                    "no reply with id {id} to {what}; closed: {:?}; other replies: {:?}",
                    self.closed,
                    self.replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
                );
            }
        }
    }

    /// Calls `method` with `params` (`Value::Null` omits the member) and returns the whole response object.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            req["params"] = params;
        }
        self.request(&req).await.value
    }

    /// Calls and asserts success; returns `result`.
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let resp = self.call(method, params).await;
        assert_not_error(&resp)
    }

    /// Calls and asserts an error with `code` and `reason`; returns `error.data`.
    pub async fn error(&mut self, method: &str, params: Value, code: i64, reason: &str) -> Value {
        let resp = self.call(method, params).await;
        assert_error(&resp, code, reason)
    }

    /// `authenticate` and assert success; returns the result.
    pub async fn authenticate(&mut self, token: &str) -> Value {
        let resp = self.call("authenticate", json!({"auth_token": token})).await;
        assert_not_error(&resp)
    }

    /// `ping` must answer `"pong"` (used after bad input to show the socket is still usable).
    pub async fn assert_alive(&mut self) {
        let resp = self.call("ping", Value::Null).await;
        assert_eq!(resp.get("result"), Some(&json!("pong")), "ping after bad input: {resp}");
    }

    /// Asserts that no reply arrives: a `ping` round trip plus `grace` must bring nothing but the pong.
    pub async fn assert_no_reply(&mut self, grace: Duration) {
        self.assert_alive().await;
        if let Some(r) = self.next_reply(grace).await {
            panic!("expected no reply, got {}", r.raw);
        }
    }

    /// Waits for the connection to end and returns how it ended.
    pub async fn wait_closed(&mut self, limit: Duration) -> Closed {
        let deadline = tokio::time::Instant::now() + limit;
        while self.closed.is_none() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                panic!("connection still open after {limit:?}");
            }
            self.pump(left).await;
        }
        self.closed.clone().expect("closed")
    }

    /// The close state if the connection has ended (only what has been received so far).
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Calls `method` every 50 ms until `done` accepts the whole response, which is returned; panics with the
    /// last response after `limit`.
    pub async fn call_until(
        &mut self,
        method: &str,
        params: Value,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let resp = self.call(method, params.clone()).await;
            if done(&resp) {
                return resp;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{method}: condition not met within {limit:?}; last response: {resp}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls `method` until it succeeds and `done` accepts its result, which is returned (see
    /// [`WsClient::call_until`]).
    pub async fn result_until(
        &mut self,
        method: &str,
        params: Value,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let resp = self
            .call_until(method, params, limit, |r| r.get("result").is_some_and(&done))
            .await;
        resp["result"].clone()
    }

    /// Calls `method` until it succeeds; returns the result (see [`WsClient::call_until`]).
    pub async fn result_within(&mut self, method: &str, params: Value, limit: Duration) -> Value {
        self.result_until(method, params, limit, |_| true).await
    }

    /// Waits for a notification with method `method` and removes it from the buffer.
    pub async fn notification(&mut self, method: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(pos) = self.notifications.iter().position(|n| n["method"] == method) {
                return self.notifications.remove(pos);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || !self.pump(left).await {
                panic!(
                    "no {method} notification within {limit:?}; got: {:?}; closed: {:?}",
                    self.notifications.iter().map(|n| &n["method"]).collect::<Vec<_>>(),
                    self.closed
                );
            }
        }
    }

    /// Notifications received so far (in arrival order).
    pub fn notifications(&self) -> &[Value] {
        &self.notifications
    }

    /// Binary frames received so far (the contract never sends any).
    pub fn binaries(&self) -> &[Vec<u8>] {
        &self.binaries
    }
}

impl Drop for WsClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
