//! The player's model, without the browser: a virtual terminal (avt) fed
//! with the events of the recording's windows as the playback position
//! passes them, idle gaps compressed, and the rows that changed since the
//! last paint. Pure, so it is tested natively.
//!
//! Times are the recording's seconds. A window (`GET …/recording/events`)
//! starts the terminal at its `from` (seeking) or continues it (the next
//! window, fetched ahead); nothing before `from` is ever needed.

use std::collections::VecDeque;

use termaudit_api_types::RecordingWindow;

use crate::terminal::{Paintable, PaintedTerminal};

/// Seconds of recording one window request asks for.
pub const WINDOW_SECONDS: f64 = 30.0;
/// The next window is fetched when less than this is left to play.
pub const PREFETCH_SECONDS: f64 = 10.0;
/// Idle gaps are compressed to this when the header sets no `idle_time_limit`.
pub const DEFAULT_IDLE_LIMIT: f64 = 2.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `o`: output for the terminal.
    Output(String),
    /// `r`: the terminal was resized to `COLSxROWS`.
    Resize { cols: usize, rows: usize },
    /// Markers, input and anything newer: nothing to draw.
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub time: f64,
    pub action: Action,
}

impl Event {
    /// An asciicast v2 event `[time, code, data]`.
    pub fn parse(value: &serde_json::Value) -> Option<Event> {
        let items = value.as_array()?;
        let time = items.first()?.as_f64()?;
        let data = items.get(2).and_then(serde_json::Value::as_str).unwrap_or_default();
        let action = match items.get(1)?.as_str()? {
            "o" => Action::Output(data.to_owned()),
            "r" => {
                let (cols, rows) = data.split_once('x')?;
                Action::Resize { cols: cols.trim().parse().ok()?, rows: rows.trim().parse().ok()? }
            }
            _ => Action::Nothing,
        };
        Some(Event { time, action })
    }
}

/// What playing on did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Playing,
    /// The position reached the end of the loaded windows: wait for the next.
    Buffering,
    /// The position reached the end of the recording.
    Ended,
}

pub struct Playback {
    terminal: PaintedTerminal,
    /// Loaded events not yet applied, in time order.
    pending: VecDeque<Event>,
    /// Events are loaded up to here (exclusive).
    loaded_to: f64,
    position: f64,
    /// When the last applied event happened (or the window started).
    last_event: f64,
    duration: f64,
}

impl Playback {
    /// Starts at the window's `from`, in the terminal state it describes.
    pub fn start(window: &RecordingWindow, duration: f64) -> Result<Playback, String> {
        let cols = usize::from(window.state.cols);
        let rows = usize::from(window.state.rows);
        let mut playback = Playback {
            terminal: PaintedTerminal::new(cols, rows)?,
            pending: window.events.iter().filter_map(Event::parse).collect(),
            loaded_to: window.to.unwrap_or(f64::INFINITY),
            position: window.from,
            last_event: window.from,
            duration,
        };
        playback.terminal.feed(&window.state.init);
        playback.apply_due();
        Ok(playback)
    }

    /// Adds the window that follows the loaded ones; `false` (and nothing
    /// changes) when it does not start where they end.
    pub fn append(&mut self, window: &RecordingWindow) -> bool {
        if (window.from - self.loaded_to).abs() > 1e-6 {
            return false;
        }
        self.pending.extend(window.events.iter().filter_map(Event::parse));
        self.loaded_to = window.to.unwrap_or(f64::INFINITY);
        true
    }

    pub fn position(&self) -> f64 {
        self.position
    }

    pub fn loaded_to(&self) -> f64 {
        self.loaded_to
    }

    fn fully_loaded(&self) -> bool {
        self.loaded_to >= self.duration
    }

    /// Whether the next window should be fetched now.
    pub fn wants_more(&self) -> bool {
        !self.fully_loaded() && self.loaded_to - self.position < PREFETCH_SECONDS
    }

    pub fn at_end(&self) -> bool {
        self.pending.is_empty() && self.fully_loaded() && self.position >= self.duration
    }

    fn apply(&mut self, event: Event) {
        self.last_event = event.time;
        match event.action {
            Action::Output(text) => self.terminal.feed(&text),
            Action::Resize { cols, rows } => self.terminal.resize(cols, rows),
            Action::Nothing => {}
        }
    }

    /// Applies the loaded events up to the position (inclusive).
    fn apply_due(&mut self) {
        while self.pending.front().is_some_and(|event| event.time <= self.position) {
            if let Some(event) = self.pending.pop_front() {
                self.apply(event);
            }
        }
    }

    /// Plays `elapsed` seconds of recording on; an idle gap longer than
    /// `idle_limit` (between events, or at a window's end) lasts only that long.
    pub fn advance(&mut self, elapsed: f64, idle_limit: Option<f64>) -> Progress {
        let mut budget = elapsed.max(0.0);
        loop {
            let idle_end = idle_limit.map(|limit| (self.last_event + limit).max(self.position));
            match self.pending.front().map(|event| event.time) {
                Some(next) => {
                    // Up to the next event, or to the end of the gap's allowed idle time.
                    let until = idle_end.filter(|&end| end < next).unwrap_or(next);
                    if self.position + budget < until {
                        self.position += budget;
                        return Progress::Playing;
                    }
                    budget -= until - self.position;
                    self.position = next;
                    self.apply_due();
                }
                None if self.fully_loaded() => {
                    self.position = (self.position + budget).min(self.duration);
                    return if self.position >= self.duration {
                        Progress::Ended
                    } else {
                        Progress::Playing
                    };
                }
                None => {
                    let until = idle_end.map_or(self.loaded_to, |end| end.min(self.loaded_to));
                    if self.position + budget < until {
                        self.position += budget;
                        return Progress::Playing;
                    }
                    // Idle up to the end of what is loaded: skip there and wait.
                    self.position = self.loaded_to;
                    return Progress::Buffering;
                }
            }
        }
    }

    /// Moves to `time` with the loaded events, when it lies ahead within
    /// them; `false` when a window must be fetched instead.
    pub fn seek_within(&mut self, time: f64) -> bool {
        if time < self.position || time >= self.loaded_to {
            return false;
        }
        self.position = time;
        self.apply_due();
        true
    }

    /// The visible text, for tests.
    #[cfg(test)]
    fn text(&self) -> String {
        self.terminal.text()
    }
}

impl Paintable for Playback {
    fn size(&self) -> (usize, usize) {
        self.terminal.size()
    }

    fn take_repaint(&mut self) -> Vec<usize> {
        self.terminal.take_repaint()
    }

    fn line_html(&self, row: usize) -> String {
        self.terminal.line_html(row)
    }
}

/// Output this long after the last one ends the first burst of output.
const POSTER_QUIET_SECONDS: f64 = 0.5;

/// A still of the recording shown before it plays, instead of a blank
/// screen: the terminal once its first burst of output has settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Poster {
    pub time: f64,
    pub cols: usize,
    pub rows: usize,
    /// Each row's HTML.
    pub lines: Vec<String>,
}

impl Poster {
    /// The still of the window a recording starts with (`from` 0): the screen
    /// after the output up to the first quiet half second; `None` when the
    /// window prints nothing.
    pub fn of(window: &RecordingWindow) -> Option<Poster> {
        let events: Vec<Event> = window.events.iter().filter_map(Event::parse).collect();
        let printed = |event: &Event| matches!(event.action, Action::Output(_));
        let outputs: Vec<f64> = events.iter().filter(|e| printed(e)).map(|e| e.time).collect();
        let first = *outputs.first()?;
        let settled = outputs
            .windows(2)
            .find(|pair| pair[1] - pair[0] >= POSTER_QUIET_SECONDS)
            .map_or_else(|| *outputs.last().unwrap_or(&first), |pair| pair[0]);
        let mut terminal =
            PaintedTerminal::new(usize::from(window.state.cols), usize::from(window.state.rows))
                .ok()?;
        terminal.feed(&window.state.init);
        for event in events.into_iter().take_while(|event| event.time <= settled) {
            match event.action {
                Action::Output(text) => terminal.feed(&text),
                Action::Resize { cols, rows } => terminal.resize(cols, rows),
                Action::Nothing => {}
            }
        }
        let (cols, rows) = terminal.size();
        // The still has no cursor: it is a picture, not the terminal.
        let lines = (0..rows).map(|row| terminal.line_html_without_cursor(row)).collect();
        Some(Poster { time: settled, cols, rows, lines })
    }
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(seconds: f64) -> String {
    let total = seconds.max(0.0).floor() as u64;
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

/// Seconds as the events API reads them: at most six decimals.
pub fn query_seconds(seconds: f64) -> String {
    let text = format!("{:.6}", seconds.max(0.0));
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').map_or_else(|| text.to_owned(), |whole| format!("{whole}.0"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use termaudit_api_types::TerminalState;

    use super::*;

    fn window(
        from: f64,
        to: Option<f64>,
        init: &str,
        events: serde_json::Value,
    ) -> RecordingWindow {
        RecordingWindow {
            from,
            to,
            state: TerminalState { time: from, cols: 20, rows: 3, init: init.to_owned() },
            events: events.as_array().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn events_apply_when_the_position_reaches_them() {
        let events = json!([[0.5, "o", "one "], [1.0, "m", "$ two"], [1.5, "o", "two"]]);
        let mut playback =
            Playback::start(&window(0.0, None, "", events), 1.5).expect("a playback");
        assert_eq!(playback.text(), "");
        assert_eq!(playback.advance(0.6, None), Progress::Playing);
        assert_eq!(playback.text(), "one");
        assert_eq!(playback.advance(1.0, None), Progress::Ended);
        assert_eq!(playback.text(), "one two");
        assert!(playback.at_end());
    }

    #[test]
    fn a_window_starts_from_its_state_and_applies_events_at_from() {
        let events = json!([[10.0, "o", "B"], [11.0, "o", "C"]]);
        let playback =
            Playback::start(&window(10.0, Some(40.0), "A", events), 60.0).expect("a playback");
        assert_eq!(playback.text(), "AB");
        assert_eq!(playback.position(), 10.0);
    }

    #[test]
    fn idle_gaps_are_compressed_to_the_limit() {
        let events = json!([[1.0, "o", "a"], [61.0, "o", "b"], [62.0, "o", "c"]]);
        let mut playback =
            Playback::start(&window(0.0, None, "", events), 62.0).expect("a playback");
        playback.advance(1.0, Some(2.0));
        assert_eq!(playback.text(), "a");
        // 1.9 s after "a": still idle.
        playback.advance(1.9, Some(2.0));
        assert_eq!(playback.text(), "a");
        // Past 2 s of idling the gap is skipped; the rest of the time plays on.
        playback.advance(0.5, Some(2.0));
        assert_eq!(playback.text(), "ab");
        assert!((playback.position() - 61.4).abs() < 1e-9, "{}", playback.position());
        // Without a limit the gap plays in full.
        let events = json!([[1.0, "o", "a"], [61.0, "o", "b"]]);
        let mut playback =
            Playback::start(&window(0.0, None, "", events), 61.0).expect("a playback");
        playback.advance(30.0, None);
        assert_eq!(playback.text(), "a");
    }

    #[test]
    fn the_end_of_the_loaded_windows_buffers_and_the_next_continues() {
        let mut playback = Playback::start(
            &window(0.0, Some(30.0), "", json!([[1.0, "o", "a"], [25.0, "o", "b"]])),
            45.0,
        )
        .expect("a playback");
        assert!(!playback.wants_more());
        assert_eq!(playback.advance(24.0, None), Progress::Playing);
        assert!(playback.wants_more());
        assert_eq!(playback.advance(10.0, None), Progress::Buffering);
        assert_eq!(playback.position(), 30.0);
        assert!(!playback.append(&window(31.0, None, "", json!([]))), "not adjacent");
        assert!(playback.append(&window(30.0, Some(60.0), "ignored", json!([[44.0, "o", "c"]]))));
        assert_eq!(playback.advance(14.0, None), Progress::Playing);
        assert_eq!(playback.text(), "abc");
        assert_eq!(playback.advance(5.0, None), Progress::Ended);
    }

    #[test]
    fn idling_at_a_windows_end_skips_to_it() {
        let mut playback =
            Playback::start(&window(0.0, Some(30.0), "", json!([[1.0, "o", "a"]])), 100.0)
                .expect("a playback");
        assert_eq!(playback.advance(4.0, Some(2.0)), Progress::Buffering);
        assert_eq!(playback.position(), 30.0);
    }

    #[test]
    fn seeking_ahead_within_the_loaded_events_needs_no_fetch() {
        let events = json!([[1.0, "o", "a"], [5.0, "o", "b"], [9.0, "o", "c"]]);
        let mut playback =
            Playback::start(&window(0.0, Some(30.0), "", events), 40.0).expect("a playback");
        assert!(playback.seek_within(5.0));
        assert_eq!(playback.text(), "ab");
        assert!(!playback.seek_within(2.0), "backwards needs the state at 2 s");
        assert!(!playback.seek_within(35.0), "past what is loaded");
    }

    #[test]
    fn resizes_and_repaints() {
        let events = json!([[1.0, "o", "x"], [2.0, "r", "30x5"]]);
        let mut playback =
            Playback::start(&window(0.0, None, "", events), 2.0).expect("a playback");
        assert_eq!(playback.take_repaint(), [0, 1, 2], "everything at first");
        assert!(playback.take_repaint().is_empty());
        playback.advance(1.0, None);
        assert_eq!(playback.take_repaint(), [0]);
        playback.advance(1.0, None);
        assert_eq!(playback.size(), (30, 5));
        assert_eq!(playback.take_repaint(), [0, 1, 2, 3, 4]);
        assert!(playback.line_html(0).contains("cursor"));
    }

    #[test]
    fn events_parse_from_asciicast() {
        assert_eq!(
            Event::parse(&json!([1.5, "r", "100x40"])),
            Some(Event { time: 1.5, action: Action::Resize { cols: 100, rows: 40 } })
        );
        assert_eq!(
            Event::parse(&json!([2, "i", "ls"])),
            Some(Event { time: 2.0, action: Action::Nothing })
        );
        assert_eq!(Event::parse(&json!(["x", "o", "a"])), None);
    }

    #[test]
    fn the_poster_is_the_screen_once_the_first_output_settles() {
        let events = json!([
            [0.2, "o", "$ "],
            [0.6, "o", "make\r\n"],
            [0.9, "o", "built"],
            [5.0, "o", "\r\nlater"]
        ]);
        let poster = Poster::of(&window(0.0, Some(30.0), "", events)).expect("a poster");
        assert_eq!(poster.time, 0.9);
        assert_eq!((poster.cols, poster.rows), (20, 3));
        assert_eq!(poster.lines[0], "<span>$ make</span>");
        assert_eq!(poster.lines[1], "<span>built</span>");
        assert_eq!(poster.lines[2], "");
        assert_eq!(Poster::of(&window(0.0, None, "", json!([[1.0, "m", "x"]]))), None);
    }

    #[test]
    fn clocks_and_query_times() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(65.9), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(query_seconds(0.0), "0.0");
        assert_eq!(query_seconds(12.5), "12.5");
        assert_eq!(query_seconds(1.0 / 3.0), "0.333333");
    }
}
