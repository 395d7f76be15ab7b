//! Tests of the download module: pure helpers, and the resume logic against a minimal in-process HTTP
//! server with selectable range behaviour.

use super::*;

#[test]
fn kinds_parse_and_guess() {
    assert_eq!("recordings".parse::<FileKind>().ok(), Some(FileKind::Recording));
    assert_eq!("snapshot".parse::<FileKind>().ok(), Some(FileKind::Snapshot));
    assert!("video".parse::<FileKind>().is_err());
    assert_eq!(FileKind::from_filename("camera0_x.mp4"), Some(FileKind::Recording));
    assert_eq!(FileKind::from_filename("a.MKV"), Some(FileKind::Recording));
    assert_eq!(FileKind::from_filename("front.jpeg"), Some(FileKind::Snapshot));
    assert_eq!(FileKind::from_filename("noext"), None);
    assert_eq!(FileKind::Snapshot.dir(), "snapshots");
}

#[test]
fn filename_rule() {
    assert!(is_valid_filename("camera0_2025-01-15_14-30-00.mp4"));
    assert!(is_valid_filename("a"));
    for bad in ["", ".hidden", "a/b.mp4", "a..b", "a b", "ü.jpg", &"a".repeat(256)] {
        assert!(!is_valid_filename(bad), "{bad}");
    }
}

#[test]
fn content_range_forms() {
    assert_eq!(
        parse_content_range("bytes 100-199/200"),
        Some(ContentRange::Range {
            start: 100,
            size: Some(200)
        })
    );
    assert_eq!(
        parse_content_range("bytes 0-9/*"),
        Some(ContentRange::Range { start: 0, size: None })
    );
    assert_eq!(
        parse_content_range("bytes */200"),
        Some(ContentRange::Unsatisfied { size: 200 })
    );
    assert_eq!(parse_content_range("items 0-1/2"), None);
    assert_eq!(parse_content_range("bytes x-1/2"), None);
}

#[test]
fn http_error_bodies() {
    let body = br#"{"error":{"status":404,"reason":"file_not_found","message":"No snapshot named x.jpg"}}"#;
    let e = http_error(StatusCode::NOT_FOUND, body);
    assert_eq!(e.reason(), Some("file_not_found"));
    assert_eq!(e.details(), Some("No snapshot named x.jpg"));
    assert_eq!(e.kind(), crate::ErrorKind::NotFound);
    let plain = http_error(StatusCode::BAD_GATEWAY, b"<html>");
    assert_eq!(plain.reason(), None);
    assert_eq!(plain.details(), Some("Bad Gateway"));
}

/// A minimal HTTP/1.1 file server for one body, with selectable range behaviour.
mod fake {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    #[derive(Clone, Copy, Debug)]
    pub enum Mode {
        /// Honours `Range: bytes=N-`.
        Ranges,
        /// Always answers 200 with the whole body.
        IgnoreRange,
        /// Announces the whole body but closes after this many bytes.
        CutAfter(usize),
    }

    pub const TOKEN: &str = "tok";

    pub async fn serve(body: Vec<u8>, mode: Mode) -> String {
        let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else {
            panic!("bind")
        };
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(handle(conn, body.clone(), mode));
            }
        });
        format!("http://{addr}/files/recordings/a.mp4")
    }

    async fn handle(mut conn: TcpStream, body: Vec<u8>, mode: Mode) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_owned()))
        };
        let len = body.len();
        let reply = |status: &str, extra: String, payload: &[u8]| {
            let mut r = format!(
                "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n{extra}\r\n",
                payload.len()
            )
            .into_bytes();
            r.extend_from_slice(payload);
            r
        };
        let response = if header("authorization").as_deref() != Some(&format!("bearer {TOKEN}")) {
            reply(
                "401 Unauthorized",
                String::new(),
                br#"{"error":{"status":401,"reason":"auth_failed","message":"bad credential"}}"#,
            )
        } else {
            let from = header("range")
                .and_then(|r| r.strip_prefix("bytes=").map(str::to_owned))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            match (mode, from) {
                (Mode::CutAfter(k), _) => {
                    let mut r =
                        format!("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {len}\r\n\r\n").into_bytes();
                    r.extend_from_slice(&body[..k.min(len)]);
                    r
                }
                (Mode::Ranges, Some(n)) if n >= len => reply(
                    "416 Range Not Satisfiable",
                    format!("content-range: bytes */{len}\r\n"),
                    b"",
                ),
                (Mode::Ranges, Some(n)) => reply(
                    "206 Partial Content",
                    format!("content-range: bytes {n}-{}/{len}\r\n", len - 1),
                    &body[n..],
                ),
                _ => reply("200 OK", String::new(), &body),
            }
        };
        let _ = conn.write_all(&response).await;
        let _ = conn.shutdown().await;
    }
}

fn body() -> Vec<u8> {
    (0..100_000u32).map(|i| (i % 251) as u8).collect()
}

async fn fetch(url: &str, token: &str, dest: &Path) -> (Result<DownloadOutcome, SdkError>, Vec<DownloadProgress>) {
    crate::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let Ok(url) = reqwest::Url::parse(url) else {
        panic!("url")
    };
    let f = Fetch {
        http: &http,
        url,
        token: token.to_owned(),
        timeout: Duration::from_secs(5),
    };
    let mut seen = Vec::new();
    let r = f.run(dest, &mut |p| seen.push(p)).await;
    (r, seen)
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

#[tokio::test]
async fn fresh_download_reports_progress() {
    let dir = temp();
    let dest = dir.path().join("a.mp4");
    let url = fake::serve(body(), fake::Mode::Ranges).await;
    let (r, seen) = fetch(&url, fake::TOKEN, &dest).await;
    let Ok(o) = r else { panic!("{r:?}") };
    assert_eq!((o.size, o.transferred, o.resumed_from), (100_000, 100_000, 0));
    assert_eq!(std::fs::read(&dest).ok(), Some(body()));
    assert_eq!(seen.first().map(|p| p.downloaded), Some(0));
    assert_eq!(
        seen.last().map(|p| (p.downloaded, p.total)),
        Some((100_000, Some(100_000)))
    );
}

#[tokio::test]
async fn partial_files_resume_and_complete_files_are_kept() {
    let dir = temp();
    let dest = dir.path().join("a.mp4");
    assert!(std::fs::write(&dest, &body()[..30_000]).is_ok());
    let url = fake::serve(body(), fake::Mode::Ranges).await;
    let (r, _) = fetch(&url, fake::TOKEN, &dest).await;
    let Ok(o) = r else { panic!("{r:?}") };
    assert_eq!((o.size, o.transferred, o.resumed_from), (100_000, 70_000, 30_000));
    assert_eq!(std::fs::read(&dest).ok(), Some(body()));

    let (again, _) = fetch(&url, fake::TOKEN, &dest).await;
    assert!(
        matches!(again, Ok(ref o) if o.transferred == 0 && o.size == 100_000),
        "{again:?}"
    );
}

#[tokio::test]
async fn longer_local_files_and_ignored_ranges_start_over() {
    let dir = temp();
    let dest = dir.path().join("a.mp4");
    assert!(std::fs::write(&dest, vec![7u8; 150_000]).is_ok());
    let url = fake::serve(body(), fake::Mode::Ranges).await;
    let (r, _) = fetch(&url, fake::TOKEN, &dest).await;
    assert!(matches!(r, Ok(ref o) if o.resumed_from == 0), "{r:?}");
    assert_eq!(std::fs::read(&dest).ok(), Some(body()));

    assert!(std::fs::write(&dest, vec![7u8; 10]).is_ok());
    let url = fake::serve(body(), fake::Mode::IgnoreRange).await;
    let (r, _) = fetch(&url, fake::TOKEN, &dest).await;
    assert!(matches!(r, Ok(ref o) if o.transferred == 100_000), "{r:?}");
    assert_eq!(std::fs::read(&dest).ok(), Some(body()));
}

#[tokio::test]
async fn interrupted_downloads_keep_the_prefix_for_the_next_attempt() {
    let dir = temp();
    let dest = dir.path().join("a.mp4");
    let cut = fake::serve(body(), fake::Mode::CutAfter(40_000)).await;
    let (r, _) = fetch(&cut, fake::TOKEN, &dest).await;
    assert!(
        matches!(r, Err(ref e) if e.kind() == crate::ErrorKind::Connection),
        "{r:?}"
    );
    assert_eq!(std::fs::metadata(&dest).map(|m| m.len()).ok(), Some(40_000));

    let url = fake::serve(body(), fake::Mode::Ranges).await;
    let (r, _) = fetch(&url, fake::TOKEN, &dest).await;
    assert!(matches!(r, Ok(ref o) if o.resumed_from == 40_000), "{r:?}");
    assert_eq!(std::fs::read(&dest).ok(), Some(body()));
}

#[tokio::test]
async fn http_errors_carry_the_body_reason() {
    let dir = temp();
    let url = fake::serve(body(), fake::Mode::Ranges).await;
    let (r, _) = fetch(&url, "wrong", &dir.path().join("a.mp4")).await;
    let Err(e) = r else { panic!("accepted a bad token") };
    assert_eq!(e.kind(), crate::ErrorKind::Auth);
    assert_eq!(e.reason(), Some("auth_failed"));
}
