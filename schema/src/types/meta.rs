//! Session and meta methods (API.md §4.1): `ping`, `authenticate`, `rpc.discover`, `issue_token`,
//! `get_download_url`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::role::Role;

/// Params of `ping`: none (unknown keys are ignored by the server).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct PingParams {}

/// Result of `ping`: the string `"pong"`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PingResult {
    /// `"pong"`.
    #[default]
    #[serde(rename = "pong")]
    Pong,
}

/// Params of `authenticate`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthenticateParams {
    /// A JWT (HS256) or an API key (`csk_…`), 1..8192 characters.
    pub auth_token: String,
}

/// Result of `authenticate`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct AuthenticateResult {
    /// Always `true` (failures are errors).
    pub authenticated: bool,
    pub role: Role,
    /// `view`, `control`, `admin` as granted by `role`.
    pub permissions: Vec<String>,
    /// Credential expiry; `null` only for keys created offline without expiry.
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    /// UUID v4, new on every success.
    pub session_id: String,
    /// `user_id` of the JWT, or `apikey:<key_id>`.
    pub user_id: String,
    /// `jwt` or `api_key`.
    #[schemars(extend("enum" = ["jwt", "api_key"]))]
    pub auth_method: String,
}

/// Params of `rpc.discover`: none (unknown keys are ignored by the server).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
pub struct RpcDiscoverParams {}

/// Result of `rpc.discover`: the OpenRPC document (see [`crate::openrpc::document`]).
pub type RpcDiscoverResult = serde_json::Map<String, serde_json::Value>;

/// Params of `issue_token`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct IssueTokenParams {
    /// Requested lifetime, 60..86400 s (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    /// Role of the token (default: the caller's), at most the caller's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// Result of `issue_token`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct IssueTokenResult {
    /// The HS256 JWT.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub user_id: String,
    pub role: Role,
    #[schemars(extend("format" = "date-time"))]
    pub issued_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
    /// Effective lifetime in seconds (may be less than requested).
    pub expires_in: u64,
}

/// Params of `get_download_url`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GetDownloadUrlParams {
    /// `recording` or `snapshot`.
    #[schemars(extend("enum" = ["recording", "snapshot"]))]
    pub kind: String,
    pub filename: String,
}

/// Result of `get_download_url`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct GetDownloadUrlResult {
    #[schemars(extend("enum" = ["recording", "snapshot"]))]
    pub kind: String,
    pub filename: String,
    /// Absolute URL including `?token=`.
    pub url: String,
    /// Path and query (`/files/<kind>s/<filename>?token=…`).
    pub path: String,
    /// The download token (`dlt_…`).
    pub token: String,
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
    /// Seconds until `expires_at`.
    pub expires_in: u64,
}
