//! The health server on port 8003 (API.md §7): `/health`, `/health/detailed`, `/health/ready`,
//! `/health/live` and `/metrics`. No authentication.
//!
//! Handlers only read what the [`HealthMonitor`] already holds (no check runs on a request) and render the
//! Prometheus handle. Every response carries `Cache-Control: no-store` and `Access-Control-Allow-Origin: *`;
//! JSON everywhere except `/metrics` (text format 0.0.4). Unknown paths get a JSON 404.

use crate::clock::format_timestamp;
use crate::health::monitor::{HealthMonitor, HealthStatus};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::{Value, json};
use std::sync::Arc;

/// What the health endpoints read.
#[derive(Clone)]
pub struct HealthServerState {
    pub monitor: Arc<HealthMonitor>,
    pub metrics: PrometheusHandle,
}

pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The port-8003 router. Serve it with `axum::serve` on the `health.host:health.port` listener.
pub fn router(state: HealthServerState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/detailed", get(detailed))
        .route("/health/ready", get(ready))
        .route("/health/live", get(live))
        .route("/metrics", get(prometheus))
        .fallback(not_found)
        .with_state(state)
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

fn json_response(ok: bool, body: Value) -> Response {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    respond(status, "application/json", body.to_string())
}

fn now(monitor: &HealthMonitor) -> String {
    format_timestamp(monitor.clock().now())
}

/// `{status, timestamp, version, uptime}`; 200 for healthy and degraded, 503 for unhealthy.
fn summary(monitor: &HealthMonitor, status: HealthStatus) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("status".into(), status.as_str().into());
    body.insert("timestamp".into(), now(monitor).into());
    body.insert("version".into(), crate::VERSION.into());
    body.insert("uptime".into(), monitor.uptime_seconds().into());
    body
}

async fn health(State(state): State<HealthServerState>) -> Response {
    let status = state.monitor.overall();
    json_response(
        status != HealthStatus::Unhealthy,
        Value::Object(summary(&state.monitor, status)),
    )
}

async fn detailed(State(state): State<HealthServerState>) -> Response {
    let components = state.monitor.components();
    let status = crate::health::monitor::overall_of(&components);
    let count = |s: HealthStatus| components.iter().filter(|c| c.status == s).count();
    let mut body = summary(&state.monitor, status);
    body.insert(
        "metrics".into(),
        json!({
            "uptime_seconds": state.monitor.uptime_seconds(),
            "component_count": components.len(),
            "components_healthy": count(HealthStatus::Healthy),
            "components_degraded": count(HealthStatus::Degraded),
            "components_unhealthy": count(HealthStatus::Unhealthy),
        }),
    );
    body.insert(
        "components".into(),
        serde_json::to_value(&components).unwrap_or_else(|_| json!([])),
    );
    json_response(status != HealthStatus::Unhealthy, Value::Object(body))
}

async fn ready(State(state): State<HealthServerState>) -> Response {
    let (ready, message) = match state.monitor.ready_with_reason() {
        Ok(()) => (true, "Service is ready".to_owned()),
        Err(reason) => (false, format!("Service is not ready: {reason}")),
    };
    json_response(
        ready,
        json!({"ready": ready, "timestamp": now(&state.monitor), "message": message}),
    )
}

async fn live(State(state): State<HealthServerState>) -> Response {
    let alive = state.monitor.live();
    let message = if alive {
        "Service is alive"
    } else {
        "Watchdog heartbeat is overdue"
    };
    json_response(
        alive,
        json!({"alive": alive, "timestamp": now(&state.monitor), "message": message}),
    )
}

async fn prometheus(State(state): State<HealthServerState>) -> Response {
    crate::health::metrics::set_uptime(state.monitor.uptime_seconds());
    respond(StatusCode::OK, PROMETHEUS_CONTENT_TYPE, state.metrics.render())
}

async fn not_found() -> Response {
    let body = json!({"error": {"status": 404, "reason": "not_found", "message": "No such health endpoint"}});
    respond(StatusCode::NOT_FOUND, "application/json", body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::NotificationsConfig;
    use crate::events::EventBus;
    use crate::health::host::HostSampler;
    use crate::health::monitor::{
        CheckFuture, ComponentCheck, ComponentReport, DATABASE, DiscoveryFlag, HealthDeps, STORAGE,
    };
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    use time::macros::datetime;
    use tower::ServiceExt;

    struct Scripted(&'static str, Mutex<ComponentReport>);
    impl ComponentCheck for Scripted {
        fn name(&self) -> &'static str {
            self.0
        }
        fn check(&self) -> CheckFuture<'_> {
            let r = self.1.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Box::pin(async move { r })
        }
    }

    struct Fixture {
        clock: Arc<ManualClock>,
        monitor: Arc<HealthMonitor>,
        storage: Arc<Scripted>,
        discovered: Arc<AtomicBool>,
        app: Router,
    }

    fn fixture() -> Fixture {
        let clock = ManualClock::new(datetime!(2025-01-15 14:30 UTC));
        let storage = Arc::new(Scripted(STORAGE, Mutex::new(ComponentReport::healthy("ok"))));
        let database = Arc::new(Scripted(DATABASE, Mutex::new(ComponentReport::healthy("ok"))));
        let discovered = Arc::new(AtomicBool::new(true));
        let d = discovered.clone();
        let monitor = HealthMonitor::new(HealthDeps {
            clock: clock.clone(),
            events: EventBus::new(&NotificationsConfig::default(), clock.clone()),
            started_at: datetime!(2025-01-15 14:29:59.5 UTC),
            checks: vec![storage.clone() as Arc<dyn ComponentCheck>, database],
            cameras: Arc::new(DiscoveryFlag(Arc::new(move || d.load(Ordering::SeqCst)))),
            listener_bound: Arc::new(|| true),
            host: HostSampler::new(clock.clone(), std::env::temp_dir()),
            metrics: None,
        });
        let app = router(HealthServerState {
            monitor: monitor.clone(),
            metrics: crate::health::metrics::install(),
        });
        Fixture {
            clock,
            monitor,
            storage,
            discovered,
            app,
        }
    }

    async fn get(app: &Router, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let request = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    fn parse(body: &str) -> Value {
        serde_json::from_str(body).expect("json body")
    }

    #[tokio::test]
    async fn health_endpoints_follow_the_monitor() {
        let f = fixture();
        let (status, headers, body) = get(&f.app, "/health").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "nothing checked yet: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");

        f.monitor.refresh().await;
        let (status, _, body) = get(&f.app, "/health").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            parse(&body),
            json!({"status": "healthy", "timestamp": "2025-01-15T14:30:00.000Z", "version": crate::VERSION, "uptime": 0.5})
        );

        *f.storage.1.lock().unwrap_or_else(|p| p.into_inner()) = ComponentReport::degraded("usage 85%");
        f.monitor.refresh().await;
        let (status, _, body) = get(&f.app, "/health/detailed").await;
        assert_eq!(status, StatusCode::OK);
        let body = parse(&body);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["components"][0]["name"], "storage");
        assert_eq!(body["components"][0]["status"], "degraded");
        assert_eq!(body["components"][0]["last_checked"], "2025-01-15T14:30:00.000Z");
        assert!(body["components"][0]["details"].is_object());
        assert_eq!(body["metrics"]["component_count"], 2);
        assert_eq!(body["metrics"]["components_degraded"], 1);
        assert_eq!(body["metrics"]["components_healthy"], 1);

        f.clock.advance(Duration::from_secs(31));
        let (status, _, body) = get(&f.app, "/health/detailed").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "stale results: {body}");
        assert_eq!(parse(&body)["metrics"]["components_unhealthy"], 2);
    }

    #[tokio::test]
    async fn ready_and_live() {
        let f = fixture();
        f.discovered.store(false, Ordering::SeqCst);
        f.monitor.refresh().await;
        let (status, _, body) = get(&f.app, "/health/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let body = parse(&body);
        assert_eq!(body["ready"], false);
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("discovery")),
            "{body}"
        );
        f.discovered.store(true, Ordering::SeqCst);
        let (status, _, body) = get(&f.app, "/health/ready").await;
        assert_eq!((status, parse(&body)["ready"].clone()), (StatusCode::OK, json!(true)));

        let (status, _, body) = get(&f.app, "/health/live").await;
        assert_eq!((status, parse(&body)["alive"].clone()), (StatusCode::OK, json!(true)));
        f.clock.advance(Duration::from_secs(10));
        let (status, _, body) = get(&f.app, "/health/live").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "watchdog not running: {body}");
    }

    #[tokio::test]
    async fn metrics_and_unknown_paths() {
        let f = fixture();
        let (status, headers, _) = get(&f.app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], PROMETHEUS_CONTENT_TYPE);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let (status, headers, body) = get(&f.app, "/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(parse(&body)["error"]["reason"], "not_found");
    }
}
