//! A recording watched live (`GET …/recording/live`), without the browser:
//! the server-sent events read from the stream's bytes ([`Frames`]), what
//! each one means ([`Live`]), and how long to wait before reconnecting.
//! Pure, so it is tested natively; `pages::live` reads the stream and paints.

use serde::Deserialize;
use termaudit_api_types::Person;

use crate::player::playback::{Action, Event};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// `event:`; `message` when absent.
    pub event: String,
    /// `id:`, when the event has one.
    pub id: Option<String>,
    /// Every `data:` line, joined with newlines.
    pub data: String,
}

/// Splits the stream's bytes into events as they arrive: a piece may end in
/// the middle of an event, of a line or of a character. Comment lines
/// (`: keepalive`) are skipped.
#[derive(Debug, Default)]
pub struct Frames {
    buffer: Vec<u8>,
}

impl Frames {
    /// Adds `bytes` and returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        self.buffer.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some((end, gap)) = blank_line(&self.buffer) {
            let block: Vec<u8> = self.buffer.drain(..end + gap).take(end).collect();
            if let Some(frame) = parse(&String::from_utf8_lossy(&block)) {
                frames.push(frame);
            }
        }
        frames
    }
}

/// Where the first blank line (the end of an event) starts, and its length.
fn blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2));
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|at| (at, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// An event's lines; `None` for a block of comments only.
fn parse(block: &str) -> Option<Frame> {
    let mut frame = Frame { event: "message".to_owned(), id: None, data: String::new() };
    let mut fields = false;
    let mut data = Vec::new();
    for line in block.lines() {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        fields = true;
        match name {
            "event" => value.clone_into(&mut frame.event),
            "id" => frame.id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    frame.data = data.join("\n");
    fields.then_some(frame)
}

/// The terminal as it is when the watch starts (`init`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Init {
    /// When the recording started (RFC 3339): its events' times count from
    /// then.
    #[serde(default)]
    pub started_at: Option<String>,
    /// The recording's time (seconds from its start) of this state.
    #[serde(default)]
    pub time: f64,
    pub cols: usize,
    pub rows: usize,
    /// What to feed an empty terminal to draw it as it is now.
    pub init: String,
}

/// How the session ended (`end`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Ending {
    pub close_reason: Option<String>,
    pub revoked_by: Option<Person>,
    pub revoke_reason: Option<String>,
}

impl Ending {
    /// One line for a person: who revoked it and why, or how it closed.
    pub fn describe(&self) -> String {
        match (&self.revoked_by, &self.revoke_reason) {
            (Some(by), Some(reason)) if !reason.is_empty() => {
                format!("Revoked by {}: {reason}", by.name)
            }
            (Some(by), _) => format!("Revoked by {}", by.name),
            _ => match self.close_reason.as_deref() {
                Some(reason) => format!("Closed ({})", reason.replace('_', " ")),
                None => "Closed".to_owned(),
            },
        }
    }
}

/// What an event asks of the watcher's terminal.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// Start from this terminal.
    Init(Init),
    /// Output to feed, or a resize (markers draw nothing), at its time.
    Play(Event),
    /// The session ended; the stream closes.
    End(Ending),
}

impl Live {
    /// What `frame` means; `None` for an event this app does not know or
    /// cannot read (it is skipped, its id still counts).
    pub fn of(frame: &Frame) -> Option<Live> {
        match frame.event.as_str() {
            "init" => serde_json::from_str(&frame.data).ok().map(Live::Init),
            "output" | "resize" | "marker" => {
                let value = serde_json::from_str(&frame.data).ok()?;
                Event::parse(&value).map(Live::Play)
            }
            "end" => Some(Live::End(serde_json::from_str(&frame.data).unwrap_or_default())),
            _ => None,
        }
    }
}

/// At most this much output is held while the viewer is paused (or seeking
/// back): beyond it the held events are dropped, and "Jump to live" starts
/// again from the terminal as it is then (`init`) instead of replaying them.
pub const HELD_MAX_BYTES: usize = 1024 * 1024;
/// ... and at most this many events.
pub const HELD_MAX_EVENTS: usize = 10_000;

/// Output that arrived while the viewer was not following the edge,
/// bounded by [`HELD_MAX_BYTES`] and [`HELD_MAX_EVENTS`].
#[derive(Debug)]
pub struct Held {
    actions: Vec<Action>,
    bytes: usize,
    /// Events that arrived, those dropped included.
    count: usize,
    /// Too much arrived: the held events were dropped.
    overflowed: bool,
    max_bytes: usize,
    max_events: usize,
}

impl Default for Held {
    fn default() -> Self {
        Held::with_limits(HELD_MAX_BYTES, HELD_MAX_EVENTS)
    }
}

/// How to catch up with the edge on "Jump to live".
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// Draw these, in order.
    Replay(Vec<Action>),
    /// Too much was held to keep: start again from the terminal's state now.
    Reinit,
}

impl Held {
    pub fn with_limits(max_bytes: usize, max_events: usize) -> Held {
        Held { actions: Vec::new(), bytes: 0, count: 0, overflowed: false, max_bytes, max_events }
    }

    /// Holds `action`; drops everything held once over a limit.
    pub fn push(&mut self, action: Action) {
        self.count += 1;
        if self.overflowed {
            return;
        }
        self.bytes += match &action {
            Action::Output(text) => text.len(),
            Action::Resize { .. } | Action::Nothing => 0,
        };
        self.actions.push(action);
        if self.bytes > self.max_bytes || self.actions.len() > self.max_events {
            self.actions = Vec::new();
            self.bytes = 0;
            self.overflowed = true;
        }
    }

    /// Events that arrived since holding began (dropped ones included).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether the held events were dropped (a jump starts again).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Empties it: what to do to reach the edge.
    pub fn take(&mut self) -> Resume {
        let held = std::mem::take(self);
        *self = Held::with_limits(held.max_bytes, held.max_events);
        if held.overflowed { Resume::Reinit } else { Resume::Replay(held.actions) }
    }
}

/// The longest wait before reconnecting, in milliseconds.
const MAX_BACKOFF_MS: u32 = 15_000;

/// How long to wait before reconnection attempt `attempt` (0 first): one
/// second, doubling, at most [`MAX_BACKOFF_MS`].
pub fn backoff_ms(attempt: u32) -> u32 {
    1_000_u32.saturating_mul(1 << attempt.min(4)).min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_across_pieces_and_comments_are_skipped() {
        let mut frames = Frames::default();
        let stream = "event: init\nid: 1:0\ndata: {\"started_at\":\"2026-12-06T07:00:00Z\",\"cols\":40,\"rows\":6,\"init\":\"$ \"}\n\n\
                      : keepalive\n\n\
                      event: output\nid: 1:1\ndata: [0.5, \"o\", \"h\u{e9}\"]\n\n";
        let bytes = stream.as_bytes();
        // One byte at a time: every cut, the middle of `é` included.
        let mut got = Vec::new();
        for byte in bytes {
            got.extend(frames.push(std::slice::from_ref(byte)));
        }
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].event.as_str(), got[0].id.as_deref()), ("init", Some("1:0")));
        assert_eq!(
            Live::of(&got[0]),
            Some(Live::Init(Init {
                started_at: Some("2026-12-06T07:00:00Z".to_owned()),
                time: 0.0,
                cols: 40,
                rows: 6,
                init: "$ ".to_owned()
            }))
        );
        assert_eq!(got[1].id.as_deref(), Some("1:1"));
        assert_eq!(
            Live::of(&got[1]),
            Some(Live::Play(Event { time: 0.5, action: Action::Output("h\u{e9}".to_owned()) }))
        );
    }

    #[test]
    fn crlf_events_and_multi_line_data_are_read() {
        let mut frames = Frames::default();
        let got = frames
            .push(b"event: resize\r\nid: 2:3\r\ndata: [1.0, \"r\",\r\ndata: \"50x8\"]\r\n\r\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "[1.0, \"r\",\n\"50x8\"]");
        assert_eq!(
            Live::of(&got[0]),
            Some(Live::Play(Event { time: 1.0, action: Action::Resize { cols: 50, rows: 8 } }))
        );
        assert!(frames.push(b"event: output\n").is_empty(), "an event not yet complete");
    }

    #[test]
    fn the_end_says_who_revoked_or_how_it_closed() {
        let frame =
            |data: &str| Frame { event: "end".into(), id: Some("5:0".into()), data: data.into() };
        let revoked = r#"{"close_reason":"revoked","ended_at":"2026-01-02T03:04:05Z",
            "revoked_by":{"subject":"pat","name":"Pat"},"revoke_reason":"incident 42"}"#;
        let Some(Live::End(ending)) = Live::of(&frame(revoked)) else { panic!("an end") };
        assert_eq!(ending.describe(), "Revoked by Pat: incident 42");
        let Some(Live::End(ending)) = Live::of(&frame(r#"{"close_reason":"user_exit"}"#)) else {
            panic!("an end")
        };
        assert_eq!(ending.describe(), "Closed (user exit)");
        let Some(Live::End(ending)) = Live::of(&frame("{}")) else { panic!("an end") };
        assert_eq!(ending.describe(), "Closed");
    }

    #[test]
    fn unknown_or_unreadable_events_are_skipped() {
        let frame = Frame { event: "output".into(), id: Some("1:1".into()), data: "nope".into() };
        assert_eq!(Live::of(&frame), None);
        let frame = Frame { event: "later".into(), id: None, data: "{}".into() };
        assert_eq!(Live::of(&frame), None);
    }

    #[test]
    fn held_output_is_replayed_in_order_under_the_limits() {
        let mut held = Held::with_limits(10, 3);
        held.push(Action::Output("ab".into()));
        held.push(Action::Resize { cols: 20, rows: 4 });
        held.push(Action::Output("cd".into()));
        assert_eq!((held.count(), held.overflowed()), (3, false));
        assert_eq!(
            held.take(),
            Resume::Replay(vec![
                Action::Output("ab".into()),
                Action::Resize { cols: 20, rows: 4 },
                Action::Output("cd".into()),
            ])
        );
        // Emptied by the jump, limits kept.
        assert_eq!(held.count(), 0);
        assert_eq!(held.take(), Resume::Replay(Vec::new()));
    }

    #[test]
    fn too_much_held_is_dropped_and_the_jump_starts_again() {
        // Over the bytes.
        let mut held = Held::with_limits(10, 100);
        held.push(Action::Output("0123456789".into()));
        assert!(!held.overflowed(), "at the limit is still kept");
        held.push(Action::Output("x".into()));
        assert!(held.overflowed());
        held.push(Action::Output("more".into()));
        assert_eq!(held.count(), 3, "still counted");
        assert_eq!(held.take(), Resume::Reinit);
        // Holding again after the jump starts afresh.
        held.push(Action::Output("y".into()));
        assert_eq!(held.take(), Resume::Replay(vec![Action::Output("y".into())]));

        // Over the events (resizes hold no bytes).
        let mut held = Held::with_limits(1_000, 2);
        for _ in 0..3 {
            held.push(Action::Resize { cols: 10, rows: 2 });
        }
        assert_eq!(held.take(), Resume::Reinit);

        // The defaults.
        let mut held = Held::default();
        held.push(Action::Output("z".repeat(HELD_MAX_BYTES)));
        assert!(!held.overflowed());
        held.push(Action::Output("z".into()));
        assert!(held.overflowed());
    }

    #[test]
    fn reconnecting_backs_off_to_a_limit() {
        assert_eq!(
            (0..7).map(backoff_ms).collect::<Vec<_>>(),
            [1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]
        );
    }
}
