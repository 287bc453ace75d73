//! The JSON bodies of termaudit's HTTP API (`/api/v1`).
//!
//! The server renders these and the web app reads them, so the two cannot
//! drift apart; with the `openapi` feature each type also describes itself
//! for the OpenAPI document, and its doc comments become the descriptions
//! there.

mod auth;
mod demo;
mod evidence;
mod export;
pub mod gateway;
pub mod integer;
mod names;
mod policy;
mod retention;
mod search;
mod sessions;
mod time;

use serde::{Deserialize, Serialize};

pub use auth::*;
pub use demo::*;
pub use evidence::*;
pub use export::*;
pub use names::*;
pub use policy::*;
pub use retention::*;
pub use search::*;
pub use sessions::*;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// An error, as RFC 9457 `application/problem+json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "urn:termaudit:problem:forbidden",
    "title": "Forbidden",
    "status": 403,
    "detail": "this operation needs the permission terminal.view_history in project demo",
    "request_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10"
})))]
pub struct Problem {
    /// A URI that names the kind of problem; stable, so clients may branch on it.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for a person to read.
    pub detail: String,
    /// The request's id, also sent as the `x-request-id` header and written to the server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For invalid input: each rejected field with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For a change refused because the session has ended: how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<SessionEnding>,
}

/// One rejected field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProblemField {
    /// The field's name as the request spells it.
    pub field: String,
    /// Why it was rejected.
    pub message: String,
}

/// A project the caller may see, with what the caller may do in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Project {
    /// The project's URL name, used in every `/api/v1/projects/{project}/...` path.
    #[cfg_attr(feature = "openapi", schema(example = "demo"))]
    pub slug: String,
    /// The project's display name.
    #[cfg_attr(feature = "openapi", schema(example = "Demo project"))]
    pub name: String,
    /// The caller's permissions in this project.
    #[cfg_attr(feature = "openapi", schema(example = json!(["terminal.view_history", "terminal.view_recording"])))]
    pub permissions: Vec<String>,
}

/// The projects the caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ProjectList {
    pub items: Vec<Project>,
}

/// Who the caller is, according to their token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    /// The token's subject.
    pub subject: String,
    /// The display name from the token (the subject when the token has none).
    pub name: String,
    /// The caller's projects with their permissions, as the token grants them.
    pub projects: Vec<Project>,
}

// ---------------------------------------------------------------------------
// Recordings
//
// Times inside a recording are seconds since its start (as in asciicast),
// with microsecond precision.

/// Where a session's recording stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// The session is live; chunks are still arriving.
    Recording,
    /// The session ended and the recording is finalized: it can be played and downloaded.
    Available,
    /// Retention removed the recording's content.
    Purged,
    /// The session was not recorded (its environment's policy does not record it).
    NotRecorded,
}

/// A point on a recording's timeline to jump to: an `m` event of the recording, or an explicit command or runbook step of the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordingMarker {
    /// Seconds since the start of the recording.
    #[cfg_attr(feature = "openapi", schema(example = 12.5))]
    pub time: f64,
    /// What happens there. A U+0000 in an uploaded marker's label shows as U+FFFD here; the download keeps it.
    #[cfg_attr(feature = "openapi", schema(example = "$ systemctl restart nginx"))]
    pub label: String,
}

/// A session's recording: what it is and where it stands, without its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "session_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10",
    "state": "available",
    "header": {"version": 2, "width": 100, "height": 30, "timestamp": 1717430400},
    "duration": 93.25,
    "size_bytes": 48211,
    "event_count": 1312,
    "chunks": 3,
    "markers": [{"time": 4.2, "label": "$ psql -c 'select 1'"}],
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "finalized_at": "2024-06-03T16:01:33Z",
    "expires_at": "2025-06-03T16:01:33Z"
})))]
pub struct Recording {
    pub session_id: uuid::Uuid,
    pub state: RecordingState,
    /// The asciicast v2 header, once the first chunk arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<serde_json::Value>,
    /// Seconds from the start to the last event (so far, while recording).
    pub duration: f64,
    /// Events: uploaded so far while recording; in the downloadable file (markers included) once available.
    pub event_count: i64,
    /// Chunks stored; the next chunk the gateway sends has this number.
    pub chunks: i32,
    /// Size of the downloadable `.cast` file in bytes, once available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// Markers in time order.
    pub markers: Vec<RecordingMarker>,
    /// SHA-256 of the downloadable `.cast` file, lowercase hex, once available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// When the recording was finalized (its session's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When retention purges the recording: its session's end plus the retention days of the session's environment class, under the policy as it is now. Absent while the session runs and while a legal hold lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When retention purged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it was purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_reason: Option<String>,
}

/// A stored chunk of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "seq": 3, "events": 420, "first_time": 61.02, "last_time": 90.5, "repeated": false
})))]
pub struct ChunkReceipt {
    pub seq: u32,
    /// Events in the chunk.
    pub events: u32,
    /// Time of its first event (the previous chunk's last time when it has none).
    pub first_time: f64,
    /// Time of its last event.
    pub last_time: f64,
    /// The chunk had been stored before with the same body; nothing changed.
    pub repeated: bool,
}

/// The terminal at a point of a recording, for a player to start from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TerminalState {
    /// The time it describes: the window's `from`.
    pub time: f64,
    pub cols: u16,
    pub rows: u16,
    /// Text with escape sequences that brings a fresh terminal of `cols` x `rows` to this state (screen, cursor, modes); feed it to the player's terminal, then the window's events.
    pub init: String,
}

/// A window of a recording: the terminal at `from`, and the events from `from` (inclusive) to `to` (exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "from": 3000.0,
    "to": 3060.0,
    "state": {"time": 3000.0, "cols": 120, "rows": 40, "init": "\u{1b}[1;1H$ tail -f app.log"},
    "events": [[3000.12, "o", "GET /health 200\r\n"], [3012.0, "m", "$ systemctl reload nginx"]]
})))]
pub struct RecordingWindow {
    pub from: f64,
    /// The window's end; absent for the end of the recording.
    #[serde(default)]
    pub to: Option<f64>,
    pub state: TerminalState,
    /// asciicast v2 events `[time, code, data]`, markers included.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<serde_json::Value>>))]
    pub events: Vec<serde_json::Value>,
}

/// Where a text appears in a recording's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordingSearchMatch {
    /// Seconds since the start: the last moment a player shows the line.
    pub time: f64,
    /// The line of the screen holding the match, as the screen showed it
    /// (after terminal emulation; colours and escape sequences gone).
    pub context: String,
    /// Where each occurrence starts in `context`, in Unicode characters
    /// from 0 (see the search across recordings).
    #[serde(default)]
    pub positions: Vec<u32>,
}

/// The lines of a recording's text holding a query, in the recording's
/// order (the same text and meaning as the search across recordings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "query": "error",
    "matches": [{"time": 14.2, "context": "psql: ERROR", "positions": [6]}],
    "truncated": false
})))]
pub struct RecordingSearchResults {
    pub query: String,
    pub matches: Vec<RecordingSearchMatch>,
    /// More matches exist than the 100 returned.
    pub truncated: bool,
}
