//! A session's timeline: the explicit activity and database statements the
//! gateway reports, each appended once by its event id, and read back in
//! time order a page at a time.

use chrono::{DateTime, Utc};
use serde_json::json;
use termaudit_domain::AuditEventType;
use tokio_postgres::Row;
use uuid::Uuid;

use super::lifecycle::SessionRow;
use crate::{
    StorageError, Store,
    audit::{NewAuditEvent, append_audit},
    cursor::{Cursor, Page},
    time::truncate_to_micros,
};

/// Explicit activity the gateway reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub event_id: String,
    pub kind: String,
    pub text: String,
    pub occurred_at: DateTime<Utc>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub id: i64,
    pub activity: Activity,
}

impl TryFrom<Row> for ActivityRow {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(Self {
            id: row.try_get("id")?,
            activity: Activity {
                event_id: row.try_get("client_event_id")?,
                kind: row.try_get("kind")?,
                text: row.try_get("text")?,
                occurred_at: row.try_get("occurred_at")?,
                exit_code: row.try_get("exit_code")?,
                duration_ms: row.try_get("duration_ms")?,
            },
        })
    }
}

/// A statement run in a database shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseEvent {
    pub event_id: String,
    pub statement: String,
    pub database: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub rows_affected: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseEventRow {
    pub id: i64,
    pub event: DatabaseEvent,
}

impl TryFrom<Row> for DatabaseEventRow {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(Self {
            id: row.try_get("id")?,
            event: DatabaseEvent {
                event_id: row.try_get("client_event_id")?,
                statement: row.try_get("statement")?,
                database: row.try_get("database")?,
                occurred_at: row.try_get("occurred_at")?,
                rows_affected: row.try_get("rows_affected")?,
                duration_ms: row.try_get("duration_ms")?,
                error: row.try_get("error")?,
            },
        })
    }
}

/// How many appended events were new, and how many were retries of events
/// stored already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendOutcome {
    pub stored: usize,
    pub duplicates: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// An event id was used before for a different event.
    #[error("event id {0:?} was already used for a different event")]
    Conflict(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<tokio_postgres::Error> for AppendError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Storage(err.into())
    }
}

impl Store {
    /// Appends activity idempotently: an event id seen before with the same
    /// content is a retry and changes nothing.
    pub async fn append_activity(
        &self,
        session_id: Uuid,
        items: &[Activity],
    ) -> Result<AppendOutcome, AppendError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut outcome = AppendOutcome::default();
        for item in items {
            let inserted = tx
                .query_opt(
                    include_str!("../sql/activity_insert.sql"),
                    &[
                        &session_id,
                        &item.event_id,
                        &item.kind,
                        &item.text,
                        &item.occurred_at,
                        &item.exit_code,
                        &item.duration_ms,
                    ],
                )
                .await?;
            if inserted.is_some() {
                outcome.stored += 1;
                continue;
            }
            let existing: ActivityRow = tx
                .query_one(
                    include_str!("../sql/activity_by_event_id.sql"),
                    &[&session_id, &item.event_id],
                )
                .await?
                .try_into()?;
            // Times are stored to the microsecond: a retry sent with finer
            // times is the same event.
            let sent =
                Activity { occurred_at: truncate_to_micros(item.occurred_at), ..item.clone() };
            if existing.activity != sent {
                return Err(AppendError::Conflict(item.event_id.clone()));
            }
            outcome.duplicates += 1;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn activity(
        &self,
        session_id: Uuid,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<ActivityRow>, StorageError> {
        let (time, id) = start_after(after)?;
        let client = self.client().await?;
        let rows = client
            .query(
                include_str!("../sql/activity_page.sql"),
                &[&session_id, &time, &id, &(limit as i64 + 1)],
            )
            .await?;
        let items =
            rows.into_iter().map(TryInto::try_into).collect::<Result<Vec<ActivityRow>, _>>()?;
        Ok(ascending_page(items, limit, |row| (row.activity.occurred_at, row.id)))
    }

    /// Appends database events idempotently, each also audited as
    /// `database.statement` in the same transaction.
    pub async fn append_database_events(
        &self,
        project_id: Uuid,
        session: &SessionRow,
        events: &[DatabaseEvent],
    ) -> Result<AppendOutcome, AppendError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut outcome = AppendOutcome::default();
        for event in events {
            let inserted = tx
                .query_opt(
                    include_str!("../sql/database_event_insert.sql"),
                    &[
                        &session.id,
                        &event.event_id,
                        &event.statement,
                        &event.database,
                        &event.occurred_at,
                        &event.rows_affected,
                        &event.duration_ms,
                        &event.error,
                    ],
                )
                .await?;
            if inserted.is_some() {
                outcome.stored += 1;
                let audit = NewAuditEvent::new(project_id, AuditEventType::DatabaseStatement)
                    .actor(&session.user_subject, &session.user_name)
                    .session(session.id)
                    .at(event.occurred_at)
                    .details(json!({
                        "statement": event.statement,
                        "database": event.database,
                        "rows_affected": event.rows_affected,
                        "duration_ms": event.duration_ms,
                        "error": event.error,
                    }));
                append_audit(&*tx, &audit).await?;
                continue;
            }
            let existing: DatabaseEventRow = tx
                .query_one(
                    include_str!("../sql/database_event_by_event_id.sql"),
                    &[&session.id, &event.event_id],
                )
                .await?
                .try_into()?;
            let sent = DatabaseEvent {
                occurred_at: truncate_to_micros(event.occurred_at),
                ..event.clone()
            };
            if existing.event != sent {
                return Err(AppendError::Conflict(event.event_id.clone()));
            }
            outcome.duplicates += 1;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn database_events(
        &self,
        session_id: Uuid,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<DatabaseEventRow>, StorageError> {
        let (time, id) = start_after(after)?;
        let client = self.client().await?;
        let rows = client
            .query(
                include_str!("../sql/database_event_page.sql"),
                &[&session_id, &time, &id, &(limit as i64 + 1)],
            )
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<DatabaseEventRow>, _>>()?;
        Ok(ascending_page(items, limit, |row| (row.event.occurred_at, row.id)))
    }
}

fn start_after(after: Option<&Cursor>) -> Result<(Option<DateTime<Utc>>, i64), StorageError> {
    match after {
        Some(cursor) => {
            Ok((Some(cursor.time), cursor.int().map_err(|_| StorageError::InvalidCursor)?))
        }
        None => Ok((None, 0)),
    }
}

fn ascending_page<T>(
    mut items: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> (DateTime<Utc>, i64),
) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| {
            let (time, id) = key(last);
            Cursor { time, id: id.to_string() }
        })
    } else {
        None
    };
    Page { items, next }
}
