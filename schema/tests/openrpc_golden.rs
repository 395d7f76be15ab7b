//! Golden-file test: `schema/openrpc.json` must equal `camera_api::openrpc::document_json()`.
//!
//! After an intended contract change, regenerate the file with
//! `UPDATE_OPENRPC=1 cargo test -p camera-api --test openrpc_golden` and commit it together with the change.

use std::path::PathBuf;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openrpc.json")
}

#[test]
fn openrpc_json_matches_document() {
    let generated = camera_api::openrpc::document_json();
    let path = golden_path();
    if std::env::var_os("UPDATE_OPENRPC").is_some() {
        if let Err(e) = std::fs::write(&path, &generated) {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_diff = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "length differs".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "{} is out of date ({first_diff}); regenerate with \
             `UPDATE_OPENRPC=1 cargo test -p camera-api --test openrpc_golden`",
            path.display()
        );
    }
}

#[test]
fn document_is_deterministic_and_well_formed() {
    let a = camera_api::openrpc::document_json();
    let b = camera_api::openrpc::document_json();
    assert_eq!(a, b);
    assert!(a.ends_with("}\n"));
    let doc: serde_json::Value = serde_json::from_str(&a).unwrap_or_default();
    assert_eq!(doc["openrpc"], "1.3.2");
    assert_eq!(doc["info"]["title"], "Camera Service API");
    assert_eq!(doc["info"]["version"], camera_api::API_VERSION);
    assert_eq!(
        doc["servers"],
        serde_json::json!([{"name": "default", "url": "ws://localhost:8002/ws"}])
    );
}
