//! Errors of the command line and the exit code of each (documented in `camctl --help` and cli/README.md),
//! and how an error is shown: one `error:` line, the server's reason and its `suggestion` as a hint, or,
//! with `--json`, the JSON-RPC error object on stderr.

use std::fmt;

use camera_sdk::{ErrorKind, SdkError};

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: anything not classified below.
pub const OTHER: u8 = 1;
/// Exit code: bad arguments, configuration or params.
pub const USAGE: u8 = 2;
/// Exit code: authentication or permission.
pub const AUTH: u8 = 3;
/// Exit code: not found.
pub const NOT_FOUND: u8 = 4;
/// Exit code: invalid state.
pub const INVALID_STATE: u8 = 5;
/// Exit code: unsupported, rate limited, dependency failed, storage full.
pub const UNAVAILABLE: u8 = 6;
/// Exit code: connection failure or timeout.
pub const CONNECTION: u8 = 7;
/// Exit code: interrupted by Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// Everything a command can fail with.
#[derive(Debug)]
pub enum CliError {
    /// From the SDK (server errors, connection, downloads).
    Sdk(SdkError),
    /// Bad arguments or configuration.
    Usage(String),
    /// Local I/O.
    Io(std::io::Error),
    /// Interrupted by Ctrl-C (after cleaning up).
    Interrupted,
    /// Anything else.
    Other(String),
}

impl From<SdkError> for CliError {
    fn from(e: SdkError) -> Self {
        CliError::Sdk(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Io(e)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Sdk(e) => write!(f, "{e}"),
            CliError::Usage(m) | CliError::Other(m) => f.write_str(m),
            CliError::Io(e) => write!(f, "{e}"),
            CliError::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// The exit code of an SDK error kind.
pub fn code_for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => USAGE,
        ErrorKind::Auth | ErrorKind::PermissionDenied => AUTH,
        ErrorKind::NotFound => NOT_FOUND,
        ErrorKind::InvalidState => INVALID_STATE,
        ErrorKind::Unsupported | ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::InsufficientStorage => {
            UNAVAILABLE
        }
        ErrorKind::Connection => CONNECTION,
        _ => OTHER,
    }
}

/// A hint of our own when the server gave none.
fn local_hint(e: &SdkError) -> Option<&'static str> {
    match (e.kind(), e.reason()) {
        (ErrorKind::Connection, _) => {
            Some("is the service running there? Set the address with --url, CAMCTL_URL or a profile")
        }
        (ErrorKind::Auth, Some("auth_failed" | "auth_required")) => {
            Some("check the credential: --api-key / --token, CAMCTL_API_KEY / CAMCTL_TOKEN, or the profile")
        }
        (ErrorKind::Auth, Some("token_expired" | "credential_revoked")) => {
            Some("the credential is no longer valid; use a current API key or issue a new token")
        }
        _ => None,
    }
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Sdk(e) => code_for_kind(e.kind()),
            CliError::Usage(_) => USAGE,
            CliError::Io(_) | CliError::Other(_) => OTHER,
            CliError::Interrupted => INTERRUPTED,
        }
    }

    /// The lines printed on stderr for humans.
    pub fn human_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("error: {self}")];
        if let CliError::Sdk(e) = self {
            if let Some(s) = e.suggestion().or_else(|| local_hint(e)) {
                lines.push(format!("hint: {s}"));
            }
            if let Some(rpc) = e.as_rpc()
                && let Some(data) = &rpc.data
            {
                for (k, v) in &data.extra {
                    let shown = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    lines.push(format!("  {k}: {shown}"));
                }
            }
        }
        lines
    }

    /// The JSON printed on stderr with `--json`: the JSON-RPC error object for server errors, else
    /// `{"error":{"message":…}}`.
    pub fn json(&self) -> serde_json::Value {
        match self {
            CliError::Sdk(SdkError::Rpc(e)) => serde_json::json!({
                "error": {"code": e.code, "message": e.message, "data": e.data}
            }),
            CliError::Sdk(SdkError::Http {
                status,
                reason,
                message,
            }) => serde_json::json!({
                "error": {"status": status, "reason": reason, "message": message}
            }),
            other => serde_json::json!({"error": {"message": other.to_string()}}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use camera_sdk::api::error::{ErrorCode, ErrorObject};

    fn rpc(code: ErrorCode, reason: &str, suggestion: Option<&str>) -> CliError {
        let obj = ErrorObject::new(
            code,
            camera_sdk::api::ErrorData::new(reason)
                .details("d")
                .with("resource", "camera"),
        );
        let mut data = obj.data;
        if let (Some(d), Some(s)) = (data.as_mut(), suggestion) {
            d.suggestion = Some(s.to_owned());
        }
        CliError::Sdk(SdkError::Rpc(Box::new(camera_sdk::RpcError {
            code: obj.code,
            message: obj.message,
            data,
        })))
    }

    #[test]
    fn exit_codes_by_error_code() {
        let cases = [
            (ErrorCode::AuthFailed, AUTH),
            (ErrorCode::PermissionDenied, AUTH),
            (ErrorCode::NotFound, NOT_FOUND),
            (ErrorCode::InvalidState, INVALID_STATE),
            (ErrorCode::DependencyFailed, UNAVAILABLE),
            (ErrorCode::InsufficientStorage, UNAVAILABLE),
            (ErrorCode::Unsupported, UNAVAILABLE),
            (ErrorCode::RateLimited, UNAVAILABLE),
            (ErrorCode::InvalidParams, USAGE),
            (ErrorCode::MethodNotFound, USAGE),
            (ErrorCode::InternalError, OTHER),
        ];
        for (code, exit) in cases {
            assert_eq!(rpc(code, "x", None).exit_code(), exit, "{code:?}");
        }
    }

    #[test]
    fn exit_codes_of_local_errors() {
        let conn = CliError::Sdk(SdkError::Connection("refused".into()));
        assert_eq!(conn.exit_code(), CONNECTION);
        let timeout = CliError::Sdk(SdkError::Timeout(std::time::Duration::from_secs(1)));
        assert_eq!(timeout.exit_code(), CONNECTION);
        assert_eq!(CliError::Usage("x".into()).exit_code(), USAGE);
        assert_eq!(CliError::Interrupted.exit_code(), INTERRUPTED);
        assert_eq!(CliError::Other("x".into()).exit_code(), OTHER);
        let http = CliError::Sdk(SdkError::Http {
            status: 404,
            reason: Some("file_not_found".into()),
            message: "m".into(),
        });
        assert_eq!(http.exit_code(), NOT_FOUND);
    }

    #[test]
    fn suggestion_and_data_are_shown() {
        let e = rpc(
            ErrorCode::InvalidState,
            "already_recording",
            Some("Call stop_recording first"),
        );
        let lines = e.human_lines();
        assert!(
            lines[0].starts_with("error: Invalid state (-32020 already_recording)"),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"hint: Call stop_recording first".to_owned()),
            "{lines:?}"
        );
        assert!(lines.contains(&"  resource: camera".to_owned()), "{lines:?}");
        let json = e.json();
        assert_eq!(json["error"]["code"], -32020);
        assert_eq!(json["error"]["data"]["reason"], "already_recording");
        assert_eq!(json["error"]["data"]["suggestion"], "Call stop_recording first");
    }

    #[test]
    fn local_hints_fill_in_when_the_server_gives_none() {
        let conn = CliError::Sdk(SdkError::Connection("refused".into())).human_lines();
        assert!(
            conn.iter().any(|l| l.starts_with("hint: ") && l.contains("--url")),
            "{conn:?}"
        );
        let auth = rpc(ErrorCode::AuthFailed, "auth_failed", None).human_lines();
        assert!(auth.iter().any(|l| l.contains("CAMCTL_API_KEY")), "{auth:?}");
        let server_hint = rpc(ErrorCode::AuthFailed, "auth_failed", Some("Use a key")).human_lines();
        assert!(server_hint.contains(&"hint: Use a key".to_owned()), "{server_hint:?}");
    }

    #[test]
    fn help_text_lists_every_exit_code() {
        for code in [
            OK,
            OTHER,
            USAGE,
            AUTH,
            NOT_FOUND,
            INVALID_STATE,
            UNAVAILABLE,
            CONNECTION,
            INTERRUPTED,
        ] {
            let needle = format!("\n  {code:<4} ");
            assert!(
                crate::args::EXIT_CODES_HELP.contains(&needle),
                "exit code {code} not documented"
            );
        }
    }
}
