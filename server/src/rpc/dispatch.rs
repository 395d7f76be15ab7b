//! Runs one inbound message: envelope, then for every request the check order of API.md §1.3 —
//! rate limit (ping exempt) → method lookup → authentication → role → transport → params → readiness gate →
//! handler — then writes the response(s). Batches run element by element in order; notifications are executed
//! and never answered. Records `camera_service_rpc_requests_total` and the duration histogram.
//!
//! Hot path: no locks beyond the connection's rate bucket and session read, no allocation for `ping` beyond
//! the response string.

use crate::app::AppState;
use crate::error::{Error, ErrorKind};
use crate::rpc::call::Call;
use crate::rpc::connection::{Connection, Transport};
use crate::rpc::envelope::{self, Element, Inbound, Request, null_id};
use crate::rpc::errors::{code_for, error_object};
use crate::rpc::handlers;
use camera_api::methods::MethodSpec;
use camera_api::validate::{ParamError, validate_params};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Handles one inbound text (a request or a batch). `None` when nothing is to be sent back.
pub async fn handle_text(app: &Arc<AppState>, conn: &Arc<Connection>, text: &str) -> Option<String> {
    let inbound = match envelope::parse(text, app.config.server.max_batch) {
        Ok(inbound) => inbound,
        Err(e) => return Some(envelope::write_error(null_id(), &error_object(&e), None)),
    };
    match inbound {
        Inbound::Single(element) => handle_element(app, conn, element).await,
        Inbound::EmptyBatch => {
            let e = Error::new(
                ErrorKind::InvalidRequest,
                "empty_batch",
                "A batch must contain at least one request",
            );
            Some(envelope::write_error(null_id(), &error_object(&e), None))
        }
        Inbound::BatchTooLarge => {
            let max = app.config.server.max_batch;
            let e = Error::new(
                ErrorKind::InvalidRequest,
                "batch_too_large",
                format!("A batch may hold at most {max} requests"),
            )
            .with("max_batch_size", max);
            Some(envelope::write_error(null_id(), &error_object(&e), None))
        }
        Inbound::Batch(elements) => {
            let mut replies = Vec::with_capacity(elements.len());
            for element in elements {
                if let Some(reply) = handle_element(app, conn, element).await {
                    replies.push(reply);
                }
            }
            (!replies.is_empty()).then(|| format!("[{}]", replies.join(",")))
        }
    }
}

/// The -32700 reply for input that cannot be read at all.
pub fn parse_error_reply(details: &str) -> String {
    let e = Error::new(ErrorKind::Parse, "parse_error", details);
    envelope::write_error(null_id(), &error_object(&e), None)
}

async fn handle_element(app: &Arc<AppState>, conn: &Arc<Connection>, element: Element<'_>) -> Option<String> {
    let started = Instant::now();
    let request = match element {
        Element::Invalid { id, error } => {
            let meta = metadata(app, started);
            return Some(envelope::write_error(id, &error_object(&error), meta.as_deref()));
        }
        Element::Request(request) => request,
    };
    let span = tracing::debug_span!("rpc", conn = conn.id, method = %request.method, id = request.id.map(|i| i.get()));
    let outcome = execute(app, conn, &request).instrument(span).await;
    app.rpc_metrics.record(
        &request.method,
        outcome.as_ref().err().map(|e| code_for(e.kind).code()),
        conn.transport,
        started.elapsed(),
    );
    let id = request.id?;
    let meta = metadata(app, started);
    Some(match outcome {
        Ok(result) => envelope::write_result(id, &result, meta.as_deref()),
        Err(err) => {
            if err.kind == ErrorKind::Internal {
                tracing::error!(conn = conn.id, method = %request.method, "request failed: {err}");
            }
            envelope::write_error(id, &error_object(&err), meta.as_deref())
        }
    })
}

/// Runs the checks and the handler; returns the serialized `result`.
async fn execute(app: &Arc<AppState>, conn: &Arc<Connection>, request: &Request<'_>) -> Result<String, Error> {
    if request.method == "ping" {
        // Not rate limited, no authentication, unknown keys ignored; the params-object rule still applies.
        if request.params.is_some_and(|p| !p.get().starts_with('{')) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "params_must_be_object",
                "params must be a JSON object",
            ));
        }
        return Ok("\"pong\"".to_owned());
    }
    if let Err(retry_after_ms) = conn.take_rate_token(app.clock.elapsed()) {
        return Err(
            Error::new(ErrorKind::RateLimited, "rate_limited", "Request rate limit exceeded")
                .with("retry_after_ms", retry_after_ms)
                .suggest("Slow down and retry after retry_after_ms"),
        );
    }
    let (spec, handler) = match (
        camera_api::methods::method(&request.method),
        handlers::lookup(&request.method),
    ) {
        (Some(spec), Some(handler)) => (spec, handler),
        _ => {
            return Err(Error::new(
                ErrorKind::MethodNotFound,
                "method_not_found",
                format!("Unknown method {:?}", request.method),
            )
            .suggest("Call rpc.discover for the list of methods"));
        }
    };
    let identity = authorize(app, conn, spec)?;
    if spec.websocket_only && conn.transport == Transport::Http {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "requires_websocket",
            format!("{} is only available over WebSocket", spec.name),
        )
        .with("feature", "websocket")
        .suggest("Connect to /ws"));
    }
    let params = match request.params {
        None => None,
        Some(raw) => Some(serde_json::from_str::<serde_json::Value>(raw.get()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                "invalid_type",
                format!("params could not be read: {e}"),
            )
        })?),
    };
    let params = validate_params(spec, params.as_ref()).map_err(param_error)?;
    if spec.gated && !app.readiness.is_ready() {
        return Err(Error::new(
            ErrorKind::Unavailable,
            "service_initializing",
            "The first camera discovery scan has not finished",
        )
        .with("dependency", "service")
        .with("retry_after_ms", 500)
        .suggest("Retry shortly"));
    }
    let call = Call {
        app: app.clone(),
        conn: conn.clone(),
        identity,
    };
    let result = handler(call, params).await?;
    serde_json::to_string(&result).map_err(Error::internal)
}

/// Authentication and role checks for methods that need them.
fn authorize(
    app: &AppState,
    conn: &Connection,
    spec: &MethodSpec,
) -> Result<Option<crate::auth::identity::Identity>, Error> {
    let Some(min_role) = spec.min_role else { return Ok(None) };
    let Some(session) = conn.session() else {
        if let Some(err) = conn.credential_error() {
            return Err(err);
        }
        return Err(
            Error::new(ErrorKind::Unauthenticated, "auth_required", "Authentication required")
                .suggest("Call authenticate with a JWT or an API key first"),
        );
    };
    app.auth.check_session(&session.identity)?;
    if session.identity.role < min_role {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "insufficient_role",
            format!("{} needs role {} or higher", spec.name, min_role.as_str()),
        )
        .with("required_role", min_role.as_str())
        .with("have_role", session.identity.role.as_str()));
    }
    Ok(Some(session.identity))
}

fn param_error(e: ParamError) -> Error {
    let mut err = Error::new(ErrorKind::InvalidArgument, e.reason, e.details);
    if let Some(param) = e.param {
        err = err.with("param", param);
    }
    if let Some(allowed) = e.allowed {
        err = err.with("allowed", allowed);
    }
    if let Some(topics) = e.valid_topics {
        err = err.with("valid_topics", topics);
    }
    err
}

/// The optional `metadata` member (`server.response_metadata`).
fn metadata(app: &AppState, started: Instant) -> Option<String> {
    if !app.config.server.response_metadata {
        return None;
    }
    Some(
        serde_json::json!({
            "processing_time_ms": started.elapsed().as_millis() as u64,
            "server_timestamp": crate::clock::format_timestamp(app.clock.now()),
            "request_id": uuid::Uuid::new_v4().to_string(),
        })
        .to_string(),
    )
}
