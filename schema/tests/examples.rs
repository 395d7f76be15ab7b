//! The result and notification examples of API.md, parsed into the typed structs and serialised back:
//! every field must survive the round trip (numbers compared by value), so a missing or misspelt field fails.
//! Also checks that params accepted by `validate_params` deserialise into the typed params structs.

use camera_api::notifications::*;
use camera_api::types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        _ => a == b,
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(example: Value) {
    let typed: T = match serde_json::from_value(example.clone()) {
        Ok(t) => t,
        Err(e) => panic!("{}: {e}\n{example}", std::any::type_name::<T>()),
    };
    let back = serde_json::to_value(&typed).unwrap_or_default();
    assert!(
        same(&example, &back),
        "{}:\nexample {example}\nback    {back}",
        std::any::type_name::<T>()
    );
}

#[test]
fn session_and_meta() {
    round_trip::<AuthenticateResult>(
        json!({"authenticated":true,"role":"operator","permissions":["view","control"],
        "expires_at":"2025-01-16T14:30:00.000Z","session_id":"0f6c6f0e-5a7b-4f52-9a57-3c1f7a2d9e10","user_id":"alice",
        "auth_method":"jwt"}),
    );
    round_trip::<PingResult>(json!("pong"));
    round_trip::<IssueTokenResult>(
        json!({"token":"eyJhbGciOiJIUzI1NiJ9.x","token_type":"Bearer","user_id":"alice",
        "role":"viewer","issued_at":"2025-01-15T14:30:00.000Z","expires_at":"2025-01-15T15:30:00.000Z","expires_in":3600}),
    );
    round_trip::<GetDownloadUrlResult>(json!({"kind":"recording","filename":"camera0_2025-01-15_14-30-00.mp4",
        "url":"https://cam.local:8002/files/recordings/camera0_2025-01-15_14-30-00.mp4?token=dlt_Q2x",
        "path":"/files/recordings/camera0_2025-01-15_14-30-00.mp4?token=dlt_Q2x","token":"dlt_Q2x",
        "expires_at":"2025-01-15T14:35:00.000Z","expires_in":300}));
}

#[test]
fn cameras() {
    round_trip::<GetCameraListResult>(
        json!({"cameras":[{"device":"camera0","status":"CONNECTED","name":"USB Camera",
        "resolution":"1280x720","fps":30,"type":"v4l2","streams":{"rtsp":"rtsp://cam.local:8554/camera0",
        "hls":"http://cam.local:8888/camera0/index.m3u8","webrtc":"http://cam.local:8889/camera0/whep"}}],
        "total":1,"connected":1}),
    );
    round_trip::<GetCameraStatusResult>(json!({"device":"camera0","status":"CONNECTED","name":"USB Camera",
        "resolution":"1280x720","fps":30,"type":"v4l2","streams":{},
        "metrics":{"bytes_sent":12345678,"readers":2,"uptime":3600},
        "capabilities":{"formats":["MJPG","YUYV"],"resolutions":["1280x720"]},
        "recording":{"active":false,"filename":null,"start_time":null,"auto_stop_at":null},"streaming":false}));
    round_trip::<GetCameraCapabilitiesResult>(json!({"device":"camera0","formats":["MJPG","YUYV"],
        "resolutions":["1920x1080","1280x720","640x480"],"fps_options":[30,15],"frame_rates":[30,15],
        "modes":[{"format":"MJPG","width":1920,"height":1080,"fps":[30,15]}],"validation_status":"CONFIRMED"}));
}

#[test]
fn snapshots_recording_files() {
    round_trip::<TakeSnapshotResult>(
        json!({"device":"camera0","filename":"camera0_2025-01-15_14-30-00_123.jpg",
        "status":"SUCCESS","timestamp":"2025-01-15T14:30:00.123Z","file_size":204800,
        "file_path":"/var/lib/camera-service/snapshots/camera0/camera0_2025-01-15_14-30-00_123.jpg","format":"jpg",
        "resolution":"1280x720","download_url":"/files/snapshots/camera0_2025-01-15_14-30-00_123.jpg"}),
    );
    round_trip::<StartRecordingResult>(json!({"device":"camera0","filename":"camera0_2025-01-15_14-30-00.mp4",
        "status":"RECORDING","start_time":"2025-01-15T14:30:00.000Z","format":"fmp4","duration":60,
        "auto_stop_at":"2025-01-15T14:31:00.000Z","download_url":"/files/recordings/camera0_2025-01-15_14-30-00.mp4"}));
    round_trip::<StopRecordingResult>(json!({"device":"camera0","filename":"camera0_2025-01-15_14-30-00.mp4",
        "status":"STOPPED","start_time":"2025-01-15T14:30:00.000Z","end_time":"2025-01-15T15:00:00.000Z","duration":1800,
        "file_size":1073741824u64,"format":"fmp4","files":["camera0_2025-01-15_14-30-00.mp4"]}));
    round_trip::<ListRecordingsResult>(json!({"files":[{"filename":"camera0_2025-01-15_14-30-00.mp4",
        "file_size":1073741824u64,"created_time":"2025-01-15T14:30:00.000Z","modified_time":"2025-01-15T15:00:00.000Z",
        "duration":1800,"format":"fmp4","device":"camera0","in_progress":false,
        "download_url":"/files/recordings/camera0_2025-01-15_14-30-00.mp4"}],"total":25,"limit":10,"offset":0}));
    round_trip::<ListSnapshotsResult>(json!({"files":[{"filename":"camera0_2025-01-15_14-30-00_123.jpg",
        "file_size":204800,"created_time":"2025-01-15T14:30:00.123Z","modified_time":"2025-01-15T14:30:00.123Z",
        "format":"jpg","device":"camera0","download_url":"/files/snapshots/camera0_2025-01-15_14-30-00_123.jpg"}],
        "total":15,"limit":10,"offset":0}));
    round_trip::<GetSnapshotInfoResult>(json!({"filename":"front.jpg","file_size":204800,
        "created_time":"2025-01-15T14:30:00.123Z","modified_time":"2025-01-15T14:30:00.123Z","format":"jpg",
        "device":"camera0","resolution":"1280x720","download_url":"/files/snapshots/front.jpg"}));
    round_trip::<DeleteRecordingResult>(json!({"filename":"camera0_2025-01-15_14-30-00.mp4","deleted":true,
        "message":"Recording file deleted successfully"}));
}

#[test]
fn streaming() {
    let streams = json!({"rtsp":"rtsp://cam.local:8554/camera0","hls":"http://cam.local:8888/camera0/index.m3u8",
        "webrtc":"http://cam.local:8889/camera0/whep"});
    round_trip::<StartStreamingResult>(json!({"device":"camera0","stream_name":"camera0",
        "stream_url":"rtsp://cam.local:8554/camera0","status":"STARTED","start_time":"2025-01-15T14:30:00.000Z",
        "auto_close_after":"300s","streams":streams,"message":"Stream is live"}));
    round_trip::<StopStreamingResult>(json!({"device":"camera0","stream_name":"camera0","status":"STOPPED",
        "start_time":"2025-01-15T14:30:00.000Z","end_time":"2025-01-15T14:35:00.000Z","duration":300,
        "stream_continues":false,"message":"Stream stopped"}));
    round_trip::<GetStreamUrlResult>(json!({"device":"camera0","stream_name":"camera0",
        "stream_url":"rtsp://cam.local:8554/camera0","available":true,"active_consumers":2,"stream_status":"READY",
        "streams":streams}));
    round_trip::<GetStreamStatusResult>(json!({"device":"camera0","stream_name":"camera0","status":"ACTIVE",
        "ready":true,"ffmpeg_process":{"running":true,"pid":12345,"uptime":300},
        "mediamtx_path":{"exists":true,"ready":true,"readers":2},
        "metrics":{"bytes_sent":12345678,"frames_sent":9000,"bitrate":600000,"fps":30},
        "start_time":"2025-01-15T14:30:00.000Z"}));
    round_trip::<GetStreamsResult>(json!([
        {"name":"camera0","device":"camera0","source":"rtspSession","ready":true,"readers":2,"bytes_sent":12345678},
        {"name":"front_door","device":"front_door","source":"rtspSource","ready":false,"readers":0,"bytes_sent":0}]));
}

#[test]
fn storage_and_system() {
    round_trip::<GetStorageInfoResult>(json!({"total_space":107374182400u64,"used_space":53687091200u64,
        "available_space":53687091200u64,"usage_percentage":50.0,"recordings_size":42949672960u64,
        "snapshots_size":10737418240u64,"recordings_count":120,"snapshots_count":900,"low_space_warning":false,
        "warn_percent":80,"block_percent":95}));
    round_trip::<SetRetentionPolicyResult>(json!({"policy_type":"age","enabled":true,"max_age_days":30,
        "max_size_gb":null,"min_free_percent":10,"updated_at":"2025-01-15T14:30:00.000Z",
        "message":"Retention policy configured successfully"}));
    round_trip::<CleanupOldFilesResult>(json!({"cleanup_executed":true,"dry_run":false,"guard_tripped":false,
        "files_deleted":15,"recordings_removed":5,"snapshots_removed":10,"space_freed":10737418240u64,
        "message":"Cleanup completed successfully"}));
    round_trip::<GetStatusResult>(
        json!({"status":"HEALTHY","uptime":86400.5,"version":"1.0.0","api_version":"1.0.0",
        "components":{"websocket_server":"RUNNING","camera_monitor":"RUNNING","mediamtx":"RUNNING","storage":"RUNNING",
        "database":"RUNNING"}}),
    );
    round_trip::<GetSystemStatusResult>(json!({"status":"ready","message":"System is fully operational",
        "available_cameras":["camera0","front_door"],"discovery_active":false}));
    round_trip::<GetServerInfoResult>(json!({"name":"Camera Service","version":"1.0.0","api_version":"1.0.0",
        "build_date":"2025-01-15T10:00:00.000Z","go_version":"rustc 1.95.0 (59807616e 2026-04-14)",
        "rust_version":"1.95.0","architecture":"x86_64","os":"linux","backend":"mediamtx",
        "capabilities":["snapshots","recordings","streaming","external_streams","api_keys","download_tokens"],
        "supported_formats":["fmp4","mp4","jpg","png"],"max_cameras":32}));
    round_trip::<GetMetricsResult>(json!({"timestamp":"2025-01-15T14:30:00.000Z","cpu_usage":23.1,
        "memory_usage":45.5,"disk_usage":50.0,
        "system_metrics":{"cpu_usage":23.1,"memory_usage":45.5,"disk_usage":50.0,"goroutines":48,
            "process_memory_bytes":41943040,"open_connections":3},
        "camera_metrics":{"connected_cameras":1,"total_cameras":1,"cameras":{"camera0":{"path":"camera0",
            "name":"USB Camera","status":"CONNECTED","type":"v4l2","device_num":0,"last_seen":"2025-01-15T14:30:00.000Z",
            "formats":[{"pixel_format":"MJPG","width":1280,"height":720,"frame_rates":["30.000","15.000"]}],
            "health":{"state":"ok","last_frame_at":"2025-01-15T14:29:59.967Z","measured_fps":29.9}}}},
        "recording_metrics":{"active_recordings":1,"recordings_started_total":12,"bytes_written_total":5368709120u64},
        "stream_metrics":{"active_streams":1,"total_streams":1,"total_viewers":2}}));
}

#[test]
fn events_external_keys() {
    round_trip::<SubscribeEventsResult>(
        json!({"subscribed":true,"topics":["camera.connected","recording.start"],
        "filters":{"device":"camera0"}}),
    );
    round_trip::<UnsubscribeEventsResult>(json!({"unsubscribed":true,"topics":["camera.connected"]}));
    round_trip::<GetSubscriptionStatsResult>(json!({"global_stats":{"total_subscriptions":15,"active_clients":3,
        "topic_counts":{"camera.connected":2,"recording.start":1},"dropped":4},
        "client_topics":["camera_status_update","camera.connected","recording.start"],"client_id":"c_8f14e45f",
        "client_stats":{"sent":120,"dropped":0,"queue_depth":0,"queue_capacity":256}}));
    let stream = json!({"url":"rtsp://192.168.42.10:5554/subject","type":"skydio_stanag4609",
        "name":"Skydio EO 192.168.42.10","status":"DISCOVERED","device":null,"discovered_at":"2025-01-15T14:30:00.000Z",
        "last_seen":"2025-01-15T14:30:00.000Z","capabilities":{"protocol":"rtsp","format":"stanag4609",
        "source":"skydio_uav","stream_type":"eo","port":5554,"stream_path":"/subject","codec":null,"metadata":null}});
    round_trip::<DiscoverExternalStreamsResult>(json!({"discovered_streams":[stream],"skydio_streams":[stream],
        "generic_streams":[],"scan_timestamp":"2025-01-15T14:30:02.500Z","total_found":1,
        "discovery_options":{"skydio_enabled":true,"generic_enabled":false,"force_rescan":false,"include_offline":false},
        "scan_duration":"2.5s","scan_duration_ms":2500,"errors":[]}));
    round_trip::<AddExternalStreamResult>(json!({"stream_url":"rtsp://192.168.42.15:5554/subject",
        "stream_name":"UAV 15","stream_type":"skydio_stanag4609","device":"ext_uav_15","status":"ADDED",
        "timestamp":"2025-01-15T14:30:00.000Z"}));
    round_trip::<RemoveExternalStreamResult>(json!({"stream_url":"rtsp://192.168.42.15:5554/subject",
        "device":"ext_uav_15","status":"REMOVED","timestamp":"2025-01-15T14:31:00.000Z"}));
    round_trip::<GetExternalStreamsResult>(json!({"external_streams":[],"skydio_streams":[],"generic_streams":[],
        "total_count":0,"timestamp":"2025-01-15T14:30:00.000Z"}));
    round_trip::<SetDiscoveryIntervalResult>(json!({"scan_interval":300,"status":"UPDATED",
        "message":"Discovery interval updated","timestamp":"2025-01-15T14:30:00.000Z"}));
    round_trip::<CreateApiKeyResult>(json!({"key_id":"k_3fa85f6457b2",
        "api_key":"csk_gTztbOGw2cc-XUz-e-ID_labiSNU1KdrMg1LeNYsisI","key_prefix":"csk_gTztbOGw","role":"operator",
        "description":"NVR uplink","created_at":"2025-01-15T14:30:00.000Z","expires_at":"2025-04-15T14:30:00.000Z",
        "message":"Store this key now; it cannot be retrieved again"}));
    round_trip::<ListApiKeysResult>(json!({"keys":[{"key_id":"k_3fa85f6457b2","key_prefix":"csk_gTztbOGw",
        "role":"operator","description":"NVR uplink","status":"ACTIVE","created_at":"2025-01-15T14:30:00.000Z",
        "expires_at":"2025-04-15T14:30:00.000Z","last_used_at":null,"usage_count":0,"revoked_at":null,
        "created_by":"alice"}],"total":1,"limit":50,"offset":0}));
    round_trip::<RevokeApiKeyResult>(json!({"key_id":"k_3fa85f6457b2","revoked":true,"status":"REVOKED",
        "revoked_at":"2025-01-15T14:30:00.000Z","sessions_closed":2}));
    round_trip::<RotateApiKeyResult>(json!({"old_key_id":"k_3fa85f6457b2",
        "old_key_expires_at":"2025-01-15T14:30:00.000Z","key_id":"k_9c2e41b07d3a","api_key":"csk_x",
        "key_prefix":"csk_Zx81Qp0L","role":"operator","created_at":"2025-01-15T14:30:00.000Z",
        "expires_at":"2025-04-15T14:30:00.000Z","message":"Store this key now; it cannot be retrieved again"}));
}

#[test]
fn notifications() {
    let ts = "2025-01-15T14:30:00.000Z";
    round_trip::<CameraStatusUpdate>(json!({"device":"ext_uav_15","status":"DISCONNECTED","name":"UAV 15",
        "resolution":"","fps":0,"type":"network","streams":{},"removed":true,"timestamp":ts}));
    round_trip::<RecordingStatusUpdate>(json!({"device":"camera0","status":"STOPPED",
        "filename":"camera0_2025-01-15_14-30-00.mp4","format":"fmp4","start_time":ts,"duration":60,
        "file_size":1000,"reason":"duration_elapsed","timestamp":ts}));
    round_trip::<SystemHealthUpdate>(json!({"status":"DEGRADED","uptime":10.5,"version":"1.0.0",
        "api_version":"1.0.0","components":{"websocket_server":"RUNNING","camera_monitor":"STARTING",
        "mediamtx":"STOPPED","storage":"RUNNING","database":"RUNNING"},"readiness":"starting","timestamp":ts}));
    round_trip::<CameraDisconnected>(json!({"device":"camera0","name":"USB Camera","status":"DISCONNECTED",
        "removed":false,"timestamp":ts}));
    round_trip::<RecordingStop>(
        json!({"device":"camera0","filename":"a.mp4","files":["a.mp4"],"start_time":ts,
        "end_time":ts,"duration":0,"file_size":0,"format":"fmp4","reason":"requested","timestamp":ts}),
    );
    round_trip::<MediamtxStreamEvent>(json!({"name":"camera0","device":"camera0","source":"rtspSession",
        "ready":true,"readers":2,"bytes_sent":1,"timestamp":ts}));
    round_trip::<FileDeleted>(
        json!({"kind":"snapshot","filename":"front.jpg","device":"camera0","reason":"api",
        "timestamp":ts}),
    );
}

#[test]
fn validated_params_deserialise_into_typed_params() {
    fn typed<T: DeserializeOwned>(method: &str, params: Value) -> T {
        let Some(spec) = camera_api::methods::method(method) else {
            panic!("{method}");
        };
        let map = match camera_api::validate::validate_params(spec, Some(&params)) {
            Ok(m) => m,
            Err(e) => panic!("{method}: {e}"),
        };
        match serde_json::from_value(Value::Object(map)) {
            Ok(t) => t,
            Err(e) => panic!("{method}: {e}"),
        }
    }
    let p: TakeSnapshotParams = typed(
        "take_snapshot",
        json!({"device":"camera0","format":"jpeg","quality":85.0,"max_width":null}),
    );
    assert_eq!(p.quality, Some(85));
    assert_eq!(p.format.as_deref(), Some("jpeg"));
    assert_eq!(p.max_width, None);
    let p: StartRecordingParams = typed("start_recording", json!({"device":"camera0","duration":60.0}));
    assert_eq!(p.duration, Some(60));
    let p: SubscribeEventsParams = typed(
        "subscribe_events",
        json!({"topics":["recording.started"],"filters":{"device":"camera0","topic":null}}),
    );
    assert_eq!(p.filters.map(|f| f.device), Some(Some("camera0".to_owned())));
    let p: UnsubscribeEventsParams = typed("unsubscribe_events", json!({"topics":null}));
    assert_eq!(p.topics, None);
    let p: CreateApiKeyParams = typed("create_api_key", json!({"role":"admin"}));
    assert_eq!(p.role, camera_api::Role::Admin);
    let p: SetRetentionPolicyParams = typed(
        "set_retention_policy",
        json!({"policy_type":"size","enabled":true,"max_size_gb":2}),
    );
    assert_eq!(p.max_size_gb, Some(2.0));
    let _: NoParams = typed("get_camera_list", json!({}));
    let _: ListFilesParams = typed("list_recordings", json!({"limit":10}));
    let _: SetDiscoveryIntervalParams = typed("set_discovery_interval", json!({"scan_interval":0}));
    let _: RotateApiKeyParams = typed("rotate_api_key", json!({"key_id":"k_3fa85f6457b2","grace_seconds":60}));
}

#[test]
fn params_structs_reject_unknown_fields() {
    assert!(serde_json::from_value::<TakeSnapshotParams>(json!({"device":"c","x":1})).is_err());
    assert!(serde_json::from_value::<EventFilters>(json!({"x":1})).is_err());
    assert!(serde_json::from_value::<NoParams>(json!({"x":1})).is_err());
}
