//! One authenticated WebSocket connection: open it (TLS, upgrade), register a handler for every
//! notification method, `authenticate`, and replay the subscription ledger.
//!
//! Each notification method gets a small forwarder task that moves notifications into the client's
//! broadcast channel without ever waiting (a full channel drops the oldest for slow streams, never blocks
//! the connection). The tasks live in the connection's `JoinSet` and stop when the connection is dropped.

use std::sync::{Arc, Weak};

use camera_api::client::CameraApiClient;
use camera_api::notifications::NOTIFICATIONS;
use camera_api::types::AuthenticateResult;
use jsonrpsee::core::client::{Subscription, SubscriptionClientT, SubscriptionCloseReason};
use jsonrpsee::ws_client::{PingConfig, RpcService, RpcServiceBuilder, WsClient, WsClientBuilder};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::SdkError;
use crate::events::Event;
use crate::ledger::{Ledger, ReplayCall};
use crate::options::ClientOptions;

/// The jsonrpsee client type the SDK uses (no middleware).
pub(crate) type Rpc = WsClient<RpcService>;

/// jsonrpsee's own per-request timeout; the SDK applies its own, per call, on top.
const TRANSPORT_REQUEST_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// An open, authenticated connection.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) rpc: Arc<Rpc>,
    pub(crate) session: AuthenticateResult,
    _forwarders: JoinSet<()>,
}

/// What a new connection needs from the client.
pub(crate) struct ConnectParams<'a> {
    pub(crate) endpoint: &'a Endpoint,
    pub(crate) options: &'a ClientOptions,
    pub(crate) credentials: Credentials,
    pub(crate) ledger: Ledger,
    pub(crate) events: &'a broadcast::Sender<Arc<Event>>,
}

/// Opens, authenticates and restores subscriptions, all within `options.connect_timeout` (TLS and upgrade)
/// plus `options.request_timeout` (authenticate and replay).
pub(crate) async fn open(p: ConnectParams<'_>) -> Result<Connection, SdkError> {
    let rpc = Arc::new(build_transport(p.endpoint, p.options).await?);
    let forwarders = register_forwarders(&rpc, p.events).await?;
    let setup = async {
        let session = rpc
            .authenticate(p.credentials.token().to_owned())
            .await
            .map_err(SdkError::from_client)?;
        for call in p.ledger.replay() {
            let result = match call {
                ReplayCall::Unsubscribe(topics) => rpc.unsubscribe_events(Some(topics)).await.map(drop),
                ReplayCall::Subscribe(topics, filters) => rpc.subscribe_events(topics, filters).await.map(drop),
            };
            if let Err(e) = result {
                let e = SdkError::from_client(e);
                if e.kind() == crate::ErrorKind::Connection {
                    return Err(e);
                }
                tracing::warn!(error = %e, "restoring an event subscription failed");
            }
        }
        Ok(session)
    };
    let session = tokio::time::timeout(p.options.request_timeout, setup)
        .await
        .map_err(|_| SdkError::Timeout(p.options.request_timeout))??;
    Ok(Connection {
        rpc,
        session,
        _forwarders: forwarders,
    })
}

/// TCP / TLS / WebSocket upgrade.
async fn build_transport(endpoint: &Endpoint, options: &ClientOptions) -> Result<Rpc, SdkError> {
    let mut builder = WsClientBuilder::new()
        .request_timeout(TRANSPORT_REQUEST_TIMEOUT)
        .connection_timeout(options.connect_timeout)
        .max_request_size(options.max_message_bytes)
        .max_response_size(options.max_message_bytes)
        .max_buffer_capacity_per_subscription(options.event_buffer.max(16));
    builder = match options.ping_interval {
        Some(interval) => builder.enable_ws_ping(
            PingConfig::new()
                .ping_interval(interval)
                .inactive_limit(interval.saturating_mul(3)),
        ),
        None => builder.disable_ws_ping(),
    };
    if endpoint.is_tls()
        && let Some(config) = options.tls.client_config()?
    {
        builder = builder.with_custom_cert_store(config);
    }
    let builder = builder.set_rpc_middleware(RpcServiceBuilder::new());
    let connect = builder.build(endpoint.ws_url());
    match tokio::time::timeout(options.connect_timeout, connect).await {
        Ok(Ok(rpc)) => Ok(rpc),
        Ok(Err(e)) => Err(SdkError::Connection(format!(
            "{}: {}",
            endpoint.ws_url(),
            SdkError::from_client(e)
                .to_string()
                .trim_start_matches("connection failed: ")
        ))),
        Err(_) => Err(SdkError::Connection(format!(
            "{}: no connection within {:?}",
            endpoint.ws_url(),
            options.connect_timeout
        ))),
    }
}

/// Registers every notification method of the contract and starts its forwarder.
async fn register_forwarders(rpc: &Arc<Rpc>, events: &broadcast::Sender<Arc<Event>>) -> Result<JoinSet<()>, SdkError> {
    let mut tasks = JoinSet::new();
    for spec in NOTIFICATIONS {
        let sub: Subscription<Value> = rpc
            .subscribe_to_method(spec.name)
            .await
            .map_err(SdkError::from_client)?;
        tasks.spawn(forward(spec.name, sub, Arc::downgrade(rpc), events.clone()));
    }
    Ok(tasks)
}

/// Moves one method's notifications into the broadcast channel. If jsonrpsee dropped the handler because
/// its buffer overflowed while the connection is still up, registers it again.
async fn forward(
    method: &'static str,
    mut sub: Subscription<Value>,
    rpc: Weak<Rpc>,
    events: broadcast::Sender<Arc<Event>>,
) {
    loop {
        while let Some(item) = sub.next().await {
            match item {
                Ok(params) => {
                    // No receiver is not an error: nobody is listening right now.
                    let _ = events.send(Arc::new(Event::new(method, params)));
                }
                Err(e) => tracing::debug!(method, error = %e, "unparsable notification params"),
            }
        }
        if !matches!(sub.close_reason(), Some(SubscriptionCloseReason::Lagged)) {
            return;
        }
        let Some(rpc) = rpc.upgrade() else { return };
        if !rpc.is_connected() {
            return;
        }
        tracing::warn!(method, "notification buffer overflowed; re-registering");
        match rpc.subscribe_to_method(method).await {
            Ok(again) => sub = again,
            Err(_) => return,
        }
    }
}
