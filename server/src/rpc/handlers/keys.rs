//! API key methods (API.md §4.10) and `issue_token` (§4.1): thin handlers over [`crate::auth::AuthService`].
//! Params arrive already validated by the dispatcher (types, ranges, unknown keys); the caller's identity has
//! passed the session and role checks. `created_by` and audit actors are the caller's `user_id`.

use crate::error::Error;
use crate::rpc::call::{Call, parse};
use camera_api::types::keys::{
    ApiKeyRecord, CreateApiKeyParams, CreateApiKeyResult, ListApiKeysParams, ListApiKeysResult, RevokeApiKeyParams,
    RotateApiKeyParams, RotateApiKeyResult,
};
use camera_api::types::meta::{IssueTokenParams, IssueTokenResult};
use serde::Serialize;
use serde_json::{Map, Value};

/// Default and contract values of API.md §4.0 / §4.1.
const DEFAULT_LIMIT: u32 = 50;
const DEFAULT_TOKEN_TTL: u32 = 3600;

fn to_value(result: impl Serialize) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

pub async fn create_api_key(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: CreateApiKeyParams = parse(params)?;
    let caller = call.identity()?;
    let description = p.description.as_deref().unwrap_or("");
    let created = call
        .app
        .auth
        .create_api_key(p.role, description, p.expires_in_days, &caller.user_id)
        .await?;
    to_value(CreateApiKeyResult::from(&created))
}

pub async fn list_api_keys(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: ListApiKeysParams = parse(params)?;
    let (limit, offset) = (p.limit.unwrap_or(DEFAULT_LIMIT), p.offset.unwrap_or(0));
    let (keys, total) = call
        .app
        .auth
        .list_api_keys(p.include_revoked.unwrap_or(false), limit, offset)
        .await?;
    to_value(ListApiKeysResult {
        keys: keys.iter().map(ApiKeyRecord::from).collect(),
        total,
        limit,
        offset,
    })
}

pub async fn revoke_api_key(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: RevokeApiKeyParams = parse(params)?;
    let caller = call.identity()?;
    // Counted before revoking: those are the sessions this call ends (reported only if it revoked anything).
    let sessions = call.app.connections.sessions_using_key(&p.key_id);
    let revoked = call.app.auth.revoke_api_key(&p.key_id, &caller.user_id).await?;
    to_value(revoked.to_result(u64::try_from(sessions).unwrap_or(u64::MAX)))
}

pub async fn rotate_api_key(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: RotateApiKeyParams = parse(params)?;
    let caller = call.identity()?;
    let grace = p.grace_seconds.unwrap_or(0);
    let rotated = call
        .app
        .auth
        .rotate_api_key(&p.key_id, p.expires_in_days, grace, &caller.user_id)
        .await?;
    to_value(RotateApiKeyResult::from(&rotated))
}

pub async fn issue_token(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: IssueTokenParams = parse(params)?;
    let caller = call.identity()?;
    let issued = call
        .app
        .auth
        .issue_token(caller, p.role, p.ttl_seconds.unwrap_or(DEFAULT_TOKEN_TTL))?;
    to_value(IssueTokenResult::from(&issued))
}
