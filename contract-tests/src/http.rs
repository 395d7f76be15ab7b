//! HTTP side of the harness: `POST /rpc` (API.md §6.1), the health server (§7), the HTTP error body (§6.4), and
//! raw TCP requests for upgrade edge cases that an HTTP library would not send.

use crate::CALL_TIMEOUT;
use crate::server::TestServer;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Credentials for one HTTP request.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <token>` (JWT or API key).
    Bearer(&'a str),
    /// `X-API-Key: <key>`.
    ApiKey(&'a str),
}

/// A finished HTTP exchange.
#[derive(Clone, Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl HttpReply {
    /// The body parsed as JSON (panics if it is not).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("HTTP {} body is not JSON ({e}): {:?}", self.status, self.body))
    }

    /// A header value as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the §6.4 error body: status, `application/json`, `{"error":{"status","reason","message"}}`.
    #[track_caller]
    pub fn assert_error_body(&self, status: u16, reason: &str) {
        assert_eq!(self.status, status, "HTTP status (want {reason}); body {:?}", self.body);
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "Content-Type of a {status} must be application/json, got {ct:?}"
        );
        let body = self.json();
        let err = body.get("error").unwrap_or_else(|| panic!("no error member in {body}"));
        assert_eq!(
            err.get("status").and_then(Value::as_u64),
            Some(u64::from(status)),
            "error.status in {body}"
        );
        assert_eq!(
            err.get("reason").and_then(Value::as_str),
            Some(reason),
            "error.reason in {body}"
        );
        assert!(
            err.get("message")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty()),
            "error.message in {body}"
        );
    }
}

/// HTTP client bound to one test server.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    health: SocketAddr,
}

impl Http {
    /// A client that trusts the server's test CA when it runs TLS.
    pub fn new(server: &TestServer) -> Http {
        crate::install_crypto_provider();
        let mut builder = reqwest::Client::builder().no_proxy().timeout(CALL_TIMEOUT);
        if let Some(tls) = &server.tls {
            let config: Arc<rustls::ClientConfig> = tls.client_config();
            builder = builder.tls_backend_preconfigured((*config).clone());
        }
        Http {
            client: builder.build().expect("reqwest client"),
            base: server.base_url(),
            health: server.health_addr,
        }
    }

    /// The underlying reqwest client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `http(s)://host:port` of the RPC listener.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request builder and collects status, headers and body.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> HttpReply {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("HTTP request failed: {e:?}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading HTTP body failed: {e:?}"));
        HttpReply { status, headers, body }
    }

    fn with_auth(req: reqwest::RequestBuilder, auth: Auth<'_>) -> reqwest::RequestBuilder {
        match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.header("Authorization", format!("Bearer {t}")),
            Auth::ApiKey(k) => req.header("X-API-Key", k),
        }
    }

    /// `POST /rpc` with raw bytes and a content type.
    pub async fn post_rpc_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
        auth: Auth<'_>,
    ) -> HttpReply {
        let mut req = self.client.post(format!("{}/rpc", self.base)).body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        self.send(Http::with_auth(req, auth)).await
    }

    /// `POST /rpc` with a JSON body (`application/json`).
    pub async fn post_rpc(&self, body: &Value, auth: Auth<'_>) -> HttpReply {
        self.post_rpc_raw(body.to_string(), Some("application/json"), auth)
            .await
    }

    /// One JSON-RPC call over `POST /rpc`; asserts HTTP 200 with JSON and returns the response object.
    pub async fn call(&self, method: &str, params: Value, auth: Auth<'_>) -> Value {
        let mut req = json!({"jsonrpc": "2.0", "id": 1, "method": method});
        if !params.is_null() {
            req["params"] = params;
        }
        let reply = self.post_rpc(&req, auth).await;
        assert_eq!(reply.status, 200, "POST /rpc {method}: body {:?}", reply.body);
        let ct = reply.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("application/json"), "POST /rpc Content-Type {ct:?}");
        reply.json()
    }

    /// `GET` any path on the RPC listener.
    pub async fn get(&self, path: &str) -> HttpReply {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    /// `GET` a path on the health listener.
    pub async fn health(&self, path: &str) -> HttpReply {
        self.send(self.client.get(format!("http://{}{path}", self.health)))
            .await
    }
}

/// Parsed response of [`raw_request`].
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `request` verbatim to a plain TCP connection and reads the response head and body (by
/// `Content-Length`, or until EOF / `limit`). Use `Connection: close` in the request. Panics when no HTTP
/// response head arrives.
pub async fn raw_request(addr: SocketAddr, request: &str, limit: Duration) -> RawResponse {
    let (resp, bytes) = try_raw_request(addr, request, limit).await;
    resp.unwrap_or_else(|| panic!("no HTTP response head in {:?}", String::from_utf8_lossy(&bytes)))
}

/// Like [`raw_request`], but returns `None` (and the bytes read) when no HTTP response head arrives.
pub async fn try_raw_request(addr: SocketAddr, request: &str, limit: Duration) -> (Option<RawResponse>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("TCP connect");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(resp) = parse_complete(&buf) {
            return (Some(resp), buf);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    (parse_head(&buf).map(|(r, _)| r), buf)
}

fn parse_head(buf: &[u8]) -> Option<(RawResponse, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = String::from_utf8_lossy(&buf[end + 4..]).into_owned();
    Some((RawResponse { status, headers, body }, end + 4))
}

fn parse_complete(buf: &[u8]) -> Option<RawResponse> {
    let (resp, body_start) = parse_head(buf)?;
    if resp.status == 101 {
        return Some(resp);
    }
    let len: usize = resp.header("content-length")?.parse().ok()?;
    (buf.len() >= body_start + len).then_some(resp)
}
