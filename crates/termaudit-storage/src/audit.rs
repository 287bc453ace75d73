//! The append-only audit log.

use chrono::{DateTime, Utc};
use termaudit_domain::AuditEventType;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::{StorageError, Store};

/// An entry to append to a project's audit log.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub project_id: Uuid,
    pub event_type: AuditEventType,
    /// When it happened; the database's clock when `None`.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Who did it; `None` for the system (sweeps, expiries).
    pub actor_subject: Option<String>,
    pub actor_name: Option<String>,
    pub session_id: Option<Uuid>,
    pub details: serde_json::Value,
}

impl NewAuditEvent {
    pub fn new(project_id: Uuid, event_type: AuditEventType) -> Self {
        Self {
            project_id,
            event_type,
            occurred_at: None,
            actor_subject: None,
            actor_name: None,
            session_id: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, subject: &str, name: &str) -> Self {
        self.actor_subject = Some(subject.to_owned());
        self.actor_name = Some(name.to_owned());
        self
    }

    pub fn session(mut self, session_id: Uuid) -> Self {
        self.session_id = Some(session_id);
        self
    }

    pub fn at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.occurred_at = Some(occurred_at);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `event` through `client`, which may be a transaction so the entry
/// commits with the change it records.
pub async fn append_audit(
    client: &impl GenericClient,
    event: &NewAuditEvent,
) -> Result<i64, StorageError> {
    let row = client
        .query_one(
            include_str!("sql/audit_insert.sql"),
            &[
                &event.project_id,
                &event.occurred_at,
                &event.event_type.as_str(),
                &event.actor_subject,
                &event.actor_name,
                &event.session_id,
                &event.details,
            ],
        )
        .await?;
    Ok(row.get(0))
}

impl Store {
    pub async fn append_audit(&self, event: &NewAuditEvent) -> Result<i64, StorageError> {
        append_audit(&**self.client().await?, event).await
    }
}
