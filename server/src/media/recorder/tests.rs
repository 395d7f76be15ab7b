//! Recorder tests with real ffmpeg on lavfi sources, a manual clock and a temporary state store.

use super::*;
use crate::media::test_support::{Harness, eventually, harness, harness_with, probe};
use serde_json::json;
use std::time::Instant;

fn recorder(h: &Harness) -> Arc<Recorder> {
    Recorder::new(
        &h.config,
        Arc::clone(&h.cameras),
        Ffmpeg::default(),
        Arc::clone(&h.events),
        h.clock.clone(),
        h.store.clone(),
    )
}

fn start(device: &str, duration: Option<u64>, format: Option<&str>) -> StartRequest {
    StartRequest {
        device: device.into(),
        duration,
        format: format.map(str::to_owned),
    }
}

fn path(h: &Harness, file: &str) -> String {
    h.config.storage.recordings_path.join(file).display().to_string()
}

async fn active_rows(h: &Harness) -> Vec<Recording> {
    h.store.call(load_active).await.expect("rows")
}

#[tokio::test]
async fn timed_recording_stops_at_the_deadline_of_the_injected_clock() {
    let h = harness().await;
    let r = recorder(&h);
    let began = Instant::now();
    let started = r.start(start("camera0", Some(3), None)).await.expect("start");
    assert_eq!(started.status, "RECORDING");
    assert_eq!(started.start_time, "2025-01-15T14:30:00.123Z");
    assert_eq!(started.auto_stop_at.as_deref(), Some("2025-01-15T14:30:03.123Z"));
    assert_eq!(started.duration, Some(3));
    assert_eq!(started.format, RecordingFormat::Fmp4);
    assert!(
        started.filename.starts_with("camera0_") && started.filename.ends_with(".mp4"),
        "{}",
        started.filename
    );
    assert!(crate::media::parse_generated_name(&started.filename).is_some());
    assert_eq!(started.download_url, format!("/files/recordings/{}", started.filename));
    assert_eq!(
        r.status("camera0").auto_stop_at.as_deref(),
        Some("2025-01-15T14:30:03.123Z")
    );
    let rows = active_rows(&h).await;
    assert_eq!(rows.len(), 1, "the deadline is persisted");
    assert_eq!(
        rows[0].auto_stop_at,
        Some(time::macros::datetime!(2025-01-15 14:30:03.123 UTC))
    );

    // ffmpeg runs in real time; the deadline is on the manual clock.
    tokio::time::sleep(Duration::from_secs(3)).await;
    h.clock.advance(Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(r.status("camera0").active, "not yet due");
    h.clock.advance(Duration::from_secs(1));
    assert!(
        eventually(Duration::from_secs(15), || !r.status("camera0").active).await,
        "stopped at the deadline"
    );
    let real = began.elapsed().as_secs_f64();

    let stops = h.payloads("recording.stop");
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0]["reason"], "duration_elapsed");
    assert_eq!(stops[0]["duration"], 3);
    assert_eq!(stops[0]["end_time"], "2025-01-15T14:30:03.123Z");
    assert_eq!(stops[0]["files"], json!([started.filename]));
    let updates = h.payloads("recording_status_update");
    assert_eq!(
        updates
            .iter()
            .map(|u| u["status"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["RECORDING", "STOPPED"]
    );
    assert_eq!(updates[1]["reason"], "duration_elapsed");
    assert!(active_rows(&h).await.is_empty());

    let info = probe(&path(&h, &started.filename)).await;
    let seconds = info.duration.expect("duration");
    assert!(
        (seconds - real).abs() < 1.5,
        "file has {seconds} s, recording ran {real} s"
    );
    assert_eq!(info.codec.as_deref(), Some("h264"));
}

#[tokio::test]
async fn stop_finalizes_a_playable_file_and_states_are_checked() {
    let h = harness().await;
    let r = recorder(&h);
    let started = r.start(start("camera0", None, None)).await.expect("start");
    assert_eq!(started.auto_stop_at, None);
    let again = r
        .start(start("camera0", None, Some("mkv")))
        .await
        .expect_err("second start");
    assert_eq!(
        (again.kind, again.reason),
        (ErrorKind::InvalidState, "already_recording")
    );
    assert!(
        again.details.contains("since 2025-01-15T14:30:00.123Z"),
        "{}",
        again.details
    );
    assert_eq!(r.files_in_progress(), std::slice::from_ref(&started.filename));

    tokio::time::sleep(Duration::from_secs(2)).await;
    h.clock.advance(Duration::from_millis(2400));
    let stopped = r.stop("camera0").await.expect("stop");
    assert_eq!(stopped.status, "STOPPED");
    assert_eq!(stopped.filename, started.filename);
    assert_eq!(stopped.files, std::slice::from_ref(&started.filename));
    assert_eq!(stopped.duration, 2, "2.4 s rounds to 2");
    assert_eq!(stopped.end_time, "2025-01-15T14:30:02.523Z");
    let size = std::fs::metadata(path(&h, &started.filename)).expect("file").len();
    assert_eq!(stopped.file_size, size);
    assert!(size > 0);
    let info = probe(&path(&h, &started.filename)).await;
    assert!(info.duration.is_some_and(|d| d > 1.0), "{info:?}");
    assert_eq!((info.width, info.height), (Some(640), Some(480)));

    assert_eq!(
        r.stop("camera0").await.expect_err("nothing to stop").reason,
        "not_recording"
    );
    assert_eq!(r.stop("camera7").await.expect_err("unknown").reason, "camera_not_found");
    assert_eq!(
        r.start(start("camera7", None, None)).await.expect_err("unknown").reason,
        "camera_not_found"
    );
    assert_eq!(
        r.start(start("camera0", None, Some("avi")))
            .await
            .expect_err("format")
            .reason,
        "format_unsupported"
    );
    assert!(!r.status("camera0").active);
    assert!(r.files_in_progress().is_empty());
    assert_eq!(h.payloads("recording.stop")[0]["reason"], "requested");
    let start_event = &h.payloads("recording.start")[0];
    assert_eq!(start_event["duration"], json!(null));
    assert_eq!(start_event["auto_stop_at"], json!(null));
}

#[tokio::test]
async fn mkv_and_segments() {
    let h = harness_with(|c| c.recording.segment_duration = 2).await;
    let r = recorder(&h);
    let started = r.start(start("camera1", None, Some("mkv"))).await.expect("start");
    assert!(started.filename.ends_with(".mkv"));
    assert!(
        eventually(Duration::from_secs(15), || h.payloads("recording.segment").len() >= 2).await,
        "segments roll over every 2 s"
    );
    let stopped = r.stop("camera1").await.expect("stop");
    assert!(stopped.files.len() >= 3, "{:?}", stopped.files);
    assert_eq!(stopped.files[0], started.filename);
    let segments = h.payloads("recording.segment");
    assert_eq!(segments[0]["previous"], json!(stopped.files[0]));
    assert_eq!(segments[0]["filename"], json!(stopped.files[1]));
    let mut sorted = stopped.files.clone();
    sorted.sort();
    assert_eq!(sorted, stopped.files, "oldest first");
    for f in &stopped.files {
        let info = probe(&path(&h, f)).await;
        assert!(info.duration.is_some(), "{f} is playable");
    }
    let indexed: Vec<(String, String)> = h
        .store
        .call(|c| {
            let mut st =
                c.prepare("SELECT filename, format FROM media_files WHERE kind = 'recording' ORDER BY filename")?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
        .expect("index");
    assert_eq!(
        indexed.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>(),
        stopped.files
    );
    assert!(indexed.iter().all(|(_, fmt)| fmt == "mkv"));
}

#[tokio::test]
async fn ffmpeg_dying_is_a_pipeline_failure_that_keeps_the_files() {
    let h = harness().await;
    let r = recorder(&h);
    let started = r.start(start("camera0", Some(600), None)).await.expect("start");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = {
        let slots = r.lock();
        match slots.get("camera0") {
            Some(Slot::Running { recording, .. }) => lock(recording).pid.expect("pid"),
            _ => panic!("not running"),
        }
    };
    // SAFETY: sending a signal to the child process this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
    assert!(eventually(Duration::from_secs(10), || !r.status("camera0").active).await);
    let updates = h.payloads("recording_status_update");
    let last = updates.last().expect("update");
    assert_eq!(
        (last["status"].as_str(), last["reason"].as_str()),
        (Some("ERROR"), Some("pipeline_failed"))
    );
    let errors = h.payloads("recording.error");
    assert_eq!(errors[0]["reason"], "pipeline_failed");
    assert_eq!(errors[0]["filename"], json!(started.filename));
    assert!(h.payloads("recording.stop").is_empty());
    assert!(
        std::path::Path::new(&path(&h, &started.filename)).exists(),
        "files are kept"
    );
    assert!(active_rows(&h).await.is_empty(), "a failed recording is not resumed");
    // The camera can record again.
    r.start(start("camera0", None, None)).await.expect("restart");
    r.stop("camera0").await.expect("stop");
}

#[tokio::test]
async fn shutdown_then_resume_continues_with_the_same_deadline() {
    let h = harness().await;
    let first = recorder(&h);
    let started = first.start(start("camera0", Some(60), None)).await.expect("start");
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.shutdown().await;
    assert!(!first.status("camera0").active);
    let stop = &h.payloads("recording.stop")[0];
    assert_eq!(stop["reason"], "shutdown");
    let first_size = stop["file_size"].as_u64().expect("file_size");
    assert!(first_size > 0, "{stop}");
    assert_eq!(first.recordings_started_total(), 1);
    assert_eq!(first.bytes_written_total().await, first_size);
    let rows = active_rows(&h).await;
    assert_eq!(rows.len(), 1, "kept for the next start-up");
    assert_eq!(rows[0].files, std::slice::from_ref(&started.filename));
    drop(first);

    // "Restart": a new recorder on the same store, 10 s later on the clock.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.clock.advance(Duration::from_secs(10));
    let second = recorder(&h);
    second.resume().await.expect("resume");
    assert_eq!(
        second.recordings_started_total(),
        1,
        "a resume runs a new pipeline and counts"
    );
    let status = second.status("camera0");
    assert!(status.active);
    assert_eq!(status.start_time.as_deref(), Some("2025-01-15T14:30:00.123Z"));
    assert_eq!(status.auto_stop_at, started.auto_stop_at);
    assert_eq!(status.filename.as_deref(), Some(started.filename.as_str()));
    let statuses: Vec<String> = h
        .payloads("recording_status_update")
        .iter()
        .map(|u| u["status"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(statuses, ["RECORDING", "STOPPED", "STARTING", "RECORDING"]);
    let segment = h.payloads("recording.segment");
    assert_eq!(segment[0]["previous"], json!(started.filename));

    tokio::time::sleep(Duration::from_secs(1)).await;
    h.clock.advance(Duration::from_secs(50));
    assert!(eventually(Duration::from_secs(15), || !second.status("camera0").active).await);
    let stop = h.payloads("recording.stop");
    assert_eq!(stop.len(), 2);
    assert_eq!(stop[1]["reason"], "duration_elapsed");
    assert_eq!(stop[1]["duration"], 60);
    let total = stop[1]["file_size"].as_u64().expect("file_size");
    assert!(total > first_size, "{}", stop[1]);
    assert_eq!(
        second.bytes_written_total().await,
        total - first_size,
        "the file written before the restart is not counted again"
    );
    let files = stop[1]["files"].as_array().expect("files").clone();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0], json!(started.filename));
    for f in files {
        probe(&path(&h, f.as_str().unwrap_or(""))).await;
    }
    assert!(active_rows(&h).await.is_empty());
}

#[tokio::test]
async fn resume_closes_expired_and_orphaned_recordings() {
    let h = harness().await;
    h.store
        .call(|c| {
            c.execute_batch(
                "INSERT INTO active_recordings (device, format, start_time, duration, auto_stop_at, files) VALUES
                   ('camera0', 'mp4', '2025-01-15T14:00:00.000Z', 60, '2025-01-15T14:01:00.000Z', '[\"camera0_2025-01-15_14-00-00.mp4\"]'),
                   ('camera9', 'mkv', '2025-01-15T14:20:00.000Z', NULL, NULL, '[]');",
            )?;
            Ok(())
        })
        .await
        .expect("rows");
    let r = recorder(&h);
    r.resume().await.expect("resume");
    assert!(!r.status("camera0").active);
    let mut stops = h.payloads("recording.stop");
    stops.sort_by_key(|s| s["device"].as_str().unwrap_or("").to_owned());
    assert_eq!(
        (stops[0]["device"].as_str(), stops[0]["reason"].as_str()),
        (Some("camera0"), Some("duration_elapsed"))
    );
    assert_eq!(stops[0]["format"], "mp4");
    assert_eq!(stops[0]["files"], json!([]), "the file is gone from disk");
    assert_eq!(
        (stops[1]["device"].as_str(), stops[1]["reason"].as_str()),
        (Some("camera9"), Some("interrupted"))
    );
    assert!(active_rows(&h).await.is_empty());
}

/// A fake RTSP server: answers OPTIONS, rejects the first DESCRIBE (the registry's stream probe) and then
/// never answers DESCRIBE again, so a recorder's ffmpeg hangs in its handshake.
async fn hanging_rtsp_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let describes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let describes = Arc::clone(&describes);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    let cseq = req
                        .lines()
                        .find_map(|l| l.strip_prefix("CSeq:").map(|v| v.trim().to_owned()))
                        .unwrap_or_else(|| "1".into());
                    if req.starts_with("DESCRIBE") {
                        if describes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                            let _ = s
                                .write_all(format!("RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n").as_bytes())
                                .await;
                        }
                        continue;
                    }
                    let _ = s
                        .write_all(
                            format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n").as_bytes(),
                        )
                        .await;
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn start_timeout_leaves_nothing_running() {
    let port = hanging_rtsp_server().await;
    let h = harness_with(|c| {
        c.recording.start_timeout = 2;
        c.cameras.network.push(crate::config::NetworkCameraConfig {
            id: "door".into(),
            name: None,
            url: format!("rtsp://127.0.0.1:{port}/live"),
        });
    })
    .await;
    assert_eq!(h.cameras.camera("door").expect("door").status, CameraStatus::Connected);
    let r = recorder(&h);
    let began = Instant::now();
    let err = r.start(start("door", None, None)).await.expect_err("times out");
    assert_eq!(
        (err.kind, err.reason),
        (ErrorKind::Unavailable, "recording_start_timeout")
    );
    assert!(began.elapsed() < Duration::from_secs(5));
    assert!(!r.status("door").active);
    assert!(r.lock().is_empty(), "no slot left behind");
    assert!(active_rows(&h).await.is_empty());
    assert!(h.payloads("recording.start").is_empty());
}

/// An engine that writes files on command, refuses confirmed stops while `refuse` is set, and counts stops.
#[derive(Default)]
struct FakeEngine {
    dir: PathBuf,
    refuse: Arc<std::sync::atomic::AtomicBool>,
    stops: Arc<AtomicU64>,
    segments: Mutex<Option<mpsc::Receiver<String>>>,
}

struct FakeSession {
    dir: PathBuf,
    refuse: Arc<std::sync::atomic::AtomicBool>,
    stops: Arc<AtomicU64>,
    segments: mpsc::Receiver<String>,
}

impl engine::RecordingEngine for FakeEngine {
    fn supports(&self, format: RecordingFormat) -> bool {
        format != RecordingFormat::Mkv
    }

    fn start<'a>(
        &'a self,
        device: &'a str,
        _source: &'a crate::cameras::CameraSource,
        _format: RecordingFormat,
    ) -> engine::EngineFuture<'a, crate::Result<Started>> {
        Box::pin(async move {
            let first = format!("{device}_2025-01-15_14-30-00.mp4");
            std::fs::create_dir_all(&self.dir)?;
            std::fs::write(self.dir.join(&first), b"first")?;
            let segments = lock_segments(&self.segments)
                .take()
                .ok_or_else(|| Error::internal("started twice"))?;
            Ok(Started {
                first_file: first,
                session: Box::new(FakeSession {
                    dir: self.dir.clone(),
                    refuse: self.refuse.clone(),
                    stops: self.stops.clone(),
                    segments,
                }),
            })
        })
    }
}

fn lock_segments(
    m: &Mutex<Option<mpsc::Receiver<String>>>,
) -> std::sync::MutexGuard<'_, Option<mpsc::Receiver<String>>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl engine::Session for FakeSession {
    fn pid(&self) -> Option<u32> {
        None
    }

    fn next_event(&mut self) -> engine::EngineFuture<'_, SessionEvent> {
        Box::pin(async move {
            match self.segments.recv().await {
                Some(name) => SessionEvent::Segment(name),
                None => std::future::pending().await,
            }
        })
    }

    fn stop(&mut self, confirm: bool) -> engine::EngineFuture<'_, crate::Result<Vec<String>>> {
        Box::pin(async move {
            if confirm && self.refuse.load(Ordering::SeqCst) {
                return Err(crate::mediamtx::mediamtx_unavailable("down"));
            }
            self.stops.fetch_add(1, Ordering::SeqCst);
            let last = "camera0_2025-01-15_14-30-04.mp4";
            std::fs::write(self.dir.join(last), b"c")?;
            Ok(vec![last.to_owned()])
        })
    }
}

#[tokio::test]
async fn the_engine_decides_formats_and_a_refused_stop_keeps_recording() {
    let h = harness().await;
    let r = recorder(&h);
    let (segments, rx) = mpsc::channel(4);
    let fake = Arc::new(FakeEngine {
        dir: h.config.storage.recordings_path.clone(),
        segments: Mutex::new(Some(rx)),
        ..FakeEngine::default()
    });
    r.set_engine(fake.clone());

    let err = r.start(start("camera0", None, Some("mkv"))).await.expect_err("mkv");
    assert_eq!((err.kind, err.reason), (ErrorKind::Unsupported, "format_unsupported"));
    assert_eq!(
        err.data.get("feature").and_then(Value::as_str),
        Some("recording_format")
    );
    assert!(r.lock().is_empty(), "nothing reserved for an unsupported format");

    let started = r.start(start("camera0", None, Some("mp4"))).await.expect("start");
    assert_eq!(started.filename, "camera0_2025-01-15_14-30-00.mp4");
    assert_eq!(started.format, RecordingFormat::Mp4);
    std::fs::write(
        h.config.storage.recordings_path.join("camera0_2025-01-15_14-30-02.mp4"),
        b"ab",
    )
    .expect("write");
    segments
        .send("camera0_2025-01-15_14-30-02.mp4".into())
        .await
        .expect("segment");
    assert!(eventually(Duration::from_secs(5), || !h.payloads("recording.segment").is_empty()).await);
    assert_eq!(
        h.payloads("recording.segment")[0],
        json!({"device": "camera0", "filename": "camera0_2025-01-15_14-30-02.mp4",
               "previous": "camera0_2025-01-15_14-30-00.mp4"})
    );

    fake.refuse.store(true, Ordering::SeqCst);
    let err = r.stop("camera0").await.expect_err("refused");
    assert_eq!(err.reason, "mediamtx_unavailable");
    assert!(r.status("camera0").active, "still recording after a refused stop");
    assert!(h.payloads("recording.stop").is_empty());
    assert_eq!(fake.stops.load(Ordering::SeqCst), 0);
    assert_eq!(active_rows(&h).await.len(), 1, "the row stays");

    fake.refuse.store(false, Ordering::SeqCst);
    h.clock.advance(Duration::from_secs(5));
    let stopped = r.stop("camera0").await.expect("retry works");
    assert_eq!(
        stopped.files,
        [
            "camera0_2025-01-15_14-30-00.mp4",
            "camera0_2025-01-15_14-30-02.mp4",
            "camera0_2025-01-15_14-30-04.mp4"
        ],
        "files found while stopping are part of the recording"
    );
    assert_eq!(stopped.file_size, 8, "total of all files");
    assert_eq!(stopped.duration, 5);
    assert_eq!(fake.stops.load(Ordering::SeqCst), 1, "stopped exactly once");
    assert!(!r.status("camera0").active);
    assert!(active_rows(&h).await.is_empty());
    assert_eq!(h.payloads("recording.stop").len(), 1);
}

#[tokio::test]
async fn a_tapped_recording_keeps_a_readable_latest_frame_until_it_stops() {
    use super::frame_tap::{FrameTap, TapPolicy};
    use crate::media::live_feed::LiveFeed;

    let h = harness().await;
    let r = recorder(&h);
    let tap = Arc::new(FrameTap::new(h.config.data_dir.join("live"), TapPolicy::AllSources));
    r.set_engine(Arc::new(engine_ffmpeg::FfmpegEngine::new(
        &h.config,
        Ffmpeg::default(),
        tap.clone(),
        h.clock.clone(),
    )));
    assert_eq!(tap.running("camera0").await, None, "nothing records yet");
    r.start(start("camera0", None, None)).await.expect("start");
    let frame = tap.path("camera0");
    assert!(
        eventually(Duration::from_secs(5), || frame.exists()).await,
        "the recording writes its latest frame"
    );
    let input = tap.running("camera0").await.expect("a fresh frame while recording");
    let mut args = input;
    args.extend(["-frames:v", "1", "-c:v", "png", "-f", "image2pipe", "pipe:1"].map(str::to_owned));
    let decoded = Ffmpeg::default()
        .run(crate::media::ffmpeg::Role::Snapshot, &args, Duration::from_secs(10))
        .await
        .expect("the tap input decodes");
    assert_eq!(
        crate::media::snapshots::image_size(&decoded.stdout),
        Some((640, 480)),
        "a whole frame of camera0"
    );

    r.stop("camera0").await.expect("stop");
    assert!(!frame.exists(), "stopping closes the tap");
    assert_eq!(tap.running("camera0").await, None);
}

#[tokio::test]
async fn metrics_count_starts_bytes_and_frames_of_a_running_recording() {
    use crate::media::frame_health::HealthState;

    let h = harness().await;
    let r = recorder(&h);
    assert_eq!((r.recordings_started_total(), r.bytes_written_total().await), (0, 0));
    assert_eq!(r.frame_health("camera0"), None, "no pipeline");
    assert_eq!(r.running_since("camera0"), None);
    r.start(start("camera0", None, None)).await.expect("start");
    assert_eq!(r.recordings_started_total(), 1);
    assert_eq!(r.running_since("camera0"), Some(Duration::ZERO));
    assert!(
        eventually(Duration::from_secs(15), || r
            .frame_health("camera0")
            .is_some_and(|f| f.last_frame_at.is_some()))
        .await,
        "ffmpeg's progress report reaches the frame tracker"
    );
    let health = r.frame_health("camera0").expect("running");
    assert_eq!(health.state, HealthState::Ok);
    assert_eq!(
        health.last_frame_at,
        Some(time::macros::datetime!(2025-01-15 14:30:00.123 UTC)),
        "frames are timed on the injected clock"
    );
    assert_eq!(r.frame_health("camera1"), None);

    let deadline = Instant::now() + Duration::from_secs(15);
    let written = loop {
        let written = r.bytes_written_total().await;
        if written > 0 {
            break written;
        }
        assert!(Instant::now() < deadline, "the running recording's file grows");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stopped = r.stop("camera0").await.expect("stop");
    assert!(stopped.file_size >= written, "{} < {written}", stopped.file_size);
    assert_eq!(r.bytes_written_total().await, stopped.file_size);
    assert_eq!(r.frame_health("camera0"), None, "idle again");
    assert_eq!(r.recordings_started_total(), 1);

    r.start(start("camera0", Some(60), None)).await.expect("second start");
    assert_eq!(r.recordings_started_total(), 2);
    assert!(r.bytes_written_total().await >= stopped.file_size);
    r.stop("camera0").await.expect("stop");
}
