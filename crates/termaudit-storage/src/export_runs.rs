//! An export's two audit entries, and the end of exports whose process died
//! (`migrations/V10__exports_running.sql`).
//!
//! The audit log is append-only, so an export cannot write one entry and
//! complete it later: it appends `history.export_started` when it starts
//! and `history.exported` when it ends. While it runs, an advisory lock on
//! its own connection says it is alive; [`Store::end_abandoned_exports`],
//! run by every replica's background task, ends with `interrupted` every
//! export whose start has no end and whose lock is gone.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use termaudit_domain::{ExportOutcome, export_ended_details};
use tokio_postgres::GenericClient;

use crate::{NewAuditEvent, StorageError, Store};

/// The advisory lock space of running exports (the key is the start's id,
/// modulo 2^31 - 1: two exports that share a key only delay the end of a
/// dead one while the other runs).
pub(crate) const EXPORT_LOCK_CLASS: i32 = 0x7465_7870; // "texp"

/// The exports this process runs: its own background task leaves them to
/// their own end (a `failed` one waiting for the database, say).
#[derive(Clone, Default)]
pub(crate) struct RunningExports(Arc<Mutex<BTreeSet<i64>>>);

impl RunningExports {
    pub(crate) fn insert(&self, started_id: i64) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(started_id);
    }

    pub(crate) fn remove(&self, started_id: i64) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&started_id);
    }

    fn ids(&self) -> Vec<i64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }
}

/// What an export's audit entries need: its start entry (type
/// `history.export_started`: project, actor, details), and how long its end
/// entry waits for a database that cannot be reached.
#[derive(Debug, Clone)]
pub struct ExportAudit {
    pub start: NewAuditEvent,
    pub patience: Duration,
}

/// Appends the start entry through `client` (the export's own connection),
/// records the export as running and takes its lock there. Returns the
/// start's id.
pub(crate) async fn start_export(
    client: &impl GenericClient,
    start: &NewAuditEvent,
) -> Result<i64, StorageError> {
    let row = client
        .query_one(
            include_str!("sql/export_start.sql"),
            &[
                &start.project_id,
                &start.actor_subject,
                &start.actor_name,
                &start.details,
                &EXPORT_LOCK_CLASS,
            ],
        )
        .await?;
    Ok(row.try_get("id")?)
}

/// Appends the end entry of export `started_id`, unless another process
/// ended it first. Returns whether this call wrote it.
async fn end_export(
    client: &impl GenericClient,
    started_id: i64,
    details: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let written =
        client.query_opt(include_str!("sql/export_end.sql"), &[&started_id, details, &at]).await?;
    Ok(written.is_some())
}

impl Store {
    /// Ends export `started_id` with `outcome` and the `rows` handed to
    /// its reader, through the pool, trying again while the database cannot
    /// be reached for up to `patience` (the entry keeps the time it was first
    /// tried at). Called while the export's connection still holds its lock,
    /// when it is alive.
    pub(crate) async fn end_export(
        &self,
        started_id: i64,
        started: &serde_json::Value,
        rows: u64,
        outcome: ExportOutcome,
        patience: Duration,
    ) -> Result<(), StorageError> {
        let details = export_ended_details(started, started_id, Some(rows), outcome);
        let at = Utc::now();
        let deadline = tokio::time::Instant::now() + patience;
        let mut pause = Duration::from_millis(200);
        loop {
            let attempt =
                async { end_export(&**self.client().await?, started_id, &details, at).await };
            match attempt.await {
                Ok(written) => {
                    if !written {
                        tracing::info!(started_id, "the export was ended by another process");
                    }
                    return Ok(());
                }
                Err(StorageError::Unavailable(cause))
                    if tokio::time::Instant::now() + pause < deadline =>
                {
                    tracing::warn!(%cause, "cannot end the export's audit yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Ends with `interrupted` every export that started, has not ended and
    /// whose lock is free: the process running it died, or lost its
    /// connection. Exports of this process are left to it. Returns how many
    /// it ended. Safe on every replica at once: each export ends once.
    pub async fn end_abandoned_exports(&self) -> Result<usize, StorageError> {
        let mut client = self.client().await?;
        let own = self.running_exports.ids();
        let candidates = client.query(include_str!("sql/exports_abandoned.sql"), &[&own]).await?;
        let mut ended = 0;
        for candidate in candidates {
            let started_id: i64 = candidate.try_get("started_id")?;
            let started: serde_json::Value = candidate.try_get("details")?;
            let tx = client.transaction().await?;
            // Held until this transaction ends; taken only if the export's
            // own connection is gone.
            let dead: bool = tx
                .query_one(
                    include_str!("sql/export_lock_free.sql"),
                    &[&EXPORT_LOCK_CLASS, &started_id],
                )
                .await?
                .get(0);
            if !dead {
                continue;
            }
            let details =
                export_ended_details(&started, started_id, None, ExportOutcome::Interrupted);
            if end_export(&*tx, started_id, &details, Utc::now()).await? {
                tracing::warn!(started_id, "an export's process died; audited as interrupted");
                ended += 1;
            }
            tx.commit().await?;
        }
        Ok(ended)
    }
}
