//! Pieces the pages share.

mod badges;
mod date_time;
mod error;
mod layout;
mod loading;
mod reason_dialog;
mod time;

pub use badges::{Environment, Recorded, Status, humanize};
pub use date_time::DateTimeField;
pub use error::ErrorNotice;
pub use layout::Layout;
pub use loading::Loading;
pub use reason_dialog::ReasonDialog;
pub use time::Time;
