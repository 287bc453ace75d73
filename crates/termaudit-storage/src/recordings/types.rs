//! A recording's rows: the session as recordings see it, the stored
//! summary, and a marker on the timeline.

use chrono::{DateTime, Utc};
use termaudit_domain::{EnvironmentClass, asciicast::Micros};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::time::micros_from_db;

/// A session as recordings see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSession {
    pub id: Uuid,
    pub project_id: Uuid,
    pub target_name: String,
    pub recorded: bool,
    pub environment_class: EnvironmentClass,
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A recording's stored summary by session id (`$1`), as [`RecordingRow`]
/// reads it.
pub(super) const RECORDING_BY_SESSION: &str = include_str!("../sql/recording_by_session.sql");
/// The same, locked until the transaction ends (ingest and finalization).
pub(super) const RECORDING_LOCK: &str =
    concat!(include_str!("../sql/recording_by_session.sql"), "FOR UPDATE\n");

/// A recording's stored summary.
#[derive(Debug, Clone)]
pub struct RecordingRow {
    /// The canonical v2 header line; `None` when no chunk arrived.
    pub header: Option<String>,
    pub(super) source_version: Option<i16>,
    /// Wall-clock time of the recording's time zero.
    pub started_at: DateTime<Utc>,
    /// The next chunk expected.
    pub next_seq: i32,
    /// Events uploaded so far.
    pub chunk_events: i64,
    /// The time of the last uploaded event.
    pub last_time: Micros,
    pub finalized_at: Option<DateTime<Utc>>,
    /// Size of the downloadable file, once finalized.
    pub size_bytes: Option<i64>,
    /// Events in the downloadable file (markers included), once finalized.
    pub event_count: Option<i64>,
    /// The last event's time in the downloadable file, once finalized.
    pub duration: Option<Micros>,
    /// SHA-256 of the downloadable file, once finalized.
    pub sha256: Option<Vec<u8>>,
    pub(super) trailer_offset: Option<i64>,
    pub purged_at: Option<DateTime<Utc>>,
    pub purge_reason: Option<String>,
}

impl From<&Row> for RecordingRow {
    fn from(row: &Row) -> Self {
        Self {
            header: row.get("header"),
            source_version: row.get("source_version"),
            started_at: row.get("started_at"),
            next_seq: row.get("next_seq"),
            chunk_events: row.get("chunk_events"),
            last_time: micros_from_db(row.get("last_time_us")),
            finalized_at: row.get("finalized_at"),
            size_bytes: row.get("size_bytes"),
            event_count: row.get("event_count"),
            duration: row.get::<_, Option<i64>>("duration_us").map(micros_from_db),
            sha256: row.get("sha256"),
            trailer_offset: row.get("trailer_offset"),
            purged_at: row.get("purged_at"),
            purge_reason: row.get("purge_reason"),
        }
    }
}

impl RecordingRow {
    /// The SHA-256 as lowercase hex, once finalized.
    pub fn sha256_hex(&self) -> Option<String> {
        self.sha256.as_deref().map(hex)
    }
}

/// A digest as lowercase hex, as the API and the audit log show it.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A marker on a recording's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub time: Micros,
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_reads_the_same_columns() {
        assert_eq!(RECORDING_LOCK.strip_suffix("FOR UPDATE\n"), Some(RECORDING_BY_SESSION));
        assert!(RECORDING_BY_SESSION.ends_with("WHERE session_id = $1\n"));
    }
}
