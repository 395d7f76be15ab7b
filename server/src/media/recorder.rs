//! The recorder (API.md §4.3 `start_recording` / `stop_recording`): it owns recording state — slots, the
//! state machine, persistence, events, deadlines — for both backends. How the files get produced is the
//! [`engine::RecordingEngine`] of the active backend: [`engine_ffmpeg`] (standalone: ffmpeg records straight
//! from the source; the default) or [`engine_mediamtx`] (MediaMTX records the camera's path; set with
//! [`Recorder::set_engine`] when the MediaMTX backend runs). The rows live in [`persist`], the vocabulary
//! (formats, reasons, results) in [`types`]; [`frame_tap`] keeps the latest frame of a standalone recording of
//! a V4L2 device, so snapshots work while it records.
//!
//! Figures for `get_metrics` (API.md §4.7): [`Recorder::recordings_started_total`] counts every recording that
//! got running since the service started — successful `start_recording` calls and recordings resumed after a
//! restart (a resume runs a new pipeline; a recording that is only closed at start-up is not counted);
//! [`Recorder::bytes_written_total`] is the bytes of recording files written since the service started;
//! [`Recorder::frame_health`] is the frame health a running recording's engine measures.
//!
//! Shape: one slot per camera in a std `Mutex<HashMap>` (held for a few instructions, never across an
//! await). A slot is `Starting` while a start is in progress (so a second start gets `already_recording`) and
//! `Running` once the first file exists; a running recording has one supervisor task that owns its engine
//! session and is the only one to end it. Everything that ends a recording — `stop_recording`, the deadline of
//! a timed recording, the engine ending by itself, the camera going away, shutdown — ends up in that task's
//! single `finish`, so files are finalized, events published and the state store updated exactly once. A
//! requested stop the engine cannot carry out (MediaMTX unreachable) is answered with its error and the
//! recording goes on.
//!
//! Invariants:
//! - Segment files are `<device>_<YYYY-MM-DD>_<HH-MM-SS>.<ext>` from the UTC time each segment opens. A start
//!   waits for the next second when a file of the current second exists, so an earlier recording's file is
//!   never truncated.
//! - `start` validates every parameter (format included: the engine must support it) before anything starts,
//!   and returns once the first file exists; after `recording.start_timeout` (real time) nothing is left
//!   running.
//! - Deadlines of timed recordings and the progress ticks wait on the injected clock; engine supervision
//!   (start timeout, stop grace) is real time because it bounds real programs.
//! - The active recording of each camera (format, start, requested duration, deadline, files) is a row of
//!   `active_recordings`, written before `start` returns and removed when the recording ends — except on
//!   shutdown, where it stays so that [`Recorder::resume`] continues it at the next start-up (new segment, same
//!   deadline) or closes it (`interrupted` / `duration_elapsed`).

pub mod engine;
pub mod engine_ffmpeg;
pub mod engine_mediamtx;
pub mod frame_tap;
mod persist;
mod types;

use crate::cameras::{CameraRegistry, CameraStatus, StatusChange};
use crate::clock::{Clock, SleepFuture, format_timestamp};
use crate::config::Config;
use crate::events::EventBus;
use crate::media::ffmpeg::Ffmpeg;
use crate::media::frame_health::{FrameHealth, FrameMonitor};
use crate::media::{blocking, download_url};
use crate::store::Store;
use crate::{Error, ErrorKind};
use engine::{RecordingEngine, Session, SessionEvent, Started};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use engine_ffmpeg::STOP_GRACE;
use persist::load_active;
pub use types::{FailReason, RecordingFormat, RecordingStatus, StartRequest, StartResult, StopReason, StopResult};

/// Interval of `recording.progress` events (clock time).
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

/// One recording's facts (shared between the slot and its supervisor).
#[derive(Clone, Debug)]
struct Recording {
    device: String,
    format: RecordingFormat,
    start_time: OffsetDateTime,
    duration: Option<u64>,
    auto_stop_at: Option<OffsetDateTime>,
    /// Segment files, oldest first; the last one is being written while the recording runs.
    files: Vec<String>,
    pid: Option<u32>,
    /// Bytes of `files` that existed when this run took the recording over (a resume after a restart): they
    /// were written before the service started, so `bytes_written_total` leaves them out. Not persisted.
    carried_bytes: u64,
    /// The largest total size of `files` seen so far (a segment deleted while recording does not make
    /// `bytes_written_total` go back). Not persisted.
    bytes_seen: u64,
}

enum Slot {
    Starting,
    Running {
        id: u64,
        recording: Arc<Mutex<Recording>>,
        commands: mpsc::Sender<StopCommand>,
        /// The engine's view of the pipeline's frames, when it has one.
        frames: Option<Arc<dyn FrameMonitor>>,
        /// Clock `elapsed()` when this pipeline started.
        since: Duration,
    },
}

struct StopCommand {
    ending: Ending,
    reply: oneshot::Sender<crate::Result<StopResult>>,
}

/// How a recording ends.
#[derive(Clone, Debug)]
enum Ending {
    Stopped(StopReason),
    Failed(FailReason, String),
}

/// Records cameras. Construct with [`Recorder::new`] (ffmpeg engine); in the MediaMTX backend call
/// [`Recorder::set_engine`]; after the first camera scan call [`Recorder::resume`] once; on shutdown call
/// [`Recorder::shutdown`].
pub struct Recorder {
    dir: PathBuf,
    engine: RwLock<Arc<dyn RecordingEngine>>,
    default_format: String,
    /// Refuses new media at `storage.block_percent` (-32060).
    storage: crate::storage::StorageGuard,
    public_base_url: Option<String>,
    cameras: Arc<CameraRegistry>,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    store: Store,
    frame_tap: Arc<frame_tap::FrameTap>,
    slots: Mutex<HashMap<String, Slot>>,
    next_id: AtomicU64,
    /// Recordings that got running since start (see the module docs).
    started_total: AtomicU64,
    /// Bytes written this run by recordings that ended; changed only under the `slots` lock, together with
    /// the removal of the recording's slot, so a reading never counts a recording twice or not at all.
    bytes_finished: AtomicU64,
}

impl Recorder {
    pub fn new(
        config: &Config,
        cameras: Arc<CameraRegistry>,
        ffmpeg: Ffmpeg,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
        store: Store,
    ) -> Arc<Self> {
        metrics::gauge!("camera_service_recordings_active").set(0.0);
        let frame_tap = Arc::new(frame_tap::FrameTap::new(
            config.data_dir.join("live"),
            frame_tap::TapPolicy::ExclusiveSources,
        ));
        Arc::new(Recorder {
            dir: config.storage.recordings_path.clone(),
            engine: RwLock::new(Arc::new(engine_ffmpeg::FfmpegEngine::new(
                config,
                ffmpeg,
                frame_tap.clone(),
                clock.clone(),
            ))),
            frame_tap,
            default_format: config.recording.default_format.clone(),
            storage: crate::storage::StorageGuard::new(config),
            public_base_url: config.server.public_base_url.clone(),
            cameras,
            events,
            clock,
            store,
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            started_total: AtomicU64::new(0),
            bytes_finished: AtomicU64::new(0),
        })
    }

    /// The directory recordings are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The latest frames of standalone recordings of exclusive sources (the snapshot live feed of the
    /// standalone backend).
    pub fn frame_tap(&self) -> Arc<frame_tap::FrameTap> {
        self.frame_tap.clone()
    }

    /// Replaces the engine that produces files (the MediaMTX backend sets its own at start-up, before any
    /// recording starts).
    pub fn set_engine(&self, engine: Arc<dyn RecordingEngine>) {
        *self.engine.write().unwrap_or_else(|p| p.into_inner()) = engine;
    }

    fn engine(&self) -> Arc<dyn RecordingEngine> {
        self.engine.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Starts recording a camera; returns once the first file exists.
    pub async fn start(self: &Arc<Self>, req: StartRequest) -> crate::Result<StartResult> {
        let format = self.format(req.format.as_deref())?;
        let source = self.cameras.usable_source(&req.device)?;
        let reservation = self.reserve(&req.device)?;
        self.storage.ensure_space().await?;

        let engine = self.engine();
        let Started {
            first_file: first,
            mut session,
        } = engine.start(&req.device, &source, format).await?;
        let start_time = self.clock.now();
        let recording = Recording {
            device: req.device.clone(),
            format,
            start_time,
            duration: req.duration,
            auto_stop_at: req
                .duration
                .map(|d| start_time + time::Duration::seconds(d.min(i64::MAX as u64) as i64)),
            files: vec![first.clone()],
            pid: session.pid(),
            carried_bytes: 0,
            bytes_seen: 0,
        };
        if let Err(e) = self.persist_start(&recording).await {
            let _ = session.stop(false).await;
            let path = self.dir.join(&first);
            let _ = blocking(move || Ok(std::fs::remove_file(path)?)).await;
            return Err(e);
        }
        let result = StartResult {
            device: req.device.clone(),
            filename: first.clone(),
            status: "RECORDING",
            start_time: format_timestamp(start_time),
            format,
            duration: req.duration,
            auto_stop_at: recording.auto_stop_at.map(format_timestamp),
            download_url: download_url(self.public_base_url.as_deref(), "recordings", &first),
        };
        self.events.publish(
            "recording_status_update",
            status_update(&recording, "RECORDING", 0, 0, None),
        );
        self.events.publish(
            "recording.start",
            json!({"device": result.device, "filename": result.filename, "format": format,
                   "start_time": result.start_time, "duration": result.duration, "auto_stop_at": result.auto_stop_at}),
        );
        self.run(reservation, recording, session);
        tracing::info!(
            device = req.device,
            filename = first,
            format = format.as_str(),
            "recording started"
        );
        Ok(result)
    }

    /// Stops a camera's recording: -32010 `camera_not_found`, -32020 `not_recording`.
    pub async fn stop(&self, device: &str) -> crate::Result<StopResult> {
        self.cameras.camera(device)?;
        let commands = match self.lock().get(device) {
            Some(Slot::Running { commands, .. }) => commands.clone(),
            _ => return Err(not_recording(device)),
        };
        let (reply, result) = oneshot::channel();
        let command = StopCommand {
            ending: Ending::Stopped(StopReason::Requested),
            reply,
        };
        commands.send(command).await.map_err(|_| not_recording(device))?;
        // The supervisor dropped the reply: the recording ended by itself (deadline, failure) meanwhile. An
        // error: the engine could not stop (the recording goes on).
        result.await.map_err(|_| not_recording(device))?
    }

    /// The `recording` object of `get_camera_status`.
    pub fn status(&self, device: &str) -> RecordingStatus {
        match self.lock().get(device) {
            Some(Slot::Running { recording, .. }) => {
                let r = lock(recording);
                RecordingStatus {
                    active: true,
                    filename: r.files.first().cloned(),
                    start_time: Some(format_timestamp(r.start_time)),
                    auto_stop_at: r.auto_stop_at.map(format_timestamp),
                }
            }
            _ => RecordingStatus::default(),
        }
    }

    /// Names of the segment files being written right now (one per running recording).
    pub fn files_in_progress(&self) -> Vec<String> {
        self.lock()
            .values()
            .filter_map(|slot| match slot {
                Slot::Running { recording, .. } => lock(recording).files.last().cloned(),
                Slot::Starting => None,
            })
            .collect()
    }

    /// Number of running recordings.
    pub fn active_count(&self) -> usize {
        self.lock()
            .values()
            .filter(|s| matches!(s, Slot::Running { .. }))
            .count()
    }

    /// Recordings that got running since the service started: successful starts and resumed recordings.
    pub fn recordings_started_total(&self) -> u64 {
        self.started_total.load(Ordering::Relaxed)
    }

    /// Bytes of recording files written since the service started: the final size of the recordings that
    /// ended, plus the current size of the files of running recordings (read on the blocking pool now). Files
    /// of a resumed recording that were written before the start are left out. Never decreases.
    pub async fn bytes_written_total(&self) -> u64 {
        let (finished, running): (u64, Vec<Arc<Mutex<Recording>>>) = {
            let slots = self.lock();
            let running = slots
                .values()
                .filter_map(|slot| match slot {
                    Slot::Running { recording, .. } => Some(Arc::clone(recording)),
                    Slot::Starting => None,
                })
                .collect();
            (self.bytes_finished.load(Ordering::Relaxed), running)
        };
        let mut total = finished;
        for shared in running {
            let files = lock(&shared).files.clone();
            let (_, size) = self.sizes(&files).await;
            total = total.saturating_add(note_size(&shared, size));
        }
        total
    }

    /// The frame health of the running recording of `device`, when its engine measures frames (the standalone
    /// engine does; the MediaMTX engine has no per-frame signal). `None` when not recording or not measured.
    pub fn frame_health(&self, device: &str) -> Option<FrameHealth> {
        let frames = match self.lock().get(device) {
            Some(Slot::Running { frames, .. }) => frames.clone(),
            _ => None,
        }?;
        Some(frames.health())
    }

    /// Clock `elapsed()` when the pipeline of the running recording of `device` started; `None` when not
    /// recording.
    pub fn running_since(&self, device: &str) -> Option<Duration> {
        match self.lock().get(device) {
            Some(Slot::Running { since, .. }) => Some(*since),
            _ => None,
        }
    }

    /// Stops every running recording with reason `shutdown` (files finalized, rows kept for [`Recorder::resume`]).
    pub async fn shutdown(&self) {
        let commands: Vec<mpsc::Sender<StopCommand>> = self
            .lock()
            .values()
            .filter_map(|slot| match slot {
                Slot::Running { commands, .. } => Some(commands.clone()),
                Slot::Starting => None,
            })
            .collect();
        let mut waits = Vec::new();
        for c in commands {
            let (reply, result) = oneshot::channel();
            if c.send(StopCommand {
                ending: Ending::Stopped(StopReason::Shutdown),
                reply,
            })
            .await
            .is_ok()
            {
                waits.push(result);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }

    /// Ends the running recording of `device` with an error reason (e.g. `storage_full` from the storage
    /// guard); its files are finalized and kept. No-op when the camera is not recording.
    pub async fn fail(&self, device: &str, reason: FailReason, message: &str) {
        let commands = match self.lock().get(device) {
            Some(Slot::Running { commands, .. }) => commands.clone(),
            _ => return,
        };
        let (reply, result) = oneshot::channel();
        if commands
            .send(StopCommand {
                ending: Ending::Failed(reason, message.to_owned()),
                reply,
            })
            .await
            .is_ok()
        {
            let _ = result.await;
        }
    }

    /// Continues or closes the recordings that were active when the service last stopped (API.md §4.3
    /// "Restart"). Call once, after the first camera scan.
    pub async fn resume(self: &Arc<Self>) -> crate::Result<()> {
        let rows = self.store.call(load_active).await?;
        for mut recording in rows {
            let device = recording.device.clone();
            let now = self.clock.now();
            if recording.auto_stop_at.is_some_and(|at| at <= now) {
                self.close_interrupted(recording, StopReason::DurationElapsed).await;
                continue;
            }
            let source = match self.cameras.usable_source(&device) {
                Ok(source) => source,
                Err(_) => {
                    self.close_interrupted(recording, StopReason::Interrupted).await;
                    continue;
                }
            };
            let Ok(reservation) = self.reserve(&device) else {
                continue;
            };
            self.events.publish(
                "recording_status_update",
                status_update(&recording, "STARTING", 0, 0, None),
            );
            let engine = self.engine();
            match engine.start(&device, &source, recording.format).await {
                Ok(Started {
                    first_file: file,
                    session,
                }) => {
                    let (_, carried) = self.sizes(&recording.files).await;
                    recording.carried_bytes = carried;
                    recording.bytes_seen = carried;
                    let previous = recording.files.last().cloned();
                    recording.files.push(file.clone());
                    recording.pid = session.pid();
                    if let Err(e) = self.persist_segment(&recording, &file, self.clock.now()).await {
                        tracing::warn!(device, error = %e, "resumed segment not persisted");
                    }
                    let elapsed = seconds_between(recording.start_time, now);
                    self.events.publish(
                        "recording_status_update",
                        status_update(&recording, "RECORDING", elapsed, 0, None),
                    );
                    self.events.publish(
                        "recording.segment",
                        json!({"device": device, "filename": file, "previous": previous}),
                    );
                    tracing::info!(device, filename = file, "recording resumed after restart");
                    self.run(reservation, recording, session);
                }
                Err(e) => {
                    tracing::warn!(device, error = %e, "could not resume recording");
                    drop(reservation);
                    self.close_interrupted(recording, StopReason::Interrupted).await;
                }
            }
        }
        Ok(())
    }

    // ---- internals ----

    fn format(&self, requested: Option<&str>) -> crate::Result<RecordingFormat> {
        let name = requested.unwrap_or(&self.default_format);
        let format = RecordingFormat::parse(name).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                "format_unsupported",
                format!("Recording format {name:?} is not fmp4, mp4 or mkv"),
            )
            .with("feature", "recording_format")
        })?;
        if !self.engine().supports(format) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "format_unsupported",
                format!("The active backend cannot write {name} recordings (MediaMTX writes fragmented MP4 only)"),
            )
            .with("feature", "recording_format")
            .suggest("Use fmp4 or mp4, or run the standalone backend for mkv"));
        }
        Ok(format)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims the camera's slot (`already_recording` when taken). Dropping the reservation frees it.
    fn reserve(self: &Arc<Self>, device: &str) -> crate::Result<Reservation> {
        let mut slots = self.lock();
        if let Some(slot) = slots.get(device) {
            let details = match slot {
                Slot::Running { recording, .. } => {
                    format!(
                        "{device} has been recording since {}",
                        format_timestamp(lock(recording).start_time)
                    )
                }
                Slot::Starting => format!("{device} is starting a recording"),
            };
            return Err(Error::new(ErrorKind::InvalidState, "already_recording", details)
                .with("resource", "camera")
                .with("id", device)
                .suggest("Call stop_recording first"));
        }
        slots.insert(device.to_owned(), Slot::Starting);
        Ok(Reservation {
            recorder: Arc::clone(self),
            device: device.to_owned(),
            armed: true,
        })
    }

    /// Marks the slot running and spawns the recording's supervisor.
    fn run(self: &Arc<Self>, mut reservation: Reservation, recording: Recording, session: Box<dyn Session>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let device = recording.device.clone();
        let shared = Arc::new(Mutex::new(recording));
        let (commands, rx) = mpsc::channel(4);
        reservation.armed = false;
        self.lock().insert(
            device,
            Slot::Running {
                id,
                recording: Arc::clone(&shared),
                commands,
                frames: session.frame_monitor(),
                since: self.clock.elapsed(),
            },
        );
        self.started_total.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("camera_service_recordings_active").set(self.active_count() as f64);
        let changes = self.cameras.subscribe();
        let recorder = Arc::clone(self);
        tokio::spawn(async move { recorder.supervise(id, shared, session, rx, changes).await });
    }

    async fn supervise(
        self: Arc<Self>,
        id: u64,
        shared: Arc<Mutex<Recording>>,
        mut session: Box<dyn Session>,
        mut commands: mpsc::Receiver<StopCommand>,
        mut changes: broadcast::Receiver<StatusChange>,
    ) {
        let (device, auto_stop_at) = {
            let r = lock(&shared);
            (r.device.clone(), r.auto_stop_at)
        };
        let mut deadline: SleepFuture = match auto_stop_at {
            Some(at) => self.clock.sleep(positive(at - self.clock.now())),
            None => Box::pin(std::future::pending()),
        };
        let mut progress = self.clock.sleep(PROGRESS_INTERVAL);
        let mut changes_live = true;
        let mut stopped = false;
        let (ending, reply) = loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => {
                        let requested = matches!(c.ending, Ending::Stopped(StopReason::Requested));
                        if !requested {
                            break (c.ending, Some(c.reply));
                        }
                        match session.stop(true).await {
                            Ok(late) => {
                                self.new_segments(&shared, late).await;
                                stopped = true;
                                break (c.ending, Some(c.reply));
                            }
                            Err(e) => {
                                tracing::warn!(device, error = %e, "stop refused by the engine; still recording");
                                let _ = c.reply.send(Err(e));
                            }
                        }
                    }
                    None => break (Ending::Stopped(StopReason::Shutdown), None),
                },
                () = &mut deadline => break (Ending::Stopped(StopReason::DurationElapsed), None),
                event = session.next_event() => match event {
                    SessionEvent::Segment(name) => self.new_segment(&shared, &name).await,
                    SessionEvent::Ended(message) => break (Ending::Failed(FailReason::PipelineFailed, message), None),
                },
                change = changes.recv(), if changes_live => match change {
                    Ok(c) if c.device == device && c.new != CameraStatus::Connected => {
                        let message = format!("{device} is {}", c.new.as_str());
                        break (Ending::Failed(FailReason::DeviceDisconnected, message), None);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if self.cameras.usable_source(&device).is_err() {
                            let message = format!("{device} went away");
                            break (Ending::Failed(FailReason::DeviceDisconnected, message), None);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => changes_live = false,
                },
                () = &mut progress => {
                    self.publish_progress(&shared).await;
                    progress = self.clock.sleep(PROGRESS_INTERVAL);
                }
            }
        };
        if !stopped {
            // Endings other than a confirmed stop: best effort (never fails), then the files as they are.
            let late = session.stop(false).await.unwrap_or_default();
            self.new_segments(&shared, late).await;
        }
        self.finish(id, shared, ending, reply).await;
    }

    async fn new_segments(&self, shared: &Arc<Mutex<Recording>>, names: Vec<String>) {
        for name in names {
            self.new_segment(shared, &name).await;
        }
    }

    async fn new_segment(&self, shared: &Arc<Mutex<Recording>>, name: &str) {
        let name = name.to_owned();
        let (snapshot, previous) = {
            let mut r = lock(shared);
            if r.files.contains(&name) {
                return;
            }
            let previous = r.files.last().cloned();
            r.files.push(name.clone());
            (r.clone(), previous)
        };
        if let Err(e) = self.persist_segment(&snapshot, &name, self.clock.now()).await {
            tracing::warn!(device = snapshot.device, filename = name, error = %e, "segment not persisted");
        }
        self.events.publish(
            "recording.segment",
            json!({"device": snapshot.device, "filename": name, "previous": previous}),
        );
    }

    async fn publish_progress(&self, shared: &Arc<Mutex<Recording>>) {
        let r = lock(shared).clone();
        let (_, size) = self.sizes(&r.files).await;
        note_size(shared, size);
        self.events.publish(
            "recording.progress",
            json!({"device": r.device, "filename": r.files.last(), "elapsed": seconds_between(r.start_time, self.clock.now()),
                   "file_size": size}),
        );
    }

    /// The one place a running recording ends.
    async fn finish(
        &self,
        id: u64,
        shared: Arc<Mutex<Recording>>,
        ending: Ending,
        reply: Option<oneshot::Sender<crate::Result<StopResult>>>,
    ) {
        let recording = lock(&shared).clone();
        let end_time = self.clock.now();
        let (files, file_size) = self.sizes(&recording.files).await;
        let device = recording.device.clone();
        let keep_row = matches!(ending, Ending::Stopped(StopReason::Shutdown));
        let db = if keep_row {
            self.persist_files(&recording).await
        } else {
            self.remove_active(&device).await
        };
        if let Err(e) = db {
            tracing::warn!(device, error = %e, "could not update the active recording row");
        }
        {
            let mut slots = self.lock();
            let written = file_size
                .max(recording.bytes_seen)
                .saturating_sub(recording.carried_bytes);
            self.bytes_finished.fetch_add(written, Ordering::Relaxed);
            if matches!(slots.get(&device), Some(Slot::Running { id: current, .. }) if *current == id) {
                slots.remove(&device);
            }
        }
        metrics::gauge!("camera_service_recordings_active").set(self.active_count() as f64);
        let result = self.stop_result(&recording, files, file_size, end_time);
        match ending {
            Ending::Stopped(reason) => {
                self.publish_stop(&result, reason);
                tracing::info!(
                    device,
                    reason = reason.as_str(),
                    files = result.files.len(),
                    "recording stopped"
                );
            }
            Ending::Failed(reason, message) => {
                tracing::warn!(device, reason = reason.as_str(), message, "recording failed");
                let update = status_update(&recording, "ERROR", result.duration, file_size, Some(reason.as_str()));
                self.events.publish("recording_status_update", update);
                self.publish_error(&device, &result.filename, reason, &message);
            }
        }
        if let Some(reply) = reply {
            let _ = reply.send(Ok(result));
        }
    }

    /// Closes a persisted recording that is not running (restart) with a `STOPPED` reason.
    async fn close_interrupted(&self, recording: Recording, reason: StopReason) {
        let (files, file_size) = self.sizes(&recording.files).await;
        let dir = self.dir.clone();
        let last = files.last().cloned();
        let end_time = blocking(move || {
            Ok(last
                .and_then(|f| std::fs::metadata(dir.join(f)).ok())
                .and_then(|m| m.modified().ok())
                .map(OffsetDateTime::from))
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| self.clock.now())
        .max(recording.start_time);
        if let Err(e) = self.remove_active(&recording.device).await {
            tracing::warn!(device = recording.device, error = %e, "could not remove the active recording row");
        }
        let result = self.stop_result(&recording, files, file_size, end_time);
        tracing::info!(
            device = recording.device,
            reason = reason.as_str(),
            "recording from before the restart closed"
        );
        self.publish_stop(&result, reason);
    }

    fn stop_result(&self, r: &Recording, files: Vec<String>, file_size: u64, end_time: OffsetDateTime) -> StopResult {
        StopResult {
            device: r.device.clone(),
            filename: r.files.first().cloned().unwrap_or_default(),
            status: "STOPPED",
            start_time: format_timestamp(r.start_time),
            end_time: format_timestamp(end_time),
            duration: seconds_between(r.start_time, end_time),
            file_size,
            format: r.format,
            files,
        }
    }

    fn publish_stop(&self, result: &StopResult, reason: StopReason) {
        self.events.publish(
            "recording_status_update",
            json!({"device": result.device, "status": "STOPPED", "filename": result.filename, "format": result.format,
                   "start_time": result.start_time, "duration": result.duration, "file_size": result.file_size,
                   "reason": reason.as_str()}),
        );
        let mut stop = serde_json::to_value(result).unwrap_or_else(|_| json!({}));
        if let Value::Object(map) = &mut stop {
            map.remove("status");
            map.insert("reason".into(), json!(reason.as_str()));
        }
        self.events.publish("recording.stop", stop);
    }

    fn publish_error(&self, device: &str, filename: &str, reason: FailReason, message: &str) {
        self.events.publish(
            "recording.error",
            json!({"device": device, "filename": filename, "reason": reason.as_str(), "message": message}),
        );
    }

    /// The files that still exist (in order) and their total size.
    async fn sizes(&self, files: &[String]) -> (Vec<String>, u64) {
        let dir = self.dir.clone();
        let files = files.to_vec();
        blocking(move || {
            let mut kept = Vec::with_capacity(files.len());
            let mut total = 0;
            for f in files {
                if let Ok(m) = std::fs::symlink_metadata(dir.join(&f)) {
                    total += m.len();
                    kept.push(f);
                }
            }
            Ok((kept, total))
        })
        .await
        .unwrap_or_default()
    }
}

/// Frees a `Starting` slot unless the recording got running.
struct Reservation {
    recorder: Arc<Recorder>,
    device: String,
    armed: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            let mut slots = self.recorder.lock();
            if matches!(slots.get(&self.device), Some(Slot::Starting)) {
                slots.remove(&self.device);
            }
        }
    }
}

fn status_update(r: &Recording, status: &str, duration: u64, file_size: u64, reason: Option<&str>) -> Value {
    json!({"device": r.device, "status": status, "filename": r.files.first(), "format": r.format,
           "start_time": format_timestamp(r.start_time), "duration": duration, "file_size": file_size, "reason": reason})
}

fn not_recording(device: &str) -> Error {
    Error::new(
        ErrorKind::InvalidState,
        "not_recording",
        format!("{device} is not recording"),
    )
    .with("resource", "camera")
    .with("id", device)
}

fn lock(r: &Mutex<Recording>) -> std::sync::MutexGuard<'_, Recording> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records that the files of a running recording total `size` bytes now; returns the bytes this run wrote.
fn note_size(shared: &Mutex<Recording>, size: u64) -> u64 {
    let mut r = lock(shared);
    r.bytes_seen = r.bytes_seen.max(size);
    r.bytes_seen.saturating_sub(r.carried_bytes)
}

/// Whole seconds from `a` to `b`, rounded to nearest, never negative.
fn seconds_between(a: OffsetDateTime, b: OffsetDateTime) -> u64 {
    (b - a).as_seconds_f64().round().max(0.0) as u64
}

fn positive(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
