//! File methods (API.md §4.4): thin handlers over [`crate::media::files::FileCatalog`].

use crate::error::Error;
use crate::rpc::call::{Call, parse};
use camera_api::types::files::{FilenameParams, ListFilesParams};
use serde::Serialize;
use serde_json::{Map, Value};

/// Pagination defaults of API.md §4.0.
const DEFAULT_LIMIT: u32 = 50;

fn to_value(result: impl Serialize) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

fn paging(p: &ListFilesParams) -> (usize, usize) {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT) as usize;
    let offset = usize::try_from(p.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    (limit, offset)
}

pub async fn list_recordings(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: ListFilesParams = parse(params)?;
    let (limit, offset) = paging(&p);
    let page = call
        .app
        .files
        .list_recordings(p.device.as_deref(), limit, offset)
        .await?;
    to_value(page)
}

pub async fn list_snapshots(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: ListFilesParams = parse(params)?;
    let (limit, offset) = paging(&p);
    let page = call
        .app
        .files
        .list_snapshots(p.device.as_deref(), limit, offset)
        .await?;
    to_value(page)
}

pub async fn get_recording_info(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: FilenameParams = parse(params)?;
    to_value(call.app.files.recording_info(&p.filename).await?)
}

pub async fn get_snapshot_info(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: FilenameParams = parse(params)?;
    to_value(call.app.files.snapshot_info(&p.filename).await?)
}

pub async fn delete_recording(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: FilenameParams = parse(params)?;
    to_value(call.app.files.delete_recording(&p.filename).await?)
}

pub async fn delete_snapshot(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: FilenameParams = parse(params)?;
    to_value(call.app.files.delete_snapshot(&p.filename).await?)
}
