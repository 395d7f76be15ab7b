//! The `camera-service` binary: builds the tokio runtime and hands off to [`camera_service::cli::main`]. No logic
//! lives here.

use std::process::ExitCode;

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(camera_service::cli::main()),
        Err(e) => {
            eprintln!("camera-service: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}
