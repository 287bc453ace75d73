//! The closed sets of names the API speaks (modes, statuses, classes, ...),
//! for the OpenAPI document: the DTOs keep these values as strings, which
//! the server parses into the domain's types and names the field when one
//! is not in its set; their schemas refer to these enumerations, so
//! generated clients get enums. The server's tests check each against the
//! domain's own list of values, so the two cannot drift apart.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// What kind of access a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    Shell,
    Database,
    Runbook,
    Command,
}

/// A session's status: `active` (a client is attached), `dropped` (the
/// connection was lost; waiting for a reconnect within the grace window) or
/// `closed` (ended for good).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Dropped,
    Closed,
}

/// The class of a target's environment: it decides whether sessions are always recorded and how long recordings stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentClass {
    Production,
    NonProduction,
}

/// What kind of shell a target offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Application,
    Database,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    UserExit,
    Revoked,
    GraceExpired,
    GatewayLost,
    TargetError,
    IdleTimeout,
}

/// The reasons a gateway may close a session with (`revoked` and
/// `grace_expired` are set by termaudit itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GatewayCloseReason {
    UserExit,
    TargetError,
    IdleTimeout,
    GatewayLost,
}

/// Why a session last dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DropCause {
    ConnectionLost,
    GatewayLost,
}

/// The kind of an explicit activity event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Command,
    Runbook,
    RunbookStep,
}

/// The kinds of entry in a project's audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum AuditEventType {
    #[serde(rename = "session.opened")]
    SessionOpened,
    #[serde(rename = "session.dropped")]
    SessionDropped,
    #[serde(rename = "session.reconnected")]
    SessionReconnected,
    #[serde(rename = "session.reconnect_granted")]
    SessionReconnectGranted,
    #[serde(rename = "session.closed")]
    SessionClosed,
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    #[serde(rename = "recording.viewed")]
    RecordingViewed,
    #[serde(rename = "recording.watched")]
    RecordingWatched,
    #[serde(rename = "recording.downloaded")]
    RecordingDownloaded,
    #[serde(rename = "recording.finalized")]
    RecordingFinalized,
    #[serde(rename = "recording.purged")]
    RecordingPurged,
    #[serde(rename = "history.export_started")]
    HistoryExportStarted,
    #[serde(rename = "history.exported")]
    HistoryExported,
    #[serde(rename = "policy.updated")]
    PolicyUpdated,
    #[serde(rename = "hold.placed")]
    HoldPlaced,
    #[serde(rename = "hold.released")]
    HoldReleased,
    #[serde(rename = "target.created")]
    TargetCreated,
    #[serde(rename = "database.statement")]
    DatabaseStatement,
    #[serde(rename = "evidence.downloaded")]
    EvidenceDownloaded,
}

/// The kind of an export record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordType {
    Session,
    TerminalEvent,
    DatabaseEvent,
}

/// Where a retention sweep stands: `interrupted` runs are finished by the next sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RetentionRunStatus {
    Running,
    Completed,
    Interrupted,
    Failed,
}

/// A kind of record to include in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportInclude {
    Sessions,
    TerminalEvents,
    DatabaseEvents,
}
