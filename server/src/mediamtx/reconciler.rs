//! The reconciler: keeps MediaMTX in step with the desired state and tells the rest of the service what
//! MediaMTX is doing.
//!
//! Every [`POLL_INTERVAL`] of the injected clock (or at once when woken) it:
//! 1. reads `GET /v3/info` — the link is up or down; a changed `started` means MediaMTX restarted and lost
//!    every path added through the API (versions before v1.15 have no `/v3/info`: a 404 counts as up, and a
//!    restart shows up as drift instead);
//! 2. applies the desired paths ([`super::desired`]) with replace semantics: all of them after a restart or a
//!    reconnect, otherwise the ones whose desired configuration changed, and every [`DRIFT_CHECK_INTERVAL`]
//!    the ones whose configuration in MediaMTX differs from the desired one or is missing; paths it created
//!    and no longer wants are deleted. Paths it did not create are never touched;
//! 3. reads `GET /v3/paths/list` and publishes `mediamtx.*` events for the managed paths that changed.
//!
//! Invariants:
//! - The link state is the one answer to "can MediaMTX be used right now": while it is down every caller gets
//!   -32050 `mediamtx_unavailable` without a network round trip ([`Reconciler::ensure_up`]). Any request that
//!   finds MediaMTX unreachable turns the link down at once and wakes the loop, which turns it up again as soon
//!   as MediaMTX answers. Transitions bump a generation on a watch channel (the app turns that into a health
//!   refresh, hence a `system_health_update`) and set `camera_service_mediamtx_up`. A caller's request in flight
//!   when the link goes down ends at once with -32050, and one slower than [`SLOW_REQUEST_PROBE`] probes
//!   MediaMTX (`/v3/info` always connects afresh), so a MediaMTX that dies under a kept-alive connection never
//!   holds a caller for the whole request timeout.
//! - Applies are serialized by an async mutex; the state lock is a std mutex never held across an await.
//! - Readers the service itself runs (the keepalive readers of pinned streams and recordings) are counted with
//!   [`Reconciler::add_own_reader`] / [`Reconciler::remove_own_reader`] and never counted as viewers.
//! - Frame health of a path ([`Reconciler::path_health`], for `get_metrics`): MediaMTX has no per-frame signal,
//!   so a path that is available counts as a running pipeline, and "a frame arrived" means its received-bytes
//!   counter grew between two polls (resolution: one poll). `measured_fps` is never known here.
//! - The `record` flag of a path is desired state like the rest (the record set): [`Reconciler::set_record`]
//!   changes it and applies it at once (or fails and leaves it as it was), [`Reconciler::clear_record`] turns
//!   it off and lets the loop apply it whenever MediaMTX answers; restarts and drift re-apply it like any field.

use super::client::{ClientError, MediamtxClient, PathConfWrite, PathState};
use super::desired::{PathSettings, drift, path_conf};
use crate::cameras::CameraRegistry;
use crate::clock::Clock;
use crate::events::EventBus;
use crate::health::{ComponentReport, ComponentState, HealthStatus};
use crate::media::frame_health::{FrameHealth, LastFrame, judge};
use camera_api::types::StreamItem;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How often MediaMTX is polled.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often the configuration in MediaMTX is compared with the desired one.
pub const DRIFT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// A restart seen less than this long ago makes the health component `degraded`.
pub const RESTART_DEGRADED_FOR: Duration = Duration::from_secs(60);
/// Window of the `bitrate` figure.
pub const BITRATE_WINDOW: Duration = Duration::from_secs(10);
/// A caller's request that has had no answer for this long probes MediaMTX at once (real time: it bounds the
/// network, like the client's timeouts).
pub const SLOW_REQUEST_PROBE: Duration = Duration::from_millis(250);
/// Oldest MediaMTX with Control API v3 path semantics the service supports.
pub const MIN_VERSION: (u64, u64, u64) = (1, 2, 0);
/// Byte-count samples kept per path (one per poll; a little more than the bitrate window).
const SAMPLES_KEPT: usize = 16;

/// Whether MediaMTX can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not contacted yet.
    Unknown,
    Up,
    Down,
}

/// What is known about the MediaMTX instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub state: LinkState,
    /// `None` before the first answer, or for versions without `/v3/info` (before v1.15).
    pub version: Option<String>,
    pub started: Option<String>,
    /// Why it is down.
    pub error: Option<String>,
    /// `clock.elapsed()` when a restart was last seen.
    pub last_restart: Option<Duration>,
}

struct Inner {
    link: Link,
    /// What MediaMTX holds from us, as far as we know (name → configuration sent).
    applied: BTreeMap<String, PathConfWrite>,
    /// Apply every desired path at the next poll (start, reconnect, restart).
    full_apply: bool,
    last_drift_check: Option<Duration>,
    /// Rejections already reported (name → message), so a rejected path is reported once per message.
    rejected: HashMap<String, String>,
    /// Runtime state of the managed paths at the last poll.
    runtime: BTreeMap<String, PathState>,
    /// `(elapsed, bytes sent)` per path, newest last.
    samples: HashMap<String, VecDeque<(Duration, u64)>>,
    own_readers: HashMap<String, u64>,
    /// Paths whose `record` flag is desired on (cameras being recorded).
    recording: BTreeSet<String>,
    /// Received-bytes growth of the available managed paths.
    ingest: HashMap<String, Ingest>,
}

/// What the polls saw a path receive while it is available.
struct Ingest {
    /// Received-bytes counter at the last poll.
    bytes: u64,
    /// Clock `elapsed()` when the path was first seen available.
    since: Duration,
    /// The last poll that saw the counter grow.
    last: Option<LastFrame>,
}

/// See the module docs. Construct with [`Reconciler::new`], then spawn [`Reconciler::run`].
pub struct Reconciler {
    client: MediamtxClient,
    cameras: Arc<CameraRegistry>,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    settings: PathSettings,
    inner: Mutex<Inner>,
    apply_lock: tokio::sync::Mutex<()>,
    /// Held by the one slow caller that probes MediaMTX ([`Reconciler::for_caller`]).
    probe_lock: tokio::sync::Mutex<()>,
    wake: Notify,
    generation: watch::Sender<u64>,
}

impl Reconciler {
    pub fn new(
        client: MediamtxClient,
        cameras: Arc<CameraRegistry>,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
        settings: PathSettings,
    ) -> Arc<Reconciler> {
        let (generation, _) = watch::channel(0);
        metrics::gauge!("camera_service_mediamtx_up").set(0.0);
        Arc::new(Reconciler {
            client,
            cameras,
            events,
            clock,
            settings,
            inner: Mutex::new(Inner {
                link: Link {
                    state: LinkState::Unknown,
                    version: None,
                    started: None,
                    error: None,
                    last_restart: None,
                },
                applied: BTreeMap::new(),
                full_apply: true,
                last_drift_check: None,
                rejected: HashMap::new(),
                runtime: BTreeMap::new(),
                samples: HashMap::new(),
                own_readers: HashMap::new(),
                recording: BTreeSet::new(),
                ingest: HashMap::new(),
            }),
            apply_lock: tokio::sync::Mutex::new(()),
            probe_lock: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            generation,
        })
    }

    /// Polls now and then every [`POLL_INTERVAL`] (sooner when woken) until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = self.poll_once() => {}
                () = super::stopped(&mut shutdown) => return,
            }
            tokio::select! {
                () = self.clock.sleep(POLL_INTERVAL) => {}
                () = self.wake.notified() => {}
                () = super::stopped(&mut shutdown) => return,
            }
        }
    }

    /// Asks the loop for a poll now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One round: info, apply, runtime state. Failures are absorbed into the link state.
    pub async fn poll_once(&self) {
        if !self.check_info().await {
            return;
        }
        if let Err(e) = self.sync_config().await {
            self.on_error(&e);
            if e.is_unreachable() || e.is_auth() {
                return;
            }
        }
        match self.client.paths().await {
            Ok(paths) => self.update_runtime(paths),
            Err(e) => self.on_error(&e),
        }
    }

    /// `GET /v3/info` into the link state; `true` when MediaMTX is usable.
    async fn check_info(&self) -> bool {
        match self.client.info().await {
            Ok(info) => self.link_up(Some(info.version), Some(info.started)),
            // Before v1.15 there is no /v3/info; the API answered, so MediaMTX is there.
            Err(ClientError::Status { status: 404, .. }) => self.link_up(None, None),
            Err(e) => {
                self.link_down(&e.to_string());
                false
            }
        }
    }

    /// The link as of now.
    pub fn link(&self) -> Link {
        self.lock().link.clone()
    }

    /// Bumps on every link transition (up, down, restart).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// `Ok` when MediaMTX is usable; else -32050 `mediamtx_unavailable` at once.
    pub fn ensure_up(&self) -> crate::Result<()> {
        let link = self.link();
        match link.state {
            LinkState::Up => Ok(()),
            LinkState::Unknown => Err(super::mediamtx_unavailable("MediaMTX has not been reached yet")),
            LinkState::Down => Err(super::mediamtx_unavailable(format!(
                "MediaMTX is unavailable: {}",
                link.error.as_deref().unwrap_or("not answering")
            ))),
        }
    }

    /// A fresh read of one path (`None`: not configured in MediaMTX).
    pub async fn fetch_path(&self, name: &str) -> crate::Result<Option<PathState>> {
        self.ensure_up()?;
        self.for_caller(self.client.path(name)).await
    }

    /// A fresh read of every path.
    pub async fn fetch_paths(&self) -> crate::Result<Vec<PathState>> {
        self.ensure_up()?;
        self.for_caller(self.client.paths()).await
    }

    /// Runs a request a caller waits for. It ends early with -32050 when the link goes down meanwhile: a request
    /// on a kept-alive connection that a dying MediaMTX never answers would otherwise hold the caller for the
    /// whole request timeout. When no answer came within [`SLOW_REQUEST_PROBE`], MediaMTX is probed
    /// (`GET /v3/info` on a fresh connection), which turns the link down if MediaMTX is gone.
    async fn for_caller<T>(
        &self,
        request: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> crate::Result<T> {
        let mut transitions = self.subscribe();
        let request = std::pin::pin!(request);
        let probe = async {
            tokio::time::sleep(SLOW_REQUEST_PROBE).await;
            // One probe at a time; other slow callers learn its verdict from the link state.
            if let Ok(_only) = self.probe_lock.try_lock() {
                self.check_info().await;
            }
            std::future::pending::<std::convert::Infallible>().await
        };
        let down = async {
            loop {
                if self.link().state != LinkState::Up {
                    return;
                }
                if transitions.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            answer = request => answer.map_err(|e| self.fail(&e)),
            () = down => Err(self.ensure_up().err().unwrap_or_else(|| {
                super::mediamtx_unavailable("MediaMTX went away during the request")
            })),
            never = probe => match never {},
        }
    }

    /// Makes sure the path of `name` is configured as desired (applies it now if it is not known to be).
    pub async fn ensure_path(&self, name: &str) -> crate::Result<()> {
        self.ensure_up()?;
        let Some(conf) = self.desired().remove(name) else {
            return Err(crate::Error::internal(format!("no desired MediaMTX path for {name}")));
        };
        let _serial = self.apply_lock.lock().await;
        if self.lock().applied.get(name) == Some(&conf) {
            return Ok(());
        }
        self.for_caller(self.client.replace_path(name, &conf)).await?;
        self.lock().applied.insert(name.to_owned(), conf);
        Ok(())
    }

    /// The last polled state of a managed path.
    pub fn cached(&self, name: &str) -> Option<PathState> {
        self.lock().runtime.get(name).cloned()
    }

    /// The last polled state of every managed path.
    pub fn cached_all(&self) -> Vec<PathState> {
        self.lock().runtime.values().cloned().collect()
    }

    /// Viewers of a path in `state` (readers minus the service's own).
    pub fn viewers(&self, state: &PathState) -> u64 {
        let own = self.lock().own_readers.get(&state.name).copied().unwrap_or(0);
        (state.readers.len() as u64).saturating_sub(own)
    }

    /// Counts one more reader of `name` as the service's own (a keepalive reader connected).
    pub fn add_own_reader(&self, name: &str) {
        *self.lock().own_readers.entry(name.to_owned()).or_default() += 1;
    }

    /// Counts one reader of `name` less as the service's own.
    pub fn remove_own_reader(&self, name: &str) {
        let mut inner = self.lock();
        if let Some(count) = inner.own_readers.get_mut(name) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                inner.own_readers.remove(name);
            }
        }
    }

    /// Whether the `record` flag of `name` is desired on (the service records that camera).
    pub fn is_recording(&self, name: &str) -> bool {
        self.lock().recording.contains(name)
    }

    /// Turns the `record` flag of `name` on or off and applies the path now. When MediaMTX is unreachable or
    /// refuses, the flag goes back to what it was and the error is -32050 `mediamtx_unavailable`.
    pub async fn set_record(&self, name: &str, on: bool) -> crate::Result<()> {
        self.ensure_up()?;
        let _serial = self.apply_lock.lock().await;
        let was = self.flip_record(name, on);
        let Some(conf) = self.desired().remove(name) else {
            self.flip_record(name, was);
            return Err(crate::Error::internal(format!("no desired MediaMTX path for {name}")));
        };
        match self.for_caller(self.client.replace_path(name, &conf)).await {
            Ok(()) => {
                self.lock().applied.insert(name.to_owned(), conf);
                tracing::info!(path = name, record = on, "MediaMTX record flag applied");
                Ok(())
            }
            Err(e) => {
                // Also when the request was cut short: the link is down, and the full apply after it comes back
                // writes the flag as it is desired now.
                self.flip_record(name, was);
                Err(e)
            }
        }
    }

    /// Turns the `record` flag of `name` off without waiting: the loop applies it as soon as MediaMTX answers
    /// (used where the recording ends regardless: failures, deadlines, shutdown).
    pub fn clear_record(&self, name: &str) {
        if self.flip_record(name, false) {
            self.wake();
        }
    }

    /// Sets the desired flag; returns the previous one.
    fn flip_record(&self, name: &str, on: bool) -> bool {
        let mut inner = self.lock();
        if on {
            !inner.recording.insert(name.to_owned())
        } else {
            inner.recording.remove(name)
        }
    }

    /// Bits per second sent on `name` over the last [`BITRATE_WINDOW`] of polls.
    pub fn bitrate(&self, name: &str) -> u64 {
        let inner = self.lock();
        let Some(samples) = inner.samples.get(name) else {
            return 0;
        };
        let Some(&(t1, b1)) = samples.back() else {
            return 0;
        };
        let Some(&(t0, b0)) = samples.iter().find(|(t, _)| t1.saturating_sub(*t) <= BITRATE_WINDOW) else {
            return 0;
        };
        let dt = t1.saturating_sub(t0).as_secs_f64();
        if dt <= 0.0 || b1 < b0 {
            return 0;
        }
        ((b1 - b0) as f64 * 8.0 / dt).round() as u64
    }

    /// The frame health of path `name` from the received bytes (see the module docs): `None` when the path is
    /// not available (no pipeline), else `ok` while the counter grew within the stall limit, `stalled` after.
    pub fn path_health(&self, name: &str) -> Option<FrameHealth> {
        let now = self.clock.elapsed();
        let inner = self.lock();
        let ingest = inner.ingest.get(name)?;
        Some(judge(now, ingest.since, ingest.last, None))
    }

    /// Names of the paths the service wants (one per known camera), sorted.
    pub fn managed_names(&self) -> BTreeSet<String> {
        self.desired().into_keys().collect()
    }

    /// The `mediamtx` health component: a live `GET /v3/info` (bounded by the client's 2 s limit).
    pub async fn health_report(&self) -> ComponentReport {
        let up = self.check_info().await;
        let link = self.link();
        if !up {
            let why = link.error.unwrap_or_else(|| "not answering".into());
            return ComponentReport::unhealthy(format!("unreachable: {why}"))
                .detail("api_url", self.client.base())
                .detail("backend", "mediamtx");
        }
        let version = link.version.clone().unwrap_or_else(|| "unknown (before v1.15)".into());
        let restarted = link
            .last_restart
            .map(|at| self.clock.elapsed().saturating_sub(at))
            .filter(|ago| *ago < RESTART_DEGRADED_FOR);
        let report = match restarted {
            Some(ago) => ComponentReport::new(
                HealthStatus::Degraded,
                ComponentState::Running,
                format!("{version} reachable; restarted {} s ago", ago.as_secs()),
            ),
            None => ComponentReport::healthy(format!("{version} reachable")),
        };
        report
            .detail("version", version)
            .detail("started", link.started.map(|s| normalize_time(&s)))
            .detail("backend", "mediamtx")
    }

    /// The desired configuration of every managed path.
    fn desired(&self) -> BTreeMap<String, PathConfWrite> {
        let recording = self.lock().recording.clone();
        self.cameras
            .list()
            .into_iter()
            .filter_map(|camera| {
                let source = self.cameras.source(&camera.device)?;
                if matches!(&source, crate::cameras::CameraSource::Rtsp { url } if url.is_empty()) {
                    return None; // an id being reserved by add_external_stream
                }
                let record = recording.contains(&camera.device);
                Some((camera.device, path_conf(&source, camera.fps, &self.settings, record)))
            })
            .collect()
    }

    async fn sync_config(&self) -> Result<(), ClientError> {
        let _serial = self.apply_lock.lock().await;
        let desired = self.desired();
        let now = self.clock.elapsed();
        let (full, drift_due, applied) = {
            let inner = self.lock();
            let due = inner
                .last_drift_check
                .is_none_or(|at| now.saturating_sub(at) >= DRIFT_CHECK_INTERVAL);
            (inner.full_apply, due, inner.applied.clone())
        };
        let mut replace: BTreeMap<&String, (&PathConfWrite, String)> = BTreeMap::new();
        for (name, conf) in &desired {
            if full {
                replace.insert(name, (conf, "apply".into()));
            } else if applied.get(name) != Some(conf) {
                replace.insert(name, (conf, "desired configuration changed".into()));
            }
        }
        if !full && drift_due {
            let actual: HashMap<String, _> = self
                .client
                .config_paths()
                .await?
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect();
            for (name, conf) in &desired {
                if replace.contains_key(name) {
                    continue;
                }
                match actual.get(name) {
                    None => {
                        replace.insert(name, (conf, "missing in MediaMTX".into()));
                    }
                    Some(a) => {
                        if let Some(field) = drift(conf, a) {
                            replace.insert(name, (conf, format!("{field} drifted")));
                        }
                    }
                }
            }
        }
        for (name, (conf, why)) in replace {
            tracing::info!(path = name.as_str(), why, "applying MediaMTX path (replace)");
            match self.client.replace_path(name, conf).await {
                Ok(()) => {
                    let mut inner = self.lock();
                    inner.applied.insert(name.clone(), conf.clone());
                    inner.rejected.remove(name);
                }
                Err(e @ ClientError::Status { .. }) if !e.is_auth() => {
                    // Remember it as sent so the next poll does not retry at once; drift checks retry.
                    let message = e.to_string();
                    let fresh = {
                        let mut inner = self.lock();
                        inner.applied.insert(name.clone(), conf.clone());
                        inner.rejected.insert(name.clone(), message.clone()) != Some(message.clone())
                    };
                    if fresh {
                        tracing::error!(path = name.as_str(), error = %e, "MediaMTX rejected a path configuration");
                        self.events.publish(
                            "mediamtx.error",
                            json!({"reason": "path_rejected", "message": format!("path {name}: {message}")}),
                        );
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let stale: Vec<String> = applied.keys().filter(|n| !desired.contains_key(*n)).cloned().collect();
        for name in stale {
            tracing::info!(path = name.as_str(), "deleting MediaMTX path of a camera that is gone");
            self.client.delete_path(&name).await?;
            let mut inner = self.lock();
            inner.applied.remove(&name);
            inner.rejected.remove(&name);
        }
        let mut inner = self.lock();
        if full || drift_due {
            inner.last_drift_check = Some(now);
        }
        inner.full_apply = false;
        Ok(())
    }

    fn update_runtime(&self, paths: Vec<PathState>) {
        let managed = self.managed_names();
        let now = self.clock.elapsed();
        let fresh: BTreeMap<String, PathState> = paths
            .into_iter()
            .filter(|p| managed.contains(&p.name))
            .map(|p| (p.name.clone(), p))
            .collect();
        let mut events = Vec::new();
        {
            let mut inner = self.lock();
            let own = |name: &str| inner.own_readers.get(name).copied().unwrap_or(0);
            for (name, new) in &fresh {
                let item = stream_item(new, own(name));
                match inner.runtime.get(name) {
                    None => {
                        events.push(("mediamtx.path", item.clone()));
                        if new.is_available() {
                            events.push(("mediamtx.stream_started", item));
                        }
                    }
                    Some(old) => {
                        let before = stream_item(old, own(name));
                        if before.ready != item.ready {
                            let topic = if item.ready {
                                "mediamtx.stream_started"
                            } else {
                                "mediamtx.stream_stopped"
                            };
                            events.push((topic, item.clone()));
                        } else if before.source != item.source {
                            events.push(("mediamtx.path", item.clone()));
                        }
                        if before.readers != item.readers {
                            events.push(("mediamtx.stream", item));
                        }
                    }
                }
            }
            for (name, old) in &inner.runtime {
                if !fresh.contains_key(name) {
                    if old.is_available() {
                        events.push(("mediamtx.stream_stopped", gone_item(name)));
                    }
                    events.push(("mediamtx.path", gone_item(name)));
                }
            }
            for (name, state) in &fresh {
                let samples = inner.samples.entry(name.clone()).or_default();
                if samples.back().is_some_and(|(_, b)| *b > state.bytes_out()) {
                    samples.clear(); // counters reset (publisher restarted)
                }
                samples.push_back((now, state.bytes_out()));
                while samples.len() > SAMPLES_KEPT {
                    samples.pop_front();
                }
            }
            inner.samples.retain(|name, _| fresh.contains_key(name));
            let wall = self.clock.now();
            inner
                .ingest
                .retain(|name, _| fresh.get(name).is_some_and(PathState::is_available));
            for (name, state) in fresh.iter().filter(|(_, s)| s.is_available()) {
                let bytes = state.inbound_bytes.or(state.bytes_received).unwrap_or(0);
                let ingest = inner.ingest.entry(name.clone()).or_insert(Ingest {
                    bytes,
                    since: now,
                    last: None,
                });
                if bytes > ingest.bytes {
                    ingest.last = Some(LastFrame { at: now, wall });
                }
                ingest.bytes = bytes; // also when it went back (the publisher restarted)
            }
            inner.runtime = fresh;
        }
        for (topic, item) in events {
            self.publish_item(topic, &item);
        }
    }

    fn publish_item(&self, topic: &str, item: &StreamItem) {
        match serde_json::to_value(item) {
            Ok(v) => self.events.publish(topic, v),
            Err(e) => tracing::warn!("cannot serialize a stream item: {e}"),
        }
    }

    /// Marks the link up; detects restarts. `false` when this MediaMTX is too old to use.
    fn link_up(&self, version: Option<String>, started: Option<String>) -> bool {
        if let Some(v) = version.as_deref()
            && parse_version(v).is_some_and(|v| v < MIN_VERSION)
        {
            self.link_down(&format!(
                "MediaMTX {v} is too old: v{}.{}.{} or newer is needed",
                MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2
            ));
            return false;
        }
        let (changed, restarted) = {
            let mut inner = self.lock();
            let was = inner.link.state;
            let restarted = matches!((&inner.link.started, &started), (Some(old), Some(new)) if old != new);
            inner.link.state = LinkState::Up;
            inner.link.error = None;
            inner.link.version = version.clone();
            inner.link.started = started.clone();
            if restarted {
                inner.link.last_restart = Some(self.clock.elapsed());
            }
            if was != LinkState::Up || restarted {
                inner.full_apply = true;
                inner.rejected.clear();
            }
            (was != LinkState::Up, restarted)
        };
        if changed {
            metrics::gauge!("camera_service_mediamtx_up").set(1.0);
            tracing::info!(
                version = version.as_deref().unwrap_or("unknown"),
                api = self.client.base(),
                "MediaMTX is reachable"
            );
        }
        if restarted {
            let at = started.as_deref().map(normalize_time).unwrap_or_default();
            tracing::warn!(started = at, "MediaMTX restarted; re-applying every path");
            self.events.publish(
                "mediamtx.error",
                json!({"reason": "mediamtx_restarted",
                       "message": format!("MediaMTX restarted (started {at}); paths are re-applied")}),
            );
        }
        if changed || restarted {
            self.generation.send_modify(|g| *g += 1);
            // Apply at once rather than at the next tick (the transition may have been seen by a health check).
            self.wake();
        }
        true
    }

    fn link_down(&self, why: &str) {
        let (changed, stopped) = {
            let mut inner = self.lock();
            let changed = inner.link.state != LinkState::Down;
            inner.link.state = LinkState::Down;
            inner.link.error = Some(why.to_owned());
            inner.full_apply = true;
            let stopped: Vec<String> = inner
                .runtime
                .values()
                .filter(|p| p.is_available())
                .map(|p| p.name.clone())
                .collect();
            inner.runtime.clear();
            inner.samples.clear();
            inner.ingest.clear();
            (changed, stopped)
        };
        if !changed {
            return;
        }
        metrics::gauge!("camera_service_mediamtx_up").set(0.0);
        tracing::warn!(api = self.client.base(), error = why, "MediaMTX is unavailable");
        self.events.publish(
            "mediamtx.error",
            json!({"reason": "mediamtx_unavailable", "message": format!("MediaMTX is unavailable: {why}")}),
        );
        for name in stopped {
            self.publish_item("mediamtx.stream_stopped", &gone_item(&name));
        }
        self.generation.send_modify(|g| *g += 1);
    }

    fn on_error(&self, e: &ClientError) {
        if e.is_unreachable() || e.is_auth() {
            self.link_down(&e.to_string());
        } else {
            tracing::warn!(error = %e, "MediaMTX request failed");
        }
    }

    /// Absorbs a failed request into the link state and turns it into the caller's error.
    fn fail(&self, e: &ClientError) -> crate::Error {
        self.on_error(e);
        if e.is_unreachable() || e.is_auth() {
            self.wake();
        }
        super::mediamtx_unavailable(e.to_string())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `get_streams` item / `mediamtx.*` payload of a path.
pub fn stream_item(state: &PathState, own_readers: u64) -> StreamItem {
    StreamItem {
        name: state.name.clone(),
        device: state.name.clone(),
        source: state.source_kind().to_owned(),
        ready: state.is_available(),
        readers: (state.readers.len() as u64).saturating_sub(own_readers),
        bytes_sent: state.bytes_out(),
    }
}

fn gone_item(name: &str) -> StreamItem {
    StreamItem {
        name: name.to_owned(),
        device: name.to_owned(),
        source: "none".into(),
        ready: false,
        readers: 0,
        bytes_sent: 0,
    }
}

/// `v1.20.1` → `(1, 20, 1)`.
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.trim().trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// A MediaMTX timestamp (RFC 3339, nanoseconds) in the wire format (milliseconds); unparsable ones as they are.
pub fn normalize_time(t: &str) -> String {
    crate::clock::parse_timestamp(t).map_or_else(|| t.to_owned(), crate::clock::format_timestamp)
}

#[cfg(test)]
mod tests {
    use super::super::client::PathPeer;
    use super::*;
    use serde_json::Value;

    #[test]
    fn versions() {
        assert_eq!(parse_version("v1.20.1"), Some((1, 20, 1)));
        assert_eq!(parse_version("v1.2"), Some((1, 2, 0)));
        assert!(parse_version("v1.1.1").is_some_and(|v| v < MIN_VERSION));
        assert_eq!(parse_version("unknown"), None);
        assert_eq!(
            normalize_time("2026-11-22T02:54:18.205242161Z"),
            "2026-11-22T02:54:18.205Z"
        );
    }

    fn topics(events: &EventBus) -> Vec<(String, Value)> {
        std::mem::take(&mut *events.log.lock().expect("log"))
    }

    /// A reconciler of one virtual camera whose MediaMTX never answers, on a manual clock.
    fn offline_reconciler() -> (Arc<Reconciler>, Arc<EventBus>, Arc<crate::clock::ManualClock>) {
        reconciler_at("http://127.0.0.1:1")
    }

    fn reconciler_at(api_url: &str) -> (Arc<Reconciler>, Arc<EventBus>, Arc<crate::clock::ManualClock>) {
        use crate::cameras::{CameraRegistry, NoDevices};
        let events = EventBus::new_for_tests();
        let clock = crate::clock::ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let cameras = CameraRegistry::new(
            &crate::cameras::tests::virtual_config(&["camera0"]),
            Arc::new(NoDevices),
            crate::media::ffmpeg::Ffmpeg::default(),
            events.clone(),
            clock.clone(),
        );
        let client = MediamtxClient::new(api_url, super::super::client::ApiAuth::None).expect("client");
        let r = Reconciler::new(client, cameras, events.clone(), clock.clone(), PathSettings::default());
        (r, events, clock)
    }

    /// A MediaMTX that never answers; yields the reconciler and the accepted sockets (kept open so that the
    /// requests on them hang rather than fail). `keeps_listening: false` closes the listener after the first
    /// connection: a MediaMTX that died under a kept-alive connection.
    async fn hung_mediamtx(
        keeps_listening: bool,
    ) -> (Arc<Reconciler>, tokio::sync::mpsc::Receiver<tokio::net::TcpStream>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (accepted, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                if accepted.send(socket).await.is_err() || !keeps_listening {
                    return;
                }
            }
        });
        let (r, _events, _clock) = reconciler_at(&url);
        assert!(r.link_up(Some("v1.20.1".into()), None));
        (r, rx)
    }

    #[tokio::test]
    async fn a_request_in_flight_ends_when_the_link_goes_down() {
        let (r, mut accepted) = hung_mediamtx(true).await;
        let caller = tokio::spawn({
            let r = r.clone();
            async move { r.fetch_paths().await }
        });
        let _socket = accepted.recv().await.expect("the request reached MediaMTX");
        r.link_down("connection refused (probe)");
        let err = caller.await.expect("join").expect_err("-32050");
        assert_eq!(err.reason, "mediamtx_unavailable");
        // The link's reason, not the client's timeout: the caller did not wait for the request to time out.
        assert!(err.details.contains("(probe)"), "{}", err.details);
    }

    #[tokio::test]
    async fn a_slow_request_probes_mediamtx_and_ends_when_it_is_gone() {
        let (r, mut accepted) = hung_mediamtx(false).await;
        let caller = tokio::spawn({
            let r = r.clone();
            async move { r.fetch_path("camera0").await }
        });
        let _socket = accepted.recv().await.expect("the request reached MediaMTX");
        let err = caller.await.expect("join").expect_err("-32050");
        assert_eq!(err.reason, "mediamtx_unavailable");
        // The probe's refused connection, not the hung request's timeout.
        assert!(err.details.contains("connection failed"), "{}", err.details);
        assert_eq!(r.link().state, LinkState::Down);
    }

    #[tokio::test]
    async fn runtime_changes_become_events_and_link_changes_are_reported_once() {
        let (r, events, clock) = offline_reconciler();
        topics(&events);
        assert_eq!(r.ensure_up().map_err(|e| e.reason), Err("mediamtx_unavailable"));

        let path = |available: bool, readers: usize, bytes: u64| PathState {
            name: "camera0".into(),
            available: Some(available),
            available_time: available.then(|| "2025-01-15T14:30:00.123456789Z".into()),
            source: available.then(|| PathPeer {
                kind: "rtspSession".into(),
                id: "p".into(),
            }),
            readers: vec![PathPeer::default(); readers],
            outbound_bytes: Some(bytes),
            ..PathState::default()
        };
        let unmanaged = PathState {
            name: "static0".into(),
            ..PathState::default()
        };
        r.update_runtime(vec![path(false, 0, 0), unmanaged.clone()]);
        let got = topics(&events);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "mediamtx.path");
        assert_eq!(
            got[0].1,
            json!({"name":"camera0","device":"camera0","source":"none","ready":false,"readers":0,"bytes_sent":0})
        );

        r.update_runtime(vec![path(true, 1, 1000), unmanaged.clone()]);
        let names: Vec<String> = topics(&events).into_iter().map(|(t, _)| t).collect();
        assert_eq!(names, ["mediamtx.stream_started", "mediamtx.stream"]);
        clock.advance(Duration::from_secs(5));
        r.update_runtime(vec![path(true, 1, 6000)]);
        assert_eq!(r.bitrate("camera0"), 9600, "6000 bytes in 5 s");
        assert!(topics(&events).is_empty(), "nothing changed but bytes");
        // The service's own reader is not a viewer.
        r.add_own_reader("camera0");
        assert_eq!(r.viewers(&path(true, 1, 0)), 0);
        r.update_runtime(vec![path(true, 2, 7000)]);
        let got = topics(&events);
        assert_eq!(
            (got[0].0.as_str(), got[0].1["readers"].clone()),
            ("mediamtx.stream", json!(1))
        );
        r.remove_own_reader("camera0");
        assert_eq!(r.viewers(&path(true, 1, 0)), 1);

        r.link_down("connection refused");
        r.link_down("connection refused again");
        let got = topics(&events);
        let names: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            names,
            ["mediamtx.error", "mediamtx.stream_stopped"],
            "reported once: {got:?}"
        );
        assert_eq!(got[0].1["reason"], "mediamtx_unavailable");
        assert!(r.cached("camera0").is_none());
        let err = r.ensure_up().expect_err("down");
        assert_eq!(err.data.get("dependency").and_then(Value::as_str), Some("mediamtx"));
        assert!(err.details.contains("again"), "{}", err.details);

        assert!(r.link_up(Some("v1.20.1".into()), Some("2025-01-15T08:00:00Z".into())));
        assert!(r.link_up(Some("v1.20.1".into()), Some("2025-01-15T09:00:00Z".into())));
        let got = topics(&events);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].1["reason"], "mediamtx_restarted");
        assert!(r.link().last_restart.is_some());
        assert!(!r.link_up(Some("v1.1.0".into()), None), "too old");
        assert_eq!(r.link().state, LinkState::Down);
    }

    #[tokio::test]
    async fn path_health_follows_received_bytes() {
        use crate::media::frame_health::HealthState;
        let (r, _events, clock) = offline_reconciler();
        let path = |available: bool, received: u64| PathState {
            name: "camera0".into(),
            available: Some(available),
            inbound_bytes: Some(received),
            ..PathState::default()
        };
        r.update_runtime(vec![path(false, 0)]);
        assert_eq!(r.path_health("camera0"), None, "no publisher: no pipeline");
        assert_eq!(r.path_health("unknown"), None);

        clock.advance(Duration::from_secs(1));
        r.update_runtime(vec![path(true, 500)]);
        let h = r.path_health("camera0").expect("available");
        assert_eq!(
            (h.state, h.last_frame_at, h.measured_fps),
            (HealthState::Ok, None, None)
        );
        clock.advance(Duration::from_secs(1));
        r.update_runtime(vec![path(true, 900)]);
        let h = r.path_health("camera0").expect("available");
        assert_eq!(h.state, HealthState::Ok);
        assert_eq!(h.last_frame_at, Some(time::macros::datetime!(2025-01-15 14:30:02 UTC)));
        assert_eq!(h.measured_fps, None, "MediaMTX has no frame counter");

        // The counter stops growing: stalled once the last growth is older than 5 s.
        for _ in 0..5 {
            clock.advance(Duration::from_secs(1));
            r.update_runtime(vec![path(true, 900)]);
        }
        assert_eq!(r.path_health("camera0").map(|h| h.state), Some(HealthState::Ok));
        clock.advance(Duration::from_secs(1));
        r.update_runtime(vec![path(true, 900)]);
        let h = r.path_health("camera0").expect("available");
        assert_eq!(h.state, HealthState::Stalled);
        assert_eq!(h.last_frame_at, Some(time::macros::datetime!(2025-01-15 14:30:02 UTC)));

        clock.advance(Duration::from_secs(1));
        r.update_runtime(vec![path(true, 1000)]);
        assert_eq!(r.path_health("camera0").map(|h| h.state), Some(HealthState::Ok));
        r.update_runtime(vec![path(false, 0)]);
        assert_eq!(r.path_health("camera0"), None, "the publisher went away");
    }

    #[test]
    fn items_exclude_own_readers() {
        let state = PathState {
            name: "camera0".into(),
            available: Some(true),
            source: Some(super::super::client::PathPeer {
                kind: "rtspSession".into(),
                id: "x".into(),
            }),
            readers: vec![Default::default(), Default::default()],
            outbound_bytes: Some(10),
            ..PathState::default()
        };
        let item = stream_item(&state, 1);
        assert_eq!(
            (item.readers, item.ready, item.source.as_str()),
            (1, true, "rtspSession")
        );
        assert_eq!(stream_item(&state, 5).readers, 0);
    }
}
