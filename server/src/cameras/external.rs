//! External streams (API.md §4.9): RTSP sources added at run time as network cameras, and the discovery scanner
//! that looks for such sources on the configured network ranges.
//!
//! Ownership and invariants:
//! - [`ExternalStreams`] owns the added streams (persisted in the state store, table `external_streams` of
//!   [`MIGRATION_SQL`]) and the discovery state (finds of earlier scans, the last scan's result, the scan
//!   interval, persisted in `external_discovery_settings`). The cameras themselves live in the
//!   [`CameraRegistry`], which owns their status.
//! - URLs may carry credentials: every URL that leaves this module for the wire or a log goes through
//!   [`redact`] (password shown as `***`). The store keeps the full URL (the service needs it to connect).
//! - Adds and removes are serialized by one async mutex, so the URL and id uniqueness checks hold.
//! - A scan: at most [`MAX_ADDRESSES`] addresses, a TCP connect with a [`CONNECT_TIMEOUT`] and an RTSP `OPTIONS`
//!   answered with `RTSP/1.0 200` per candidate, at most `max_concurrency` attempts in flight, the whole scan
//!   bounded by `scan_timeout` on the injected clock. One scan runs at a time; callers that waited for a running
//!   scan with the same options share its result, and a result younger than [`CACHE_TTL`] is returned as is
//!   unless `force_rescan`.

use super::network::{host_port, redact};
use super::{CameraRegistry, CameraStatus};
use crate::clock::{Clock, SleepFuture, format_timestamp};
use crate::config::ExternalDiscoveryConfig;
use crate::store::{Store, parse_sql_time, sql_time};
use crate::{Error, ErrorKind};
use camera_api::types::external::{
    AddExternalStreamResult, DiscoverExternalStreamsResult, DiscoveryOptions, ExternalStream,
    ExternalStreamCapabilities, GetExternalStreamsResult, RemoveExternalStreamResult, SetDiscoveryIntervalResult,
};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Label of the state-store migration of this module.
pub const MIGRATION_NAME: &str = "external_streams";

/// SQL of that migration (append it to `store::migrations::MIGRATIONS` with the next version).
pub const MIGRATION_SQL: &str = r#"
    CREATE TABLE external_streams (
        url          TEXT PRIMARY KEY NOT NULL,     -- full URL, credentials included (never sent or logged)
        name         TEXT NOT NULL,
        stream_type  TEXT NOT NULL CHECK (stream_type IN ('generic_rtsp', 'skydio_stanag4609')),
        device       TEXT NOT NULL UNIQUE,
        added_at     TEXT NOT NULL
    ) STRICT;

    CREATE TABLE external_discovery_settings (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        scan_interval  INTEGER NOT NULL
    ) STRICT;
"#;

/// Most addresses one scan covers.
pub const MAX_ADDRESSES: usize = 4096;
/// Time limit of one TCP connect (and of the `OPTIONS` answer).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// A scan younger than this is returned as is unless `force_rescan`.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamType {
    Generic,
    Skydio,
}

impl StreamType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "generic_rtsp" => Some(StreamType::Generic),
            "skydio_stanag4609" => Some(StreamType::Skydio),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StreamType::Generic => "generic_rtsp",
            StreamType::Skydio => "skydio_stanag4609",
        }
    }
}

#[derive(Clone, Debug)]
struct Added {
    url: String,
    name: String,
    kind: StreamType,
    device: String,
    added_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
struct Found {
    kind: StreamType,
    name: String,
    /// `eo`, `ir` or `generic`.
    stream_type: &'static str,
    discovered_at: OffsetDateTime,
    last_seen: OffsetDateTime,
    /// Seen by the last scan that covered its profile.
    seen: bool,
}

#[derive(Clone, Debug)]
struct LastScan {
    /// Clock `elapsed()` when it finished.
    finished: Duration,
    at: OffsetDateTime,
    skydio: bool,
    generic: bool,
    duration_ms: u64,
    errors: Vec<String>,
}

/// One address × port × path to try.
#[derive(Clone, Debug)]
struct Candidate {
    host: IpAddr,
    port: u16,
    path: String,
    kind: StreamType,
    stream_type: &'static str,
}

impl Candidate {
    fn url(&self) -> String {
        match self.host {
            IpAddr::V4(a) => format!("rtsp://{a}:{}{}", self.port, self.path),
            IpAddr::V6(a) => format!("rtsp://[{a}]:{}{}", self.port, self.path),
        }
    }
    fn name(&self) -> String {
        match (self.kind, self.stream_type) {
            (StreamType::Skydio, "ir") => format!("Skydio IR {}", self.host),
            (StreamType::Skydio, _) => format!("Skydio EO {}", self.host),
            (StreamType::Generic, _) => format!("RTSP {}:{}{}", self.host, self.port, self.path),
        }
    }
}

/// External streams and discovery. Construct with [`ExternalStreams::new`], call [`ExternalStreams::load`]
/// once at start-up, and spawn [`ExternalStreams::run`] for scheduled scans.
pub struct ExternalStreams {
    config: ExternalDiscoveryConfig,
    cameras: Arc<CameraRegistry>,
    store: Store,
    clock: Arc<dyn Clock>,
    added: Mutex<Vec<Added>>,
    found: Mutex<HashMap<String, Found>>,
    last: Mutex<Option<LastScan>>,
    scan_lock: tokio::sync::Mutex<()>,
    scans_done: AtomicU64,
    edit_lock: tokio::sync::Mutex<()>,
    interval: watch::Sender<u64>,
}

impl ExternalStreams {
    pub fn new(
        config: &ExternalDiscoveryConfig,
        cameras: Arc<CameraRegistry>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let (interval, _) = watch::channel(config.scan_interval);
        Arc::new(ExternalStreams {
            config: config.clone(),
            cameras,
            store,
            clock,
            added: Mutex::new(Vec::new()),
            found: Mutex::new(HashMap::new()),
            last: Mutex::new(None),
            scan_lock: tokio::sync::Mutex::new(()),
            scans_done: AtomicU64::new(0),
            edit_lock: tokio::sync::Mutex::new(()),
            interval,
        })
    }

    /// Reads the persisted streams (registering each as a network camera, checked by the next registry scan)
    /// and the persisted scan interval.
    pub async fn load(&self) -> crate::Result<()> {
        let (rows, interval) = self
            .store
            .call(|conn| {
                let mut stmt = conn.prepare(
                    "SELECT url, name, stream_type, device, added_at FROM external_streams ORDER BY added_at",
                )?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            parse_sql_time(&r.get::<_, String>(4)?)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let interval: Option<i64> = conn
                    .query_row(
                        "SELECT scan_interval FROM external_discovery_settings WHERE id = 1",
                        [],
                        |r| r.get(0),
                    )
                    .ok();
                Ok((rows, interval))
            })
            .await?;
        if let Some(secs) = interval.and_then(|s| u64::try_from(s).ok()) {
            self.interval.send_replace(secs);
        }
        let mut added = Vec::new();
        for (url, name, kind, device, added_at) in rows {
            let kind = StreamType::parse(&kind).unwrap_or(StreamType::Generic);
            match self.cameras.restore_network(&device, &name, &url) {
                Ok(()) => added.push(Added {
                    url,
                    name,
                    kind,
                    device,
                    added_at,
                }),
                Err(e) => tracing::warn!(device, url = redact(&url), error = %e, "external stream not restored"),
            }
        }
        *lock(&self.added) = added;
        Ok(())
    }

    /// `add_external_stream`. Params are validated by the dispatcher (URL form, name, id pattern).
    pub async fn add(
        &self,
        url: &str,
        name: &str,
        kind: Option<&str>,
        device: Option<&str>,
    ) -> crate::Result<AddExternalStreamResult> {
        let kind = match kind {
            None => StreamType::Generic,
            Some(k) => StreamType::parse(k).ok_or_else(|| {
                Error::invalid_param("invalid_value", "stream_type", format!("unknown stream_type {k:?}"))
                    .with("allowed", vec!["generic_rtsp", "skydio_stanag4609"])
            })?,
        };
        let _edit = self.edit_lock.lock().await;
        let taken = lock(&self.added).iter().any(|a| a.url == url || redact(&a.url) == url);
        if taken || self.configured_urls().iter().any(|u| u == url) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "stream_exists",
                format!("{} is already a camera", redact(url)),
            )
            .with("resource", "external_stream")
            .with("id", redact(url))
            .suggest("Call get_external_streams for the added streams"));
        }
        let device = match device {
            Some(d) => d.to_owned(),
            None => derive_id(name, &self.cameras.ids()),
        };
        let now = self.clock.now();
        let row = Added {
            url: url.to_owned(),
            name: name.to_owned(),
            kind,
            device: device.clone(),
            added_at: now,
        };
        // Reserve the id in the registry first (it refuses taken ids and the camera limit), then persist.
        self.cameras.add_network(&device, name, url).await?;
        let persisted = {
            let row = row.clone();
            self.store
                .call(move |conn| {
                    conn.execute(
                        "INSERT INTO external_streams (url, name, stream_type, device, added_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        rusqlite::params![row.url, row.name, row.kind.as_str(), row.device, sql_time(row.added_at)],
                    )?;
                    Ok(())
                })
                .await
        };
        if let Err(e) = persisted {
            self.cameras.remove_network(&device);
            return Err(e);
        }
        tracing::info!(device, url = redact(url), "external stream added");
        lock(&self.added).push(row);
        Ok(AddExternalStreamResult {
            stream_url: redact(url),
            stream_name: name.to_owned(),
            stream_type: kind.as_str().to_owned(),
            device,
            status: "ADDED".into(),
            timestamp: format_timestamp(now),
        })
    }

    /// The camera id of an added stream, matching `url` as added or as shown (password `***`).
    pub fn device_of(&self, url: &str) -> Option<String> {
        lock(&self.added)
            .iter()
            .find(|a| a.url == url || redact(&a.url) == url)
            .map(|a| a.device.clone())
    }

    /// `remove_external_stream`. `recording` tells whether a camera is recording (-32020 `camera_busy`).
    pub async fn remove(
        &self,
        url: &str,
        recording: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> crate::Result<RemoveExternalStreamResult> {
        let _edit = self.edit_lock.lock().await;
        let Some(found) = lock(&self.added)
            .iter()
            .find(|a| a.url == url || redact(&a.url) == url)
            .cloned()
        else {
            if self.configured_urls().iter().any(|u| u == url || redact(u) == url) {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "configured_camera",
                    format!("{} is defined in the configuration file", redact(url)),
                )
                .with("resource", "external_stream")
                .with("id", redact(url))
                .suggest("Edit cameras.network in the configuration file"));
            }
            return Err(
                Error::not_found("external_stream_not_found", "external_stream", &redact(url))
                    .suggest("Call get_external_streams for the added streams"),
            );
        };
        if recording(&found.device) {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "camera_busy",
                format!("{} is recording", found.device),
            )
            .with("resource", "camera")
            .with("id", found.device.clone())
            .suggest("Call stop_recording first"));
        }
        let key = found.url.clone();
        self.store
            .call(move |conn| {
                conn.execute("DELETE FROM external_streams WHERE url = ?1", [key])?;
                Ok(())
            })
            .await?;
        lock(&self.added).retain(|a| a.url != found.url);
        self.cameras.remove_network(&found.device);
        tracing::info!(
            device = found.device,
            url = redact(&found.url),
            "external stream removed"
        );
        Ok(RemoveExternalStreamResult {
            stream_url: redact(&found.url),
            device: found.device,
            status: "REMOVED".into(),
            timestamp: format_timestamp(self.clock.now()),
        })
    }

    /// `get_external_streams`: added streams, then finds of the last scans that were seen and not added.
    pub fn list(&self) -> GetExternalStreamsResult {
        let added = lock(&self.added).clone();
        let mut streams: Vec<ExternalStream> = added.iter().map(|a| self.added_item(a)).collect();
        let added_urls: HashSet<&str> = added.iter().map(|a| a.url.as_str()).collect();
        let mut finds: Vec<ExternalStream> = lock(&self.found)
            .iter()
            .filter(|(url, f)| f.seen && !added_urls.contains(url.as_str()))
            .map(|(url, f)| found_item(url, f, "DISCOVERED", None))
            .collect();
        finds.sort_by(|a, b| a.url.cmp(&b.url));
        streams.extend(finds);
        let (skydio, generic) = split(&streams);
        GetExternalStreamsResult {
            total_count: streams.len() as u64,
            external_streams: streams,
            skydio_streams: skydio,
            generic_streams: generic,
            timestamp: format_timestamp(self.clock.now()),
        }
    }

    /// The current scan interval in seconds (0: on demand only).
    pub fn scan_interval(&self) -> u64 {
        *self.interval.borrow()
    }

    /// `set_discovery_interval`: persisted and applied at once.
    pub async fn set_interval(&self, secs: u32) -> crate::Result<SetDiscoveryIntervalResult> {
        self.require_enabled()?;
        self.store
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO external_discovery_settings (id, scan_interval) VALUES (1, ?1) \
                     ON CONFLICT (id) DO UPDATE SET scan_interval = excluded.scan_interval",
                    [i64::from(secs)],
                )?;
                Ok(())
            })
            .await?;
        self.interval.send_replace(u64::from(secs));
        tracing::info!(scan_interval = secs, "discovery interval updated");
        Ok(SetDiscoveryIntervalResult {
            scan_interval: secs,
            status: "UPDATED".into(),
            message: "Discovery interval updated".into(),
            timestamp: format_timestamp(self.clock.now()),
        })
    }

    fn require_enabled(&self) -> crate::Result<()> {
        if self.config.enabled {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Unsupported,
                "feature_disabled",
                "External stream discovery is disabled",
            )
            .with("feature", "external_discovery")
            .suggest("Set external_discovery.enabled: true in the configuration"))
        }
    }

    /// `discover_external_streams`.
    pub async fn discover(&self, options: DiscoveryOptions) -> crate::Result<DiscoverExternalStreamsResult> {
        self.require_enabled()?;
        let generation = self.scans_done.load(Ordering::Acquire);
        let _scan = self.scan_lock.lock().await;
        let reusable = lock(&self.last).clone().filter(|last| {
            let same = last.skydio == options.skydio_enabled && last.generic == options.generic_enabled;
            let shared = self.scans_done.load(Ordering::Acquire) != generation;
            let fresh = !options.force_rescan && self.clock.elapsed().saturating_sub(last.finished) < CACHE_TTL;
            same && (shared || fresh)
        });
        let last = match reusable {
            Some(last) => last,
            None => self.scan(options.skydio_enabled, options.generic_enabled).await,
        };
        Ok(self.discovery_result(&last, options))
    }

    fn discovery_result(&self, last: &LastScan, options: DiscoveryOptions) -> DiscoverExternalStreamsResult {
        let added: HashMap<String, String> = lock(&self.added)
            .iter()
            .map(|a| (a.url.clone(), a.device.clone()))
            .collect();
        let mut items: Vec<ExternalStream> = lock(&self.found)
            .iter()
            .filter(|(_, f)| match f.kind {
                StreamType::Skydio => last.skydio,
                StreamType::Generic => last.generic,
            })
            .filter(|(_, f)| f.seen || options.include_offline)
            .map(|(url, f)| match added.get(url) {
                Some(device) => found_item(url, f, "ADDED", Some(device.clone())),
                None => found_item(url, f, if f.seen { "DISCOVERED" } else { "OFFLINE" }, None),
            })
            .collect();
        items.sort_by(|a, b| a.url.cmp(&b.url));
        let (skydio, generic) = split(&items);
        DiscoverExternalStreamsResult {
            total_found: items.len() as u64,
            discovered_streams: items,
            skydio_streams: skydio,
            generic_streams: generic,
            scan_timestamp: format_timestamp(last.at),
            discovery_options: options,
            scan_duration: format!("{:.1}s", last.duration_ms as f64 / 1000.0),
            scan_duration_ms: last.duration_ms,
            errors: last.errors.clone(),
        }
    }

    /// Runs one scan of the enabled profiles and records it (call with `scan_lock` held).
    async fn scan(&self, skydio: bool, generic: bool) -> LastScan {
        let started = self.clock.elapsed();
        let mut errors = Vec::new();
        let candidates = self.candidates(skydio, generic, &mut errors);
        let total = candidates.len();
        let concurrency = self.config.max_concurrency.max(1);
        let mut attempts = futures_util::stream::iter(candidates)
            .map(|c| async move { if probe_candidate(&c).await { Some(c) } else { None } })
            .buffer_unordered(concurrency);
        let mut hits = Vec::new();
        let mut done = 0usize;
        let mut deadline: SleepFuture = self.clock.sleep(Duration::from_secs(self.config.scan_timeout));
        loop {
            tokio::select! {
                next = attempts.next() => match next {
                    Some(hit) => {
                        done += 1;
                        hits.extend(hit);
                    }
                    None => break,
                },
                () = &mut deadline => {
                    errors.push(format!(
                        "scan cut short after {} s (external_discovery.scan_timeout): {done} of {total} candidates checked",
                        self.config.scan_timeout
                    ));
                    break;
                }
            }
        }
        drop(attempts);
        let now = self.clock.now();
        {
            let mut found = lock(&self.found);
            for f in found.values_mut() {
                let covered = match f.kind {
                    StreamType::Skydio => skydio,
                    StreamType::Generic => generic,
                };
                if covered {
                    f.seen = false;
                }
            }
            for c in &hits {
                found
                    .entry(c.url())
                    .and_modify(|f| {
                        f.seen = true;
                        f.last_seen = now;
                    })
                    .or_insert_with(|| Found {
                        kind: c.kind,
                        name: c.name(),
                        stream_type: c.stream_type,
                        discovered_at: now,
                        last_seen: now,
                        seen: true,
                    });
            }
        }
        let duration_ms = u64::try_from(self.clock.elapsed().saturating_sub(started).as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            candidates = total,
            found = hits.len(),
            duration_ms,
            "external stream discovery finished"
        );
        let last = LastScan {
            finished: self.clock.elapsed(),
            at: now,
            skydio,
            generic,
            duration_ms,
            errors,
        };
        *lock(&self.last) = Some(last.clone());
        self.scans_done.fetch_add(1, Ordering::AcqRel);
        last
    }

    /// The candidates of the enabled profiles, at most [`MAX_ADDRESSES`] distinct addresses.
    fn candidates(&self, skydio: bool, generic: bool, errors: &mut Vec<String>) -> Vec<Candidate> {
        let mut addresses: HashSet<IpAddr> = HashSet::new();
        let mut truncated = false;
        let mut hosts_of = |ranges: &[ipnet::IpNet]| -> Vec<IpAddr> {
            let mut out = Vec::new();
            for net in ranges {
                for host in net.hosts() {
                    if addresses.contains(&host) {
                        out.push(host);
                    } else if addresses.len() < MAX_ADDRESSES {
                        addresses.insert(host);
                        out.push(host);
                    } else {
                        truncated = true;
                        break;
                    }
                }
            }
            out
        };
        let mut candidates = Vec::new();
        if skydio {
            let s = &self.config.skydio;
            for host in hosts_of(&s.network_ranges) {
                for (port, path, stream_type) in [(s.eo_port, &s.eo_path, "eo"), (s.ir_port, &s.ir_path, "ir")] {
                    candidates.push(Candidate {
                        host,
                        port,
                        path: path.clone(),
                        kind: StreamType::Skydio,
                        stream_type,
                    });
                }
            }
        }
        if generic {
            let g = &self.config.generic;
            for host in hosts_of(&g.network_ranges) {
                for port in &g.ports {
                    for path in &g.paths {
                        candidates.push(Candidate {
                            host,
                            port: *port,
                            path: path.clone(),
                            kind: StreamType::Generic,
                            stream_type: "generic",
                        });
                    }
                }
            }
        }
        if truncated {
            errors.push(format!(
                "the configured network ranges hold more than {MAX_ADDRESSES} addresses; only the first {MAX_ADDRESSES} were scanned"
            ));
        }
        candidates
    }

    /// Scheduled scans (Skydio profile, plus generic when it has ranges) every `scan_interval` seconds of the
    /// clock; an interval change applies at once. Returns when `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if !self.config.enabled {
            return;
        }
        let mut interval = self.interval.subscribe();
        loop {
            let secs = *interval.borrow_and_update();
            let wait: SleepFuture = if secs == 0 {
                Box::pin(std::future::pending())
            } else {
                self.clock.sleep(Duration::from_secs(secs))
            };
            let tick = tokio::select! {
                () = wait => true,
                changed = interval.changed() => if changed.is_err() { return } else { false },
                _ = shutdown.wait_for(|down| *down) => return,
            };
            if tick {
                let options = DiscoveryOptions {
                    skydio_enabled: true,
                    generic_enabled: !self.config.generic.network_ranges.is_empty(),
                    force_rescan: true,
                    include_offline: false,
                };
                if let Err(e) = self.discover(options).await {
                    tracing::warn!(error = %e, "scheduled discovery failed");
                }
            }
        }
    }

    fn configured_urls(&self) -> Vec<String> {
        self.cameras.configured_network_urls()
    }

    fn added_item(&self, a: &Added) -> ExternalStream {
        let (port, path) = port_path(&a.url);
        let stream_type = match a.kind {
            StreamType::Skydio if port == self.config.skydio.ir_port || path == self.config.skydio.ir_path => "ir",
            StreamType::Skydio => "eo",
            StreamType::Generic => "generic",
        };
        let status = match self.cameras.camera(&a.device).map(|c| c.status) {
            Ok(CameraStatus::Error) => "ERROR",
            _ => "ADDED",
        };
        ExternalStream {
            url: redact(&a.url),
            r#type: a.kind.as_str().to_owned(),
            name: a.name.clone(),
            status: status.into(),
            device: Some(a.device.clone()),
            discovered_at: format_timestamp(a.added_at),
            last_seen: format_timestamp(a.added_at),
            capabilities: capabilities(a.kind, stream_type, port, path),
        }
    }
}

fn found_item(url: &str, f: &Found, status: &str, device: Option<String>) -> ExternalStream {
    let (port, path) = port_path(url);
    ExternalStream {
        url: redact(url),
        r#type: f.kind.as_str().to_owned(),
        name: f.name.clone(),
        status: status.to_owned(),
        device,
        discovered_at: format_timestamp(f.discovered_at),
        last_seen: format_timestamp(f.last_seen),
        capabilities: capabilities(f.kind, f.stream_type, port, path),
    }
}

fn capabilities(kind: StreamType, stream_type: &str, port: u16, path: String) -> ExternalStreamCapabilities {
    let skydio = kind == StreamType::Skydio;
    ExternalStreamCapabilities {
        protocol: "rtsp".into(),
        format: if skydio { "stanag4609" } else { "unknown" }.into(),
        source: if skydio { "skydio_uav" } else { "generic" }.into(),
        stream_type: stream_type.to_owned(),
        port,
        stream_path: path,
        codec: None,
        metadata: None,
    }
}

/// Port and path (query excluded) of an RTSP URL.
fn port_path(url: &str) -> (u16, String) {
    let port = host_port(url).map_or(554, |(_, p, _)| p);
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme
        .find('/')
        .map_or("/", |i| &after_scheme[i..])
        .split(['?', '#'])
        .next()
        .unwrap_or("/");
    (port, path.to_owned())
}

fn split(items: &[ExternalStream]) -> (Vec<ExternalStream>, Vec<ExternalStream>) {
    items
        .iter()
        .cloned()
        .partition(|s| s.r#type == StreamType::Skydio.as_str())
}

/// `ext_` + the lower-cased name with every character outside `[a-z0-9_]` replaced by `_`, at most 64
/// characters; `_2`, `_3`, ... appended while taken.
pub fn derive_id(name: &str, taken: &HashSet<String>) -> String {
    let cleaned: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base: String = format!("ext_{cleaned}").chars().take(64).collect();
    if !taken.contains(&base) {
        return base;
    }
    (2u32..)
        .map(|n| {
            let suffix = format!("_{n}");
            let keep = 64 - suffix.len();
            format!("{}{suffix}", base.chars().take(keep).collect::<String>())
        })
        .find(|id| !taken.contains(id))
        .unwrap_or(base)
}

/// Whether an RTSP server answers `OPTIONS` for the candidate URL with `RTSP/1.0 200`.
async fn probe_candidate(c: &Candidate) -> bool {
    let addr = SocketAddr::new(c.host, c.port);
    let Ok(Ok(mut stream)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await else {
        return false;
    };
    let request = format!(
        "OPTIONS {} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camera-service\r\n\r\n",
        c.url()
    );
    let exchange = async {
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut buf = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            let read = stream.read(&mut buf[n..]).await.ok()?;
            if read == 0 {
                break;
            }
            n += read;
        }
        Some(buf[..n].starts_with(b"RTSP/1.0 200"))
    };
    matches!(tokio::time::timeout(CONNECT_TIMEOUT, exchange).await, Ok(Some(true)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cameras::tests::virtual_config;
    use crate::clock::ManualClock;
    use crate::media::ffmpeg::Ffmpeg;
    use tokio::net::TcpListener;

    /// A tiny RTSP server on 127.0.0.1 answering `OPTIONS` for `path` with 200, anything else with 404.
    async fn fake_rtsp(path: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 512];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let text = String::from_utf8_lossy(&buf[..n]);
                    let answer = if text.starts_with("OPTIONS ") && text.contains(&format!("{path} RTSP/1.0")) {
                        "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"
                    } else {
                        "RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n"
                    };
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        port
    }

    type Fixture = (
        Arc<ExternalStreams>,
        Arc<CameraRegistry>,
        Arc<crate::events::EventBus>,
        tempfile::TempDir,
        Arc<ManualClock>,
    );

    async fn service(config: ExternalDiscoveryConfig) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let events = crate::events::EventBus::new_for_tests();
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let cameras = CameraRegistry::new(
            &virtual_config(&["camera0"]),
            Arc::new(crate::cameras::NoDevices),
            Ffmpeg::default(),
            events.clone(),
            clock.clone(),
        );
        let ext = ExternalStreams::new(&config, cameras.clone(), store, clock.clone());
        ext.load().await.expect("load");
        (ext, cameras, events, dir, clock)
    }

    #[test]
    fn derived_ids() {
        let mut taken = HashSet::new();
        assert_eq!(derive_id("UAV 15", &taken), "ext_uav_15");
        taken.insert("ext_uav_15".to_owned());
        assert_eq!(derive_id("uav-15", &taken), "ext_uav_15_2");
        let long = "x".repeat(100);
        let id = derive_id(&long, &taken);
        assert_eq!(id.len(), 64);
        taken.insert(id.clone());
        let next = derive_id(&long, &taken);
        assert!(next.ends_with("_2") && next.len() == 64);
        assert_eq!(derive_id("Ünïcode!", &HashSet::new()), "ext__n_code_");
    }

    #[test]
    fn port_and_path() {
        assert_eq!(port_path("rtsp://u:p@h:5554/subject?x=1"), (5554, "/subject".into()));
        assert_eq!(port_path("rtsp://h"), (554, "/".into()));
    }

    #[tokio::test]
    async fn add_list_remove_with_redaction_and_persistence() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let url = format!("rtsp://admin:secret@127.0.0.1:{port}/subject");
        let (ext, cameras, events, dir, _) = service(ExternalDiscoveryConfig::default()).await;
        let added = ext
            .add(&url, "UAV 15", Some("skydio_stanag4609"), None)
            .await
            .expect("add");
        assert_eq!(added.device, "ext_uav_15");
        assert_eq!(added.stream_url, format!("rtsp://admin:***@127.0.0.1:{port}/subject"));
        // Unreachable: listed, DISCONNECTED (API.md §4.0), not a hang.
        let cam = cameras.camera("ext_uav_15").expect("camera");
        assert_eq!(cam.status, CameraStatus::Disconnected);
        assert_eq!(cam.kind, crate::cameras::CameraKind::Network);
        let topics: Vec<String> = events.log.lock().expect("log").iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(topics, ["camera_status_update", "camera.disconnected"]);

        let err = ext.add(&url, "again", None, None).await.expect_err("dup url");
        assert_eq!(err.reason, "stream_exists");
        assert!(!err.details.contains("secret"));
        let err = ext
            .add("rtsp://10.0.0.1/x", "n", None, Some("camera0"))
            .await
            .expect_err("dup id");
        assert_eq!(err.reason, "device_exists");

        let list = ext.list();
        assert_eq!(list.total_count, 1);
        assert_eq!(list.skydio_streams.len(), 1);
        assert_eq!(list.external_streams[0].url, added.stream_url);
        assert_eq!(list.external_streams[0].status, "ADDED");
        assert_eq!(list.external_streams[0].capabilities.stream_type, "eo");
        assert!(!serde_json::to_string(&list).expect("json").contains("secret"));

        // Persisted: a fresh service over the same store sees it.
        let store = Store::open(dir.path()).expect("store");
        let clock = ManualClock::new(time::macros::datetime!(2025-01-15 14:30:00 UTC));
        let cameras2 = CameraRegistry::new(
            &virtual_config(&[]),
            Arc::new(crate::cameras::NoDevices),
            Ffmpeg::default(),
            crate::events::EventBus::new_for_tests(),
            clock.clone(),
        );
        let ext2 = ExternalStreams::new(&ExternalDiscoveryConfig::default(), cameras2.clone(), store, clock);
        ext2.load().await.expect("load");
        assert!(cameras2.camera("ext_uav_15").is_ok());

        let err = ext.remove(&added.stream_url, &|_| true).await.expect_err("busy");
        assert_eq!(err.reason, "camera_busy");
        let removed = ext.remove(&added.stream_url, &|_| false).await.expect("remove");
        assert_eq!(removed.device, "ext_uav_15");
        assert!(cameras.camera("ext_uav_15").is_err());
        let log = events.log.lock().expect("log").clone();
        let last = &log[log.len() - 1];
        assert_eq!(last.0, "camera.disconnected");
        assert_eq!(last.1["removed"], serde_json::json!(true));
        assert_eq!(log[log.len() - 2].1["removed"], serde_json::json!(true));
        let err = ext.remove(&url, &|_| false).await.expect_err("gone");
        assert_eq!(err.reason, "external_stream_not_found");
    }

    #[tokio::test]
    async fn discovery_finds_the_fake_server_and_is_disabled_by_default() {
        let (ext, ..) = service(ExternalDiscoveryConfig::default()).await;
        let err = ext.discover(DiscoveryOptions::default()).await.expect_err("disabled");
        assert_eq!(err.reason, "feature_disabled");
        assert_eq!(
            ext.set_interval(60).await.expect_err("disabled").reason,
            "feature_disabled"
        );

        let port = fake_rtsp("/subject").await;
        let mut config = ExternalDiscoveryConfig {
            enabled: true,
            ..ExternalDiscoveryConfig::default()
        };
        config.skydio.network_ranges = vec!["127.0.0.1/32".parse().expect("net")];
        config.skydio.eo_port = port;
        config.skydio.ir_port = port;
        config.generic.network_ranges = vec!["127.0.0.1/32".parse().expect("net")];
        config.generic.ports = vec![port];
        let (ext, ..) = service(config).await;
        let options = DiscoveryOptions {
            skydio_enabled: true,
            generic_enabled: true,
            force_rescan: false,
            include_offline: false,
        };
        let result = ext.discover(options).await.expect("scan");
        assert_eq!(result.total_found, 1, "{result:?}");
        let s = &result.discovered_streams[0];
        assert_eq!(s.url, format!("rtsp://127.0.0.1:{port}/subject"));
        assert_eq!(s.status, "DISCOVERED");
        assert_eq!(s.name, "Skydio EO 127.0.0.1");
        assert_eq!(s.capabilities.stream_type, "eo");
        assert_eq!(result.skydio_streams.len(), 1);
        assert!(result.errors.is_empty());
        // Cached within 30 s; concurrent calls share.
        let (a, b) = tokio::join!(ext.discover(options), ext.discover(options));
        assert_eq!(a.expect("a").scan_timestamp, result.scan_timestamp);
        assert_eq!(b.expect("b").scan_timestamp, result.scan_timestamp);
        assert_eq!(ext.list().total_count, 1);
        assert_eq!(ext.list().external_streams[0].status, "DISCOVERED");
        assert_eq!(ext.set_interval(60).await.expect("set").scan_interval, 60);
        assert_eq!(ext.scan_interval(), 60);
    }

    #[tokio::test]
    async fn a_scan_is_cut_short_by_the_timeout() {
        // A listener that accepts but never answers: each OPTIONS waits for CONNECT_TIMEOUT.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let mut config = ExternalDiscoveryConfig {
            enabled: true,
            scan_timeout: 1,
            max_concurrency: 1,
            ..ExternalDiscoveryConfig::default()
        };
        config.skydio.network_ranges = vec!["127.0.0.1/32".parse().expect("net")];
        config.skydio.eo_port = port;
        config.skydio.ir_port = port;
        config.generic.network_ranges = vec!["10.0.0.0/8".parse().expect("net")];
        let (ext, _, _, _, clock) = service(config).await;
        let mut errors = Vec::new();
        let candidates = ext.candidates(true, true, &mut errors);
        assert_eq!(errors.len(), 1, "address cap reported: {errors:?}");
        assert_eq!(candidates.len(), 2 + (MAX_ADDRESSES - 1) * 6);
        let options = DiscoveryOptions {
            skydio_enabled: true,
            generic_enabled: false,
            force_rescan: true,
            include_offline: false,
        };
        let scan = tokio::spawn({
            let ext = Arc::clone(&ext);
            async move { ext.discover(options).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        clock.advance(Duration::from_secs(2));
        let result = tokio::time::timeout(Duration::from_secs(5), scan)
            .await
            .expect("bounded")
            .expect("join")
            .expect("result");
        assert_eq!(result.total_found, 0);
        assert!(result.errors[0].contains("cut short"), "{:?}", result.errors);
    }

    #[tokio::test]
    async fn scheduled_scans_follow_the_interval() {
        let port = fake_rtsp("/subject").await;
        let mut config = ExternalDiscoveryConfig {
            enabled: true,
            ..ExternalDiscoveryConfig::default()
        };
        config.skydio.network_ranges = vec!["127.0.0.1/32".parse().expect("net")];
        config.skydio.eo_port = port;
        config.skydio.ir_port = port;
        let (ext, _, _, _, clock) = service(config).await;
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(Arc::clone(&ext).run(shutdown));
        tokio::time::sleep(Duration::from_millis(50)).await;
        clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(ext.scans_done.load(Ordering::Acquire), 0, "interval 0: on demand only");
        ext.set_interval(10).await.expect("set");
        tokio::time::sleep(Duration::from_millis(50)).await;
        clock.advance(Duration::from_secs(10));
        let scanned = tokio::time::timeout(Duration::from_secs(5), async {
            while ext.scans_done.load(Ordering::Acquire) == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(scanned.is_ok(), "a scheduled scan ran");
        assert_eq!(ext.list().total_count, 1);
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("ends")
            .expect("join");
    }
}
