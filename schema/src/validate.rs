//! Param validation against the method table (API.md §1.3, §4.0 and the per-method tables): turns the raw
//! `params` member into a normalised object or a precise -32602 reason with `data.param`.

use serde_json::{Map, Number, Value};

use crate::error::{ErrorCode, ErrorData, ErrorObject, reason};
use crate::methods::{MethodSpec, ParamKind, ParamSpec, StrFormat};
use crate::timestamp::parse_rfc3339;
use crate::topics::valid_topic_names;

/// A -32602 validation failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// Reason tag of §2.3 (-32602 row).
    pub reason: &'static str,
    /// Offending param, dotted for nested keys (`filters.device`); `None` for `params_must_be_object`.
    pub param: Option<String>,
    /// Human-readable explanation.
    pub details: String,
    /// Allowed values, for enums (`invalid_value`).
    pub allowed: Option<Vec<String>>,
    /// Canonical and legacy topic names, for `invalid_topic`.
    pub valid_topics: Option<Vec<String>>,
}

impl ParamError {
    fn new(reason: &'static str, param: &str, details: impl Into<String>) -> ParamError {
        ParamError {
            reason,
            param: Some(param.to_owned()),
            details: details.into(),
            allowed: None,
            valid_topics: None,
        }
    }

    /// The wire error object (-32602 `Invalid params`) with `reason`, `details`, `param`, `allowed` and
    /// `valid_topics` as applicable.
    pub fn to_error_object(&self) -> ErrorObject {
        let mut data = ErrorData::new(self.reason).details(self.details.clone());
        if let Some(p) = &self.param {
            data = data.with("param", p.clone());
        }
        if let Some(a) = &self.allowed {
            data = data.with("allowed", a.clone());
        }
        if let Some(t) = &self.valid_topics {
            data = data.with("valid_topics", t.clone());
        }
        ErrorObject::new(ErrorCode::InvalidParams, data)
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.details)
    }
}

impl std::error::Error for ParamError {}

impl From<ParamError> for ErrorObject {
    fn from(e: ParamError) -> ErrorObject {
        e.to_error_object()
    }
}

/// Validates `params` (the raw member; `None` when absent, JSON `null` treated as absent) against `spec`.
///
/// - array or scalar → `params_must_be_object` (`param` is `None`);
/// - unknown keys → `unknown_param` (ignored and dropped for `ping` / `rpc.discover`);
/// - missing required key (or required key set to `null`) → `missing_param`;
/// - optional key set to `null` → treated as omitted and dropped from the output;
/// - wrong JSON type → `invalid_type`; then range, length and format rules of [`ParamKind`];
/// - cross-field rules: `take_snapshot` filename extension vs `format`, `subscribe_events`
///   `filters.timestamp_after` < `filters.timestamp_before` (both `conflicting_params`), and
///   `set_discovery_interval.scan_interval` 1..9 (`out_of_range`).
///
/// Returns the normalised object: integral floats rewritten as integers; enum values and topic aliases are
/// left as given.
pub fn validate_params(spec: &MethodSpec, params: Option<&Value>) -> Result<Map<String, Value>, ParamError> {
    let empty = Map::new();
    let obj = match params {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(ParamError {
                reason: reason::PARAMS_MUST_BE_OBJECT,
                param: None,
                details: format!("params must be an object, got {}", type_name(other)),
                allowed: None,
                valid_topics: None,
            });
        }
    };
    let out = validate_object(spec.params, obj, "", spec.ignores_unknown_params)?;
    cross_checks(spec.name, &out)?;
    Ok(out)
}

fn validate_object(
    specs: &[ParamSpec],
    obj: &Map<String, Value>,
    prefix: &str,
    ignore_unknown: bool,
) -> Result<Map<String, Value>, ParamError> {
    if !ignore_unknown && let Some(key) = obj.keys().find(|k| !specs.iter().any(|p| p.name == *k)) {
        let name = format!("{prefix}{key}");
        let known: Vec<_> = specs.iter().map(|p| p.name).collect();
        let details = if known.is_empty() {
            format!("unknown param '{name}': this method takes no params")
        } else {
            format!(
                "unknown param '{name}'; accepted: {}",
                known
                    .iter()
                    .map(|k| format!("{prefix}{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(ParamError::new(reason::UNKNOWN_PARAM, &name, details));
    }
    let mut out = Map::new();
    for p in specs {
        let name = format!("{prefix}{}", p.name);
        match obj.get(p.name) {
            None | Some(Value::Null) if p.required => {
                return Err(ParamError::new(
                    reason::MISSING_PARAM,
                    &name,
                    format!("missing required param '{name}'"),
                ));
            }
            None | Some(Value::Null) => {}
            Some(v) => {
                let normalised = validate_value(&p.kind, v, &name)?;
                out.insert(p.name.to_owned(), normalised);
            }
        }
    }
    Ok(out)
}

fn validate_value(kind: &ParamKind, v: &Value, name: &str) -> Result<Value, ParamError> {
    match *kind {
        ParamKind::Int { min, max } => {
            let n = match v {
                Value::Number(n) => n,
                other => return Err(wrong_type(name, "an integer", other)),
            };
            let as_int: Option<i128> = if let Some(i) = n.as_i64() {
                Some(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(i128::from(u))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 => {
                        if f.abs() < 1e30 {
                            // Exact: an integral f64 below 1e30 fits i128 without rounding.
                            Some(f as i128)
                        } else {
                            None
                        }
                    }
                    _ => return Err(wrong_type(name, "an integer", v)),
                }
            };
            match as_int {
                Some(i) if i >= i128::from(min) && i <= i128::from(max) => {
                    // In range of i64 by construction.
                    Ok(Value::Number(Number::from(i as i64)))
                }
                _ => Err(ParamError::new(
                    reason::OUT_OF_RANGE,
                    name,
                    if max == i64::MAX {
                        format!("'{name}' must be at least {min}")
                    } else {
                        format!("'{name}' must be between {min} and {max}")
                    },
                )),
            }
        }
        ParamKind::Number {
            min,
            max,
            min_exclusive,
        } => {
            let f = match v {
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                other => return Err(wrong_type(name, "a number", other)),
            };
            let above_min = if min_exclusive { f > min } else { f >= min };
            if above_min && f <= max {
                Ok(v.clone())
            } else {
                let lower = if min_exclusive {
                    format!("greater than {min}")
                } else {
                    format!("at least {min}")
                };
                Err(ParamError::new(
                    reason::OUT_OF_RANGE,
                    name,
                    format!("'{name}' must be {lower} and at most {max}"),
                ))
            }
        }
        ParamKind::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            other => Err(wrong_type(name, "a boolean", other)),
        },
        ParamKind::Str {
            min_len,
            max_len,
            format,
        } => {
            let s = match v {
                Value::String(s) => s,
                other => return Err(wrong_type(name, "a string", other)),
            };
            check_str(s, min_len, max_len, format, name)?;
            Ok(v.clone())
        }
        ParamKind::Enum(values) => {
            let s = match v {
                Value::String(s) => s,
                other => return Err(wrong_type(name, "a string", other)),
            };
            if values.contains(&s.as_str()) {
                Ok(v.clone())
            } else {
                let mut e = ParamError::new(
                    reason::INVALID_VALUE,
                    name,
                    format!("'{name}' must be one of {}; got {:?}", values.join(", "), truncate(s)),
                );
                e.allowed = Some(values.iter().map(|s| (*s).to_owned()).collect());
                Err(e)
            }
        }
        ParamKind::StrList {
            min_items,
            max_items,
            item,
        } => {
            let items = match v {
                Value::Array(a) => a,
                other => return Err(wrong_type(name, "an array of strings", other)),
            };
            if items.len() < min_items || items.len() > max_items {
                return Err(ParamError::new(
                    reason::INVALID_VALUE,
                    name,
                    format!(
                        "'{name}' must have {min_items}..{max_items} entries, got {}",
                        items.len()
                    ),
                ));
            }
            for (i, it) in items.iter().enumerate() {
                let s = match it {
                    Value::String(s) => s,
                    other => {
                        let mut e = wrong_type(name, "an array of strings", other);
                        e.details = format!("'{name}[{i}]' must be a string, got {}", type_name(other));
                        return Err(e);
                    }
                };
                check_str(s, 0, usize::MAX, item, name)?;
            }
            Ok(v.clone())
        }
        ParamKind::Object(fields) => match v {
            Value::Object(o) => Ok(Value::Object(validate_object(fields, o, &format!("{name}."), false)?)),
            other => Err(wrong_type(name, "an object", other)),
        },
    }
}

fn check_str(s: &str, min_len: usize, max_len: usize, format: StrFormat, name: &str) -> Result<(), ParamError> {
    if !format.bounds_length() {
        let len = s.chars().count();
        if len > max_len {
            return Err(ParamError::new(
                reason::TOO_LONG,
                name,
                format!("'{name}' is {len} characters long; at most {max_len} allowed"),
            ));
        }
        if len < min_len {
            return Err(ParamError::new(
                reason::INVALID_VALUE,
                name,
                format!("'{name}' must have at least {min_len} characters"),
            ));
        }
    }
    if format.check(s) {
        return Ok(());
    }
    let shown = truncate(s);
    let mut e = ParamError::new(
        format.reason(),
        name,
        match format {
            StrFormat::CameraId => {
                format!("'{name}': {shown:?} is not a camera id (^[a-z0-9_]{{1,64}}$)")
            }
            StrFormat::Filename => {
                format!("'{name}': {shown:?} is not a valid file name (^[A-Za-z0-9][A-Za-z0-9._-]{{0,254}}$, no '..')")
            }
            StrFormat::RtspUrl => {
                format!("'{name}': {shown:?} is not an rtsp:// or rtsps:// URL with a host and no whitespace")
            }
            StrFormat::Timestamp => {
                format!("'{name}': {shown:?} is not an RFC 3339 timestamp with an offset")
            }
            StrFormat::KeyId => format!("'{name}': {shown:?} is not a key id (^k_[0-9a-f]{{12}}$)"),
            StrFormat::Topic => format!("'{name}': unknown topic {shown:?}"),
            StrFormat::Printable => format!("'{name}' must not contain control characters"),
            StrFormat::Any => format!("'{name}' is invalid"),
        },
    );
    if format == StrFormat::Topic {
        e.valid_topics = Some(valid_topic_names().into_iter().map(str::to_owned).collect());
    }
    Err(e)
}

fn cross_checks(method: &str, p: &Map<String, Value>) -> Result<(), ParamError> {
    match method {
        "take_snapshot" => {
            let ext_format = p
                .get("filename")
                .and_then(Value::as_str)
                .and_then(|f| f.rsplit_once('.'))
                .and_then(|(_, ext)| match ext {
                    "jpg" | "jpeg" => Some("jpg"),
                    "png" => Some("png"),
                    _ => None,
                });
            let format = p.get("format").and_then(Value::as_str).map(|f| match f {
                "jpeg" => "jpg",
                other => other,
            });
            if let (Some(ext), Some(format)) = (ext_format, format)
                && ext != format
            {
                return Err(ParamError::new(
                    reason::CONFLICTING_PARAMS,
                    "format",
                    format!("'filename' has a .{ext} extension but 'format' is {format}"),
                ));
            }
        }
        "subscribe_events" => {
            let filters = p.get("filters").and_then(Value::as_object);
            let ts = |k: &str| {
                filters
                    .and_then(|f| f.get(k))
                    .and_then(Value::as_str)
                    .and_then(parse_rfc3339)
            };
            if let (Some(after), Some(before)) = (ts("timestamp_after"), ts("timestamp_before"))
                && after >= before
            {
                return Err(ParamError::new(
                    reason::CONFLICTING_PARAMS,
                    "filters.timestamp_before",
                    "'filters.timestamp_after' must be earlier than 'filters.timestamp_before'",
                ));
            }
        }
        "set_discovery_interval" => {
            if let Some(n) = p.get("scan_interval").and_then(Value::as_i64)
                && (1..10).contains(&n)
            {
                return Err(ParamError::new(
                    reason::OUT_OF_RANGE,
                    "scan_interval",
                    "'scan_interval' must be 0 (on demand only) or between 10 and 86400",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> ParamError {
    let got = match got {
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() != 0.0) => "a fractional number",
        other => type_name(other),
    };
    ParamError::new(
        reason::INVALID_TYPE,
        name,
        format!("'{name}' must be {expected}, got {got}"),
    )
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most 64 characters of a value, for error details.
fn truncate(s: &str) -> String {
    if s.chars().count() > 64 {
        let mut t: String = s.chars().take(64).collect();
        t.push('…');
        t
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::method;
    use serde_json::json;

    fn check(name: &str, params: Value) -> Result<Map<String, Value>, ParamError> {
        let spec = method(name).ok_or_else(|| ParamError::new("no_such_method", name, ""))?;
        validate_params(spec, Some(&params))
    }

    fn fails(name: &str, params: Value) -> ParamError {
        match check(name, params.clone()) {
            Ok(ok) => panic!("{name} {params} unexpectedly accepted: {ok:?}"),
            Err(e) => e,
        }
    }

    fn assert_reason(name: &str, params: Value, reason: &str, param: Option<&str>) {
        let e = fails(name, params.clone());
        assert_eq!(e.reason, reason, "{name} {params}: {e:?}");
        assert_eq!(e.param.as_deref(), param, "{name} {params}: {e:?}");
    }

    #[test]
    fn absent_and_null_params() {
        let spec = method("get_camera_list").expect("method");
        assert_eq!(validate_params(spec, None), Ok(Map::new()));
        assert_eq!(validate_params(spec, Some(&Value::Null)), Ok(Map::new()));
        assert_eq!(check("get_camera_list", json!({})), Ok(Map::new()));
    }

    #[test]
    fn params_must_be_object() {
        for bad in [json!([]), json!(["camera0"]), json!(1), json!("x"), json!(true)] {
            assert_reason("get_camera_status", bad, reason::PARAMS_MUST_BE_OBJECT, None);
        }
        // Applies to methods that ignore unknown keys too.
        assert_reason("ping", json!([1]), reason::PARAMS_MUST_BE_OBJECT, None);
    }

    #[test]
    fn unknown_param() {
        assert_reason("get_camera_list", json!({"x": 1}), reason::UNKNOWN_PARAM, Some("x"));
        assert_reason(
            "get_camera_status",
            json!({"device": "camera0", "devcie": "x"}),
            reason::UNKNOWN_PARAM,
            Some("devcie"),
        );
        assert_eq!(check("ping", json!({"anything": [1, 2]})), Ok(Map::new()));
        assert_eq!(check("rpc.discover", json!({"x": null})), Ok(Map::new()));
    }

    #[test]
    fn missing_param() {
        assert_reason("get_camera_status", json!({}), reason::MISSING_PARAM, Some("device"));
        assert_reason(
            "get_camera_status",
            json!({"device": null}),
            reason::MISSING_PARAM,
            Some("device"),
        );
        assert_reason(
            "set_retention_policy",
            json!({"policy_type": "age"}),
            reason::MISSING_PARAM,
            Some("enabled"),
        );
    }

    #[test]
    fn null_optional_is_omitted() {
        let out = check(
            "start_recording",
            json!({"device": "camera0", "duration": null, "format": null}),
        );
        assert_eq!(out, Ok(json_map(json!({"device": "camera0"}))));
        assert_eq!(check("unsubscribe_events", json!({"topics": null})), Ok(Map::new()));
    }

    #[test]
    fn invalid_type() {
        assert_reason(
            "start_recording",
            json!({"device": "camera0", "duration": "60"}),
            reason::INVALID_TYPE,
            Some("duration"),
        );
        assert_reason(
            "start_recording",
            json!({"device": "camera0", "duration": 60.5}),
            reason::INVALID_TYPE,
            Some("duration"),
        );
        assert_reason(
            "start_recording",
            json!({"device": "camera0", "duration": true}),
            reason::INVALID_TYPE,
            Some("duration"),
        );
        assert_reason(
            "get_camera_status",
            json!({"device": 0}),
            reason::INVALID_TYPE,
            Some("device"),
        );
        assert_reason(
            "cleanup_old_files",
            json!({"force": "true"}),
            reason::INVALID_TYPE,
            Some("force"),
        );
        assert_reason(
            "cleanup_old_files",
            json!({"dry_run": 1}),
            reason::INVALID_TYPE,
            Some("dry_run"),
        );
        assert_reason(
            "set_retention_policy",
            json!({"policy_type": "size", "enabled": true, "max_size_gb": "1"}),
            reason::INVALID_TYPE,
            Some("max_size_gb"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": "camera.connected"}),
            reason::INVALID_TYPE,
            Some("topics"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": ["camera.connected", 3]}),
            reason::INVALID_TYPE,
            Some("topics"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "filters": "camera0"}),
            reason::INVALID_TYPE,
            Some("filters"),
        );
        assert_reason("issue_token", json!({"role": 1}), reason::INVALID_TYPE, Some("role"));
    }

    #[test]
    fn integral_floats_are_normalised() {
        let out = check("start_recording", json!({"device": "camera0", "duration": 60.0}));
        assert_eq!(out, Ok(json_map(json!({"device": "camera0", "duration": 60}))));
        let out = check("list_recordings", json!({"limit": 1e3, "offset": 0.0}));
        let out = out.expect("accepted");
        assert_eq!(out.get("limit").and_then(Value::as_i64), Some(1000));
        assert!(out.get("limit").is_some_and(Value::is_i64));
        assert!(out.get("offset").is_some_and(Value::is_i64));
    }

    #[test]
    fn out_of_range() {
        assert_reason(
            "start_recording",
            json!({"device": "camera0", "duration": 0}),
            reason::OUT_OF_RANGE,
            Some("duration"),
        );
        assert_reason(
            "start_recording",
            json!({"device": "camera0", "duration": 86401}),
            reason::OUT_OF_RANGE,
            Some("duration"),
        );
        assert_reason(
            "list_recordings",
            json!({"offset": -1}),
            reason::OUT_OF_RANGE,
            Some("offset"),
        );
        assert_reason(
            "list_recordings",
            json!({"limit": 18_446_744_073_709_551_615u64}),
            reason::OUT_OF_RANGE,
            Some("limit"),
        );
        assert_reason(
            "list_recordings",
            json!({"limit": 1e300}),
            reason::OUT_OF_RANGE,
            Some("limit"),
        );
        assert!(check("list_recordings", json!({"offset": 18_446_744_073_709_551_615u64})).is_err());
        assert_reason(
            "set_retention_policy",
            json!({"policy_type": "size", "enabled": true, "max_size_gb": 0}),
            reason::OUT_OF_RANGE,
            Some("max_size_gb"),
        );
        assert!(
            check(
                "set_retention_policy",
                json!({"policy_type": "size", "enabled": true, "max_size_gb": 0.5, "min_free_percent": 0})
            )
            .is_ok()
        );
        assert_reason(
            "set_retention_policy",
            json!({"policy_type": "manual", "enabled": false, "min_free_percent": 50.1}),
            reason::OUT_OF_RANGE,
            Some("min_free_percent"),
        );
        assert!(check("set_discovery_interval", json!({"scan_interval": 0})).is_ok());
        assert!(check("set_discovery_interval", json!({"scan_interval": 10})).is_ok());
        assert_reason(
            "set_discovery_interval",
            json!({"scan_interval": 5}),
            reason::OUT_OF_RANGE,
            Some("scan_interval"),
        );
    }

    #[test]
    fn invalid_value_and_allowed() {
        let e = fails("start_recording", json!({"device": "camera0", "format": "avi"}));
        assert_eq!(e.reason, reason::INVALID_VALUE);
        assert_eq!(e.param.as_deref(), Some("format"));
        assert_eq!(
            e.allowed,
            Some(vec!["fmp4".to_owned(), "mp4".to_owned(), "mkv".to_owned()])
        );
        let obj = serde_json::to_value(e.to_error_object()).expect("serialises");
        assert_eq!(obj["code"], json!(-32602));
        assert_eq!(obj["message"], json!("Invalid params"));
        assert_eq!(obj["data"]["allowed"], json!(["fmp4", "mp4", "mkv"]));
        assert_eq!(obj["data"]["param"], json!("format"));
        assert_reason(
            "authenticate",
            json!({"auth_token": ""}),
            reason::INVALID_VALUE,
            Some("auth_token"),
        );
        assert_reason(
            "revoke_api_key",
            json!({"key_id": "k_XYZ"}),
            reason::INVALID_VALUE,
            Some("key_id"),
        );
        assert_reason(
            "add_external_stream",
            json!({"stream_url": "rtsp://h/x", "stream_name": "a\u{7}b"}),
            reason::INVALID_VALUE,
            Some("stream_name"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": []}),
            reason::INVALID_VALUE,
            Some("topics"),
        );
        let many: Vec<_> = (0..65).map(|_| "camera.connected").collect();
        assert_reason(
            "subscribe_events",
            json!({ "topics": many }),
            reason::INVALID_VALUE,
            Some("topics"),
        );
    }

    #[test]
    fn too_long() {
        let long = "a".repeat(8193);
        assert_reason(
            "authenticate",
            json!({ "auth_token": long }),
            reason::TOO_LONG,
            Some("auth_token"),
        );
        assert!(check("authenticate", json!({"auth_token": "a".repeat(8192)})).is_ok());
        // Length in characters, not bytes.
        assert!(
            check(
                "create_api_key",
                json!({"role": "viewer", "description": "é".repeat(256)})
            )
            .is_ok()
        );
        assert_reason(
            "create_api_key",
            json!({"role": "viewer", "description": "é".repeat(257)}),
            reason::TOO_LONG,
            Some("description"),
        );
        let url = format!("rtsp://h/{}", "x".repeat(2048));
        assert_reason(
            "add_external_stream",
            json!({"stream_url": url, "stream_name": "n"}),
            reason::TOO_LONG,
            Some("stream_url"),
        );
    }

    #[test]
    fn invalid_device() {
        for bad in ["Camera0", "", "cam-0", "/dev/video0", &"a".repeat(65)] {
            assert_reason(
                "get_camera_status",
                json!({ "device": bad }),
                reason::INVALID_DEVICE,
                Some("device"),
            );
        }
        assert!(check("get_camera_status", json!({"device": "front_door"})).is_ok());
        assert_reason(
            "list_snapshots",
            json!({"device": "X"}),
            reason::INVALID_DEVICE,
            Some("device"),
        );
    }

    #[test]
    fn invalid_filename() {
        for bad in ["../etc/passwd", "a/b.mp4", ".mp4", "a..b", "a b", "", &"a".repeat(256)] {
            assert_reason(
                "delete_recording",
                json!({ "filename": bad }),
                reason::INVALID_FILENAME,
                Some("filename"),
            );
        }
        assert!(check("get_snapshot_info", json!({"filename": "front.jpg"})).is_ok());
    }

    #[test]
    fn invalid_url() {
        for bad in ["http://h/x", "rtsp://", "rtsp:///x", "rtsp://h/a b", "rtsp://h:70000/x"] {
            assert_reason(
                "add_external_stream",
                json!({"stream_url": bad, "stream_name": "n"}),
                reason::INVALID_URL,
                Some("stream_url"),
            );
        }
        assert!(
            check(
                "remove_external_stream",
                json!({"stream_url": "rtsp://admin:***@192.168.42.15:5554/subject"})
            )
            .is_ok()
        );
    }

    #[test]
    fn nested_filters() {
        let ok = check(
            "subscribe_events",
            json!({"topics": ["recording.started", "camera_status_update"],
                   "filters": {"device": "camera0", "topic": "camera", "timestamp_after": null}}),
        );
        assert_eq!(
            ok,
            Ok(json_map(
                json!({"topics": ["recording.started", "camera_status_update"],
                 "filters": {"device": "camera0", "topic": "camera"}})
            ))
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "filters": {"x": 1}}),
            reason::UNKNOWN_PARAM,
            Some("filters.x"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "filters": {"device": "A"}}),
            reason::INVALID_DEVICE,
            Some("filters.device"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "filters": {"timestamp_after": "yesterday"}}),
            reason::INVALID_TIMESTAMP,
            Some("filters.timestamp_after"),
        );
        assert_reason(
            "subscribe_events",
            json!({"topics": ["camera.connected"], "filters": {
                "timestamp_after": "2025-01-15T15:30:00+01:00",
                "timestamp_before": "2025-01-15T14:30:00Z"}}),
            reason::CONFLICTING_PARAMS,
            Some("filters.timestamp_before"),
        );
        assert!(
            check(
                "subscribe_events",
                json!({"topics": ["camera.connected"], "filters": {
                "timestamp_after": "2025-01-15T14:30:00Z",
                "timestamp_before": "2025-01-15T14:30:00.001Z"}})
            )
            .is_ok()
        );
    }

    #[test]
    fn invalid_topic() {
        let e = fails(
            "subscribe_events",
            json!({"topics": ["camera.connected", "camera.exploded"]}),
        );
        assert_eq!(e.reason, reason::INVALID_TOPIC);
        assert_eq!(e.param.as_deref(), Some("topics"));
        let valid = e.valid_topics.expect("valid_topics");
        assert!(valid.iter().any(|t| t == "camera.connected"));
        assert!(valid.iter().any(|t| t == "system_health_update"));
        assert!(!valid.iter().any(|t| t == "recording.started"));
        assert_reason(
            "unsubscribe_events",
            json!({"topics": ["nope"]}),
            reason::INVALID_TOPIC,
            Some("topics"),
        );
    }

    #[test]
    fn conflicting_snapshot_params() {
        assert_reason(
            "take_snapshot",
            json!({"device": "camera0", "filename": "a.png", "format": "jpg"}),
            reason::CONFLICTING_PARAMS,
            Some("format"),
        );
        for ok in [
            json!({"device": "camera0", "filename": "a.jpeg", "format": "jpg"}),
            json!({"device": "camera0", "filename": "a.jpg", "format": "jpeg"}),
            json!({"device": "camera0", "filename": "a.png"}),
            json!({"device": "camera0", "filename": "front", "format": "png"}),
            json!({"device": "camera0", "filename": "front.v2", "format": "png"}),
        ] {
            assert!(check("take_snapshot", ok.clone()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn every_declared_format_reason_is_a_params_reason() {
        for m in crate::methods::METHODS {
            for p in m.params {
                if let ParamKind::Str { format, .. } = p.kind {
                    assert!(ErrorCode::InvalidParams.reasons().contains(&format.reason()));
                }
            }
        }
    }

    fn json_map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}
