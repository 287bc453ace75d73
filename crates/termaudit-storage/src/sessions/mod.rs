//! Sessions: opening, every change of state (one transactional path for
//! all of them), activity and database events, reconnect tokens, and the
//! background expiry of quiet gateways and passed grace windows.
//!
//! The rooms: [`lifecycle`] (the session row, opening it and the one path
//! every change of state takes, reconnects included), [`history`] (the
//! filtered, paged list), [`timeline`] (activity and database events,
//! appended once by event id) and [`expiry`] (the background sweep of quiet
//! gateways, passed grace windows and due finalizations).

mod expiry;
mod history;
mod lifecycle;
mod timeline;

pub(crate) use lifecycle::{notify_control, share_session};

pub use expiry::ExpiryReport;
pub(crate) use history::{history_conditions, list_conditions};
pub use lifecycle::{
    CONTROL_CHANNEL, ControlEvent, NewSession, RECORDING_SETTLE, ReconnectGrant, SessionChange,
    SessionRow, TransitionError,
};
pub use timeline::{
    Activity, ActivityRow, AppendError, AppendOutcome, DatabaseEvent, DatabaseEventRow,
};
