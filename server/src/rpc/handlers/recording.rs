//! `start_recording` / `stop_recording` (API.md §4.3): thin handlers over [`crate::media::recorder::Recorder`].

use crate::error::Error;
use crate::media::recorder::StartRequest;
use crate::rpc::call::{Call, parse};
use camera_api::types::recording::{
    StartRecordingParams, StartRecordingResult, StopRecordingParams, StopRecordingResult,
};
use serde_json::{Map, Value};

pub async fn start_recording(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: StartRecordingParams = parse(params)?;
    let started = call
        .app
        .recorder
        .start(StartRequest {
            device: p.device,
            duration: p.duration,
            format: p.format,
        })
        .await?;
    serde_json::to_value(StartRecordingResult::from(started)).map_err(Error::internal)
}

pub async fn stop_recording(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: StopRecordingParams = parse(params)?;
    let stopped = call.app.recorder.stop(&p.device).await?;
    serde_json::to_value(StopRecordingResult::from(stopped)).map_err(Error::internal)
}
