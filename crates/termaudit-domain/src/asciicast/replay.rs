use super::event::{Event, EventCode};
use super::transcript::Transcriber;

/// A virtual terminal that plays a recording's events, so the screen at any
/// time can be known and handed to a player as a [`TerminalSnapshot`]
/// (terminal emulation by the `avt` crate, as in the asciinema player).
///
/// Only the visible screens are kept (no scrollback), so its memory is
/// bounded by the terminal's size, whatever the recording's length.
pub struct Replay {
    terminal: avt::Terminal,
}

/// A terminal's state as text a player can feed to a fresh terminal of
/// `cols` x `rows` to show the same screen: the visible buffers, cursor,
/// modes and an unfinished escape sequence, as escape sequences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalSnapshot {
    pub cols: u16,
    pub rows: u16,
    pub init: String,
}

/// The largest screen the emulation keeps: a recording may declare any
/// size up to 65535 x 65535, but a screen of that size would take billions
/// of cells (tens of GiB) to emulate, so larger sizes are played on a
/// screen this big. Real terminals stay far inside it.
pub const MAX_COLS: u16 = 1000;
/// See [`MAX_COLS`].
pub const MAX_ROWS: u16 = 500;

/// The size the emulation uses for a declared size: at least 1 x 1, at
/// most [`MAX_COLS`] x [`MAX_ROWS`].
fn emulated(cols: u16, rows: u16) -> (usize, usize) {
    (usize::from(cols.clamp(1, MAX_COLS)), usize::from(rows.clamp(1, MAX_ROWS)))
}

impl Replay {
    /// A blank terminal; a size of zero counts as one, a size beyond
    /// [`MAX_COLS`] x [`MAX_ROWS`] as that.
    pub fn new(cols: u16, rows: u16) -> Self {
        let (cols, rows) = emulated(cols, rows);
        let terminal = avt::Terminal::new(cols, rows);
        // Cannot fail: both sizes are at least one.
        Self { terminal: terminal.unwrap_or_else(|_| unreachable_terminal()) }
    }

    /// A terminal in the state a snapshot describes.
    pub fn restore(snapshot: &TerminalSnapshot) -> Self {
        let mut replay = Self::new(snapshot.cols, snapshot.rows);
        replay.terminal.feed(snapshot.init.as_str());
        replay
    }

    /// Plays one event: output is interpreted, resizes resize (within the
    /// same bounds as [`Replay::new`]), other codes
    /// (input, markers, unknown ones) leave the screen as it is.
    pub fn apply(&mut self, event: &Event) {
        match event.code {
            EventCode::Output => self.terminal.feed(event.data.as_str()),
            EventCode::Resize => {
                if let Some(size) = event.as_resize() {
                    let (cols, rows) = emulated(size.cols, size.rows);
                    self.terminal.resize(cols, rows);
                }
            }
            _ => {}
        }
    }

    /// Plays one event like [`Replay::apply`], telling `transcriber` which
    /// lines of the screen it finishes (see [`super::transcript`]).
    pub fn transcribe(&mut self, event: &Event, transcriber: &mut Transcriber) {
        transcriber.begin_event(event.time);
        match event.code {
            EventCode::Output => {
                self.terminal.feed_with(event.data.as_str(), transcriber.observer());
            }
            EventCode::Resize => {
                if let Some(size) = event.as_resize() {
                    let (cols, rows) = emulated(size.cols, size.rows);
                    self.terminal.resize_with(cols, rows, transcriber.observer());
                }
            }
            _ => return,
        }
        transcriber.end_event(event.time);
    }

    /// The lines on the screen now, as they would be finished if the
    /// recording ended here (the current screen, which search indexes
    /// provisionally).
    pub fn screen_lines(&self, transcriber: &Transcriber) -> Vec<String> {
        transcriber.screen(&self.terminal)
    }

    /// The terminal's current state.
    pub fn snapshot(&self) -> TerminalSnapshot {
        let (cols, rows) = self.terminal.size();
        TerminalSnapshot {
            cols: u16::try_from(cols).unwrap_or(u16::MAX),
            rows: u16::try_from(rows).unwrap_or(u16::MAX),
            init: self.terminal.dump(),
        }
    }

    /// The visible screen, one string per row.
    pub fn screen_text(&self) -> Vec<String> {
        self.terminal.screen().text()
    }

    /// The cursor's column and row.
    pub fn cursor(&self) -> (usize, usize) {
        let cursor = self.terminal.cursor();
        (cursor.col, cursor.row)
    }

    /// The terminal's columns and rows.
    pub fn size(&self) -> (usize, usize) {
        self.terminal.size()
    }
}

#[allow(clippy::panic)]
fn unreachable_terminal() -> avt::Terminal {
    panic!("a terminal of at least 1x1 is always valid")
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (cols, rows) = self.size();
        write!(f, "Replay({cols}x{rows})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asciicast::{Micros, Resize};

    fn out(data: &str) -> Event {
        Event::output(Micros::ZERO, data)
    }

    #[test]
    fn a_restored_snapshot_continues_like_the_original() {
        let events = [
            out("$ ls\r\n\x1b[1;34mdir\x1b[0m file\r\n$ "),
            out("vim x\r\n\x1b[?1049h\x1b[H\x1b[2J~\r\n~\x1b[1;1Hhello"),
            Event::resize(Micros::ZERO, Resize { cols: 40, rows: 10 }),
            out("\x1b[31"), // split escape sequence
            out("mred\x1b[?1049l"),
            out("after\r\n"),
        ];
        for cut in 0..=events.len() {
            let mut whole = Replay::new(80, 24);
            let mut first = Replay::new(80, 24);
            for event in &events[..cut] {
                whole.apply(event);
                first.apply(event);
            }
            let mut resumed = Replay::restore(&first.snapshot());
            assert_eq!(resumed.screen_text(), whole.screen_text(), "at {cut}");
            for event in &events[cut..] {
                whole.apply(event);
                resumed.apply(event);
            }
            assert_eq!(resumed.screen_text(), whole.screen_text(), "after {cut}");
            assert_eq!(resumed.cursor(), whole.cursor(), "after {cut}");
            assert_eq!(resumed.size(), (40, 10));
        }
    }

    #[test]
    fn huge_declared_sizes_are_emulated_on_a_bounded_screen() {
        // 65535 x 65535 cells would take tens of GiB: found by fuzzing.
        let mut replay = Replay::new(u16::MAX, u16::MAX);
        assert_eq!(replay.size(), (usize::from(MAX_COLS), usize::from(MAX_ROWS)));
        replay.apply(&out("hello"));
        replay.apply(&Event::resize(Micros::ZERO, Resize { cols: u16::MAX, rows: 3 }));
        assert_eq!(replay.size(), (usize::from(MAX_COLS), 3));
        replay.apply(&Event::resize(Micros::ZERO, Resize { cols: 0, rows: u16::MAX }));
        assert_eq!(replay.size(), (1, usize::from(MAX_ROWS)));
        let restored = Replay::restore(&Replay::new(u16::MAX, 7).snapshot());
        assert_eq!(restored.size(), (usize::from(MAX_COLS), 7));
    }

    #[test]
    fn zero_sizes_are_clamped_and_non_screen_events_ignored() {
        let mut replay = Replay::new(0, 0);
        assert_eq!(replay.size(), (1, 1));
        replay.apply(&Event::marker(Micros::ZERO, "x"));
        replay.apply(&Event::new(Micros::ZERO, crate::asciicast::EventCode::Input, "y"));
        assert_eq!(replay.screen_text(), vec![String::new()]);
    }
}
