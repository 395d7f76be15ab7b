//! Golden-file test: `docs/api-reference.md` must equal `markdown_reference(&openrpc::document())`.
//!
//! After a contract change, regenerate the file with
//! `UPDATE_DOCS=1 cargo test -p camera-api --test reference_golden` and commit it together with the change.

use camera_api::openrpc;
use camera_api::reference::{REGENERATE_COMMAND, anchor, markdown_reference};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/api-reference.md")
}

#[test]
fn api_reference_matches_document() {
    let generated = markdown_reference(&openrpc::document());
    let path = golden_path();
    if std::env::var_os("UPDATE_DOCS").is_some() {
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
            "{} is out of date ({first_diff}); regenerate with `{REGENERATE_COMMAND}`",
            path.display()
        );
    }
}

#[test]
fn reference_is_deterministic() {
    let a = markdown_reference(&openrpc::document());
    assert_eq!(a, markdown_reference(&openrpc::document()));
    assert!(a.ends_with('\n') && !a.ends_with("\n\n\n"));
}

#[test]
fn every_method_notification_and_code_is_documented() {
    let doc = openrpc::document();
    let md = markdown_reference(&doc);
    for m in doc["methods"].as_array().expect("methods") {
        let name = m["name"].as_str().expect("name");
        assert!(md.contains(&format!("\n### `{name}`\n")), "no section for {name}");
    }
    for e in doc["x-error-codes"].as_array().expect("codes") {
        let code = e["code"].to_string();
        assert!(md.contains(&format!("\n| {code} | ")), "no row for {code}");
        for reason in e["reasons"].as_array().expect("reasons") {
            let reason = reason.as_str().expect("reason");
            assert!(md.contains(&format!("`{reason}`")), "reason {reason} missing");
        }
    }
    let gated = doc["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .find(|m| m["name"] == "take_snapshot")
        .expect("take_snapshot");
    assert_eq!(gated["x-min-role"], "operator");
    assert!(md.contains("Min role: **operator** · Readiness gate: **yes** · WebSocket only: **no**"));
    assert!(
        md.contains("| `quality` | integer | no | 1..100 |"),
        "param bounds rendered"
    );
    assert!(
        md.contains("| `filters.device` | string | no |"),
        "nested params rendered"
    );
}

#[test]
fn every_link_has_a_target() {
    let md = markdown_reference(&openrpc::document());
    let mut anchors = BTreeSet::new();
    for line in md.lines() {
        if let Some(heading) = line.trim_start_matches('#').strip_prefix(' ')
            && line.starts_with('#')
        {
            assert!(
                anchors.insert(anchor(heading)),
                "duplicate heading anchor for {heading:?}"
            );
        }
    }
    let mut rest = md.as_str();
    while let Some(i) = rest.find("](#") {
        let after = &rest[i + 3..];
        let end = after.find(')').expect("link closes");
        let target = &after[..end];
        assert!(anchors.contains(target), "link to missing anchor #{target}");
        rest = &after[end..];
    }
}
