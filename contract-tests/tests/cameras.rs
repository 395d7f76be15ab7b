//! Camera discovery (API.md §4.0, §4.2, §4.9, §5.2, §5.3): V4L2 hotplug in a temporary device directory (fake
//! `videoN` nodes are regular files, which the ioctl probe cannot use, so they are listed as `ERROR`), a
//! configured id hiding a device node, external streams (add / list / remove with redacted credentials,
//! persistence across a restart, unreachable source is `DISCONNECTED` without a hang), discovery against a tiny
//! fake RTSP server. Latency figures (hotplug, `get_camera_list` with 32 cameras) come from the media benchmark
//! (`contract-tests/src/bin/media_bench.rs`), not from timed tests.

use contract_tests::TestServer;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn find<'a>(list: &'a Value, device: &str) -> Option<&'a Value> {
    list["cameras"].as_array()?.iter().find(|c| c["device"] == device)
}

async fn v4l2_server(dev: &std::path::Path, extra: Value) -> TestServer {
    let mut tweaks = json!({"cameras": {"v4l2": {"enabled": true, "device_dir": dev.display().to_string()}}});
    contract_tests::server::merge(&mut tweaks, &extra);
    TestServer::start(tweaks).await
}

#[tokio::test]
async fn hotplug_in_a_temp_device_dir_notifies_and_keeps_the_camera_listed() {
    let dev = tempfile::tempdir().expect("dev dir");
    std::fs::write(dev.path().join("video0"), b"").expect("video0");
    let server = v4l2_server(dev.path(), json!({})).await;
    let mut ws = server.ws_as(&server.jwt("hotplug", "viewer", 600)).await;
    ws.result(
        "subscribe_events",
        json!({"topics": ["camera.connected", "camera.disconnected", "camera.status_change", "camera.capability_error"]}),
    )
    .await;

    // The configured virtual camera0 hides /dev/video0.
    let list = ws.result("get_camera_list", Value::Null).await;
    assert_eq!(find(&list, "camera0").expect("camera0")["type"], "virtual", "{list}");

    std::fs::write(dev.path().join("video5"), b"").expect("video5");
    let update = ws.notification("camera_status_update", Duration::from_secs(3)).await;
    let p = &update["params"];
    assert_eq!(p["device"], "camera5", "{update}");
    assert_eq!(p["status"], "ERROR", "{update}");
    assert_eq!(p["type"], "v4l2", "{update}");
    assert!(p["timestamp"].is_string() && p["name"].is_string(), "{update}");
    assert_eq!(p["resolution"], "", "{update}");
    assert_eq!(p["fps"], 0, "{update}");
    let error = ws.notification("camera.capability_error", Duration::from_secs(3)).await;
    assert_eq!(error["params"]["device"], "camera5", "{error}");
    let message = error["params"]["message"].as_str().expect("message");
    assert!(message.contains("not a V4L2 device"), "{error}");
    assert!(
        !message.contains(&dev.path().display().to_string()),
        "no device paths on the wire: {error}"
    );

    let list = ws.result("get_camera_list", Value::Null).await;
    assert_eq!(find(&list, "camera5").expect("camera5")["status"], "ERROR", "{list}");
    let caps = ws.result("get_camera_capabilities", json!({"device": "camera5"})).await;
    assert_eq!(caps["validation_status"], "NONE", "{caps}");

    std::fs::remove_file(dev.path().join("video5")).expect("unplug");
    let update = ws.notification("camera_status_update", Duration::from_secs(3)).await;
    assert_eq!(update["params"]["device"], "camera5", "{update}");
    assert_eq!(update["params"]["status"], "DISCONNECTED", "{update}");
    let change = ws.notification("camera.status_change", Duration::from_secs(3)).await;
    assert_eq!(
        (&change["params"]["old_status"], &change["params"]["new_status"]),
        (&json!("ERROR"), &json!("DISCONNECTED")),
        "{change}"
    );
    let gone = ws.notification("camera.disconnected", Duration::from_secs(3)).await;
    let gp = &gone["params"];
    assert_eq!(
        (&gp["device"], &gp["status"], &gp["removed"]),
        (&json!("camera5"), &json!("DISCONNECTED"), &json!(false)),
        "{gone}"
    );
    let list = ws.result("get_camera_list", Value::Null).await;
    assert_eq!(
        find(&list, "camera5").expect("still listed")["status"],
        "DISCONNECTED",
        "a V4L2 camera seen since start-up stays listed: {list}"
    );
    let status = ws.result("get_camera_status", json!({"device": "camera5"})).await;
    assert_eq!(status["status"], "DISCONNECTED", "{status}");
}

#[tokio::test]
async fn external_streams_add_list_remove_and_persist() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("ops", "admin", 600)).await;
    // Disabled discovery: -32030 for scans and the interval; adding works regardless.
    let data = ws
        .error("discover_external_streams", json!({}), -32030, "feature_disabled")
        .await;
    assert_eq!(data["feature"], "external_discovery", "{data}");
    ws.error(
        "set_discovery_interval",
        json!({"scan_interval": 60}),
        -32030,
        "feature_disabled",
    )
    .await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let url = format!("rtsp://admin:hunter2@127.0.0.1:{port}/subject");
    let shown = format!("rtsp://admin:***@127.0.0.1:{port}/subject");

    let started = Instant::now();
    let added = ws
        .result(
            "add_external_stream",
            json!({"stream_url": url, "stream_name": "UAV 15", "stream_type": "skydio_stanag4609"}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an unreachable source must not hang the call"
    );
    assert_eq!(added["device"], "ext_uav_15", "{added}");
    assert_eq!(added["status"], "ADDED", "{added}");
    assert_eq!(added["stream_url"], shown, "{added}");
    let update = ws.notification("camera_status_update", Duration::from_secs(3)).await;
    assert_eq!(update["params"]["device"], "ext_uav_15", "{update}");
    // API.md §4.0: an unreachable source is DISCONNECTED.
    assert_eq!(update["params"]["status"], "DISCONNECTED", "{update}");
    assert_eq!(update["params"]["type"], "network", "{update}");

    let list = ws.result("get_camera_list", Value::Null).await;
    let cam = find(&list, "ext_uav_15").expect("listed");
    assert_eq!(
        (&cam["type"], &cam["status"], &cam["name"]),
        (&json!("network"), &json!("DISCONNECTED"), &json!("UAV 15"))
    );
    let streams = ws.result("get_external_streams", Value::Null).await;
    assert_eq!(streams["total_count"], 1, "{streams}");
    assert_eq!(streams["external_streams"][0]["url"], shown, "{streams}");
    assert_eq!(streams["external_streams"][0]["status"], "ADDED", "{streams}");
    assert_eq!(streams["skydio_streams"].as_array().map(Vec::len), Some(1), "{streams}");
    assert!(!list.to_string().contains("hunter2") && !streams.to_string().contains("hunter2"));

    ws.error(
        "add_external_stream",
        json!({"stream_url": url, "stream_name": "Again"}),
        -32020,
        "stream_exists",
    )
    .await;
    ws.error(
        "add_external_stream",
        json!({"stream_url": "rtsp://127.0.0.1:1/x", "stream_name": "n", "device": "camera0"}),
        -32020,
        "device_exists",
    )
    .await;

    // Persisted across a restart.
    drop(ws);
    let server = server.restart().await;
    let mut ws = server.ws_as(&server.jwt("ops", "admin", 600)).await;
    let streams = ws.result("get_external_streams", Value::Null).await;
    assert_eq!(streams["total_count"], 1, "{streams}");
    assert!(find(&ws.result("get_camera_list", Value::Null).await, "ext_uav_15").is_some());

    // Removed by the URL as shown.
    let removed = ws.result("remove_external_stream", json!({"stream_url": shown})).await;
    assert_eq!(
        (&removed["device"], &removed["status"]),
        (&json!("ext_uav_15"), &json!("REMOVED")),
        "{removed}"
    );
    let update = ws.notification("camera_status_update", Duration::from_secs(3)).await;
    assert_eq!(update["params"]["removed"], true, "{update}");
    assert!(find(&ws.result("get_camera_list", Value::Null).await, "ext_uav_15").is_none());
    ws.error(
        "remove_external_stream",
        json!({"stream_url": url}),
        -32010,
        "external_stream_not_found",
    )
    .await;
    assert_eq!(ws.result("get_external_streams", Value::Null).await["total_count"], 0);
    assert!(!server.stderr().contains("hunter2"), "credentials must never be logged");
}

/// A tiny RTSP server answering OPTIONS with 200 for `/subject`, 404 otherwise.
async fn fake_rtsp() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let ok = text.starts_with("OPTIONS ") && text.contains("/subject RTSP/1.0");
                let answer: &[u8] = if ok {
                    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"
                } else {
                    b"RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n"
                };
                let _ = s.write_all(answer).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn discovery_finds_a_fake_rtsp_server() {
    let port = fake_rtsp().await;
    let server = TestServer::start(json!({"external_discovery": {"enabled": true, "scan_timeout": 10,
        "skydio": {"network_ranges": ["127.0.0.1/32"], "eo_port": port, "ir_port": port}}}))
    .await;
    let mut ws = server.ws_as(&server.jwt("ops", "admin", 600)).await;
    let found = ws.result("discover_external_streams", json!({})).await;
    assert_eq!(found["total_found"], 1, "{found}");
    let item = &found["discovered_streams"][0];
    assert_eq!(item["url"], format!("rtsp://127.0.0.1:{port}/subject"), "{found}");
    assert_eq!(
        (&item["status"], &item["type"]),
        (&json!("DISCOVERED"), &json!("skydio_stanag4609")),
        "{found}"
    );
    assert_eq!(item["capabilities"]["stream_type"], "eo", "{found}");
    assert_eq!(found["discovery_options"]["skydio_enabled"], true, "{found}");
    assert_eq!(found["errors"], json!([]), "{found}");
    let streams = ws.result("get_external_streams", Value::Null).await;
    assert_eq!(streams["external_streams"][0]["status"], "DISCOVERED", "{streams}");
    let set = ws.result("set_discovery_interval", json!({"scan_interval": 300})).await;
    assert_eq!(
        (&set["scan_interval"], &set["status"]),
        (&json!(300), &json!("UPDATED")),
        "{set}"
    );
}
