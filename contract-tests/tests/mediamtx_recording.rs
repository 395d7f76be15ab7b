//! Recording in the MediaMTX backend (API.md §4.3, §4.5) against the MediaMTX double, whose simulated recorder
//! writes segment files at the path's `recordPath` while `record` is on and the publisher runs.
//!
//! - `start_recording` turns the path's `record` flag on (bodies checked against the `PathConf` schema), holds a
//!   keepalive reader so the on-demand publisher runs, and answers with the first file MediaMTX wrote;
//!   `recording.segment` follows MediaMTX's new files; `stop_recording` turns the flag off, ends the reader and
//!   reports every file with their total size; a recording keeps a stream going after `stop_streaming`.
//! - `mkv` is not producible (-32030 `format_unsupported`) and not advertised.
//! - The flag is desired state: a MediaMTX restart re-applies it; a stop while MediaMTX is down answers -32050
//!   `mediamtx_unavailable` and the recording goes on, and a retry once MediaMTX is back stops it.
//! - A timed recording stops by itself; a start that sees no file within `recording.start_timeout` leaves
//!   nothing running; a recording of a service killed with SIGKILL resumes at the next start (same recording,
//!   same deadline, flag and keepalive back).
//!
//! Every wait polls with a deadline.

use contract_tests::mediamtx_double::{DoubleOptions, MediamtxDouble};
use contract_tests::{TestServer, WsClient, poll_until};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A MediaMTX-backend server against `double`, 2 s segments.
async fn server(double: &MediamtxDouble, extra: Value) -> TestServer {
    let mut config = json!({
        "mediamtx": {"enabled": true, "api_url": double.api_url(), "rtsp_port": double.rtsp_port()},
        "recording": {"backend": "mediamtx", "segment_duration": 2}
    });
    contract_tests::server::merge(&mut config, &extra);
    let server = TestServer::start(config).await;
    poll_until(Duration::from_secs(10), "camera0's path in MediaMTX", || async {
        double.conf("camera0").map(|_| ())
    })
    .await;
    server
}

/// An operator connection, once the service answers camera calls.
async fn operator(server: &TestServer) -> WsClient {
    let mut ws = server.ws_as(&server.jwt("mtx-rec", "operator", 3600)).await;
    ws.result_within("get_camera_list", json!({}), Duration::from_secs(10))
        .await;
    ws
}

fn recordings_dir(server: &TestServer) -> PathBuf {
    server.dir().join("recordings")
}

fn record_flag(double: &MediamtxDouble) -> Value {
    double.conf("camera0").map_or(Value::Null, |c| c["record"].clone())
}

async fn wait_record(double: &MediamtxDouble, on: bool, what: &str) {
    poll_until(Duration::from_secs(10), what, || async {
        (record_flag(double) == Value::Bool(on)).then_some(())
    })
    .await;
}

async fn wait_readers(double: &MediamtxDouble, want: usize, what: &str) {
    poll_until(Duration::from_secs(10), what, || async {
        (double.readers("camera0") == want).then_some(())
    })
    .await;
}

#[track_caller]
fn assert_no_violations(double: &MediamtxDouble) {
    let v = double.violations();
    assert!(v.is_empty(), "bodies the PathConf schema does not allow: {v:?}");
}

fn names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[tokio::test]
async fn start_turns_record_on_with_a_keepalive_and_stop_turns_it_off() {
    let double = MediamtxDouble::start().await;
    let server = server(&double, json!({})).await;
    let dir = recordings_dir(&server);
    let mut ws = operator(&server).await;
    ws.result(
        "subscribe_events",
        json!({"topics": ["recording.segment", "recording.stop"]}),
    )
    .await;
    let conf = double.conf("camera0").expect("camera0 configured");
    assert_eq!(conf["record"], false, "not recording yet: {conf}");
    let abs = std::path::absolute(&dir).expect("absolute recordings dir");
    assert_eq!(
        conf["recordPath"],
        format!("{}/%path_%Y-%m-%d_%H-%M-%S", abs.display()),
        "{conf}"
    );
    assert_eq!(conf["recordFormat"], "fmp4");
    assert_eq!(conf["recordSegmentDuration"], "2s");

    // A pinned stream first: the recording must keep it going after stop_streaming.
    ws.result("start_streaming", json!({"device": "camera0"})).await;
    let started = ws
        .result("start_recording", json!({"device": "camera0", "format": "mp4"}))
        .await;
    assert_eq!(started["status"], "RECORDING", "{started}");
    assert_eq!(started["format"], "mp4", "{started}");
    let first = started["filename"].as_str().expect("filename").to_owned();
    assert!(
        first.starts_with("camera0_")
            && first.ends_with(".mp4")
            && first.len() == "camera0_2025-01-15_14-30-00.mp4".len(),
        "{first}"
    );
    assert!(dir.join(&first).exists(), "{first} exists when start_recording answers");
    assert_eq!(
        names(&double.written_segments()).first(),
        Some(&first),
        "the first file is the one MediaMTX wrote"
    );
    assert_eq!(
        record_flag(&double),
        true,
        "record is on in MediaMTX when start answers"
    );
    let writes: Vec<_> = double
        .requests()
        .into_iter()
        .filter(|r| r.url.starts_with("/v3/config/paths/") && r.url.contains("camera0"))
        .collect();
    assert!(
        writes.iter().any(|r| r.status == 200 && r.body["record"] == true),
        "an accepted write with record:true: {writes:?}"
    );
    assert_no_violations(&double);

    let stopped_stream = ws.result("stop_streaming", json!({"device": "camera0"})).await;
    assert_eq!(stopped_stream["stream_continues"], true, "{stopped_stream}");
    // The pin's reader is gone; the recording's keepalive stays and is not a viewer.
    wait_readers(&double, 1, "only the recording's keepalive reader").await;
    let status = ws.result("get_stream_status", json!({"device": "camera0"})).await;
    assert_eq!(status["ready"], true, "{status}");
    assert_eq!(
        status["mediamtx_path"]["readers"], 0,
        "own readers are not viewers: {status}"
    );
    let camera = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(camera["recording"]["active"], true, "{camera}");
    assert_eq!(camera["recording"]["filename"], first.as_str(), "{camera}");

    // MediaMTX opens a new file every 2 s: recording.segment follows it.
    let segment = ws.notification("recording.segment", Duration::from_secs(8)).await;
    assert_eq!(segment["params"]["device"], "camera0", "{segment}");
    assert_eq!(segment["params"]["previous"], first.as_str(), "{segment}");
    let second = segment["params"]["filename"].as_str().expect("filename").to_owned();
    assert!(dir.join(&second).exists(), "{second}");
    assert!(second > first, "{second} after {first}");

    // list_recordings shows the files from disk.
    let listed = ws
        .call_until(
            "list_recordings",
            json!({"device": "camera0"}),
            Duration::from_secs(10),
            |r| {
                let files = r["result"]["files"].as_array().cloned().unwrap_or_default();
                let has = |name: &str| files.iter().any(|f| f["filename"] == name);
                has(&first) && has(&second)
            },
        )
        .await["result"]
        .clone();
    let item = listed["files"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["filename"] == first.as_str()))
        .cloned()
        .expect("first file listed");
    assert_eq!(item["format"], "mp4", "{item}");
    assert_eq!(item["device"], "camera0", "{item}");
    assert_eq!(item["file_size"], size(&dir.join(&first)), "{item}");

    let stopped = ws.result("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(stopped["status"], "STOPPED", "{stopped}");
    assert_eq!(stopped["filename"], first.as_str(), "{stopped}");
    let files: Vec<String> = stopped["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f.as_str().map(str::to_owned))
        .collect();
    assert!(
        files.len() >= 2 && files[0] == first && files.contains(&second),
        "{stopped}"
    );
    let total: u64 = files.iter().map(|f| size(&dir.join(f))).sum();
    assert!(total > 0);
    assert_eq!(stopped["file_size"], total, "total of all files: {stopped}");
    assert_eq!(record_flag(&double), false, "record is off when stop answers");
    let note = ws.notification("recording.stop", Duration::from_secs(5)).await;
    assert_eq!(note["params"]["reason"], "requested", "{note}");
    wait_readers(&double, 0, "the keepalive reader gone").await;
    let written = double.written_segments().len();
    tokio::time::sleep(Duration::from_millis(2500)).await; // one segment period: nothing new may appear
    assert_eq!(double.written_segments().len(), written, "MediaMTX stopped recording");
    let data = ws
        .error("stop_recording", json!({"device": "camera0"}), -32020, "not_recording")
        .await;
    assert_eq!(data["id"], "camera0", "{data}");
    assert_no_violations(&double);
}

#[tokio::test]
async fn mkv_is_not_producible_and_not_advertised() {
    let double = MediamtxDouble::start().await;
    let server = server(&double, json!({})).await;
    let mut ws = operator(&server).await;
    let info = ws.result("get_server_info", json!({})).await;
    assert_eq!(info["backend"], "mediamtx", "{info}");
    let formats: Vec<&str> = info["supported_formats"]
        .as_array()
        .expect("formats")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(formats.contains(&"fmp4") && formats.contains(&"mp4"), "{info}");
    assert!(!formats.contains(&"mkv"), "{info}");

    let data = ws
        .error(
            "start_recording",
            json!({"device": "camera0", "format": "mkv"}),
            -32030,
            "format_unsupported",
        )
        .await;
    assert_eq!(data["feature"], "recording_format", "{data}");
    assert_eq!(record_flag(&double), false, "nothing started");
    assert_eq!(double.readers("camera0"), 0, "no keepalive");
    let camera = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(camera["recording"]["active"], false, "{camera}");
}

#[tokio::test]
async fn a_mediamtx_restart_gets_the_record_flag_back() {
    let double = MediamtxDouble::start().await;
    let server = server(&double, json!({})).await;
    let mut ws = operator(&server).await;
    ws.result("start_recording", json!({"device": "camera0"})).await;
    double.restart();
    assert!(double.conf("camera0").is_none(), "a restart loses API-added paths");
    wait_record(&double, true, "record re-applied after the restart").await;
    // The keepalive reconnects and MediaMTX records again: a file written after the restart.
    let before = double.written_segments().len();
    poll_until(Duration::from_secs(15), "a segment after the restart", || async {
        (double.written_segments().len() > before).then_some(())
    })
    .await;
    let stopped = ws.result("stop_recording", json!({"device": "camera0"})).await;
    let files = stopped["files"].as_array().expect("files").len();
    assert!(files >= 2, "files from before and after the restart: {stopped}");
    assert_eq!(record_flag(&double), false);
    assert_no_violations(&double);
}

#[tokio::test]
async fn stop_while_mediamtx_is_down_fails_and_the_recording_goes_on() {
    let double = MediamtxDouble::start().await;
    let server = server(&double, json!({})).await;
    let mut ws = operator(&server).await;
    let started = ws.result("start_recording", json!({"device": "camera0"})).await;
    double.kill().await;
    let data = ws
        .error(
            "stop_recording",
            json!({"device": "camera0"}),
            -32050,
            "mediamtx_unavailable",
        )
        .await;
    assert_eq!(data["dependency"], "mediamtx", "{data}");
    let camera = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(camera["recording"]["active"], true, "still recording: {camera}");
    assert_eq!(camera["recording"]["filename"], started["filename"], "{camera}");

    double.revive().await;
    wait_record(&double, true, "record re-applied once MediaMTX is back").await;
    let stopped = ws
        .result_within("stop_recording", json!({"device": "camera0"}), Duration::from_secs(10))
        .await;
    assert_eq!(stopped["filename"], started["filename"], "{stopped}");
    assert_eq!(record_flag(&double), false);
    wait_readers(&double, 0, "the keepalive reader gone").await;
    assert_no_violations(&double);
}

#[tokio::test]
async fn a_timed_recording_stops_by_itself() {
    let double = MediamtxDouble::start().await;
    let server = server(&double, json!({})).await;
    let mut ws = operator(&server).await;
    ws.result("subscribe_events", json!({"topics": ["recording_status_update"]}))
        .await;
    let started = ws
        .result("start_recording", json!({"device": "camera0", "duration": 2}))
        .await;
    assert!(started["auto_stop_at"].is_string(), "{started}");
    let stopped = loop {
        let note = ws
            .notification("recording_status_update", Duration::from_secs(10))
            .await;
        if note["params"]["status"] == "STOPPED" {
            break note["params"].clone();
        }
    };
    assert_eq!(stopped["reason"], "duration_elapsed", "{stopped}");
    assert_eq!(stopped["filename"], started["filename"], "{stopped}");
    assert_eq!(record_flag(&double), false, "record off at the deadline");
    wait_readers(&double, 0, "the keepalive reader gone").await;
    let camera = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(camera["recording"]["active"], false, "{camera}");
}

#[tokio::test]
async fn a_start_that_sees_no_file_leaves_nothing_running() {
    let double = MediamtxDouble::start_with(DoubleOptions {
        ondemand_delay: Duration::from_secs(60), // the publisher never comes online in time
        ..DoubleOptions::default()
    })
    .await;
    let server = server(&double, json!({"recording": {"start_timeout": 2}})).await;
    let mut ws = operator(&server).await;
    let asked = std::time::Instant::now();
    let data = ws
        .error(
            "start_recording",
            json!({"device": "camera0"}),
            -32050,
            "recording_start_timeout",
        )
        .await;
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(data["dependency"], "mediamtx", "{data}");
    assert_eq!(record_flag(&double), false, "record back off");
    wait_readers(&double, 0, "no keepalive left").await;
    let camera = ws.result("get_camera_status", json!({"device": "camera0"})).await;
    assert_eq!(camera["recording"]["active"], false, "{camera}");
    assert!(double.written_segments().is_empty());
}

#[tokio::test]
async fn a_recording_resumes_after_the_service_is_killed() {
    let double = MediamtxDouble::start().await;
    let server = server(&double, json!({})).await;
    let mut ws = operator(&server).await;
    let started = ws
        .result("start_recording", json!({"device": "camera0", "duration": 600}))
        .await;
    let first = started["filename"].as_str().expect("filename").to_owned();
    let mut server = server;
    server.signal(libc::SIGKILL);
    server.wait_exit(Duration::from_secs(10)).await;
    let server = server.restart().await;
    let mut ws = operator(&server).await;
    // Resumed in the background after start-up: active again, the flag back on, a keepalive again.
    let status = ws
        .call_until(
            "get_camera_status",
            json!({"device": "camera0"}),
            Duration::from_secs(15),
            |r| r["result"]["recording"]["active"] == true,
        )
        .await["result"]
        .clone();
    assert_eq!(
        status["recording"]["filename"],
        first.as_str(),
        "same recording: {status}"
    );
    assert_eq!(
        status["recording"]["auto_stop_at"], started["auto_stop_at"],
        "same deadline: {status}"
    );
    assert_eq!(record_flag(&double), true, "record on again");
    wait_readers(&double, 1, "the keepalive reader back").await;
    let stopped = ws.result("stop_recording", json!({"device": "camera0"})).await;
    assert_eq!(stopped["filename"], first.as_str(), "{stopped}");
    assert!(
        stopped["files"].as_array().is_some_and(|f| f.len() >= 2),
        "files from before and after the restart: {stopped}"
    );
    assert_eq!(record_flag(&double), false);
    wait_readers(&double, 0, "the keepalive reader gone").await;
    assert_no_violations(&double);
}
