//! The append-only audit log.

use chrono::{DateTime, Utc};
use termaudit_domain::AuditEventType;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::{Cursor, Page, StorageError, Store, sql::Conditions};

/// Someone acting on a project's sessions, policy or holds: a user, as the
/// audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub subject: String,
    pub name: String,
}

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

    /// Appends `event`, trying again while the database cannot be reached
    /// (a restart, a failover) for up to `patience`: for entries about a
    /// failure that the database's absence may have caused. The entry keeps
    /// the time it is first tried at. (An insert whose commit was lost with
    /// the connection may be appended twice; an audit log errs on that side.)
    pub async fn append_audit_retrying(
        &self,
        event: &NewAuditEvent,
        patience: std::time::Duration,
    ) -> Result<i64, StorageError> {
        let mut event = event.clone();
        event.occurred_at.get_or_insert_with(Utc::now);
        let deadline = tokio::time::Instant::now() + patience;
        let mut pause = std::time::Duration::from_millis(200);
        loop {
            match self.append_audit(&event).await {
                Err(StorageError::Unavailable(cause))
                    if tokio::time::Instant::now() + pause < deadline =>
                {
                    tracing::warn!(%cause, "cannot write an audit entry yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
                result => return result,
            }
        }
    }
}

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEventRow {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The type as stored; newer builds may write types this one does not know.
    pub event_type: String,
    pub actor_subject: Option<String>,
    pub actor_name: Option<String>,
    pub session_id: Option<Uuid>,
    pub details: serde_json::Value,
}

impl TryFrom<Row> for AuditEventRow {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(Self {
            id: row.try_get("id")?,
            occurred_at: row.try_get("occurred_at")?,
            event_type: row.try_get("event_type")?,
            actor_subject: row.try_get("actor_subject")?,
            actor_name: row.try_get("actor_name")?,
            session_id: row.try_get("session_id")?,
            details: row.try_get("details")?,
        })
    }
}

/// The filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub event_type: Option<AuditEventType>,
    pub actor_subject: Option<String>,
    pub session_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Store {
    /// One page of a project's audit log, newest first.
    pub async fn audit_events(
        &self,
        project_id: Uuid,
        filter: &AuditFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<AuditEventRow>, StorageError> {
        let mut c = Conditions::new();
        c.push("e.project_id = {}", vec![Box::new(project_id)]);
        if let Some(event_type) = filter.event_type {
            c.push("e.event_type = {}", vec![Box::new(event_type.as_str())]);
        }
        if let Some(actor) = &filter.actor_subject {
            c.push("e.actor_subject = {}", vec![Box::new(actor.clone())]);
        }
        if let Some(session) = filter.session_id {
            c.push("e.session_id = {}", vec![Box::new(session)]);
        }
        if let Some(from) = filter.from {
            c.push("e.occurred_at >= {}", vec![Box::new(from)]);
        }
        if let Some(to) = filter.to {
            c.push("e.occurred_at < {}", vec![Box::new(to)]);
        }
        if let Some(cursor) = after {
            let id = cursor.int().map_err(|_| StorageError::InvalidCursor)?;
            c.push("(e.occurred_at, e.id) < ({}, {})", vec![Box::new(cursor.time), Box::new(id)]);
        }
        let limit_param = c.param(Box::new(limit as i64 + 1));
        let sql = format!(
            "{} WHERE {} ORDER BY e.occurred_at DESC, e.id DESC LIMIT {limit_param}",
            include_str!("sql/audit_columns.sql"),
            c.where_clause()
        );
        let client = self.client().await?;
        let rows = client.query(&sql, &c.params()).await?;
        let mut items: Vec<AuditEventRow> =
            rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| Cursor { time: last.occurred_at, id: last.id.to_string() })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
