//! The `ffmpeg` / `ffprobe` runner: the one place that starts external media processes.
//!
//! Owns: spawning over `tokio::process` (never blocking the runtime), time limits, capture of each process's
//! stderr (only a bounded tail is kept, for error details), the `camera_service_ffmpeg_processes{role}` gauge,
//! and graceful shutdown of long-running processes.
//!
//! Invariants:
//! - Every child is spawned with `kill_on_drop(true)`: dropping a [`FfmpegProcess`] or a timed-out
//!   [`Ffmpeg::run`] future kills the process, so nothing outlives its owner.
//! - Process time limits are real time (`tokio::time`): they bound how long an external program may take and
//!   have nothing to do with the service's (possibly simulated) domain clock.
//! - Graceful stop writes `q` to stdin (ffmpeg then finishes its outputs: trailers, last fragment) and waits
//!   up to a grace period; only then is the process sent SIGKILL.
//! - Children run with `TZ=UTC`, so `-strftime` file names are in UTC like every other generated name.
//! - Children get SIGTERM if the service dies without cleaning up (`PR_SET_PDEATHSIG`); ffmpeg ignores EOF on
//!   stdin, so without this a crashed service would leave recorders running.
//! - A process started with [`Ffmpeg::spawn_with_progress`] also has one stdout reader task feeding its
//!   `-progress` report to a [`FrameTracker`]; otherwise stdout is discarded.
//! - Each long-running process has one stderr reader task; it keeps at most [`TAIL_LINES`] lines and forwards
//!   "Opening '<file>' for writing" lines (the segment muxer's verbose log) to a bounded channel.

use crate::cameras::network::redact_text;
use crate::media::progress::{FrameTracker, follow, progress_args};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Lines of stderr kept per process for error details.
pub const TAIL_LINES: usize = 20;
/// Longest stderr line kept (longer lines are cut).
const MAX_LINE: usize = 400;
/// Capacity of the "file opened" channel of a long-running process.
const OPENED_CAPACITY: usize = 64;

/// What a process is for; the label of `camera_service_ffmpeg_processes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Recorder,
    Snapshot,
    Keepalive,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Publisher => "publisher",
            Role::Recorder => "recorder",
            Role::Snapshot => "snapshot",
            Role::Keepalive => "keepalive",
        }
    }
}

/// How a run failed. Callers turn it into a domain error with their own reason tag.
#[derive(Debug)]
pub enum FfmpegError {
    /// The program could not be started (not installed, not executable).
    Spawn { program: PathBuf, source: std::io::Error },
    /// It did not finish within the time limit and was killed.
    Timeout { after: Duration, stderr_tail: String },
    /// It exited unsuccessfully (or was killed by a signal).
    Exited { status: ExitStatus, stderr_tail: String },
    /// Talking to it failed (pipe error).
    Io(std::io::Error),
}

impl FfmpegError {
    /// The stderr tail, when there is one.
    pub fn stderr_tail(&self) -> &str {
        match self {
            FfmpegError::Timeout { stderr_tail, .. } | FfmpegError::Exited { stderr_tail, .. } => stderr_tail,
            _ => "",
        }
    }

    /// Whether the failure looks like the source could not be reached (network error, refused, not found).
    pub fn source_unreachable(&self) -> bool {
        const MARKERS: &[&str] = &[
            "Connection refused",
            "Connection timed out",
            "No route to host",
            "Network is unreachable",
            "Name or service not known",
            "Temporary failure in name resolution",
            "Host is down",
            "timed out",
            "404 Not Found",
            "Server returned 4",
            "Server returned 5",
            "No such file or directory",
        ];
        let tail = self.stderr_tail();
        MARKERS.iter().any(|m| tail.contains(m))
    }

    /// A `crate::Error` (kind Unavailable, dependency `ffmpeg`) with `reason`.
    pub fn into_error(self, reason: &'static str, what: &str) -> crate::Error {
        let details = match &self {
            FfmpegError::Spawn { program, source } => format!("{what}: cannot start {}: {source}", program.display()),
            FfmpegError::Timeout { after, stderr_tail } => {
                format!(
                    "{what}: no result within {} s{}",
                    after.as_secs_f64(),
                    tail_suffix(stderr_tail)
                )
            }
            FfmpegError::Exited { status, stderr_tail } => {
                format!("{what}: ffmpeg failed ({status}){}", tail_suffix(stderr_tail))
            }
            FfmpegError::Io(e) => format!("{what}: {e}"),
        };
        let error = crate::Error::new(crate::ErrorKind::Unavailable, reason, details).with("dependency", "ffmpeg");
        match self {
            FfmpegError::Spawn { .. } => error.suggest("Install ffmpeg (e.g. apt-get install ffmpeg) and check PATH"),
            _ => error,
        }
    }
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    }
}

/// Result of a one-shot run.
#[derive(Debug)]
pub struct RunOutput {
    pub stdout: Vec<u8>,
    pub stderr_tail: String,
}

/// Facts read from a media file by ffprobe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeInfo {
    /// Container duration in seconds, when known.
    pub duration: Option<f64>,
    /// First video stream.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub codec: Option<String>,
    pub fps: Option<f64>,
}

/// Starts ffmpeg and ffprobe.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

impl Default for Ffmpeg {
    fn default() -> Self {
        Ffmpeg::new("ffmpeg", "ffprobe")
    }
}

impl Ffmpeg {
    /// `ffmpeg` and `ffprobe` are program names (looked up in PATH) or paths.
    pub fn new(ffmpeg: impl Into<PathBuf>, ffprobe: impl Into<PathBuf>) -> Self {
        Ffmpeg {
            ffmpeg: ffmpeg.into(),
            ffprobe: ffprobe.into(),
        }
    }

    fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).env("TZ", "UTC").kill_on_drop(true);
        let parent = std::process::id();
        // SAFETY: runs in the child between fork and exec and calls only async-signal-safe functions (prctl,
        // getppid, signal) without allocating. If the service dies without dropping its handles (SIGKILL, abort),
        // the child gets SIGTERM, which ffmpeg handles like `q`: outputs are finalized, nothing is orphaned.
        // The signal follows the spawning *thread*; processes are spawned from runtime worker threads, which
        // live as long as the runtime.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                // If the service dies, ffmpeg finalizes its file on that SIGTERM and logs while doing so; with the
                // stderr reader gone, a default SIGPIPE would kill it mid-finalize and leave an unplayable file.
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                Ok(())
            });
        }
        cmd
    }

    /// Runs ffmpeg to completion (stdin closed, `-nostdin` added) and returns its stdout. Killed after `limit`.
    pub async fn run(&self, role: Role, args: &[String], limit: Duration) -> Result<RunOutput, FfmpegError> {
        let mut full = vec!["-hide_banner".to_owned(), "-nostdin".to_owned(), "-nostats".to_owned()];
        full.extend_from_slice(args);
        let _gauge = ProcessGauge::new(role);
        self.run_program(&self.ffmpeg.clone(), &full, limit).await
    }

    async fn run_program(&self, program: &Path, args: &[String], limit: Duration) -> Result<RunOutput, FfmpegError> {
        let mut cmd = self.command(program, args);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().map_err(|source| FfmpegError::Spawn {
            program: program.to_owned(),
            source,
        })?;
        // On timeout the future (and with it the child, kill_on_drop) is dropped.
        match tokio::time::timeout(limit, child.wait_with_output()).await {
            Err(_) => Err(FfmpegError::Timeout {
                after: limit,
                stderr_tail: String::new(),
            }),
            Ok(Err(e)) => Err(FfmpegError::Io(e)),
            Ok(Ok(out)) => {
                let stderr_tail = tail_of(&String::from_utf8_lossy(&out.stderr));
                if out.status.success() {
                    Ok(RunOutput {
                        stdout: out.stdout,
                        stderr_tail,
                    })
                } else {
                    Err(FfmpegError::Exited {
                        status: out.status,
                        stderr_tail,
                    })
                }
            }
        }
    }

    /// Reads duration and first-video-stream facts of `input` (a file path or URL).
    pub async fn probe(&self, input: &str, extra_args: &[String], limit: Duration) -> Result<ProbeInfo, FfmpegError> {
        let mut args = vec!["-v".to_owned(), "error".to_owned()];
        args.extend_from_slice(extra_args);
        args.extend(
            [
                "-select_streams",
                "v:0",
                "-show_entries",
                "format=duration:stream=width,height,codec_name,avg_frame_rate,r_frame_rate",
                "-of",
                "json",
                input,
            ]
            .map(str::to_owned),
        );
        let out = self.run_program(&self.ffprobe.clone(), &args, limit).await?;
        Ok(parse_probe(&out.stdout))
    }

    /// Starts a long-running ffmpeg (stdin piped for `q`, stdout discarded, stderr tailed). `-loglevel verbose`
    /// is expected in `args` when the caller wants [`FfmpegProcess::take_opened_files`].
    pub fn spawn(&self, role: Role, args: &[String]) -> Result<FfmpegProcess, FfmpegError> {
        self.spawn_inner(role, args, None)
    }

    /// Like [`Ffmpeg::spawn`], and ffmpeg reports its progress on stdout (`-progress pipe:1`), which a reader
    /// task feeds to `frames` until the process exits.
    pub fn spawn_with_progress(
        &self,
        role: Role,
        args: &[String],
        frames: Arc<FrameTracker>,
    ) -> Result<FfmpegProcess, FfmpegError> {
        self.spawn_inner(role, args, Some(frames))
    }

    fn spawn_inner(
        &self,
        role: Role,
        args: &[String],
        frames: Option<Arc<FrameTracker>>,
    ) -> Result<FfmpegProcess, FfmpegError> {
        let mut full = vec!["-hide_banner".to_owned(), "-nostats".to_owned()];
        if frames.is_some() {
            full.extend(progress_args());
        }
        full.extend_from_slice(args);
        let mut cmd = self.command(&self.ffmpeg, &full);
        let stdout = if frames.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        cmd.stdin(Stdio::piped()).stdout(stdout).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|source| FfmpegError::Spawn {
            program: self.ffmpeg.clone(),
            source,
        })?;
        if let (Some(frames), Some(stdout)) = (frames, child.stdout.take()) {
            // Ends by itself at EOF, i.e. when the process exits.
            tokio::spawn(follow(stdout, frames));
        }
        let gauge = ProcessGauge::new(role);
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let (opened_tx, opened_rx) = mpsc::channel(OPENED_CAPACITY);
        let stdin = child.stdin.take();
        if let Some(stderr) = child.stderr.take() {
            let tail = Arc::clone(&tail);
            // Ends by itself at EOF, i.e. when the process exits.
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(path) = opened_for_writing(&line) {
                        if opened_tx.try_send(PathBuf::from(path)).is_err() {
                            tracing::warn!(file = path, "segment notification dropped: receiver is not keeping up");
                        }
                        continue;
                    }
                    if is_noise(&line) {
                        continue;
                    }
                    let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(truncate(&redact_text(&line)));
                }
            });
        }
        Ok(FfmpegProcess {
            child,
            stdin,
            tail,
            opened: Some(opened_rx),
            _gauge: gauge,
        })
    }
}

/// A running ffmpeg. Dropping it kills the process.
pub struct FfmpegProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    tail: Arc<Mutex<VecDeque<String>>>,
    opened: Option<mpsc::Receiver<PathBuf>>,
    _gauge: ProcessGauge,
}

impl FfmpegProcess {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last lines ffmpeg wrote to stderr (verbose chatter filtered out), joined with `" | "`.
    pub fn stderr_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().map(String::as_str).collect::<Vec<_>>().join(" | ")
    }

    /// Takes the channel of files ffmpeg opens for writing, in order (needs `-loglevel verbose`). It closes
    /// when ffmpeg's stderr closes, i.e. when the process exits. `None` when already taken.
    pub fn take_opened_files(&mut self) -> Option<mpsc::Receiver<PathBuf>> {
        self.opened.take()
    }

    /// Waits for the process to exit. Cancel-safe.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Whether the process has exited (without waiting).
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks ffmpeg to finish (`q` on stdin) and waits up to `grace`; then kills it. Returns the exit status and
    /// whether the stop was graceful.
    pub async fn stop(mut self, grace: Duration) -> (Option<ExitStatus>, bool) {
        if let Some(mut stdin) = self.stdin.take() {
            // A write error means ffmpeg already exited; waiting below tells.
            let _ = stdin.write_all(b"q").await;
            let _ = stdin.flush().await;
            drop(stdin);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => (status.ok(), true),
            Err(_) => {
                tracing::warn!(pid = ?self.child.id(), "ffmpeg ignored q within the grace period; killing it");
                let _ = self.child.start_kill();
                (self.child.wait().await.ok(), false)
            }
        }
    }

    /// Kills the process at once and reaps it.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Holds one unit of `camera_service_ffmpeg_processes{role}` while alive.
struct ProcessGauge(Role);

impl ProcessGauge {
    fn new(role: Role) -> Self {
        metrics::gauge!("camera_service_ffmpeg_processes", "role" => role.as_str()).increment(1.0);
        ProcessGauge(role)
    }
}

impl Drop for ProcessGauge {
    fn drop(&mut self) {
        metrics::gauge!("camera_service_ffmpeg_processes", "role" => self.0.as_str()).decrement(1.0);
    }
}

/// `[segment @ 0x..] Opening 'path' for writing` → `path`.
fn opened_for_writing(line: &str) -> Option<&str> {
    let start = line.find("Opening '")? + "Opening '".len();
    let rest = &line[start..];
    let end = rest.rfind("' for writing")?;
    Some(&rest[..end])
}

/// Verbose-level chatter that would push useful error lines out of the tail.
fn is_noise(line: &str) -> bool {
    let l = line.trim_start();
    l.is_empty()
        || l.starts_with("[segment @")
        || l.starts_with("[AVIOContext @")
        || l.starts_with("[libx264 @")
        || l.starts_with("[graph ")
        || l.starts_with("[auto_scale")
        || l.starts_with("[format @")
        || l.starts_with("[Parsed_")
        || l.starts_with("Press [q]")
}

fn truncate(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_owned();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

fn tail_of(stderr: &str) -> String {
    let lines: Vec<String> = stderr
        .lines()
        .filter(|l| !is_noise(l))
        .map(|l| truncate(&redact_text(l)))
        .collect();
    let skip = lines.len().saturating_sub(TAIL_LINES);
    lines[skip..].join(" | ")
}

fn parse_probe(stdout: &[u8]) -> ProbeInfo {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(stdout) else {
        return ProbeInfo::default();
    };
    let duration = v
        .pointer("/format/duration")
        .and_then(|d| d.as_str())
        .and_then(|d| d.parse::<f64>().ok());
    let stream = v.pointer("/streams/0");
    let dim = |key: &str| {
        stream
            .and_then(|s| s.get(key))
            .and_then(|x| x.as_u64())
            .and_then(|x| u32::try_from(x).ok())
    };
    let fps = stream.and_then(|s| {
        let rate = |k: &str| {
            s.get(k)
                .and_then(|r| r.as_str())
                .and_then(parse_rate)
                .filter(|r| *r > 0.0)
        };
        rate("avg_frame_rate").or_else(|| rate("r_frame_rate"))
    });
    ProbeInfo {
        duration: duration.filter(|d| d.is_finite() && *d >= 0.0),
        width: dim("width"),
        height: dim("height"),
        codec: stream
            .and_then(|s| s.get("codec_name"))
            .and_then(|c| c.as_str())
            .map(str::to_owned),
        fps,
    }
}

/// `30000/1001` → 29.97.
fn parse_rate(r: &str) -> Option<f64> {
    let (n, d) = r.split_once('/').unwrap_or((r, "1"));
    let (n, d) = (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?);
    if d == 0.0 { None } else { Some(n / d) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn camera_passwords_never_reach_the_error_text() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("rtsp://admin:s3cret-pw@127.0.0.1:{port}/live");
        let args: Vec<String> = ["-rtsp_transport", "tcp", "-i", url.as_str(), "-f", "null", "-"]
            .map(str::to_owned)
            .into();
        let err = Ffmpeg::default()
            .run(Role::Snapshot, &args, Duration::from_secs(10))
            .await
            .expect_err("nothing listens there");
        let tail = err.stderr_tail();
        assert!(tail.contains("admin:***@127.0.0.1"), "ffmpeg names the input: {tail}");
        assert!(!tail.contains("s3cret-pw"), "{tail}");
        let error = err.into_error("capture_failed", "snapshot of door");
        assert!(!error.to_string().contains("s3cret-pw"), "{error}");
    }

    #[test]
    fn parses_segment_open_lines() {
        let l = "[segment @ 0x55d06426ea00] Opening '/tmp/x/cam_2026-11-22_03-57-25.mp4' for writing";
        assert_eq!(opened_for_writing(l), Some("/tmp/x/cam_2026-11-22_03-57-25.mp4"));
        assert_eq!(opened_for_writing("[in @ 0x1] Opening 'a' for reading"), None);
    }

    #[test]
    fn parses_probe_json() {
        let json = br#"{"programs":[],"streams":[{"codec_name":"h264","width":640,"height":480,
            "r_frame_rate":"15/1","avg_frame_rate":"0/0"}],"format":{"duration":"3.266667"}}"#;
        let p = parse_probe(json);
        assert_eq!(p.width, Some(640));
        assert_eq!(p.height, Some(480));
        assert_eq!(p.codec.as_deref(), Some("h264"));
        assert_eq!(p.fps, Some(15.0));
        assert!((p.duration.unwrap_or_default() - 3.266667).abs() < 1e-6);
        assert_eq!(parse_probe(b"not json"), ProbeInfo::default());
    }

    #[test]
    fn tail_keeps_last_lines() {
        let text: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let tail = tail_of(&text);
        assert!(tail.starts_with("line 30"));
        assert!(tail.ends_with("line 49"));
    }

    #[tokio::test]
    async fn run_reports_missing_binary_and_timeouts() {
        let missing = Ffmpeg::new("/nonexistent/ffmpeg", "/nonexistent/ffprobe");
        let err = missing
            .run(Role::Snapshot, &[], Duration::from_secs(1))
            .await
            .expect_err("missing");
        assert!(matches!(err, FfmpegError::Spawn { .. }));
        let e = err.into_error("ffmpeg_failed", "snapshot");
        assert_eq!(e.reason, "ffmpeg_failed");
        assert_eq!(e.data.get("dependency").and_then(|d| d.as_str()), Some("ffmpeg"));

        let ff = Ffmpeg::default();
        let args: Vec<String> = ["-re", "-f", "lavfi", "-i", "testsrc=rate=5", "-f", "null", "-"]
            .map(String::from)
            .into();
        let err = ff
            .run(Role::Snapshot, &args, Duration::from_millis(300))
            .await
            .expect_err("times out");
        assert!(matches!(err, FfmpegError::Timeout { .. }), "{err:?}");
    }

    /// An ffmpeg that runs until stopped: a real-time test pattern into the null muxer.
    fn endless_test_pattern() -> Vec<String> {
        [
            "-loglevel",
            "warning",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc=rate=5",
            "-f",
            "null",
            "-",
        ]
        .map(String::from)
        .into()
    }

    #[test]
    fn children_die_with_their_spawner() {
        let pid = std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let args = endless_test_pattern();
                let p = Ffmpeg::default().spawn(Role::Keepalive, &args).expect("spawn");
                let pid = p.pid().expect("pid");
                // Simulate a crash: the handle is never dropped, so kill_on_drop cannot act.
                std::mem::forget(p);
                pid
            })
        })
        .join()
        .expect("thread");
        let gone = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Ok(stat) => stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z')),
                Err(_) => true,
            }
        });
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG) };
        assert!(gone, "ffmpeg {pid} outlived the thread that spawned it");
    }

    #[tokio::test]
    async fn graceful_stop_with_q() {
        let ff = Ffmpeg::default();
        let args = endless_test_pattern();
        let mut p = ff.spawn(Role::Recorder, &args).expect("spawn");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(p.try_exited().is_none());
        let (status, graceful) = p.stop(Duration::from_secs(5)).await;
        assert!(graceful);
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
}
