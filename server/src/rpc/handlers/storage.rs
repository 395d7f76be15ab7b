//! Storage methods (API.md §4.6): thin handlers over [`crate::storage::StorageService`]. Params arrive
//! validated by the dispatcher (types, ranges, unknown keys); the caller is an admin. The caller's `user_id`
//! is the audit actor of policy changes and executed cleanups.

use crate::error::Error;
use crate::rpc::call::{Call, parse};
use camera_api::types::{CleanupOldFilesParams, SetRetentionPolicyParams};
use serde::Serialize;
use serde_json::{Map, Value};

fn to_value(result: impl Serialize) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

pub async fn get_storage_info(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    to_value(call.app.storage.info().await?)
}

pub async fn set_retention_policy(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: SetRetentionPolicyParams = parse(params)?;
    let actor = call.identity()?.user_id.clone();
    to_value(call.app.storage.set_policy(p, &actor).await?)
}

pub async fn cleanup_old_files(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: CleanupOldFilesParams = parse(params)?;
    let actor = call.identity()?.user_id.clone();
    let (force, dry_run) = (p.force.unwrap_or(false), p.dry_run.unwrap_or(false));
    to_value(call.app.storage.cleanup(force, dry_run, &actor).await?)
}
