//! The Prometheus recorder behind `GET /metrics` (API.md §7).
//!
//! [`install`] installs the `metrics` crate's global recorder once per process and returns its handle; later
//! calls (tests, a second `AppState`) get the same handle. The exporter has no HTTP server of its own: the
//! health server renders the handle on demand. Metric names are all prefixed `camera_service_`; this module
//! owns `build_info` and `uptime_seconds` and the histogram buckets of `rpc_request_duration_seconds`.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Histogram buckets (seconds) for `camera_service_rpc_request_duration_seconds`: sub-millisecond pings up
/// to recordings that take the whole start timeout.
pub const RPC_DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub const RPC_DURATION_METRIC: &str = "camera_service_rpc_request_duration_seconds";
pub const BUILD_INFO_METRIC: &str = "camera_service_build_info";
pub const UPTIME_METRIC: &str = "camera_service_uptime_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global Prometheus recorder (first call only) and returns its handle. If another recorder is
/// already installed in this process (only possible in tests), a detached recorder's handle is returned and
/// a warning logged: metrics then go to the other recorder.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = match builder().install_recorder() {
                Ok(handle) => handle,
                Err(e) => {
                    tracing::warn!("cannot install the Prometheus recorder: {e}; /metrics will be empty");
                    builder().build_recorder().handle()
                }
            };
            describe();
            metrics::gauge!(BUILD_INFO_METRIC, "version" => crate::VERSION, "api_version" => camera_api::API_VERSION)
                .set(1.0);
            handle
        })
        .clone()
}

fn builder() -> PrometheusBuilder {
    let base = PrometheusBuilder::new();
    // Only fails for an empty bucket list, which RPC_DURATION_BUCKETS is not.
    match base.set_buckets_for_metric(Matcher::Full(RPC_DURATION_METRIC.to_owned()), RPC_DURATION_BUCKETS) {
        Ok(builder) => builder,
        Err(e) => {
            tracing::warn!("histogram buckets rejected: {e}");
            PrometheusBuilder::new()
        }
    }
}

/// Sets `camera_service_uptime_seconds`.
pub fn set_uptime(seconds: f64) {
    metrics::gauge!(UPTIME_METRIC).set(seconds);
}

/// HELP lines for every metric of API.md §7.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "camera_service_rpc_requests_total",
        "JSON-RPC requests by method, result code and transport"
    );
    describe_histogram!(
        RPC_DURATION_METRIC,
        metrics::Unit::Seconds,
        "JSON-RPC request duration by method"
    );
    describe_gauge!("camera_service_ws_connections", "Open WebSocket connections");
    describe_counter!(
        "camera_service_ws_connections_rejected_total",
        "Rejected WebSocket upgrades by reason"
    );
    describe_counter!("camera_service_auth_failures_total", "Failed authentications by reason");
    describe_counter!(
        "camera_service_notifications_sent_total",
        "Notifications queued for delivery by topic"
    );
    describe_counter!(
        "camera_service_notifications_dropped_total",
        "Notifications dropped for slow consumers by topic"
    );
    describe_gauge!("camera_service_cameras", "Cameras by status and type");
    describe_gauge!("camera_service_recordings_active", "Recordings in progress");
    describe_gauge!("camera_service_ffmpeg_processes", "Running ffmpeg processes by role");
    describe_gauge!("camera_service_mediamtx_up", "1 when MediaMTX is reachable, 0 when not");
    describe_gauge!(
        "camera_service_storage_bytes",
        metrics::Unit::Bytes,
        "Storage bytes by kind"
    );
    describe_counter!(
        "camera_service_file_downloads_total",
        "File downloads by kind and status"
    );
    describe_gauge!(BUILD_INFO_METRIC, "Build information (always 1)");
    describe_gauge!(
        UPTIME_METRIC,
        metrics::Unit::Seconds,
        "Seconds since the process started"
    );
}

/// How often histogram samples are drained into their buckets.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Drains histogram samples into their buckets every [`UPKEEP_INTERVAL`]. The exporter keeps raw samples (8 bytes
/// each) until upkeep: at 600,000 requests/s a 1 s upkeep buffered ~5 MB between drains, and the allocator kept
/// that peak (+33 % RSS in the foundation benchmark's 3,000,000-request soak); 100 ms keeps it a tenth of that.
pub async fn run_upkeep(handle: PrometheusHandle, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = async { shutdown.wait_for(|down| *down).await.is_ok() } => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_is_idempotent_and_renders_build_info() {
        let a = install();
        let b = install();
        set_uptime(12.5);
        metrics::histogram!(RPC_DURATION_METRIC, "method" => "health_metrics_test").record(0.002);
        let text = a.render();
        // The global recorder may belong to another test binary setup; only check when it is ours.
        if text.contains(BUILD_INFO_METRIC) {
            assert!(
                text.contains(&format!("api_version=\"{}\"", camera_api::API_VERSION)),
                "{text}"
            );
            // Other tests set the uptime concurrently; only its presence is stable.
            assert!(text.contains("\ncamera_service_uptime_seconds "), "{text}");
            let bucket =
                "camera_service_rpc_request_duration_seconds_bucket{method=\"health_metrics_test\",le=\"0.0025\"} 1";
            assert!(text.contains(bucket), "{text}");
        }
        assert_eq!(
            a.render().contains(BUILD_INFO_METRIC),
            b.render().contains(BUILD_INFO_METRIC)
        );
    }
}
