//! Snapshots in the MediaMTX backend (API.md §4.3): while a camera's path is running, a snapshot reads it over
//! RTSP instead of opening the source a second time (a V4L2 device allows one reader, the publisher); when that
//! read gives no picture within `snapshots.timeout`, the snapshot falls back to the source.
//!
//! The double's RTSP port registers a reader for each connection and never answers `DESCRIBE`, so the read
//! through MediaMTX is seen at the double and then times out, which exercises both steps with real ffmpeg.

use contract_tests::mediamtx_double::MediamtxDouble;
use contract_tests::{TestServer, poll_until};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn a_running_path_is_read_first_then_the_source() {
    let double = MediamtxDouble::start().await;
    let server = TestServer::start(json!({
        "mediamtx": {"enabled": true, "api_url": double.api_url(), "rtsp_port": double.rtsp_port()},
        "recording": {"backend": "mediamtx"},
        "snapshots": {"timeout": 2},
    }))
    .await;
    let token = server.jwt("snap-operator", "operator", 3600);
    let mut ws = server.ws_as(&token).await;
    poll_until(Duration::from_secs(10), "camera0's path in MediaMTX", || async {
        double.path_names().iter().any(|n| n == "camera0").then_some(())
    })
    .await;

    let _viewer = double.add_reader("camera0").expect("camera0 is configured");
    ws.result_until(
        "get_stream_status",
        json!({"device": "camera0"}),
        Duration::from_secs(10),
        |status| status["ready"] == true,
    )
    .await;

    let mut snapper = server.ws_as(&token).await;
    let snapshot = tokio::spawn(async move { snapper.call("take_snapshot", json!({"device": "camera0"})).await });
    poll_until(
        Duration::from_secs(5),
        "the snapshot reading camera0 through MediaMTX",
        || async { (double.readers("camera0") >= 2).then_some(()) },
    )
    .await;
    let reply: Value = snapshot.await.expect("snapshot task");
    let result = &reply["result"];
    assert_eq!(result["status"], "SUCCESS", "fell back to the source: {reply}");
    assert_eq!(result["resolution"], "320x240", "{reply}");
    poll_until(Duration::from_secs(5), "the snapshot's RTSP reader gone", || async {
        (double.readers("camera0") == 1).then_some(())
    })
    .await;
}
