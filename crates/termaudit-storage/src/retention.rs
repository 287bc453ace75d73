//! The retention sweep's storage: which recordings have expired, purging
//! them in short transactions, the record of each run, and the lock that
//! lets one sweeper run at a time across replicas.

use chrono::{DateTime, Utc};
use serde_json::json;
use termaudit_domain::{AuditEventType, EnvironmentClass, TerminalPolicy};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    DatabaseUrl, StorageError, Store, recordings::purge_recordings, row::parse_enum,
    time::truncate_to_micros,
};

/// A fixed key for the sweeper's advisory lock ("termswep").
const SWEEP_LOCK: i64 = 0x7465_726d_7377_6570;

/// A recording whose retention has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredRecording {
    pub session_id: Uuid,
    pub project_id: Uuid,
    pub target_name: String,
    pub environment_class: EnvironmentClass,
    pub ended_at: DateTime<Utc>,
    pub retention_days: u32,
    /// The downloadable file's size.
    pub size_bytes: i64,
    /// What its stored (compressed) chunks take.
    pub stored_bytes: i64,
}

impl TryFrom<Row> for ExpiredRecording {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        let days: i32 = row.try_get("retention_days")?;
        Ok(Self {
            session_id: row.try_get("session_id")?,
            project_id: row.try_get("project_id")?,
            target_name: row.try_get("target_name")?,
            environment_class: parse_enum(&row, "environment_class")?,
            ended_at: row.try_get("ended_at")?,
            retention_days: u32::try_from(days).unwrap_or_default(),
            size_bytes: row.try_get("size_bytes")?,
            stored_bytes: row.try_get("stored_bytes")?,
        })
    }
}

/// What a sweep would purge in one environment class, with retention
/// values tried and with the policy's own ([`Store::retention_preview`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPreviewRow {
    pub environment_class: EnvironmentClass,
    /// Recordings purged with the values tried.
    pub recordings: i64,
    pub size_bytes: i64,
    pub stored_bytes: i64,
    /// Recordings purged with the policy's values.
    pub recordings_with_current: i64,
}

/// Held while a sweep runs: a session-level advisory lock on its own
/// connection, released when dropped (or when the process dies).
pub type SweepLock = crate::AdvisoryLock;

/// Where a batch of the sweep ended: the session end and id of the last
/// recording it found, after which the next batch starts.
pub type SweepKey = (DateTime<Utc>, Uuid);

/// What one purged batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Recordings found expired in this batch.
    pub found: usize,
    pub purged: usize,
    pub bytes_freed: i64,
    /// The key of the last recording found, for the next batch.
    pub last: Option<SweepKey>,
}

/// A run of the sweep, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRunRow {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub as_of: DateTime<Utc>,
    pub status: String,
    pub purged: i32,
    pub bytes_freed: i64,
    pub errors: i32,
    /// What this run purged in the asking project.
    pub project_purged: i32,
    pub project_bytes_freed: i64,
}

fn defaults() -> (i32, i32) {
    let d = TerminalPolicy::default();
    (d.retention_days_production as i32, d.retention_days_non_production as i32)
}

impl Store {
    /// The sweeper lock, or `None` when another sweeper holds it.
    pub async fn try_lock_sweeper(
        &self,
        url: &DatabaseUrl,
    ) -> Result<Option<SweepLock>, StorageError> {
        SweepLock::try_take(url, SWEEP_LOCK).await
    }

    /// Recordings expired at `as_of` (all projects, or one), oldest first.
    pub async fn expired_recordings(
        &self,
        as_of: DateTime<Utc>,
        project_id: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ExpiredRecording>, StorageError> {
        self.expired_after(as_of, project_id, None, limit).await
    }

    async fn expired_after(
        &self,
        as_of: DateTime<Utc>,
        project_id: Option<Uuid>,
        after: Option<SweepKey>,
        limit: i64,
    ) -> Result<Vec<ExpiredRecording>, StorageError> {
        let (prod, non_prod) = defaults();
        let (after_time, after_id) = (after.map(|a| a.0), after.map(|a| a.1));
        let client = self.client().await?;
        let rows = client
            .query(
                include_str!("sql/retention_expired.sql"),
                &[&as_of, &prod, &non_prod, &limit, &project_id, &after_time, &after_id],
            )
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The sweep's dry run in one project, counted per environment class:
    /// what a sweep at `as_of` would purge if recordings were kept `tried`
    /// days (production, non-production), and what with `current`.
    pub async fn retention_preview(
        &self,
        project_id: Uuid,
        as_of: DateTime<Utc>,
        tried: (u32, u32),
        current: (u32, u32),
    ) -> Result<Vec<RetentionPreviewRow>, StorageError> {
        let days = |d: u32| i32::try_from(d).unwrap_or(i32::MAX);
        let client = self.client().await?;
        let rows = client
            .query(
                include_str!("sql/retention_preview.sql"),
                &[
                    &project_id,
                    &truncate_to_micros(as_of),
                    &days(tried.0),
                    &days(tried.1),
                    &days(current.0),
                    &days(current.1),
                ],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(RetentionPreviewRow {
                    environment_class: parse_enum(&row, "environment_class")?,
                    recordings: row.try_get("recordings")?,
                    size_bytes: row.try_get("size_bytes")?,
                    stored_bytes: row.try_get("stored_bytes")?,
                    recordings_with_current: row.try_get("recordings_with_current")?,
                })
            })
            .collect()
    }

    /// How many recordings (all projects) expire by `as_of`.
    pub async fn count_expiring(&self, as_of: DateTime<Utc>) -> Result<i64, StorageError> {
        let (prod, non_prod) = defaults();
        let sql = format!("SELECT count(*) FROM ({}) e", include_str!("sql/retention_expired.sql"));
        let client = self.client().await?;
        let row = client
            .query_one(
                &sql,
                &[
                    &truncate_to_micros(as_of),
                    &prod,
                    &non_prod,
                    &i64::MAX,
                    &None::<Uuid>,
                    &None::<DateTime<Utc>>,
                    &None::<Uuid>,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    /// The newest run over all projects (for metrics).
    pub async fn last_retention_run_any(&self) -> Result<Option<RetentionRunRow>, StorageError> {
        self.last_retention_run(Uuid::nil()).await
    }

    /// Records the start of a run; runs left `running` by a sweeper that died
    /// are marked `interrupted` (call while holding the sweeper lock).
    pub async fn start_retention_run(
        &self,
        started_at: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<i64, StorageError> {
        let client = self.client().await?;
        client
            .execute(
                include_str!("sql/retention_run_abandoned.sql"),
                &[&truncate_to_micros(started_at)],
            )
            .await?;
        let row = client
            .query_one(
                include_str!("sql/retention_run_start.sql"),
                &[&truncate_to_micros(started_at), &truncate_to_micros(as_of)],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Purges up to `limit` expired recordings (after `after`, oldest first)
    /// in one short transaction: deletes their content, marks them purged,
    /// audits `recording.purged` in their project and counts them in the
    /// run. A batch is a handful of set-based statements, whatever its size.
    pub async fn purge_expired_batch(
        &self,
        run_id: i64,
        as_of: DateTime<Utc>,
        after: Option<SweepKey>,
        limit: i64,
    ) -> Result<BatchOutcome, StorageError> {
        let as_of = truncate_to_micros(as_of);
        let expired = self.expired_after(as_of, None, after, limit).await?;
        let mut outcome = BatchOutcome {
            found: expired.len(),
            last: expired.last().map(|e| (e.ended_at, e.session_id)),
            ..Default::default()
        };
        if expired.is_empty() {
            return Ok(outcome);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let ids: Vec<Uuid> = expired.iter().map(|e| e.session_id).collect();
        let claimed: Vec<Uuid> = tx
            .query(include_str!("sql/retention_lock_batch.sql"), &[&ids])
            .await?
            .into_iter()
            .map(|row| row.get(0))
            .collect();
        let claimed: Vec<&ExpiredRecording> =
            expired.iter().filter(|e| claimed.contains(&e.session_id)).collect();
        let expiry =
            |r: &ExpiredRecording| r.ended_at + chrono::Duration::days(i64::from(r.retention_days));
        let reasons: Vec<(Uuid, String)> = claimed
            .iter()
            .map(|r| {
                let reason = format!(
                    "retention: {} days for {} sessions, expired {}",
                    r.retention_days,
                    r.environment_class,
                    expiry(r).to_rfc3339()
                );
                (r.session_id, reason)
            })
            .collect();
        let purged = purge_recordings(&*tx, &reasons, as_of).await?;
        let purged: Vec<&ExpiredRecording> =
            claimed.into_iter().filter(|r| purged.contains(&r.session_id)).collect();
        if !purged.is_empty() {
            let projects: Vec<Uuid> = purged.iter().map(|r| r.project_id).collect();
            let sessions: Vec<Uuid> = purged.iter().map(|r| r.session_id).collect();
            let details: Vec<serde_json::Value> = purged
                .iter()
                .map(|r| {
                    json!({
                        "environment_class": r.environment_class.as_str(),
                        "ended_at": r.ended_at,
                        "retention_days": r.retention_days,
                        "expired_at": expiry(r),
                        "size_bytes": r.size_bytes,
                        "bytes_freed": r.stored_bytes,
                        "run_id": run_id,
                    })
                })
                .collect();
            tx.execute(
                include_str!("sql/audit_insert_many.sql"),
                &[
                    &projects,
                    &as_of,
                    &AuditEventType::RecordingPurged.as_str(),
                    &sessions,
                    &details,
                ],
            )
            .await?;
            let mut per_project: std::collections::BTreeMap<Uuid, (i32, i64)> = Default::default();
            for r in &purged {
                let entry = per_project.entry(r.project_id).or_default();
                entry.0 += 1;
                entry.1 += r.stored_bytes;
            }
            for (project, (count, bytes)) in per_project {
                tx.execute(
                    include_str!("sql/retention_run_project_progress.sql"),
                    &[&run_id, &project, &count, &bytes],
                )
                .await?;
            }
        }
        outcome.purged = purged.len();
        outcome.bytes_freed = purged.iter().map(|r| r.stored_bytes).sum();
        tx.execute(
            include_str!("sql/retention_run_progress.sql"),
            &[&run_id, &(outcome.purged as i32), &outcome.bytes_freed],
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn finish_retention_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        status: &str,
        errors: i32,
        error_detail: Option<&str>,
    ) -> Result<(), StorageError> {
        let client = self.client().await?;
        client
            .execute(
                include_str!("sql/retention_run_finish.sql"),
                &[&run_id, &truncate_to_micros(finished_at), &status, &errors, &error_detail],
            )
            .await?;
        Ok(())
    }

    /// The newest run, with what it purged in `project_id`.
    pub async fn last_retention_run(
        &self,
        project_id: Uuid,
    ) -> Result<Option<RetentionRunRow>, StorageError> {
        let client = self.client().await?;
        let row =
            client.query_opt(include_str!("sql/retention_last_run.sql"), &[&project_id]).await?;
        row.map(|row| -> Result<RetentionRunRow, StorageError> {
            Ok(RetentionRunRow {
                id: row.try_get("id")?,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                as_of: row.try_get("as_of")?,
                status: row.try_get("status")?,
                purged: row.try_get("purged")?,
                bytes_freed: row.try_get("bytes_freed")?,
                errors: row.try_get("errors")?,
                project_purged: row.try_get("project_purged")?,
                project_bytes_freed: row.try_get("project_bytes_freed")?,
            })
        })
        .transpose()
    }
}
