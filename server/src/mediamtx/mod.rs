//! MediaMTX integration: the media plane of the `mediamtx` backend (API.md §4.0, §4.5, §5.3, §7).
//!
//! - [`client`]: the Control API v3 client (typed bodies of `shared/mediamtx/openapi.yaml`).
//! - [`desired`]: the desired configuration of every camera's path.
//! - [`reconciler`]: applies it (replace semantics), re-applies after restarts and drift, tracks whether
//!   MediaMTX is reachable, publishes `mediamtx.*` events.
//! - [`streaming`]: the five streaming methods and the stream URLs.
//! - [`keepalive`]: the service's own readers that keep an on-demand publisher running (pins, recordings).
//! - [`managed`]: runs the `mediamtx` binary itself when `mediamtx.managed.binary` is set.
//!
//! [`MediaServer::start`] decides the backend once, at start: `recording.backend: ffmpeg` or
//! `mediamtx.enabled: false` → standalone; `mediamtx` → MediaMTX (reachable or not; while it is not, calls
//! answer -32050 `mediamtx_unavailable`); `auto` → MediaMTX when its API answers at start (managed mode waits up
//! to [`MANAGED_START_WAIT`] for the child), else standalone. In the standalone backend nothing here runs and
//! the streaming methods answer -32050 `streaming_unavailable` with a suggestion saying how to enable it.

pub mod client;
pub mod desired;
pub mod keepalive;
pub mod managed;
pub mod reconciler;
pub mod streaming;

use crate::cameras::CameraRegistry;
use crate::clock::Clock;
use crate::config::{Config, RecordingBackend};
use crate::events::EventBus;
use crate::health::ComponentCheck;
use crate::health::monitor::CheckFuture;
use crate::media::ffmpeg::Ffmpeg;
use crate::{Error, ErrorKind};
use client::{ApiAuth, ClientError, MediamtxClient};
use reconciler::Reconciler;
use std::sync::Arc;
use std::time::Duration;
use streaming::{StreamingService, StreamingSettings};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long `auto` waits for a managed MediaMTX to answer at start.
pub const MANAGED_START_WAIT: Duration = Duration::from_secs(5);
/// After a link change, when to ask for one more health round (just past the monitor's 5 s publish spacing).
const HEALTH_REPUBLISH_AFTER: Duration = Duration::from_millis(5500);

/// The active backend (`get_server_info.backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Mediamtx,
    Standalone,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Mediamtx => "mediamtx",
            Backend::Standalone => "standalone",
        }
    }
}

/// The decided backend and, for MediaMTX, its services.
pub struct MediaServer {
    pub backend: Backend,
    pub streaming: Option<Arc<StreamingService>>,
    managed: Option<tokio::task::JoinHandle<()>>,
    clock: Arc<dyn Clock>,
}

impl MediaServer {
    /// Decides the backend (see the module docs). Managed mode starts MediaMTX here; it stops when `shutdown`
    /// turns true. Fails only when the API URL or the managed configuration is unusable.
    pub async fn start(
        config: &Config,
        cameras: Arc<CameraRegistry>,
        ffmpeg: Ffmpeg,
        events: Arc<EventBus>,
        clock: Arc<dyn Clock>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<MediaServer> {
        let m = &config.mediamtx;
        if config.recording.backend == RecordingBackend::Ffmpeg || !m.enabled {
            tracing::info!("standalone backend: ffmpeg records directly, streaming is off");
            return Ok(MediaServer::standalone(clock));
        }
        let client = MediamtxClient::new(&m.api_url, api_auth(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let managed = match &m.managed {
            Some(managed) if !managed.binary.as_os_str().is_empty() => {
                let cfg = config.clone();
                let path = tokio::task::spawn_blocking(move || managed::write_config(&cfg)).await??;
                tracing::info!(config = %path.display(), "managed mode: starting MediaMTX");
                Some(tokio::spawn(managed::supervise(
                    managed.binary.clone(),
                    path,
                    clock.clone(),
                    shutdown.clone(),
                )))
            }
            _ => None,
        };
        let reachable = if managed.is_some() {
            wait_reachable(&client, clock.as_ref(), MANAGED_START_WAIT).await
        } else {
            answers(&client).await
        };
        if config.recording.backend == RecordingBackend::Auto && !reachable {
            tracing::warn!(
                api = m.api_url,
                "MediaMTX is not reachable at start: running the standalone backend (streaming off)"
            );
            if let Some(task) = managed {
                task.abort();
            }
            return Ok(MediaServer::standalone(clock));
        }
        let recordings = std::path::absolute(&config.storage.recordings_path)?;
        let settings = desired::PathSettings {
            start_timeout: Duration::from_secs(config.streaming.start_timeout),
            recording: Some(desired::RecordSettings {
                path: desired::record_path(&recordings),
                segment_duration: Duration::from_secs(config.recording.segment_duration),
            }),
            ..desired::PathSettings::default()
        };
        let reconciler = Reconciler::new(client, cameras.clone(), events, clock.clone(), settings);
        reconciler.poll_once().await;
        let host = api_host(&m.api_url);
        let scheme = if m.tls { "rtsps" } else { "rtsp" };
        let streaming = StreamingService::new(
            reconciler,
            cameras.clone(),
            ffmpeg,
            clock.clone(),
            StreamingSettings {
                start_timeout: Duration::from_secs(config.streaming.start_timeout),
                auto_close_after: Duration::from_secs(config.streaming.auto_close_after),
                public_host: m.public_host.clone().filter(|h| !h.is_empty()),
                fallback_host: host.clone(),
                rtsp_port: m.rtsp_port,
                hls_port: m.hls_port,
                webrtc_port: m.webrtc_port,
                tls: m.tls,
                internal_rtsp: format!("{scheme}://{host}:{}", m.rtsp_port),
            },
        );
        {
            let streaming = streaming.clone();
            cameras.set_stream_urls(Arc::new(move |id: &str| streaming.urls(id, None)));
        }
        tracing::info!(api = m.api_url, "MediaMTX backend");
        Ok(MediaServer {
            backend: Backend::Mediamtx,
            streaming: Some(streaming),
            managed,
            clock,
        })
    }

    fn standalone(clock: Arc<dyn Clock>) -> MediaServer {
        MediaServer {
            backend: Backend::Standalone,
            streaming: None,
            managed: None,
            clock,
        }
    }

    /// The `mediamtx` health component (`None` in standalone: the standard "not used" check applies).
    pub fn health_check(&self) -> Option<Arc<dyn ComponentCheck>> {
        let streaming = self.streaming.as_ref()?;
        Some(Arc::new(MediamtxCheck {
            reconciler: streaming.reconciler().clone(),
        }))
    }

    /// Spawns the background work: the reconciler, the pin supervisor, the managed MediaMTX, and a bridge that
    /// asks for a health round whenever the link changes (so `system_health_update` goes out promptly).
    pub fn spawn(
        &mut self,
        tasks: &mut JoinSet<()>,
        health: Arc<crate::health::HealthMonitor>,
        shutdown: &watch::Receiver<bool>,
    ) {
        if let Some(managed) = self.managed.take() {
            tasks.spawn(async move {
                if let Err(e) = managed.await
                    && !e.is_cancelled()
                {
                    tracing::error!("managed MediaMTX supervisor failed: {e}");
                }
            });
        }
        let Some(streaming) = self.streaming.clone() else {
            return;
        };
        let reconciler = streaming.reconciler().clone();
        tasks.spawn(reconciler.clone().run(shutdown.clone()));
        tasks.spawn(streaming.run(shutdown.clone()));
        let mut link = reconciler.subscribe();
        let mut stop = shutdown.clone();
        let clock = self.clock.clone();
        tasks.spawn(async move {
            // A second round once the health monitor's publish spacing has passed, so a change that was
            // suppressed by it still goes out within a few seconds.
            let mut again: Option<crate::clock::SleepFuture> = None;
            loop {
                tokio::select! {
                    changed = link.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        health.request_refresh();
                        again = Some(clock.sleep(HEALTH_REPUBLISH_AFTER));
                    }
                    () = async { if let Some(sleep) = again.as_mut() { sleep.await } }, if again.is_some() => {
                        again = None;
                        health.request_refresh();
                    }
                    () = stopped(&mut stop) => return,
                }
            }
        });
    }
}

/// Completes once `shutdown` turns true (or its sender is gone). Unlike `wait_for`, holds no borrow of the
/// channel afterwards, so it can sit in a `select!` whose other branches await.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// The `mediamtx` component of API.md §7: `GET /v3/info` within 2 s; degraded for a minute after a restart.
pub struct MediamtxCheck {
    reconciler: Arc<Reconciler>,
}

impl ComponentCheck for MediamtxCheck {
    fn name(&self) -> &'static str {
        crate::health::monitor::MEDIAMTX
    }

    fn check(&self) -> CheckFuture<'_> {
        Box::pin(self.reconciler.health_report())
    }
}

/// -32050 `mediamtx_unavailable` (MediaMTX backend, MediaMTX not usable right now).
pub fn mediamtx_unavailable(details: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unavailable, "mediamtx_unavailable", details)
        .with("dependency", "mediamtx")
        .suggest("Check that MediaMTX is running and its API is reachable (mediamtx.api_url); the service reconnects by itself")
}

/// -32050 `streaming_unavailable` (standalone backend).
pub fn streaming_unavailable() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "streaming_unavailable",
        "Streaming needs the MediaMTX backend; this service runs the standalone (ffmpeg) backend",
    )
    .with("dependency", "mediamtx")
    .suggest(
        "Install and run MediaMTX (or set mediamtx.managed.binary), set mediamtx.enabled: true and \
         recording.backend: auto or mediamtx, then restart the service",
    )
}

fn api_auth(config: &Config) -> ApiAuth {
    let m = &config.mediamtx;
    match (&m.api_token, &m.api_user, &m.api_password) {
        (Some(token), _, _) if !token.is_empty() => ApiAuth::Bearer(token.clone()),
        (_, Some(user), password) if !user.is_empty() => ApiAuth::Basic {
            user: user.clone(),
            password: password.clone().unwrap_or_default(),
        },
        _ => ApiAuth::None,
    }
}

/// Host of the API URL, bracketed for IPv6 (`http://[::1]:9997` → `[::1]`).
fn api_host(api_url: &str) -> String {
    let address = managed::api_address(api_url);
    match address.rfind(':') {
        Some(i) if address[..i].ends_with(']') || !address[..i].contains(':') => address[..i].to_owned(),
        _ => address,
    }
}

/// Whether the Control API answers at all (any HTTP answer: a 404 is a MediaMTX without `/v3/info`, a 401 is
/// one with other credentials — both are MediaMTX and get reported by the health component).
async fn answers(client: &MediamtxClient) -> bool {
    match client.info().await {
        Ok(_) => true,
        Err(ClientError::Status { .. }) => true,
        Err(_) => false,
    }
}

async fn wait_reachable(client: &MediamtxClient, clock: &dyn Clock, limit: Duration) -> bool {
    let deadline = clock.elapsed() + limit;
    loop {
        if answers(client).await {
            return true;
        }
        if clock.elapsed() >= deadline {
            return false;
        }
        clock.sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_auth() {
        assert_eq!(api_host("http://127.0.0.1:9997"), "127.0.0.1");
        assert_eq!(api_host("http://[::1]:9997/"), "[::1]");
        assert_eq!(api_host("http://mtx"), "mtx");
        let mut config = Config::default();
        assert!(matches!(api_auth(&config), ApiAuth::None));
        config.mediamtx.api_user = Some("u".into());
        config.mediamtx.api_password = Some("p".into());
        assert!(matches!(api_auth(&config), ApiAuth::Basic { .. }));
        config.mediamtx.api_token = Some("t".into());
        assert!(matches!(api_auth(&config), ApiAuth::Bearer(_)));
    }

    #[test]
    fn errors_name_the_dependency_and_how_to_fix() {
        let e = streaming_unavailable();
        assert_eq!((e.kind, e.reason), (ErrorKind::Unavailable, "streaming_unavailable"));
        assert_eq!(e.data.get("dependency").and_then(|d| d.as_str()), Some("mediamtx"));
        assert!(e.suggestion.as_deref().is_some_and(|s| s.contains("mediamtx.enabled")));
        let e = mediamtx_unavailable("down");
        assert_eq!(e.reason, "mediamtx_unavailable");
        assert_eq!(e.data.get("dependency").and_then(|d| d.as_str()), Some("mediamtx"));
    }
}
