//! Ingest: one uploaded chunk is checked, parsed, converted to canonical
//! lines and compressed (the CPU pipeline of [`process_chunk`], off the
//! async threads), then stored in one transaction, and answered. The
//! terminal emulation that keeps the seek snapshots is not on this path: the
//! emulation workers (`termaudit-emulation`) play the chunk afterwards, told
//! of it by [`Store::stored_chunks`].

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use termaudit_domain::asciicast::{CastError, Decoder, EventCode, Micros, Version};
use termaudit_domain::{CLOCK_SKEW_ALLOWANCE, SessionStatus, happened_after_end};
use uuid::Uuid;

use super::{
    codec::compress,
    live::{LiveSignal, notify_live},
    types::{RECORDING_LOCK, RecordingRow},
};
use crate::{
    SessionRow, StorageError, Store,
    sessions::share_session,
    time::{micros_from_db, micros_to_db},
};

/// The largest chunk body accepted, in bytes.
pub const MAX_CHUNK_BYTES: usize = 4 << 20;
/// A chunk's canonical lines are compressed in parts of about this size, on
/// threads of their own, while the rest is parsed. The stored
/// chunk is the parts' zstd frames one after another, which zstd
/// decompresses as a whole exactly like the single frame of a chunk stored
/// before (and of any chunk under this size).
const PART_BYTES: usize = 1 << 20;

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
    /// The recording is finalized, or the session ended before the chunk
    /// began; the session as it is.
    #[error("the session has ended and its recording is finalized; no chunk can be added")]
    Ended(Box<SessionRow>),
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

struct ChunkInput {
    seq: u32,
    body: Bytes,
    version: Option<Version>,
    last_time: Micros,
}

struct ProcessedChunk {
    header: Option<(String, Version)>,
    data: Vec<u8>,
    data_bytes: usize,
    events: u32,
    first_time: Micros,
    last_time: Micros,
    markers: Vec<(Micros, String)>,
}

/// Parses and converts one chunk, and compresses it. CPU-bound: run it off
/// the async threads. This thread parses and writes the canonical lines;
/// each [`PART_BYTES`] of them is compressed on a scoped thread of its own
/// as soon as it is complete.
fn process_chunk(input: ChunkInput) -> Result<ProcessedChunk, IngestError> {
    let seq = input.seq;
    let text = std::str::from_utf8(&input.body).map_err(|_| IngestError::NotUtf8)?;
    let cast = |source| IngestError::Cast { seq, source };
    let mut lines = text.split('\n');
    let (header, mut decoder) = match input.version {
        None => {
            let first = lines.next().filter(|l| !l.trim().is_empty());
            let first = first.ok_or(IngestError::MissingHeader)?;
            let (header, decoder) = Decoder::from_header_line(first).map_err(cast)?;
            (Some((header.to_line(), decoder.version())), decoder)
        }
        Some(version) => (None, Decoder::resume(version, input.last_time)),
    };
    let capacity = (text.len() + text.len() / 8).min(PART_BYTES + PART_BYTES / 4);
    std::thread::scope(|scope| {
        let mut parts = Vec::new();
        let mut out = String::with_capacity(capacity);
        let mut data_bytes = 0;
        let mut events = 0u32;
        let mut first_time = None;
        let mut markers = Vec::new();
        for line in lines {
            let Some(event) = decoder.decode_line(line).map_err(cast)? else { continue };
            first_time.get_or_insert(event.time);
            event.write_line(&mut out);
            out.push('\n');
            events += 1;
            if event.code == EventCode::Marker {
                markers.push((event.time, event.data));
            }
            if out.len() >= PART_BYTES {
                data_bytes += out.len();
                let part = std::mem::replace(&mut out, String::with_capacity(capacity));
                parts.push(scope.spawn(move || compress(part.as_bytes())));
            }
        }
        data_bytes += out.len();
        let mut data = Vec::new();
        for part in parts {
            data.extend_from_slice(&part.join().map_err(|_| panicked("compression"))??);
        }
        if !out.is_empty() || data.is_empty() {
            data.extend_from_slice(&compress(out.as_bytes())?);
        }
        Ok(ProcessedChunk {
            header,
            data,
            data_bytes,
            events,
            first_time: first_time.unwrap_or(input.last_time),
            last_time: decoder.last_time(),
            markers,
        })
    })
}

/// Whether a chunk whose first event is at `first_time` began after its
/// session ended: all of it happened after the end, and an ended session
/// takes nothing from after its end. The recording's time zero is the
/// session's opening as the server saw it, and the gateway's clock starts a
/// moment later, so its times are compared with the clock-skew allowance.
fn begins_after_end(recording: &RecordingRow, session: &SessionRow, first_time: Micros) -> bool {
    let offset = Duration::microseconds(i64::try_from(first_time.0).unwrap_or(i64::MAX));
    let began = recording.started_at.checked_add_signed(offset).unwrap_or(DateTime::<Utc>::MAX_UTC);
    happened_after_end(session.ended_at.map(|end| end + CLOCK_SKEW_ALLOWANCE), began)
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
        let body_bytes = body.len();
        // The digest of a 4 MiB body takes a few milliseconds: it is taken
        // off the async threads while the checks below query the database.
        let digest = tokio::task::spawn_blocking({
            let body = body.clone();
            move || Sha256::digest(&body).to_vec()
        });
        let mut client = self.client().await.map_err(IngestError::Storage)?;
        let tx = client.transaction().await?;
        // Holds off a concurrent close (and its finalization) until the chunk commits.
        let session = share_session(&*tx, session_id)
            .await?
            .filter(|s| s.row.project_id == project_id)
            .ok_or(IngestError::SessionNotFound)?
            .row;
        if !session.recorded {
            return Err(IngestError::NotRecorded);
        }
        // A number past i32 can never be the next one: it is reported as a gap.
        let db_seq = i32::try_from(seq).unwrap_or(i32::MAX);
        if seq == 0 {
            tx.execute(
                include_str!("../sql/recording_create.sql"),
                &[&session_id, &session.opened_at, &self.recordings_store()],
            )
            .await?;
            tx.execute(include_str!("../sql/emulation_create.sql"), &[&session_id]).await?;
        }
        let recording =
            tx.query_opt(RECORDING_LOCK, &[&session_id]).await?.map(|row| RecordingRow::from(&row));

        let upload_sha256 =
            digest.await.map_err(|e| StorageError::Corrupt(format!("digest failed: {e}")))?;
        if let Some(existing) = tx
            .query_opt(include_str!("../sql/recording_chunk_by_seq.sql"), &[&session_id, &db_seq])
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
        let closed = session.status() == SessionStatus::Closed;
        let Some(recording) = recording else {
            return Err(IngestError::Gap { seq, expected: 0 });
        };
        let settling = closed
            && tx
                .query_opt(
                    include_str!("../sql/recording_settling.sql"),
                    &[&session_id, &Utc::now()],
                )
                .await?
                .is_some();
        if recording.finalized_at.is_some() || (closed && !settling) {
            return Err(IngestError::Ended(Box::new(session)));
        }
        if db_seq != recording.next_seq {
            return Err(IngestError::Gap { seq, expected: recording.next_seq });
        }

        let version = match recording.source_version {
            Some(3) => Some(Version::V3),
            Some(_) => Some(Version::V2),
            None => None,
        };
        let input = ChunkInput { seq, body, version, last_time: recording.last_time };
        let chunk = tokio::task::spawn_blocking(move || process_chunk(input))
            .await
            .map_err(|e| StorageError::Corrupt(format!("chunk processing failed: {e}")))??;

        if begins_after_end(&recording, &session, chunk.first_time) {
            return Err(IngestError::Ended(Box::new(session)));
        }

        let data_bytes = i32::try_from(chunk.data_bytes).unwrap_or(i32::MAX);
        let events = i32::try_from(chunk.events).unwrap_or(i32::MAX);
        tx.execute(
            include_str!("../sql/recording_chunk_insert.sql"),
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
            // The recording keeps a marker's label exactly, U+0000 included
            // (in the chunk's stored lines, hence the download); this index for the
            // summary is text, which cannot hold U+0000, so it shows U+FFFD.
            let labels: Vec<String> =
                chunk.markers.iter().map(|(_, l)| l.replace('\0', "\u{FFFD}")).collect();
            tx.execute(
                include_str!("../sql/recording_markers_insert.sql"),
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
        tx.execute(
            include_str!("../sql/recording_after_chunk.sql"),
            &[
                &session_id,
                &header,
                &source_version,
                &i64::from(chunk.events),
                &i64::from(data_bytes),
                &micros_to_db(chunk.last_time),
            ],
        )
        .await?;
        notify_live(&*tx, &LiveSignal::Chunk { session_id, seq: db_seq }).await?;
        tx.commit().await?;
        self.chunk_stored(session_id, body_bytes);
        Ok(ChunkReceipt {
            seq,
            events: chunk.events,
            first_time: chunk.first_time,
            last_time: chunk.last_time,
            repeated: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recordings::codec::decompress_text;
    use termaudit_domain::asciicast::{Event, Resize};

    #[test]
    fn large_chunks_are_compressed_in_parts() {
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
        let input =
            ChunkInput { seq: 0, body: Bytes::from(body), version: None, last_time: Micros::ZERO };
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

        let markers: Vec<(Micros, String)> = events
            .iter()
            .filter(|e| e.code == EventCode::Marker)
            .map(|e| (e.time, e.data.clone()))
            .collect();
        assert_eq!(chunk.markers, markers);
        assert_eq!(chunk.events as usize, events.len());
    }

    #[test]
    fn chunks_are_processed_and_resumed() {
        let chunk0 = "{\"version\": 3, \"term\": {\"cols\": 10, \"rows\": 2}}\n[0.5, \"o\", \"hi\"]\n[0.5, \"m\", \"mark\"]\n";
        let input = ChunkInput {
            seq: 0,
            body: Bytes::from_static(chunk0.as_bytes()),
            version: None,
            last_time: Micros::ZERO,
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
        };
        let second = process_chunk(input).map_err(|e| e.to_string()).expect("valid");
        assert_eq!(second.last_time, Micros(1_250_000));
        let text = decompress_text(&second.data, second.data_bytes).expect("text");
        assert_eq!(text, "[1.25, \"o\", \"!\"]\n");
    }
}
