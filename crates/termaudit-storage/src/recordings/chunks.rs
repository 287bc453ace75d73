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
/// larger chunk is fetched alone), in at most 64 chunks (`BATCH_CHUNKS`).
pub const BATCH_BYTES: i64 = 4 << 20;
pub(super) const BATCH_CHUNKS: i64 = 64;
/// The same for a download from an object store: its batch is one ranged
/// read of several MiB (S3 advises 8 to 16 MB a request for throughput; an
/// S3-compatible server such as moto reads the whole object for each
/// range, so fewer, larger reads cost it far less).
const OBJECT_STREAM_BATCH_BYTES: i64 = 16 << 20;
const OBJECT_STREAM_BATCH_CHUNKS: i64 = 4 * BATCH_CHUNKS;

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

/// The rows of a batch of chunks from `from_seq`: [`BATCH_BYTES`] at most
/// once decompressed (a single larger chunk alone).
pub(super) async fn query_chunks(
    client: &impl GenericClient,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
) -> Result<Vec<Row>, StorageError> {
    query_batch(client, session_id, from_seq, end_seq, (BATCH_BYTES, BATCH_CHUNKS)).await
}

/// How large a batch is at most: decompressed bytes, chunks.
type BatchSize = (i64, i64);

async fn query_batch(
    client: &impl GenericClient,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
    (bytes, chunks): BatchSize,
) -> Result<Vec<Row>, StorageError> {
    Ok(client
        .query(
            include_str!("../sql/recording_chunks_batch.sql"),
            &[&session_id, &from_seq, &bytes, &end_seq, &chunks],
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
/// batch ahead at most, so memory stays at two batches. A cursor made by
/// [`Self::new`] (a download) reads ahead from its first batch on, in
/// batches of [`OBJECT_STREAM_BATCH_BYTES`]; one made by [`Self::primed`]
/// (a seek, which rarely reads past the batch it was primed with) from its
/// second, in batches of [`BATCH_BYTES`].
pub(super) struct ChunkCursor {
    store: Store,
    session_id: Uuid,
    next_seq: i32,
    end_seq: i32,
    batch: BatchSize,
    buffer: VecDeque<StoredChunk>,
    ahead: Option<tokio::task::JoinHandle<Result<Vec<StoredChunk>, StorageError>>>,
}

/// A batch from `from_seq`, without holding a connection while the object
/// store answers.
async fn fetch_batch(
    store: Store,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
    batch: BatchSize,
) -> Result<Vec<StoredChunk>, StorageError> {
    let rows = {
        let client = store.client().await?;
        query_batch(&**client, session_id, from_seq, end_seq, batch).await?
    };
    load_chunks(store.objects(), rows).await
}

impl ChunkCursor {
    pub(super) fn new(store: Store, session_id: Uuid, from_seq: i32, end_seq: i32) -> Self {
        let batch = if store.objects().is_some() {
            (OBJECT_STREAM_BATCH_BYTES, OBJECT_STREAM_BATCH_CHUNKS)
        } else {
            (BATCH_BYTES, BATCH_CHUNKS)
        };
        Self {
            store,
            session_id,
            next_seq: from_seq,
            end_seq,
            batch,
            buffer: VecDeque::new(),
            ahead: None,
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
        cursor.batch = (BATCH_BYTES, BATCH_CHUNKS);
        cursor.next_seq = first.last().map_or(end_seq, |last| last.seq + 1);
        cursor.buffer.extend(first);
        cursor
    }

    pub(super) async fn next(&mut self) -> Result<Option<StoredChunk>, StorageError> {
        if self.buffer.is_empty() && (self.ahead.is_some() || self.next_seq < self.end_seq) {
            let batch = match self.ahead.take() {
                Some(ahead) => ahead
                    .await
                    .map_err(|e| StorageError::Corrupt(format!("a prefetch failed: {e}")))??,
                None => {
                    fetch_batch(
                        self.store.clone(),
                        self.session_id,
                        self.next_seq,
                        self.end_seq,
                        self.batch,
                    )
                    .await?
                }
            };
            if let Some(last) = batch.last() {
                self.next_seq = last.seq + 1;
            } else {
                self.next_seq = self.end_seq;
            }
            self.buffer.extend(batch);
            self.read_ahead();
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
                self.batch,
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
