//! termaudit's domain: the types every other crate speaks, the parsing of
//! untrusted input into valid values, and the rules, as pure functions.
//!
//! Nothing here does I/O or reads the clock: where a rule depends on time,
//! the caller passes `now`.

pub mod asciicast;
mod audit;
pub mod compact_json;
mod cursor;
mod error;
mod event_time;
mod export;
mod history;
mod live;
mod permission;
mod policy;
mod project;
mod recording;
mod retention;
mod session;
mod storable;
mod target;
pub mod transparency;

pub use audit::AuditEventType;
pub use cursor::{Cursor, InvalidCursor, Page, parse_limit};
pub use error::{DomainError, FieldError, parse_bounded};
pub use event_time::{CLOCK_SKEW_ALLOWANCE, EventWindow, happened_after_end};
pub use export::{
    CSV_COLUMNS, ExportEncoder, ExportFilter, ExportFormat, ExportInclude, ExportOutcome,
    ExportRecord, PROOF_COLUMNS, RecordType, export_ended_details, export_started_details,
    neutralise_formula, rfc3339, write_csv_row,
};
pub use history::{
    HistoryFilter, HistoryParams, HistoryQuery, HistoryQueryParams, SessionListFilter,
    TEXT_MAX_CHARS, TEXT_MIN_CHARS,
};
pub use live::LivePosition;
pub use permission::{Permission, PermissionSet};
pub use policy::{GRACE_SECONDS, RETENTION_DAYS, TerminalPolicy};
pub use project::{ProjectName, ProjectSlug};
pub use recording::RecordingState;
pub use retention::{recording_expires_at, recording_is_expired};
pub use session::{
    CloseReason, DropCause, IllegalTransition, Reason, SessionEvent, SessionMode, SessionState,
    SessionStatus, grace_deadline,
};
pub use storable::{TimeBounds, check_optional_text, check_storable_time, check_text};
pub use target::{EnvironmentClass, EnvironmentName, TargetKind, TargetName};
