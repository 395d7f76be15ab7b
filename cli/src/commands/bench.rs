//! `camctl bench`: a load generator. Opens `--connections` WebSocket connections, runs `--depth` callers on
//! each (so each connection has that many requests in flight), calls `--method` with `--params` until
//! `--duration` has passed, then prints throughput and latency percentiles. Calls other than `ping` count
//! against the server's per-connection rate limit (100/s by default); those rejections are counted by
//! reason like any other error.
//!
//! The load runs on a dedicated thread with a single-threaded Tokio runtime, so the figures compare with the
//! foundation benchmark's raw WebSocket client (`contract-tests --bin bench`) when both are pinned to one core.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use camera_sdk::{Client, ErrorKind};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::connect;
use crate::args::BenchArgs;
use crate::config::Settings;
use crate::exit::CliError;
use crate::output::Output;

/// What one caller measured.
#[derive(Debug, Default)]
struct Sample {
    /// Latency of each successful call, microseconds.
    latencies_us: Vec<u64>,
    /// Failed calls by reason.
    errors: BTreeMap<String, u64>,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// The bench result (also the `--json` shape).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub method: String,
    pub connections: u32,
    pub depth: u32,
    pub duration_secs: f64,
    pub requests: u64,
    pub errors: u64,
    pub errors_by_reason: BTreeMap<String, u64>,
    pub throughput_rps: f64,
    pub latency_ms: Option<Latency>,
}

/// Nearest-rank percentile of sorted values; `q` in `[0, 1]`.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1).min(sorted.len() - 1)).copied()
}

fn latency(sorted: &[u64]) -> Option<Latency> {
    let ms = |us: u64| us as f64 / 1000.0;
    let total: u64 = sorted.iter().sum();
    Some(Latency {
        p50: ms(percentile(sorted, 0.50)?),
        p90: ms(percentile(sorted, 0.90)?),
        p99: ms(percentile(sorted, 0.99)?),
        max: ms(*sorted.last()?),
        mean: ms(total / sorted.len() as u64),
    })
}

/// Parses `--params`: a JSON object.
pub fn parse_params(text: Option<&str>) -> Result<Option<Map<String, Value>>, CliError> {
    let Some(text) = text else { return Ok(None) };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(CliError::Usage("--params must be a JSON object".to_owned())),
        Err(e) => Err(CliError::Usage(format!("--params is not valid JSON: {e}"))),
    }
}

async fn caller(client: Client, method: String, params: Option<Map<String, Value>>, until: Instant) -> Sample {
    let mut sample = Sample::default();
    // One clock read per call: the end of one call is the start of the next.
    let mut t0 = Instant::now();
    while t0 < until {
        let result = client.call_raw(&method, params.clone()).await;
        let t1 = Instant::now();
        let took = t1.saturating_duration_since(t0);
        t0 = t1;
        match result {
            Ok(_) => sample.latencies_us.push(took.as_micros() as u64),
            Err(e) => {
                let reason = e
                    .reason()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{:?}", e.kind()));
                *sample.errors.entry(reason).or_default() += 1;
                if e.kind() == ErrorKind::Connection {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    t0 = Instant::now();
                }
            }
        }
    }
    sample
}

fn report(args: &BenchArgs, elapsed: Duration, samples: Vec<Sample>) -> Report {
    let mut all: Vec<u64> = Vec::new();
    let mut errors_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for s in samples {
        all.extend(s.latencies_us);
        for (k, v) in s.errors {
            *errors_by_reason.entry(k).or_default() += v;
        }
    }
    all.sort_unstable();
    let errors: u64 = errors_by_reason.values().sum();
    let secs = elapsed.as_secs_f64().max(f64::EPSILON);
    Report {
        method: args.method.clone(),
        connections: args.connections,
        depth: args.depth,
        duration_secs: (secs * 1000.0).round() / 1000.0,
        requests: all.len() as u64,
        errors,
        errors_by_reason,
        throughput_rps: (all.len() as f64 / secs * 10.0).round() / 10.0,
        latency_ms: latency(&all),
    }
}

fn human(r: &Report) -> String {
    let mut lines = vec![format!(
        "{}: {} connections x depth {} for {:.1}s",
        r.method, r.connections, r.depth, r.duration_secs
    )];
    lines.push(format!(
        "requests {}  errors {}  throughput {:.1} req/s",
        r.requests, r.errors, r.throughput_rps
    ));
    if let Some(l) = &r.latency_ms {
        lines.push(format!(
            "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}",
            l.p50, l.p90, l.p99, l.max, l.mean
        ));
    }
    for (reason, n) in &r.errors_by_reason {
        lines.push(format!("  {reason}: {n}"));
    }
    lines.join("\n")
}

pub async fn run(settings: &Settings, args: &BenchArgs, out: Output) -> Result<(), CliError> {
    let params = parse_params(args.params.as_deref())?;
    let plan = Plan {
        settings: settings.clone(),
        connections: args.connections,
        depth: args.depth,
        method: args.method.clone(),
        params,
        duration: Duration::from_secs(args.duration),
        warmup: Duration::from_secs(args.warmup),
        out,
    };
    let cpu = args.cpu;
    // The load runs on its own single-threaded runtime (one core, like the foundation benchmark's raw
    // client), not on the CLI's multi-threaded one; pin it with `taskset` for stable figures.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("camctl-bench".to_owned())
        .spawn(move || {
            if let Some(core) = cpu
                && let Err(e) = pin_to_core(core)
            {
                plan.out
                    .note(&format!("warning: cannot pin the bench to core {core}: {e}"));
            }
            let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(measure(plan)),
                Err(e) => Err(CliError::Other(format!("cannot start the bench runtime: {e}"))),
            };
            let _ = tx.send(result);
        })
        .map_err(|e| CliError::Other(format!("cannot start the bench thread: {e}")))?;
    let (elapsed, samples) = rx
        .await
        .map_err(|_| CliError::Other("the bench thread stopped without a result".to_owned()))??;
    let r = report(args, elapsed, samples);
    out.emit(&r, human)
}

/// What the bench thread runs.
struct Plan {
    settings: Settings,
    connections: u32,
    depth: u32,
    method: String,
    params: Option<Map<String, Value>>,
    duration: Duration,
    warmup: Duration,
    out: Output,
}

/// Pins the calling thread to one CPU core.
fn pin_to_core(core: usize) -> std::io::Result<()> {
    if core >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "no such core"));
    }
    // SAFETY: cpu_set_t is plain data, CPU_SET stays within it (checked above), and sched_setaffinity only
    // reads it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Connects, runs every caller until the deadline, closes; returns the elapsed time and the samples.
async fn measure(plan: Plan) -> Result<(Duration, Vec<Sample>), CliError> {
    let clients = futures_util::future::try_join_all((0..plan.connections).map(|_| connect(&plan.settings))).await?;
    plan.out.note(&format!(
        "benchmarking {} over {} connections (depth {}) for {}s after {}s of warm-up",
        plan.method,
        plan.connections,
        plan.depth,
        plan.duration.as_secs(),
        plan.warmup.as_secs()
    ));
    if !plan.warmup.is_zero() {
        run_callers(&clients, &plan, Instant::now() + plan.warmup).await?;
    }
    let started = Instant::now();
    let samples = run_callers(&clients, &plan, started + plan.duration).await?;
    let elapsed = started.elapsed();
    for c in &clients {
        c.close().await;
    }
    Ok((elapsed, samples))
}

/// Runs `depth` callers on every client until `until`; returns their samples.
async fn run_callers(clients: &[Client], plan: &Plan, until: Instant) -> Result<Vec<Sample>, CliError> {
    let mut tasks = JoinSet::new();
    for client in clients {
        for _ in 0..plan.depth {
            tasks.spawn(caller(client.clone(), plan.method.clone(), plan.params.clone(), until));
        }
    }
    let mut samples = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(s) => samples.push(s),
            Err(e) => return Err(CliError::Other(format!("a bench task failed: {e}"))),
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn report_merges_samples() {
        let args = BenchArgs {
            connections: 2,
            duration: 1,
            method: "ping".into(),
            params: None,
            depth: 1,
            warmup: 0,
            cpu: None,
        };
        let a = Sample {
            latencies_us: vec![1000, 3000],
            errors: BTreeMap::from([("rate_limited".to_owned(), 2)]),
        };
        let b = Sample {
            latencies_us: vec![2000],
            errors: BTreeMap::from([("rate_limited".to_owned(), 1)]),
        };
        let r = report(&args, Duration::from_secs(2), vec![a, b]);
        assert_eq!(r.requests, 3);
        assert_eq!(r.errors, 3);
        assert_eq!(r.throughput_rps, 1.5);
        let l = r.latency_ms.clone().unwrap_or_else(|| panic!("latency"));
        assert_eq!((l.p50, l.max, l.mean), (2.0, 3.0, 2.0));
        assert!(human(&r).contains("rate_limited: 3"));
    }

    #[test]
    fn params_must_be_an_object() {
        assert!(matches!(parse_params(None), Ok(None)));
        assert!(matches!(parse_params(Some(r#"{"device":"camera0"}"#)), Ok(Some(_))));
        assert!(matches!(parse_params(Some("[1]")), Err(CliError::Usage(_))));
        assert!(matches!(parse_params(Some("{")), Err(CliError::Usage(_))));
    }
}
