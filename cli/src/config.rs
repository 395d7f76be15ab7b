//! Where connection settings come from: flags, then environment variables, then a profile of the config
//! file (`~/.config/camctl/config.toml`, or `$XDG_CONFIG_HOME/camctl/config.toml`):
//!
//! ```toml
//! default_profile = "lab"
//!
//! [profiles.lab]
//! url = "wss://cam.lab:8002/ws"
//! api_key = "csk_…"
//! ca_file = "/etc/camctl/lab-ca.pem"
//! insecure = false
//! timeout_secs = 30
//! ```
//!
//! Resolution is a pure function of the flags, an environment lookup and the parsed file, so it is tested
//! without touching the real environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use camera_sdk::{Credentials, TlsOptions};
use serde::Deserialize;

use crate::args::GlobalArgs;
use crate::exit::CliError;

/// The URL used when nothing else names one.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:8002/ws";
/// The call time limit used when nothing else sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The config file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Profile used without `--profile` / `CAMCTL_PROFILE`.
    pub default_profile: Option<String>,
    /// Named profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub token: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: Option<bool>,
    pub timeout_secs: Option<u64>,
}

/// Settings after resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub url: String,
    pub credentials: Option<Credentials>,
    pub tls: TlsOptions,
    pub timeout: Duration,
}

/// The default config file path from `XDG_CONFIG_HOME` or `HOME`.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = match env("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(env("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("camctl").join("config.toml"))
}

/// Parses a config file's text.
pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, CliError> {
    toml::from_str(text).map_err(|e| CliError::Usage(format!("config file {}: {e}", path.display())))
}

/// Reads the config file: an explicit path must exist; the default path may be absent.
pub fn load(explicit: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<ConfigFile, CliError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_owned(), true),
        None => match env("CAMCTL_CONFIG").filter(|v| !v.is_empty()) {
            Some(p) => (PathBuf::from(p), true),
            None => match default_path(env) {
                Some(p) => (p, false),
                None => return Ok(ConfigFile::default()),
            },
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(ConfigFile::default()),
        Err(e) => Err(CliError::Usage(format!(
            "cannot read config file {}: {e}",
            path.display()
        ))),
    }
}

/// Combines flags, environment and file into settings.
pub fn resolve(
    flags: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> Result<Settings, CliError> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let profile_name = flags
        .profile
        .clone()
        .or_else(|| env("CAMCTL_PROFILE"))
        .or_else(|| file.default_profile.clone());
    let profile = match &profile_name {
        Some(name) => file
            .profiles
            .get(name)
            .cloned()
            .ok_or_else(|| CliError::Usage(format!("no profile named {name:?} in the config file")))?,
        None => file.profiles.get("default").cloned().unwrap_or_default(),
    };

    let url = flags
        .url
        .clone()
        .or_else(|| env("CAMCTL_URL"))
        .or(profile.url)
        .unwrap_or_else(|| DEFAULT_URL.to_owned());

    let flag_cred = match (&flags.api_key, &flags.token) {
        (Some(k), _) => Some(Credentials::api_key(k)),
        (None, Some(t)) => Some(Credentials::from_token(t)),
        (None, None) => None,
    };
    let credentials = flag_cred
        .or_else(|| env("CAMCTL_API_KEY").map(Credentials::api_key))
        .or_else(|| env("CAMCTL_TOKEN").map(Credentials::from_token))
        .or_else(|| profile.api_key.map(Credentials::api_key))
        .or_else(|| profile.token.map(Credentials::from_token));

    let insecure = flags.insecure
        || env("CAMCTL_INSECURE").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
        || profile.insecure.unwrap_or(false);
    let ca = flags
        .ca_file
        .clone()
        .or_else(|| env("CAMCTL_CA_FILE").map(PathBuf::from))
        .or(profile.ca_file);
    let tls = match (insecure, ca) {
        (true, _) => TlsOptions::InsecureSkipVerify,
        (false, Some(path)) => TlsOptions::CustomCa(path),
        (false, None) => TlsOptions::SystemRoots,
    };

    let timeout = flags
        .timeout
        .or(profile.timeout_secs)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);

    Ok(Settings {
        url,
        credentials,
        tls,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    const FILE: &str = r#"
default_profile = "lab"
[profiles.lab]
url = "wss://lab:8002/ws"
api_key = "csk_lab"
ca_file = "/ca.pem"
timeout_secs = 5
[profiles.dev]
url = "wss://dev:8002/ws"
token = "eyJdev"
insecure = true
"#;

    fn file() -> ConfigFile {
        parse(FILE, Path::new("t.toml")).unwrap_or_default()
    }

    #[test]
    fn profile_from_file_when_nothing_else() {
        let s = resolve(&GlobalArgs::default(), &env_of(&[]), &file());
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.url, "wss://lab:8002/ws");
        assert_eq!(s.credentials, Some(Credentials::api_key("csk_lab")));
        assert_eq!(s.tls, TlsOptions::CustomCa("/ca.pem".into()));
        assert_eq!(s.timeout, Duration::from_secs(5));
    }

    #[test]
    fn env_beats_profile_and_flags_beat_env() {
        let env = env_of(&[
            ("CAMCTL_URL", "ws://env/ws"),
            ("CAMCTL_API_KEY", "csk_env"),
            ("CAMCTL_PROFILE", "dev"),
        ]);
        let s = resolve(&GlobalArgs::default(), &env, &file());
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.url, "ws://env/ws");
        assert_eq!(s.credentials, Some(Credentials::api_key("csk_env")));
        assert_eq!(s.tls, TlsOptions::InsecureSkipVerify);

        let flags = GlobalArgs {
            url: Some("ws://flag/ws".into()),
            token: Some("eyJflag".into()),
            timeout: Some(9),
            ..GlobalArgs::default()
        };
        let s = resolve(&flags, &env, &file());
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.url, "ws://flag/ws");
        assert_eq!(s.credentials, Some(Credentials::jwt("eyJflag")));
        assert_eq!(s.timeout, Duration::from_secs(9));
    }

    #[test]
    fn defaults_without_any_config() {
        let s = resolve(&GlobalArgs::default(), &env_of(&[]), &ConfigFile::default());
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.url, DEFAULT_URL);
        assert_eq!(s.credentials, None);
        assert_eq!(s.tls, TlsOptions::SystemRoots);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn unknown_profile_and_bad_files_are_usage_errors() {
        let flags = GlobalArgs {
            profile: Some("nope".into()),
            ..GlobalArgs::default()
        };
        assert!(matches!(
            resolve(&flags, &env_of(&[]), &file()),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse("[profiles.x]\nurll = 1\n", Path::new("x")),
            Err(CliError::Usage(_))
        ));
        let missing = load(Some(Path::new("/nonexistent/camctl.toml")), &env_of(&[]));
        assert!(matches!(missing, Err(CliError::Usage(_))));
        let absent_default = load(None, &env_of(&[("HOME", "/nonexistent-home")]));
        assert_eq!(absent_default.ok(), Some(ConfigFile::default()));
    }

    #[test]
    fn default_path_follows_xdg_then_home() {
        let p = default_path(&env_of(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]));
        assert_eq!(p, Some(PathBuf::from("/x/camctl/config.toml")));
        let p = default_path(&env_of(&[("HOME", "/h")]));
        assert_eq!(p, Some(PathBuf::from("/h/.config/camctl/config.toml")));
        assert_eq!(default_path(&env_of(&[])), None);
    }
}
