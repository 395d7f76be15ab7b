//! [`Client`]: a cheap-to-clone handle on one logical connection to a camera-service. It connects and
//! authenticates, hands calls to the current connection (waiting for a reconnect when one is in progress),
//! applies the per-call timeout, and owns the supervisor task, which stops when the last handle is dropped
//! or [`Client::close`] is called.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camera_api::types::{AuthenticateResult, EventFilters};
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ObjectParams;
use serde_json::{Map, Value};
use tokio::sync::{broadcast, watch};

use crate::connection::Rpc;
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::SdkError;
use crate::events::{EventFilter, EventStream};
use crate::ledger::Ledger;
use crate::options::ClientOptions;
use crate::state::{ConnectionState, Link, Shared};
use crate::tls::TlsOptions;

/// A connection to camera-service over `ws://` or `wss://`. Clones share the connection.
///
/// Must be created and used inside a Tokio runtime.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    handle: Arc<CloseOnDrop>,
    timeout: Duration,
}

/// Signals the supervisor to stop when the last [`Client`] handle goes away.
#[derive(Debug)]
struct CloseOnDrop(watch::Sender<bool>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

impl Client {
    /// Connects to `url` (`ws://host:8002/ws` or `wss://…`) with default options and authenticates.
    pub async fn connect(url: &str, credentials: Credentials) -> Result<Client, SdkError> {
        Client::connect_with(url, credentials, ClientOptions::default()).await
    }

    /// Connects with explicit options and authenticates. The first connection is attempted once: its
    /// failure is returned; reconnects with backoff apply only after it succeeded.
    pub async fn connect_with(url: &str, credentials: Credentials, options: ClientOptions) -> Result<Client, SdkError> {
        let endpoint = Endpoint::parse(url)?;
        let (events, _) = broadcast::channel(options.event_buffer.max(1));
        let (link, _) = watch::channel(Link::Down {
            attempt: 0,
            error: "connecting".to_owned(),
        });
        let timeout = options.request_timeout;
        let shared = Arc::new(Shared {
            endpoint,
            options,
            credentials: Mutex::new(credentials),
            ledger: Mutex::new(Ledger::default()),
            events,
            link,
            http: std::sync::OnceLock::new(),
        });
        let conn = Arc::new(shared.open().await?);
        shared.link.send_replace(Link::Up(Arc::clone(&conn)));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        tokio::spawn(crate::supervisor::supervise(Arc::clone(&shared), conn, shutdown_rx));
        Ok(Client {
            shared,
            handle: Arc::new(CloseOnDrop(shutdown_tx)),
            timeout,
        })
    }

    /// A handle on the same connection whose calls use `timeout` instead of the default.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// The time limit of this handle's calls.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The WebSocket URL in use.
    pub fn url(&self) -> &str {
        self.shared.endpoint.ws_url()
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        self.shared.state()
    }

    /// A watcher of connection state changes (reconnects, closing).
    pub fn state_changes(&self) -> StateChanges {
        StateChanges(self.shared.link.subscribe())
    }

    /// The result of the current session's `authenticate`, while connected.
    pub fn session(&self) -> Option<AuthenticateResult> {
        match &*self.shared.link.borrow() {
            Link::Up(c) => Some(c.session.clone()),
            _ => None,
        }
    }

    /// Every notification this client receives, from now on. Narrow it with [`EventStream::topic`] and
    /// [`EventStream::device`]. The server sends only what the connection subscribed to
    /// ([`Client::subscribe_events`], plus the legacy names of API.md §5.2 by default).
    pub fn events(&self) -> EventStream {
        EventStream::new(
            self.shared.events.subscribe(),
            EventFilter::default(),
            Some(self.shared.link.subscribe()),
        )
    }

    /// Subscribes the connection to `topics` (server-side filter on `device` when given) and returns a
    /// stream of exactly those events. The subscription is restored after every reconnect.
    pub async fn subscribe(&self, topics: &[&str], device: Option<&str>) -> Result<EventStream, SdkError> {
        let filter = EventFilter {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            device: device.map(str::to_owned),
        };
        // Listen before subscribing so nothing sent right after the response is missed.
        let stream = EventStream::new(
            self.shared.events.subscribe(),
            filter,
            Some(self.shared.link.subscribe()),
        );
        let filters = device.map(|d| EventFilters {
            device: Some(d.to_owned()),
            ..EventFilters::default()
        });
        let topics = topics.iter().map(|t| (*t).to_owned()).collect();
        self.subscribe_events(topics, filters).await?;
        Ok(stream)
    }

    /// Calls any method by name with an object of params (`None`: no params) and returns the raw result.
    /// For methods newer than this SDK, and for load generation.
    pub async fn call_raw(&self, method: &str, params: Option<Map<String, Value>>) -> Result<Value, SdkError> {
        let method = method.to_owned();
        self.call(move |rpc| async move {
            let mut object = ObjectParams::new();
            for (k, v) in params.unwrap_or_default() {
                object.insert(&k, v)?;
            }
            rpc.request::<Value, _>(&method, object).await
        })
        .await
    }

    /// Closes the connection and stops reconnecting; every handle and event stream sees the client closed.
    pub async fn close(&self) {
        self.handle.0.send_replace(true);
        let mut rx = self.shared.link.subscribe();
        let _ = rx.wait_for(|l| matches!(l, Link::Closed(_))).await;
    }

    /// Runs one call on the current connection within this handle's timeout.
    pub(crate) async fn call<T, F, Fut>(&self, f: F) -> Result<T, SdkError>
    where
        F: FnOnce(Arc<Rpc>) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let run = async {
            let conn = self.shared.connected().await?;
            f(Arc::clone(&conn.rpc)).await.map_err(SdkError::from_client)
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Err(SdkError::Timeout(_))) | Err(_) => Err(SdkError::Timeout(self.timeout)),
            Ok(result) => result,
        }
    }
}

/// Watches a client's [`ConnectionState`].
#[derive(Debug)]
pub struct StateChanges(watch::Receiver<Link>);

impl StateChanges {
    /// The state now.
    pub fn current(&self) -> ConnectionState {
        ConnectionState::from(&*self.0.borrow())
    }

    /// Waits for the next change; `None` once the client is gone.
    pub async fn changed(&mut self) -> Option<ConnectionState> {
        self.0.changed().await.ok()?;
        Some(ConnectionState::from(&*self.0.borrow_and_update()))
    }
}

/// The HTTP client for downloads, with the same TLS settings as the WebSocket.
pub(crate) fn build_http(endpoint: &Endpoint, options: &ClientOptions) -> Result<reqwest::Client, SdkError> {
    let mut builder = reqwest::Client::builder().connect_timeout(options.connect_timeout);
    if endpoint.is_tls() && options.tls != TlsOptions::SystemRoots {
        if let Some(config) = options.tls.client_config()? {
            builder = builder.tls_backend_preconfigured(config);
        }
    } else {
        crate::tls::install_crypto_provider();
    }
    builder
        .build()
        .map_err(|e| SdkError::Tls(format!("cannot build the HTTP client: {e}")))
}
