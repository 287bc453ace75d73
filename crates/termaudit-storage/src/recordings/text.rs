//! The text the recordings' screens showed (`recording_text`, a row per
//! chunk since V22, written by the emulation's progress, see
//! [`super::emulation`] and [`super::text_body`], and folded into rows of
//! many chunks since V26, see [`super::text_groups`]): search across a
//! project's recordings, search in one, and its transcript.
//!
//! Reads that take a recording's rows a few at a time (`seq > after`)
//! keep only the lines of chunks after `after`: a fold between two reads
//! makes a row that holds chunks read already.
//!
//! A line matches when [`ScreenQuery::positions`] finds the query in it
//! (the line folded holds the folded query). Only the lines of the rows
//! whose codes hold the query's three-character codes (`grams`) or its
//! dense ones (`dense`, V30) are read (the columns' GINs, see
//! [`QueryCodes`]), which every row with such a line does; they are
//! tested here, as they are decompressed.

use std::{collections::HashMap, ops::ControlFlow};

use termaudit_domain::{
    SessionListFilter,
    asciicast::{Micros, QueryCodes, ScreenQuery, fold_case},
};
use uuid::Uuid;

use super::text_body::{TextBody, scan_lines};
use crate::{
    Cursor, Page, StorageError, Store,
    sessions::{SessionRow, list_conditions},
    time::micros_from_db,
};

/// A line of a recording's text that holds the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatchRow {
    pub time: Micros,
    pub line: String,
    /// Where the query starts in the line, in characters.
    pub positions: Vec<usize>,
}

/// A session whose recording showed the query: its first matching lines
/// and how many lines match in all.
#[derive(Debug, Clone)]
pub struct RecordingHit {
    pub session: SessionRow,
    pub matches: Vec<TextMatchRow>,
    pub matching_lines: i64,
}

/// A line of a transcript: its place (chunk, rank; chunk `i32::MAX` is the
/// current screen of a recording still emulated), time and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    pub seq: i32,
    pub n: i32,
    pub time: Micros,
    pub line: String,
}

/// Matching lines are counted up to this per recording.
pub const MATCHING_LINES_CAP: i64 = 100;

/// Tests lines for a query as [`ScreenQuery::positions`] defines a match
/// (the folded line holds the folded query), without a new string per
/// line: an ASCII line is folded into a buffer kept from line to line and
/// searched with `memchr`'s `memmem` (most terminal text is ASCII, and a
/// search may test megabytes of it for a page).
struct LineMatcher<'q> {
    folded: &'q str,
    finder: memchr::memmem::Finder<'q>,
    buffer: Vec<u8>,
}

impl<'q> LineMatcher<'q> {
    fn new(query: &'q ScreenQuery) -> Self {
        let folded = query.folded.as_str();
        Self { folded, finder: memchr::memmem::Finder::new(folded), buffer: Vec::new() }
    }

    fn matches(&mut self, line: &str) -> bool {
        if !line.is_ascii() {
            return fold_case(line).contains(self.folded);
        }
        self.buffer.clear();
        self.buffer.extend_from_slice(line.as_bytes());
        self.buffer.make_ascii_lowercase();
        self.finder.find(&self.buffer).is_some()
    }
}

fn match_row(query: &ScreenQuery, time_us: i64, line: String) -> TextMatchRow {
    TextMatchRow { time: micros_from_db(time_us), positions: query.positions(&line), line }
}

/// Rows (a chunk's lines, or a group of chunks') read per recording in a
/// scan's first round (then 4x more each round, up to
/// [`MAX_ROUND_CHUNKS`]): a page of hits mostly needs one.
const FIRST_ROUND_CHUNKS: i64 = 2;
const MAX_ROUND_CHUNKS: i64 = 64;
/// Rows read per round of [`Store::recording_transcript_chunks`]: a
/// round's lines are in memory at once, with the next round's (read while
/// it is sent), so a few rows (a group of chunks holds about 1 MiB of
/// text, a chunk's lines 4 MiB at most).
const TRANSCRIPT_CHUNKS_PER_READ: i64 = 4;

/// A recording's matching lines found so far by [`Store::scan_matches`].
#[derive(Debug, Default)]
struct Scanned {
    /// The first matching lines, up to the scan's `keep`.
    matches: Vec<TextMatchRow>,
    /// Matching lines counted, up to the scan's `cap`.
    count: usize,
}

impl Store {
    /// For each recording of `ids`: its first `keep` lines holding `query`
    /// in the recording's order, and how many lines hold it, counted up to
    /// `cap` (reading stops there). Reads the chunks whose window codes
    /// hold the query's, a few per recording at first, more for those that
    /// need more.
    async fn scan_matches(
        &self,
        ids: &[Uuid],
        query: &ScreenQuery,
        keep: usize,
        cap: usize,
    ) -> Result<HashMap<Uuid, Scanned>, StorageError> {
        let codes = QueryCodes::of(&query.folded);
        let mut scanned: HashMap<Uuid, Scanned> = HashMap::new();
        // Recordings still read, and the last chunk read of each.
        let mut open: Vec<(Uuid, i32)> = ids.iter().map(|&id| (id, -1)).collect();
        let mut round = FIRST_ROUND_CHUNKS;
        let client = self.client().await?;
        let mut matcher = LineMatcher::new(query);
        while !open.is_empty() {
            let after_of: HashMap<Uuid, i32> = open.iter().copied().collect();
            let (sessions, after): (Vec<Uuid>, Vec<i32>) = open.iter().copied().unzip();
            let rows = client
                .query(
                    include_str!("../sql/recording_text_candidates.sql"),
                    &[&sessions, &after, &codes.grams, &round, &codes.dense],
                )
                .await?;
            let mut read: HashMap<Uuid, (i64, i32)> = HashMap::new();
            for row in rows {
                let id: Uuid = row.try_get("session_id")?;
                let seq: i32 = row.try_get("seq")?;
                let entry = read.entry(id).or_default();
                *entry = (entry.0 + 1, seq);
                let hit = scanned.entry(id).or_default();
                if hit.count >= cap {
                    continue;
                }
                let after = after_of.get(&id).copied().unwrap_or(-1);
                scan_lines(row.try_get("body")?, seq, |line_seq, time_us, line| {
                    if line_seq <= after || !matcher.matches(line) {
                        return ControlFlow::Continue(());
                    }
                    hit.count += 1;
                    if hit.matches.len() < keep {
                        hit.matches.push(match_row(query, time_us, line.to_owned()));
                    }
                    if hit.count >= cap {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })?;
            }
            // Recordings go on while their chunks filled the round and
            // their count is below the cap.
            open = open
                .into_iter()
                .filter_map(|(id, _)| {
                    let &(chunks, last) = read.get(&id)?;
                    let count = scanned.get(&id).map_or(0, |hit| hit.count);
                    (chunks >= round && count < cap).then_some((id, last))
                })
                .collect();
            round = (round * 4).min(MAX_ROUND_CHUNKS);
        }
        Ok(scanned)
    }

    /// One page of a project's sessions whose recordings showed `query`,
    /// newest first, filtered like the history (but for `filter.text`),
    /// each with its first `per_hit` matching lines and how many lines
    /// match, counted up to 100 (`MATCHING_LINES_CAP`).
    pub async fn recording_text_search(
        &self,
        project_id: Uuid,
        filter: &SessionListFilter,
        query: &ScreenQuery,
        after: Option<&Cursor>,
        limit: usize,
        per_hit: usize,
    ) -> Result<Page<RecordingHit>, StorageError> {
        let codes = QueryCodes::of(&query.folded);
        let cap = usize::try_from(MATCHING_LINES_CAP).unwrap_or(usize::MAX);
        let mut items: Vec<RecordingHit> = Vec::new();
        let mut cursor = after.cloned();
        // Sessions with a chunk holding the query's codes, newest first, as
        // many as the page still needs (and one to tell whether more
        // follow); the few whose chunks hold the codes but no matching line
        // are skipped, and more are read after them.
        loop {
            let wanted = limit + 1 - items.len();
            let mut c = list_conditions(project_id, filter, cursor.as_ref())?;
            // `$1`: the project id.
            let grams = c.param(Box::new(codes.grams.clone()));
            let dense = c.param(Box::new(codes.dense.clone()));
            // `recording_text_codes_read`: what testing a row's codes
            // costs, for the planner (V27), so a rare word goes through the
            // GIN however few rows the table has.
            c.and(format!(
                "s.id IN (SELECT t.session_id FROM recording_text t \
                 WHERE t.project_id = $1 \
                 AND (t.grams @> {grams}::int4[] OR t.dense @> {dense}::int4[]) \
                 AND recording_text_codes_read(t.seq))"
            ));
            let limit_param = c.param(Box::new(wanted as i64));
            let sql = format!(
                "{} WHERE {} ORDER BY s.opened_at DESC, s.id DESC LIMIT {limit_param}",
                include_str!("../sql/session_columns.sql"),
                c.where_clause()
            );
            let rows = self.client().await?.query(&sql, &c.params()).await?;
            let candidates: Vec<SessionRow> =
                rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
            let exhausted = candidates.len() < wanted;
            cursor = candidates
                .last()
                .map(|last| Cursor { time: last.opened_at, id: last.id.to_string() });
            let ids: Vec<Uuid> = candidates.iter().map(|s| s.id).collect();
            let mut scanned = self.scan_matches(&ids, query, per_hit, cap).await?;
            for session in candidates {
                match scanned.remove(&session.id) {
                    Some(hit) if hit.count > 0 => items.push(RecordingHit {
                        session,
                        matches: hit.matches,
                        matching_lines: hit.count as i64,
                    }),
                    _ => {}
                }
            }
            if items.len() > limit || exhausted {
                break;
            }
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| Cursor {
                time: last.session.opened_at,
                id: last.session.id.to_string(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The first `limit` lines of recording `session_id`'s text holding
    /// `query`, in the recording's order, and whether more match.
    pub async fn recording_text_matches(
        &self,
        session_id: Uuid,
        query: &ScreenQuery,
        limit: usize,
    ) -> Result<(Vec<TextMatchRow>, bool), StorageError> {
        let mut scanned = self.scan_matches(&[session_id], query, limit, limit + 1).await?;
        let hit = scanned.remove(&session_id).unwrap_or_default();
        Ok((hit.matches, hit.count > limit))
    }

    /// The lines of recording `session_id`'s text a few rows at a time: the
    /// lines of the chunks after chunk `after` (`None`: from the first) in
    /// up to 4 (`TRANSCRIPT_CHUNKS_PER_READ`) rows, in the recording's
    /// order, and the chunk to read after next (`None` once the text is all
    /// read). One statement a call; the rows are decompressed off the
    /// caller's thread (a blocking task), so a response written on it goes
    /// on meanwhile.
    pub async fn recording_transcript_chunks(
        &self,
        session_id: Uuid,
        after: Option<i32>,
    ) -> Result<(Vec<TranscriptLine>, Option<i32>), StorageError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, body FROM recording_text \
                 WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&session_id, &after.unwrap_or(-1), &TRANSCRIPT_CHUNKS_PER_READ],
            )
            .await?;
        let last = match rows.last() {
            Some(row) => row.try_get::<_, i32>("seq")?,
            None => return Ok((Vec::new(), None)),
        };
        // The current screen (`i32::MAX`) is the last chunk.
        let next =
            (rows.len() as i64 >= TRANSCRIPT_CHUNKS_PER_READ && last < i32::MAX).then_some(last);
        let lines = tokio::task::spawn_blocking(move || {
            let mut lines: Vec<TranscriptLine> = Vec::new();
            let after = after.unwrap_or(-1);
            for row in &rows {
                let body = TextBody::decode(row.try_get("body")?, row.try_get("seq")?)?;
                for (seq, time_us, line) in body.lines().filter(|&(seq, _, _)| seq > after) {
                    // A line's rank among those its chunk finished.
                    let n = match lines.last() {
                        Some(previous) if previous.seq == seq => previous.n + 1,
                        _ => 0,
                    };
                    lines.push(TranscriptLine {
                        seq,
                        n,
                        time: micros_from_db(time_us),
                        line: line.to_owned(),
                    });
                }
            }
            Ok::<_, StorageError>(lines)
        })
        .await
        .map_err(|e| StorageError::Corrupt(format!("a transcript's decoding failed: {e}")))??;
        Ok((lines, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_agrees_with_folding_each_line() {
        let lines = [
            "ERROR: disk full",
            "an Error in Ünïcode",
            "ÜBER error",
            "plain text",
            "",
            "ünï",
            "tab\there ÜNÏ",
            "İstanbul ıi",
        ];
        for query in ["error", "ünï", "disk FULL", "ı", "i̇", "xyz", "über e"] {
            let query = ScreenQuery::parse(query, 1).unwrap();
            let mut matcher = LineMatcher::new(&query);
            for line in lines {
                let expected = fold_case(line).contains(query.folded.as_str());
                assert_eq!(matcher.matches(line), expected, "{query:?} in {line:?}");
                assert_eq!(expected, !query.positions(line).is_empty(), "{query:?} in {line:?}");
            }
        }
    }
}
