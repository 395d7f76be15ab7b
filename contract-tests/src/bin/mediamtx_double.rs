//! `mediamtx_double CONFIG.yml`: the MediaMTX test double (`contract_tests::mediamtx_double`) as a program that
//! starts like MediaMTX — the configuration file is its one argument — so managed-mode tests can hand it to
//! camera-service as `mediamtx.managed.binary`.
//!
//! Reads `apiAddress` and `rtspAddress` (`host:port` or `:port`, which means 127.0.0.1 here), serves until
//! SIGTERM or SIGINT, then exits 0. Prints one line `{"mediamtx_double":{"api":…,"rtsp":…,"pid":…}}` on stdout.

use contract_tests::mediamtx_double::{DoubleOptions, MediamtxDouble};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::ExitCode;

fn address(conf: &Value, key: &str, default: &str) -> Result<SocketAddr, String> {
    let text = conf.get(key).and_then(Value::as_str).unwrap_or(default);
    let full = if text.starts_with(':') {
        format!("127.0.0.1{text}")
    } else {
        text.to_owned()
    };
    full.parse().map_err(|e| format!("{key} {text:?}: {e}"))
}

async fn run() -> Result<(), String> {
    let path = std::env::args().nth(1).ok_or("usage: mediamtx_double CONFIG.yml")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let conf: Value = serde_saphyr::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let options = DoubleOptions {
        api_addr: address(&conf, "apiAddress", ":9997")?,
        rtsp_addr: address(&conf, "rtspAddress", ":8554")?,
        ..DoubleOptions::default()
    };
    let double = MediamtxDouble::start_with(options).await;
    println!(
        "{}",
        serde_json::json!({"mediamtx_double": {"api": double.api_url(), "rtsp": double.rtsp_port(),
                                               "pid": std::process::id()}})
    );
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mediamtx_double: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mediamtx_double: {e}");
            ExitCode::FAILURE
        }
    }
}
