//! The emulation's side of a recording (`recording_emulation`): the lease
//! that says which replica's worker plays its chunks, how far it has got,
//! and the terminal there. The workers themselves live in the
//! `termaudit-emulation` crate; every statement they need is here.
//!
//! Lease rules, all in the database's time: a lease is taken when free,
//! expired, or held by the same replica already; it is renewed by every
//! write of progress and in between; it is given back when the worker is
//! done. Every write of progress also checks the position it started from,
//! so a worker whose lease was taken over writes nothing, and the emulated
//! position is never ahead of the stored chunks (it only moves over chunks
//! read back from them).

use std::{collections::HashSet, fmt::Write as _, time::Duration};

use termaudit_domain::asciicast::{
    DENSE_CODES_CAP, Micros, SnapshotSchedule, TerminalSnapshot, TranscriptCarry, line_codes,
    line_grams,
};
use uuid::Uuid;

use super::{
    BATCH_BYTES,
    chunks::{BATCH_CHUNKS, load_chunks, query_chunks},
    codec::{compress, decompress_snapshot},
    objects::{BodyRef, load},
    text_body,
};
use crate::{
    StorageError, Store,
    time::{micros_from_db, micros_to_db},
};

/// A replica's claim on recordings: who (a random id per process) and for
/// how long without renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    holder: Uuid,
    duration: Duration,
}

impl Lease {
    pub fn new(holder: Uuid, duration: Duration) -> Self {
        Self { holder, duration }
    }

    pub fn holder(&self) -> Uuid {
        self.holder
    }

    pub fn duration(&self) -> Duration {
        self.duration
    }

    fn seconds(&self) -> f64 {
        self.duration.as_secs_f64()
    }
}

/// Where a recording's emulation stands: chunks `0 .. next_seq` are played,
/// the terminal after them (`None` before the first), and the snapshot
/// rule's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulationState {
    pub next_seq: u32,
    pub terminal: Option<TerminalSnapshot>,
    pub schedule: SnapshotSchedule,
    /// The text extraction's state beside the terminal.
    pub text: TranscriptCarry,
    /// Chunks `0 .. backfill_until` were emulated before their text was
    /// extracted (V17): they are played again for their text only, their
    /// snapshots kept and no hook fed.
    pub backfill_until: u32,
}

/// What a recording's emulation works towards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulationTarget {
    /// The canonical header line (the screen's declared size).
    pub header: Option<String>,
    /// Chunks `0 .. next_seq` are stored.
    pub next_seq: u32,
    /// No chunk can come any more.
    pub finalized: bool,
    /// Retention removed the chunks: nothing to emulate.
    pub purged: bool,
}

/// A stored chunk's canonical v2 lines, each ending with a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLines {
    pub seq: u32,
    pub first_time: Micros,
    pub last_time: Micros,
    pub lines: String,
}

/// A batch of stored chunks for a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkBatch {
    pub chunks: Vec<ChunkLines>,
    /// The batch was cut by its size: more chunks may be stored after it.
    pub more: bool,
}

/// The terminal after chunk `after_seq`, whose last event is at `at_time`:
/// where a seek starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub after_seq: u32,
    pub at_time: Micros,
    pub terminal: TerminalSnapshot,
}

/// A worker's progress to record: its new position, the terminal there,
/// the counters, and the snapshots of the chunks it played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulationProgress {
    pub next_seq: u32,
    pub terminal: TerminalSnapshot,
    pub schedule: SnapshotSchedule,
    pub snapshots: Vec<Snapshot>,
    /// The text extraction's state after them.
    pub text: TranscriptCarry,
    /// The lines of text the chunks finished.
    pub lines: Vec<TextLine>,
    /// The lines on the screen after them, and the time of their last event.
    pub screen: Vec<String>,
    pub screen_time: Micros,
}

impl EmulationProgress {
    /// The progress as [`Store::emulation_commit`] stores it: the terminal
    /// and snapshots compressed, the text cut into window codes and
    /// compressed, the lines of whole chunks that reach `group_bytes`
    /// together as a row of several chunks (V26: a batch of a backlog is
    /// written folded at once), the rest a row per chunk. CPU work on a
    /// batch of a few MiB at most: the workers do it on the emulation's
    /// threads, beside the play, not on the runtime's.
    pub fn encode(&self, group_bytes: usize) -> Result<EncodedProgress, StorageError> {
        let mut snapshots = SnapshotColumns::default();
        for snapshot in &self.snapshots {
            let (cols, rows) = dims(&snapshot.terminal);
            snapshots.after_seq.push(db_seq(snapshot.after_seq));
            snapshots.at_time.push(micros_to_db(snapshot.at_time));
            snapshots.cols.push(cols);
            snapshots.rows.push(rows);
            snapshots.state.push(compress(snapshot.terminal.init.as_bytes())?);
        }
        let (screen_grams, screen_dense, screen_body) = if self.screen.is_empty() {
            (Vec::new(), Vec::new(), None)
        } else {
            let time = micros_to_db(self.screen_time);
            let (codes, body) = chunk_text(self.screen.iter().map(|line| (time, line.as_str())))?;
            let (grams, dense) = split_codes(&codes);
            (grams.to_vec(), dense.to_vec(), Some(body))
        };
        let (cols, rows) = dims(&self.terminal);
        Ok(EncodedProgress {
            next_seq: db_seq(self.next_seq),
            cols,
            rows,
            state: compress(self.terminal.init.as_bytes())?,
            output_since: i64::try_from(self.schedule.output_since).unwrap_or(i64::MAX),
            last_snapshot: micros_to_db(self.schedule.last_snapshot),
            snapshots,
            text_pending: self.text.pending.clone(),
            text_last_time: self.text.last_time.map(micros_to_db),
            lines: TextColumns::new(&self.lines, group_bytes)?,
            screen_grams,
            screen_dense,
            screen_body,
        })
    }
}

/// An [`EmulationProgress`] ready to store ([`EmulationProgress::encode`]).
pub struct EncodedProgress {
    next_seq: i32,
    cols: i32,
    rows: i32,
    state: Vec<u8>,
    output_since: i64,
    last_snapshot: i64,
    snapshots: SnapshotColumns,
    text_pending: String,
    text_last_time: Option<i64>,
    lines: TextColumns,
    /// The current screen's codes, three-character and dense (see
    /// [`split_codes`]), and body (`None`: no lines).
    screen_grams: Vec<i32>,
    screen_dense: Vec<i32>,
    screen_body: Option<Vec<u8>>,
}

impl EncodedProgress {
    /// Bytes of lines it writes in rows of one chunk, which the worker
    /// folds once they add up (see [`Store::recording_text_fold`]).
    pub fn single_chunk_text_bytes(&self) -> usize {
        self.lines.single_bytes
    }

    /// Whether it writes rows of several chunks: rows of one chunk written
    /// before must be folded first, as a fold never reaches behind a row of
    /// several.
    pub fn writes_groups(&self) -> bool {
        self.lines.first_seq.iter().any(Option::is_some)
    }
}

/// A finished line of a recording's text: the chunk that finished it, its
/// rank among that chunk's lines, its time and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine {
    pub seq: u32,
    pub n: u32,
    pub time: Micros,
    pub text: String,
}

/// How far the emulation is behind, over every recording.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EmulationLag {
    /// Recordings with chunks not emulated yet.
    pub recordings: i64,
    /// Chunks stored and not emulated yet.
    pub chunks: i64,
    /// How long the oldest of those chunks has waited, in seconds.
    pub seconds: f64,
    /// Recordings whose lease is held now.
    pub leased: i64,
}

/// The text of the chunks that finished lines, as the arrays one statement
/// inserts them from: each row's (last) chunk, the first chunk of a row of
/// several (`None` for a row of one), the distinct codes of its lines
/// (see [`line_codes`]) as array literals, three-character and dense
/// apart (see [`split_codes`]; a chunk of short lines has none), and its
/// lines as one body (see [`text_body`]).
#[derive(Default)]
struct TextColumns {
    seq: Vec<i32>,
    first_seq: Vec<Option<i32>>,
    grams: Vec<String>,
    dense: Vec<String>,
    body: Vec<Vec<u8>>,
    /// Bytes of lines written in rows of one chunk (to be folded later).
    single_bytes: usize,
}

impl TextColumns {
    /// A batch whose lines reach `group_bytes` in rows of several whole
    /// chunks, each of `group_bytes` or more (the last one takes the rest);
    /// a smaller batch's (a live recording's, at human speed) a row per
    /// chunk, searchable at once and folded later.
    fn new(lines: &[TextLine], group_bytes: usize) -> Result<Self, StorageError> {
        let mut columns = Self::default();
        let chunks: Vec<&[TextLine]> = lines.chunk_by(|a, b| a.seq == b.seq).collect();
        let size = |chunk: &[TextLine]| chunk.iter().map(|line| line.text.len() + 1).sum::<usize>();
        let total: usize = chunks.iter().map(|chunk| size(chunk)).sum();
        if total >= group_bytes.max(1) {
            let (mut start, mut bytes, mut left) = (0, 0, total);
            for (i, chunk) in chunks.iter().enumerate() {
                bytes += size(chunk);
                left -= size(chunk);
                if bytes >= group_bytes && (left >= group_bytes || left == 0) {
                    columns.push_group(&chunks[start..=i])?;
                    (start, bytes) = (i + 1, 0);
                }
            }
            return Ok(columns);
        }
        for chunk in chunks {
            let texts = chunk.iter().map(|line| (micros_to_db(line.time), line.text.as_str()));
            let (codes, body) = chunk_text(texts)?;
            columns.seq.push(db_seq(chunk[0].seq));
            columns.first_seq.push(None);
            columns.push_codes(&codes);
            columns.body.push(body);
            columns.single_bytes += size(chunk);
        }
        Ok(columns)
    }

    /// One row of `chunks`' lines.
    fn push_group(&mut self, chunks: &[&[TextLine]]) -> Result<(), StorageError> {
        let (Some(first), Some(last)) = (chunks.first(), chunks.last()) else { return Ok(()) };
        let lines = || chunks.iter().flat_map(|chunk| chunk.iter());
        let codes = lines_codes(|| lines().map(|line| line.text.as_str()));
        let body = text_body::encode_group(
            lines().map(|line| (db_seq(line.seq), micros_to_db(line.time), line.text.as_str())),
        )?;
        self.seq.push(db_seq(last[0].seq));
        self.first_seq.push(Some(db_seq(first[0].seq)));
        self.push_codes(&codes);
        self.body.push(body);
        Ok(())
    }

    fn push_codes(&mut self, codes: &[i32]) {
        let (grams, dense) = split_codes(codes);
        self.grams.push(array_literal(grams));
        self.dense.push(array_literal(dense));
    }
}

/// The distinct window codes and the stored body of a chunk's lines (time
/// in µs, text).
fn chunk_text<'a>(
    lines: impl Iterator<Item = (i64, &'a str)> + Clone,
) -> Result<(Vec<i32>, Vec<u8>), StorageError> {
    Ok((lines_codes(|| lines.clone().map(|(_, line)| line)), text_body::encode(lines)?))
}

/// The distinct codes a row of `lines()` is indexed by, sorted: those of
/// each line (see [`line_codes`]), or, when they hold more than
/// [`DENSE_CODES_CAP`] dense codes, the lines' three-character codes.
pub(crate) fn lines_codes<'a, I: Iterator<Item = &'a str>>(lines: impl Fn() -> I) -> Vec<i32> {
    // A set first: a chunk's lines repeat most of their windows (tens of
    // thousands of codes, a few thousand distinct), and sorting them all
    // was the worker's largest cost after avt's.
    let mut set = HashSet::with_hasher(foldhash::fast::RandomState::default());
    let mut dense = 0;
    for line in lines() {
        line_codes(line, |code| {
            dense += usize::from(set.insert(code) && code < 0);
        });
        if dense > DENSE_CODES_CAP {
            set.clear();
            for line in lines() {
                set.extend(line_grams(line));
            }
            break;
        }
    }
    let mut grams: Vec<i32> = set.into_iter().collect();
    grams.sort_unstable();
    grams
}

/// A row's codes, sorted, as its two columns (V30): the three-character
/// codes (`grams`, not negative) and the dense ones (`dense`, negative).
pub(crate) fn split_codes(codes: &[i32]) -> (&[i32], &[i32]) {
    let (dense, grams) = codes.split_at(codes.partition_point(|&code| code < 0));
    (grams, dense)
}

/// `{1,2,3}`: PostgreSQL's text form of an integer array.
fn array_literal(grams: &[i32]) -> String {
    let mut text = String::with_capacity(grams.len() * 11 + 2);
    text.push('{');
    for (i, gram) in grams.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(text, "{gram}");
    }
    text.push('}');
    text
}

/// Sorts window codes and keeps each once.
pub(crate) fn distinct(grams: &mut Vec<i32>) {
    grams.sort_unstable();
    grams.dedup();
}

/// Snapshots as the arrays one statement inserts them from.
#[derive(Default)]
struct SnapshotColumns {
    after_seq: Vec<i32>,
    at_time: Vec<i64>,
    cols: Vec<i32>,
    rows: Vec<i32>,
    state: Vec<Vec<u8>>,
}

fn db_seq(seq: u32) -> i32 {
    i32::try_from(seq).unwrap_or(i32::MAX)
}

fn seq_from_db(seq: i32) -> u32 {
    u32::try_from(seq).unwrap_or(0)
}

fn dims(terminal: &TerminalSnapshot) -> (i32, i32) {
    (i32::from(terminal.cols), i32::from(terminal.rows))
}

impl Store {
    /// Takes recording `session_id`'s lease for `lease` (see the module's
    /// rules) and returns where its emulation stands; `None` when another
    /// replica holds it or the recording has no emulation (not begun, or
    /// complete).
    pub async fn emulation_claim(
        &self,
        session_id: Uuid,
        lease: &Lease,
    ) -> Result<Option<EmulationState>, StorageError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                include_str!("../sql/emulation_claim.sql"),
                &[&session_id, &lease.holder, &lease.seconds()],
            )
            .await?
        else {
            return Ok(None);
        };
        let terminal = match (
            row.try_get::<_, Option<i32>>("cols")?,
            row.try_get::<_, Option<i32>>("rows")?,
            row.try_get::<_, Option<Vec<u8>>>("state")?,
        ) {
            (Some(cols), Some(rows), Some(state)) => Some(decompress_snapshot(cols, rows, &state)?),
            _ => None,
        };
        Ok(Some(EmulationState {
            next_seq: seq_from_db(row.try_get("next_seq")?),
            terminal,
            schedule: SnapshotSchedule {
                output_since: u64::try_from(row.try_get::<_, i64>("output_since_snapshot")?)
                    .unwrap_or(0),
                last_snapshot: micros_from_db(row.try_get("last_snapshot_us")?),
            },
            text: TranscriptCarry {
                pending: row.try_get("text_pending")?,
                last_time: row.try_get::<_, Option<i64>>("text_time_us")?.map(micros_from_db),
            },
            backfill_until: seq_from_db(row.try_get("backfill_until")?),
        }))
    }

    /// The stored side of recording `session_id`, which its emulation
    /// follows; `None` for an unknown recording.
    pub async fn emulation_target(
        &self,
        session_id: Uuid,
    ) -> Result<Option<EmulationTarget>, StorageError> {
        let client = self.client().await?;
        let row =
            client.query_opt(include_str!("../sql/emulation_target.sql"), &[&session_id]).await?;
        row.map(|row| {
            Ok(EmulationTarget {
                header: row.try_get("header")?,
                next_seq: seq_from_db(row.try_get("next_seq")?),
                finalized: row.try_get("finalized")?,
                purged: row.try_get("purged")?,
            })
        })
        .transpose()
    }

    /// Stored chunks from `from_seq` on, in order: as many as fit in
    /// [`BATCH_BYTES`](super::BATCH_BYTES) once decompressed (at least one
    /// when there is one, at most 64: `BATCH_CHUNKS`).
    pub async fn emulation_chunks(
        &self,
        session_id: Uuid,
        from_seq: u32,
    ) -> Result<ChunkBatch, StorageError> {
        let client = self.client().await?;
        let rows = query_chunks(&**client, session_id, db_seq(from_seq), i32::MAX).await?;
        drop(client);
        let chunks = load_chunks(self.objects(), rows).await?;
        let bytes: usize = chunks.iter().map(|c| c.lines.len()).sum();
        let more = chunks.len() as i64 >= BATCH_CHUNKS || bytes as i64 >= BATCH_BYTES;
        let chunks = chunks
            .into_iter()
            .map(|chunk| ChunkLines {
                seq: seq_from_db(chunk.seq),
                first_time: chunk.first_time,
                last_time: chunk.last_time,
                lines: chunk.lines,
            })
            .collect();
        Ok(ChunkBatch { chunks, more })
    }

    /// Records `progress` of recording `session_id`'s emulation, which
    /// started from chunk `from_seq`, with its snapshots, and renews the
    /// lease, in one statement. `false`, writing nothing, when `lease` no
    /// longer holds the recording or its position moved (another worker
    /// took it over).
    pub async fn emulation_commit(
        &self,
        session_id: Uuid,
        lease: &Lease,
        from_seq: u32,
        progress: &EncodedProgress,
    ) -> Result<bool, StorageError> {
        let EncodedProgress {
            next_seq,
            cols,
            rows,
            state,
            output_since,
            last_snapshot,
            snapshots,
            text_pending,
            text_last_time,
            lines,
            screen_grams,
            screen_dense,
            screen_body,
        } = progress;
        let client = self.client().await?;
        let row = client
            .query_one(
                include_str!("../sql/emulation_commit.sql"),
                &[
                    &session_id,
                    &lease.holder,
                    &db_seq(from_seq),
                    next_seq,
                    cols,
                    rows,
                    state,
                    output_since,
                    last_snapshot,
                    &lease.seconds(),
                    &snapshots.after_seq,
                    &snapshots.at_time,
                    &snapshots.cols,
                    &snapshots.rows,
                    &snapshots.state,
                    text_pending,
                    text_last_time,
                    &lines.seq,
                    &lines.grams,
                    &lines.body,
                    screen_body,
                    screen_grams,
                    &lines.first_seq,
                    screen_dense,
                    &lines.dense,
                ],
            )
            .await?;
        Ok(row.try_get::<_, i64>("moved")? > 0)
    }

    /// Renews `lease` on recording `session_id`; `false` when another
    /// replica holds it now.
    pub async fn emulation_renew(
        &self,
        session_id: Uuid,
        lease: &Lease,
    ) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let updated = client
            .execute(
                include_str!("../sql/emulation_renew.sql"),
                &[&session_id, &lease.holder, &lease.seconds()],
            )
            .await?;
        Ok(updated > 0)
    }

    /// Gives `lease` on recording `session_id` back, so any replica may
    /// take it at once.
    pub async fn emulation_release(
        &self,
        session_id: Uuid,
        lease: &Lease,
    ) -> Result<(), StorageError> {
        let client = self.client().await?;
        client
            .execute(include_str!("../sql/emulation_release.sql"), &[&session_id, &lease.holder])
            .await?;
        Ok(())
    }

    /// Ends the emulation of a finalized recording whose every chunk is
    /// emulated (its row goes, its last screen becomes its last lines of
    /// text); `false` when chunks remain or `lease` does
    /// not hold it.
    pub async fn emulation_finish(
        &self,
        session_id: Uuid,
        lease: &Lease,
    ) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_one(include_str!("../sql/emulation_finish.sql"), &[&session_id, &lease.holder])
            .await?;
        Ok(row.try_get::<_, i64>("done")? > 0)
    }

    /// Up to `limit` recordings with emulation work that `lease`'s holder
    /// may take (free, expired or its own leases), those waiting longest
    /// first.
    pub async fn emulation_pending(
        &self,
        lease: &Lease,
        limit: i64,
    ) -> Result<Vec<Uuid>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(include_str!("../sql/emulation_pending.sql"), &[&lease.holder, &limit])
            .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    /// How far the emulation is behind the stored chunks, over every
    /// recording (for `/metrics`).
    pub async fn emulation_lag(&self) -> Result<EmulationLag, StorageError> {
        let client = self.client().await?;
        let row = client.query_one(include_str!("../sql/emulation_lag.sql"), &[]).await?;
        Ok(EmulationLag {
            recordings: row.try_get("behind")?,
            chunks: row.try_get("chunks")?,
            seconds: row.try_get("seconds")?,
            leased: row.try_get("leased")?,
        })
    }

    /// Whether recording `session_id`'s text lacks chunks emulated before
    /// the text was extracted (V17), which the workers are playing again.
    pub async fn recording_text_pending(&self, session_id: Uuid) -> Result<bool, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_one(include_str!("../sql/recording_text_pending.sql"), &[&session_id])
            .await?;
        Ok(row.try_get("pending")?)
    }

    /// How many of project `project_id`'s recordings have text still being
    /// extracted (see [`Store::recording_text_pending`]).
    pub async fn recording_text_pending_count(
        &self,
        project_id: Uuid,
    ) -> Result<i64, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_one(include_str!("../sql/recording_text_pending_count.sql"), &[&project_id])
            .await?;
        Ok(row.try_get("pending")?)
    }

    /// Every snapshot of recording `session_id`, in order.
    pub async fn recording_snapshots(
        &self,
        session_id: Uuid,
    ) -> Result<Vec<Snapshot>, StorageError> {
        let client = self.client().await?;
        let rows =
            client.query(include_str!("../sql/recording_snapshots.sql"), &[&session_id]).await?;
        drop(client);
        let refs =
            rows.iter().map(|row| BodyRef::from_row(row, "state")).collect::<Result<_, _>>()?;
        let states = load(self.objects(), refs).await?;
        rows.iter()
            .zip(states)
            .map(|(row, state)| {
                Ok(Snapshot {
                    after_seq: seq_from_db(row.try_get("after_seq")?),
                    at_time: micros_from_db(row.try_get("at_time_us")?),
                    terminal: decompress_snapshot(
                        row.try_get("cols")?,
                        row.try_get("rows")?,
                        &state,
                    )?,
                })
            })
            .collect()
    }
}

/// Lines of random base64 (76 characters, as a key is printed), for
/// tests of dense lines.
#[cfg(test)]
pub(crate) fn key_lines(seed: u64, lines: usize) -> Vec<String> {
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        char::from(BASE64[(state % 64) as usize])
    };
    (0..lines).map(|_| (0..76).map(|_| next()).collect()).collect()
}

#[cfg(test)]
mod tests {
    use termaudit_domain::asciicast::{DENSE_MARK, fold_case, text_grams};

    use super::*;

    #[test]
    fn a_rows_dense_codes_are_capped_by_its_lines_grams() {
        let grams = |lines: &[String]| {
            let mut codes: Vec<i32> = lines.iter().flat_map(|l| line_grams(l)).collect();
            distinct(&mut codes);
            codes
        };
        // 1 000 lines of a key: about 49 000 dense codes, kept.
        let mut lines = key_lines(7, 1000);
        lines.push("2026-01-01 info: rotated".to_owned());
        let codes = lines_codes(|| lines.iter().map(String::as_str));
        let dense = codes.iter().filter(|&&c| c < 0).count();
        assert!(codes.contains(&DENSE_MARK) && (40_000..DENSE_CODES_CAP).contains(&dense));
        // Its three-character codes are the plain line's alone.
        let positive: Vec<i32> = codes.iter().copied().filter(|&c| c >= 0).collect();
        assert_eq!(positive, grams(&lines[1000..]));
        // 3 000: past the cap, the row keeps its lines' three-character codes.
        let mut lines = key_lines(8, 3000);
        lines.push("2026-01-01 info: rotated".to_owned());
        assert_eq!(lines_codes(|| lines.iter().map(String::as_str)), grams(&lines));
    }

    #[test]
    fn a_chunks_codes_are_the_distinct_codes_of_its_folded_lines_sorted() {
        // Thousands of distinct windows, most of them repeated.
        let lines: Vec<String> = (0..3000)
            .map(|i| {
                let han = |k: u32| char::from_u32(0x4e00 + (i * 7 + k) % 3000).unwrap_or('x');
                format!(
                    "Line {i} of {}: ÜBER disk FULL {:x} {}{}{}",
                    i % 7,
                    i * 7919,
                    han(0),
                    han(1),
                    han(2)
                )
            })
            .collect();
        let (grams, body) = chunk_text(lines.iter().map(|l| (0, l.as_str()))).expect("encoded");
        let mut expected: Vec<i32> =
            lines.iter().flat_map(|l| text_grams(&fold_case(l)).collect::<Vec<_>>()).collect();
        expected.sort_unstable();
        expected.dedup();
        assert!(expected.len() > 8192, "{} codes", expected.len());
        assert_eq!(grams, expected);
        let decoded = text_body::TextBody::decode(&body, 0).expect("decoded");
        assert!(decoded.lines().map(|(_, _, l)| l).eq(lines.iter().map(String::as_str)));
    }
}
