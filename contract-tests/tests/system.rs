//! Meta and system methods (API.md §4.1 `ping` / `rpc.discover`, §4.7 `get_status`, `get_system_status`,
//! `get_server_info`, `get_metrics`, §8 OpenRPC): result shapes and the values a standalone test server must
//! report.

use contract_tests::contract::METHODS;
use contract_tests::{Auth, TestServer, is_rfc3339_ms};
use serde_json::{Value, json};

#[tokio::test]
async fn ping_needs_nothing() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws().await;
    assert_eq!(ws.result("ping", Value::Null).await, "pong");
    assert_eq!(ws.result("ping", json!({})).await, "pong");
    assert_eq!(
        server.http().call("ping", Value::Null, Auth::None).await["result"],
        "pong"
    );
}

#[tokio::test]
async fn rpc_discover_describes_every_method() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws().await;
    let doc = ws.result("rpc.discover", Value::Null).await;
    assert_eq!(doc["openrpc"], "1.3.2", "{}", doc["openrpc"]);
    assert_eq!(doc["info"]["title"], "Camera Service API");
    assert_eq!(doc["info"]["version"], "1.0.0");
    let methods: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap_or_else(|| panic!("methods array"))
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for (name, _, _, _) in METHODS {
        assert!(methods.contains(name), "rpc.discover lacks {name}");
    }
    // Over HTTP, unauthenticated, too.
    let http = server.http().call("rpc.discover", Value::Null, Auth::None).await;
    assert_eq!(http["result"]["openrpc"], "1.3.2");
}

#[tokio::test]
async fn rpc_discover_equals_the_committed_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/openrpc.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} must be committed (§8): {e}", path.display()));
    let mut committed: Value = serde_json::from_str(&text).expect("schema/openrpc.json is JSON");
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws().await;
    let mut served = ws.result("rpc.discover", Value::Null).await;
    if let Some(o) = committed.as_object_mut() {
        o.remove("servers");
    }
    if let Some(o) = served.as_object_mut() {
        o.remove("servers");
    }
    assert!(
        served == committed,
        "served OpenRPC document differs from schema/openrpc.json (apart from servers)"
    );
}

#[tokio::test]
async fn get_server_info_in_standalone() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("info", "viewer", 600)).await;
    let r = ws.result("get_server_info", Value::Null).await;
    assert_eq!(r["name"], "Camera Service", "{r}");
    assert_eq!(r["api_version"], "1.0.0", "{r}");
    for k in [
        "version",
        "build_date",
        "go_version",
        "rust_version",
        "architecture",
        "os",
    ] {
        assert!(r[k].is_string(), "{k}: {r}");
    }
    assert_eq!(r["architecture"], std::env::consts::ARCH, "{r}");
    assert_eq!(r["os"], "linux", "{r}");
    assert_eq!(r["backend"], "standalone", "mediamtx disabled + ffmpeg backend: {r}");
    let caps: Vec<&str> = r["capabilities"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !caps.contains(&"streaming"),
        "streaming only with the MediaMTX backend: {r}"
    );
    for c in ["snapshots", "recordings", "api_keys"] {
        assert!(caps.contains(&c), "capability {c}: {r}");
    }
    let formats: Vec<&str> = r["supported_formats"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in ["fmp4", "mp4", "mkv", "jpg", "png"] {
        assert!(formats.contains(&f), "standalone supports {f}: {r}");
    }
    assert_eq!(r["max_cameras"], 32, "{r}");
}

#[tokio::test]
async fn get_status_components() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("st", "admin", 600)).await;
    let r = ws.result("get_status", Value::Null).await;
    assert!(matches!(r["status"].as_str(), Some("HEALTHY" | "DEGRADED")), "{r}");
    assert!(r["uptime"].is_number(), "{r}");
    assert_eq!(r["api_version"], "1.0.0");
    assert!(r["version"].is_string());
    let c = &r["components"];
    for name in ["websocket_server", "camera_monitor", "mediamtx", "storage", "database"] {
        assert!(
            matches!(
                c[name].as_str(),
                Some("RUNNING" | "STOPPED" | "ERROR" | "STARTING" | "STOPPING")
            ),
            "{name}: {r}"
        );
    }
    assert_eq!(c["websocket_server"], "RUNNING", "{r}");
    assert_eq!(c["database"], "RUNNING", "{r}");
    assert_eq!(c["mediamtx"], "STOPPED", "not used in standalone: {r}");
}

#[tokio::test]
async fn get_system_status_when_ready() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("sys", "viewer", 600)).await;
    let r = ws.result("get_system_status", Value::Null).await;
    assert_eq!(r["status"], "ready", "first scan done and storage usable: {r}");
    assert!(r["message"].is_string(), "{r}");
    assert!(r["available_cameras"].is_array(), "{r}");
    assert!(r["discovery_active"].is_boolean(), "{r}");
}

#[tokio::test]
async fn get_metrics_shape() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("m", "admin", 600)).await;
    let r = ws.result("get_metrics", Value::Null).await;
    assert!(r["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{r}");
    for k in ["cpu_usage", "memory_usage", "disk_usage"] {
        let top = r[k].as_f64().unwrap_or_else(|| panic!("{k}: {r}"));
        assert!((0.0..=100.0).contains(&top), "{k}: {r}");
        assert_eq!(
            r[k], r["system_metrics"][k],
            "{k} appears at top level and in system_metrics with the same value"
        );
    }
    for k in ["goroutines", "process_memory_bytes", "open_connections"] {
        assert!(r["system_metrics"][k].is_u64(), "system_metrics.{k}: {r}");
    }
    assert!(r["camera_metrics"]["cameras"].is_object(), "{r}");
    assert!(r["recording_metrics"]["active_recordings"].is_u64(), "{r}");
    assert!(r["stream_metrics"].is_object(), "{r}");
}

#[tokio::test]
async fn streaming_methods_are_unavailable_in_standalone() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("streams", "operator", 600)).await;
    for (method, params) in [
        ("get_stream_url", json!({"device": "camera0"})),
        ("get_stream_status", json!({"device": "camera0"})),
        ("get_streams", json!({})),
        ("start_streaming", json!({"device": "camera0"})),
        ("stop_streaming", json!({"device": "camera0"})),
    ] {
        let data = ws.error(method, params, -32050, "streaming_unavailable").await;
        assert_eq!(data["dependency"], "mediamtx", "{method}: {data}");
    }
}
