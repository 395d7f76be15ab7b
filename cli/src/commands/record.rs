//! `camctl record start|stop`. `start --duration N` subscribes to the camera's `recording.stop` /
//! `recording.error` events before starting, shows a progress bar until the service ends the recording,
//! and on Ctrl-C stops the recording itself before exiting (code 130). If the end event was missed (e.g.
//! across a reconnect), the camera's status is polled once the deadline has passed.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use camera_sdk::{Client, ErrorKind, EventPayload, EventStream};

use super::cameras::to_value;
use crate::args::{RecordCmd, RecordStartArgs, RecordingFormat};
use crate::exit::CliError;
use crate::output::Output;
use crate::{progress, render};

/// How long past the deadline to wait for the end event before asking the camera's status.
const END_GRACE: Duration = Duration::from_secs(15);
/// Interval of those status checks.
const POLL_EVERY: Duration = Duration::from_secs(5);

pub async fn run(client: &Client, cmd: RecordCmd, out: Output) -> Result<(), CliError> {
    match cmd {
        RecordCmd::Start(a) => start(client, a, out).await,
        RecordCmd::Stop(a) => {
            let r = client.stop_recording(a.device).await?;
            out.emit(&r, |r| render::fields(out.style, &to_value(r)))
        }
    }
}

/// The wire name of a recording format.
pub fn format_name(f: RecordingFormat) -> &'static str {
    match f {
        RecordingFormat::Fmp4 => "fmp4",
        RecordingFormat::Mp4 => "mp4",
        RecordingFormat::Mkv => "mkv",
    }
}

/// Ctrl-C, with the signal handler installed at once (an `async fn` would only install it when first
/// polled, so an early Ctrl-C would still kill the process without stopping the recording).
type Interrupt = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

fn interrupt_now() -> Option<Interrupt> {
    let mut ctrl_c: Interrupt = Box::pin(tokio::signal::ctrl_c());
    match (&mut ctrl_c).now_or_never() {
        None => Some(ctrl_c),
        // Installing the handler failed (or a signal raced us): no clean stop on Ctrl-C.
        Some(_) => None,
    }
}

async fn start(client: &Client, a: RecordStartArgs, out: Output) -> Result<(), CliError> {
    let wait = a.duration.filter(|_| !a.detach);
    let interrupt = wait.and_then(|_| interrupt_now());
    let events = match wait {
        Some(_) => Some(
            client
                .subscribe(&["recording.stop", "recording.error"], Some(&a.device))
                .await?,
        ),
        None => None,
    };
    let r = client
        .start_recording(
            a.device.clone(),
            a.duration,
            a.format.map(|f| format_name(f).to_owned()),
        )
        .await?;
    out.emit(&r, |r| render::fields(out.style, &to_value(r)))?;
    match (wait, events) {
        (Some(secs), Some(events)) => wait_for_end(client, &a.device, secs, events, interrupt, out).await,
        _ => Ok(()),
    }
}

async fn wait_for_end(
    client: &Client,
    device: &str,
    secs: u64,
    mut events: EventStream,
    interrupt: Option<Interrupt>,
    out: Output,
) -> Result<(), CliError> {
    let bar = progress::recording(out.json, device, secs);
    let started = Instant::now();
    let deadline = Duration::from_secs(secs) + END_GRACE;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_poll = Instant::now();
    let ctrl_c = async {
        match interrupt {
            Some(signal) => signal.await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else {
                    bar.abandon();
                    return Err(CliError::Sdk(camera_sdk::SdkError::Closed(None)));
                };
                match &event.payload {
                    EventPayload::RecordingStop(stop) => {
                        bar.finish_and_clear();
                        return out.emit(stop, |s| {
                            format!(
                                "recording stopped ({}): {}, {}, files: {}",
                                s.reason,
                                render::duration(s.duration),
                                render::bytes(s.file_size),
                                s.files.join(", ")
                            )
                        });
                    }
                    EventPayload::RecordingError(err) => {
                        bar.abandon();
                        return Err(CliError::Other(format!(
                            "recording failed ({}): {}",
                            err.reason, err.message
                        )));
                    }
                    _ => {}
                }
            }
            _ = tick.tick() => {
                let elapsed = started.elapsed();
                bar.set_position(elapsed.as_secs().min(secs));
                if elapsed > deadline && last_poll.elapsed() >= POLL_EVERY {
                    last_poll = Instant::now();
                    let status = client.get_camera_status(device.to_owned()).await?;
                    if !status.recording.active {
                        bar.finish_and_clear();
                        return out.emit(&status.recording, |_| "recording ended".to_owned());
                    }
                }
            }
            _ = &mut ctrl_c => {
                bar.abandon();
                out.note("interrupted: stopping the recording");
                match client.stop_recording(device.to_owned()).await {
                    Ok(stopped) => out.emit(&stopped, |r| render::fields(out.style, &to_value(r)))?,
                    Err(e) if e.kind() == ErrorKind::InvalidState => {}
                    Err(e) => return Err(e.into()),
                }
                return Err(CliError::Interrupted);
            }
        }
    }
}
