//! Health, readiness, liveness and metrics (API.md §7, port 8003), and the data behind `get_status`,
//! `get_system_status` and `get_metrics`.
//!
//! - [`monitor`]: the [`HealthMonitor`] — runs the component checks every 10 s, keeps the latest results,
//!   derives overall status / readiness / liveness, publishes `system_health_update` + `system.health`.
//! - [`checks`]: the five standard component checks.
//! - [`host`]: CPU, memory, process and filesystem measurements (blocking reads on the blocking pool).
//! - [`metrics`]: the Prometheus recorder (installed once per process).
//! - [`server`]: the port-8003 router.
//!
//! Wiring (in `app`): build the checks with [`standard_checks`], the monitor with [`HealthMonitor::new`],
//! spawn [`HealthMonitor::run`] with the shutdown signal, and serve [`server::router`] on the health listener.

pub mod checks;
pub mod host;
pub mod metrics;
pub mod monitor;
pub mod server;

pub use monitor::{
    CameraMonitorProbe, CameraMonitorSnapshot, ComponentCheck, ComponentReport, ComponentState, DiscoveryFlag,
    HealthDeps, HealthMonitor, HealthStatus, Readiness,
};

use crate::config::Config;
use crate::rpc::connection::ConnectionRegistry;
use crate::store::Store;
use std::sync::Arc;

/// The five components of API.md §7 in reporting order. `mediamtx` is the standalone "not used" check;
/// pass the MediaMTX client's own check instead once it exists.
pub fn standard_checks(
    config: &Config,
    connections: Arc<ConnectionRegistry>,
    listener_bound: Arc<dyn Fn() -> bool + Send + Sync>,
    cameras: Arc<dyn CameraMonitorProbe>,
    mediamtx: Option<Arc<dyn ComponentCheck>>,
    store: Store,
) -> Vec<Arc<dyn ComponentCheck>> {
    vec![
        Arc::new(checks::WebsocketServerCheck {
            listener_bound,
            connections,
            max_connections: config.server.max_connections,
        }),
        Arc::new(checks::CameraMonitorCheck { probe: cameras }),
        mediamtx.unwrap_or_else(|| Arc::new(checks::StandaloneMediamtx)),
        Arc::new(checks::StorageCheck {
            recordings_path: config.storage.recordings_path.clone(),
            snapshots_path: config.storage.snapshots_path.clone(),
            warn_percent: config.storage.warn_percent,
            block_percent: config.storage.block_percent,
        }),
        Arc::new(checks::DatabaseCheck { store }),
    ]
}
