//! Downloads a recording or snapshot over HTTP, resuming a partial file.
//!
//! Run it, interrupt it with Ctrl-C, run it again: the second run asks only for the missing bytes.
//!
//! ```sh
//! CAMERA_URL=ws://127.0.0.1:8002/ws CAMERA_API_KEY=csk_... \
//!   cargo run -p camera-sdk --example download -- camera0_2025-01-15_14-30-00.mp4 [DEST]
//! ```

use camera_sdk::{Client, Credentials, FileKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CAMERA_URL").unwrap_or_else(|_| "ws://127.0.0.1:8002/ws".to_owned());
    let key = std::env::var("CAMERA_API_KEY").map_err(|_| "set CAMERA_API_KEY to a viewer key")?;
    let mut args = std::env::args().skip(1);
    let filename = args.next().ok_or("usage: download FILENAME [DEST]")?;
    let dest = args.next().unwrap_or_else(|| filename.clone());
    let kind = FileKind::from_filename(&filename).ok_or("cannot tell the kind from the extension")?;

    let client = Client::connect(&url, Credentials::from_token(key)).await?;
    let mut last_percent = None;
    let outcome = client
        .download(kind, &filename, &dest, |p| {
            if let Some(total) = p.total.filter(|t| *t > 0) {
                let percent = p.downloaded * 100 / total;
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    eprint!("\r{percent:3}% of {total} bytes");
                }
            }
        })
        .await?;
    eprintln!();
    if outcome.transferred == 0 {
        println!("{} was already complete", outcome.path.display());
    } else {
        println!(
            "{}: {} bytes ({} resumed, {} transferred)",
            outcome.path.display(),
            outcome.size,
            outcome.resumed_from,
            outcome.transferred
        );
    }
    client.close().await;
    Ok(())
}
