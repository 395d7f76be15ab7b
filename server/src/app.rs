//! Application wiring: builds every service from the configuration, binds the listeners, runs the background
//! tasks, and shuts down in order on SIGTERM/SIGINT (stop accepting, announce `system.shutdown`, close
//! WebSockets with 1001, stop tasks, checkpoint the store).
//!
//! `AppState` is the one shared state: an `Arc` of services, each with its own small lock; nothing global.

use crate::auth::AuthService;
use crate::auth::limits::{FailureLimiter, TokenBucket};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::events::EventBus;
use crate::health::host::HostSampler;
use crate::health::server::HealthServerState;
use crate::health::{HealthDeps, HealthMonitor};
use crate::rpc::connection::ConnectionRegistry;
use crate::store::Store;
use crate::telemetry::RpcMetrics;
use crate::transport::limits::{ConnectionCaps, HttpRateBuckets};
use anyhow::Context;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the readiness gate and `/health/ready` look at.
#[derive(Default)]
pub struct Readiness {
    discovery_done: AtomicBool,
    listener_bound: AtomicBool,
}

impl Readiness {
    /// The gate of API.md §3.5: the first camera discovery scan has finished.
    pub fn is_ready(&self) -> bool {
        self.discovery_done.load(Ordering::Acquire)
    }
    pub fn set_discovery_done(&self) {
        self.discovery_done.store(true, Ordering::Release);
    }
    pub fn listener_bound(&self) -> bool {
        self.listener_bound.load(Ordering::Acquire)
    }
    pub fn set_listener_bound(&self, bound: bool) {
        self.listener_bound.store(bound, Ordering::Release);
    }
}

pub struct AppState {
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub store: Store,
    pub auth: Arc<AuthService>,
    pub auth_failures: FailureLimiter,
    pub events: Arc<EventBus>,
    pub connections: Arc<ConnectionRegistry>,
    pub connection_caps: Arc<ConnectionCaps>,
    pub http_rate_buckets: HttpRateBuckets,
    pub rpc_metrics: RpcMetrics,
    pub readiness: Arc<Readiness>,
    pub health: Arc<HealthMonitor>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The OpenRPC document served by `rpc.discover`, as text (built once; parsed per call, which is rare, so
    /// the large tree is not held in memory).
    pub openrpc: Arc<str>,
    pub tls_enabled: bool,
    pub cameras: Arc<crate::cameras::CameraRegistry>,
    pub external: Arc<crate::cameras::external::ExternalStreams>,
    pub snapshots: Arc<crate::media::snapshots::SnapshotService>,
    pub recorder: Arc<crate::media::recorder::Recorder>,
    pub files: Arc<crate::media::files::FileCatalog>,
    pub storage: Arc<crate::storage::StorageService>,
    pub download_tokens: Arc<crate::downloads::DownloadTokens>,
    pub started_at: OffsetDateTime,
    /// The backend decided at start (`get_server_info.backend`).
    pub backend: crate::mediamtx::Backend,
    /// Streaming over MediaMTX; `None` in the standalone backend.
    pub streaming: Option<Arc<crate::mediamtx::streaming::StreamingService>>,
    shutdown: watch::Sender<bool>,
}

impl AppState {
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Turns true once shutdown has begun.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// A fresh request bucket for one WebSocket connection.
    pub fn new_rate_bucket(&self) -> TokenBucket {
        let s = &self.config.security;
        TokenBucket::new(s.rate_limit_burst, s.rate_limit_per_sec, self.clock.elapsed())
    }
}

/// The camera view the health monitor uses for readiness: the registry's, except that the first scan counts as
/// done only once the readiness gate is open (after the first scan *and* the health round that follows it), so
/// `/health/ready` and the gate of API.md §3.5 never disagree. The `camera_monitor` component check reads the
/// registry directly.
struct GatedCameraProbe {
    cameras: Arc<dyn crate::health::CameraMonitorProbe>,
    readiness: Arc<Readiness>,
}

impl crate::health::CameraMonitorProbe for GatedCameraProbe {
    fn snapshot(&self) -> crate::health::CameraMonitorSnapshot {
        let mut snapshot = self.cameras.snapshot();
        snapshot.first_scan_done &= self.readiness.is_ready();
        snapshot
    }
}

/// Runs the service until SIGTERM or SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    crate::telemetry::init(&config.logging);
    let capacity = raise_open_files_limit();
    tracing::info!(
        open_files = capacity,
        "open-files limit raised; about {} connections fit",
        capacity.saturating_sub(64)
    );
    let config = Arc::new(config);
    let clock: Arc<dyn Clock> = SystemClock::new();
    let started_at = clock.now();
    let prometheus = crate::health::metrics::install();

    let dirs = [
        config.data_dir.clone(),
        config.storage.recordings_path.clone(),
        config.storage.snapshots_path.clone(),
    ];
    tokio::task::spawn_blocking(move || dirs.iter().try_for_each(std::fs::create_dir_all))
        .await?
        .context("creating the data and storage directories")?;
    let data_dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&data_dir))
        .await?
        .context("opening the state store")?;
    let secret = crate::auth::secret::load_jwt_secret(&config, std::env::var("CAMERA_SERVICE_JWT_SECRET").ok())
        .context("loading the JWT secret")?;
    let auth = AuthService::new(&config, store.clone(), clock.clone(), secret);
    let events = EventBus::new(&config.notifications, clock.clone());
    let ffmpeg = crate::media::ffmpeg::Ffmpeg::default();
    let device_probe: Arc<dyn crate::cameras::CameraProbe> = if config.cameras.v4l2.enabled {
        Arc::new(crate::cameras::v4l2::V4l2Probe::new(
            config.cameras.v4l2.device_dir.clone(),
        ))
    } else {
        Arc::new(crate::cameras::NoDevices)
    };
    let cameras = crate::cameras::CameraRegistry::new(
        &config.cameras,
        device_probe,
        ffmpeg.clone(),
        events.clone(),
        clock.clone(),
    );
    let external = crate::cameras::external::ExternalStreams::new(
        &config.external_discovery,
        cameras.clone(),
        store.clone(),
        clock.clone(),
    );
    external.load().await.context("loading the external streams")?;
    let snapshots = Arc::new(crate::media::snapshots::SnapshotService::new(
        &config,
        cameras.clone(),
        ffmpeg.clone(),
        events.clone(),
        clock.clone(),
        store.clone(),
    ));
    let recorder = crate::media::recorder::Recorder::new(
        &config,
        cameras.clone(),
        ffmpeg.clone(),
        events.clone(),
        clock.clone(),
        store.clone(),
    );
    let files = Arc::new(crate::media::files::FileCatalog::new(
        &config,
        recorder.clone(),
        ffmpeg,
        events.clone(),
        clock.clone(),
        store.clone(),
    ));
    let storage = crate::storage::StorageService::new(
        &config,
        store.clone(),
        files.clone(),
        recorder.clone(),
        events.clone(),
        clock.clone(),
    );

    let tls = match (&config.server.tls.cert_file, &config.server.tls.key_file) {
        (Some(cert), Some(key)) => Some(crate::transport::tls::acceptor(cert, key)?),
        _ => None,
    };
    let rpc_listener = TcpListener::bind((config.server.host.as_str(), config.server.port))
        .await
        .with_context(|| format!("binding server {}:{}", config.server.host, config.server.port))?;
    let health_listener = TcpListener::bind((config.health.host.as_str(), config.health.port))
        .await
        .with_context(|| format!("binding health {}:{}", config.health.host, config.health.port))?;

    let (shutdown, _) = watch::channel(false);
    let readiness = Arc::new(Readiness::default());
    let connections = Arc::new(ConnectionRegistry::default());
    let listener_bound: Arc<dyn Fn() -> bool + Send + Sync> = {
        let readiness = readiness.clone();
        Arc::new(move || readiness.listener_bound())
    };
    let camera_probe: Arc<dyn crate::health::CameraMonitorProbe> = cameras.clone();
    let mut media_server = crate::mediamtx::MediaServer::start(
        &config,
        cameras.clone(),
        crate::media::ffmpeg::Ffmpeg::default(),
        events.clone(),
        clock.clone(),
        shutdown.subscribe(),
    )
    .await
    .context("starting the MediaMTX backend")?;
    if let Some(streaming) = &media_server.streaming {
        // MediaMTX records the camera's path (a V4L2 device has one reader: MediaMTX's publisher).
        recorder.set_engine(Arc::new(crate::media::recorder::engine_mediamtx::MediamtxEngine::new(
            &config,
            streaming.clone(),
            files.index().clone(),
        )));
    }
    match &media_server.streaming {
        Some(streaming) => snapshots.set_live_feed(streaming.clone()),
        None => snapshots.set_live_feed(recorder.frame_tap()),
    }
    let health = HealthMonitor::new(HealthDeps {
        clock: clock.clone(),
        events: events.clone(),
        started_at,
        checks: storage.health_checks(crate::health::standard_checks(
            &config,
            connections.clone(),
            listener_bound.clone(),
            camera_probe.clone(),
            media_server.health_check(),
            store.clone(),
        )),
        cameras: Arc::new(GatedCameraProbe {
            cameras: camera_probe,
            readiness: readiness.clone(),
        }),
        listener_bound,
        host: HostSampler::new(clock.clone(), config.storage.recordings_path.clone()),
        metrics: Some(prometheus.clone()),
    });
    let app = Arc::new(AppState {
        auth_failures: FailureLimiter::new(&config.security),
        connection_caps: ConnectionCaps::new(&config.server),
        http_rate_buckets: HttpRateBuckets::new(&config.security),
        rpc_metrics: RpcMetrics::new(),
        openrpc: camera_api::openrpc::document().to_string().into(),
        tls_enabled: tls.is_some(),
        started_at,
        connections,
        health: health.clone(),
        metrics: prometheus.clone(),
        readiness: readiness.clone(),
        config: config.clone(),
        clock: clock.clone(),
        store: store.clone(),
        auth: auth.clone(),
        events: events.clone(),
        cameras: cameras.clone(),
        external: external.clone(),
        snapshots,
        recorder: recorder.clone(),
        files,
        backend: media_server.backend,
        streaming: media_server.streaming.clone(),
        storage: storage.clone(),
        download_tokens: Arc::new(crate::downloads::DownloadTokens::new(
            clock.clone(),
            Duration::from_secs(config.security.download_token_ttl),
        )),
        shutdown,
    });

    let mut tasks = tokio::task::JoinSet::new();
    let rpc_addr = rpc_listener.local_addr()?;
    let health_addr = health_listener.local_addr()?;
    tasks.spawn(crate::transport::serve(
        rpc_listener,
        tls,
        crate::transport::router(app.clone()),
        app.shutdown_signal(),
    ));
    readiness.set_listener_bound(true);
    tasks.spawn(auth.clone().run_revocation_watch(app.shutdown_signal()));
    // The media index follows the storage folders (watch + periodic reconcile), so lists never scan.
    tasks.spawn(app.files.clone().run_index(app.shutdown_signal()));
    health.refresh().await;
    tasks.spawn(health.clone().run(app.shutdown_signal()));
    {
        // Usage levels, low-space stops and retention runs; a level change asks for a health round.
        let health = health.clone();
        let on_level: crate::storage::monitor::LevelHook = Arc::new(move |_| health.request_refresh());
        tasks.spawn(storage.clone().run_monitor(Some(on_level), app.shutdown_signal()));
    }
    tasks.spawn(crate::health::metrics::run_upkeep(
        prometheus.clone(),
        app.shutdown_signal(),
    ));
    if config.cameras.v4l2.enabled {
        tasks.spawn(crate::cameras::hotplug::run(
            cameras.clone(),
            config.cameras.v4l2.device_dir.clone(),
            app.shutdown_signal(),
        ));
    }
    tasks.spawn(external.clone().run(app.shutdown_signal()));
    {
        // First discovery scan (the readiness gate), then resume the recordings of the last run, then keep
        // reconciling.
        let (cameras, readiness, recorder, health, shutdown) = (
            cameras.clone(),
            readiness.clone(),
            recorder.clone(),
            health.clone(),
            app.shutdown_signal(),
        );
        tasks.spawn(async move {
            cameras.scan().await;
            health.refresh().await;
            readiness.set_discovery_done();
            if let Err(e) = recorder.resume().await {
                tracing::warn!(error = %e, "could not resume the recordings of the last run");
            }
            cameras.run(shutdown).await;
        });
    }
    media_server.spawn(&mut tasks, health.clone(), &app.shutdown_signal());
    tasks.spawn(serve_health(
        health_listener,
        HealthServerState {
            monitor: health.clone(),
            metrics: prometheus,
        },
        app.shutdown_signal(),
    ));

    release_startup_memory();
    announce_listening(rpc_addr, health_addr, app.tls_enabled);
    tracing::info!(%rpc_addr, %health_addr, tls = app.tls_enabled, "camera-service {} ready", crate::VERSION);
    events.publish(
        "system.startup",
        serde_json::json!({"version": crate::VERSION, "api_version": camera_api::API_VERSION}),
    );

    wait_for_signal().await;
    tracing::info!("shutdown requested");
    shutdown_gracefully(&app).await;
    app.shutdown.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let _ = store
        .call(|conn| {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(Into::into)
        })
        .await;
    tracing::info!("stopped");
    Ok(())
}

/// Port 8003 until shutdown.
async fn serve_health(listener: TcpListener, state: HealthServerState, mut shutdown: watch::Receiver<bool>) {
    let router = crate::health::server::router(state);
    let stop = async move {
        let _ = shutdown.wait_for(|down| *down).await;
    };
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
        tracing::error!("health server failed: {e}");
    }
}

/// Tells clients, then closes sockets (1001) and waits briefly for them to go.
async fn shutdown_gracefully(app: &Arc<AppState>) {
    // Finalize recordings first (their rows stay, so the next start resumes them), while clients still listen.
    app.recorder.shutdown().await;
    app.events.publish(
        "system.shutdown",
        serde_json::json!({"reason": "signal", "grace_seconds": 5}),
    );
    app.shutdown.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), app.connections.wait_empty()).await;
}

/// The one line on stdout that tells a supervisor or test harness where the listeners are (ports may be 0).
fn announce_listening(rpc: std::net::SocketAddr, health: std::net::SocketAddr, tls: bool) {
    use std::io::Write;
    let line = serde_json::json!({"listening": {"rpc": rpc.to_string(), "health": health.to_string(), "tls": tls}});
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Start-up builds large transient structures (the OpenRPC document, migrations, the first scans); hand the
/// freed heap back to the OS once, so the resident size reflects what the service keeps.
fn release_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap pages; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Raises the soft open-files limit to the hard limit; returns the resulting soft limit.
fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}
