//! Starts the real `camera-service` binary for end-to-end tests (shared by sdk/tests and cli/tests).
//!
//! [`TestServer::start`] writes a YAML config into a temp dir (ports 0, a private data dir, V4L2 and
//! MediaMTX off, one virtual test-pattern camera, the ffmpeg backend), creates an admin API key offline
//! (`camera-service keys create --role admin --json`) so it is in the store before the service starts, then
//! spawns the service and reads its one `{"listening":…}` stdout line. Dropping the handle kills the
//! process. The binary is `<target>/debug/camera-service` (built by `cargo build --workspace --bins`), or
//! the path in `CAMERA_SERVICE_BIN`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// JWT secret of every test server (≥ 32 bytes).
pub const JWT_SECRET: &str = "camera-sdk-tests-jwt-secret-0123456789-abcdefghij";

/// How long the service may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running service. Killed on drop.
pub struct TestServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    config: PathBuf,
    /// `host:port` of the JSON-RPC listener.
    pub rpc_addr: String,
    /// `host:port` of the health listener.
    pub health_addr: String,
    /// The admin API key created before start.
    pub admin_key: String,
    /// Whether the service reported TLS.
    pub tls: bool,
}

/// Optional settings of a test server.
#[derive(Clone, Debug, Default)]
pub struct ServerSetup {
    /// Fixed RPC port (0 = any).
    pub port: u16,
    /// `(cert_file, key_file)` to serve wss.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// The service binary (see module docs). Panics with a build hint when it is missing.
pub fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CAMERA_SERVICE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // <target>/debug/deps/<test binary> -> <target>/debug/camera-service
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("camera-service"))
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "camera-service binary not found at {}: run `cargo build --workspace --bins` first \
         or set CAMERA_SERVICE_BIN",
        path.display()
    );
    path
}

fn config_yaml(dir: &Path, setup: &ServerSetup) -> String {
    let p = |name: &str| format!("{:?}", dir.join(name).display().to_string());
    let tls = match &setup.tls {
        Some((cert, key)) => format!(
            "  tls:\n    cert_file: {:?}\n    key_file: {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
        None => String::new(),
    };
    format!(
        "server:\n  host: \"127.0.0.1\"\n  port: {port}\n{tls}\
         health:\n  host: \"127.0.0.1\"\n  port: 0\n\
         data_dir: {data}\n\
         storage:\n  recordings_path: {rec}\n  snapshots_path: {snap}\n\
         cameras:\n  v4l2:\n    enabled: false\n  virtual:\n    - id: \"camera0\"\n      pattern: \"testsrc\"\n      width: 320\n      height: 240\n      fps: 10\n\
         mediamtx:\n  enabled: false\n\
         recording:\n  backend: \"ffmpeg\"\n",
        port = setup.port,
        data = p("data"),
        rec = p("recordings"),
        snap = p("snapshots"),
    )
}

fn clean_command(binary: &Path) -> Command {
    let mut cmd = Command::new(binary);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CAMERA_SERVICE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CAMERA_SERVICE_JWT_SECRET", JWT_SECRET);
    cmd
}

impl TestServer {
    /// Starts a plain-ws server on any port.
    pub fn start() -> TestServer {
        TestServer::start_with(ServerSetup::default())
    }

    /// Starts a server with `setup`.
    pub fn start_with(setup: ServerSetup) -> TestServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, config_yaml(dir.path(), &setup)).unwrap_or_else(|e| panic!("write config: {e}"));
        let mut server = TestServer {
            child: None,
            dir,
            config,
            rpc_addr: String::new(),
            health_addr: String::new(),
            admin_key: String::new(),
            tls: false,
        };
        server.admin_key = server.create_key("admin");
        server.spawn();
        server
    }

    /// Starts the service process and waits for its listening line.
    fn spawn(&mut self) {
        let mut child = clean_command(&server_binary())
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.path().join("stderr.log")).unwrap_or_else(|e| panic!("stderr log: {e}")),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn camera-service: {e}"));
        let stdout = child.stdout.take();
        self.child = Some(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("\"listening\"") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("no listening line; stderr:\n{}", self.stderr()));
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad listening line {line}: {e}"));
        let field = |k: &str| v["listening"][k].as_str().unwrap_or_default().to_owned();
        self.rpc_addr = field("rpc");
        self.health_addr = field("health");
        self.tls = v["listening"]["tls"].as_bool().unwrap_or(false);
    }

    /// Kills the service and starts it again on the same port with the same data (for reconnect tests).
    pub fn restart(&mut self) {
        self.kill();
        let port = self
            .rpc_addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(0);
        let text = std::fs::read_to_string(&self.config).unwrap_or_default();
        // Pin only the RPC listener's port (the first `port:` line), once; health keeps any free port.
        let pinned = format!("\n  port: {port}\n");
        let fixed = if text.contains(&pinned) {
            text
        } else {
            text.replacen("\n  port: 0\n", &pinned, 1)
        };
        std::fs::write(&self.config, fixed).unwrap_or_else(|e| panic!("rewrite config: {e}"));
        self.spawn();
    }

    /// Kills the service process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `ws://` or `wss://` URL of the service.
    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/ws", self.rpc_addr)
    }

    /// The config file path.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The temp dir holding config, data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates an API key offline with `role` and returns the secret.
    pub fn create_key(&self, role: &str) -> String {
        let out = clean_command(&server_binary())
            .arg("--config")
            .arg(&self.config)
            .args(["keys", "create", "--role", role, "--json"])
            .output()
            .unwrap_or_else(|e| panic!("keys create: {e}"));
        assert!(
            out.status.success(),
            "keys create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("keys create output: {e}"));
        v["api_key"].as_str().unwrap_or_default().to_owned()
    }

    /// Mints a JWT offline (`camera-service token --role R`).
    pub fn mint_jwt(&self, role: &str) -> String {
        let out = clean_command(&server_binary())
            .arg("--config")
            .arg(&self.config)
            .args(["token", "--role", role])
            .output()
            .unwrap_or_else(|e| panic!("token: {e}"));
        assert!(
            out.status.success(),
            "token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => v["token"].as_str().unwrap_or_default().to_owned(),
            Err(_) => text,
        }
    }

    /// The service's stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- camera-service stderr ---\n{}", self.stderr());
        }
    }
}
