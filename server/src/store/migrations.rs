//! Versioned schema migrations for the state store.
//!
//! To add a table or column: append one [`Migration`] to [`MIGRATIONS`] with the next version number and its
//! SQL. Never edit or reorder a migration that has shipped; a database records which versions it has applied
//! (table `schema_migrations`) and only the missing ones run.
//!
//! Each migration runs in its own `BEGIN IMMEDIATE` transaction together with the insert of its
//! `schema_migrations` row, so a crash or a concurrent opener (the offline CLI starting while the server starts)
//! can never leave a half-applied version or apply one twice. A database that has a version this build does not
//! know (written by a newer build) is refused.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// 1, 2, 3 ... without gaps, in order.
    pub version: i64,
    /// Short snake_case label, recorded next to the version.
    pub name: &'static str,
    /// One or more SQL statements.
    pub sql: &'static str,
}

/// Every migration of this build, oldest first. A step owned by another module keeps its SQL there (as a
/// `const`); once released, that SQL is frozen like any other migration.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "api_keys_audit_log_heartbeat",
        sql: r#"
        CREATE TABLE api_keys (
            key_id        TEXT PRIMARY KEY NOT NULL,            -- k_ + 12 lower-case hex
            key_hash      BLOB NOT NULL UNIQUE,                 -- SHA-256 of the full secret
            key_prefix    TEXT NOT NULL,                        -- first 12 characters of the secret
            role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
            description   TEXT NOT NULL DEFAULT '',
            status        TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),  -- EXPIRED is derived
            created_at    TEXT NOT NULL,
            expires_at    TEXT,                                 -- NULL: never expires
            last_used_at  TEXT,
            usage_count   INTEGER NOT NULL DEFAULT 0,
            revoked_at    TEXT,                                 -- set when status became REVOKED
            revoke_at     TEXT,                                 -- scheduled revocation (rotation grace)
            created_by    TEXT NOT NULL
        ) STRICT;
        CREATE INDEX api_keys_created_at ON api_keys (created_at DESC);

        CREATE TABLE audit_log (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            ts       TEXT NOT NULL,
            actor    TEXT NOT NULL,
            action   TEXT NOT NULL,
            target   TEXT,
            details  TEXT NOT NULL DEFAULT '{}'                 -- a JSON object
        ) STRICT;
        CREATE INDEX audit_log_ts ON audit_log (ts);

        CREATE TABLE store_heartbeat (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            beat_at  TEXT NOT NULL,
            beats    INTEGER NOT NULL
        ) STRICT;
    "#,
    },
    Migration {
        version: 2,
        name: crate::media::MIGRATION_NAME,
        sql: crate::media::MIGRATION_SQL,
    },
    Migration {
        version: 3,
        name: crate::storage::MIGRATION_NAME,
        sql: crate::storage::MIGRATION_SQL,
    },
    Migration {
        version: 4,
        name: crate::cameras::external::MIGRATION_NAME,
        sql: crate::cameras::external::MIGRATION_SQL,
    },
    Migration {
        version: 5,
        name: crate::media::index::MIGRATION_NAME,
        sql: crate::media::index::MIGRATION_SQL,
    },
];

/// Brings `conn` up to the last version of `migrations`.
pub fn migrate(conn: &mut Connection, migrations: &[Migration]) -> crate::Result<()> {
    check_sequence(migrations)?;
    let known = migrations.last().map_or(0, |m| m.version);
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER PRIMARY KEY NOT NULL,
                name        TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            ) STRICT;",
        )?;
        let current: i64 = tx.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
        if current > known {
            return Err(crate::Error::database(format!(
                "the state database has schema version {current}, newer than this build knows ({known}); \
                 upgrade camera-service or restore a backup"
            )));
        }
        if current > 0 {
            let name: Option<String> = tx
                .query_row(
                    "SELECT name FROM schema_migrations WHERE version = ?1",
                    [current],
                    |r| r.get(0),
                )
                .optional()?;
            let expected = migrations.iter().find(|m| m.version == current).map(|m| m.name);
            if name.as_deref() != expected {
                return Err(crate::Error::database(format!(
                    "the state database's schema version {current} is {name:?}, this build expects {expected:?}"
                )));
            }
        }
        let Some(next) = migrations.iter().find(|m| m.version > current) else {
            tx.commit()?;
            return Ok(());
        };
        tx.execute_batch(next.sql)
            .map_err(|e| crate::Error::database(format!("migration {} ({}) failed: {e}", next.version, next.name)))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at)
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            rusqlite::params![next.version, next.name],
        )?;
        tx.commit()?;
        tracing::info!(
            version = next.version,
            name = next.name,
            "applied state store migration"
        );
    }
}

fn check_sequence(migrations: &[Migration]) -> crate::Result<()> {
    for (i, m) in migrations.iter().enumerate() {
        if m.version != i as i64 + 1 {
            return Err(crate::Error::internal(format!(
                "migration list is not 1, 2, 3 ...: entry {i} has version {}",
                m.version
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(conn: &Connection) -> Vec<i64> {
        let mut st = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .expect("prepare");
        st.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    const V2: Migration = Migration {
        version: 2,
        name: "widgets",
        sql: "CREATE TABLE widgets (id INTEGER PRIMARY KEY) STRICT;",
    };

    #[test]
    fn adding_a_migration_applies_only_the_new_one() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &MIGRATIONS[..1]).expect("v1");
        assert_eq!(versions(&conn), vec![1]);
        let list = [MIGRATIONS[0], V2];
        migrate(&mut conn, &list).expect("v2");
        migrate(&mut conn, &list).expect("again: no-op");
        assert_eq!(versions(&conn), vec![1, 2]);
        conn.execute("INSERT INTO widgets (id) VALUES (1)", [])
            .expect("new table exists");
    }

    #[test]
    fn failed_migration_leaves_previous_version_intact() {
        let mut conn = Connection::open_in_memory().expect("open");
        let broken = Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE half (id INTEGER) STRICT; THIS IS NOT SQL;",
        };
        let err = migrate(&mut conn, &[MIGRATIONS[0], broken]).expect_err("broken migration fails");
        assert!(err.details.contains("migration 2"), "{err}");
        assert_eq!(versions(&conn), vec![1]);
        let half: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'half'", [], |r| {
                r.get(0)
            })
            .expect("query");
        assert_eq!(half, 0, "the failed migration's first statement was rolled back");
    }

    #[test]
    fn newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &[MIGRATIONS[0], V2]).expect("v2");
        let err = migrate(&mut conn, &MIGRATIONS[..1]).expect_err("older build refuses");
        assert!(err.details.contains("newer"), "{err}");
    }

    #[test]
    fn gaps_in_the_list_are_a_bug() {
        let mut conn = Connection::open_in_memory().expect("open");
        let gap = Migration { version: 3, ..V2 };
        let err = migrate(&mut conn, &[MIGRATIONS[0], gap]).expect_err("gap");
        assert_eq!(err.kind, crate::ErrorKind::Internal);
    }
}
