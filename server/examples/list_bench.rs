//! Measures `list_recordings` over the media index: creates 100,000 recording files (empty, generated names,
//! four cameras) in a temporary storage folder, reconciles the index once (timed), then times pages of 50 at
//! random offsets, with and without a device filter, and prints p50/p95/max.
//!
//! Run: `cargo run --release -p camera-service --example list_bench [-- <files>]`.

use camera_service::cameras::{CameraRegistry, NoDevices};
use camera_service::clock::SystemClock;
use camera_service::config::Config;
use camera_service::events::EventBus;
use camera_service::media::ffmpeg::Ffmpeg;
use camera_service::media::files::FileCatalog;
use camera_service::media::recorder::Recorder;
use camera_service::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PAGE: usize = 50;
const SAMPLES: usize = 1000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.storage.recordings_path = dir.path().join("recordings");
    config.storage.snapshots_path = dir.path().join("snapshots");
    std::fs::create_dir_all(&config.storage.recordings_path)?;
    std::fs::create_dir_all(&config.storage.snapshots_path)?;

    let started = Instant::now();
    let base = time::macros::datetime!(2025-01-01 00:00:00 UTC);
    for i in 0..files {
        let t = base + time::Duration::seconds(i64::try_from(i)? * 7);
        let name = format!("camera{}_{}.mp4", i % 4, camera_service::media::name_stamp(t, false));
        std::fs::write(config.storage.recordings_path.join(name), b"")?;
    }
    println!("created {files} files in {:.1} s", started.elapsed().as_secs_f64());

    let clock = SystemClock::new();
    let store = Store::open(&dir.path().join("data"))?;
    let events = EventBus::new(&config.notifications, clock.clone());
    let cameras = CameraRegistry::new(
        &config.cameras,
        Arc::new(NoDevices),
        Ffmpeg::default(),
        Arc::clone(&events),
        clock.clone(),
    );
    let recorder = Recorder::new(
        &config,
        cameras,
        Ffmpeg::default(),
        Arc::clone(&events),
        clock.clone(),
        store.clone(),
    );
    let catalog = Arc::new(FileCatalog::new(
        &config,
        recorder,
        Ffmpeg::default(),
        events,
        clock,
        store,
    ));
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    tokio::spawn(Arc::clone(&catalog).run_index(shutdown));
    while !catalog.index().is_live() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "index live (watch + initial reconcile of {files} files) after {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % n.max(1) as u64).unwrap_or(0)
    };
    for device in [None, Some("camera2")] {
        let mut times = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES {
            let offset = if i % 10 == 0 { 0 } else { next(files / 4) };
            let t = Instant::now();
            let page = catalog.list_recordings(device, PAGE, offset).await?;
            times.push(t.elapsed());
            if i == 0 {
                assert_eq!(page.files.len() as u64, (PAGE as u64).min(page.total));
            }
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "list_recordings(device={device:?}, limit={PAGE}) over {files} files, {SAMPLES} pages: \
             p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.95).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    Ok(())
}
