//! `camctl files list|info|download|delete`. The kind (recording or snapshot) comes from `--kind` or the
//! file name's extension.

use std::path::{Path, PathBuf};

use camera_sdk::{Client, DownloadOutcome, FileKind};

use super::cameras::to_value;
use super::file_kind;
use crate::args::{FilesCmd, KindArg};
use crate::exit::CliError;
use crate::output::Output;
use crate::{progress, render};

pub async fn run(client: &Client, cmd: FilesCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        FilesCmd::List(a) => match a.kind {
            KindArg::Recording => {
                let r = client.list_recordings(a.limit, a.offset, a.device).await?;
                out.emit(&r, |r| render::recordings(out.style, r))
            }
            KindArg::Snapshot => {
                let r = client.list_snapshots(a.limit, a.offset, a.device).await?;
                out.emit(&r, |r| render::snapshots(out.style, r))
            }
        },
        FilesCmd::Info(a) => match file_kind(a.kind, &a.filename)? {
            FileKind::Recording => {
                let r = client.get_recording_info(a.filename).await?;
                out.emit(&r, |r| render::fields(out.style, &to_value(r)))
            }
            FileKind::Snapshot => {
                let r = client.get_snapshot_info(a.filename).await?;
                out.emit(&r, |r| render::fields(out.style, &to_value(r)))
            }
        },
        FilesCmd::Download(a) => {
            let kind = file_kind(a.file.kind, &a.file.filename)?;
            let dest = a.output.unwrap_or_else(|| PathBuf::from(&a.file.filename));
            let outcome = download_with_bar(client, kind, &a.file.filename, &dest, out).await?;
            emit_download(kind, &a.file.filename, &outcome, out)
        }
        FilesCmd::Delete(a) => {
            let r = match file_kind(a.kind, &a.filename)? {
                FileKind::Recording => client.delete_recording(a.filename).await?,
                FileKind::Snapshot => client.delete_snapshot(a.filename).await?,
            };
            out.emit(&r, |r| format!("{}: {}", r.filename, r.message))
        }
    }
}

/// Downloads with a byte progress bar on stderr.
pub async fn download_with_bar(
    client: &Client,
    kind: FileKind,
    filename: &str,
    dest: &Path,
    out: Output,
) -> Result<DownloadOutcome, CliError> {
    let bar = progress::download(out.json, filename);
    let tracker = bar.clone();
    let result = client
        .download(kind, filename, dest, move |p| {
            if let Some(total) = p.total {
                tracker.set_length(total);
            }
            tracker.set_position(p.downloaded);
        })
        .await;
    match result {
        Ok(outcome) => {
            bar.finish_and_clear();
            Ok(outcome)
        }
        Err(e) => {
            bar.abandon();
            Err(e.into())
        }
    }
}

/// Prints a finished download: one line for people, or
/// `{"kind","filename","path","size","transferred","resumed_from"}` with `--json`.
pub fn emit_download(kind: FileKind, filename: &str, outcome: &DownloadOutcome, out: Output) -> Result<(), CliError> {
    let summary = serde_json::json!({
        "kind": kind.as_str(),
        "filename": filename,
        "path": outcome.path.display().to_string(),
        "size": outcome.size,
        "transferred": outcome.transferred,
        "resumed_from": outcome.resumed_from,
    });
    out.emit(&summary, |_| describe(outcome))
}

/// One line about a finished download.
pub fn describe(o: &DownloadOutcome) -> String {
    let path = o.path.display();
    match (o.transferred, o.resumed_from) {
        (0, _) => format!("{path}: already complete ({})", render::bytes(o.size)),
        (_, 0) => format!("{path}: {}", render::bytes(o.size)),
        (t, r) => format!(
            "{path}: {} (resumed after {}, {} transferred)",
            render::bytes(o.size),
            render::bytes(r),
            render::bytes(t)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_descriptions() {
        let o = |size, transferred, resumed_from| DownloadOutcome {
            path: "a.mp4".into(),
            size,
            transferred,
            resumed_from,
        };
        assert_eq!(describe(&o(2048, 2048, 0)), "a.mp4: 2.0 KiB");
        assert_eq!(describe(&o(2048, 0, 2048)), "a.mp4: already complete (2.0 KiB)");
        assert_eq!(
            describe(&o(2048, 1024, 1024)),
            "a.mp4: 2.0 KiB (resumed after 1.0 KiB, 1.0 KiB transferred)"
        );
    }
}
