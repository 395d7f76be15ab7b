//! The media index: one SQLite row per listable recording and snapshot (table `media_index`, migration
//! [`MIGRATION_SQL`]), so `list_recordings` / `list_snapshots` are one paged query instead of a directory scan.
//!
//! Invariants:
//! - The disk stays the truth; the index follows it. A full reconcile (scan both storage folders on the
//!   blocking pool, upsert new or changed rows, delete rows whose file is gone) runs at start and every
//!   [`RECONCILE_EVERY`] of the injected clock. Between reconciles an inotify watch on both folders
//!   (create, close_write, moved from/to, delete) feeds a bounded channel of changed names; each is re-stat'ed
//!   and its row upserted or deleted, up to [`APPLY_CHUNK`] names per store transaction (so the watch keeps up
//!   with a burst of files). A full channel or a kernel queue overflow schedules a full reconcile instead, so
//!   no change is lost for longer than one reconcile period.
//! - Only regular files (never symlinks) whose names pass the filename rule and carry a media extension of
//!   their kind get a row, exactly what the scan-based catalogue listed.
//! - A listing while the watch runs costs one `stat` of the folder: if its mtime moved past the one taken
//!   before the last sync, the listing waits briefly for the watch (then reconciles), so a file created or
//!   deleted just before a call is never missed. A sync claims a folder mtime only once it is settled (older
//!   than a kernel timestamp tick), because files created within one tick share the folder's mtime. `total` counts are cached until any row of the store changes
//!   (`total_changes()` of the store's single connection, triggers included).
//! - Until the watch runs and the first reconcile has finished ([`MediaIndex::is_live`] false — also in unit
//!   tests that never spawn [`MediaIndex::run`]), readers call [`MediaIndex::ensure_fresh`], which reconciles
//!   before answering, so a listing is never staler than the disk.
//! - Device, requested format and creation time come from `media_files` when it has a row (a trigger copies a
//!   later `media_files` insert into the index), else from the generated name; creation falls back to the
//!   file's birth time, then its mtime. `duration` (seconds, from ffprobe) is kept only while size and mtime
//!   are unchanged.
//! - All file system and SQLite work runs on the blocking pool; the inotify fd is read on its own thread.
//! - Recording files the watch sees appear are also announced ([`MediaIndex::recording_arrivals`]), so the
//!   MediaMTX recording engine learns MediaMTX's new segments without listing the folder. The announcement is
//!   lossy (a bounded broadcast): a receiver that lags lists the folder once.

use crate::clock::{Clock, format_timestamp, parse_timestamp};
use crate::fswatch::Inotify;
use crate::media::files::FileKind;
use crate::media::parse_generated_name;
use crate::media::recorder::RecordingFormat;
use crate::media::snapshots::ImageFormat;
use crate::media::storage_unavailable;
use crate::store::Store;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, watch};

/// Name of the state-store migration that creates the index.
pub const MIGRATION_NAME: &str = "media_index";

/// SQL of that migration.
pub const MIGRATION_SQL: &str = r#"
    CREATE TABLE media_index (
        kind         TEXT NOT NULL CHECK (kind IN ('recording', 'snapshot')),
        filename     TEXT NOT NULL,
        device       TEXT NOT NULL,             -- '' when unknown
        format       TEXT NOT NULL,             -- requested format (recordings) or image format
        file_size    INTEGER NOT NULL,
        created_at   TEXT NOT NULL,             -- wire timestamp
        modified_at  TEXT NOT NULL,             -- wire timestamp
        mtime_ns     INTEGER NOT NULL,          -- exact mtime, for change detection
        duration     REAL,                      -- ffprobe seconds; NULL = not probed for this size/mtime
        PRIMARY KEY (kind, filename)
    ) STRICT;
    CREATE INDEX media_index_newest ON media_index (kind, created_at DESC, filename DESC);
    CREATE INDEX media_index_device_newest ON media_index (kind, device, created_at DESC, filename DESC);
    CREATE TRIGGER media_index_facts AFTER INSERT ON media_files BEGIN
        UPDATE media_index
           SET device = NEW.device,
               format = CASE WHEN NEW.kind = 'recording' THEN NEW.format ELSE format END,
               created_at = NEW.created_at
         WHERE kind = NEW.kind AND filename = NEW.filename;
    END;
"#;

/// Period of the full reconcile.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(60);
/// Capacity of the change channel between the watch thread and the applier.
const CHANGE_CAPACITY: usize = 1024;
/// How long a listing waits for the watch to apply a change it has seen in a folder's mtime.
const CATCH_UP: Duration = Duration::from_millis(250);
/// Most files the watch applies in one store transaction (bounds how long a listing can wait for the store).
const APPLY_CHUNK: usize = 256;
/// Most cached counts (kinds × device filters).
const COUNT_CACHE: usize = 256;

/// One row of the index.
#[derive(Clone, Debug)]
pub struct IndexRow {
    pub filename: String,
    pub device: String,
    pub format: String,
    pub file_size: u64,
    pub created_at: String,
    pub modified_at: String,
    pub duration: Option<f64>,
}

/// (kind, device filter) → (`total_changes()` when counted, count).
type CountCache = HashMap<(&'static str, Option<String>), (u64, usize)>;

/// One turn of [`MediaIndex::run`].
enum Step {
    Stop,
    Tick,
    Change(Option<Change>),
}

/// What the watch thread reports.
#[derive(Debug)]
enum Change {
    File(FileKind, String),
    Rescan,
}

/// The index over both storage folders. Construct with [`MediaIndex::new`]; spawn [`MediaIndex::run`].
pub struct MediaIndex {
    store: Store,
    recordings_dir: PathBuf,
    snapshots_dir: PathBuf,
    live: AtomicBool,
    /// `total` per (kind, device filter), valid while the connection's `total_changes()` (every row any
    /// statement or trigger wrote) is the one recorded with it.
    counts: Arc<Mutex<CountCache>>,
    /// Per kind (recordings, snapshots): the folder's mtime taken just before the last pass that brought the
    /// rows up to date (a full reconcile, or a batch of watch events). A folder whose mtime moved past it has
    /// entries the index may not have seen yet.
    synced: watch::Sender<[Option<i64>; 2]>,
    /// Names of recording files the watch saw appear (see the module docs).
    arrivals: broadcast::Sender<String>,
}

/// Announcements a lagging [`MediaIndex::recording_arrivals`] receiver may fall behind by.
const ARRIVALS_CAPACITY: usize = 256;

/// What a stat tells.
#[derive(Clone, Debug)]
struct Meta {
    size: u64,
    mtime_ns: i64,
    modified: OffsetDateTime,
    born: Option<OffsetDateTime>,
}

impl MediaIndex {
    pub fn new(store: Store, recordings_dir: PathBuf, snapshots_dir: PathBuf) -> Arc<Self> {
        Arc::new(MediaIndex {
            store,
            recordings_dir,
            snapshots_dir,
            live: AtomicBool::new(false),
            counts: Arc::new(Mutex::new(HashMap::new())),
            synced: watch::Sender::new([None, None]),
            arrivals: broadcast::channel(ARRIVALS_CAPACITY).0,
        })
    }

    /// Names of recording files that appear from now on, while the watch runs (`None` when it does not: the
    /// caller must list the folder itself).
    pub fn recording_arrivals(&self) -> Option<broadcast::Receiver<String>> {
        self.is_live().then(|| self.arrivals.subscribe())
    }

    /// The state store holding the index.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn dir(&self, kind: FileKind) -> &Path {
        match kind {
            FileKind::Recording => &self.recordings_dir,
            FileKind::Snapshot => &self.snapshots_dir,
        }
    }

    /// Whether the watch runs and the first reconcile has finished (readers may trust the rows as they are).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Makes the rows of `kind` trustworthy for a listing: when the index is not [live](Self::is_live),
    /// reconciles; when it is, compares the folder's mtime (one `stat`) with the last synced one and, if the
    /// folder changed since, gives the watch up to [`CATCH_UP`] to apply it, then reconciles.
    pub async fn ensure_fresh(&self, kind: FileKind) -> crate::Result<()> {
        if !self.is_live() {
            return self.reconcile().await.map(|_| ());
        }
        let dir = self.dir(kind).to_owned();
        let now = crate::media::blocking(move || Ok(dir_mtime(&dir))).await?;
        let mut synced = self.synced.subscribe();
        let caught_up = async { synced.wait_for(|synced| synced[slot(kind)] >= now).await.is_ok() };
        if tokio::time::timeout(CATCH_UP, caught_up).await == Ok(true) {
            return Ok(());
        }
        // Not caught up in time (or the index is going away): read the disk instead.
        self.reconcile().await.map(|_| ())
    }

    /// Full pass over both folders. Returns how many rows were written or deleted.
    pub async fn reconcile(&self) -> crate::Result<usize> {
        let mut changed = 0;
        for kind in [FileKind::Recording, FileKind::Snapshot] {
            let dir = self.dir(kind).to_owned();
            let (n, mtime) = self
                .store
                .call(move |conn| {
                    let mtime = settled_mtime(&dir);
                    let found = scan(&dir, kind)?;
                    Ok((reconcile_kind(conn, kind, &found)?, mtime))
                })
                .await?;
            changed += n;
            self.mark_synced(kind, mtime);
        }
        Ok(changed)
    }

    fn mark_synced(&self, kind: FileKind, mtime: Option<i64>) {
        self.synced.send_if_modified(|synced| {
            let s = &mut synced[slot(kind)];
            let newer = mtime > *s;
            *s = (*s).max(mtime);
            newer
        });
    }

    /// Re-stats one file and upserts or deletes its row; returns the row when the file is listable.
    pub async fn refresh(&self, kind: FileKind, filename: &str) -> crate::Result<Option<IndexRow>> {
        let dir = self.dir(kind).to_owned();
        let name = filename.to_owned();
        self.store.call(move |conn| refresh_one(conn, &dir, kind, &name)).await
    }

    /// [`MediaIndex::refresh`] for a batch of files in one transaction (one commit instead of one per file);
    /// returns the recordings that are listable now.
    async fn refresh_batch(&self, files: Vec<(FileKind, String)>) -> crate::Result<Vec<String>> {
        let dirs = [self.recordings_dir.clone(), self.snapshots_dir.clone()];
        self.store
            .call(move |conn| {
                let tx = conn.transaction()?;
                let mut arrived = Vec::new();
                for (kind, name) in files {
                    let listable = refresh_one(&tx, &dirs[slot(kind)], kind, &name)?.is_some();
                    if listable && kind == FileKind::Recording {
                        arrived.push(name);
                    }
                }
                tx.commit()?;
                Ok(arrived)
            })
            .await
    }

    /// The row of a file, as indexed (no disk access).
    pub async fn get(&self, kind: FileKind, filename: &str) -> crate::Result<Option<IndexRow>> {
        let name = filename.to_owned();
        self.store.call(move |conn| Ok(select_one(conn, kind, &name)?)).await
    }

    /// Drops the row of a file (after the catalogue deleted it).
    pub async fn remove(&self, kind: FileKind, filename: &str) -> crate::Result<()> {
        let name = filename.to_owned();
        self.store
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM media_index WHERE kind = ?1 AND filename = ?2",
                    params![kind.as_str(), name],
                )?;
                Ok(())
            })
            .await
    }

    /// Stores a probed duration, unless the file changed since `file_size` was seen.
    pub async fn set_duration(
        &self,
        kind: FileKind,
        filename: &str,
        file_size: u64,
        seconds: f64,
    ) -> crate::Result<()> {
        let name = filename.to_owned();
        let size = i64::try_from(file_size).unwrap_or(i64::MAX);
        self.store
            .call(move |conn| {
                conn.execute(
                    "UPDATE media_index SET duration = ?4 WHERE kind = ?1 AND filename = ?2 AND file_size = ?3",
                    params![kind.as_str(), name, size, seconds],
                )?;
                Ok(())
            })
            .await
    }

    /// One page, newest first (`created_at`, then `filename`, descending), and the total count.
    pub async fn page(
        &self,
        kind: FileKind,
        device: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> crate::Result<(Vec<IndexRow>, usize)> {
        let device = device.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let counts = Arc::clone(&self.counts);
        self.store
            .call(move |conn| {
                let k = kind.as_str();
                let key = (k, device.clone());
                let changes = conn.total_changes();
                let cached = lock(&counts).get(&key).copied();
                let total = match cached {
                    Some((at, total)) if at == changes => total,
                    _ => {
                        let total: i64 = conn
                            .prepare_cached(
                                "SELECT count(*) FROM media_index WHERE kind = ?1 AND (?2 IS NULL OR device = ?2)",
                            )?
                            .query_row(params![k, device], |r| r.get(0))?;
                        let total = usize::try_from(total).unwrap_or(0);
                        let mut counts = lock(&counts);
                        if counts.len() >= COUNT_CACHE {
                            counts.clear();
                        }
                        counts.insert(key, (changes, total));
                        total
                    }
                };
                let rows = match &device {
                    None => conn
                        .prepare_cached(
                            "SELECT filename, device, format, file_size, created_at, modified_at, duration
                               FROM media_index WHERE kind = ?1
                              ORDER BY created_at DESC, filename DESC LIMIT ?2 OFFSET ?3",
                        )?
                        .query_map(params![k, limit, offset], row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                    Some(d) => conn
                        .prepare_cached(
                            "SELECT filename, device, format, file_size, created_at, modified_at, duration
                               FROM media_index WHERE kind = ?1 AND device = ?2
                              ORDER BY created_at DESC, filename DESC LIMIT ?3 OFFSET ?4",
                        )?
                        .query_map(params![k, d, limit, offset], row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?,
                };
                Ok((rows, total))
            })
            .await
    }

    /// Keeps the index following the disk until `shutdown` turns true: the inotify watch, the start-up
    /// reconcile and the periodic one on `clock`.
    pub async fn run(self: Arc<Self>, clock: Arc<dyn Clock>, mut shutdown: watch::Receiver<bool>) {
        let (tx, mut rx) = mpsc::channel::<Change>(CHANGE_CAPACITY);
        let watching = Arc::new(AtomicBool::new(false));
        let dirs = [
            (FileKind::Recording, self.recordings_dir.clone()),
            (FileKind::Snapshot, self.snapshots_dir.clone()),
        ];
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<bool>();
        let thread_watching = Arc::clone(&watching);
        let spawned = std::thread::Builder::new().name("media-index".into()).spawn(move || {
            let result = watch_thread(&dirs, &tx, ready_tx);
            thread_watching.store(false, Ordering::Release);
            if let Err(why) = result {
                tracing::warn!(why, "media index watch not running; relying on periodic reconciles");
            }
        });
        let watch_ok = match spawned {
            Ok(_) => ready_rx.await.unwrap_or(false),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the media index watch thread");
                false
            }
        };
        watching.store(watch_ok, Ordering::Release);
        match self.reconcile().await {
            Ok(n) => tracing::debug!(changed = n, "media index reconciled"),
            Err(e) => tracing::warn!(error = %e, "media index reconcile failed"),
        }
        self.live.store(watching.load(Ordering::Acquire), Ordering::Release);
        let mut tick = clock.sleep(RECONCILE_EVERY);
        let mut watch_open = true;
        loop {
            let step = tokio::select! {
                _ = shutdown.wait_for(|down| *down) => Step::Stop,
                _ = &mut tick => Step::Tick,
                change = rx.recv(), if watch_open => Step::Change(change),
            };
            let full = match step {
                Step::Stop => return,
                Step::Tick => {
                    tick = clock.sleep(RECONCILE_EVERY);
                    true
                }
                Step::Change(None) => {
                    // The watch ended: readers reconcile themselves from now on; the periodic pass goes on.
                    watch_open = false;
                    watching.store(false, Ordering::Release);
                    false
                }
                Step::Change(Some(first)) => self.apply(first, &mut rx).await,
            };
            if full && let Err(e) = self.reconcile().await {
                tracing::warn!(error = %e, "media index reconcile failed");
            }
            self.live.store(watching.load(Ordering::Acquire), Ordering::Release);
        }
    }

    /// Applies `first` and whatever else is queued; returns whether a full reconcile is due instead.
    async fn apply(&self, first: Change, rx: &mut mpsc::Receiver<Change>) -> bool {
        // Read the folders' mtimes before draining: every change up to them is then in this batch (or later).
        let dirs = [self.recordings_dir.clone(), self.snapshots_dir.clone()];
        let mtimes = crate::media::blocking(move || Ok(dirs.map(|d| settled_mtime(&d))))
            .await
            .unwrap_or([None, None]);
        let mut names: HashSet<(&'static str, String)> = HashSet::new();
        let mut next = Some(first);
        while let Some(change) = next {
            match change {
                Change::Rescan => return true,
                Change::File(kind, name) => {
                    names.insert((kind.as_str(), name));
                }
            }
            next = rx.try_recv().ok();
        }
        let names: Vec<(FileKind, String)> = names
            .into_iter()
            .map(|(k, name)| {
                let kind = if k == FileKind::Recording.as_str() {
                    FileKind::Recording
                } else {
                    FileKind::Snapshot
                };
                (kind, name)
            })
            .collect();
        for chunk in names.chunks(APPLY_CHUNK) {
            match self.refresh_batch(chunk.to_vec()).await {
                Ok(arrived) => {
                    for name in arrived {
                        let _ = self.arrivals.send(name);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "media index update failed");
                    return true;
                }
            }
        }
        self.mark_synced(FileKind::Recording, mtimes[0]);
        self.mark_synced(FileKind::Snapshot, mtimes[1]);
        false
    }
}

fn slot(kind: FileKind) -> usize {
    match kind {
        FileKind::Recording => 0,
        FileKind::Snapshot => 1,
    }
}

/// Directory mtimes have coarse granularity (a kernel tick, a few ms): files created within one tick share
/// the mtime. A sync may only claim an mtime once it is older than this, so a change after the sync always
/// shows as a newer mtime.
const MTIME_SETTLE: Duration = Duration::from_millis(20);

/// The folder's mtime when it is settled (older than [`MTIME_SETTLE`]), else `None` (a sync then claims
/// nothing, and the next listing checks again). Blocking.
fn settled_mtime(dir: &Path) -> Option<i64> {
    let mtime = dir_mtime(dir)?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let now = i64::try_from(now.as_nanos()).ok()?;
    (now - mtime >= MTIME_SETTLE.as_nanos() as i64).then_some(mtime)
}

/// A folder's mtime in ns (`None` when it cannot be read). Blocking.
fn dir_mtime(dir: &Path) -> Option<i64> {
    let m = std::fs::metadata(dir).ok()?.modified().ok()?;
    let d = m.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexRow> {
    Ok(IndexRow {
        filename: r.get(0)?,
        device: r.get(1)?,
        format: r.get(2)?,
        file_size: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
        created_at: r.get(4)?,
        modified_at: r.get(5)?,
        duration: r.get(6)?,
    })
}

fn select_one(conn: &Connection, kind: FileKind, filename: &str) -> rusqlite::Result<Option<IndexRow>> {
    conn.prepare_cached(
        "SELECT filename, device, format, file_size, created_at, modified_at, duration
           FROM media_index WHERE kind = ?1 AND filename = ?2",
    )?
    .query_row(params![kind.as_str(), filename], row)
    .optional()
}

fn listable(kind: FileKind, name: &str) -> bool {
    camera_api::methods::is_valid_filename(name)
        && match kind {
            FileKind::Recording => RecordingFormat::guess_from_filename(name).is_some(),
            FileKind::Snapshot => ImageFormat::of_filename(name).is_some(),
        }
}

fn meta(m: &std::fs::Metadata) -> Meta {
    let modified = m.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let mtime_ns = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Meta {
        size: m.len(),
        mtime_ns,
        modified: OffsetDateTime::from(modified),
        born: m.created().ok().map(OffsetDateTime::from),
    }
}

/// Every listable file of a directory (a missing directory is empty). Blocking.
fn scan(dir: &Path, kind: FileKind) -> crate::Result<HashMap<String, Meta>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(storage_unavailable(dir, &e)),
    };
    let mut out = HashMap::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !listable(kind, &name) {
            continue;
        }
        // DirEntry::metadata does not follow symlinks.
        if let Ok(m) = entry.metadata()
            && m.is_file()
        {
            out.insert(name, meta(&m));
        }
    }
    Ok(out)
}

fn reconcile_kind(conn: &mut Connection, kind: FileKind, found: &HashMap<String, Meta>) -> crate::Result<usize> {
    let k = kind.as_str();
    let tx = conn.transaction()?;
    let existing: HashMap<String, (i64, i64)> = {
        let mut st = tx.prepare_cached("SELECT filename, file_size, mtime_ns FROM media_index WHERE kind = ?1")?;
        st.query_map([k], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut changed = 0;
    for (name, m) in found {
        let size = i64::try_from(m.size).unwrap_or(i64::MAX);
        if existing.get(name) != Some(&(size, m.mtime_ns)) {
            upsert(&tx, kind, name, m)?;
            changed += 1;
        }
    }
    {
        let mut del = tx.prepare_cached("DELETE FROM media_index WHERE kind = ?1 AND filename = ?2")?;
        for name in existing.keys().filter(|n| !found.contains_key(*n)) {
            del.execute(params![k, name])?;
            changed += 1;
        }
    }
    tx.commit()?;
    Ok(changed)
}

fn refresh_one(conn: &Connection, dir: &Path, kind: FileKind, name: &str) -> crate::Result<Option<IndexRow>> {
    let m = if listable(kind, name) {
        match std::fs::symlink_metadata(dir.join(name)) {
            Ok(m) if m.is_file() => Some(meta(&m)),
            Ok(_) => None,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(storage_unavailable(dir, &e)),
        }
    } else {
        None
    };
    match m {
        Some(m) => {
            upsert(conn, kind, name, &m)?;
            Ok(select_one(conn, kind, name)?)
        }
        None => {
            conn.execute(
                "DELETE FROM media_index WHERE kind = ?1 AND filename = ?2",
                params![kind.as_str(), name],
            )?;
            Ok(None)
        }
    }
}

/// Inserts or updates a row, taking device/format/creation from `media_files` when it knows the file.
fn upsert(conn: &Connection, kind: FileKind, name: &str, m: &Meta) -> rusqlite::Result<()> {
    let known: Option<(String, String, String)> = conn
        .prepare_cached("SELECT device, format, created_at FROM media_files WHERE kind = ?1 AND filename = ?2")?
        .query_row(params![kind.as_str(), name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let parsed = parse_generated_name(name);
    let created = known
        .as_ref()
        .and_then(|(_, _, c)| parse_timestamp(c))
        .or_else(|| parsed.as_ref().map(|(_, t)| *t))
        .or(m.born)
        .unwrap_or(m.modified);
    let device = known
        .as_ref()
        .map(|(d, _, _)| d.clone())
        .or_else(|| parsed.map(|(d, _)| d))
        .unwrap_or_default();
    let format = match kind {
        FileKind::Recording => known
            .map(|(_, f, _)| f)
            .or_else(|| RecordingFormat::guess_from_filename(name).map(|g| g.as_str().to_owned()))
            .unwrap_or_default(),
        FileKind::Snapshot => ImageFormat::of_filename(name)
            .map(|i| i.as_str().to_owned())
            .unwrap_or_default(),
    };
    conn.prepare_cached(
        "INSERT INTO media_index
             (kind, filename, device, format, file_size, created_at, modified_at, mtime_ns, duration)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)
         ON CONFLICT (kind, filename) DO UPDATE SET
             device = excluded.device, format = excluded.format, created_at = excluded.created_at,
             modified_at = excluded.modified_at,
             duration = CASE WHEN media_index.file_size = excluded.file_size
                              AND media_index.mtime_ns = excluded.mtime_ns
                             THEN media_index.duration END,
             file_size = excluded.file_size, mtime_ns = excluded.mtime_ns",
    )?
    .execute(params![
        kind.as_str(),
        name,
        device,
        format,
        i64::try_from(m.size).unwrap_or(i64::MAX),
        format_timestamp(created),
        format_timestamp(m.modified),
        m.mtime_ns
    ])?;
    Ok(())
}

/// `ready` learns whether the watches are in place. `Err` is why the watch could not run or stopped.
fn watch_thread(
    dirs: &[(FileKind, PathBuf)],
    tx: &mpsc::Sender<Change>,
    ready: tokio::sync::oneshot::Sender<bool>,
) -> Result<(), String> {
    let setup = || -> Result<(Inotify, Vec<(i32, FileKind)>), String> {
        let watch = Inotify::new()?;
        let mask = libc::IN_CREATE
            | libc::IN_CLOSE_WRITE
            | libc::IN_DELETE
            | libc::IN_MOVED_FROM
            | libc::IN_MOVED_TO
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF;
        let mut wds = Vec::new();
        for (kind, dir) in dirs {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            wds.push((watch.add_watch(dir, mask)?, *kind));
        }
        Ok((watch, wds))
    };
    let (fd, wds) = match setup() {
        Ok(v) => {
            let _ = ready.send(true);
            v
        }
        Err(e) => {
            let _ = ready.send(false);
            return Err(e);
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(n) = fd.wait_events(&mut buf, || tx.is_closed())? {
        let mut lost_watch = false;
        for change in parse_events(&buf[..n], &wds, &mut lost_watch) {
            if tx.try_send(change).is_err() {
                // Full: fall back to a full reconcile (queued once the applier has room).
                let _ = tx.blocking_send(Change::Rescan);
                break;
            }
        }
        if lost_watch {
            let _ = tx.blocking_send(Change::Rescan);
            return Err("a storage folder was deleted or moved".to_owned());
        }
    }
    Ok(())
}

/// The changes named by a buffer of inotify events.
fn parse_events(mut events: &[u8], wds: &[(i32, FileKind)], lost_watch: &mut bool) -> Vec<Change> {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    let mut out = Vec::new();
    while events.len() >= HEADER {
        // Fields: wd i32, mask u32, cookie u32, len u32 (native endian), then `len` name bytes.
        let word = |at: usize| u32::from_ne_bytes([events[at], events[at + 1], events[at + 2], events[at + 3]]);
        let wd = word(0) as i32;
        let mask = word(4);
        let len = word(12) as usize;
        let end = (HEADER + len).min(events.len());
        let name = events[HEADER..end].split(|b| *b == 0).next().unwrap_or_default();
        if mask & libc::IN_Q_OVERFLOW != 0 {
            out.push(Change::Rescan);
        } else if mask & (libc::IN_IGNORED | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) != 0 {
            *lost_watch = true;
        } else if let Some((_, kind)) = wds.iter().find(|(w, _)| *w == wd)
            && let Ok(name) = std::str::from_utf8(name)
            && listable(*kind, name)
        {
            out.push(Change::File(*kind, name.to_owned()));
        }
        events = &events[end..];
    }
    out
}

#[cfg(test)]
mod tests;
