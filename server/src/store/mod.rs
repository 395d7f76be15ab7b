//! The state store: one SQLite database (`<data_dir>/state.db`) holding what must survive a restart (API keys,
//! the audit log, and later retention policy, active recordings, network cameras).
//!
//! Ownership and invariants:
//! - [`Store`] is a cheap clone around one connection behind a mutex. Every use goes through [`Store::call`],
//!   which runs the closure on tokio's blocking pool, so the async runtime never waits on SQLite; the CLI uses
//!   [`Store::call_blocking`]. The mutex is never held across an `.await`.
//! - The database runs in WAL mode with `synchronous=NORMAL`, a 5 s busy timeout and foreign keys on, so the
//!   offline CLI (`camera-service keys ...`) can write while the server runs. Writes made by another process are
//!   visible through [`Store::data_version`] (`PRAGMA data_version` changes only for commits by *other*
//!   connections, i.e. never for this process's own writes).
//! - The schema is versioned by [`migrations`]: each migration runs in its own `BEGIN IMMEDIATE` transaction
//!   together with its row in `schema_migrations`, so a crash leaves the database at a whole version. A database
//!   written by a newer build (unknown version) is refused rather than guessed at.
//! - Timestamps are stored as TEXT in the wire format (`2025-01-15T14:30:00.000Z`, see [`sql_time`]), which sorts
//!   lexicographically in time order, so SQL can compare them directly.

pub mod api_keys;
pub mod audit;
pub mod migrations;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// File name of the database inside `data_dir`.
pub const DB_FILE: &str = "state.db";

/// How long a statement waits for another connection's lock before failing with `database_unavailable`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle to the state store. Clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/state.db` and brings its schema up to date. Blocking: call it at
    /// start-up (or from `spawn_blocking`), not from a request handler.
    pub fn open(data_dir: &Path) -> crate::Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| crate::Error::database(format!("cannot create data directory {}: {e}", data_dir.display())))?;
        let path = data_dir.join(DB_FILE);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let mut conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| crate::Error::database(format!("cannot open {}: {e}", path.display())))?;
        configure(&conn)?;
        migrations::migrate(&mut conn, migrations::MIGRATIONS)?;
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                path,
            }),
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection on the blocking pool. Use a transaction inside `f` for anything that must
    /// be atomic (`conn.transaction_with_behavior(TransactionBehavior::Immediate)` for read-modify-write).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> crate::Result<R> + Send + 'static,
    ) -> crate::Result<R> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut conn = lock(&inner.conn);
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` with the connection on the current thread. For the CLI and start-up only: never call this on an
    /// async runtime thread.
    pub fn call_blocking<R>(&self, f: impl FnOnce(&mut Connection) -> crate::Result<R>) -> crate::Result<R> {
        let mut conn = lock(&self.inner.conn);
        f(&mut conn)
    }

    /// Proves the store can read and write: a read transaction and a write transaction (a heartbeat upsert).
    /// Returns how long both took.
    pub async fn check_health(&self) -> crate::Result<Duration> {
        self.call(|conn| {
            let started = Instant::now();
            {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
                tx.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get::<_, i64>(0))?;
                tx.commit()?;
            }
            {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // SQLite's own clock stamps the row: it is diagnostic only, nothing compares it.
                tx.execute(
                    "INSERT INTO store_heartbeat (id, beat_at, beats)
                     VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 1)
                     ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at, beats = beats + 1",
                    [],
                )?;
                tx.commit()?;
            }
            Ok(started.elapsed())
        })
        .await
    }

    /// `PRAGMA data_version`: changes whenever another connection (another process, e.g. the offline CLI) has
    /// committed a write since the last call. Compare successive values; the absolute number means nothing.
    pub async fn data_version(&self) -> crate::Result<i64> {
        self.call(|conn| Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?))
            .await
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic inside a closure cannot leave the connection half-modified outside a transaction (rusqlite rolls
    // back a dropped transaction), so a poisoned lock is safe to reuse.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn configure(conn: &Connection) -> crate::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(crate::Error::database(format!(
            "cannot switch the database to WAL mode (got {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// A timestamp as stored in TEXT columns: the wire format, UTC with milliseconds (sorts in time order).
pub fn sql_time(t: OffsetDateTime) -> String {
    crate::clock::format_timestamp(t)
}

/// Reads a TEXT timestamp column written by [`sql_time`].
pub fn parse_sql_time(s: &str) -> rusqlite::Result<OffsetDateTime> {
    crate::clock::parse_timestamp(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("invalid timestamp in database: {s:?}").into(),
        )
    })
}

/// Reads an optional TEXT timestamp column.
pub fn parse_opt_sql_time(s: Option<String>) -> rusqlite::Result<Option<OffsetDateTime>> {
    s.as_deref().map(parse_sql_time).transpose()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A store in a fresh temporary directory (kept alive by the returned guard).
    pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open store");
        (dir, store)
    }

    #[tokio::test]
    async fn open_sets_pragmas_and_creates_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("a/b");
        let store = Store::open(&nested).expect("open");
        assert!(nested.join(DB_FILE).exists());
        let (mode, sync, fk, busy) = store
            .call(|c| {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))?,
                    c.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?,
                    c.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0))?,
                    c.query_row("PRAGMA busy_timeout", [], |r| r.get::<_, i64>(0))?,
                ))
            })
            .await
            .expect("pragmas");
        assert_eq!(mode, "wal");
        assert_eq!(sync, 1, "NORMAL");
        assert_eq!(fk, 1);
        assert_eq!(busy, 5000);
        let tables: Vec<String> = store
            .call(|c| {
                let mut st = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
                let rows = st
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                Ok(rows)
            })
            .await
            .expect("tables");
        for t in ["api_keys", "audit_log", "schema_migrations", "store_heartbeat"] {
            assert!(tables.iter().any(|n| n == t), "{t} missing from {tables:?}");
        }
    }

    #[tokio::test]
    async fn reopen_is_idempotent_and_keeps_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .call(|c| {
                    c.execute(
                        "INSERT INTO audit_log (ts, actor, action, target, details) VALUES ('t', 'a', 'x', 'y', '{}')",
                        [],
                    )?;
                    Ok(())
                })
                .await
                .expect("insert");
        }
        let store = Store::open(dir.path()).expect("reopen");
        let n: i64 = store
            .call(|c| Ok(c.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?))
            .await
            .expect("count");
        assert_eq!(n, 1);
        let versions: i64 = store
            .call(|c| Ok(c.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))?))
            .await
            .expect("versions");
        assert_eq!(versions, migrations::MIGRATIONS.len() as i64);
    }

    #[tokio::test]
    async fn health_check_reads_and_writes() {
        let (_dir, store) = temp_store();
        store.check_health().await.expect("healthy");
        store.check_health().await.expect("healthy again");
        let beats: i64 = store
            .call(|c| Ok(c.query_row("SELECT beats FROM store_heartbeat WHERE id = 1", [], |r| r.get(0))?))
            .await
            .expect("beats");
        assert_eq!(beats, 2);
    }

    #[tokio::test]
    async fn data_version_changes_only_for_other_connections() {
        let (dir, store) = temp_store();
        let v0 = store.data_version().await.expect("v0");
        store.check_health().await.expect("own write");
        let v1 = store.data_version().await.expect("v1");
        assert_eq!(v0, v1, "own writes do not change data_version");
        // Another process (here: another connection, like the offline CLI) writes.
        let other = Store::open(dir.path()).expect("second handle");
        other.check_health().await.expect("other write");
        let v2 = store.data_version().await.expect("v2");
        assert_ne!(v1, v2, "a write by another connection changes data_version");
    }

    #[test]
    fn call_blocking_works_without_runtime_and_maps_errors() {
        let (_dir, store) = temp_store();
        let err = store
            .call_blocking(|c| Ok(c.execute("INSERT INTO no_such_table VALUES (1)", [])?))
            .expect_err("bad SQL fails");
        assert_eq!(err.kind, crate::ErrorKind::Unavailable);
        assert_eq!(err.reason, "database_unavailable");
    }

    #[test]
    fn sql_time_round_trips_and_sorts() {
        let a = time::macros::datetime!(2025-01-15 14:30:00.123 UTC);
        let b = time::macros::datetime!(2025-01-15 14:30:01.000 UTC);
        assert_eq!(parse_sql_time(&sql_time(a)).expect("parse"), a);
        assert!(sql_time(a) < sql_time(b));
        assert!(parse_sql_time("garbage").is_err());
    }
}
