//! Logging (tracing, text or JSON on stderr; colours only on a terminal) and the per-method RPC metrics.
//!
//! `RpcMetrics` resolves the `camera_service_rpc_requests_total{method,code,transport}` counter for successful
//! calls and the duration histogram once per method at start, so the hot path does no registry lookup.

use crate::config::{LogFormat, LoggingConfig};
use crate::rpc::connection::Transport;
use metrics::{Counter, Histogram};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber (stderr). `CAMERA_SERVICE_LOG` overrides `logging.level`.
pub fn init(config: &LoggingConfig) {
    let filter = std::env::var("CAMERA_SERVICE_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&config.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // Colours only on a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

struct MethodMetrics {
    ok_ws: Counter,
    ok_http: Counter,
    duration: Histogram,
}

pub struct RpcMetrics {
    methods: HashMap<&'static str, MethodMetrics>,
}

impl RpcMetrics {
    /// Resolves the handles for every contract method. Call after the metrics recorder is installed.
    pub fn new() -> Self {
        let methods = camera_api::methods::METHODS
            .iter()
            .map(|m| {
                let ok = |transport: &'static str| {
                    metrics::counter!("camera_service_rpc_requests_total", "method" => m.name, "code" => "ok", "transport" => transport)
                };
                let handles = MethodMetrics {
                    ok_ws: ok("ws"),
                    ok_http: ok("http"),
                    duration: metrics::histogram!("camera_service_rpc_request_duration_seconds", "method" => m.name),
                };
                (m.name, handles)
            })
            .collect();
        RpcMetrics { methods }
    }

    /// Records one finished request. Unknown method names are counted under `method="unknown"` so a client
    /// cannot create unbounded label sets.
    pub fn record(&self, method: &str, error_code: Option<i32>, transport: Transport, elapsed: Duration) {
        let Some(handles) = self.methods.get(method) else {
            metrics::counter!("camera_service_rpc_requests_total", "method" => "unknown", "code" => error_code.unwrap_or(0).to_string(), "transport" => transport.label())
                .increment(1);
            return;
        };
        handles.duration.record(elapsed.as_secs_f64());
        match (error_code, transport) {
            (None, Transport::WebSocket) => handles.ok_ws.increment(1),
            (None, Transport::Http) => handles.ok_http.increment(1),
            (Some(code), _) => {
                let name = camera_api::methods::method(method).map_or("unknown", |m| m.name);
                metrics::counter!("camera_service_rpc_requests_total", "method" => name, "code" => code.to_string(), "transport" => transport.label())
                    .increment(1);
            }
        }
    }
}

impl Default for RpcMetrics {
    fn default() -> Self {
        Self::new()
    }
}
