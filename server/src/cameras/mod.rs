//! The camera registry: the one owner of camera status (API.md §4.0, §4.2).
//!
//! Cameras come from four places: virtual test-pattern cameras from `cameras.virtual` (an ffmpeg `lavfi`
//! source; always `CONNECTED`, capabilities from config, `CONFIRMED`), network cameras from `cameras.network`
//! (status from an RTSP reachability check with a short time limit, capabilities from an ffprobe of the stream),
//! network cameras added at run time by `add_external_stream` ([`external`], persisted there), and local devices
//! found by a [`CameraProbe`] ([`v4l2::V4l2Probe`]; [`NoDevices`] when V4L2 is disabled). [`hotplug`] rescans the
//! devices when the device directory changes.
//!
//! Invariants:
//! - Every status, name or mode change goes through [`CameraRegistry::apply`], which updates the table, the
//!   `camera_service_cameras{status,type}` gauge, and publishes `camera_status_update` plus the matching
//!   `camera.*` topic, and tells in-process listeners ([`CameraRegistry::subscribe`], a bounded broadcast).
//! - The table is behind a std `RwLock` held only for short, non-async sections; scans (network I/O) run
//!   outside it, serialized by an async mutex so two scans never interleave.
//! - A configured id (or an added external stream's id) wins over a probed device of the same id (the device is
//!   not exposed; a warning is logged once). V4L2 cameras seen once stay listed (`DISCONNECTED` after they
//!   vanish); removed external streams are dropped from the table.
//! - Device passes (probe + apply) are serialized by their own async mutex, separate from the full scan (which
//!   also checks network cameras and can take seconds), so a hotplug rescan never waits behind network I/O.
//! - Network results are applied only if the camera is still in the table with the same source, so a camera
//!   removed during a check is not brought back.
//! - [`CameraRegistry::first_scan_done`] turns true once, after the first complete scan (the readiness gate).
//! - Periodic rescans wait on the injected clock.

pub mod external;
pub mod hotplug;
pub mod natural;
pub mod network;
pub mod v4l2;

use crate::clock::{Clock, format_timestamp};
use crate::config::CamerasConfig;
use crate::events::EventBus;
use crate::media::ffmpeg::Ffmpeg;
use crate::{Error, ErrorKind};
use camera_api::types::StreamUrls;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Time limit of one RTSP reachability check.
pub const REACHABILITY_TIMEOUT: Duration = Duration::from_secs(2);
/// Time limit of one ffprobe of a network stream.
pub const STREAM_PROBE_TIMEOUT: Duration = Duration::from_secs(8);
/// Interval between reconcile scans.
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(30);
/// Capacity of the in-process status-change channel.
const CHANGES_CAPACITY: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraKind {
    V4l2,
    Virtual,
    Network,
}

impl CameraKind {
    pub const ALL: [CameraKind; 3] = [CameraKind::V4l2, CameraKind::Virtual, CameraKind::Network];
    pub fn as_str(self) -> &'static str {
        match self {
            CameraKind::V4l2 => "v4l2",
            CameraKind::Virtual => "virtual",
            CameraKind::Network => "network",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CameraStatus {
    Connected,
    Disconnected,
    Error,
}

impl CameraStatus {
    pub const ALL: [CameraStatus; 3] = [CameraStatus::Connected, CameraStatus::Disconnected, CameraStatus::Error];
    pub fn as_str(self) -> &'static str {
        match self {
            CameraStatus::Connected => "CONNECTED",
            CameraStatus::Disconnected => "DISCONNECTED",
            CameraStatus::Error => "ERROR",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ValidationStatus {
    /// Probed successfully (or, for virtual cameras, known from config).
    Confirmed,
    /// Not (yet) probed, or the probe failed.
    None,
    /// Camera absent; the last known data is returned.
    Disconnected,
}

/// Where frames come from; media turns this into ffmpeg input arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSource {
    /// An ffmpeg lavfi test source (`testsrc`, `smptebars`, ...).
    Lavfi {
        pattern: String,
        width: u32,
        height: u32,
        fps: u32,
    },
    /// A network stream.
    Rtsp { url: String },
    /// A local capture node.
    V4l2 { path: PathBuf },
}

/// One capture mode: format × size × frame rates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mode {
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub fps: Vec<u32>,
}

/// The camera object of API.md §4.2.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Camera {
    pub device: String,
    pub status: CameraStatus,
    pub name: String,
    /// `"WxH"` of the mode in use; `""` when unknown.
    pub resolution: String,
    /// Frame rate of that mode; 0 when unknown.
    pub fps: u32,
    /// `{rtsp, hls, webrtc}` with the MediaMTX backend; `{}` in standalone.
    pub streams: StreamUrls,
    #[serde(rename = "type")]
    pub kind: CameraKind,
}

/// The `get_camera_capabilities` result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Capabilities {
    pub device: String,
    pub formats: Vec<String>,
    pub resolutions: Vec<String>,
    pub fps_options: Vec<u32>,
    pub frame_rates: Vec<u32>,
    pub modes: Vec<Mode>,
    pub validation_status: ValidationStatus,
}

/// A camera found by a [`CameraProbe`].
#[derive(Clone, Debug)]
pub struct ProbedCamera {
    pub id: String,
    pub name: String,
    pub source: CameraSource,
    pub modes: Vec<Mode>,
    /// The mode the service captures with, `(width, height, fps)`.
    pub current: Option<(u32, u32, u32)>,
    /// `Some(reason)` when the node is there but cannot be opened or probed: listed with status `ERROR`.
    pub error: Option<String>,
}

/// A status change, for in-process listeners (the recorder ends recordings of cameras that go away).
#[derive(Clone, Debug)]
pub struct StatusChange {
    pub device: String,
    pub old: Option<CameraStatus>,
    pub new: CameraStatus,
}

pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Vec<ProbedCamera>> + Send + 'a>>;

/// Finds local capture devices (V4L2). One real implementation per platform; tests inject fakes.
pub trait CameraProbe: Send + Sync + 'static {
    /// Every capture device present now.
    fn scan(&self) -> ProbeFuture<'_>;
}

/// A probe that finds nothing (V4L2 disabled, or not implemented on this build).
pub struct NoDevices;

impl CameraProbe for NoDevices {
    fn scan(&self) -> ProbeFuture<'_> {
        Box::pin(async { Vec::new() })
    }
}

#[derive(Clone, Debug)]
struct Entry {
    camera: Camera,
    source: CameraSource,
    modes: Vec<Mode>,
    validation: ValidationStatus,
    /// From config (never replaced by a probe result).
    configured: bool,
}

/// Builds the `streams` of a camera object from its id.
pub type StreamUrlsFn = Arc<dyn Fn(&str) -> StreamUrls + Send + Sync>;

/// The registry. Construct with [`CameraRegistry::new`], then spawn [`CameraRegistry::run`].
pub struct CameraRegistry {
    entries: RwLock<HashMap<String, Entry>>,
    probe: Arc<dyn CameraProbe>,
    ffmpeg: Ffmpeg,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    first_scan: AtomicBool,
    scanning: AtomicBool,
    scan_lock: tokio::sync::Mutex<()>,
    /// Serializes device passes (probe + apply), separately from `scan_lock`.
    device_lock: tokio::sync::Mutex<()>,
    max_cameras: usize,
    /// Ids whose shadowing of a local device was already logged, and devices refused for `max_cameras`.
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Why the hotplug watch is not running (`None` when it runs or was never started).
    watch_error: std::sync::Mutex<Option<String>>,
    /// Clock `elapsed()` when the last scan finished.
    last_scan: std::sync::Mutex<Option<Duration>>,
    /// Fills camera objects' `streams` (set once by the MediaMTX backend; `{}` without it).
    stream_urls: std::sync::OnceLock<StreamUrlsFn>,
    changes: broadcast::Sender<StatusChange>,
}

impl CameraRegistry {
    /// Registers the configured cameras: virtual ones `CONNECTED`, network ones `DISCONNECTED` until the
    /// first scan has checked them. Invalid or duplicate ids, and cameras past `max_cameras`, are skipped with
    /// a warning.
    pub fn new(
        config: &CamerasConfig,
        probe: Arc<dyn CameraProbe>,
        ffmpeg: Ffmpeg,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let mut entries = HashMap::new();
        let mut admit = |id: &str, entry: Entry| {
            if !camera_api::methods::is_valid_camera_id(id) {
                tracing::warn!(id, "configured camera skipped: the id must match ^[a-z0-9_]{{1,64}}$");
            } else if entries.contains_key(id) {
                tracing::warn!(id, "configured camera skipped: duplicate id");
            } else if entries.len() >= config.max_cameras {
                tracing::warn!(
                    id,
                    max = config.max_cameras,
                    "configured camera skipped: cameras.max_cameras reached"
                );
            } else {
                entries.insert(id.to_owned(), entry);
            }
        };
        for v in &config.virtual_cameras {
            admit(&v.id, virtual_entry(v));
        }
        for n in &config.network {
            let name = n.name.clone().unwrap_or_else(|| n.id.clone());
            admit(&n.id, network_entry(&n.id, &name, &n.url, true));
        }
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        let registry = Arc::new(CameraRegistry {
            entries: RwLock::new(entries),
            probe,
            ffmpeg,
            events,
            clock,
            first_scan: AtomicBool::new(false),
            scanning: AtomicBool::new(false),
            scan_lock: tokio::sync::Mutex::new(()),
            device_lock: tokio::sync::Mutex::new(()),
            max_cameras: config.max_cameras,
            warned: std::sync::Mutex::new(std::collections::HashSet::new()),
            watch_error: std::sync::Mutex::new(None),
            last_scan: std::sync::Mutex::new(None),
            stream_urls: std::sync::OnceLock::new(),
            changes,
        });
        registry.update_gauge();
        registry
    }

    /// Scans now, then every [`RESCAN_INTERVAL`] of the clock, until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = self.scan() => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
            tokio::select! {
                () = self.clock.sleep(RESCAN_INTERVAL) => {}
                _ = shutdown.wait_for(|down| *down) => return,
            }
        }
    }

    /// Whether the first discovery scan has finished (the readiness gate of API.md §3.5).
    pub fn first_scan_done(&self) -> bool {
        self.first_scan.load(Ordering::Acquire)
    }

    /// Whether a discovery scan is running right now.
    pub fn discovery_active(&self) -> bool {
        self.scanning.load(Ordering::Acquire)
    }

    /// Listens to status changes (bounded; a lagging listener should re-read [`CameraRegistry::camera`]).
    pub fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.changes.subscribe()
    }

    /// Every known camera in natural id order.
    pub fn list(&self) -> Vec<Camera> {
        let mut cameras: Vec<Camera> = self.read().values().map(|e| e.camera.clone()).collect();
        cameras.sort_by(|a, b| natural::natural_cmp(&a.device, &b.device));
        cameras
    }

    /// One camera; -32010 `camera_not_found` when unknown.
    pub fn camera(&self, id: &str) -> crate::Result<Camera> {
        self.read()
            .get(id)
            .map(|e| e.camera.clone())
            .ok_or_else(|| not_found(id))
    }

    /// The capabilities of one camera; -32010 `camera_not_found` when unknown.
    pub fn capabilities(&self, id: &str) -> crate::Result<Capabilities> {
        let entries = self.read();
        let entry = entries.get(id).ok_or_else(|| not_found(id))?;
        let validation = match entry.camera.status {
            CameraStatus::Disconnected if entry.validation == ValidationStatus::Confirmed => {
                ValidationStatus::Disconnected
            }
            _ => entry.validation,
        };
        Ok(summarize(id, &entry.modes, validation))
    }

    /// The source of a camera, whatever its status (the MediaMTX backend keeps a path for every camera).
    pub fn source(&self, id: &str) -> Option<CameraSource> {
        self.read().get(id).map(|e| e.source.clone())
    }

    /// Makes every camera object carry stream URLs from `urls` (MediaMTX backend; set once, before clients
    /// connect). Existing entries are updated without events.
    pub fn set_stream_urls(&self, urls: StreamUrlsFn) {
        if self.stream_urls.set(urls).is_err() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        for (id, entry) in entries.iter_mut() {
            entry.camera.streams = self.streams_for(id);
        }
    }

    fn streams_for(&self, id: &str) -> StreamUrls {
        self.stream_urls.get().map(|f| f(id)).unwrap_or_default()
    }

    /// The source of a camera that can be captured now: -32010 `camera_not_found` when unknown, -32020
    /// `camera_disconnected` when it is not `CONNECTED`.
    pub fn usable_source(&self, id: &str) -> crate::Result<CameraSource> {
        let entries = self.read();
        let entry = entries.get(id).ok_or_else(|| not_found(id))?;
        match entry.camera.status {
            CameraStatus::Connected => Ok(entry.source.clone()),
            status => Err(Error::new(
                ErrorKind::InvalidState,
                "camera_disconnected",
                format!("{id} is {}", status.as_str()),
            )
            .with("resource", "camera")
            .with("id", id)
            .suggest("Check the camera's connection and retry")),
        }
    }

    /// One discovery pass: local devices from the probe, reachability of network cameras. Concurrent callers
    /// wait for the running pass.
    pub async fn scan(&self) {
        let _serial = self.scan_lock.lock().await;
        self.scanning.store(true, Ordering::Release);
        self.rescan_devices().await;
        self.check_network().await;
        self.scanning.store(false, Ordering::Release);
        *self.last_scan.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.elapsed());
        if !self.first_scan.swap(true, Ordering::AcqRel) {
            tracing::info!(cameras = self.read().len(), "first camera discovery scan finished");
        }
    }

    /// One device pass: probe the local devices and apply what was found (hotplug and reconcile use this).
    pub async fn rescan_devices(&self) {
        let _devices = self.device_lock.lock().await;
        let probed = self.probe.scan().await;
        self.apply_probed(probed);
    }

    /// Records why the hotplug watch is not running (reported by the health monitor).
    pub fn set_watch_error(&self, error: Option<String>) {
        *self.watch_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    /// Logs `message` for `id` once per process.
    fn warn_once(&self, id: &str, message: &str) {
        if self
            .warned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned())
        {
            tracing::warn!(id, "{message}");
        }
    }

    fn apply_probed(&self, probed: Vec<ProbedCamera>) {
        let mut seen = Vec::with_capacity(probed.len());
        for p in probed {
            let (shadowed, known, count) = {
                let entries = self.read();
                let existing = entries.get(&p.id);
                (
                    existing.is_some_and(|e| e.configured || e.camera.kind != CameraKind::V4l2),
                    existing.is_some(),
                    entries.len(),
                )
            };
            if shadowed {
                self.warn_once(
                    &p.id,
                    "a configured camera uses this id; the local device is not exposed",
                );
                continue;
            }
            if !known && count >= self.max_cameras {
                self.warn_once(&p.id, "local device not exposed: cameras.max_cameras reached");
                continue;
            }
            seen.push(p.id.clone());
            if let Some(reason) = &p.error {
                let was_error = self
                    .read()
                    .get(&p.id)
                    .is_some_and(|e| e.camera.status == CameraStatus::Error);
                if !was_error {
                    tracing::warn!(id = p.id, reason, "video device cannot be used");
                    self.events.publish(
                        "camera.capability_error",
                        json!({"device": p.id, "reason": "probe_failed", "message": reason}),
                    );
                }
            }
            let (resolution, fps) = p
                .current
                .map_or((String::new(), 0), |(w, h, f)| (format!("{w}x{h}"), f));
            let camera = Camera {
                device: p.id.clone(),
                status: if p.error.is_some() {
                    CameraStatus::Error
                } else {
                    CameraStatus::Connected
                },
                name: p.name,
                resolution,
                fps,
                streams: StreamUrls::default(),
                kind: CameraKind::V4l2,
            };
            let validation = if p.modes.is_empty() {
                ValidationStatus::None
            } else {
                ValidationStatus::Confirmed
            };
            self.apply(Entry {
                camera,
                source: p.source,
                modes: p.modes,
                validation,
                configured: false,
            });
        }
        let gone: Vec<Entry> = self
            .read()
            .values()
            .filter(|e| {
                e.camera.kind == CameraKind::V4l2
                    && !e.configured
                    && e.camera.status != CameraStatus::Disconnected
                    && !seen.contains(&e.camera.device)
            })
            .cloned()
            .collect();
        for mut entry in gone {
            entry.camera.status = CameraStatus::Disconnected;
            self.apply(entry);
        }
    }

    async fn check_network(&self) {
        let network: Vec<Entry> = self
            .read()
            .values()
            .filter(|e| e.camera.kind == CameraKind::Network)
            .cloned()
            .collect();
        let checks = network.into_iter().map(|entry| async move {
            let CameraSource::Rtsp { url } = &entry.source else {
                return entry;
            };
            let reachable = network::check_reachable(url, REACHABILITY_TIMEOUT).await;
            self.network_result(entry.clone(), reachable).await
        });
        for entry in futures_util::future::join_all(checks).await {
            self.apply_if_current(entry);
        }
    }

    /// Applies a network check result unless the camera was removed (or its source changed) meanwhile.
    fn apply_if_current(&self, entry: Entry) {
        let current = self
            .read()
            .get(&entry.camera.device)
            .is_some_and(|e| e.source == entry.source);
        if current {
            self.apply(entry);
        }
    }

    /// Adds a network camera at run time (an external stream): -32020 `device_exists` when the id is taken,
    /// `camera_limit_reached` at `cameras.max_cameras`. Its status comes from a reachability check (bounded by
    /// [`REACHABILITY_TIMEOUT`]); capabilities are probed in the background.
    pub async fn add_network(self: &Arc<Self>, id: &str, name: &str, url: &str) -> crate::Result<CameraStatus> {
        self.check_can_add(id)?;
        let reachable = network::check_reachable(url, REACHABILITY_TIMEOUT).await;
        if let Err(why) = &reachable {
            tracing::info!(
                id,
                url = network::redact(url),
                why,
                "added network camera is unreachable"
            );
        }
        let status = if reachable.is_ok() {
            CameraStatus::Connected
        } else {
            CameraStatus::Disconnected
        };
        {
            // Re-check under the write lock: another add may have taken the id meanwhile.
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            if entries.contains_key(id) {
                return Err(device_exists(id));
            }
            entries.insert(id.to_owned(), placeholder(id));
        }
        let mut entry = network_entry(id, name, url, false);
        entry.camera.status = status;
        self.force_apply(entry);
        if status == CameraStatus::Connected {
            let registry = Arc::clone(self);
            let id = id.to_owned();
            tokio::spawn(async move { registry.check_one(&id).await });
        }
        Ok(status)
    }

    /// Registers a persisted network camera at start-up without checking it (the first scan does): the same
    /// rules as [`CameraRegistry::add_network`].
    pub fn restore_network(&self, id: &str, name: &str, url: &str) -> crate::Result<()> {
        self.check_can_add(id)?;
        self.apply(network_entry(id, name, url, false));
        Ok(())
    }

    fn check_can_add(&self, id: &str) -> crate::Result<()> {
        let entries = self.read();
        if entries.contains_key(id) {
            return Err(device_exists(id));
        }
        if entries.len() >= self.max_cameras {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "camera_limit_reached",
                format!("cameras.max_cameras ({}) cameras are known already", self.max_cameras),
            )
            .with("resource", "camera")
            .with("id", id)
            .suggest("Remove an external stream or raise cameras.max_cameras"));
        }
        Ok(())
    }

    /// Whether `id` is a camera defined in the configuration file.
    pub fn is_configured(&self, id: &str) -> bool {
        self.read().get(id).is_some_and(|e| e.configured)
    }

    /// URLs of the network cameras defined in the configuration file.
    pub fn configured_network_urls(&self) -> Vec<String> {
        self.read()
            .values()
            .filter(|e| e.configured)
            .filter_map(|e| match &e.source {
                CameraSource::Rtsp { url } => Some(url.clone()),
                _ => None,
            })
            .collect()
    }

    /// The ids of every known camera (for deriving fresh ids).
    pub fn ids(&self) -> std::collections::HashSet<String> {
        self.read().keys().cloned().collect()
    }

    /// Removes a run-time network camera: publishes `camera_status_update` (with `removed: true`) and
    /// `camera.disconnected` (`removed: true`), and tells listeners it is `DISCONNECTED` (a recording of it ends).
    /// Returns false when there was no such camera.
    pub fn remove_network(&self, id: &str) -> bool {
        let removed = {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            match entries.get(id) {
                Some(e) if !e.configured && e.camera.kind == CameraKind::Network => entries.remove(id),
                _ => None,
            }
        };
        let Some(entry) = removed else {
            return false;
        };
        let mut camera = serde_json::to_value(&entry.camera).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut camera {
            map.insert("status".into(), json!("DISCONNECTED"));
            map.insert("removed".into(), json!(true));
        }
        self.events.publish("camera_status_update", camera);
        self.events.publish(
            "camera.disconnected",
            json!({"device": id, "name": entry.camera.name, "status": "DISCONNECTED", "removed": true}),
        );
        let _ = self.changes.send(StatusChange {
            device: id.to_owned(),
            old: Some(entry.camera.status),
            new: CameraStatus::Disconnected,
        });
        tracing::info!(device = id, "network camera removed");
        self.update_gauge();
        true
    }

    /// Checks one network camera now (reachability, then capabilities once).
    pub async fn check_one(&self, id: &str) {
        let Some(entry) = self.read().get(id).cloned() else {
            return;
        };
        let CameraSource::Rtsp { url } = &entry.source else {
            return;
        };
        let reachable = network::check_reachable(url, REACHABILITY_TIMEOUT).await;
        let entry = self.network_result(entry, reachable).await;
        self.apply_if_current(entry);
    }

    /// Replaces an entry and publishes as if it were new (used after reserving the id with a placeholder).
    fn force_apply(&self, new: Entry) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&new.camera.device);
        self.apply(new);
    }

    async fn network_result(&self, mut entry: Entry, reachable: Result<(), String>) -> Entry {
        let id = entry.camera.device.clone();
        let CameraSource::Rtsp { url } = entry.source.clone() else {
            return entry;
        };
        match reachable {
            Err(why) => {
                if entry.camera.status != CameraStatus::Disconnected {
                    tracing::info!(id, url = network::redact(&url), why, "network camera unreachable");
                }
                entry.camera.status = CameraStatus::Disconnected;
            }
            Ok(()) => {
                entry.camera.status = CameraStatus::Connected;
                if entry.validation != ValidationStatus::Confirmed {
                    let args = vec!["-rtsp_transport".to_owned(), "tcp".to_owned()];
                    match self.ffmpeg.probe(&url, &args, STREAM_PROBE_TIMEOUT).await {
                        Ok(info) => match (info.width, info.height) {
                            (Some(w), Some(h)) => {
                                let fps = info.fps.map_or(0, |f| f.round() as u32);
                                let format = info.codec.unwrap_or_default().to_ascii_uppercase();
                                entry.modes = vec![Mode {
                                    format,
                                    width: w,
                                    height: h,
                                    fps: vec![fps],
                                }];
                                entry.camera.resolution = format!("{w}x{h}");
                                entry.camera.fps = fps;
                                entry.validation = ValidationStatus::Confirmed;
                            }
                            _ => self.capability_error(&id, "no video stream found"),
                        },
                        Err(e) => {
                            let message = e.into_error("capture_failed", "stream probe").details;
                            self.capability_error(&id, &network::redact(&message));
                        }
                    }
                }
            }
        }
        entry
    }

    fn capability_error(&self, id: &str, message: &str) {
        self.events.publish(
            "camera.capability_error",
            json!({"device": id, "reason": "probe_failed", "message": message}),
        );
    }

    /// Replaces a camera's entry and tells everyone what changed.
    fn apply(&self, mut new: Entry) {
        let id = new.camera.device.clone();
        new.camera.streams = self.streams_for(&id);
        let old = {
            let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
            entries.insert(id.clone(), new.clone())
        };
        let old_camera = old.as_ref().map(|e| &e.camera);
        if old_camera == Some(&new.camera)
            && old
                .as_ref()
                .is_some_and(|o| o.modes == new.modes && o.validation == new.validation)
        {
            return;
        }
        let old_status = old_camera.map(|c| c.status);
        let camera = serde_json::to_value(&new.camera).unwrap_or(Value::Null);
        if old_camera != Some(&new.camera) {
            self.events.publish("camera_status_update", camera.clone());
        }
        if old_status != Some(new.camera.status) {
            if let Some(old_status) = old_status {
                self.events.publish(
                    "camera.status_change",
                    json!({"device": id, "name": new.camera.name, "old_status": old_status, "new_status": new.camera.status}),
                );
            }
            match new.camera.status {
                CameraStatus::Connected => self.events.publish("camera.connected", camera),
                CameraStatus::Disconnected => self.events.publish(
                    "camera.disconnected",
                    json!({"device": id, "name": new.camera.name, "status": "DISCONNECTED", "removed": false}),
                ),
                CameraStatus::Error => {}
            }
            let _ = self.changes.send(StatusChange {
                device: id.clone(),
                old: old_status,
                new: new.camera.status,
            });
            tracing::info!(
                device = id,
                old = old_status.map(CameraStatus::as_str),
                new = new.camera.status.as_str(),
                at = format_timestamp(self.clock.now()),
                "camera status changed"
            );
        }
        let newly_confirmed = new.validation == ValidationStatus::Confirmed
            && old
                .as_ref()
                .is_none_or(|o| o.validation != ValidationStatus::Confirmed || o.modes != new.modes);
        if newly_confirmed {
            let caps = summarize(&id, &new.modes, new.validation);
            self.events.publish(
                "camera.capability_detected",
                json!({"device": id, "formats": caps.formats, "resolutions": caps.resolutions,
                       "fps_options": caps.fps_options, "validation_status": caps.validation_status}),
            );
        }
        self.update_gauge();
    }

    fn update_gauge(&self) {
        let entries = self.read();
        for kind in CameraKind::ALL {
            for status in CameraStatus::ALL {
                let n = entries
                    .values()
                    .filter(|e| e.camera.kind == kind && e.camera.status == status)
                    .count();
                metrics::gauge!("camera_service_cameras", "status" => status.as_str(), "type" => kind.as_str())
                    .set(n as f64);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Entry>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// A network camera entry, `DISCONNECTED` until checked.
fn network_entry(id: &str, name: &str, url: &str, configured: bool) -> Entry {
    Entry {
        camera: Camera {
            device: id.to_owned(),
            status: CameraStatus::Disconnected,
            name: name.to_owned(),
            resolution: String::new(),
            fps: 0,
            streams: StreamUrls::default(),
            kind: CameraKind::Network,
        },
        source: CameraSource::Rtsp { url: url.to_owned() },
        modes: Vec::new(),
        validation: ValidationStatus::None,
        configured,
    }
}

/// Holds an id while an add is completing (never published).
fn placeholder(id: &str) -> Entry {
    network_entry(id, id, "", false)
}

fn device_exists(id: &str) -> Error {
    Error::new(
        ErrorKind::InvalidState,
        "device_exists",
        format!("{id} is already in use"),
    )
    .with("resource", "camera")
    .with("id", id)
    .suggest("Choose another device id")
}

fn virtual_entry(v: &crate::config::VirtualCameraConfig) -> Entry {
    let pattern_ok = !v.pattern.is_empty() && v.pattern.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !pattern_ok {
        tracing::warn!(
            id = v.id,
            pattern = v.pattern,
            "virtual camera pattern must be a plain lavfi source name"
        );
    }
    let camera = Camera {
        device: v.id.clone(),
        status: if pattern_ok {
            CameraStatus::Connected
        } else {
            CameraStatus::Error
        },
        name: v
            .name
            .clone()
            .unwrap_or_else(|| format!("Virtual camera ({})", v.pattern)),
        resolution: format!("{}x{}", v.width, v.height),
        fps: v.fps,
        streams: StreamUrls::default(),
        kind: CameraKind::Virtual,
    };
    let source = CameraSource::Lavfi {
        pattern: v.pattern.clone(),
        width: v.width,
        height: v.height,
        fps: v.fps,
    };
    let modes = vec![Mode {
        format: "RGB24".into(),
        width: v.width,
        height: v.height,
        fps: vec![v.fps],
    }];
    Entry {
        camera,
        source,
        modes,
        validation: ValidationStatus::Confirmed,
        configured: true,
    }
}

/// Builds the capabilities summary: distinct formats (first-seen order), resolutions largest first, frame
/// rates descending.
fn summarize(id: &str, modes: &[Mode], validation: ValidationStatus) -> Capabilities {
    let mut formats: Vec<String> = Vec::new();
    let mut sizes: Vec<(u32, u32)> = Vec::new();
    let mut rates: Vec<u32> = Vec::new();
    for m in modes {
        if !formats.contains(&m.format) {
            formats.push(m.format.clone());
        }
        if !sizes.contains(&(m.width, m.height)) {
            sizes.push((m.width, m.height));
        }
        rates.extend(m.fps.iter().copied().filter(|f| *f > 0));
    }
    sizes.sort_by(|a, b| {
        (u64::from(b.0) * u64::from(b.1))
            .cmp(&(u64::from(a.0) * u64::from(a.1)))
            .then(b.0.cmp(&a.0))
    });
    rates.sort_unstable_by(|a, b| b.cmp(a));
    rates.dedup();
    Capabilities {
        device: id.to_owned(),
        formats,
        resolutions: sizes.iter().map(|(w, h)| format!("{w}x{h}")).collect(),
        fps_options: rates.clone(),
        frame_rates: rates,
        modes: modes.to_vec(),
        validation_status: validation,
    }
}

/// What the health monitor's `camera_monitor` component reports.
impl crate::health::CameraMonitorProbe for CameraRegistry {
    fn snapshot(&self) -> crate::health::CameraMonitorSnapshot {
        let age = self
            .last_scan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|at| self.clock.elapsed().saturating_sub(at));
        let cameras = self.list();
        crate::health::CameraMonitorSnapshot {
            first_scan_done: self.first_scan_done(),
            discovery_active: self.discovery_active(),
            watch_error: self.watch_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            reconcile_overdue: age.is_some_and(|a| a > RESCAN_INTERVAL * 3),
            last_scan_age: age,
            connected: cameras
                .iter()
                .filter(|c| c.status == CameraStatus::Connected)
                .map(|c| c.device.clone())
                .collect(),
            total: cameras.len(),
            errored: cameras.iter().filter(|c| c.status == CameraStatus::Error).count(),
        }
    }
}

// ---- wire conversions (camera-api contract types) ----

impl From<&Camera> for camera_api::types::Camera {
    fn from(c: &Camera) -> Self {
        camera_api::types::Camera {
            device: c.device.clone(),
            status: c.status.as_str().to_owned(),
            name: c.name.clone(),
            resolution: c.resolution.clone(),
            fps: c.fps,
            streams: c.streams.clone(),
            r#type: c.kind.as_str().to_owned(),
        }
    }
}

impl From<&Mode> for camera_api::types::CaptureMode {
    fn from(m: &Mode) -> Self {
        camera_api::types::CaptureMode {
            format: m.format.clone(),
            width: m.width,
            height: m.height,
            fps: m.fps.clone(),
        }
    }
}

impl ValidationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationStatus::Confirmed => "CONFIRMED",
            ValidationStatus::None => "NONE",
            ValidationStatus::Disconnected => "DISCONNECTED",
        }
    }
}

impl From<&Capabilities> for camera_api::types::GetCameraCapabilitiesResult {
    fn from(c: &Capabilities) -> Self {
        camera_api::types::GetCameraCapabilitiesResult {
            device: c.device.clone(),
            formats: c.formats.clone(),
            resolutions: c.resolutions.clone(),
            fps_options: c.fps_options.clone(),
            frame_rates: c.frame_rates.clone(),
            modes: c.modes.iter().map(Into::into).collect(),
            validation_status: c.validation_status.as_str().to_owned(),
        }
    }
}

fn not_found(id: &str) -> Error {
    Error::not_found("camera_not_found", "camera", id).suggest("Call get_camera_list for the known cameras")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::{NetworkCameraConfig, VirtualCameraConfig};

    pub(crate) fn virtual_config(ids: &[&str]) -> CamerasConfig {
        CamerasConfig {
            virtual_cameras: ids
                .iter()
                .map(|id| VirtualCameraConfig {
                    id: (*id).to_owned(),
                    ..VirtualCameraConfig::default()
                })
                .collect(),
            ..CamerasConfig::default()
        }
    }

    fn registry(config: &CamerasConfig) -> (Arc<CameraRegistry>, Arc<EventBus>) {
        let events = crate::events::EventBus::new_for_tests();
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let r = CameraRegistry::new(
            config,
            Arc::new(NoDevices),
            Ffmpeg::default(),
            Arc::clone(&events),
            clock,
        );
        (r, events)
    }

    #[tokio::test]
    async fn virtual_cameras_are_listed_in_natural_order() {
        let (r, _) = registry(&virtual_config(&["camera10", "camera2", "front", "Bad-Id", "camera2"]));
        assert!(!r.first_scan_done());
        r.scan().await;
        assert!(r.first_scan_done());
        let ids: Vec<String> = r.list().into_iter().map(|c| c.device).collect();
        assert_eq!(ids, ["camera2", "camera10", "front"]);
        let cam = r.camera("camera2").expect("known");
        let v = serde_json::to_value(&cam).expect("json");
        assert_eq!(
            v,
            json!({"device":"camera2","status":"CONNECTED","name":"Virtual camera (testsrc)","resolution":"640x480",
                   "fps":15,"streams":{},"type":"virtual"})
        );
        let caps = serde_json::to_value(r.capabilities("camera2").expect("caps")).expect("json");
        assert_eq!(caps["resolutions"], json!(["640x480"]));
        assert_eq!(caps["fps_options"], json!([15]));
        assert_eq!(caps["frame_rates"], json!([15]));
        assert_eq!(caps["validation_status"], json!("CONFIRMED"));
        assert_eq!(caps["modes"][0]["fps"], json!([15]));
        let err = r.camera("nope").expect_err("unknown");
        assert_eq!(err.reason, "camera_not_found");
        assert!(matches!(r.usable_source("camera2"), Ok(CameraSource::Lavfi { .. })));
    }

    #[tokio::test]
    async fn run_scans_until_shutdown_and_reports_to_health() {
        use crate::health::CameraMonitorProbe;
        let (r, _) = registry(&virtual_config(&["camera0", "camera1"]));
        assert!(!r.snapshot().first_scan_done);
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(Arc::clone(&r).run(shutdown));
        tokio::time::timeout(Duration::from_secs(5), async {
            while !r.first_scan_done() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("first scan");
        let snap = r.snapshot();
        assert!(snap.first_scan_done && !snap.reconcile_overdue);
        assert_eq!(
            (snap.connected, snap.total, snap.errored),
            (vec!["camera0".to_owned(), "camera1".to_owned()], 2, 0)
        );
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("run ends on shutdown")
            .expect("join");
    }

    #[tokio::test]
    async fn unreachable_network_camera_is_disconnected() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let mut config = virtual_config(&[]);
        config.network.push(NetworkCameraConfig {
            id: "door".into(),
            name: Some("Front door".into()),
            url: format!("rtsp://user:pw@127.0.0.1:{port}/live"),
        });
        let (r, events) = registry(&config);
        r.scan().await;
        let cam = r.camera("door").expect("listed");
        assert_eq!(cam.status, CameraStatus::Disconnected);
        assert_eq!(cam.kind, CameraKind::Network);
        let err = r.usable_source("door").expect_err("not usable");
        assert_eq!(err.reason, "camera_disconnected");
        assert_eq!(
            r.capabilities("door").expect("caps").validation_status,
            ValidationStatus::None
        );
        // Registered as DISCONNECTED and still so: no event.
        assert!(events.log.lock().expect("log").is_empty());
    }

    struct FakeProbe(std::sync::Mutex<Vec<ProbedCamera>>);
    impl CameraProbe for FakeProbe {
        fn scan(&self) -> ProbeFuture<'_> {
            let found = self.0.lock().expect("lock").clone();
            Box::pin(async move { found })
        }
    }

    #[tokio::test]
    async fn probed_devices_come_and_go_with_events() {
        let usb = ProbedCamera {
            id: "camera1".into(),
            name: "USB Camera".into(),
            source: CameraSource::V4l2 {
                path: "/dev/video1".into(),
            },
            modes: vec![
                Mode {
                    format: "YUYV".into(),
                    width: 640,
                    height: 480,
                    fps: vec![30, 15],
                },
                Mode {
                    format: "MJPG".into(),
                    width: 1280,
                    height: 720,
                    fps: vec![30],
                },
            ],
            current: Some((1280, 720, 30)),
            error: None,
        };
        let shadowed = ProbedCamera {
            id: "camera0".into(),
            ..usb.clone()
        };
        let probe = Arc::new(FakeProbe(std::sync::Mutex::new(vec![usb, shadowed])));
        let events = crate::events::EventBus::new_for_tests();
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let r = CameraRegistry::new(
            &virtual_config(&["camera0"]),
            probe.clone(),
            Ffmpeg::default(),
            events.clone(),
            clock,
        );
        let mut changes = r.subscribe();
        r.scan().await;
        assert_eq!(
            r.camera("camera0").expect("virtual").kind,
            CameraKind::Virtual,
            "config wins"
        );
        let caps = r.capabilities("camera1").expect("caps");
        assert_eq!(caps.resolutions, ["1280x720", "640x480"]);
        assert_eq!(caps.fps_options, [30, 15]);
        assert_eq!(caps.formats, ["YUYV", "MJPG"]);
        let topics: Vec<String> = events.log.lock().expect("log").iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(
            topics,
            ["camera_status_update", "camera.connected", "camera.capability_detected"]
        );
        assert_eq!(changes.try_recv().expect("change").new, CameraStatus::Connected);

        probe.0.lock().expect("lock").clear();
        r.scan().await;
        assert_eq!(
            r.camera("camera1").expect("still listed").status,
            CameraStatus::Disconnected
        );
        assert_eq!(
            r.capabilities("camera1").expect("caps").validation_status,
            ValidationStatus::Disconnected
        );
        let log = events.log.lock().expect("log");
        let topics: Vec<&str> = log.iter().skip(3).map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            topics,
            ["camera_status_update", "camera.status_change", "camera.disconnected"]
        );
        assert_eq!(
            log[5].1,
            json!({"device":"camera1","name":"USB Camera","status":"DISCONNECTED","removed":false})
        );
    }

    #[tokio::test]
    async fn a_vanishing_device_ends_its_recording_with_device_disconnected() {
        use crate::media::recorder::{Recorder, StartRequest};
        let h = crate::media::test_support::harness().await;
        let cam = ProbedCamera {
            id: "camera7".into(),
            name: "Fake USB".into(),
            // A lavfi source stands in for the device node, so ffmpeg really records.
            source: CameraSource::Lavfi {
                pattern: "testsrc".into(),
                width: 320,
                height: 240,
                fps: 10,
            },
            modes: Vec::new(),
            current: Some((320, 240, 10)),
            error: None,
        };
        let probe = Arc::new(FakeProbe(std::sync::Mutex::new(vec![cam])));
        let r = CameraRegistry::new(
            &h.config.cameras,
            probe.clone(),
            Ffmpeg::default(),
            Arc::clone(&h.events),
            h.clock.clone(),
        );
        r.scan().await;
        let recorder = Recorder::new(
            &h.config,
            Arc::clone(&r),
            Ffmpeg::default(),
            Arc::clone(&h.events),
            h.clock.clone(),
            h.store.clone(),
        );
        recorder
            .start(StartRequest {
                device: "camera7".into(),
                duration: None,
                format: None,
            })
            .await
            .expect("recording starts");
        assert!(recorder.status("camera7").active);
        probe.0.lock().expect("lock").clear();
        r.rescan_devices().await;
        let ended = crate::media::test_support::eventually(Duration::from_secs(10), || {
            !h.payloads("recording.error").is_empty()
        })
        .await;
        assert!(ended, "recording.error published");
        assert_eq!(h.payloads("recording.error")[0]["reason"], "device_disconnected");
        assert!(!recorder.status("camera7").active);
    }
}
