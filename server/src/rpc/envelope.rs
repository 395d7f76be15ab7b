//! JSON-RPC 2.0 envelopes: reading one inbound text into requests, and writing responses.
//!
//! Parsing borrows from the inbound text (`RawValue`), so a request id is echoed byte for byte (large integers
//! are never rounded) and `params` is parsed into a tree only when the method is known and the caller allowed.
//! Envelope violations become per-element errors (API.md §1.3); only invalid JSON fails the whole message.

use crate::error::{Error, ErrorKind};
use serde::de::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A member that distinguishes "absent" from "present with any value, including null".
#[derive(Default)]
struct Present<'a>(Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Present<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(|raw| Present(Some(raw)))
    }
}

#[derive(serde::Deserialize)]
struct RawRequest<'a> {
    #[serde(default, borrow)]
    jsonrpc: Present<'a>,
    #[serde(default, borrow)]
    method: Present<'a>,
    #[serde(default, borrow)]
    params: Present<'a>,
    #[serde(default, borrow)]
    id: Present<'a>,
}

/// One element of the inbound message after envelope checks.
pub enum Element<'a> {
    /// A well-formed request. `id` is `None` for a notification (no `id` member).
    Request(Request<'a>),
    /// An envelope violation, answered with this id (`null` when unreadable) — always answered.
    Invalid { id: &'a RawValue, error: Error },
}

pub struct Request<'a> {
    pub id: Option<&'a RawValue>,
    pub method: String,
    /// Raw params; `None` when absent or `null`.
    pub params: Option<&'a RawValue>,
}

pub enum Inbound<'a> {
    Single(Element<'a>),
    Batch(Vec<Element<'a>>),
    /// `[]`: one -32600 `empty_batch` response.
    EmptyBatch,
    /// More elements than `max_batch`: one -32600 `batch_too_large`; nothing executes.
    BatchTooLarge,
}

pub fn null_id() -> &'static RawValue {
    // A valid JSON literal: never fails.
    static NULL: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    NULL.get_or_init(|| RawValue::from_string("null".to_owned()).unwrap_or_else(|_| unreachable!()))
}

/// Parses one inbound text. `Err` is a -32700 parse error (answered with id null).
pub fn parse(text: &str, max_batch: usize) -> Result<Inbound<'_>, Error> {
    let first = text.trim_start().as_bytes().first().copied();
    if first == Some(b'[') {
        let items: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| Error::new(ErrorKind::Parse, "parse_error", format!("Invalid JSON: {e}")))?;
        if items.is_empty() {
            return Ok(Inbound::EmptyBatch);
        }
        if items.len() > max_batch {
            return Ok(Inbound::BatchTooLarge);
        }
        return Ok(Inbound::Batch(items.into_iter().map(element).collect()));
    }
    let raw: &RawValue = serde_json::from_str(text)
        .map_err(|e| Error::new(ErrorKind::Parse, "parse_error", format!("Invalid JSON: {e}")))?;
    Ok(Inbound::Single(element(raw)))
}

fn invalid<'a>(id: &'a RawValue, reason: &'static str, details: &str) -> Element<'a> {
    Element::Invalid {
        id,
        error: Error::new(ErrorKind::InvalidRequest, reason, details),
    }
}

fn element(raw: &RawValue) -> Element<'_> {
    let text = raw.get();
    if !text.starts_with('{') {
        return invalid(null_id(), "invalid_request", "A request must be a JSON object");
    }
    let Ok(req) = serde_json::from_str::<RawRequest<'_>>(text) else {
        return invalid(null_id(), "invalid_request", "A request must be a JSON object");
    };
    let id = match req.id.0 {
        None => None,
        Some(id) => match id.get().as_bytes().first() {
            Some(b'"' | b'-' | b'0'..=b'9') | Some(b'n') => Some(id),
            _ => return invalid(null_id(), "invalid_id", "id must be a string, a number or null"),
        },
    };
    let echo = id.unwrap_or(null_id());
    if req.jsonrpc.0.map(RawValue::get) != Some("\"2.0\"") {
        return invalid(echo, "invalid_version", "jsonrpc must be exactly \"2.0\"");
    }
    let method = match req.method.0.map(|m| serde_json::from_str::<String>(m.get())) {
        Some(Ok(m)) => m,
        _ => return invalid(echo, "missing_method", "method must be a string"),
    };
    let params = req.params.0.filter(|p| p.get() != "null");
    Element::Request(Request { id, method, params })
}

/// `{"jsonrpc":"2.0","id":ID,"result":RESULT}` (+ optional metadata member).
pub fn write_result(id: &RawValue, result: &str, metadata: Option<&str>) -> String {
    let mut out = String::with_capacity(40 + id.get().len() + result.len());
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id.get());
    out.push_str(",\"result\":");
    out.push_str(result);
    push_metadata(&mut out, metadata);
    out.push('}');
    out
}

/// `{"jsonrpc":"2.0","id":ID,"error":ERROR}` (+ optional metadata member).
pub fn write_error(id: &RawValue, error: &serde_json::Value, metadata: Option<&str>) -> String {
    let error = error.to_string();
    let mut out = String::with_capacity(40 + id.get().len() + error.len());
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id.get());
    out.push_str(",\"error\":");
    out.push_str(&error);
    push_metadata(&mut out, metadata);
    out.push('}');
    out
}

fn push_metadata(out: &mut String, metadata: Option<&str>) {
    if let Some(m) = metadata {
        out.push_str(",\"metadata\":");
        out.push_str(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(text: &str) -> Element<'_> {
        match parse(text, 32) {
            Ok(Inbound::Single(e)) => e,
            _ => panic!("expected a single element for {text}"),
        }
    }

    fn reason(e: &Element<'_>) -> &'static str {
        match e {
            Element::Invalid { error, .. } => error.reason,
            Element::Request(_) => "ok",
        }
    }

    #[test]
    fn envelope_violations() {
        assert!(parse("{", 32).is_err());
        assert_eq!(reason(&single("3")), "invalid_request");
        assert_eq!(
            reason(&single(r#"{"jsonrpc":"1.0","method":"ping","id":1}"#)),
            "invalid_version"
        );
        assert_eq!(
            reason(&single(r#"{"jsonrpc":"2.0","method":5,"id":1}"#)),
            "missing_method"
        );
        assert_eq!(
            reason(&single(r#"{"jsonrpc":"2.0","method":"ping","id":{}}"#)),
            "invalid_id"
        );
        assert_eq!(
            reason(&single(r#"{"jsonrpc":"2.0","method":"ping","id":true}"#)),
            "invalid_id"
        );
        assert!(matches!(parse("[]", 32), Ok(Inbound::EmptyBatch)));
        assert!(matches!(parse("[1,2,3]", 2), Ok(Inbound::BatchTooLarge)));
    }

    #[test]
    fn ids_are_echoed_verbatim_and_null_params_are_absent() {
        match single(r#"{"jsonrpc":"2.0","method":"ping","id":12345678901234567890123,"params":null}"#) {
            Element::Request(r) => {
                assert_eq!(r.id.map(RawValue::get), Some("12345678901234567890123"));
                assert!(r.params.is_none());
                assert_eq!(
                    write_result(r.id.unwrap_or(null_id()), "\"pong\"", None),
                    r#"{"jsonrpc":"2.0","id":12345678901234567890123,"result":"pong"}"#
                );
            }
            Element::Invalid { .. } => panic!("valid request rejected"),
        }
        match single(r#"{"jsonrpc":"2.0","method":"ping"}"#) {
            Element::Request(r) => assert!(r.id.is_none()),
            Element::Invalid { .. } => panic!("notification rejected"),
        }
        match single(r#"{"jsonrpc":"2.0","method":"ping","id":null}"#) {
            Element::Request(r) => assert_eq!(r.id.map(RawValue::get), Some("null")),
            Element::Invalid { .. } => panic!("null id rejected"),
        }
    }
}
