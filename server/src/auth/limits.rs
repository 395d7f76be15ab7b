//! Abuse limits of API.md §3.3: the failed-authentication limiter (per remote IP) and the request-rate token
//! bucket (per connection, or per IP for HTTP).
//!
//! Both run on the request path, so both are cheap: no allocation per call in the common case, no await, one
//! short mutex section for the limiter and none for the bucket (`&mut self`, owned by its connection). Time is
//! passed in by the caller as the injected clock's monotonic `Clock::elapsed()`, so tests run on a `ManualClock`.
//!
//! Memory is bounded independently of the configuration: the limiter keeps a fixed 61-slot ring of per-second
//! failure counts per IP (not one entry per failure) and tracks at most [`MAX_TRACKED_IPS`] addresses, dropping
//! idle ones first and then the least recently failing one.

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::SecurityConfig;

/// Upper bound on the number of addresses the failure limiter remembers.
pub const MAX_TRACKED_IPS: usize = 65_536;

/// One slot per second of the last minute, plus one so a slot is never reused while it can still be live.
/// Each slot remembers its failure count and the millisecond of its latest failure; the slot leaves the window
/// 60 s after that latest failure. So a failure counts for 60 s (up to 1 s longer when a later failure shares its
/// second), and `retry_after_ms` is never more than 60 000.
const SLOTS: usize = 61;

/// How long a failure counts.
const WINDOW: Duration = Duration::from_secs(60);

/// Failed credential checks per remote IP in a sliding 60 s window. More than `max_failures` blocks every further
/// `authenticate` from that IP until enough failures have left the window.
pub struct FailureLimiter {
    max_failures: u64,
    exempt: Vec<IpNet>,
    windows: Mutex<HashMap<IpAddr, FailureWindow>>,
}

impl std::fmt::Debug for FailureLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimiter")
            .field("max_failures", &self.max_failures)
            .finish_non_exhaustive()
    }
}

impl FailureLimiter {
    /// `security.auth_failures_per_min` and `security.auth_rate_limit_exempt`.
    pub fn new(security: &SecurityConfig) -> Self {
        Self::with_limits(security.auth_failures_per_min, security.auth_rate_limit_exempt.clone())
    }

    pub fn with_limits(max_failures_per_min: u32, exempt: Vec<IpNet>) -> Self {
        FailureLimiter {
            max_failures: u64::from(max_failures_per_min),
            exempt,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn is_exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|net| net.contains(&ip))
    }

    /// `Ok` if `ip` may attempt to authenticate at `now` (`Clock::elapsed()`), else `Err(retry_after_ms)` (at
    /// least 1).
    pub fn check(&self, ip: IpAddr, now: Duration) -> Result<(), u64> {
        let ip = ip.to_canonical();
        if self.is_exempt(ip) {
            return Ok(());
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let Some(window) = windows.get_mut(&ip) else {
            return Ok(());
        };
        window.advance(now.as_secs());
        if window.live_total(now) == 0 {
            windows.remove(&ip);
            return Ok(());
        }
        match window.blocked_until(now, self.max_failures) {
            Some(until) => Err(ceil_ms(until.saturating_sub(now))),
            None => Ok(()),
        }
    }

    /// Counts one failed credential check from `ip` at `now` (`Clock::elapsed()`).
    pub fn record_failure(&self, ip: IpAddr, now: Duration) {
        let ip = ip.to_canonical();
        if self.is_exempt(ip) {
            return;
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_TRACKED_IPS && !windows.contains_key(&ip) {
            windows.retain(|_, w| {
                w.advance(now.as_secs());
                w.live_total(now) > 0
            });
            if windows.len() >= MAX_TRACKED_IPS {
                let stalest = windows.iter().min_by_key(|(_, w)| w.newest).map(|(ip, _)| *ip);
                if let Some(stalest) = stalest {
                    windows.remove(&stalest);
                }
            }
        }
        windows
            .entry(ip)
            .or_insert_with(|| FailureWindow::new(now.as_secs()))
            .add(now);
    }

    /// Number of addresses currently remembered (for tests and metrics).
    pub fn tracked_ips(&self) -> usize {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Per-second failure counts of one IP over the last minute.
struct FailureWindow {
    counts: [u32; SLOTS],
    /// Millisecond (within its second) of each slot's latest failure.
    latest_ms: [u16; SLOTS],
    /// Second (of `Clock::elapsed`) of the newest slot.
    newest: u64,
}

impl FailureWindow {
    fn new(sec: u64) -> Self {
        FailureWindow {
            counts: [0; SLOTS],
            latest_ms: [0; SLOTS],
            newest: sec,
        }
    }

    fn slot(sec: u64) -> usize {
        (sec % SLOTS as u64) as usize
    }

    /// Moves the window so that `sec` is the newest slot, clearing the slots about to be reused.
    fn advance(&mut self, sec: u64) {
        if sec <= self.newest {
            return;
        }
        if sec - self.newest >= SLOTS as u64 {
            self.counts = [0; SLOTS];
        } else {
            for s in self.newest + 1..=sec {
                self.counts[Self::slot(s)] = 0;
            }
        }
        self.newest = sec;
    }

    fn add(&mut self, now: Duration) {
        self.advance(now.as_secs());
        let i = Self::slot(self.newest);
        self.counts[i] = self.counts[i].saturating_add(1);
        // Time only moves forward, so this failure is the slot's latest.
        self.latest_ms[i] = u16::try_from(now.subsec_millis()).unwrap_or(999);
    }

    /// Slots still in the window at `now`, oldest first: (when the slot leaves the window, its count).
    fn live(&self, now: Duration) -> impl Iterator<Item = (Duration, u64)> + '_ {
        (self.newest.saturating_sub(SLOTS as u64 - 1)..=self.newest).filter_map(move |sec| {
            let i = Self::slot(sec);
            let count = u64::from(self.counts[i]);
            let leaves = Duration::from_secs(sec) + Duration::from_millis(u64::from(self.latest_ms[i])) + WINDOW;
            (count > 0 && leaves > now).then_some((leaves, count))
        })
    }

    fn live_total(&self, now: Duration) -> u64 {
        self.live(now).map(|(_, count)| count).sum()
    }

    /// When the count in the window will be back at or below `max` (if it is above it at `now`).
    fn blocked_until(&self, now: Duration, max: u64) -> Option<Duration> {
        let mut remaining = self.live_total(now);
        if remaining <= max {
            return None;
        }
        for (leaves, count) in self.live(now) {
            remaining -= count;
            if remaining <= max {
                return Some(leaves);
            }
        }
        Some(now + WINDOW)
    }
}

/// Request-rate token bucket: `burst` tokens, refilled continuously at `per_sec`; starts full.
///
/// Implemented as GCRA (a "theoretical arrival time" that advances by one emission interval per token taken),
/// which is the token bucket in integer arithmetic: two comparisons and an addition per call.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Time one token takes to refill.
    interval: Duration,
    /// How far ahead of `now` the arrival time may run: `interval * (burst - 1)`.
    tolerance: Duration,
    /// Theoretical arrival time of the next request at the sustained rate.
    tat: Duration,
}

impl TokenBucket {
    /// `now` is `Clock::elapsed()`.
    pub fn new(burst: u32, per_sec: u32, now: Duration) -> Self {
        let interval = Duration::from_secs(1) / per_sec.max(1);
        TokenBucket {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            tat: now,
        }
    }

    /// `security.rate_limit_burst` and `security.rate_limit_per_sec`.
    pub fn from_config(security: &SecurityConfig, now: Duration) -> Self {
        Self::new(security.rate_limit_burst, security.rate_limit_per_sec, now)
    }

    /// Takes one token, or returns how many milliseconds until one is available (at least 1).
    pub fn try_take(&mut self, now: Duration) -> Result<(), u64> {
        let tat = self.tat.max(now);
        let ahead = tat - now;
        if ahead > self.tolerance {
            return Err(ceil_ms(ahead - self.tolerance));
        }
        self.tat = tat + self.interval;
        Ok(())
    }
}

fn ceil_ms(d: Duration) -> u64 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use std::sync::Arc;
    use time::macros::datetime;

    fn clock() -> Arc<ManualClock> {
        ManualClock::new(datetime!(2025-01-15 14:30:00 UTC))
    }

    /// The limiter as the rpc layer drives it: with the clock's monotonic time.
    struct Driven(FailureLimiter, Arc<ManualClock>);

    impl Driven {
        fn check(&self, ip: IpAddr) -> Result<(), u64> {
            self.0.check(ip, self.1.elapsed())
        }
        fn record_failure(&self, ip: IpAddr) {
            self.0.record_failure(ip, self.1.elapsed())
        }
        fn tracked_ips(&self) -> usize {
            self.0.tracked_ips()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn blocks_after_more_than_max_failures_and_clears_with_the_window() {
        let clock = clock();
        let limiter = Driven(FailureLimiter::with_limits(3, vec![]), clock.clone());
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
            limiter.record_failure(a);
        }
        assert_eq!(limiter.check(a), Ok(()), "exactly max failures is still allowed");
        clock.advance(Duration::from_millis(500));
        limiter.record_failure(a);
        let retry = limiter.check(a).expect_err("4 > 3 blocks");
        assert_eq!(
            retry, 60_000,
            "the latest failure (t = 0.5 s) leaves the window at 60.5 s"
        );
        assert_eq!(limiter.check(ip("192.0.2.2")), Ok(()), "other IPs unaffected");
        clock.advance(Duration::from_secs(30));
        assert!(limiter.check(a).is_err(), "still inside the window");
        clock.advance(Duration::from_millis(retry - 30_000 - 1));
        assert!(limiter.check(a).is_err(), "one ms before retry_after");
        clock.advance(Duration::from_millis(1));
        assert_eq!(limiter.check(a), Ok(()), "cleared exactly at retry_after");
        assert_eq!(limiter.tracked_ips(), 0, "idle entry dropped");
    }

    #[test]
    fn sliding_window_releases_oldest_failures_first() {
        let clock = clock();
        let limiter = Driven(FailureLimiter::with_limits(2, vec![]), clock.clone());
        let a = ip("198.51.100.7");
        limiter.record_failure(a); // t = 0
        clock.advance(Duration::from_secs(20));
        limiter.record_failure(a); // t = 20
        clock.advance(Duration::from_secs(20));
        limiter.record_failure(a); // t = 40
        let retry = limiter.check(a).expect_err("3 > 2");
        // The t = 0 failure leaves the window at 60 s: 20 s from now.
        assert_eq!(retry, 20_000);
        clock.advance(Duration::from_millis(19_999));
        assert!(limiter.check(a).is_err());
        clock.advance(Duration::from_millis(1));
        assert_eq!(limiter.check(a), Ok(()));
        limiter.record_failure(a); // t = 60: failures at 20, 40, 60
        assert_eq!(
            limiter.check(a),
            Err(20_000),
            "now the t = 20 failure must leave (at 80 s)"
        );
    }

    #[test]
    fn exempt_networks_and_ipv4_mapped_addresses() {
        let clock = clock();
        let exempt = vec!["10.0.0.0/8".parse().expect("net"), "::1/128".parse().expect("net")];
        let limiter = Driven(FailureLimiter::with_limits(1, exempt), clock.clone());
        for _ in 0..5 {
            limiter.record_failure(ip("10.1.2.3"));
            limiter.record_failure(ip("::1"));
        }
        assert_eq!(limiter.check(ip("10.1.2.3")), Ok(()));
        assert_eq!(limiter.check(ip("::1")), Ok(()));
        assert_eq!(limiter.tracked_ips(), 0);
        // ::ffff:10.1.2.3 is the same host as 10.1.2.3.
        limiter.record_failure(ip("::ffff:10.1.2.3"));
        assert_eq!(limiter.tracked_ips(), 0);
        limiter.record_failure(ip("::ffff:192.0.2.9"));
        limiter.record_failure(ip("192.0.2.9"));
        assert!(limiter.check(ip("192.0.2.9")).is_err());
    }

    #[test]
    fn tracked_ips_are_capped() {
        let clock = clock();
        let limiter = Driven(FailureLimiter::with_limits(1, vec![]), clock.clone());
        for i in 0..(MAX_TRACKED_IPS as u32 + 10) {
            limiter.record_failure(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
        }
        assert_eq!(limiter.tracked_ips(), MAX_TRACKED_IPS);
        clock.advance(Duration::from_secs(120));
        limiter.record_failure(ip("203.0.113.1"));
        assert_eq!(limiter.tracked_ips(), 1, "idle entries pruned when full");
    }

    #[test]
    fn huge_configured_limit_does_not_grow_memory_per_failure() {
        let clock = clock();
        let limiter = Driven(FailureLimiter::with_limits(u32::MAX, vec![]), clock.clone());
        for _ in 0..10_000 {
            limiter.record_failure(ip("192.0.2.1"));
        }
        assert_eq!(limiter.check(ip("192.0.2.1")), Ok(()));
        assert_eq!(limiter.tracked_ips(), 1);
    }

    #[test]
    fn token_bucket_burst_then_refill() {
        let mut bucket = TokenBucket::new(3, 10, Duration::ZERO);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(Duration::ZERO), Ok(()));
        }
        assert_eq!(bucket.try_take(Duration::ZERO), Err(100), "one token per 100 ms");
        assert_eq!(bucket.try_take(Duration::from_millis(40)), Err(60));
        assert_eq!(bucket.try_take(Duration::from_millis(100)), Ok(()));
        assert!(bucket.try_take(Duration::from_millis(100)).is_err());
        // A long pause refills only up to the burst.
        let t = Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(t), Ok(()));
        }
        assert!(bucket.try_take(t).is_err());
    }

    #[test]
    fn token_bucket_sustains_its_rate() {
        let mut bucket = TokenBucket::new(200, 100, Duration::ZERO);
        let mut ok = 0;
        // 10 s at one request per ms: 200 burst + 100/s * 10 s.
        for ms in 0..10_000u64 {
            if bucket.try_take(Duration::from_millis(ms)).is_ok() {
                ok += 1;
            }
        }
        assert!((1_195..=1_201).contains(&ok), "{ok}");
    }
}
