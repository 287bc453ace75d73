//! Drawing a terminal into its `.term` element: one `.term-line` per row,
//! and a paint rewrites only the rows that changed since the last one (one
//! `innerHTML` each). The recording player and the live shell both draw
//! with [`paint`]; the live shell also measures with [`fitting_size`] how
//! many of those lines fit its frame.

use wasm_bindgen::JsCast as _;
use web_sys::{Element, HtmlElement};
use yew::NodeRef;

/// A terminal [`paint`] can draw: the player's playback and the live
/// shell's [`super::Screen`], both built on [`super::PaintedTerminal`].
pub trait Paintable {
    /// `(cols, rows)`.
    fn size(&self) -> (usize, usize);

    /// The rows to paint again since the last call.
    fn take_repaint(&mut self) -> Vec<usize>;

    /// The HTML of visible row `row`, cursor included.
    fn line_html(&self, row: usize) -> String;
}

/// The `.term` element's `style`: its size in cells, which `style.css`
/// turns into its minimum width and height.
pub fn size_style(cols: usize, rows: usize) -> String {
    format!("--cols: {cols}; --rows: {rows};")
}

/// Paints the rows that changed since the last paint, and the size when it
/// changed.
pub fn paint(terminal: &mut impl Paintable, node: &NodeRef) {
    let Some(term) = node.cast::<Element>() else { return };
    let (cols, rows) = terminal.size();
    let style = size_style(cols, rows);
    if term.get_attribute("style").as_deref() != Some(style.as_str()) {
        let _ = term.set_attribute("style", &style);
    }
    let lines = term.children();
    let mut repaint = terminal.take_repaint();
    if lines.length() as usize != rows {
        term.set_inner_html(&"<div class=\"term-line\"></div>".repeat(rows));
        repaint = (0..rows).collect();
    }
    for row in repaint {
        if let Some(line) = lines.item(row as u32) {
            line.set_inner_html(&terminal.line_html(row));
        }
    }
}

/// The player's text size outside fullscreen, as in `style.css`.
pub const FONT_PX: f64 = 13.0;
/// Smaller than this, text fitted to a narrow screen would not be text any more.
const MIN_FONT_PX: f64 = 3.0;
/// The terminal frame's horizontal padding (`.term-frame` in `style.css`).
const FRAME_PADDING_X: f64 = 28.0;

/// The font size (px) at which `cols` x `rows` cells fit `width` (and
/// `height`, when given) pixels, for a font whose cell measures `cell`
/// (width, height) per pixel of font size; never above `max`.
pub fn fitting_font(
    width: f64,
    height: Option<f64>,
    (cols, rows): (usize, usize),
    cell: (f64, f64),
    max: f64,
) -> f64 {
    let (cols, rows) = (cols.max(1) as f64, rows.max(1) as f64);
    let by_width = width / (cols * cell.0);
    let by_height = height.map_or(f64::INFINITY, |height| height / (rows * cell.1));
    // Whole tenths of a pixel, so a resize by a pixel does not redraw.
    ((by_width.min(by_height).min(max) * 10.0).floor() / 10.0).max(MIN_FONT_PX)
}

/// Sizes the player's text so the terminal's `cols` columns fit its frame's
/// width, as asciinema's player does (never larger than [`FONT_PX`]); in
/// fullscreen, as large as fits the screen's width and height. Sets the
/// frame's `--term-font`, which `.term` reads.
pub fn fit_font(node: &NodeRef, size: (usize, usize), fullscreen: bool) {
    let Some(term) = node.cast::<Element>() else { return };
    let Some(frame) = term.parent_element() else { return };
    let Some(frame_html) = frame.dyn_ref::<HtmlElement>() else { return };
    // A cell's size per pixel of font: a hidden line of 50 cells at 100 px.
    let document = gloo::utils::document();
    let Ok(probe) = document.create_element("div") else { return };
    probe.set_class_name("term-line");
    probe.set_text_content(Some(&"M".repeat(50)));
    let _ = probe.set_attribute(
        "style",
        "position:absolute;visibility:hidden;width:max-content;font-size:100px",
    );
    if term.append_child(&probe).is_err() {
        return;
    }
    let rect = probe.get_bounding_client_rect();
    let _ = term.remove_child(&probe);
    let cell = (rect.width() / 50.0 / 100.0, rect.height() / 100.0);
    if cell.0 <= 0.0 || cell.1 <= 0.0 {
        return;
    }
    let width = f64::from(frame_html.client_width()) - FRAME_PADDING_X;
    let (height, max) = if fullscreen {
        let window_height = gloo::utils::window().inner_height().ok().and_then(|h| h.as_f64());
        // Room below the terminal for the controls.
        let top = frame.get_bounding_client_rect().top().max(0.0);
        (window_height.map(|h| h - top - 120.0), 64.0)
    } else {
        (None, FONT_PX)
    };
    let font = fitting_font(width, height, size, cell, max);
    let value = format!("{font}px");
    if frame_html.style().get_property_value("--term-font").ok().as_deref() != Some(value.as_str())
    {
        let _ = frame_html.style().set_property("--term-font", &value);
    }
}

/// Rows of the terminal never go below or above these.
const MIN_ROWS: usize = 10;
const MAX_ROWS: usize = 50;

/// The terminal size that fits the element's frame and the window: a
/// character's size is measured with a probe in the terminal's font.
pub fn fitting_size(node: &NodeRef) -> Option<(usize, usize)> {
    let term = node.cast::<Element>()?;
    let frame = term.parent_element()?;
    let document = gloo::utils::document();
    // A hidden line of the terminal: its height is a row's, its width 50 cells.
    let probe = document.create_element("div").ok()?;
    probe.set_class_name("term-line");
    probe.set_text_content(Some(&"M".repeat(50)));
    probe.set_attribute("style", "position:absolute;visibility:hidden;width:max-content").ok()?;
    term.append_child(&probe).ok()?;
    let rect = probe.get_bounding_client_rect();
    let _ = term.remove_child(&probe);
    let (char_width, line_height) = (rect.width() / 50.0, rect.height());
    if char_width <= 0.0 || line_height <= 0.0 {
        return None;
    }
    let frame_html = frame.dyn_ref::<HtmlElement>()?;
    let width = f64::from(frame_html.client_width()) - FRAME_PADDING_X;
    let top = frame.get_bounding_client_rect().top().max(0.0);
    let window_height = gloo::utils::window().inner_height().ok()?.as_f64().unwrap_or(800.0);
    let height = window_height - top - 48.0;
    let cols = ((width / char_width).floor() as usize).clamp(20, 400);
    let rows = ((height / line_height).floor() as usize).clamp(MIN_ROWS, MAX_ROWS);
    Some((cols, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_fits_the_width_and_never_grows_past_the_maximum() {
        // A cell 0.6 x 1.25 of the font size; 100 columns in 308 px.
        let cell = (0.6, 1.25);
        assert_eq!(fitting_font(308.0, None, (100, 30), cell, FONT_PX), 5.1);
        // Room to spare: the usual size.
        assert_eq!(fitting_font(1000.0, None, (72, 14), cell, FONT_PX), FONT_PX);
        // Fullscreen: the height bounds it too.
        assert_eq!(fitting_font(2000.0, Some(500.0), (80, 40), cell, 64.0), 10.0);
        // Not below what still reads as text.
        assert_eq!(fitting_font(100.0, None, (1000, 10), cell, FONT_PX), 3.0);
    }
}
