//! JSON-RPC 2.0: envelopes, the dispatcher (check order and error mapping), connections and sessions, and the
//! thin method handlers. Nothing below this module knows about JSON-RPC codes.

pub mod call;
pub mod connection;
pub mod dispatch;
pub mod envelope;
pub mod errors;
pub mod handlers;
