//! The Markdown API reference (`docs/api-reference.md`), rendered from the OpenRPC document of [`crate::openrpc`].
//!
//! [`markdown_reference`] reads only the document it is given (never the Rust tables), so the reference says
//! exactly what `rpc.discover` and `schema/openrpc.json` say. Per method: summary, minimum role, readiness
//! gate, WebSocket-only flag, a params table (type, required, bounds / enum / pattern, description), the result
//! as a field table when it is an object (or an array of objects), and the errors with their reason tags. Then
//! the notifications, the topic aliases, the error codes, the HTTP error reasons, and every shared type that a
//! field table links to.
//!
//! Output is deterministic: methods and notifications keep the document's order, object properties are sorted
//! by name, and nothing depends on time or on the map type serde_json was built with. The golden test
//! `schema/tests/reference_golden.rs` keeps the committed file equal to this output.

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::{self, Write as _};

/// The command that regenerates `docs/api-reference.md`.
pub const REGENERATE_COMMAND: &str = "UPDATE_DOCS=1 cargo test -p camera-api --test reference_golden";

/// Renders the OpenRPC document `doc` as a Markdown API reference.
pub fn markdown_reference(doc: &Value) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = Reference::new(doc).write(&mut out);
    out
}

struct Reference<'a> {
    doc: &'a Value,
    /// Shared types linked from some field table, in name order.
    linked_types: BTreeSet<String>,
}

impl<'a> Reference<'a> {
    fn new(doc: &'a Value) -> Self {
        let mut r = Reference {
            doc,
            linked_types: BTreeSet::new(),
        };
        r.linked_types = r.collect_linked_types();
        r
    }

    fn methods(&self) -> impl Iterator<Item = &'a Value> {
        let all = self.doc["methods"].as_array().map(Vec::as_slice).unwrap_or_default();
        all.iter().filter(|m| !is_notification(m))
    }

    fn notifications(&self) -> impl Iterator<Item = &'a Value> {
        let all = self.doc["methods"].as_array().map(Vec::as_slice).unwrap_or_default();
        all.iter().filter(|m| is_notification(m))
    }

    /// The component schema named `name`.
    fn component(&self, name: &str) -> Option<&'a Value> {
        self.doc["components"]["schemas"].get(name)
    }

    /// Follows a `$ref` (and a single-element `allOf`) to the schema it names; other schemas are returned as is.
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        match ref_name(schema).and_then(|n| self.component(n)) {
            Some(target) => target,
            None => schema,
        }
    }

    /// Every component type a rendered field table links to, closed over the types' own fields.
    fn collect_linked_types(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for m in self.methods() {
            if let Some(fields) = self.result_fields(&m["result"]["schema"]).1 {
                refs_in(fields, &mut found);
            }
        }
        for n in self.notifications() {
            refs_in(&n["params"], &mut found);
        }
        let mut pending: Vec<String> = found.iter().cloned().collect();
        while let Some(name) = pending.pop() {
            let mut more = BTreeSet::new();
            if let Some(schema) = self.component(&name) {
                refs_in(schema, &mut more);
            }
            for n in more {
                if found.insert(n.clone()) {
                    pending.push(n);
                }
            }
        }
        found.retain(|n| self.component(n).is_some());
        found
    }

    /// How a result is shown: `(object schema whose fields make the table, its properties)`. The object is the
    /// result itself or, for an array result, its item.
    fn result_fields(&self, result: &'a Value) -> (Option<&'a Value>, Option<&'a Value>) {
        let resolved = self.resolve(result);
        let object = if resolved.get("properties").is_some() {
            Some(resolved)
        } else if resolved["type"] == "array" {
            Some(self.resolve(&resolved["items"])).filter(|item| item.get("properties").is_some())
        } else {
            None
        };
        (object, object.and_then(|o| o.get("properties")))
    }

    fn write(&self, out: &mut String) -> fmt::Result {
        self.write_header(out)?;
        self.write_method_index(out)?;
        for m in self.methods() {
            self.write_method(out, m)?;
        }
        self.write_notifications(out)?;
        self.write_errors(out)?;
        self.write_types(out)
    }

    fn write_header(&self, out: &mut String) -> fmt::Result {
        let info = &self.doc["info"];
        writeln!(
            out,
            "<!-- Generated from the OpenRPC document by camera_api::reference::markdown_reference. Do not edit: \
             regenerate with `{REGENERATE_COMMAND}`. -->"
        )?;
        writeln!(out)?;
        writeln!(out, "# {} reference", text(&info["title"]))?;
        writeln!(out)?;
        writeln!(
            out,
            "API version **{}** · OpenRPC {} · the same document is `schema/openrpc.json` and the result of \
             `rpc.discover`.",
            text(&info["version"]),
            text(&self.doc["openrpc"])
        )?;
        writeln!(out)?;
        if let Some(description) = info["description"].as_str() {
            writeln!(out, "{}", clean(description))?;
            writeln!(out)?;
        }
        if let Some(url) = self.doc["servers"][0]["url"].as_str() {
            writeln!(
                out,
                "Default endpoint: `{url}` (JSON-RPC over WebSocket); `POST /rpc` on the same port."
            )?;
            writeln!(out)?;
        }
        writeln!(out, "How to read a method:")?;
        writeln!(out)?;
        writeln!(
            out,
            "- **Min role**: roles are ordered viewer < operator < admin; *none* means callable without \
             authentication."
        )?;
        writeln!(
            out,
            "- **Readiness gate**: *yes* means the method answers -32050 `service_initializing` until the first \
             camera discovery scan has finished."
        )?;
        writeln!(
            out,
            "- **WebSocket only**: *yes* means `POST /rpc` answers -32030 `requires_websocket`."
        )?;
        writeln!(
            out,
            "- **Params** are one JSON object, passed by name. A key not listed is rejected with -32602 \
             `unknown_param` (`data.param` names it) unless the method says unknown params are ignored."
        )?;
        writeln!(
            out,
            "- **Errors** list every code and `data.reason` the method can return, including the common ones \
             (authentication, rate limit, validation, internal error). `error.message` is fixed per code; branch \
             on `error.code` and `error.data.reason`."
        )?;
        writeln!(
            out,
            "- Results may gain fields within a major version: ignore fields you do not know. A field that is not \
             required may be absent or `null`."
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "Contents: [Methods](#methods) · [Notifications](#notifications) · [Topic aliases](#topic-aliases) · \
             [Error codes](#error-codes) · [HTTP error reasons](#http-error-reasons) · [Types](#types)"
        )?;
        writeln!(out)
    }

    fn write_method_index(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "## Methods")?;
        writeln!(out)?;
        writeln!(out, "| Method | Min role | Readiness gate | WebSocket only | Summary |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for m in self.methods() {
            let name = text(&m["name"]);
            writeln!(
                out,
                "| [`{name}`](#{}) | {} | {} | {} | {} |",
                anchor(&format!("`{name}`")),
                min_role(m),
                yes_no(&m["x-gated"]),
                yes_no(&m["x-websocket-only"]),
                cell(&text(&m["summary"]))
            )?;
        }
        writeln!(out)
    }

    fn write_method(&self, out: &mut String, m: &Value) -> fmt::Result {
        writeln!(out, "### `{}`", text(&m["name"]))?;
        writeln!(out)?;
        writeln!(out, "{}", clean(&text(&m["summary"])))?;
        writeln!(out)?;
        writeln!(
            out,
            "Min role: **{}** · Readiness gate: **{}** · WebSocket only: **{}**",
            min_role(m),
            yes_no(&m["x-gated"]),
            yes_no(&m["x-websocket-only"])
        )?;
        writeln!(out)?;
        self.write_params(out, m)?;
        self.write_result(out, &m["result"]["schema"])?;
        write_method_errors(out, m)
    }

    fn write_params(&self, out: &mut String, m: &Value) -> fmt::Result {
        let params = m["params"].as_array().map(Vec::as_slice).unwrap_or_default();
        let ignores = m["x-ignores-unknown-params"] == true;
        if params.is_empty() {
            let rule = if ignores {
                "Params: none (any params object is accepted and ignored)."
            } else {
                "Params: none (omit `params` or pass `{}`)."
            };
            writeln!(out, "{rule}")?;
            return writeln!(out);
        }
        writeln!(out, "| Param | Type | Required | Bounds | Description |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for p in params {
            let schema = &p["schema"];
            let description = p["description"]
                .as_str()
                .or(schema["description"].as_str())
                .unwrap_or("");
            self.write_param_row(out, &text(&p["name"]), schema, p["required"] == true, description)?;
            // Keys of an object param, named `param.key` as in `error.data.param`.
            let required: Vec<&str> = str_list(&schema["required"]);
            for (key, sub) in sorted(&schema["properties"]) {
                let sub_description = sub["description"].as_str().unwrap_or("");
                let name = format!("{}.{key}", text(&p["name"]));
                self.write_param_row(out, &name, sub, required.contains(&key.as_str()), sub_description)?;
            }
        }
        writeln!(out)?;
        if ignores {
            writeln!(out, "Unknown params are ignored.")?;
            writeln!(out)?;
        }
        Ok(())
    }

    fn write_param_row(
        &self,
        out: &mut String,
        name: &str,
        schema: &Value,
        required: bool,
        description: &str,
    ) -> fmt::Result {
        writeln!(
            out,
            "| `{name}` | {} | {} | {} | {} |",
            cell(&self.type_of(schema)),
            if required { "yes" } else { "no" },
            cell(&bounds(schema).join("; ")),
            cell(description)
        )
    }

    fn write_result(&self, out: &mut String, result: &Value) -> fmt::Result {
        let resolved = self.resolve(result);
        let (object, fields) = self.result_fields(result);
        match (object, fields) {
            (Some(object), Some(fields)) => {
                let is_array = resolved["type"] == "array";
                let name = ref_name(if is_array { &resolved["items"] } else { result });
                let shape = match (is_array, name) {
                    (true, Some(n)) => format!("an array of `{n}` objects"),
                    (true, None) => "an array of objects".to_owned(),
                    (false, Some(n)) => format!("`{n}`"),
                    (false, None) => "an object".to_owned(),
                };
                write!(out, "**Result**: {shape}")?;
                if let Some(d) = object["description"].as_str() {
                    write!(out, ". {}", clean(d))?;
                }
                writeln!(out)?;
                writeln!(out)?;
                self.write_field_table(out, fields, &object["required"])?;
            }
            _ => {
                write!(out, "**Result**: {}", self.type_of(resolved))?;
                let b = bounds(resolved);
                if !b.is_empty() {
                    write!(out, " ({})", b.join("; "))?;
                }
                match resolved["description"].as_str() {
                    Some(d) => writeln!(out, ". {}", clean(d))?,
                    None => writeln!(out, ".")?,
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// `| Field | Type | Required | Description |` for an object's properties, sorted by name.
    fn write_field_table(&self, out: &mut String, properties: &Value, required: &Value) -> fmt::Result {
        let required = str_list(required);
        writeln!(out, "| Field | Type | Required | Description |")?;
        writeln!(out, "|---|---|---|---|")?;
        for (name, schema) in sorted(properties) {
            writeln!(
                out,
                "| `{name}` | {} | {} | {} |",
                cell(&self.type_of(schema)),
                if required.contains(&name.as_str()) { "yes" } else { "no" },
                cell(&field_description(schema))
            )?;
        }
        writeln!(out)
    }

    fn write_notifications(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "## Notifications")?;
        writeln!(out)?;
        writeln!(
            out,
            "Sent by the server on authenticated WebSocket connections as `{{\"jsonrpc\":\"2.0\",\"method\":NAME,\
             \"params\":{{…}}}}` with no `id` member. A connection receives a topic after `subscribe_events`; \
             legacy names are also broadcast to every authenticated connection while \
             `notifications.legacy_broadcast` is on. Ignore notification names and fields you do not know."
        )?;
        writeln!(out)?;
        writeln!(out, "| Notification | Kind | Summary |")?;
        writeln!(out, "|---|---|---|")?;
        for n in self.notifications() {
            let name = text(&n["name"]);
            let kind = if n["x-legacy"] == true { "legacy" } else { "topic" };
            writeln!(
                out,
                "| [`{name}`](#{}) | {kind} | {} |",
                anchor(&format!("`{name}`")),
                cell(&text(&n["summary"]))
            )?;
        }
        writeln!(out)?;
        for n in self.notifications() {
            writeln!(out, "### `{}`", text(&n["name"]))?;
            writeln!(out)?;
            write!(out, "{}", clean(&text(&n["summary"])))?;
            if n["x-legacy"] == true {
                write!(out, " Legacy name.")?;
            }
            writeln!(out)?;
            writeln!(out)?;
            let params = n["params"].as_array().map(Vec::as_slice).unwrap_or_default();
            writeln!(out, "| Param | Type | Required | Description |")?;
            writeln!(out, "|---|---|---|---|")?;
            for p in params {
                writeln!(
                    out,
                    "| `{}` | {} | {} | {} |",
                    text(&p["name"]),
                    cell(&self.type_of(&p["schema"])),
                    if p["required"] == true { "yes" } else { "no" },
                    cell(&field_description(&p["schema"]))
                )?;
            }
            writeln!(out)?;
        }
        self.write_topic_aliases(out)
    }

    fn write_topic_aliases(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "### Topic aliases")?;
        writeln!(out)?;
        writeln!(
            out,
            "`subscribe_events` and `unsubscribe_events` also accept these names and normalise them to the topic."
        )?;
        writeln!(out)?;
        writeln!(out, "| Alias | Topic |")?;
        writeln!(out, "|---|---|")?;
        for (alias, topic) in sorted(&self.doc["x-topics"]["aliases"]) {
            writeln!(out, "| `{alias}` | `{}` |", text(topic))?;
        }
        writeln!(out)
    }

    fn write_errors(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "## Error codes")?;
        writeln!(out)?;
        writeln!(
            out,
            "`error.data` is always an object with `reason` (one of the tags below), `details` (human text) and \
             optionally `suggestion`, plus code-specific keys. New reason tags may appear in minor versions: treat \
             an unknown reason like its code."
        )?;
        writeln!(out)?;
        writeln!(out, "| Code | Message | Reasons |")?;
        writeln!(out, "|---|---|---|")?;
        for e in self.doc["x-error-codes"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            writeln!(
                out,
                "| {} | {} | {} |",
                text(&e["code"]),
                cell(&text(&e["message"])),
                code_list(&str_list(&e["reasons"]))
            )?;
        }
        writeln!(out)?;
        writeln!(out, "## HTTP error reasons")?;
        writeln!(out)?;
        writeln!(
            out,
            "Non-2xx HTTP responses on the JSON-RPC port carry `{{\"error\":{{\"status\",\"reason\",\"message\"}}}}` with \
             one of these reasons: {}.",
            code_list(&str_list(&self.doc["x-http-reasons"]))
        )?;
        writeln!(out)
    }

    fn write_types(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "## Types")?;
        writeln!(out)?;
        writeln!(out, "Shared objects referenced by the tables above, in name order.")?;
        writeln!(out)?;
        for name in &self.linked_types {
            let Some(schema) = self.component(name) else { continue };
            writeln!(out, "### Type `{name}`")?;
            writeln!(out)?;
            if let Some(d) = schema["description"].as_str() {
                writeln!(out, "{}", clean(d))?;
                writeln!(out)?;
            }
            if schema.get("properties").is_some() {
                self.write_field_table(out, &schema["properties"], &schema["required"])?;
            } else {
                let b = bounds(schema);
                write!(out, "{}", self.type_of(schema))?;
                if !b.is_empty() {
                    write!(out, ": {}", b.join("; "))?;
                }
                writeln!(out, ".")?;
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// A short Markdown type: `string`, `integer`, `string | null`, `` [`Camera`](#type-camera)[] ``,
    /// `map of …` (an object keyed by strings).
    fn type_of(&self, schema: &Value) -> String {
        if let Some(name) = ref_name(schema) {
            return if self.linked_types.contains(name) {
                format!("[`{name}`](#{})", anchor(&format!("Type `{name}`")))
            } else {
                format!("`{name}`")
            };
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema[key].as_array() {
                let mut parts: Vec<String> = options.iter().map(|o| self.type_of(o)).collect();
                parts.dedup();
                return parts.join(" | ");
            }
        }
        let base = |t: &str| -> String {
            match t {
                "array" => match schema.get("items") {
                    Some(items) => {
                        let inner = self.type_of(items);
                        if inner.contains(' ') {
                            format!("({inner})[]")
                        } else {
                            format!("{inner}[]")
                        }
                    }
                    None => "array".to_owned(),
                },
                "object" => match schema.get("additionalProperties") {
                    Some(v) if v.is_object() => format!("map of {}", self.type_of(v)),
                    _ => "object".to_owned(),
                },
                "string" if schema["format"] == "date-time" => "timestamp".to_owned(),
                other => other.to_owned(),
            }
        };
        match &schema["type"] {
            Value::String(t) => base(t),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(base)
                .collect::<Vec<_>>()
                .join(" | "),
            _ if schema.get("const").is_some() => "string".to_owned(),
            _ => "any".to_owned(),
        }
    }
}

/// `| Code | Message | Reasons |` from the method's `errors` (each a code with its `data.reason` enum).
fn write_method_errors(out: &mut String, m: &Value) -> fmt::Result {
    let errors = m["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
    if errors.is_empty() {
        return Ok(());
    }
    writeln!(out, "**Errors**")?;
    writeln!(out)?;
    writeln!(out, "| Code | Message | Reasons |")?;
    writeln!(out, "|---|---|---|")?;
    for e in errors {
        let reasons = str_list(&e["data"]["properties"]["reason"]["enum"]);
        writeln!(
            out,
            "| {} | {} | {} |",
            text(&e["code"]),
            cell(&text(&e["message"])),
            code_list(&reasons)
        )?;
    }
    writeln!(out)
}

fn is_notification(m: &Value) -> bool {
    m["x-notification"] == true
}

/// The component name of a `$ref` (also through a one-element `allOf`).
fn ref_name(schema: &Value) -> Option<&str> {
    if let Some(r) = schema["$ref"].as_str() {
        return r.strip_prefix("#/components/schemas/");
    }
    match schema["allOf"].as_array().map(Vec::as_slice) {
        Some([only]) => ref_name(only),
        _ => None,
    }
}

/// Collects every `$ref` component name anywhere inside `value`.
fn refs_in(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.insert(name.to_owned());
            }
            map.values().for_each(|v| refs_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// The entries of an object sorted by key (empty for anything else).
fn sorted(value: &Value) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = value.as_object().map(Map::iter).into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn str_list(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A string value as is; any other value as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A literal for prose: strings bare, everything else as JSON, in backticks.
fn literal(value: &Value) -> String {
    format!("`{}`", text(value))
}

fn code_list(items: &[&str]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

fn yes_no(flag: &Value) -> &'static str {
    if *flag == true { "yes" } else { "no" }
}

fn min_role(m: &Value) -> String {
    m["x-min-role"].as_str().unwrap_or("none").to_owned()
}

/// Validation rules of a schema in words: range, length, pattern, allowed values, item rules, exclusions.
fn bounds(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(values) = schema["enum"].as_array() {
        out.push(format!(
            "one of {}",
            values.iter().map(literal).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(c) = schema.get("const") {
        out.push(format!("always {}", literal(c)));
    }
    if let Some(options) = schema["oneOf"].as_array()
        && options.iter().all(|o| o.get("const").is_some())
    {
        let values: Vec<String> = options.iter().map(|o| literal(&o["const"])).collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    if let Some(range) = range(schema, "minimum", "exclusiveMinimum", "maximum") {
        out.push(range);
    }
    if let Some(length) = span(&schema["minLength"], &schema["maxLength"]) {
        out.push(format!("length {length}"));
    }
    if let Some(p) = schema["pattern"].as_str() {
        out.push(format!("pattern `{p}`"));
    }
    if let Some(count) = span(&schema["minItems"], &schema["maxItems"]) {
        out.push(format!("{count} items"));
    }
    if let Some(items) = schema.get("items") {
        let inner = bounds(items);
        if !inner.is_empty() {
            out.push(format!("each item: {}", inner.join(", ")));
        }
    }
    if let Some(not) = schema.get("not") {
        if let Some(p) = not["pattern"].as_str() {
            out.push(format!("must not contain a match of `{p}`"));
        }
        if let Some(r) = range(not, "minimum", "exclusiveMinimum", "maximum") {
            out.push(format!("not {r}"));
        }
    }
    if schema["additionalProperties"] == false {
        out.push("no other keys".to_owned());
    }
    out
}

/// `1..100`, `≥ 0`, `> 0, ≤ 1000000`, `≤ 9`.
fn range(schema: &Value, min: &str, exclusive_min: &str, max: &str) -> Option<String> {
    let (lo, lo_excl, hi) = (
        schema.get(min).map(number),
        schema.get(exclusive_min).map(number),
        schema.get(max).map(number),
    );
    match (lo, lo_excl, hi) {
        (Some(lo), _, Some(hi)) => Some(format!("{lo}..{hi}")),
        (Some(lo), _, None) => Some(format!("≥ {lo}")),
        (None, Some(lo), Some(hi)) => Some(format!("> {lo}, ≤ {hi}")),
        (None, Some(lo), None) => Some(format!("> {lo}")),
        (None, None, Some(hi)) => Some(format!("≤ {hi}")),
        (None, None, None) => None,
    }
}

/// `1..64`, `≥ 1`, `≤ 64`.
fn span(min: &Value, max: &Value) -> Option<String> {
    match (min, max) {
        (Value::Null, Value::Null) => None,
        (lo, Value::Null) => Some(format!("≥ {}", number(lo))),
        (Value::Null, hi) => Some(format!("≤ {}", number(hi))),
        (lo, hi) => Some(format!("{}..{}", number(lo), number(hi))),
    }
}

/// A bound as written by people: `50` rather than `50.0`, `0.5` as is.
fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(f) if value.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => value.to_string(),
    }
}

/// A field's description, with its allowed values appended when the description does not name them all.
fn field_description(schema: &Value) -> String {
    let description = schema["description"].as_str().map(clean).unwrap_or_default();
    let values: Vec<String> = match (schema["enum"].as_array(), schema["oneOf"].as_array()) {
        (Some(values), _) => values.iter().map(literal).collect(),
        (None, Some(options)) if options.iter().all(|o| o.get("const").is_some()) => {
            options.iter().map(|o| literal(&o["const"])).collect()
        }
        _ => Vec::new(),
    };
    if values.is_empty() || values.iter().all(|v| description.contains(v.as_str())) {
        return description;
    }
    let listed = format!("One of {}.", values.join(", "));
    if description.is_empty() {
        listed
    } else {
        format!("{description} {listed}")
    }
}

/// Prose from a doc comment: line breaks joined, rustdoc links (`` [`x`] ``) reduced to code.
fn clean(s: &str) -> String {
    let joined = s.split('\n').map(str::trim).collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(joined.len());
    let mut rest = joined.as_str();
    while let Some(start) = rest.find("[`") {
        let after = &rest[start + 2..];
        match after.find("`]") {
            Some(end) if !after[end + 2..].starts_with('(') && !after[..end].contains('`') => {
                out.push_str(&rest[..start]);
                out.push('`');
                out.push_str(&after[..end]);
                out.push('`');
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..start + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    clean(s).replace('|', "\\|")
}

/// The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` removed, spaces to `-`.
pub fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("`get_camera_list`"), "get_camera_list");
        assert_eq!(anchor("`rpc.discover`"), "rpcdiscover");
        assert_eq!(anchor("Type `StreamUrls`"), "type-streamurls");
        assert_eq!(anchor("Topic aliases"), "topic-aliases");
    }

    #[test]
    fn bounds_in_words() {
        assert_eq!(
            bounds(&json!({"type": "integer", "minimum": 60, "maximum": 86400})),
            ["60..86400"]
        );
        assert_eq!(bounds(&json!({"type": "integer", "minimum": 0})), ["≥ 0"]);
        assert_eq!(
            bounds(&json!({"type": "number", "exclusiveMinimum": 0.0, "maximum": 1000000.0})),
            ["> 0, ≤ 1000000"]
        );
        assert_eq!(
            bounds(&json!({"type": "number", "minimum": 0.5, "maximum": 50.0})),
            ["0.5..50"]
        );
        assert_eq!(
            bounds(&json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z]+$"})),
            ["length 1..64", "pattern `^[a-z]+$`"]
        );
        assert_eq!(
            bounds(&json!({"type": "integer", "minimum": 0, "maximum": 86400,
                           "not": {"type": "integer", "minimum": 1, "maximum": 9}})),
            ["0..86400", "not 1..9"]
        );
        assert_eq!(
            bounds(&json!({"type": "array", "minItems": 1, "maxItems": 2, "items": {"enum": ["a", "b"]}})),
            ["1..2 items", "each item: one of `a`, `b`"]
        );
    }

    #[test]
    fn types_link_only_to_rendered_types() {
        let doc = json!({"components": {"schemas": {"A": {"type": "object", "properties": {}}}}});
        let mut r = Reference::new(&doc);
        r.linked_types.insert("A".to_owned());
        assert_eq!(r.type_of(&json!({"$ref": "#/components/schemas/A"})), "[`A`](#type-a)");
        assert_eq!(r.type_of(&json!({"$ref": "#/components/schemas/B"})), "`B`");
        assert_eq!(r.type_of(&json!({"type": ["string", "null"]})), "string | null");
        assert_eq!(
            r.type_of(&json!({"type": "string", "format": "date-time"})),
            "timestamp"
        );
        assert_eq!(
            r.type_of(&json!({"type": "array", "items": {"type": "integer"}})),
            "integer[]"
        );
        assert_eq!(
            r.type_of(&json!({"type": "object", "additionalProperties": {"$ref": "#/components/schemas/A"}})),
            "map of [`A`](#type-a)"
        );
        assert_eq!(
            r.type_of(&json!({"allOf": [{"$ref": "#/components/schemas/A"}]})),
            "[`A`](#type-a)"
        );
    }

    #[test]
    fn prose_is_cleaned_for_tables() {
        assert_eq!(
            clean("see [`crate::API_VERSION`].\nnext"),
            "see `crate::API_VERSION`. next"
        );
        assert_eq!(clean("[`a`](http://x)"), "[`a`](http://x)");
        assert_eq!(cell("a | b"), "a \\| b");
    }

    #[test]
    fn allowed_values_are_added_once() {
        let s = json!({"description": "`A` or `B`.", "enum": ["A", "B"]});
        assert_eq!(field_description(&s), "`A` or `B`.");
        let s = json!({"enum": ["A", "B"]});
        assert_eq!(field_description(&s), "One of `A`, `B`.");
    }
}
