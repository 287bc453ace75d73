//! The retention sweep's status, as a project sees it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The last sweep, what it purged in this project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionRun {
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The time the sweep judged expiry by.
    pub as_of: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::RetentionRunStatus))]
    pub status: String,
    /// Recordings of this project it purged.
    pub purged: i32,
    /// Stored bytes it freed in this project.
    pub bytes_freed: i64,
    /// Errors the run met (any project).
    pub errors: i32,
}

/// A recording that retention will purge soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ExpiringRecording {
    pub session_id: Uuid,
    pub target_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::EnvironmentClass))]
    pub environment_class: String,
    pub ended_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The downloadable file's size.
    pub size_bytes: i64,
}

/// When the sweep ran and runs next, and what expires in the next 7 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionStatus {
    pub last_run: Option<RetentionRun>,
    /// Sweeps run at start-up and then every `interval_seconds`.
    pub next_run_at: DateTime<Utc>,
    pub interval_seconds: u64,
    /// Recordings (finalized, not held) whose retention ends within 7 days, or has ended and awaits the next sweep.
    pub expiring_count: usize,
    /// The first 100 of them, soonest first.
    pub expiring: Vec<ExpiringRecording>,
}
