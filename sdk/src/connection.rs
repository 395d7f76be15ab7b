//! One authenticated connection: open the WebSocket ([`crate::transport`], which also routes every
//! notification into the client's broadcast channel), `authenticate`, and replay the subscription ledger.

use std::sync::Arc;

use camera_api::client::CameraApiClient;
use camera_api::types::AuthenticateResult;
use tokio::sync::broadcast;

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::SdkError;
use crate::events::Event;
use crate::ledger::{Ledger, ReplayCall};
use crate::options::ClientOptions;

/// The JSON-RPC client type the SDK uses: its own lean WebSocket transport.
pub(crate) type Rpc = crate::transport::WsRpc;

/// An open, authenticated connection.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) rpc: Arc<Rpc>,
    pub(crate) session: AuthenticateResult,
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
    let rpc = Arc::new(crate::transport::connect(p.endpoint, p.options, p.events.clone()).await?);
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
    Ok(Connection { rpc, session })
}
