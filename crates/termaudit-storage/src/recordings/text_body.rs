//! How a chunk's lines of text are stored (`recording_text.body`, V22):
//! one value per chunk, not a row per line.
//!
//! The lines, in order, each as `{delta}\t{line}\n`, where `delta` is its
//! time in µs less the previous line's (the first line's: its time), in
//! decimal: the lines a chunk finishes mostly share their times, so most
//! deltas are `0`. A line never holds a newline (nor any control
//! character: see `termaudit_domain::asciicast::transcript`); a tab in one
//! would still read back, as only the first tab of a line is the
//! separator. The first byte says how the rest is kept:
//! - [`ZSTD`]: zstd-compressed, as the workers write it (like the chunks);
//! - [`PLAIN`]: as is, as V22 moved the lines stored before it (SQL has no
//!   zstd), which PostgreSQL then compresses itself (the column's `lz4`).

use crate::StorageError;

use std::fmt::Write as _;

use super::codec::{compress, decompress_whole};

const PLAIN: u8 = 0;
const ZSTD: u8 = 1;

/// The stored form of `lines` (time in µs, text).
pub(super) fn encode<'a>(
    lines: impl IntoIterator<Item = (i64, &'a str)>,
) -> Result<Vec<u8>, StorageError> {
    let mut text = String::new();
    let mut previous = 0i64;
    for (time, line) in lines {
        let _ = write!(text, "{}\t", time.wrapping_sub(previous));
        text.push_str(line);
        text.push('\n');
        previous = time;
    }
    let mut body = vec![ZSTD];
    body.extend(compress(text.as_bytes())?);
    Ok(body)
}

/// A chunk's lines read back: each line's time (µs) and text.
pub(super) struct TextBody {
    text: String,
    /// Each line's time and its text's byte range in `text`.
    lines: Vec<(i64, usize, usize)>,
}

impl TextBody {
    pub(super) fn decode(body: &[u8]) -> Result<Self, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("a chunk's text {what}"));
        let bytes = match body.split_first() {
            Some((&PLAIN, rest)) => rest.to_vec(),
            Some((&ZSTD, rest)) => decompress_whole(rest)?,
            _ => return Err(corrupt("has an unknown form")),
        };
        let text = String::from_utf8(bytes).map_err(|_| corrupt("is not UTF-8"))?;
        let mut lines = Vec::new();
        let mut time = 0i64;
        let mut start = 0;
        for record in text.split_terminator('\n') {
            let (delta, line) = record.split_once('\t').ok_or_else(|| corrupt("has no time"))?;
            let from = start + delta.len() + 1;
            let delta: i64 = delta.parse().map_err(|_| corrupt("has a bad time"))?;
            time = time.wrapping_add(delta);
            lines.push((time, from, from + line.len()));
            start += record.len() + 1;
        }
        Ok(Self { text, lines })
    }

    /// The lines in order: time (µs) and text.
    pub(super) fn lines(&self) -> impl Iterator<Item = (i64, &str)> + '_ {
        self.lines.iter().map(|&(time, from, to)| (time, &self.text[from..to]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_written() {
        let lines = [(5_000_000, "$ ls"), (5_000_000, "a\tb  ünï"), (4_000, "x"), (9_000_000, "")];
        let body = encode(lines.iter().map(|&(t, l)| (t, l))).unwrap();
        let read: Vec<(i64, String)> =
            TextBody::decode(&body).unwrap().lines().map(|(t, l)| (t, l.to_owned())).collect();
        let expected: Vec<(i64, String)> = lines.iter().map(|&(t, l)| (t, l.to_owned())).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn plain_bodies_as_v22_writes_them_read_back() {
        let body = b"\x007\tfirst\n0\tsame time\n-2\tearlier\n";
        let read: Vec<(i64, String)> =
            TextBody::decode(body).unwrap().lines().map(|(t, l)| (t, l.to_owned())).collect();
        assert_eq!(
            read,
            vec![(7, "first".to_owned()), (7, "same time".to_owned()), (5, "earlier".to_owned())]
        );
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        for body in [&b""[..], b"\x09abc", b"\x00no tab\n", b"\x00x\tline\n", b"\x01notzstd"] {
            assert!(TextBody::decode(body).is_err(), "{body:?}");
        }
    }
}
