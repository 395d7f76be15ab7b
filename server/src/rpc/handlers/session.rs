//! Session and meta methods: `ping`, `authenticate` (binds a session to a WebSocket connection; over HTTP it
//! only validates), and `rpc.discover` (the OpenRPC document with `servers` set to this host).

use crate::error::{Error, ErrorKind};
use crate::rpc::call::{Call, parse};
use crate::rpc::connection::{Session, Transport};
use camera_api::types::meta::{AuthenticateParams, AuthenticateResult};
use serde_json::{Map, Value};

pub async fn ping(_call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    Ok(Value::from("pong"))
}

pub async fn authenticate(call: Call, params: Map<String, Value>) -> crate::Result<Value> {
    let params: AuthenticateParams = parse(params)?;
    let app = &call.app;
    let ip = call.conn.remote_ip;
    if let Err(retry_after_ms) = app.auth_failures.check(ip, app.clock.elapsed()) {
        return Err(Error::new(
            ErrorKind::RateLimited,
            "auth_rate_limited",
            "Too many failed authentication attempts",
        )
        .with("retry_after_ms", retry_after_ms)
        .suggest("Wait retry_after_ms before trying again"));
    }
    let identity = match app.auth.authenticate(&params.auth_token).await {
        Ok(identity) => identity,
        Err(err) => {
            if err.kind == ErrorKind::Unauthenticated {
                app.auth_failures.record_failure(ip, app.clock.elapsed());
            }
            return Err(err);
        }
    };
    let session_id = uuid::Uuid::new_v4().to_string();
    if call.conn.transport == Transport::WebSocket {
        if let Some(subscriber) = &call.conn.subscriber {
            subscriber.on_authenticated(identity.expires_at);
        }
        call.conn.set_session(Session {
            identity: identity.clone(),
            session_id: session_id.clone(),
        });
    }
    let result = AuthenticateResult {
        authenticated: true,
        role: identity.role,
        permissions: identity.role.permissions().iter().map(|p| p.to_string()).collect(),
        expires_at: identity.expires_at.map(crate::clock::format_timestamp),
        session_id,
        user_id: identity.user_id.clone(),
        auth_method: identity.auth_method.as_str().to_owned(),
    };
    serde_json::to_value(result).map_err(Error::internal)
}

pub async fn discover(call: Call, _params: Map<String, Value>) -> crate::Result<Value> {
    let mut document: Value = serde_json::from_str(&call.app.openrpc).map_err(Error::internal)?;
    if let Some(base) = call.conn.base_url() {
        let ws = base.replacen("http", "ws", 1);
        document["servers"] = serde_json::json!([{"name": "this server", "url": format!("{ws}/ws")}]);
    }
    Ok(document)
}
