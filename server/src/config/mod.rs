//! Service configuration: the typed tree, its defaults, and loading.
//!
//! The YAML file (`--config PATH`, documented key by key in `config/default.yaml`) is parsed strictly: an unknown
//! key or a bad value stops the start with the key path, line and column (serde-saphyr reports the location).
//! After the file, environment variables `CAMERA_SERVICE_<PATH>` override single keys (path upper-cased, joined by
//! `_`, e.g. `CAMERA_SERVICE_SERVER_PORT=9002`); the value is read as a YAML scalar or flow sequence.
//! `CAMERA_SERVICE_JWT_SECRET` is not a key: it is the JWT secret, read by `auth`. Semantic checks that span keys
//! run last in [`Config::validate`]. Loaded once in `main` and handed down as `Arc<Config>`.

mod env;
mod schema;

pub use schema::*;

use std::path::Path;

/// Environment variables with the prefix that are not configuration keys.
pub const NON_KEY_VARIABLES: &[&str] = &[
    "CAMERA_SERVICE_JWT_SECRET",
    "CAMERA_SERVICE_CONFIG",
    "CAMERA_SERVICE_LOG",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid environment override {variable}: {message}")]
    Env { variable: String, message: String },
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: String, message: String },
}

impl Config {
    /// Loads the file at `path` (or the built-in defaults when `None`), applies environment overrides from
    /// `vars`, and validates the result.
    pub fn load(path: Option<&Path>, vars: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Config::from_yaml(&text).map_err(|message| ConfigError::Parse {
                    path: path.display().to_string(),
                    message,
                })?
            }
            None => Config::default(),
        };
        let config = env::apply_overrides(config, vars)?;
        config.validate()?;
        Ok(config)
    }

    /// Strict YAML parse; the error message names the key and its line and column.
    pub fn from_yaml(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_saphyr::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    /// Checks that span several keys or that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                key: key.to_owned(),
                message,
            })
        };
        if self.server.max_message_bytes < 10 * 1024 * 1024 {
            return invalid("server.max_message_bytes", "must be at least 10 MiB (10485760)".into());
        }
        if self.server.tls.cert_file.is_some() != self.server.tls.key_file.is_some() {
            return invalid("server.tls", "cert_file and key_file must be set together".into());
        }
        if self.storage.warn_percent > self.storage.block_percent {
            return invalid("storage.warn_percent", "must not exceed storage.block_percent".into());
        }
        if self.server.pong_timeout_secs < self.server.ping_interval_secs {
            return invalid(
                "server.pong_timeout_secs",
                "must be at least server.ping_interval_secs".into(),
            );
        }
        for origin in &self.server.allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return invalid(
                    "server.allowed_origins",
                    format!("{origin:?} is not \"*\" or scheme://host[:port]"),
                );
            }
        }
        if !["fmp4", "mp4", "mkv"].contains(&self.recording.default_format.as_str()) {
            return invalid(
                "recording.default_format",
                format!("{:?} is not fmp4, mp4 or mkv", self.recording.default_format),
            );
        }
        if self.recording.segment_duration == 0 {
            // ffmpeg's -segment_time and MediaMTX's recordSegmentDuration need a positive length.
            return invalid("recording.segment_duration", "must be at least 1 (seconds)".into());
        }
        if !["jpg", "jpeg", "png"].contains(&self.snapshots.format.as_str()) {
            return invalid(
                "snapshots.format",
                format!("{:?} is not jpg or png", self.snapshots.format),
            );
        }
        let mut ids = std::collections::HashSet::new();
        let configured = self.cameras.virtual_cameras.iter().map(|c| c.id.as_str());
        for id in configured.chain(self.cameras.network.iter().map(|c| c.id.as_str())) {
            if !camera_api::methods::is_valid_camera_id(id) {
                return invalid("cameras", format!("camera id {id:?} must match ^[a-z0-9_]{{1,64}}$"));
            }
            if !ids.insert(id) {
                return invalid("cameras", format!("camera id {id:?} is configured twice"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        Config::default().validate().expect("defaults are valid");
    }

    #[test]
    fn unknown_key_is_rejected_with_location() {
        let err = Config::from_yaml("server:\n  port: 9000\n  bogus: 1\n").expect_err("unknown key");
        assert!(err.contains("bogus"), "{err}");
        assert!(err.contains('3'), "line number missing: {err}");
    }

    #[test]
    fn bad_value_is_rejected() {
        let err = Config::from_yaml("server:\n  port: lots\n").expect_err("bad port");
        assert!(err.contains("port") || err.contains("line 2"), "{err}");
    }

    #[test]
    fn out_of_range_value_is_rejected() {
        let err = Config::from_yaml("snapshots:\n  quality: 101\n").expect_err("quality > 100");
        assert!(err.contains("101") || err.contains("quality"), "{err}");
    }

    #[test]
    fn zero_segment_duration_is_rejected() {
        let mut c = Config::default();
        c.recording.segment_duration = 0;
        let err = c.validate().expect_err("0 s segments");
        assert!(err.to_string().contains("recording.segment_duration"), "{err}");
    }

    #[test]
    fn file_values_are_read() {
        let c =
            Config::from_yaml("server:\n  port: 9100\ncameras:\n  virtual:\n    - {id: cam_a, pattern: smptebars}\n")
                .expect("valid");
        assert_eq!(c.server.port, 9100);
        assert_eq!(c.cameras.virtual_cameras[0].pattern, "smptebars");
        assert_eq!(c.cameras.virtual_cameras[0].width, 640);
    }
}
