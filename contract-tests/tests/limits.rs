//! Limits and HTTP-level rejections (API.md §1.2, §1.3 batches, §3.3 abuse limits, §6.1, §6.3, §6.4):
//! connection caps, message and body size limits, request rate limiting, the failed-authentication limiter,
//! Origin checks, and the JSON error body of every non-2xx response on the RPC port.

use contract_tests::http::raw_request;
use contract_tests::ws::WsClient;
use contract_tests::{Auth, TestServer, assert_error, error_code, error_reason, poll_until};
use serde_json::{Value, json};
use std::time::Duration;

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Asserts the §6.4 body on an upgrade rejection.
#[track_caller]
fn assert_rejection(status: u16, headers: &[(String, String)], body: &str, want_status: u16, reason: &str) {
    assert_eq!(
        status, want_status,
        "upgrade rejection status (want {reason}); body {body:?}"
    );
    let ct = header(headers, "content-type").unwrap_or_default();
    assert!(ct.starts_with("application/json"), "Content-Type {ct:?} for {reason}");
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{reason} body is not JSON ({e}): {body:?}"));
    assert_eq!(v["error"]["status"], want_status, "{v}");
    assert_eq!(v["error"]["reason"], reason, "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
}

#[tokio::test]
async fn global_connection_cap_answers_503() {
    let server = TestServer::start(json!({"server": {"max_connections": 3}})).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut ws = server.ws().await;
        ws.assert_alive().await;
        open.push(ws);
    }
    let err = WsClient::try_connect(&server, &[])
        .await
        .err()
        .expect("4th connection must be refused");
    let (status, headers, body) = err.http();
    assert_rejection(status, &headers, &body, 503, "server_at_capacity");
    assert_eq!(
        header(&headers, "retry-after"),
        Some("5"),
        "Retry-After on 503: {headers:?}"
    );
    // Existing connections are unaffected; closing one frees a slot.
    open[0].assert_alive().await;
    let mut first = open.remove(0);
    first.close().await;
    drop(first);
    let mut ws = poll_until(Duration::from_secs(5), "a slot after closing a connection", || async {
        WsClient::try_connect(&server, &[]).await.ok()
    })
    .await;
    ws.assert_alive().await;
}

#[tokio::test]
async fn per_ip_connection_cap_answers_429() {
    let server = TestServer::start(json!({"server": {"max_connections_per_ip": 2}})).await;
    let mut a = server.ws().await;
    let mut b = server.ws().await;
    a.assert_alive().await;
    b.assert_alive().await;
    let err = WsClient::try_connect(&server, &[])
        .await
        .err()
        .expect("3rd connection from one IP must be refused");
    let (status, headers, body) = err.http();
    assert_rejection(status, &headers, &body, 429, "too_many_connections");
    assert_eq!(
        header(&headers, "retry-after"),
        Some("5"),
        "Retry-After on 429: {headers:?}"
    );
    a.assert_alive().await;
}

#[tokio::test]
async fn websocket_message_over_the_limit_closes_with_1009() {
    let server = TestServer::start(json!({"server": {"max_message_bytes": 10_485_760}})).await;
    let mut ws = server.ws().await;
    ws.assert_alive().await;
    let filler = "a".repeat(11_010_048); // 10.5 MiB
    let msg = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{filler}"}}}}"#);
    let _ = ws.send_text_lossy(msg).await;
    let closed = ws.wait_closed(Duration::from_secs(10)).await;
    assert_eq!(closed.code, Some(1009), "close after an oversized message: {closed:?}");
    server.ws().await.assert_alive().await;
}

#[tokio::test]
async fn websocket_message_under_the_limit_is_answered() {
    let server = TestServer::start(json!({"server": {"max_message_bytes": 10_485_760}})).await;
    let mut ws = server.ws().await;
    let filler = "a".repeat(10_000_000);
    let msg = format!(r#"{{"jsonrpc":"2.0","id":"big","method":"ping","params":{{"x":"{filler}"}}}}"#);
    ws.send_text(msg).await;
    let reply = ws.reply_for(&json!("big"), "9.5 MiB ping").await;
    assert_eq!(
        reply.value["result"], "pong",
        "messages below the limit are answered: {}",
        reply.raw
    );
    // An oversized *parameter* inside an allowed message is a -32602, not a close.
    let token = "x".repeat(9_000_000);
    let resp = ws.call("authenticate", json!({"auth_token": token})).await;
    assert_error(&resp, -32602, "too_long");
    ws.assert_alive().await;
}

#[tokio::test]
async fn http_body_over_the_limit_is_413() {
    let server = TestServer::start(json!({"server": {"max_message_bytes": 10_485_760}})).await;
    let http = server.http();
    let filler = "a".repeat(11_010_048);
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{filler}"}}}}"#);
    let reply = http.post_rpc_raw(body, Some("application/json"), Auth::None).await;
    reply.assert_error_body(413, "message_too_large");
    assert_eq!(http.call("ping", Value::Null, Auth::None).await["result"], "pong");
}

#[tokio::test]
async fn request_rate_limit_per_connection() {
    let server = TestServer::start(json!({"security": {"rate_limit_per_sec": 1, "rate_limit_burst": 3}})).await;
    let mut ws = server.ws().await;
    let mut limited = None;
    for i in 0..10 {
        let resp = ws.call("get_server_info", Value::Null).await;
        if error_code(&resp) == Some(-32040) {
            assert!(i >= 3, "the burst of 3 must be honoured; call {i} limited: {resp}");
            limited = Some(resp);
            break;
        }
        assert_eq!(error_reason(&resp), Some("auth_required"), "{resp}");
    }
    let resp = limited.expect("no -32040 after 10 rapid calls with burst 3 and 1/s");
    let data = assert_error(&resp, -32040, "rate_limited");
    let retry = data["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("retry_after_ms must be an int: {data}"));
    assert!(retry > 0 && retry <= 1000, "retry_after_ms with 1 token/s: {data}");
    // ping is exempt and free.
    for _ in 0..20 {
        ws.assert_alive().await;
    }
    // After waiting, tokens come back.
    tokio::time::sleep(Duration::from_millis(retry + 50)).await;
    let resp = ws.call("get_server_info", Value::Null).await;
    assert_eq!(
        error_reason(&resp),
        Some("auth_required"),
        "a token after retry_after_ms: {resp}"
    );
    // Another connection has its own bucket.
    let mut other = server.ws().await;
    assert_eq!(
        error_reason(&other.call("get_server_info", Value::Null).await),
        Some("auth_required")
    );
}

#[tokio::test]
async fn batch_elements_count_against_the_rate_limit() {
    let server = TestServer::start(json!({"security": {"rate_limit_per_sec": 1, "rate_limit_burst": 3}})).await;
    let mut ws = server.ws().await;
    let batch: Vec<Value> = (1..=6)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "get_server_info"}))
        .collect();
    ws.send_json(&Value::Array(batch)).await;
    let reply = ws.expect_reply("batch").await.value;
    let arr = reply.as_array().unwrap_or_else(|| panic!("batch reply: {reply}"));
    assert_eq!(arr.len(), 6);
    assert_eq!(error_reason(&arr[0]), Some("auth_required"), "{reply}");
    assert_eq!(
        error_reason(&arr[5]),
        Some("rate_limited"),
        "element 6 of a burst-3 bucket: {reply}"
    );
    let data = assert_error(&arr[5], -32040, "rate_limited");
    assert!(data["retry_after_ms"].is_u64(), "{data}");
}

#[tokio::test]
async fn http_rate_limit_per_ip() {
    let server = TestServer::start(json!({"security": {"rate_limit_per_sec": 1, "rate_limit_burst": 3}})).await;
    let http = server.http();
    let mut limited = None;
    for _ in 0..10 {
        let resp = http.call("get_server_info", Value::Null, Auth::None).await;
        if error_code(&resp) == Some(-32040) {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("POST /rpc is rate limited per IP");
    let data = assert_error(&resp, -32040, "rate_limited");
    assert!(data["retry_after_ms"].is_u64(), "{data}");
    assert_eq!(
        http.call("ping", Value::Null, Auth::None).await["result"],
        "pong",
        "ping is exempt over HTTP too"
    );
}

#[tokio::test]
async fn failed_authentications_block_the_ip() {
    let server = TestServer::start(json!({"security": {"auth_failures_per_min": 3}})).await;
    let key = server.admin_key().await;
    let mut ws = server.ws().await;
    for i in 0..3 {
        let resp = ws
            .call("authenticate", json!({"auth_token": format!("garbage-{i}")}))
            .await;
        assert_error(&resp, -32001, "auth_failed");
    }
    // "More than 3 failures" blocks: the 4th attempt may still be checked (and fail) or already be blocked;
    // the one after it is blocked in either reading, even with a valid key.
    let fourth = ws.call("authenticate", json!({"auth_token": "garbage-4"})).await;
    assert!(matches!(error_code(&fourth), Some(-32001 | -32040)), "{fourth}");
    let resp = ws.call("authenticate", json!({"auth_token": key})).await;
    let data = assert_error(&resp, -32040, "auth_rate_limited");
    let retry = data["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("retry_after_ms: {data}"));
    assert!(retry > 0 && retry <= 60_000, "{data}");
    // Per IP, not per connection.
    let mut other = server.ws().await;
    other
        .error("authenticate", json!({"auth_token": key}), -32040, "auth_rate_limited")
        .await;
    other.assert_alive().await;
}

#[tokio::test]
async fn failed_http_credentials_count_too() {
    let server = TestServer::start(json!({"security": {"auth_failures_per_min": 3}})).await;
    let key = server.admin_key().await;
    let http = server.http();
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "get_server_info"});
    let mut last = None;
    for _ in 0..5 {
        let reply = http.post_rpc(&request, Auth::Bearer("garbage")).await;
        assert!(matches!(reply.status, 200 | 429), "{:?}", reply.body);
        last = Some(reply);
    }
    // More than 3 failures from this IP: blocked, and over HTTP that is a 429 (§3.3) with the §6.4 body.
    let last = last.expect("five replies");
    last.assert_error_body(429, "auth_rate_limited");
    assert!(
        last.header("retry-after").is_some(),
        "Retry-After on 429: {:?}",
        last.headers
    );
    let mut ws = server.ws().await;
    ws.error("authenticate", json!({"auth_token": key}), -32040, "auth_rate_limited")
        .await;
}

#[tokio::test]
async fn exempt_networks_are_not_blocked() {
    let server =
        TestServer::start(json!({"security": {"auth_failures_per_min": 3, "auth_rate_limit_exempt": ["127.0.0.0/8"]}}))
            .await;
    let key = server.admin_key().await;
    let mut ws = server.ws().await;
    for i in 0..8 {
        ws.error(
            "authenticate",
            json!({"auth_token": format!("garbage-{i}")}),
            -32001,
            "auth_failed",
        )
        .await;
    }
    ws.authenticate(&key).await;
}

#[tokio::test]
async fn configured_batch_limit() {
    let server = TestServer::start(json!({"server": {"max_batch": 3}})).await;
    let mut ws = server.ws().await;
    let batch: Vec<Value> = (1..=4)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    ws.send_json(&Value::Array(batch)).await;
    let resp = ws.expect_reply("batch of 4").await.value;
    let data = assert_error(&resp, -32600, "batch_too_large");
    assert_eq!(data["max_batch_size"], 3, "{data}");
    let batch: Vec<Value> = (1..=3)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    ws.send_json(&Value::Array(batch)).await;
    let resp = ws.expect_reply("batch of 3").await.value;
    assert_eq!(resp.as_array().map(Vec::len), Some(3), "{resp}");
}

#[tokio::test]
async fn origin_rules() {
    let server = TestServer::start(json!({"server": {"allowed_origins": ["http://good.example"]}})).await;
    let err = WsClient::try_connect(&server, &[("Origin", "http://evil.example")])
        .await
        .err()
        .expect("bad Origin refused");
    let (status, headers, body) = err.http();
    assert_rejection(status, &headers, &body, 403, "origin_not_allowed");
    let err = WsClient::try_connect(&server, &[("Origin", "http://good.example:8080")])
        .await
        .err()
        .expect("port must match exactly");
    let (status, headers, body) = err.http();
    assert_rejection(status, &headers, &body, 403, "origin_not_allowed");

    let mut ok = WsClient::try_connect(&server, &[("Origin", "http://good.example")])
        .await
        .expect("listed Origin");
    ok.assert_alive().await;
    let own = format!("http://{}", server.rpc_addr);
    let mut same = WsClient::try_connect(&server, &[("Origin", own.as_str())])
        .await
        .expect("same-origin allowed");
    same.assert_alive().await;
    let mut none = WsClient::try_connect(&server, &[]).await.expect("no Origin allowed");
    none.assert_alive().await;
}

#[tokio::test]
async fn wildcard_origin() {
    let server = TestServer::start(json!({"server": {"allowed_origins": ["*"]}})).await;
    let mut ws = WsClient::try_connect(&server, &[("Origin", "http://anything.example")])
        .await
        .expect("* allows any");
    ws.assert_alive().await;
}

#[tokio::test]
async fn default_origin_policy_is_same_origin_only() {
    let server = TestServer::start(json!({})).await;
    let err = WsClient::try_connect(&server, &[("Origin", "http://elsewhere.example")])
        .await
        .err()
        .expect("refused");
    let (status, headers, body) = err.http();
    assert_rejection(status, &headers, &body, 403, "origin_not_allowed");
}

#[tokio::test]
async fn plain_get_on_ws_is_426() {
    let server = TestServer::start(json!({})).await;
    let reply = server.http().get("/ws").await;
    reply.assert_error_body(426, "upgrade_required");
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    for path in ["/", "/nope", "/rpc/extra", "/ws/x", "/health"] {
        http.get(path).await.assert_error_body(404, "not_found");
    }
    let reply = http
        .send(http.client().post(format!("{}/nothing", http.base())).body("{}"))
        .await;
    reply.assert_error_body(404, "not_found");
}

#[tokio::test]
async fn wrong_method_on_rpc_is_405() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let url = format!("{}/rpc", http.base());
    http.send(http.client().get(&url))
        .await
        .assert_error_body(405, "method_not_allowed");
    http.send(
        http.client()
            .put(&url)
            .header("Content-Type", "application/json")
            .body("{}"),
    )
    .await
    .assert_error_body(405, "method_not_allowed");
    http.send(http.client().delete(&url))
        .await
        .assert_error_body(405, "method_not_allowed");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    for ct in ["text/plain", "application/x-www-form-urlencoded", "application/xml"] {
        http.post_rpc_raw(ping, Some(ct), Auth::None)
            .await
            .assert_error_body(415, "unsupported_media_type");
    }
    for ct in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
    ] {
        let reply = http.post_rpc_raw(ping, Some(ct), Auth::None).await;
        assert_eq!(reply.status, 200, "{ct}: {:?}", reply.body);
        assert_eq!(reply.json()["result"], "pong");
    }
}

#[tokio::test]
async fn raw_upgrade_edge_cases() {
    let server = TestServer::start(json!({})).await;
    let addr = server.rpc_addr;
    // An upgrade request missing Sec-WebSocket-Key is not an upgrade.
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n"
    );
    let resp = raw_request(addr, &req, Duration::from_secs(5)).await;
    assert!(
        resp.status >= 400 && resp.status < 500,
        "incomplete upgrade must be refused: {resp:?}"
    );
    // A proper upgrade gets 101.
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let resp = raw_request(addr, &req, Duration::from_secs(5)).await;
    assert_eq!(resp.status, 101, "{resp:?}");
    assert_eq!(
        resp.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{resp:?}"
    );
    // A foreign Origin on a raw upgrade gets the JSON 403.
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let resp = raw_request(addr, &req, Duration::from_secs(5)).await;
    assert_eq!(resp.status, 403, "{resp:?}");
    let v: Value = serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("403 body not JSON ({e}): {resp:?}"));
    assert_eq!(v["error"]["reason"], "origin_not_allowed");
}
