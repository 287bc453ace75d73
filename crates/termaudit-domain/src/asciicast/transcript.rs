//! The text a recording's screen showed, as lines, for search across
//! recordings and transcripts.
//!
//! A line is what a row (or rows joined by soft wraps) of the screen showed
//! after terminal emulation: escape sequences interpreted, backspaces and
//! carriage returns applied, colours gone, so a progress bar redrawn a
//! thousand times in place is one line, with its last state. A line is
//! *finished* (it will never change) when
//! - it scrolls off the top of the primary screen (`avt` evicts it; this
//!   includes the rows a full clear, `ESC [2J`, pushes off the primary
//!   screen, and those a resize's reflow pushes off);
//! - it is erased by `ESC [J` / `ESC [1J` (below or above the cursor's row),
//!   on either screen, or by a full clear of the alternate screen;
//! - a full-screen program leaves the alternate screen (`ESC [?1049l`,
//!   `?1047l`, `?47l`): what it showed last;
//! - the terminal is reset (`ESC c`): both screens.
//!
//! Erasing part of the cursor's own row (`ESC [K`) or overwriting it is an
//! edit in place (a prompt's line editor, a progress bar), not a finished
//! line. Empty lines are not kept. What is on the screen when the recording
//! ends is its last lines; until then it is the *current screen*
//! ([`Transcriber::screen`]), which changes.
//!
//! Each finished line has a time: the time of the last event *before* the
//! one that finished it, which is the last moment a player shows it (when
//! the same event printed and removed it, a player never shows it, and its
//! time is that of the event before).
//!
//! Extraction is deterministic and resumable: a [`Transcriber`] resumed from
//! its [`TranscriptCarry`] beside a terminal restored from a snapshot
//! produces the same lines as one that never stopped.

use std::ops::Range;

use avt::{
    Line, Observation, Observer, Operation, ScreenKind, Terminal,
    parser::{DecMode, EdScope, Function},
};

use super::time::Micros;
use crate::DomainError;

/// A finished line: what the screen showed, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenLine {
    pub time: Micros,
    pub text: String,
}

/// What a [`Transcriber`] keeps between chunks, beside the terminal, so it
/// can resume elsewhere: the start of a line that wraps over rows of which
/// the first have already scrolled off, and the time of the last event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranscriptCarry {
    pub pending: String,
    /// `None` before the first event.
    pub last_time: Option<Micros>,
}

/// Collects the finished lines of a recording while its events are played
/// (see [`Replay::transcribe`](super::Replay::transcribe)).
#[derive(Debug, Clone, Default)]
pub struct Transcriber {
    carry: TranscriptCarry,
    finished: Vec<ScreenLine>,
    /// The time given to lines finished by the event being played.
    stamp: Micros,
}

impl Transcriber {
    /// A transcriber at the start of a recording.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transcriber going on from `carry`.
    pub fn resume(carry: TranscriptCarry) -> Self {
        Self { carry, ..Self::default() }
    }

    /// What to keep to resume from here.
    pub fn carry(&self) -> &TranscriptCarry {
        &self.carry
    }

    /// The lines finished since the last call, in order.
    pub fn take_finished(&mut self) -> Vec<ScreenLine> {
        std::mem::take(&mut self.finished)
    }

    pub(super) fn begin_event(&mut self, time: Micros) {
        self.stamp = self.carry.last_time.unwrap_or(time);
    }

    pub(super) fn end_event(&mut self, time: Micros) {
        self.carry.last_time = Some(time);
    }

    pub(super) fn observer(&mut self) -> TextObserver<'_> {
        TextObserver { transcriber: self }
    }

    /// The lines `terminal` shows now, as they would be finished if the
    /// recording ended here: the primary screen (continuing a line that
    /// wrapped off its top), then the alternate screen while it is active.
    pub(super) fn screen(&self, terminal: &Terminal) -> Vec<String> {
        let mut lines = Vec::new();
        let mut pending = self.carry.pending.clone();
        for line in terminal.primary_screen().visible_lines() {
            join(&mut pending, line, &mut lines);
        }
        push_text(&mut lines, &pending);
        if terminal.active_screen_kind() == ScreenKind::Alternate {
            rows(terminal, 0..usize::MAX, String::new(), &mut lines);
        }
        lines
    }

    fn finish(&mut self, lines: Vec<String>) {
        let time = self.stamp;
        self.finished.extend(lines.into_iter().map(|text| ScreenLine { time, text }));
    }

    /// Finishes rows `range` of the active screen; the primary screen's
    /// first row continues the pending line.
    fn finish_rows(&mut self, terminal: &Terminal, range: Range<usize>) {
        let primary = terminal.active_screen_kind() == ScreenKind::Primary;
        let start = if primary && range.start == 0 {
            std::mem::take(&mut self.carry.pending)
        } else {
            String::new()
        };
        let mut lines = Vec::new();
        rows(terminal, range, start, &mut lines);
        self.finish(lines);
    }
}

/// Appends the lines of the active screen's rows `range` to `lines`, joining
/// soft-wrapped rows, starting with `pending`.
fn rows(terminal: &Terminal, range: Range<usize>, mut pending: String, lines: &mut Vec<String>) {
    let screen = terminal.screen();
    let visible = screen.visible_lines();
    let end = range.end.min(visible.len());
    for line in visible.skip(range.start).take(end.saturating_sub(range.start)) {
        join(&mut pending, line, lines);
    }
    push_text(lines, &pending);
}

/// Adds a row to `pending`; a row that does not wrap ends the line.
fn join(pending: &mut String, line: &Line, lines: &mut Vec<String>) {
    pending.extend(line.chars());
    if !line.is_wrapped() {
        push_text(lines, pending);
        pending.clear();
    }
}

fn push_text(lines: &mut Vec<String>, text: &str) {
    let text = text.trim_end();
    if !text.trim_start().is_empty() {
        lines.push(text.to_owned());
    }
}

/// The `avt` observer that tells a [`Transcriber`] when lines finish.
pub(super) struct TextObserver<'a> {
    transcriber: &'a mut Transcriber,
}

impl Observer for TextObserver<'_> {
    type Output = ();

    fn before(&mut self, context: &mut Observation<'_>, operation: &Operation) {
        let Operation::Function(function) = operation else { return };
        let terminal = context.terminal();
        let alternate = terminal.active_screen_kind() == ScreenKind::Alternate;
        let cursor = terminal.cursor();
        let t = &mut *self.transcriber;
        match function {
            Function::Ris => {
                if alternate {
                    t.finish_rows(terminal, 0..usize::MAX);
                }
                let mut lines = Vec::new();
                let mut pending = std::mem::take(&mut t.carry.pending);
                for line in terminal.primary_screen().visible_lines() {
                    join(&mut pending, line, &mut lines);
                }
                push_text(&mut lines, &pending);
                t.finish(lines);
            }
            Function::Decrst(modes)
                if alternate
                    && modes.as_slice().iter().any(|m| {
                        matches!(m, DecMode::AltScreenBuffer | DecMode::SaveCursorAltScreenBuffer)
                    }) =>
            {
                t.finish_rows(terminal, 0..usize::MAX);
            }
            Function::Ed(EdScope::All) if alternate => t.finish_rows(terminal, 0..usize::MAX),
            Function::Ed(EdScope::Below) => {
                let from = cursor.row + usize::from(cursor.col > 0);
                t.finish_rows(terminal, from..usize::MAX);
            }
            Function::Ed(EdScope::Above) => t.finish_rows(terminal, 0..cursor.row),
            _ => {}
        }
    }

    fn evicted(&mut self, _: &mut Observation<'_>, line: &Line) {
        let t = &mut *self.transcriber;
        let mut lines = Vec::new();
        join(&mut t.carry.pending, line, &mut lines);
        t.finish(lines);
    }

    fn end(&mut self, _: &mut Observation<'_>) {}
}

/// A search over the text the screens showed (across recordings, or in one),
/// parsed: what it means is that a line matches when the query, after
/// [`fold_case`], occurs in the line after [`fold_case`], as a literal
/// substring, spaces and punctuation included (so several words are a
/// phrase; `%`, `_` and `*` are ordinary characters). Surrounding double
/// quotes are optional and removed (`"disk full"` is `disk full`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenQuery {
    /// The query as given (quotes removed).
    pub text: String,
    /// The query folded, as lines are compared with it.
    pub folded: String,
}

impl ScreenQuery {
    /// The longest query, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses `q`: at least `min_chars` and at most [`Self::MAX_CHARS`]
    /// characters, not only spaces, no control characters (a line holds
    /// none).
    pub fn parse(q: &str, min_chars: usize) -> Result<Self, DomainError> {
        let text = q
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .filter(|inner| !inner.is_empty())
            .unwrap_or(q);
        if text.trim().is_empty() {
            return Err(DomainError::invalid("q", "must not be empty"));
        }
        if text.chars().any(char::is_control) {
            return Err(DomainError::invalid("q", "must not contain control characters"));
        }
        let chars = text.chars().count();
        if chars < min_chars || chars > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "q",
                format!("must be {min_chars} to {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self { text: text.to_owned(), folded: fold_case(text) })
    }

    /// Where the query occurs in `line`, as character offsets (see
    /// [`find_folded`]).
    pub fn positions(&self, line: &str) -> Vec<usize> {
        find_folded(line, &self.folded)
    }

    /// The query's length in characters (a match's length in a line).
    pub fn chars(&self) -> usize {
        self.folded.chars().count()
    }
}

/// Folds a text's letter case for comparisons of screen text: each
/// character becomes [`fold_char`] of it.
pub fn fold_case(text: &str) -> String {
    if text.is_ascii() {
        // The same, without decoding: most terminal text is ASCII.
        return text.to_ascii_lowercase();
    }
    text.chars().map(fold_char).collect()
}

/// A character's case folding: the first character of its lowercase form
/// (so folding never changes a text's length in characters).
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c.is_uppercase() {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

/// Where `needle` (folded already) occurs in `line`, as character offsets,
/// left to right, without overlaps.
pub fn find_folded(line: &str, needle: &str) -> Vec<usize> {
    let needle: Vec<char> = needle.chars().collect();
    let hay: Vec<char> = line.chars().map(fold_char).collect();
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if hay[i..i + needle.len()] == needle[..] {
            found.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asciicast::{Event, Replay, Resize};

    /// Plays `events` (time, data) on a `cols` x `rows` screen; returns the
    /// finished lines and the screen at the end.
    fn play(cols: u16, rows: u16, events: &[(u64, &str)]) -> (Vec<ScreenLine>, Vec<String>) {
        let mut replay = Replay::new(cols, rows);
        let mut t = Transcriber::new();
        for (time, data) in events {
            replay.transcribe(&Event::output(Micros(*time), *data), &mut t);
        }
        let screen = replay.screen_lines(&t);
        (t.take_finished(), screen)
    }

    fn texts(lines: &[ScreenLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn a_progress_bar_redrawn_many_times_is_one_line() {
        let mut events = vec![(1, "$ make\r\n".to_owned())];
        for i in 0..=1000 {
            events.push((
                2 + i,
                format!("\r\x1b[K[{:<20}] {:>3}%", "#".repeat(i as usize / 50), i / 10),
            ));
        }
        events.push((1100, "\r\ndone\r\n$ ".to_owned()));
        let events: Vec<(u64, &str)> = events.iter().map(|(t, d)| (*t, d.as_str())).collect();
        let (finished, screen) = play(40, 3, &events);
        assert_eq!(texts(&finished), ["$ make"]);
        assert_eq!(screen, ["[####################] 100%", "done", "$"]);
    }

    #[test]
    fn colours_are_gone_and_scrolled_lines_keep_the_time_they_were_last_shown() {
        let (finished, screen) = play(
            20,
            2,
            &[(1, "\x1b[1;31mERROR\x1b[0m: disk \x1b[4mfull\x1b[0m\r\n"), (5, "b\r\n"), (9, "c")],
        );
        assert_eq!(finished, [ScreenLine { time: Micros(1), text: "ERROR: disk full".into() }]);
        assert_eq!(screen, ["b", "c"]);
    }

    #[test]
    fn unicode_and_wrapped_lines_across_the_top() {
        // A line of 14 wide characters wraps over 3 rows of 10 columns and
        // scrolls off one row at a time.
        let wide = "日本語のテキストを検索する世界";
        let (finished, screen) = play(10, 2, &[(1, wide), (2, "\r\nnext\r\nlast")]);
        assert_eq!(texts(&finished), [wide]);
        assert_eq!(screen, ["next", "last"]);
        assert_eq!(find_folded("Ünïcode ÜBER über", &fold_case("über")), vec![8, 13]);
        assert_eq!(find_folded("aaaa", "aa"), vec![0, 2]);
        let q = ScreenQuery::parse("\"Disk FULL\"", 3).expect("valid");
        assert_eq!((q.text.as_str(), q.folded.as_str()), ("Disk FULL", "disk full"));
        assert_eq!(q.positions("ERROR: DISK FULL, disk full"), vec![7, 18]);
        for bad in ["", "  ", "\"\"", "a\u{0}b", "ab", &"x".repeat(201)] {
            assert!(ScreenQuery::parse(bad, 3).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_alternate_screen_gives_what_it_showed_last() {
        let (finished, screen) = play(
            20,
            4,
            &[
                (1, "$ vim notes\r\n"),
                (2, "\x1b[?1049h\x1b[H\x1b[2Jdraft\r\n~"),
                (3, "\x1b[H\x1b[Kfinal text\x1b[2;1H~"),
                (4, "\x1b[?1049l"),
                (5, "$ "),
            ],
        );
        // Clearing the empty alternate screen at the start finishes nothing.
        assert_eq!(texts(&finished), ["final text", "~"]);
        assert_eq!(finished[0].time, Micros(3));
        assert_eq!(screen, ["$ vim notes", "$"]);
    }

    #[test]
    fn clears_finish_the_screen_and_a_live_screen_is_provisional() {
        let (finished, screen) = play(20, 5, &[(1, "one\r\ntwo\r\n$ "), (2, "\x1b[H\x1b[2J$ ls")]);
        assert_eq!(texts(&finished), ["one", "two", "$"]);
        assert_eq!(screen, ["$ ls"]);
        let (finished, _) = play(20, 5, &[(1, "one\r\ntwo"), (2, "\x1b[H\x1b[Jx"), (3, "\x1bc")]);
        assert_eq!(texts(&finished), ["one", "two", "x"]);
    }

    #[test]
    fn resumed_from_a_snapshot_and_its_carry_it_gives_the_same_lines() {
        let mut events = Vec::new();
        for i in 0..200u64 {
            let data = match i % 7 {
                0 => format!(
                    "\x1b[3{}mline {i} {}\x1b[0m\r\n",
                    i % 8,
                    "x".repeat((i * 13 % 50) as usize)
                ),
                1 => format!("\r{i}%"),
                2 => "\x1b[?1049h\x1b[Hfull screen".to_owned(),
                3 => format!("\x1b[H\x1b[Kedited {i}"),
                4 => "\x1b[?1049l".to_owned(),
                5 => "終わり 🚀 ".repeat(3),
                _ => "\r\n".to_owned(),
            };
            events.push(Event::output(Micros(i * 10), data));
            if i % 31 == 30 {
                events.push(Event::resize(
                    Micros(i * 10),
                    Resize { cols: 12 + (i % 5) as u16, rows: 4 },
                ));
            }
        }
        let mut whole = Replay::new(16, 4);
        let mut t = Transcriber::new();
        for e in &events {
            whole.transcribe(e, &mut t);
        }
        let reference = (t.take_finished(), whole.screen_lines(&t));
        assert!(reference.0.len() > 50);
        for cut in [1, 17, 60, 133, events.len() - 1] {
            let mut first = Replay::new(16, 4);
            let mut t = Transcriber::new();
            for e in &events[..cut] {
                first.transcribe(e, &mut t);
            }
            let mut lines = t.take_finished();
            let mut resumed = Replay::restore(&first.snapshot());
            let mut t = Transcriber::resume(t.carry().clone());
            for e in &events[cut..] {
                resumed.transcribe(e, &mut t);
            }
            lines.extend(t.take_finished());
            assert_eq!((lines, resumed.screen_lines(&t)), reference, "cut at {cut}");
        }
    }
}
