//! `camctl cameras list|status|caps`.

use camera_sdk::Client;

use crate::args::CamerasCmd;
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, cmd: CamerasCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        CamerasCmd::List => {
            let r = client.get_camera_list().await?;
            out.emit(&r, |r| render::cameras(out.style, r))
        }
        CamerasCmd::Status(a) => {
            let r = client.get_camera_status(a.device).await?;
            out.emit(&r, |r| render::fields(out.style, &to_value(r)))
        }
        CamerasCmd::Caps(a) => {
            let r = client.get_camera_capabilities(a.device).await?;
            out.emit(&r, |r| render::capabilities(out.style, r))
        }
    }
}

/// A result as a JSON value for the field table (serialising contract types cannot fail).
pub fn to_value<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
