//! External stream methods (API.md §4.9): thin handlers over [`crate::cameras::external::ExternalStreams`].
//! Params arrive validated by the dispatcher (URL form, name, id pattern, interval range).

use crate::error::Error;
use crate::rpc::call::{Call, parse};
use camera_api::types::external::{
    AddExternalStreamParams, DiscoverExternalStreamsParams, DiscoveryOptions, GetExternalStreamsParams,
    RemoveExternalStreamParams, SetDiscoveryIntervalParams,
};
use serde::Serialize;
use serde_json::{Map, Value};

fn to_value(result: impl Serialize) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

pub async fn discover_external_streams(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DiscoverExternalStreamsParams = parse(params)?;
    let options = DiscoveryOptions {
        skydio_enabled: p.skydio_enabled.unwrap_or(true),
        generic_enabled: p.generic_enabled.unwrap_or(false),
        force_rescan: p.force_rescan.unwrap_or(false),
        include_offline: p.include_offline.unwrap_or(false),
    };
    to_value(call.app.external.discover(options).await?)
}

pub async fn add_external_stream(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: AddExternalStreamParams = parse(params)?;
    let result = call
        .app
        .external
        .add(
            &p.stream_url,
            &p.stream_name,
            p.stream_type.as_deref(),
            p.device.as_deref(),
        )
        .await?;
    to_value(result)
}

pub async fn remove_external_stream(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: RemoveExternalStreamParams = parse(params)?;
    let recorder = call.app.recorder.clone();
    let recording = move |device: &str| recorder.status(device).active;
    to_value(call.app.external.remove(&p.stream_url, &recording).await?)
}

pub async fn get_external_streams(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let _: GetExternalStreamsParams = parse(params)?;
    to_value(call.app.external.list())
}

pub async fn set_discovery_interval(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: SetDiscoveryIntervalParams = parse(params)?;
    to_value(call.app.external.set_interval(p.scan_interval).await?)
}
