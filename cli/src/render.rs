//! Human output: tables (comfy-table) for lists, a field/value table for single objects, and small
//! formatting helpers. Pure functions from results to text, so they are unit-tested. `--json` output does
//! not come through here: it is the server's result object as is (see `output.rs`).

use camera_sdk::Event;
use camera_sdk::api::types::{
    GetCameraCapabilitiesResult, GetCameraListResult, ListApiKeysResult, ListRecordingsResult, ListSnapshotsResult,
    StreamItem,
};
use comfy_table::presets::{ASCII_FULL_CONDENSED, UTF8_FULL_CONDENSED};
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

/// Table style: box drawing on a terminal, ASCII when piped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Output goes to a terminal.
    pub tty: bool,
}

fn table(style: Style, headers: &[&str]) -> Table {
    let mut t = Table::new();
    if style.tty {
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.load_style(ASCII_FULL_CONDENSED).force_no_tty();
    }
    t.set_header(headers.to_vec());
    t
}

/// `1536` → `1.5 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `3725` → `1h02m05s`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// A JSON scalar as a cell: strings bare, `null` as `-`, arrays joined with `, `.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            items.iter().map(cell).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn flatten(prefix: &str, v: &Value, rows: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, rows);
            }
        }
        Value::Object(_) => rows.push((prefix.to_owned(), "-".to_owned())),
        other => rows.push((prefix.to_owned(), cell(other))),
    }
}

/// Any result object as a FIELD / VALUE table; nested objects become dotted keys.
pub fn fields(style: Style, value: &Value) -> String {
    let mut rows = Vec::new();
    flatten("", value, &mut rows);
    let mut t = table(style, &["FIELD", "VALUE"]);
    for (k, v) in rows {
        t.add_row(vec![k, v]);
    }
    t.to_string()
}

/// `get_camera_list`.
pub fn cameras(style: Style, r: &GetCameraListResult) -> String {
    let mut t = table(style, &["DEVICE", "STATUS", "NAME", "TYPE", "RESOLUTION", "FPS"]);
    for c in &r.cameras {
        t.add_row(vec![
            c.device.clone(),
            c.status.clone(),
            c.name.clone(),
            c.r#type.clone(),
            c.resolution.clone(),
            c.fps.to_string(),
        ]);
    }
    format!("{t}\n{} cameras, {} connected", r.total, r.connected)
}

/// `get_camera_capabilities`: a summary and the mode list.
pub fn capabilities(style: Style, r: &GetCameraCapabilitiesResult) -> String {
    let mut t = table(style, &["FORMAT", "SIZE", "FPS"]);
    for m in &r.modes {
        let fps: Vec<String> = m.fps.iter().map(u32::to_string).collect();
        t.add_row(vec![
            m.format.clone(),
            format!("{}x{}", m.width, m.height),
            fps.join(", "),
        ]);
    }
    format!(
        "{} ({}): formats {}; resolutions {}\n{t}",
        r.device,
        r.validation_status,
        r.formats.join(", "),
        r.resolutions.join(", ")
    )
}

fn page_footer(shown: usize, total: u64, offset: u64) -> String {
    if shown == 0 {
        format!("0 of {total}")
    } else {
        format!("{}-{} of {total}", offset + 1, offset + shown as u64)
    }
}

/// `list_recordings`.
pub fn recordings(style: Style, r: &ListRecordingsResult) -> String {
    let mut t = table(style, &["FILENAME", "DEVICE", "SIZE", "DURATION", "FORMAT", "CREATED"]);
    for f in &r.files {
        let dur = if f.in_progress {
            format!("{} (recording)", duration(f.duration))
        } else {
            duration(f.duration)
        };
        t.add_row(vec![
            f.filename.clone(),
            f.device.clone(),
            bytes(f.file_size),
            dur,
            f.format.clone(),
            f.created_time.clone(),
        ]);
    }
    format!("{t}\n{}", page_footer(r.files.len(), r.total, r.offset))
}

/// `list_snapshots`.
pub fn snapshots(style: Style, r: &ListSnapshotsResult) -> String {
    let mut t = table(style, &["FILENAME", "DEVICE", "SIZE", "FORMAT", "CREATED"]);
    for f in &r.files {
        t.add_row(vec![
            f.filename.clone(),
            f.device.clone(),
            bytes(f.file_size),
            f.format.clone(),
            f.created_time.clone(),
        ]);
    }
    format!("{t}\n{}", page_footer(r.files.len(), r.total, r.offset))
}

/// `list_api_keys`.
pub fn keys(style: Style, r: &ListApiKeysResult) -> String {
    let mut t = table(
        style,
        &[
            "KEY ID",
            "PREFIX",
            "ROLE",
            "STATUS",
            "DESCRIPTION",
            "EXPIRES",
            "LAST USED",
            "USES",
        ],
    );
    for k in &r.keys {
        t.add_row(vec![
            k.key_id.clone(),
            k.key_prefix.clone(),
            k.role.to_string(),
            k.status.clone(),
            k.description.clone(),
            k.expires_at.clone().unwrap_or_else(|| "never".to_owned()),
            k.last_used_at.clone().unwrap_or_else(|| "-".to_owned()),
            k.usage_count.to_string(),
        ]);
    }
    format!("{t}\n{}", page_footer(r.keys.len(), r.total, r.offset))
}

/// `get_streams`.
pub fn streams(style: Style, r: &[StreamItem]) -> String {
    let mut t = table(style, &["NAME", "DEVICE", "SOURCE", "READY", "READERS", "SENT"]);
    for s in r {
        t.add_row(vec![
            s.name.clone(),
            s.device.clone(),
            s.source.clone(),
            if s.ready { "yes" } else { "no" }.to_owned(),
            s.readers.to_string(),
            bytes(s.bytes_sent),
        ]);
    }
    t.to_string()
}

/// One line per event: `timestamp  method  device  other fields`.
pub fn event_line(e: &Event) -> String {
    let mut rest: Vec<String> = Vec::new();
    if let Value::Object(map) = &e.params {
        for (k, v) in map {
            if k != "timestamp" && k != "device" {
                rest.push(format!("{k}={}", cell(v)));
            }
        }
    }
    format!(
        "{}  {:<26} {:<10} {}",
        e.timestamp().unwrap_or("-"),
        e.method,
        e.device().unwrap_or("-"),
        rest.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PLAIN: Style = Style { tty: false };

    #[test]
    fn sizes_and_durations() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1_073_741_824), "1.0 GiB");
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(65), "1m05s");
        assert_eq!(duration(3725), "1h02m05s");
    }

    #[test]
    fn fields_flatten_nested_objects() {
        let text = fields(
            PLAIN,
            &json!({"status":"HEALTHY","components":{"storage":"RUNNING"},"list":["a","b"],"none":null}),
        );
        assert!(text.contains("components.storage"), "{text}");
        assert!(text.contains("RUNNING"));
        assert!(text.contains("a, b"));
        assert!(text.contains("| none"), "{text}");
    }

    #[test]
    fn camera_table_has_a_row_per_camera_and_totals() {
        let r: GetCameraListResult = serde_json::from_value(json!({"cameras":[
            {"device":"camera0","status":"CONNECTED","name":"Test","resolution":"320x240","fps":10,"streams":{},"type":"virtual"},
            {"device":"camera1","status":"DISCONNECTED","name":"USB","resolution":"","fps":0,"streams":{},"type":"v4l2"}],
            "total":2,"connected":1}))
        .unwrap_or_else(|e| panic!("{e}"));
        let text = cameras(PLAIN, &r);
        assert!(text.contains("| camera0 | CONNECTED"), "{text}");
        assert!(text.contains("camera1"));
        assert!(text.ends_with("2 cameras, 1 connected"));
    }

    #[test]
    fn recording_list_shows_sizes_progress_and_page() {
        let r: ListRecordingsResult = serde_json::from_value(json!({"files":[
            {"filename":"camera0_2025-01-15_14-30-00.mp4","file_size":1048576,"created_time":"2025-01-15T14:30:00.000Z",
             "modified_time":"2025-01-15T14:31:00.000Z","duration":60,"format":"fmp4","device":"camera0","in_progress":true,
             "download_url":"/files/recordings/camera0_2025-01-15_14-30-00.mp4"}],"total":25,"limit":1,"offset":10}))
        .unwrap_or_else(|e| panic!("{e}"));
        let text = recordings(PLAIN, &r);
        assert!(text.contains("1.0 MiB"), "{text}");
        assert!(text.contains("1m00s (recording)"));
        assert!(text.ends_with("11-11 of 25"));
        let empty: ListSnapshotsResult = serde_json::from_value(json!({"files":[],"total":0,"limit":50,"offset":0}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(snapshots(PLAIN, &empty).ends_with("0 of 0"));
    }

    #[test]
    fn event_lines_lead_with_time_topic_and_device() {
        let e = Event::new(
            "snapshot.taken",
            json!({"device":"camera0","filename":"a.jpg","file_size":10,"format":"jpg","resolution":"320x240",
                   "timestamp":"2025-01-15T14:30:00.123Z"}),
        );
        let line = event_line(&e);
        assert!(line.starts_with("2025-01-15T14:30:00.123Z  snapshot.taken"), "{line}");
        assert!(line.contains("camera0"));
        assert!(line.contains("filename=a.jpg"));
        assert!(!line.contains("timestamp="));
    }
}
