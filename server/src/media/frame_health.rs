//! Frame health of a camera's pipeline (API.md §4.7 `get_metrics` `health`): the vocabulary (`ok`, `stalled`,
//! `idle`), the one rule that turns "when did the last frame arrive" into a state ([`judge`]), and the
//! [`FrameMonitor`] trait a running pipeline exposes so the figures can be read at request time.
//!
//! Who measures what: a standalone (ffmpeg) recording counts frames from ffmpeg's progress report
//! ([`super::progress::FrameTracker`]: `last_frame_at` and `measured_fps`); MediaMTX paths have no per-frame
//! signal, so their health comes from the bytes MediaMTX reports as received (`measured_fps` stays `null`).
//! A camera with no pipeline is [`FrameHealth::idle`].
//!
//! Times are the injected clock's: `elapsed()` for ages, `now()` for the wall-clock `last_frame_at`.

use std::time::Duration;
use time::OffsetDateTime;

/// A running pipeline whose last frame is older than this (clock time) is `stalled`.
pub const STALL_AFTER: Duration = Duration::from_secs(5);

/// `health.state` of `get_metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthState {
    /// A pipeline runs and frames arrive.
    Ok,
    /// A pipeline runs but no frame arrived for [`STALL_AFTER`].
    Stalled,
    /// No pipeline.
    Idle,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::Stalled => "stalled",
            HealthState::Idle => "idle",
        }
    }
}

/// A camera's frame health at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameHealth {
    pub state: HealthState,
    /// When the last frame arrived; `None` when idle or before the first frame.
    pub last_frame_at: Option<OffsetDateTime>,
    /// Frames per second over the last few seconds (one decimal); `None` when idle or not measured.
    pub measured_fps: Option<f64>,
}

impl FrameHealth {
    /// No pipeline: `idle`, no figures.
    pub fn idle() -> FrameHealth {
        FrameHealth {
            state: HealthState::Idle,
            last_frame_at: None,
            measured_fps: None,
        }
    }
}

/// A running pipeline's view of its frames, read at request time (cheap, never blocks on I/O).
pub trait FrameMonitor: Send + Sync {
    fn health(&self) -> FrameHealth;
}

/// When the last frame of a running pipeline arrived: `at` (clock `elapsed()`) and `wall` (clock `now()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastFrame {
    pub at: Duration,
    pub wall: OffsetDateTime,
}

/// The health of a pipeline running since `running_since` (clock `elapsed()`), at `now` (clock `elapsed()`):
/// `stalled` when neither a frame nor the start of the pipeline is more recent than [`STALL_AFTER`], else `ok`.
/// A pipeline that has not delivered its first frame yet is `ok` (with no `last_frame_at`) for its first
/// [`STALL_AFTER`]. `measured_fps` is passed through.
pub fn judge(
    now: Duration,
    running_since: Duration,
    last: Option<LastFrame>,
    measured_fps: Option<f64>,
) -> FrameHealth {
    let reference = last.map_or(running_since, |l| l.at.max(running_since));
    let state = if now.saturating_sub(reference) > STALL_AFTER {
        HealthState::Stalled
    } else {
        HealthState::Ok
    };
    FrameHealth {
        state,
        last_frame_at: last.map(|l| l.wall),
        measured_fps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL: OffsetDateTime = time::macros::datetime!(2025-01-15 14:30:00 UTC);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn recent_frames_are_ok_and_old_ones_stalled() {
        let last = Some(LastFrame {
            at: secs(10),
            wall: WALL,
        });
        let h = judge(secs(15), secs(1), last, Some(9.9));
        assert_eq!(h.state, HealthState::Ok, "exactly 5 s is not yet stalled");
        assert_eq!(h.last_frame_at, Some(WALL));
        assert_eq!(h.measured_fps, Some(9.9));
        assert_eq!(judge(secs(16), secs(1), last, Some(0.0)).state, HealthState::Stalled);
    }

    #[test]
    fn a_pipeline_without_frames_gets_five_seconds() {
        let h = judge(secs(104), secs(100), None, None);
        assert_eq!((h.state, h.last_frame_at), (HealthState::Ok, None));
        assert_eq!(judge(secs(106), secs(100), None, None).state, HealthState::Stalled);
    }

    #[test]
    fn idle_has_no_figures() {
        let h = FrameHealth::idle();
        assert_eq!(h.state.as_str(), "idle");
        assert_eq!((h.last_frame_at, h.measured_fps), (None, None));
        assert_eq!(HealthState::Stalled.as_str(), "stalled");
        assert_eq!(HealthState::Ok.as_str(), "ok");
    }
}
