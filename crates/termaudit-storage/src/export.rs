//! The history export: sessions and their audit events as one time-ordered
//! stream, read from one snapshot through a cursor, a batch at a time.
//!
//! A task owns a connection with a `REPEATABLE READ, READ ONLY` transaction
//! and a portal (a server-side cursor) over `sql/export.sql`; it fetches
//! [`BATCH`] rows at a time and hands them over a channel that holds at most
//! [`BUFFERED_BATCHES`], so memory stays flat however many rows there are,
//! and the database is asked for more only as fast as the reader takes them.
//! When the reader goes away (the [`ExportStream`] is dropped), the task
//! cancels the running fetch, ends the transaction and closes the connection.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use futures_util::Stream;
use termaudit_domain::{ExportFilter, ExportRecord, RecordType};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{IsolationLevel, NoTls, Row};
use uuid::Uuid;

use crate::{
    StorageError, Store,
    row::{parse_enum, parse_opt_enum},
    sql::Conditions,
};

/// Rows fetched from the cursor at a time.
const BATCH: i32 = 1000;
/// Batches read ahead of the reader.
const BUFFERED_BATCHES: usize = 2;

enum Message {
    Batch(Vec<ExportRecord>),
    Failed(StorageError),
    Done,
}

/// The records of an export, in order. Dropping it stops the query.
pub struct ExportStream {
    total: Option<u64>,
    receiver: mpsc::Receiver<Message>,
    batch: std::vec::IntoIter<ExportRecord>,
    done: bool,
}

impl ExportStream {
    /// How many records the export holds, when it was asked to count them
    /// first (in the same snapshot, so the count is exact).
    pub fn total(&self) -> Option<u64> {
        self.total
    }
}

impl Stream for ExportStream {
    type Item = Result<ExportRecord, StorageError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(record) = self.batch.next() {
                return Poll::Ready(Some(Ok(record)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match ready!(self.receiver.poll_recv(cx)) {
                Some(Message::Batch(batch)) => self.batch = batch.into_iter(),
                Some(Message::Done) => self.done = true,
                Some(Message::Failed(err)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
                // The reading task ended without saying so (it panicked):
                // the export is incomplete, which must not look like its end.
                None => {
                    self.done = true;
                    return Poll::Ready(Some(Err(StorageError::Unavailable(
                        "the export ended unexpectedly".into(),
                    ))));
                }
            }
        }
    }
}

/// The statement and its parameters for a filter.
fn export_query(project_id: Uuid, filter: &ExportFilter) -> (String, Conditions) {
    let mut c = Conditions::new();
    let project = c.param(Box::new(project_id));
    debug_assert_eq!(project, "$1");
    let mut sessions: Vec<String> = Vec::new();
    if let Some(status) = filter.status {
        sessions.push(format!("s.status = {}", c.param(Box::new(status.as_str()))));
    }
    if let Some(class) = filter.environment_class {
        sessions.push(format!("s.environment_class = {}", c.param(Box::new(class.as_str()))));
    }
    if let Some(environment) = &filter.environment {
        sessions.push(format!("s.environment = {}", c.param(Box::new(environment.clone()))));
    }
    if let Some(target) = filter.target_id {
        sessions.push(format!("s.target_id = {}", c.param(Box::new(target))));
    }
    if let Some(user) = &filter.user_subject {
        sessions.push(format!("s.user_subject = {}", c.param(Box::new(user.clone()))));
    }
    if let Some(mode) = filter.mode {
        sessions.push(format!("s.mode = {}", c.param(Box::new(mode.as_str()))));
    }
    let mut session_rows = Vec::new();
    let mut event_rows = Vec::new();
    if let Some(from) = filter.from {
        let p = c.param(Box::new(from));
        session_rows.push(format!("s.opened_at >= {p}"));
        event_rows.push(format!("e.occurred_at >= {p}"));
    }
    if let Some(to) = filter.to {
        let p = c.param(Box::new(to));
        session_rows.push(format!("s.opened_at < {p}"));
        event_rows.push(format!("e.occurred_at < {p}"));
    }
    if !filter.include.includes(RecordType::Session) {
        session_rows.push("FALSE".into());
    }
    match (
        filter.include.includes(RecordType::TerminalEvent),
        filter.include.includes(RecordType::DatabaseEvent),
    ) {
        (true, true) => {}
        (true, false) => event_rows.push("e.event_type <> 'database.statement'".into()),
        (false, true) => event_rows.push("e.event_type = 'database.statement'".into()),
        (false, false) => event_rows.push("FALSE".into()),
    }
    let all = |clauses: Vec<String>| {
        if clauses.is_empty() { "TRUE".to_owned() } else { clauses.join(" AND ") }
    };
    let sql = include_str!("sql/export.sql")
        .replace("{sessions}", &all(sessions))
        .replace("{session_rows}", &all(session_rows))
        .replace("{event_rows}", &all(event_rows));
    (sql, c)
}

fn record(row: &Row, project: &str) -> Result<ExportRecord, StorageError> {
    let rank: i32 = row.try_get("rank")?;
    let record_type = match rank {
        0 => RecordType::Session,
        1 => RecordType::TerminalEvent,
        _ => RecordType::DatabaseEvent,
    };
    Ok(ExportRecord {
        record_type,
        time: row.try_get("at")?,
        project: project.to_owned(),
        session_id: row.try_get("session_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        actor: row.try_get("actor_subject")?,
        user: row.try_get("user_subject")?,
        user_name: row.try_get("user_name")?,
        target: row.try_get("target_name")?,
        target_kind: parse_enum(row, "target_kind")?,
        environment: row.try_get("environment")?,
        environment_class: parse_enum(row, "environment_class")?,
        mode: parse_enum(row, "mode")?,
        reason: row.try_get("reason")?,
        status: parse_enum(row, "status")?,
        recorded: row.try_get("recorded")?,
        ended_at: row.try_get("ended_at")?,
        close_reason: parse_opt_enum(row, "close_reason")?,
        details: row.try_get("details")?,
    })
}

impl Store {
    /// Starts an export of project `project_id` (whose slug `project` every
    /// record carries). Returns once the snapshot is taken and the cursor is
    /// open, so a database that cannot be reached fails here, not midway.
    /// With `count`, the records are counted first in the same snapshot.
    pub async fn export(
        &self,
        project_id: Uuid,
        project: &str,
        filter: &ExportFilter,
        count: bool,
    ) -> Result<ExportStream, StorageError> {
        let (sql, conditions) = export_query(project_id, filter);
        let (sender, receiver) = mpsc::channel(BUFFERED_BATCHES);
        let (ready_tx, ready_rx) = oneshot::channel();
        let store = self.clone();
        let project = project.to_owned();
        tokio::spawn(async move {
            run_export(store, sql, conditions, project, count, sender, ready_tx).await;
        });
        match ready_rx.await {
            Ok(Ok(total)) => {
                Ok(ExportStream { total, receiver, batch: Vec::new().into_iter(), done: false })
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(StorageError::Unavailable("the export could not start".into())),
        }
    }
}

impl Store {
    /// The benchmark's baseline: PostgreSQL's own `COPY (...) TO STDOUT
    /// (FORMAT csv)` of the same rows, unfiltered, handing each chunk to
    /// `sink`. Returns the bytes copied.
    pub async fn export_copy_csv(
        &self,
        project_id: Uuid,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<u64, StorageError> {
        use futures_util::TryStreamExt;
        let (sql, _) = export_query(project_id, &ExportFilter::default());
        // COPY takes no parameters; the project id is the only one here.
        let sql = sql.replace("$1", &format!("'{project_id}'::uuid"));
        let client = self.client().await?;
        let stream = client.copy_out(&format!("COPY ({sql}) TO STDOUT (FORMAT csv)")).await?;
        futures_util::pin_mut!(stream);
        let mut bytes = 0;
        while let Some(chunk) = stream.try_next().await? {
            bytes += chunk.len() as u64;
            sink(&chunk);
        }
        Ok(bytes)
    }
}

async fn run_export(
    store: Store,
    sql: String,
    conditions: Conditions,
    project: String,
    count: bool,
    sender: mpsc::Sender<Message>,
    ready: oneshot::Sender<Result<Option<u64>, StorageError>>,
) {
    let mut client = match store.client().await {
        Ok(client) => client,
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    let cancel = client.cancel_token();
    let cancelled = {
        let opened = async {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let params = conditions.params();
            let total = if count {
                let (inner, _) = sql.rsplit_once("ORDER BY").unwrap_or((&sql, ""));
                let row = tx
                    .query_one(&format!("SELECT count(*) FROM ({inner}) counted"), &params)
                    .await?;
                Some(u64::try_from(row.get::<_, i64>(0)).unwrap_or_default())
            } else {
                None
            };
            let statement = tx.prepare(&sql).await?;
            let portal = tx.bind(&statement, &params).await?;
            Ok::<_, StorageError>((tx, portal, total))
        };
        let (tx, portal, total) = match opened.await {
            Ok(opened) => opened,
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        if ready.send(Ok(total)).is_err() {
            return;
        }
        let cancelled = loop {
            let rows = tokio::select! {
                rows = tx.query_portal(&portal, BATCH) => rows,
                () = sender.closed() => break true,
            };
            let rows = match rows {
                Ok(rows) => rows,
                Err(err) => {
                    let _ = sender.send(Message::Failed(err.into())).await;
                    break false;
                }
            };
            let last = rows.len() < BATCH as usize;
            let batch: Result<Vec<ExportRecord>, StorageError> =
                rows.iter().map(|row| record(row, &project)).collect();
            let message = match batch {
                Ok(batch) => Message::Batch(batch),
                Err(err) => {
                    let _ = sender.send(Message::Failed(err)).await;
                    break false;
                }
            };
            if sender.send(message).await.is_err() {
                break true;
            }
            if last {
                let _ = sender.send(Message::Done).await;
                break false;
            }
        };
        // Read-only: ending it either way changes nothing.
        drop(tx);
        cancelled
    };
    if cancelled {
        // The reader went away, perhaps mid-fetch: stop whatever still runs
        // and do not hand the connection back, so a late cancel can never
        // reach another request's query.
        tracing::info!("export abandoned by its reader; cancelling the query");
        let _ = cancel.cancel_query(NoTls).await;
        drop(deadpool_postgres::Object::take(client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termaudit_domain::{ExportInclude, SessionStatus};

    #[test]
    fn filters_become_conditions_on_both_halves() {
        let filter = ExportFilter {
            include: ExportInclude::parse("sessions,database_events").unwrap(),
            from: Some(chrono::Utc::now()),
            status: Some(SessionStatus::Closed),
            ..Default::default()
        };
        let (sql, c) = export_query(Uuid::nil(), &filter);
        assert_eq!(c.params().len(), 3);
        assert!(sql.contains("s.project_id = $1 AND s.status = $2 AND s.opened_at >= $3"));
        assert!(sql.contains(
            "s.status = $2 AND e.occurred_at >= $3 AND e.event_type = 'database.statement'"
        ));
        assert!(!sql.contains('{'), "every marker is filled: {sql}");
        let none = ExportFilter {
            include: ExportInclude::parse("terminal_events").unwrap(),
            ..Default::default()
        };
        let (sql, c) = export_query(Uuid::nil(), &none);
        assert_eq!(c.params().len(), 1);
        assert!(sql.contains("AND TRUE AND FALSE"));
        assert!(sql.contains("e.event_type <> 'database.statement'"));
    }
}
