//! Reconnect delays: exponential backoff with jitter, capped, optionally limited in attempts.
//! Pure arithmetic (the random source is passed in), so it is tested without sleeping.
//!
//! The first attempts stay short ([`ReconnectPolicy::quick_delay_cap`]) so a server that restarts (a few
//! seconds of downtime) is used again within about a second of being back; only a longer outage grows
//! the delays towards [`ReconnectPolicy::max_delay`].

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
    /// Upper bound of the delays of the first [`ReconnectPolicy::quick_attempts`] attempts; later delays grow
    /// from it by `multiplier` up to `max_delay`.
    pub quick_delay_cap: Duration,
    /// How many attempts use `quick_delay_cap`.
    pub quick_attempts: u32,
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
            quick_delay_cap: Duration::from_secs(1),
            quick_attempts: 20,
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

    /// The ceiling of the delay before attempt `attempt` (0-based): `initial · multiplierᵃᵗᵗᵉᵐᵖᵗ` capped at
    /// `quick_delay_cap` for the first `quick_attempts`, then `quick_delay_cap · multiplierᵃᵗᵗᵉᵐᵖᵗ⁻ᑫᵘᶦᶜᵏ`;
    /// never above `max_delay`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let growth = self.multiplier.max(1.0);
        let secs = if attempt < self.quick_attempts {
            let grown = self.initial_delay.as_secs_f64() * growth.powi(attempt.min(64) as i32);
            grown.min(self.quick_delay_cap.as_secs_f64())
        } else {
            let later = (attempt - self.quick_attempts).min(64) as i32;
            self.quick_delay_cap.max(self.initial_delay).as_secs_f64() * growth.powi(later)
        };
        let secs = secs.min(self.max_delay.as_secs_f64());
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
        let p = ReconnectPolicy {
            quick_attempts: 0,
            ..ReconnectPolicy::default()
        };
        assert_eq!(p.ceiling(0), Duration::from_secs(1));
        assert_eq!(p.ceiling(3), Duration::from_secs(8));
        assert_eq!(p.ceiling(20), Duration::from_secs(30));
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn a_restarting_server_is_retried_at_least_every_second_for_the_first_attempts() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.ceiling(0), Duration::from_millis(200));
        assert_eq!(p.ceiling(1), Duration::from_millis(400));
        assert_eq!(p.ceiling(2), Duration::from_millis(800));
        for attempt in 3..20 {
            assert_eq!(p.ceiling(attempt), Duration::from_secs(1), "attempt {attempt}");
        }
        // Past the quick attempts the delays grow from the quick cap, not from where the curve would be.
        assert_eq!(p.ceiling(20), Duration::from_secs(1));
        assert_eq!(p.ceiling(21), Duration::from_secs(2));
        assert_eq!(p.ceiling(24), Duration::from_secs(16));
        assert_eq!(p.ceiling(25), Duration::from_secs(30));
        // At least nine seconds of downtime are covered by attempts at most a second apart.
        let quick: Duration = (0..20).map(|a| p.delay(a, 0.0)).sum();
        assert!(quick >= Duration::from_secs(9), "{quick:?}");
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
