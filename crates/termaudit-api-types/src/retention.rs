//! The retention sweep's status, as a project sees it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

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

/// Retention values to try before saving them: an absent one is the
/// policy's. `as_of` judges expiry at another time than the next sweep's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RetentionPreviewQuery {
    /// Days a production session's recording would be kept after it ended, 1 to 3650.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 3650, example = 30))]
    pub retention_days_production: Option<u32>,
    /// Days a non-production session's recording would be kept after it ended, 1 to 3650.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 3650, example = 7))]
    pub retention_days_non_production: Option<u32>,
    /// Judge expiry at this time (RFC 3339) instead of the next sweep's start.
    pub as_of: Option<DateTime<Utc>>,
}

/// What the sweep would purge in one environment class with the retention tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionPreviewClass {
    /// `production` or `non_production`.
    #[cfg_attr(feature = "openapi", schema(example = "production"))]
    pub environment_class: String,
    /// The retention tried, in days.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_days: u32,
    /// The class's retention in the policy now, in days.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub current_retention_days: u32,
    /// Recordings the sweep would purge with the retention tried.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub recordings: u64,
    /// Their downloadable files' size, in bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub size_bytes: i64,
    /// What purging them frees: their stored (compressed) content, in bytes.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub bytes_freed: i64,
    /// How many recordings the sweep would purge with the policy as it is.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub recordings_with_current: u64,
}

/// The retention sweep's dry run for proposed retention values: what it
/// would purge, per environment class, judging expiry at `as_of`. Legal
/// holds, live sessions and purged recordings are left out, as the sweep
/// leaves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionPreview {
    /// The time expiry is judged at: the next sweep's start, unless asked otherwise.
    pub as_of: DateTime<Utc>,
    /// Production first, then non-production.
    pub classes: Vec<RetentionPreviewClass>,
}
