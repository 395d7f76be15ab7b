//! Keepalive and connection lifetime (API.md §1.4): the server Pings, a client that answers stays connected
//! however idle it is, a client that never answers is dropped after `pong_timeout_secs`, and client Pings get
//! Pongs.

use contract_tests::TestServer;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn fast_keepalive() -> serde_json::Value {
    json!({"server": {"ping_interval_secs": 1, "pong_timeout_secs": 2}})
}

#[tokio::test]
async fn idle_client_that_answers_pings_stays_connected() {
    let server = TestServer::start(fast_keepalive()).await;
    let mut ws = server.ws_as(&server.jwt("idle", "viewer", 600)).await;
    // Longer than the pong timeout; the client library answers the server's Pings on its own.
    ws.idle(Duration::from_secs(5)).await;
    assert!(
        ws.closed().is_none(),
        "application idleness must never close a connection: {:?}",
        ws.closed()
    );
    ws.assert_alive().await;
}

#[tokio::test]
async fn client_pings_get_pongs() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws().await;
    ws.send_ping(b"are-you-there".to_vec()).await;
    ws.wait_pong(b"are-you-there", Duration::from_secs(5)).await;
    ws.assert_alive().await;
}

#[tokio::test]
async fn silent_client_is_dropped_after_the_pong_timeout() {
    let server = TestServer::start(fast_keepalive()).await;
    let addr = server.rpc_addr;
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.expect("write upgrade");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut byte))
            .await
            .expect("101 in time")
            .expect("read");
        assert!(
            n == 1,
            "connection closed during the handshake: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&head)
    );
    let started = tokio::time::Instant::now();

    // Read (and ignore) whatever the server sends — its Pings go unanswered — until it drops us.
    let mut buf = [0u8; 1024];
    let mut saw_ping = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await {
            Err(_) => panic!(
                "a client that never answers Pings is still connected after {:?}",
                started.elapsed()
            ),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => saw_ping |= buf[..n].contains(&0x89),
        }
    }
    let elapsed = started.elapsed();
    assert!(saw_ping, "the server must send WebSocket Pings");
    assert!(
        elapsed >= Duration::from_millis(1500),
        "dropped before the pong timeout: {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(6),
        "pong_timeout_secs 2 (+ one ping interval): {elapsed:?}"
    );
}
