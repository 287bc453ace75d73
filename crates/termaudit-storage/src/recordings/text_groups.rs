//! Folding a recording's rows of text together (V26): an emulation
//! worker's small batch (a live recording's) writes a row per chunk that
//! finished lines, so a line is searchable within seconds; once a
//! recording's rows of one chunk hold about a MiB of text (and when it
//! ends) its worker folds them into one row of several chunks, as it
//! writes a larger batch at once: one set of window codes instead of one
//! per chunk (a chunk's codes are mostly its neighbours'), and one body
//! compressed better (see [`super::text_body`]). Reads see the rows before
//! or the row after, never both, and never a line twice (see
//! [`super::text`]).

use termaudit_domain::asciicast::DENSE_CODES_CAP;
use uuid::Uuid;

use super::{
    emulation::{Lease, distinct, lines_codes, split_codes},
    text_body,
};
use crate::{StorageError, Store};

/// A row of one chunk's lines, read back to be folded.
struct ChunkRow {
    seq: i32,
    /// Its codes, both columns' (see [`split_codes`]).
    grams: Vec<i32>,
    body: Vec<u8>,
}

/// Several chunks' rows as one: the union of their codes (or, when that
/// holds more than [`DENSE_CODES_CAP`] dense codes, the codes of their
/// lines as one row, see [`lines_codes`]) and one body.
fn fold(rows: &[ChunkRow]) -> Result<(Vec<i32>, Vec<u8>), StorageError> {
    let mut grams: Vec<i32> = rows.iter().flat_map(|row| row.grams.iter().copied()).collect();
    distinct(&mut grams);
    let bodies = rows
        .iter()
        .map(|row| text_body::TextBody::decode(&row.body, row.seq))
        .collect::<Result<Vec<_>, _>>()?;
    let lines = || bodies.iter().flat_map(text_body::TextBody::lines);
    if split_codes(&grams).1.len() > DENSE_CODES_CAP {
        grams = lines_codes(|| lines().map(|(_, _, line)| line));
    }
    let body = text_body::encode_group(lines())?;
    Ok((grams, body))
}

/// A recording's rows of one chunk's text to fold into one
/// ([`Store::recording_text_to_fold`]).
pub struct TextToFold {
    session_id: Uuid,
    project_id: Uuid,
    rows: Vec<ChunkRow>,
    /// More rows in the range were left for another fold.
    more: bool,
}

/// [`TextToFold`] folded, ready to replace its rows
/// ([`Store::recording_text_fold`]).
pub struct FoldedText {
    session_id: Uuid,
    project_id: Uuid,
    seqs: Vec<i32>,
    grams: Vec<i32>,
    body: Vec<u8>,
}

impl TextToFold {
    /// How many rows it would fold (fewer than two: nothing to fold).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The last chunk of its rows.
    pub fn last_seq(&self) -> Option<i32> {
        self.rows.last().map(|row| row.seq)
    }

    /// Whether rows of the range were left for a fold after this one.
    pub fn more(&self) -> bool {
        self.more
    }

    /// Decodes the rows and compresses their lines as one body: CPU work
    /// on about a MiB of text, which the workers do on the emulation's
    /// threads.
    pub fn fold(self) -> Result<FoldedText, StorageError> {
        let (grams, body) = fold(&self.rows)?;
        Ok(FoldedText {
            session_id: self.session_id,
            project_id: self.project_id,
            seqs: self.rows.iter().map(|row| row.seq).collect(),
            grams,
            body,
        })
    }
}

impl Store {
    /// Recording `session_id`'s rows of one chunk's text after chunk
    /// `after` up to chunk `up_to`, in order, as many as start within
    /// `max_bytes` of stored bodies (at least one): a fold's memory stays
    /// bounded whatever the range (a recording's rows written before V26
    /// are all of one chunk).
    pub async fn recording_text_to_fold(
        &self,
        session_id: Uuid,
        after: i32,
        up_to: i32,
        max_bytes: i64,
    ) -> Result<TextToFold, StorageError> {
        let client = self.client().await?;
        let read = client
            .query(
                include_str!("../sql/recording_text_to_fold.sql"),
                &[&session_id, &after, &up_to, &max_bytes],
            )
            .await?;
        let (project_id, in_range): (Uuid, i64) = match read.first() {
            Some(row) => (row.try_get("project_id")?, row.try_get("in_range")?),
            None => (Uuid::nil(), 0),
        };
        let rows = read
            .iter()
            .map(|row| {
                let mut grams: Vec<i32> = row.try_get("dense")?;
                grams.extend(row.try_get::<_, Vec<i32>>("grams")?);
                Ok(ChunkRow { seq: row.try_get("seq")?, grams, body: row.try_get("body")? })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let more = in_range > rows.len() as i64;
        Ok(TextToFold { session_id, project_id, rows, more })
    }

    /// Replaces the rows `folded` was made of by it, a row keyed by their
    /// last chunk, in one transaction, if `lease` still holds the
    /// recording's emulation (its worker is the only writer of its text);
    /// `false`, writing nothing, when it does not. Rows gone meanwhile (a
    /// purge) leave everything as it is.
    pub async fn recording_text_fold(
        &self,
        lease: &Lease,
        folded: &FoldedText,
    ) -> Result<bool, StorageError> {
        let FoldedText { session_id, project_id, seqs, grams, body } = folded;
        let (grams, dense) = split_codes(grams);
        let (Some(first_seq), Some(last_seq)) = (seqs.first(), seqs.last()) else {
            return Ok(true);
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let held = tx
            .query_opt(
                "SELECT 1 FROM recording_emulation \
                 WHERE session_id = $1 AND holder = $2 FOR UPDATE",
                &[session_id, &lease.holder()],
            )
            .await?;
        if held.is_none() {
            return Ok(false);
        }
        let gone = tx
            .execute(
                "DELETE FROM recording_text \
                 WHERE session_id = $1 AND seq = ANY ($2) AND first_seq IS NULL",
                &[session_id, seqs],
            )
            .await?;
        if gone != seqs.len() as u64 {
            tracing::debug!(%session_id, "a recording's text changed while folded; left as it is");
            return Ok(true);
        }
        tx.execute(
            "INSERT INTO recording_text \
             (session_id, project_id, seq, first_seq, grams, dense, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[session_id, project_id, last_seq, first_seq, &grams, &dense, body],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use termaudit_domain::asciicast::DENSE_MARK;

    use super::{super::emulation::key_lines, *};

    #[test]
    fn a_fold_keeps_every_line_with_its_chunk_and_every_code() {
        let chunk = |seq: i32, grams: Vec<i32>, lines: &[(i64, &str)]| ChunkRow {
            seq,
            grams,
            body: text_body::encode(lines.iter().copied()).unwrap(),
        };
        let rows = [
            chunk(3, vec![1, 5, 9], &[(10, "one"), (10, "two")]),
            chunk(4, vec![2, 5], &[(12, "three")]),
            chunk(9, vec![], &[(20, ""), (21, "ünï")]),
        ];
        let (grams, body) = fold(&rows).unwrap();
        assert_eq!(grams, vec![1, 2, 5, 9]);
        let read: Vec<(i32, i64, String)> = text_body::TextBody::decode(&body, 9)
            .unwrap()
            .lines()
            .map(|(s, t, l)| (s, t, l.to_owned()))
            .collect();
        let expected =
            [(3, 10, "one"), (3, 10, "two"), (4, 12, "three"), (9, 20, ""), (9, 21, "ünï")];
        assert_eq!(read, expected.map(|(s, t, l)| (s, t, l.to_owned())));
    }

    #[test]
    fn a_fold_past_the_dense_cap_keeps_its_lines_grams() {
        let row = |seq: i32, lines: &[String]| {
            let lines = || lines.iter().map(|l| (0, l.as_str()));
            let grams = lines_codes(|| lines().map(|(_, l)| l));
            ChunkRow { seq, grams, body: text_body::encode(lines()).unwrap() }
        };
        let keys = [key_lines(1, 1200), key_lines(2, 1200)];
        let rows = [row(1, &keys[0]), row(2, &keys[1])];
        assert!(rows.iter().all(|r| r.grams.contains(&DENSE_MARK)));
        // Each row under the cap, the two past it: the fold's codes are
        // those of its lines as one row.
        let (grams, _) = fold(&rows).unwrap();
        let all: Vec<String> = keys.concat();
        assert_eq!(grams, lines_codes(|| all.iter().map(String::as_str)));
        assert!(!grams.contains(&DENSE_MARK));
        // Under the cap, the union of the rows' codes.
        let (grams, _) = fold(&rows[..1]).unwrap();
        assert_eq!(grams, rows[0].grams);
    }
}
