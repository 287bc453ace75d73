//! The terminal policy and legal holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::Person;

/// A project's terminal policy. Retention changes apply to existing
/// recordings at the next sweep: shortening purges what is now past it;
/// lengthening keeps what is still stored (purged recordings cannot come back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "retention_days_production": 365, "retention_days_non_production": 90,
    "record_non_production": false, "require_reason_non_production": false,
    "reconnect_grace_seconds": 300, "watch_non_production": true
})))]
pub struct Policy {
    /// Days a production session's recording is kept after the session ended.
    #[serde(deserialize_with = "crate::integer::exact")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_days_production: u32,
    /// Days a non-production session's recording is kept after the session ended.
    #[serde(deserialize_with = "crate::integer::exact")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_days_non_production: u32,
    /// Record non-production sessions too (production sessions always are).
    pub record_non_production: bool,
    /// Require a reason for non-production sessions too (production sessions always do).
    pub require_reason_non_production: bool,
    /// How long a dropped session waits for its user to reconnect, in seconds.
    #[serde(deserialize_with = "crate::integer::exact")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 86400))]
    pub reconnect_grace_seconds: u32,
    /// Let non-production sessions be watched live (production sessions
    /// always can be); `true` when absent.
    #[serde(default = "yes")]
    pub watch_non_production: bool,
}

fn yes() -> bool {
    true
}

/// The policy with when and by whom it was last changed (absent while the
/// project has the defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PolicyView {
    #[serde(flatten)]
    pub policy: Policy,
    pub updated_at: Option<DateTime<Utc>>,
    /// The subject who last changed it.
    pub updated_by: Option<String>,
}

/// A legal hold: the session's recording is never purged while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Hold {
    pub session_id: Uuid,
    /// Why it was placed.
    pub reason: String,
    pub placed_at: DateTime<Utc>,
    pub placed_by: Person,
}

/// Whether a session's recording is under a legal hold: `hold` is `null`
/// when it is not (an answer, not an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionHold {
    /// The hold in force, or `null`.
    pub hold: Option<Hold>,
}

/// Why a hold is placed or released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "Litigation LIT-2026-014"})))]
pub struct HoldReason {
    /// 1 to 500 characters, no control characters, not blank.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 500,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub reason: String,
}
