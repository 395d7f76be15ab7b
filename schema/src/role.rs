//! Roles: the three ordered access levels of API.md §3.4 and the permissions each one grants.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A caller's role. Ordered `viewer < operator < admin`; a role may call everything a lower role may.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only access (`view`).
    Viewer,
    /// Read and control access (`view`, `control`).
    Operator,
    /// Full access (`view`, `control`, `admin`).
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    /// The wire name (`viewer`, `operator`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses the exact (lower-case) wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The `permissions` array reported in results (§3.4).
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Role::Viewer => &["view"],
            Role::Operator => &["view", "control"],
            Role::Admin => &["view", "control", "admin"],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Role::from_str`]: the text is not a role name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseRoleError(pub String);

impl fmt::Display for ParseRoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown role {:?} (expected viewer, operator or admin)", self.0)
    }
}

impl std::error::Error for ParseRoleError {}

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_names_and_permissions() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string().parse::<Role>(), Ok(r));
            let json = serde_json::to_value(r).ok();
            assert_eq!(json, Some(serde_json::Value::from(r.as_str())));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert!("root".parse::<Role>().is_err());
        assert_eq!(Role::Viewer.permissions(), ["view"]);
        assert_eq!(Role::Operator.permissions(), ["view", "control"]);
        assert_eq!(Role::Admin.permissions(), ["view", "control", "admin"]);
    }
}
