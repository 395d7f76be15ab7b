//! The five standard component checks of API.md §7, each a [`ComponentCheck`]:
//! `websocket_server`, `camera_monitor`, `mediamtx`, `storage`, `database`.
//!
//! Checks only observe; they never repair (creating a missing directory is the storage service's job). File
//! and filesystem work runs on the blocking pool. The MediaMTX check is pluggable: [`StandaloneMediamtx`]
//! reports "not used" until the MediaMTX client provides its own `ComponentCheck` named `mediamtx`.

use crate::health::host::fs_usage;
use crate::health::monitor::{
    CAMERA_MONITOR, CameraMonitorProbe, CheckFuture, ComponentCheck, ComponentReport, ComponentState, DATABASE,
    HealthStatus, MEDIAMTX, STORAGE, WEBSOCKET_SERVER,
};
use crate::rpc::connection::ConnectionRegistry;
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `websocket_server`: listener bound; open / maximum connections (degraded at ≥ 90 %).
pub struct WebsocketServerCheck {
    pub listener_bound: Arc<dyn Fn() -> bool + Send + Sync>,
    pub connections: Arc<ConnectionRegistry>,
    pub max_connections: usize,
}

impl ComponentCheck for WebsocketServerCheck {
    fn name(&self) -> &'static str {
        WEBSOCKET_SERVER
    }

    fn check(&self) -> CheckFuture<'_> {
        let report = websocket_report((self.listener_bound)(), self.connections.len(), self.max_connections);
        Box::pin(async move { report })
    }
}

fn websocket_report(bound: bool, open: usize, max: usize) -> ComponentReport {
    let report = if !bound {
        ComponentReport::unhealthy("listener not bound")
    } else if max > 0 && open.saturating_mul(10) >= max.saturating_mul(9) {
        ComponentReport::degraded(format!("{open} of {max} connections open"))
    } else {
        ComponentReport::healthy(format!("{open} of {max} connections open"))
    };
    report.detail("open_connections", open).detail("max_connections", max)
}

/// `camera_monitor`: device watch active; first scan done; reconcile not overdue; cameras in `ERROR`.
pub struct CameraMonitorCheck {
    pub probe: Arc<dyn CameraMonitorProbe>,
}

impl ComponentCheck for CameraMonitorCheck {
    fn name(&self) -> &'static str {
        CAMERA_MONITOR
    }

    fn check(&self) -> CheckFuture<'_> {
        let s = self.probe.snapshot();
        let report = if let Some(error) = &s.watch_error {
            ComponentReport::unhealthy(format!("device watch failed: {error}"))
        } else if !s.first_scan_done {
            ComponentReport::new(
                HealthStatus::Degraded,
                ComponentState::Starting,
                "first discovery scan pending",
            )
        } else if s.reconcile_overdue {
            ComponentReport::degraded("reconcile scan overdue")
        } else if s.errored > 0 {
            ComponentReport::degraded(format!("{} camera(s) in ERROR", s.errored))
        } else {
            ComponentReport::healthy(format!("{} of {} camera(s) connected", s.connected.len(), s.total))
        };
        let mut report = report
            .detail("connected_cameras", s.connected.len())
            .detail("total_cameras", s.total)
            .detail("discovery_active", s.discovery_active);
        if let Some(age) = s.last_scan_age {
            report = report.detail("last_scan_age_seconds", age.as_secs_f64());
        }
        Box::pin(async move { report })
    }
}

/// `mediamtx` in the standalone backend: not used.
pub struct StandaloneMediamtx;

impl ComponentCheck for StandaloneMediamtx {
    fn name(&self) -> &'static str {
        MEDIAMTX
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async {
            ComponentReport::new(HealthStatus::Healthy, ComponentState::Stopped, "not used")
                .detail("backend", "standalone")
        })
    }
}

/// `storage`: recordings and snapshots directories writable (a probe file is created and removed) and the
/// usage of the recordings filesystem against `storage.warn_percent` / `block_percent`.
pub struct StorageCheck {
    pub recordings_path: PathBuf,
    pub snapshots_path: PathBuf,
    pub warn_percent: f64,
    pub block_percent: f64,
}

/// Name of the probe file written into each storage directory (not a valid media file name: starts with `.`).
const PROBE_FILE: &str = ".camera-service-health-probe";

impl ComponentCheck for StorageCheck {
    fn name(&self) -> &'static str {
        STORAGE
    }

    fn check(&self) -> CheckFuture<'_> {
        let recordings = self.recordings_path.clone();
        let snapshots = self.snapshots_path.clone();
        let (warn, block) = (self.warn_percent, self.block_percent);
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || storage_report(&recordings, &snapshots, warn, block)).await {
                Ok(report) => report,
                Err(e) => ComponentReport::unhealthy(format!("storage check failed: {e}")),
            }
        })
    }
}

fn probe_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(PROBE_FILE);
    std::fs::write(&probe, b"ok").map_err(|e| format!("{} is not writable: {e}", dir.display()))?;
    std::fs::remove_file(&probe).map_err(|e| format!("cannot remove probe file in {}: {e}", dir.display()))
}

fn storage_report(recordings: &Path, snapshots: &Path, warn: f64, block: f64) -> ComponentReport {
    let writable =
        [("recordings", recordings), ("snapshots", snapshots)].map(|(kind, dir)| (kind, probe_writable(dir)));
    let usage = fs_usage(recordings);
    if let Ok(u) = &usage {
        metrics::gauge!("camera_service_storage_bytes", "kind" => "fs_total").set(u.total_bytes as f64);
        metrics::gauge!("camera_service_storage_bytes", "kind" => "fs_available").set(u.available_bytes as f64);
    }
    let mut report = match (&usage, writable.iter().find_map(|(_, r)| r.as_ref().err())) {
        (_, Some(error)) => ComponentReport::unhealthy(error.clone()),
        (Err(e), None) => ComponentReport::unhealthy(format!("cannot read filesystem usage: {e}")),
        (Ok(u), None) if u.usage_percent >= block => ComponentReport::unhealthy(format!(
            "usage {:.1}% is at or above the blocking threshold {block}%",
            u.usage_percent
        )),
        (Ok(u), None) if u.usage_percent >= warn => ComponentReport::degraded(format!(
            "usage {:.1}% is at or above the warning threshold {warn}%",
            u.usage_percent
        )),
        (Ok(u), None) => ComponentReport::healthy(format!("writable; usage {:.1}%", u.usage_percent)),
    };
    for (kind, result) in &writable {
        report = report.detail(&format!("{kind}_writable"), result.is_ok());
    }
    if let Ok(u) = usage {
        report = report
            .detail("usage_percentage", (u.usage_percent * 10.0).round() / 10.0)
            .detail("available_bytes", u.available_bytes)
            .detail("total_bytes", u.total_bytes);
    }
    report
}

/// `database`: a read and a write transaction; slow (> 1 s) is degraded, failing is unhealthy.
pub struct DatabaseCheck {
    pub store: Store,
}

/// Above this, the database counts as slow.
pub const DATABASE_SLOW: Duration = Duration::from_secs(1);

impl ComponentCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        DATABASE
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move { database_report(self.store.check_health().await) })
    }
}

fn database_report(outcome: crate::Result<Duration>) -> ComponentReport {
    match outcome {
        Ok(took) => {
            let ms = took.as_secs_f64() * 1000.0;
            let report = if took > DATABASE_SLOW {
                ComponentReport::degraded(format!("slow: read and write took {ms:.0} ms"))
            } else {
                ComponentReport::healthy(format!("read and write OK in {ms:.1} ms"))
            };
            report.detail("latency_ms", (ms * 10.0).round() / 10.0)
        }
        Err(e) => ComponentReport::unhealthy(format!("database check failed: {}", e.details)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::monitor::{CameraMonitorSnapshot, DiscoveryFlag};

    #[test]
    fn websocket_thresholds() {
        assert_eq!(websocket_report(false, 0, 10).status, HealthStatus::Unhealthy);
        assert_eq!(websocket_report(true, 8, 10).status, HealthStatus::Healthy);
        let near_cap = websocket_report(true, 9, 10);
        assert_eq!(
            (near_cap.status, near_cap.state),
            (HealthStatus::Degraded, ComponentState::Running)
        );
        assert_eq!(near_cap.details["open_connections"], 9);
    }

    struct Fixed(CameraMonitorSnapshot);
    impl CameraMonitorProbe for Fixed {
        fn snapshot(&self) -> CameraMonitorSnapshot {
            self.0.clone()
        }
    }

    async fn camera_report(s: CameraMonitorSnapshot) -> ComponentReport {
        CameraMonitorCheck {
            probe: Arc::new(Fixed(s)),
        }
        .check()
        .await
    }

    #[tokio::test]
    async fn camera_monitor_states() {
        let pending = CameraMonitorCheck {
            probe: Arc::new(DiscoveryFlag(Arc::new(|| false))),
        }
        .check()
        .await;
        assert_eq!(
            (pending.status, pending.state),
            (HealthStatus::Degraded, ComponentState::Starting)
        );
        let done = CameraMonitorSnapshot {
            first_scan_done: true,
            ..Default::default()
        };
        assert_eq!(camera_report(done.clone()).await.status, HealthStatus::Healthy);
        let errored = CameraMonitorSnapshot {
            errored: 1,
            total: 2,
            ..done.clone()
        };
        assert_eq!(camera_report(errored).await.status, HealthStatus::Degraded);
        let failed = CameraMonitorSnapshot {
            watch_error: Some("inotify".into()),
            ..done
        };
        assert_eq!(camera_report(failed).await.state, ComponentState::Error);
    }

    #[tokio::test]
    async fn standalone_mediamtx_is_not_used() {
        let r = StandaloneMediamtx.check().await;
        assert_eq!(
            (r.status, r.state, r.message.as_str()),
            (HealthStatus::Healthy, ComponentState::Stopped, "not used")
        );
    }

    #[tokio::test]
    async fn storage_writable_and_thresholds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rec, snap) = (dir.path().join("rec"), dir.path().join("snap"));
        std::fs::create_dir_all(&rec).expect("mkdir");
        std::fs::create_dir_all(&snap).expect("mkdir");
        let check = |warn, block| StorageCheck {
            recordings_path: rec.clone(),
            snapshots_path: snap.clone(),
            warn_percent: warn,
            block_percent: block,
        };
        let ok = check(100.0, 100.0).check().await;
        assert_ne!(ok.status, HealthStatus::Unhealthy, "{}", ok.message);
        assert_eq!(ok.details["recordings_writable"], true);
        assert!(!rec.join(PROBE_FILE).exists(), "probe file removed");
        // Any real filesystem has usage ≥ 0 %.
        assert_eq!(check(0.0, 100.0).check().await.status, HealthStatus::Degraded);
        assert_eq!(check(0.0, 0.0).check().await.status, HealthStatus::Unhealthy);
        let missing = StorageCheck {
            snapshots_path: dir.path().join("absent"),
            ..check(100.0, 100.0)
        };
        let r = missing.check().await;
        assert_eq!(
            (r.status, r.details["snapshots_writable"].as_bool()),
            (HealthStatus::Unhealthy, Some(false))
        );
    }

    #[tokio::test]
    async fn database_check_on_a_real_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let r = DatabaseCheck { store }.check().await;
        assert_eq!(r.status, HealthStatus::Healthy, "{}", r.message);
        assert_eq!(
            database_report(Ok(Duration::from_millis(1500))).status,
            HealthStatus::Degraded
        );
        let failed = database_report(Err(crate::Error::database("disk I/O error")));
        assert_eq!(
            (failed.status, failed.state),
            (HealthStatus::Unhealthy, ComponentState::Error)
        );
    }
}
