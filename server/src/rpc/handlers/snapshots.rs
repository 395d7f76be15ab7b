//! `take_snapshot` (API.md §4.3): a thin handler over [`crate::media::snapshots::SnapshotService`].

use crate::error::Error;
use crate::media::snapshots::SnapshotRequest;
use crate::rpc::call::{Call, parse};
use camera_api::types::recording::{TakeSnapshotParams, TakeSnapshotResult};
use serde_json::{Map, Value};

pub async fn take_snapshot(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: TakeSnapshotParams = parse(params)?;
    let taken = call
        .app
        .snapshots
        .take(SnapshotRequest {
            device: p.device,
            filename: p.filename,
            format: p.format,
            quality: p.quality,
            max_width: p.max_width,
            max_height: p.max_height,
        })
        .await?;
    serde_json::to_value(TakeSnapshotResult::from(taken)).map_err(Error::internal)
}
