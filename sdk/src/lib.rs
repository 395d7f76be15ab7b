//! # camera-sdk
//!
//! An async Rust client for **camera-service**: JSON-RPC 2.0 over WebSocket (`ws://` or `wss://`), live
//! notifications, and HTTP file downloads. Every contract method is a typed method on [`Client`], built on
//! the `camera-api` crate, so parameter and result types are the ones the server itself uses.
//!
//! ## Quickstart
//!
//! ```no_run
//! use camera_sdk::{Client, Credentials, FileKind};
//!
//! # async fn run() -> Result<(), camera_sdk::SdkError> {
//! // Connect and authenticate (an API key `csk_…` or a JWT).
//! let client = Client::connect("ws://127.0.0.1:8002/ws", Credentials::from_token("csk_...")).await?;
//!
//! // Typed calls.
//! let cameras = client.get_camera_list().await?;
//! for cam in &cameras.cameras {
//!     println!("{} {} {}", cam.device, cam.status, cam.resolution);
//! }
//! let shot = client.take_snapshot("camera0".into(), None, None, None, None, None).await?;
//!
//! // Download it over HTTP (resumes a partial file, reports progress).
//! client
//!     .download(FileKind::Snapshot, &shot.filename, &shot.filename, |p| {
//!         eprintln!("{} / {:?} bytes", p.downloaded, p.total);
//!     })
//!     .await?;
//!
//! // Live events: subscribe server-side and get a filtered stream.
//! let mut events = client.subscribe(&["recording.stop"], Some("camera0")).await?;
//! client.start_recording("camera0".into(), Some(10), None).await?;
//! if let Some(event) = events.next().await {
//!     println!("{}: {}", event.method, event.params);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Errors
//!
//! Every method returns [`SdkError`]. Server errors keep the JSON-RPC `code`, the stable `reason` tag and
//! the human `details` / `suggestion` of `error.data` ([`SdkError::code`], [`SdkError::reason`],
//! [`SdkError::suggestion`]); [`SdkError::kind`] classifies any error for programs.
//!
//! ## Connection behaviour
//!
//! - **TLS** ([`TlsOptions`]): the system trust store by default, a custom CA PEM file, or
//!   `InsecureSkipVerify` for self-signed development certificates. The aws-lc-rs rustls provider is
//!   installed as the process default if none is.
//! - **Timeouts**: every call has a time limit ([`ClientOptions::request_timeout`], per handle with
//!   [`Client::with_timeout`]) that also bounds any wait for a reconnect.
//! - **Transport**: one WebSocket per client, shared by every clone. Calls are pipelined (up to
//!   [`ClientOptions::max_in_flight`] at once) and matched to responses by id; requests queued together are
//!   written with one flush. The typed methods are jsonrpsee's `CameraApiClient`, generated from the
//!   `camera-api` contract, running on the SDK's own lean transport rather than jsonrpsee's client.
//! - **Reconnect**: a lost connection is reopened with jittered exponential backoff ([`ReconnectPolicy`]:
//!   at most about a second apart for the first attempts, so a restarted server is used again within about a
//!   second of being back, growing to `max_delay` for long outages), the credential is presented again and
//!   every `subscribe_events` is replayed. Notifications sent while
//!   disconnected are lost (the service does not replay them, API.md §5.5): re-read state with the `get_*`
//!   methods after [`Client::state_changes`] reports a reconnect. Calls are never retried automatically.
//! - **Events**: [`Client::events`] / [`Client::subscribe`] give bounded [`EventStream`]s; a stream that
//!   falls behind loses its oldest events (counted), and never slows the connection down.

mod backoff;
mod client;
mod connection;
mod credentials;
mod download;
mod endpoint;
mod error;
mod events;
mod ledger;
mod methods;
mod options;
mod state;
mod supervisor;
mod tls;
mod transport;

pub use backoff::ReconnectPolicy;
pub use client::{Client, StateChanges};
pub use credentials::Credentials;
pub use download::{DownloadOutcome, DownloadProgress, FileKind, is_valid_filename};
pub use endpoint::Endpoint;
pub use error::{ErrorKind, RpcError, SdkError, kind_of_code};
pub use events::{Event, EventFilter, EventPayload, EventStream};
pub use options::ClientOptions;
pub use state::ConnectionState;
pub use tls::{TlsOptions, install_crypto_provider};

/// The contract crate, re-exported: `camera_sdk::api::types::*` are the params and results.
pub use camera_api as api;
