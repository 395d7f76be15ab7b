//! Camera methods (API.md §4.2): thin handlers over [`crate::cameras::CameraRegistry`] (and the recorder for
//! the `recording` object of `get_camera_status`). Params arrive validated by the dispatcher; the readiness
//! gate has passed.

use crate::error::Error;
use crate::rpc::call::{Call, parse};
use camera_api::types::cameras::{
    Camera, CameraStreamMetrics, CapabilitySummary, DeviceParams, GetCameraCapabilitiesResult, GetCameraListParams,
    GetCameraListResult, GetCameraStatusResult,
};
use serde::Serialize;
use serde_json::{Map, Value};

fn to_value(result: impl Serialize) -> crate::Result<Value> {
    serde_json::to_value(result).map_err(Error::internal)
}

pub async fn get_camera_list(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let _: GetCameraListParams = parse(params)?;
    let cameras: Vec<Camera> = call.app.cameras.list().iter().map(|c| with_streams(&call, c)).collect();
    let connected = cameras.iter().filter(|c| c.status == "CONNECTED").count() as u64;
    to_value(GetCameraListResult {
        total: cameras.len() as u64,
        connected,
        cameras,
    })
}

pub async fn get_camera_status(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DeviceParams = parse(params)?;
    let camera = call.app.cameras.camera(&p.device)?;
    let capabilities = call.app.cameras.capabilities(&p.device)?;
    // Standalone backend: no stream publisher, so no stream metrics and never pinned.
    let (metrics, streaming) = call
        .app
        .streaming
        .as_ref()
        .map_or((CameraStreamMetrics::default(), false), |s| s.camera_metrics(&p.device));
    to_value(GetCameraStatusResult {
        camera: with_streams(&call, &camera),
        metrics,
        capabilities: CapabilitySummary {
            formats: capabilities.formats,
            resolutions: capabilities.resolutions,
        },
        recording: call.app.recorder.status(&p.device).into(),
        streaming,
    })
}

/// The camera object with stream URLs for the host this client connected with (MediaMTX backend; `{}` in
/// standalone).
fn with_streams(call: &Call, camera: &crate::cameras::Camera) -> Camera {
    let mut wire = Camera::from(camera);
    if let Some(streaming) = &call.app.streaming {
        wire.streams = streaming.urls(&camera.device, call.conn.host.as_deref());
    }
    wire
}

pub async fn get_camera_capabilities(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let p: DeviceParams = parse(params)?;
    let capabilities = call.app.cameras.capabilities(&p.device)?;
    to_value(GetCameraCapabilitiesResult::from(&capabilities))
}
