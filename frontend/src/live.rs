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
    /// Output to feed, or a resize (markers draw nothing).
    Play(Action),
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
                Event::parse(&value).map(|event| Live::Play(event.action))
            }
            "end" => Some(Live::End(serde_json::from_str(&frame.data).unwrap_or_default())),
            _ => None,
        }
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
        let stream = "event: init\nid: 1:0\ndata: {\"cols\":40,\"rows\":6,\"init\":\"$ \"}\n\n\
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
            Some(Live::Init(Init { cols: 40, rows: 6, init: "$ ".to_owned() }))
        );
        assert_eq!(got[1].id.as_deref(), Some("1:1"));
        assert_eq!(Live::of(&got[1]), Some(Live::Play(Action::Output("h\u{e9}".to_owned()))));
    }

    #[test]
    fn crlf_events_and_multi_line_data_are_read() {
        let mut frames = Frames::default();
        let got = frames
            .push(b"event: resize\r\nid: 2:3\r\ndata: [1.0, \"r\",\r\ndata: \"50x8\"]\r\n\r\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "[1.0, \"r\",\n\"50x8\"]");
        assert_eq!(Live::of(&got[0]), Some(Live::Play(Action::Resize { cols: 50, rows: 8 })));
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
    fn reconnecting_backs_off_to_a_limit() {
        assert_eq!(
            (0..7).map(backoff_ms).collect::<Vec<_>>(),
            [1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]
        );
    }
}
