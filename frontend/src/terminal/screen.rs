//! A live terminal's model, without the browser: an avt terminal fed with
//! the gateway's output bytes as they arrive (a UTF-8 character split across
//! two frames waits for its end), and the rows that changed since the last
//! paint. The recording player's playback does the same for recorded
//! events; both draw rows with [`super::render::line_html`]. Pure, so it is
//! tested natively.

use super::paint::Paintable;
use super::painted::PaintedTerminal;

pub struct Screen {
    terminal: PaintedTerminal,
    /// The start of a UTF-8 character whose end has not arrived yet.
    partial: Vec<u8>,
}

impl Screen {
    pub fn new(cols: usize, rows: usize) -> Result<Screen, String> {
        Ok(Screen { terminal: PaintedTerminal::new(cols, rows)?, partial: Vec::new() })
    }

    /// Feeds the terminal output `bytes`.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let complete = match std::str::from_utf8(&self.partial) {
            Ok(_) => self.partial.len(),
            // An invalid sequence in the middle is shown as U+FFFD; only an
            // incomplete one at the end waits for more bytes.
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => self.partial.len(),
        };
        let rest = self.partial.split_off(complete);
        let text = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial = rest;
        self.terminal.feed(&text);
    }

    /// Resizes the terminal; every row is painted again.
    pub fn resize(&mut self, cols: usize, rows: usize) {
        self.terminal.resize(cols, rows);
    }

    /// The visible text, for tests.
    #[cfg(test)]
    fn text(&self) -> String {
        self.terminal.text()
    }
}

impl Paintable for Screen {
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

/// The bytes a terminal sends for a key press, as xterm does; `None` for
/// keys that send nothing (Shift alone, F-keys we do not map).
pub fn key_bytes(key: &str, ctrl: bool, alt: bool) -> Option<Vec<u8>> {
    let bytes: Vec<u8> = match key {
        "Enter" => b"\r".to_vec(),
        "Backspace" => b"\x7f".to_vec(),
        "Tab" => b"\t".to_vec(),
        "Escape" => b"\x1b".to_vec(),
        "ArrowUp" => b"\x1b[A".to_vec(),
        "ArrowDown" => b"\x1b[B".to_vec(),
        "ArrowRight" => b"\x1b[C".to_vec(),
        "ArrowLeft" => b"\x1b[D".to_vec(),
        "Home" => b"\x1b[H".to_vec(),
        "End" => b"\x1b[F".to_vec(),
        "Delete" => b"\x1b[3~".to_vec(),
        "PageUp" => b"\x1b[5~".to_vec(),
        "PageDown" => b"\x1b[6~".to_vec(),
        _ => {
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else { return None };
            if ctrl {
                match c.to_ascii_lowercase() {
                    letter @ 'a'..='z' => vec![letter as u8 - b'a' + 1],
                    '[' => vec![0x1b],
                    '\\' => vec![0x1c],
                    ']' => vec![0x1d],
                    ' ' | '@' => vec![0],
                    _ => return None,
                }
            } else {
                c.to_string().into_bytes()
            }
        }
    };
    Some(if alt { [b"\x1b".as_slice(), &bytes].concat() } else { bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_drawn_and_changed_rows_reported() {
        let mut screen = Screen::new(20, 3).expect("a screen");
        assert_eq!(screen.take_repaint(), [0, 1, 2]);
        screen.feed(b"$ echo hi\r\nhi\r\n$ ");
        assert_eq!(screen.text(), "$ echo hi\nhi\n$");
        assert_eq!(screen.take_repaint(), [0, 1, 2]);
        screen.feed(b"x");
        assert_eq!(screen.take_repaint(), [2]);
        assert!(screen.line_html(2).contains('x'));
    }

    #[test]
    fn a_character_split_across_frames_waits_for_its_end() {
        let mut screen = Screen::new(10, 1).expect("a screen");
        let bytes = "ü!".as_bytes();
        screen.feed(&bytes[..1]);
        assert_eq!(screen.text(), "");
        screen.feed(&bytes[1..]);
        assert_eq!(screen.text(), "ü!");
        screen.feed(b"\xff?");
        assert_eq!(screen.text(), "ü!\u{fffd}?");
    }

    #[test]
    fn resizing_repaints_everything() {
        let mut screen = Screen::new(10, 2).expect("a screen");
        screen.take_repaint();
        screen.resize(12, 4);
        assert_eq!(screen.size(), (12, 4));
        assert_eq!(screen.take_repaint(), [0, 1, 2, 3]);
    }

    #[test]
    fn keys_become_what_a_terminal_sends() {
        assert_eq!(key_bytes("a", false, false), Some(b"a".to_vec()));
        assert_eq!(key_bytes("ü", false, false), Some("ü".as_bytes().to_vec()));
        assert_eq!(key_bytes("Enter", false, false), Some(b"\r".to_vec()));
        assert_eq!(key_bytes("Backspace", false, false), Some(b"\x7f".to_vec()));
        assert_eq!(key_bytes("ArrowUp", false, false), Some(b"\x1b[A".to_vec()));
        assert_eq!(key_bytes("c", true, false), Some(vec![3]));
        assert_eq!(key_bytes("D", true, false), Some(vec![4]));
        assert_eq!(key_bytes("b", false, true), Some(b"\x1bb".to_vec()));
        assert_eq!(key_bytes("Shift", false, false), None);
        assert_eq!(key_bytes("F5", false, false), None);
    }
}
