//! Progress bars on stderr (indicatif): bytes for downloads, seconds for timed recordings. Hidden with
//! `--json` and, by indicatif itself, when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    match ProgressStyle::with_template(template) {
        Ok(style) => bar.with_style(style.progress_chars("=> ")),
        Err(_) => bar,
    }
}

/// A byte-count bar for a download of `name`; the length is set once known.
pub fn download(hidden: bool, name: &str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = styled(
        ProgressBar::no_length(),
        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    );
    bar.set_message(name.to_owned());
    bar
}

/// A seconds bar for a recording of `secs` seconds, ticking on its own.
pub fn recording(hidden: bool, device: &str, secs: u64) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = styled(
        ProgressBar::new(secs),
        "{spinner} recording {msg} [{bar:30}] {pos}/{len}s (elapsed {elapsed})",
    );
    bar.set_message(device.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
