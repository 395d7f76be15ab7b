//! Subscription filters (API.md §5.4): which notifications of a subscribed topic a connection receives.
//!
//! A notification is delivered when **all** filters set for its topic match. Timestamps are compared as
//! nanoseconds since the epoch, parsed with the contract crate's RFC 3339 parser (the same one that validated
//! the params), so a value the dispatcher accepted is never read differently here.

use crate::{Error, ErrorKind};
use camera_api::timestamp::parse_rfc3339;
use serde_json::{Map, Value};

/// The filters of one subscribed topic. The default (no filter) matches every notification of the topic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Matches when `params.device` equals it; notifications without `device` never match.
    pub device: Option<String>,
    /// Matches when the topic equals it or starts with it followed by `.`.
    pub topic: Option<String>,
    /// Matches when `params.timestamp` is strictly later (nanoseconds since the epoch).
    timestamp_after: Option<Bound>,
    /// Matches when `params.timestamp` is strictly earlier.
    timestamp_before: Option<Bound>,
}

/// A timestamp bound: the text as the client gave it (echoed back) and the instant it denotes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bound {
    text: String,
    nanos: i128,
}

/// What a filter looks at in one notification.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EventView<'a> {
    pub topic: &'a str,
    pub device: Option<&'a str>,
    /// `params.timestamp` in nanoseconds since the epoch; `None` when absent or unreadable.
    pub timestamp: Option<i128>,
}

impl Filters {
    /// Builds and checks filters from their param values (`None` = not set). Errors are -32602 with
    /// `param` = `filters.<key>`: `invalid_device`, `invalid_timestamp`, or `conflicting_params` when
    /// `timestamp_after ≥ timestamp_before`.
    pub fn parse(
        device: Option<&str>,
        topic: Option<&str>,
        timestamp_after: Option<&str>,
        timestamp_before: Option<&str>,
    ) -> crate::Result<Filters> {
        if let Some(device) = device
            && !camera_api::methods::is_valid_camera_id(device)
        {
            return Err(Error::invalid_param(
                "invalid_device",
                "filters.device",
                format!("{device:?} is not a camera id (^[a-z0-9_]{{1,64}}$)"),
            ));
        }
        let bound = |param: &str, text: Option<&str>| -> crate::Result<Option<Bound>> {
            let Some(text) = text else { return Ok(None) };
            let nanos = parse_rfc3339(text).ok_or_else(|| {
                Error::invalid_param(
                    "invalid_timestamp",
                    param,
                    format!("{text:?} is not an RFC 3339 timestamp"),
                )
                .suggest("Use a value such as 2025-01-15T14:30:00.000Z")
            })?;
            Ok(Some(Bound {
                text: text.to_owned(),
                nanos,
            }))
        };
        let timestamp_after = bound("filters.timestamp_after", timestamp_after)?;
        let timestamp_before = bound("filters.timestamp_before", timestamp_before)?;
        if let (Some(after), Some(before)) = (&timestamp_after, &timestamp_before)
            && after.nanos >= before.nanos
        {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "conflicting_params",
                "'filters.timestamp_after' must be earlier than 'filters.timestamp_before'",
            )
            .with("param", "filters.timestamp_before"));
        }
        Ok(Filters {
            device: device.map(str::to_owned),
            topic: topic.map(str::to_owned),
            timestamp_after,
            timestamp_before,
        })
    }

    /// Reads the `filters` param object (already type-checked by the dispatcher; `null` members = not set).
    pub fn from_params(filters: Option<&Map<String, Value>>) -> crate::Result<Filters> {
        let Some(filters) = filters else {
            return Ok(Filters::default());
        };
        let text = |key: &str| -> crate::Result<Option<&str>> {
            match filters.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(Error::invalid_param(
                    "invalid_type",
                    &format!("filters.{key}"),
                    format!("filters.{key} must be a string"),
                )),
            }
        };
        Filters::parse(
            text("device")?,
            text("topic")?,
            text("timestamp_after")?,
            text("timestamp_before")?,
        )
    }

    /// The filters as applied, for the `subscribe_events` result (only the keys that are set).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(device) = &self.device {
            out.insert("device".into(), device.clone().into());
        }
        if let Some(topic) = &self.topic {
            out.insert("topic".into(), topic.clone().into());
        }
        if let Some(after) = &self.timestamp_after {
            out.insert("timestamp_after".into(), after.text.clone().into());
        }
        if let Some(before) = &self.timestamp_before {
            out.insert("timestamp_before".into(), before.text.clone().into());
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Whether every filter that is set matches the notification.
    pub(crate) fn matches(&self, event: &EventView<'_>) -> bool {
        if let Some(device) = &self.device
            && event.device != Some(device.as_str())
        {
            return false;
        }
        if let Some(prefix) = &self.topic
            && !(event.topic == prefix
                || event
                    .topic
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('.')))
        {
            return false;
        }
        let within = |t: Option<i128>| {
            let after = self.timestamp_after.as_ref().map(|b| b.nanos);
            let before = self.timestamp_before.as_ref().map(|b| b.nanos);
            match t {
                // Events without a readable timestamp never match a bound.
                None => after.is_none() && before.is_none(),
                Some(t) => after.is_none_or(|a| t > a) && before.is_none_or(|b| t < b),
            }
        };
        if !within(event.timestamp) {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(topic: &'a str, device: Option<&'a str>, ts: Option<&str>) -> EventView<'a> {
        EventView {
            topic,
            device,
            timestamp: ts.and_then(parse_rfc3339),
        }
    }

    #[test]
    fn empty_filters_match_everything() {
        let f = Filters::default();
        assert!(f.is_empty());
        assert!(f.matches(&view("camera.connected", None, None)));
    }

    #[test]
    fn device_filter_needs_an_equal_device() {
        let f = Filters::parse(Some("camera0"), None, None, None).expect("valid");
        assert!(f.matches(&view("camera.connected", Some("camera0"), None)));
        assert!(!f.matches(&view("camera.connected", Some("camera1"), None)));
        assert!(
            !f.matches(&view("system.health", None, None)),
            "events without device never match"
        );
    }

    #[test]
    fn topic_filter_is_a_dotted_prefix() {
        let f = Filters::parse(None, Some("camera"), None, None).expect("valid");
        assert!(f.matches(&view("camera.connected", None, None)));
        assert!(f.matches(&view("camera", None, None)));
        assert!(!f.matches(&view("camera_status_update", None, None)));
        assert!(!f.matches(&view("cameras.x", None, None)));
        assert!(!f.matches(&view("recording.start", None, None)));
        let exact = Filters::parse(None, Some("recording.start"), None, None).expect("valid");
        assert!(exact.matches(&view("recording.start", None, None)));
        assert!(!exact.matches(&view("recording.stop", None, None)));
    }

    #[test]
    fn timestamp_bounds_are_strict() {
        let f = Filters::parse(
            None,
            None,
            Some("2025-01-15T14:30:00Z"),
            Some("2025-01-15T16:30:00+01:00"),
        )
        .expect("valid");
        assert!(
            !f.matches(&view("a.b", None, Some("2025-01-15T14:30:00.000Z"))),
            "equal to after"
        );
        assert!(f.matches(&view("a.b", None, Some("2025-01-15T14:30:00.001Z"))));
        assert!(f.matches(&view("a.b", None, Some("2025-01-15T15:29:59.999Z"))));
        assert!(
            !f.matches(&view("a.b", None, Some("2025-01-15T15:30:00.000Z"))),
            "equal to before"
        );
        assert!(
            !f.matches(&view("a.b", None, None)),
            "no timestamp never matches a bound"
        );
    }

    #[test]
    fn all_filters_must_match() {
        let f = Filters::parse(Some("camera0"), Some("recording"), Some("2025-01-01T00:00:00Z"), None).expect("valid");
        assert!(f.matches(&view("recording.start", Some("camera0"), Some("2025-02-01T00:00:00Z"))));
        assert!(!f.matches(&view("snapshot.taken", Some("camera0"), Some("2025-02-01T00:00:00Z"))));
        assert!(!f.matches(&view("recording.start", Some("camera0"), Some("2024-02-01T00:00:00Z"))));
    }

    #[test]
    fn invalid_values_are_rejected_with_the_param() {
        let e = Filters::parse(Some("Camera 0"), None, None, None).expect_err("bad device");
        assert_eq!(
            (e.reason, e.data["param"].as_str()),
            ("invalid_device", Some("filters.device"))
        );
        let e = Filters::parse(None, None, Some("yesterday"), None).expect_err("bad timestamp");
        assert_eq!(
            (e.reason, e.data["param"].as_str()),
            ("invalid_timestamp", Some("filters.timestamp_after"))
        );
        let e = Filters::parse(
            None,
            None,
            Some("2025-01-15T14:30:00Z"),
            Some("2025-01-15T15:30:00+01:00"),
        )
        .expect_err("after == before");
        assert_eq!(e.reason, "conflicting_params");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn reads_params_and_echoes_them() {
        let params = serde_json::json!({"device": "camera0", "timestamp_after": "2025-01-15T14:30:00Z", "topic": null});
        let f = Filters::from_params(params.as_object()).expect("valid");
        assert_eq!(
            Value::Object(f.to_json()),
            serde_json::json!({"device": "camera0", "timestamp_after": "2025-01-15T14:30:00Z"})
        );
        assert!(Filters::from_params(None).expect("none").is_empty());
    }
}
