//! Checks the method table against an independent copy of API.md §3.5 (the permission matrix) and checks
//! that the OpenRPC document covers every method and notification, with resolvable schema references.

use std::collections::BTreeSet;

use camera_api::methods::METHODS;
use camera_api::role::Role;
use serde_json::Value;

/// API.md §3.5, copied by hand: (method, min role, gated, websocket only). `None` = no authentication.
const MATRIX: &[(&str, Option<Role>, bool, bool)] = &[
    ("ping", None, false, false),
    ("authenticate", None, false, false),
    ("rpc.discover", None, false, false),
    ("get_camera_list", Some(Role::Viewer), true, false),
    ("get_camera_status", Some(Role::Viewer), true, false),
    ("get_camera_capabilities", Some(Role::Viewer), true, false),
    ("take_snapshot", Some(Role::Operator), true, false),
    ("start_recording", Some(Role::Operator), true, false),
    ("stop_recording", Some(Role::Operator), true, false),
    ("list_recordings", Some(Role::Viewer), false, false),
    ("list_snapshots", Some(Role::Viewer), false, false),
    ("get_recording_info", Some(Role::Viewer), false, false),
    ("get_snapshot_info", Some(Role::Viewer), false, false),
    ("delete_recording", Some(Role::Operator), false, false),
    ("delete_snapshot", Some(Role::Operator), false, false),
    ("issue_token", Some(Role::Viewer), false, false),
    ("get_download_url", Some(Role::Viewer), false, false),
    ("create_api_key", Some(Role::Admin), false, false),
    ("list_api_keys", Some(Role::Admin), false, false),
    ("revoke_api_key", Some(Role::Admin), false, false),
    ("rotate_api_key", Some(Role::Admin), false, false),
    ("get_stream_url", Some(Role::Viewer), true, false),
    ("get_stream_status", Some(Role::Viewer), true, false),
    ("get_streams", Some(Role::Viewer), true, false),
    ("start_streaming", Some(Role::Operator), true, false),
    ("stop_streaming", Some(Role::Operator), true, false),
    ("get_storage_info", Some(Role::Admin), false, false),
    ("set_retention_policy", Some(Role::Admin), false, false),
    ("cleanup_old_files", Some(Role::Admin), false, false),
    ("get_status", Some(Role::Admin), false, false),
    ("get_system_status", Some(Role::Viewer), false, false),
    ("get_server_info", Some(Role::Viewer), false, false),
    ("get_metrics", Some(Role::Admin), false, false),
    ("subscribe_events", Some(Role::Viewer), false, true),
    ("unsubscribe_events", Some(Role::Viewer), false, true),
    ("get_subscription_stats", Some(Role::Viewer), false, true),
    ("discover_external_streams", Some(Role::Operator), true, false),
    ("add_external_stream", Some(Role::Operator), true, false),
    ("remove_external_stream", Some(Role::Operator), true, false),
    ("get_external_streams", Some(Role::Viewer), false, false),
    ("set_discovery_interval", Some(Role::Admin), false, false),
];

#[test]
fn method_names_are_unique() {
    let names: BTreeSet<&str> = METHODS.iter().map(|m| m.name).collect();
    assert_eq!(names.len(), METHODS.len());
}

#[test]
fn methods_match_the_permission_matrix() {
    let table: BTreeSet<&str> = METHODS.iter().map(|m| m.name).collect();
    let matrix: BTreeSet<&str> = MATRIX.iter().map(|r| r.0).collect();
    assert_eq!(matrix.len(), MATRIX.len(), "duplicate row in MATRIX");
    assert_eq!(table, matrix);
    for &(name, role, gated, ws) in MATRIX {
        let Some(m) = camera_api::methods::method(name) else {
            panic!("{name} missing from METHODS");
        };
        assert_eq!(m.min_role, role, "{name}: min role");
        assert_eq!(m.gated, gated, "{name}: gated");
        assert_eq!(m.websocket_only, ws, "{name}: websocket only");
        assert_eq!(
            m.ignores_unknown_params,
            matches!(name, "ping" | "rpc.discover"),
            "{name}: ignores unknown params"
        );
    }
}

#[test]
fn document_lists_every_method_and_notification() {
    let doc = camera_api::openrpc::document();
    let methods = doc["methods"].as_array().cloned().unwrap_or_default();
    let calls: Vec<&Value> = methods.iter().filter(|m| m.get("x-notification").is_none()).collect();
    let names: Vec<&str> = calls.iter().filter_map(|m| m["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "methods are sorted by name");
    let expected: BTreeSet<&str> = METHODS.iter().map(|m| m.name).collect();
    assert_eq!(names.iter().copied().collect::<BTreeSet<_>>(), expected);
    assert_eq!(names.len(), expected.len());

    for m in &calls {
        let name = m["name"].as_str().unwrap_or_default();
        let Some(spec) = camera_api::methods::method(name) else {
            panic!("{name} not in METHODS");
        };
        assert!(m["result"]["schema"].is_object(), "{name}: result schema");
        assert_eq!(
            m["x-min-role"],
            spec.min_role.map_or(Value::Null, |r| r.as_str().into())
        );
        assert_eq!(m["x-gated"], spec.gated);
        assert_eq!(m["x-websocket-only"], spec.websocket_only);
        let params: Vec<&str> = m["params"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        let spec_params: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
        assert_eq!(params, spec_params, "{name}: params");
        for (code, reason) in spec.errors {
            let listed = m["errors"].as_array().is_some_and(|errs| {
                errs.iter().any(|e| {
                    e["code"] == code.code()
                        && e["message"] == code.message()
                        && e["data"]["properties"]["reason"]["enum"]
                            .as_array()
                            .is_some_and(|r| r.iter().any(|x| x == reason))
                })
            });
            assert!(listed, "{name}: error {reason} missing");
        }
    }

    let notes: BTreeSet<&str> = methods
        .iter()
        .filter(|m| m["x-notification"] == true)
        .inspect(|m| assert!(m.get("result").is_none()))
        .filter_map(|m| m["name"].as_str())
        .collect();
    let expected: BTreeSet<&str> = camera_api::topics::TOPICS
        .iter()
        .chain(camera_api::topics::LEGACY_TOPICS)
        .copied()
        .collect();
    assert_eq!(notes, expected);
}

#[test]
fn every_reference_resolves() {
    fn walk<'a>(v: &'a Value, refs: &mut Vec<&'a str>) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    refs.push(r);
                }
                o.values().for_each(|x| walk(x, refs));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, refs)),
            _ => {}
        }
    }
    let doc = camera_api::openrpc::document();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let Some(pointer) = r.strip_prefix('#') else {
            panic!("external reference {r}");
        };
        assert!(doc.pointer(pointer).is_some(), "unresolved {r}");
    }
}

#[test]
fn error_codes_are_published() {
    let doc = camera_api::openrpc::document();
    let codes = doc["x-error-codes"].as_array().cloned().unwrap_or_default();
    assert_eq!(codes.len(), camera_api::error::ErrorCode::ALL.len());
    for c in camera_api::error::ErrorCode::ALL {
        assert!(
            codes
                .iter()
                .any(|e| e["code"] == c.code() && e["message"] == c.message())
        );
    }
}
