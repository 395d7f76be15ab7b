//! API keys (API.md §4.10): the key record and `create_api_key`, `list_api_keys`, `revoke_api_key`,
//! `rotate_api_key`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::role::Role;

/// A stored API key (never contains the secret).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `k_` + 12 lower-case hex.
    pub key_id: String,
    /// First 12 characters of the key (`csk_gTztbOGw`).
    pub key_prefix: String,
    pub role: Role,
    pub description: String,
    /// `ACTIVE`, `REVOKED` or `EXPIRED`.
    #[schemars(extend("enum" = ["ACTIVE", "REVOKED", "EXPIRED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub last_used_at: Option<String>,
    pub usage_count: u64,
    #[schemars(extend("format" = "date-time"))]
    pub revoked_at: Option<String>,
    /// `user_id` of the creator, or `cli`.
    pub created_by: String,
}

/// Params of `create_api_key`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyParams {
    pub role: Role,
    /// At most 256 characters (default `""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 1..3650 (default `api_keys.default_expiry_days`, 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// Result of `create_api_key`; the only time the secret is shown.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct CreateApiKeyResult {
    pub key_id: String,
    /// The secret: `csk_` + 43 base64url characters.
    pub api_key: String,
    pub key_prefix: String,
    pub role: Role,
    pub description: String,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    pub message: String,
}

/// Params of `list_api_keys`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ListApiKeysParams {
    /// Also list `REVOKED` and `EXPIRED` keys (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_revoked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// Result of `list_api_keys`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct ListApiKeysResult {
    /// Newest first.
    pub keys: Vec<ApiKeyRecord>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// Params of `revoke_api_key`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevokeApiKeyParams {
    pub key_id: String,
}

/// Result of `revoke_api_key`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RevokeApiKeyResult {
    pub key_id: String,
    pub revoked: bool,
    /// `REVOKED`.
    #[schemars(extend("enum" = ["REVOKED"]))]
    pub status: String,
    #[schemars(extend("format" = "date-time"))]
    pub revoked_at: String,
    /// Live sessions ended by this call (0 when already revoked).
    pub sessions_closed: u64,
}

/// Params of `rotate_api_key`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RotateApiKeyParams {
    pub key_id: String,
    /// 1..3650 (default: the old key's lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
    /// 0..86400 (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_seconds: Option<u32>,
}

/// Result of `rotate_api_key`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct RotateApiKeyResult {
    pub old_key_id: String,
    /// When the old key stops working (now + grace).
    #[schemars(extend("format" = "date-time"))]
    pub old_key_expires_at: String,
    pub key_id: String,
    pub api_key: String,
    pub key_prefix: String,
    pub role: Role,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    pub message: String,
}
