//! What the gateway reads from the bytes going through a terminal: the lines
//! a user submits at the prompt (reported as commands), the statements they
//! form in a database shell, and the UTF-8 text of output split across reads.
//!
//! The line tracker sees keystrokes, not the shell's line editor: a line
//! recalled from history or completed with Tab is reported as typed. That is
//! the simple, robust approach (no shell integration needed on the target);
//! the recording holds what really ran.

/// Collects typed input into submitted lines.
#[derive(Debug, Default)]
pub struct LineTracker {
    line: Vec<u8>,
    escape: Escape,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// Inside `ESC [ ...` until a final byte.
    Csi,
    /// After `ESC O`: one more byte.
    Ss3,
}

impl LineTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds typed bytes; returns the lines submitted (Enter) in them,
    /// trimmed, empty ones left out.
    pub fn feed(&mut self, input: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in input {
            match self.escape {
                Escape::Start => {
                    self.escape = match byte {
                        b'[' => Escape::Csi,
                        b'O' => Escape::Ss3,
                        _ => Escape::None,
                    };
                    continue;
                }
                Escape::Csi => {
                    if (0x40..=0x7e).contains(&byte) {
                        self.escape = Escape::None;
                    }
                    continue;
                }
                Escape::Ss3 => {
                    self.escape = Escape::None;
                    continue;
                }
                Escape::None => {}
            }
            match byte {
                0x1b => self.escape = Escape::Start,
                b'\r' | b'\n' => {
                    let line = String::from_utf8_lossy(&self.line).trim().to_owned();
                    self.line.clear();
                    if !line.is_empty() {
                        lines.push(line);
                    }
                }
                // Backspace and DEL remove the last character (a whole UTF-8 sequence).
                0x08 | 0x7f => {
                    while let Some(last) = self.line.pop() {
                        if last & 0xc0 != 0x80 {
                            break;
                        }
                    }
                }
                // Ctrl-C abandons the line, Ctrl-U erases it.
                0x03 | 0x15 => self.line.clear(),
                // Other control characters (Tab, Ctrl-D, ...) edit nothing we can follow.
                0x00..=0x1f => {}
                _ => self.line.push(byte),
            }
        }
        lines
    }

    /// Forgets a partly typed line (after a password prompt, for instance).
    pub fn clear(&mut self) {
        self.line.clear();
    }
}

/// Gathers submitted lines into SQL statements: a statement ends with `;`;
/// a psql meta-command (`\dt`) stands alone.
#[derive(Debug, Default)]
pub struct StatementTracker {
    pending: Vec<String>,
}

impl StatementTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// The statement `line` completes, if any.
    pub fn line(&mut self, line: &str) -> Option<String> {
        if self.pending.is_empty() && line.starts_with('\\') {
            return Some(line.to_owned());
        }
        self.pending.push(line.to_owned());
        if line.trim_end().ends_with(';') {
            Some(std::mem::take(&mut self.pending).join("\n"))
        } else {
            None
        }
    }
}

/// Decodes a byte stream as UTF-8 text across reads: a character split
/// between two reads is kept until it is whole; invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn decode(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut text = String::with_capacity(self.pending.len());
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // An incomplete character at the end: wait for the rest.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitted_lines_are_what_was_typed_up_to_enter() {
        let mut lines = LineTracker::new();
        assert!(lines.feed(b"echo hel").is_empty());
        assert_eq!(lines.feed(b"lo\r"), ["echo hello"]);
        assert_eq!(lines.feed(b"ls -x\x7fl\rpwd\r\r  \r"), ["ls -l", "pwd"]);
    }

    #[test]
    fn editing_keys_and_escape_sequences_are_not_text() {
        let mut lines = LineTracker::new();
        // Arrow keys (CSI and SS3 forms), Ctrl-C and Ctrl-U.
        assert_eq!(lines.feed(b"ab\x1b[D\x1bOAc\r"), ["abc"]);
        assert_eq!(lines.feed(b"rm -rf /\x03uptime\r"), ["uptime"]);
        assert_eq!(lines.feed(b"secret\x15whoami\r"), ["whoami"]);
        assert_eq!(lines.feed(b"caf\xc3\xa9\x7f\x7fe\r"), ["cae"]);
    }

    #[test]
    fn statements_end_with_a_semicolon_and_meta_commands_stand_alone() {
        let mut statements = StatementTracker::new();
        assert_eq!(statements.line("\\dt"), Some("\\dt".to_owned()));
        assert_eq!(statements.line("SELECT *"), None);
        assert_eq!(statements.line("FROM jobs;"), Some("SELECT *\nFROM jobs;".to_owned()));
        assert_eq!(statements.line("SELECT 1;"), Some("SELECT 1;".to_owned()));
    }

    #[test]
    fn characters_split_between_reads_are_decoded_whole() {
        let mut text = Utf8Stream::new();
        let bytes = "né→".as_bytes();
        assert_eq!(text.decode(&bytes[..2]), "n");
        assert_eq!(text.decode(&bytes[2..4]), "é");
        assert_eq!(text.decode(&bytes[4..]), "→");
        assert_eq!(text.decode(b"a\xffb"), "a\u{fffd}b");
    }
}
