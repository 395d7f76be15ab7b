//! `camctl stream start|stop|url|status|list`.

use camera_sdk::Client;

use super::cameras::to_value;
use crate::args::StreamCmd;
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, cmd: StreamCmd, out: Output) -> Result<(), CliError> {
    let fields = |v: serde_json::Value| render::fields(out.style, &v);
    match cmd {
        StreamCmd::Start(a) => {
            let r = client.start_streaming(a.device).await?;
            out.emit(&r, |r| fields(to_value(r)))
        }
        StreamCmd::Stop(a) => {
            let r = client.stop_streaming(a.device).await?;
            out.emit(&r, |r| fields(to_value(r)))
        }
        StreamCmd::Url(a) => {
            let r = client.get_stream_url(a.device).await?;
            out.emit(&r, |r| fields(to_value(r)))
        }
        StreamCmd::Status(a) => {
            let r = client.get_stream_status(a.device).await?;
            out.emit(&r, |r| fields(to_value(r)))
        }
        StreamCmd::List => {
            let r = client.get_streams().await?;
            out.emit(&r, |r| render::streams(out.style, r))
        }
    }
}
