//! Reachability of network (RTSP) cameras: a TCP connect plus an RTSP `OPTIONS` exchange, each bounded by a
//! short time limit. Any RTSP status line (200, 401, ...) means a server is there; for `rtsps://` the TCP connect
//! alone decides (no TLS client here). Passwords in URLs are never logged: use [`redact`].

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `(host, port, tls)` of an `rtsp://` / `rtsps://` URL; `None` when it is not one.
pub fn host_port(url: &str) -> Option<(String, u16, bool)> {
    let lower = url.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let (rest, tls) = if lower.starts_with("rtsps://") {
        (&url[8..], true)
    } else if lower.starts_with("rtsp://") {
        (&url[7..], false)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default_port = if tls { 322 } else { 554 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().ok()?),
            None => (hostport.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((host, port, tls))
}

/// The URL with any userinfo password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let after = &url[scheme_end + 3..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{}{masked}@{host}{}", &url[..scheme_end + 3], &after[authority_end..])
        }
        None => url.to_owned(),
    }
}

/// Free text (e.g. ffmpeg's stderr) with the password of every URL in it replaced by `***`, so text that
/// reaches clients or logs never carries camera credentials.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '\'' | '"' | '<' | '>' | '|') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                out.push_str(userinfo.split_once(':').map_or(userinfo, |(user, _)| user));
                if userinfo.contains(':') {
                    out.push_str(":***");
                }
                out.push('@');
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Checks that an RTSP server answers at `url` within `limit` (connect + OPTIONS). The error is human text.
pub async fn check_reachable(url: &str, limit: Duration) -> Result<(), String> {
    let (host, port, tls) = host_port(url).ok_or_else(|| "not an rtsp:// or rtsps:// URL".to_owned())?;
    let attempt = async {
        let mut stream = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        if tls {
            return Ok(());
        }
        let request = format!("OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camera-service\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot send OPTIONS: {e}"))?;
        let mut buf = [0u8; 64];
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("no RTSP answer: {e}"))?;
        if buf[..n].starts_with(b"RTSP/1.0 ") {
            Ok(())
        } else {
            Err(format!("{host}:{port} is not an RTSP server"))
        }
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer from {host}:{port} within {} ms", limit.as_millis())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn parses_urls() {
        assert_eq!(
            host_port("rtsp://10.0.0.5/stream"),
            Some(("10.0.0.5".into(), 554, false))
        );
        assert_eq!(
            host_port("RTSP://u:p@cam.local:8554/x?y"),
            Some(("cam.local".into(), 8554, false))
        );
        assert_eq!(
            host_port("rtsps://[fe80::1]:9000/a"),
            Some(("fe80::1".into(), 9000, true))
        );
        assert_eq!(host_port("rtsps://[fe80::1]/a"), Some(("fe80::1".into(), 322, true)));
        assert_eq!(host_port("http://x/"), None);
        assert_eq!(host_port("rtsp://:554/"), None);
        assert_eq!(host_port("rtsp://h:notaport/"), None);
    }

    #[test]
    fn redacts_passwords_in_free_text() {
        let line = "[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized; Input from 'rtsp://admin:s3cret@10.0.0.5:554/live' \
                    and rtsps://u:p@cam/x?y=1, plain http://host/path, user-only rtsp://bob@cam/";
        let redacted = redact_text(line);
        assert!(!redacted.contains("s3cret") && !redacted.contains("u:p@"), "{redacted}");
        assert!(redacted.contains("'rtsp://admin:***@10.0.0.5:554/live'"), "{redacted}");
        assert!(redacted.contains("rtsps://u:***@cam/x?y=1"), "{redacted}");
        assert!(
            redacted.contains("http://host/path") && redacted.contains("rtsp://bob@cam/"),
            "{redacted}"
        );
        assert_eq!(redact_text("no urls here"), "no urls here");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("rtsp://admin:secret@cam:554/live"),
            "rtsp://admin:***@cam:554/live"
        );
        assert_eq!(redact("rtsp://cam/live"), "rtsp://cam/live");
        assert_eq!(redact("rtsp://user@cam/live"), "rtsp://user@cam/live");
    }

    #[tokio::test]
    async fn reachability() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n").await;
            }
        });
        let url = format!("rtsp://127.0.0.1:{port}/live");
        check_reachable(&url, Duration::from_secs(2)).await.expect("reachable");

        let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let closed_port = closed.local_addr().expect("addr").port();
        drop(closed);
        let err = check_reachable(&format!("rtsp://127.0.0.1:{closed_port}/"), Duration::from_secs(2)).await;
        assert!(err.is_err());
    }
}
