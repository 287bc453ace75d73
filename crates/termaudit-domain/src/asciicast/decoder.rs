use serde_json::value::RawValue;

use super::error::{CastError, excerpt};
use super::event::{Event, EventCode, Resize};
use super::header::{Header, Version, parse_header_line};
use super::time::{Micros, TimeError};

/// Reads a cast file's event lines one at a time, v2 or v3, into v2 events
/// with absolute times. Holds no more than the previous event's time, so a
/// recording of any size streams through it.
///
/// - v2: times are absolute and must not decrease (no silent reordering).
/// - v3: times are intervals since the previous event, parsed exactly and
///   summed as integers; lines starting with `#` are comments.
/// - Both: blank lines are skipped; unknown codes are kept; `r` data must be
///   `COLSxROWS`.
#[derive(Debug, Clone)]
pub struct Decoder {
    version: Version,
    line: u64,
    previous: Micros,
}

impl Decoder {
    /// A decoder for the lines after a header of `version`, which was line 1.
    pub fn new(version: Version) -> Self {
        Self { version, line: 1, previous: Micros::ZERO }
    }

    /// A decoder that continues a file of `version` whose last event was at
    /// `previous`, in a later piece of it (a recording uploaded in chunks).
    /// Line numbers in errors count from the piece's first line.
    pub fn resume(version: Version, previous: Micros) -> Self {
        Self { version, line: 0, previous }
    }

    /// Parses the header line and returns it with a decoder for the rest.
    pub fn from_header_line(line: &str) -> Result<(Header, Self), CastError> {
        let (header, version) = parse_header_line(line)?;
        Ok((header, Self::new(version)))
    }

    /// The version of the file being read.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The number of lines read so far, the header included.
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// The absolute time of the last event decoded (zero before the first).
    pub fn last_time(&self) -> Micros {
        self.previous
    }

    /// Decodes the next line (with or without its line ending). `None` for a
    /// blank line or a v3 comment. After an error the decoder's state is
    /// unchanged apart from the line count.
    pub fn decode_line(&mut self, line: &str) -> Result<Option<Event>, CastError> {
        self.line = self.line.saturating_add(1);
        let number = self.line;
        let content = line.trim_matches([' ', '\t', '\r', '\n']);
        if content.is_empty() || (self.version == Version::V3 && content.starts_with('#')) {
            return Ok(None);
        }

        let items: Vec<&RawValue> = match serde_json::from_str(content) {
            Ok(items) => items,
            Err(e) if e.is_data() => {
                return Err(CastError::NotAnEvent { line: number, excerpt: excerpt(content) });
            }
            Err(e) => {
                return Err(CastError::Json {
                    line: number,
                    reason: e.to_string(),
                    excerpt: excerpt(content),
                });
            }
        };
        let [time, code, data] = items.as_slice() else {
            return Err(CastError::WrongArity {
                line: number,
                found: items.len(),
                excerpt: excerpt(content),
            });
        };

        let invalid_time =
            |problem| CastError::InvalidTime { line: number, problem, excerpt: excerpt(content) };
        let time = Micros::parse_seconds(time.get()).map_err(invalid_time)?;
        let code = match serde_json::from_str::<String>(code.get()) {
            Ok(code) if !code.is_empty() => code,
            _ => return Err(CastError::InvalidCode { line: number, excerpt: excerpt(content) }),
        };
        let data: String = serde_json::from_str(data.get())
            .map_err(|_| CastError::InvalidData { line: number, excerpt: excerpt(content) })?;
        let code = EventCode::parse(&code);
        if code == EventCode::Resize {
            Resize::parse(&data).map_err(|problem| CastError::InvalidResize {
                line: number,
                problem,
                excerpt: excerpt(content),
            })?;
        }

        let time = match self.version {
            Version::V2 if time < self.previous => {
                return Err(CastError::TimeWentBackwards {
                    line: number,
                    time,
                    previous: self.previous,
                });
            }
            Version::V2 => time,
            Version::V3 => {
                self.previous.checked_add(time).ok_or_else(|| invalid_time(TimeError::TooLarge))?
            }
        };
        self.previous = time;
        Ok(Some(Event { time, code, data }))
    }
}
