//! Reconnect delays: exponential backoff with full jitter, capped, optionally limited in attempts.
//! Pure arithmetic (the random source is passed in), so it is tested without sleeping.

use std::time::Duration;

/// When and how often to reconnect after a connection is lost.
#[derive(Clone, Debug, PartialEq)]
pub struct ReconnectPolicy {
    /// Reconnect at all. When `false`, a lost connection closes the client.
    pub enabled: bool,
    /// Delay before the first attempt (before jitter).
    pub initial_delay: Duration,
    /// Upper bound of any delay.
    pub max_delay: Duration,
    /// Growth factor per failed attempt.
    pub multiplier: f64,
    /// Give up after this many failed attempts in a row (`None`: never).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// No reconnects: a lost connection closes the client.
    pub fn disabled() -> ReconnectPolicy {
        ReconnectPolicy {
            enabled: false,
            ..ReconnectPolicy::default()
        }
    }

    /// The ceiling of the delay before attempt `attempt` (0-based): `initial · multiplierᵃᵗᵗᵉᵐᵖᵗ`, capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let base = self.initial_delay.as_secs_f64();
        let factor = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let secs = (base * factor).min(self.max_delay.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
    }

    /// The delay before attempt `attempt` with jitter: `ceiling · (0.5 + unit/2)` for `unit` in `[0, 1)`, so
    /// reconnecting clients spread out but never retry immediately.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.5 };
        self.ceiling(attempt).mul_f64(0.5 + unit / 2.0)
    }

    /// Whether another attempt is allowed after `failed` failures in a row.
    pub fn may_retry(&self, failed: u32) -> bool {
        self.enabled && self.max_attempts.is_none_or(|max| failed < max)
    }
}

/// A small non-cryptographic random source for jitter (xorshift seeded from the clock and an address).
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        let local = 0u8;
        let addr = &local as *const u8 as u64;
        Jitter((nanos ^ addr.rotate_left(32)) | 1)
    }

    /// A value in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_and_caps() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.ceiling(0), Duration::from_millis(200));
        assert_eq!(p.ceiling(1), Duration::from_millis(400));
        assert_eq!(p.ceiling(3), Duration::from_millis(1600));
        assert_eq!(p.ceiling(20), Duration::from_secs(30));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_half_to_full_ceiling() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(400));
        assert_eq!(p.delay(1, f64::NAN), Duration::from_millis(300));
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let u = j.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn attempts_are_limited_when_asked() {
        let p = ReconnectPolicy {
            max_attempts: Some(2),
            ..ReconnectPolicy::default()
        };
        assert!(p.may_retry(0) && p.may_retry(1));
        assert!(!p.may_retry(2));
        assert!(!ReconnectPolicy::disabled().may_retry(0));
        assert!(ReconnectPolicy::default().may_retry(1_000_000));
    }
}
