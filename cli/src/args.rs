//! The command line grammar (clap derive): global connection and output options, and one subcommand per
//! area of the API. Parsing only; what each command does lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, shown at the end of `camctl --help` (kept in sync with `exit.rs` by a test).
pub const EXIT_CODES_HELP: &str = "\
Connection settings come from, in order: --url/--api-key/--token/--ca-file flags, the environment
(CAMCTL_URL, CAMCTL_API_KEY, CAMCTL_TOKEN, CAMCTL_CA_FILE, CAMCTL_PROFILE, CAMCTL_CONFIG), then the profile
in ~/.config/camctl/config.toml (url, api_key, token, ca_file, insecure). Default URL: ws://127.0.0.1:8002/ws.

Exit codes:
  0    success
  1    other error (internal server error, local I/O, unexpected response)
  2    usage: bad arguments or configuration, invalid params (-32600, -32601, -32602, -32700)
  3    authentication or permission (-32001, -32002; HTTP 401/403)
  4    not found (-32010; HTTP 404)
  5    invalid state (-32020), e.g. already recording
  6    unavailable: unsupported, rate limited, dependency failed, storage full (-32030, -32040, -32050, -32060)
  7    connection failure or timeout
  130  interrupted (Ctrl-C)";

/// Command line for camera-service: cameras, snapshots, recordings, streams, files, keys and events.
#[derive(Debug, Parser)]
#[command(name = "camctl", version, after_long_help = EXIT_CODES_HELP, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options that apply to every command.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Service URL, ws://host:8002/ws or wss://… [env: CAMCTL_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// API key (csk_…) [env: CAMCTL_API_KEY]
    #[arg(long, global = true, value_name = "KEY", conflicts_with = "token")]
    pub api_key: Option<String>,
    /// JWT to authenticate with instead of an API key [env: CAMCTL_TOKEN]
    #[arg(long, global = true, value_name = "JWT")]
    pub token: Option<String>,
    /// Profile of the config file to use [env: CAMCTL_PROFILE]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file [env: CAMCTL_CONFIG; default: ~/.config/camctl/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Trust only this CA (PEM) for wss:// and https:// [env: CAMCTL_CA_FILE]
    #[arg(long, global = true, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the server certificate (self-signed development certificates only)
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Print results as JSON (one compact object per line) instead of tables
    #[arg(long, global = true)]
    pub json: bool,
    /// Time limit of each call, seconds
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: Option<u64>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List cameras, show a camera's status or capabilities
    #[command(subcommand)]
    Cameras(CamerasCmd),
    /// Take a snapshot (optionally download it)
    Snapshot(SnapshotArgs),
    /// Start or stop a recording
    #[command(subcommand)]
    Record(RecordCmd),
    /// Live streams through MediaMTX
    #[command(subcommand)]
    Stream(StreamCmd),
    /// Recordings and snapshots: list, info, download, delete
    #[command(subcommand)]
    Files(FilesCmd),
    /// Storage usage, retention policy and cleanup (admin)
    #[command(subcommand)]
    Storage(StorageCmd),
    /// API keys: create, list, revoke, rotate (admin)
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Issue a JWT for the current identity
    Token(TokenArgs),
    /// Watch live notifications
    #[command(subcommand)]
    Events(EventsCmd),
    /// Server information, status and metrics
    #[command(subcommand)]
    Server(ServerCmd),
    /// Load generator: throughput and latency of one method
    Bench(BenchArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// `camctl cameras …`
#[derive(Debug, Subcommand)]
pub enum CamerasCmd {
    /// List every known camera
    List,
    /// Status of one camera (stream metrics, recording state)
    Status(DeviceArg),
    /// Capture modes of one camera
    Caps(DeviceArg),
}

/// A camera id argument.
#[derive(Debug, Args)]
pub struct DeviceArg {
    /// Camera id, e.g. camera0
    pub device: String,
}

/// Snapshot image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    Jpg,
    Jpeg,
    Png,
}

/// `camctl snapshot …`
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Camera id
    pub device: String,
    /// File name to write on the server (default: generated)
    #[arg(long)]
    pub filename: Option<String>,
    /// Image format
    #[arg(long, value_enum)]
    pub format: Option<ImageFormat>,
    /// JPEG quality, 1..100
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub quality: Option<u32>,
    /// Scale down to at most this width (16..8192)
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=8192))]
    pub max_width: Option<u32>,
    /// Scale down to at most this height (16..8192)
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=8192))]
    pub max_height: Option<u32>,
    /// Also download the snapshot to this path
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Recording container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RecordingFormat {
    Fmp4,
    Mp4,
    Mkv,
}

/// `camctl record …`
#[derive(Debug, Subcommand)]
pub enum RecordCmd {
    /// Start recording; with --duration, show progress until it ends (Ctrl-C stops it)
    Start(RecordStartArgs),
    /// Stop recording
    Stop(DeviceArg),
}

/// `camctl record start …`
#[derive(Debug, Args)]
pub struct RecordStartArgs {
    /// Camera id
    pub device: String,
    /// Stop automatically after this many seconds (1..86400)
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub duration: Option<u64>,
    /// Container format
    #[arg(long, value_enum)]
    pub format: Option<RecordingFormat>,
    /// With --duration: return at once instead of waiting for the recording to end
    #[arg(long, requires = "duration")]
    pub detach: bool,
}

/// `camctl stream …`
#[derive(Debug, Subcommand)]
pub enum StreamCmd {
    /// Pin a camera's stream running
    Start(DeviceArg),
    /// Unpin it
    Stop(DeviceArg),
    /// RTSP / HLS / WebRTC URLs of a camera
    Url(DeviceArg),
    /// Publisher and path status of a camera's stream
    Status(DeviceArg),
    /// Every camera path in MediaMTX
    List,
}

/// Which files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    #[value(alias = "recordings")]
    Recording,
    #[value(alias = "snapshots")]
    Snapshot,
}

/// `camctl files …`
#[derive(Debug, Subcommand)]
pub enum FilesCmd {
    /// List recordings (default) or snapshots, newest first
    List(FilesListArgs),
    /// Details of one file
    Info(FileArg),
    /// Download a file (resumes a partial download)
    Download(FilesDownloadArgs),
    /// Delete a file
    Delete(FileArg),
}

/// `camctl files list …`
#[derive(Debug, Args)]
pub struct FilesListArgs {
    /// recording or snapshot
    #[arg(long, value_enum, default_value = "recording")]
    pub kind: KindArg,
    /// Only files of this camera
    #[arg(long)]
    pub device: Option<String>,
    /// Page size, 1..1000
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
    /// Skip this many files
    #[arg(long)]
    pub offset: Option<u64>,
}

/// A file name, with its kind (guessed from the extension when omitted).
#[derive(Debug, Args)]
pub struct FileArg {
    /// File name, e.g. camera0_2025-01-15_14-30-00.mp4
    pub filename: String,
    /// recording or snapshot (default: from the extension)
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
}

/// `camctl files download …`
#[derive(Debug, Args)]
pub struct FilesDownloadArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Destination path (default: the file name in the current directory)
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `camctl storage …`
#[derive(Debug, Subcommand)]
pub enum StorageCmd {
    /// Disk usage and file counts
    Info,
    /// Set the retention policy
    Retention(RetentionArgs),
    /// Run the retention rules now
    Cleanup(CleanupArgs),
}

/// Retention policy type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyType {
    Age,
    Size,
    AgeAndSize,
    Manual,
}

/// `camctl storage retention …`
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Policy type
    #[arg(long = "type", value_enum)]
    pub policy_type: PolicyType,
    /// Enable (true) or disable (false) the policy
    #[arg(long, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub enabled: bool,
    /// Delete files older than this (1..3650)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_age_days: Option<u32>,
    /// Keep recordings + snapshots under this many GiB
    #[arg(long)]
    pub max_size_gb: Option<f64>,
    /// Free-space floor, percent (0..50; 0 disables)
    #[arg(long)]
    pub min_free_percent: Option<f64>,
}

/// `camctl storage cleanup …`
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Compute what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Override the mass-delete guard
    #[arg(long)]
    pub force: bool,
}

/// A role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Operator,
    Admin,
}

/// `camctl keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Create a key (the secret is shown once)
    Create(KeysCreateArgs),
    /// List keys
    List(KeysListArgs),
    /// Revoke a key
    Revoke(KeyIdArg),
    /// Replace a key with a new one of the same role
    Rotate(KeysRotateArgs),
}

/// `camctl keys create …`
#[derive(Debug, Args)]
pub struct KeysCreateArgs {
    /// Role of the key
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Free text, up to 256 characters
    #[arg(long)]
    pub description: Option<String>,
    /// Lifetime in days (1..3650)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
}

/// `camctl keys list …`
#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// Also list revoked and expired keys
    #[arg(long)]
    pub include_revoked: bool,
    /// Page size, 1..1000
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
    /// Skip this many keys
    #[arg(long)]
    pub offset: Option<u64>,
}

/// A key id argument.
#[derive(Debug, Args)]
pub struct KeyIdArg {
    /// Key id, k_ + 12 hex digits
    pub key_id: String,
}

/// `camctl keys rotate …`
#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    /// Key id, k_ + 12 hex digits
    pub key_id: String,
    /// Lifetime of the new key in days (default: the old key's)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
    /// Keep the old key valid this many seconds (0..86400)
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=86400))]
    pub grace_seconds: Option<u32>,
}

/// `camctl token …`
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Lifetime in seconds (60..86400)
    #[arg(long, value_parser = clap::value_parser!(u32).range(60..=86400))]
    pub ttl: Option<u32>,
    /// Role of the token (at most the caller's)
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
}

/// `camctl events …`
#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Print notifications as they arrive (Ctrl-C to stop)
    Watch(WatchArgs),
}

/// `camctl events watch …`
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Topic or topic prefix to subscribe to (repeatable; default: every topic)
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Only events of this camera
    #[arg(long)]
    pub device: Option<String>,
    /// Stop after this many events
    #[arg(long)]
    pub count: Option<u64>,
}

/// `camctl server …`
#[derive(Debug, Subcommand)]
pub enum ServerCmd {
    /// Version, backend and capabilities
    Info,
    /// Health of the service and its components (admin; viewers get the readiness summary)
    Status,
    /// CPU, memory, camera, recording and stream metrics (admin)
    Metrics,
}

/// `camctl bench …`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Parallel WebSocket connections
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connections: u32,
    /// Seconds to run
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Method to call
    #[arg(long, default_value = "ping")]
    pub method: String,
    /// Params of each call, a JSON object
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Requests in flight per connection (pipeline depth)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub depth: u32,
    /// Seconds of the same load before measuring (connections warm, buffers grown); not counted
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// Pin the load generator to this CPU core (like `taskset -c N`), for comparable figures
    #[arg(long, value_name = "CORE")]
    pub cpu: Option<usize>,
}

/// `camctl completions …`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate the script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("camctl").chain(args.iter().copied()))
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere() {
        let Ok(cli) = parse(&["cameras", "list", "--json", "--url", "ws://h/ws", "--timeout", "5"]) else {
            panic!("parse")
        };
        assert!(cli.global.json);
        assert_eq!(cli.global.url.as_deref(), Some("ws://h/ws"));
        assert_eq!(cli.global.timeout, Some(5));
        assert!(matches!(cli.command, Command::Cameras(CamerasCmd::List)));
    }

    #[test]
    fn record_and_files_arguments() {
        let Ok(cli) = parse(&["record", "start", "camera0", "--duration", "60", "--format", "mkv"]) else {
            panic!("parse")
        };
        let Command::Record(RecordCmd::Start(a)) = cli.command else {
            panic!("record start")
        };
        assert_eq!(
            (a.device.as_str(), a.duration, a.format, a.detach),
            ("camera0", Some(60), Some(RecordingFormat::Mkv), false)
        );

        let Ok(cli) = parse(&["files", "list", "--kind", "snapshots", "--limit", "10"]) else {
            panic!("parse")
        };
        let Command::Files(FilesCmd::List(l)) = cli.command else {
            panic!("files list")
        };
        assert_eq!((l.kind, l.limit, l.offset), (KindArg::Snapshot, Some(10), None));

        let Ok(cli) = parse(&["files", "download", "a.mp4", "-o", "/tmp/x.mp4"]) else {
            panic!("parse")
        };
        let Command::Files(FilesCmd::Download(d)) = cli.command else {
            panic!("files download")
        };
        assert_eq!(d.output.as_deref(), Some(std::path::Path::new("/tmp/x.mp4")));
        assert_eq!(d.file.kind, None);
    }

    #[test]
    fn storage_keys_events_and_bench_arguments() {
        let Ok(cli) = parse(&[
            "storage",
            "retention",
            "--type",
            "age-and-size",
            "--enabled",
            "false",
            "--max-age-days",
            "30",
        ]) else {
            panic!("parse")
        };
        let Command::Storage(StorageCmd::Retention(r)) = cli.command else {
            panic!("retention")
        };
        assert_eq!(
            (r.policy_type, r.enabled, r.max_age_days),
            (PolicyType::AgeAndSize, false, Some(30))
        );

        let Ok(cli) = parse(&["keys", "rotate", "k_3fa85f6457b2", "--grace-seconds", "60"]) else {
            panic!("parse")
        };
        assert!(matches!(cli.command, Command::Keys(KeysCmd::Rotate(ref k)) if k.grace_seconds == Some(60)));

        let Ok(cli) = parse(&[
            "events",
            "watch",
            "--topic",
            "recording",
            "--topic",
            "snapshot.taken",
            "--count",
            "3",
        ]) else {
            panic!("parse")
        };
        let Command::Events(EventsCmd::Watch(w)) = cli.command else {
            panic!("watch")
        };
        assert_eq!(w.topics, vec!["recording".to_owned(), "snapshot.taken".to_owned()]);
        assert_eq!(w.count, Some(3));

        let Ok(cli) = parse(&["bench"]) else { panic!("parse") };
        let Command::Bench(b) = cli.command else {
            panic!("bench")
        };
        assert_eq!(
            (b.connections, b.duration, b.method.as_str(), b.depth),
            (4, 10, "ping", 1)
        );
    }

    #[test]
    fn invalid_arguments_are_rejected() {
        for bad in [
            &["record", "start", "camera0", "--detach"][..],
            &["snapshot", "camera0", "--max-width", "8"],
            &["keys", "create"],
            &["--api-key", "a", "--token", "b", "token"],
            &["token", "--ttl", "100000"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
