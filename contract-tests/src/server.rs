//! Starting and stopping the real `camera-service` binary.
//!
//! [`TestServer::start`] makes a temp dir (data, storage, config, stderr log), writes a YAML config from the
//! defaults below merged with the test's tweaks, spawns `camera-service --config PATH run` on port 0, reads the
//! one `{"listening":…}` line from stdout, then polls `GET /health/ready` until it answers 200. Dropping the
//! handle kills the process; if the test is panicking at that moment the server's stderr is printed so the
//! failure comes with the server's side of the story.
//!
//! The binary is `<target>/debug/camera-service` next to the test executable's `deps/` folder, or the path in
//! `CAMERA_SERVICE_BIN`. The child gets a clean `CAMERA_SERVICE_*` environment (the server treats every such
//! variable as a config override) plus `CAMERA_SERVICE_JWT_SECRET`, so tests can mint their own tokens.

use crate::tls::TlsMaterial;
use crate::ws::WsClient;
use crate::{Http, jwt};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The JWT secret every test server runs with (≥ 32 bytes, API.md §3.1).
pub const JWT_SECRET: &str = "contract-tests-jwt-secret-0123456789-abcdefghijklmnop";

/// How long the server may take to print its listening line and to turn ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server started by a test. Killed on drop.
pub struct TestServer {
    child: Option<Child>,
    dir: Option<TempDir>,
    config: Value,
    config_path: PathBuf,
    stderr_path: PathBuf,
    /// The JSON-RPC / WebSocket listener (`server.port`).
    pub rpc_addr: SocketAddr,
    /// The health listener (`health.port`).
    pub health_addr: SocketAddr,
    /// `tls` as reported in the listening line.
    pub reported_tls: bool,
    /// Present when the server was started with [`TestServer::start_tls`].
    pub tls: Option<TlsMaterial>,
}

/// Path of the server binary (see module docs). Panics with a build hint when it does not exist.
pub fn server_binary() -> PathBuf {
    let path = match std::env::var_os("CAMERA_SERVICE_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            // <target>/debug/deps/<test binary> -> <target>/debug/camera-service
            let debug_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("test binary lives in <target>/debug/deps");
            debug_dir.join("camera-service")
        }
    };
    assert!(
        path.is_file(),
        "camera-service binary not found at {}: build it with `cargo build -p camera-service --bins` \
         or point CAMERA_SERVICE_BIN at it",
        path.display()
    );
    path
}

/// The configuration every test starts from; `tweaks` are merged over it.
fn default_config(dir: &Path) -> Value {
    let p = |name: &str| dir.join(name).display().to_string();
    json!({
        "server": {"host": "127.0.0.1", "port": 0},
        "health": {"host": "127.0.0.1", "port": 0},
        "data_dir": p("data"),
        "storage": {"recordings_path": p("recordings"), "snapshots_path": p("snapshots")},
        "cameras": {
            "v4l2": {"enabled": false},
            "virtual": [{"id": "camera0", "pattern": "testsrc", "width": 320, "height": 240, "fps": 10}]
        },
        "mediamtx": {"enabled": false},
        "recording": {"backend": "ffmpeg"}
    })
}

/// Deep merge: objects merge key by key, anything else in `over` replaces `base`.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Renders a JSON value as block-style YAML; strings are double-quoted with JSON escapes (valid YAML).
pub fn to_yaml(value: &Value) -> String {
    fn scalar(v: &Value) -> String {
        match v {
            Value::Object(m) if m.is_empty() => "{}".into(),
            Value::Array(a) if a.is_empty() => "[]".into(),
            other => other.to_string(),
        }
    }
    fn is_block(v: &Value) -> bool {
        matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
    }
    fn emit(v: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, val) in m {
                    if is_block(val) {
                        let _ = writeln!(out, "{pad}{}:", Value::from(k.as_str()));
                        emit(val, indent + 2, out);
                    } else {
                        let _ = writeln!(out, "{pad}{}: {}", Value::from(k.as_str()), scalar(val));
                    }
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for item in a {
                    if is_block(item) {
                        let _ = writeln!(out, "{pad}-");
                        emit(item, indent + 2, out);
                    } else {
                        let _ = writeln!(out, "{pad}- {}", scalar(item));
                    }
                }
            }
            other => {
                let _ = writeln!(out, "{pad}{}", scalar(other));
            }
        }
    }
    let mut out = String::new();
    emit(value, 0, &mut out);
    out
}

/// Removes every `CAMERA_SERVICE_*` variable from the child's environment and sets the JWT secret.
fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CAMERA_SERVICE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CAMERA_SERVICE_JWT_SECRET", JWT_SECRET);
}

/// Runs `camera-service <args>` with a clean environment (for CLI tests that need no running server).
pub async fn run_binary(args: &[&str], limit: Duration) -> Output {
    let mut cmd = Command::new(server_binary());
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    clean_env(&mut cmd);
    match tokio::time::timeout(limit, cmd.output()).await {
        Ok(out) => out.expect("run camera-service"),
        Err(_) => panic!("camera-service {args:?} did not finish within {limit:?}"),
    }
}

/// Writes the default test configuration with `tweaks` into `dir/config.yaml` and returns its path.
pub fn write_config(dir: &Path, tweaks: &Value) -> PathBuf {
    let mut config = default_config(dir);
    merge(&mut config, tweaks);
    let path = dir.join("config.yaml");
    std::fs::write(&path, to_yaml(&config)).expect("write config");
    path
}

impl TestServer {
    /// Starts a plain (ws/http) server with `tweaks` merged over the defaults and waits until it is ready.
    pub async fn start(tweaks: Value) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("camsvc-contract-")
            .tempdir()
            .expect("temp dir");
        let mut config = default_config(dir.path());
        merge(&mut config, &tweaks);
        TestServer::launch(dir, config, None).await
    }

    /// Starts a wss/https server with a certificate generated for this test.
    pub async fn start_tls(tweaks: Value) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("camsvc-contract-")
            .tempdir()
            .expect("temp dir");
        let tls = TlsMaterial::generate(&dir.path().join("tls"));
        let mut config = default_config(dir.path());
        merge(
            &mut config,
            &json!({"server": {"tls": {
                "cert_file": tls.cert_file.display().to_string(),
                "key_file": tls.key_file.display().to_string()
            }}}),
        );
        merge(&mut config, &tweaks);
        TestServer::launch(dir, config, Some(tls)).await
    }

    async fn launch(dir: TempDir, config: Value, tls: Option<TlsMaterial>) -> TestServer {
        crate::install_crypto_provider();
        for sub in ["data", "recordings", "snapshots"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create temp subdir");
        }
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, to_yaml(&config)).expect("write config");
        let stderr_path = dir.path().join("server.stderr");
        let stderr_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .expect("open stderr log");

        let mut cmd = Command::new(server_binary());
        cmd.arg("--config")
            .arg(&config_path)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file))
            .kill_on_drop(true);
        clean_env(&mut cmd);
        let mut child = cmd.spawn().expect("spawn camera-service");
        let stdout = child.stdout.take().expect("piped stdout");

        let mut server = TestServer {
            child: Some(child),
            dir: Some(dir),
            config,
            config_path,
            stderr_path,
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            health_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            reported_tls: false,
            tls,
        };

        let mut lines = BufReader::new(stdout).lines();
        let mut ignored = Vec::new();
        let listening = tokio::time::timeout(START_TIMEOUT, async {
            loop {
                match lines.next_line().await {
                    Ok(Some(line)) => match serde_json::from_str::<Value>(&line) {
                        Ok(v) if v.get("listening").is_some() => return Some(v),
                        _ => ignored.push(line),
                    },
                    Ok(None) | Err(_) => return None,
                }
            }
        })
        .await;
        let listening = match listening {
            Ok(Some(v)) => v,
            Ok(None) => server.fail_start(&format!(
                "stdout closed before the listening line; other stdout: {ignored:?}"
            )),
            Err(_) => server.fail_start(&format!(
                "no listening line within {START_TIMEOUT:?}; stdout: {ignored:?}"
            )),
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let l = &listening["listening"];
        let addr = |key: &str| -> SocketAddr {
            l.get(key)
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("listening line lacks a socket address in {key:?}: {listening}"))
        };
        server.rpc_addr = addr("rpc");
        server.health_addr = addr("health");
        server.reported_tls = l
            .get("tls")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| panic!("listening.tls must be a bool: {listening}"));
        server.wait_ready().await;
        server
    }

    fn fail_start(&mut self, why: &str) -> ! {
        let status = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        panic!(
            "camera-service did not start: {why}\nexit status: {status:?}\nconfig:\n{}\nstderr:\n{}",
            to_yaml(&self.config),
            self.stderr()
        );
    }

    /// Polls `GET /health/ready` until 200 (the first discovery scan has finished).
    async fn wait_ready(&mut self) {
        let client = reqwest::Client::builder().no_proxy().build().expect("reqwest client");
        let url = self.health_url("/health/ready");
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(resp) = client.get(&url).timeout(Duration::from_secs(2)).send().await
                && resp.status().as_u16() == 200
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.fail_start(&format!("process exited with {status} before /health/ready turned 200"));
            }
            if tokio::time::Instant::now() >= deadline {
                self.fail_start("/health/ready did not answer 200 in time");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The merged configuration the server runs with.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The temp dir holding data, storage and the config.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("temp dir").path()
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// `ws://127.0.0.1:PORT/ws` or `wss://…`.
    pub fn ws_url(&self) -> String {
        format!(
            "{}://{}/ws",
            if self.tls.is_some() { "wss" } else { "ws" },
            self.rpc_addr
        )
    }

    /// `http://127.0.0.1:PORT` or `https://…` (port 8002 role).
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls.is_some() { "https" } else { "http" },
            self.rpc_addr
        )
    }

    /// URL of `path` on the (always plain) health listener.
    pub fn health_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.health_addr)
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(Child::id)
            .expect("server process is running")
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: i32) {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped) and a valid signal number.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}) failed: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Waits for the process to exit, panicking after `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("server process");
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status.expect("wait for camera-service"),
            Err(_) => panic!(
                "camera-service did not exit within {limit:?}\nstderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// Starts the server again on the same data dir and configuration (ports are chosen afresh). The current
    /// process must have exited (see [`TestServer::wait_exit`]); it is killed otherwise.
    pub async fn restart(mut self) -> TestServer {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let dir = self.dir.take().expect("temp dir");
        let config = std::mem::take(&mut self.config);
        let tls = self.tls.take();
        TestServer::launch(dir, config, tls).await
    }

    /// Runs the offline CLI (`camera-service --config PATH <args>`) against this server's config and store.
    pub async fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(server_binary());
        cmd.arg("--config")
            .arg(&self.config_path)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        clean_env(&mut cmd);
        match tokio::time::timeout(Duration::from_secs(30), cmd.output()).await {
            Ok(out) => out.expect("run camera-service CLI"),
            Err(_) => panic!("CLI {args:?} did not finish within 30 s"),
        }
    }

    /// Runs the CLI and returns its stdout, panicking (with its stderr) on a non-zero exit.
    pub async fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "CLI {args:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// `keys create --role ROLE --json`: the `create_api_key` result object.
    pub async fn create_key(&self, role: &str) -> Value {
        let out = self.cli_ok(&["keys", "create", "--role", role, "--json"]).await;
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("keys create --json printed non-JSON ({e}): {out}"))
    }

    /// A fresh admin API key made with the offline CLI.
    pub async fn admin_key(&self) -> String {
        self.key(&self.create_key("admin").await)
    }

    /// The `api_key` member of a create result.
    pub fn key(&self, created: &Value) -> String {
        created["api_key"]
            .as_str()
            .unwrap_or_else(|| panic!("no api_key in {created}"))
            .to_owned()
    }

    /// `token --role ROLE [--ttl SECS]`: a JWT minted by the CLI.
    pub async fn cli_token(&self, role: &str, ttl: Option<u64>) -> String {
        let ttl = ttl.map(|t| t.to_string());
        let mut args = vec!["token", "--role", role];
        if let Some(t) = &ttl {
            args.extend(["--ttl", t]);
        }
        self.cli_ok(&args).await.trim().to_owned()
    }

    /// An HS256 JWT signed with the server's secret.
    pub fn jwt(&self, user_id: &str, role: &str, ttl_secs: i64) -> String {
        jwt::hs256(JWT_SECRET.as_bytes(), &jwt::claims(user_id, role, ttl_secs))
    }

    /// A new, unauthenticated WebSocket client.
    pub async fn ws(&self) -> WsClient {
        WsClient::connect(self).await
    }

    /// A WebSocket client authenticated with `token` (panics if authentication fails).
    pub async fn ws_as(&self, token: &str) -> WsClient {
        let mut ws = self.ws().await;
        ws.authenticate(token).await;
        ws
    }

    /// HTTP helper for port 8002 (`/rpc`, upgrades) and the health port.
    pub fn http(&self) -> Http {
        Http::new(self)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() && self.dir.is_some() {
            let stderr = self.stderr();
            let lines: Vec<&str> = stderr.lines().collect();
            let tail = &lines[lines.len().saturating_sub(300)..];
            eprintln!(
                "----- camera-service stderr (last {} lines) -----\n{}\n-----",
                tail.len(),
                tail.join("\n")
            );
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_rendering() {
        let v = json!({"a": {"b": 1, "c": [1, "x"], "d": [{"e": true}], "f": [], "g": null}});
        assert_eq!(
            to_yaml(&v),
            "\"a\":\n  \"b\": 1\n  \"c\":\n    - 1\n    - \"x\"\n  \"d\":\n    -\n      \"e\": true\n  \"f\": []\n  \"g\": null\n"
        );
    }

    #[test]
    fn merging() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "l": [1]});
        merge(&mut base, &json!({"a": {"c": 3}, "l": [2, 3]}));
        assert_eq!(base, json!({"a": {"b": 1, "c": 3}, "l": [2, 3]}));
    }
}
