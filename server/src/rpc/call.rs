//! The context a method handler receives: the application services, the connection the request came in on, and
//! the identity the dispatcher already checked (expiry, revocation, role).

use crate::app::AppState;
use crate::auth::identity::Identity;
use crate::rpc::connection::Connection;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Clone)]
pub struct Call {
    pub app: Arc<AppState>,
    pub conn: Arc<Connection>,
    /// `None` only for methods that need no authentication.
    pub identity: Option<Identity>,
}

impl Call {
    /// The caller's identity; handlers of authenticated methods can rely on it being present.
    pub fn identity(&self) -> crate::Result<&Identity> {
        self.identity
            .as_ref()
            .ok_or_else(|| crate::Error::internal("handler needs an identity but none was bound"))
    }
}

/// Turns params that `camera_api::validate::validate_params` already accepted into the typed struct.
pub fn parse<T: DeserializeOwned>(params: Map<String, Value>) -> crate::Result<T> {
    serde_json::from_value(Value::Object(params)).map_err(|e| {
        crate::Error::new(
            crate::ErrorKind::InvalidArgument,
            "invalid_value",
            format!("Invalid params: {e}"),
        )
    })
}
