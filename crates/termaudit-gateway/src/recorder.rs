//! A session's recording as asciicast v2 chunks: events are appended as
//! lines, and the buffer is sealed into a numbered chunk every flush interval
//! or when it reaches [`CHUNK_BYTES`]. A sealed chunk never changes, so
//! sending it again after a failure is an identical repeat the API accepts.

use std::time::{Duration, Instant};

use termaudit_domain::asciicast::{Event, Header, Micros, Resize};

/// A chunk is sealed once it holds this much.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// ... or once its first event is this old.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// A sealed chunk, ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub seq: u32,
    pub body: String,
}

/// Builds a recording's chunks from terminal events.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    next_seq: u32,
    buffer: String,
    oldest: Option<Instant>,
    last_time: Micros,
}

impl Recorder {
    /// A recording that starts now, of a `cols` x `rows` terminal; the
    /// header opens chunk 0.
    pub fn new(cols: u16, rows: u16, timestamp: i64, start: Instant) -> Self {
        let mut header = Header::new(cols, rows);
        header.timestamp = Some(timestamp);
        header.env = Some([("TERM".to_owned(), crate::shell::TERM.to_owned())].into());
        let mut buffer = header.to_line();
        buffer.push('\n');
        Self { start, next_seq: 0, buffer, oldest: Some(start), last_time: Micros::ZERO }
    }

    /// The time of an event happening at `at`, since the start; never
    /// earlier than the previous event's.
    fn time(&mut self, at: Instant) -> Micros {
        let elapsed = at.saturating_duration_since(self.start).as_micros();
        let time = Micros(u64::try_from(elapsed).unwrap_or(u64::MAX)).max(self.last_time);
        self.last_time = time;
        time
    }

    fn push(&mut self, event: &Event, at: Instant) {
        self.buffer.push_str(&event.to_line());
        self.buffer.push('\n');
        self.oldest.get_or_insert(at);
    }

    pub fn output(&mut self, text: &str, at: Instant) {
        if text.is_empty() {
            return;
        }
        let event = Event::output(self.time(at), text);
        self.push(&event, at);
    }

    pub fn resize(&mut self, cols: u16, rows: u16, at: Instant) {
        let event = Event::resize(self.time(at), Resize { cols, rows });
        self.push(&event, at);
    }

    /// The chunk to upload now, if the buffer is full or old enough.
    pub fn due(&mut self, now: Instant) -> Option<Chunk> {
        let old = self.oldest.is_some_and(|t| now.saturating_duration_since(t) >= FLUSH_INTERVAL);
        if self.buffer.len() >= CHUNK_BYTES || old { self.seal() } else { None }
    }

    /// Seals whatever is buffered (at the end of the session).
    pub fn seal(&mut self) -> Option<Chunk> {
        if self.buffer.is_empty() {
            return None;
        }
        let chunk = Chunk { seq: self.next_seq, body: std::mem::take(&mut self.buffer) };
        self.next_seq += 1;
        self.oldest = None;
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termaudit_domain::asciicast::Decoder;

    #[test]
    fn chunks_are_numbered_and_replay_as_one_recording() {
        let start = Instant::now();
        let mut recorder = Recorder::new(80, 24, 1_700_000_000, start);
        recorder.output("$ ", start + Duration::from_millis(10));
        assert_eq!(recorder.due(start + Duration::from_millis(100)), None);
        let first = recorder.due(start + FLUSH_INTERVAL).expect("due");
        assert_eq!(first.seq, 0);
        assert!(recorder.due(start + Duration::from_secs(5)).is_none(), "nothing buffered");
        recorder.resize(100, 30, start + Duration::from_millis(1500));
        recorder.output("echo hi\r\n", start + Duration::from_millis(1200));
        let second = recorder.seal().expect("sealed");
        assert_eq!(second.seq, 1);

        let cast = format!("{}{}", first.body, second.body);
        let mut lines = cast.lines();
        let (header, mut decoder) =
            Decoder::from_header_line(lines.next().expect("header")).expect("a header");
        assert_eq!((header.width, header.height), (80, 24));
        let events: Vec<_> = lines.filter_map(|l| decoder.decode_line(l).expect("valid")).collect();
        let times: Vec<u64> = events.iter().map(|e| e.time.0).collect();
        // A late event keeps time going forward.
        assert_eq!(times, [10_000, 1_500_000, 1_500_000]);
        assert_eq!(events[1].data, "100x30");
        assert_eq!(events[2].data, "echo hi\r\n");
    }

    #[test]
    fn a_full_buffer_is_sealed_at_once() {
        let start = Instant::now();
        let mut recorder = Recorder::new(80, 24, 0, start);
        assert!(recorder.seal().is_some());
        recorder.output(&"x".repeat(CHUNK_BYTES), start);
        assert_eq!(recorder.due(start).map(|c| c.seq), Some(1));
    }
}
