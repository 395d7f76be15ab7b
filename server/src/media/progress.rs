//! Frame counting for ffmpeg pipelines: parsing ffmpeg's `-progress` report (key=value lines on stdout, one
//! block every `-stats_period`) and the [`FrameTracker`] that turns the cumulative `frame=` counter into
//! `last_frame_at` and `measured_fps` (API.md §4.7 `get_metrics` `health`).
//!
//! Invariants:
//! - The tracker's lock is a std mutex held for a few instructions, never across an await; the reader task
//!   ([`follow`]) is the only writer, `get_metrics` the reader.
//! - All times are the injected clock's: a frame "arrives" when a report shows the counter grew (so the
//!   resolution is ffmpeg's report period, [`STATS_PERIOD`]).
//! - `measured_fps` is the counter's growth over the last [`FPS_WINDOW`], one decimal. While reports keep
//!   coming the window ends at the latest report (exact rate); once reports stop for more than
//!   [`REPORT_GAP`] it ends at "now minus the gap", so the figure decays to 0 during a stall.

use super::frame_health::{FrameHealth, FrameMonitor, LastFrame, judge};
use crate::clock::Clock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// ffmpeg's report period (`-stats_period`, seconds).
pub const STATS_PERIOD: &str = "0.5";
/// Window of `measured_fps`.
pub const FPS_WINDOW: Duration = Duration::from_secs(5);
/// Reports later than this mean frames stopped (a few report periods).
pub const REPORT_GAP: Duration = Duration::from_secs(1);
/// Samples kept (one per report that showed new frames; a little more than the window needs).
const SAMPLES_KEPT: usize = 32;

/// The arguments that make ffmpeg write its progress report to stdout.
pub fn progress_args() -> [String; 4] {
    ["-progress", "pipe:1", "-stats_period", STATS_PERIOD].map(str::to_owned)
}

/// The cumulative frame counter of one `-progress` line (`frame=123`), if the line is that key.
pub fn frame_count(line: &str) -> Option<u64> {
    let (key, value) = line.trim().split_once('=')?;
    (key.trim() == "frame").then(|| value.trim().parse().ok()).flatten()
}

/// Reads ffmpeg's `-progress` output until EOF (the process exited) and feeds every `frame=` value to
/// `tracker`. Other keys and malformed lines are ignored.
pub async fn follow<R: AsyncRead + Unpin>(reader: R, tracker: Arc<FrameTracker>) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(frames) = frame_count(&line) {
            tracker.record(frames);
        }
    }
}

struct State {
    /// Last counter value seen.
    frames: u64,
    last: Option<LastFrame>,
    /// `(clock elapsed, counter)` at each report that showed new frames, oldest first.
    samples: VecDeque<(Duration, u64)>,
}

/// One running pipeline's frames (see the module docs). Create it when the pipeline starts.
pub struct FrameTracker {
    clock: Arc<dyn Clock>,
    started: Duration,
    state: Mutex<State>,
}

impl FrameTracker {
    pub fn new(clock: Arc<dyn Clock>) -> Arc<FrameTracker> {
        let started = clock.elapsed();
        Arc::new(FrameTracker {
            clock,
            started,
            state: Mutex::new(State {
                frames: 0,
                last: None,
                samples: VecDeque::with_capacity(SAMPLES_KEPT),
            }),
        })
    }

    /// A report said `frames` frames so far.
    pub fn record(&self, frames: u64) {
        let at = self.clock.elapsed();
        let mut s = self.lock();
        if frames < s.frames {
            // The counter went back (a new process behind the same tracker): a new baseline.
            s.samples.clear();
            s.frames = frames;
            s.samples.push_back((at, frames));
            return;
        }
        if frames == s.frames && !s.samples.is_empty() {
            return;
        }
        if frames > s.frames {
            s.last = Some(LastFrame {
                at,
                wall: self.clock.now(),
            });
        }
        s.frames = frames;
        s.samples.push_back((at, frames));
        // Keep one sample at or before the start of the longest window a reading can ask for.
        let horizon = at.saturating_sub(FPS_WINDOW + REPORT_GAP);
        while s.samples.len() > SAMPLES_KEPT || (s.samples.len() > 2 && s.samples[1].0 <= horizon) {
            s.samples.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Frames per second over the window ending at the latest report, or at `now - REPORT_GAP` when reports
    /// stopped; `None` before two reports.
    fn fps(s: &State, now: Duration) -> Option<f64> {
        let &(last_at, last_frames) = s.samples.back()?;
        let end = last_at.max(now.saturating_sub(REPORT_GAP));
        let start = end.saturating_sub(FPS_WINDOW);
        let &(anchor_at, anchor_frames) = s
            .samples
            .iter()
            .rev()
            .find(|(t, _)| *t <= start)
            .or_else(|| s.samples.front())?;
        let span = end.saturating_sub(anchor_at).as_secs_f64();
        if span <= 0.0 {
            return None;
        }
        let rate = last_frames.saturating_sub(anchor_frames) as f64 / span;
        Some((rate * 10.0).round() / 10.0)
    }
}

impl FrameMonitor for FrameTracker {
    fn health(&self) -> FrameHealth {
        let now = self.clock.elapsed();
        let s = self.lock();
        judge(now, self.started, s.last, Self::fps(&s, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::media::frame_health::HealthState;

    fn clock() -> Arc<ManualClock> {
        ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC))
    }

    #[test]
    fn parses_frame_lines_only() {
        assert_eq!(frame_count("frame=25"), Some(25));
        assert_eq!(frame_count(" frame = 7 \n"), Some(7));
        assert_eq!(frame_count("fps=9.97"), None);
        assert_eq!(frame_count("frame=N/A"), None);
        assert_eq!(frame_count("frame"), None);
        assert_eq!(frame_count("progress=continue"), None);
        assert_eq!(frame_count("stream_0_0_q=28.0"), None);
    }

    #[tokio::test]
    async fn follow_feeds_the_tracker_from_a_progress_block() {
        let c = clock();
        let tracker = FrameTracker::new(c.clone());
        let report = b"frame=12\nfps=10.00\nstream_0_0_q=28.0\nbitrate=N/A\nout_time_us=1200000\nprogress=continue\n";
        follow(&report[..], tracker.clone()).await;
        let h = tracker.health();
        assert_eq!(h.state, HealthState::Ok);
        assert_eq!(h.last_frame_at, Some(time::macros::datetime!(2025-01-15 14:30:00 UTC)));
        assert_eq!(h.measured_fps, None, "one report gives no rate");
    }

    #[test]
    fn steady_frames_are_ok_with_the_measured_rate() {
        let c = clock();
        let tracker = FrameTracker::new(c.clone());
        // 10 fps, a report every 0.5 s, for 8 s.
        for i in 1..=16u64 {
            c.advance(Duration::from_millis(500));
            tracker.record(i * 5);
        }
        c.advance(Duration::from_millis(200));
        let h = tracker.health();
        assert_eq!(h.state, HealthState::Ok);
        assert_eq!(h.measured_fps, Some(10.0));
        assert_eq!(
            h.last_frame_at,
            Some(time::macros::datetime!(2025-01-15 14:30:08 UTC)),
            "the time of the last report that showed new frames"
        );
    }

    #[test]
    fn frames_that_stop_turn_stalled_after_five_seconds_and_the_rate_decays() {
        let c = clock();
        let tracker = FrameTracker::new(c.clone());
        for i in 1..=10u64 {
            c.advance(Duration::from_millis(500));
            tracker.record(i * 15);
        }
        assert_eq!(tracker.health().measured_fps, Some(30.0));
        // Reports go on with the same counter (ffmpeg waits on its input).
        for _ in 0..4 {
            c.advance(Duration::from_millis(500));
            tracker.record(150);
        }
        let h = tracker.health();
        assert_eq!(h.state, HealthState::Ok, "2 s without frames");
        let fps = h.measured_fps.unwrap_or_default();
        assert!(fps < 30.0 && fps > 0.0, "decaying: {fps}");
        c.advance(Duration::from_secs(3) + Duration::from_millis(1));
        let h = tracker.health();
        assert_eq!(h.state, HealthState::Stalled);
        assert_eq!(h.last_frame_at, Some(time::macros::datetime!(2025-01-15 14:30:05 UTC)));
        c.advance(Duration::from_secs(10));
        assert_eq!(tracker.health().measured_fps, Some(0.0));
        assert_eq!(tracker.health().state, HealthState::Stalled);
        // Frames again.
        c.advance(Duration::from_millis(500));
        tracker.record(155);
        assert_eq!(tracker.health().state, HealthState::Ok);
    }

    #[test]
    fn a_pipeline_without_frames_is_ok_then_stalled() {
        let c = clock();
        let tracker = FrameTracker::new(c.clone());
        c.advance(Duration::from_secs(2));
        tracker.record(0);
        let h = tracker.health();
        assert_eq!((h.state, h.last_frame_at), (HealthState::Ok, None));
        c.advance(Duration::from_secs(4));
        let h = tracker.health();
        assert_eq!((h.state, h.last_frame_at), (HealthState::Stalled, None));
    }

    #[test]
    fn samples_stay_bounded() {
        let c = clock();
        let tracker = FrameTracker::new(c.clone());
        for i in 1..=1000u64 {
            c.advance(Duration::from_millis(100));
            tracker.record(i);
        }
        assert!(tracker.lock().samples.len() <= SAMPLES_KEPT);
        assert_eq!(tracker.health().measured_fps, Some(10.0));
    }
}
