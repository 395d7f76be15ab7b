//! The health server on port 8003 (API.md §7): `/health`, `/health/detailed`, `/health/ready`, `/health/live`
//! and `/metrics`, their bodies, their common headers, and the Prometheus series the contract names.

use contract_tests::{Auth, HttpReply, TestServer, is_rfc3339_ms, poll_until};
use serde_json::{Value, json};
use std::time::Duration;

#[track_caller]
fn assert_health_headers(reply: &HttpReply, json_body: bool) {
    let ct = reply.header("content-type").unwrap_or_default();
    if json_body {
        assert!(ct.starts_with("application/json"), "Content-Type {ct:?}");
    }
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "Cache-Control: {:?}",
        reply.headers
    );
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("*"),
        "ACAO: {:?}",
        reply.headers
    );
}

#[tokio::test]
async fn health_summary() {
    let server = TestServer::start(json!({})).await;
    let reply = server.http().health("/health").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_health_headers(&reply, true);
    let v = reply.json();
    assert!(matches!(v["status"].as_str(), Some("healthy" | "degraded")), "{v}");
    assert!(v["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{v}");
    assert!(v["version"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(
        v["uptime"].as_f64().is_some_and(|u| u >= 0.0),
        "uptime is a number of seconds: {v}"
    );
}

#[tokio::test]
async fn health_detailed_components() {
    let server = TestServer::start(json!({})).await;
    let reply = server.http().health("/health/detailed").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_health_headers(&reply, true);
    let v = reply.json();
    assert!(matches!(v["status"].as_str(), Some("healthy" | "degraded")), "{v}");
    assert!(v["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{v}");
    assert!(
        v["version"].is_string() && v["uptime"].is_number(),
        "/health fields: {v}"
    );
    let comps = v["components"]
        .as_array()
        .unwrap_or_else(|| panic!("components must be an array: {v}"));
    let mut names: Vec<&str> = comps.iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["camera_monitor", "database", "mediamtx", "storage", "websocket_server"],
        "{v}"
    );
    for c in comps {
        assert!(
            matches!(c["status"].as_str(), Some("healthy" | "degraded" | "unhealthy")),
            "{c}"
        );
        assert!(c["message"].is_string(), "component message: {c}");
        assert!(
            c["last_checked"].as_str().is_some_and(is_rfc3339_ms),
            "component last_checked: {c}"
        );
    }
    let status_of = |n: &str| {
        comps
            .iter()
            .find(|c| c["name"] == n)
            .map(|c| c["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of("database"), "healthy", "{v}");
    assert_eq!(status_of("websocket_server"), "healthy", "{v}");
    assert_eq!(
        status_of("camera_monitor"),
        "healthy",
        "first scan done once ready: {v}"
    );
    let mediamtx = comps.iter().find(|c| c["name"] == "mediamtx").unwrap();
    assert_eq!(
        mediamtx["status"], "healthy",
        "standalone: mediamtx is healthy, 'not used': {mediamtx}"
    );
    assert!(
        mediamtx["message"].as_str().is_some_and(|m| m.contains("not used")),
        "{mediamtx}"
    );
    let m = &v["metrics"];
    assert_eq!(m["component_count"], 5, "{v}");
    let sum: u64 = ["components_healthy", "components_degraded", "components_unhealthy"]
        .iter()
        .map(|k| m[*k].as_u64().unwrap_or_else(|| panic!("metrics.{k}: {v}")))
        .sum();
    assert_eq!(sum, 5, "{v}");
    assert!(m["uptime_seconds"].is_number(), "{v}");
}

#[tokio::test]
async fn readiness_and_liveness() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let ready = http.health("/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_health_headers(&ready, true);
    let v = ready.json();
    assert_eq!(v["ready"], true, "{v}");
    assert!(v["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{v}");
    assert!(v["message"].is_string(), "{v}");
    let live = http.health("/health/live").await;
    assert_eq!(live.status, 200);
    assert_health_headers(&live, true);
    let v = live.json();
    assert_eq!(v["alive"], true, "{v}");
    assert!(v["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{v}");
    assert!(v["message"].is_string(), "{v}");
}

fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && (l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))))
        .collect()
}

fn value(line: &str) -> f64 {
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample value in {line:?}"))
}

#[tokio::test]
async fn prometheus_metrics() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let token = server.jwt("metrics", "admin", 600);
    let mut ws = server.ws_as(&token).await;
    ws.assert_alive().await;
    ws.result("get_server_info", Value::Null).await;
    let _ = http.call("get_server_info", Value::Null, Auth::Bearer(&token)).await;
    let _ = ws.call("no_such_method", Value::Null).await;

    let text = poll_until(Duration::from_secs(5), "request counters in /metrics", || async {
        let reply = http.health("/metrics").await;
        assert_eq!(reply.status, 200);
        let body = reply.body.clone();
        let rpc = series(&body, "camera_service_rpc_requests_total");
        let ws_ok = rpc.iter().any(|l| {
            l.contains("method=\"get_server_info\"") && l.contains("transport=\"ws\"") && l.contains("code=\"ok\"")
        });
        let http_ok = rpc
            .iter()
            .any(|l| l.contains("method=\"get_server_info\"") && l.contains("transport=\"http\""));
        (ws_ok && http_ok).then_some(body)
    })
    .await;
    let reply = http.health("/metrics").await;
    assert_health_headers(&reply, false);
    let ct = reply.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/plain"), "Prometheus text format: {ct:?}");
    assert!(
        text.contains("# TYPE camera_service_rpc_requests_total counter"),
        "counter TYPE line"
    );
    let ping = series(&text, "camera_service_rpc_requests_total");
    assert!(
        ping.iter().any(|l| l.contains("method=\"ping\"")),
        "ping is counted: {ping:?}"
    );
    assert!(
        ping.iter().any(|l| l.contains("code=\"-32601\"")),
        "errors are counted by code: {ping:?}"
    );

    let conns = series(&text, "camera_service_ws_connections");
    assert!(!conns.is_empty(), "camera_service_ws_connections gauge missing");
    assert!(value(conns[0]) >= 1.0, "one socket is open: {conns:?}");
    let build = series(&text, "camera_service_build_info");
    assert!(!build.is_empty(), "camera_service_build_info missing");
    assert!(
        build[0].contains("api_version=\"1.0.0\"") && build[0].contains("version=\""),
        "{build:?}"
    );
    assert_eq!(value(build[0]), 1.0);
    assert!(
        !series(&text, "camera_service_uptime_seconds").is_empty(),
        "uptime gauge missing"
    );
    assert!(
        series(&text, "camera_service_mediamtx_up").is_empty(),
        "mediamtx_up is absent in standalone"
    );
}

#[tokio::test]
async fn ws_connection_gauge_follows_connections() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let gauge = |body: &str| {
        series(body, "camera_service_ws_connections")
            .first()
            .map(|l| value(l))
            .unwrap_or(-1.0)
    };
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut ws = server.ws().await;
        ws.assert_alive().await;
        sockets.push(ws);
    }
    poll_until(Duration::from_secs(5), "ws_connections = 3", || async {
        (gauge(&http.health("/metrics").await.body) == 3.0).then_some(())
    })
    .await;
    for mut ws in sockets.drain(..) {
        ws.close().await;
    }
    poll_until(Duration::from_secs(5), "ws_connections back to 0", || async {
        (gauge(&http.health("/metrics").await.body) == 0.0).then_some(())
    })
    .await;
}
