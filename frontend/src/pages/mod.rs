//! One module per page; [`crate::routes::switch`] picks the page for a URL.

mod export;
mod live;
mod not_found;
mod policy;
mod projects;
pub(crate) mod recording;
mod recording_hits;
mod session_detail;
mod sessions;
mod sign_in;
mod terminal;

pub use export::ExportDialog;
pub use not_found::NotFound;
pub use policy::PolicyPage;
pub use projects::Projects;
pub use session_detail::SessionDetail;
pub use sessions::Sessions;
pub use sign_in::{AuthCallback, SignIn};
pub use terminal::{AttachQuery, TerminalPage};
