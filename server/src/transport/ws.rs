//! `GET /ws`: admission (shutdown, upgrade headers, origin, per-IP and global caps — API.md §6.3) and the
//! per-connection loop.
//!
//! One task per connection multiplexes: inbound frames, responses of in-flight requests (run concurrently in a
//! `FuturesUnordered`, at most `server.max_inflight_per_connection`; beyond that the socket is not read until one
//! completes), outbound notifications from the bounded event queue, keepalive pings, and revocation changes
//! (ending notifications of a session whose key was revoked). No per-connection timer runs besides keepalive.
//! Every socket write is bounded by `notifications.stall_timeout`; a peer that stops reading, or whose queue
//! stays full that long, is closed with 1013.
//! Close codes: 1001 shutdown, 1007 invalid UTF-8, 1009 message too big, 1013 slow consumer.
//! Per-connection buffers are sized deliberately (read buffer `WS_READ_BUFFER`), so idle connections stay small.

use crate::app::AppState;
use crate::rpc::connection::{Connection, ConnectionInit, Transport};
use crate::rpc::dispatch;
use crate::rpc::envelope::{null_id, write_error};
use crate::rpc::errors::error_object;
use crate::transport::http_error::{http_error, http_error_retry};
use crate::transport::limits::{ConnectionPermit, Rejection, client_ip, origin_allowed};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Initial read buffer per connection; it grows only while a large message is being read.
const WS_READ_BUFFER: usize = 2 * 1024;
/// Outbound frames are written once this much is buffered, or at the flush after each burst of replies
/// (tungstenite's default would collect 128 KiB per connection).
const WS_WRITE_BUFFER: usize = 8 * 1024;

pub async fn upgrade(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if app.is_shutting_down() {
        return reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "The server is shutting down",
            Some(5),
        );
    }
    let Ok(ws) = ws else {
        return http_error(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "GET /ws needs a WebSocket upgrade",
        );
    };
    let server = &app.config.server;
    if !origin_allowed(&headers, server) {
        return reject(StatusCode::FORBIDDEN, "origin_not_allowed", "Origin not allowed", None);
    }
    let ip = client_ip(peer.ip(), &headers, server);
    let permit = match app.connection_caps.try_acquire(ip) {
        Ok(permit) => permit,
        Err(Rejection::PerIp) => {
            return reject(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                "Too many connections from this address",
                Some(5),
            );
        }
        Err(Rejection::Global) => {
            return reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_at_capacity",
                "The server is at its connection limit",
                Some(5),
            );
        }
    };
    let host = headers.get("host").and_then(|h| h.to_str().ok()).map(str::to_owned);
    let max = server.max_message_bytes;
    ws.read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WS_WRITE_BUFFER)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| run_connection(app, socket, ip, host, permit))
}

fn reject(status: StatusCode, reason: &'static str, message: &str, retry_after: Option<u64>) -> Response {
    metrics::counter!("camera_service_ws_connections_rejected_total", "reason" => reason).increment(1);
    match retry_after {
        Some(secs) => http_error_retry(status, reason, message, secs),
        None => http_error(status, reason, message),
    }
}

async fn run_connection(
    app: Arc<AppState>,
    mut socket: WebSocket,
    ip: IpAddr,
    host: Option<String>,
    permit: ConnectionPermit,
) {
    let _permit = permit;
    let (id, client_id) = Connection::allocate_id();
    let (subscriber, mut notifications) = app.events.register(&client_id);
    let conn = Arc::new(Connection::new(
        id,
        client_id,
        ConnectionInit {
            transport: Transport::WebSocket,
            remote_ip: ip,
            host,
            tls: app.tls_enabled,
            rate: Arc::new(Mutex::new(app.new_rate_bucket())),
            credential_error: None,
            subscriber: Some(subscriber.clone()),
        },
    ));
    app.connections.register(&conn);
    metrics::gauge!("camera_service_ws_connections").increment(1.0);
    tracing::debug!(conn = id, %ip, "websocket connected");

    let server = &app.config.server;
    let max_inflight = server.max_inflight_per_connection;
    let pong_timeout = Duration::from_secs(server.pong_timeout_secs);
    let stall_timeout = Duration::from_secs(app.config.notifications.stall_timeout);
    let mut keepalive = tokio::time::interval(Duration::from_secs(server.ping_interval_secs));
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.reset();
    let mut revocations = app.auth.revocation_changes();
    let mut shutdown = app.shutdown_signal();
    let mut inflight = FuturesUnordered::new();
    let mut last_heard = Instant::now();

    let close = loop {
        tokio::select! {
            biased;
            _ = async { shutdown.wait_for(|down| *down).await.is_ok() } => {
                // Deliver what is already queued (e.g. `system.shutdown`) before closing.
                while let Ok(note) = notifications.try_recv() {
                    if within(stall_timeout, socket.send(Message::Text(note.as_ref().into()))).await.is_err() {
                        break;
                    }
                }
                break Some((1001, "server shutdown"));
            }
            Some(reply) = inflight.next(), if !inflight.is_empty() => {
                // Feed every reply that is ready, then flush once: a pipelined burst costs one write.
                let mut ready = Some(reply);
                let mut failed = None;
                while let Some(reply) = ready.take() {
                    if let Some(text) = reply {
                        let text: String = text;
                        if let Err(e) = within(stall_timeout, socket.feed(Message::Text(text.into()))).await {
                            failed = Some(e);
                            break;
                        }
                    }
                    ready = inflight.next().now_or_never().flatten();
                }
                let flushed = match failed {
                    Some(e) => Err(e),
                    None => within(stall_timeout, socket.flush()).await,
                };
                if let Err(e) = flushed {
                    break e.close();
                }
            }
            frame = socket.recv(), if inflight.len() < max_inflight => {
                last_heard = Instant::now();
                // Take every frame already buffered, so their replies can leave together.
                let mut next = Some(frame);
                let mut outcome = None;
                while let Some(frame) = next.take() {
                    match frame {
                        None => { outcome = Some(None); break; }
                        Some(Err(e)) => { outcome = Some(close_code_for(e)); break; }
                        Some(Ok(Message::Text(text))) => {
                            let app = app.clone();
                            let conn = conn.clone();
                            inflight.push(async move { dispatch::handle_text(&app, &conn, text.as_str()).await });
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let err = crate::Error::new(crate::ErrorKind::InvalidRequest, "binary_frame", "Binary frames are not accepted; send JSON text");
                            let reply = write_error(null_id(), &error_object(&err), None);
                            if let Err(e) = within(stall_timeout, socket.send(Message::Text(reply.into()))).await {
                                outcome = Some(e.close());
                                break;
                            }
                        }
                        Some(Ok(Message::Close(_))) => { outcome = Some(None); break; }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    }
                    if inflight.len() < max_inflight {
                        next = socket.recv().now_or_never();
                    }
                }
                if let Some(close) = outcome {
                    break close;
                }
            }
            Some(note) = notifications.recv() => {
                if let Err(e) = within(stall_timeout, socket.send(Message::Text(note.as_ref().into()))).await {
                    break e.close();
                }
                // The queue may stay full although frames leave: a consumer slower than the producers.
                if subscriber.stalled_for(app.clock.elapsed()).is_some_and(|d| d >= stall_timeout) {
                    break Some((1013, "slow consumer"));
                }
            }
            Ok(()) = revocations.changed() => {
                // A key was revoked (API, offline CLI, or a rotation's grace period): end or shorten this
                // connection's notifications accordingly. Requests are checked on every call anyway.
                if let Some(session) = conn.session() {
                    match app.auth.check_session(&session.identity) {
                        Err(_) => subscriber.on_session_ended(),
                        Ok(()) => subscriber.on_authenticated(app.auth.session_ends_at(&session.identity)),
                    }
                }
            }
            _ = keepalive.tick() => {
                if last_heard.elapsed() > pong_timeout {
                    tracing::debug!(conn = id, "no pong within the timeout; dropping");
                    break None;
                }
                if let Err(e) = within(stall_timeout, socket.send(Message::Ping(Default::default()))).await {
                    break e.close();
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(Message::Close(Some(frame)))).await;
    }
    app.connections.unregister(id);
    app.events.unregister(&conn.client_id);
    metrics::gauge!("camera_service_ws_connections").decrement(1.0);
    tracing::debug!(conn = id, "websocket closed");
}

/// Why a send did not complete.
enum SendFailure {
    /// The peer is gone or the socket failed.
    Gone,
    /// The peer stopped reading: the send did not finish within `notifications.stall_timeout`.
    Stalled,
}

impl SendFailure {
    /// The close frame to attempt for this failure.
    fn close(self) -> Option<(u16, &'static str)> {
        match self {
            SendFailure::Gone => None,
            SendFailure::Stalled => Some((1013, "slow consumer")),
        }
    }
}

/// Bounds one socket write: a peer that stops reading cannot hold the connection task forever.
async fn within(
    limit: Duration,
    send: impl std::future::Future<Output = Result<(), axum::Error>>,
) -> Result<(), SendFailure> {
    match tokio::time::timeout(limit, send).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SendFailure::Gone),
        Err(_) => Err(SendFailure::Stalled),
    }
}

/// Read errors that RFC 6455 answers with a close code: too big (1009) and invalid UTF-8 (1007).
fn close_code_for(err: axum::Error) -> Option<(u16, &'static str)> {
    let inner = err.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Some((1009, "message too big")),
        Some(tungstenite::Error::Utf8(_)) => Some((1007, "invalid utf-8")),
        _ => None,
    }
}
