//! The storage monitor: one background task that waits on the service clock.
//!
//! Every [`SAMPLE_INTERVAL`] it reads the usage and
//! - publishes `storage.warning` `{usage_percentage, available_space, level}` when the level (`ok` / `warn` /
//!   `block`) differs from the last one published (the task starts from `ok`, so a service that starts above
//!   a threshold announces it), and asks for a health round (so `system_health_update` follows promptly);
//! - at `block`, ends every running recording with `reason: "storage_full"` (files finalized and kept) before
//!   the disk fills; new ones are refused by [`super::StorageGuard::ensure_space`] meanwhile;
//! - runs retention every `retention.check_interval` (first run one interval after start, `trigger:
//!   "scheduled"`), and earlier when the enabled policy's free-space floor is breached (`trigger: "floor"`,
//!   at most once per [`FLOOR_COOLDOWN`], so a floor that cannot be met does not make it rescan every tick).
//!   After a run that deleted files the usage is read again at once.
//!
//! Failures (usage unreadable, store unavailable) are logged and retried at the next tick; the task ends only
//! when the shutdown signal turns true.

use crate::storage::usage::{Level, Space, wire_percent};
use crate::storage::{StorageService, Trigger};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often usage is read.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);
/// Least time between two floor-triggered runs.
pub const FLOOR_COOLDOWN: Duration = Duration::from_secs(60);

/// Called when the usage level changes (wired to a health refresh).
pub type LevelHook = Arc<dyn Fn(Level) + Send + Sync>;

/// The monitor's memory between ticks.
struct State {
    level: Level,
    /// `clock.elapsed()` at which the next scheduled run is due.
    next_run: Duration,
    /// `clock.elapsed()` before which no floor run starts.
    floor_after: Duration,
    /// The last sampling error, logged once until sampling works again.
    failing: bool,
}

impl StorageService {
    /// Runs the monitor until `shutdown` turns true (or its sender is dropped).
    pub async fn run_monitor(self: Arc<Self>, on_level: Option<LevelHook>, mut shutdown: watch::Receiver<bool>) {
        let mut state = State {
            level: Level::Ok,
            next_run: self.clock.elapsed() + self.check_interval(),
            floor_after: Duration::ZERO,
            failing: false,
        };
        loop {
            if *shutdown.borrow() {
                break;
            }
            self.tick(&mut state, on_level.as_ref()).await;
            tokio::select! {
                _ = self.clock.sleep(SAMPLE_INTERVAL) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
    }

    async fn tick(&self, state: &mut State, on_level: Option<&LevelHook>) {
        let space = self.sample(state, on_level).await;
        let now = self.clock.elapsed();
        let trigger = if now >= state.next_run {
            while state.next_run <= now {
                state.next_run += self.check_interval();
            }
            Some(Trigger::Scheduled)
        } else if now >= state.floor_after && self.floor_breached(space.as_ref()).await {
            state.floor_after = now + FLOOR_COOLDOWN;
            Some(Trigger::Floor)
        } else {
            None
        };
        let Some(trigger) = trigger else {
            return;
        };
        match self.run_retention(trigger).await {
            Ok(Some(outcome)) if outcome.files_deleted > 0 => {
                self.sample(state, on_level).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(trigger = trigger.as_str(), error = %e, "retention run failed"),
        }
    }

    /// Reads the usage and reacts to its level (see the module docs).
    async fn sample(&self, state: &mut State, on_level: Option<&LevelHook>) -> Option<Space> {
        let space = match self.guard.space().await {
            Ok(space) => space,
            Err(e) => {
                if !state.failing {
                    tracing::warn!(error = %e, "cannot read storage usage");
                    state.failing = true;
                }
                return None;
            }
        };
        state.failing = false;
        let level = self.guard.level(&space);
        if level != state.level {
            let usage = wire_percent(space.usage_percent);
            match level {
                Level::Ok => tracing::info!(usage, "storage usage back below the warning threshold"),
                Level::Warn | Level::Block => {
                    tracing::warn!(usage, level = level.as_str(), "storage usage crossed a threshold")
                }
            }
            self.events.publish(
                "storage.warning",
                json!({"usage_percentage": usage, "available_space": space.available, "level": level.as_str()}),
            );
            state.level = level;
            if let Some(hook) = on_level {
                hook(level);
            }
        }
        if level == Level::Block {
            self.stop_recordings(&space).await;
        }
        Some(space)
    }

    /// Ends every running recording with `storage_full`, concurrently; returns when all have ended.
    async fn stop_recordings(&self, space: &Space) {
        let devices = self.recording_devices();
        if devices.is_empty() {
            return;
        }
        let message = format!(
            "storage is {:.1}% full (blocking threshold {}%, {} bytes left)",
            space.usage_percent,
            self.guard.block_percent(),
            space.available
        );
        tracing::warn!(?devices, "{message}; stopping recordings");
        let stops = devices.iter().map(|d| self.recorder.stop_storage_full(d, &message));
        futures_util::future::join_all(stops).await;
    }

    /// Whether the enabled policy's free-space floor is below the current free space.
    async fn floor_breached(&self, space: Option<&Space>) -> bool {
        let Some(space) = space else {
            return false;
        };
        match self.policy().await {
            Ok(p) => p.enabled && p.floor_percent().is_some_and(|floor| space.free_percent() < floor),
            Err(e) => {
                tracing::warn!(error = %e, "retention policy unavailable");
                false
            }
        }
    }
}
