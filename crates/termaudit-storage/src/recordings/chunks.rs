//! Reading a recording's chunks back in order, a batch at a time, and the
//! session's activity that is merged into them as markers.

use std::collections::VecDeque;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use termaudit_domain::asciicast::Micros;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use super::{
    codec::decompress_text,
    objects::{BodyRef, ObjectTarget, load},
    types::Marker,
};
use crate::{
    StorageError, Store,
    time::{micros_from_db, micros_to_db},
};

/// Decompressed bytes fetched per query when reading chunks (a single
/// larger chunk is fetched alone).
pub const BATCH_BYTES: i64 = 4 << 20;

fn activity_label(kind: &str, text: &str) -> String {
    match kind {
        "command" => format!("$ {text}"),
        "runbook" => format!("runbook: {text}"),
        "runbook_step" => format!("step: {text}"),
        other => format!("{other}: {text}"),
    }
}

/// The session's commands and runbook steps from `from` on, as markers in
/// recording time.
pub(super) async fn activity_markers(
    client: &impl GenericClient,
    session_id: Uuid,
    started_at: DateTime<Utc>,
    from: Micros,
) -> Result<VecDeque<Marker>, StorageError> {
    let rows = client
        .query(
            include_str!("../sql/recording_activity_markers.sql"),
            &[&session_id, &started_at, &micros_to_db(from)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Marker {
            time: micros_from_db(row.get(0)),
            label: activity_label(row.get(1), row.get(2)),
        })
        .collect())
}

/// A chunk read back.
#[derive(Debug)]
pub(super) struct StoredChunk {
    pub(super) seq: i32,
    pub(super) first_time: Micros,
    pub(super) last_time: Micros,
    /// Canonical v2 lines, each ending with a newline.
    pub(super) lines: String,
}

/// Chunks from `from_seq` (before `end_seq`), a batch of at most
/// [`BATCH_BYTES`] once decompressed, their bodies read from PostgreSQL or,
/// once compacted, from `objects`. (Holds `client` while the object store
/// answers: for a transaction that must; others use [`query_chunks`] and
/// [`load_chunks`] with the connection back in the pool in between.)
pub(super) async fn fetch_chunks(
    client: &impl GenericClient,
    objects: Option<&ObjectTarget>,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
) -> Result<Vec<StoredChunk>, StorageError> {
    load_chunks(objects, query_chunks(client, session_id, from_seq, end_seq).await?).await
}

pub(super) async fn query_chunks(
    client: &impl GenericClient,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
) -> Result<Vec<Row>, StorageError> {
    Ok(client
        .query(
            include_str!("../sql/recording_chunks_batch.sql"),
            &[&session_id, &from_seq, &BATCH_BYTES, &end_seq],
        )
        .await?)
}

pub(super) async fn load_chunks(
    objects: Option<&ObjectTarget>,
    rows: Vec<Row>,
) -> Result<Vec<StoredChunk>, StorageError> {
    let bodies = load(objects, chunk_refs(&rows)?).await?;
    decode_chunks(&rows, bodies)
}

/// Where the bodies of [`query_chunks`]' rows are.
pub(super) fn chunk_refs(rows: &[Row]) -> Result<Vec<BodyRef>, StorageError> {
    rows.iter().map(|row| BodyRef::from_row(row, "data")).collect()
}

/// [`query_chunks`]' rows with their (compressed) bodies, in order.
pub(super) fn decode_chunks(
    rows: &[Row],
    bodies: Vec<Bytes>,
) -> Result<Vec<StoredChunk>, StorageError> {
    rows.iter()
        .zip(bodies)
        .map(|(row, body)| {
            let size = usize::try_from(row.get::<_, i32>("data_bytes")).unwrap_or(0);
            Ok(StoredChunk {
                seq: row.get("seq"),
                first_time: micros_from_db(row.get("first_time_us")),
                last_time: micros_from_db(row.get("last_time_us")),
                lines: decompress_text(&body, size)?,
            })
        })
        .collect()
}

/// Reads a recording's chunks in order, a batch at a time. With an object
/// store, the next batch is fetched while the current one is used: one
/// batch ahead at most, so memory stays at two batches. The first batch is
/// fetched alone (a seek rarely reads past it: one read, not two), the
/// reading ahead starts with the second.
pub(super) struct ChunkCursor {
    store: Store,
    session_id: Uuid,
    next_seq: i32,
    end_seq: i32,
    buffer: VecDeque<StoredChunk>,
    ahead: Option<tokio::task::JoinHandle<Result<Vec<StoredChunk>, StorageError>>>,
    /// The first batch has been fetched: read ahead from now on.
    reading_on: bool,
}

/// A batch from `from_seq`, without holding a connection while the object
/// store answers.
async fn fetch_batch(
    store: Store,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
) -> Result<Vec<StoredChunk>, StorageError> {
    let rows = {
        let client = store.client().await?;
        query_chunks(&**client, session_id, from_seq, end_seq).await?
    };
    load_chunks(store.objects(), rows).await
}

impl ChunkCursor {
    pub(super) fn new(store: Store, session_id: Uuid, from_seq: i32, end_seq: i32) -> Self {
        Self {
            store,
            session_id,
            next_seq: from_seq,
            end_seq,
            buffer: VecDeque::new(),
            ahead: None,
            reading_on: false,
        }
    }

    /// A cursor whose first batch, `first` (chunks from `from_seq` on),
    /// was read already.
    pub(super) fn primed(
        store: Store,
        session_id: Uuid,
        from_seq: i32,
        first: Vec<StoredChunk>,
        end_seq: i32,
    ) -> Self {
        let mut cursor = Self::new(store, session_id, from_seq, end_seq);
        cursor.next_seq = first.last().map_or(end_seq, |last| last.seq + 1);
        cursor.buffer.extend(first);
        cursor.reading_on = true;
        cursor
    }

    pub(super) async fn next(&mut self) -> Result<Option<StoredChunk>, StorageError> {
        if self.buffer.is_empty() && (self.ahead.is_some() || self.next_seq < self.end_seq) {
            let batch = match self.ahead.take() {
                Some(ahead) => ahead
                    .await
                    .map_err(|e| StorageError::Corrupt(format!("a prefetch failed: {e}")))??,
                None => {
                    fetch_batch(self.store.clone(), self.session_id, self.next_seq, self.end_seq)
                        .await?
                }
            };
            if let Some(last) = batch.last() {
                self.next_seq = last.seq + 1;
            } else {
                self.next_seq = self.end_seq;
            }
            self.buffer.extend(batch);
            if self.reading_on {
                self.read_ahead();
            }
            self.reading_on = true;
        }
        Ok(self.buffer.pop_front())
    }

    /// Starts fetching the batch after the buffered chunks, from an object
    /// store (PostgreSQL answers fast enough without).
    fn read_ahead(&mut self) {
        if self.next_seq < self.end_seq && self.store.objects().is_some() {
            self.ahead = Some(tokio::spawn(fetch_batch(
                self.store.clone(),
                self.session_id,
                self.next_seq,
                self.end_seq,
            )));
        }
    }

    pub(super) fn push_front(&mut self, chunk: StoredChunk) {
        self.buffer.push_front(chunk);
    }
}

impl Drop for ChunkCursor {
    fn drop(&mut self) {
        if let Some(ahead) = self.ahead.take() {
            ahead.abort();
        }
    }
}
