//! Typed params and results of every contract method (API.md §4), one module per section. Field names are
//! the wire names; timestamps are RFC 3339 strings; optional-but-always-present result fields are `Option`
//! and serialise as `null`. Params structs reject unknown keys; results accept unknown fields.

pub mod cameras;
pub mod events;
pub mod external;
pub mod files;
pub mod keys;
pub mod meta;
pub mod recording;
pub mod storage;
pub mod streaming;
pub mod system;

pub use cameras::*;
pub use events::*;
pub use external::*;
pub use files::*;
pub use keys::*;
pub use meta::*;
pub use recording::*;
pub use storage::*;
pub use streaming::*;
pub use system::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Params of a method that takes none: an empty object (unknown keys are rejected).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}
