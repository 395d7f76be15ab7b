//! Measures how soon notifications flow again after the server restarts (issue #5: within 2 s of the
//! server being back), with the default [`ReconnectPolicy`].
//!
//! Starts the real `camera-service` (the test harness of `sdk/tests/support`: temp config, one virtual
//! camera, an admin key), subscribes to `file.deleted`, takes a few snapshots, then for each round kills
//! the service, keeps it down for DOWNTIME_MS (so the client goes through several backoff steps), starts it
//! again on the same port and, from the moment it prints its listening line, times
//! (a) the client's reconnect (authenticated, subscriptions replayed) and (b) the first notification:
//! the client deletes one of its snapshots (the call waits for the reconnect) and waits for `file.deleted`.
//!
//! Run: `cargo build -p camera-service && cargo run -p camera-sdk --example reconnect_timing [ROUNDS [DOWNTIME_MS]]`
//! (`CAMERA_SERVICE_BIN` overrides the service binary, e.g. `target/release/camera-service`).

#[path = "../tests/support/server.rs"]
mod server;

use std::time::{Duration, Instant};

use camera_sdk::{Client, ClientOptions, ConnectionState, Credentials, SdkError};
use server::TestServer;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Longest wait for one round's event before the round counts as failed.
const ROUND_LIMIT: Duration = Duration::from_secs(30);

/// Retries a call while the service is still initializing (that time counts: it is part of the wait).
async fn until_ready<T, F, Fut>(mut f: F) -> std::result::Result<T, SdkError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, SdkError>>,
{
    loop {
        match f().await {
            Err(e) if e.reason() == Some("service_initializing") => {
                let wait = e
                    .as_rpc()
                    .and_then(|r| r.retry_after())
                    .unwrap_or(Duration::from_millis(50));
                tokio::time::sleep(wait.min(Duration::from_millis(200))).await;
            }
            other => return other,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let arg = |n: usize| std::env::args().nth(n).map(|a| a.parse::<u64>()).transpose();
    let rounds = arg(1)?.unwrap_or(5);
    let downtime = Duration::from_millis(arg(2)?.unwrap_or(3000));
    let mut server = TestServer::start();
    let client = Client::connect_with(
        &server.ws_url(),
        Credentials::api_key(&server.admin_key),
        ClientOptions::default(),
    )
    .await?;
    let mut deleted = client.subscribe(&["file.deleted"], None).await?;
    let mut files = Vec::new();
    for _ in 0..rounds {
        let shot = until_ready(|| client.take_snapshot("camera0".into(), None, None, None, None, None)).await?;
        files.push(shot.filename);
    }

    println!("service down for {downtime:?} per round");
    println!("round  down + start  reconnected after ready  first notification after ready");
    let mut worst = Duration::ZERO;
    for (round, file) in files.into_iter().enumerate() {
        let session = client.session().map(|s| s.session_id);
        let mut changes = client.state_changes();
        let stopped = Instant::now();
        // Blocking (kill, spawn, wait for the listening line): off the runtime, which meanwhile notices the loss.
        server = tokio::task::spawn_blocking(move || {
            server.kill();
            std::thread::sleep(downtime);
            server.restart();
            server
        })
        .await?;
        let ready = Instant::now();
        let (reconnected, first_event) = tokio::time::timeout(ROUND_LIMIT, async {
            let reconnect = async {
                while let Some(state) = changes.changed().await {
                    if let ConnectionState::Connected { session_id, .. } = state
                        && Some(&session_id) != session.as_ref()
                    {
                        return Some(ready.elapsed());
                    }
                }
                None
            };
            let event = async {
                until_ready(|| client.delete_snapshot(file.clone())).await?;
                while let Some(e) = deleted.next().await {
                    if e.params["filename"].as_str() == Some(file.as_str()) {
                        return Ok::<_, SdkError>(ready.elapsed());
                    }
                }
                Err(SdkError::Closed(None))
            };
            tokio::join!(reconnect, event)
        })
        .await?;
        let first_event = first_event?;
        worst = worst.max(first_event);
        println!(
            "{:>5}  {:>10.0}ms  {:>21.0}ms  {:>29.0}ms",
            round + 1,
            (ready - stopped).as_secs_f64() * 1000.0,
            reconnected.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
            first_event.as_secs_f64() * 1000.0
        );
    }
    println!(
        "worst: first notification {:.0} ms after the server was back (target < 2000 ms)",
        worst.as_secs_f64() * 1000.0
    );
    client.close().await;
    Ok(())
}
