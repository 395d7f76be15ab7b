//! The `camera-service` command line: `run` (the default) starts the service; the other commands work offline
//! on the same data directory, so they also work while the service runs (the state store is shared through
//! SQLite WAL, and the service picks up keys created or revoked here within about a second).
//!
//! ```text
//! camera-service [--config PATH] [run]
//! camera-service keys create --role R [--description D] [--expires-in-days N | --no-expiry] [--json]
//! camera-service keys list [--include-revoked] [--limit N] [--offset N] [--json]
//! camera-service keys revoke KEY_ID
//! camera-service token --role R [--user-id U] [--ttl SECS]
//! camera-service config check
//! camera-service openrpc
//! ```
//!
//! `--config` also comes from `CAMERA_SERVICE_CONFIG`; without either, `config/default.yaml` is used when it
//! exists, else the built-in defaults. Exit codes: 0 success, 2 usage or configuration error, 1 anything else.

use camera_api::role::Role;
use camera_api::types::keys::{ApiKeyRecord, CreateApiKeyResult, ListApiKeysResult};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::auth::AuthService;
use crate::auth::keys::{self, Expiry};
use crate::clock::{SystemClock, format_timestamp};
use crate::config::Config;
use crate::store::Store;

/// The file used when neither `--config` nor `CAMERA_SERVICE_CONFIG` is given (if it exists).
pub const DEFAULT_CONFIG_PATH: &str = "config/default.yaml";

/// `user_id` recorded as creator / actor for offline commands.
pub const CLI_ACTOR: &str = "cli";

const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "camera-service",
    version,
    about = "Camera control service (JSON-RPC 2.0 over WebSocket)"
)]
pub struct Cli {
    /// Configuration file (YAML). Default: config/default.yaml if it exists, else built-in defaults.
    #[arg(long, global = true, env = "CAMERA_SERVICE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Run,
    /// Manage API keys offline (works while the service runs).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print a JWT signed with the configured secret.
    Token(TokenArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the OpenRPC document of the API.
    Openrpc,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once.
    Create(CreateArgs),
    /// List keys (never their secrets), newest first.
    List(ListArgs),
    /// Revoke a key; its live sessions end within about a second.
    Revoke {
        /// The key id (k_ + 12 hex digits).
        key_id: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// viewer, operator or admin.
    #[arg(long)]
    pub role: Role,
    /// Free text, at most 256 characters.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Lifetime in days, 1..3650 (default: api_keys.default_expiry_days).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650), conflicts_with = "no_expiry")]
    pub expires_in_days: Option<u32>,
    /// Create a key that never expires.
    #[arg(long)]
    pub no_expiry: bool,
    /// Print the create_api_key result object as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also list REVOKED and EXPIRED keys.
    #[arg(long)]
    pub include_revoked: bool,
    /// Keys per page, 1..1000.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Print the list_api_keys result object as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// viewer, operator or admin.
    #[arg(long)]
    pub role: Role,
    /// The user_id claim (1..128 characters).
    #[arg(long, default_value = CLI_ACTOR)]
    pub user_id: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=10 * 365 * 86_400))]
    pub ttl: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load the configuration (file + environment overrides) and report whether it is valid.
    Check,
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
    fn other(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        let code = if e.kind == crate::ErrorKind::InvalidArgument {
            EXIT_USAGE
        } else {
            EXIT_FAILURE
        };
        Failure {
            code,
            message: e.details,
        }
    }
}

/// Entry point called by `main.rs` on a multi-threaded tokio runtime.
pub async fn main() -> ExitCode {
    // Two crypto providers are in the dependency graph; rustls needs to be told which one. A second install
    // (e.g. by a test harness) is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("camera-service: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// The process environment as UTF-8 pairs (variables that are not UTF-8 cannot be ours and are skipped).
fn env_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// `--config` / `CAMERA_SERVICE_CONFIG`, else `config/default.yaml` if present, else none (built-in defaults).
pub fn resolve_config_path(explicit: Option<PathBuf>) -> Option<PathBuf> {
    explicit.or_else(|| {
        let default = PathBuf::from(DEFAULT_CONFIG_PATH);
        default.is_file().then_some(default)
    })
}

fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    Config::load(path, env_vars()).map_err(|e| Failure::usage(e.to_string()))
}

async fn execute(cli: Cli) -> Result<(), Failure> {
    let path = resolve_config_path(cli.config);
    let config = load_config(path.as_deref())?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => crate::app::run(config)
            .await
            .map_err(|e| Failure::other(format!("{e:#}"))),
        Command::Config(ConfigCommand::Check) => emit("configuration OK\n"),
        Command::Openrpc => {
            let doc = serde_json::to_string_pretty(&camera_api::openrpc::document())
                .map_err(|e| Failure::other(e.to_string()))?;
            emit(&format!("{doc}\n"))
        }
        Command::Token(args) => token(&config, args).await,
        Command::Keys(cmd) => keys_command(&config, cmd).await,
    }
}

async fn open_store(config: &Config) -> Result<Store, Failure> {
    let dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&dir))
        .await
        .map_err(|e| Failure::other(e.to_string()))?
        .map_err(|e| Failure::other(format!("cannot open the state store: {}", e.details)))?;
    Ok(store)
}

/// An [`AuthService`] for offline key management. Key commands never sign tokens, so it gets a throwaway
/// random secret instead of reading (or generating) the real one.
fn offline_auth(config: &Config, store: Store, secret: Vec<u8>) -> Arc<AuthService> {
    AuthService::new(config, store, SystemClock::new(), secret)
}

fn throwaway_secret() -> Result<Vec<u8>, Failure> {
    let mut secret = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| Failure::other("the system random generator failed"))?;
    Ok(secret)
}

async fn token(config: &Config, args: TokenArgs) -> Result<(), Failure> {
    let env_secret = std::env::var("CAMERA_SERVICE_JWT_SECRET").ok();
    let config_owned = config.clone();
    let secret = tokio::task::spawn_blocking(move || crate::auth::secret::load_jwt_secret(&config_owned, env_secret))
        .await
        .map_err(|e| Failure::other(e.to_string()))?
        .map_err(|e| Failure::other(e.details))?;
    let store = open_store(config).await?;
    let auth = offline_auth(config, store, secret);
    let issued = auth.mint_token(&args.user_id, args.role, args.ttl)?;
    emit(&format!("{}\n", issued.token))
}

async fn keys_command(config: &Config, cmd: KeysCommand) -> Result<(), Failure> {
    if let KeysCommand::Revoke { key_id } = &cmd
        && !keys::is_valid_key_id(key_id)
    {
        return Err(Failure::usage(format!(
            "{key_id:?} is not a key id (k_ followed by 12 lower-case hex digits)"
        )));
    }
    let store = open_store(config).await?;
    let auth = offline_auth(config, store, throwaway_secret()?);
    match cmd {
        KeysCommand::Create(args) => {
            let expiry = if args.no_expiry {
                Expiry::Never
            } else {
                Expiry::from(args.expires_in_days)
            };
            let created = auth
                .create_api_key(args.role, &args.description, expiry, CLI_ACTOR)
                .await?;
            let result = CreateApiKeyResult::from(&created);
            if args.json {
                print_json(&result)?;
            } else {
                emit(&format!(
                    "Created API key {} (role {}, expires {})\n\n    {}\n\n{}.\n",
                    result.key_id,
                    result.role,
                    result.expires_at.as_deref().unwrap_or("never"),
                    result.api_key,
                    keys::STORE_KEY_MESSAGE,
                ))?;
            }
        }
        KeysCommand::List(args) => {
            let (keys, total) = auth
                .list_api_keys(args.include_revoked, args.limit, args.offset)
                .await?;
            let result = ListApiKeysResult {
                keys: keys.iter().map(ApiKeyRecord::from).collect(),
                total,
                limit: args.limit,
                offset: args.offset,
            };
            if args.json {
                print_json(&result)?;
            } else {
                emit(&key_table(&result))?;
            }
        }
        KeysCommand::Revoke { key_id } => {
            let revoked = auth.revoke_api_key(&key_id, CLI_ACTOR).await?;
            let at = format_timestamp(revoked.revoked_at);
            if revoked.newly_revoked {
                emit(&format!(
                    "Revoked {key_id} at {at}; its sessions end within about a second\n"
                ))?;
            } else {
                emit(&format!("{key_id} was already revoked (at {at})\n"))?;
            }
        }
    }
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::other(e.to_string()))?;
    emit(&format!("{text}\n"))
}

/// Writes to stdout. A closed pipe (`camera-service keys list | head`) ends the output quietly instead of
/// panicking like `println!`.
fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::other(format!("cannot write to stdout: {e}"))),
    }
}

/// A plain-text table of key records plus a count line.
fn key_table(list: &ListApiKeysResult) -> String {
    let header = [
        "KEY_ID",
        "PREFIX",
        "ROLE",
        "STATUS",
        "CREATED",
        "EXPIRES",
        "LAST_USED",
        "USES",
        "DESCRIPTION",
    ];
    let rows: Vec<[String; 9]> = list
        .keys
        .iter()
        .map(|k| {
            [
                k.key_id.clone(),
                k.key_prefix.clone(),
                k.role.to_string(),
                k.status.clone(),
                k.created_at.clone(),
                k.expires_at.clone().unwrap_or_else(|| "never".into()),
                k.last_used_at.clone().unwrap_or_else(|| "-".into()),
                k.usage_count.to_string(),
                k.description.replace(['\n', '\r', '\t'], " "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    let shown = list.keys.len();
    out.push_str(&format!("{shown} of {} key(s)\n", list.total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("camera-service").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_every_command() {
        assert!(parse(&[]).expect("no command").command.is_none(), "run is the default");
        assert!(matches!(parse(&["run"]).expect("run").command, Some(Command::Run)));
        let cli = parse(&["--config", "x.yaml", "keys", "create", "--role", "admin", "--json"]).expect("create");
        assert_eq!(cli.config, Some(PathBuf::from("x.yaml")));
        let Some(Command::Keys(KeysCommand::Create(a))) = cli.command else {
            panic!("create")
        };
        assert_eq!(
            (a.role, a.json, a.expires_in_days, a.no_expiry),
            (Role::Admin, true, None, false)
        );
        let cli = parse(&[
            "keys",
            "create",
            "--role",
            "viewer",
            "--expires-in-days",
            "7",
            "--config",
            "y",
        ])
        .expect("ok");
        assert_eq!(cli.config, Some(PathBuf::from("y")), "--config is global");
        let Some(Command::Keys(KeysCommand::List(l))) =
            parse(&["keys", "list", "--include-revoked"]).expect("l").command
        else {
            panic!("list")
        };
        assert!(l.include_revoked && !l.json);
        assert!(matches!(
            parse(&["keys", "revoke", "k_0123456789ab"]).expect("revoke").command,
            Some(Command::Keys(KeysCommand::Revoke { .. }))
        ));
        let Some(Command::Token(t)) = parse(&["token", "--role", "operator"]).expect("token").command else {
            panic!("token")
        };
        assert_eq!((t.role, t.user_id.as_str(), t.ttl), (Role::Operator, "cli", 3600));
        assert!(matches!(
            parse(&["config", "check"]).expect("check").command,
            Some(Command::Config(ConfigCommand::Check))
        ));
        assert!(matches!(
            parse(&["openrpc"]).expect("openrpc").command,
            Some(Command::Openrpc)
        ));
    }

    #[test]
    fn usage_errors_exit_2() {
        for bad in [
            &["keys", "create"][..],
            &["keys", "create", "--role", "root"],
            &["keys", "create", "--role", "admin", "--expires-in-days", "0"],
            &["keys", "create", "--role", "admin", "--expires-in-days", "3651"],
            &[
                "keys",
                "create",
                "--role",
                "admin",
                "--expires-in-days",
                "5",
                "--no-expiry",
            ],
            &["token", "--role", "admin", "--ttl", "0"],
            &["frobnicate"],
        ] {
            let err = parse(bad).expect_err(&bad.join(" "));
            assert!(err.use_stderr(), "{bad:?}");
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let help = parse(&["--help"]).expect_err("help is reported as an error by try_parse");
        assert!(!help.use_stderr(), "--help exits 0");
    }

    #[test]
    fn explicit_config_path_wins() {
        assert_eq!(
            resolve_config_path(Some(PathBuf::from("a.yaml"))),
            Some(PathBuf::from("a.yaml"))
        );
    }

    #[tokio::test]
    async fn offline_key_commands_share_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let create = |role: &str| parse(&["keys", "create", "--role", role, "--description", "bootstrap"]);
        let Some(Command::Keys(cmd)) = create("admin").expect("parse").command else {
            panic!("keys")
        };
        keys_command(&config, cmd).await.map_err(|f| f.message).expect("create");

        let store = open_store(&config).await.map_err(|f| f.message).expect("store");
        let auth = offline_auth(
            &config,
            store,
            throwaway_secret().map_err(|f| f.message).expect("secret"),
        );
        let (keys, total) = auth.list_api_keys(false, 10, 0).await.expect("list");
        assert_eq!(total, 1);
        assert_eq!(
            (keys[0].created_by.as_str(), keys[0].description.as_str()),
            ("cli", "bootstrap")
        );
        assert!(keys[0].expires_at.is_some(), "default expiry applies");

        let id = keys[0].key_id.clone();
        let Some(Command::Keys(cmd)) = parse(&["keys", "revoke", &id]).expect("parse").command else {
            panic!()
        };
        keys_command(&config, cmd).await.map_err(|f| f.message).expect("revoke");
        let Some(Command::Keys(cmd)) = parse(&["keys", "revoke", &id]).expect("parse").command else {
            panic!()
        };
        keys_command(&config, cmd)
            .await
            .map_err(|f| f.message)
            .expect("revoke again is fine");
        let (active, _) = auth.list_api_keys(false, 10, 0).await.expect("list");
        assert!(active.is_empty());

        let Some(Command::Keys(cmd)) = parse(&["keys", "revoke", "k_000000000000"]).expect("parse").command else {
            panic!()
        };
        let missing = keys_command(&config, cmd).await.expect_err("unknown key fails");
        assert_eq!(missing.code, EXIT_FAILURE);
        let Some(Command::Keys(cmd)) = parse(&["keys", "revoke", "nope"]).expect("parse").command else {
            panic!()
        };
        assert_eq!(
            keys_command(&config, cmd).await.expect_err("malformed id").code,
            EXIT_USAGE
        );
    }

    #[tokio::test]
    async fn token_command_signs_with_the_configured_secret() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let Some(Command::Token(args)) = parse(&["token", "--role", "viewer"]).expect("parse").command else {
            panic!()
        };
        token(&config, args).await.map_err(|f| f.message).expect("token");
        assert!(
            dir.path().join(crate::auth::secret::GENERATED_SECRET_FILE).exists(),
            "secret generated on first use"
        );
    }

    #[test]
    fn table_lists_every_key() {
        let record = ApiKeyRecord {
            key_id: "k_0123456789ab".into(),
            key_prefix: "csk_abcdefgh".into(),
            role: Role::Operator,
            description: "line\nbreak".into(),
            status: "ACTIVE".into(),
            created_at: "2025-01-15T14:30:00.000Z".into(),
            expires_at: None,
            last_used_at: None,
            usage_count: 3,
            revoked_at: None,
            created_by: "cli".into(),
        };
        let table = key_table(&ListApiKeysResult {
            keys: vec![record],
            total: 1,
            limit: 1000,
            offset: 0,
        });
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("KEY_ID"));
        assert!(lines[1].contains("k_0123456789ab") && lines[1].contains("never") && lines[1].ends_with("line break"));
        assert_eq!(lines[2], "1 of 1 key(s)");
    }
}
