//! The desired state of every MediaMTX path the service manages: one path per camera, named by the camera id.
//!
//! - Virtual (lavfi) and V4L2 cameras: `source: publisher` with an on-demand ffmpeg publisher (`runOnDemand`)
//!   that MediaMTX starts when the first reader arrives and stops `runOnDemandCloseAfter` after the last one
//!   leaves. The command pushes H.264 to `rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH` (MediaMTX fills both in).
//! - Network cameras: `source: <rtsp url>` with `sourceOnDemand: true`, so MediaMTX pulls only while read.
//! - Recording: every path carries `recordPath` = `<storage.recordings_path>/%path_%Y-%m-%d_%H-%M-%S` (MediaMTX
//!   appends `.mp4`, so files are `<device>_<YYYY-MM-DD>_<HH-MM-SS>.mp4`, flat in the recordings directory the
//!   file index watches), `recordFormat: fmp4` and `recordSegmentDuration` = `recording.segment_duration`; the
//!   `record` flag is `true` only while the service records the camera (the reconciler's record set). All
//!   `record*` fields are hot in MediaMTX: changing them never recreates the path or drops its readers.
//!   `recordDeleteAfter` is `0s`: the service's retention policy deletes recordings, never MediaMTX (whose
//!   default would delete them after a day).
//!
//! Invariants: the desired state is a pure function of the camera table and the configuration; it is applied
//! with replace semantics (fields not named here go back to MediaMTX's `pathDefaults`), and it is compared with
//! what MediaMTX reports field by field ([`drift`]) — durations by value (MediaMTX re-serializes `300s` as
//! `5m0s`) and source URLs with their password masked (a read document may redact secrets).

use super::client::{PathConfRead, PathConfWrite};
use crate::cameras::CameraSource;
use crate::cameras::network::redact;
use std::time::Duration;

/// What the path configurations depend on besides the camera source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSettings {
    /// ffmpeg program MediaMTX runs for publishers.
    pub ffmpeg: String,
    /// `runOnDemandStartTimeout` / `sourceOnDemandStartTimeout`.
    pub start_timeout: Duration,
    /// `runOnDemandCloseAfter` / `sourceOnDemandCloseAfter`.
    pub close_after: Duration,
    /// Where MediaMTX writes recordings; `None` leaves the `record*` fields to `pathDefaults`.
    pub recording: Option<RecordSettings>,
}

/// The `record*` fields of every path (API.md §4.3, MediaMTX backend).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSettings {
    /// `recordPath` (see [`record_path`]).
    pub path: String,
    /// `recordSegmentDuration`.
    pub segment_duration: Duration,
}

/// `recordPath` for the recordings directory `dir` (absolute): `<dir>/%path_%Y-%m-%d_%H-%M-%S`. No `%f`: the
/// names must be the contract's `<device>_<YYYY-MM-DD>_<HH-MM-SS>.mp4` (docs/decisions.md).
pub fn record_path(dir: &std::path::Path) -> String {
    format!(
        "{}/%path_%Y-%m-%d_%H-%M-%S",
        dir.display().to_string().trim_end_matches('/')
    )
}

impl Default for PathSettings {
    fn default() -> Self {
        PathSettings {
            ffmpeg: "ffmpeg".into(),
            start_timeout: Duration::from_secs(10),
            close_after: Duration::from_secs(10),
            recording: None,
        }
    }
}

/// The configuration of the path for a camera with `source`. `fps` is the camera's frame rate (0 if unknown);
/// it sets the keyframe interval (one per second, so HLS and WebRTC viewers start fast). `record`: the service
/// is recording this camera.
pub fn path_conf(source: &CameraSource, fps: u32, settings: &PathSettings, record: bool) -> PathConfWrite {
    let mut conf = match source {
        CameraSource::Rtsp { url } => PathConfWrite {
            source: Some(url.clone()),
            source_on_demand: Some(true),
            source_on_demand_start_timeout: Some(go_duration(settings.start_timeout)),
            source_on_demand_close_after: Some(go_duration(settings.close_after)),
            ..PathConfWrite::default()
        },
        CameraSource::Lavfi { .. } | CameraSource::V4l2 { .. } => PathConfWrite {
            source: Some("publisher".into()),
            run_on_demand: Some(publisher_command(source, fps, &settings.ffmpeg)),
            run_on_demand_restart: Some(true),
            run_on_demand_start_timeout: Some(go_duration(settings.start_timeout)),
            run_on_demand_close_after: Some(go_duration(settings.close_after)),
            ..PathConfWrite::default()
        },
    };
    conf.record = Some(record);
    if let Some(rec) = &settings.recording {
        conf.record_path = Some(rec.path.clone());
        conf.record_format = Some("fmp4".into());
        conf.record_segment_duration = Some(go_duration(rec.segment_duration));
        // The service's retention policy decides when recordings go, not MediaMTX (its default deletes after 1d).
        conf.record_delete_after = Some("0s".into());
    }
    conf
}

/// The on-demand publisher: the camera's ffmpeg input (see `media::input_args`), H.264 for low latency, RTSP
/// over TCP into MediaMTX. MediaMTX splits the string like a POSIX shell (go-shellquote) and expands `$VARS`.
pub fn publisher_command(source: &CameraSource, fps: u32, ffmpeg: &str) -> String {
    let gop = match (source, fps) {
        (CameraSource::Lavfi { fps, .. }, _) => (*fps).max(1),
        (_, 0) => 30,
        (_, f) => f,
    };
    let mut args: Vec<String> = vec![
        ffmpeg.to_owned(),
        "-hide_banner".into(),
        "-loglevel".into(),
        "error".into(),
    ];
    args.extend(crate::media::input_args(source, true));
    args.extend(
        [
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
        ]
        .map(str::to_owned),
    );
    args.push(gop.to_string());
    args.extend(["-f", "rtsp", "-rtsp_transport", "tcp"].map(str::to_owned));
    let mut command: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    // Left unquoted on purpose: MediaMTX substitutes these before splitting.
    command.push("rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH".into());
    command.join(" ")
}

/// Quotes `arg` for a POSIX-style split when it has anything but plain characters.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A duration as MediaMTX writes it for whole seconds (`10s`).
pub fn go_duration(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// Parses a Go duration (`10s`, `1m0s`, `1h2m3.5s`, `250ms`) or MediaMTX's whole days (`1d`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// The first field where MediaMTX's configuration differs from the desired one (`None`: in step). Only fields
/// the service sets are compared.
pub fn drift(desired: &PathConfWrite, actual: &PathConfRead) -> Option<&'static str> {
    fn text(d: &Option<String>, a: &Option<String>) -> bool {
        d.is_none() || d.as_deref() == Some(a.as_deref().unwrap_or(""))
    }
    fn flag(d: Option<bool>, a: Option<bool>) -> bool {
        d.is_none() || d == Some(a.unwrap_or(false))
    }
    fn duration(d: &Option<String>, a: &Option<String>) -> bool {
        match d {
            None => true,
            Some(d) => {
                let a = a.as_deref().and_then(parse_go_duration);
                a.is_some() && parse_go_duration(d) == a
            }
        }
    }
    let source_ok = match (&desired.source, &actual.source) {
        (None, _) => true,
        (Some(d), Some(a)) => d == a || redact(d) == redact(a),
        (Some(_), None) => false,
    };
    let checks: [(&'static str, bool); 13] = [
        ("source", source_ok),
        (
            "sourceOnDemand",
            flag(desired.source_on_demand, actual.source_on_demand),
        ),
        (
            "sourceOnDemandStartTimeout",
            duration(
                &desired.source_on_demand_start_timeout,
                &actual.source_on_demand_start_timeout,
            ),
        ),
        (
            "sourceOnDemandCloseAfter",
            duration(
                &desired.source_on_demand_close_after,
                &actual.source_on_demand_close_after,
            ),
        ),
        ("runOnDemand", text(&desired.run_on_demand, &actual.run_on_demand)),
        (
            "runOnDemandRestart",
            flag(desired.run_on_demand_restart, actual.run_on_demand_restart),
        ),
        (
            "runOnDemandStartTimeout",
            duration(
                &desired.run_on_demand_start_timeout,
                &actual.run_on_demand_start_timeout,
            ),
        ),
        (
            "runOnDemandCloseAfter",
            duration(&desired.run_on_demand_close_after, &actual.run_on_demand_close_after),
        ),
        ("record", flag(desired.record, actual.record)),
        ("recordPath", text(&desired.record_path, &actual.record_path)),
        ("recordFormat", text(&desired.record_format, &actual.record_format)),
        (
            "recordSegmentDuration",
            duration(&desired.record_segment_duration, &actual.record_segment_duration),
        ),
        (
            "recordDeleteAfter",
            duration(&desired.record_delete_after, &actual.record_delete_after),
        ),
    ];
    checks.iter().find(|(_, ok)| !ok).map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lavfi() -> CameraSource {
        CameraSource::Lavfi {
            pattern: "testsrc".into(),
            width: 640,
            height: 480,
            fps: 15,
        }
    }

    #[test]
    fn publisher_matches_the_recorded_command() {
        // Fixture 004's runOnDemand, plus nothing else.
        assert_eq!(
            publisher_command(&lavfi(), 0, "ffmpeg"),
            "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=640x480:rate=15 -pix_fmt yuv420p \
             -c:v libx264 -preset ultrafast -tune zerolatency -g 15 -f rtsp -rtsp_transport tcp \
             rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH"
        );
        let v4l2 = CameraSource::V4l2 {
            path: "/dev/video 2".into(),
        };
        let cmd = publisher_command(&v4l2, 0, "/opt/ff mpeg");
        assert!(cmd.starts_with("'/opt/ff mpeg' -hide_banner"), "{cmd}");
        assert!(cmd.contains("-f v4l2 -i '/dev/video 2' "), "{cmd}");
        assert!(cmd.contains(" -g 30 "), "{cmd}");
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("testsrc=size=1x1:rate=5"), "testsrc=size=1x1:rate=5");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("5m0s"), Some(Duration::from_secs(300)));
        assert_eq!(parse_go_duration("1h2m3.5s"), Some(Duration::from_millis(3_723_500)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("banana"), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(go_duration(Duration::from_secs(300)), "300s");
    }

    #[test]
    fn drift_compares_only_owned_fields_by_value() {
        let settings = PathSettings {
            close_after: Duration::from_secs(300),
            ..PathSettings::default()
        };
        let desired = path_conf(&lavfi(), 15, &settings, false);
        let mut actual = PathConfRead {
            name: "camera0".into(),
            source: Some("publisher".into()),
            source_on_demand: Some(false),
            source_on_demand_start_timeout: Some("10s".into()),
            source_on_demand_close_after: Some("10s".into()),
            run_on_demand: desired.run_on_demand.clone(),
            run_on_demand_restart: Some(true),
            run_on_demand_start_timeout: Some("10s".into()),
            run_on_demand_close_after: Some("5m0s".into()),
            record: Some(false),
            ..PathConfRead::default()
        };
        assert_eq!(drift(&desired, &actual), None);
        actual.record = Some(true);
        assert_eq!(drift(&desired, &actual), Some("record"));
        actual.record = Some(false);
        actual.run_on_demand = Some(String::new());
        assert_eq!(drift(&desired, &actual), Some("runOnDemand"));

        let url = "rtsp://user:pw@10.0.0.5:554/live";
        let net = path_conf(&CameraSource::Rtsp { url: url.into() }, 0, &settings, false);
        let read = PathConfRead {
            source: Some("rtsp://user:<redacted>@10.0.0.5:554/live".into()),
            source_on_demand: Some(true),
            source_on_demand_start_timeout: Some("10s".into()),
            source_on_demand_close_after: Some("5m0s".into()),
            ..PathConfRead::default()
        };
        assert_eq!(drift(&net, &read), None, "a redacted password is not drift");
        let other = PathConfRead {
            source: Some("rtsp://user:pw@10.0.0.6:554/live".into()),
            ..read
        };
        assert_eq!(drift(&net, &other), Some("source"));
    }

    #[test]
    fn record_fields_follow_the_settings_and_the_flag() {
        let settings = PathSettings {
            recording: Some(RecordSettings {
                path: record_path(std::path::Path::new("/var/rec/")),
                segment_duration: Duration::from_secs(2),
            }),
            ..PathSettings::default()
        };
        let conf = path_conf(&lavfi(), 15, &settings, true);
        assert_eq!(conf.record, Some(true));
        assert_eq!(conf.record_path.as_deref(), Some("/var/rec/%path_%Y-%m-%d_%H-%M-%S"));
        assert_eq!(conf.record_format.as_deref(), Some("fmp4"));
        assert_eq!(conf.record_segment_duration.as_deref(), Some("2s"));
        assert_eq!(
            conf.record_delete_after.as_deref(),
            Some("0s"),
            "retention is the service's"
        );
        assert_eq!(path_conf(&lavfi(), 15, &settings, false).record, Some(false));
        let bare = path_conf(&lavfi(), 15, &PathSettings::default(), false);
        assert_eq!((bare.record_path, bare.record_segment_duration), (None, None));

        let actual = PathConfRead {
            source: Some("publisher".into()),
            run_on_demand: conf.run_on_demand.clone(),
            run_on_demand_restart: Some(true),
            run_on_demand_start_timeout: Some("10s".into()),
            run_on_demand_close_after: Some("10s".into()),
            record: Some(true),
            record_path: conf.record_path.clone(),
            record_format: Some("fmp4".into()),
            record_segment_duration: Some("2s".into()),
            record_delete_after: Some("0s".into()),
            ..PathConfRead::default()
        };
        assert_eq!(drift(&conf, &actual), None);
        let moved = PathConfRead {
            record_path: Some("/elsewhere/%path".into()),
            ..actual.clone()
        };
        assert_eq!(drift(&conf, &moved), Some("recordPath"));
        let longer = PathConfRead {
            record_segment_duration: Some("1h0m0s".into()),
            ..actual.clone()
        };
        assert_eq!(drift(&conf, &longer), Some("recordSegmentDuration"));
        let pruning = PathConfRead {
            record_delete_after: Some("24h0m0s".into()),
            ..actual
        };
        assert_eq!(drift(&conf, &pruning), Some("recordDeleteAfter"));
    }
}
