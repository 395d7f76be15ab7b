//! Host and process measurements: system CPU (`/proc/stat`), system memory (`/proc/meminfo`), process resident
//! memory (`/proc/self/statm`) and filesystem usage (`statvfs`).
//!
//! Everything here that touches the filesystem is blocking; async callers go through [`HostSampler::sample`],
//! which runs the reads on tokio's blocking pool. The parsers are pure functions, tested on fixed text.

use crate::clock::Clock;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Cumulative CPU jiffies from the aggregate `cpu` line of `/proc/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

/// Parses the first (`cpu `) line of `/proc/stat`: user nice system idle iowait irq softirq steal [guest ...].
/// Guest time is already included in user time, so only the first eight fields count.
pub fn parse_cpu_times(proc_stat: &str) -> Option<CpuTimes> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    if fields.len() < 4 {
        return None;
    }
    let total: u64 = fields.iter().sum();
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Percentage of busy time between two samples (0 when no time passed).
pub fn cpu_percent(earlier: CpuTimes, later: CpuTimes) -> f64 {
    let total = later.total.saturating_sub(earlier.total);
    if total == 0 {
        return 0.0;
    }
    let busy = later.busy.saturating_sub(earlier.busy).min(total);
    busy as f64 * 100.0 / total as f64
}

/// System memory from `/proc/meminfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemInfo {
    pub total_bytes: u64,
    pub available_bytes: u64,
}

impl MemInfo {
    pub fn used_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        self.total_bytes.saturating_sub(self.available_bytes) as f64 * 100.0 / self.total_bytes as f64
    }
}

pub fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let field = |name: &str| -> Option<u64> {
        let line = text
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(':'))?;
        let kib: u64 = line[name.len() + 1..].split_whitespace().next()?.parse().ok()?;
        Some(kib * 1024)
    };
    let total_bytes = field("MemTotal")?;
    // Kernels before 3.14 lack MemAvailable; free memory is the closest stand-in.
    let available_bytes = field("MemAvailable").or_else(|| field("MemFree"))?;
    Some(MemInfo {
        total_bytes,
        available_bytes,
    })
}

/// Resident set size in bytes from the text of `/proc/self/statm` (pages: size resident shared ...).
pub fn parse_statm_rss(text: &str, page_size: u64) -> Option<u64> {
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 on error, handled below.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// Resident memory of this process (blocking).
pub fn process_rss_bytes() -> io::Result<u64> {
    let text = std::fs::read_to_string("/proc/self/statm")?;
    parse_statm_rss(&text, page_size()).ok_or_else(|| io::Error::other("unreadable /proc/self/statm"))
}

/// Usage of the filesystem holding a path, with `df` semantics (reserved blocks count as unavailable).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FsUsage {
    pub total_bytes: u64,
    pub available_bytes: u64,
    /// used / (used + available) × 100.
    pub usage_percent: f64,
}

/// `statvfs(path)` (blocking).
pub fn fs_usage(path: &Path) -> io::Result<FsUsage> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::other("path contains NUL"))?;
    // SAFETY: statvfs writes into the zeroed struct we own; c_path is a valid NUL-terminated string.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = stat.f_frsize as u64;
    let blocks = stat.f_blocks as u64;
    let free = stat.f_bfree as u64;
    let avail = stat.f_bavail as u64;
    let used = blocks.saturating_sub(free);
    let denominator = used + avail;
    let usage_percent = if denominator == 0 {
        0.0
    } else {
        used as f64 * 100.0 / denominator as f64
    };
    Ok(FsUsage {
        total_bytes: blocks * frsize,
        available_bytes: avail * frsize,
        usage_percent,
    })
}

/// One reading of the host for `get_metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostMetrics {
    /// System CPU % since the previous sample (since boot for the very first one).
    pub cpu_usage: f64,
    pub memory_usage: f64,
    /// Usage % of the filesystem holding the recordings directory (0 when it cannot be read).
    pub disk_usage: f64,
    pub process_memory_bytes: u64,
}

/// Samples the host. Keeps the previous CPU counters so `cpu_usage` covers the last sampling interval: the
/// health monitor samples every 10 s, and a sample taken sooner than 1 s after the stored one is measured
/// against it without replacing it.
pub struct HostSampler {
    clock: Arc<dyn Clock>,
    disk_path: PathBuf,
    previous: Mutex<Option<(Duration, CpuTimes)>>,
}

const MIN_CPU_WINDOW: Duration = Duration::from_secs(1);

impl HostSampler {
    /// `disk_path`: the directory whose filesystem `disk_usage` reports (the recordings directory).
    pub fn new(clock: Arc<dyn Clock>, disk_path: PathBuf) -> Arc<HostSampler> {
        Arc::new(HostSampler {
            clock,
            disk_path,
            previous: Mutex::new(None),
        })
    }

    /// Reads every measurement on the blocking pool. Unreadable sources report 0 (and are logged at debug).
    pub async fn sample(self: &Arc<Self>) -> HostMetrics {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.sample_blocking()).await {
            Ok(metrics) => metrics,
            Err(e) => {
                tracing::warn!("host sampling task failed: {e}");
                HostMetrics::default()
            }
        }
    }

    fn sample_blocking(&self) -> HostMetrics {
        let cpu_usage = match std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(parse_cpu_times)
        {
            Some(now_times) => self.cpu_since_previous(now_times),
            None => {
                tracing::debug!("cannot read /proc/stat");
                0.0
            }
        };
        let memory_usage = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .as_deref()
            .and_then(parse_meminfo)
            .map_or(0.0, |m| m.used_percent());
        let disk_usage = fs_usage(&self.disk_path).map_or(0.0, |u| u.usage_percent);
        let process_memory_bytes = process_rss_bytes().unwrap_or(0);
        HostMetrics {
            cpu_usage,
            memory_usage,
            disk_usage,
            process_memory_bytes,
        }
    }

    fn cpu_since_previous(&self, now_times: CpuTimes) -> f64 {
        let now = self.clock.elapsed();
        let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
        let percent = match *previous {
            Some((_, earlier)) => cpu_percent(earlier, now_times),
            None => cpu_percent(CpuTimes { busy: 0, total: 0 }, now_times),
        };
        if previous.is_none_or(|(at, _)| now.saturating_sub(at) >= MIN_CPU_WINDOW) {
            *previous = Some((now, now_times));
        }
        percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat() {
        let text = "cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 50 0 25 400 25 0 0 0 0 0\nintr 1\n";
        assert_eq!(parse_cpu_times(text), Some(CpuTimes { busy: 150, total: 1000 }));
        let later = CpuTimes { busy: 250, total: 1400 };
        assert!((cpu_percent(CpuTimes { busy: 150, total: 1000 }, later) - 25.0).abs() < 1e-9);
        assert_eq!(cpu_percent(later, later), 0.0);
        assert_eq!(parse_cpu_times("intr 1\n"), None);
    }

    #[test]
    fn parses_meminfo_and_statm() {
        let text = "MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    2000000 kB\n";
        let m = parse_meminfo(text).expect("meminfo");
        assert_eq!(m.total_bytes, 8_000_000 * 1024);
        assert!((m.used_percent() - 75.0).abs() < 1e-9);
        let old = "MemTotal: 100 kB\nMemFree: 50 kB\n";
        assert_eq!(parse_meminfo(old).map(|m| m.available_bytes), Some(50 * 1024));
        assert_eq!(parse_statm_rss("1000 250 10 1 0 300 0\n", 4096), Some(250 * 4096));
        assert_eq!(parse_statm_rss("", 4096), None);
    }

    #[test]
    fn statvfs_reads_a_real_filesystem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let usage = fs_usage(dir.path()).expect("statvfs");
        assert!(usage.total_bytes > 0);
        assert!((0.0..=100.0).contains(&usage.usage_percent));
        assert!(fs_usage(Path::new("/definitely/not/here")).is_err());
    }

    #[tokio::test]
    async fn sampler_reads_this_host() {
        let clock = crate::clock::ManualClock::new(time::macros::datetime!(2025-01-15 14:30 UTC));
        let dir = tempfile::tempdir().expect("tempdir");
        let sampler = HostSampler::new(clock.clone(), dir.path().to_path_buf());
        let first = sampler.sample().await;
        assert!((0.0..=100.0).contains(&first.cpu_usage));
        assert!(first.memory_usage > 0.0 && first.memory_usage <= 100.0);
        assert!(first.process_memory_bytes > 0);
        clock.advance(Duration::from_secs(10));
        let second = sampler.sample().await;
        assert!((0.0..=100.0).contains(&second.cpu_usage));
    }
}
