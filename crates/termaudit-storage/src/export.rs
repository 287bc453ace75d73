//! The history export: sessions and their audit events as one time-ordered
//! stream, read from one snapshot through a cursor, a batch at a time.
//!
//! A task opens a connection of its own, outside the pool, with a
//! `REPEATABLE READ, READ ONLY` transaction and a portal (a server-side
//! cursor) over `sql/export.sql`. It fetches [`BATCH`] rows at a time, with
//! the next fetch always asked for ahead, encodes them in the export's
//! format (`ExportEncoder`) and hands the bytes over a channel that holds at
//! most [`BUFFERED_BATCHES`] chunks, so memory stays flat however many rows
//! there are, and the database is asked for more only as fast as the reader
//! takes them. Opened by the task, the connection's own task runs on the
//! same thread as the export's and the response's (an actix-web worker's),
//! so rows cross no thread between the socket and the client; with a pooled
//! connection, opened by whichever thread first needed it, the export took
//! 16 to 20% longer. A process runs at most [`EXPORTS_AT_ONCE`] exports.
//! When the reader goes away (the [`ExportStream`] is dropped), the task
//! cancels the running fetch, ends the transaction and closes the connection.
//!
//! The export is audited by the same task (`export_runs.rs`): its start
//! entry and lock are taken on its connection before the snapshot, and its
//! end entry is written, with the rows the reader handed on
//! ([`ExportStream::delivered`]), while that connection still holds the
//! lock: when the reader finishes ([`ExportStream::finish`]), goes away
//! (`client_disconnected`) or the database fails (`failed`).

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use termaudit_domain::{
    ExportEncoder, ExportFilter, ExportOutcome, ExportRecord, RecordType,
    compact_json::compact_json,
};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{
    IsolationLevel, NoTls, Row, RowStream,
    types::{FromSql, Type},
};
use uuid::Uuid;

use crate::{
    StorageError, Store,
    export_runs::{ExportAudit, start_export},
    row::{parse_enum_at, parse_opt_enum_at},
    sessions::history_conditions,
    sql::Conditions,
};

/// Rows fetched from the cursor at a time.
const BATCH: i32 = 1000;
/// Batches read ahead of the reader.
const BUFFERED_BATCHES: usize = 2;
/// Exports a process runs at once, each on a connection of its own
/// (outside the pool); another one waits for one of them to end, up to
/// [`EXPORT_SLOT_PATIENCE`], and is then refused as unavailable.
pub(crate) const EXPORTS_AT_ONCE: usize = 8;
/// How long an export waits for one of the [`EXPORTS_AT_ONCE`] to end.
const EXPORT_SLOT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// A piece of an export in its format: the bytes of whole records.
#[derive(Debug)]
pub struct ExportChunk {
    pub bytes: Bytes,
    /// How many records `bytes` holds.
    pub records: u64,
}

enum Message {
    Chunk(ExportChunk),
    Failed(StorageError),
    Done,
}

/// How the reader ends an export: the outcome, and where to say that its
/// end entry is written.
type Finish = (ExportOutcome, oneshot::Sender<Result<(), StorageError>>);

/// The records of an export, in order, encoded in chunks. Dropping it
/// stops the query, and the export is audited as `client_disconnected` (or
/// `failed`, when the database failed it).
pub struct ExportStream {
    total: Option<u64>,
    started_id: i64,
    receiver: mpsc::Receiver<Message>,
    done: bool,
    delivered: Arc<AtomicU64>,
    finish: Option<oneshot::Sender<Finish>>,
}

impl ExportStream {
    /// How many records the export holds, when it was asked to count them
    /// first (in the same snapshot, so the count is exact).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The export's `history.export_started` entry.
    pub fn started_id(&self) -> i64 {
        self.started_id
    }

    /// How many records the reader has handed on to its client so far (the
    /// connection, the file): the end entry's `rows`.
    pub fn delivered(&self, rows: u64) {
        self.delivered.store(rows, Ordering::Relaxed);
    }

    /// Ends the export with `outcome` (unless the database failed it:
    /// then `failed`) and waits until its end entry is written.
    pub async fn finish(mut self, outcome: ExportOutcome) -> Result<(), StorageError> {
        let (written, written_rx) = oneshot::channel();
        let sent = self.finish.take().map(|finish| finish.send((outcome, written)).is_ok());
        drop(self);
        if sent != Some(true) {
            return Err(StorageError::Unavailable("the export ended unexpectedly".into()));
        }
        written_rx.await.unwrap_or_else(|_| {
            Err(StorageError::Unavailable("the export ended unexpectedly".into()))
        })
    }
}

impl Stream for ExportStream {
    type Item = Result<ExportChunk, StorageError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match ready!(self.receiver.poll_recv(cx)) {
            Some(Message::Chunk(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Some(Message::Done) => {
                self.done = true;
                Poll::Ready(None)
            }
            Some(Message::Failed(err)) => {
                self.done = true;
                Poll::Ready(Some(Err(err)))
            }
            // The reading task ended without saying so (it panicked): the
            // export is incomplete, which must not look like its end.
            None => {
                self.done = true;
                Poll::Ready(Some(Err(StorageError::Unavailable(
                    "the export ended unexpectedly".into(),
                ))))
            }
        }
    }
}

/// How an export reads, beyond its filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Count the records first, in the same snapshot (for a progress bar).
    pub count: bool,
    /// Attach to every event its inclusion proof into the tree of this many
    /// leaves, and leave out the events that tree does not hold (entries
    /// committed after its head was signed).
    pub proofs_into: Option<u64>,
}

/// The statement and its parameters for a filter.
fn export_query(
    project_id: Uuid,
    filter: &ExportFilter,
    in_tree: Option<u64>,
) -> (String, Conditions) {
    let mut c = Conditions::new();
    let project = c.param(Box::new(project_id));
    debug_assert_eq!(project, "$1");
    let sessions = history_conditions(&filter.sessions, &mut c);
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
    if let Some(size) = in_tree {
        let p = c.param(Box::new(i64::try_from(size).unwrap_or(i64::MAX)));
        event_rows.push(format!(
            "EXISTS (SELECT 1 FROM audit_log_leaves l WHERE l.audit_event_id = e.id \
             AND l.leaf_index < {p})"
        ));
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

/// A row of `sql/export.sql` as a record, read by position (its select
/// list's order): looking 19 names up on every row shows in the export's
/// profile.
fn record<'r>(row: &'r Row, project: &'r str) -> Result<ExportRecord<'r>, StorageError> {
    let rank: i32 = row.try_get(0)?;
    let record_type = match rank {
        0 => RecordType::Session,
        1 => RecordType::TerminalEvent,
        _ => RecordType::DatabaseEvent,
    };
    Ok(ExportRecord {
        record_type,
        time: row.try_get(1)?,
        project,
        event_id: row.try_get(2)?,
        event_type: row.try_get(3)?,
        actor: row.try_get(4)?,
        details: row.try_get::<_, CompactJson>(5)?.0,
        session_id: row.try_get(6)?,
        target: row.try_get(7)?,
        target_kind: parse_enum_at(row, 8)?,
        environment: row.try_get(9)?,
        environment_class: parse_enum_at(row, 10)?,
        mode: parse_enum_at(row, 11)?,
        reason: row.try_get(12)?,
        user: row.try_get(13)?,
        user_name: row.try_get(14)?,
        recorded: row.try_get(15)?,
        status: parse_enum_at(row, 16)?,
        ended_at: row.try_get(17)?,
        close_reason: parse_opt_enum_at(row, 18)?,
        proof: None,
    })
}

/// A `jsonb` (or `json`) column as JSON text in `serde_json::Value`'s
/// compact form, the export's `details`: rewritten from PostgreSQL's text
/// without building the `Value` ([`compact_json`]), or by serde_json where
/// that gives up.
struct CompactJson(String);

impl<'a> FromSql<'a> for CompactJson {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let raw = match (ty, raw.split_first()) {
            // jsonb's binary form: a version byte, then the text.
            (&Type::JSONB, Some((1, text))) => text,
            (&Type::JSONB, _) => return Err("an unknown jsonb version".into()),
            _ => raw,
        };
        let text = std::str::from_utf8(raw)?;
        let mut out = String::with_capacity(text.len());
        if compact_json(text, &mut out).is_err() {
            out = serde_json::from_str::<serde_json::Value>(text)?.to_string();
        }
        Ok(Self(out))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::JSONB)
    }
}

impl Store {
    /// Starts an export of project `project_id` (whose slug `project` every
    /// record carries), its records written by `encoder` (its `start` and
    /// `finish` are the reader's). Returns once the snapshot is taken and the
    /// query runs, so a database that cannot be reached fails here, not
    /// midway. `options` may count the records first and attach proofs.
    ///
    /// `audit.start` is appended first (`history.export_started`), on the
    /// export's own connection, which holds the export's lock until its end
    /// entry (`history.exported`) is written.
    pub async fn export(
        &self,
        project_id: Uuid,
        project: &str,
        filter: &ExportFilter,
        options: ExportOptions,
        audit: ExportAudit,
        encoder: ExportEncoder,
    ) -> Result<ExportStream, StorageError> {
        let slot = tokio::time::timeout(
            EXPORT_SLOT_PATIENCE,
            self.export_slots.clone().acquire_owned(),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            StorageError::Unavailable(format!(
                "{EXPORTS_AT_ONCE} exports are running in this process; try again when one has ended"
            ))
        })?;
        let (sql, conditions) = export_query(project_id, filter, options.proofs_into);
        let (sender, receiver) = mpsc::channel(BUFFERED_BATCHES);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (finish, finish_rx) = oneshot::channel();
        let delivered = Arc::new(AtomicU64::new(0));
        let job = ExportJob {
            store: self.clone(),
            sql,
            conditions,
            project_id,
            project: project.to_owned(),
            options,
            audit,
            delivered: delivered.clone(),
            encoder,
            chunk_size: 0,
            _slot: slot,
        };
        tokio::spawn(job.run(sender, ready_tx, finish_rx));
        match ready_rx.await {
            Ok(Ok((total, started_id))) => Ok(ExportStream {
                total,
                started_id,
                receiver,
                done: false,
                delivered,
                finish: Some(finish),
            }),
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
        let (sql, _) = export_query(project_id, &ExportFilter::default(), None);
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

/// What an export's task needs.
struct ExportJob {
    store: Store,
    sql: String,
    conditions: Conditions,
    project_id: Uuid,
    project: String,
    options: ExportOptions,
    audit: ExportAudit,
    delivered: Arc<AtomicU64>,
    encoder: ExportEncoder,
    /// The last chunk's size: the next one's buffer is made a little larger.
    chunk_size: usize,
    /// The export's place among the [`EXPORTS_AT_ONCE`], while its task runs.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// How the reading ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Every row was handed over.
    Done,
    /// The database failed it.
    Failed,
    /// The reader went away.
    Abandoned,
}

/// A fetch's rows, and whether the portal ended with them (PostgreSQL said
/// `CommandComplete` rather than `PortalSuspended`).
async fn fetch(stream: RowStream) -> Result<(Vec<Row>, bool), tokio_postgres::Error> {
    futures_util::pin_mut!(stream);
    let mut rows = Vec::with_capacity(BATCH as usize);
    while let Some(row) = stream.try_next().await? {
        rows.push(row);
    }
    Ok((rows, stream.rows_affected().is_some()))
}

impl ExportJob {
    /// Rows as records, with their proofs leading into a tree of `size`.
    async fn with_proofs<'r>(
        &self,
        rows: &'r [Row],
        project: &'r str,
        size: u64,
    ) -> Result<Vec<ExportRecord<'r>>, StorageError> {
        let mut batch: Vec<ExportRecord> =
            rows.iter().map(|row| record(row, project)).collect::<Result<_, _>>()?;
        let ids: Vec<i64> = batch.iter().filter_map(|r| r.event_id).collect();
        if ids.is_empty() {
            return Ok(batch);
        }
        let mut proofs = self.store.inclusion_proofs(self.project_id, &ids, size).await?;
        for record in &mut batch {
            if let Some(id) = record.event_id {
                // The query holds only entries of the tree: each has its proof.
                let proof = proofs.remove(&id).ok_or_else(|| {
                    StorageError::Corrupt(format!("audit entry {id} has no leaf in the log"))
                })?;
                record.proof = Some(proof);
            }
        }
        Ok(batch)
    }

    /// Rows as records, encoded into one chunk. Without proofs, each
    /// record is encoded as soon as it is read: a batch of them, grown a
    /// record at a time, cost fresh pages on every fetch.
    async fn encode(&mut self, rows: &[Row]) -> Result<ExportChunk, StorageError> {
        let mut out = Vec::with_capacity(self.chunk_size + self.chunk_size / 8);
        if let Some(size) = self.options.proofs_into {
            for record in &self.with_proofs(rows, &self.project, size).await? {
                self.encoder.record(record, &mut out);
            }
        } else {
            for row in rows {
                self.encoder.record(&record(row, &self.project)?, &mut out);
            }
        }
        self.chunk_size = out.len();
        Ok(ExportChunk { bytes: out.into(), records: rows.len() as u64 })
    }

    async fn run(
        mut self,
        sender: mpsc::Sender<Message>,
        ready: oneshot::Sender<Result<(Option<u64>, i64), StorageError>>,
        finish: oneshot::Receiver<Finish>,
    ) {
        let mut client = match self.store.dedicated_client().await {
            Ok(client) => client,
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        let started_id = match start_export(&client, &self.audit.start).await {
            Ok(id) => id,
            Err(err) => {
                let _ = ready.send(Err(err));
                // Whether or not the lock was taken, it goes with the connection.
                return;
            }
        };
        self.store.running_exports.insert(started_id);
        let read = self.read(&mut client, sender, ready, started_id).await;
        // The end, while this connection still holds the lock: the reader's
        // word when it finishes, `client_disconnected` when it went away.
        let (outcome, written) = match (read, finish.await) {
            (Read::Failed, Ok((_, written))) => (ExportOutcome::Failed, Some(written)),
            (Read::Failed, Err(_)) => (ExportOutcome::Failed, None),
            (_, Ok((outcome, written))) => (outcome, Some(written)),
            (_, Err(_)) => (ExportOutcome::ClientDisconnected, None),
        };
        let rows = self.delivered.load(Ordering::Relaxed);
        let audited = self
            .store
            .end_export(started_id, &self.audit.start.details, rows, outcome, self.audit.patience)
            .await;
        if let Err(err) = &audited {
            tracing::error!(error = %err, ?outcome, "the export's end could not be audited");
        }
        // Closing the connection lets go of the lock, and of a late cancel.
        drop(client);
        self.store.running_exports.remove(started_id);
        if let Some(written) = written {
            let _ = written.send(audited);
        }
    }

    /// Opens the snapshot and the query, says so through `ready`, and hands
    /// the records over until they end, fail or the reader goes away.
    async fn read(
        &mut self,
        client: &mut tokio_postgres::Client,
        sender: mpsc::Sender<Message>,
        ready: oneshot::Sender<Result<(Option<u64>, i64), StorageError>>,
        started_id: i64,
    ) -> Read {
        let cancel = client.cancel_token();
        let read = {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await;
            let tx = match tx {
                Ok(tx) => tx,
                Err(err) => {
                    let _ = ready.send(Err(err.into()));
                    return Read::Failed;
                }
            };
            let read = self.read_rows(&tx, &sender, ready, started_id).await;
            // Read-only: ending it either way changes nothing.
            drop(tx);
            read
        };
        if read == Read::Abandoned {
            // The reader went away, perhaps mid-fetch: stop whatever still runs.
            tracing::info!("export abandoned by its reader; cancelling the query");
            let _ = cancel.cancel_query(NoTls).await;
        }
        read
    }

    /// The count of the records, when asked for, in the snapshot of `tx`.
    async fn count(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> Result<Option<u64>, StorageError> {
        if !self.options.count {
            return Ok(None);
        }
        let (inner, _) = self.sql.rsplit_once("ORDER BY").unwrap_or((&self.sql, ""));
        let row = tx
            .query_one(
                &format!("SELECT count(*) FROM ({inner}) counted"),
                &self.conditions.params(),
            )
            .await?;
        Ok(Some(u64::try_from(row.get::<_, i64>(0)).unwrap_or_default()))
    }

    /// Reads the rows through a portal, a batch at a time, and encodes them.
    async fn read_rows(
        &mut self,
        tx: &tokio_postgres::Transaction<'_>,
        sender: &mpsc::Sender<Message>,
        ready: oneshot::Sender<Result<(Option<u64>, i64), StorageError>>,
        started_id: i64,
    ) -> Read {
        let opened = async {
            let total = self.count(tx).await?;
            let statement = tx.prepare(&self.sql).await?;
            let portal = tx.bind(&statement, &self.conditions.params()).await?;
            Ok::<_, StorageError>((portal, total))
        };
        let (portal, total) = match opened.await {
            Ok(opened) => opened,
            Err(err) => {
                let _ = ready.send(Err(err));
                return Read::Failed;
            }
        };
        if ready.send(Ok((total, started_id))).is_err() {
            return Read::Abandoned;
        }
        // One fetch is always asked for ahead of the one being read, so
        // PostgreSQL goes on with the query while a batch crosses the wire
        // and is encoded, instead of waiting for each request.
        let mut current = tx.query_portal_raw(&portal, BATCH).await;
        loop {
            let ahead = tx.query_portal_raw(&portal, BATCH).await;
            let fetched = async { fetch(current?).await };
            let fetched = tokio::select! {
                fetched = fetched => fetched,
                () = sender.closed() => return Read::Abandoned,
            };
            let (rows, last) = match fetched {
                Ok(fetched) => fetched,
                Err(err) => {
                    let _ = sender.send(Message::Failed(err.into())).await;
                    return Read::Failed;
                }
            };
            // After the last batch, the fetch ahead finds the portal at its
            // end and returns no row; it is left to the connection.
            current = ahead;
            let message = match self.encode(&rows).await {
                Ok(chunk) => Message::Chunk(chunk),
                Err(err) => {
                    let _ = sender.send(Message::Failed(err)).await;
                    return Read::Failed;
                }
            };
            if sender.send(message).await.is_err() {
                return Read::Abandoned;
            }
            if last {
                let _ = sender.send(Message::Done).await;
                return Read::Done;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termaudit_domain::{ExportInclude, HistoryFilter, SessionStatus};

    #[test]
    fn filters_become_conditions_on_both_halves() {
        let filter = ExportFilter {
            include: ExportInclude::parse("sessions,database_events").unwrap(),
            from: Some(chrono::Utc::now()),
            sessions: HistoryFilter { status: Some(SessionStatus::Closed), ..Default::default() },
            ..Default::default()
        };
        let (sql, c) = export_query(Uuid::nil(), &filter, None);
        assert_eq!(c.params().len(), 2);
        assert!(sql.contains("s.project_id = $1 AND s.status = 'closed' AND s.opened_at >= $2"));
        assert!(sql.contains(
            "s.status = 'closed' AND e.occurred_at >= $2 AND e.event_type = 'database.statement'"
        ));
        assert!(!sql.contains('{'), "every marker is filled: {sql}");
        let none = ExportFilter {
            include: ExportInclude::parse("terminal_events").unwrap(),
            ..Default::default()
        };
        let (sql, c) = export_query(Uuid::nil(), &none, None);
        assert_eq!(c.params().len(), 1);
        assert!(sql.contains("AND TRUE AND FALSE"));
        assert!(sql.contains("e.event_type <> 'database.statement'"));
    }
}
