//! Storage (API.md §4.6): `get_storage_info`, `set_retention_policy`, `cleanup_old_files`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NoParams;

/// Params of `get_storage_info`.
pub type GetStorageInfoParams = NoParams;

/// Result of `get_storage_info` (figures of the filesystem holding the recordings directory).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct GetStorageInfoResult {
    pub total_space: u64,
    pub used_space: u64,
    pub available_space: u64,
    /// 0–100.
    pub usage_percentage: f64,
    pub recordings_size: u64,
    pub snapshots_size: u64,
    pub recordings_count: u64,
    pub snapshots_count: u64,
    /// `usage_percentage ≥ warn_percent`.
    pub low_space_warning: bool,
    pub warn_percent: u32,
    pub block_percent: u32,
}

/// Params of `set_retention_policy`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SetRetentionPolicyParams {
    /// `age`, `size`, `age_and_size` or `manual`.
    #[schemars(extend("enum" = ["age", "size", "age_and_size", "manual"]))]
    pub policy_type: String,
    pub enabled: bool,
    /// 1..3650.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// > 0, ≤ 1000000 (GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_gb: Option<f64>,
    /// 0..50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_percent: Option<f64>,
}

/// Result of `set_retention_policy`: the stored policy after merging.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct SetRetentionPolicyResult {
    #[schemars(extend("enum" = ["age", "size", "age_and_size", "manual"]))]
    pub policy_type: String,
    pub enabled: bool,
    pub max_age_days: Option<u32>,
    pub max_size_gb: Option<f64>,
    pub min_free_percent: f64,
    #[schemars(extend("format" = "date-time"))]
    pub updated_at: String,
    pub message: String,
}

/// Params of `cleanup_old_files`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct CleanupOldFilesParams {
    /// Override the mass-delete guard (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Compute without deleting (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// Result of `cleanup_old_files`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CleanupOldFilesResult {
    pub cleanup_executed: bool,
    pub dry_run: bool,
    /// The mass-delete guard would have tripped (only reported by dry runs).
    pub guard_tripped: bool,
    pub files_deleted: u64,
    pub recordings_removed: u64,
    pub snapshots_removed: u64,
    /// Bytes.
    pub space_freed: u64,
    pub message: String,
}
