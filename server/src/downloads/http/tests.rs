//! Download endpoint tests: the real catalogue over temporary storage folders, a real `AuthService` on a
//! manual clock, and the request pipeline after routing (`serve`).

use super::*;
use crate::media::test_support::{Harness, harness};
use axum::body::to_bytes;
use camera_api::role::Role;
use std::time::Duration;

struct Fixture {
    h: Harness,
    recorder: Arc<Recorder>,
    files: FileCatalog,
    auth: Arc<AuthService>,
    tokens: DownloadTokens,
    buckets: HttpRateBuckets,
    failures: FailureLimiter,
    key: String,
}

const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn fixture() -> Fixture {
    let h = harness().await;
    let (recorder, files) = h.recorder_and_catalog();
    let auth = AuthService::new(
        &h.config,
        h.store.clone(),
        h.clock.clone(),
        b"0123456789abcdef0123456789abcdef".to_vec(),
    );
    let key = auth
        .create_api_key(Role::Viewer, "", Some(1), "test")
        .await
        .expect("key")
        .api_key;
    let tokens = DownloadTokens::new(h.clock.clone(), Duration::from_secs(300));
    let buckets = HttpRateBuckets::new(&h.config.security);
    let failures = FailureLimiter::new(&h.config.security);
    Fixture {
        h,
        recorder,
        files,
        auth,
        tokens,
        buckets,
        failures,
        key,
    }
}

/// A finished response with its body collected.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn reason(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body).expect("JSON error body");
        assert_eq!(v["error"]["status"], self.status, "{v}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        v["error"]["reason"].as_str().expect("reason").to_owned()
    }
}

impl Fixture {
    fn deps(&self) -> Deps<'_> {
        Deps {
            server: &self.h.config.server,
            clock: self.h.clock.as_ref(),
            rate_buckets: &self.buckets,
            auth_failures: &self.failures,
            auth: &self.auth,
            tokens: &self.tokens,
            files: &self.files,
            recorder: &self.recorder,
        }
    }

    fn write(&self, kind: FileKind, name: &str, bytes: &[u8]) {
        std::fs::write(self.files.dir(kind).join(name), bytes).expect("write");
    }

    async fn request(
        &self,
        method: Method,
        kind: FileKind,
        segment: &str,
        query: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        let response = serve(&self.deps(), PEER, kind, segment, &method, &map, query).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("body").to_vec();
        Reply { status, headers, body }
    }

    /// GET with the API key and extra headers.
    async fn get(&self, kind: FileKind, segment: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("x-api-key", self.key.as_str())];
        all.extend_from_slice(headers);
        self.request(Method::GET, kind, segment, None, &all).await
    }
}

fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn whole_file_and_headers() {
    let f = fixture().await;
    let data = content(1000);
    f.write(FileKind::Snapshot, "a.jpg", &data);
    let r = f.get(FileKind::Snapshot, "a.jpg", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    assert_eq!(r.header("content-length"), Some("1000"));
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("cache-control"), Some("private, no-cache"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("content-disposition"), Some("attachment; filename=\"a.jpg\""));
    let meta = std::fs::metadata(f.files.dir(FileKind::Snapshot).join("a.jpg")).expect("meta");
    let modified = meta.modified().expect("mtime");
    assert_eq!(r.header("etag"), Some(conditional::etag(1000, modified).as_str()));
    assert!(r.header("etag").is_some_and(|e| e.starts_with("\"3e8-")));
    assert_eq!(
        r.header("last-modified"),
        Some(conditional::format_http_date(conditional::unix_seconds(modified)).as_str())
    );

    let inline = f
        .request(
            Method::GET,
            FileKind::Snapshot,
            "a.jpg",
            Some("inline=1"),
            &[("authorization", &format!("Bearer {}", f.key))],
        )
        .await;
    assert_eq!(inline.header("content-disposition"), Some("inline; filename=\"a.jpg\""));

    let head = f
        .request(
            Method::HEAD,
            FileKind::Snapshot,
            "a.jpg",
            None,
            &[("x-api-key", &f.key)],
        )
        .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("1000"));

    for (name, ct) in [("b.png", "image/png"), ("c.JPEG", "image/jpeg")] {
        f.write(FileKind::Snapshot, name, b"x");
        assert_eq!(
            f.get(FileKind::Snapshot, name, &[]).await.header("content-type"),
            Some(ct)
        );
    }
    for (name, ct) in [("r.mp4", "video/mp4"), ("r.mkv", "video/x-matroska")] {
        f.write(FileKind::Recording, name, b"x");
        assert_eq!(
            f.get(FileKind::Recording, name, &[]).await.header("content-type"),
            Some(ct)
        );
    }
}

#[tokio::test]
async fn ranges() {
    let f = fixture().await;
    let data = content(1000);
    f.write(FileKind::Recording, "r.mp4", &data);
    let get = |range: &'static str| {
        let f = &f;
        async move { f.get(FileKind::Recording, "r.mp4", &[("range", range)]).await }
    };

    let r = get("bytes=10-19").await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &data[10..20]);
    assert_eq!(r.header("content-range"), Some("bytes 10-19/1000"));
    assert_eq!(r.header("content-length"), Some("10"));

    let r = get("bytes=990-").await;
    assert_eq!((r.status, r.body.as_slice()), (206, &data[990..]));
    assert_eq!(r.header("content-range"), Some("bytes 990-999/1000"));

    let r = get("bytes=-5").await;
    assert_eq!((r.status, r.body.as_slice()), (206, &data[995..]));
    assert_eq!(r.header("content-range"), Some("bytes 995-999/1000"));

    let r = get("bytes=0-1,5-9").await;
    assert_eq!((r.status, r.body.len()), (200, 1000), "several ranges: whole file");
    assert_eq!(r.header("content-range"), None);

    for unsatisfiable in ["bytes=1000-", "bytes=2000-3000", "bytes=-0"] {
        let r = get(unsatisfiable).await;
        assert_eq!(r.status, 416, "{unsatisfiable}");
        assert_eq!(r.header("content-range"), Some("bytes */1000"));
        assert_eq!(r.reason(), "range_not_satisfiable");
    }

    // HEAD ignores Range (RFC 9110: range handling is defined for GET only).
    let head = f
        .request(
            Method::HEAD,
            FileKind::Recording,
            "r.mp4",
            None,
            &[("x-api-key", &f.key), ("range", "bytes=0-1")],
        )
        .await;
    assert_eq!((head.status, head.header("content-length")), (200, Some("1000")));
}

#[tokio::test]
async fn conditional_requests() {
    let f = fixture().await;
    f.write(FileKind::Snapshot, "a.jpg", &content(100));
    let first = f.get(FileKind::Snapshot, "a.jpg", &[]).await;
    let etag = first.header("etag").expect("etag").to_owned();
    let last_modified = first.header("last-modified").expect("date").to_owned();

    let r = f.get(FileKind::Snapshot, "a.jpg", &[("if-none-match", &etag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let weak = format!("\"other\", W/{etag}");
    assert_eq!(
        f.get(FileKind::Snapshot, "a.jpg", &[("if-none-match", &weak)])
            .await
            .status,
        304
    );
    assert_eq!(
        f.get(FileKind::Snapshot, "a.jpg", &[("if-none-match", "\"nope\"")])
            .await
            .status,
        200
    );

    assert_eq!(
        f.get(FileKind::Snapshot, "a.jpg", &[("if-modified-since", &last_modified)])
            .await
            .status,
        304
    );
    let old = "Thu, 01 Jan 1970 00:00:00 GMT";
    assert_eq!(
        f.get(FileKind::Snapshot, "a.jpg", &[("if-modified-since", old)])
            .await
            .status,
        200
    );
    // If-None-Match wins over If-Modified-Since.
    let r = f
        .get(
            FileKind::Snapshot,
            "a.jpg",
            &[("if-none-match", "\"nope\""), ("if-modified-since", &last_modified)],
        )
        .await;
    assert_eq!(r.status, 200);

    // If-Range: a matching validator keeps the range, a stale one yields the whole file.
    let r = f
        .get(
            FileKind::Snapshot,
            "a.jpg",
            &[("range", "bytes=0-9"), ("if-range", &etag)],
        )
        .await;
    assert_eq!((r.status, r.body.len()), (206, 10));
    let r = f
        .get(
            FileKind::Snapshot,
            "a.jpg",
            &[("range", "bytes=0-9"), ("if-range", &last_modified)],
        )
        .await;
    assert_eq!(r.status, 206);
    let r = f
        .get(
            FileKind::Snapshot,
            "a.jpg",
            &[("range", "bytes=0-9"), ("if-range", "\"stale\"")],
        )
        .await;
    assert_eq!((r.status, r.body.len()), (200, 100));
    let r = f
        .get(
            FileKind::Snapshot,
            "a.jpg",
            &[("range", "bytes=0-9"), ("if-range", old)],
        )
        .await;
    assert_eq!(r.status, 200);

    // A changed file has a new ETag.
    f.write(FileKind::Snapshot, "a.jpg", &content(101));
    assert_eq!(
        f.get(FileKind::Snapshot, "a.jpg", &[("if-none-match", &etag)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn in_progress_recordings_are_not_stored() {
    let f = fixture().await;
    f.write(FileKind::Recording, "live.mp4", &content(64));
    let path = f.files.path_of(FileKind::Recording, "live.mp4").await.expect("path");
    let file = tokio::fs::File::open(&path).await.expect("open");
    let meta = file.metadata().await.expect("meta");
    let open = OpenFile {
        file,
        size: 40,
        modified: meta.modified().expect("mtime"),
    };
    // The size fixed at open time bounds the body even though the file is longer.
    let response = respond(
        open,
        FileKind::Recording,
        "live.mp4",
        true,
        &Method::GET,
        &HeaderMap::new(),
        false,
    )
    .await;
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "40");
    let body = to_bytes(response.into_body(), usize::MAX).await.expect("body");
    assert_eq!(body.as_ref(), &content(64)[..40]);
}

#[tokio::test]
async fn names_resolve_only_inside_the_storage_folder() {
    let f = fixture().await;
    f.write(FileKind::Snapshot, "a.jpg", b"ok");
    let outside =
        f.h.config
            .storage
            .snapshots_path
            .parent()
            .expect("parent")
            .join("secret.jpg");
    std::fs::write(&outside, b"secret").expect("write");
    std::os::unix::fs::symlink(&outside, f.files.dir(FileKind::Snapshot).join("link.jpg")).expect("symlink");
    std::fs::create_dir(f.files.dir(FileKind::Snapshot).join("dir.jpg")).expect("dir");
    f.write(FileKind::Snapshot, "notes.txt", b"x");

    for bad in [
        "..%2Fsecret.jpg",
        "..%2fsecret.jpg",
        "%2E%2E%2Fsecret.jpg",
        "..",
        "%2E%2E",
        "a..b.jpg",
        "%2Fetc%2Fpasswd",
        "sub%2Fa.jpg",
        ".hidden.jpg",
        "a%20b.jpg",
        "a.jpg%00",
        "%ZZ.jpg",
        "%",
        "%C3%28.jpg",
        "",
    ] {
        let r = f.get(FileKind::Snapshot, bad, &[]).await;
        assert_eq!((r.status, r.reason().as_str()), (400, "invalid_filename"), "{bad:?}");
    }
    let long = format!("{}.jpg", "a".repeat(252));
    assert_eq!(f.get(FileKind::Snapshot, &long, &[]).await.status, 400);
    for missing in ["link.jpg", "dir.jpg", "notes.txt", "nope.jpg"] {
        let r = f.get(FileKind::Snapshot, missing, &[]).await;
        assert_eq!((r.status, r.reason().as_str()), (404, "file_not_found"), "{missing}");
    }
    // The right folder per kind.
    let r = f.get(FileKind::Recording, "a.jpg", &[]).await;
    assert_eq!(r.status, 404);
    // Plain percent-encoding of valid characters is fine.
    let r = f.get(FileKind::Snapshot, "%61.jpg", &[]).await;
    assert_eq!((r.status, r.body.as_slice()), (200, b"ok".as_slice()));
}

#[tokio::test]
async fn authentication() {
    let f = fixture().await;
    f.write(FileKind::Snapshot, "a.jpg", b"ok");
    f.write(FileKind::Snapshot, "b.jpg", b"ok");

    let r = f.request(Method::GET, FileKind::Snapshot, "a.jpg", None, &[]).await;
    assert_eq!((r.status, r.reason().as_str()), (401, "auth_required"));
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    let r = f
        .request(
            Method::GET,
            FileKind::Snapshot,
            "a.jpg",
            None,
            &[("authorization", "Bearer nonsense")],
        )
        .await;
    assert_eq!((r.status, r.reason().as_str()), (401, "auth_failed"));

    // API keys are never accepted in the query string.
    let query = format!("token={}", f.key);
    let r = f
        .request(Method::GET, FileKind::Snapshot, "a.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (401, "download_token_invalid"));

    let identity = f.auth.authenticate(&f.key).await.expect("identity");
    let token = f
        .tokens
        .issue(&identity, FileKind::Snapshot, "a.jpg")
        .expect("token")
        .token;
    let query = format!("token={token}");
    for _ in 0..3 {
        let r = f
            .request(
                Method::GET,
                FileKind::Snapshot,
                "a.jpg",
                Some(&query),
                &[("range", "bytes=0-0")],
            )
            .await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            (206, b"o".as_slice()),
            "reusable with ranges"
        );
    }
    let r = f
        .request(Method::GET, FileKind::Snapshot, "b.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (403, "token_scope_mismatch"));
    let r = f
        .request(Method::GET, FileKind::Recording, "a.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (403, "token_scope_mismatch"));
    let r = f
        .request(Method::GET, FileKind::Snapshot, "..%2Fa.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (400, "invalid_filename"));
    // A header credential wins over the query token.
    let r = f
        .request(
            Method::GET,
            FileKind::Snapshot,
            "a.jpg",
            Some(&query),
            &[("x-api-key", "csk_bad")],
        )
        .await;
    assert_eq!((r.status, r.reason().as_str()), (401, "auth_failed"));

    // Expiry on the clock.
    f.h.clock.advance(Duration::from_secs(300));
    let r = f
        .request(Method::GET, FileKind::Snapshot, "a.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (401, "download_token_invalid"));
}

#[tokio::test]
async fn revoking_the_key_voids_its_tokens() {
    let f = fixture().await;
    f.write(FileKind::Snapshot, "a.jpg", b"ok");
    let identity = f.auth.authenticate(&f.key).await.expect("identity");
    let token = f
        .tokens
        .issue(&identity, FileKind::Snapshot, "a.jpg")
        .expect("token")
        .token;
    let query = format!("token={token}");
    assert_eq!(
        f.request(Method::GET, FileKind::Snapshot, "a.jpg", Some(&query), &[])
            .await
            .status,
        200
    );
    let key_id = identity.key_id.clone().expect("key id");
    f.auth.revoke_api_key(&key_id, "admin").await.expect("revoke");
    let r = f
        .request(Method::GET, FileKind::Snapshot, "a.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (401, "credential_revoked"));
    let r = f
        .request(Method::GET, FileKind::Snapshot, "a.jpg", Some(&query), &[])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (401, "download_token_invalid"));
}

#[tokio::test]
async fn failed_tokens_count_towards_the_auth_limiter() {
    let f = fixture().await;
    f.write(FileKind::Snapshot, "a.jpg", b"ok");
    let bogus = format!("token=dlt_{}", "A".repeat(43));
    let limit = f.h.config.security.auth_failures_per_min;
    let mut statuses = Vec::new();
    for _ in 0..=limit + 1 {
        statuses.push(
            f.request(Method::GET, FileKind::Snapshot, "a.jpg", Some(&bogus), &[])
                .await
                .status,
        );
    }
    assert_eq!(statuses[0], 401);
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Once blocked, valid credentials from that address are refused too.
    let r = f
        .request(Method::GET, FileKind::Snapshot, "a.jpg", None, &[("x-api-key", &f.key)])
        .await;
    assert_eq!((r.status, r.reason().as_str()), (429, "auth_rate_limited"));
    assert!(r.header("retry-after").is_some());
}

#[test]
fn query_and_segments() {
    assert_eq!(parse_query(None), Query::default());
    assert_eq!(
        parse_query(Some("inline=1&token=dlt_a&token=dlt_b")),
        Query {
            token: Some("dlt_a"),
            inline: true
        }
    );
    assert!(!parse_query(Some("inline=0&inline=1")).inline);
    assert_eq!(parse_query(Some("x&&=&token")).token, Some(""));
    assert_eq!(decode_segment("a%2Fb").as_deref(), Some("a/b"));
    assert_eq!(decode_segment("%41%42c").as_deref(), Some("ABc"));
    assert_eq!(decode_segment("%4"), None);
    assert_eq!(decode_segment("%FF"), None);
    assert_eq!(decode_segment("%é1"), None);
}
