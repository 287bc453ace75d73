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
    // 28px: the frame's horizontal padding.
    let width = f64::from(frame_html.client_width()) - 28.0;
    let top = frame.get_bounding_client_rect().top().max(0.0);
    let window_height = gloo::utils::window().inner_height().ok()?.as_f64().unwrap_or(800.0);
    let height = window_height - top - 48.0;
    let cols = ((width / char_width).floor() as usize).clamp(20, 400);
    let rows = ((height / line_height).floor() as usize).clamp(MIN_ROWS, MAX_ROWS);
    Some((cols, rows))
}
