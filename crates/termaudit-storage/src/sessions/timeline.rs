//! A session's timeline: the explicit activity and database statements the
//! gateway reports, each appended once by its event id, and read back in
//! time order a page at a time.

use chrono::{DateTime, Utc};
use serde_json::json;
use termaudit_domain::AuditEventType;
use tokio_postgres::{GenericClient, Row, types::ToSql};
use uuid::Uuid;

use super::lifecycle::{SessionRow, share_session};
use crate::{
    Cursor, Page, StorageError, Store,
    audit::{NewAuditEvent, append_audit},
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
    #[error("no such session")]
    NotFound,
    /// An event id was used before for a different event.
    #[error("event id {0:?} was already used for a different event")]
    Conflict(String),
    /// The session is final (ended and finalized), or the event happened
    /// after it ended; the session as it is.
    #[error("the session has ended")]
    Ended(Box<SessionRow>),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<tokio_postgres::Error> for AppendError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Storage(err.into())
    }
}

/// An event the gateway sends with an id of its own, stored once: a retry
/// of an event stored already changes nothing, and the same id for a
/// different event is a conflict. Activity and database events are both
/// appended this way, by [`Store::append_once`].
trait StoredOnce: Clone + PartialEq {
    /// Inserts the event unless its id is taken in the session, returning a
    /// row only when it inserted (`ON CONFLICT DO NOTHING RETURNING`).
    const INSERT: &'static str;
    /// The stored event with a session's event id.
    const BY_EVENT_ID: &'static str;

    fn event_id(&self) -> &str;
    fn occurred_at(&self) -> DateTime<Utc>;
    /// The parameters of [`Self::INSERT`].
    fn insert_params<'a>(&'a self, session_id: &'a Uuid) -> Vec<&'a (dyn ToSql + Sync)>;
    /// The event as read back with [`Self::BY_EVENT_ID`].
    fn from_stored(row: Row) -> Result<Self, StorageError>;
    /// The event as it would be stored: times to the microsecond.
    fn as_stored(&self) -> Self;
}

impl StoredOnce for Activity {
    const INSERT: &'static str = include_str!("../sql/activity_insert.sql");
    const BY_EVENT_ID: &'static str = include_str!("../sql/activity_by_event_id.sql");

    fn event_id(&self) -> &str {
        &self.event_id
    }

    fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    fn insert_params<'a>(&'a self, session_id: &'a Uuid) -> Vec<&'a (dyn ToSql + Sync)> {
        vec![
            session_id,
            &self.event_id,
            &self.kind,
            &self.text,
            &self.occurred_at,
            &self.exit_code,
            &self.duration_ms,
        ]
    }

    fn from_stored(row: Row) -> Result<Self, StorageError> {
        ActivityRow::try_from(row).map(|row| row.activity)
    }

    fn as_stored(&self) -> Self {
        Self { occurred_at: truncate_to_micros(self.occurred_at), ..self.clone() }
    }
}

impl StoredOnce for DatabaseEvent {
    const INSERT: &'static str = include_str!("../sql/database_event_insert.sql");
    const BY_EVENT_ID: &'static str = include_str!("../sql/database_event_by_event_id.sql");

    fn event_id(&self) -> &str {
        &self.event_id
    }

    fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    fn insert_params<'a>(&'a self, session_id: &'a Uuid) -> Vec<&'a (dyn ToSql + Sync)> {
        vec![
            session_id,
            &self.event_id,
            &self.statement,
            &self.database,
            &self.occurred_at,
            &self.rows_affected,
            &self.duration_ms,
            &self.error,
        ]
    }

    fn from_stored(row: Row) -> Result<Self, StorageError> {
        DatabaseEventRow::try_from(row).map(|row| row.event)
    }

    fn as_stored(&self) -> Self {
        Self { occurred_at: truncate_to_micros(self.occurred_at), ..self.clone() }
    }
}

/// Whether `event` is stored already, the same (a retry): `false` when its
/// id is free, [`AppendError::Conflict`] when it holds a different event.
async fn is_stored<E: StoredOnce>(
    client: &impl GenericClient,
    session_id: Uuid,
    event: &E,
) -> Result<bool, AppendError> {
    let Some(row) = client.query_opt(E::BY_EVENT_ID, &[&session_id, &event.event_id()]).await?
    else {
        return Ok(false);
    };
    // Times are stored to the microsecond: a retry sent with finer times is
    // the same event.
    if E::from_stored(row)? != event.as_stored() {
        return Err(AppendError::Conflict(event.event_id().to_owned()));
    }
    Ok(true)
}

impl Store {
    /// Appends `events` to session `session_id` in one transaction, each
    /// once by its event id (see [`StoredOnce`]); `audit` gives the audit
    /// entry, if any, that an event stored now commits with.
    ///
    /// The session is share-locked first, so the append cannot race its
    /// end or its finalization. A finalized session takes nothing, and an
    /// ended one nothing timed after its end: the whole batch is refused
    /// ([`AppendError::Ended`]), except that a retry of an event stored
    /// already stays a duplicate.
    async fn append_once<E: StoredOnce>(
        &self,
        session_id: Uuid,
        events: &[E],
        audit: impl Fn(&E) -> Option<NewAuditEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let session = share_session(&*tx, session_id).await?.ok_or(AppendError::NotFound)?;
        let mut outcome = AppendOutcome::default();
        for event in events {
            if session.refuses(event.as_stored().occurred_at()) {
                if !is_stored(&*tx, session_id, event).await? {
                    return Err(AppendError::Ended(Box::new(session.row)));
                }
                outcome.duplicates += 1;
                continue;
            }
            let inserted = tx.query_opt(E::INSERT, &event.insert_params(&session_id)).await?;
            if inserted.is_some() {
                outcome.stored += 1;
                if let Some(entry) = audit(event) {
                    append_audit(&*tx, &entry).await?;
                }
                continue;
            }
            if !is_stored(&*tx, session_id, event).await? {
                // Inserted by none, stored as none: a concurrent delete,
                // which nothing does. Report it rather than lose the event.
                return Err(StorageError::Corrupt("an event vanished".into()).into());
            }
            outcome.duplicates += 1;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Appends activity idempotently: an event id seen before with the same
    /// content is a retry and changes nothing.
    pub async fn append_activity(
        &self,
        session_id: Uuid,
        items: &[Activity],
    ) -> Result<AppendOutcome, AppendError> {
        self.append_once(session_id, items, |_| None).await
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
        self.append_once(session.id, events, |event| {
            Some(
                NewAuditEvent::new(project_id, AuditEventType::DatabaseStatement)
                    .actor(&session.user_subject, &session.user_name)
                    .session(session.id)
                    .at(event.occurred_at)
                    .details(json!({
                        "statement": event.statement,
                        "database": event.database,
                        "rows_affected": event.rows_affected,
                        "duration_ms": event.duration_ms,
                        "error": event.error,
                    })),
            )
        })
        .await
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
