//! Pieces the pages share.

mod error;
mod layout;
mod loading;

pub use error::ErrorNotice;
pub use layout::Layout;
pub use loading::Loading;
