//! Shared test support: the service launcher and test certificates.

pub mod server;
pub mod tls;
