/// Turns terminal output into plain text for search, one event's data at a
/// time: escape sequences are removed, so `"\x1b[1;31mERROR\x1b[0m"` becomes
/// `"ERROR"`.
///
/// It follows the states of a DEC/ECMA-48 parser (as described at
/// vt100.net/emu/dec_ansi_parser) but only to skip sequences, so it holds
/// just its state between calls and never buffers: a sequence split across
/// two events is removed as well as a whole one, and an unterminated OSC or
/// DCS string costs no memory (its content is dropped up to the terminator,
/// as a terminal would).
///
/// Removed: CSI (`ESC [`, including private modes such as `ESC [?1049h`),
/// OSC (`ESC ]`, ended by BEL or ST), DCS, SOS, PM and APC strings (ended by
/// ST), two- and three-character escapes such as charset selection
/// (`ESC ( B`), their 8-bit C1 forms, and control characters. Kept: `\n` and
/// `\t`; `\r` becomes `\n`, and `\r\n` a single `\n`, so text overwritten
/// with `\r` stays separate words. Not emulated: cursor movement, erasing and
/// backspace, so text a program later erased or redrew still appears.
#[derive(Debug, Clone, Default)]
pub struct EscapeStripper {
    state: State,
    after_cr: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and intermediate bytes (0x20..=0x2F), as in `ESC ( B`.
    EscapeIntermediate,
    /// Inside a control sequence, before its final byte.
    Csi,
    /// Inside an OSC string.
    Osc,
    /// Inside a DCS, SOS, PM or APC string.
    String,
    /// ESC inside a string: `\` ends it (ST), anything else starts a new
    /// escape sequence.
    StringEscape,
}

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
const CAN: char = '\u{18}';
const SUB: char = '\u{1a}';
const DEL: char = '\u{7f}';
const C1_DCS: char = '\u{90}';
const C1_SOS: char = '\u{98}';
const C1_CSI: char = '\u{9b}';
const C1_ST: char = '\u{9c}';
const C1_OSC: char = '\u{9d}';
const C1_PM: char = '\u{9e}';
const C1_APC: char = '\u{9f}';

impl EscapeStripper {
    /// A stripper at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the text of the next piece of output to `out`.
    pub fn push(&mut self, data: &str, out: &mut String) {
        for c in data.chars() {
            self.step(c, out);
        }
    }

    /// The text of the next piece of output.
    pub fn strip(&mut self, data: &str) -> String {
        let mut out = String::with_capacity(data.len());
        self.push(data, &mut out);
        out
    }

    /// Whether the stream ended inside an escape sequence or string.
    pub fn in_sequence(&self) -> bool {
        self.state != State::Ground
    }

    fn step(&mut self, c: char, out: &mut String) {
        // Transitions from any state.
        let anywhere = match (c, self.state) {
            (CAN | SUB | C1_ST, _) => Some(State::Ground),
            (ESC, State::Osc | State::String) => Some(State::StringEscape),
            (ESC, _) => Some(State::Escape),
            (C1_CSI, _) => Some(State::Csi),
            (C1_OSC, _) => Some(State::Osc),
            (C1_DCS | C1_SOS | C1_PM | C1_APC, _) => Some(State::String),
            // Other C1 controls are dropped.
            ('\u{80}'..='\u{9f}', _) => Some(State::Ground),
            _ => None,
        };
        if let Some(state) = anywhere {
            self.state = state;
            return;
        }
        match self.state {
            State::Ground => self.ground(c, out),
            State::Escape => self.escape(c, out),
            State::EscapeIntermediate => match c {
                '\u{20}'..='\u{2f}' | DEL => {}
                '\u{30}'..='\u{7e}' => self.state = State::Ground,
                _ => self.in_sequence_other(c, out),
            },
            State::Csi => match c {
                '\u{20}'..='\u{3f}' | DEL => {}
                '\u{40}'..='\u{7e}' => self.state = State::Ground,
                _ => self.in_sequence_other(c, out),
            },
            State::Osc if c == BEL => self.state = State::Ground,
            State::Osc | State::String => {}
            State::StringEscape if c == '\\' => self.state = State::Ground,
            State::StringEscape => {
                self.state = State::Escape;
                self.escape(c, out);
            }
        }
    }

    fn escape(&mut self, c: char, out: &mut String) {
        self.state = match c {
            '[' => State::Csi,
            ']' => State::Osc,
            'P' | 'X' | '^' | '_' => State::String,
            '\u{20}'..='\u{2f}' => State::EscapeIntermediate,
            '\u{30}'..='\u{7e}' => State::Ground,
            DEL => State::Escape,
            _ => return self.in_sequence_other(c, out),
        };
    }

    /// A character that cannot continue a sequence: a C0 control is executed
    /// within it (as a terminal does); anything else aborts the sequence and
    /// is kept as text.
    fn in_sequence_other(&mut self, c: char, out: &mut String) {
        if !c.is_ascii_control() {
            self.state = State::Ground;
        }
        self.ground(c, out);
    }

    fn ground(&mut self, c: char, out: &mut String) {
        let after_cr = std::mem::take(&mut self.after_cr);
        match c {
            '\r' => {
                out.push('\n');
                self.after_cr = true;
            }
            '\n' if after_cr => {}
            '\n' | '\t' => out.push(c),
            c if c.is_control() => self.after_cr = after_cr,
            c => out.push(c),
        }
    }
}

/// The plain text of one piece of output. For a stream of events use an
/// [`EscapeStripper`], which also removes sequences split between events.
pub fn strip_escapes(data: &str) -> String {
    EscapeStripper::new().strip(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_sgr_colours() {
        assert_eq!(strip_escapes("\x1b[1;31mERROR\x1b[0m"), "ERROR");
        assert_eq!(strip_escapes("\x1b[38;2;255;100;0mwarm\x1b[m \x1b[38;5;208mx"), "warm x");
    }

    #[test]
    fn removes_screen_and_mode_sequences() {
        let vim = "\x1b[?1049h\x1b[22;0;0t\x1b[1;24r\x1b[?12h\x1b[?12l\x1b[H\x1b[2J\x1b[?25l\
                   \x1b[24;1H\"notes.txt\" 3L, 45B\x1b[1;1H\x1b[?25h\x1b[?1049l\x1b[23;0;0t";
        assert_eq!(strip_escapes(vim), "\"notes.txt\" 3L, 45B");
    }

    #[test]
    fn removes_osc_dcs_and_friends() {
        assert_eq!(strip_escapes("\x1b]0;ops@db1: ~\x07$ ls"), "$ ls");
        assert_eq!(strip_escapes("\x1b]0;title\x1b\\$ ls"), "$ ls");
        assert_eq!(
            strip_escapes("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ after"),
            "link after"
        );
        assert_eq!(strip_escapes("\x1bP+q544e\x1b\\ok"), "ok");
        assert_eq!(strip_escapes("\x1b_Gf=100;AAAA\x1b\\ok\x1b^pm\x1b\\\x1bXsos\x1b\\"), "ok");
        assert_eq!(strip_escapes("\x1bPdcs with BEL \x07 still\x1b\\ok"), "ok");
        // An OSC ended by a new escape sequence rather than ST.
        assert_eq!(strip_escapes("\x1b]2;t\x1b[1mbold"), "bold");
    }

    #[test]
    fn removes_short_escapes_and_charsets() {
        assert_eq!(strip_escapes("\x1b(B\x1b)0\x1b7a\x1b8\x1b=b\x1b>\x1bMc\x1b#8"), "abc");
        assert_eq!(strip_escapes("\x1b(0lqqk\x1b(B"), "lqqk");
    }

    #[test]
    fn handles_c1_controls() {
        assert_eq!(strip_escapes("\u{9b}1;31mred\u{9b}0m"), "red");
        assert_eq!(strip_escapes("\u{9d}0;title\u{9c}text\u{85}"), "text");
    }

    #[test]
    fn handles_controls() {
        assert_eq!(strip_escapes("a\r\nb\nc\rd\te\u{7}\u{8}f\u{7f}"), "a\nb\nc\nd\tef");
        assert_eq!(strip_escapes("a\r\r\nb"), "a\n\nb");
        // C0 controls inside a sequence are executed; CAN aborts it.
        assert_eq!(strip_escapes("\x1b[1\n;2mx"), "\nx");
        assert_eq!(strip_escapes("\x1b[12\x18done"), "done");
        // A non-ASCII character aborts a sequence and is kept.
        assert_eq!(strip_escapes("\x1b[1é"), "é");
    }

    #[test]
    fn keeps_unicode() {
        assert_eq!(strip_escapes("\x1b[32m✔ 完成 🚀\x1b[0m é"), "✔ 完成 🚀 é");
    }

    #[test]
    fn sequences_split_across_events() {
        let mut s = EscapeStripper::new();
        assert_eq!(s.strip("ok \x1b[1;3"), "ok ");
        assert!(s.in_sequence());
        assert_eq!(s.strip("1mERROR\x1b"), "ERROR");
        assert_eq!(s.strip("[0m\x1b]0;ti"), "");
        assert_eq!(s.strip("tle\x1b"), "");
        assert_eq!(s.strip("\\done\r"), "done\n");
        assert!(!s.in_sequence());
        assert_eq!(s.strip("\nnext"), "next");
    }
}
