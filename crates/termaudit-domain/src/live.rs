//! Where a live watcher of a recording stands: the id of every event of the
//! live stream, which the watcher sends back (`Last-Event-ID`) to resume.

use std::fmt;

use crate::DomainError;

/// A place in a recording's chunks: the next line to send is line `line`
/// (from 0) of chunk `seq`. The event made of line `i` of chunk `s` has the
/// id of the place after it, `s:i+1`; the terminal after chunks
/// `0 .. n` has the id `n:0`. Resuming from an id sends what follows it,
/// so no event is sent twice or skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LivePosition {
    pub seq: i32,
    pub line: u32,
}

impl LivePosition {
    /// Reads an id the live stream gave (`SEQ:LINE`); `field` names where
    /// it came from, for the error.
    pub fn parse(field: &str, text: &str) -> Result<Self, DomainError> {
        let invalid =
            || DomainError::invalid(field, format!("{text:?} is not an event id of a live stream"));
        let (seq, line) = text.trim().split_once(':').ok_or_else(invalid)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(seq) || !digits(line) {
            return Err(invalid());
        }
        Ok(Self {
            seq: seq.parse().map_err(|_| invalid())?,
            line: line.parse().map_err(|_| invalid())?,
        })
    }

    /// The start of chunk `seq`.
    pub fn chunk(seq: i32) -> Self {
        Self { seq, line: 0 }
    }
}

impl fmt::Display for LivePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back() {
        let p = LivePosition { seq: 12, line: 345 };
        assert_eq!(p.to_string(), "12:345");
        assert_eq!(LivePosition::parse("Last-Event-ID", "12:345").ok(), Some(p));
        assert_eq!(
            LivePosition::parse("Last-Event-ID", " 0:0 ").ok(),
            Some(LivePosition::chunk(0))
        );
        assert!(LivePosition::chunk(3) > LivePosition { seq: 2, line: 9 });
    }

    #[test]
    fn other_text_is_refused() {
        for text in
            ["", "12", ":", "1:", ":1", "-1:0", "1:-1", "a:1", "1:2:3", "99999999999:0", "1 :2"]
        {
            assert!(LivePosition::parse("Last-Event-ID", text).is_err(), "{text:?}");
        }
    }
}
