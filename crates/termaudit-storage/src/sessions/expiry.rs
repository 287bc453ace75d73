//! The background expiry: sessions whose gateway went quiet are dropped,
//! dropped sessions whose grace window has passed are closed, and the
//! recordings of ended sessions that are due are finalized.

use chrono::{DateTime, Duration, Utc};
use termaudit_domain::{DropCause, SessionStatus, TerminalPolicy};
use uuid::Uuid;

use super::lifecycle::{SessionChange, TransitionError};
use crate::{StorageError, Store, time::truncate_to_micros};

/// What the background expiry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExpiryReport {
    pub marked_gateway_lost: usize,
    pub closed_after_grace: usize,
    /// Recordings of ended sessions finalized now: those whose window for
    /// the gateway's last chunks closed, and those a crash left queued.
    pub recordings_finalized: usize,
}

impl Store {
    /// Marks sessions whose gateway went quiet as dropped, closes dropped
    /// sessions whose grace window has passed, and finalizes the recordings
    /// of ended sessions that are due (see [`RECORDING_SETTLE`](super::RECORDING_SETTLE)). Each session changes in its
    /// own short transaction; safe to run on several replicas at once.
    pub async fn expire_sessions(
        &self,
        now: DateTime<Utc>,
        heartbeat_timeout: Duration,
    ) -> Result<ExpiryReport, StorageError> {
        let now = truncate_to_micros(now);
        const BATCH: i64 = 500;
        let mut report = ExpiryReport::default();
        let quiet = {
            let client = self.client().await?;
            client
                .query(
                    include_str!("../sql/sessions_gateway_quiet.sql"),
                    &[&(now - heartbeat_timeout), &BATCH],
                )
                .await?
        };
        for row in quiet {
            let (id, project_id): (Uuid, Uuid) = (row.try_get(0)?, row.try_get(1)?);
            match self
                .change_session(project_id, id, SessionChange::Drop(DropCause::GatewayLost), now)
                .await
            {
                Ok(_) => report.marked_gateway_lost += 1,
                // Changed meanwhile (a heartbeat, a close): nothing to do.
                Err(TransitionError::Illegal { .. } | TransitionError::NotFound) => {}
                Err(TransitionError::Storage(err)) => return Err(err),
            }
        }
        let default_grace = TerminalPolicy::default().reconnect_grace_seconds as i32;
        let due = {
            let client = self.client().await?;
            client
                .query(
                    include_str!("../sql/sessions_grace_passed.sql"),
                    &[&now, &default_grace, &BATCH],
                )
                .await?
        };
        for row in due {
            let (id, project_id): (Uuid, Uuid) = (row.try_get(0)?, row.try_get(1)?);
            // `session` closes it at the deadline, under the row lock.
            if let Some(session) = self.session(project_id, id, now).await?
                && session.status() == SessionStatus::Closed
            {
                report.closed_after_grace += 1;
            }
        }
        report.recordings_finalized = self.finalize_pending(now, BATCH).await?;
        Ok(report)
    }
}
