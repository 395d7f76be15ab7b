//! The MediaMTX backend (API.md §4.0, §4.5, §5.3, §7) against the MediaMTX double
//! (`contract_tests::mediamtx_double`), and the double itself against the recorded MediaMTX fixtures.
//!
//! - The double replays the recorded v1.20.1 exchanges (status, content type, error bodies, stored
//!   configurations) so the service is tested against MediaMTX's real behaviour.
//! - The service configures one path per camera with replace semantics and bodies the spec allows (the double
//!   records any body with a field `PathConf` does not have, and every test asserts there is none), re-applies
//!   after a restart and after drift, answers -32050 within 1 s when MediaMTX dies and recovers by itself,
//!   pins streams with real readiness, and runs MediaMTX itself in managed mode.

use contract_tests::mediamtx_double::{DoubleAuth, DoubleOptions, MediamtxDouble, OPENAPI_YAML, PathConfSchema};
use contract_tests::{TestServer, WsClient, is_rfc3339_ms, poll_until};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------------------------
// The double against the recorded fixtures

/// Endpoints the double implements (others are out of its scope and skipped when replaying).
fn in_scope(url_path: &str) -> bool {
    url_path == "/v3/info"
        || url_path.starts_with("/v3/config/paths/")
        || url_path.starts_with("/v3/paths/")
        || matches!(
            url_path,
            "/v3/nosuch" | "/v3/webrtcsessions/list" | "/v3/rtmpconns/list"
        )
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/mediamtx/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runtime path objects carry times, ids and counters that change on every run: compare their shape.
fn runtime_shape(v: &Value) -> Value {
    let Some(map) = v.as_object() else {
        return v.clone();
    };
    let mut out = serde_json::Map::new();
    for (k, val) in map {
        let shaped = match (k.as_str(), val) {
            (_, Value::Bool(_)) | ("name" | "confName", _) => val.clone(),
            (_, Value::Null) => Value::Null,
            ("source", Value::Object(s)) => json!({"type": s.get("type").cloned().unwrap_or(Value::Null)}),
            (_, Value::String(_)) => json!("<string>"),
            (_, Value::Number(_)) => json!("<number>"),
            (_, Value::Array(a)) => json!(a.len()),
            _ => val.clone(),
        };
        out.insert(k.clone(), shaped);
    }
    Value::Object(out)
}

/// Replays the in-scope steps of a fixture against `double`; `before_step(i)` runs first (e.g. a restart).
async fn replay(
    double: &MediamtxDouble,
    name: &str,
    skip: impl Fn(usize, &Value) -> bool,
    before_step: impl Fn(usize),
) {
    let fx = fixture(name);
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let steps = fx["steps"].as_array().expect("steps");
    let mut replayed = 0;
    for (i, step) in steps.iter().enumerate() {
        let req = &step["request"];
        let url = req["url"].as_str().expect("url");
        let Some(rest) = url.strip_prefix("http://127.0.0.1:9997") else {
            continue; // playback, HLS, metrics servers
        };
        let url_path = rest.split('?').next().unwrap_or(rest);
        if !in_scope(url_path) || skip(i, step) {
            continue;
        }
        before_step(i);
        let method = reqwest::Method::from_bytes(req["method"].as_str().expect("method").as_bytes()).expect("method");
        let mut builder = client.request(method.clone(), format!("{}{rest}", double.api_url()));
        match &req["body"] {
            Value::Null => {}
            Value::String(raw) => builder = builder.header("content-type", "application/json").body(raw.clone()),
            body => builder = builder.json(body),
        }
        let resp = builder.send().await.expect("double answers");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.expect("body");
        let want = &step["response"];
        let what = format!("{name} step {i}: {method} {rest}");
        assert_eq!(
            u64::from(status),
            want["status"].as_u64().expect("status"),
            "{what}: {text}"
        );
        assert_eq!(ct.as_deref(), want["headers"]["content-type"].as_str(), "{what}");
        let want_body = &want["body"];
        if want_body.is_string() {
            assert_eq!(Value::from(text.as_str()), *want_body, "{what}");
        } else {
            let got: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
            if url_path == "/v3/info" {
                assert_eq!(got["version"], want_body["version"], "{what}");
                assert!(
                    got["started"].as_str().is_some_and(|s| s.ends_with('Z')),
                    "{what}: {got}"
                );
            } else if url_path.starts_with("/v3/paths/") {
                let shape = |v: &Value| match v.get("items") {
                    Some(items) => json!({"itemCount": v["itemCount"], "pageCount": v["pageCount"],
                        "items": items.as_array().map(|a| a.iter().map(runtime_shape).collect::<Vec<_>>())}),
                    None => runtime_shape(v),
                };
                assert_eq!(shape(&got), shape(want_body), "{what}");
                // Key order is part of what MediaMTX sends.
                if let (Some(g), Some(w)) = (got.as_object(), want_body.as_object())
                    && w.contains_key("confName")
                {
                    assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{what}");
                }
            } else {
                assert_eq!(got, *want_body, "{what}");
            }
        }
        replayed += 1;
    }
    assert!(replayed > 0, "{name}: nothing replayed");
}

#[tokio::test]
async fn double_replays_the_recorded_error_shapes() {
    let double = MediamtxDouble::start().await;
    replay(&double, "005-errors", |_, _| false, |_| {}).await;
    replay(&double, "001-info", |_, _| false, |_| {}).await;
    assert!(
        double.violations().len() >= 2,
        "the unknown-field and wrong-type bodies are violations"
    );
}

#[tokio::test]
async fn double_replays_pagination_patch_replace_and_pull_sources() {
    let double = MediamtxDouble::start().await;
    replay(&double, "006-pagination", |_, _| false, |_| {}).await;
    replay(&double, "014-patch-vs-replace", |_, _| false, |_| {}).await;
    replay(&double, "007-pull-source-unreachable", |_, _| false, |_| {}).await;
}

#[tokio::test]
async fn double_replays_the_path_lifecycle_and_a_restart() {
    let double = MediamtxDouble::start().await;
    // Steps with a live reader need a real publisher; the configuration side is replayed in full.
    let live = |_: usize, step: &Value| {
        let body = &step["response"]["body"];
        body["available"] == json!(true)
            || body["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|p| p["available"] == json!(true)))
    };
    replay(&double, "004-path-lifecycle-camera0", live, |_| {}).await;
    // 009: MediaMTX was restarted between steps 4 and 5.
    replay(
        &double,
        "009-restart",
        |_, _| false,
        |i| {
            if i == 4 {
                double.restart();
            }
        },
    )
    .await;
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}

#[tokio::test]
async fn double_reader_lifecycle_follows_the_recordings() {
    let double = MediamtxDouble::start_with(DoubleOptions {
        ondemand_delay: Duration::from_millis(100),
        ..DoubleOptions::default()
    })
    .await;
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let body = json!({"source": "publisher", "runOnDemand": "ffmpeg -f lavfi -i testsrc -f rtsp rtsp://x/$MTX_PATH",
                      "runOnDemandRestart": true, "runOnDemandCloseAfter": "1s"});
    let r = client
        .post(format!("{}/v3/config/paths/add/cam", double.api_url()))
        .json(&body)
        .send()
        .await
        .expect("add");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(double.path("cam").expect("exists at once")["available"], false);
    let reader = double.add_reader("cam").expect("reader");
    assert_eq!(
        double.path("cam").expect("path")["available"],
        false,
        "on demand: not at once"
    );
    poll_until(Duration::from_secs(3), "available after the first reader", || async {
        (double.path("cam").expect("path")["available"] == true).then_some(())
    })
    .await;
    let live = double.path("cam").expect("path");
    assert_eq!(live["source"]["type"], "rtspSession");
    assert_eq!(live["readers"].as_array().map(Vec::len), Some(1));
    // `record` is hot; anything else recreates the path and drops its readers.
    let patch = |b: Value| {
        client
            .patch(format!("{}/v3/config/paths/patch/cam", double.api_url()))
            .json(&b)
            .send()
    };
    assert_eq!(
        patch(json!({"record": true})).await.expect("patch").status().as_u16(),
        200
    );
    assert_eq!(double.path("cam").expect("path")["available"], true);
    double.remove_reader(reader);
    poll_until(
        Duration::from_secs(4),
        "fresh state after runOnDemandCloseAfter",
        || async { (double.path("cam").expect("path")["available"] == false).then_some(()) },
    )
    .await;
    let _again = double.add_reader("cam").expect("reader");
    poll_until(Duration::from_secs(3), "available again", || async {
        (double.path("cam").expect("path")["available"] == true).then_some(())
    })
    .await;
    assert_eq!(
        patch(json!({"runOnDemandCloseAfter": "5s"}))
            .await
            .expect("patch")
            .status()
            .as_u16(),
        200
    );
    let recreated = double.path("cam").expect("path");
    assert_eq!(
        (recreated["available"].clone(), recreated["readers"].clone()),
        (json!(false), json!([]))
    );
}

#[test]
fn vendored_spec_and_fixtures_match_shared() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/mediamtx");
    if !shared.is_dir() {
        eprintln!("{} not present; nothing to compare", shared.display());
        return;
    }
    let ours = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mediamtx");
    let mut files = vec!["openapi.yaml".to_owned()];
    for entry in std::fs::read_dir(ours.join("fixtures")).expect("fixtures dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        files.push(format!("fixtures/{name}"));
    }
    for f in files {
        let a = std::fs::read(ours.join(&f)).expect("vendored copy");
        let b = std::fs::read(shared.join(&f)).unwrap_or_else(|e| panic!("shared/mediamtx/{f}: {e}"));
        assert!(a == b, "contract-tests/mediamtx/{f} differs from shared/mediamtx/{f}");
    }
    let schema = PathConfSchema::from_openapi(OPENAPI_YAML).expect("schema");
    assert!(schema.names().contains(&"runOnDemand"));
}

// ---------------------------------------------------------------------------------------------------------------
// The service against the double

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn mediamtx_config(double: &MediamtxDouble, extra: Value) -> Value {
    let mut config = json!({
        "mediamtx": {"enabled": true, "api_url": double.api_url(), "rtsp_port": double.rtsp_port()},
        "recording": {"backend": "mediamtx"},
        "cameras": {"network": [{"id": "door", "name": "Front door",
                                 "url": format!("rtsp://user:secret@127.0.0.1:{}/live", closed_port())}]}
    });
    contract_tests::server::merge(&mut config, &extra);
    config
}

/// An admin connection, once the readiness gate is open (`/health/ready` can turn 200 a moment before it).
async fn admin(server: &TestServer) -> WsClient {
    let mut ws = server.ws_as(&server.jwt("mtx-admin", "admin", 3600)).await;
    ws.result_within("get_camera_list", json!({}), Duration::from_secs(10))
        .await;
    ws
}

async fn wait_configured(double: &MediamtxDouble, names: &[&str]) {
    poll_until(Duration::from_secs(10), "the service's paths in MediaMTX", || async {
        let have = double.path_names();
        names.iter().all(|n| have.iter().any(|h| h == n)).then_some(())
    })
    .await;
}

fn expected_publisher() -> &'static str {
    "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=10 -pix_fmt yuv420p -c:v libx264 \
     -preset ultrafast -tune zerolatency -g 10 -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH"
}

fn component(detailed: &Value, name: &str) -> Value {
    detailed["components"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {name} component in {detailed}"))
}

#[track_caller]
fn assert_no_violations(double: &MediamtxDouble) {
    let v = double.violations();
    assert!(
        v.is_empty(),
        "the service sent bodies the PathConf schema does not allow: {v:?}"
    );
}

#[tokio::test]
async fn service_configures_one_path_per_camera_with_replace() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(mediamtx_config(&double, json!({}))).await;
    wait_configured(&double, &["camera0", "door"]).await;

    let cam = double.conf("camera0").expect("camera0");
    assert_eq!(cam["source"], "publisher");
    assert_eq!(cam["runOnDemand"], expected_publisher());
    assert_eq!(
        (
            cam["runOnDemandRestart"].clone(),
            cam["runOnDemandStartTimeout"].clone(),
            cam["runOnDemandCloseAfter"].clone()
        ),
        (json!(true), json!("10s"), json!("10s"))
    );
    assert_eq!(cam["record"], false);
    let door = double.conf("door").expect("door");
    assert!(
        door["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("rtsp://user:secret@127.0.0.1:")),
        "{door}"
    );
    assert_eq!(door["sourceOnDemand"], true);
    assert_eq!(door["runOnDemand"], "");

    let writes: Vec<_> = double.requests().into_iter().filter(|r| r.method != "GET").collect();
    assert!(!writes.is_empty());
    for w in &writes {
        assert!(
            w.method == "POST" && w.url.starts_with("/v3/config/paths/replace/"),
            "only replace is used: {w:?}"
        );
        assert!(
            !w.url.ends_with("/static0"),
            "paths the service does not own are never touched: {w:?}"
        );
        assert!(
            w.body.get("name").is_none(),
            "a read document is never sent back: {w:?}"
        );
    }
    assert_no_violations(&double);

    let mut ws = admin(&server).await;
    let info = ws.result("get_server_info", json!({})).await;
    assert_eq!(info["backend"], "mediamtx");
    assert!(
        info["capabilities"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("streaming"))),
        "{info}"
    );
    assert!(
        !info["supported_formats"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("mkv"))),
        "{info}"
    );

    let port = double.rtsp_port();
    let list = ws.result("get_camera_list", json!({})).await;
    let cam0 = list["cameras"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["device"] == "camera0"))
        .expect("camera0 listed");
    assert_eq!(
        cam0["streams"],
        json!({"rtsp": format!("rtsp://127.0.0.1:{port}/camera0"),
               "hls": "http://127.0.0.1:8888/camera0/index.m3u8",
               "webrtc": "http://127.0.0.1:8889/camera0/whep"})
    );
    let status = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(status["streams"], cam0["streams"]);
    assert_eq!(status["streaming"], false);

    let streams = ws.result("get_streams", json!({})).await;
    let items = streams.as_array().expect("get_streams is an array");
    let names: Vec<&str> = items.iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(
        names,
        ["camera0", "door"],
        "sorted, unmanaged static0 omitted: {streams}"
    );
    assert_eq!(
        items[0],
        json!({"name": "camera0", "device": "camera0", "source": "none", "ready": false, "readers": 0, "bytes_sent": 0})
    );

    let url = ws.result("get_stream_url", json!({"device": "camera0"})).await;
    assert_eq!(url["stream_url"], format!("rtsp://127.0.0.1:{port}/camera0"));
    assert_eq!(
        (
            url["available"].clone(),
            url["active_consumers"].clone(),
            url["stream_status"].clone()
        ),
        (json!(true), json!(0), json!("NOT_READY"))
    );
    let st = ws.result("get_stream_status", json!({"device": "camera0"})).await;
    assert_eq!(st["status"], "INACTIVE");
    assert_eq!(
        st["mediamtx_path"],
        json!({"exists": true, "ready": false, "readers": 0})
    );
    assert_eq!(st["ffmpeg_process"], json!({"running": false, "pid": 0, "uptime": 0}));
    assert_eq!(st["start_time"], Value::Null);
    ws.error(
        "get_stream_status",
        json!({"device": "nosuch"}),
        -32010,
        "camera_not_found",
    )
    .await;

    let detailed = server.http().health("/health/detailed").await.json();
    let mtx = component(&detailed, "mediamtx");
    assert_eq!(mtx["status"], "healthy", "{mtx}");
    assert!(mtx["message"].as_str().is_some_and(|m| m.contains("v1.20.1")), "{mtx}");
    assert_eq!(mtx["details"]["version"], "v1.20.1");
    assert_eq!(mtx["details"]["backend"], "mediamtx");
    assert!(mtx["details"]["started"].as_str().is_some_and(is_rfc3339_ms), "{mtx}");
    let metrics = server.http().health("/metrics").await.body;
    assert!(
        metrics.lines().any(|l| l == "camera_service_mediamtx_up 1"),
        "{metrics}"
    );
    assert_no_violations(&double);
}

#[tokio::test]
async fn public_host_goes_into_stream_urls() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(mediamtx_config(
        &double,
        json!({"mediamtx": {"public_host": "cam.example", "hls_port": 18888, "webrtc_port": 18889}}),
    ))
    .await;
    let mut ws = admin(&server).await;
    let url = ws.result("get_stream_url", json!({"device": "camera0"})).await;
    assert_eq!(
        url["streams"],
        json!({"rtsp": format!("rtsp://cam.example:{}/camera0", double.rtsp_port()),
               "hls": "http://cam.example:18888/camera0/index.m3u8",
               "webrtc": "http://cam.example:18889/camera0/whep"})
    );
}

#[tokio::test]
async fn restart_and_drift_are_repaired() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(mediamtx_config(&double, json!({}))).await;
    wait_configured(&double, &["camera0", "door"]).await;
    let mut ws = admin(&server).await;
    ws.result("subscribe_events", json!({"topics": ["mediamtx.error"]}))
        .await;

    let before = double.started();
    double.restart();
    assert_ne!(double.started(), before);
    assert!(double.conf("camera0").is_none(), "a restart loses API-added paths");
    wait_configured(&double, &["camera0", "door"]).await;
    assert_eq!(
        double.conf("camera0").expect("camera0")["runOnDemand"],
        expected_publisher()
    );
    let note = ws.notification("mediamtx.error", Duration::from_secs(5)).await;
    assert_eq!(note["params"]["reason"], "mediamtx_restarted", "{note}");
    assert!(
        note["params"]["timestamp"].as_str().is_some_and(is_rfc3339_ms),
        "{note}"
    );
    let mtx = poll_until(Duration::from_secs(15), "mediamtx degraded after a restart", || async {
        let c = component(&server.http().health("/health/detailed").await.json(), "mediamtx");
        (c["status"] == "degraded").then_some(c)
    })
    .await;
    assert!(
        mtx["message"].as_str().is_some_and(|m| m.contains("restarted")),
        "{mtx}"
    );

    // Drift: a changed field and a vanished path are put back.
    double.tamper("camera0", json!({"runOnDemand": "sleep 1", "record": true}));
    double.remove_behind("door");
    poll_until(Duration::from_secs(12), "drift repaired", || async {
        let cam = double.conf("camera0")?;
        let door = double.conf("door")?;
        (cam["runOnDemand"] == expected_publisher() && cam["record"] == false && door["sourceOnDemand"] == true)
            .then_some(())
    })
    .await;
    assert_no_violations(&double);
}

#[tokio::test]
async fn killed_mediamtx_fails_fast_and_recovers() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(mediamtx_config(&double, json!({}))).await;
    wait_configured(&double, &["camera0"]).await;
    let mut ws = admin(&server).await;
    ws.result("get_streams", json!({})).await;

    double.kill().await;
    let killed = Instant::now();
    let calls = [
        ("get_streams", json!({})),
        ("get_stream_url", json!({"device": "camera0"})),
        ("get_stream_status", json!({"device": "camera0"})),
        ("start_streaming", json!({"device": "camera0"})),
        ("stop_streaming", json!({"device": "camera0"})),
    ];
    for (i, (method, params)) in calls.iter().enumerate() {
        let asked = Instant::now();
        let data = ws.error(method, params.clone(), -32050, "mediamtx_unavailable").await;
        assert_eq!(data["dependency"], "mediamtx", "{method}: {data}");
        let took = asked.elapsed();
        assert!(took < Duration::from_secs(1), "{method} took {took:?}");
        if i == 0 {
            assert!(
                killed.elapsed() < Duration::from_secs(1),
                "first -32050 {:?} after the kill",
                killed.elapsed()
            );
        }
    }
    let update = ws.notification("system_health_update", Duration::from_secs(8)).await;
    assert_eq!(update["params"]["components"]["mediamtx"], "ERROR", "{update}");
    assert_eq!(update["params"]["status"], "UNHEALTHY", "{update}");
    let mtx = component(&server.http().health("/health/detailed").await.json(), "mediamtx");
    assert_eq!(mtx["status"], "unhealthy", "{mtx}");
    let sys = ws.result("get_system_status", json!({})).await;
    assert_eq!(sys["status"], "partial", "{sys}");
    let metrics = server.http().health("/metrics").await.body;
    assert!(
        metrics.lines().any(|l| l == "camera_service_mediamtx_up 0"),
        "{metrics}"
    );

    double.revive().await;
    ws.result_within("get_streams", json!({}), Duration::from_secs(5)).await;
    wait_configured(&double, &["camera0", "door"]).await;
    poll_until(Duration::from_secs(15), "mediamtx component recovered", || async {
        let c = component(&server.http().health("/health/detailed").await.json(), "mediamtx");
        (c["status"] != "unhealthy").then_some(())
    })
    .await;
    let metrics = server.http().health("/metrics").await.body;
    assert!(
        metrics.lines().any(|l| l == "camera_service_mediamtx_up 1"),
        "{metrics}"
    );
    assert_no_violations(&double);
}

#[tokio::test]
async fn forced_backend_waits_for_mediamtx_and_recovers_when_it_appears() {
    let port = closed_port();
    let rtsp = closed_port();
    let server = TestServer::start(json!({
        "mediamtx": {"enabled": true, "api_url": format!("http://127.0.0.1:{port}"), "rtsp_port": rtsp},
        "recording": {"backend": "mediamtx"}
    }))
    .await;
    let mut ws = admin(&server).await;
    assert_eq!(ws.result("get_server_info", json!({})).await["backend"], "mediamtx");
    let data = ws.error("get_streams", json!({}), -32050, "mediamtx_unavailable").await;
    assert_eq!(data["dependency"], "mediamtx");
    assert!(data["suggestion"].is_string(), "{data}");

    let double = MediamtxDouble::start_with(DoubleOptions {
        api_addr: ([127, 0, 0, 1], port).into(),
        rtsp_addr: ([127, 0, 0, 1], rtsp).into(),
        ..DoubleOptions::default()
    })
    .await;
    wait_configured(&double, &["camera0"]).await;
    ws.result_within("get_streams", json!({}), Duration::from_secs(5)).await;
    assert_no_violations(&double);
}

#[tokio::test]
async fn streaming_pins_with_real_readiness_and_counts_viewers() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(mediamtx_config(&double, json!({}))).await;
    wait_configured(&double, &["camera0"]).await;
    let mut ws = admin(&server).await;
    ws.result(
        "subscribe_events",
        json!({"topics": ["mediamtx.stream_started", "mediamtx.stream"]}),
    )
    .await;
    let port = double.rtsp_port();

    let asked = Instant::now();
    let started = ws.result("start_streaming", json!({"device": "camera0"})).await;
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert_eq!(started["status"], "STARTED", "{started}");
    assert_eq!(started["stream_name"], "camera0");
    assert_eq!(started["stream_url"], format!("rtsp://127.0.0.1:{port}/camera0"));
    assert_eq!(started["streams"]["hls"], "http://127.0.0.1:8888/camera0/index.m3u8");
    assert_eq!(started["auto_close_after"], "300s");
    assert_eq!(started["message"], "Stream is live");
    assert!(started["start_time"].as_str().is_some_and(is_rfc3339_ms), "{started}");
    // Readiness came from MediaMTX: the path is available, with the service's own reader holding it.
    assert_eq!(double.path("camera0").expect("path")["available"], true);
    assert_eq!(double.readers("camera0"), 1, "one keepalive reader");
    let note = ws.notification("mediamtx.stream_started", Duration::from_secs(5)).await;
    assert_eq!(note["params"]["device"], "camera0", "{note}");
    assert_eq!(note["params"]["ready"], true, "{note}");
    assert_eq!(note["params"]["readers"], 0, "the keepalive is not a viewer: {note}");

    let again = ws.result("start_streaming", json!({"device": "camera0"})).await;
    assert_eq!(
        again["start_time"], started["start_time"],
        "idempotent: the original session"
    );

    let st = ws.result("get_stream_status", json!({"device": "camera0"})).await;
    assert_eq!(
        (st["status"].clone(), st["ready"].clone()),
        (json!("ACTIVE"), json!(true)),
        "{st}"
    );
    assert_eq!(
        st["mediamtx_path"],
        json!({"exists": true, "ready": true, "readers": 0})
    );
    assert_eq!(st["ffmpeg_process"]["running"], true, "{st}");
    assert!(st["start_time"].as_str().is_some_and(is_rfc3339_ms), "{st}");
    assert_eq!(st["metrics"]["fps"], 10);

    let viewer = double.add_reader("camera0").expect("viewer");
    let url = ws.result("get_stream_url", json!({"device": "camera0"})).await;
    assert_eq!(
        (url["active_consumers"].clone(), url["stream_status"].clone()),
        (json!(1), json!("READY")),
        "{url}"
    );
    let streams = ws.result("get_streams", json!({})).await;
    let cam = streams
        .as_array()
        .and_then(|s| s.iter().find(|i| i["name"] == "camera0"))
        .expect("camera0");
    assert_eq!(
        (cam["ready"].clone(), cam["readers"].clone(), cam["source"].clone()),
        (json!(true), json!(1), json!("rtspSession"))
    );
    assert!(cam["bytes_sent"].as_u64().is_some(), "{cam}");
    let status = ws
        .result_until(
            "get_camera_status",
            json!({"device": "camera0"}),
            Duration::from_secs(5),
            |s| s["metrics"]["readers"] == 1,
        )
        .await;
    assert_eq!(status["streaming"], true);
    let metrics = ws
        .result_until("get_metrics", json!({}), Duration::from_secs(5), |m| {
            m["stream_metrics"]["total_viewers"] == 1
        })
        .await;
    assert_eq!(
        metrics["stream_metrics"],
        json!({"active_streams": 1, "total_streams": 2, "total_viewers": 1})
    );
    let n = ws.notification("mediamtx.stream", Duration::from_secs(5)).await;
    assert_eq!(n["params"]["readers"], 1, "{n}");

    let stopped = ws.result("stop_streaming", json!({"device": "camera0"})).await;
    assert_eq!(stopped["status"], "STOPPED", "{stopped}");
    assert_eq!(stopped["start_time"], started["start_time"]);
    assert!(stopped["end_time"].as_str().is_some_and(is_rfc3339_ms), "{stopped}");
    assert!(stopped["duration"].as_u64().is_some(), "{stopped}");
    assert_eq!(stopped["stream_continues"], true, "a viewer is still there: {stopped}");
    poll_until(Duration::from_secs(5), "keepalive reader gone", || async {
        (double.readers("camera0") == 1).then_some(())
    })
    .await;
    ws.error("stop_streaming", json!({"device": "camera0"}), -32020, "not_streaming")
        .await;
    double.remove_reader(viewer);
    let s = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(s["streaming"], false);
    ws.error(
        "start_streaming",
        json!({"device": "door"}),
        -32020,
        "camera_disconnected",
    )
    .await;
    ws.error(
        "start_streaming",
        json!({"device": "nosuch"}),
        -32010,
        "camera_not_found",
    )
    .await;
    assert_no_violations(&double);
}

#[tokio::test]
async fn start_streaming_gives_up_after_start_timeout() {
    let double = MediamtxDouble::start_with(DoubleOptions {
        ondemand_delay: Duration::from_secs(120),
        ..DoubleOptions::default()
    })
    .await;
    let server = TestServer::start(mediamtx_config(&double, json!({"streaming": {"start_timeout": 2}}))).await;
    wait_configured(&double, &["camera0"]).await;
    let mut ws = admin(&server).await;
    let asked = Instant::now();
    let data = ws
        .error("start_streaming", json!({"device": "camera0"}), -32050, "ffmpeg_failed")
        .await;
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(data["dependency"], "ffmpeg");
    ws.error("stop_streaming", json!({"device": "camera0"}), -32020, "not_streaming")
        .await;
    let url = ws.result("get_stream_url", json!({"device": "camera0"})).await;
    assert_eq!(url["stream_status"], "ERROR", "{url}");
    poll_until(Duration::from_secs(5), "nothing left reading", || async {
        (double.readers("camera0") == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn api_credentials_are_sent() {
    let double = MediamtxDouble::start_with(DoubleOptions {
        auth: Some(DoubleAuth::Basic {
            user: "svc".into(),
            pass: "s3cret".into(),
        }),
        ..DoubleOptions::default()
    })
    .await;
    let server = TestServer::start(mediamtx_config(
        &double,
        json!({"mediamtx": {"api_user": "svc", "api_password": "s3cret"}}),
    ))
    .await;
    wait_configured(&double, &["camera0"]).await;
    let mut ws = admin(&server).await;
    ws.result("get_streams", json!({})).await;
    assert!(
        double.requests().iter().all(|r| r.status != 401),
        "every request authenticated"
    );

    let bearer = MediamtxDouble::start_with(DoubleOptions {
        auth: Some(DoubleAuth::Bearer("tok-1".into())),
        ..DoubleOptions::default()
    })
    .await;
    let wrong = TestServer::start(mediamtx_config(&bearer, json!({"mediamtx": {"api_token": "tok-2"}}))).await;
    let mut ws = admin(&wrong).await;
    ws.error("get_streams", json!({}), -32050, "mediamtx_unavailable").await;
    assert!(
        bearer.path_names().iter().all(|n| n == "static0"),
        "nothing written without credentials"
    );
}

#[tokio::test]
async fn standalone_streaming_methods_say_how_to_enable_mediamtx() {
    let server = TestServer::start(json!({})).await;
    let mut ws = admin(&server).await;
    assert_eq!(ws.result("get_server_info", json!({})).await["backend"], "standalone");
    for (method, params) in [
        ("start_streaming", json!({"device": "camera0"})),
        ("stop_streaming", json!({"device": "camera0"})),
        ("get_stream_url", json!({"device": "camera0"})),
        ("get_stream_status", json!({"device": "camera0"})),
        ("get_streams", json!({})),
    ] {
        let data = ws.error(method, params, -32050, "streaming_unavailable").await;
        assert_eq!(data["dependency"], "mediamtx", "{method}: {data}");
        assert!(
            data["suggestion"]
                .as_str()
                .is_some_and(|s| s.contains("mediamtx.enabled")),
            "{method}: {data}"
        );
    }
    let list = ws.result("get_camera_list", json!({})).await;
    assert_eq!(list["cameras"][0]["streams"], json!({}));
}

#[tokio::test]
async fn auto_backend_without_mediamtx_runs_standalone() {
    let server = TestServer::start(json!({
        "mediamtx": {"enabled": true, "api_url": format!("http://127.0.0.1:{}", closed_port())},
        "recording": {"backend": "auto"}
    }))
    .await;
    let mut ws = admin(&server).await;
    assert_eq!(ws.result("get_server_info", json!({})).await["backend"], "standalone");
    ws.error("get_streams", json!({}), -32050, "streaming_unavailable")
        .await;
    let metrics = server.http().health("/metrics").await.body;
    assert!(!metrics.contains("camera_service_mediamtx_up"), "absent in standalone");
}

// ---------------------------------------------------------------------------------------------------------------
// Managed mode

/// Children of `parent` whose command name is `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().unwrap_or("");
        let ppid: u32 = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == parent && name == comm && state != "Z" {
            found.push(pid);
        }
    }
    found
}

#[tokio::test]
async fn managed_mode_runs_restarts_and_stops_mediamtx() {
    let binary = env!("CARGO_BIN_EXE_mediamtx_double");
    let (api, rtsp) = (closed_port(), closed_port());
    let api_url = format!("http://127.0.0.1:{api}");
    let mut server = TestServer::start(json!({
        "mediamtx": {"enabled": true, "api_url": api_url, "rtsp_port": rtsp, "managed": {"binary": binary}},
        "recording": {"backend": "auto"}
    }))
    .await;
    let mut ws = admin(&server).await;
    assert_eq!(ws.result("get_server_info", json!({})).await["backend"], "mediamtx");
    let written = std::fs::read_to_string(server.dir().join("data/mediamtx.yml")).expect("generated config");
    assert!(
        written.contains(&format!("apiAddress: \"127.0.0.1:{api}\"")),
        "{written}"
    );

    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let configured = || async {
        let r = http
            .get(format!("{api_url}/v3/config/paths/get/camera0"))
            .send()
            .await
            .ok()?;
        (r.status().as_u16() == 200).then_some(())
    };
    poll_until(
        Duration::from_secs(10),
        "camera0 configured in the managed MediaMTX",
        configured,
    )
    .await;
    let first = children_named(server.pid(), "mediamtx_double");
    assert_eq!(first.len(), 1, "one managed MediaMTX: {first:?}");
    let environ = std::fs::read(format!("/proc/{}/environ", first[0])).expect("the child's environment");
    assert!(
        environ.split(|b| *b == 0).any(|var| var == b"TZ=UTC"),
        "MediaMTX names segments in local time: it must run in UTC"
    );

    // It dies: the service starts it again and re-applies the paths.
    // SAFETY: kill(2) on a process this test found as the server's child.
    unsafe { libc::kill(first[0] as libc::pid_t, libc::SIGKILL) };
    let second = poll_until(Duration::from_secs(15), "a new managed MediaMTX", || async {
        let now = children_named(server.pid(), "mediamtx_double");
        (now.len() == 1 && now[0] != first[0]).then(|| now[0])
    })
    .await;
    poll_until(Duration::from_secs(10), "camera0 configured again", configured).await;
    ws.result_within("get_streams", json!({}), Duration::from_secs(5)).await;

    // Shutdown stops it.
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(15)).await;
    let gone = !std::path::Path::new(&format!("/proc/{second}")).exists()
        || std::fs::read_to_string(format!("/proc/{second}/stat")).is_ok_and(|s| s.contains(") Z "));
    assert!(gone, "managed MediaMTX {second} outlived the service");
}
