//! Pieces the pages share.

mod badges;
mod error;
mod layout;
mod loading;
mod time;

pub use badges::{Environment, Recorded, Status, humanize};
pub use error::ErrorNotice;
pub use layout::Layout;
pub use loading::Loading;
pub use time::Time;
