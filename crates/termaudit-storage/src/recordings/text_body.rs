//! How a recording's lines of text are stored (`recording_text.body`):
//! one value per row, not a row per line.
//!
//! A row of one chunk (V22) holds the lines that chunk finished, in order,
//! each as `{delta}\t{line}\n`, where `delta` is its time in µs less the
//! previous line's (the first line's: its time), in decimal: the lines a
//! chunk finishes mostly share their times, so most deltas are `0`. A row
//! of several chunks (V26, [`GROUP`]) holds each line as
//! `{seq delta}\t{delta}\t{line}\n`, `seq delta` being the chunk that
//! finished it less the previous line's (the first line's: its chunk). A
//! line never holds a newline (nor any control character: see
//! `termaudit_domain::asciicast::transcript`); a tab in one would still
//! read back, as only the first tabs of a line are separators. The first
//! byte says how the rest is kept:
//! - [`ZSTD`]: zstd-compressed (level 1, like the chunks), as the workers
//!   write a chunk's lines;
//! - [`PLAIN`]: as is, as V22 moved the lines stored before it (SQL has no
//!   zstd), which PostgreSQL then compresses itself (the column's `lz4`);
//! - [`GROUP`]: several chunks' lines, zstd at [`GROUP_LEVEL`], as the
//!   workers fold a recording's rows together.

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader},
    ops::ControlFlow,
};

use super::codec::{compress, decompress_whole};
use crate::StorageError;

const PLAIN: u8 = 0;
const ZSTD: u8 = 1;
const GROUP: u8 = 2;

/// zstd's level for a group of chunks' lines: written once per MiB of
/// text, off the ingest's path. On the search bench's text, 1 MiB at
/// level 3 is 3.81 times smaller, against 3.30 for 55 KB bodies at level 1
/// (level 6: 4.02, but at a third of the speed: 85 against 259 MB/s).
const GROUP_LEVEL: i32 = 3;

/// The stored form of one chunk's `lines` (time in µs, text).
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

/// The stored form of several chunks' `lines` (chunk, time in µs, text),
/// in order.
pub(super) fn encode_group<'a>(
    lines: impl IntoIterator<Item = (i32, i64, &'a str)>,
) -> Result<Vec<u8>, StorageError> {
    let mut text = String::new();
    let (mut previous_seq, mut previous_time) = (0i32, 0i64);
    for (seq, time, line) in lines {
        let _ = write!(
            text,
            "{}\t{}\t",
            seq.wrapping_sub(previous_seq),
            time.wrapping_sub(previous_time)
        );
        text.push_str(line);
        text.push('\n');
        (previous_seq, previous_time) = (seq, time);
    }
    let mut body = vec![GROUP];
    body.extend(
        zstd::bulk::compress(text.as_bytes(), GROUP_LEVEL)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?,
    );
    Ok(body)
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(format!("a recording's text {what}"))
}

/// Reads records back, in order, keeping the running chunk and time.
struct Records {
    grouped: bool,
    seq: i32,
    time: i64,
}

impl Records {
    /// For a body of form `form` in the row of chunk `row_seq`.
    fn new(form: u8, row_seq: i32) -> Self {
        let grouped = form == GROUP;
        Self { grouped, seq: if grouped { 0 } else { row_seq }, time: 0 }
    }

    /// One record without its newline: the line's chunk, time, and where
    /// its text starts in the record.
    fn read(&mut self, record: &[u8]) -> Result<(i32, i64, usize), StorageError> {
        let mut start = 0;
        if self.grouped {
            let (delta, used) = field(record)?;
            self.seq = self
                .seq
                .wrapping_add(i32::try_from(delta).map_err(|_| corrupt("has a bad chunk"))?);
            start = used;
        }
        let (delta, used) = field(&record[start..])?;
        self.time = self.time.wrapping_add(delta);
        Ok((self.seq, self.time, start + used))
    }
}

/// A decimal number and its tab at the start of `record`, and how many
/// bytes they take.
fn field(record: &[u8]) -> Result<(i64, usize), StorageError> {
    let tab = record.iter().position(|&b| b == b'\t').ok_or_else(|| corrupt("has no time"))?;
    let number = std::str::from_utf8(&record[..tab])
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt("has a bad time"))?;
    Ok((number, tab + 1))
}

/// A row's lines read back: each line's chunk, time (µs) and text.
pub(super) struct TextBody {
    text: String,
    /// Each line's chunk, time and its text's byte range in `text`.
    lines: Vec<(i32, i64, usize, usize)>,
}

impl TextBody {
    /// The body of the row of chunk `row_seq` (its last chunk for a group).
    pub(super) fn decode(body: &[u8], row_seq: i32) -> Result<Self, StorageError> {
        let (form, bytes) = match body.split_first() {
            Some((&PLAIN, rest)) => (PLAIN, rest.to_vec()),
            Some((&form @ (ZSTD | GROUP), rest)) => (form, decompress_whole(rest)?),
            _ => return Err(corrupt("has an unknown form")),
        };
        let text = String::from_utf8(bytes).map_err(|_| corrupt("is not UTF-8"))?;
        let mut records = Records::new(form, row_seq);
        let mut lines = Vec::new();
        let mut start = 0;
        for record in text.split_terminator('\n') {
            let (seq, time, from) = records.read(record.as_bytes())?;
            lines.push((seq, time, start + from, start + record.len()));
            start += record.len() + 1;
        }
        Ok(Self { text, lines })
    }

    /// The lines in order: chunk, time (µs) and text.
    pub(super) fn lines(&self) -> impl Iterator<Item = (i32, i64, &str)> + '_ {
        self.lines.iter().map(|&(seq, time, from, to)| (seq, time, &self.text[from..to]))
    }
}

/// Hands the lines of the row of chunk `row_seq` to `visit` in order
/// (chunk, time in µs, text) until it breaks: a group's body is
/// decompressed only as far as it is read (a search's first page stops
/// at its first matching lines), a chunk's whole.
pub(super) fn scan_lines(
    body: &[u8],
    row_seq: i32,
    mut visit: impl FnMut(i32, i64, &str) -> ControlFlow<()>,
) -> Result<(), StorageError> {
    let Some((&GROUP, rest)) = body.split_first() else {
        for (seq, time, line) in TextBody::decode(body, row_seq)?.lines() {
            if visit(seq, time, line).is_break() {
                break;
            }
        }
        return Ok(());
    };
    let decoder = zstd::stream::read::Decoder::with_buffer(rest)
        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let mut reader = BufReader::with_capacity(64 * 1024, decoder);
    let mut records = Records::new(GROUP, row_seq);
    let mut record = Vec::new();
    loop {
        record.clear();
        let read = reader
            .read_until(b'\n', &mut record)
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        if read == 0 {
            return Ok(());
        }
        if record.pop() != Some(b'\n') {
            return Err(corrupt("ends inside a line"));
        }
        let (seq, time, from) = records.read(&record)?;
        let line = std::str::from_utf8(&record[from..]).map_err(|_| corrupt("is not UTF-8"))?;
        if visit(seq, time, line).is_break() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Line = (i32, i64, String);

    fn decoded(body: &[u8], row_seq: i32) -> Vec<Line> {
        TextBody::decode(body, row_seq)
            .unwrap()
            .lines()
            .map(|(s, t, l)| (s, t, l.to_owned()))
            .collect()
    }

    fn scanned(body: &[u8], row_seq: i32, stop_after: usize) -> Vec<Line> {
        let mut read = Vec::new();
        scan_lines(body, row_seq, |s, t, l| {
            read.push((s, t, l.to_owned()));
            if read.len() >= stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        read
    }

    #[test]
    fn lines_read_back_as_written() {
        let lines = [(5_000_000, "$ ls"), (5_000_000, "a\tb  ünï"), (4_000, "x"), (9_000_000, "")];
        let body = encode(lines.iter().map(|&(t, l)| (t, l))).unwrap();
        let expected: Vec<Line> = lines.iter().map(|&(t, l)| (12, t, l.to_owned())).collect();
        assert_eq!(decoded(&body, 12), expected);
        assert_eq!(scanned(&body, 12, usize::MAX), expected);
        assert_eq!(scanned(&body, 12, 2), expected[..2]);
    }

    #[test]
    fn a_groups_lines_read_back_with_their_chunks() {
        let mut lines: Vec<Line> = vec![
            (0, 5_000_000, "$ ls".to_owned()),
            (0, 5_000_000, "a\tb  ünï".to_owned()),
            (3, 4_000, String::new()),
            (2_147_483_646, 9_000_000, "last\t".to_owned()),
        ];
        // More than the reader's buffer, so lines straddle its refills.
        lines.extend(
            (0..20_000).map(|i| (7 + i / 100, i64::from(i) * 1_000, format!("line {i} ✓"))),
        );
        lines.sort_by_key(|l| l.0);
        let body = encode_group(lines.iter().map(|(s, t, l)| (*s, *t, l.as_str()))).unwrap();
        assert_eq!(decoded(&body, 99), lines);
        assert_eq!(scanned(&body, 99, usize::MAX), lines);
        assert_eq!(scanned(&body, 99, 3), lines[..3]);
        assert!(body.len() * 10 < lines.iter().map(|l| l.2.len()).sum::<usize>());
    }

    #[test]
    fn plain_bodies_as_v22_writes_them_read_back() {
        let body = b"\x007\tfirst\n0\tsame time\n-2\tearlier\n";
        assert_eq!(
            decoded(body, 4),
            vec![
                (4, 7, "first".to_owned()),
                (4, 7, "same time".to_owned()),
                (4, 5, "earlier".to_owned())
            ]
        );
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        let group = encode_group([(1, 2, "a line")]).unwrap();
        let cut = &group[..group.len() - 3];
        for body in [
            &b""[..],
            b"\x09abc",
            b"\x00no tab\n",
            b"\x00x\tline\n",
            b"\x01notzstd",
            b"\x02notzstd",
            cut,
        ] {
            assert!(TextBody::decode(body, 0).is_err(), "{body:?}");
            assert!(scan_lines(body, 0, |_, _, _| ControlFlow::Continue(())).is_err(), "{body:?}");
        }
        // A group whose chunk overflows.
        let text = b"99999999999\t0\tx\n";
        let mut body = vec![GROUP];
        body.extend(zstd::bulk::compress(text, 1).unwrap());
        assert!(TextBody::decode(&body, 0).is_err());
        assert!(scan_lines(&body, 0, |_, _, _| ControlFlow::Continue(())).is_err());
    }
}
