//! CORS on port 8002 (API.md §6.3): allowed origins get `Access-Control-Allow-Origin: <origin>` and
//! `Vary: Origin` on `/rpc`, `OPTIONS` preflight answers 204 with the allowed methods and headers, and other
//! origins get no CORS grant.

use contract_tests::TestServer;
use serde_json::json;

fn list_contains(value: Option<&str>, item: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case(item)))
}

#[tokio::test]
async fn preflight_for_an_allowed_origin() {
    let server = TestServer::start(json!({"server": {"allowed_origins": ["http://good.example"]}})).await;
    let http = server.http();
    let req = http
        .client()
        .request(reqwest::Method::OPTIONS, format!("{}/rpc", http.base()))
        .header("Origin", "http://good.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type,x-api-key");
    let reply = http.send(req).await;
    assert_eq!(reply.status, 204, "preflight: {:?} {:?}", reply.headers, reply.body);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://good.example"),
        "{:?}",
        reply.headers
    );
    let methods = reply.header("access-control-allow-methods");
    for m in ["GET", "HEAD", "POST"] {
        assert!(list_contains(methods, m), "Allow-Methods lacks {m}: {methods:?}");
    }
    let headers = reply.header("access-control-allow-headers");
    for h in ["Authorization", "X-API-Key", "Content-Type", "Range"] {
        assert!(list_contains(headers, h), "Allow-Headers lacks {h}: {headers:?}");
    }
}

#[tokio::test]
async fn actual_requests_get_origin_headers() {
    let server = TestServer::start(json!({"server": {"allowed_origins": ["http://good.example"]}})).await;
    let http = server.http();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let post = |origin: &'static str| {
        http.client()
            .post(format!("{}/rpc", http.base()))
            .header("Content-Type", "application/json")
            .header("Origin", origin)
            .body(body)
    };
    let reply = http.send(post("http://good.example")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://good.example"),
        "{:?}",
        reply.headers
    );
    let vary: Vec<&str> = reply
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        vary.iter().any(|v| list_contains(Some(v), "Origin")),
        "Vary: Origin: {vary:?}"
    );
    let expose = reply.header("access-control-expose-headers");
    for h in ["Content-Range", "Content-Disposition", "Content-Length", "ETag"] {
        assert!(list_contains(expose, h), "Expose-Headers lacks {h}: {expose:?}");
    }

    let reply = http.send(post("http://evil.example")).await;
    let acao = reply.header("access-control-allow-origin");
    assert!(
        acao.is_none() || acao == Some("null"),
        "a foreign origin gets no CORS grant: {acao:?}"
    );
}
