use chrono::{DateTime, Utc};
use termaudit_domain::TerminalPolicy;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::{
    StorageError, Store,
    audit::{Actor, NewAuditEvent, append_audit},
    time::truncate_to_micros,
};
use termaudit_domain::AuditEventType;

/// A project's policy, with when and by whom it was last changed (`None`
/// while the project has the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub policy: TerminalPolicy,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

fn to_u32(row: &Row, column: &str) -> Result<u32, StorageError> {
    let value: i32 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| StorageError::Corrupt(format!("{column} holds {value}")))
}

/// The project's policy, or the defaults.
pub async fn policy(
    client: &impl GenericClient,
    project_id: Uuid,
) -> Result<PolicyRow, StorageError> {
    let row = client.query_opt(include_str!("sql/policy_by_project.sql"), &[&project_id]).await?;
    let Some(row) = row else {
        return Ok(PolicyRow {
            policy: TerminalPolicy::default(),
            updated_at: None,
            updated_by: None,
        });
    };
    Ok(PolicyRow {
        policy: TerminalPolicy {
            retention_days_production: to_u32(&row, "retention_days_production")?,
            retention_days_non_production: to_u32(&row, "retention_days_non_production")?,
            record_non_production: row.try_get("record_non_production")?,
            require_reason_non_production: row.try_get("require_reason_non_production")?,
            reconnect_grace_seconds: to_u32(&row, "reconnect_grace_seconds")?,
            watch_non_production: row.try_get("watch_non_production")?,
        },
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn policy_json(policy: &TerminalPolicy) -> serde_json::Value {
    serde_json::json!({
        "retention_days_production": policy.retention_days_production,
        "retention_days_non_production": policy.retention_days_non_production,
        "record_non_production": policy.record_non_production,
        "require_reason_non_production": policy.require_reason_non_production,
        "reconnect_grace_seconds": policy.reconnect_grace_seconds,
        "watch_non_production": policy.watch_non_production,
    })
}

/// A legal hold on a session's recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    pub session_id: Uuid,
    pub reason: String,
    pub placed_at: DateTime<Utc>,
    pub placed_by: Actor,
}

impl TryFrom<Row> for HoldRow {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(Self {
            session_id: row.try_get("session_id")?,
            reason: row.try_get("reason")?,
            placed_at: row.try_get("placed_at")?,
            placed_by: Actor {
                subject: row.try_get("placed_by_subject")?,
                name: row.try_get("placed_by_name")?,
            },
        })
    }
}

impl Store {
    pub async fn policy(&self, project_id: Uuid) -> Result<PolicyRow, StorageError> {
        policy(&**self.client().await?, project_id).await
    }

    /// [`Store::policy`] through this replica's cache (see
    /// [`run_cache_listener`](crate::run_cache_listener)), for the requests
    /// that apply the policy; the policy's own resource reads the database.
    pub async fn cached_policy(&self, project_id: Uuid) -> Result<PolicyRow, StorageError> {
        let ticket = match self.cache.policy(project_id) {
            Ok(row) => return Ok(row),
            Err(ticket) => ticket,
        };
        let row = self.policy(project_id).await?;
        self.cache.put_policy(ticket, project_id, row.clone());
        Ok(row)
    }

    /// Replaces the project's policy (already validated) and audits
    /// `policy.updated` with the old and new values.
    pub async fn update_policy(
        &self,
        project_id: Uuid,
        new: &TerminalPolicy,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PolicyRow, StorageError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.query_one(include_str!("sql/policy_lock.sql"), &[&project_id]).await?;
        let old = policy(&*tx, project_id).await?;
        let as_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        tx.execute(
            include_str!("sql/policy_upsert.sql"),
            &[
                &project_id,
                &as_i32(new.retention_days_production),
                &as_i32(new.retention_days_non_production),
                &new.record_non_production,
                &new.require_reason_non_production,
                &as_i32(new.reconnect_grace_seconds),
                &now,
                &by.subject,
                &new.watch_non_production,
            ],
        )
        .await?;
        let audit = NewAuditEvent::new(project_id, AuditEventType::PolicyUpdated)
            .actor(&by.subject, &by.name)
            .at(now)
            .details(serde_json::json!({"old": policy_json(&old.policy), "new": policy_json(new)}));
        append_audit(&*tx, &audit).await?;
        tx.commit().await?;
        // This replica reads its own write at once; the others when V16's
        // notification reaches them.
        self.cache.evict_policy(project_id);
        Ok(PolicyRow { policy: *new, updated_at: Some(now), updated_by: Some(by.subject.clone()) })
    }

    pub async fn hold(
        &self,
        project_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<HoldRow>, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_opt(include_str!("sql/hold_by_session.sql"), &[&project_id, &session_id])
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Places a hold; `Err(existing)` when the session is held already.
    pub async fn place_hold(
        &self,
        project_id: Uuid,
        session_id: Uuid,
        reason: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<HoldRow, HoldRow>, StorageError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.query_opt(include_str!("sql/hold_lock_recording.sql"), &[&session_id]).await?;
        let placed = tx
            .query_opt(
                include_str!("sql/hold_insert.sql"),
                &[&session_id, &project_id, &reason, &now, &by.subject, &by.name],
            )
            .await?;
        let Some(placed) = placed else {
            let existing = tx
                .query_one(include_str!("sql/hold_by_session.sql"), &[&project_id, &session_id])
                .await?;
            return Ok(Err(existing.try_into()?));
        };
        let audit = NewAuditEvent::new(project_id, AuditEventType::HoldPlaced)
            .actor(&by.subject, &by.name)
            .session(session_id)
            .at(now)
            .details(serde_json::json!({"reason": reason}));
        append_audit(&*tx, &audit).await?;
        tx.commit().await?;
        Ok(Ok(placed.try_into()?))
    }

    /// Releases a hold; `None` when the session was not held.
    pub async fn release_hold(
        &self,
        project_id: Uuid,
        session_id: Uuid,
        reason: Option<&str>,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<HoldRow>, StorageError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(released) =
            tx.query_opt(include_str!("sql/hold_delete.sql"), &[&project_id, &session_id]).await?
        else {
            return Ok(None);
        };
        let released: HoldRow = released.try_into()?;
        let audit = NewAuditEvent::new(project_id, AuditEventType::HoldReleased)
            .actor(&by.subject, &by.name)
            .session(session_id)
            .at(now)
            .details(serde_json::json!({
                "reason": reason,
                "placed_at": released.placed_at,
                "placed_by": released.placed_by.subject,
                "placed_reason": released.reason,
            }));
        append_audit(&*tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(released))
    }
}
