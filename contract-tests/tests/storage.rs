//! Storage (API.md §4.6, §4.3 -32060, §5.3 `storage.*`): `get_storage_info` shape, `set_retention_policy`
//! validation, merging and persistence across a restart, `cleanup_old_files` with `dry_run`, the mass-delete
//! guard and `force`, and low-space refusals with a tiny `storage.capacity_bytes` (no real disk filling).
//! Media files are planted straight into the server's storage folders with chosen modification times.

use contract_tests::{TestServer, WsClient, is_rfc3339_ms};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);

/// Writes `size` bytes to `dir/name` and sets its modification time `age` in the past.
fn plant(dir: &Path, name: &str, size: usize, age: Duration) {
    std::fs::create_dir_all(dir).expect("storage dir");
    let path = dir.join(name);
    std::fs::write(&path, vec![1u8; size]).expect("write media file");
    let mtime = SystemTime::now() - age;
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime");
}

async fn admin(server: &TestServer) -> WsClient {
    let key = server.admin_key().await;
    let mut ws = server.ws().await;
    ws.authenticate(&key).await;
    ws
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} must be a non-negative integer: {v}"))
}

#[tokio::test]
async fn get_storage_info_shape_and_access() {
    let server = TestServer::start(json!({})).await;
    let mut ws = admin(&server).await;
    let info = ws.result("get_storage_info", Value::Null).await;
    let (total, used, available) = (
        u64_of(&info, "total_space"),
        u64_of(&info, "used_space"),
        u64_of(&info, "available_space"),
    );
    assert!(total > 0 && used <= total && available <= total, "{info}");
    let usage = info["usage_percentage"].as_f64().expect("usage_percentage is a number");
    assert!((0.0..=100.0).contains(&usage), "{info}");
    assert_eq!(
        (info["warn_percent"].as_u64(), info["block_percent"].as_u64()),
        (Some(80), Some(95)),
        "{info}"
    );
    assert_eq!(info["low_space_warning"], json!(usage >= 80.0), "{info}");
    for key in [
        "recordings_size",
        "snapshots_size",
        "recordings_count",
        "snapshots_count",
    ] {
        assert_eq!(u64_of(&info, key), 0, "empty storage: {info}");
    }

    plant(
        &server.dir().join("recordings"),
        "camera0_2025-01-15_14-30-00.mp4",
        3000,
        DAY,
    );
    plant(&server.dir().join("snapshots"), "front.jpg", 200, DAY);
    plant(&server.dir().join("snapshots"), "notes.txt", 999, DAY);
    let info = ws.result("get_storage_info", json!({})).await;
    assert_eq!(
        (
            u64_of(&info, "recordings_count"),
            u64_of(&info, "recordings_size"),
            u64_of(&info, "snapshots_count"),
            u64_of(&info, "snapshots_size")
        ),
        (1, 3000, 1, 200),
        "only listable media count: {info}"
    );

    ws.error("get_storage_info", json!({"verbose": true}), -32602, "unknown_param")
        .await;
    let mut viewer = server.ws_as(&server.jwt("storage-viewer", "viewer", 600)).await;
    viewer
        .error("get_storage_info", Value::Null, -32002, "insufficient_role")
        .await;
    let mut operator = server.ws_as(&server.jwt("storage-operator", "operator", 600)).await;
    for (method, params) in [
        (
            "set_retention_policy",
            json!({"policy_type": "manual", "enabled": false}),
        ),
        ("cleanup_old_files", json!({})),
    ] {
        operator.error(method, params, -32002, "insufficient_role").await;
    }
}

#[tokio::test]
async fn set_retention_policy_validates_merges_and_persists() {
    let mut server = TestServer::start(json!({})).await;
    let key = server.admin_key().await;
    let mut ws = server.ws().await;
    ws.authenticate(&key).await;

    let data = ws
        .error(
            "set_retention_policy",
            json!({"policy_type": "age", "enabled": true}),
            -32602,
            "missing_param",
        )
        .await;
    assert_eq!(data["param"], "max_age_days", "after merging nothing is stored: {data}");
    let data = ws
        .error(
            "set_retention_policy",
            json!({"policy_type": "size", "enabled": true}),
            -32602,
            "missing_param",
        )
        .await;
    assert_eq!(data["param"], "max_size_gb", "{data}");
    let data = ws
        .error(
            "set_retention_policy",
            json!({"policy_type": "manual"}),
            -32602,
            "missing_param",
        )
        .await;
    assert_eq!(data["param"], "enabled", "{data}");
    for (params, reason, param) in [
        (
            json!({"policy_type": "age", "enabled": true, "max_age_days": 0}),
            "out_of_range",
            "max_age_days",
        ),
        (
            json!({"policy_type": "age", "enabled": true, "max_age_days": 3651}),
            "out_of_range",
            "max_age_days",
        ),
        (
            json!({"policy_type": "size", "enabled": true, "max_size_gb": 0}),
            "out_of_range",
            "max_size_gb",
        ),
        (
            json!({"policy_type": "manual", "enabled": true, "min_free_percent": 50.5}),
            "out_of_range",
            "min_free_percent",
        ),
        (
            json!({"policy_type": "age", "enabled": true, "max_age_days": 1.5}),
            "invalid_type",
            "max_age_days",
        ),
        (
            json!({"policy_type": "manual", "enabled": "yes"}),
            "invalid_type",
            "enabled",
        ),
        (
            json!({"policy_type": "manual", "enabled": true, "keep": 3}),
            "unknown_param",
            "keep",
        ),
    ] {
        let data = ws.error("set_retention_policy", params.clone(), -32602, reason).await;
        assert_eq!(data["param"], param, "{params}: {data}");
    }
    let data = ws
        .call("set_retention_policy", json!({"policy_type": "fifo", "enabled": true}))
        .await;
    assert_eq!(data["error"]["code"], -32602, "{data}");

    let set = ws
        .result(
            "set_retention_policy",
            json!({"policy_type": "age_and_size", "enabled": true, "max_age_days": 30, "max_size_gb": 1.5,
                   "min_free_percent": 5}),
        )
        .await;
    assert_eq!(
        (
            &set["policy_type"],
            &set["enabled"],
            &set["max_age_days"],
            &set["max_size_gb"],
            &set["min_free_percent"]
        ),
        (
            &json!("age_and_size"),
            &json!(true),
            &json!(30),
            &json!(1.5),
            &json!(5.0)
        ),
        "{set}"
    );
    assert!(set["updated_at"].as_str().is_some_and(is_rfc3339_ms), "{set}");
    assert_eq!(set["message"], "Retention policy configured successfully", "{set}");
    // Omitted optional params keep their stored values; the default floor is 10 until set.
    let age = ws
        .result("set_retention_policy", json!({"policy_type": "age", "enabled": true}))
        .await;
    assert_eq!(
        (&age["max_age_days"], &age["max_size_gb"], &age["min_free_percent"]),
        (&json!(30), &json!(1.5), &json!(5.0))
    );

    // Persisted: a restarted server merges against the same stored policy.
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(20)).await;
    let server = server.restart().await;
    let mut ws = server.ws().await;
    ws.authenticate(&key).await;
    let off = ws
        .result(
            "set_retention_policy",
            json!({"policy_type": "manual", "enabled": false}),
        )
        .await;
    assert_eq!(
        (
            &off["policy_type"],
            &off["enabled"],
            &off["max_age_days"],
            &off["max_size_gb"],
            &off["min_free_percent"]
        ),
        (&json!("manual"), &json!(false), &json!(30), &json!(1.5), &json!(5.0)),
        "{off}"
    );
    ws.error("cleanup_old_files", json!({}), -32020, "retention_disabled")
        .await;
    ws.error(
        "cleanup_old_files",
        json!({"dry_run": true}),
        -32020,
        "retention_disabled",
    )
    .await;
}

#[tokio::test]
async fn cleanup_old_files_dry_run_guard_and_force() {
    let server = TestServer::start(json!({})).await;
    let mut ws = admin(&server).await;
    ws.result(
        "subscribe_events",
        json!({"topics": ["file.deleted", "storage.cleanup"]}),
    )
    .await;
    let snapshots = server.dir().join("snapshots");
    let recordings = server.dir().join("recordings");
    for i in 0..25 {
        plant(
            &snapshots,
            &format!("camera0_2024-01-01_00-00-{i:02}_000.jpg"),
            100,
            DAY * 60,
        );
    }
    for i in 0..5 {
        plant(
            &recordings,
            &format!("camera0_2025-01-0{}_00-00-00.mp4", i + 1),
            1000,
            DAY,
        );
    }
    ws.error("cleanup_old_files", json!({"dry_run": 1}), -32602, "invalid_type")
        .await;
    ws.result(
        "set_retention_policy",
        json!({"policy_type": "age", "enabled": true, "max_age_days": 30, "min_free_percent": 0}),
    )
    .await;

    let dry = ws.result("cleanup_old_files", json!({"dry_run": true})).await;
    assert_eq!(
        (
            &dry["dry_run"],
            &dry["cleanup_executed"],
            &dry["guard_tripped"],
            &dry["files_deleted"],
            &dry["snapshots_removed"]
        ),
        (&json!(true), &json!(false), &json!(true), &json!(25), &json!(25)),
        "{dry}"
    );
    assert_eq!(
        (u64_of(&dry, "recordings_removed"), u64_of(&dry, "space_freed")),
        (0, 2500),
        "{dry}"
    );
    assert!(dry["message"].is_string(), "{dry}");

    let data = ws
        .error("cleanup_old_files", json!({}), -32020, "mass_delete_guard")
        .await;
    assert_eq!(
        (&data["would_delete"], &data["total_files"]),
        (&json!(25), &json!(30)),
        "{data}"
    );
    let listed = ws.result("list_snapshots", json!({})).await;
    assert_eq!(
        listed["total"], 25,
        "neither the dry run nor the guard deleted anything: {listed}"
    );

    let done = ws.result("cleanup_old_files", json!({"force": true})).await;
    assert_eq!(
        (
            &done["cleanup_executed"],
            &done["dry_run"],
            &done["files_deleted"],
            &done["snapshots_removed"],
            &done["recordings_removed"]
        ),
        (&json!(true), &json!(false), &json!(25), &json!(25), &json!(0)),
        "{done}"
    );
    assert_eq!(
        (u64_of(&done, "space_freed"), done["message"].as_str()),
        (2500, Some("Cleanup completed successfully"))
    );
    assert_eq!(ws.result("list_snapshots", json!({})).await["total"], 0);
    assert_eq!(
        ws.result("list_recordings", json!({})).await["total"],
        5,
        "newer files stay"
    );

    let cleanup = ws.notification("storage.cleanup", Duration::from_secs(5)).await;
    let p = &cleanup["params"];
    assert_eq!(
        (&p["trigger"], &p["files_deleted"], &p["space_freed"]),
        (&json!("manual"), &json!(25), &json!(2500)),
        "{p}"
    );
    assert!(p["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{p}");
    let deleted = ws.notification("file.deleted", Duration::from_secs(5)).await;
    let p = &deleted["params"];
    assert_eq!(
        (&p["kind"], &p["reason"], &p["device"]),
        (&json!("snapshot"), &json!("retention"), &json!("camera0")),
        "{p}"
    );

    // Nothing left to do: a clean run.
    let again = ws.result("cleanup_old_files", json!({})).await;
    assert_eq!(
        (&again["files_deleted"], &again["guard_tripped"]),
        (&json!(0), &json!(false)),
        "{again}"
    );
}

#[tokio::test]
async fn tiny_capacity_refuses_new_media_with_32060() {
    let server = TestServer::start(json!({"storage": {"capacity_bytes": 1_000_000}})).await;
    let mut ws = admin(&server).await;
    ws.result("subscribe_events", json!({"topics": ["storage.warning"]}))
        .await;
    let info = ws.result("get_storage_info", Value::Null).await;
    assert_eq!(
        (u64_of(&info, "total_space"), u64_of(&info, "available_space")),
        (1_000_000, 1_000_000),
        "{info}"
    );

    // 960 000 of 1 000 000 bytes used: above the 95 % blocking threshold.
    plant(
        &server.dir().join("recordings"),
        "camera0_2025-01-15_14-30-00.mp4",
        960_000,
        DAY,
    );
    let info = ws.result("get_storage_info", Value::Null).await;
    assert_eq!(
        (
            &info["usage_percentage"],
            &info["available_space"],
            &info["used_space"],
            &info["low_space_warning"]
        ),
        (&json!(96.0), &json!(40_000), &json!(960_000), &json!(true)),
        "{info}"
    );
    let data = ws
        .error("take_snapshot", json!({"device": "camera0"}), -32060, "storage_full")
        .await;
    assert_eq!(
        (&data["available_bytes"], &data["usage_percentage"]),
        (&json!(40_000), &json!(96.0)),
        "{data}"
    );
    ws.error(
        "start_recording",
        json!({"device": "camera0", "duration": 5}),
        -32060,
        "storage_full",
    )
    .await;

    let warning = ws.notification("storage.warning", Duration::from_secs(15)).await;
    let p = &warning["params"];
    assert_eq!(
        (&p["level"], &p["usage_percentage"], &p["available_space"]),
        (&json!("block"), &json!(96.0), &json!(40_000)),
        "{p}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = ws.result("get_status", Value::Null).await;
        if s["status"] == "UNHEALTHY" || tokio::time::Instant::now() >= deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        status["status"], "UNHEALTHY",
        "the blocking level makes the service unhealthy: {status}"
    );
    assert_eq!(status["components"]["storage"], "ERROR", "{status}");

    // Space back: snapshots work again and the level returns to ok.
    std::fs::remove_file(server.dir().join("recordings/camera0_2025-01-15_14-30-00.mp4")).expect("rm");
    let snap = ws.result("take_snapshot", json!({"device": "camera0"})).await;
    assert_eq!(snap["status"], "SUCCESS", "{snap}");
    let back = ws.notification("storage.warning", Duration::from_secs(15)).await;
    assert_eq!(back["params"]["level"], "ok", "{back}");
}
