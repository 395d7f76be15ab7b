//! Media benchmark (issues "media core" and "recording, files and storage", "Numbers"). Prints figures; asserts
//! nothing beyond the calls succeeding.
//!
//! Run: `cargo build --release -p camera-service && cargo run --release -p contract-tests --bin media_bench`
//! (`--quick` for fewer samples). The server under test (the release binary next to this one, or
//! `CAMERA_SERVICE_BIN`) and the ffmpeg processes it starts run pinned to core 0; this client runs pinned to core 1
//! on a single-threaded runtime. Each phase starts its own server with a fresh data dir, standalone backend.
//!
//! Phases:
//! 1. `take_snapshot` from a 640x480 virtual camera, sequential, end to end (cold: one ffmpeg spawn each).
//! 2. `get_camera_list` with 32 cameras (16 virtual + 16 fake V4L2 nodes), paced at 1,000 requests/s on one
//!    connection; latency counted from the scheduled send time, so queueing counts.
//! 3. Hotplug: a node created or removed in the device directory until `camera_status_update` arrives.
//! 4. `start_recording` until the call returns (it returns once the first segment file exists; checked on disk),
//!    round-robin over 8 virtual cameras so file names of consecutive starts never collide.
//! 5. RSS of the server and of its ffmpeg children while 8 virtual cameras (640x480, 15 fps) record.
//! 6. `list_recordings` pages of 50 at random offsets over 100,000 indexed recording files (empty files with
//!    generated names, four cameras), with and without a device filter, over the wire.
//! 7. Download of a 200 MB recording over loopback from the page cache (`GET /files/recordings/...`), streamed by
//!    the client and counted, best and median of 5.

use contract_tests::{TestServer, WsClient};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Samples {
    quick: bool,
}

impl Samples {
    fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

fn main() -> BenchResult<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::var_os("CAMERA_SERVICE_BIN").is_none() {
        let exe = std::env::current_exe()?;
        let bin = exe.parent().ok_or("no binary directory")?.join("camera-service");
        if !bin.exists() {
            return Err(format!(
                "{} not found: run `cargo build --release -p camera-service` first",
                bin.display()
            )
            .into());
        }
        // SAFETY: set before any other thread exists (the runtime is built below).
        unsafe { std::env::set_var("CAMERA_SERVICE_BIN", &bin) };
    }
    pin(0, 1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(Samples { quick }))
}

async fn run(samples: Samples) -> BenchResult<()> {
    println!(
        "camera-service media benchmark ({})",
        if samples.quick { "quick" } else { "full" }
    );
    println!("server and its ffmpeg children pinned to core 0; client pinned to core 1\n");
    snapshots(&samples).await?;
    camera_list(&samples).await?;
    hotplug(&samples).await?;
    recording_start(&samples).await?;
    recording_rss(&samples).await?;
    listing(&samples).await?;
    download(&samples).await?;
    Ok(())
}

fn virtual_camera(id: &str, width: u32, height: u32, fps: u32) -> Value {
    json!({"id": id, "pattern": "testsrc", "width": width, "height": height, "fps": fps})
}

async fn start_server(tweaks: Value) -> TestServer {
    let mut tweaks = tweaks;
    contract_tests::server::merge(
        &mut tweaks,
        &json!({"security": {"rate_limit_per_sec": 1000000, "rate_limit_burst": 1000000}}),
    );
    let server = TestServer::start(tweaks).await;
    pin(server.pid(), 0);
    server
}

async fn operator(server: &TestServer) -> WsClient {
    server.ws_as(&server.jwt("media-bench", "operator", 3600)).await
}

async fn snapshots(samples: &Samples) -> BenchResult<()> {
    let server = start_server(json!({"cameras": {"virtual": [virtual_camera("camera0", 640, 480, 15)]}})).await;
    let mut ws = operator(&server).await;
    ws.result("take_snapshot", json!({"device": "camera0"})).await; // warm the page cache for ffmpeg
    let mut latencies = Vec::new();
    for _ in 0..samples.n(50, 10) {
        let started = Instant::now();
        let r = ws.result("take_snapshot", json!({"device": "camera0"})).await;
        latencies.push(started.elapsed());
        if r["resolution"] != "640x480" {
            return Err(format!("unexpected snapshot: {r}").into());
        }
    }
    report(
        "take_snapshot, virtual 640x480 jpg (cold ffmpeg)",
        &mut latencies,
        &[0.5, 0.95],
    );
    Ok(())
}

async fn camera_list(samples: &Samples) -> BenchResult<()> {
    let dev = tempfile::tempdir()?;
    for n in 16..32 {
        std::fs::write(dev.path().join(format!("video{n}")), b"")?;
    }
    let virtuals: Vec<Value> = (0..16)
        .map(|n| virtual_camera(&format!("camera{n}"), 320, 240, 10))
        .collect();
    let server = start_server(json!({"cameras": {
        "virtual": virtuals,
        "v4l2": {"enabled": true, "device_dir": dev.path().display().to_string()}
    }}))
    .await;
    let mut ws = operator(&server).await;
    let list = ws.result("get_camera_list", Value::Null).await;
    if list["total"] != 32 {
        return Err(format!("expected 32 cameras: {list}").into());
    }
    let count = samples.n(10_000, 2_000);
    let period = Duration::from_millis(1);
    let mut latencies = Vec::with_capacity(count);
    let start = Instant::now() + Duration::from_millis(10);
    for i in 0..count {
        let due = start + period * u32::try_from(i)?;
        wait_until(due).await;
        let r = ws.call("get_camera_list", Value::Null).await;
        latencies.push(due.elapsed());
        if r["result"]["total"] != 32 {
            return Err(format!("unexpected reply: {r}").into());
        }
    }
    report(
        "get_camera_list, 32 cameras, 1,000 req/s",
        &mut latencies,
        &[0.5, 0.99, 0.999],
    );
    Ok(())
}

async fn hotplug(samples: &Samples) -> BenchResult<()> {
    let dev = tempfile::tempdir()?;
    let server = start_server(json!({"cameras": {
        "v4l2": {"enabled": true, "device_dir": dev.path().display().to_string()}
    }}))
    .await;
    let mut ws = operator(&server).await;
    let mut latencies = Vec::new();
    for round in 0..samples.n(50, 10) {
        let node = dev.path().join("video40");
        let started = Instant::now();
        if round % 2 == 0 {
            std::fs::write(&node, b"")?;
        } else {
            std::fs::remove_file(&node)?;
        }
        let n = ws.notification("camera_status_update", Duration::from_secs(5)).await;
        latencies.push(started.elapsed());
        if n["params"]["device"] != "camera40" {
            return Err(format!("unexpected notification: {n}").into());
        }
    }
    report(
        "hotplug event -> camera_status_update received",
        &mut latencies,
        &[0.5, 0.95],
    );
    Ok(())
}

/// Waits until `due` precisely: tokio's timer has a 1 ms granularity, which would count as latency, so the last
/// stretch spins (this client has a core to itself).
async fn wait_until(due: Instant) {
    const SPIN: Duration = Duration::from_millis(2);
    if let Some(wait) = due
        .checked_duration_since(Instant::now())
        .and_then(|w| w.checked_sub(SPIN))
    {
        tokio::time::sleep(wait).await;
    }
    while Instant::now() < due {
        std::hint::spin_loop();
    }
}

fn recording_server_config() -> Value {
    let cameras: Vec<Value> = (0..8)
        .map(|n| virtual_camera(&format!("camera{n}"), 640, 480, 15))
        .collect();
    json!({"cameras": {"virtual": cameras}})
}

async fn recording_start(samples: &Samples) -> BenchResult<()> {
    let server = start_server(recording_server_config()).await;
    let mut ws = operator(&server).await;
    let recordings = recordings_dir(&server)?;
    let mut latencies = Vec::new();
    for i in 0..samples.n(40, 8) {
        let device = format!("camera{}", i % 8);
        let started = Instant::now();
        let r = ws.result("start_recording", json!({"device": device})).await;
        latencies.push(started.elapsed());
        let file = r["filename"].as_str().ok_or("no filename")?;
        if !recordings.join(file).is_file() {
            return Err(format!("{file} is not on disk when start_recording returned").into());
        }
        ws.result("stop_recording", json!({"device": device})).await;
    }
    report(
        "start_recording -> first segment file on disk",
        &mut latencies,
        &[0.5, 0.95],
    );
    Ok(())
}

async fn recording_rss(samples: &Samples) -> BenchResult<()> {
    let server = start_server(recording_server_config()).await;
    let mut ws = operator(&server).await;
    let idle = rss_kib(server.pid())?;
    for n in 0..8 {
        ws.result("start_recording", json!({"device": format!("camera{n}")}))
            .await;
    }
    let settle = Duration::from_secs(if samples.quick { 3 } else { 10 });
    tokio::time::sleep(settle).await;
    let service = rss_kib(server.pid())?;
    let children = children_of(server.pid());
    let mut ffmpeg_total = 0;
    for pid in &children {
        ffmpeg_total += rss_kib(*pid).unwrap_or(0);
    }
    for n in 0..8 {
        ws.result("stop_recording", json!({"device": format!("camera{n}")}))
            .await;
    }
    println!("RSS with 8 virtual cameras (640x480, 15 fps) recording for {settle:?}:");
    println!(
        "  camera-service {:.1} MiB (idle before: {:.1} MiB); {} ffmpeg children {:.1} MiB in all ({:.1} MiB each)\n",
        mib(service),
        mib(idle),
        children.len(),
        mib(ffmpeg_total),
        mib(ffmpeg_total) / children.len().max(1) as f64
    );
    Ok(())
}

async fn listing(samples: &Samples) -> BenchResult<()> {
    let files = samples.n(100_000, 10_000);
    let server = start_server(json!({})).await;
    let dir = recordings_dir(&server)?;
    let started = Instant::now();
    for i in 0..files {
        let (day, rest) = (i / 86_400, i % 86_400);
        let name = format!(
            "camera{}_2025-{:02}-{:02}_{:02}-{:02}-{:02}.mp4",
            i % 4,
            day / 28 + 1,
            day % 28 + 1,
            rest / 3600,
            rest / 60 % 60,
            rest % 60
        );
        std::fs::File::create(dir.join(name))?;
    }
    let mut ws = operator(&server).await;
    let total = ws
        .result_until("list_recordings", json!({"limit": 1}), Duration::from_secs(120), |r| {
            r["total"] == files
        })
        .await;
    println!(
        "list_recordings: {files} files created and indexed in {:.1} s (total {})",
        started.elapsed().as_secs_f64(),
        total["total"]
    );
    let pages = samples.n(1_000, 200);
    for (label, device) in [("no filter", None), ("device filter", Some("camera1"))] {
        let mut latencies = Vec::with_capacity(pages);
        let mut offset: u64 = 12_345;
        for _ in 0..pages {
            // A fixed pseudo-random walk over the offsets (reproducible runs).
            offset = (offset * 1_103_515_245 + 12_345) % (files as u64 / 4);
            let mut params = json!({"limit": 50, "offset": offset});
            if let Some(device) = device {
                params["device"] = json!(device);
            }
            let began = Instant::now();
            let page = ws.result("list_recordings", params).await;
            latencies.push(began.elapsed());
            if page["files"].as_array().map(Vec::len) != Some(50) {
                return Err(format!("short page at offset {offset}: {page}").into());
            }
        }
        report(
            &format!("list_recordings page of 50 over {files} files, {label}"),
            &mut latencies,
            &[0.5, 0.95, 0.99],
        );
    }
    Ok(())
}

async fn download(samples: &Samples) -> BenchResult<()> {
    const SIZE: usize = 200 * 1000 * 1000;
    let server = start_server(json!({})).await;
    let name = "camera0_2025-01-15_14-30-00.mp4";
    {
        use std::io::Write;
        let mut file = std::fs::File::create(recordings_dir(&server)?.join(name))?;
        let block = vec![0x5a_u8; 1 << 20];
        let mut left = SIZE;
        while left > 0 {
            let n = left.min(block.len());
            file.write_all(&block[..n])?;
            left -= n;
        }
    }
    let mut ws = operator(&server).await;
    ws.result_within("get_recording_info", json!({"filename": name}), Duration::from_secs(30))
        .await;
    let token = server.jwt("media-bench", "viewer", 3600);
    let client = reqwest::Client::builder().no_proxy().build()?;
    let url = format!("{}/files/recordings/{name}", server.base_url());
    let mut rates = Vec::new();
    for _ in 0..samples.n(5, 2) {
        let began = Instant::now();
        let mut response = client.get(&url).bearer_auth(&token).send().await?.error_for_status()?;
        let mut received = 0usize;
        while let Some(chunk) = response.chunk().await? {
            received += chunk.len();
        }
        let secs = began.elapsed().as_secs_f64();
        if received != SIZE {
            return Err(format!("downloaded {received} of {SIZE} bytes").into());
        }
        rates.push(SIZE as f64 / secs / 1e6);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "download of a 200 MB recording over loopback ({} runs): best {:.0} MB/s, median {:.0} MB/s\n",
        rates.len(),
        rates.last().copied().unwrap_or_default(),
        rates[rates.len() / 2]
    );
    Ok(())
}

fn recordings_dir(server: &TestServer) -> BenchResult<PathBuf> {
    let path = server.config()["storage"]["recordings_path"]
        .as_str()
        .ok_or("no recordings_path in the config")?;
    Ok(PathBuf::from(path))
}

fn report(what: &str, latencies: &mut [Duration], quantiles: &[f64]) {
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let figures: Vec<String> = quantiles
        .iter()
        .map(|q| {
            let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            format!("p{} {:.3} ms", q * 100.0, ms(latencies[rank - 1]))
        })
        .collect();
    let max = latencies.last().copied().unwrap_or_default();
    println!("{what} ({} samples):", latencies.len());
    println!("  {}, max {:.3} ms\n", figures.join(", "), ms(max));
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn rss_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

/// Direct children of `parent` (the server's ffmpeg processes).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(Path::new(&format!("/proc/{pid}/stat"))) == Some(parent))
        .collect()
}

/// The parent pid from `/proc/<pid>/stat` (the field after the parenthesised command name).
fn parent_of(stat: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(stat).ok()?;
    let after_name = &text[text.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

/// Pins `pid` (0 = this process) to `core`.
fn pin(pid: u32, core: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        let pid = libc::pid_t::try_from(pid).unwrap_or(0);
        if libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!("warning: could not pin pid {pid} to core {core}");
        }
    }
}
