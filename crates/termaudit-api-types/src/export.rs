//! The history export: its query and the record every format carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// What to export: the format, which kinds of record, and the history
/// filters. Every filter is optional; they combine with AND. The time range
/// applies to each record's own `time`; the session filters apply to events
/// through the session they belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportQuery {
    /// `csv` (the default), `json` or `ndjson`: only for `/export?format=`,
    /// which the per-format operations (`/export.csv`, `/export.json`,
    /// `/export.ndjson`) replace.
    #[cfg_attr(feature = "openapi", param(ignore))]
    pub format: Option<String>,
    /// Which records (default: all three kinds), each at most once: repeat the parameter (`include=sessions&include=terminal_events`) or separate them with commas.
    #[cfg_attr(feature = "openapi", param(value_type = Option<std::collections::BTreeSet<crate::ExportInclude>>, min_items = 1, example = json!(["sessions", "terminal_events"])))]
    pub include: Option<String>,
    /// Records at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Records before this time (RFC 3339); must be later than `from`.
    pub to: Option<DateTime<Utc>>,
    /// The session's status.
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::SessionStatus>))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::EnvironmentClass>))]
    pub environment_class: Option<String>,
    /// An environment's name (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub environment: Option<String>,
    pub target_id: Option<Uuid>,
    /// The session user's subject (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub user: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::SessionMode>))]
    pub mode: Option<String>,
    /// `true` makes the export checkable offline (`termaudit verify audit
    /// FILE --key KEY`): the server waits (up to 5 seconds) until every
    /// audit entry committed before the request is in the audit log, signs
    /// a tree head of the whole log, and adds to every record, after the
    /// documented ones, the columns (JSON keys) `leaf_index`, `tree_size`,
    /// `leaf` (the entry's canonical encoding, the bytes its leaf hash is
    /// over), `inclusion_proof` (the RFC 9162 audit path, hex; in CSV
    /// separated by spaces) and `tree_head` (that signed tree head, JSON; the
    /// same on every record); empty (null) for session records. Only entries
    /// that head covers are exported (when the sequencer is further behind,
    /// the newest are left out). Default `false`: the documented columns only.
    pub proofs: Option<bool>,
}

/// One record of an export. Sessions (at the time they opened), the
/// terminal events of those sessions (audit events such as `session.opened`,
/// `session.dropped`, `session.revoked`, `session.closed`) and their database
/// events (`database.statement`), in one stream ordered by `time`, then
/// `record_type` (a session before its events at the same instant), then
/// `session_id` and `event_id`. Audit entries that belong to no session
/// (policy changes, exports) are not exported; the audit log lists them.
///
/// **CSV** (RFC 4180, UTF-8, CRLF line ends, no byte-order mark): a header
/// row with these field names as columns, always all of them, in this order:
/// `record_type, time, project, session_id, event_id, event_type, actor,
/// user, user_name, target, target_kind, environment, environment_class,
/// mode, reason, status, recorded, ended_at, close_reason, details`. An
/// absent value is an empty cell, `recorded` is `true`/`false`, `details` is
/// compact JSON text. A cell that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading `'` so a spreadsheet shows it as text
/// instead of running it as a formula.
///
/// **JSON**: one document, an array of these objects (`[]` when nothing
/// matches). **NDJSON**: one object per line (nothing when nothing matches).
///
/// The session columns (`user` to `close_reason`) describe the record's
/// session as it was when the export read it, repeated on every record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "record_type": "terminal_event", "time": "2026-11-25T10:20:00.000000Z", "project": "demo",
    "session_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10", "event_id": 1042,
    "event_type": "session.revoked", "actor": "carol", "user": "alice", "user_name": "Alice Example",
    "target": "billing-api", "target_kind": "application", "environment": "prod-eu",
    "environment_class": "production", "mode": "shell", "reason": "INC-4211: restart stuck workers",
    "status": "closed", "recorded": true, "ended_at": "2026-11-25T10:20:00.000000Z",
    "close_reason": "revoked", "details": {"reason": "Access outside the change window", "status_before": "active"}
})))]
pub struct ExportRecord {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::RecordType))]
    pub record_type: String,
    /// A session's opening, an event's occurrence: RFC 3339, UTC, microseconds.
    pub time: DateTime<Utc>,
    /// The project's slug.
    pub project: String,
    pub session_id: Uuid,
    /// The audit event's id (as in the audit log); absent for sessions.
    pub event_id: Option<i64>,
    /// The audit event's type, e.g. `session.revoked` or `database.statement`; absent for sessions.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::AuditEventType>))]
    pub event_type: Option<String>,
    /// Who did it (a token subject), for events; absent for the system and for sessions.
    pub actor: Option<String>,
    /// The session user's subject.
    pub user: String,
    /// The session user's display name.
    pub user_name: String,
    /// The target's name when the session opened.
    pub target: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::TargetKind))]
    pub target_kind: String,
    pub environment: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::EnvironmentClass))]
    pub environment_class: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::SessionMode))]
    pub mode: String,
    /// Why the session was opened.
    pub reason: Option<String>,
    /// The session's status.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::SessionStatus))]
    pub status: String,
    /// Whether the session is recorded.
    pub recorded: bool,
    /// When the session ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why the session ended.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::CloseReason>))]
    pub close_reason: Option<String>,
    /// For events, the audit entry's details (for `database.statement`:
    /// `statement`, `database`, `rows_affected`, `duration_ms`, `error`); for
    /// sessions, `drop_cause`, `revoked_by`, `revoked_by_name` and
    /// `revoke_reason` when set.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}
