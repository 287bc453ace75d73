//! asciicast recordings: parsing uploads (v2, or v3 converted to v2), writing
//! the v2 lines that are stored and downloaded, the plain text of output,
//! and the text the screen showed after emulation ([`Transcriber`]), which
//! search across recordings and transcripts read.
//!
//! Everything streams: the caller parses the header line, then feeds the
//! other lines one at a time to a [`Decoder`]; no function needs the whole
//! file.
//!
//! ```
//! use termaudit_domain::asciicast::{Decoder, EscapeStripper, Micros};
//!
//! let cast = [
//!     r#"{"version": 3, "term": {"cols": 80, "rows": 24}}"#,
//!     "# v3 files may have comments",
//!     r#"[0.1, "o", "\u001b[1;31mERROR\u001b[0m"]"#,
//!     r#"[0.2, "o", "!"]"#,
//! ];
//! let (header, mut decoder) = Decoder::from_header_line(cast[0])?;
//! let mut text = EscapeStripper::new();
//! let mut stored = vec![header.to_line()];
//! let mut searchable = String::new();
//! for line in &cast[1..] {
//!     if let Some(event) = decoder.decode_line(line)? {
//!         text.push(&event.data, &mut searchable);
//!         stored.push(event.to_line());
//!     }
//! }
//! assert_eq!(decoder.last_time(), Micros(300_000));
//! assert_eq!(stored[2], r#"[0.3, "o", "!"]"#);
//! assert_eq!(searchable, "ERROR!");
//! # Ok::<(), termaudit_domain::asciicast::CastError>(())
//! ```
//!
//! Times are integer microseconds ([`Micros`]). In lines they are written as
//! seconds with at most six decimals and trailing zeros trimmed, keeping at
//! least one decimal (`0.0`, `1.5`, `12.000003`), as asciinema writes them.

mod codes;
mod decoder;
mod error;
mod event;
mod header;
mod replay;
mod schedule;
mod text;
mod time;
mod transcript;

pub use codes::{
    DENSE_CODES_CAP, DENSE_MARK, DENSE_QUERY_CHARS, DENSE_RUN, QueryCodes, is_dense, line_codes,
    line_grams, text_grams,
};
pub use decoder::Decoder;
pub use error::CastError;
pub use event::{Event, EventCode, Resize, ResizeError, first_out_of_order};
pub use header::{Header, Theme, Version, parse_header_line};
pub use replay::{Replay, TerminalSnapshot};
pub use schedule::{SNAPSHOT_EVERY, SNAPSHOT_EVERY_OUTPUT, SnapshotSchedule};
pub use text::{EscapeStripper, strip_escapes};
pub use time::{Micros, TimeError};
pub use transcript::{
    ScreenLine, ScreenQuery, Transcriber, TranscriptCarry, find_folded, fold_case, fold_char,
};

#[cfg(test)]
mod tests;
