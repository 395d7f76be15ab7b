//! Streaming methods (API.md §4.5): thin handlers over [`crate::mediamtx::streaming::StreamingService`]. In the
//! standalone backend there is no such service and every method answers -32050 `streaming_unavailable`.
//! Stream URLs use the host the client connected with (its `Host` header) unless `mediamtx.public_host` is set.

use crate::error::Error;
use crate::mediamtx::streaming::StreamingService;
use crate::rpc::call::{Call, parse};
use camera_api::types::{DeviceParams, NoParams};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

fn service(call: &Call) -> crate::Result<&Arc<StreamingService>> {
    call.app
        .streaming
        .as_ref()
        .ok_or_else(crate::mediamtx::streaming_unavailable)
}

fn to_value(result: impl Serialize) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

pub async fn start_streaming(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DeviceParams = parse(params)?;
    to_value(service(&call)?.start(&p.device, call.conn.host.as_deref()).await?)
}

pub async fn stop_streaming(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DeviceParams = parse(params)?;
    to_value(service(&call)?.stop(&p.device).await?)
}

pub async fn get_stream_url(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DeviceParams = parse(params)?;
    to_value(service(&call)?.url(&p.device, call.conn.host.as_deref()).await?)
}

pub async fn get_stream_status(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DeviceParams = parse(params)?;
    to_value(service(&call)?.status(&p.device).await?)
}

pub async fn get_streams(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let _: NoParams = parse(params)?;
    to_value(service(&call)?.list().await?)
}
