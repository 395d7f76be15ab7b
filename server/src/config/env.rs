//! Environment overrides: `CAMERA_SERVICE_<PATH>` sets the key at PATH (upper-cased, joined by `_`).
//!
//! The set of overridable paths is every leaf of the serialized configuration, so a key added to the schema is
//! overridable with no extra code. Keys are matched on the whole variable name, so `SERVER_MAX_CONNECTIONS`
//! finds `server.max_connections` unambiguously.

use super::{Config, ConfigError, NON_KEY_VARIABLES};
use serde_json::Value;

const PREFIX: &str = "CAMERA_SERVICE_";

pub(super) fn apply_overrides(
    config: Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut overrides: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with(PREFIX) && !NON_KEY_VARIABLES.contains(&k.as_str()))
        .collect();
    if overrides.is_empty() {
        return Ok(config);
    }
    overrides.sort();
    let mut tree = serde_json::to_value(&config).map_err(|e| ConfigError::Env {
        variable: "*".into(),
        message: e.to_string(),
    })?;
    let mut leaves = Vec::new();
    collect_leaves(&tree, &mut Vec::new(), &mut leaves);
    for (variable, raw) in overrides {
        let wanted = &variable[PREFIX.len()..];
        let Some(path) = leaves.iter().find(|p| p.join("_").to_ascii_uppercase() == wanted) else {
            return Err(ConfigError::Env {
                variable,
                message: "no configuration key has this name".into(),
            });
        };
        let value: Value = serde_saphyr::from_str(&raw).map_err(|e| ConfigError::Env {
            variable: variable.clone(),
            message: e.to_string(),
        })?;
        set_path(&mut tree, path, value);
        // Re-check after each override so the error names the variable that broke it.
        serde_json::from_value::<Config>(tree.clone()).map_err(|e| ConfigError::Env {
            variable: variable.clone(),
            message: e.to_string(),
        })?;
    }
    serde_json::from_value(tree).map_err(|e| ConfigError::Env {
        variable: "*".into(),
        message: e.to_string(),
    })
}

fn collect_leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                collect_leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn set_path(tree: &mut Value, path: &[String], value: Value) {
    let mut node = tree;
    for key in &path[..path.len() - 1] {
        node = &mut node[key.as_str()];
    }
    node[path[path.len() - 1].as_str()] = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn overrides_nested_keys_with_underscores() {
        let c = apply_overrides(
            Config::default(),
            vars(&[
                ("CAMERA_SERVICE_SERVER_MAX_CONNECTIONS", "7"),
                ("CAMERA_SERVICE_HEALTH_PORT", "9003"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.server.max_connections, 7);
        assert_eq!(c.health.port, 9003);
    }

    #[test]
    fn unknown_variable_and_bad_value_are_errors() {
        assert!(apply_overrides(Config::default(), vars(&[("CAMERA_SERVICE_NOPE", "1")])).is_err());
        assert!(apply_overrides(Config::default(), vars(&[("CAMERA_SERVICE_SERVER_PORT", "x")])).is_err());
    }

    #[test]
    fn secret_variable_is_not_a_key() {
        assert!(apply_overrides(Config::default(), vars(&[("CAMERA_SERVICE_JWT_SECRET", "s")])).is_ok());
    }
}
