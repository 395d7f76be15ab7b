//! Event subscriptions (API.md §4.8, §5.2–§5.4): `subscribe_events` union semantics and alias normalisation,
//! topic and filter validation, `unsubscribe_events`, `get_subscription_stats`, legacy implicit subscriptions,
//! and filtered delivery of a real event (`snapshot.taken`).

use contract_tests::{TestServer, WsClient, error_code, is_rfc3339_ms};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const LEGACY: [&str; 3] = [
    "camera_status_update",
    "recording_status_update",
    "system_health_update",
];

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array of topics: {v}"))
        .iter()
        .map(|t| {
            t.as_str()
                .unwrap_or_else(|| panic!("topic must be a string: {v}"))
                .to_owned()
        })
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn client_topics(ws: &mut WsClient) -> BTreeSet<String> {
    let stats = ws.result("get_subscription_stats", Value::Null).await;
    set(&stats["client_topics"])
}

#[tokio::test]
async fn subscribe_unsubscribe_and_stats() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("events", "viewer", 600)).await;

    let stats = ws.result("get_subscription_stats", Value::Null).await;
    assert_eq!(
        set(&stats["client_topics"]),
        names(&LEGACY),
        "legacy names are implicit on first auth: {stats}"
    );
    assert!(stats["client_id"].as_str().is_some_and(|s| !s.is_empty()), "{stats}");
    let cs = &stats["client_stats"];
    for k in ["sent", "dropped", "queue_depth"] {
        assert!(cs[k].is_u64(), "client_stats.{k}: {stats}");
    }
    assert_eq!(
        cs["queue_capacity"], 256,
        "default notifications.queue_capacity: {stats}"
    );
    let gs = &stats["global_stats"];
    assert!(gs["topic_counts"].is_object() && gs["dropped"].is_u64(), "{stats}");
    assert_eq!(gs["active_clients"], 1, "{stats}");
    assert_eq!(gs["total_subscriptions"], 3, "{stats}");

    let r = ws
        .result(
            "subscribe_events",
            json!({"topics": ["camera.connected", "recording.started"]}),
        )
        .await;
    assert_eq!(r["subscribed"], true, "{r}");
    assert_eq!(
        set(&r["topics"]),
        names(&["camera.connected", "recording.start"]),
        "aliases normalised: {r}"
    );
    assert_eq!(r["filters"], json!({}), "{r}");
    let mut want = names(&LEGACY);
    want.extend(names(&["camera.connected", "recording.start"]));
    assert_eq!(client_topics(&mut ws).await, want, "topics are added to the set");

    let stats = ws.result("get_subscription_stats", Value::Null).await;
    assert_eq!(stats["global_stats"]["total_subscriptions"], 5, "{stats}");
    assert_eq!(stats["global_stats"]["topic_counts"]["camera.connected"], 1, "{stats}");

    // A second connection adds to the global view.
    let mut other = server.ws_as(&server.jwt("events2", "viewer", 600)).await;
    other
        .result("subscribe_events", json!({"topics": ["camera.connected"]}))
        .await;
    let stats = ws.result("get_subscription_stats", Value::Null).await;
    assert_eq!(stats["global_stats"]["active_clients"], 2, "{stats}");
    assert_eq!(stats["global_stats"]["topic_counts"]["camera.connected"], 2, "{stats}");
    drop(other);

    let r = ws
        .result("unsubscribe_events", json!({"topics": ["recording.stopped"]}))
        .await;
    assert_eq!(r["unsubscribed"], true, "{r}");
    assert_eq!(r["topics"], json!([]), "topics not subscribed are ignored: {r}");
    let r = ws
        .result("unsubscribe_events", json!({"topics": ["recording.started"]}))
        .await;
    assert_eq!(r["topics"], json!(["recording.start"]), "{r}");
    let r = ws.result("unsubscribe_events", json!({})).await;
    assert_eq!(r["unsubscribed"], true);
    assert_eq!(set(&r["topics"]), {
        let mut w = names(&LEGACY);
        w.insert("camera.connected".into());
        w
    });
    assert!(
        client_topics(&mut ws).await.is_empty(),
        "omitted topics removes everything, legacy included"
    );

    ws.result(
        "subscribe_events",
        json!({"topics": ["system.shutdown", "camera_status_update"]}),
    )
    .await;
    ws.result("unsubscribe_events", json!({"topics": null})).await;
    assert!(
        client_topics(&mut ws).await.is_empty(),
        "null topics removes everything"
    );
}

#[tokio::test]
async fn aliases_are_normalised() {
    let server = TestServer::start(json!({"notifications": {"legacy_broadcast": false}})).await;
    let mut ws = server.ws_as(&server.jwt("alias", "viewer", 600)).await;
    let r = ws
        .result(
            "subscribe_events",
            json!({"topics": ["mediamtx.recording_started", "mediamtx.recording_stopped", "mediamtx.recording_failed", "recording.stopped"]}),
        )
        .await;
    assert_eq!(
        set(&r["topics"]),
        names(&["recording.start", "recording.stop", "recording.error"]),
        "{r}"
    );
    assert_eq!(
        client_topics(&mut ws).await,
        names(&["recording.start", "recording.stop", "recording.error"])
    );
}

#[tokio::test]
async fn invalid_topics_fail_the_whole_call() {
    let server = TestServer::start(json!({"notifications": {"legacy_broadcast": false}})).await;
    let mut ws = server.ws_as(&server.jwt("bad", "viewer", 600)).await;
    let data = ws
        .error(
            "subscribe_events",
            json!({"topics": ["camera.connected", "bogus.topic"]}),
            -32602,
            "invalid_topic",
        )
        .await;
    let valid = set(&data["valid_topics"]);
    for t in [
        "camera.connected",
        "recording.start",
        "system.shutdown",
        "mediamtx.error",
        "camera_status_update",
        "system_health_update",
    ] {
        assert!(valid.contains(t), "valid_topics lists {t}: {data}");
    }
    assert!(
        client_topics(&mut ws).await.is_empty(),
        "nothing is added when one topic is invalid"
    );
    ws.error(
        "unsubscribe_events",
        json!({"topics": ["bogus.topic"]}),
        -32602,
        "invalid_topic",
    )
    .await;

    let data = ws.error("subscribe_events", json!({}), -32602, "missing_param").await;
    assert_eq!(data["param"], "topics");
    ws.error(
        "subscribe_events",
        json!({"topics": "camera.connected"}),
        -32602,
        "invalid_type",
    )
    .await;
    for bad in [
        json!({"topics": []}),
        json!({"topics": [5]}),
        json!({"topics": vec!["camera.connected"; 65]}),
    ] {
        let resp = ws.call("subscribe_events", bad.clone()).await;
        assert_eq!(error_code(&resp), Some(-32602), "{bad}: {resp}");
    }
    let data = ws
        .error(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "extra": 1}),
            -32602,
            "unknown_param",
        )
        .await;
    assert_eq!(data["param"], "extra");
}

#[tokio::test]
async fn filters_are_validated_and_echoed() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("filters", "viewer", 600)).await;
    let r = ws
        .result(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "filters": {"device": "camera0"}}),
        )
        .await;
    assert_eq!(r["filters"], json!({"device": "camera0"}), "{r}");
    let r = ws
        .result(
            "subscribe_events",
            json!({"topics": ["recording.start"], "filters": {"topic": "recording", "timestamp_after": "2025-01-15T14:00:00+02:00"}}),
        )
        .await;
    assert_eq!(r["filters"]["topic"], "recording", "{r}");
    assert!(r["filters"].get("timestamp_after").is_some(), "{r}");

    let sub = |filters: Value| json!({"topics": ["camera.connected"], "filters": filters});
    ws.error(
        "subscribe_events",
        sub(json!({"device": "Bad Id!"})),
        -32602,
        "invalid_device",
    )
    .await;
    let data = ws
        .error("subscribe_events", sub(json!({"bogus": 1})), -32602, "unknown_param")
        .await;
    assert_eq!(data["param"], "filters.bogus", "nested params are dotted: {data}");
    ws.error(
        "subscribe_events",
        sub(json!({"timestamp_after": "yesterday"})),
        -32602,
        "invalid_timestamp",
    )
    .await;
    ws.error(
        "subscribe_events",
        sub(json!({"timestamp_after": "2025-01-15T15:00:00Z", "timestamp_before": "2025-01-15T14:00:00Z"})),
        -32602,
        "conflicting_params",
    )
    .await;
    ws.error(
        "subscribe_events",
        sub(json!({"timestamp_after": "2025-01-15T14:00:00Z", "timestamp_before": "2025-01-15T16:00:00+02:00"})),
        -32602,
        "conflicting_params",
    )
    .await;
    let resp = ws.call("subscribe_events", sub(json!("camera0"))).await;
    assert_eq!(error_code(&resp), Some(-32602), "filters must be an object: {resp}");
}

#[tokio::test]
async fn legacy_broadcast_off_and_queue_capacity() {
    let server = TestServer::start(json!({"notifications": {"legacy_broadcast": false, "queue_capacity": 64}})).await;
    let mut ws = server.ws_as(&server.jwt("quiet", "viewer", 600)).await;
    let stats = ws.result("get_subscription_stats", Value::Null).await;
    assert_eq!(stats["client_topics"], json!([]), "no implicit legacy topics: {stats}");
    assert_eq!(stats["client_stats"]["queue_capacity"], 64, "{stats}");
    let r = ws
        .result("subscribe_events", json!({"topics": ["camera_status_update"]}))
        .await;
    assert_eq!(
        r["topics"],
        json!(["camera_status_update"]),
        "legacy names can be added explicitly: {r}"
    );
}

#[tokio::test]
async fn subscriptions_survive_reauthentication() {
    let server = TestServer::start(json!({"notifications": {"legacy_broadcast": false}})).await;
    let mut ws = server.ws_as(&server.jwt("re", "viewer", 600)).await;
    ws.result("subscribe_events", json!({"topics": ["snapshot.taken"]}))
        .await;
    ws.authenticate(&server.jwt("re", "admin", 600)).await;
    assert_eq!(client_topics(&mut ws).await, names(&["snapshot.taken"]));
}

#[tokio::test]
async fn snapshot_events_respect_filters() {
    let server = TestServer::start(json!({"notifications": {"legacy_broadcast": false}})).await;
    let mut matching = server.ws_as(&server.jwt("watch", "viewer", 600)).await;
    matching
        .result(
            "subscribe_events",
            json!({"topics": ["snapshot.taken"], "filters": {"device": "camera0"}}),
        )
        .await;
    let mut other_device = server.ws_as(&server.jwt("watch2", "viewer", 600)).await;
    other_device
        .result(
            "subscribe_events",
            json!({"topics": ["snapshot.taken"], "filters": {"device": "camera9"}}),
        )
        .await;
    let mut past = server.ws_as(&server.jwt("watch3", "viewer", 600)).await;
    past.result(
        "subscribe_events",
        json!({"topics": ["snapshot.taken"], "filters": {"timestamp_before": "2020-01-01T00:00:00Z"}}),
    )
    .await;

    let mut op = server.ws_as(&server.jwt("shooter", "operator", 600)).await;
    let shot = op.result("take_snapshot", json!({"device": "camera0"})).await;
    let note = matching.notification("snapshot.taken", Duration::from_secs(15)).await;
    assert!(
        note.get("id").is_none(),
        "a notification has no id member at all: {note}"
    );
    assert_eq!(note["jsonrpc"], "2.0");
    let p = &note["params"];
    assert_eq!(p["device"], "camera0", "{note}");
    assert_eq!(p["filename"], shot["filename"], "{note} vs {shot}");
    assert!(
        p["file_size"].is_u64() && p["format"].is_string() && p["resolution"].is_string(),
        "{note}"
    );
    assert!(p["timestamp"].as_str().is_some_and(is_rfc3339_ms), "{note}");
    // The filtered-out connections got nothing (the matching one already did, so the event was published).
    other_device.assert_alive().await;
    past.assert_alive().await;
    assert!(
        other_device
            .notifications()
            .iter()
            .all(|n| n["method"] != "snapshot.taken"),
        "device filter not applied"
    );
    assert!(
        past.notifications().iter().all(|n| n["method"] != "snapshot.taken"),
        "timestamp_before filter not applied"
    );
}

#[tokio::test]
async fn expired_sessions_receive_no_notifications() {
    let server =
        TestServer::start(json!({"security": {"jwt_leeway_seconds": 0}, "notifications": {"legacy_broadcast": false}}))
            .await;
    let mut expiring = server.ws_as(&server.jwt("brief", "viewer", 3)).await;
    expiring
        .result("subscribe_events", json!({"topics": ["snapshot.taken"]}))
        .await;
    let mut lasting = server.ws_as(&server.jwt("long", "viewer", 600)).await;
    lasting
        .result("subscribe_events", json!({"topics": ["snapshot.taken"]}))
        .await;
    // Wait until the short session has ended.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let resp = expiring.call("get_server_info", Value::Null).await;
        if error_code(&resp) == Some(-32001) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "session did not expire: {resp}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut op = server.ws_as(&server.jwt("shooter", "operator", 600)).await;
    op.result("take_snapshot", json!({"device": "camera0"})).await;
    lasting.notification("snapshot.taken", Duration::from_secs(15)).await;
    expiring.assert_alive().await;
    assert!(
        expiring.notifications().iter().all(|n| n["method"] != "snapshot.taken"),
        "notifications stop when the session expires: {:?}",
        expiring.notifications()
    );
}
