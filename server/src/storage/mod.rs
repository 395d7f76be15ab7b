//! Storage management (API.md §4.6, §5.3): usage figures, the retention policy and its runs, the low-space
//! guard, and the background monitor.
//!
//! - [`usage`]: how full the storage is (filesystem or `storage.capacity_bytes`), threshold levels, and
//!   [`StorageGuard::ensure_space`], which snapshots and recordings call before they start (-32060).
//! - [`policy`]: the persisted [`RetentionPolicy`] and the merge rules of `set_retention_policy`.
//! - [`retention`]: the pure planner, the mass-delete guard and the executor (deletes through the file
//!   catalogue, so `file.deleted` is emitted).
//! - [`monitor`]: the background task on the service clock — samples usage every [`monitor::SAMPLE_INTERVAL`],
//!   publishes `storage.warning` on level crossings, stops recordings at the blocking level, runs retention
//!   every `retention.check_interval` and early when the free-space floor is breached.
//! - [`health`]: the `storage` health check measured the same way when a capacity is configured.
//!
//! Invariants:
//! - One retention run at a time (manual, scheduled or floor): runs are serialized by an async mutex, so two
//!   runs never plan against the same files.
//! - Nothing is deleted while the policy is disabled (the default); `cleanup_old_files` then fails with
//!   -32020 `retention_disabled`.
//! - Files of an in-progress recording (every segment listed for an active recording in the state store, and
//!   the segment the recorder is writing) are never deleted.
//! - The policy is cached in memory after the first read; the cache and the stored row change together under
//!   one lock, so readers never see a policy that was not stored.

pub mod health;
pub mod monitor;
pub mod policy;
pub mod retention;
pub mod usage;

pub use policy::{MIGRATION_NAME, MIGRATION_SQL, PolicyType, RetentionPolicy};
pub use usage::{Level, Space, StorageGuard};

use crate::clock::Clock;
use crate::config::Config;
use crate::events::EventBus;
use crate::media::blocking;
use crate::media::files::{FileCatalog, FileKind};
use crate::media::recorder::{FailReason, Recorder};
use crate::storage::retention::{GuardLimits, Outcome, Plan};
use crate::storage::usage::{MediaTotals, scan_media, wire_percent};
use crate::store::{Store, audit};
use crate::{Error, ErrorKind};
use camera_api::types::{
    CleanupOldFilesResult, GetStorageInfoResult, SetRetentionPolicyParams, SetRetentionPolicyResult,
};
use serde_json::json;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What started a retention run (`trigger` of `storage.cleanup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    Manual,
    Floor,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
            Trigger::Floor => "floor",
        }
    }
}

/// What storage management needs from the recorder (a trait so tests can stand in for ffmpeg).
pub trait RecordingControl: Send + Sync + 'static {
    /// Names of the segment files being written right now (one per running recording).
    fn files_in_progress(&self) -> Vec<String>;
    /// Ends the camera's recording with `reason: "storage_full"`, keeping its files; returns once it has
    /// ended. No-op when the camera is not recording.
    fn stop_storage_full<'a>(
        &'a self,
        device: &'a str,
        message: &'a str,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

impl RecordingControl for Recorder {
    fn files_in_progress(&self) -> Vec<String> {
        Recorder::files_in_progress(self)
    }
    fn stop_storage_full<'a>(
        &'a self,
        device: &'a str,
        message: &'a str,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(self.fail(device, FailReason::StorageFull, message))
    }
}

/// Storage management. Construct with [`StorageService::new`]; spawn [`StorageService::run_monitor`].
pub struct StorageService {
    guard: StorageGuard,
    limits: GuardLimits,
    check_interval: Duration,
    store: Store,
    files: Arc<FileCatalog>,
    recorder: Arc<dyn RecordingControl>,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
    /// The stored policy once read; `None` until the first read.
    policy: tokio::sync::Mutex<Option<RetentionPolicy>>,
    /// Held for the whole of a retention run.
    runs: tokio::sync::Mutex<()>,
}

impl StorageService {
    pub fn new(
        config: &Config,
        store: Store,
        files: Arc<FileCatalog>,
        recorder: Arc<dyn RecordingControl>,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
    ) -> Arc<StorageService> {
        Arc::new(StorageService {
            guard: StorageGuard::new(config),
            limits: GuardLimits {
                max_delete_fraction: config.retention.max_delete_fraction,
                mass_delete_min_files: config.retention.mass_delete_min_files,
            },
            check_interval: Duration::from_secs(config.retention.check_interval),
            store,
            files,
            recorder,
            events,
            clock,
            policy: tokio::sync::Mutex::new(None),
            runs: tokio::sync::Mutex::new(()),
        })
    }

    pub fn guard(&self) -> &StorageGuard {
        &self.guard
    }

    /// The health checks with the `storage` one measured like this service (see [`health`]).
    pub fn health_checks(
        &self,
        checks: Vec<Arc<dyn crate::health::ComponentCheck>>,
    ) -> Vec<Arc<dyn crate::health::ComponentCheck>> {
        health::with_capacity_check(&self.guard, checks)
    }

    /// `get_storage_info`.
    pub async fn info(&self) -> crate::Result<GetStorageInfoResult> {
        let (space, totals) = self.guard.space_and_totals().await?;
        record_totals(&totals);
        Ok(GetStorageInfoResult {
            total_space: space.total,
            used_space: space.used,
            available_space: space.available,
            usage_percentage: wire_percent(space.usage_percent),
            recordings_size: totals.recordings_size,
            snapshots_size: totals.snapshots_size,
            recordings_count: totals.recordings_count,
            snapshots_count: totals.snapshots_count,
            low_space_warning: space.usage_percent >= self.guard.warn_percent(),
            warn_percent: whole_percent(self.guard.warn_percent()),
            block_percent: whole_percent(self.guard.block_percent()),
        })
    }

    /// The stored policy (the default when none was set).
    pub async fn policy(&self) -> crate::Result<RetentionPolicy> {
        let mut cache = self.policy.lock().await;
        if let Some(p) = cache.as_ref() {
            return Ok(p.clone());
        }
        let loaded = self.store.call(|c| policy::load(c)).await?.unwrap_or_default();
        *cache = Some(loaded.clone());
        Ok(loaded)
    }

    /// `set_retention_policy`: merges, persists (with an audit row by `actor`) and returns the stored policy.
    /// Deletes nothing; the policy applies from the next run.
    pub async fn set_policy(
        &self,
        params: SetRetentionPolicyParams,
        actor: &str,
    ) -> crate::Result<SetRetentionPolicyResult> {
        let mut cache = self.policy.lock().await;
        let now = self.clock.now();
        let actor = actor.to_owned();
        let stored = self
            .store
            .call(move |c| policy::update(c, &params, &actor, now))
            .await?;
        tracing::info!(
            policy_type = stored.policy_type.as_str(),
            enabled = stored.enabled,
            max_age_days = stored.max_age_days,
            max_size_gb = stored.max_size_gb,
            min_free_percent = stored.min_free_percent,
            "retention policy set"
        );
        let result = stored.to_result(now);
        *cache = Some(stored);
        Ok(result)
    }

    /// `cleanup_old_files`: runs the retention rules now (see API.md §4.6 for `force` and `dry_run`).
    pub async fn cleanup(&self, force: bool, dry_run: bool, actor: &str) -> crate::Result<CleanupOldFilesResult> {
        let _run = self.runs.lock().await;
        let policy = self.policy().await?;
        if !policy.enabled {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "retention_disabled",
                "The retention policy is not enabled",
            )
            .suggest("Enable a policy with set_retention_policy"));
        }
        let plan = self.plan_now(&policy).await?;
        if dry_run {
            let (files, bytes) = (plan.delete.len(), plan.bytes);
            let mut message = format!("Dry run: {files} file(s) would be deleted, freeing {bytes} bytes");
            if plan.guard_tripped {
                message.push_str("; the mass-delete guard would refuse this run without force");
            }
            return Ok(CleanupOldFilesResult {
                cleanup_executed: false,
                dry_run: true,
                guard_tripped: plan.guard_tripped,
                files_deleted: files as u64,
                recordings_removed: plan.count(FileKind::Recording),
                snapshots_removed: plan.count(FileKind::Snapshot),
                space_freed: bytes,
                message,
            });
        }
        if plan.guard_tripped && !force {
            return Err(self.guard_error(&plan));
        }
        let outcome = retention::execute(&self.files, &plan).await;
        self.publish_cleanup(Trigger::Manual, &outcome);
        let (now, actor) = (self.clock.now(), actor.to_owned());
        let details = json!({"force": force, "guard_tripped": plan.guard_tripped, "files_deleted": outcome.files_deleted,
                             "space_freed": outcome.space_freed});
        if let Err(e) = self
            .store
            .call(move |c| audit::record(c, now, &actor, "storage.cleanup", None, &details))
            .await
        {
            tracing::warn!(error = %e, "cleanup done but not written to the audit log");
        }
        Ok(CleanupOldFilesResult {
            cleanup_executed: true,
            dry_run: false,
            guard_tripped: false,
            files_deleted: outcome.files_deleted,
            recordings_removed: outcome.recordings_removed,
            snapshots_removed: outcome.snapshots_removed,
            space_freed: outcome.space_freed,
            message: "Cleanup completed successfully".into(),
        })
    }

    /// A scheduled or floor-triggered run. Does nothing while the policy is disabled (`None`). A run that
    /// trips the mass-delete guard deletes nothing and is reported by `system.error` (`None`).
    pub async fn run_retention(&self, trigger: Trigger) -> crate::Result<Option<Outcome>> {
        let _run = self.runs.lock().await;
        let policy = self.policy().await?;
        if !policy.enabled {
            return Ok(None);
        }
        let plan = self.plan_now(&policy).await?;
        if plan.delete.is_empty() {
            return Ok(Some(Outcome::default()));
        }
        if plan.guard_tripped {
            let message = format!(
                "{} retention run skipped: it would delete {} of {} files (mass-delete guard)",
                trigger.as_str(),
                plan.delete.len(),
                plan.total_files
            );
            tracing::warn!(
                trigger = trigger.as_str(),
                would_delete = plan.delete.len(),
                total_files = plan.total_files,
                "{message}"
            );
            self.events.publish(
                "system.error",
                json!({"component": "storage", "reason": "mass_delete_guard", "message": message}),
            );
            return Ok(None);
        }
        let outcome = retention::execute(&self.files, &plan).await;
        if outcome.files_deleted > 0 {
            self.publish_cleanup(trigger, &outcome);
        }
        Ok(Some(outcome))
    }

    /// How often scheduled runs happen (`retention.check_interval`).
    pub fn check_interval(&self) -> Duration {
        self.check_interval
    }

    // ---- internals ----

    /// Scans the media, reads the usage and the protected files, and plans.
    async fn plan_now(&self, policy: &RetentionPolicy) -> crate::Result<Plan> {
        let guard = self.guard.clone();
        let (files, space) = blocking(move || {
            let mut files = scan_media(guard.recordings_dir(), FileKind::Recording)?;
            files.extend(scan_media(guard.snapshots_dir(), FileKind::Snapshot)?);
            let space = match guard.measure_blocking(false) {
                Ok((space, _)) => Some(space),
                Err(e) => {
                    tracing::warn!(error = %e, "storage usage unknown; the free-space floor is skipped");
                    None
                }
            };
            Ok((files, space))
        })
        .await?;
        record_totals(&totals_of(&files));
        let protected = self.protected().await?;
        Ok(retention::plan(
            files,
            &protected,
            policy,
            space.as_ref(),
            self.clock.now(),
            self.limits,
        ))
    }

    /// Every file of an in-progress recording: the segments the recorder is writing and every segment listed
    /// for an active recording in the state store (including recordings waiting to be resumed).
    async fn protected(&self) -> crate::Result<HashSet<String>> {
        let mut names: HashSet<String> = self.recorder.files_in_progress().into_iter().collect();
        let lists = self
            .store
            .call(|c| {
                let mut st = c.prepare("SELECT files FROM active_recordings")?;
                let rows = st
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await?;
        for list in lists {
            match serde_json::from_str::<Vec<String>>(&list) {
                Ok(files) => names.extend(files),
                Err(e) => return Err(Error::database(format!("unreadable active recording files: {e}"))),
            }
        }
        names.extend(self.recorder.files_in_progress());
        Ok(names)
    }

    fn guard_error(&self, plan: &Plan) -> Error {
        Error::new(
            ErrorKind::InvalidState,
            "mass_delete_guard",
            format!(
                "The cleanup would delete {} of {} files: more than {} files and more than {}% of all files",
                plan.delete.len(),
                plan.total_files,
                self.limits.mass_delete_min_files,
                self.limits.max_delete_fraction * 100.0
            ),
        )
        .with("would_delete", plan.delete.len())
        .with("total_files", plan.total_files)
        .suggest("Check the retention policy (dry_run: true shows the run), or pass force: true")
    }

    fn publish_cleanup(&self, trigger: Trigger, outcome: &Outcome) {
        tracing::info!(
            trigger = trigger.as_str(),
            files_deleted = outcome.files_deleted,
            space_freed = outcome.space_freed,
            "retention run finished"
        );
        self.events.publish(
            "storage.cleanup",
            json!({"trigger": trigger.as_str(), "files_deleted": outcome.files_deleted, "space_freed": outcome.space_freed}),
        );
    }

    /// Cameras recording right now (from the generated names of the segments being written).
    fn recording_devices(&self) -> Vec<String> {
        let mut devices: Vec<String> = self
            .recorder
            .files_in_progress()
            .iter()
            .filter_map(|f| crate::media::parse_generated_name(f).map(|(device, _)| device))
            .collect();
        devices.sort();
        devices.dedup();
        devices
    }
}

/// `camera_service_storage_bytes{kind="recordings"|"snapshots"}`.
fn record_totals(t: &MediaTotals) {
    metrics::gauge!("camera_service_storage_bytes", "kind" => "recordings").set(t.recordings_size as f64);
    metrics::gauge!("camera_service_storage_bytes", "kind" => "snapshots").set(t.snapshots_size as f64);
}

/// Bytes and counts of scanned media.
fn totals_of(files: &[usage::MediaEntry]) -> MediaTotals {
    files.iter().fold(MediaTotals::default(), |mut t, f| {
        match f.kind {
            FileKind::Recording => {
                t.recordings_size = t.recordings_size.saturating_add(f.size);
                t.recordings_count += 1;
            }
            FileKind::Snapshot => {
                t.snapshots_size = t.snapshots_size.saturating_add(f.size);
                t.snapshots_count += 1;
            }
        }
        t
    })
}

/// A configured percentage as the integer of `get_storage_info`.
fn whole_percent(p: f64) -> u32 {
    p.round().clamp(0.0, 100.0) as u32
}

#[cfg(test)]
mod tests;
