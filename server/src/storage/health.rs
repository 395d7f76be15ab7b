//! The `storage` health check when `storage.capacity_bytes` is set: the standard check still probes that both
//! directories are writable, but usage and its thresholds come from [`StorageGuard`], so `get_status`,
//! `/health` and `system_health_update` agree with `get_storage_info` and with the -32060 refusals.
//!
//! Without a capacity the standard check already measures the same filesystem the same way and is left as is.

use crate::health::monitor::{CheckFuture, STORAGE};
use crate::health::{ComponentCheck, ComponentReport};
use crate::storage::usage::{Level, StorageGuard, wire_percent};
use serde_json::Value;
use std::sync::Arc;

/// Wraps the standard `storage` check (see the module docs).
pub struct CapacityStorageCheck {
    inner: Arc<dyn ComponentCheck>,
    guard: StorageGuard,
}

/// Replaces the check named `storage` by a [`CapacityStorageCheck`] around it when a capacity is configured.
pub fn with_capacity_check(guard: &StorageGuard, checks: Vec<Arc<dyn ComponentCheck>>) -> Vec<Arc<dyn ComponentCheck>> {
    if guard.capacity().is_none() {
        return checks;
    }
    checks
        .into_iter()
        .map(|check| -> Arc<dyn ComponentCheck> {
            if check.name() == STORAGE {
                Arc::new(CapacityStorageCheck {
                    inner: check,
                    guard: guard.clone(),
                })
            } else {
                check
            }
        })
        .collect()
}

const WRITABLE_KEYS: [&str; 2] = ["recordings_writable", "snapshots_writable"];

impl ComponentCheck for CapacityStorageCheck {
    fn name(&self) -> &'static str {
        STORAGE
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let inner = self.inner.check().await;
            if !WRITABLE_KEYS
                .iter()
                .all(|k| inner.details.get(*k) == Some(&Value::Bool(true)))
            {
                return inner;
            }
            let mut report = match self.guard.space().await {
                Err(e) => ComponentReport::unhealthy(format!("cannot measure storage usage: {}", e.details)),
                Ok(space) => {
                    let (warn, block) = (self.guard.warn_percent(), self.guard.block_percent());
                    let usage = space.usage_percent;
                    let report = match self.guard.level(&space) {
                        Level::Block => ComponentReport::unhealthy(format!(
                            "usage {usage:.1}% is at or above the blocking threshold {block}%"
                        )),
                        Level::Warn => ComponentReport::degraded(format!(
                            "usage {usage:.1}% is at or above the warning threshold {warn}%"
                        )),
                        Level::Ok => ComponentReport::healthy(format!("writable; usage {usage:.1}%")),
                    };
                    report
                        .detail("usage_percentage", wire_percent(usage))
                        .detail("available_bytes", space.available)
                        .detail("total_bytes", space.total)
                }
            };
            for key in WRITABLE_KEYS {
                report = report.detail(key, true);
            }
            report.detail("capacity_bytes", self.guard.capacity())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::health::HealthStatus;
    use crate::health::checks::StorageCheck;

    #[tokio::test]
    async fn capacity_decides_the_storage_status() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut config = Config::default();
        config.storage.recordings_path = dir.path().join("recordings");
        config.storage.snapshots_path = dir.path().join("snapshots");
        config.storage.capacity_bytes = Some(1000);
        config.storage.warn_percent = 50.0;
        config.storage.block_percent = 90.0;
        std::fs::create_dir_all(&config.storage.recordings_path).expect("mkdir");
        std::fs::create_dir_all(&config.storage.snapshots_path).expect("mkdir");
        let standard: Arc<dyn ComponentCheck> = Arc::new(StorageCheck {
            recordings_path: config.storage.recordings_path.clone(),
            snapshots_path: config.storage.snapshots_path.clone(),
            // The real filesystem would be "full" at 0 %: only the capacity may decide.
            warn_percent: 0.0,
            block_percent: 0.0,
        });
        let guard = StorageGuard::new(&config);
        let checks = with_capacity_check(&guard, vec![standard.clone()]);
        let check = &checks[0];
        assert_eq!(check.name(), STORAGE);
        assert_eq!(check.check().await.status, HealthStatus::Healthy);
        std::fs::write(config.storage.recordings_path.join("a.mp4"), vec![0u8; 600]).expect("write");
        let r = check.check().await;
        assert_eq!(
            (r.status, &r.details["usage_percentage"]),
            (HealthStatus::Degraded, &Value::from(60.0))
        );
        std::fs::write(config.storage.snapshots_path.join("b.jpg"), vec![0u8; 300]).expect("write");
        assert_eq!(check.check().await.status, HealthStatus::Unhealthy);

        // Not writable: the standard verdict stands.
        std::fs::remove_dir_all(&config.storage.snapshots_path).expect("rm");
        let r = check.check().await;
        assert_eq!(
            (r.status, &r.details["snapshots_writable"]),
            (HealthStatus::Unhealthy, &Value::Bool(false))
        );

        // Without a capacity nothing is wrapped.
        config.storage.capacity_bytes = None;
        let unwrapped = with_capacity_check(&StorageGuard::new(&config), vec![standard.clone()]);
        assert!(Arc::ptr_eq(&unwrapped[0], &standard));
    }
}
