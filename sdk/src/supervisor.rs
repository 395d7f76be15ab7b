//! The reconnect loop: one task per client that watches the current connection, and when it drops, opens a
//! new one with backoff, re-authenticates with the current credential and replays the subscription ledger
//! (all inside [`crate::state::Shared::open`]), then publishes it in the link slot.
//!
//! It stops when the application closes the client (or drops every handle), when reconnecting is disabled
//! or has used its attempts, or when the server rejects the credential (-32001), which retrying cannot fix.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::backoff::Jitter;
use crate::connection::Connection;
use crate::error::{ErrorKind, SdkError};
use crate::state::{Link, Shared};

/// Runs until the client is closed. `conn` is the connection `connect` opened.
pub(crate) async fn supervise(shared: Arc<Shared>, mut conn: Arc<Connection>, mut shutdown: watch::Receiver<bool>) {
    let mut jitter = Jitter::new();
    loop {
        let lost = tokio::select! {
            e = conn.rpc.on_disconnect() => e,
            _ = shutdown.wait_for(|closed| *closed) => {
                shared.link.send_replace(Link::Closed("closed by the application".to_owned()));
                return;
            }
        };
        tracing::info!(error = %lost, "connection lost");
        shared.link.send_replace(Link::Down {
            attempt: 0,
            error: lost.clone(),
        });
        drop(conn);
        match reconnect(&shared, &mut shutdown, &mut jitter, lost).await {
            Ok(c) => {
                tracing::info!(session = %c.session.session_id, "reconnected");
                shared.link.send_replace(Link::Up(Arc::clone(&c)));
                conn = c;
            }
            Err(reason) => {
                shared.link.send_replace(Link::Closed(reason));
                return;
            }
        }
    }
}

/// Attempts until one succeeds; `Err` carries why the client closes instead.
async fn reconnect(
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
    jitter: &mut Jitter,
    mut last_error: String,
) -> Result<Arc<Connection>, String> {
    let policy = &shared.options.reconnect;
    let mut failed: u32 = 0;
    let mut at_least = Duration::ZERO;
    loop {
        if !policy.may_retry(failed) {
            return Err(if policy.enabled {
                format!("gave up reconnecting after {failed} attempts: {last_error}")
            } else {
                format!("connection lost: {last_error}")
            });
        }
        let delay = policy.delay(failed, jitter.unit()).max(at_least);
        let attempt = async {
            tokio::time::sleep(delay).await;
            shared.open().await
        };
        let result = tokio::select! {
            r = attempt => r,
            _ = shutdown.wait_for(|closed| *closed) => return Err("closed by the application".to_owned()),
        };
        match result {
            Ok(c) => return Ok(Arc::new(c)),
            Err(e) if e.kind() == ErrorKind::Auth => {
                return Err(format!("the server rejected the credential on reconnect: {e}"));
            }
            Err(e) => {
                failed = failed.saturating_add(1);
                at_least = retry_after(&e);
                last_error = e.to_string();
                tracing::debug!(attempt = failed, error = %last_error, "reconnect failed");
                shared.link.send_replace(Link::Down {
                    attempt: failed,
                    error: last_error.clone(),
                });
            }
        }
    }
}

/// The server's `retry_after_ms` hint (rate limits, initializing), if any.
fn retry_after(e: &SdkError) -> Duration {
    e.as_rpc()
        .and_then(crate::error::RpcError::retry_after)
        .unwrap_or(Duration::ZERO)
}
