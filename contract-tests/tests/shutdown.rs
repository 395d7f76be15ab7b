//! Graceful shutdown (API.md §1.4 close codes, §5.3 `system.shutdown`, §6.3): on SIGTERM / SIGINT the server
//! notifies subscribers, closes every WebSocket with 1001 and exits 0; a restart on the same data dir keeps
//! API keys working.

use contract_tests::ws::ConnectError;
use contract_tests::{TestServer, WsClient, assert_not_error, is_rfc3339_ms};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn sigterm_closes_sockets_with_1001_and_exits_zero() {
    let mut server = TestServer::start(json!({})).await;
    let admin = server.admin_key().await;
    let mut subscribed = server.ws_as(&admin).await;
    let created = subscribed
        .result(
            "create_api_key",
            json!({"role": "operator", "description": "survives restart"}),
        )
        .await;
    let rpc_key = created["api_key"].as_str().unwrap().to_owned();
    let topics = subscribed
        .result("subscribe_events", json!({"topics": ["system.shutdown"]}))
        .await;
    assert_eq!(topics["topics"], json!(["system.shutdown"]), "{topics}");
    let mut plain = server.ws_as(&server.jwt("plain", "viewer", 600)).await;
    let mut anonymous = server.ws().await;
    anonymous.assert_alive().await;

    server.signal(libc::SIGTERM);

    let closed = subscribed.wait_closed(Duration::from_secs(10)).await;
    assert_eq!(closed.code, Some(1001), "server shutdown closes with 1001: {closed:?}");
    let note = subscribed
        .notifications()
        .iter()
        .find(|n| n["method"] == "system.shutdown")
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "system.shutdown must arrive before the close; got {:?}",
                subscribed.notifications()
            )
        });
    assert!(note.get("id").is_none(), "notifications have no id member: {note}");
    assert!(note["params"]["reason"].is_string(), "{note}");
    assert!(note["params"]["grace_seconds"].is_number(), "{note}");
    assert!(
        note["params"]["timestamp"].as_str().is_some_and(is_rfc3339_ms),
        "{note}"
    );
    // Once shutdown has begun, no new session can start: refused outright, or 503 shutting_down (§6.3).
    match WsClient::try_connect(&server, &[]).await {
        Ok(_) => panic!("a WebSocket upgrade succeeded after system.shutdown"),
        Err(ConnectError::Http { status, body, .. }) => {
            assert_eq!(status, 503, "upgrade during shutdown: {body}");
            let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("503 body is not JSON ({e}): {body}"));
            assert_eq!(v["error"]["reason"], "shutting_down", "{v}");
        }
        Err(ConnectError::Other(_)) => {}
    }
    for ws in [&mut plain, &mut anonymous] {
        let closed = ws.wait_closed(Duration::from_secs(10)).await;
        assert_eq!(closed.code, Some(1001), "every socket gets 1001: {closed:?}");
    }
    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // Same data dir: keys made by the CLI and over RPC still authenticate.
    let server = server.restart().await;
    let mut ws = server.ws().await;
    let r = ws.authenticate(&admin).await;
    assert_eq!(r["role"], "admin");
    assert_not_error(&ws.call("get_status", Value::Null).await);
    let mut ws = server.ws().await;
    assert_eq!(ws.authenticate(&rpc_key).await["role"], "operator");
}

#[tokio::test]
async fn sigint_exits_zero() {
    let mut server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("i", "viewer", 600)).await;
    server.signal(libc::SIGINT);
    let closed = ws.wait_closed(Duration::from_secs(10)).await;
    assert_eq!(closed.code, Some(1001), "{closed:?}");
    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status after SIGINT: {status}");
}

#[tokio::test]
async fn idle_server_exits_promptly() {
    let mut server = TestServer::start(json!({})).await;
    let started = tokio::time::Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an idle server should stop within seconds: {:?}",
        started.elapsed()
    );
}
