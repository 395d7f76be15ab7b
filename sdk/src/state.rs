//! What every handle of one client shares: the endpoint and settings, the current credential, the
//! subscription ledger, the event channel, and the connection slot ([`Link`]) published through a `watch`
//! channel so calls can wait for a reconnect.
//!
//! Locks are `std` mutexes held only to copy or update small values, never across an `.await`.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use camera_api::role::Role;
use tokio::sync::{broadcast, watch};

use crate::connection::{ConnectParams, Connection};
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::SdkError;
use crate::events::Event;
use crate::ledger::Ledger;
use crate::options::ClientOptions;

/// The connection slot.
#[derive(Clone, Debug)]
pub(crate) enum Link {
    /// Connected and authenticated.
    Up(Arc<Connection>),
    /// Lost; reconnect attempt `attempt` is pending (0 = not tried yet).
    Down { attempt: u32, error: String },
    /// Closed for good.
    Closed(String),
}

/// The connection state as applications see it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connected and authenticated.
    Connected {
        /// `session_id` of the current session (new after every reconnect).
        session_id: String,
        /// The session's role.
        role: Role,
    },
    /// The connection was lost; reconnecting.
    Reconnecting {
        /// Failed attempts so far.
        attempt: u32,
        /// Why the connection (or the last attempt) failed.
        error: String,
    },
    /// Closed: by [`crate::Client::close`], because reconnecting is disabled or gave up, or because the
    /// credential was rejected on reconnect.
    Closed {
        /// Why.
        reason: String,
    },
}

impl From<&Link> for ConnectionState {
    fn from(link: &Link) -> Self {
        match link {
            Link::Up(c) => ConnectionState::Connected {
                session_id: c.session.session_id.clone(),
                role: c.session.role,
            },
            Link::Down { attempt, error } => ConnectionState::Reconnecting {
                attempt: *attempt,
                error: error.clone(),
            },
            Link::Closed(reason) => ConnectionState::Closed { reason: reason.clone() },
        }
    }
}

/// State shared by every handle of one client and its supervisor task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) endpoint: Endpoint,
    pub(crate) options: ClientOptions,
    pub(crate) credentials: Mutex<Credentials>,
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) events: broadcast::Sender<Arc<Event>>,
    pub(crate) link: watch::Sender<Link>,
    /// The HTTP client for downloads, built on first use (it loads trust roots; most clients never download).
    pub(crate) http: OnceLock<reqwest::Client>,
}

impl Shared {
    /// The HTTP client for downloads, with the same TLS settings as the WebSocket.
    pub(crate) fn http(&self) -> Result<&reqwest::Client, SdkError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let built = crate::client::build_http(&self.endpoint, &self.options)?;
        // Two first downloads at once may both build one; either is fine.
        Ok(self.http.get_or_init(|| built))
    }

    pub(crate) fn credentials(&self) -> Credentials {
        self.credentials.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn set_credentials(&self, c: Credentials) {
        *self.credentials.lock().unwrap_or_else(PoisonError::into_inner) = c;
    }

    pub(crate) fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> T {
        f(&mut self.ledger.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Opens a new authenticated connection with the current credential and ledger.
    pub(crate) async fn open(&self) -> Result<Connection, SdkError> {
        crate::connection::open(ConnectParams {
            endpoint: &self.endpoint,
            options: &self.options,
            credentials: self.credentials(),
            ledger: self.with_ledger(|l| l.clone()),
            events: &self.events,
        })
        .await
    }

    /// The current connection, waiting while a reconnect is in progress (or about to start).
    pub(crate) async fn connected(&self) -> Result<Arc<Connection>, SdkError> {
        // The common case without registering as a watcher.
        if let Link::Up(c) = &*self.link.borrow()
            && c.rpc.is_connected()
        {
            return Ok(Arc::clone(c));
        }
        let mut rx = self.link.subscribe();
        loop {
            let current = rx.borrow_and_update().clone();
            match current {
                // A connection whose transport already ended is about to be replaced: wait for that.
                Link::Up(c) if c.rpc.is_connected() => return Ok(c),
                Link::Up(_) => {}
                Link::Closed(reason) => return Err(SdkError::Closed(Some(reason))),
                Link::Down { .. } => {}
            }
            if rx.changed().await.is_err() {
                return Err(SdkError::Closed(None));
            }
        }
    }

    /// The connection state as applications see it.
    pub(crate) fn state(&self) -> ConnectionState {
        ConnectionState::from(&*self.link.borrow())
    }
}
