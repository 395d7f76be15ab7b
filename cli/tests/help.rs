//! The built `camctl` binary without a server: `--help` for every subcommand, argument errors (exit 2),
//! completions, and the exit code of an unreachable server (7).

use std::process::{Command, Output};

fn camctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_camctl"))
        .args(args)
        .env_remove("CAMCTL_URL")
        .env_remove("CAMCTL_API_KEY")
        .env_remove("CAMCTL_TOKEN")
        .env_remove("CAMCTL_PROFILE")
        .env_remove("CAMCTL_CONFIG")
        .env("HOME", "/nonexistent-camctl-home")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap_or_else(|e| panic!("run camctl: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SUBCOMMANDS: &[&[&str]] = &[
    &["cameras"],
    &["cameras", "list"],
    &["cameras", "status"],
    &["cameras", "caps"],
    &["snapshot"],
    &["record"],
    &["record", "start"],
    &["record", "stop"],
    &["stream"],
    &["stream", "start"],
    &["stream", "stop"],
    &["stream", "url"],
    &["stream", "status"],
    &["stream", "list"],
    &["files"],
    &["files", "list"],
    &["files", "info"],
    &["files", "download"],
    &["files", "delete"],
    &["storage"],
    &["storage", "info"],
    &["storage", "retention"],
    &["storage", "cleanup"],
    &["keys"],
    &["keys", "create"],
    &["keys", "list"],
    &["keys", "revoke"],
    &["keys", "rotate"],
    &["token"],
    &["events"],
    &["events", "watch"],
    &["server"],
    &["server", "info"],
    &["server", "status"],
    &["server", "metrics"],
    &["bench"],
    &["completions"],
];

#[test]
fn top_level_help_documents_commands_config_and_exit_codes() {
    let o = camctl(&["--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for cmd in [
        "cameras",
        "snapshot",
        "record",
        "stream",
        "files",
        "storage",
        "keys",
        "token",
        "events",
        "server",
        "bench",
        "completions",
    ] {
        assert!(
            text.contains(&format!("\n  {cmd} ")),
            "{cmd} missing from help:\n{text}"
        );
    }
    for needle in ["CAMCTL_URL", "CAMCTL_API_KEY", "config.toml", "Exit codes:", "130"] {
        assert!(text.contains(needle), "{needle} missing from help");
    }
    let version = camctl(&["--version"]);
    assert!(version.status.success());
    assert!(stdout(&version).starts_with("camctl "));
}

#[test]
fn every_subcommand_has_help() {
    for cmd in SUBCOMMANDS {
        let mut args = cmd.to_vec();
        args.push("--help");
        let o = camctl(&args);
        assert!(o.status.success(), "{cmd:?} --help failed: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("Usage: camctl"), "{cmd:?}: {text}");
        assert!(text.contains("--json"), "{cmd:?} lacks the global options");
    }
}

#[test]
fn argument_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &["bogus"],
        &["cameras"],
        &["cameras", "status"],
        &["record", "start", "camera0", "--duration", "0"],
        &["record", "start", "camera0", "--duration", "abc"],
        &["record", "start", "camera0", "--detach"],
        &["snapshot", "camera0", "--format", "gif"],
        &["snapshot", "camera0", "--quality", "101"],
        &["files", "list", "--kind", "videos"],
        &["storage", "retention", "--type", "age"],
        &["keys", "create", "--role", "root"],
        &["token", "--ttl", "10"],
        &["bench", "--depth", "0"],
        &["completions", "tcsh"],
        &["--api-key", "a", "--token", "b", "server", "info"],
    ];
    for args in cases {
        let o = camctl(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn missing_credentials_and_bad_config_are_usage_errors() {
    let o = camctl(&["server", "info"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no credential"), "{}", stderr(&o));
    let o = camctl(&["--config", "/nonexistent/camctl.toml", "server", "info"]);
    assert_eq!(o.status.code(), Some(2));
    let o = camctl(&["--api-key", "csk_x", "--url", "ftp://x", "server", "info"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn unreachable_server_exits_7_with_json_error() {
    let o = camctl(&[
        "--api-key",
        "csk_x",
        "--url",
        "ws://127.0.0.1:1/ws",
        "--json",
        "server",
        "info",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let err: serde_json::Value =
        serde_json::from_str(stderr(&o).trim()).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", stderr(&o)));
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("connection"))
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = camctl(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains("camctl"), "{shell}");
    }
}
