//! The configuration tree: every key, its type and its default. `config/default.yaml` mirrors this file and
//! documents each key; keep them in step. Numeric keys with a range are checked while parsing (so the error has
//! the line and column) by the `ranged` deserializers at the bottom.

use serde::{Deserialize, Deserializer, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub health: HealthConfig,
    /// SQLite state store and the generated JWT secret live here.
    pub data_dir: PathBuf,
    pub storage: StorageConfig,
    pub security: SecurityConfig,
    pub api_keys: ApiKeysConfig,
    pub notifications: NotificationsConfig,
    pub cameras: CamerasConfig,
    pub mediamtx: MediamtxConfig,
    pub recording: RecordingConfig,
    pub snapshots: SnapshotsConfig,
    pub streaming: StreamingConfig,
    pub retention: RetentionConfig,
    pub logging: LoggingConfig,
    pub external_discovery: ExternalDiscoveryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            health: HealthConfig::default(),
            data_dir: PathBuf::from("./data"),
            storage: StorageConfig::default(),
            security: SecurityConfig::default(),
            api_keys: ApiKeysConfig::default(),
            notifications: NotificationsConfig::default(),
            cameras: CamerasConfig::default(),
            mediamtx: MediamtxConfig::default(),
            recording: RecordingConfig::default(),
            snapshots: SnapshotsConfig::default(),
            streaming: StreamingConfig::default(),
            retention: RetentionConfig::default(),
            logging: LoggingConfig::default(),
            external_discovery: ExternalDiscoveryConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: String,
    /// 0 picks a free port (printed on stdout at start).
    pub port: u16,
    pub tls: TlsConfig,
    #[serde(deserialize_with = "positive_usize")]
    pub max_connections: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub max_connections_per_ip: usize,
    pub max_message_bytes: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub max_batch: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub max_inflight_per_connection: usize,
    #[serde(deserialize_with = "positive_u64")]
    pub ping_interval_secs: u64,
    #[serde(deserialize_with = "positive_u64")]
    pub pong_timeout_secs: u64,
    pub allowed_origins: Vec<String>,
    pub public_base_url: Option<String>,
    pub response_metadata: bool,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8002,
            tls: TlsConfig::default(),
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            max_message_bytes: 16 * 1024 * 1024,
            max_batch: 32,
            max_inflight_per_connection: 64,
            ping_interval_secs: 20,
            pong_timeout_secs: 60,
            allowed_origins: Vec::new(),
            public_base_url: None,
            response_metadata: false,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    pub host: String,
    pub port: u16,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            host: "127.0.0.1".into(),
            port: 8003,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub recordings_path: PathBuf,
    pub snapshots_path: PathBuf,
    #[serde(deserialize_with = "percent")]
    pub warn_percent: f64,
    #[serde(deserialize_with = "percent")]
    pub block_percent: f64,
    /// Treat the storage as a volume of this many bytes holding only the media (recordings + snapshots)
    /// instead of reading the filesystem's size: quotas, and low-space tests without filling a disk.
    #[serde(deserialize_with = "opt_positive_u64")]
    pub capacity_bytes: Option<u64>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            recordings_path: PathBuf::from("./data/recordings"),
            snapshots_path: PathBuf::from("./data/snapshots"),
            warn_percent: 80.0,
            block_percent: 95.0,
            capacity_bytes: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub jwt_secret_file: Option<PathBuf>,
    #[serde(deserialize_with = "positive_u32")]
    pub rate_limit_per_sec: u32,
    #[serde(deserialize_with = "positive_u32")]
    pub rate_limit_burst: u32,
    #[serde(deserialize_with = "positive_u32")]
    pub auth_failures_per_min: u32,
    pub auth_rate_limit_exempt: Vec<ipnet::IpNet>,
    pub jwt_leeway_seconds: u64,
    #[serde(deserialize_with = "positive_u64")]
    pub download_token_ttl: u64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            jwt_secret_file: None,
            rate_limit_per_sec: 100,
            rate_limit_burst: 200,
            auth_failures_per_min: 10,
            auth_rate_limit_exempt: Vec::new(),
            jwt_leeway_seconds: 30,
            download_token_ttl: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeysConfig {
    #[serde(deserialize_with = "days")]
    pub default_expiry_days: u32,
    #[serde(deserialize_with = "positive_u32")]
    pub max_active_keys: u32,
}

impl Default for ApiKeysConfig {
    fn default() -> Self {
        ApiKeysConfig {
            default_expiry_days: 90,
            max_active_keys: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    #[serde(deserialize_with = "positive_usize")]
    pub queue_capacity: usize,
    /// Seconds a connection's queue may stay full before it is closed with 1013.
    #[serde(deserialize_with = "positive_u64")]
    pub stall_timeout: u64,
    pub legacy_broadcast: bool,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            queue_capacity: 256,
            stall_timeout: 30,
            legacy_broadcast: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CamerasConfig {
    #[serde(deserialize_with = "positive_usize")]
    pub max_cameras: usize,
    pub v4l2: V4l2Config,
    #[serde(rename = "virtual")]
    pub virtual_cameras: Vec<VirtualCameraConfig>,
    pub network: Vec<NetworkCameraConfig>,
}

impl Default for CamerasConfig {
    fn default() -> Self {
        CamerasConfig {
            max_cameras: 32,
            v4l2: V4l2Config::default(),
            virtual_cameras: vec![VirtualCameraConfig::default()],
            network: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct V4l2Config {
    pub enabled: bool,
    pub device_dir: PathBuf,
}

impl Default for V4l2Config {
    fn default() -> Self {
        V4l2Config {
            enabled: true,
            device_dir: PathBuf::from("/dev"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VirtualCameraConfig {
    pub id: String,
    pub name: Option<String>,
    /// An ffmpeg lavfi source: testsrc, testsrc2, smptebars, smptehdbars, rgbtestsrc, yuvtestsrc, mandelbrot ...
    pub pattern: String,
    #[serde(deserialize_with = "dimension")]
    pub width: u32,
    #[serde(deserialize_with = "dimension")]
    pub height: u32,
    #[serde(deserialize_with = "fps")]
    pub fps: u32,
}

impl Default for VirtualCameraConfig {
    fn default() -> Self {
        VirtualCameraConfig {
            id: "camera0".into(),
            name: None,
            pattern: "testsrc".into(),
            width: 640,
            height: 480,
            fps: 15,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkCameraConfig {
    pub id: String,
    pub name: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediamtxConfig {
    pub enabled: bool,
    pub api_url: String,
    /// Host put into stream URLs; null: the host the client connected to.
    pub public_host: Option<String>,
    pub managed: Option<ManagedMediamtxConfig>,
    /// Control API credentials: basic (`api_user` + `api_password`) or a bearer token (`api_token`).
    pub api_user: Option<String>,
    pub api_password: Option<String>,
    pub api_token: Option<String>,
    /// MediaMTX's listener ports, used in stream URLs (and by the service's own RTSP reader).
    pub rtsp_port: u16,
    pub hls_port: u16,
    pub webrtc_port: u16,
    /// MediaMTX serves RTSP/HLS/WebRTC with TLS: URLs use rtsps:// and https://.
    pub tls: bool,
}

impl Default for MediamtxConfig {
    fn default() -> Self {
        MediamtxConfig {
            enabled: true,
            api_url: "http://127.0.0.1:9997".into(),
            public_host: None,
            managed: None,
            api_user: None,
            api_password: None,
            api_token: None,
            rtsp_port: 8554,
            hls_port: 8888,
            webrtc_port: 8889,
            tls: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ManagedMediamtxConfig {
    pub binary: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RecordingBackend {
    /// MediaMTX when enabled and reachable at start, else ffmpeg (standalone).
    #[default]
    Auto,
    Mediamtx,
    Ffmpeg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    pub backend: RecordingBackend,
    pub default_format: String,
    #[serde(deserialize_with = "positive_u64")]
    pub segment_duration: u64,
    #[serde(deserialize_with = "positive_u64")]
    pub start_timeout: u64,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            backend: RecordingBackend::Auto,
            default_format: "fmp4".into(),
            segment_duration: 3600,
            start_timeout: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotsConfig {
    pub format: String,
    #[serde(deserialize_with = "quality")]
    pub quality: u32,
    #[serde(deserialize_with = "positive_u64")]
    pub timeout: u64,
}

impl Default for SnapshotsConfig {
    fn default() -> Self {
        SnapshotsConfig {
            format: "jpg".into(),
            quality: 85,
            timeout: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamingConfig {
    #[serde(deserialize_with = "positive_u64")]
    pub start_timeout: u64,
    /// Seconds a pinned stream stays up with no reader; 0 = never closes.
    pub auto_close_after: u64,
}

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            start_timeout: 10,
            auto_close_after: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    #[serde(deserialize_with = "fraction")]
    pub max_delete_fraction: f64,
    pub mass_delete_min_files: u32,
    #[serde(deserialize_with = "positive_u64")]
    pub check_interval: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_delete_fraction: 0.5,
            mass_delete_min_files: 20,
            check_interval: 600,
        }
    }
}

/// Scanning for RTSP sources on the local network (API.md §4.9).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExternalDiscoveryConfig {
    /// `discover_external_streams` and `set_discovery_interval` answer -32030 while false.
    pub enabled: bool,
    /// Seconds one scan may take at most.
    #[serde(deserialize_with = "positive_u64")]
    pub scan_timeout: u64,
    /// Seconds between scheduled scans; 0: on demand only. `set_discovery_interval` overrides it (persisted).
    pub scan_interval: u64,
    /// Connection attempts in flight at once during a scan.
    #[serde(deserialize_with = "positive_usize")]
    pub max_concurrency: usize,
    pub skydio: SkydioDiscoveryConfig,
    pub generic: GenericDiscoveryConfig,
}

impl Default for ExternalDiscoveryConfig {
    fn default() -> Self {
        ExternalDiscoveryConfig {
            enabled: false,
            scan_timeout: 30,
            scan_interval: 0,
            max_concurrency: 64,
            skydio: SkydioDiscoveryConfig::default(),
            generic: GenericDiscoveryConfig::default(),
        }
    }
}

/// The Skydio UAV profile: an EO and an IR stream per host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkydioDiscoveryConfig {
    pub network_ranges: Vec<ipnet::IpNet>,
    pub eo_port: u16,
    pub eo_path: String,
    pub ir_port: u16,
    pub ir_path: String,
}

impl Default for SkydioDiscoveryConfig {
    fn default() -> Self {
        SkydioDiscoveryConfig {
            network_ranges: Vec::new(),
            eo_port: 5554,
            eo_path: "/subject".into(),
            ir_port: 6554,
            ir_path: "/infrared".into(),
        }
    }
}

/// The generic RTSP profile: every port × path per host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenericDiscoveryConfig {
    pub network_ranges: Vec<ipnet::IpNet>,
    pub ports: Vec<u16>,
    pub paths: Vec<String>,
}

impl Default for GenericDiscoveryConfig {
    fn default() -> Self {
        GenericDiscoveryConfig {
            network_ranges: Vec::new(),
            ports: vec![554, 8554],
            paths: vec!["/stream".into(), "/live".into(), "/video".into()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `camera_service=debug,info`.
    pub level: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

// ---- ranged deserializers: the error carries the parser's location ----

fn in_range<'de, D, T>(d: D, min: T, max: T, what: &str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + PartialOrd + std::fmt::Display + Copy,
{
    let v = T::deserialize(d)?;
    if v < min || v > max {
        return Err(serde::de::Error::custom(format!(
            "{v} is out of range: {what} must be {min}..={max}"
        )));
    }
    Ok(v)
}

fn positive_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    in_range(d, 1, usize::MAX, "value")
}
fn positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    in_range(d, 1, u64::MAX, "value")
}
fn opt_positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom(
            "0 is out of range: value must be null or at least 1",
        )),
        v => Ok(v),
    }
}
fn positive_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 1, u32::MAX, "value")
}
fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, 0.0, 100.0, "percentage")
}
fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, 0.0, 1.0, "fraction")
}
fn quality<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 1, 100, "quality")
}
fn days<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 1, 3650, "days")
}
fn dimension<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 16, 8192, "dimension")
}
fn fps<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, 1, 240, "fps")
}
