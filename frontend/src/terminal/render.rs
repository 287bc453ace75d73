//! A terminal line as HTML: runs of cells with the same look become one
//! `<span>` whose classes carry the 16 palette colours, bold, faint, italic,
//! underline, strike-through and the cursor (the palette lives in
//! `style.css`); 256-colour and true-colour cells get an inline colour.
//! Pure, so it is tested natively.

use std::fmt::Write as _;

use avt::{Cell, Color, Line, Pen};

/// How one cell looks; equal neighbours share a `<span>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Look {
    classes: Vec<&'static str>,
    fg: Paint,
    bg: Paint,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Paint {
    /// The terminal's own colour (foreground or background).
    #[default]
    Default,
    /// The other one of the terminal's own colours (inverse video).
    Swapped,
    /// One of the 16 palette colours.
    Palette(u8),
    /// Any other colour, as CSS.
    Css(String),
}

/// `#rrggbb` for one of the 256 indexed colours above the 16 of the palette.
fn indexed_css(index: u8) -> String {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let (r, g, b) = if index >= 232 {
        let grey = 8 + 10 * (index - 232);
        (grey, grey, grey)
    } else {
        let cube = index.saturating_sub(16);
        (
            LEVELS[usize::from(cube / 36)],
            LEVELS[usize::from(cube / 6 % 6)],
            LEVELS[usize::from(cube % 6)],
        )
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn paint(color: Option<Color>) -> Paint {
    match color {
        None => Paint::Default,
        Some(Color::Indexed(index)) if index < 16 => Paint::Palette(index),
        Some(Color::Indexed(index)) => Paint::Css(indexed_css(index)),
        Some(Color::RGB(rgb)) => Paint::Css(format!("#{:02x}{:02x}{:02x}", rgb.r, rgb.g, rgb.b)),
    }
}

fn look(pen: &Pen, cursor: bool) -> Look {
    let (mut fg, mut bg) = (paint(pen.foreground()), paint(pen.background()));
    if pen.is_inverse() {
        std::mem::swap(&mut fg, &mut bg);
        for side in [&mut fg, &mut bg] {
            if *side == Paint::Default {
                *side = Paint::Swapped;
            }
        }
    }
    let mut classes = Vec::new();
    for (on, class) in [
        (pen.is_bold(), "b"),
        (pen.is_faint(), "f"),
        (pen.is_italic(), "i"),
        (pen.is_underline(), "u"),
        (pen.is_strikethrough(), "s"),
        (cursor, "cursor"),
    ] {
        if on {
            classes.push(class);
        }
    }
    Look { classes, fg, bg }
}

fn escape_into(out: &mut String, ch: char) {
    match ch {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        // Control characters never reach a cell, but a NUL would end the text.
        ch if ch.is_control() => out.push(' '),
        ch => out.push(ch),
    }
}

fn open_span(out: &mut String, look: &Look) {
    let mut classes: Vec<String> = look.classes.iter().map(|c| (*c).to_owned()).collect();
    let mut style = String::new();
    for (paint, prefix, property) in
        [(&look.fg, "fg", "color"), (&look.bg, "bg", "background-color")]
    {
        match paint {
            Paint::Default => {}
            Paint::Swapped => classes.push(format!("{prefix}-swap")),
            Paint::Palette(index) => classes.push(format!("{prefix}-{index}")),
            Paint::Css(css) => {
                let _ = write!(style, "{property}:{css};");
            }
        }
    }
    out.push_str("<span");
    if !classes.is_empty() {
        let _ = write!(out, " class=\"{}\"", classes.join(" "));
    }
    if !style.is_empty() {
        let _ = write!(out, " style=\"{style}\"");
    }
    out.push('>');
}

/// The HTML of `line`, with the cursor drawn at column `cursor` when given.
/// Trailing blank cells in the default look are left out (the line's box
/// keeps its height), except up to the cursor.
pub fn line_html(line: &Line, cursor: Option<usize>) -> String {
    let cells = line.cells();
    let blank = |cell: &Cell| cell.char() == ' ' && cell.pen().is_default();
    let keep = cells.iter().rposition(|cell| !blank(cell)).map_or(0, |last| last + 1);
    let keep = keep.max(cursor.map_or(0, |col| (col + 1).min(cells.len())));

    let mut out = String::new();
    let mut current: Option<Look> = None;
    for (col, cell) in cells.iter().take(keep).enumerate() {
        if cell.width() == 0 {
            // The right half of a wide character: drawn by its left half.
            continue;
        }
        let look = look(cell.pen(), cursor == Some(col));
        if current.as_ref() != Some(&look) {
            if current.is_some() {
                out.push_str("</span>");
            }
            open_span(&mut out, &look);
            current = Some(look);
        }
        escape_into(&mut out, cell.char());
    }
    if current.is_some() {
        out.push_str("</span>");
    }
    out
}

#[cfg(test)]
mod tests {
    use avt::Terminal;

    use super::*;

    fn first_line(input: &str, cursor: Option<usize>) -> String {
        let mut terminal = Terminal::new(20, 2).expect("a size");
        terminal.feed(input);
        line_html(terminal.screen().line(0).expect("a line"), cursor)
    }

    #[test]
    fn runs_of_one_look_share_a_span_and_trailing_blanks_go() {
        assert_eq!(
            first_line("ab\x1b[1;32mOK\x1b[0m!", None),
            "<span>ab</span><span class=\"b fg-2\">OK</span><span>!</span>"
        );
        assert_eq!(first_line("", None), "");
    }

    #[test]
    fn backgrounds_inverse_and_extended_colours() {
        assert_eq!(first_line("\x1b[41mX", None), "<span class=\"bg-1\">X</span>");
        assert_eq!(first_line("\x1b[7mX", None), "<span class=\"fg-swap bg-swap\">X</span>");
        assert_eq!(first_line("\x1b[7;31mX", None), "<span class=\"fg-swap bg-1\">X</span>");
        assert_eq!(
            first_line("\x1b[38;5;196mX\x1b[48;2;1;2;3mY", None),
            "<span style=\"color:#ff0000;\">X</span>\
             <span style=\"color:#ff0000;background-color:#010203;\">Y</span>"
        );
        assert_eq!(indexed_css(232), "#080808");
        assert_eq!(indexed_css(21), "#0000ff");
    }

    #[test]
    fn the_cursor_is_drawn_even_past_the_text() {
        assert_eq!(first_line("ab", Some(1)), "<span>a</span><span class=\"cursor\">b</span>");
        assert_eq!(first_line("ab", Some(3)), "<span>ab </span><span class=\"cursor\"> </span>");
    }

    #[test]
    fn markup_is_escaped_and_wide_characters_drawn_once() {
        assert_eq!(first_line("<b>&\"", None), "<span>&lt;b&gt;&amp;&quot;</span>");
        assert_eq!(first_line("界x", None), "<span>界x</span>");
    }
}
