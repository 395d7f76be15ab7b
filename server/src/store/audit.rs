//! The audit log: one row per security-relevant change (API key creation, revocation, rotation, ...).
//!
//! Rows are written inside the same transaction as the change they describe, so the log never claims a change
//! that was rolled back and never misses one that committed. `details` is a JSON object; it must never contain a
//! secret (no API key or JWT plaintext, no secret hash).

use rusqlite::Connection;
use serde_json::Value;
use time::OffsetDateTime;

use super::{parse_sql_time, sql_time};

/// One audit log row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub ts: OffsetDateTime,
    /// `user_id` of whoever made the change (`cli` for the offline command line).
    pub actor: String,
    /// Dotted action name, e.g. `api_key.create`.
    pub action: String,
    /// The object acted on (e.g. a key id).
    pub target: Option<String>,
    pub details: Value,
}

/// Appends a row. Pass the transaction that makes the change (a `Transaction` derefs to `Connection`).
pub fn record(
    conn: &Connection,
    ts: OffsetDateTime,
    actor: &str,
    action: &str,
    target: Option<&str>,
    details: &Value,
) -> crate::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (ts, actor, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![sql_time(ts), actor, action, target, details.to_string()],
    )?;
    Ok(())
}

/// The newest `limit` rows, newest first.
pub fn recent(conn: &Connection, limit: u32) -> crate::Result<Vec<AuditEntry>> {
    let mut st =
        conn.prepare_cached("SELECT id, ts, actor, action, target, details FROM audit_log ORDER BY id DESC LIMIT ?1")?;
    let rows = st.query_map([limit], |r| {
        let ts: String = r.get(1)?;
        let details: String = r.get(5)?;
        Ok(AuditEntry {
            id: r.get(0)?,
            ts: parse_sql_time(&ts)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            details: serde_json::from_str(&details).unwrap_or(Value::String(details)),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes rows older than `before`; returns how many. Keeps the log bounded when called periodically.
pub fn prune_before(conn: &Connection, before: OffsetDateTime) -> crate::Result<usize> {
    Ok(conn.execute("DELETE FROM audit_log WHERE ts < ?1", [sql_time(before)])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;
    use time::macros::datetime;

    #[test]
    fn record_list_and_prune() {
        let (_dir, store) = temp_store();
        store
            .call_blocking(|c| {
                let tx = c.transaction()?;
                record(
                    &tx,
                    datetime!(2025-01-01 0:00 UTC),
                    "alice",
                    "api_key.create",
                    Some("k_1"),
                    &serde_json::json!({"role": "admin"}),
                )?;
                record(
                    &tx,
                    datetime!(2025-02-01 0:00 UTC),
                    "cli",
                    "api_key.revoke",
                    Some("k_1"),
                    &serde_json::json!({}),
                )?;
                tx.commit()?;
                Ok(())
            })
            .expect("record");
        let rows = store.call_blocking(|c| recent(c, 10)).expect("recent");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].action, "api_key.revoke", "newest first");
        assert_eq!(rows[1].details["role"], "admin");
        assert_eq!(rows[1].target.as_deref(), Some("k_1"));
        let pruned = store
            .call_blocking(|c| prune_before(c, datetime!(2025-01-15 0:00 UTC)))
            .expect("prune");
        assert_eq!(pruned, 1);
        assert_eq!(store.call_blocking(|c| recent(c, 10)).expect("recent").len(), 1);
    }

    #[test]
    fn rolled_back_change_leaves_no_row() {
        let (_dir, store) = temp_store();
        store
            .call_blocking(|c| {
                let tx = c.transaction()?;
                record(
                    &tx,
                    datetime!(2025-01-01 0:00 UTC),
                    "alice",
                    "api_key.create",
                    None,
                    &serde_json::json!({}),
                )?;
                tx.rollback()?;
                Ok(())
            })
            .expect("rollback");
        assert!(store.call_blocking(|c| recent(c, 10)).expect("recent").is_empty());
    }
}
