//! The OpenRPC 1.3.2 document of the API (API.md §8): built from the method table, the param rules, the
//! typed results (via schemars, shared types under `components/schemas`), the notification table and the
//! error model. The committed `schema/openrpc.json` is this document; `rpc.discover` serves it with
//! `servers` replaced.

use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::API_VERSION;
use crate::error::{ErrorCode, HTTP_REASONS, reason};
use crate::methods::{METHODS, MethodSpec, ParamKind, ParamSpec, StrFormat};
use crate::notifications::{NOTIFICATIONS, NotificationSpec};
use crate::topics::{LEGACY_TOPICS, TOPIC_ALIASES, TOPICS};

/// The OpenRPC specification version the document follows.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// `info.title`.
pub const TITLE: &str = "Camera Service API";

/// The placeholder server of the committed document.
pub const DEFAULT_SERVER_URL: &str = "ws://localhost:8002/ws";

/// The OpenRPC document. Object keys are sorted; methods are sorted by name, followed by the
/// notifications (methods without `result`, `x-notification: true`) sorted by name.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft07()
        .for_serialize()
        .with(|s| {
            s.definitions_path = "#/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();

    let mut specs: Vec<&MethodSpec> = METHODS.iter().collect();
    specs.sort_by_key(|m| m.name);
    let mut methods: Vec<Value> = specs.into_iter().map(|m| method_object(m, &mut generator)).collect();

    let mut notes: Vec<&NotificationSpec> = NOTIFICATIONS.iter().collect();
    notes.sort_by_key(|n| n.name);
    for n in notes {
        let note = notification_object(n, &mut generator);
        methods.push(note);
    }

    let schemas = generator.take_definitions(true);
    let errors: Map<String, Value> = ErrorCode::ALL
        .into_iter()
        .map(|c| (format!("{c:?}"), error_object(c, c.reasons())))
        .collect();
    let error_codes: Vec<Value> = ErrorCode::ALL
        .into_iter()
        .map(|c| json!({"code": c.code(), "message": c.message(), "reasons": c.reasons()}))
        .collect();
    let aliases: Map<String, Value> = TOPIC_ALIASES
        .iter()
        .map(|(a, c)| ((*a).to_owned(), Value::from(*c)))
        .collect();

    let doc = json!({
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": TITLE,
            "version": API_VERSION,
            "description": "JSON-RPC 2.0 over WebSocket (GET /ws) and HTTP (POST /rpc) for camera discovery, \
                snapshots, recording, streaming, files, storage, events and API keys. Params are passed by name. \
                error.message is fixed per code; clients branch on error.code and error.data.reason.",
            "license": {"name": "MIT OR Apache-2.0"},
        },
        "servers": [{"name": "default", "url": DEFAULT_SERVER_URL}],
        "methods": methods,
        "components": {"schemas": schemas, "errors": errors},
        "x-error-codes": error_codes,
        "x-http-reasons": HTTP_REASONS,
        "x-topics": {"topics": TOPICS, "legacy": LEGACY_TOPICS, "aliases": aliases},
    });
    canonical(doc)
}

/// [`document`] as pretty-printed JSON with a trailing newline (the content of `schema/openrpc.json`).
pub fn document_json() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

fn method_object(m: &MethodSpec, g: &mut SchemaGenerator) -> Value {
    let params: Vec<Value> = m
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "description": p.description,
                "required": p.required,
                "schema": param_schema(m.name, p),
            })
        })
        .collect();
    let result = subschema(g, m.result_schema);
    json!({
        "name": m.name,
        "summary": m.summary,
        "paramStructure": "by-name",
        "params": params,
        "result": {"name": format!("{}_result", m.name.replace('.', "_")), "schema": result},
        "errors": method_errors(m),
        "x-min-role": m.min_role.map(|r| r.as_str()),
        "x-gated": m.gated,
        "x-websocket-only": m.websocket_only,
        "x-ignores-unknown-params": m.ignores_unknown_params,
    })
}

fn notification_object(n: &NotificationSpec, g: &mut SchemaGenerator) -> Value {
    let reference = subschema(g, n.params_schema);
    // Expand the payload object into by-name params, sorted by name.
    let body = reference
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .and_then(|name| g.definitions().get(name))
        .cloned()
        .unwrap_or(Value::Null);
    let required: Vec<&str> = body
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut props: Vec<(String, Value)> = body
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    props.sort_by(|a, b| a.0.cmp(&b.0));
    let params: Vec<Value> = props
        .into_iter()
        .map(|(name, schema)| {
            let req = required.contains(&name.as_str());
            json!({"name": name, "required": req, "schema": schema})
        })
        .collect();
    json!({
        "name": n.name,
        "summary": n.summary,
        "paramStructure": "by-name",
        "params": params,
        "x-notification": true,
        "x-legacy": n.legacy,
        "x-params-schema": reference,
    })
}

fn subschema(g: &mut SchemaGenerator, f: fn(&mut SchemaGenerator) -> Schema) -> Value {
    let mut schema = f(g);
    for t in g.transforms_mut() {
        t.transform(&mut schema);
    }
    schema.to_value()
}

// ---- params -------------------------------------------------------------------------------------

fn param_schema(method: &str, p: &ParamSpec) -> Value {
    let mut s = kind_schema(&p.kind);
    // Cross-field or gap rules that a single range cannot express (see `validate`).
    if method == "set_discovery_interval" && p.name == "scan_interval" {
        s["not"] = json!({"type": "integer", "minimum": 1, "maximum": 9});
    }
    s
}

fn kind_schema(kind: &ParamKind) -> Value {
    match *kind {
        ParamKind::Int { min, max } => {
            let mut s = json!({"type": "integer", "minimum": min});
            if max != i64::MAX {
                s["maximum"] = json!(max);
            }
            s
        }
        ParamKind::Number {
            min,
            max,
            min_exclusive,
        } => {
            let lower = if min_exclusive { "exclusiveMinimum" } else { "minimum" };
            json!({"type": "number", lower: min, "maximum": max})
        }
        ParamKind::Bool => json!({"type": "boolean"}),
        ParamKind::Str {
            min_len,
            max_len,
            format,
        } => {
            let mut s = str_schema(format);
            if min_len > 0 {
                s["minLength"] = json!(min_len);
            }
            if max_len != usize::MAX {
                s["maxLength"] = json!(max_len);
            }
            s
        }
        ParamKind::Enum(values) => json!({"type": "string", "enum": values}),
        ParamKind::StrList {
            min_items,
            max_items,
            item,
        } => json!({
            "type": "array",
            "minItems": min_items,
            "maxItems": max_items,
            "items": str_schema(item),
        }),
        ParamKind::Object(fields) => {
            let props: Map<String, Value> = fields
                .iter()
                .map(|f| {
                    let mut s = kind_schema(&f.kind);
                    s["description"] = json!(f.description);
                    (f.name.to_owned(), s)
                })
                .collect();
            let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name).collect();
            let mut s = json!({"type": "object", "additionalProperties": false, "properties": props});
            if !required.is_empty() {
                s["required"] = json!(required);
            }
            s
        }
    }
}

fn str_schema(format: StrFormat) -> Value {
    let mut s = json!({"type": "string"});
    if let Some(p) = format.pattern() {
        s["pattern"] = json!(p);
    }
    match format {
        StrFormat::Filename => s["not"] = json!({"pattern": "\\.\\."}),
        StrFormat::Timestamp => s["format"] = json!("date-time"),
        StrFormat::Topic => {
            let names: Vec<&str> = TOPICS
                .iter()
                .chain(LEGACY_TOPICS)
                .copied()
                .chain(TOPIC_ALIASES.iter().map(|(a, _)| *a))
                .collect();
            s["enum"] = json!(names);
        }
        _ => {}
    }
    s
}

// ---- errors -------------------------------------------------------------------------------------

fn error_object(code: ErrorCode, reasons: &[&str]) -> Value {
    json!({
        "code": code.code(),
        "message": code.message(),
        "data": {
            "type": "object",
            "required": ["reason"],
            "properties": {
                "reason": {"type": "string", "enum": reasons},
                "details": {"type": "string"},
                "suggestion": {"type": "string"},
            },
        },
    })
}

/// -32602 reasons a method can produce, derived from its params.
fn params_reasons(m: &MethodSpec, out: &mut Vec<&'static str>) {
    out.push(reason::PARAMS_MUST_BE_OBJECT);
    if !m.ignores_unknown_params {
        out.push(reason::UNKNOWN_PARAM);
    }
    if m.params.iter().any(|p| p.required) {
        out.push(reason::MISSING_PARAM);
    }
    for p in m.params {
        kind_reasons(&p.kind, out);
    }
    if matches!(m.name, "take_snapshot" | "subscribe_events") {
        out.push(reason::CONFLICTING_PARAMS);
    }
}

fn kind_reasons(kind: &ParamKind, out: &mut Vec<&'static str>) {
    out.push(reason::INVALID_TYPE);
    match *kind {
        ParamKind::Int { .. } | ParamKind::Number { .. } => out.push(reason::OUT_OF_RANGE),
        ParamKind::Bool => {}
        ParamKind::Str {
            min_len,
            max_len,
            format,
        } => {
            if !format.bounds_length() {
                if max_len != usize::MAX {
                    out.push(reason::TOO_LONG);
                }
                if min_len > 0 {
                    out.push(reason::INVALID_VALUE);
                }
            }
            if format != StrFormat::Any {
                out.push(format.reason());
            }
        }
        ParamKind::Enum(_) => out.push(reason::INVALID_VALUE),
        ParamKind::StrList { item, .. } => {
            out.push(reason::INVALID_VALUE);
            if item != StrFormat::Any {
                out.push(item.reason());
            }
        }
        ParamKind::Object(fields) => {
            out.push(reason::UNKNOWN_PARAM);
            for f in fields {
                kind_reasons(&f.kind, out);
            }
        }
    }
}

/// Every error a method can return: its specific errors (§4) plus the applicable common ones (§4.0).
fn method_errors(m: &MethodSpec) -> Vec<Value> {
    let mut all: Vec<(ErrorCode, &'static str)> = m.errors.to_vec();
    let mut params = Vec::new();
    params_reasons(m, &mut params);
    all.extend(params.into_iter().map(|r| (ErrorCode::InvalidParams, r)));
    if let Some(role) = m.min_role {
        all.extend(
            [
                reason::AUTH_REQUIRED,
                reason::AUTH_FAILED,
                reason::TOKEN_EXPIRED,
                reason::CREDENTIAL_REVOKED,
            ]
            .map(|r| (ErrorCode::AuthFailed, r)),
        );
        if role > crate::role::Role::Viewer {
            all.push((ErrorCode::PermissionDenied, reason::INSUFFICIENT_ROLE));
        }
    }
    if m.name != "ping" {
        all.push((ErrorCode::RateLimited, reason::RATE_LIMITED));
    }
    if m.gated {
        all.push((ErrorCode::DependencyFailed, reason::SERVICE_INITIALIZING));
    }
    if m.websocket_only {
        all.push((ErrorCode::Unsupported, reason::REQUIRES_WEBSOCKET));
    }
    all.push((ErrorCode::InternalError, reason::INTERNAL_ERROR));

    ErrorCode::ALL
        .into_iter()
        .filter_map(|code| {
            let reasons: Vec<&str> = code
                .reasons()
                .iter()
                .copied()
                .filter(|r| all.contains(&(code, *r)))
                .collect();
            (!reasons.is_empty()).then(|| error_object(code, &reasons))
        })
        .collect()
}

/// Rebuilds every object with its keys in sorted order, whatever map type serde_json was built with.
fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}
