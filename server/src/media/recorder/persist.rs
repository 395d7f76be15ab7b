//! Persistence of recordings: the `active_recordings` row of each running recording (written before
//! `start_recording` answers, updated per segment, removed when the recording ends — kept on shutdown so the next
//! start resumes it) and the `media_files` rows of its segments. All SQLite work runs on the store's thread.

use super::{Recorder, Recording, RecordingFormat};
use crate::store::{parse_opt_sql_time, parse_sql_time, sql_time};
use serde_json::json;
use time::OffsetDateTime;

impl Recorder {
    pub(super) async fn persist_start(&self, r: &Recording) -> crate::Result<()> {
        let r = r.clone();
        self.store
            .call(move |conn| {
                let tx = conn.transaction()?;
                tx.execute(
                    "INSERT OR REPLACE INTO active_recordings (device, format, start_time, duration, auto_stop_at, files)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![
                        r.device,
                        r.format.as_str(),
                        sql_time(r.start_time),
                        r.duration.map(|d| d as i64),
                        r.auto_stop_at.map(sql_time),
                        json!(r.files).to_string()
                    ],
                )?;
                for f in &r.files {
                    index_file(&tx, &r, f, r.start_time)?;
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }

    pub(super) async fn persist_segment(
        &self,
        r: &Recording,
        file: &str,
        created: OffsetDateTime,
    ) -> crate::Result<()> {
        let (r, file) = (r.clone(), file.to_owned());
        self.store
            .call(move |conn| {
                let tx = conn.transaction()?;
                tx.execute(
                    "UPDATE active_recordings SET files = ?2 WHERE device = ?1",
                    rusqlite::params![r.device, json!(r.files).to_string()],
                )?;
                index_file(&tx, &r, &file, created)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    pub(super) async fn persist_files(&self, r: &Recording) -> crate::Result<()> {
        let r = r.clone();
        self.store
            .call(move |conn| {
                conn.execute(
                    "UPDATE active_recordings SET files = ?2 WHERE device = ?1",
                    rusqlite::params![r.device, json!(r.files).to_string()],
                )?;
                Ok(())
            })
            .await
    }

    pub(super) async fn remove_active(&self, device: &str) -> crate::Result<()> {
        let device = device.to_owned();
        self.store
            .call(move |conn| {
                conn.execute("DELETE FROM active_recordings WHERE device = ?1", [device])?;
                Ok(())
            })
            .await
    }
}

/// Records a segment in `media_files`; `created` is when the service saw the file appear (more precise than
/// the whole second in its name).
pub(super) fn index_file(
    tx: &rusqlite::Transaction<'_>,
    r: &Recording,
    file: &str,
    created: OffsetDateTime,
) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT OR REPLACE INTO media_files (kind, filename, device, format, created_at)
         VALUES ('recording', ?1, ?2, ?3, ?4)",
        rusqlite::params![file, r.device, r.format.as_str(), sql_time(created)],
    )
}

pub(super) fn load_active(conn: &mut rusqlite::Connection) -> crate::Result<Vec<Recording>> {
    let mut st =
        conn.prepare("SELECT device, format, start_time, duration, auto_stop_at, files FROM active_recordings")?;
    let rows = st
        .query_map([], |row| {
            let format: String = row.get(1)?;
            let files: String = row.get(5)?;
            Ok(Recording {
                device: row.get(0)?,
                format: RecordingFormat::parse(&format).unwrap_or(RecordingFormat::Fmp4),
                start_time: parse_sql_time(&row.get::<_, String>(2)?)?,
                duration: row.get::<_, Option<i64>>(3)?.and_then(|d| u64::try_from(d).ok()),
                auto_stop_at: parse_opt_sql_time(row.get(4)?)?,
                files: serde_json::from_str(&files).unwrap_or_default(),
                pid: None,
                carried_bytes: 0,
                bytes_seen: 0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
