//! An avt terminal that remembers which rows changed since they were last
//! painted, so the page redraws only those. The recording player's
//! playback and the live terminal ([`super::Screen`]) both draw through it.

use avt::{Terminal, observer::DirtyRows};

use super::render::line_html;

/// The largest screen drawn, as on the server (`Replay` in
/// termaudit-domain): a recording may declare up to 65535 x 65535, which
/// would take the browser tens of GiB to emulate.
const MAX_COLS: usize = 1000;
const MAX_ROWS: usize = 500;

/// `cols` x `rows` within 1 x 1 and [`MAX_COLS`] x [`MAX_ROWS`].
fn bounded(cols: usize, rows: usize) -> (usize, usize) {
    (cols.clamp(1, MAX_COLS), rows.clamp(1, MAX_ROWS))
}

pub struct PaintedTerminal {
    terminal: Terminal,
    dirty: DirtyRows,
    /// Rows to paint again.
    changed: Vec<bool>,
    /// Where the cursor was last painted.
    painted_cursor: Option<(usize, usize)>,
}

impl PaintedTerminal {
    pub fn new(cols: usize, rows: usize) -> Result<PaintedTerminal, String> {
        let (cols, rows) = bounded(cols, rows);
        let terminal = Terminal::new(cols, rows).map_err(|err| err.to_string())?;
        let rows = terminal.size().1;
        Ok(PaintedTerminal {
            terminal,
            dirty: DirtyRows::new(),
            changed: vec![true; rows],
            painted_cursor: None,
        })
    }

    /// Feeds terminal output.
    pub fn feed(&mut self, text: &str) {
        for row in self.terminal.feed_with(text, &mut self.dirty) {
            if let Some(changed) = self.changed.get_mut(row) {
                *changed = true;
            }
        }
    }

    /// Resizes the terminal; every row is painted again.
    pub fn resize(&mut self, cols: usize, rows: usize) {
        let (cols, rows) = bounded(cols, rows);
        self.terminal.resize_with(cols, rows, &mut self.dirty);
        self.changed = vec![true; self.terminal.size().1];
        self.painted_cursor = None;
    }

    /// `(cols, rows)`.
    pub fn size(&self) -> (usize, usize) {
        self.terminal.size()
    }

    /// The rows to paint again since the last call (changed, or where the
    /// cursor was or is).
    pub fn take_repaint(&mut self) -> Vec<usize> {
        let cursor = self.terminal.cursor().position();
        if cursor != self.painted_cursor {
            for (_, row) in [self.painted_cursor, cursor].into_iter().flatten() {
                if let Some(changed) = self.changed.get_mut(row) {
                    *changed = true;
                }
            }
            self.painted_cursor = cursor;
        }
        let rows = self
            .changed
            .iter()
            .enumerate()
            .filter_map(|(row, &changed)| changed.then_some(row))
            .collect();
        self.changed.fill(false);
        rows
    }

    /// The HTML of visible row `row`, cursor included.
    pub fn line_html(&self, row: usize) -> String {
        let cursor = self.terminal.cursor().position().filter(|&(_, at)| at == row);
        self.terminal
            .screen()
            .line(row)
            .map(|line| line_html(line, cursor.map(|(col, _)| col)))
            .unwrap_or_default()
    }

    /// The HTML of visible row `row`, without the cursor (a still).
    pub fn line_html_without_cursor(&self, row: usize) -> String {
        self.terminal.screen().line(row).map(|line| line_html(line, None)).unwrap_or_default()
    }

    /// The visible text, for tests.
    #[cfg(test)]
    pub fn text(&self) -> String {
        self.terminal.screen().text().join("\n").trim_end().to_owned()
    }
}

impl super::Paintable for PaintedTerminal {
    fn size(&self) -> (usize, usize) {
        PaintedTerminal::size(self)
    }

    fn take_repaint(&mut self) -> Vec<usize> {
        PaintedTerminal::take_repaint(self)
    }

    fn line_html(&self, row: usize) -> String {
        PaintedTerminal::line_html(self, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_declared_size_is_drawn_on_a_bounded_screen() {
        let mut terminal = PaintedTerminal::new(65535, 65535).unwrap();
        assert_eq!(terminal.size(), (MAX_COLS, MAX_ROWS));
        terminal.resize(usize::MAX, 0);
        assert_eq!(terminal.size(), (MAX_COLS, 1));
        terminal.feed("still drawn");
        assert_eq!(terminal.text(), "still drawn");
    }
}
