//! wss / https (API.md §1.1): with `server.tls` set, port 8002 speaks TLS only — the same JSON-RPC over wss and
//! `POST /rpc` over https with a certificate generated for the test — while the health port stays plain HTTP.

use contract_tests::http::try_raw_request;
use contract_tests::ws::WsClient;
use contract_tests::{Auth, TestServer, assert_not_error};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn wss_and_https_work() {
    let server = TestServer::start_tls(json!({})).await;
    assert!(server.reported_tls, "listening line must say tls: true");
    assert!(server.ws_url().starts_with("wss://"));

    let key = server.admin_key().await;
    let mut ws = server.ws().await;
    ws.assert_alive().await;
    let r = ws.authenticate(&key).await;
    assert_eq!(r["role"], "admin");
    assert_not_error(&ws.call("get_status", Value::Null).await);
    ws.send_binary(vec![1, 2, 3]).await;
    assert_eq!(
        ws.expect_reply("binary over wss").await.value["error"]["data"]["reason"],
        "binary_frame"
    );

    let http = server.http();
    assert_eq!(http.call("ping", Value::Null, Auth::None).await["result"], "pong");
    assert_not_error(&http.call("get_status", Value::Null, Auth::Bearer(&key)).await);
    // The health port is plain HTTP even then.
    assert_eq!(http.health("/health/ready").await.status, 200);
}

#[tokio::test]
async fn plain_connections_to_the_tls_port_fail() {
    let server = TestServer::start_tls(json!({})).await;
    let url = format!("ws://{}/ws", server.rpc_addr);
    let plain = WsClient::try_connect_url(&url, &[], None).await;
    assert!(
        plain.is_err(),
        "a plain ws:// handshake must not succeed on the TLS port"
    );

    let addr = server.rpc_addr;
    let req = format!(
        "POST /rpc HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 40\r\nConnection: close\r\n\r\n{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}}"
    );
    let (resp, _) = try_raw_request(addr, &req, Duration::from_secs(3)).await;
    if let Some(resp) = resp {
        assert_ne!(
            resp.status, 200,
            "plain HTTP must not be served on the TLS port: {resp:?}"
        );
    }
    // The server is still fine afterwards.
    let mut ws = server.ws().await;
    ws.assert_alive().await;
}

#[tokio::test]
async fn untrusted_certificate_is_rejected_by_the_client() {
    // Sanity check of the harness: a client that does not trust the test CA cannot connect, so the wss tests
    // above really ran over verified TLS.
    let server = TestServer::start_tls(json!({})).await;
    let other = contract_tests::tls::TlsMaterial::generate(&server.dir().join("other-ca"));
    let connector = tokio_tungstenite::Connector::Rustls(other.client_config());
    let res = WsClient::try_connect_url(&server.ws_url(), &[], Some(connector)).await;
    assert!(res.is_err(), "a client trusting another CA must fail the handshake");
}
