//! Client settings: TLS, timeouts, reconnect policy and buffer sizes, with defaults suited to the service's
//! limits (API.md §1.2, §1.4).

use std::time::Duration;

use crate::backoff::ReconnectPolicy;
use crate::tls::TlsOptions;

/// Settings of a [`crate::Client`]. Start from `ClientOptions::default()` and change what you need.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    /// Certificate verification for `wss://` and `https://`.
    pub tls: TlsOptions,
    /// Default time limit of one call, including any wait for a reconnect.
    /// Override per call with [`crate::Client::with_timeout`].
    pub request_timeout: Duration,
    /// Time limit of opening one connection (TCP, TLS, WebSocket upgrade and `authenticate`).
    pub connect_timeout: Duration,
    /// Reconnect behaviour after the connection is lost.
    pub reconnect: ReconnectPolicy,
    /// Notifications buffered per [`crate::EventStream`]; a consumer that falls further behind loses the
    /// oldest ones (counted by [`crate::EventStream::lost`]).
    pub event_buffer: usize,
    /// Largest message sent or accepted, bytes (the server's default limit is 16 MiB).
    pub max_message_bytes: u32,
    /// Most calls in flight on one connection; further calls wait for a slot (within their timeout).
    pub max_in_flight: usize,
    /// Interval of client WebSocket Pings that detect a dead connection (`None`: rely on the server's).
    pub ping_interval: Option<Duration>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tls: TlsOptions::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            reconnect: ReconnectPolicy::default(),
            event_buffer: 1024,
            max_message_bytes: 16 * 1024 * 1024,
            max_in_flight: 256,
            ping_interval: Some(Duration::from_secs(20)),
        }
    }
}
