//! camera-service: a camera control service speaking JSON-RPC 2.0 over WebSocket and HTTP.
//!
//! Layers (see ARCHITECTURE.md): `transport` (axum, TLS, connection caps) hands frames to `rpc` (envelope,
//! dispatch table keyed by camera-api method names, sessions, error mapping), whose thin handlers call domain
//! services: `auth`, `events`, and the media services. `store` persists what must survive a restart; `clock` is
//! the one source of time; `health` serves port 8003. `app` wires everything; `cli` is the command line.

pub mod app;
pub mod auth;
pub mod cameras;
pub mod cli;
pub mod clock;
pub mod config;
pub mod downloads;
pub mod error;
pub mod events;
pub mod fswatch;
pub mod health;
pub mod media;
pub mod mediamtx;
pub mod rpc;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod transport;

pub use error::{Error, ErrorKind, Result};

/// Product version (independent of the API version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
