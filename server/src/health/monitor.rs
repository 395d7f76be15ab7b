//! The health monitor: runs the component checks of API.md §7 every 10 s on the injected clock, keeps the
//! latest result of each, and derives the overall status (`get_status`, `/health`), readiness
//! (`get_system_status`, `/health/ready`) and liveness (`/health/live`) from them.
//!
//! Invariants:
//! - Endpoints and handlers never run a check themselves; they read the latest results. A result older than
//!   30 s (or none yet) counts as `unhealthy` / `ERROR` when read.
//! - Each check runs under a 5 s timeout; a check that fails or times out is `unhealthy`, never a panic.
//! - When `get_status.status` or any component's status changes, `system_health_update` and `system.health`
//!   are published through the event bus, at most once per 5 s (a change suppressed by that limit is
//!   published by a later round, which compares against what was last published). The first round sets the
//!   baseline and publishes nothing.
//! - Locks (`results`, `published`) are std mutexes never held across an await.

use crate::clock::{Clock, format_timestamp};
use crate::events::EventBus;
use crate::health::host::{HostMetrics, HostSampler};
use camera_api::notifications::SystemHealthUpdate;
use camera_api::types::{GetStatusResult, GetSystemStatusResult, StatusComponents};
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

/// How often the checks run.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(10);
/// A result older than this counts as unhealthy.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// How long one check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Minimum spacing of `system_health_update` / `system.health` notifications.
pub const PUBLISH_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// The watchdog heartbeat period and the age after which the process counts as not live.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
pub const LIVE_WITHIN: Duration = Duration::from_secs(10);

/// Component names of API.md §7 (also the keys of `get_status.components`).
pub const WEBSOCKET_SERVER: &str = "websocket_server";
pub const CAMERA_MONITOR: &str = "camera_monitor";
pub const MEDIAMTX: &str = "mediamtx";
pub const STORAGE: &str = "storage";
pub const DATABASE: &str = "database";

/// Health of a component or of the service (`/health` `status`, lower case). Ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }

    /// The `get_status.status` spelling.
    pub fn as_upper(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "HEALTHY",
            HealthStatus::Degraded => "DEGRADED",
            HealthStatus::Unhealthy => "UNHEALTHY",
        }
    }
}

/// A component's run state as `get_status.components` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ComponentState {
    Running,
    /// Not used (e.g. `mediamtx` in the standalone backend).
    Stopped,
    Error,
    /// Initializing or reconnecting.
    Starting,
    Stopping,
}

impl ComponentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Running => "RUNNING",
            ComponentState::Stopped => "STOPPED",
            ComponentState::Error => "ERROR",
            ComponentState::Starting => "STARTING",
            ComponentState::Stopping => "STOPPING",
        }
    }
}

/// What one check found.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentReport {
    pub status: HealthStatus,
    pub state: ComponentState,
    pub message: String,
    pub details: Map<String, Value>,
}

impl ComponentReport {
    pub fn new(status: HealthStatus, state: ComponentState, message: impl Into<String>) -> Self {
        ComponentReport {
            status,
            state,
            message: message.into(),
            details: Map::new(),
        }
    }
    pub fn healthy(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Healthy, ComponentState::Running, message)
    }
    pub fn degraded(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Degraded, ComponentState::Running, message)
    }
    pub fn unhealthy(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Unhealthy, ComponentState::Error, message)
    }
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = ComponentReport> + Send + 'a>>;

/// One component check. Implementations must not block the runtime (blocking work goes to
/// `spawn_blocking`); the monitor bounds each call by [`CHECK_TIMEOUT`].
pub trait ComponentCheck: Send + Sync + 'static {
    /// The component name (one of the constants above for the standard five).
    fn name(&self) -> &'static str;
    fn check(&self) -> CheckFuture<'_>;
}

/// What the camera side reports to the monitor. The camera registry implements [`CameraMonitorProbe`]; until
/// it exists, [`DiscoveryFlag`] reports only whether the first scan has finished.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CameraMonitorSnapshot {
    /// The first camera discovery scan has finished (the readiness gate).
    pub first_scan_done: bool,
    /// A discovery scan is running right now.
    pub discovery_active: bool,
    /// Why the device watch failed, if it did.
    pub watch_error: Option<String>,
    /// The periodic reconcile scan is overdue.
    pub reconcile_overdue: bool,
    /// Time since the last reconcile scan finished, when known.
    pub last_scan_age: Option<Duration>,
    /// Ids of cameras with status `CONNECTED`.
    pub connected: Vec<String>,
    /// Cameras known (any status).
    pub total: usize,
    /// Cameras with status `ERROR`.
    pub errored: usize,
}

pub trait CameraMonitorProbe: Send + Sync + 'static {
    fn snapshot(&self) -> CameraMonitorSnapshot;
}

/// A camera probe that knows only whether the first discovery scan has finished.
pub struct DiscoveryFlag(pub Arc<dyn Fn() -> bool + Send + Sync>);

impl CameraMonitorProbe for DiscoveryFlag {
    fn snapshot(&self) -> CameraMonitorSnapshot {
        CameraMonitorSnapshot {
            first_scan_done: (self.0)(),
            ..CameraMonitorSnapshot::default()
        }
    }
}

/// Everything the monitor needs, handed in explicitly by `app`.
pub struct HealthDeps {
    pub clock: Arc<dyn Clock>,
    pub events: Arc<EventBus>,
    /// When the process started (for `uptime`).
    pub started_at: OffsetDateTime,
    /// The component checks, in reporting order (see `health::standard_checks`).
    pub checks: Vec<Arc<dyn ComponentCheck>>,
    pub cameras: Arc<dyn CameraMonitorProbe>,
    /// Whether the port-8002 listener is bound.
    pub listener_bound: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Host sampler for `get_metrics`; sampled every round so CPU usage covers the last interval.
    pub host: Arc<HostSampler>,
    /// Prometheus handle, for periodic upkeep (histogram draining); `None` in tests.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// The latest result of one component, as the endpoints show it (stale results already downgraded).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentHealth {
    pub name: &'static str,
    pub status: HealthStatus,
    #[serde(skip)]
    pub state: ComponentState,
    pub message: String,
    /// `null` until the first check finished.
    pub last_checked: Option<String>,
    pub details: Map<String, Value>,
}

/// `get_system_status.status` (lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readiness {
    Starting,
    Ready,
    Partial,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Starting => "starting",
            Readiness::Ready => "ready",
            Readiness::Partial => "partial",
        }
    }
}

struct Stored {
    report: ComponentReport,
    checked_at: OffsetDateTime,
}

/// What was last published, to detect changes.
#[derive(Clone, PartialEq, Eq)]
struct Signature {
    overall: HealthStatus,
    components: Vec<(&'static str, HealthStatus, ComponentState)>,
}

#[derive(Default)]
struct PublishState {
    baseline: Option<Signature>,
    last_at: Option<Duration>,
}

pub struct HealthMonitor {
    clock: Arc<dyn Clock>,
    events: Arc<EventBus>,
    started_at: OffsetDateTime,
    checks: Vec<Arc<dyn ComponentCheck>>,
    cameras: Arc<dyn CameraMonitorProbe>,
    listener_bound: Arc<dyn Fn() -> bool + Send + Sync>,
    host: Arc<HostSampler>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Latest result per check, indexed like `checks`.
    results: Mutex<Vec<Option<Stored>>>,
    published: Mutex<PublishState>,
    /// `clock.elapsed()` in milliseconds at the last watchdog beat.
    heartbeat_ms: AtomicU64,
    /// Wakes the run loop for an early round ([`HealthMonitor::request_refresh`]).
    wake: Notify,
    /// Serializes rounds: a round that started before a state change must not land after (and overwrite) the
    /// round that saw it (e.g. the periodic round racing the one that follows the first discovery scan).
    round: tokio::sync::Mutex<()>,
}

impl HealthMonitor {
    pub fn new(deps: HealthDeps) -> Arc<HealthMonitor> {
        let slots = deps.checks.iter().map(|_| None).collect();
        let heartbeat_ms = AtomicU64::new(millis(deps.clock.elapsed()));
        Arc::new(HealthMonitor {
            clock: deps.clock,
            events: deps.events,
            started_at: deps.started_at,
            checks: deps.checks,
            cameras: deps.cameras,
            listener_bound: deps.listener_bound,
            host: deps.host,
            metrics: deps.metrics,
            results: Mutex::new(slots),
            published: Mutex::new(PublishState::default()),
            heartbeat_ms,
            wake: Notify::new(),
            round: tokio::sync::Mutex::new(()),
        })
    }

    /// Asks the run loop for a round now instead of at the next interval (e.g. when the first discovery scan
    /// finishes). A request made during a round causes one more round right after it.
    pub fn request_refresh(&self) {
        self.wake.notify_one();
    }

    /// Runs the checks now and then every [`CHECK_INTERVAL`] (or earlier on [`HealthMonitor::request_refresh`]),
    /// and the watchdog heartbeat, until `shutdown` turns true (or its sender is dropped).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let heartbeat = tokio::spawn(self.clone().heartbeat(shutdown.clone()));
        loop {
            self.refresh().await;
            tokio::select! {
                _ = self.clock.sleep(CHECK_INTERVAL) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        if let Err(e) = heartbeat.await {
            tracing::warn!("health watchdog task failed: {e}");
        }
    }

    async fn heartbeat(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            self.heartbeat_ms.store(millis(self.clock.elapsed()), Ordering::Release);
            tokio::select! {
                _ = self.clock.sleep(HEARTBEAT_INTERVAL) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
    }

    /// One round: run every check (concurrently, each bounded by [`CHECK_TIMEOUT`]), store the results,
    /// publish a health notification if something changed, sample the host and run metrics upkeep.
    pub async fn refresh(&self) {
        let _round = self.round.lock().await;
        let rounds = self.checks.iter().map(|check| self.run_check(check.as_ref()));
        let reports = futures_util::future::join_all(rounds).await;
        let checked_at = self.clock.now();
        {
            let mut results = self.lock_results();
            for (slot, report) in results.iter_mut().zip(reports) {
                *slot = Some(Stored { report, checked_at });
            }
        }
        self.publish_if_changed();
        let _ = self.host.sample().await;
        crate::health::metrics::set_uptime(self.uptime_seconds());
        if let Some(handle) = &self.metrics {
            handle.run_upkeep();
        }
    }

    async fn run_check(&self, check: &dyn ComponentCheck) -> ComponentReport {
        tokio::select! {
            report = check.check() => report,
            _ = self.clock.sleep(CHECK_TIMEOUT) => {
                ComponentReport::unhealthy(format!("check did not finish within {} s", CHECK_TIMEOUT.as_secs()))
            }
        }
    }

    /// The latest result of every component, stale ones (or none yet) downgraded to unhealthy.
    pub fn components(&self) -> Vec<ComponentHealth> {
        let now = self.clock.now();
        let results = self.lock_results();
        self.checks
            .iter()
            .zip(results.iter())
            .map(|(check, stored)| effective(check.name(), stored.as_ref(), now))
            .collect()
    }

    /// Overall status: the worst component status, except that a failing camera monitor only degrades the
    /// service (cameras failing is not the service failing).
    pub fn overall(&self) -> HealthStatus {
        overall_of(&self.components())
    }

    /// `/health/ready`: the first discovery scan has finished, the database is open and writable (its latest
    /// check is not unhealthy), and the port-8002 listener is bound.
    pub fn ready(&self) -> bool {
        self.ready_with_reason().is_ok()
    }

    /// Like [`HealthMonitor::ready`], with a human reason when not ready.
    pub fn ready_with_reason(&self) -> Result<(), String> {
        if !self.cameras.snapshot().first_scan_done {
            return Err("first camera discovery scan pending".into());
        }
        let database_ok = self
            .components()
            .iter()
            .any(|c| c.name == DATABASE && c.status != HealthStatus::Unhealthy);
        if !database_ok {
            return Err("database not writable".into());
        }
        if !(self.listener_bound)() {
            return Err("server listener not bound".into());
        }
        Ok(())
    }

    /// `/health/live`: the watchdog heartbeat is less than [`LIVE_WITHIN`] old.
    pub fn live(&self) -> bool {
        let beat = Duration::from_millis(self.heartbeat_ms.load(Ordering::Acquire));
        self.clock.elapsed().saturating_sub(beat) < LIVE_WITHIN
    }

    /// Seconds since the process started.
    pub fn uptime_seconds(&self) -> f64 {
        let uptime = self.clock.now() - self.started_at;
        uptime.as_seconds_f64().max(0.0)
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The `get_status` result.
    pub fn status(&self) -> GetStatusResult {
        let components = self.components();
        // A standard component that is not monitored at all is reported as not used.
        let state = |name: &str| {
            components
                .iter()
                .find(|c| c.name == name)
                .map_or(ComponentState::Stopped, |c| c.state)
                .as_str()
                .to_owned()
        };
        GetStatusResult {
            status: overall_of(&components).as_upper().to_owned(),
            uptime: self.uptime_seconds(),
            version: crate::VERSION.to_owned(),
            api_version: camera_api::API_VERSION.to_owned(),
            components: StatusComponents {
                websocket_server: state(WEBSOCKET_SERVER),
                camera_monitor: state(CAMERA_MONITOR),
                mediamtx: state(MEDIAMTX),
                storage: state(STORAGE),
                database: state(DATABASE),
            },
        }
    }

    /// The `get_system_status` result: `starting` until the first discovery scan has finished, then `ready`
    /// when storage and database are usable and MediaMTX (when used) is reachable, else `partial`.
    pub fn system_status(&self) -> GetSystemStatusResult {
        let (status, message, cameras) = self.readiness();
        GetSystemStatusResult {
            status: status.as_str().to_owned(),
            message,
            available_cameras: cameras.connected,
            discovery_active: cameras.discovery_active,
        }
    }

    fn readiness(&self) -> (Readiness, String, CameraMonitorSnapshot) {
        let cameras = self.cameras.snapshot();
        let (status, message) = if !cameras.first_scan_done {
            (Readiness::Starting, "Camera discovery in progress".to_owned())
        } else {
            let failing: Vec<&str> = self
                .components()
                .iter()
                .filter(|c| matches!(c.name, STORAGE | DATABASE | MEDIAMTX) && c.status == HealthStatus::Unhealthy)
                .map(|c| c.name)
                .collect();
            if failing.is_empty() {
                (Readiness::Ready, "System is fully operational".to_owned())
            } else {
                (Readiness::Partial, format!("Unavailable: {}", failing.join(", ")))
            }
        };
        (status, message, cameras)
    }

    /// What the camera side reports (for `get_metrics.camera_metrics` until the camera registry fills it).
    pub fn cameras(&self) -> CameraMonitorSnapshot {
        self.cameras.snapshot()
    }

    /// A fresh reading of the host (CPU since the previous sample, memory, disk, process RSS).
    pub async fn host_metrics(&self) -> HostMetrics {
        self.host.sample().await
    }

    /// The `system_health_update` / `system.health` params: the `get_status` result plus `readiness` and
    /// `timestamp`.
    pub fn health_notification(&self) -> Value {
        let update = SystemHealthUpdate {
            status: self.status(),
            readiness: self.readiness().0.as_str().to_owned(),
            timestamp: format_timestamp(self.clock.now()),
        };
        serde_json::to_value(update).unwrap_or_else(|e| {
            tracing::warn!("cannot serialize the health notification: {e}");
            Value::Object(Map::new())
        })
    }

    fn publish_if_changed(&self) {
        let components = self.components();
        let signature = Signature {
            overall: overall_of(&components),
            components: components.iter().map(|c| (c.name, c.status, c.state)).collect(),
        };
        let now = self.clock.elapsed();
        {
            let mut published = self.lock_published();
            match &published.baseline {
                None => {
                    published.baseline = Some(signature);
                    return;
                }
                Some(baseline) if *baseline == signature => return,
                Some(_) => {}
            }
            if published
                .last_at
                .is_some_and(|at| now.saturating_sub(at) < PUBLISH_MIN_INTERVAL)
            {
                return;
            }
            published.baseline = Some(signature);
            published.last_at = Some(now);
        }
        self.events
            .publish_all(&["system_health_update", "system.health"], self.health_notification());
    }

    fn lock_results(&self) -> MutexGuard<'_, Vec<Option<Stored>>> {
        self.results.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_published(&self) -> MutexGuard<'_, PublishState> {
        self.published.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn effective(name: &'static str, stored: Option<&Stored>, now: OffsetDateTime) -> ComponentHealth {
    let Some(stored) = stored else {
        return ComponentHealth {
            name,
            status: HealthStatus::Unhealthy,
            state: ComponentState::Starting,
            message: "not checked yet".into(),
            last_checked: None,
            details: Map::new(),
        };
    };
    let age = now - stored.checked_at;
    let stale = age > STALE_AFTER;
    ComponentHealth {
        name,
        status: if stale {
            HealthStatus::Unhealthy
        } else {
            stored.report.status
        },
        state: if stale {
            ComponentState::Error
        } else {
            stored.report.state
        },
        message: if stale {
            format!("last check is {} s old", age.whole_seconds())
        } else {
            stored.report.message.clone()
        },
        last_checked: Some(format_timestamp(stored.checked_at)),
        details: stored.report.details.clone(),
    }
}

pub(crate) fn overall_of(components: &[ComponentHealth]) -> HealthStatus {
    components
        .iter()
        .map(|c| {
            if c.name == CAMERA_MONITOR {
                c.status.min(HealthStatus::Degraded)
            } else {
                c.status
            }
        })
        .max()
        .unwrap_or(HealthStatus::Unhealthy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::NotificationsConfig;
    use crate::events::Filters;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;
    use time::macros::datetime;

    /// A check whose report the test sets.
    struct Scripted {
        name: &'static str,
        report: Mutex<ComponentReport>,
    }

    impl Scripted {
        fn new(name: &'static str) -> Arc<Scripted> {
            Arc::new(Scripted {
                name,
                report: Mutex::new(ComponentReport::healthy("ok")),
            })
        }
        fn set(&self, report: ComponentReport) {
            *self.report.lock().unwrap_or_else(|p| p.into_inner()) = report;
        }
    }

    impl ComponentCheck for Scripted {
        fn name(&self) -> &'static str {
            self.name
        }
        fn check(&self) -> CheckFuture<'_> {
            let report = self.report.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Box::pin(async move { report })
        }
    }

    struct Harness {
        clock: Arc<ManualClock>,
        bus: Arc<EventBus>,
        monitor: Arc<HealthMonitor>,
        checks: BTreeMap<&'static str, Arc<Scripted>>,
        discovered: Arc<AtomicBool>,
        bound: Arc<AtomicBool>,
    }

    fn harness() -> Harness {
        let clock = ManualClock::new(datetime!(2025-01-15 14:30 UTC));
        let bus = EventBus::new(&NotificationsConfig::default(), clock.clone());
        let checks: BTreeMap<_, _> = [WEBSOCKET_SERVER, CAMERA_MONITOR, MEDIAMTX, STORAGE, DATABASE]
            .into_iter()
            .map(|n| (n, Scripted::new(n)))
            .collect();
        let discovered = Arc::new(AtomicBool::new(true));
        let bound = Arc::new(AtomicBool::new(true));
        let d = discovered.clone();
        let b = bound.clone();
        let monitor = HealthMonitor::new(HealthDeps {
            clock: clock.clone(),
            events: bus.clone(),
            started_at: datetime!(2025-01-15 14:00 UTC),
            checks: checks.values().map(|c| c.clone() as Arc<dyn ComponentCheck>).collect(),
            cameras: Arc::new(DiscoveryFlag(Arc::new(move || d.load(Ordering::SeqCst)))),
            listener_bound: Arc::new(move || b.load(Ordering::SeqCst)),
            host: HostSampler::new(clock.clone(), std::env::temp_dir()),
            metrics: None,
        });
        Harness {
            clock,
            bus,
            monitor,
            checks,
            discovered,
            bound,
        }
    }

    #[tokio::test]
    async fn nothing_checked_yet_is_unhealthy_and_not_ready() {
        let h = harness();
        assert_eq!(h.monitor.overall(), HealthStatus::Unhealthy);
        assert!(!h.monitor.ready());
        assert!(
            h.monitor
                .components()
                .iter()
                .all(|c| c.last_checked.is_none() && c.state == ComponentState::Starting)
        );
        h.monitor.refresh().await;
        assert_eq!(h.monitor.overall(), HealthStatus::Healthy);
        assert!(h.monitor.ready());
        let status = h.monitor.status();
        assert_eq!(status.status, "HEALTHY");
        assert_eq!(status.uptime, 1800.0);
        assert_eq!(status.components.database, "RUNNING");
        assert_eq!(h.monitor.system_status().status, "ready");
    }

    #[tokio::test]
    async fn worst_component_wins_but_cameras_only_degrade() {
        let h = harness();
        h.checks[CAMERA_MONITOR].set(ComponentReport::unhealthy("watch failed"));
        h.monitor.refresh().await;
        assert_eq!(h.monitor.overall(), HealthStatus::Degraded);
        h.checks[STORAGE].set(ComponentReport::unhealthy("not writable"));
        h.monitor.refresh().await;
        assert_eq!(h.monitor.overall(), HealthStatus::Unhealthy);
        assert_eq!(h.monitor.status().components.storage, "ERROR");
        let sys = h.monitor.system_status();
        assert_eq!(sys.status, "partial");
        assert!(sys.message.contains("storage"), "{}", sys.message);
    }

    #[tokio::test]
    async fn results_older_than_30_s_count_unhealthy() {
        let h = harness();
        h.monitor.refresh().await;
        h.clock.advance(Duration::from_secs(30));
        assert_eq!(h.monitor.overall(), HealthStatus::Healthy);
        h.clock.advance(Duration::from_secs(1));
        assert_eq!(h.monitor.overall(), HealthStatus::Unhealthy);
        let db = h
            .monitor
            .components()
            .into_iter()
            .find(|c| c.name == DATABASE)
            .expect("database");
        assert_eq!((db.status, db.state), (HealthStatus::Unhealthy, ComponentState::Error));
        assert_eq!(db.last_checked.as_deref(), Some("2025-01-15T14:30:00.000Z"));
        assert!(!h.monitor.ready(), "stale database counts as not writable");
    }

    #[tokio::test]
    async fn readiness_needs_discovery_database_and_listener() {
        let h = harness();
        h.monitor.refresh().await;
        h.discovered.store(false, Ordering::SeqCst);
        assert_eq!(
            h.monitor.ready_with_reason(),
            Err("first camera discovery scan pending".into())
        );
        assert_eq!(h.monitor.system_status().status, "starting");
        h.discovered.store(true, Ordering::SeqCst);
        h.bound.store(false, Ordering::SeqCst);
        assert!(!h.monitor.ready());
        h.bound.store(true, Ordering::SeqCst);
        h.checks[DATABASE].set(ComponentReport::degraded("slow"));
        h.monitor.refresh().await;
        assert!(h.monitor.ready(), "slow database is still writable");
        h.checks[DATABASE].set(ComponentReport::unhealthy("failing"));
        h.monitor.refresh().await;
        assert!(!h.monitor.ready());
        h.checks[MEDIAMTX].set(ComponentReport::unhealthy("unreachable"));
        h.checks[DATABASE].set(ComponentReport::healthy("ok"));
        h.monitor.refresh().await;
        assert!(h.monitor.ready(), "MediaMTX down does not make the service unready");
    }

    #[tokio::test]
    async fn changes_are_published_at_most_every_5_s() {
        let h = harness();
        let (sub, mut rx) = h.bus.register("c1");
        sub.on_authenticated(None);
        sub.subscribe(&["system.health"], Filters::default());
        h.monitor.refresh().await;
        assert!(rx.try_recv().is_err(), "first round is the baseline");
        h.monitor.refresh().await;
        assert!(rx.try_recv().is_err(), "no change");

        h.checks[DATABASE].set(ComponentReport::degraded("slow"));
        h.monitor.refresh().await;
        let legacy: Value = serde_json::from_str(&rx.try_recv().expect("legacy")).expect("json");
        let topic: Value = serde_json::from_str(&rx.try_recv().expect("topic")).expect("json");
        assert_eq!(legacy["method"], "system_health_update");
        assert_eq!(topic["method"], "system.health");
        assert_eq!(topic["params"]["status"], "DEGRADED");
        assert_eq!(topic["params"]["readiness"], "ready");
        assert_eq!(topic["params"]["components"]["database"], "RUNNING");
        assert_eq!(topic["params"]["timestamp"], "2025-01-15T14:30:00.000Z");
        assert_eq!(topic["params"]["api_version"], camera_api::API_VERSION);

        // A change within 5 s is held back, then published by a later round.
        h.clock.advance(Duration::from_secs(2));
        h.checks[DATABASE].set(ComponentReport::unhealthy("failing"));
        h.monitor.refresh().await;
        assert!(rx.try_recv().is_err(), "rate limited");
        h.clock.advance(Duration::from_secs(3));
        h.monitor.refresh().await;
        let legacy: Value = serde_json::from_str(&rx.try_recv().expect("legacy")).expect("json");
        assert_eq!(legacy["params"]["status"], "UNHEALTHY");
        assert_eq!(legacy["params"]["components"]["database"], "ERROR");
    }

    /// Waits (in real time, up to 5 s) until `cond` holds; the manual clock does not move meanwhile.
    async fn eventually(what: &str, cond: impl Fn() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    #[tokio::test]
    async fn run_checks_every_10_s_and_keeps_the_heartbeat() {
        let h = harness();
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(h.monitor.clone().run(shutdown));
        eventually("first round", || h.monitor.overall() == HealthStatus::Healthy).await;
        tokio::time::sleep(Duration::from_millis(50)).await; // let the loop start its 10 s sleep
        assert!(h.monitor.live());
        h.checks[STORAGE].set(ComponentReport::degraded("usage 85%"));
        for _ in 0..9 {
            h.clock.advance(Duration::from_secs(1));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(h.monitor.overall(), HealthStatus::Healthy, "no round before 10 s");
        h.clock.advance(Duration::from_secs(1));
        eventually("second round after 10 s", || {
            h.monitor.overall() == HealthStatus::Degraded
        })
        .await;
        assert!(h.monitor.live());
        h.checks[STORAGE].set(ComponentReport::healthy("ok"));
        h.monitor.request_refresh();
        eventually("early round on request", || {
            h.monitor.overall() == HealthStatus::Healthy
        })
        .await;
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops")
            .expect("join");
        h.clock.advance(Duration::from_secs(10));
        assert!(!h.monitor.live(), "no heartbeat once stopped");
    }

    #[tokio::test]
    async fn a_hanging_check_times_out() {
        struct Hangs;
        impl ComponentCheck for Hangs {
            fn name(&self) -> &'static str {
                DATABASE
            }
            fn check(&self) -> CheckFuture<'_> {
                Box::pin(std::future::pending())
            }
        }
        let h = harness();
        let monitor = HealthMonitor::new(HealthDeps {
            clock: h.clock.clone(),
            events: h.bus.clone(),
            started_at: datetime!(2025-01-15 14:00 UTC),
            checks: vec![Arc::new(Hangs)],
            cameras: Arc::new(DiscoveryFlag(Arc::new(|| true))),
            listener_bound: Arc::new(|| true),
            host: HostSampler::new(h.clock.clone(), std::env::temp_dir()),
            metrics: None,
        });
        let round = tokio::spawn({
            let monitor = monitor.clone();
            async move { monitor.refresh().await }
        });
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        h.clock.advance(CHECK_TIMEOUT);
        tokio::time::timeout(Duration::from_secs(5), round)
            .await
            .expect("round ends")
            .expect("join");
        let db = &monitor.components()[0];
        assert_eq!(db.status, HealthStatus::Unhealthy);
        assert!(db.message.contains("did not finish"), "{}", db.message);
    }

    /// A check that reports what was set when it was called, then waits for its own gate (call `i` waits for
    /// `gates[i]`), so a test can hold a round open across a state change.
    struct HeldOpen {
        report: Mutex<ComponentReport>,
        calls: watch::Sender<usize>,
        gates: Vec<Arc<tokio::sync::Semaphore>>,
    }

    impl ComponentCheck for HeldOpen {
        fn name(&self) -> &'static str {
            CAMERA_MONITOR
        }
        fn check(&self) -> CheckFuture<'_> {
            let report = self.report.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let mut call = 0;
            self.calls.send_modify(|n| {
                call = *n;
                *n += 1;
            });
            let gate = self.gates[call].clone();
            Box::pin(async move {
                let _permit = gate.acquire().await;
                report
            })
        }
    }

    #[tokio::test]
    async fn a_round_started_before_a_change_never_overwrites_the_round_after_it() {
        let clock = ManualClock::new(datetime!(2025-01-15 14:30 UTC));
        let check = Arc::new(HeldOpen {
            report: Mutex::new(ComponentReport::degraded("first discovery scan pending")),
            calls: watch::channel(0).0,
            gates: (0..2).map(|_| Arc::new(tokio::sync::Semaphore::new(0))).collect(),
        });
        let monitor = HealthMonitor::new(HealthDeps {
            clock: clock.clone(),
            events: EventBus::new(&NotificationsConfig::default(), clock.clone()),
            started_at: datetime!(2025-01-15 14:00 UTC),
            checks: vec![check.clone() as Arc<dyn ComponentCheck>],
            cameras: Arc::new(DiscoveryFlag(Arc::new(|| true))),
            listener_bound: Arc::new(|| true),
            host: HostSampler::new(clock.clone(), std::env::temp_dir()),
            metrics: None,
        });
        let mut calls = check.calls.subscribe();
        let early = tokio::spawn({
            let monitor = monitor.clone();
            async move { monitor.refresh().await }
        });
        calls.wait_for(|n| *n == 1).await.expect("first round started");
        *check.report.lock().unwrap_or_else(|p| p.into_inner()) = ComponentReport::healthy("1 of 1 connected");
        let late = tokio::spawn({
            let monitor = monitor.clone();
            async move { monitor.refresh().await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(*calls.borrow(), 1, "the second round waits for the first");
        check.gates[1].add_permits(1);
        check.gates[0].add_permits(1);
        early.await.expect("first round");
        late.await.expect("second round");
        let camera = &monitor.components()[0];
        assert_eq!(camera.status, HealthStatus::Healthy, "{}", camera.message);
    }
}
