//! `camctl server info|status|metrics`.

use camera_sdk::{Client, ErrorKind};

use super::cameras::to_value;
use crate::args::ServerCmd;
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, cmd: ServerCmd, out: Output) -> Result<(), CliError> {
    let fields = |v: serde_json::Value| render::fields(out.style, &v);
    match cmd {
        ServerCmd::Info => {
            let r = client.get_server_info().await?;
            out.emit(&r, |r| fields(to_value(r)))
        }
        ServerCmd::Status => match client.get_status().await {
            Ok(r) => out.emit(&r, |r| fields(to_value(r))),
            // Viewers and operators may not call get_status; the readiness summary is for everyone.
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                let r = client.get_system_status().await?;
                out.emit(&r, |r| fields(to_value(r)))
            }
            Err(e) => Err(e.into()),
        },
        ServerCmd::Metrics => {
            let r = client.get_metrics().await?;
            out.emit(&r, |r| fields(to_value(r)))
        }
    }
}
