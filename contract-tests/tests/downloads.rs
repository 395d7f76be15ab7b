//! `get_download_url` (API.md §4.1) and the file endpoints it points at (§6.2): validation and not-found errors,
//! download token format and scope, and the HTTP semantics of a download (auth, Range, headers, error bodies).
//! The full flow needs a real snapshot of the virtual camera (ffmpeg test pattern).

use contract_tests::{Auth, TestServer, assert_error, is_rfc3339_ms};
use serde_json::{Value, json};

fn is_download_token(s: &str) -> bool {
    s.len() == 47
        && s.starts_with("dlt_")
        && s[4..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

#[tokio::test]
async fn get_download_url_validation_and_not_found() {
    let server = TestServer::start(json!({})).await;
    let mut ws = server.ws_as(&server.jwt("dl", "viewer", 600)).await;
    let data = ws
        .error(
            "get_download_url",
            json!({"kind": "recording", "filename": "nope.mp4"}),
            -32010,
            "recording_not_found",
        )
        .await;
    assert_eq!(data["resource"], "recording", "{data}");
    assert_eq!(data["id"], "nope.mp4", "{data}");
    ws.error(
        "get_download_url",
        json!({"kind": "snapshot", "filename": "nope.jpg"}),
        -32010,
        "snapshot_not_found",
    )
    .await;
    let data = ws
        .error(
            "get_download_url",
            json!({"kind": "video", "filename": "a.mp4"}),
            -32602,
            "invalid_value",
        )
        .await;
    assert!(data["allowed"].is_array(), "enum errors list allowed values: {data}");
    for bad in ["../etc/passwd", "a b.jpg", ".hidden", "x/y.jpg", "a..b.jpg"] {
        let data = ws
            .error(
                "get_download_url",
                json!({"kind": "snapshot", "filename": bad}),
                -32602,
                "invalid_filename",
            )
            .await;
        assert_eq!(data["param"], "filename", "{bad}: {data}");
    }
    let long = format!("{}.jpg", "a".repeat(252));
    ws.error(
        "get_download_url",
        json!({"kind": "snapshot", "filename": long}),
        -32602,
        "invalid_filename",
    )
    .await;
    let data = ws
        .error("get_download_url", json!({"kind": "snapshot"}), -32602, "missing_param")
        .await;
    assert_eq!(data["param"], "filename");
}

#[tokio::test]
async fn file_endpoint_errors_without_a_file() {
    let server = TestServer::start(json!({})).await;
    let http = server.http();
    let reply = http.get("/files/snapshots/nope.jpg").await;
    reply.assert_error_body(401, "auth_required");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "{:?}",
        reply.headers
    );
    let key = server.admin_key().await;
    let with_key = |path: &str| {
        http.client()
            .get(format!("{}{path}", http.base()))
            .header("X-API-Key", key.as_str())
    };
    http.send(with_key("/files/snapshots/nope.jpg"))
        .await
        .assert_error_body(404, "file_not_found");
    http.send(with_key("/files/recordings/nope.mp4"))
        .await
        .assert_error_body(404, "file_not_found");
    http.send(with_key("/files/snapshots/..%2Fconfig.yaml"))
        .await
        .assert_error_body(400, "invalid_filename");
    let reply = http
        .get(&format!("/files/snapshots/nope.jpg?token=dlt_{}", "A".repeat(43)))
        .await;
    reply.assert_error_body(401, "download_token_invalid");
    // API keys are never accepted in the query string.
    let reply = http.get(&format!("/files/snapshots/nope.jpg?token={key}")).await;
    assert_eq!(reply.status, 401, "{:?}", reply.body);
    let reply = http
        .send(
            http.client()
                .post(format!("{}/files/snapshots/nope.jpg", http.base()))
                .header("X-API-Key", key.as_str()),
        )
        .await;
    reply.assert_error_body(405, "method_not_allowed");
}

#[tokio::test]
async fn snapshot_download_flow() {
    let server = TestServer::start(json!({})).await;
    let mut op = server.ws_as(&server.jwt("shooter", "operator", 600)).await;
    let shot = op.result("take_snapshot", json!({"device": "camera0"})).await;
    let filename = shot["filename"].as_str().unwrap_or_else(|| panic!("{shot}")).to_owned();
    assert_eq!(shot["status"], "SUCCESS", "{shot}");
    let other = op
        .result("take_snapshot", json!({"device": "camera0", "filename": "second.jpg"}))
        .await;
    assert_eq!(other["filename"], "second.jpg", "{other}");

    let mut viewer = server.ws_as(&server.jwt("viewer", "viewer", 600)).await;
    let d = viewer
        .result("get_download_url", json!({"kind": "snapshot", "filename": filename}))
        .await;
    assert_eq!(d["kind"], "snapshot");
    assert_eq!(d["filename"], filename.as_str());
    let token = d["token"].as_str().unwrap_or_else(|| panic!("{d}")).to_owned();
    assert!(is_download_token(&token), "dlt_ + 43 base64url: {d}");
    let path = format!("/files/snapshots/{filename}?token={token}");
    assert_eq!(d["path"], path.as_str(), "{d}");
    assert_eq!(
        d["url"],
        format!("{}{path}", server.base_url()),
        "url is absolute from the request Host: {d}"
    );
    assert_eq!(d["expires_in"], 300, "{d}");
    assert!(d["expires_at"].as_str().is_some_and(is_rfc3339_ms), "{d}");

    let http = server.http();
    let full = http.get(&path).await;
    assert_eq!(full.status, 200, "{:?}", full.headers);
    assert_eq!(full.header("content-type"), Some("image/jpeg"));
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert!(
        full.header("etag").is_some_and(|e| e.starts_with('"')),
        "strong ETag: {:?}",
        full.headers
    );
    assert!(full.header("last-modified").is_some());
    assert_eq!(full.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(full.header("cache-control"), Some("private, no-cache"));
    assert_eq!(
        full.header("content-disposition"),
        Some(format!("attachment; filename=\"{filename}\"").as_str())
    );
    let size = full
        .header("content-length")
        .and_then(|l| l.parse::<u64>().ok())
        .expect("Content-Length");
    assert!(size > 0);

    // The token is reusable (seeking), and Range works.
    let ranged = http
        .send(
            http.client()
                .get(format!("{}{path}", http.base()))
                .header("Range", "bytes=0-9"),
        )
        .await;
    assert_eq!(ranged.status, 206, "{:?}", ranged.headers);
    assert_eq!(
        ranged.header("content-range"),
        Some(format!("bytes 0-9/{size}").as_str())
    );
    let bad = http
        .send(
            http.client()
                .get(format!("{}{path}", http.base()))
                .header("Range", format!("bytes={}-", size + 10)),
        )
        .await;
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("content-range"), Some(format!("bytes */{size}").as_str()));
    let head = http.send(http.client().head(format!("{}{path}", http.base()))).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let etag = full.header("etag").unwrap().to_owned();
    let cached = http
        .send(
            http.client()
                .get(format!("{}{path}", http.base()))
                .header("If-None-Match", etag),
        )
        .await;
    assert_eq!(cached.status, 304);

    // Scope: the token is bound to one file.
    let reply = http.get(&format!("/files/snapshots/second.jpg?token={token}")).await;
    reply.assert_error_body(403, "token_scope_mismatch");
    let reply = http.get(&format!("/files/recordings/{filename}?token={token}")).await;
    assert!(
        matches!(reply.status, 403 | 404),
        "token for a snapshot used on recordings: {}",
        reply.status
    );

    // Header credentials work too; the listing shows the files.
    let key = server.admin_key().await;
    let by_key = http
        .send(
            http.client()
                .get(format!("{}/files/snapshots/{filename}", http.base()))
                .header("Authorization", format!("Bearer {key}")),
        )
        .await;
    assert_eq!(by_key.status, 200);
    let list = http.call("list_snapshots", Value::Null, Auth::Bearer(&key)).await;
    let files = list["result"]["files"].as_array().unwrap_or_else(|| panic!("{list}"));
    assert!(files.iter().any(|f| f["filename"] == filename.as_str()), "{list}");
    let resp = http
        .call(
            "get_download_url",
            json!({"kind": "recording", "filename": filename}),
            Auth::Bearer(&key),
        )
        .await;
    assert_error(&resp, -32010, "recording_not_found");
}
