//! Authentication and authorization: who is calling, with which role, for how long, and the abuse limits.
//!
//! - [`identity`]: the [`Identity`](identity::Identity) bound to a session.
//! - [`service`]: [`AuthService`], the one entry point used by rpc and transport: `authenticate` (API key or JWT),
//!   `check_session` (the per-request hot path: a clock read and an in-memory lookup, never the database),
//!   `issue_token`, the revocation watch that picks up revocations made by another process, and API key
//!   management (implemented in [`keys`]).
//! - [`keys`]: API key material (`csk_` secrets, `k_` ids, SHA-256 digests compared in constant time) and the
//!   create / list / revoke / rotate operations.
//! - [`jwt`]: HS256 signing and verification against the injected clock.
//! - [`secret`]: where the JWT secret comes from (environment, file, or generated on first start).
//! - [`limits`]: the failed-authentication limiter per IP and the request-rate token bucket.

pub mod identity;
pub mod jwt;
pub mod keys;
pub mod limits;
pub mod secret;
pub mod service;

pub use identity::{AuthMethod, Identity};
pub use service::AuthService;
