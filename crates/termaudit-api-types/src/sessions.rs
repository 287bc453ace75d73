//! Targets, sessions, their activity and the audit log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// A shell target: an application or a database, in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Target {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(example = "billing-api"))]
    pub name: String,
    /// `application` or `database`.
    #[cfg_attr(feature = "openapi", schema(example = "application"))]
    pub kind: String,
    /// The environment's name.
    #[cfg_attr(feature = "openapi", schema(example = "prod-eu"))]
    pub environment: String,
    /// `production` or `non_production`.
    #[cfg_attr(feature = "openapi", schema(example = "production"))]
    pub environment_class: String,
    pub created_at: DateTime<Utc>,
}

/// A target to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "name": "billing-api", "kind": "application", "environment": "prod-eu", "environment_class": "production"
})))]
pub struct NewTarget {
    pub name: String,
    /// `application` or `database`.
    pub kind: String,
    pub environment: String,
    /// `production` or `non_production`.
    pub environment_class: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TargetList {
    pub items: Vec<Target>,
}

/// A person, by their token's subject and display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Person {
    #[cfg_attr(feature = "openapi", schema(example = "alice"))]
    pub subject: String,
    #[cfg_attr(feature = "openapi", schema(example = "Alice Example"))]
    pub name: String,
}

/// How a session ended: sent with the `invalid-session-state` problem of a
/// change refused because the session has ended, so that a gateway can tell
/// its user who ended it without a second call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionEnding {
    /// Why the session ended: `user_exit`, `revoked`, `grace_expired`, `gateway_lost`, `idle_timeout` or `target_error`.
    #[cfg_attr(feature = "openapi", schema(example = "revoked"))]
    pub close_reason: String,
    pub ended_at: DateTime<Utc>,
    /// Who revoked it (revoked sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<Person>,
    /// The reason the policy manager gave (revoked sessions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
}

/// A terminal session, with the target and environment as they were when it opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Session {
    pub id: Uuid,
    /// The project's slug.
    #[cfg_attr(feature = "openapi", schema(example = "demo"))]
    pub project: String,
    pub target_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(example = "billing-api"))]
    pub target_name: String,
    /// `application` or `database`.
    pub target_kind: String,
    #[cfg_attr(feature = "openapi", schema(example = "prod-eu"))]
    pub environment: String,
    /// `production` or `non_production`.
    #[cfg_attr(feature = "openapi", schema(example = "production"))]
    pub environment_class: String,
    /// `shell`, `database`, `runbook` or `command`.
    #[cfg_attr(feature = "openapi", schema(example = "shell"))]
    pub mode: String,
    /// Why the session was opened.
    #[cfg_attr(feature = "openapi", schema(example = "INC-4211: restart stuck workers"))]
    pub reason: Option<String>,
    pub user: Person,
    /// Whether the session's terminal output is recorded (always for production).
    pub recorded: bool,
    /// `active`, `dropped` or `closed`.
    #[cfg_attr(feature = "openapi", schema(example = "active"))]
    pub status: String,
    pub opened_at: DateTime<Utc>,
    /// The gateway's last sign of life for this session.
    pub last_seen_at: DateTime<Utc>,
    /// When the session last dropped (kept after a reconnect).
    pub dropped_at: Option<DateTime<Utc>>,
    /// Why it last dropped: `connection_lost` or `gateway_lost`.
    pub drop_cause: Option<String>,
    /// While dropped: when the reconnect window closes.
    pub reconnect_deadline: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `user_exit`, `revoked`, `grace_expired`, `gateway_lost`, `target_error` or `idle_timeout`.
    pub close_reason: Option<String>,
    /// Who revoked the session.
    pub revoked_by: Option<Person>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

/// A page of sessions, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionPage {
    pub items: Vec<Session>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The gateway opens a session on behalf of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "target_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10",
    "user": {"subject": "alice", "name": "Alice Example"},
    "mode": "shell",
    "reason": "INC-4211: restart stuck workers"
})))]
pub struct OpenSession {
    pub target_id: Uuid,
    pub user: Person,
    /// `shell`, `database`, `runbook` or `command`.
    pub mode: String,
    /// Required for production targets, and for others when the policy says so.
    pub reason: Option<String>,
}

/// Explicit activity in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "event_id": "gw-7-000042", "kind": "command", "text": "systemctl restart workers",
    "occurred_at": "2026-11-25T10:15:00Z", "exit_code": 0, "duration_ms": 840
})))]
pub struct Activity {
    /// The gateway's id for the event; a retry with the same id and content is ignored.
    pub event_id: String,
    /// `command`, `runbook` or `runbook_step`.
    pub kind: String,
    pub text: String,
    pub occurred_at: DateTime<Utc>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ActivityBatch {
    /// 1 to 500 items.
    pub items: Vec<Activity>,
}

/// A statement run in a database shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "event_id": "gw-7-000043", "statement": "UPDATE jobs SET state = 'queued' WHERE id = 7",
    "database": "billing", "occurred_at": "2026-11-25T10:16:00Z", "rows_affected": 1, "duration_ms": 3
})))]
pub struct DatabaseEvent {
    /// The gateway's id for the event; a retry with the same id and content is ignored.
    pub event_id: String,
    pub statement: String,
    pub database: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub rows_affected: Option<i64>,
    pub duration_ms: Option<i64>,
    /// The error the statement ended with, if any.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DatabaseEventBatch {
    /// 1 to 500 items.
    pub items: Vec<DatabaseEvent>,
}

/// What an append stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AppendResult {
    /// Events stored now.
    pub stored: usize,
    /// Events that were retries of events stored before.
    pub duplicates: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ActivityPage {
    pub items: Vec<Activity>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DatabaseEventPage {
    pub items: Vec<DatabaseEvent>,
    pub next_cursor: Option<String>,
}

/// How a gateway ends a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "user_exit"})))]
pub struct CloseSession {
    /// `user_exit`, `target_error`, `idle_timeout` or `gateway_lost`.
    pub reason: String,
}

/// A policy manager ends a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "Access outside the change window"})))]
pub struct RevokeSession {
    pub reason: String,
}

/// A single-use token to reattach to a dropped session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReconnectGrant {
    /// Hand to the gateway, which redeems it once.
    pub token: String,
    /// The token is void after this.
    pub expires_at: DateTime<Utc>,
    /// The grace window closes at this time.
    pub window_closes_at: DateTime<Utc>,
    pub session: Session,
}

/// The gateway redeems a reconnect token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RedeemReconnect {
    pub token: String,
}

/// An entry of a project's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": 1042, "type": "session.revoked", "occurred_at": "2026-11-25T10:20:00Z",
    "actor": {"subject": "carol", "name": "Carol Manager"},
    "session_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10",
    "details": {"reason": "Access outside the change window"}
})))]
pub struct AuditEvent {
    pub id: i64,
    /// `session.opened`, `session.dropped`, `session.reconnect_granted`,
    /// `session.reconnected`, `session.closed`, `session.revoked`, `recording.viewed`,
    /// `recording.downloaded`, `history.export_started`, `history.exported`, `policy.updated`,
    /// `recording.purged`, `database.statement`, ...
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// Who did it; absent for the system.
    pub actor: Option<Person>,
    pub session_id: Option<Uuid>,
    /// Type-specific details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEventPage {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// Filters of the session list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SessionQuery {
    /// `active`, `dropped` or `closed`.
    pub status: Option<String>,
    /// `production` or `non_production`.
    pub environment_class: Option<String>,
    /// An environment's name.
    pub environment: Option<String>,
    pub target_id: Option<Uuid>,
    /// The user's subject.
    pub user: Option<String>,
    /// `shell`, `database`, `runbook` or `command`.
    pub mode: Option<String>,
    /// Sessions opened at or after this time (RFC 3339).
    pub opened_from: Option<DateTime<Utc>>,
    /// Sessions opened before this time (RFC 3339).
    pub opened_to: Option<DateTime<Utc>>,
    /// Only sessions with (`true`) or without (`false`) a recording.
    pub has_recording: Option<bool>,
    /// Free text over reason, target, user and command text (case-insensitive, 2 to 200 characters).
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// An event type, e.g. `session.revoked`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", param(rename = "type"))]
    pub event_type: Option<String>,
    /// The actor's subject.
    pub actor: Option<String>,
    pub session_id: Option<Uuid>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// Paging of a session's timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TimelineQuery {
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 500).
    pub limit: Option<u32>,
}
