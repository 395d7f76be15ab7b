//! Hotplug: an inotify watch on `cameras.v4l2.device_dir` that triggers a device rescan of the registry when a
//! `videoN` node is created, deleted, moved or changes attributes (udev fixes permissions after creating).
//!
//! Invariants:
//! - The inotify fd is read on a dedicated thread (blocking `poll` with a short timeout so it notices when the
//!   async side has gone); it never runs on the async runtime.
//! - The thread feeds a bounded channel of capacity 1 with `try_send`: a burst of events collapses into one
//!   pending rescan, and the thread never blocks on the async side.
//! - The periodic reconcile ([`super::CameraRegistry::run`]) still rescans, so a missed event (queue overflow,
//!   watch failure) is repaired within the rescan interval. A watch that cannot be set up is reported through
//!   the health monitor (`watch_error`).

use super::CameraRegistry;
use crate::fswatch::Inotify;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Watches `dir` and rescans `registry`'s devices on every relevant change until `shutdown` turns true.
pub async fn run(registry: Arc<CameraRegistry>, dir: PathBuf, mut shutdown: watch::Receiver<bool>) {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let thread_dir = dir.clone();
    let spawned = std::thread::Builder::new()
        .name("v4l2-hotplug".into())
        .spawn(move || watch_thread(&thread_dir, &tx));
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            registry.set_watch_error(Some(format!("cannot start the hotplug thread: {e}")));
            return;
        }
    };
    loop {
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = shutdown.wait_for(|down| *down) => return,
        };
        if event.is_some() {
            registry.rescan_devices().await;
            continue;
        }
        // The thread ended: it could not watch, or failed later.
        // The thread is ending (it dropped the sender); join it off the runtime anyway.
        let why = match tokio::task::spawn_blocking(move || handle.join()).await {
            Ok(Ok(Err(e))) => e,
            Ok(Ok(Ok(()))) => "the hotplug watch stopped".to_owned(),
            _ => "the hotplug thread panicked".to_owned(),
        };
        tracing::warn!(dir = %dir.display(), why, "V4L2 hotplug watch not running; relying on periodic rescans");
        registry.set_watch_error(Some(why));
        let _ = shutdown.wait_for(|down| *down).await;
        return;
    }
}

/// Blocks reading events until the receiver goes away. `Err` is why the watch could not run.
fn watch_thread(dir: &Path, tx: &mpsc::Sender<()>) -> Result<(), String> {
    let watch = Inotify::new()?;
    let mask = libc::IN_CREATE | libc::IN_DELETE | libc::IN_ATTRIB | libc::IN_MOVED_FROM | libc::IN_MOVED_TO;
    watch.add_watch(dir, mask)?;
    let mut buf = [0u8; 4096];
    while let Some(n) = watch.wait_events(&mut buf, || tx.is_closed())? {
        if relevant(&buf[..n]) {
            // Full means a rescan is pending already, which will see this change too.
            let _ = tx.try_send(());
        }
    }
    Ok(())
}

/// Whether a buffer of inotify events names a `videoN` node (or the queue overflowed, or the watch ended).
fn relevant(mut events: &[u8]) -> bool {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    let mut any = false;
    while events.len() >= HEADER {
        // Fields: wd i32, mask u32, cookie u32, len u32 (native endian), then `len` name bytes.
        let word = |at: usize| u32::from_ne_bytes([events[at], events[at + 1], events[at + 2], events[at + 3]]);
        let mask = word(4);
        let len = word(12) as usize;
        let end = (HEADER + len).min(events.len());
        let name = &events[HEADER..end];
        let name = name.split(|b| *b == 0).next().unwrap_or_default();
        if mask & (libc::IN_Q_OVERFLOW | libc::IN_IGNORED) != 0 {
            any = true;
        } else if let Ok(name) = std::str::from_utf8(name)
            && super::v4l2::node_number(name).is_some()
        {
            any = true;
        }
        events = &events[end..];
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cameras::{CameraStatus, tests::virtual_config, v4l2::V4l2Probe};
    use crate::clock::ManualClock;
    use crate::media::ffmpeg::Ffmpeg;
    use std::time::Duration;

    #[tokio::test]
    async fn plugging_and_unplugging_a_node_is_seen_quickly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let events = crate::events::EventBus::new_for_tests();
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let registry = CameraRegistry::new(
            &virtual_config(&[]),
            Arc::new(V4l2Probe::new(dir.path())),
            Ffmpeg::default(),
            events.clone(),
            clock,
        );
        registry.scan().await;
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(run(Arc::clone(&registry), dir.path().to_path_buf(), shutdown));
        tokio::time::sleep(Duration::from_millis(100)).await;

        let wait_for = |want: Option<CameraStatus>| {
            let registry = Arc::clone(&registry);
            async move {
                tokio::time::timeout(Duration::from_secs(3), async {
                    loop {
                        if registry.camera("camera7").ok().map(|c| c.status) == want {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
                .await
                .expect("status reached");
            }
        };
        std::fs::write(dir.path().join("other"), b"").expect("write");
        std::fs::write(dir.path().join("video7"), b"").expect("write");
        wait_for(Some(CameraStatus::Error)).await;
        std::fs::remove_file(dir.path().join("video7")).expect("rm");
        wait_for(Some(CameraStatus::Disconnected)).await;
        let topics: Vec<String> = events.log.lock().expect("log").iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(
            topics,
            [
                "camera.capability_error",
                "camera_status_update",
                "camera_status_update",
                "camera.status_change",
                "camera.disconnected"
            ]
        );
        assert!(registry.watch_error.lock().expect("lock").is_none());
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("ends")
            .expect("join");
    }

    #[tokio::test]
    async fn a_missing_directory_is_reported() {
        let events = crate::events::EventBus::new_for_tests();
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let registry = CameraRegistry::new(
            &virtual_config(&[]),
            Arc::new(crate::cameras::NoDevices),
            Ffmpeg::default(),
            events,
            clock,
        );
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(run(Arc::clone(&registry), "/nonexistent/dir".into(), shutdown));
        tokio::time::timeout(Duration::from_secs(3), async {
            while registry.watch_error.lock().expect("lock").is_none() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("reported");
        stop.send_replace(true);
        task.await.expect("join");
    }
}
