//! The text the recordings' screens showed (`recording_text`, written by
//! the emulation's progress, see [`super::emulation`]): search across a
//! project's recordings, search in one, and its transcript.
//!
//! Every search compares `coalesce(folded, line)` with the folded query as
//! a literal `LIKE '%...%'`, so SQL finds exactly the lines
//! [`ScreenQuery::positions`] finds matches in; it reads only the lines of
//! the chunks whose window codes (`recording_text_grams`, V21) hold every
//! code of the query, which every chunk with such a line does.

use termaudit_domain::{
    SessionListFilter,
    asciicast::{Micros, ScreenQuery, text_grams},
};
use uuid::Uuid;

use crate::{
    Cursor, Page, StorageError, Store,
    sessions::{SessionRow, list_conditions},
    sql::contains_pattern,
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

/// The order of a recording's lines: finished lines by chunk and rank, the
/// current screen (`seq = i32::MAX`) last: the primary key's order.
const LINE_ORDER: &str = "t.seq, t.n";
/// Matching lines are counted up to this per recording.
pub const MATCHING_LINES_CAP: i64 = 100;
/// What a line is compared with.
const LINE_TEXT: &str = "coalesce(t.folded, t.line)";

/// The query's distinct window codes (none under three characters: every
/// chunk's codes hold them).
fn query_grams(query: &ScreenQuery) -> Vec<i32> {
    let mut grams: Vec<i32> = text_grams(&query.folded).collect();
    super::emulation::distinct(&mut grams);
    grams
}

fn match_row(query: &ScreenQuery, time_us: i64, line: String) -> TextMatchRow {
    TextMatchRow { time: micros_from_db(time_us), positions: query.positions(&line), line }
}

impl Store {
    /// One page of a project's sessions whose recordings showed `query`,
    /// newest first, filtered like the history (but for `filter.text`),
    /// each with its first `per_hit` matching lines and how many lines
    /// match, counted up to [`MATCHING_LINES_CAP`].
    pub async fn recording_text_search(
        &self,
        project_id: Uuid,
        filter: &SessionListFilter,
        query: &ScreenQuery,
        after: Option<&Cursor>,
        limit: usize,
        per_hit: usize,
    ) -> Result<Page<RecordingHit>, StorageError> {
        let mut c = list_conditions(project_id, filter, after)?;
        // `$1`: the project id.
        let project = "$1";
        let pattern = c.param(Box::new(contains_pattern(&query.folded)));
        let grams = c.param(Box::new(query_grams(query)));
        c.and(format!(
            "s.id IN (SELECT g.session_id FROM recording_text_grams g \
             JOIN recording_text t ON t.session_id = g.session_id AND t.seq = g.seq \
             WHERE g.project_id = {project} AND g.grams @> {grams}::int4[] \
             AND {LINE_TEXT} LIKE {pattern})"
        ));
        let limit_param = c.param(Box::new(limit as i64 + 1));
        let sql = format!(
            "{} WHERE {} ORDER BY s.opened_at DESC, s.id DESC LIMIT {limit_param}",
            include_str!("../sql/session_columns.sql"),
            c.where_clause()
        );
        let client = self.client().await?;
        let rows = client.query(&sql, &c.params()).await?;
        let mut sessions: Vec<SessionRow> =
            rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
        let next = if sessions.len() > limit {
            sessions.truncate(limit);
            sessions.last().map(|last| Cursor { time: last.opened_at, id: last.id.to_string() })
        } else {
            None
        };
        let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
        let rows = client
            .query(
                include_str!("../sql/recording_text_matches.sql"),
                &[
                    &project_id,
                    &ids,
                    &contains_pattern(&query.folded),
                    &(per_hit as i64),
                    &MATCHING_LINES_CAP,
                    &query_grams(query),
                ],
            )
            .await?;
        let mut items: Vec<RecordingHit> = sessions
            .into_iter()
            .map(|session| RecordingHit { session, matches: Vec::new(), matching_lines: 0 })
            .collect();
        for row in rows {
            let id: Uuid = row.try_get("session_id")?;
            if let Some(hit) = items.iter_mut().find(|hit| hit.session.id == id) {
                hit.matching_lines = row.try_get("total")?;
                hit.matches.push(match_row(query, row.try_get("time_us")?, row.try_get("line")?));
            }
        }
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
        let client = self.client().await?;
        let sql = format!(
            "SELECT t.time_us, t.line FROM recording_text_grams g \
             JOIN recording_text t ON t.session_id = g.session_id AND t.seq = g.seq \
             WHERE g.session_id = $1 AND g.grams @> $4::int4[] AND {LINE_TEXT} LIKE $2 \
             ORDER BY {LINE_ORDER} LIMIT $3"
        );
        let rows = client
            .query(
                &sql,
                &[
                    &session_id,
                    &contains_pattern(&query.folded),
                    &(limit as i64 + 1),
                    &query_grams(query),
                ],
            )
            .await?;
        let more = rows.len() > limit;
        let matches = rows
            .into_iter()
            .take(limit)
            .map(|row| Ok(match_row(query, row.try_get("time_us")?, row.try_get("line")?)))
            .collect::<Result<_, StorageError>>()?;
        Ok((matches, more))
    }

    /// Up to `limit` lines of recording `session_id`'s text after line
    /// `after` (a `(seq, n)` of a previous page; `None` for the first), in
    /// the recording's order (see [`TranscriptLine`]).
    pub async fn recording_transcript_page(
        &self,
        session_id: Uuid,
        after: Option<(i32, i32)>,
        limit: usize,
    ) -> Result<Vec<TranscriptLine>, StorageError> {
        let client = self.client().await?;
        // In the primary key's order: finished lines, then the current screen.
        let (seq, n) = after.unwrap_or((-1, 0));
        let sql = "SELECT seq, n, time_us, line FROM recording_text \
                   WHERE session_id = $1 AND (seq, n) > ($2, $3) ORDER BY seq, n LIMIT $4";
        let rows = client.query(sql, &[&session_id, &seq, &n, &(limit as i64)]).await?;
        rows.into_iter()
            .map(|row| {
                Ok(TranscriptLine {
                    seq: row.try_get("seq")?,
                    n: row.try_get("n")?,
                    time: micros_from_db(row.try_get("time_us")?),
                    line: row.try_get("line")?,
                })
            })
            .collect()
    }
}
