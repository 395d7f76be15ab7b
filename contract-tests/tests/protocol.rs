//! Protocol conformance (API.md §1.2, §1.3, §2.1, §5.1): the JSON-RPC envelope rules, the params object rule,
//! batches, id echoing, client notifications, binary and invalid UTF-8 frames, over WebSocket and `POST /rpc`.
//! After every bad input the WebSocket must still answer `ping` (bad input never closes the socket, except
//! invalid UTF-8 which closes it with 1007 by RFC 6455).

use contract_tests::{Auth, TestServer, WsClient, assert_error, assert_not_error};
use serde_json::{Value, json};
use std::time::Duration;

const GRACE: Duration = Duration::from_millis(300);

async fn server() -> TestServer {
    TestServer::start(json!({})).await
}

fn admin_jwt(server: &TestServer) -> String {
    server.jwt("proto_admin", "admin", 3600)
}

/// The raw text of the top-level `"id"` member's value in a reply (to check number formatting exactly).
fn raw_id(raw: &str) -> String {
    let at = raw.find("\"id\"").unwrap_or_else(|| panic!("no id member in {raw}"));
    let rest = raw[at + 4..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .unwrap_or_else(|| panic!("id member without colon in {raw}"))
        .trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().to_owned()
}

#[track_caller]
fn assert_id(resp: &Value, id: &Value) {
    assert_eq!(resp.get("id"), Some(id), "id must be echoed as {id}: {resp}");
}

/// Sends `text` on the socket and returns the single reply.
async fn ws_raw(ws: &mut WsClient, text: &str) -> Value {
    ws.send_text(text).await;
    ws.expect_reply(text).await.value
}

// ---------------------------------------------------------------- WebSocket

#[tokio::test]
async fn ws_invalid_json_is_parse_error_with_null_id() {
    let server = server().await;
    let mut ws = server.ws().await;
    for bad in [
        "{",
        "{\"jsonrpc\":\"2.0\",",
        "nope",
        "[1,",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} x",
        "",
    ] {
        let resp = ws_raw(&mut ws, bad).await;
        assert_error(&resp, -32700, "parse_error");
        assert_id(&resp, &Value::Null);
        ws.assert_alive().await;
    }
}

#[tokio::test]
async fn ws_non_object_is_invalid_request_with_null_id() {
    let server = server().await;
    let mut ws = server.ws().await;
    for bad in ["42", "\"ping\"", "true", "null", "3.5"] {
        let resp = ws_raw(&mut ws, bad).await;
        assert_error(&resp, -32600, "invalid_request");
        assert_id(&resp, &Value::Null);
        ws.assert_alive().await;
    }
}

#[tokio::test]
async fn ws_envelope_violations() {
    let server = server().await;
    let mut ws = server.ws().await;
    let cases = [
        (r#"{"id":1,"method":"ping"}"#, "invalid_version", json!(1)),
        (
            r#"{"jsonrpc":"1.0","id":2,"method":"ping"}"#,
            "invalid_version",
            json!(2),
        ),
        (r#"{"jsonrpc":2.0,"id":3,"method":"ping"}"#, "invalid_version", json!(3)),
        (r#"{"jsonrpc":"2.0","id":4}"#, "missing_method", json!(4)),
        (r#"{"jsonrpc":"2.0","id":5,"method":5}"#, "missing_method", json!(5)),
        (r#"{"jsonrpc":"2.0","id":6,"method":null}"#, "missing_method", json!(6)),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":["ping"]}"#,
            "missing_method",
            json!(7),
        ),
        (
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            "invalid_id",
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
            "invalid_id",
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
            "invalid_id",
            Value::Null,
        ),
    ];
    for (text, reason, id) in cases {
        let resp = ws_raw(&mut ws, text).await;
        assert_error(&resp, -32600, reason);
        assert_id(&resp, &id);
        ws.assert_alive().await;
    }
}

#[tokio::test]
async fn ws_params_must_be_an_object() {
    let server = server().await;
    let mut ws = server.ws().await;
    for params in [json!([]), json!([1]), json!(5), json!("x"), json!(true)] {
        let resp = ws.call("ping", params.clone()).await;
        assert_error(&resp, -32602, "params_must_be_object");
        ws.assert_alive().await;
    }
    ws.authenticate(&admin_jwt(&server)).await;
    for method in ["get_server_info", "list_recordings", "get_status"] {
        let resp = ws.call(method, json!(["a"])).await;
        assert_error(&resp, -32602, "params_must_be_object");
    }
}

#[tokio::test]
async fn ws_null_params_are_treated_as_omitted() {
    let server = server().await;
    let mut ws = server.ws().await;
    let resp = ws_raw(&mut ws, r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":null}"#).await;
    assert_eq!(resp["result"], "pong", "{resp}");
    ws.authenticate(&admin_jwt(&server)).await;
    let resp = ws_raw(
        &mut ws,
        r#"{"jsonrpc":"2.0","id":2,"method":"get_server_info","params":null}"#,
    )
    .await;
    assert_not_error(&resp);
    let resp = ws_raw(
        &mut ws,
        r#"{"jsonrpc":"2.0","id":3,"method":"list_recordings","params":null}"#,
    )
    .await;
    assert_not_error(&resp);
}

#[tokio::test]
async fn ws_unknown_param_names_the_param() {
    let server = server().await;
    let mut ws = server.ws().await;
    let token = admin_jwt(&server);
    let data = ws
        .error(
            "authenticate",
            json!({"auth_token": token, "extra": true}),
            -32602,
            "unknown_param",
        )
        .await;
    assert_eq!(data["param"], "extra", "{data}");
    // The failed call did not authenticate the connection.
    ws.error("get_server_info", Value::Null, -32001, "auth_required").await;

    ws.authenticate(&token).await;
    let data = ws
        .error("get_server_info", json!({"bogus": 1}), -32602, "unknown_param")
        .await;
    assert_eq!(data["param"], "bogus", "{data}");
    let data = ws
        .error(
            "list_recordings",
            json!({"limit": 10, "colour": "red"}),
            -32602,
            "unknown_param",
        )
        .await;
    assert_eq!(data["param"], "colour", "{data}");
    ws.assert_alive().await;
}

#[tokio::test]
async fn ws_ping_and_discover_ignore_unknown_keys() {
    let server = server().await;
    let mut ws = server.ws().await;
    assert_eq!(ws.result("ping", json!({"foo": 1, "bar": [1, 2]})).await, "pong");
    let doc = ws.result("rpc.discover", json!({"foo": 1})).await;
    assert!(doc.is_object(), "rpc.discover result: {doc}");
}

#[tokio::test]
async fn ws_empty_batch_is_a_single_error_object() {
    let server = server().await;
    let mut ws = server.ws().await;
    for text in ["[]", "[ ]"] {
        let resp = ws_raw(&mut ws, text).await;
        assert!(
            resp.is_object(),
            "empty batch must get one object, not an array: {resp}"
        );
        assert_error(&resp, -32600, "empty_batch");
        assert_id(&resp, &Value::Null);
        ws.assert_alive().await;
    }
}

#[tokio::test]
async fn ws_oversized_batch_is_rejected_whole_and_nothing_runs() {
    let server = server().await;
    let mut ws = server.ws().await;
    let token = admin_jwt(&server);
    // 33 > default max_batch (32); if anything ran, the connection would be authenticated afterwards.
    let batch: Vec<Value> = (1..=33)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "authenticate", "params": {"auth_token": token}}))
        .collect();
    let resp = ws_raw(&mut ws, &Value::Array(batch).to_string()).await;
    assert!(resp.is_object(), "oversized batch must get one object: {resp}");
    let data = assert_error(&resp, -32600, "batch_too_large");
    assert_eq!(data["max_batch_size"], 32, "{data}");
    assert_id(&resp, &Value::Null);
    ws.error("get_server_info", Value::Null, -32001, "auth_required").await;

    // Exactly the maximum is fine.
    let batch: Vec<Value> = (1..=32)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    let resp = ws_raw(&mut ws, &Value::Array(batch).to_string()).await;
    let arr = resp
        .as_array()
        .unwrap_or_else(|| panic!("batch reply must be an array: {resp}"));
    assert_eq!(arr.len(), 32);
    for (i, r) in arr.iter().enumerate() {
        assert_id(r, &json!(i + 1));
        assert_eq!(r["result"], "pong");
    }
}

#[tokio::test]
async fn ws_batch_runs_in_order_and_skips_notifications() {
    let server = server().await;
    let mut ws = server.ws().await;
    let token = admin_jwt(&server);
    let batch = json!([
        {"jsonrpc": "2.0", "id": "first", "method": "ping"},
        {"jsonrpc": "2.0", "method": "ping"},
        {"jsonrpc": "2.0", "id": 2, "method": "get_server_info"},
        {"jsonrpc": "2.0", "id": 3, "method": "authenticate", "params": {"auth_token": token}},
        {"jsonrpc": "2.0", "id": 4, "method": "get_server_info"},
        {"jsonrpc": "2.0", "method": "no_such_method"},
        7,
        {"jsonrpc": "2.0", "id": 5, "method": "no_such_method"}
    ]);
    let resp = ws_raw(&mut ws, &batch.to_string()).await;
    let arr = resp
        .as_array()
        .unwrap_or_else(|| panic!("batch reply must be an array: {resp}"));
    assert_eq!(
        arr.len(),
        6,
        "one response per element with an id, plus the non-object entry: {resp}"
    );
    assert_id(&arr[0], &json!("first"));
    assert_eq!(arr[0]["result"], "pong");
    assert_id(&arr[1], &json!(2));
    assert_error(&arr[1], -32001, "auth_required");
    assert_id(&arr[2], &json!(3));
    assert_eq!(assert_not_error(&arr[2])["authenticated"], true);
    assert_id(&arr[3], &json!(4));
    assert_not_error(&arr[3]);
    assert_id(&arr[4], &Value::Null);
    assert_error(&arr[4], -32600, "invalid_request");
    assert_id(&arr[5], &json!(5));
    assert_error(&arr[5], -32601, "method_not_found");
    // Nothing else (e.g. a reply to the notification elements) follows.
    ws.assert_no_reply(GRACE).await;
}

#[tokio::test]
async fn ws_all_notification_batch_gets_no_reply() {
    let server = server().await;
    let mut ws = server.ws().await;
    let batch = json!([
        {"jsonrpc": "2.0", "method": "ping"},
        {"jsonrpc": "2.0", "method": "get_server_info"},
        {"jsonrpc": "2.0", "method": "no_such_method"}
    ]);
    ws.send_json(&batch).await;
    ws.assert_no_reply(GRACE).await;
}

#[tokio::test]
async fn ws_ids_are_echoed_exactly() {
    let server = server().await;
    let mut ws = server.ws().await;
    ws.send_text(r#"{"jsonrpc":"2.0","id":12345678901234567890123,"method":"ping"}"#)
        .await;
    let reply = ws.expect_reply("large id").await;
    assert_eq!(
        raw_id(&reply.raw),
        "12345678901234567890123",
        "large integer id must not be rounded: {}",
        reply.raw
    );
    assert_eq!(reply.value["result"], "pong");

    for id in [
        json!("abc"),
        json!(""),
        json!("00042"),
        json!(0),
        json!(-17),
        json!(9007199254740993_u64),
    ] {
        let req = json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
        ws.send_json(&req).await;
        let reply = ws.expect_reply("ping").await;
        assert_id(&reply.value, &id);
        assert_eq!(raw_id(&reply.raw), id.to_string(), "raw id in {}", reply.raw);
    }

    let resp = ws_raw(&mut ws, r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).await;
    assert_id(&resp, &Value::Null);
    assert_eq!(resp["result"], "pong");
}

#[tokio::test]
async fn ws_client_notifications_are_never_answered_but_executed() {
    let server = server().await;
    let mut ws = server.ws().await;
    for text in [
        r#"{"jsonrpc":"2.0","method":"no_such_method"}"#,
        r#"{"jsonrpc":"2.0","method":"get_server_info"}"#,
        r#"{"jsonrpc":"2.0","method":"ping","params":[1]}"#,
        r#"{"jsonrpc":"2.0","method":"get_status","params":{"bogus":1}}"#,
        r#"{"jsonrpc":"2.0","method":"subscribe_events","params":{"topics":["nope"]}}"#,
        r#"{"jsonrpc":"2.0","method":"camera_status_update"}"#,
    ] {
        ws.send_text(text).await;
    }
    ws.assert_no_reply(GRACE).await;

    // A notification is executed: an `authenticate` notification binds a session.
    let token = admin_jwt(&server);
    ws.send_json(&json!({"jsonrpc": "2.0", "method": "authenticate", "params": {"auth_token": token}}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let resp = ws.call("get_server_info", Value::Null).await;
        if resp.get("result").is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "authenticate notification was not executed: {resp}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ws.assert_no_reply(GRACE).await;
}

#[tokio::test]
async fn ws_binary_frame_is_rejected_and_socket_stays_open() {
    let server = server().await;
    let mut ws = server.ws().await;
    ws.send_binary(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.to_vec())
        .await;
    let resp = ws.expect_reply("binary frame").await.value;
    assert_error(&resp, -32600, "binary_frame");
    assert_id(&resp, &Value::Null);
    ws.assert_alive().await;
    ws.send_binary(vec![0, 159, 146, 150]).await;
    let resp = ws.expect_reply("binary frame").await.value;
    assert_error(&resp, -32600, "binary_frame");
    ws.assert_alive().await;
    assert!(ws.closed().is_none());
}

#[tokio::test]
async fn ws_invalid_utf8_text_closes_with_1007() {
    let server = server().await;
    let mut ws = server.ws().await;
    ws.assert_alive().await;
    ws.send_raw_text_frame(vec![b'{', 0xff, 0xfe, b'}']).await;
    let closed = ws.wait_closed(Duration::from_secs(5)).await;
    assert_eq!(closed.code, Some(1007), "close after invalid UTF-8: {closed:?}");
    // The server itself is unaffected.
    let mut other = server.ws().await;
    other.assert_alive().await;
}

#[tokio::test]
async fn ws_notification_names_and_unknown_methods_are_not_found() {
    let server = server().await;
    let mut ws = server.ws().await;
    let names = [
        "camera_status_update",
        "recording_status_update",
        "system_health_update",
        "camera.connected",
        "camera.disconnected",
        "recording.start",
        "snapshot.taken",
        "system.startup",
        "system.shutdown",
        "mediamtx.stream_started",
        "PING",
        "Ping",
        "rpc.Discover",
        "",
        "no_such_method",
    ];
    // Method lookup comes before authentication, so an unauthenticated caller also gets -32601.
    for name in names {
        ws.error(name, Value::Null, -32601, "method_not_found").await;
    }
    ws.authenticate(&admin_jwt(&server)).await;
    for name in names {
        ws.error(name, Value::Null, -32601, "method_not_found").await;
    }
    ws.assert_alive().await;
}

#[tokio::test]
async fn ws_check_order() {
    let server = server().await;
    let mut ws = server.ws().await;
    // method lookup before authentication
    ws.error("no_such_method", json!({"x": 1}), -32601, "method_not_found")
        .await;
    // authentication before params
    ws.error("get_status", json!({"bogus": 1}), -32001, "auth_required")
        .await;
    ws.error(
        "take_snapshot",
        json!({"device": "Not A Camera!"}),
        -32001,
        "auth_required",
    )
    .await;
    // role before params
    ws.authenticate(&server.jwt("viewer_user", "viewer", 3600)).await;
    let data = ws
        .error("get_status", json!({"bogus": 1}), -32002, "insufficient_role")
        .await;
    assert_eq!(data["required_role"], "admin", "{data}");
    assert_eq!(data["have_role"], "viewer", "{data}");
    ws.error(
        "take_snapshot",
        json!({"device": "Not A Camera!"}),
        -32002,
        "insufficient_role",
    )
    .await;
    // params last
    ws.authenticate(&admin_jwt(&server)).await;
    ws.error("get_status", json!({"bogus": 1}), -32602, "unknown_param")
        .await;
    ws.error(
        "take_snapshot",
        json!({"device": "Not A Camera!"}),
        -32602,
        "invalid_device",
    )
    .await;
}

#[tokio::test]
async fn error_data_carries_reason_and_details() {
    let server = server().await;
    let mut ws = server.ws().await;
    let mut errors = Vec::new();
    errors.push(ws_raw(&mut ws, "{").await);
    errors.push(ws_raw(&mut ws, "[]").await);
    errors.push(ws.call("no_such_method", Value::Null).await);
    errors.push(ws.call("get_status", Value::Null).await);
    errors.push(ws.call("authenticate", json!({"auth_token": "garbage"})).await);
    ws.authenticate(&server.jwt("v", "viewer", 3600)).await;
    errors.push(ws.call("get_status", Value::Null).await);
    errors.push(ws.call("list_recordings", json!({"limit": 0})).await);
    for e in &errors {
        let data = &e["error"]["data"];
        assert!(data.is_object(), "error.data must be an object: {e}");
        assert!(
            data["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "data.reason: {e}"
        );
        assert!(
            data["details"].is_string(),
            "data.details (human text) must be present: {e}"
        );
        if let Some(s) = data.get("suggestion") {
            assert!(s.is_string() || s.is_null(), "data.suggestion must be text: {e}");
        }
    }
}

#[tokio::test]
async fn ws_server_survives_a_burst_of_garbage() {
    let server = server().await;
    let mut ws = server.ws().await;
    let garbage = [
        "\u{0}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":",
        "[[[[[[[[[[]]]]]]]]]]",
        "[{}, {}, []]",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"authenticate\",\"params\":{\"auth_token\":12}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"get_camera_status\",\"params\":{\"device\":{}}}",
    ];
    for g in garbage {
        ws.send_text(g).await;
    }
    // Whatever was answered, the socket still works.
    ws.assert_alive().await;
    assert!(ws.closed().is_none(), "garbage closed the socket: {:?}", ws.closed());
    let http = server.http();
    assert_eq!(http.health("/health/live").await.status, 200);
}

// ---------------------------------------------------------------- HTTP POST /rpc

#[tokio::test]
async fn http_invalid_json_and_utf8_are_parse_errors() {
    let server = server().await;
    let http = server.http();
    for body in [
        b"{".to_vec(),
        b"nope".to_vec(),
        vec![b'{', 0xff, 0xfe, b'}'],
        Vec::new(),
    ] {
        let reply = http
            .post_rpc_raw(body.clone(), Some("application/json"), Auth::None)
            .await;
        assert_eq!(
            reply.status, 200,
            "JSON-RPC errors travel inside a 200: {:?}",
            reply.body
        );
        let resp = reply.json();
        assert_error(&resp, -32700, "parse_error");
        assert_id(&resp, &Value::Null);
    }
}

#[tokio::test]
async fn http_envelope_violations() {
    let server = server().await;
    let http = server.http();
    let cases = [
        ("42", "invalid_request", Value::Null),
        ("\"x\"", "invalid_request", Value::Null),
        (
            r#"{"jsonrpc":"1.0","id":2,"method":"ping"}"#,
            "invalid_version",
            json!(2),
        ),
        (r#"{"id":3,"method":"ping"}"#, "invalid_version", json!(3)),
        (r#"{"jsonrpc":"2.0","id":4}"#, "missing_method", json!(4)),
        (r#"{"jsonrpc":"2.0","id":5,"method":5}"#, "missing_method", json!(5)),
        (
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            "invalid_id",
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":false,"method":"ping"}"#,
            "invalid_id",
            Value::Null,
        ),
    ];
    for (text, reason, id) in cases {
        let reply = http.post_rpc_raw(text, Some("application/json"), Auth::None).await;
        assert_eq!(reply.status, 200, "{text}: {:?}", reply.body);
        let resp = reply.json();
        assert_error(&resp, -32600, reason);
        assert_id(&resp, &id);
    }
}

#[tokio::test]
async fn http_params_rules() {
    let server = server().await;
    let http = server.http();
    let resp = http.call("ping", json!([1]), Auth::None).await;
    assert_error(&resp, -32602, "params_must_be_object");
    let resp = http.call("ping", json!({"whatever": 1}), Auth::None).await;
    assert_eq!(resp["result"], "pong");
    let token = admin_jwt(&server);
    let resp = http
        .call("get_server_info", json!({"bogus": 1}), Auth::Bearer(&token))
        .await;
    let data = assert_error(&resp, -32602, "unknown_param");
    assert_eq!(data["param"], "bogus");
    let reply = http
        .post_rpc_raw(
            r#"{"jsonrpc":"2.0","id":9,"method":"get_server_info","params":null}"#,
            Some("application/json"),
            Auth::Bearer(&token),
        )
        .await;
    assert_not_error(&reply.json());
}

#[tokio::test]
async fn http_batches() {
    let server = server().await;
    let http = server.http();
    let token = admin_jwt(&server);

    let reply = http.post_rpc_raw("[]", Some("application/json"), Auth::None).await;
    assert_eq!(reply.status, 200);
    let resp = reply.json();
    assert!(resp.is_object(), "empty batch must get one object: {resp}");
    assert_error(&resp, -32600, "empty_batch");

    let big: Vec<Value> = (1..=33)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "ping"}))
        .collect();
    let resp = http.post_rpc(&Value::Array(big), Auth::None).await.json();
    assert!(resp.is_object(), "oversized batch must get one object: {resp}");
    let data = assert_error(&resp, -32600, "batch_too_large");
    assert_eq!(data["max_batch_size"], 32);

    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "get_server_info"},
        {"jsonrpc": "2.0", "method": "get_server_info"},
        "x",
        {"jsonrpc": "2.0", "id": "b", "method": "no_such_method"},
        {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    ]);
    let reply = http.post_rpc(&batch, Auth::Bearer(&token)).await;
    assert_eq!(reply.status, 200);
    let resp = reply.json();
    let arr = resp
        .as_array()
        .unwrap_or_else(|| panic!("batch reply must be an array: {resp}"));
    assert_eq!(arr.len(), 4, "{resp}");
    assert_id(&arr[0], &json!(1));
    assert_not_error(&arr[0]);
    assert_id(&arr[1], &Value::Null);
    assert_error(&arr[1], -32600, "invalid_request");
    assert_id(&arr[2], &json!("b"));
    assert_error(&arr[2], -32601, "method_not_found");
    assert_id(&arr[3], &json!(3));
    assert_eq!(arr[3]["result"], "pong");
}

#[tokio::test]
async fn http_notifications_get_204() {
    let server = server().await;
    let http = server.http();
    let batch = json!([
        {"jsonrpc": "2.0", "method": "ping"},
        {"jsonrpc": "2.0", "method": "no_such_method"},
        {"jsonrpc": "2.0", "method": "get_status"}
    ]);
    let reply = http.post_rpc(&batch, Auth::None).await;
    assert_eq!(reply.status, 204, "all-notification batch: {:?}", reply.body);
    assert!(reply.body.is_empty(), "204 must have no body: {:?}", reply.body);
    let reply = http
        .post_rpc(&json!({"jsonrpc": "2.0", "method": "ping"}), Auth::None)
        .await;
    assert_eq!(reply.status, 204, "single notification: {:?}", reply.body);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn http_ids_are_echoed_exactly() {
    let server = server().await;
    let http = server.http();
    let reply = http
        .post_rpc_raw(
            r#"{"jsonrpc":"2.0","id":12345678901234567890123,"method":"ping"}"#,
            Some("application/json"),
            Auth::None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        raw_id(&reply.body),
        "12345678901234567890123",
        "large id must not be rounded: {}",
        reply.body
    );
    for id in [json!("s-1"), json!(-3), Value::Null] {
        let resp = http
            .post_rpc(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}), Auth::None)
            .await
            .json();
        assert_id(&resp, &id);
        assert_eq!(resp["result"], "pong");
    }
}

#[tokio::test]
async fn http_notification_names_are_not_methods() {
    let server = server().await;
    let http = server.http();
    let token = admin_jwt(&server);
    for name in [
        "camera_status_update",
        "recording.stop",
        "system.shutdown",
        "no_such_method",
    ] {
        let resp = http.call(name, Value::Null, Auth::None).await;
        assert_error(&resp, -32601, "method_not_found");
        let resp = http.call(name, Value::Null, Auth::Bearer(&token)).await;
        assert_error(&resp, -32601, "method_not_found");
    }
}

// ---------------------------------------------------------------- response metadata

#[track_caller]
fn assert_metadata(resp: &Value) {
    let m = resp
        .get("metadata")
        .unwrap_or_else(|| panic!("response_metadata: true needs metadata on {resp}"));
    assert!(
        m["processing_time_ms"].is_u64(),
        "metadata.processing_time_ms is an int: {resp}"
    );
    assert!(
        m["server_timestamp"]
            .as_str()
            .is_some_and(contract_tests::is_rfc3339_ms),
        "server_timestamp: {resp}"
    );
    assert!(
        m["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "request_id: {resp}"
    );
}

#[tokio::test]
async fn response_metadata_when_enabled() {
    let server = TestServer::start(json!({"server": {"response_metadata": true}})).await;
    let mut ws = server.ws().await;
    let ok = ws.call("ping", Value::Null).await;
    assert_eq!(ok["result"], "pong");
    assert_metadata(&ok);
    let err = ws.call("no_such_method", Value::Null).await;
    assert_metadata(&err);
    let a = ws.call("ping", Value::Null).await;
    assert_ne!(
        a["metadata"]["request_id"], ok["metadata"]["request_id"],
        "request_id differs per response"
    );
    let batch = ws_raw(
        &mut ws,
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#,
    )
    .await;
    for r in batch.as_array().unwrap_or_else(|| panic!("{batch}")) {
        assert_metadata(r);
    }
    let http = server.http().call("ping", Value::Null, Auth::None).await;
    assert_metadata(&http);
}

#[tokio::test]
async fn no_response_metadata_by_default() {
    let server = server().await;
    let mut ws = server.ws().await;
    let resp = ws.call("ping", Value::Null).await;
    assert!(resp.get("metadata").is_none(), "metadata is off by default: {resp}");
}

// ---------------------------------------------------------------- concurrency

#[tokio::test]
async fn ws_pipelined_requests_are_all_answered_and_matched_by_id() {
    let server = server().await;
    let mut ws = server.ws().await;
    ws.authenticate(&admin_jwt(&server)).await;
    // Well past max_inflight_per_connection (64): the server pauses reading, it never errors.
    let n = 200;
    for i in 0..n {
        let method = if i % 4 == 0 { "get_server_info" } else { "ping" };
        ws.send_json(&json!({"jsonrpc": "2.0", "id": format!("p{i}"), "method": method}))
            .await;
    }
    for i in 0..n {
        let reply = ws.reply_for(&json!(format!("p{i}")), "pipelined request").await;
        assert_not_error(&reply.value);
    }
    assert!(ws.next_reply(GRACE).await.is_none(), "exactly one reply per request");
}
