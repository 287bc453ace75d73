//! How a chunk is stored: canonical asciicast v2 lines, zstd-compressed,
//! and how markers are merged into those lines on the way out.

use std::{cell::RefCell, collections::VecDeque};

use termaudit_domain::asciicast::{Event, Micros, TerminalSnapshot};
use zstd::bulk::{Compressor, Decompressor};

use super::types::Marker;
use crate::StorageError;

/// Chunks are compressed at zstd's fastest level: at level 3 compression
/// was 15% of the ingest bench's time (3% at level 1), and level 1 stored
/// its output 5% smaller (484 against 511 MiB of 1026; docs/benchmarks.md).
const ZSTD_LEVEL: i32 = 1;

thread_local! {
    /// Each thread's zstd contexts, kept from one chunk to the next: a new
    /// context for every chunk (zstd's `bulk::compress`) allocated and
    /// cleared its tables each time, a few percent of ingest and emulation.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

fn corrupt(e: std::io::Error) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

pub(super) fn compress(data: &[u8]) -> Result<Vec<u8>, StorageError> {
    COMPRESSOR
        .with_borrow_mut(|slot| {
            let compressor = match slot {
                Some(compressor) => compressor,
                None => slot.insert(Compressor::new(ZSTD_LEVEL)?),
            };
            compressor.compress(data)
        })
        .map_err(corrupt)
}

/// Decompresses `data`, which holds at most `size` bytes.
pub(super) fn decompress(data: &[u8], size: usize) -> Result<Vec<u8>, StorageError> {
    DECOMPRESSOR
        .with_borrow_mut(|slot| {
            let decompressor = match slot {
                Some(decompressor) => decompressor,
                None => slot.insert(Decompressor::new()?),
            };
            decompressor.decompress(data, size)
        })
        .map_err(corrupt)
}

/// Decompresses a whole frame, whose size is not known beside it:
/// [`compress`] records the size in the frame; a frame without it is read
/// as a stream.
pub(super) fn decompress_whole(data: &[u8]) -> Result<Vec<u8>, StorageError> {
    match zstd::zstd_safe::get_frame_content_size(data) {
        Ok(Some(size)) => decompress(data, usize::try_from(size).unwrap_or(usize::MAX)),
        _ => zstd::stream::decode_all(data).map_err(corrupt),
    }
}

pub(super) fn decompress_text(data: &[u8], size: usize) -> Result<String, StorageError> {
    String::from_utf8(decompress(data, size)?)
        .map_err(|_| StorageError::Corrupt("a chunk is not UTF-8".into()))
}

/// A terminal dump is at most a few hundred bytes per screen cell.
pub(super) fn decompress_snapshot(
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
pub(super) fn line_time(line: &str) -> Micros {
    line.get(1..)
        .and_then(|rest| rest.split_once(','))
        .and_then(|(time, _)| Micros::parse_seconds(time).ok())
        .unwrap_or(Micros::ZERO)
}

/// Emits a stored chunk's lines with the pending markers merged in: each
/// marker right before the first event later than it. Markers left are for
/// later chunks (or the end, with [`flush_markers`]).
pub(super) fn merge_chunk(
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

pub(super) fn flush_markers(markers: &mut VecDeque<Marker>, emit: &mut impl FnMut(Micros, &str)) {
    while let Some(marker) = markers.pop_front() {
        emit(marker.time, &Event::marker(marker.time, marker.label).to_line());
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
}
