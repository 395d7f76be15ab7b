//! Managed mode (`mediamtx.managed.binary`): the service writes a MediaMTX configuration, runs the binary,
//! restarts it with exponential backoff when it exits, and stops it on shutdown.
//!
//! Invariants:
//! - The configuration file is rewritten at every start from `mediamtx.*`; it sets only the listeners (API,
//!   RTSP, HLS, WebRTC) and, when API credentials are configured, an internal user holding them. Paths are
//!   never written there: the reconciler owns them through the API, so a restart shows the same behaviour as
//!   an external MediaMTX.
//! - At most one MediaMTX child at a time. It is spawned with `kill_on_drop` and `PR_SET_PDEATHSIG`, so it
//!   never outlives the service; on shutdown it gets SIGTERM and [`STOP_GRACE`] before SIGKILL.
//! - Backoff waits on the injected clock: [`BACKOFF_FIRST`] doubling to [`BACKOFF_MAX`], back to the first
//!   delay after a run of [`STABLE_AFTER`]. Its output goes to the log, one line at a time (bounded lines).

use crate::clock::Clock;
use crate::config::Config;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
pub const STABLE_AFTER: Duration = Duration::from_secs(60);
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// Longest output line forwarded to the log.
const MAX_LINE: usize = 1000;

/// Name of the generated configuration file inside `data_dir`.
pub const CONFIG_FILE: &str = "mediamtx.yml";

/// The MediaMTX configuration for `config`, as YAML.
pub fn render_config(config: &Config) -> String {
    let m = &config.mediamtx;
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut out = String::from(
        "# Written by camera-service (managed mode) at every start; edits here are lost.\n\
         # Paths are configured by camera-service through the Control API.\n",
    );
    out.push_str("logLevel: info\n");
    out.push_str("api: yes\n");
    out.push_str(&format!("apiAddress: {}\n", q(&api_address(&m.api_url))));
    out.push_str(&format!("rtspAddress: {}\n", q(&format!(":{}", m.rtsp_port))));
    out.push_str(&format!("hlsAddress: {}\n", q(&format!(":{}", m.hls_port))));
    out.push_str(&format!("webrtcAddress: {}\n", q(&format!(":{}", m.webrtc_port))));
    if let (Some(user), Some(pass)) = (&m.api_user, &m.api_password) {
        out.push_str("authMethod: internal\nauthInternalUsers:\n");
        out.push_str(
            "  - user: any\n    pass: \"\"\n    ips: []\n    permissions:\n      - action: publish\n        path: \"\"\n      - action: read\n        path: \"\"\n      - action: playback\n        path: \"\"\n",
        );
        out.push_str(&format!(
            "  - user: {}\n    pass: {}\n    ips: []\n    permissions:\n      - action: api\n",
            q(user),
            q(pass)
        ));
    }
    out.push_str("paths: {}\n");
    out
}

/// `host:port` of the API URL (`http://127.0.0.1:9997/` → `127.0.0.1:9997`).
pub fn api_address(api_url: &str) -> String {
    let (scheme, rest) = api_url.split_once("://").unwrap_or(("http", api_url));
    let authority = rest.split('/').next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let has_port = match hostport.rfind(']') {
        Some(end) => hostport[end..].contains(':'),
        None => hostport.contains(':'),
    };
    if has_port {
        hostport.to_owned()
    } else {
        let port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
        format!("{hostport}:{port}")
    }
}

/// Writes the configuration into `data_dir` (blocking; call from `spawn_blocking`) and returns its path.
pub fn write_config(config: &Config) -> std::io::Result<PathBuf> {
    let path = config.data_dir.join(CONFIG_FILE);
    std::fs::create_dir_all(&config.data_dir)?;
    let tmp = config.data_dir.join(format!(".{CONFIG_FILE}.tmp"));
    std::fs::write(&tmp, render_config(config))?;
    {
        use std::os::unix::fs::PermissionsExt;
        // May hold the API password.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Runs `binary config_path` until `shutdown` turns true, restarting it with backoff when it exits.
pub async fn supervise(
    binary: PathBuf,
    config_path: PathBuf,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = BACKOFF_FIRST;
    loop {
        let stopping = *shutdown.borrow();
        if stopping {
            return;
        }
        let began = clock.elapsed();
        match spawn(&binary, &config_path) {
            Ok(mut child) => {
                let pid = child.id();
                tracing::info!(pid, binary = %binary.display(), "managed MediaMTX started");
                tokio::select! {
                    status = child.wait() => {
                        let ran = clock.elapsed().saturating_sub(began);
                        if ran >= STABLE_AFTER {
                            backoff = BACKOFF_FIRST;
                        }
                        tracing::warn!(
                            pid,
                            status = ?status.ok(),
                            ran_seconds = ran.as_secs(),
                            retry_in_seconds = backoff.as_secs(),
                            "managed MediaMTX exited; restarting"
                        );
                    }
                    () = super::stopped(&mut shutdown) => {
                        stop(child).await;
                        return;
                    }
                }
            }
            Err(e) => tracing::error!(
                binary = %binary.display(),
                error = %e,
                retry_in_seconds = backoff.as_secs(),
                "cannot start the managed MediaMTX"
            ),
        }
        tokio::select! {
            () = clock.sleep(backoff) => {}
            () = super::stopped(&mut shutdown) => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

fn spawn(binary: &Path, config_path: &Path) -> std::io::Result<Child> {
    let mut cmd = Command::new(binary);
    // MediaMTX names recording segments in local time; the API names files by their UTC start.
    cmd.arg(config_path)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let parent = std::process::id();
    // SAFETY: runs in the child between fork and exec and calls only async-signal-safe functions (prctl,
    // getppid) without allocating. If the service dies without cleaning up, MediaMTX gets SIGTERM.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err));
    }
    Ok(child)
}

/// Forwards a child's output to the log; ends at EOF (when the process exits).
async fn forward(stream: impl tokio::io::AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(mut line)) = lines.next_line().await {
        if line.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
        }
        tracing::info!(target: "mediamtx", "{line}");
    }
}

/// SIGTERM, [`STOP_GRACE`] of real time, then SIGKILL.
async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on our own, not yet reaped child.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(status) => tracing::info!(status = ?status.ok(), "managed MediaMTX stopped"),
        Err(_) => {
            tracing::warn!("managed MediaMTX ignored SIGTERM; killing it");
            let _ = child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[test]
    fn config_sets_listeners_and_credentials() {
        let mut config = Config::default();
        config.mediamtx.api_url = "http://127.0.0.1:19997/".into();
        config.mediamtx.rtsp_port = 18554;
        let yaml = render_config(&config);
        assert!(yaml.contains("apiAddress: \"127.0.0.1:19997\"\n"), "{yaml}");
        assert!(yaml.contains("rtspAddress: \":18554\"\n"), "{yaml}");
        assert!(yaml.contains("hlsAddress: \":8888\"\n"), "{yaml}");
        assert!(!yaml.contains("authInternalUsers"), "{yaml}");
        config.mediamtx.api_user = Some("svc".into());
        config.mediamtx.api_password = Some("p\"w".into());
        let yaml = render_config(&config);
        assert!(yaml.contains("  - user: \"svc\"\n    pass: \"p\\\"w\"\n"), "{yaml}");
        assert!(yaml.contains("      - action: api\n"), "{yaml}");
        assert_eq!(api_address("https://mtx.local/x"), "mtx.local:443");
        assert_eq!(api_address("http://u:p@[::1]:9997"), "[::1]:9997");
    }

    #[tokio::test]
    async fn restarts_with_backoff_and_stops_on_shutdown() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("runs");
        let script = dir.path().join("fake-mediamtx");
        // Each run appends its config argument and its pid; the second and later runs stay up.
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$1 $$\" >> '{log}'\nif [ $(wc -l < '{log}') -lt 2 ]; then exit 3; fi\nexec sleep 60\n",
                log = log.display()
            ),
        )
        .expect("script");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(supervise(
            script.clone(),
            dir.path().join("mediamtx.yml"),
            SystemClock::new(),
            shutdown,
        ));
        let runs = || std::fs::read_to_string(&log).unwrap_or_default();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while runs().lines().count() < 2 {
            assert!(std::time::Instant::now() < deadline, "not restarted: {}", runs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = runs();
        let second = text.lines().nth(1).expect("second run");
        assert!(second.ends_with(|c: char| c.is_ascii_digit()), "{second}");
        assert!(second.contains("mediamtx.yml"), "{second}");
        let pid: i32 = second.rsplit(' ').next().and_then(|p| p.parse().ok()).expect("pid");
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops")
            .expect("join");
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!alive, "MediaMTX {pid} still runs after shutdown");
    }
}
