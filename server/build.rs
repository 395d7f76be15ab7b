//! Build script of camera-service: records the compiler version and the build time for `get_server_info`
//! (`go_version` / `rust_version`, `build_date`).
//!
//! Emits `RUSTC_VERSION_STRING` (e.g. `rustc 1.95.0 (59807616e 2026-04-14)`) and `BUILD_TIMESTAMP`
//! (`2025-01-15T10:00:00.000Z`; `SOURCE_DATE_EPOCH` wins when set, for reproducible builds). No
//! `rerun-if-changed` is printed, so cargo reruns this script whenever a file of the package changes and the
//! build time follows the last rebuild.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "rustc unknown".to_owned());
    println!("cargo:rustc-env=RUSTC_VERSION_STRING={version}");

    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    println!("cargo:rustc-env=BUILD_TIMESTAMP={}", format_epoch(epoch));
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` for seconds since the Unix epoch (proleptic Gregorian, Hinnant's algorithm).
fn format_epoch(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
