//! camera-api: the wire contract of camera-service (API.md). Owns the method table (names, roles, gating,
//! param rules), param validation, error codes and reason tags, roles, notification topics, and the API
//! version. Server, SDK, CLI and the OpenRPC document are all derived from this crate.

#[cfg(feature = "client")]
pub mod client;
pub mod error;
pub mod methods;
pub mod notifications;
pub mod openrpc;
pub mod reference;
pub mod role;
pub mod timestamp;
pub mod topics;
pub mod types;
pub mod validate;

/// The API version (semantic versioning, independent of the product version).
pub const API_VERSION: &str = "1.0.0";

pub use error::{ErrorCode, ErrorData, ErrorObject, HTTP_REASONS, reason};
pub use methods::{METHODS, MethodSpec, ParamKind, ParamSpec, StrFormat, method};
pub use role::Role;
pub use topics::{LEGACY_TOPICS, TOPICS, canonical_topic, valid_topic_names};
pub use validate::{ParamError, validate_params};
