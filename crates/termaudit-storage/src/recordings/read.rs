//! Reading recordings: the session and summary, markers, views, the
//! downloadable file (or a byte range of it), and event windows.

use std::collections::VecDeque;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use termaudit_domain::{
    AuditEventType, RecordingState, TerminalPolicy,
    asciicast::{Decoder, Micros, Replay, TerminalSnapshot, Version},
};
use tokio_postgres::{GenericClient, IsolationLevel};
use uuid::Uuid;

use super::{
    chunks::{ChunkCursor, activity_markers, chunk_refs, decode_chunks, query_chunks},
    codec::{decompress_snapshot, flush_markers, header_size, merge_chunk},
    objects::{BodyRef, load},
    types::{Marker, RECORDING_BY_SESSION, RecordedSession, RecordingRow},
};
use crate::{
    StorageError, Store,
    audit::{NewAuditEvent, append_audit},
    policy::policy,
    time::{micros_from_db, micros_to_db},
};

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
    pub async fn recording_session(
        &self,
        project_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<RecordedSession>, StorageError> {
        recording_session(&**self.client().await?, project_id, session_id).await
    }

    pub async fn recording(&self, session_id: Uuid) -> Result<Option<RecordingRow>, StorageError> {
        recording(&**self.client().await?, session_id).await
    }

    /// What a recording's summary shows, read from one snapshot: the
    /// session, whether a legal hold keeps it, the project's policy, the
    /// recording (none until a chunk arrives) and, while its content can
    /// be read, its markers. `None` when the project has no such session.
    pub async fn recording_overview(
        &self,
        project_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<RecordingOverview>, StorageError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(session) = recording_session(&*tx, project_id, session_id).await? else {
            return Ok(None);
        };
        let held = tx
            .query_opt(include_str!("../sql/hold_by_session.sql"), &[&project_id, &session_id])
            .await?
            .is_some();
        let policy = policy(&*tx, project_id).await?.policy;
        let recording = recording(&*tx, session_id).await?;
        let state = RecordingState::derive(
            session.recorded,
            recording.as_ref().is_some_and(|r| r.finalized_at.is_some()),
            recording.as_ref().is_some_and(|r| r.purged_at.is_some()),
        );
        let markers = match &recording {
            Some(r) if state.has_content() => {
                recording_markers(&*tx, session_id, r.started_at).await?
            }
            _ => Vec::new(),
        };
        tx.commit().await?;
        Ok(Some(RecordingOverview { session, held, policy, state, recording, markers }))
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
            .query_opt(include_str!("../sql/recording_recent_view.sql"), &[&session_id, &subject])
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
            // The header goes out with the first chunks: a store that cannot
            // be read fails the first item, before any byte is sent (a 503).
            let mut out = String::new();
            loop {
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
                                    include_str!("../sql/recording_chunk_at_offset.sql"),
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
                        continue;
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
                out.clear();
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
                include_str!("../sql/recording_snapshot_before.sql"),
                &[&session_id, &micros_to_db(from)],
            )
            .await?;
        let markers = activity_markers(&**client, session_id, recording.started_at, from).await?;
        drop(client);
        let (mut replay, mut cursor) =
            self.restore(session_id, snapshot.as_ref(), recording).await?;
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

    /// The terminal of `snapshot` (a row of `recording_snapshots`; without
    /// one, the header's empty screen) and a cursor over the chunks after
    /// it, whose first batch is read together with the snapshot: the
    /// compactor puts a snapshot right before the chunk that follows it, so
    /// from an object store a seek starts with one ranged read.
    pub(super) async fn restore(
        &self,
        session_id: Uuid,
        snapshot: Option<&tokio_postgres::Row>,
        recording: &RecordingRow,
    ) -> Result<(Replay, ChunkCursor), StorageError> {
        let from_seq = snapshot.map_or(0, |row| row.get::<_, i32>("after_seq") + 1);
        let rows = if from_seq < recording.next_seq {
            let client = self.client().await?;
            query_chunks(&**client, session_id, from_seq, recording.next_seq).await?
        } else {
            Vec::new()
        };
        let mut refs = Vec::with_capacity(rows.len() + 1);
        if let Some(row) = snapshot {
            refs.push(BodyRef::from_row(row, "state")?);
        }
        refs.extend(chunk_refs(&rows)?);
        let mut bodies = load(self.objects(), refs).await?;
        let replay = match snapshot {
            Some(row) => {
                let state = bodies.remove(0);
                Replay::restore(&decompress_snapshot(row.get("cols"), row.get("rows"), &state)?)
            }
            None => {
                let (width, height) = header_size(recording.header.as_deref().unwrap_or_default());
                Replay::new(width, height)
            }
        };
        let first = decode_chunks(&rows, bodies)?;
        let cursor =
            ChunkCursor::primed(self.clone(), session_id, from_seq, first, recording.next_seq);
        Ok((replay, cursor))
    }
}

/// What a recording's summary shows; see [`Store::recording_overview`].
#[derive(Debug, Clone)]
pub struct RecordingOverview {
    pub session: RecordedSession,
    /// Whether a legal hold keeps the recording.
    pub held: bool,
    pub policy: TerminalPolicy,
    pub state: RecordingState,
    pub recording: Option<RecordingRow>,
    /// In time order; empty unless the content can be read.
    pub markers: Vec<Marker>,
}

async fn recording_session(
    client: &impl GenericClient,
    project_id: Uuid,
    session_id: Uuid,
) -> Result<Option<RecordedSession>, StorageError> {
    let Some(row) = client
        .query_opt(include_str!("../sql/recording_session.sql"), &[&session_id, &project_id])
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
        environment_class: class
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("unknown environment class {class:?}")))?,
        status: row.get("status"),
        opened_at: row.get("opened_at"),
        ended_at: row.get("ended_at"),
    }))
}

async fn recording(
    client: &impl GenericClient,
    session_id: Uuid,
) -> Result<Option<RecordingRow>, StorageError> {
    let row = client.query_opt(RECORDING_BY_SESSION, &[&session_id]).await?;
    Ok(row.as_ref().map(RecordingRow::from))
}

/// Every marker of a recording, in time order: those uploaded in it and the
/// session's explicit commands and runbook steps.
async fn recording_markers(
    client: &impl GenericClient,
    session_id: Uuid,
    started_at: DateTime<Utc>,
) -> Result<Vec<Marker>, StorageError> {
    let uploaded =
        client.query(include_str!("../sql/recording_uploaded_markers.sql"), &[&session_id]).await?;
    let activity = activity_markers(client, session_id, started_at, Micros::ZERO).await?;
    let mut markers: Vec<Marker> = uploaded
        .iter()
        .map(|row| Marker { time: micros_from_db(row.get(0)), label: row.get(1) })
        .chain(activity)
        .collect();
    markers.sort_by_key(|m| m.time);
    Ok(markers)
}
