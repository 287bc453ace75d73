//! The kinds of entry in a project's audit log.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;
use crate::target::str_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEventType {
    SessionOpened,
    SessionDropped,
    SessionReconnected,
    SessionReconnectGranted,
    SessionClosed,
    SessionRevoked,
    RecordingViewed,
    RecordingWatched,
    RecordingDownloaded,
    RecordingFinalized,
    RecordingPurged,
    HistoryExportStarted,
    HistoryExported,
    PolicyUpdated,
    HoldPlaced,
    HoldReleased,
    TargetCreated,
    DatabaseStatement,
    EvidenceDownloaded,
}

str_enum!(AuditEventType, "type", {
    AuditEventType::SessionOpened => "session.opened",
    AuditEventType::SessionDropped => "session.dropped",
    AuditEventType::SessionReconnected => "session.reconnected",
    AuditEventType::SessionReconnectGranted => "session.reconnect_granted",
    AuditEventType::SessionClosed => "session.closed",
    AuditEventType::SessionRevoked => "session.revoked",
    AuditEventType::RecordingViewed => "recording.viewed",
    AuditEventType::RecordingWatched => "recording.watched",
    AuditEventType::RecordingDownloaded => "recording.downloaded",
    AuditEventType::RecordingFinalized => "recording.finalized",
    AuditEventType::RecordingPurged => "recording.purged",
    AuditEventType::HistoryExportStarted => "history.export_started",
    AuditEventType::HistoryExported => "history.exported",
    AuditEventType::PolicyUpdated => "policy.updated",
    AuditEventType::HoldPlaced => "hold.placed",
    AuditEventType::HoldReleased => "hold.released",
    AuditEventType::TargetCreated => "target.created",
    AuditEventType::DatabaseStatement => "database.statement",
    AuditEventType::EvidenceDownloaded => "evidence.downloaded",
});

impl AuditEventType {
    /// Database audit events, as opposed to terminal events.
    pub const fn is_database_event(self) -> bool {
        matches!(self, Self::DatabaseStatement)
    }
}
