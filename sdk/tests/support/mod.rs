//! Shared test support: the service launcher.

pub mod server;
