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
    #[cfg_attr(feature = "openapi", schema(value_type = crate::TargetKind, example = "application"))]
    pub kind: String,
    /// The environment's name.
    #[cfg_attr(feature = "openapi", schema(example = "prod-eu"))]
    pub environment: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::EnvironmentClass, example = "production"))]
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
    /// Unique in the project: 1 to 200 characters, no control characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::TargetKind))]
    pub kind: String,
    /// The environment's name: 1 to 100 characters, no control characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 100,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub environment: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::EnvironmentClass))]
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
    /// Why the session ended.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::CloseReason, example = "revoked"))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = crate::TargetKind))]
    pub target_kind: String,
    #[cfg_attr(feature = "openapi", schema(example = "prod-eu"))]
    pub environment: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::EnvironmentClass, example = "production"))]
    pub environment_class: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::SessionMode, example = "shell"))]
    pub mode: String,
    /// Why the session was opened.
    #[cfg_attr(feature = "openapi", schema(example = "INC-4211: restart stuck workers"))]
    pub reason: Option<String>,
    pub user: Person,
    /// Whether the session's terminal output is recorded (always for production).
    pub recorded: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::SessionStatus, example = "active"))]
    pub status: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub opened_at: DateTime<Utc>,
    /// The gateway's last sign of life for this session.
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub last_seen_at: DateTime<Utc>,
    /// When the session last dropped (kept after a reconnect).
    #[serde(serialize_with = "crate::time::rfc3339_or_null")]
    pub dropped_at: Option<DateTime<Utc>>,
    /// Why it last dropped.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::DropCause>))]
    pub drop_cause: Option<String>,
    /// While dropped: when the reconnect window closes.
    #[serde(serialize_with = "crate::time::rfc3339_or_null")]
    pub reconnect_deadline: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::time::rfc3339_or_null")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Why the session ended.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::CloseReason>))]
    pub close_reason: Option<String>,
    /// Who revoked the session.
    pub revoked_by: Option<Person>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// Who watches the session's recording live now (`GET
    /// .../sessions/{id}` only; absent from lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watchers: Option<Vec<LiveWatcher>>,
}

/// Someone watching a session's recording live (`GET .../recording/live`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LiveWatcher {
    pub watcher: Person,
    /// When this watch began.
    pub since: DateTime<Utc>,
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
    #[cfg_attr(feature = "openapi", schema(value_type = SessionUser))]
    pub user: Person,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::SessionMode))]
    pub mode: String,
    /// Required for production targets, and for others when the policy says so: at most 500 characters, no control characters. A blank reason counts as none.
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 500, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub reason: Option<String>,
}

/// The user a session is opened for, as the gateway names them (the schema
/// of [`OpenSession::user`]; responses name people with [`Person`]).
#[cfg(feature = "openapi")]
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SessionUser {
    /// Their token's subject: 1 to 200 characters, no control characters, not blank.
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "alice"
    )]
    subject: String,
    /// Their display name: 1 to 200 characters, no control characters, not blank.
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "Alice Example"
    )]
    name: String,
}

/// Explicit activity in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "event_id": "gw-7-000042", "kind": "command", "text": "systemctl restart workers",
    "occurred_at": "2026-11-25T10:15:00Z", "exit_code": 0, "duration_ms": 840
})))]
pub struct Activity {
    /// The gateway's id for the event, 1 to 200 characters; a retry with the same id and content is ignored.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]*$")
    )]
    pub event_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::ActivityKind))]
    pub kind: String,
    /// The command or step, 1 to 65536 characters (any but U+0000).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 65536, pattern = r"^[^\x00]*$")
    )]
    pub text: String,
    /// When it happened (RFC 3339), 4713 BC or later.
    pub occurred_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "crate::integer::optional")]
    pub exit_code: Option<i32>,
    /// How long it ran, in milliseconds.
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ActivityBatch {
    /// 1 to 500 events, stored together or not at all.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 500))]
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
    /// The gateway's id for the event, 1 to 200 characters; a retry with the same id and content is ignored.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]*$")
    )]
    pub event_id: String,
    /// The statement, 1 to 65536 characters (any but U+0000).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 65536, pattern = r"^[^\x00]*$")
    )]
    pub statement: String,
    /// The database it ran in (any text but U+0000).
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\x00]*$"))]
    pub database: Option<String>,
    /// When it ran (RFC 3339), 4713 BC or later.
    pub occurred_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub rows_affected: Option<i64>,
    /// How long it ran, in milliseconds.
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub duration_ms: Option<i64>,
    /// The error the statement ended with, if any (any text but U+0000).
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[^\x00]*$"))]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DatabaseEventBatch {
    /// 1 to 500 events, stored together or not at all.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 500))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = crate::GatewayCloseReason))]
    pub reason: String,
}

/// A policy manager ends a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "Access outside the change window"})))]
pub struct RevokeSession {
    /// Why: 1 to 500 characters, no control characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 500,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
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
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::AuditEventType))]
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
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::SessionStatus>))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::EnvironmentClass>))]
    pub environment_class: Option<String>,
    /// An environment's name (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub environment: Option<String>,
    pub target_id: Option<Uuid>,
    /// The user's subject (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub user: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::SessionMode>))]
    pub mode: Option<String>,
    /// Sessions opened at or after this time (RFC 3339).
    pub opened_from: Option<DateTime<Utc>>,
    /// Sessions opened before this time (RFC 3339).
    pub opened_to: Option<DateTime<Utc>>,
    /// Only sessions with (`true`) or without (`false`) a recording.
    pub has_recording: Option<bool>,
    /// Free text over reason, target, user and command text, case-insensitive: 2 to 200 characters once trimmed (blank is no filter), no U+0000.
    #[cfg_attr(
        feature = "openapi",
        param(max_length = 200, pattern = r"^\s*([^\s\x00][^\x00]*[^\s\x00])?\s*$")
    )]
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[A-Za-z0-9_-]*$"))]
    pub cursor: Option<String>,
    /// Page size (default 50).
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", param(rename = "type", value_type = Option<crate::AuditEventType>))]
    pub event_type: Option<String>,
    /// The actor's subject (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub actor: Option<String>,
    pub session_id: Option<Uuid>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[A-Za-z0-9_-]*$"))]
    pub cursor: Option<String>,
    /// Page size (default 50).
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
}

/// Paging of a session's timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TimelineQuery {
    /// The `next_cursor` of the previous page.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[A-Za-z0-9_-]*$"))]
    pub cursor: Option<String>,
    /// Page size (default 500).
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<u32>,
}
