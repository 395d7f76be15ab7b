//! `camctl snapshot DEVICE [--output PATH]`: take a snapshot, optionally download it.

use camera_sdk::{Client, FileKind};

use super::cameras::to_value;
use super::files::{download_with_bar, emit_download};
use crate::args::{ImageFormat, SnapshotArgs};
use crate::exit::CliError;
use crate::output::Output;
use crate::render;

pub async fn run(client: &Client, a: SnapshotArgs, out: Output) -> Result<(), CliError> {
    let format = a.format.map(|f| match f {
        ImageFormat::Jpg => "jpg",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
    });
    let r = client
        .take_snapshot(
            a.device,
            a.filename,
            format.map(str::to_owned),
            a.quality,
            a.max_width,
            a.max_height,
        )
        .await?;
    out.emit(&r, |r| render::fields(out.style, &to_value(r)))?;
    if let Some(path) = a.output {
        let outcome = download_with_bar(client, FileKind::Snapshot, &r.filename, &path, out).await?;
        emit_download(FileKind::Snapshot, &r.filename, &outcome, out)?;
    }
    Ok(())
}
