use super::event::ResizeError;
use super::time::{Micros, TimeError};

/// Why an uploaded recording was rejected. Every variant is the uploader's
/// fault (HTTP 400); the message names the line, what was expected and shows
/// an excerpt of what was found. In every variant `line` is 1-based (line 1
/// is the header) and `excerpt` is the start of the offending text, quoted
/// with control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CastError {
    /// The line is not JSON.
    #[error("line {line}: not valid JSON ({reason}): {excerpt}")]
    Json { line: u64, reason: String, excerpt: String },
    /// The first line is JSON but not an object.
    #[error("line 1: the header must be a JSON object such as {{\"version\": 2, ...}}: {excerpt}")]
    HeaderNotObject { excerpt: String },
    /// The header's `version` is missing or neither 2 nor 3.
    #[error("line 1: unsupported asciicast version {found}; expected 2 or 3")]
    UnsupportedVersion { found: String },
    /// A header field is missing or has the wrong type or value.
    #[error("line 1: header field `{field}` {problem}")]
    InvalidHeader { field: &'static str, problem: String },
    /// An event line is JSON but not an array.
    #[error("line {line}: expected an event array [time, code, data]: {excerpt}")]
    NotAnEvent { line: u64, excerpt: String },
    /// An event array without exactly three elements.
    #[error("line {line}: expected 3 elements [time, code, data], found {found}: {excerpt}")]
    WrongArity { line: u64, found: usize, excerpt: String },
    /// An event's time is not a non-negative number, or overflows.
    #[error("line {line}: event time {problem}: {excerpt}")]
    InvalidTime { line: u64, problem: TimeError, excerpt: String },
    /// An event's code is not a non-empty string.
    #[error("line {line}: event code must be a non-empty string such as \"o\": {excerpt}")]
    InvalidCode { line: u64, excerpt: String },
    /// An event's data is not a string.
    #[error("line {line}: event data must be a string: {excerpt}")]
    InvalidData { line: u64, excerpt: String },
    /// A v2 event earlier than the one before it.
    #[error(
        "line {line}: time {time} is before the previous event's {previous}; \
         asciicast v2 times must not decrease"
    )]
    TimeWentBackwards { line: u64, time: Micros, previous: Micros },
    /// A resize event whose data is not `COLSxROWS`.
    #[error("line {line}: {problem}: {excerpt}")]
    InvalidResize { line: u64, problem: ResizeError, excerpt: String },
}

impl CastError {
    /// The 1-based line the error is about (1 for the header).
    pub fn line(&self) -> u64 {
        match self {
            Self::HeaderNotObject { .. }
            | Self::UnsupportedVersion { .. }
            | Self::InvalidHeader { .. } => 1,
            Self::Json { line, .. }
            | Self::NotAnEvent { line, .. }
            | Self::WrongArity { line, .. }
            | Self::InvalidTime { line, .. }
            | Self::InvalidCode { line, .. }
            | Self::InvalidData { line, .. }
            | Self::TimeWentBackwards { line, .. }
            | Self::InvalidResize { line, .. } => *line,
        }
    }
}

/// At most `MAX` characters of `text`, as a JSON-ish quoted snippet, so error
/// messages stay short and cannot smuggle control characters into logs.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::from("`");
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("[1, \"o\"]"), "`[1, \"o\"]`");
        assert_eq!(excerpt("a\u{1b}[0m\n"), "`a\\u{1b}[0m\\n`");
        let long = "é".repeat(100);
        assert_eq!(excerpt(&long), format!("`{}…`", "é".repeat(60)));
    }
}
