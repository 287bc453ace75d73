use std::fmt;

use super::time::Micros;

/// What an event is. Codes other than the known ones are kept as they are,
/// so a stored recording downloads as it was uploaded; readers ignore them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventCode {
    /// `o`: data the terminal printed.
    Output,
    /// `i`: keys the operator typed.
    Input,
    /// `m`: a marker (chapter); data is its label, possibly empty.
    Marker,
    /// `r`: the terminal was resized; data is `COLSxROWS`.
    Resize,
    /// `x`: the session exited (asciicast v3); data is the exit status.
    /// Kept in v2 output, where readers ignore it.
    Exit,
    /// Any other non-empty code.
    Other(String),
}

impl EventCode {
    /// The code for its text; never fails (unknown text is `Other`).
    pub fn parse(code: &str) -> Self {
        match code {
            "o" => Self::Output,
            "i" => Self::Input,
            "m" => Self::Marker,
            "r" => Self::Resize,
            "x" => Self::Exit,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code's text, as written in a cast file.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Output => "o",
            Self::Input => "i",
            Self::Marker => "m",
            Self::Resize => "r",
            Self::Exit => "x",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of a recording, at an absolute time since its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the start of the recording.
    pub time: Micros,
    /// What the event is.
    pub code: EventCode,
    /// The event's payload: output or input text, marker label, size, ...
    pub data: String,
}

impl Event {
    /// An event of any code.
    pub fn new(time: Micros, code: EventCode, data: impl Into<String>) -> Self {
        Self { time, code, data: data.into() }
    }

    /// Terminal output.
    pub fn output(time: Micros, data: impl Into<String>) -> Self {
        Self::new(time, EventCode::Output, data)
    }

    /// A marker labelled `label`, such as a command or a runbook step to show
    /// in the player's timeline.
    pub fn marker(time: Micros, label: impl Into<String>) -> Self {
        Self::new(time, EventCode::Marker, label)
    }

    /// A resize to `size`.
    pub fn resize(time: Micros, size: Resize) -> Self {
        Self::new(time, EventCode::Resize, size.to_string())
    }

    /// The new size, if this is a resize event with valid data.
    pub fn as_resize(&self) -> Option<Resize> {
        match self.code {
            EventCode::Resize => Resize::parse(&self.data).ok(),
            _ => None,
        }
    }

    /// The asciicast v2 line, without a newline: `[12.5, "o", "ls\r\n"]`.
    /// The time is in [`Micros`]' canonical form; strings are JSON-escaped
    /// exactly as `serde_json` escapes them.
    pub fn to_line(&self) -> String {
        let mut line = String::with_capacity(self.data.len() + 24);
        self.write_line(&mut line);
        line
    }

    /// Appends [`Event::to_line`]'s line to `out`, without allocating a
    /// line of its own (ingest writes a chunk's lines into one buffer).
    pub fn write_line(&self, out: &mut String) {
        use fmt::Write as _;
        out.push('[');
        // Writing to a String cannot fail.
        let _ = write!(out, "{}", self.time);
        out.push_str(", ");
        push_json_str(out, self.code.as_str());
        out.push_str(", ");
        push_json_str(out, &self.data);
        out.push(']');
    }
}

/// A terminal size, as in a resize event's `"120x40"` (columns x rows).
/// Each is at most 65535, the limit of the kernel's `struct winsize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

/// A resize event's data that is not `COLSxROWS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("resize data must be COLSxROWS with each from 0 to 65535, such as \"120x40\"")]
pub struct ResizeError;

impl Resize {
    /// Parses `COLSxROWS`: ASCII digits, a lowercase `x`, ASCII digits.
    pub fn parse(raw: &str) -> Result<Self, ResizeError> {
        fn number(digits: &str) -> Result<u16, ResizeError> {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ResizeError);
            }
            digits.parse().map_err(|_| ResizeError)
        }
        let (cols, rows) = raw.split_once('x').ok_or(ResizeError)?;
        Ok(Self { cols: number(cols)?, rows: number(rows)? })
    }
}

impl fmt::Display for Resize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.cols, self.rows)
    }
}

/// The index of the first time that is earlier than the one before it, or
/// `None` when the times never decrease, as asciicast v2 requires. For
/// checking events assembled outside a [`Decoder`](super::Decoder), such as a
/// download with markers merged in.
pub fn first_out_of_order(times: impl IntoIterator<Item = Micros>) -> Option<usize> {
    let mut previous = Micros::ZERO;
    for (i, time) in times.into_iter().enumerate() {
        if time < previous {
            return Some(i);
        }
        previous = time;
    }
    None
}

/// Appends `s` as a JSON string literal, escaped as `serde_json` does: `"`,
/// `\` and control characters below U+0020; everything else as UTF-8.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on char boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for text in ["o", "i", "m", "r", "x", "z", "foo", "O"] {
            assert_eq!(EventCode::parse(text).as_str(), text);
        }
        assert_eq!(EventCode::parse("x"), EventCode::Exit);
        assert_eq!(EventCode::parse("O"), EventCode::Other("O".to_owned()));
    }

    #[test]
    fn resize_parses_cols_x_rows() {
        assert_eq!(Resize::parse("120x40"), Ok(Resize { cols: 120, rows: 40 }));
        assert_eq!(Resize::parse("0x0"), Ok(Resize { cols: 0, rows: 0 }));
        assert_eq!(Resize::parse("65535x65535"), Ok(Resize { cols: 65535, rows: 65535 }));
        assert_eq!(Resize { cols: 80, rows: 24 }.to_string(), "80x24");
        for bad in [
            "", "x", "120x", "x40", "120X40", "120 x 40", "+1x2", "-1x2", "1x2x3", "65536x1",
            "1.5x2",
        ] {
            assert_eq!(Resize::parse(bad), Err(ResizeError), "{bad:?}");
        }
    }

    #[test]
    fn lines_are_canonical() {
        let event = Event::output(Micros(1_500_000), "\u{1b}[1;31mERROR\u{1b}[0m \"é\"\r\n");
        assert_eq!(event.to_line(), r#"[1.5, "o", "\u001b[1;31mERROR\u001b[0m \"é\"\r\n"]"#);
        let marker = Event::marker(Micros(2_000_001), "step 2: restart nginx");
        assert_eq!(marker.to_line(), r#"[2.000001, "m", "step 2: restart nginx"]"#);
        let resize = Event::resize(Micros::ZERO, Resize { cols: 120, rows: 40 });
        assert_eq!(resize.to_line(), r#"[0.0, "r", "120x40"]"#);
        assert_eq!(resize.as_resize(), Some(Resize { cols: 120, rows: 40 }));
        assert_eq!(marker.as_resize(), None);
    }

    #[test]
    fn order_check_finds_the_first_step_back() {
        let t = |v: &[u64]| first_out_of_order(v.iter().copied().map(Micros));
        assert_eq!(t(&[]), None);
        assert_eq!(t(&[0, 0, 5, 5, 9]), None);
        assert_eq!(t(&[0, 5, 4, 3]), Some(2));
    }
}
