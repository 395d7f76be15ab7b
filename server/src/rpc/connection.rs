//! One client connection (a WebSocket, or one HTTP request) and the registry of live connections.
//!
//! A `Connection` holds what the dispatcher needs per request: the peer address, the host the client used (for
//! URLs), the bound session (WebSocket only), the request-rate bucket and, for WebSockets, the event subscriber.
//! Locks here are std mutexes held for a few instructions, never across an await.

use crate::auth::identity::Identity;
use crate::auth::limits::TokenBucket;
use crate::events::Subscriber;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Http,
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "ws",
            Transport::Http => "http",
        }
    }
}

/// A successful `authenticate`: who, and the session id handed out.
#[derive(Clone, Debug)]
pub struct Session {
    pub identity: Identity,
    pub session_id: String,
}

pub struct Connection {
    pub id: u64,
    /// Opaque id shown to the client (`get_subscription_stats.client_id`).
    pub client_id: String,
    pub transport: Transport,
    pub remote_ip: IpAddr,
    /// `Host` header of the upgrade or HTTP request, for absolute URLs.
    pub host: Option<String>,
    pub tls: bool,
    session: RwLock<Option<Session>>,
    /// Per connection for WebSockets; shared per remote IP for HTTP.
    rate: Arc<Mutex<TokenBucket>>,
    /// HTTP only: the credential header was present but rejected; reported instead of `auth_required`.
    credential_error: Option<crate::Error>,
    /// Event subscriber (WebSocket connections only).
    pub subscriber: Option<Arc<Subscriber>>,
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

pub struct ConnectionInit {
    pub subscriber: Option<Arc<Subscriber>>,
    pub transport: Transport,
    pub remote_ip: IpAddr,
    pub host: Option<String>,
    pub tls: bool,
    pub rate: Arc<Mutex<TokenBucket>>,
    pub credential_error: Option<crate::Error>,
}

impl Connection {
    /// A fresh connection id and the opaque client id derived from it.
    pub fn allocate_id() -> (u64, String) {
        let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
        (id, format!("c_{id:08x}"))
    }

    pub fn new(id: u64, client_id: String, init: ConnectionInit) -> Connection {
        Connection {
            id,
            client_id,
            transport: init.transport,
            remote_ip: init.remote_ip,
            host: init.host,
            tls: init.tls,
            session: RwLock::new(None),
            rate: init.rate,
            credential_error: init.credential_error,
            subscriber: init.subscriber,
        }
    }

    pub fn session(&self) -> Option<Session> {
        self.session.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_session(&self, session: Session) {
        *self.session.write().unwrap_or_else(|p| p.into_inner()) = Some(session);
    }

    pub fn credential_error(&self) -> Option<crate::Error> {
        self.credential_error.clone()
    }

    /// Whether this connection's session was authenticated with the given API key (directly or by a JWT
    /// minted in a session of that key).
    pub fn uses_key(&self, key_id: &str) -> bool {
        self.session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|s| s.identity.key_id.as_deref() == Some(key_id))
    }

    /// Takes one request token; `Err(retry_after_ms)` when the bucket is empty.
    pub fn take_rate_token(&self, now: std::time::Duration) -> Result<(), u64> {
        self.rate.lock().unwrap_or_else(|p| p.into_inner()).try_take(now)
    }

    /// Scheme + host for absolute URLs (`ws`/`wss` connections use `http`/`https`).
    pub fn base_url(&self) -> Option<String> {
        let scheme = if self.tls { "https" } else { "http" };
        self.host.as_ref().map(|h| format!("{scheme}://{h}"))
    }
}

/// Every live WebSocket connection, for counting sessions of a key, subscription stats and shutdown.
#[derive(Default)]
pub struct ConnectionRegistry {
    live: Mutex<HashMap<u64, Weak<Connection>>>,
    emptied: tokio::sync::Notify,
}

impl ConnectionRegistry {
    pub fn register(&self, conn: &Arc<Connection>) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conn.id, Arc::downgrade(conn));
    }

    pub fn unregister(&self, id: u64) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.remove(&id);
        if live.is_empty() {
            self.emptied.notify_waiters();
        }
    }

    /// Completes once no connection is registered.
    pub async fn wait_empty(&self) {
        loop {
            let emptied = self.emptied.notified();
            if self.is_empty() {
                return;
            }
            emptied.await;
        }
    }

    pub fn len(&self) -> usize {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live sessions that authenticated with `key_id` (reported by `revoke_api_key`).
    pub fn sessions_using_key(&self, key_id: &str) -> usize {
        self.snapshot().iter().filter(|c| c.uses_key(key_id)).count()
    }

    pub fn snapshot(&self) -> Vec<Arc<Connection>> {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }
}
