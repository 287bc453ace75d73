//! The terminal both the recording player and the live shell draw: avt's
//! virtual terminal that remembers which rows changed ([`PaintedTerminal`]),
//! its rows as HTML (`render`), the live shell's model ([`Screen`], with
//! [`key_bytes`] for what a key press sends) and [`paint`], which draws any
//! of them into the page. Only `paint` touches the browser; the rest is pure
//! and tested natively.

mod paint;
mod painted;
mod render;
mod screen;

pub use paint::{Paintable, fit_font, fitting_size, paint, size_style};
pub use painted::PaintedTerminal;
pub use screen::{Screen, key_bytes};
