//! Harness for the black-box contract tests of `camera-service`.
//!
//! Every test starts the real binary ([`TestServer::start`]) with its own temp data dir on free ports, then talks
//! to it only over the wire: WebSocket JSON-RPC ([`WsClient`]), HTTP ([`Http`], raw TCP in [`http::raw_request`])
//! and the offline CLI. Nothing here knows the server's internals; the expectations come from `shared/API.md`.
//!
//! Conventions: helpers panic with a descriptive message instead of returning errors (a test failure is the
//! only useful outcome), waits are bounded by a deadline and poll instead of sleeping a fixed time, and the
//! server's stderr is printed when a test panics.

pub mod contract;
pub mod http;
pub mod jwt;
pub mod mediamtx_double;
pub mod server;
pub mod tls;
pub mod ws;

pub use contract::{
    assert_error, assert_not_error, error_code, error_message, error_reason, is_rfc3339_ms, parse_ts_millis,
};
pub use http::{Auth, Http, HttpReply};
pub use server::TestServer;
pub use ws::{Reply, WsClient};

use std::future::Future;
use std::sync::Once;
use std::time::Duration;

/// Default bound for a single request/response round trip.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs the aws-lc-rs rustls crypto provider once per process (two providers are in the dependency graph,
/// so rustls cannot pick one by itself).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another test in the same process may have won the race; either way a provider is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// Polls `probe` every 50 ms until it yields `Some`, panicking with `what` after `limit`.
pub async fn poll_until<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}
