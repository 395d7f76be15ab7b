//! Time, injected. Everything that reads the time or waits on it (token expiry, rate limiters, timed
//! recordings, retention runs, health polls) takes an `Arc<dyn Clock>` so tests can run a [`ManualClock`].
//!
//! `now()` is wall-clock UTC; `elapsed()` is monotonic time since the clock was created, for rate limiting and
//! intervals. `sleep()` on a manual clock completes only when the clock is advanced past its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::watch;

pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time in UTC.
    fn now(&self) -> OffsetDateTime;
    /// Monotonic time since this clock was created.
    fn elapsed(&self) -> Duration;
    /// Completes once `duration` of this clock's time has passed.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// The real clock: the system's wall clock and tokio's timer.
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    pub fn new() -> Arc<Self> {
        Arc::new(SystemClock { start: Instant::now() })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A simulated clock for tests: time moves only when [`ManualClock::advance`] is called.
pub struct ManualClock {
    state: Mutex<(OffsetDateTime, Duration)>,
    ticks: watch::Sender<Duration>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Arc<Self> {
        let (ticks, _) = watch::channel(Duration::ZERO);
        Arc::new(ManualClock {
            state: Mutex::new((start, Duration::ZERO)),
            ticks,
        })
    }

    pub fn advance(&self, by: Duration) {
        let elapsed = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.0 += by;
            state.1 += by;
            state.1
        };
        self.ticks.send_replace(elapsed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0
    }
    fn elapsed(&self) -> Duration {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1
    }
    fn sleep(&self, duration: Duration) -> SleepFuture {
        let deadline = self.elapsed() + duration;
        let mut ticks = self.ticks.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; if it is gone, nothing will ever advance time.
            let _ = ticks.wait_for(|now| *now >= deadline).await;
        })
    }
}

/// RFC 3339 UTC with milliseconds, the one timestamp format on the wire (`2025-01-15T14:30:00.000Z`).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses any RFC 3339 timestamp with an offset.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let t = time::macros::datetime!(2025-01-15 14:30:00.123 +02:00);
        assert_eq!(format_timestamp(t), "2025-01-15T12:30:00.123Z");
    }

    #[tokio::test]
    async fn manual_sleep_completes_only_after_advance() {
        let clock = ManualClock::new(time::macros::datetime!(2025-01-01 0:00 UTC));
        let sleep = clock.sleep(Duration::from_secs(10));
        let handle = tokio::spawn(sleep);
        clock.advance(Duration::from_secs(5));
        tokio::task::yield_now().await;
        assert!(!handle.is_finished());
        clock.advance(Duration::from_secs(5));
        tokio::time::timeout(Duration::from_secs(5), handle)
            .await
            .expect("sleep finished")
            .expect("join");
        assert_eq!(clock.elapsed(), Duration::from_secs(10));
    }
}
