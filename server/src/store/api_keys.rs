//! Rows of the `api_keys` table: plain data access, no policy.
//!
//! The table keeps only the SHA-256 of each secret. A row's stored `status` is `ACTIVE` or `REVOKED`; the
//! status a client sees ([`KeyStatus`]) is derived at a given instant: a scheduled revocation (`revoke_at`, the
//! rotation grace period) that has passed counts as `REVOKED` (with `revoked_at` = `revoke_at`), and an
//! `expires_at` that has passed counts as `EXPIRED`. Policy (limits, audit, who may do what) lives in
//! `auth::keys`.

use camera_api::role::Role;
use rusqlite::{Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use super::{parse_opt_sql_time, parse_sql_time, sql_time};

/// The status a client sees (API.md §4.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "ACTIVE",
            KeyStatus::Revoked => "REVOKED",
            KeyStatus::Expired => "EXPIRED",
        }
    }
}

/// One stored key (without its hash).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRow {
    pub key_id: String,
    pub key_prefix: String,
    pub role: Role,
    pub description: String,
    /// `true` when the stored status is `REVOKED`.
    pub revoked: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub usage_count: i64,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoke_at: Option<OffsetDateTime>,
    pub created_by: String,
}

impl ApiKeyRow {
    /// When the key stops (or stopped) being usable because of a revocation, immediate or scheduled.
    pub fn revocation_time(&self) -> Option<OffsetDateTime> {
        let immediate = if self.revoked { self.revoked_at } else { None };
        match (immediate, self.revoke_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The status at `now`. Revocation wins over expiry.
    pub fn status_at(&self, now: OffsetDateTime) -> KeyStatus {
        if self.revoked || self.revoke_at.is_some_and(|t| t <= now) {
            KeyStatus::Revoked
        } else if self.expires_at.is_some_and(|t| t <= now) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }

    /// `revoked_at` as a client sees it at `now`: set once the key is (effectively) revoked.
    pub fn revoked_at_at(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self.status_at(now) {
            KeyStatus::Revoked => self.revocation_time(),
            _ => None,
        }
    }
}

/// What to insert for a new key.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub key_id: &'a str,
    pub key_hash: &'a [u8],
    pub key_prefix: &'a str,
    pub role: Role,
    pub description: &'a str,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub created_by: &'a str,
}

const COLUMNS: &str = "key_id, key_prefix, role, description, status, created_at, expires_at, last_used_at, \
                       usage_count, revoked_at, revoke_at, created_by";

/// SQL condition for "effectively active at ?now" (parameter named `:now`).
const ACTIVE_AT_NOW: &str = "status = 'ACTIVE' AND (revoke_at IS NULL OR revoke_at > :now) \
                             AND (expires_at IS NULL OR expires_at > :now)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    let role: String = r.get("role")?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?} in api_keys").into(),
        )
    })?;
    let status: String = r.get("status")?;
    Ok(ApiKeyRow {
        key_id: r.get("key_id")?,
        key_prefix: r.get("key_prefix")?,
        role,
        description: r.get("description")?,
        revoked: status == "REVOKED",
        created_at: parse_sql_time(&r.get::<_, String>("created_at")?)?,
        expires_at: parse_opt_sql_time(r.get("expires_at")?)?,
        last_used_at: parse_opt_sql_time(r.get("last_used_at")?)?,
        usage_count: r.get("usage_count")?,
        revoked_at: parse_opt_sql_time(r.get("revoked_at")?)?,
        revoke_at: parse_opt_sql_time(r.get("revoke_at")?)?,
        created_by: r.get("created_by")?,
    })
}

pub fn insert(conn: &Connection, key: &NewApiKey<'_>) -> crate::Result<()> {
    conn.execute(
        "INSERT INTO api_keys (key_id, key_hash, key_prefix, role, description, status, created_at, expires_at,
                               created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, 'ACTIVE', ?6, ?7, ?8)",
        rusqlite::params![
            key.key_id,
            key.key_hash,
            key.key_prefix,
            key.role.as_str(),
            key.description,
            sql_time(key.created_at),
            key.expires_at.map(sql_time),
            key.created_by,
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, key_id: &str) -> crate::Result<Option<ApiKeyRow>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_id = ?1"))?;
    Ok(st.query_row([key_id], from_row).optional()?)
}

/// The row whose `key_hash` equals `hash`, with the stored hash (for a constant-time re-check by the caller).
pub fn find_by_hash(conn: &Connection, hash: &[u8]) -> crate::Result<Option<(ApiKeyRow, Vec<u8>)>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS}, key_hash FROM api_keys WHERE key_hash = ?1"))?;
    Ok(st
        .query_row([hash], |r| Ok((from_row(r)?, r.get("key_hash")?)))
        .optional()?)
}

/// Records one successful use.
pub fn touch(conn: &Connection, key_id: &str, now: OffsetDateTime) -> crate::Result<()> {
    conn.execute(
        "UPDATE api_keys SET last_used_at = ?2, usage_count = usage_count + 1 WHERE key_id = ?1",
        rusqlite::params![key_id, sql_time(now)],
    )?;
    Ok(())
}

/// Number of keys effectively active at `now`.
pub fn count_active(conn: &Connection, now: OffsetDateTime) -> crate::Result<i64> {
    let mut st = conn.prepare_cached(&format!("SELECT count(*) FROM api_keys WHERE {ACTIVE_AT_NOW}"))?;
    Ok(st.query_row(rusqlite::named_params! {":now": sql_time(now)}, |r| r.get(0))?)
}

/// A page of keys, newest first, and the total matching count. Without `include_inactive`, only keys active at
/// `now`.
pub fn list(
    conn: &Connection,
    include_inactive: bool,
    now: OffsetDateTime,
    limit: u32,
    offset: u64,
) -> crate::Result<(Vec<ApiKeyRow>, u64)> {
    let filter = if include_inactive {
        "1 = 1 OR :now IS NULL"
    } else {
        ACTIVE_AT_NOW
    };
    let now = sql_time(now);
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM api_keys WHERE {filter}"))?
        .query_row(rusqlite::named_params! {":now": now}, |r| r.get(0))?;
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE {filter} ORDER BY created_at DESC, rowid DESC
         LIMIT :limit OFFSET :offset"
    ))?;
    let rows = st
        .query_map(
            rusqlite::named_params! {":now": now, ":limit": limit, ":offset": offset},
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

/// Marks the key `REVOKED` at `now` unless it already is; returns whether anything changed. A pending scheduled
/// revocation is superseded.
pub fn revoke(conn: &Connection, key_id: &str, now: OffsetDateTime) -> crate::Result<bool> {
    let n = conn.execute(
        "UPDATE api_keys SET status = 'REVOKED', revoked_at = ?2, revoke_at = NULL
         WHERE key_id = ?1 AND status = 'ACTIVE'",
        rusqlite::params![key_id, sql_time(now)],
    )?;
    Ok(n > 0)
}

/// Schedules the key's revocation at `at` (keeps an earlier schedule).
pub fn schedule_revoke(conn: &Connection, key_id: &str, at: OffsetDateTime) -> crate::Result<()> {
    conn.execute(
        "UPDATE api_keys SET revoke_at = CASE WHEN revoke_at IS NULL OR revoke_at > ?2 THEN ?2 ELSE revoke_at END
         WHERE key_id = ?1 AND status = 'ACTIVE'",
        rusqlite::params![key_id, sql_time(at)],
    )?;
    Ok(())
}

/// A revoked (or scheduled-for-revocation) key that has not expired at `now`: sessions using it must end at
/// `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub key_id: String,
    pub ends_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
}

/// Every revocation that can still matter at `now`: keys that have expired are left out, because every
/// session bound to such a key has expired with it.
pub fn revocations(conn: &Connection, now: OffsetDateTime) -> crate::Result<Vec<Revocation>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM api_keys
         WHERE (status = 'REVOKED' OR revoke_at IS NOT NULL) AND (expires_at IS NULL OR expires_at > ?1)"
    ))?;
    let rows = st
        .query_map([sql_time(now)], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let ends_at = row.revocation_time()?;
            Some(Revocation {
                key_id: row.key_id,
                ends_at,
                expires_at: row.expires_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-01-15 14:30:00 UTC);

    fn add(conn: &Connection, id: &str, hash: u8, created: OffsetDateTime, expires: Option<OffsetDateTime>) {
        insert(
            conn,
            &NewApiKey {
                key_id: id,
                key_hash: &[hash; 32],
                key_prefix: "csk_abcdefgh",
                role: Role::Operator,
                description: "d",
                created_at: created,
                expires_at: expires,
                created_by: "alice",
            },
        )
        .expect("insert");
    }

    #[test]
    fn insert_get_find_touch() {
        let (_dir, store) = temp_store();
        store
            .call_blocking(|c| {
                add(c, "k_000000000001", 1, T0, Some(T0 + Duration::days(90)));
                let row = get(c, "k_000000000001")?.expect("row");
                assert_eq!(row.role, Role::Operator);
                assert_eq!(row.status_at(T0), KeyStatus::Active);
                assert_eq!(row.usage_count, 0);
                assert!(get(c, "k_ffffffffffff")?.is_none());
                let (found, hash) = find_by_hash(c, &[1; 32])?.expect("by hash");
                assert_eq!(found.key_id, "k_000000000001");
                assert_eq!(hash, vec![1; 32]);
                assert!(find_by_hash(c, &[2; 32])?.is_none());
                touch(c, "k_000000000001", T0 + Duration::seconds(5))?;
                let row = get(c, "k_000000000001")?.expect("row");
                assert_eq!(row.usage_count, 1);
                assert_eq!(row.last_used_at, Some(T0 + Duration::seconds(5)));
                Ok(())
            })
            .expect("ok");
    }

    #[test]
    fn duplicate_hash_is_rejected() {
        let (_dir, store) = temp_store();
        let res = store.call_blocking(|c| {
            add(c, "k_000000000001", 1, T0, None);
            insert(
                c,
                &NewApiKey {
                    key_id: "k_000000000002",
                    key_hash: &[1; 32],
                    key_prefix: "x",
                    role: Role::Viewer,
                    description: "",
                    created_at: T0,
                    expires_at: None,
                    created_by: "cli",
                },
            )
        });
        assert!(res.is_err());
    }

    #[test]
    fn status_revocation_and_listing() {
        let (_dir, store) = temp_store();
        store
            .call_blocking(|c| {
                add(c, "k_00000000000a", 0xa, T0, Some(T0 + Duration::days(1))); // expires
                add(c, "k_00000000000b", 0xb, T0 + Duration::seconds(1), None); // revoked now
                add(c, "k_00000000000c", 0xc, T0 + Duration::seconds(2), None); // scheduled
                add(c, "k_00000000000d", 0xd, T0 + Duration::seconds(3), None); // active
                let now = T0 + Duration::days(2);
                assert!(revoke(c, "k_00000000000b", now)?);
                assert!(!revoke(c, "k_00000000000b", now + Duration::seconds(9))?, "idempotent");
                schedule_revoke(c, "k_00000000000c", now + Duration::hours(1))?;
                schedule_revoke(c, "k_00000000000c", now + Duration::hours(2))?; // keeps the earlier one

                assert_eq!(count_active(c, now)?, 2, "c (in grace) and d");
                let (active, total) = list(c, false, now, 50, 0)?;
                assert_eq!(total, 2);
                assert_eq!(
                    active.iter().map(|r| r.key_id.as_str()).collect::<Vec<_>>(),
                    ["k_00000000000d", "k_00000000000c"]
                );

                let later = now + Duration::hours(1);
                let (all, total) = list(c, true, later, 50, 0)?;
                assert_eq!(total, 4);
                let statuses: Vec<_> = all.iter().map(|r| r.status_at(later)).collect();
                assert_eq!(
                    statuses,
                    [
                        KeyStatus::Active,
                        KeyStatus::Revoked,
                        KeyStatus::Revoked,
                        KeyStatus::Expired
                    ]
                );
                assert_eq!(
                    all[1].revoked_at_at(later),
                    Some(now + Duration::hours(1)),
                    "scheduled time"
                );
                assert_eq!(all[2].revoked_at_at(later), Some(now));
                assert_eq!(all[0].revoked_at_at(later), None);

                let (page, total) = list(c, true, later, 2, 3)?;
                assert_eq!((page.len(), total), (1, 4));
                let (page, _) = list(c, true, later, 2, 99)?;
                assert!(page.is_empty());

                let mut revs = revocations(c, later)?;
                revs.sort_by(|a, b| a.key_id.cmp(&b.key_id));
                assert_eq!(revs.len(), 2);
                assert_eq!(
                    revs[0],
                    Revocation {
                        key_id: "k_00000000000b".into(),
                        ends_at: now,
                        expires_at: None
                    }
                );
                assert_eq!(revs[1].ends_at, now + Duration::hours(1));
                Ok(())
            })
            .expect("ok");
    }

    #[test]
    fn expired_revoked_keys_are_not_tracked() {
        let (_dir, store) = temp_store();
        store
            .call_blocking(|c| {
                add(c, "k_00000000000a", 0xa, T0, Some(T0 + Duration::days(1)));
                revoke(c, "k_00000000000a", T0)?;
                assert_eq!(revocations(c, T0 + Duration::hours(1))?.len(), 1);
                assert!(revocations(c, T0 + Duration::days(2))?.is_empty());
                Ok(())
            })
            .expect("ok");
    }
}
