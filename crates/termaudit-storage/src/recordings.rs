//! Recordings: chunked ingest, finalization, and streaming reads.
//!
//! A recording is stored as numbered chunks of canonical asciicast v2 event
//! lines, zstd-compressed, each with the times of its first and last event.
//! Nothing here holds a whole recording: every read goes through a
//! [`ChunkCursor`], which fetches a few chunks at a time (at most
//! [`BATCH_BYTES`] once decompressed), and every write handles one chunk.
//!
//! The downloadable file is the header line, then the chunks' lines with the
//! session's explicit commands and runbook steps merged in as markers (`m`):
//! a marker goes right before the first event later than it, or at the end.
//! Finalization, downloads and event windows all merge with [`merge_chunk`],
//! so the digest stored at finalization is the digest of what is downloaded.

use std::collections::VecDeque;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use sha2::{Digest, Sha256};
use termaudit_domain::{
    AuditEventType, EnvironmentClass,
    asciicast::{
        CastError, Decoder, Event, EventCode, Micros, Replay, TerminalSnapshot, TextMatch,
        TextSearch, Version,
    },
};
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::{
    StorageError, Store,
    audit::{NewAuditEvent, append_audit},
    time::{micros_from_db, micros_to_db, seconds},
};

/// The largest chunk body accepted, in bytes.
pub const MAX_CHUNK_BYTES: usize = 4 << 20;
/// Decompressed bytes fetched per query when reading chunks (a single
/// larger chunk is fetched alone).
pub const BATCH_BYTES: i64 = 4 << 20;
/// A snapshot is kept after a chunk once this much output has been played
/// since the last one...
pub const SNAPSHOT_EVERY_OUTPUT: u64 = 256 << 10;
/// ... or this much recording time has passed.
pub const SNAPSHOT_EVERY: Micros = Micros(60_000_000);
/// Chunks are compressed at zstd's fastest level: at level 3 compression
/// was 15% of the ingest bench's time (3% at level 1), and level 1 stored
/// its output 5% smaller (484 against 511 MiB of 1026; docs/benchmarks.md).
const ZSTD_LEVEL: i32 = 1;
/// A chunk's canonical lines are compressed in parts of about this size, on
/// threads of their own, while the rest is parsed and played. The stored
/// chunk is the parts' zstd frames one after another, which zstd
/// decompresses as a whole exactly like the single frame of a chunk stored
/// before (and of any chunk under this size).
const PART_BYTES: usize = 1 << 20;
/// Output is handed to the terminal emulator in batches of about this size.
const SCREEN_BATCH_BYTES: usize = 64 << 10;

/// A session as recordings see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSession {
    pub id: Uuid,
    pub project_id: Uuid,
    pub target_name: String,
    pub recorded: bool,
    pub environment_class: EnvironmentClass,
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A recording's stored summary.
#[derive(Debug, Clone)]
pub struct RecordingRow {
    /// The canonical v2 header line; `None` when no chunk arrived.
    pub header: Option<String>,
    source_version: Option<i16>,
    /// Wall-clock time of the recording's time zero.
    pub started_at: DateTime<Utc>,
    /// The next chunk expected.
    pub next_seq: i32,
    /// Events uploaded so far.
    pub chunk_events: i64,
    /// The time of the last uploaded event.
    pub last_time: Micros,
    live: Option<(i32, i32, Vec<u8>)>,
    output_since_snapshot: i64,
    last_snapshot: Micros,
    pub finalized_at: Option<DateTime<Utc>>,
    /// Size of the downloadable file, once finalized.
    pub size_bytes: Option<i64>,
    /// Events in the downloadable file (markers included), once finalized.
    pub event_count: Option<i64>,
    /// The last event's time in the downloadable file, once finalized.
    pub duration: Option<Micros>,
    /// SHA-256 of the downloadable file, once finalized.
    pub sha256: Option<Vec<u8>>,
    trailer_offset: Option<i64>,
    pub purged_at: Option<DateTime<Utc>>,
    pub purge_reason: Option<String>,
}

impl From<&Row> for RecordingRow {
    fn from(row: &Row) -> Self {
        let live = match (row.get("live_cols"), row.get("live_rows"), row.get("live_state")) {
            (Some(cols), Some(rows), Some(state)) => Some((cols, rows, state)),
            _ => None,
        };
        Self {
            header: row.get("header"),
            source_version: row.get("source_version"),
            started_at: row.get("started_at"),
            next_seq: row.get("next_seq"),
            chunk_events: row.get("chunk_events"),
            last_time: micros_from_db(row.get("last_time_us")),
            live,
            output_since_snapshot: row.get("output_since_snapshot"),
            last_snapshot: micros_from_db(row.get("last_snapshot_us")),
            finalized_at: row.get("finalized_at"),
            size_bytes: row.get("size_bytes"),
            event_count: row.get("event_count"),
            duration: row.get::<_, Option<i64>>("duration_us").map(micros_from_db),
            sha256: row.get("sha256"),
            trailer_offset: row.get("trailer_offset"),
            purged_at: row.get("purged_at"),
            purge_reason: row.get("purge_reason"),
        }
    }
}

impl RecordingRow {
    /// The SHA-256 as lowercase hex, once finalized.
    pub fn sha256_hex(&self) -> Option<String> {
        self.sha256.as_deref().map(hex)
    }
}

/// A marker on a recording's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub time: Micros,
    pub label: String,
}

/// What happened to an uploaded chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkReceipt {
    pub seq: u32,
    pub events: u32,
    pub first_time: Micros,
    pub last_time: Micros,
    /// The chunk was stored before with the same body; nothing changed.
    pub repeated: bool,
}

/// Why a chunk was refused. Nothing is stored when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("there is no such session")]
    SessionNotFound,
    #[error("this session is not recorded (the policy does not record its environment)")]
    NotRecorded,
    #[error("the session has ended and its recording is finalized; no chunk can be added")]
    Ended,
    #[error("chunk {seq} does not follow the stored chunks: the next expected is {expected}")]
    Gap { seq: u32, expected: i32 },
    #[error("chunk {seq} is stored already with a different body")]
    Differs { seq: u32 },
    #[error("chunk 0 must start with the asciicast header line")]
    MissingHeader,
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("chunk {seq}: {source}")]
    Cast {
        seq: u32,
        #[source]
        source: CastError,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<tokio_postgres::Error> for IngestError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Storage(err.into())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn compress(data: &[u8]) -> Result<Vec<u8>, StorageError> {
    zstd::bulk::compress(data, ZSTD_LEVEL).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn decompress(data: &[u8], size: usize) -> Result<Vec<u8>, StorageError> {
    zstd::bulk::decompress(data, size).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn decompress_text(data: &[u8], size: usize) -> Result<String, StorageError> {
    String::from_utf8(decompress(data, size)?)
        .map_err(|_| StorageError::Corrupt("a chunk is not UTF-8".into()))
}

/// A terminal dump is at most a few hundred bytes per screen cell.
fn decompress_snapshot(
    cols: i32,
    rows: i32,
    state: &[u8],
) -> Result<TerminalSnapshot, StorageError> {
    let cols = u16::try_from(cols).unwrap_or(u16::MAX);
    let rows = u16::try_from(rows).unwrap_or(u16::MAX);
    let bound = 4096 + usize::from(cols) * usize::from(rows) * 64;
    Ok(TerminalSnapshot { cols, rows, init: decompress_text(state, bound)? })
}

/// The time of a stored (canonical) event line: `[12.5, "o", ...]`.
fn line_time(line: &str) -> Micros {
    line.get(1..)
        .and_then(|rest| rest.split_once(','))
        .and_then(|(time, _)| Micros::parse_seconds(time).ok())
        .unwrap_or(Micros::ZERO)
}

/// Emits a stored chunk's lines with the pending markers merged in: each
/// marker right before the first event later than it. Markers left are for
/// later chunks (or the end, with [`flush_markers`]).
pub(crate) fn merge_chunk(
    lines: &str,
    markers: &mut VecDeque<Marker>,
    emit: &mut impl FnMut(Micros, &str),
) {
    for line in lines.split_terminator('\n') {
        let time = line_time(line);
        while let Some(marker) = markers.front().filter(|m| m.time < time) {
            emit(marker.time, &Event::marker(marker.time, marker.label.as_str()).to_line());
            markers.pop_front();
        }
        emit(time, line);
    }
}

pub(crate) fn flush_markers(markers: &mut VecDeque<Marker>, emit: &mut impl FnMut(Micros, &str)) {
    while let Some(marker) = markers.pop_front() {
        emit(marker.time, &Event::marker(marker.time, marker.label).to_line());
    }
}

fn activity_label(kind: &str, text: &str) -> String {
    match kind {
        "command" => format!("$ {text}"),
        "runbook" => format!("runbook: {text}"),
        "runbook_step" => format!("step: {text}"),
        other => format!("{other}: {text}"),
    }
}

async fn activity_markers(
    client: &impl GenericClient,
    session_id: Uuid,
    started_at: DateTime<Utc>,
    from: Micros,
) -> Result<VecDeque<Marker>, StorageError> {
    let rows = client
        .query(
            include_str!("sql/recording_activity_markers.sql"),
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
pub(crate) struct StoredChunk {
    seq: i32,
    last_time: Micros,
    /// Canonical v2 lines, each ending with a newline.
    lines: String,
}

async fn fetch_chunks(
    client: &impl GenericClient,
    session_id: Uuid,
    from_seq: i32,
    end_seq: i32,
) -> Result<Vec<StoredChunk>, StorageError> {
    let rows = client
        .query(
            include_str!("sql/recording_chunks_batch.sql"),
            &[&session_id, &from_seq, &BATCH_BYTES, &end_seq],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let size = usize::try_from(row.get::<_, i32>("data_bytes")).unwrap_or(0);
            Ok(StoredChunk {
                seq: row.get("seq"),
                last_time: micros_from_db(row.get("last_time_us")),
                lines: decompress_text(row.get("data"), size)?,
            })
        })
        .collect()
}

/// Reads a recording's chunks in order, a batch at a time.
pub(crate) struct ChunkCursor {
    store: Store,
    session_id: Uuid,
    next_seq: i32,
    end_seq: i32,
    buffer: VecDeque<StoredChunk>,
}

impl ChunkCursor {
    fn new(store: Store, session_id: Uuid, from_seq: i32, end_seq: i32) -> Self {
        Self { store, session_id, next_seq: from_seq, end_seq, buffer: VecDeque::new() }
    }

    async fn next(&mut self) -> Result<Option<StoredChunk>, StorageError> {
        if self.buffer.is_empty() && self.next_seq < self.end_seq {
            let client = self.store.client().await?;
            let batch =
                fetch_chunks(&**client, self.session_id, self.next_seq, self.end_seq).await?;
            if let Some(last) = batch.last() {
                self.next_seq = last.seq + 1;
            } else {
                self.next_seq = self.end_seq;
            }
            self.buffer.extend(batch);
        }
        Ok(self.buffer.pop_front())
    }

    fn push_front(&mut self, chunk: StoredChunk) {
        self.buffer.push_front(chunk);
    }
}

// ----------------------------------------------------------------------------
// Ingest

struct ChunkInput {
    seq: u32,
    body: Bytes,
    version: Option<Version>,
    last_time: Micros,
    live: Option<TerminalSnapshot>,
    output_since_snapshot: u64,
    last_snapshot: Micros,
}

struct ProcessedChunk {
    header: Option<(String, Version)>,
    data: Vec<u8>,
    data_bytes: usize,
    events: u32,
    first_time: Micros,
    last_time: Micros,
    markers: Vec<(Micros, String)>,
    live: TerminalSnapshot,
    live_compressed: Vec<u8>,
    output_since_snapshot: u64,
    last_snapshot: Micros,
    snapshot: bool,
}

/// Parses, converts and plays one chunk. CPU-bound: run it off the async
/// threads. Three kinds of work overlap on scoped threads: this thread
/// parses and writes the canonical lines; one thread plays the output
/// through the terminal emulator as batches of it are parsed; and each
/// [`PART_BYTES`] of canonical text is compressed on a thread of its own as
/// soon as it is complete.
fn process_chunk(input: ChunkInput) -> Result<ProcessedChunk, IngestError> {
    let seq = input.seq;
    let text = std::str::from_utf8(&input.body).map_err(|_| IngestError::NotUtf8)?;
    let cast = |source| IngestError::Cast { seq, source };
    let mut lines = text.split('\n');
    let (header, mut decoder, mut replay) = match input.version {
        None => {
            let first = lines.next().filter(|l| !l.trim().is_empty());
            let first = first.ok_or(IngestError::MissingHeader)?;
            let (header, decoder) = Decoder::from_header_line(first).map_err(cast)?;
            let replay = Replay::new(header.width, header.height);
            (Some((header.to_line(), decoder.version())), decoder, replay)
        }
        Some(version) => {
            let replay = match &input.live {
                Some(snapshot) => Replay::restore(snapshot),
                None => Replay::new(80, 24),
            };
            (None, Decoder::resume(version, input.last_time), replay)
        }
    };
    let capacity = (text.len() + text.len() / 8).min(PART_BYTES + PART_BYTES / 4);
    std::thread::scope(|scope| {
        let (to_screen, screen_events) = std::sync::mpsc::channel::<Vec<Event>>();
        let emulator = scope.spawn(move || {
            for batch in screen_events {
                for event in &batch {
                    replay.apply(event);
                }
            }
            let live = replay.snapshot();
            let compressed = compress(live.init.as_bytes());
            (live, compressed)
        });
        let mut parts = Vec::new();
        let mut out = String::with_capacity(capacity);
        let mut data_bytes = 0;
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        let mut events = 0u32;
        let mut first_time = None;
        let mut markers = Vec::new();
        let mut output = input.output_since_snapshot;
        for line in lines {
            let Some(event) = decoder.decode_line(line).map_err(cast)? else { continue };
            first_time.get_or_insert(event.time);
            event.write_line(&mut out);
            out.push('\n');
            events += 1;
            match event.code {
                EventCode::Output | EventCode::Resize => {
                    if event.code == EventCode::Output {
                        output = output.saturating_add(event.data.len() as u64);
                    }
                    batch_bytes += event.data.len() + 16;
                    batch.push(event);
                    if batch_bytes >= SCREEN_BATCH_BYTES {
                        // Fails only if the emulator panicked, which its join reports.
                        let _ = to_screen.send(std::mem::take(&mut batch));
                        batch_bytes = 0;
                    }
                }
                EventCode::Marker => markers.push((event.time, event.data)),
                _ => {}
            }
            if out.len() >= PART_BYTES {
                data_bytes += out.len();
                let part = std::mem::replace(&mut out, String::with_capacity(capacity));
                parts.push(scope.spawn(move || compress(part.as_bytes())));
            }
        }
        let _ = to_screen.send(batch);
        drop(to_screen);
        data_bytes += out.len();
        let mut data = Vec::new();
        for part in parts {
            data.extend_from_slice(&part.join().map_err(|_| panicked("compression"))??);
        }
        if !out.is_empty() || data.is_empty() {
            data.extend_from_slice(&compress(out.as_bytes())?);
        }
        let (live, live_compressed) = emulator.join().map_err(|_| panicked("emulation"))?;
        let live_compressed = live_compressed?;
        let last_time = decoder.last_time();
        let snapshot = output >= SNAPSHOT_EVERY_OUTPUT
            || last_time.0.saturating_sub(input.last_snapshot.0) >= SNAPSHOT_EVERY.0;
        Ok(ProcessedChunk {
            header,
            data,
            data_bytes,
            events,
            first_time: first_time.unwrap_or(input.last_time),
            last_time,
            markers,
            live,
            live_compressed,
            output_since_snapshot: if snapshot { 0 } else { output },
            last_snapshot: if snapshot { last_time } else { input.last_snapshot },
            snapshot,
        })
    })
}

fn panicked(work: &str) -> IngestError {
    IngestError::Storage(StorageError::Corrupt(format!("chunk {work} panicked")))
}

impl Store {
    /// Stores chunk `seq` of the recording of session `session_id` in
    /// `project_id`, in one transaction: either all of it or nothing. A chunk
    /// stored before with the same body is accepted again without change.
    pub async fn append_chunk(
        &self,
        project_id: Uuid,
        session_id: Uuid,
        seq: u32,
        body: Bytes,
    ) -> Result<ChunkReceipt, IngestError> {
        // The digest of a 4 MiB body takes a few milliseconds: it is taken
        // off the async threads while the checks below query the database.
        let digest = tokio::task::spawn_blocking({
            let body = body.clone();
            move || Sha256::digest(&body).to_vec()
        });
        let mut client = self.client().await.map_err(IngestError::Storage)?;
        let tx = client.transaction().await?;
        let session = tx
            .query_opt(include_str!("sql/recording_session_share.sql"), &[&session_id, &project_id])
            .await?
            .ok_or(IngestError::SessionNotFound)?;
        if !session.get::<_, bool>("recorded") {
            return Err(IngestError::NotRecorded);
        }
        // A number past i32 can never be the next one: it is reported as a gap.
        let db_seq = i32::try_from(seq).unwrap_or(i32::MAX);
        if seq == 0 {
            let opened_at: DateTime<Utc> = session.get("opened_at");
            tx.execute(include_str!("sql/recording_create.sql"), &[&session_id, &opened_at])
                .await?;
        }
        let recording = tx
            .query_opt(include_str!("sql/recording_lock.sql"), &[&session_id])
            .await?
            .map(|row| RecordingRow::from(&row));

        let upload_sha256 =
            digest.await.map_err(|e| StorageError::Corrupt(format!("digest failed: {e}")))?;
        if let Some(existing) = tx
            .query_opt(include_str!("sql/recording_chunk_by_seq.sql"), &[&session_id, &db_seq])
            .await?
        {
            return if existing.get::<_, Vec<u8>>("upload_sha256") == upload_sha256 {
                Ok(ChunkReceipt {
                    seq,
                    events: u32::try_from(existing.get::<_, i32>("events")).unwrap_or(0),
                    first_time: micros_from_db(existing.get("first_time_us")),
                    last_time: micros_from_db(existing.get("last_time_us")),
                    repeated: true,
                })
            } else {
                Err(IngestError::Differs { seq })
            };
        }
        let status: String = session.get("status");
        let Some(recording) = recording else {
            return Err(IngestError::Gap { seq, expected: 0 });
        };
        let settling = status == "closed"
            && tx
                .query_opt(include_str!("sql/recording_settling.sql"), &[&session_id, &Utc::now()])
                .await?
                .is_some();
        if recording.finalized_at.is_some() || (status == "closed" && !settling) {
            return Err(IngestError::Ended);
        }
        if db_seq != recording.next_seq {
            return Err(IngestError::Gap { seq, expected: recording.next_seq });
        }

        let version = match recording.source_version {
            Some(3) => Some(Version::V3),
            Some(_) => Some(Version::V2),
            None => None,
        };
        let live = match &recording.live {
            Some((cols, rows, state)) => Some(decompress_snapshot(*cols, *rows, state)?),
            None => None,
        };
        let input = ChunkInput {
            seq,
            body,
            version,
            last_time: recording.last_time,
            live,
            output_since_snapshot: u64::try_from(recording.output_since_snapshot).unwrap_or(0),
            last_snapshot: recording.last_snapshot,
        };
        let chunk = tokio::task::spawn_blocking(move || process_chunk(input))
            .await
            .map_err(|e| StorageError::Corrupt(format!("chunk processing failed: {e}")))??;

        let data_bytes = i32::try_from(chunk.data_bytes).unwrap_or(i32::MAX);
        let events = i32::try_from(chunk.events).unwrap_or(i32::MAX);
        tx.execute(
            include_str!("sql/recording_chunk_insert.sql"),
            &[
                &session_id,
                &db_seq,
                &micros_to_db(chunk.first_time),
                &micros_to_db(chunk.last_time),
                &events,
                &data_bytes,
                &chunk.data,
                &upload_sha256,
            ],
        )
        .await?;
        if !chunk.markers.is_empty() {
            let ordinals: Vec<i32> = (0..).take(chunk.markers.len()).collect();
            let times: Vec<i64> = chunk.markers.iter().map(|(t, _)| micros_to_db(*t)).collect();
            let labels: Vec<&str> = chunk.markers.iter().map(|(_, l)| l.as_str()).collect();
            tx.execute(
                include_str!("sql/recording_markers_insert.sql"),
                &[&session_id, &db_seq, &ordinals, &times, &labels],
            )
            .await?;
        }
        let (header, source_version) = match &chunk.header {
            Some((line, version)) => {
                (Some(line.as_str()), Some(if *version == Version::V3 { 3i16 } else { 2 }))
            }
            None => (None, None),
        };
        let cols = i32::from(chunk.live.cols);
        let rows = i32::from(chunk.live.rows);
        tx.execute(
            include_str!("sql/recording_after_chunk.sql"),
            &[
                &session_id,
                &header,
                &source_version,
                &i64::from(chunk.events),
                &i64::from(data_bytes),
                &micros_to_db(chunk.last_time),
                &cols,
                &rows,
                &chunk.live_compressed,
                &i64::try_from(chunk.output_since_snapshot).unwrap_or(i64::MAX),
                &micros_to_db(chunk.last_snapshot),
            ],
        )
        .await?;
        if chunk.snapshot {
            tx.execute(
                include_str!("sql/recording_snapshot_insert.sql"),
                &[
                    &session_id,
                    &db_seq,
                    &micros_to_db(chunk.last_time),
                    &cols,
                    &rows,
                    &chunk.live_compressed,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ChunkReceipt {
            seq,
            events: chunk.events,
            first_time: chunk.first_time,
            last_time: chunk.last_time,
            repeated: false,
        })
    }
}

// ----------------------------------------------------------------------------
// Finalization

/// The downloadable file's digest and counts, line by line.
#[derive(Default)]
struct Tally {
    hasher: Sha256,
    size: u64,
    events: i64,
    duration: Micros,
}

impl Tally {
    fn line(&mut self, time: Micros, line: &str) {
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
        self.size += line.len() as u64 + 1;
        self.events += 1;
        self.duration = self.duration.max(time);
    }
}

/// Finalizes the recording of session `session_id`, which ended at
/// `ended_at`: computes the downloadable file's size, event count, duration
/// and SHA-256 (streaming through the chunks) and stores them, with each
/// chunk's offset in the file for range requests, and appends
/// `recording.finalized` to the audit log.
///
/// Every path that ends a session queues it, and `Store::finalize_queued`
/// calls this once the end has committed (chunks arriving after that are
/// refused as the session is closed). Idempotent; a no-op for an unknown or
/// unrecorded session; a recorded session without any chunk gets an empty
/// recording.
pub async fn finalize_recording(
    client: &impl GenericClient,
    session_id: Uuid,
    ended_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(session) = client
        .query_opt(include_str!("sql/recording_session_for_finalize.sql"), &[&session_id])
        .await?
    else {
        return Ok(());
    };
    if !session.get::<_, bool>("recorded") {
        return Ok(());
    }
    let project_id: Uuid = session.get("project_id");
    let opened_at: DateTime<Utc> = session.get("opened_at");
    client.execute(include_str!("sql/recording_create.sql"), &[&session_id, &opened_at]).await?;
    let row = client.query_one(include_str!("sql/recording_lock.sql"), &[&session_id]).await?;
    let recording = RecordingRow::from(&row);
    if recording.finalized_at.is_some() {
        return Ok(());
    }

    let mut file = Tally::default();
    let mut offsets: (Vec<i32>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut trailer_offset = 0;
    if let Some(header) = &recording.header {
        let mut markers =
            activity_markers(client, session_id, recording.started_at, Micros::ZERO).await?;
        file.hasher.update(header.as_bytes());
        file.hasher.update(b"\n");
        file.size += header.len() as u64 + 1;
        let mut next = 0;
        while next < recording.next_seq {
            let batch = fetch_chunks(client, session_id, next, recording.next_seq).await?;
            let Some(last) = batch.last() else { break };
            next = last.seq + 1;
            for chunk in batch {
                offsets.0.push(chunk.seq);
                offsets.1.push(i64::try_from(file.size).unwrap_or(i64::MAX));
                merge_chunk(&chunk.lines, &mut markers, &mut |t, l| file.line(t, l));
            }
        }
        trailer_offset = file.size;
        flush_markers(&mut markers, &mut |t, l| file.line(t, l));
    }
    let Tally { hasher, size, events, duration } = file;
    let sha256 = hasher.finalize().to_vec();
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    client
        .execute(
            include_str!("sql/recording_chunk_offsets.sql"),
            &[&session_id, &offsets.0, &offsets.1],
        )
        .await?;
    client
        .execute(
            include_str!("sql/recording_finalize.sql"),
            &[
                &session_id,
                &ended_at,
                &size,
                &events,
                &micros_to_db(duration),
                &sha256,
                &i64::try_from(trailer_offset).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    let details = serde_json::json!({
        "size_bytes": size,
        "event_count": events,
        "duration_seconds": seconds(duration),
        "sha256": hex(&sha256),
        "chunks": recording.next_seq,
    });
    append_audit(
        client,
        &NewAuditEvent::new(project_id, AuditEventType::RecordingFinalized)
            .session(session_id)
            .at(ended_at)
            .details(details),
    )
    .await?;
    Ok(())
}

/// Removes a finalized recording's content (chunks, snapshots, markers),
/// keeping its summary with when and why, for the retention sweep. Returns
/// whether there was something to purge. Call it inside the sweep's
/// transaction along with its audit entry.
pub async fn purge_recording(
    client: &impl GenericClient,
    session_id: Uuid,
    purged_at: DateTime<Utc>,
    reason: &str,
) -> Result<bool, StorageError> {
    let updated = client
        .execute(include_str!("sql/recording_purge.sql"), &[&session_id, &purged_at, &reason])
        .await?;
    if updated == 0 {
        return Ok(false);
    }
    for statement in [
        "DELETE FROM recording_snapshots WHERE session_id = $1",
        "DELETE FROM recording_markers WHERE session_id = $1",
        "DELETE FROM recording_chunks WHERE session_id = $1",
    ] {
        client.execute(statement, &[&session_id]).await?;
    }
    Ok(true)
}

/// [`purge_recording`] for many recordings in a handful of statements (the
/// retention sweep's batches): `recordings` pairs each session id with its
/// purge reason. Returns the ids it purged (finalized and not purged yet).
pub async fn purge_recordings(
    client: &impl GenericClient,
    recordings: &[(Uuid, String)],
    purged_at: DateTime<Utc>,
) -> Result<Vec<Uuid>, StorageError> {
    let (ids, reasons): (Vec<Uuid>, Vec<&str>) =
        recordings.iter().map(|(id, reason)| (*id, reason.as_str())).unzip();
    let purged: Vec<Uuid> = client
        .query(include_str!("sql/recordings_purge_many.sql"), &[&ids, &reasons, &purged_at])
        .await?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    if purged.is_empty() {
        return Ok(purged);
    }
    for statement in [
        "DELETE FROM recording_snapshots WHERE session_id = ANY ($1)",
        "DELETE FROM recording_markers WHERE session_id = ANY ($1)",
        "DELETE FROM recording_chunks WHERE session_id = ANY ($1)",
    ] {
        client.execute(statement, &[&purged]).await?;
    }
    Ok(purged)
}

// ----------------------------------------------------------------------------
// Reading

/// Where a download starts and how much of it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte, inclusive.
    pub start: u64,
    /// Last byte, inclusive.
    pub end: u64,
}

/// A window of a recording: the terminal at its start and the stream of its
/// events' lines.
pub struct Window<S> {
    /// The terminal after every event before `from`.
    pub state: TerminalSnapshot,
    /// The canonical v2 lines of the events at or after `from` and before
    /// `to`, markers merged, a batch of lines (comma-separated) per item.
    pub events: S,
}

impl Store {
    /// Finalizes the recording of an ended session queued by the transaction
    /// that ended it, in a transaction of its own, and takes it off the
    /// queue; unless it still takes the gateway's last chunks at `now`.
    /// Returns whether this call finalized it (`false`: nothing was queued,
    /// it is not due, or a concurrent call did it first and this one waited).
    pub async fn finalize_queued(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.finalize(session_id, Some(now)).await
    }

    /// The gateway has sent the last chunk of an ended session: finalizes
    /// its recording now, without waiting for the rest of
    /// [`RECORDING_SETTLE`](crate::RECORDING_SETTLE). `false` when there was
    /// nothing to finalize (done before, or the session has not ended).
    pub async fn finish_recording(&self, session_id: Uuid) -> Result<bool, StorageError> {
        self.finalize(session_id, None).await
    }

    async fn finalize(
        &self,
        session_id: Uuid,
        unless_settling_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(queued) = tx
            .query_opt(include_str!("sql/recording_finalization_lock.sql"), &[&session_id])
            .await?
        else {
            return Ok(false);
        };
        let settling_until: Option<DateTime<Utc>> = queued.try_get("accepts_chunks_until")?;
        if let (Some(now), Some(until)) = (unless_settling_at, settling_until)
            && now < until
        {
            return Ok(false);
        }
        finalize_recording(&*tx, session_id, queued.try_get("ended_at")?).await?;
        tx.execute(include_str!("sql/recording_finalization_done.sql"), &[&session_id]).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Finalizes up to `limit` queued recordings that are due at `now`,
    /// oldest first: those whose window for the gateway's last chunks has
    /// closed, and those whose finalization right after the session ended
    /// did not happen (a crash, a lost connection). Returns how many it
    /// finalized.
    pub async fn finalize_pending(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<usize, StorageError> {
        let due = {
            let client = self.client().await?;
            client
                .query(include_str!("sql/recording_finalizations_due.sql"), &[&now, &limit])
                .await?
        };
        let mut finalized = 0;
        for row in due {
            if self.finalize_queued(row.try_get("session_id")?, now).await? {
                finalized += 1;
            }
        }
        Ok(finalized)
    }

    pub async fn recording_session(
        &self,
        project_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<RecordedSession>, StorageError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(include_str!("sql/recording_session.sql"), &[&session_id, &project_id])
            .await?
        else {
            return Ok(None);
        };
        let class: String = row.get("environment_class");
        Ok(Some(RecordedSession {
            id: row.get("id"),
            project_id: row.get("project_id"),
            target_name: row.get("target_name"),
            recorded: row.get("recorded"),
            environment_class: class.parse().map_err(|_| {
                StorageError::Corrupt(format!("unknown environment class {class:?}"))
            })?,
            status: row.get("status"),
            opened_at: row.get("opened_at"),
            ended_at: row.get("ended_at"),
        }))
    }

    pub async fn recording(&self, session_id: Uuid) -> Result<Option<RecordingRow>, StorageError> {
        let client = self.client().await?;
        let row =
            client.query_opt(include_str!("sql/recording_by_session.sql"), &[&session_id]).await?;
        Ok(row.as_ref().map(RecordingRow::from))
    }

    /// Every marker of a recording, in time order: those uploaded in it and
    /// the session's explicit commands and runbook steps.
    pub async fn recording_markers(
        &self,
        session_id: Uuid,
        started_at: DateTime<Utc>,
    ) -> Result<Vec<Marker>, StorageError> {
        let client = self.client().await?;
        let uploaded = client
            .query(include_str!("sql/recording_uploaded_markers.sql"), &[&session_id])
            .await?;
        let activity = activity_markers(&**client, session_id, started_at, Micros::ZERO).await?;
        let mut markers: Vec<Marker> = uploaded
            .iter()
            .map(|row| Marker { time: micros_from_db(row.get(0)), label: row.get(1) })
            .chain(activity)
            .collect();
        markers.sort_by_key(|m| m.time);
        Ok(markers)
    }

    /// Appends `recording.viewed` for `subject` unless they viewed this
    /// session's recording in the last hour. Returns whether it appended.
    pub async fn record_recording_view(
        &self,
        project_id: Uuid,
        session_id: Uuid,
        subject: &str,
        name: &str,
        details: serde_json::Value,
    ) -> Result<bool, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let key = format!("recording.viewed:{session_id}:{subject}");
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
        let recent = tx
            .query_opt(include_str!("sql/recording_recent_view.sql"), &[&session_id, &subject])
            .await?;
        if recent.is_some() {
            return Ok(false);
        }
        append_audit(
            &*tx,
            &NewAuditEvent::new(project_id, AuditEventType::RecordingViewed)
                .actor(subject, name)
                .session(session_id)
                .details(details),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The downloadable file (or `range` of it, for a finalized recording),
    /// streamed a batch of chunks at a time.
    pub fn recording_download(
        &self,
        session_id: Uuid,
        recording: &RecordingRow,
        range: Option<ByteRange>,
    ) -> impl Stream<Item = Result<Bytes, StorageError>> + 'static {
        let store = self.clone();
        let header = recording.header.clone().unwrap_or_default();
        let started_at = recording.started_at;
        let end_seq = recording.next_seq;
        let trailer_offset = recording.trailer_offset.and_then(|o| u64::try_from(o).ok());
        let last_time = recording.last_time;
        let (start, end) = range.map_or((0, u64::MAX), |r| (r.start, r.end));
        struct State {
            store: Store,
            session_id: Uuid,
            phase: Phase,
            header: String,
            started_at: DateTime<Utc>,
            end_seq: i32,
            trailer_offset: Option<u64>,
            last_time: Micros,
            start: u64,
            end: u64,
            cursor: Option<ChunkCursor>,
            markers: VecDeque<Marker>,
            /// The file offset of the next byte produced.
            position: u64,
        }
        #[derive(PartialEq, Eq)]
        enum Phase {
            Begin,
            Chunks,
            Done,
        }
        let state = State {
            store,
            session_id,
            phase: Phase::Begin,
            header,
            started_at,
            end_seq,
            trailer_offset,
            last_time,
            start,
            end,
            cursor: None,
            markers: VecDeque::new(),
            position: 0,
        };
        futures_util::stream::try_unfold(state, |mut s| async move {
            loop {
                let mut out = String::new();
                match s.phase {
                    Phase::Done => return Ok(None),
                    Phase::Begin => {
                        let header_len = s.header.len() as u64 + 1;
                        let client = s.store.client().await?;
                        if s.start < header_len {
                            s.markers = activity_markers(
                                &**client,
                                s.session_id,
                                s.started_at,
                                Micros::ZERO,
                            )
                            .await?;
                            out.push_str(&s.header);
                            out.push('\n');
                            s.cursor =
                                Some(ChunkCursor::new(s.store.clone(), s.session_id, 0, s.end_seq));
                        } else if let Some(trailer) = s.trailer_offset.filter(|t| s.start >= *t) {
                            s.markers = activity_markers(
                                &**client,
                                s.session_id,
                                s.started_at,
                                s.last_time,
                            )
                            .await?;
                            s.position = trailer;
                        } else {
                            let start = i64::try_from(s.start).unwrap_or(i64::MAX);
                            let row = client
                                .query_one(
                                    include_str!("sql/recording_chunk_at_offset.sql"),
                                    &[&s.session_id, &start],
                                )
                                .await?;
                            let seq: i32 = row.get(0);
                            s.position = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
                            let previous = micros_from_db(row.get(2));
                            s.markers =
                                activity_markers(&**client, s.session_id, s.started_at, previous)
                                    .await?;
                            s.cursor = Some(ChunkCursor::new(
                                s.store.clone(),
                                s.session_id,
                                seq,
                                s.end_seq,
                            ));
                        }
                        s.phase = Phase::Chunks;
                    }
                    Phase::Chunks => {
                        let chunk = match s.cursor.as_mut() {
                            Some(cursor) => cursor.next().await?,
                            None => None,
                        };
                        let mut emit = |_: Micros, line: &str| {
                            out.push_str(line);
                            out.push('\n');
                        };
                        match chunk {
                            Some(chunk) => merge_chunk(&chunk.lines, &mut s.markers, &mut emit),
                            None => {
                                flush_markers(&mut s.markers, &mut emit);
                                s.phase = Phase::Done;
                            }
                        }
                    }
                }
                // Cut what is outside the range.
                let piece_start = s.position;
                s.position += out.len() as u64;
                let from = s.start.saturating_sub(piece_start);
                let to = s.end.saturating_add(1).saturating_sub(piece_start).min(out.len() as u64);
                if s.position > s.end {
                    s.phase = Phase::Done;
                }
                if from < to {
                    let bytes = Bytes::from(out.into_bytes());
                    let piece = bytes.slice(
                        usize::try_from(from).unwrap_or(0)..usize::try_from(to).unwrap_or(0),
                    );
                    return Ok(Some((piece, s)));
                }
            }
        })
    }

    /// A window of events from `from` (inclusive) to `to` (exclusive): the
    /// terminal at `from`, found from the nearest snapshot, and a stream of
    /// the window's lines.
    pub async fn recording_window(
        &self,
        session_id: Uuid,
        recording: &RecordingRow,
        from: Micros,
        to: Micros,
    ) -> Result<Window<impl Stream<Item = Result<Bytes, StorageError>> + 'static>, StorageError>
    {
        let client = self.client().await?;
        let snapshot = client
            .query_opt(
                include_str!("sql/recording_snapshot_before.sql"),
                &[&session_id, &micros_to_db(from)],
            )
            .await?;
        let (mut replay, first_seq) = match &snapshot {
            Some(row) => {
                let snapshot =
                    decompress_snapshot(row.get("cols"), row.get("rows"), row.get("state"))?;
                (Replay::restore(&snapshot), row.get::<_, i32>("after_seq") + 1)
            }
            None => {
                let (width, height) = header_size(recording.header.as_deref().unwrap_or_default());
                (Replay::new(width, height), 0)
            }
        };
        let markers = activity_markers(&**client, session_id, recording.started_at, from).await?;
        drop(client);

        let mut cursor = ChunkCursor::new(self.clone(), session_id, first_seq, recording.next_seq);
        while let Some(chunk) = cursor.next().await? {
            let whole = chunk.last_time < from;
            let (played, chunk) = tokio::task::spawn_blocking(move || {
                let mut decoder = Decoder::resume(Version::V2, Micros::ZERO);
                for line in chunk.lines.split_terminator('\n') {
                    match decoder.decode_line(line) {
                        Ok(Some(event)) if event.time < from => replay.apply(&event),
                        Ok(Some(_)) => break,
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
                (replay, chunk)
            })
            .await
            .map_err(|e| StorageError::Corrupt(format!("replay failed: {e}")))?;
            replay = played;
            if !whole {
                cursor.push_front(chunk);
                break;
            }
        }
        let state = replay.snapshot();

        struct State {
            cursor: ChunkCursor,
            markers: VecDeque<Marker>,
            done: bool,
            first: bool,
        }
        let state0 = State { cursor, markers, done: false, first: true };
        let events = futures_util::stream::try_unfold(state0, move |mut s| async move {
            loop {
                if s.done {
                    return Ok(None);
                }
                let mut out = String::new();
                let mut first = s.first;
                let mut past = false;
                let mut emit = |time: Micros, line: &str| {
                    if time >= to {
                        past = true;
                    } else if time >= from && !past {
                        if !first {
                            out.push(',');
                        }
                        first = false;
                        out.push_str(line);
                    }
                };
                match s.cursor.next().await? {
                    Some(chunk) => merge_chunk(&chunk.lines, &mut s.markers, &mut emit),
                    None => {
                        flush_markers(&mut s.markers, &mut emit);
                        s.done = true;
                    }
                }
                s.first = first;
                if past {
                    s.done = true;
                }
                if !out.is_empty() {
                    return Ok(Some((Bytes::from(out.into_bytes()), s)));
                }
            }
        });
        Ok(Window { state, events })
    }

    /// Finds `search`'s query in the recording's output; at most `limit`
    /// matches, and whether there were more.
    pub async fn recording_search(
        &self,
        session_id: Uuid,
        recording: &RecordingRow,
        mut search: TextSearch,
        limit: usize,
    ) -> Result<(Vec<TextMatch>, bool), StorageError> {
        let mut cursor = ChunkCursor::new(self.clone(), session_id, 0, recording.next_seq);
        let mut found = Vec::new();
        while let Some(chunk) = cursor.next().await? {
            let (s, f) = tokio::task::spawn_blocking(move || {
                let mut found = found;
                let mut decoder = Decoder::resume(Version::V2, Micros::ZERO);
                for line in chunk.lines.split_terminator('\n') {
                    if let Ok(Some(event)) = decoder.decode_line(line) {
                        search.push(&event, &mut found);
                    }
                    if found.len() > limit {
                        break;
                    }
                }
                (search, found)
            })
            .await
            .map_err(|e| StorageError::Corrupt(format!("search failed: {e}")))?;
            search = s;
            found = f;
            if found.len() > limit {
                found.truncate(limit);
                return Ok((found, true));
            }
        }
        Ok((found, false))
    }
}

/// The width and height of a stored header line.
pub fn header_size(header: &str) -> (u16, u16) {
    termaudit_domain::asciicast::parse_header_line(header)
        .map(|(h, _)| (h.width, h.height))
        .unwrap_or((80, 24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use termaudit_domain::asciicast::Resize;

    fn collect(lines: &str, markers: &[(u64, &str)]) -> Vec<String> {
        let mut queue: VecDeque<Marker> = markers
            .iter()
            .map(|(t, l)| Marker { time: Micros(*t), label: (*l).to_owned() })
            .collect();
        let mut out = Vec::new();
        let mut emit = |_: Micros, line: &str| out.push(line.to_owned());
        merge_chunk(lines, &mut queue, &mut emit);
        flush_markers(&mut queue, &mut emit);
        out
    }

    #[test]
    fn markers_go_before_the_first_later_event() {
        let lines =
            "[0.0, \"o\", \"a\"]\n[1.0, \"o\", \"b\"]\n[1.0, \"o\", \"c\"]\n[2.5, \"o\", \"d\"]\n";
        assert_eq!(
            collect(
                lines,
                &[(0, "start"), (1_000_000, "one"), (1_500_000, "mid"), (9_000_000, "end")]
            ),
            vec![
                "[0.0, \"o\", \"a\"]",
                "[0.0, \"m\", \"start\"]",
                "[1.0, \"o\", \"b\"]",
                "[1.0, \"o\", \"c\"]",
                "[1.0, \"m\", \"one\"]",
                "[1.5, \"m\", \"mid\"]",
                "[2.5, \"o\", \"d\"]",
                "[9.0, \"m\", \"end\"]",
            ]
        );
    }

    #[test]
    fn line_times_are_read_from_canonical_lines() {
        assert_eq!(line_time("[12.000003, \"o\", \"x\"]"), Micros(12_000_003));
        assert_eq!(line_time("[0.0, \"m\", \"\"]"), Micros::ZERO);
    }

    #[test]
    fn large_chunks_are_compressed_in_parts_and_played_whole() {
        let mut body = String::from("{\"version\": 2, \"width\": 40, \"height\": 10}\n");
        let mut events = Vec::new();
        let mut i = 0u64;
        while body.len() < 2 * PART_BYTES + PART_BYTES / 2 {
            let time = Micros(i * 1000);
            let event = match i % 1000 {
                999 => Event::resize(time, Resize { cols: 30 + (i % 7) as u16, rows: 8 }),
                500 => Event::marker(time, format!("mark {i}")),
                _ => Event::output(
                    time,
                    format!(
                        "\u{1b}[3{}mline {i}\u{1b}[0m {}\r\n",
                        i % 8,
                        "x".repeat((i % 97) as usize)
                    ),
                ),
            };
            body.push_str(&event.to_line());
            body.push('\n');
            events.push(event);
            i += 1;
        }
        let input = ChunkInput {
            seq: 0,
            body: Bytes::from(body),
            version: None,
            last_time: Micros::ZERO,
            live: None,
            output_since_snapshot: 0,
            last_snapshot: Micros::ZERO,
        };
        let chunk = process_chunk(input).map_err(|e| e.to_string()).expect("valid");
        let expected: String = events.iter().map(|e| e.to_line() + "\n").collect();
        assert_eq!(chunk.data_bytes, expected.len());
        assert_eq!(decompress_text(&chunk.data, chunk.data_bytes).expect("text"), expected);
        let first_frame =
            zstd::zstd_safe::find_frame_compressed_size(&chunk.data).expect("a frame");
        assert!(first_frame < chunk.data.len(), "several frames");
        // A chunk stored before as one frame, at the former level, reads the same.
        let whole = zstd::bulk::compress(expected.as_bytes(), 3).expect("compressed");
        assert_eq!(decompress_text(&whole, expected.len()).expect("text"), expected);

        let mut reference = Replay::new(40, 10);
        for event in &events {
            reference.apply(event);
        }
        assert_eq!(chunk.live, reference.snapshot());
        let markers: Vec<(Micros, String)> = events
            .iter()
            .filter(|e| e.code == EventCode::Marker)
            .map(|e| (e.time, e.data.clone()))
            .collect();
        assert_eq!(chunk.markers, markers);
        assert_eq!(chunk.events as usize, events.len());
        assert!(chunk.snapshot);
    }

    #[test]
    fn chunks_are_processed_and_resumed() {
        let chunk0 = "{\"version\": 3, \"term\": {\"cols\": 10, \"rows\": 2}}\n[0.5, \"o\", \"hi\"]\n[0.5, \"m\", \"mark\"]\n";
        let input = ChunkInput {
            seq: 0,
            body: Bytes::from_static(chunk0.as_bytes()),
            version: None,
            last_time: Micros::ZERO,
            live: None,
            output_since_snapshot: 0,
            last_snapshot: Micros::ZERO,
        };
        let first = process_chunk(input).map_err(|e| e.to_string()).expect("valid");
        assert_eq!(first.header.as_ref().map(|h| h.1), Some(Version::V3));
        assert_eq!(
            (first.events, first.first_time, first.last_time),
            (2, Micros(500_000), Micros(1_000_000))
        );
        assert_eq!(first.markers, vec![(Micros(1_000_000), "mark".to_owned())]);
        let text = decompress_text(&first.data, first.data_bytes).expect("text");
        assert_eq!(text, "[0.5, \"o\", \"hi\"]\n[1.0, \"m\", \"mark\"]\n");

        let input = ChunkInput {
            seq: 1,
            body: Bytes::from_static(b"[0.25, \"o\", \"!\"]"),
            version: Some(Version::V3),
            last_time: first.last_time,
            live: Some(first.live.clone()),
            output_since_snapshot: first.output_since_snapshot,
            last_snapshot: first.last_snapshot,
        };
        let second = process_chunk(input).map_err(|e| e.to_string()).expect("valid");
        assert_eq!(second.last_time, Micros(1_250_000));
        let replay = Replay::restore(&second.live);
        assert_eq!(replay.screen_text()[0], "hi!");
    }
}
