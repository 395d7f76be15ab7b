//! Foundation benchmark (issue: server foundation, "Numbers"). Prints figures; asserts nothing.
//!
//! Run: `cargo build --release -p camera-service && cargo run --release -p contract-tests --bin bench`
//! (`--quick` for shorter phases). The server under test runs pinned to core 0 (`taskset -c 0`), this load
//! generator to core 1 on a single-threaded runtime. In the same run it measures a bare tokio-tungstenite echo
//! server (this binary with `--echo-server`, also on core 0) that parses each JSON request and answers pong:
//! that is the ceiling the service is compared with.
//!
//! Phases: ping throughput on 1 connection (1 in flight) and on 100 connections × 1 and × 8 in flight, for both
//! servers; open-loop latency at a fixed 10,000 requests/s (latency counted from the scheduled send time, so queueing
//! counts); RSS before and after 3,000,000 requests; RSS at start and with 1,000 and 10,000 idle authenticated
//! connections.

use futures_util::{FutureExt, SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123456789";

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--echo-server") {
        return echo_server();
    }
    let quick = args.iter().any(|a| a == "--quick");
    raise_open_files_limit();
    pin_to_core(1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(quick))
}

struct Phases {
    warmup: Duration,
    measure: Duration,
    soak_requests: u64,
    idle_large: usize,
}

async fn run(quick: bool) -> BenchResult<()> {
    let phases = if quick {
        Phases {
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs(2),
            soak_requests: 300_000,
            idle_large: 2_000,
        }
    } else {
        Phases {
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(5),
            soak_requests: 3_000_000,
            idle_large: 10_000,
        }
    };
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().ok_or("no binary directory")?.to_path_buf();
    let server_bin = std::env::var_os("CAMERA_SERVICE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| bin_dir.join("camera-service"));
    if !server_bin.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p camera-service` first",
            server_bin.display()
        )
        .into());
    }
    println!(
        "camera-service foundation benchmark ({})",
        if quick { "quick" } else { "full" }
    );
    println!(
        "server: {} pinned to core 0; load generator pinned to core 1\n",
        server_bin.display()
    );

    // --- the ceiling: bare tokio-tungstenite echo server ---
    let mut echo = Command::new("taskset")
        .args(["-c", "0"])
        .arg(&exe)
        .arg("--echo-server")
        .stdout(Stdio::piped())
        .spawn()?;
    let echo_addr = read_line(&mut echo)?;
    let echo_url = format!("ws://{}", echo_addr.trim());
    let echo_one = throughput(&echo_url, None, 1, 1, &phases).await?;
    let echo_wide = throughput(&echo_url, None, 100, 1, &phases).await?;
    let echo_many = throughput(&echo_url, None, 100, 8, &phases).await?;
    let echo_latency = open_loop_latency(&echo_url, None, 10_000, 20, phases.measure * 2).await?;
    let _ = echo.kill();
    let _ = echo.wait();

    // --- camera-service ---
    let dir = tempfile::tempdir()?;
    let server = ServiceUnderTest::start(&server_bin, dir.path())?;
    let url = format!("ws://{}/ws", server.rpc_addr);
    let key = server.create_key()?;
    let rss_start = rss_kib(server.pid())?;
    let svc_one = throughput(&url, Some(&key), 1, 1, &phases).await?;
    let svc_wide = throughput(&url, Some(&key), 100, 1, &phases).await?;
    let svc_many = throughput(&url, Some(&key), 100, 8, &phases).await?;
    let latency = open_loop_latency(&url, Some(&key), 10_000, 20, phases.measure * 2).await?;

    let rss_before_soak = rss_kib(server.pid())?;
    let soak = fixed_requests(&url, &key, 100, 8, phases.soak_requests).await?;
    let rss_after_soak = rss_kib(server.pid())?;

    drop(server);
    // Idle connections on a fresh server, so memory freed by the earlier phases does not hide their cost.
    let dir = tempfile::tempdir()?;
    let server = ServiceUnderTest::start(&server_bin, dir.path())?;
    let url = format!("ws://{}/ws", server.rpc_addr);
    let key = server.create_key()?;
    let rss_idle_base = rss_kib(server.pid())?;
    let mut idle = Vec::new();
    open_idle(&url, &key, 1_000, &mut idle).await?;
    let rss_1k = rss_kib(server.pid())?;
    open_idle(&url, &key, phases.idle_large - 1_000, &mut idle).await?;
    let rss_large = rss_kib(server.pid())?;
    drop(idle);

    println!(
        "{:<58} {:>14} {:>14} {:>8}",
        "ping round trips per second", "echo server", "camera-svc", "ratio"
    );
    let row = |name: &str, echo: f64, svc: f64| {
        println!(
            "{name:<58} {echo:>14.0} {svc:>14.0} {:>7.1}%",
            100.0 * svc / echo.max(1.0)
        );
    };
    row("1 connection, 1 in flight", echo_one, svc_one);
    row("100 connections x 1 in flight", echo_wide, svc_wide);
    row(
        "100 connections x 8 in flight (authenticated, metrics on)",
        echo_many,
        svc_many,
    );
    println!();
    for (name, l) in [("echo server", &echo_latency), ("camera-service", &latency)] {
        println!(
            "open-loop latency at 10000 req/s, {name:<14} (achieved {:.0} req/s, {} responses): \
             p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
            l.achieved_rps, l.samples, l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms
        );
    }
    println!();
    println!(
        "RSS at start:                         {:>8.1} MiB",
        rss_start as f64 / 1024.0
    );
    println!(
        "RSS before / after {} requests: {:.1} MiB / {:.1} MiB (growth {:+.1}%, {:.0} req/s)",
        phases.soak_requests,
        rss_before_soak as f64 / 1024.0,
        rss_after_soak as f64 / 1024.0,
        100.0 * (rss_after_soak as f64 - rss_before_soak as f64) / rss_before_soak.max(1) as f64,
        soak
    );
    println!(
        "RSS with 1,000 idle authenticated connections:  {:>8.1} MiB ({:.1} KiB per connection)",
        rss_1k as f64 / 1024.0,
        (rss_1k as f64 - rss_idle_base as f64) / 1_000.0
    );
    println!(
        "RSS with {} idle authenticated connections: {:>8.1} MiB ({:.1} KiB per connection)",
        phases.idle_large,
        rss_large as f64 / 1024.0,
        (rss_large as f64 - rss_idle_base as f64) / phases.idle_large as f64
    );
    Ok(())
}

struct ServiceUnderTest {
    child: Child,
    rpc_addr: String,
    config: PathBuf,
    bin: PathBuf,
}

impl ServiceUnderTest {
    fn start(bin: &Path, dir: &Path) -> BenchResult<Self> {
        let config = dir.join("bench.yaml");
        let data = dir.join("data");
        std::fs::write(
            &config,
            format!(
                "server: {{port: 0, max_connections: 20000, max_connections_per_ip: 20000, ping_interval_secs: 60, pong_timeout_secs: 600}}\n\
                 health: {{port: 0}}\ndata_dir: {data}\nstorage: {{recordings_path: {data}/rec, snapshots_path: {data}/snap}}\n\
                 security: {{rate_limit_per_sec: 1000000000, rate_limit_burst: 1000000000}}\n\
                 cameras: {{v4l2: {{enabled: false}}}}\nmediamtx: {{enabled: false}}\nlogging: {{level: warn}}\n",
                data = data.display()
            ),
        )?;
        let mut child = Command::new("taskset")
            .args(["-c", "0"])
            .arg(bin)
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("CAMERA_SERVICE_JWT_SECRET", JWT_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let line = read_line(&mut child)?;
        let value: serde_json::Value = serde_json::from_str(&line)?;
        let rpc_addr = value["listening"]["rpc"]
            .as_str()
            .ok_or("no rpc address in the listening line")?
            .to_owned();
        Ok(ServiceUnderTest {
            child,
            rpc_addr,
            config,
            bin: bin.to_path_buf(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn create_key(&self) -> BenchResult<String> {
        let out = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .args(["keys", "create", "--role", "admin", "--json"])
            .env("CAMERA_SERVICE_JWT_SECRET", JWT_SECRET)
            .output()?;
        let value: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(value["api_key"]
            .as_str()
            .ok_or("keys create printed no api_key")?
            .to_owned())
    }
}

impl Drop for ServiceUnderTest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_line(child: &mut Child) -> BenchResult<String> {
    let stdout = child.stdout.take().ok_or("child has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if line.is_empty() {
        return Err("child exited before announcing its address".into());
    }
    Ok(line)
}

async fn connect(url: &str, key: Option<&str>) -> BenchResult<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    if let Some(key) = key {
        let auth = serde_json::json!({"jsonrpc":"2.0","id":0,"method":"authenticate","params":{"auth_token":key}});
        ws.send(Message::Text(auth.to_string().into())).await?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"result\"") => {}
            other => return Err(format!("authenticate failed: {other:?}").into()),
        }
    }
    Ok(ws)
}

fn ping_text(id: u64) -> Message {
    Message::Text(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}").into())
}

/// Closed loop: `connections` sockets each keeping `depth` pings in flight; returns responses per second
/// measured after a warm-up.
async fn throughput(
    url: &str,
    key: Option<&str>,
    connections: usize,
    depth: usize,
    phases: &Phases,
) -> BenchResult<f64> {
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let ws = connect(url, key).await?;
        tasks.push(tokio::spawn(pump(ws, depth, counter.clone(), stop.clone(), u64::MAX)));
    }
    tokio::time::sleep(phases.warmup).await;
    let start_count = counter.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(phases.measure).await;
    let done = counter.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    Ok(done as f64 / elapsed.as_secs_f64())
}

/// Closed loop until `total` responses arrived; returns responses per second.
async fn fixed_requests(url: &str, key: &str, connections: usize, depth: usize, total: u64) -> BenchResult<f64> {
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let per_connection = total / connections as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let ws = connect(url, Some(key)).await?;
        tasks.push(tokio::spawn(pump(
            ws,
            depth,
            counter.clone(),
            stop.clone(),
            per_connection,
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(counter.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

async fn pump(mut ws: Ws, depth: usize, counter: Arc<AtomicU64>, stop: Arc<AtomicBool>, limit: u64) {
    // Frames are fed and flushed once per burst, so the generator costs far less than the server per request.
    let mut next_id = 1u64;
    for _ in 0..depth.min(limit as usize) {
        if ws.feed(ping_text(next_id)).await.is_err() {
            return;
        }
        next_id += 1;
    }
    let mut received = 0u64;
    'outer: while ws.flush().await.is_ok() {
        let Some(Ok(first)) = ws.next().await else { break };
        let mut frame = Some(first);
        while let Some(msg) = frame.take() {
            if matches!(msg, Message::Text(_)) {
                received += 1;
                counter.fetch_add(1, Ordering::Relaxed);
                if received >= limit || stop.load(Ordering::Relaxed) {
                    break 'outer;
                }
                if next_id <= limit {
                    if ws.feed(ping_text(next_id)).await.is_err() {
                        return;
                    }
                    next_id += 1;
                }
            }
            frame = match ws.next().now_or_never() {
                Some(Some(Ok(msg))) => Some(msg),
                Some(_) => break 'outer,
                None => None,
            };
        }
    }
    let _ = ws.close(None).await;
}

struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
    samples: usize,
    achieved_rps: f64,
}

/// Open loop: requests are sent at a fixed rate regardless of responses, so queueing in the server shows up.
/// Each latency is measured from the moment its request was written (tokio's timer has 1 ms granularity, so
/// measuring from the schedule would charge the generator's timer to the server).
async fn open_loop_latency(
    url: &str,
    key: Option<&str>,
    rate: u64,
    connections: usize,
    duration: Duration,
) -> BenchResult<Latency> {
    let per_connection_period = Duration::from_nanos(1_000_000_000 * connections as u64 / rate);
    let count = (duration.as_nanos() / per_connection_period.as_nanos()) as u64;
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let ws = connect(url, key).await?;
        // Stagger connections evenly within one period.
        let offset = per_connection_period * c as u32 / connections as u32;
        tasks.push(tokio::spawn(open_loop_connection(
            ws,
            start + offset,
            per_connection_period,
            count,
        )));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let idx = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[idx] as f64 / 1000.0
    };
    Ok(Latency {
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        max_ms: all.last().map_or(f64::NAN, |m| *m as f64 / 1000.0),
        samples: all.len(),
        achieved_rps: all.len() as f64 / elapsed.as_secs_f64(),
    })
}

/// Returns latencies in microseconds.
async fn open_loop_connection(ws: Ws, first: Instant, period: Duration, count: u64) -> Vec<u64> {
    let (mut sink, mut stream) = ws.split();
    let sent_at = Arc::new(std::sync::Mutex::new(vec![None::<Instant>; count as usize]));
    let sender_log = sent_at.clone();
    let sender = tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(first.into(), period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for id in 0..count {
            ticker.tick().await;
            if let Ok(mut log) = sender_log.lock() {
                log[id as usize] = Some(Instant::now());
            }
            if sink.send(ping_text(id)).await.is_err() {
                break;
            }
        }
        sink
    });
    let mut latencies = Vec::with_capacity(count as usize);
    while (latencies.len() as u64) < count {
        let Some(Ok(Message::Text(text))) = stream.next().await else {
            break;
        };
        let received = Instant::now();
        let Some(id) = response_id(text.as_str()) else { continue };
        let sent = sent_at
            .lock()
            .ok()
            .and_then(|log| log.get(id as usize).copied().flatten());
        if let Some(sent) = sent {
            latencies.push(received.saturating_duration_since(sent).as_micros() as u64);
        }
    }
    if let Ok(sink) = sender.await
        && let Ok(mut ws) = sink.reunite(stream)
    {
        let _ = ws.close(None).await;
    }
    latencies
}

fn response_id(text: &str) -> Option<u64> {
    let rest = &text[text.find("\"id\":")? + 5..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Opens `n` more authenticated connections and keeps them (no traffic).
async fn open_idle(url: &str, key: &str, n: usize, keep: &mut Vec<Ws>) -> BenchResult<()> {
    for _ in 0..n {
        keep.push(connect(url, Some(key)).await?);
    }
    Ok(())
}

fn rss_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

fn pin_to_core(core: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!("warning: could not pin the load generator to core {core}");
        }
    }
}

fn raise_open_files_limit() {
    // SAFETY: only reads/writes the struct passed.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// `--echo-server`: a bare tokio-tungstenite server (default configuration) that parses each request and answers
/// pong with its id. Prints its address on stdout.
fn echo_server() -> BenchResult<()> {
    raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        use std::io::Write;
        std::io::stdout().flush()?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                // Answer every frame already received, then flush once (the batching the service does too).
                while let Some(Ok(first)) = ws.next().await {
                    let mut frame = Some(first);
                    while let Some(msg) = frame.take() {
                        if let Message::Text(text) = msg
                            && let Ok(request) = serde_json::from_str::<serde_json::Value>(text.as_str())
                        {
                            let reply = serde_json::json!({"jsonrpc":"2.0","id":request["id"],"result":"pong"});
                            if ws.feed(Message::Text(reply.to_string().into())).await.is_err() {
                                return;
                            }
                        }
                        frame = match ws.next().now_or_never() {
                            Some(Some(Ok(msg))) => Some(msg),
                            Some(_) => return,
                            None => None,
                        };
                    }
                    if ws.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}
