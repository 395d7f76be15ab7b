//! Records for a fixed time and follows the recording through its events.
//!
//! Subscribes to the camera's `recording.*` topics before starting, so the start, progress, segment and
//! stop notifications are all seen, then waits for `recording.stop`.
//!
//! ```sh
//! CAMERA_URL=ws://127.0.0.1:8002/ws CAMERA_API_KEY=csk_... \
//!   cargo run -p camera-sdk --example timed_recording -- camera0 30
//! ```

use camera_sdk::{Client, Credentials, EventPayload};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CAMERA_URL").unwrap_or_else(|_| "ws://127.0.0.1:8002/ws".to_owned());
    let key = std::env::var("CAMERA_API_KEY").map_err(|_| "set CAMERA_API_KEY to an operator key")?;
    let mut args = std::env::args().skip(1);
    let device = args.next().unwrap_or_else(|| "camera0".to_owned());
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(15);

    let client = Client::connect(&url, Credentials::from_token(key)).await?;
    let topics = [
        "recording.start",
        "recording.progress",
        "recording.segment",
        "recording.stop",
        "recording.error",
    ];
    let mut events = client.subscribe(&topics, Some(&device)).await?;

    let started = client.start_recording(device.clone(), Some(seconds), None).await?;
    println!("recording {} until {:?}", started.filename, started.auto_stop_at);

    while let Some(event) = events.next().await {
        match &event.payload {
            EventPayload::RecordingStart(s) => println!("started: {}", s.filename),
            EventPayload::RecordingProgress(p) => println!("{}s, {} bytes", p.elapsed, p.file_size),
            EventPayload::RecordingSegment(s) => println!("new segment {}", s.filename),
            EventPayload::RecordingError(e) => {
                println!("failed: {} ({})", e.message, e.reason);
                break;
            }
            EventPayload::RecordingStop(s) => {
                println!(
                    "stopped ({}): {}s, {} bytes, files {:?}",
                    s.reason, s.duration, s.file_size, s.files
                );
                break;
            }
            _ => {}
        }
    }
    if events.lost() > 0 {
        println!("({} events were lost because this loop fell behind)", events.lost());
    }
    client.close().await;
    Ok(())
}
