//! The retention policy (API.md §4.6 `set_retention_policy`): its shape, the merge rules of an update, and its
//! persistence in the state store (table `retention_policy`, one row).
//!
//! Invariants:
//! - Without a stored row the policy is [`RetentionPolicy::default`]: `manual`, disabled, no limits, floor
//!   10 %. Nothing is ever deleted automatically until an administrator enables a policy.
//! - An update names `policy_type` and `enabled`; omitted limits keep their stored values. After merging, the
//!   limit that `policy_type` needs must be set (-32602 `missing_param` naming it). Limits not needed by the
//!   type are kept (so switching `age` → `age_and_size` → `age` does not lose `max_size_gb`).
//! - Merge and write happen in one `BEGIN IMMEDIATE` transaction, together with an audit-log row, so two
//!   concurrent updates never lose one another's limits.

use crate::clock::format_timestamp;
use crate::store::{audit, parse_sql_time, sql_time};
use crate::{Error, ErrorKind};
use camera_api::types::{SetRetentionPolicyParams, SetRetentionPolicyResult};
use rusqlite::{Connection, OptionalExtension};
use serde_json::json;
use time::OffsetDateTime;

/// Name of the state-store migration that creates the policy table.
pub const MIGRATION_NAME: &str = "retention_policy";

/// SQL of that migration (append it to `store::migrations::MIGRATIONS` with the next version).
pub const MIGRATION_SQL: &str = r#"
    CREATE TABLE retention_policy (
        id                INTEGER PRIMARY KEY CHECK (id = 1),
        policy_type       TEXT NOT NULL CHECK (policy_type IN ('age', 'size', 'age_and_size', 'manual')),
        enabled           INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        max_age_days      INTEGER,                  -- NULL: not set
        max_size_gb       REAL,                     -- GiB (2^30 bytes); NULL: not set
        min_free_percent  REAL NOT NULL,            -- 0 disables the free-space floor
        updated_at        TEXT NOT NULL
    ) STRICT;
"#;

/// `min_free_percent` until one is set.
pub const DEFAULT_MIN_FREE_PERCENT: f64 = 10.0;
/// Bytes per `max_size_gb` unit.
pub const GIB: f64 = 1_073_741_824.0;

/// Which limits apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyType {
    Age,
    Size,
    AgeAndSize,
    Manual,
}

impl PolicyType {
    pub const ALL: [&'static str; 4] = ["age", "size", "age_and_size", "manual"];

    pub fn parse(s: &str) -> Option<PolicyType> {
        match s {
            "age" => Some(PolicyType::Age),
            "size" => Some(PolicyType::Size),
            "age_and_size" => Some(PolicyType::AgeAndSize),
            "manual" => Some(PolicyType::Manual),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Age => "age",
            PolicyType::Size => "size",
            PolicyType::AgeAndSize => "age_and_size",
            PolicyType::Manual => "manual",
        }
    }
    pub fn uses_age(self) -> bool {
        matches!(self, PolicyType::Age | PolicyType::AgeAndSize)
    }
    pub fn uses_size(self) -> bool {
        matches!(self, PolicyType::Size | PolicyType::AgeAndSize)
    }
}

/// The stored policy.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionPolicy {
    pub policy_type: PolicyType,
    pub enabled: bool,
    pub max_age_days: Option<u32>,
    pub max_size_gb: Option<f64>,
    pub min_free_percent: f64,
    /// `None` until first set.
    pub updated_at: Option<OffsetDateTime>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            policy_type: PolicyType::Manual,
            enabled: false,
            max_age_days: None,
            max_size_gb: None,
            min_free_percent: DEFAULT_MIN_FREE_PERCENT,
            updated_at: None,
        }
    }
}

impl RetentionPolicy {
    /// The age limit, when the type applies it.
    pub fn max_age(&self) -> Option<time::Duration> {
        self.max_age_days
            .filter(|_| self.policy_type.uses_age())
            .map(|d| time::Duration::days(i64::from(d)))
    }

    /// The size limit in bytes, when the type applies it.
    pub fn max_size_bytes(&self) -> Option<u64> {
        self.max_size_gb
            .filter(|_| self.policy_type.uses_size())
            .map(|gb| (gb * GIB).floor().clamp(0.0, u64::MAX as f64) as u64)
    }

    /// The free-space floor in percent, `None` when 0 (disabled).
    pub fn floor_percent(&self) -> Option<f64> {
        (self.min_free_percent > 0.0).then_some(self.min_free_percent)
    }

    /// The `set_retention_policy` result.
    pub fn to_result(&self, now: OffsetDateTime) -> SetRetentionPolicyResult {
        SetRetentionPolicyResult {
            policy_type: self.policy_type.as_str().to_owned(),
            enabled: self.enabled,
            max_age_days: self.max_age_days,
            max_size_gb: self.max_size_gb,
            min_free_percent: self.min_free_percent,
            updated_at: format_timestamp(self.updated_at.unwrap_or(now)),
            message: "Retention policy configured successfully".into(),
        }
    }
}

/// Applies an update to the stored policy (rules in the module docs). The dispatcher has already checked
/// types and ranges; they are checked again so the service is safe to call directly.
pub fn merge(
    stored: &RetentionPolicy,
    p: &SetRetentionPolicyParams,
    now: OffsetDateTime,
) -> crate::Result<RetentionPolicy> {
    let policy_type = PolicyType::parse(&p.policy_type).ok_or_else(|| {
        Error::invalid_param(
            "invalid_value",
            "policy_type",
            format!(
                "policy_type {:?} is not one of {}",
                p.policy_type,
                PolicyType::ALL.join(", ")
            ),
        )
        .with("allowed", json!(PolicyType::ALL))
    })?;
    if let Some(days) = p.max_age_days
        && !(1..=3650).contains(&days)
    {
        return Err(out_of_range("max_age_days", "must be 1..3650"));
    }
    if let Some(gb) = p.max_size_gb
        && !(gb.is_finite() && gb > 0.0 && gb <= 1_000_000.0)
    {
        return Err(out_of_range("max_size_gb", "must be > 0 and at most 1000000"));
    }
    if let Some(pct) = p.min_free_percent
        && !(pct.is_finite() && (0.0..=50.0).contains(&pct))
    {
        return Err(out_of_range("min_free_percent", "must be 0..50"));
    }
    let merged = RetentionPolicy {
        policy_type,
        enabled: p.enabled,
        max_age_days: p.max_age_days.or(stored.max_age_days),
        max_size_gb: p.max_size_gb.or(stored.max_size_gb),
        min_free_percent: p.min_free_percent.unwrap_or(stored.min_free_percent),
        updated_at: Some(now),
    };
    if policy_type.uses_age() && merged.max_age_days.is_none() {
        return Err(missing("max_age_days", policy_type));
    }
    if policy_type.uses_size() && merged.max_size_gb.is_none() {
        return Err(missing("max_size_gb", policy_type));
    }
    Ok(merged)
}

fn out_of_range(param: &str, rule: &str) -> Error {
    Error::invalid_param("out_of_range", param, format!("{param} {rule}"))
}

fn missing(param: &str, t: PolicyType) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        "missing_param",
        format!("policy_type {} needs {param}, and none is stored", t.as_str()),
    )
    .with("param", param)
}

/// The stored policy, `None` when never set.
pub fn load(conn: &Connection) -> crate::Result<Option<RetentionPolicy>> {
    let row = conn
        .query_row(
            "SELECT policy_type, enabled, max_age_days, max_size_gb, min_free_percent, updated_at
             FROM retention_policy WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<f64>>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((policy_type, enabled, days, gb, floor, updated)) = row else {
        return Ok(None);
    };
    let policy_type = PolicyType::parse(&policy_type)
        .ok_or_else(|| Error::database(format!("stored retention policy has an unknown type {policy_type:?}")))?;
    Ok(Some(RetentionPolicy {
        policy_type,
        enabled: enabled != 0,
        max_age_days: days.and_then(|d| u32::try_from(d).ok()),
        max_size_gb: gb,
        min_free_percent: floor,
        updated_at: Some(parse_sql_time(&updated)?),
    }))
}

/// Merges `p` into the stored policy and writes the result with an audit row, atomically.
pub fn update(
    conn: &mut Connection,
    p: &SetRetentionPolicyParams,
    actor: &str,
    now: OffsetDateTime,
) -> crate::Result<RetentionPolicy> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let stored = load(&tx)?.unwrap_or_default();
    let merged = merge(&stored, p, now)?;
    tx.execute(
        "INSERT INTO retention_policy (id, policy_type, enabled, max_age_days, max_size_gb, min_free_percent, updated_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET policy_type = excluded.policy_type, enabled = excluded.enabled,
             max_age_days = excluded.max_age_days, max_size_gb = excluded.max_size_gb,
             min_free_percent = excluded.min_free_percent, updated_at = excluded.updated_at",
        rusqlite::params![
            merged.policy_type.as_str(),
            i64::from(merged.enabled),
            merged.max_age_days.map(i64::from),
            merged.max_size_gb,
            merged.min_free_percent,
            sql_time(now),
        ],
    )?;
    audit::record(
        &tx,
        now,
        actor,
        "retention_policy.set",
        None,
        &json!({"policy_type": merged.policy_type.as_str(), "enabled": merged.enabled,
                "max_age_days": merged.max_age_days, "max_size_gb": merged.max_size_gb,
                "min_free_percent": merged.min_free_percent}),
    )?;
    tx.commit()?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-01-15 14:30:00 UTC);

    fn params(t: &str, enabled: bool) -> SetRetentionPolicyParams {
        SetRetentionPolicyParams {
            policy_type: t.into(),
            enabled,
            max_age_days: None,
            max_size_gb: None,
            min_free_percent: None,
        }
    }

    #[test]
    fn merge_keeps_stored_limits_and_requires_the_needed_one() {
        let base = RetentionPolicy::default();
        let err = merge(&base, &params("age", true), NOW).expect_err("no age stored");
        assert_eq!((err.kind, err.reason), (ErrorKind::InvalidArgument, "missing_param"));
        assert_eq!(err.data["param"], "max_age_days");
        let err = merge(&base, &params("age_and_size", true), NOW).expect_err("nothing stored");
        assert_eq!(err.data["param"], "max_age_days");
        let err = merge(
            &base,
            &SetRetentionPolicyParams {
                max_age_days: Some(3),
                ..params("age_and_size", true)
            },
            NOW,
        )
        .expect_err("no size stored");
        assert_eq!(err.data["param"], "max_size_gb");

        let manual = merge(&base, &params("manual", false), NOW).expect("manual needs nothing");
        assert_eq!((manual.min_free_percent, manual.updated_at), (10.0, Some(NOW)));

        let age = merge(
            &base,
            &SetRetentionPolicyParams {
                max_age_days: Some(30),
                ..params("age", true)
            },
            NOW,
        )
        .expect("age");
        let size = merge(
            &age,
            &SetRetentionPolicyParams {
                max_size_gb: Some(1.5),
                ..params("size", true)
            },
            NOW,
        )
        .expect("size");
        assert_eq!(
            (size.max_age_days, size.max_size_gb),
            (Some(30), Some(1.5)),
            "the age limit is kept"
        );
        assert_eq!(size.max_age(), None, "but not applied by a size policy");
        assert_eq!(size.max_size_bytes(), Some(1_610_612_736));
        let both = merge(&size, &params("age_and_size", true), NOW).expect("both stored");
        assert_eq!(both.max_age(), Some(time::Duration::days(30)));
        let floor = merge(
            &both,
            &SetRetentionPolicyParams {
                min_free_percent: Some(0.0),
                ..params("age", false)
            },
            NOW,
        )
        .expect("floor off");
        assert_eq!((floor.floor_percent(), floor.enabled), (None, false));
    }

    #[test]
    fn merge_rechecks_ranges() {
        let base = RetentionPolicy::default();
        let bad = [
            SetRetentionPolicyParams {
                max_age_days: Some(0),
                ..params("age", true)
            },
            SetRetentionPolicyParams {
                max_size_gb: Some(0.0),
                ..params("size", true)
            },
            SetRetentionPolicyParams {
                max_size_gb: Some(f64::NAN),
                ..params("size", true)
            },
            SetRetentionPolicyParams {
                min_free_percent: Some(50.5),
                ..params("manual", true)
            },
        ];
        for p in bad {
            assert_eq!(
                merge(&base, &p, NOW).expect_err("out of range").reason,
                "out_of_range",
                "{p:?}"
            );
        }
        assert_eq!(
            merge(&base, &params("fifo", true), NOW).expect_err("type").reason,
            "invalid_value"
        );
    }

    #[test]
    fn update_persists_and_audits() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = crate::store::Store::open(dir.path()).expect("store");
        let p = SetRetentionPolicyParams {
            max_age_days: Some(7),
            min_free_percent: Some(5.0),
            ..params("age", true)
        };
        let stored = store.call_blocking(|c| update(c, &p, "alice", NOW)).expect("update");
        let err = store
            .call_blocking(|c| update(c, &params("size", true), "alice", NOW))
            .expect_err("size missing");
        assert_eq!(err.reason, "missing_param");
        let loaded = store.call_blocking(|c| load(c)).expect("load").expect("row");
        assert_eq!(loaded, stored, "the failed update changed nothing");
        assert_eq!((loaded.max_age_days, loaded.min_free_percent), (Some(7), 5.0));
        let log = store.call_blocking(|c| audit::recent(c, 10)).expect("audit");
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].actor.as_str(), log[0].action.as_str()),
            ("alice", "retention_policy.set")
        );
    }
}
