//! `get_metrics` (API.md §4.7) while a camera records, black-box against the standalone ffmpeg backend and the
//! default virtual camera (320x240 at 10 fps): the camera's frame health (`ok` with a measured rate and the time
//! of the last frame while it records, `idle` with nulls after), and the recording figures
//! (`active_recordings`, `recordings_started_total`, `bytes_written_total`). In the MediaMTX backend (against
//! the MediaMTX double) the health comes from the path's received bytes: `ok` with `measured_fps` `null` while
//! the camera's path is fed, `idle` once MediaMTX closes the on-demand publisher. Every wait polls with a
//! deadline.

use contract_tests::mediamtx_double::MediamtxDouble;
use contract_tests::{TestServer, is_rfc3339_ms, parse_ts_millis, poll_until};
use serde_json::{Value, json};
use std::time::Duration;

fn standalone() -> Value {
    json!({"recording": {"backend": "ffmpeg"}, "mediamtx": {"enabled": false}})
}

fn health(r: &Value) -> &Value {
    &r["camera_metrics"]["cameras"]["camera0"]["health"]
}

#[tokio::test]
async fn a_recording_camera_reports_frames_and_bytes_and_is_idle_after_the_stop() {
    let server = TestServer::start(standalone()).await;
    let mut admin = server.ws_as(&server.jwt("metrics", "admin", 3600)).await;

    let before = admin.result("get_metrics", Value::Null).await;
    assert_eq!(
        *health(&before),
        json!({"state": "idle", "last_frame_at": null, "measured_fps": null}),
        "{before}"
    );
    assert_eq!(before["recording_metrics"]["active_recordings"], 0, "{before}");
    assert_eq!(before["recording_metrics"]["recordings_started_total"], 0, "{before}");
    assert_eq!(before["recording_metrics"]["bytes_written_total"], 0, "{before}");

    let started = admin.result("start_recording", json!({"device": "camera0"})).await;
    assert_eq!(started["status"], "RECORDING", "{started}");

    // The rate needs a few of ffmpeg's progress reports; the window is 5 s.
    let during = admin
        .result_until("get_metrics", Value::Null, Duration::from_secs(20), |r| {
            let h = health(r);
            h["state"] == "ok"
                && h["measured_fps"]
                    .as_f64()
                    .is_some_and(|fps| (5.0..=15.0).contains(&fps))
        })
        .await;
    let h = health(&during);
    let last_frame_at = h["last_frame_at"]
        .as_str()
        .unwrap_or_else(|| panic!("last_frame_at: {during}"));
    assert!(is_rfc3339_ms(last_frame_at), "{during}");
    let (last_ms, now_ms) = (
        parse_ts_millis(last_frame_at).unwrap_or_default(),
        parse_ts_millis(during["timestamp"].as_str().unwrap_or_default()).unwrap_or_default(),
    );
    assert!(
        last_ms <= now_ms && now_ms - last_ms <= 5_000,
        "the last frame is recent and not in the future: {during}"
    );
    let fps = h["measured_fps"].as_f64().unwrap_or_default();
    assert_eq!((fps * 10.0).round() / 10.0, fps, "one decimal: {during}");
    let rec = &during["recording_metrics"];
    assert_eq!(rec["active_recordings"], 1, "{during}");
    assert!(
        rec["recordings_started_total"].as_u64().is_some_and(|n| n >= 1),
        "{during}"
    );
    assert!(rec["bytes_written_total"].as_u64().is_some_and(|n| n > 0), "{during}");
    // The other cameras do not record.
    for (id, camera) in during["camera_metrics"]["cameras"].as_object().into_iter().flatten() {
        if id != "camera0" {
            assert_eq!(camera["health"]["state"], "idle", "{id}: {during}");
        }
    }

    let stopped = admin.result("stop_recording", json!({"device": "camera0"})).await;
    let file_size = stopped["file_size"]
        .as_u64()
        .unwrap_or_else(|| panic!("file_size: {stopped}"));
    assert!(file_size > 0, "{stopped}");

    let after = admin.result("get_metrics", Value::Null).await;
    assert_eq!(
        *health(&after),
        json!({"state": "idle", "last_frame_at": null, "measured_fps": null}),
        "no pipeline after the stop: {after}"
    );
    let rec = &after["recording_metrics"];
    assert_eq!(rec["active_recordings"], 0, "{after}");
    assert_eq!(rec["recordings_started_total"], 1, "{after}");
    assert!(
        rec["bytes_written_total"].as_u64().is_some_and(|n| n >= file_size),
        "bytes_written_total counts the finished recording ({file_size} bytes): {after}"
    );
}

#[tokio::test]
async fn in_the_mediamtx_backend_health_follows_the_path() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(json!({
        "mediamtx": {"enabled": true, "api_url": double.api_url(), "rtsp_port": double.rtsp_port()},
        "recording": {"backend": "mediamtx", "segment_duration": 2}
    }))
    .await;
    poll_until(Duration::from_secs(10), "camera0's path in MediaMTX", || async {
        double.conf("camera0").map(|_| ())
    })
    .await;
    let mut admin = server.ws_as(&server.jwt("metrics", "admin", 3600)).await;
    admin
        .result_until("get_metrics", Value::Null, Duration::from_secs(10), |r| {
            health(r)["state"] == "idle"
        })
        .await;

    let started = admin.result("start_recording", json!({"device": "camera0"})).await;
    assert_eq!(started["status"], "RECORDING", "{started}");
    let during = admin
        .result_until("get_metrics", Value::Null, Duration::from_secs(15), |r| {
            health(r)["state"] == "ok" && health(r)["last_frame_at"].is_string()
        })
        .await;
    let h = health(&during);
    assert!(h["last_frame_at"].as_str().is_some_and(is_rfc3339_ms), "{during}");
    assert_eq!(
        h["measured_fps"],
        Value::Null,
        "MediaMTX has no frame counter: {during}"
    );
    let rec = &during["recording_metrics"];
    assert_eq!(rec["active_recordings"], 1, "{during}");
    assert_eq!(rec["recordings_started_total"], 1, "{during}");

    let stopped = admin.result("stop_recording", json!({"device": "camera0"})).await;
    let file_size = stopped["file_size"]
        .as_u64()
        .unwrap_or_else(|| panic!("file_size: {stopped}"));
    // MediaMTX closes the on-demand publisher 10 s after its last reader left.
    let after = admin
        .result_until("get_metrics", Value::Null, Duration::from_secs(30), |r| {
            health(r)["state"] == "idle"
        })
        .await;
    assert_eq!(
        *health(&after),
        json!({"state": "idle", "last_frame_at": null, "measured_fps": null}),
        "{after}"
    );
    assert!(
        after["recording_metrics"]["bytes_written_total"]
            .as_u64()
            .is_some_and(|n| n >= file_size),
        "{after}"
    );
}
