//! What live watchers of a recording need: the signal every replica hears
//! when a recording moves (`NOTIFY` on [`LIVE_CHANNEL`], sent in the
//! transaction that stores a chunk or finalizes the recording, so it is
//! heard only once that has committed), and the terminal at the recording's
//! edge, which a watcher starts from.
//!
//! Who watches is held as leases (`recording_watches`), renewed by the
//! replica serving the watch; a watch starts and stops with its entry in the
//! audit log, in the same transaction, and a watch whose replica died is
//! ended by another once its lease expires.
//!
//! A signal only says where to look: a watcher reads what was stored from
//! the database, so a signal missed (a listener reconnecting) delays a
//! watcher but never makes it skip anything.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use termaudit_domain::{
    AuditEventType,
    asciicast::{Decoder, Micros, TerminalSnapshot, Version},
};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::types::RecordingRow;
use crate::{
    ControlEvent, StorageError, Store,
    audit::{NewAuditEvent, append_audit},
    sessions::notify_control,
};

/// The channel of [`LiveSignal`]s.
pub const LIVE_CHANNEL: &str = "termaudit_live";

/// A recording moved; see the module's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveSignal {
    /// Chunk `seq` of the recording of session `session_id` is stored.
    Chunk { session_id: Uuid, seq: i32 },
    /// The recording of session `session_id` is finalized: no chunk comes
    /// any more.
    Finalized { session_id: Uuid },
    /// The replica's listener (re)connected and may have missed signals:
    /// every watcher looks again. Never sent through the database.
    Resync,
}

impl LiveSignal {
    /// Whether a watcher of session `session_id` should look again.
    pub fn concerns(&self, session_id: Uuid) -> bool {
        match self {
            Self::Chunk { session_id: id, .. } | Self::Finalized { session_id: id } => {
                *id == session_id
            }
            Self::Resync => true,
        }
    }
}

/// Sends `signal` to every replica when `client`'s transaction commits.
pub(super) async fn notify_live(
    client: &impl GenericClient,
    signal: &LiveSignal,
) -> Result<(), StorageError> {
    let payload =
        serde_json::to_string(signal).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    client.execute(include_str!("../sql/notify_live.sql"), &[&payload]).await?;
    Ok(())
}

/// A watch of a recording: who watches which session.
#[derive(Debug, Clone)]
pub struct Watch {
    pub id: Uuid,
    pub project_id: Uuid,
    pub session_id: Uuid,
    pub subject: String,
    pub name: String,
}

impl Watch {
    /// A row of `recording_watches`.
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, StorageError> {
        Ok(Self {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            session_id: row.try_get("session_id")?,
            subject: row.try_get("watcher_subject")?,
            name: row.try_get("watcher_name")?,
        })
    }

    /// Its `recording.watched` entry, with `details`.
    fn audit(&self, details: serde_json::Value) -> NewAuditEvent {
        NewAuditEvent::new(self.project_id, AuditEventType::RecordingWatched)
            .actor(&self.subject, &self.name)
            .session(self.session_id)
            .details(details)
    }

    /// What the gateway holding the session hears, so that it tells the
    /// operator: `watch.started` or `watch.stopped`.
    fn control(&self, event_type: &str) -> ControlEvent {
        ControlEvent {
            event_type: event_type.to_owned(),
            project_id: self.project_id,
            session_id: self.session_id,
            close_reason: None,
            revoked_by: None,
            reason: None,
            at: Utc::now(),
            watcher: Some(self.name.clone()),
            watch_id: Some(self.id),
        }
    }
}

/// Someone watching a recording now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    pub subject: String,
    pub name: String,
    pub since: DateTime<Utc>,
}

impl Store {
    /// Starts `watch`, its lease running for `lease`, and audits its start
    /// with `details`, in one transaction.
    pub async fn watch_start(
        &self,
        watch: &Watch,
        lease: Duration,
        details: serde_json::Value,
    ) -> Result<(), StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            include_str!("../sql/watch_insert.sql"),
            &[
                &watch.id,
                &watch.project_id,
                &watch.session_id,
                &watch.subject,
                &watch.name,
                &lease.as_secs_f64(),
            ],
        )
        .await?;
        append_audit(&*tx, &watch.audit(details)).await?;
        notify_control(&*tx, &watch.control("watch.started")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Renews watch `id`'s lease for `lease`; `false` when it was ended
    /// already (its lease expired and another replica ended it).
    pub async fn watch_renew(&self, id: Uuid, lease: Duration) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt(include_str!("../sql/watch_renew.sql"), &[&id, &lease.as_secs_f64()])
            .await?;
        Ok(row.is_some())
    }

    /// Ends `watch` and audits its end with `details`, in one transaction;
    /// `false`, writing nothing, when another replica ended it first.
    pub async fn watch_stop(
        &self,
        watch: &Watch,
        details: serde_json::Value,
    ) -> Result<bool, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if tx.query_opt(include_str!("../sql/watch_delete.sql"), &[&watch.id]).await?.is_none() {
            return Ok(false);
        }
        append_audit(&*tx, &watch.audit(details)).await?;
        notify_control(&*tx, &watch.control("watch.stopped")).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends up to `limit` watches whose lease expired (their replica died),
    /// each audited as stopped with the outcome `lost`. Returns how many.
    pub async fn end_lost_watches(&self, limit: i64) -> Result<usize, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rows = tx.query(include_str!("../sql/watches_expired.sql"), &[&limit]).await?;
        for row in &rows {
            let watch = Watch::from_row(row)?;
            let details = serde_json::json!({
                "watch": watch.id,
                "phase": "stopped",
                "outcome": "lost",
                "started_at": row.try_get::<_, DateTime<Utc>>("started_at")?,
            });
            append_audit(&*tx, &watch.audit(details)).await?;
            notify_control(&*tx, &watch.control("watch.stopped")).await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Who watches session `session_id`'s recording now, earliest first.
    pub async fn session_watchers(&self, session_id: Uuid) -> Result<Vec<Watcher>, StorageError> {
        let client = self.client().await?;
        let rows =
            client.query(include_str!("../sql/watches_of_session.sql"), &[&session_id]).await?;
        rows.iter()
            .map(|row| {
                Ok(Watcher {
                    subject: row.try_get("watcher_subject")?,
                    name: row.try_get("watcher_name")?,
                    since: row.try_get("started_at")?,
                })
            })
            .collect()
    }

    /// The watches of `project_id`'s recordings under way, earliest first,
    /// as the `watch.started` events that began them (`at` their start): what
    /// a gateway that (re)connects to the control stream has to know.
    pub async fn project_watches(
        &self,
        project_id: Uuid,
    ) -> Result<Vec<ControlEvent>, StorageError> {
        let client = self.client().await?;
        let rows =
            client.query(include_str!("../sql/watches_of_project.sql"), &[&project_id]).await?;
        rows.iter()
            .map(|row| {
                let watch = Watch::from_row(row)?;
                Ok(ControlEvent {
                    at: row.try_get("started_at")?,
                    ..watch.control("watch.started")
                })
            })
            .collect()
    }

    /// The terminal after chunks `0 .. recording.next_seq`, exactly: the
    /// newest snapshot before that edge, and the chunks after it played.
    pub async fn recording_edge(
        &self,
        session_id: Uuid,
        recording: &RecordingRow,
    ) -> Result<TerminalSnapshot, StorageError> {
        let snapshot = self
            .client()
            .await?
            .query_opt(
                include_str!("../sql/recording_snapshot_last.sql"),
                &[&session_id, &recording.next_seq],
            )
            .await?;
        let (mut replay, mut cursor) =
            self.restore(session_id, snapshot.as_ref(), recording).await?;
        while let Some(chunk) = cursor.next().await? {
            replay = tokio::task::spawn_blocking(move || {
                let mut decoder = Decoder::resume(Version::V2, Micros::ZERO);
                for line in chunk.lines.split_terminator('\n') {
                    if let Ok(Some(event)) = decoder.decode_line(line) {
                        replay.apply(&event);
                    }
                }
                replay
            })
            .await
            .map_err(|e| StorageError::Corrupt(format!("replay failed: {e}")))?;
        }
        Ok(replay.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_read_back_and_say_whom_they_concern() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        for signal in
            [LiveSignal::Chunk { session_id: a, seq: 3 }, LiveSignal::Finalized { session_id: a }]
        {
            let text = serde_json::to_string(&signal).expect("serializes");
            assert_eq!(serde_json::from_str::<LiveSignal>(&text).expect("reads back"), signal);
            assert!(signal.concerns(a));
            assert!(!signal.concerns(b));
        }
        assert!(LiveSignal::Resync.concerns(b));
    }
}
