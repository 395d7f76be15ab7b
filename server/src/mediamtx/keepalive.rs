//! Keepalive readers: an ffmpeg the service runs that reads a camera's path over RTSP and discards it, so
//! MediaMTX keeps the on-demand publisher (or pull) of that path running. Pinned streams (§4.5) and
//! MediaMTX-backend recordings (§4.3) each hold one.
//!
//! Invariants:
//! - Each keepalive is one task that owns its ffmpeg (`Role::Keepalive`, killed with its parent) and restarts it
//!   with backoff (injected clock) while the keepalive lasts; [`Keepalive::stop`] ends it and its process.
//! - While the process runs it counts as one of the service's own readers of the path
//!   ([`Reconciler::add_own_reader`]), never as a viewer; the count is released when the process ends, when the
//!   task is stopped, and when it is aborted (a guard releases it on drop).

use super::reconciler::Reconciler;
use crate::clock::Clock;
use crate::media::ffmpeg::{Ffmpeg, Role};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Restart backoff: first delay and cap.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(10));
/// A reader that ran this long resets its backoff.
const STABLE: Duration = Duration::from_secs(10);
/// How long [`Keepalive::stop`] waits for the task before aborting it.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// A running keepalive reader of one path. Dropping it without [`Keepalive::stop`] aborts the task.
pub struct Keepalive {
    device: String,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Keepalive {
    /// Starts reading `url` (the path of `device`) until stopped.
    pub fn start(
        ffmpeg: Ffmpeg,
        clock: Arc<dyn Clock>,
        reconciler: Arc<Reconciler>,
        device: &str,
        url: String,
    ) -> Keepalive {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(ffmpeg, clock, reconciler, device.to_owned(), url, stopped));
        Keepalive {
            device: device.to_owned(),
            stop,
            task: Some(task),
        }
    }

    /// Ends the reader (its process is killed) and waits for the task, aborting it after [`STOP_WAIT`].
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_WAIT, &mut task).await.is_err()
        {
            tracing::warn!(
                device = self.device,
                "keepalive reader did not stop in time; aborting it"
            );
            task.abort();
        }
    }
}

impl Drop for Keepalive {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Counts one own reader while alive.
struct OwnReader {
    reconciler: Arc<Reconciler>,
    device: String,
}

impl OwnReader {
    fn new(reconciler: &Arc<Reconciler>, device: &str) -> OwnReader {
        reconciler.add_own_reader(device);
        OwnReader {
            reconciler: reconciler.clone(),
            device: device.to_owned(),
        }
    }
}

impl Drop for OwnReader {
    fn drop(&mut self) {
        self.reconciler.remove_own_reader(&self.device);
    }
}

/// The ffmpeg arguments of a reader of `url` that discards what it reads.
pub fn reader_args(url: &str) -> Vec<String> {
    [
        "-loglevel",
        "error",
        "-rtsp_transport",
        "tcp",
        "-i",
        url,
        "-c",
        "copy",
        "-f",
        "null",
        "-",
    ]
    .map(str::to_owned)
    .into()
}

async fn run(
    ffmpeg: Ffmpeg,
    clock: Arc<dyn Clock>,
    reconciler: Arc<Reconciler>,
    device: String,
    url: String,
    mut stop: watch::Receiver<bool>,
) {
    let args = reader_args(&url);
    let mut backoff = BACKOFF.0;
    loop {
        let stopped = *stop.borrow();
        if stopped {
            break;
        }
        let began = clock.elapsed();
        match ffmpeg.spawn(Role::Keepalive, &args) {
            Ok(mut process) => {
                let _own = OwnReader::new(&reconciler, &device);
                tokio::select! {
                    status = process.wait() => {
                        tracing::debug!(device, ?status, stderr = process.stderr_tail(), "keepalive reader ended");
                    }
                    () = super::stopped(&mut stop) => {
                        process.kill().await;
                        break;
                    }
                }
            }
            Err(e) => tracing::warn!(device, error = ?e, "cannot start the keepalive reader"),
        }
        if clock.elapsed().saturating_sub(began) >= STABLE {
            backoff = BACKOFF.0;
        }
        tokio::select! {
            () = clock.sleep(backoff) => {}
            () = super::stopped(&mut stop) => break,
        }
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_copies_and_discards() {
        let args = reader_args("rtsp://127.0.0.1:8554/camera0");
        assert_eq!(
            args.join(" "),
            "-loglevel error -rtsp_transport tcp -i rtsp://127.0.0.1:8554/camera0 -c copy -f null -"
        );
    }
}
