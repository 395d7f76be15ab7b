//! Command dispatch: resolve the connection settings, connect (except for `completions`), and hand the
//! client to the module of the subcommand. Each module turns arguments into SDK calls and results into
//! output; none of them decides exit codes (see `exit.rs`).

mod bench;
mod cameras;
mod completions;
mod events;
mod files;
mod keys;
mod record;
mod server;
mod snapshot;
mod storage;
mod stream;

use camera_sdk::{Client, ClientOptions, ReconnectPolicy};

use crate::args::{Cli, Command, KindArg, RoleArg};
use crate::config::{self, Settings};
use crate::exit::CliError;
use crate::output::Output;

/// Runs one parsed command line.
pub async fn run(cli: Cli, out: Output) -> Result<(), CliError> {
    if let Command::Completions(args) = &cli.command {
        return completions::run(args.shell);
    }
    let env = |k: &str| std::env::var(k).ok();
    let file = config::load(cli.global.config.as_deref(), &env)?;
    let settings = config::resolve(&cli.global, &env, &file)?;
    if let Command::Bench(args) = &cli.command {
        return bench::run(&settings, args, out).await;
    }
    let client = connect(&settings).await?;
    let result = dispatch(&client, cli.command, out).await;
    client.close().await;
    result
}

async fn dispatch(client: &Client, command: Command, out: Output) -> Result<(), CliError> {
    match command {
        Command::Cameras(cmd) => cameras::run(client, cmd, out).await,
        Command::Snapshot(args) => snapshot::run(client, args, out).await,
        Command::Record(cmd) => record::run(client, cmd, out).await,
        Command::Stream(cmd) => stream::run(client, cmd, out).await,
        Command::Files(cmd) => files::run(client, cmd, out).await,
        Command::Storage(cmd) => storage::run(client, cmd, out).await,
        Command::Keys(cmd) => keys::run(client, cmd, out).await,
        Command::Token(args) => keys::token(client, args, out).await,
        Command::Events(cmd) => events::run(client, cmd, out).await,
        Command::Server(cmd) => server::run(client, cmd, out).await,
        Command::Bench(_) | Command::Completions(_) => Ok(()),
    }
}

/// The SDK options for these settings.
pub fn options(settings: &Settings) -> ClientOptions {
    ClientOptions {
        tls: settings.tls.clone(),
        request_timeout: settings.timeout,
        connect_timeout: settings.timeout.min(std::time::Duration::from_secs(10)),
        reconnect: ReconnectPolicy::default(),
        ..ClientOptions::default()
    }
}

/// Connects and authenticates with the resolved settings.
pub async fn connect(settings: &Settings) -> Result<Client, CliError> {
    let Some(credentials) = settings.credentials.clone() else {
        return Err(CliError::Usage(
            "no credential: pass --api-key or --token, set CAMCTL_API_KEY, or add api_key to a profile \
             in ~/.config/camctl/config.toml"
                .to_owned(),
        ));
    };
    Ok(Client::connect_with(&settings.url, credentials, options(settings)).await?)
}

/// The SDK file kind of an argument, or guessed from the file name.
fn file_kind(kind: Option<KindArg>, filename: &str) -> Result<camera_sdk::FileKind, CliError> {
    match kind {
        Some(KindArg::Recording) => Ok(camera_sdk::FileKind::Recording),
        Some(KindArg::Snapshot) => Ok(camera_sdk::FileKind::Snapshot),
        None => camera_sdk::FileKind::from_filename(filename).ok_or_else(|| {
            CliError::Usage(format!(
                "cannot tell whether {filename:?} is a recording or a snapshot; pass --kind"
            ))
        }),
    }
}

/// The contract role of an argument.
fn role(r: RoleArg) -> camera_sdk::api::role::Role {
    use camera_sdk::api::role::Role;
    match r {
        RoleArg::Viewer => Role::Viewer,
        RoleArg::Operator => Role::Operator,
        RoleArg::Admin => Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_flags_or_extensions() {
        use camera_sdk::FileKind;
        assert_eq!(file_kind(None, "a.mp4").ok(), Some(FileKind::Recording));
        assert_eq!(file_kind(None, "a.png").ok(), Some(FileKind::Snapshot));
        assert_eq!(
            file_kind(Some(KindArg::Snapshot), "a.mp4").ok(),
            Some(FileKind::Snapshot)
        );
        assert!(matches!(file_kind(None, "a.bin"), Err(CliError::Usage(_))));
    }

    #[tokio::test]
    async fn connecting_without_a_credential_is_a_usage_error() {
        let settings = Settings {
            url: config::DEFAULT_URL.to_owned(),
            credentials: None,
            tls: camera_sdk::TlsOptions::SystemRoots,
            timeout: config::DEFAULT_TIMEOUT,
        };
        assert!(matches!(connect(&settings).await, Err(CliError::Usage(_))));
    }
}
