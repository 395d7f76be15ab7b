//! Facts of the wire contract (API.md) that many tests check: the exact error messages of §2.1, the error
//! `data` shape of §2.2, the timestamp format of §4.0 and the credential formats of §3.1 / §4.10.
//!
//! These are written from the document, deliberately not imported from the server's own crates, so a mistake in
//! the shared contract crate cannot hide itself.

use serde_json::Value;

/// The exact `error.message` for each JSON-RPC code (API.md §2.1).
pub fn error_message(code: i64) -> &'static str {
    match code {
        -32700 => "Parse error",
        -32600 => "Invalid Request",
        -32601 => "Method not found",
        -32602 => "Invalid params",
        -32603 => "Internal server error",
        -32001 => "Authentication failed or token expired",
        -32002 => "Permission denied",
        -32010 => "Not found",
        -32020 => "Invalid state",
        -32030 => "Unsupported",
        -32040 => "Rate limited",
        -32050 => "Dependency failed",
        -32060 => "Insufficient storage",
        other => panic!("code {other} is not in API.md §2.1"),
    }
}

/// Asserts that `resp` is a JSON-RPC error response with `code`, the exact §2.1 message and `data.reason ==
/// reason`; returns `error.data`.
#[track_caller]
pub fn assert_error(resp: &Value, code: i64, reason: &str) -> Value {
    assert_eq!(
        resp.get("jsonrpc"),
        Some(&Value::from("2.0")),
        "jsonrpc member in {resp}"
    );
    assert!(
        resp.get("result").is_none(),
        "expected error {code}/{reason}, got a result: {resp}"
    );
    let error = resp
        .get("error")
        .unwrap_or_else(|| panic!("expected error {code}/{reason}, got {resp}"));
    assert_eq!(
        error.get("code").and_then(Value::as_i64),
        Some(code),
        "error code (want reason {reason}) in {resp}"
    );
    assert_eq!(
        error.get("message").and_then(Value::as_str),
        Some(error_message(code)),
        "exact message in {resp}"
    );
    let data = error
        .get("data")
        .unwrap_or_else(|| panic!("error.data missing in {resp}"));
    assert!(data.is_object(), "error.data must be an object: {resp}");
    assert_eq!(
        data.get("reason").and_then(Value::as_str),
        Some(reason),
        "data.reason in {resp}"
    );
    data.clone()
}

/// Asserts a successful response (a `result` member, no `error`) and returns the result.
#[track_caller]
pub fn assert_not_error(resp: &Value) -> Value {
    assert_eq!(
        resp.get("jsonrpc"),
        Some(&Value::from("2.0")),
        "jsonrpc member in {resp}"
    );
    assert!(resp.get("error").is_none(), "expected a result, got an error: {resp}");
    resp.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("response without result: {resp}"))
}

/// The error code of a response, if it is an error.
pub fn error_code(resp: &Value) -> Option<i64> {
    resp.get("error")?.get("code")?.as_i64()
}

/// The `data.reason` of an error response.
pub fn error_reason(resp: &Value) -> Option<&str> {
    resp.get("error")?.get("data")?.get("reason")?.as_str()
}

/// True when `s` is an RFC 3339 UTC timestamp with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ` (API.md §4.0).
pub fn is_rfc3339_ms(s: &str) -> bool {
    parse_ts_millis(s).is_some()
}

/// Parses `YYYY-MM-DDTHH:MM:SS.mmmZ` into milliseconds since the Unix epoch.
pub fn parse_ts_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24 {
        return None;
    }
    let layout = b"dddd-dd-ddTdd:dd:dd.dddZ";
    for (c, l) in b.iter().zip(layout) {
        let ok = if *l == b'd' { c.is_ascii_digit() } else { c == l };
        if !ok {
            return None;
        }
    }
    let num = |from: usize, to: usize| s[from..to].parse::<i64>().ok();
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some((((days * 24 + h) * 60 + mi) * 60 + sec) * 1000 + ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// True for a lower-case or upper-case UUID v4 string.
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    b[14] == b'4' && matches!(b[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
}

/// `^csk_[A-Za-z0-9_-]{43}$` (API.md §3.1).
pub fn is_api_key(s: &str) -> bool {
    s.len() == 47
        && s.starts_with("csk_")
        && s[4..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// `^k_[0-9a-f]{12}$` (API.md §4.10).
pub fn is_key_id(s: &str) -> bool {
    s.len() == 14 && s.starts_with("k_") && s[2..].bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Every method of the permission matrix (API.md §3.5): name, minimum role (`None` = no authentication),
/// readiness-gated, WebSocket-only.
pub const METHODS: &[(&str, Option<&str>, bool, bool)] = &[
    ("ping", None, false, false),
    ("authenticate", None, false, false),
    ("rpc.discover", None, false, false),
    ("get_camera_list", Some("viewer"), true, false),
    ("get_camera_status", Some("viewer"), true, false),
    ("get_camera_capabilities", Some("viewer"), true, false),
    ("take_snapshot", Some("operator"), true, false),
    ("start_recording", Some("operator"), true, false),
    ("stop_recording", Some("operator"), true, false),
    ("list_recordings", Some("viewer"), false, false),
    ("list_snapshots", Some("viewer"), false, false),
    ("get_recording_info", Some("viewer"), false, false),
    ("get_snapshot_info", Some("viewer"), false, false),
    ("delete_recording", Some("operator"), false, false),
    ("delete_snapshot", Some("operator"), false, false),
    ("issue_token", Some("viewer"), false, false),
    ("get_download_url", Some("viewer"), false, false),
    ("create_api_key", Some("admin"), false, false),
    ("list_api_keys", Some("admin"), false, false),
    ("revoke_api_key", Some("admin"), false, false),
    ("rotate_api_key", Some("admin"), false, false),
    ("get_stream_url", Some("viewer"), true, false),
    ("get_stream_status", Some("viewer"), true, false),
    ("get_streams", Some("viewer"), true, false),
    ("start_streaming", Some("operator"), true, false),
    ("stop_streaming", Some("operator"), true, false),
    ("get_storage_info", Some("admin"), false, false),
    ("set_retention_policy", Some("admin"), false, false),
    ("cleanup_old_files", Some("admin"), false, false),
    ("get_status", Some("admin"), false, false),
    ("get_system_status", Some("viewer"), false, false),
    ("get_server_info", Some("viewer"), false, false),
    ("get_metrics", Some("admin"), false, false),
    ("subscribe_events", Some("viewer"), false, true),
    ("unsubscribe_events", Some("viewer"), false, true),
    ("get_subscription_stats", Some("viewer"), false, true),
    ("discover_external_streams", Some("operator"), true, false),
    ("add_external_stream", Some("operator"), true, false),
    ("remove_external_stream", Some("operator"), true, false),
    ("get_external_streams", Some("viewer"), false, false),
    ("set_discovery_interval", Some("admin"), false, false),
];

/// Params for probing a method's access rules without side effects: `{}` (every method with required params
/// then fails validation, after the auth and role checks), except `discover_external_streams`, whose params are
/// all optional: it gets an ill-typed one so it can never start a network scan.
pub fn probe_params(method: &str) -> Value {
    match method {
        "discover_external_streams" => serde_json::json!({"skydio_enabled": "not-a-bool"}),
        _ => serde_json::json!({}),
    }
}

/// Roles lowest first (API.md §3.4).
pub const ROLES: [&str; 3] = ["viewer", "operator", "admin"];

/// Position of a role in the order viewer < operator < admin.
pub fn role_rank(role: &str) -> usize {
    ROLES
        .iter()
        .position(|r| *r == role)
        .unwrap_or_else(|| panic!("unknown role {role}"))
}

/// `permissions` of a role (API.md §3.4).
pub fn permissions(role: &str) -> Value {
    match role {
        "viewer" => serde_json::json!(["view"]),
        "operator" => serde_json::json!(["view", "control"]),
        "admin" => serde_json::json!(["view", "control", "admin"]),
        other => panic!("unknown role {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse() {
        assert_eq!(parse_ts_millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(parse_ts_millis("2025-01-15T14:30:00.123Z"), Some(1_736_951_400_123));
        assert!(!is_rfc3339_ms("2025-01-15T14:30:00Z"));
        assert!(!is_rfc3339_ms("2025-01-15T14:30:00.000+00:00"));
    }

    #[test]
    fn formats() {
        assert!(is_uuid_v4("0f6c6f0e-5a7b-4f52-9a57-3c1f7a2d9e10"));
        assert!(!is_uuid_v4("0f6c6f0e-5a7b-1f52-9a57-3c1f7a2d9e10"));
        assert!(is_api_key("csk_gTztbOGw2cc-XUz-e-ID_labiSNU1KdrMg1LeNYsisI"));
        assert!(is_key_id("k_3fa85f6457b2"));
        assert!(!is_key_id("k_3FA85F6457B2"));
    }
}
