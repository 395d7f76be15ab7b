//! Takes a snapshot and downloads it.
//!
//! ```sh
//! CAMERA_URL=ws://127.0.0.1:8002/ws CAMERA_API_KEY=csk_... cargo run -p camera-sdk --example snapshot -- camera0
//! ```

use camera_sdk::{Client, Credentials, FileKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CAMERA_URL").unwrap_or_else(|_| "ws://127.0.0.1:8002/ws".to_owned());
    let key = std::env::var("CAMERA_API_KEY").map_err(|_| "set CAMERA_API_KEY to an operator key")?;
    let device = std::env::args().nth(1).unwrap_or_else(|| "camera0".to_owned());

    let client = Client::connect(&url, Credentials::from_token(key)).await?;
    let shot = match client
        .take_snapshot(device, None, Some("jpg".to_owned()), Some(90), None, None)
        .await
    {
        Ok(shot) => shot,
        Err(e) => {
            // Server errors carry a stable reason and often a suggestion.
            eprintln!("snapshot failed: {e}");
            if let Some(hint) = e.suggestion() {
                eprintln!("hint: {hint}");
            }
            return Err(e.into());
        }
    };
    println!(
        "{} {} {} bytes at {}",
        shot.filename, shot.resolution, shot.file_size, shot.timestamp
    );

    let outcome = client
        .download(FileKind::Snapshot, &shot.filename, &shot.filename, |p| {
            eprint!("\r{} / {} bytes", p.downloaded, p.total.unwrap_or(0));
        })
        .await?;
    eprintln!();
    println!("saved {} ({} bytes)", outcome.path.display(), outcome.size);
    client.close().await;
    Ok(())
}
