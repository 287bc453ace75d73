//! A session's life: opening it, and the one transactional path every
//! change of state takes (heartbeat, drop, close, revoke, grace expiry,
//! reconnect): lock the row, check the change with the domain's state
//! machine, write it, audit it, and when the session ends queue its
//! recording's finalization and tell the gateways.
//!
//! The grace expiry of a dropped session ([`expire_if_due`]) lives here and
//! not in `expiry.rs`: every change applies it first, and it is itself a
//! change, so the two call each other.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use termaudit_domain::{
    AuditEventType, CloseReason, DropCause, EnvironmentClass, IllegalTransition, Reason,
    SessionEvent, SessionMode, SessionState, SessionStatus, TargetKind, grace_deadline,
    happened_after_end,
};
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::{
    StorageError, Store, TargetRow,
    audit::{Actor, NewAuditEvent, append_audit},
    policy::policy,
    row::{parse_enum, parse_opt_enum},
    time::truncate_to_micros,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub target_id: Uuid,
    pub target_name: String,
    pub target_kind: TargetKind,
    pub environment: String,
    pub environment_class: EnvironmentClass,
    pub mode: SessionMode,
    pub reason: Option<String>,
    pub user_subject: String,
    pub user_name: String,
    pub recorded: bool,
    pub state: SessionState,
    pub opened_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When the session last dropped, and why (kept after a reconnect or close).
    pub dropped_at: Option<DateTime<Utc>>,
    pub drop_cause: Option<DropCause>,
    pub ended_at: Option<DateTime<Utc>>,
    pub revoked_by_subject: Option<String>,
    pub revoked_by_name: Option<String>,
    pub revoke_reason: Option<String>,
}

impl SessionRow {
    pub fn status(&self) -> SessionStatus {
        self.state.status()
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.state {
            SessionState::Closed(reason) => Some(reason),
            _ => None,
        }
    }
}

impl TryFrom<Row> for SessionRow {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        let status: SessionStatus = parse_enum(&row, "status")?;
        let drop_cause: Option<DropCause> = parse_opt_enum(&row, "drop_cause")?;
        let close_reason: Option<CloseReason> = parse_opt_enum(&row, "close_reason")?;
        let state = match (status, drop_cause, close_reason) {
            (SessionStatus::Active, _, _) => SessionState::Active,
            (SessionStatus::Dropped, Some(cause), _) => SessionState::Dropped(cause),
            (SessionStatus::Closed, _, Some(reason)) => SessionState::Closed(reason),
            _ => {
                return Err(StorageError::Corrupt(format!(
                    "session status {status} is incomplete"
                )));
            }
        };
        Ok(Self {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            target_id: row.try_get("target_id")?,
            target_name: row.try_get("target_name")?,
            target_kind: parse_enum(&row, "target_kind")?,
            environment: row.try_get("environment")?,
            environment_class: parse_enum(&row, "environment_class")?,
            mode: parse_enum(&row, "mode")?,
            reason: row.try_get("reason")?,
            user_subject: row.try_get("user_subject")?,
            user_name: row.try_get("user_name")?,
            recorded: row.try_get("recorded")?,
            state,
            opened_at: row.try_get("opened_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            dropped_at: row.try_get("dropped_at")?,
            drop_cause,
            ended_at: row.try_get("ended_at")?,
            revoked_by_subject: row.try_get("revoked_by_subject")?,
            revoked_by_name: row.try_get("revoked_by_name")?,
            revoke_reason: row.try_get("revoke_reason")?,
        })
    }
}

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub target: &'a TargetRow,
    pub mode: SessionMode,
    pub reason: Option<Reason>,
    pub user_subject: String,
    pub user_name: String,
    pub opened_at: DateTime<Utc>,
}

/// A change to a session's state, with what it needs.
#[derive(Debug, Clone)]
pub enum SessionChange {
    Heartbeat,
    Drop(DropCause),
    Close(CloseReason),
    Revoke { by: Actor, reason: Reason },
    GraceExpired,
}

impl SessionChange {
    fn event(&self) -> SessionEvent {
        match self {
            Self::Heartbeat => SessionEvent::Heartbeat,
            Self::Drop(cause) => SessionEvent::Drop(*cause),
            Self::Close(reason) => SessionEvent::Close(*reason),
            Self::Revoke { .. } => SessionEvent::Revoke,
            Self::GraceExpired => SessionEvent::GraceExpired,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("no such session")]
    NotFound,
    /// The change does not apply to the session as it is now.
    #[error("{error}")]
    Illegal { current: Box<SessionRow>, error: IllegalTransition },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<tokio_postgres::Error> for TransitionError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Storage(err.into())
    }
}

/// A single-use reconnect token, as handed to the session's user.
#[derive(Debug, Clone)]
pub struct ReconnectGrant {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub window_closes_at: DateTime<Utc>,
}

/// How long a reconnect token lives (capped by the grace window).
pub const RECONNECT_TOKEN_TTL: Duration = Duration::seconds(60);

fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How long the recording of a session that termaudit ended (a revoke, an
/// expired grace window) still takes chunks: the gateway flushes what the
/// shell printed in its last moments when it hears of the end. A gateway
/// that says it is done (`Store::finish_recording`) ends the wait early.
pub const RECORDING_SETTLE: Duration = Duration::seconds(10);

/// The control event a gateway receives when a session it may hold ends
/// (`session.revoked`, `session.closed`), or when someone starts or stops
/// watching it live (`watch.started`, `watch.stopped`, with `watcher` and
/// `watch_id`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControlEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub project_id: Uuid,
    pub session_id: Uuid,
    pub close_reason: Option<String>,
    pub revoked_by: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// Who started or stopped watching (`watch.*` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watcher: Option<String>,
    /// Which watch started or stopped (`watch.*` only): a watcher may watch
    /// from two places at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_id: Option<Uuid>,
}

pub const CONTROL_CHANNEL: &str = "termaudit_control";

async fn lock_session(
    client: &impl GenericClient,
    project_id: Uuid,
    id: Uuid,
) -> Result<Option<SessionRow>, StorageError> {
    let sql = format!(
        "{} WHERE s.project_id = $1 AND s.id = $2 FOR UPDATE",
        include_str!("../sql/session_columns.sql")
    );
    client.query_opt(&sql, &[&project_id, &id]).await?.map(TryInto::try_into).transpose()
}

/// A session share-locked for an append (activity, database events, a
/// recording chunk): its changes of state and its finalization wait until
/// the append commits, so an append never races the end or the digest.
#[derive(Debug, Clone)]
pub(crate) struct Appending {
    pub(crate) row: SessionRow,
    /// Closed and finalized: it takes nothing more, ever.
    pub(crate) finalized: bool,
}

impl Appending {
    /// Whether a report timed `at` is refused: the session is finalized,
    /// or ended before `at`. Until it is finalized, an ended session takes
    /// what its gateway had queued from before the end (the last statement
    /// before a revoke is not lost).
    pub(crate) fn refuses(&self, at: DateTime<Utc>) -> bool {
        self.finalized || happened_after_end(self.row.ended_at, at)
    }
}

/// Share-locks session `id` for an append; `None` when there is none.
pub(crate) async fn share_session(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<Appending>, StorageError> {
    let sql = format!("{} WHERE s.id = $1 FOR SHARE", include_str!("../sql/session_columns.sql"));
    let Some(row) = client.query_opt(&sql, &[&id]).await? else {
        return Ok(None);
    };
    let row = SessionRow::try_from(row)?;
    // Every ended session is queued for finalization when it ends; the
    // queue entry goes when it is finalized (the lock keeps both still).
    let queued =
        client.query_opt(include_str!("../sql/recording_finalization_queued.sql"), &[&id]).await?;
    let finalized = row.status() == SessionStatus::Closed && queued.is_none();
    Ok(Some(Appending { row, finalized }))
}

async fn write_state(client: &impl GenericClient, row: &SessionRow) -> Result<(), StorageError> {
    let (drop_cause, close_reason) = match row.state {
        SessionState::Active => (None, None),
        SessionState::Dropped(cause) => (Some(cause.as_str()), None),
        SessionState::Closed(reason) => (None, Some(reason.as_str())),
    };
    // The last drop's cause is kept after a reconnect or close, like dropped_at.
    let drop_cause =
        drop_cause.or_else(|| row.dropped_at.map(|_| DropCause::ConnectionLost.as_str()));
    client
        .execute(
            include_str!("../sql/session_update_state.sql"),
            &[
                &row.id,
                &row.status().as_str(),
                &drop_cause,
                &row.last_seen_at,
                &row.dropped_at,
                &row.ended_at,
                &close_reason,
                &row.revoked_by_subject,
                &row.revoked_by_name,
                &row.revoke_reason,
            ],
        )
        .await?;
    Ok(())
}

/// Applies `change` at `now` to a locked session: checks it with the state
/// machine, writes the new state, audits it and, when the session ends,
/// tells the gateways. A dropped session whose grace window has passed is
/// closed first, so every path sees the state as it truly is.
async fn apply_change(
    client: &impl GenericClient,
    mut row: SessionRow,
    change: &SessionChange,
    now: DateTime<Utc>,
) -> Result<SessionRow, TransitionError> {
    if !matches!(change, SessionChange::GraceExpired) {
        row = expire_if_due(client, row, now).await?;
    }
    let next = row
        .state
        .apply(change.event())
        .map_err(|error| TransitionError::Illegal { current: Box::new(row.clone()), error })?;
    let before = row.state;
    row.state = next;
    let mut audit = match change {
        SessionChange::Heartbeat => {
            row.last_seen_at = now;
            None
        }
        SessionChange::Drop(cause) => {
            row.dropped_at = Some(now);
            row.drop_cause = Some(*cause);
            Some(
                NewAuditEvent::new(row.project_id, AuditEventType::SessionDropped)
                    .details(json!({"cause": cause.as_str()})),
            )
        }
        SessionChange::Close(reason) => Some(
            NewAuditEvent::new(row.project_id, AuditEventType::SessionClosed)
                .details(json!({"close_reason": reason.as_str()})),
        ),
        SessionChange::Revoke { by, reason } => {
            row.revoked_by_subject = Some(by.subject.clone());
            row.revoked_by_name = Some(by.name.clone());
            row.revoke_reason = Some(reason.as_str().to_owned());
            Some(
                NewAuditEvent::new(row.project_id, AuditEventType::SessionRevoked)
                    .actor(&by.subject, &by.name)
                    .details(json!({"reason": reason.as_str(), "status_before": before.status().as_str()})),
            )
        }
        SessionChange::GraceExpired => {
            Some(NewAuditEvent::new(row.project_id, AuditEventType::SessionClosed).details(json!({
                "close_reason": next_close_reason(next),
                "dropped_at": row.dropped_at,
            })))
        }
    };
    if let SessionState::Closed(_) = next {
        row.ended_at = Some(now);
    }
    write_state(client, &row).await?;
    if let Some(event) = audit.take() {
        append_audit(client, &event.session(row.id).at(now)).await?;
    }
    if let SessionState::Closed(reason) = next {
        // However a session ends, it is finalized: queued here, done once
        // this commits (`Store::finalize_queued`), its recording's digest
        // included. Until then it takes the gateway's last reports from
        // before the end; when the end is termaudit's, they are still on
        // their way. (An unrecorded session is queued too: its queue entry
        // is that window.)
        let accepts_chunks_until = match change {
            SessionChange::Revoke { .. } | SessionChange::GraceExpired => {
                Some(now + RECORDING_SETTLE)
            }
            _ => None,
        };
        client
            .execute(
                include_str!("../sql/recording_finalization_queue.sql"),
                &[&row.id, &now, &accepts_chunks_until],
            )
            .await?;
        notify_closed(client, &row, reason, now).await?;
    }
    Ok(row)
}

fn next_close_reason(state: SessionState) -> Option<&'static str> {
    match state {
        SessionState::Closed(reason) => Some(reason.as_str()),
        _ => None,
    }
}

async fn expire_if_due(
    client: &impl GenericClient,
    row: SessionRow,
    now: DateTime<Utc>,
) -> Result<SessionRow, TransitionError> {
    let (SessionState::Dropped(_), Some(dropped_at)) = (row.state, row.dropped_at) else {
        return Ok(row);
    };
    let grace = policy(client, row.project_id).await?.policy.reconnect_grace_seconds;
    let deadline = grace_deadline(dropped_at, grace);
    if now < deadline {
        return Ok(row);
    }
    // Box the recursion: apply_change calls back here only for other changes.
    Box::pin(apply_change(client, row, &SessionChange::GraceExpired, deadline)).await
}

async fn notify_closed(
    client: &impl GenericClient,
    row: &SessionRow,
    reason: CloseReason,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    let event = ControlEvent {
        event_type: if reason == CloseReason::Revoked {
            "session.revoked"
        } else {
            "session.closed"
        }
        .to_owned(),
        project_id: row.project_id,
        session_id: row.id,
        close_reason: Some(reason.as_str().to_owned()),
        revoked_by: row.revoked_by_name.clone(),
        reason: row.revoke_reason.clone(),
        at,
        watcher: None,
        watch_id: None,
    };
    notify_control(client, &event).await
}

/// Sends `event` to every replica's control streams when `client`'s
/// transaction commits.
pub(crate) async fn notify_control(
    client: &impl GenericClient,
    event: &ControlEvent,
) -> Result<(), StorageError> {
    let payload = serde_json::to_string(event).unwrap_or_default();
    client.execute(include_str!("../sql/notify_control.sql"), &[&payload]).await?;
    Ok(())
}

impl Store {
    /// Opens a session: recorded and reason decisions are the caller's
    /// (made from the policy); this stores it and audits `session.opened`.
    pub async fn open_session(
        &self,
        project_id: Uuid,
        new: &NewSession<'_>,
        recorded: bool,
    ) -> Result<SessionRow, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let target = new.target;
        let row: SessionRow = tx
            .query_one(
                include_str!("../sql/session_insert.sql"),
                &[
                    &Uuid::now_v7(),
                    &project_id,
                    &target.id,
                    &target.name,
                    &target.kind.as_str(),
                    &target.environment,
                    &target.environment_class.as_str(),
                    &new.mode.as_str(),
                    &new.reason.as_ref().map(Reason::as_str),
                    &new.user_subject,
                    &new.user_name,
                    &recorded,
                    &truncate_to_micros(new.opened_at),
                ],
            )
            .await?
            .try_into()?;
        let audit = NewAuditEvent::new(project_id, AuditEventType::SessionOpened)
            .actor(&row.user_subject, &row.user_name)
            .session(row.id)
            .at(row.opened_at)
            .details(json!({
                "target": row.target_name,
                "environment": row.environment,
                "environment_class": row.environment_class.as_str(),
                "mode": row.mode.as_str(),
                "reason": row.reason,
                "recorded": row.recorded,
            }));
        append_audit(&*tx, &audit).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The session as it is at `now` (a passed grace window is closed first).
    pub async fn session(
        &self,
        project_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StorageError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await?;
        let sql = format!(
            "{} WHERE s.project_id = $1 AND s.id = $2",
            include_str!("../sql/session_columns.sql")
        );
        let row: Option<SessionRow> = client
            .query_opt(&sql, &[&project_id, &id])
            .await?
            .map(TryInto::try_into)
            .transpose()?;
        match row {
            Some(row) if row.status() == SessionStatus::Dropped => {
                let tx = client.transaction().await?;
                let Some(locked) = lock_session(&*tx, project_id, id).await? else {
                    return Ok(None);
                };
                let open = locked.status() != SessionStatus::Closed;
                let row = match expire_if_due(&*tx, locked, now).await {
                    Ok(row) => row,
                    Err(TransitionError::Storage(err)) => return Err(err),
                    Err(TransitionError::NotFound) => return Ok(None),
                    Err(TransitionError::Illegal { current, .. }) => *current,
                };
                tx.commit().await?;
                drop(client);
                self.finalize_if_ended(open, &row).await;
                Ok(Some(row))
            }
            other => Ok(other),
        }
    }

    /// Applies a change to a session in its own transaction.
    pub async fn change_session(
        &self,
        project_id: Uuid,
        id: Uuid,
        change: SessionChange,
        now: DateTime<Utc>,
    ) -> Result<SessionRow, TransitionError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await.map_err(TransitionError::Storage)?;
        let tx = client.transaction().await?;
        let row = lock_session(&*tx, project_id, id).await?.ok_or(TransitionError::NotFound)?;
        let open = row.status() != SessionStatus::Closed;
        let result = apply_change(&*tx, row, &change, now).await;
        // An illegal change may still have expired the session: keep that.
        tx.commit().await?;
        drop(client);
        let ended = match &result {
            Ok(row) => Some(row),
            Err(TransitionError::Illegal { current, .. }) => Some(&**current),
            Err(_) => None,
        };
        if let Some(row) = ended {
            self.finalize_if_ended(open, row).await;
        }
        result
    }

    /// Finalizes the recording of a session this call ended (`open`: it was
    /// not closed before), now that the end has committed.
    async fn finalize_if_ended(&self, open: bool, row: &SessionRow) {
        if !(open && row.status() == SessionStatus::Closed) {
            return;
        }
        // The end is committed either way; what fails here the background
        // expiry finishes (`finalize_pending`).
        if let Err(err) = self.finalize_queued(row.id, Utc::now()).await {
            tracing::warn!(session = %row.id, error = %err, "cannot finalize the recording yet");
        }
    }

    /// A single-use token with which the gateway may reattach the session's
    /// user to their dropped session while its grace window lasts. It
    /// supersedes the session's earlier tokens, and is audited
    /// (`session.reconnect_granted`; the token itself is never stored).
    pub async fn issue_reconnect_token(
        &self,
        project_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(SessionRow, ReconnectGrant), TransitionError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await.map_err(TransitionError::Storage)?;
        let tx = client.transaction().await?;
        let row = lock_session(&*tx, project_id, id).await?.ok_or(TransitionError::NotFound)?;
        let open = row.status() != SessionStatus::Closed;
        let row = expire_if_due(&*tx, row, now).await?;
        // Only a dropped session can be reconnected; check with the machine.
        if let Err(error) = row.state.apply(SessionEvent::Reconnect) {
            tx.commit().await?;
            drop(client);
            self.finalize_if_ended(open, &row).await;
            return Err(TransitionError::Illegal { current: Box::new(row), error });
        }
        let grace = policy(&*tx, project_id).await?.policy.reconnect_grace_seconds;
        let window_closes_at = grace_deadline(row.dropped_at.unwrap_or(now), grace);
        let expires_at = (now + RECONNECT_TOKEN_TTL).min(window_closes_at);
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
        // Only the newest token redeems: a token handed out before (and
        // perhaps intercepted) stops counting now.
        tx.execute(include_str!("../sql/reconnect_tokens_supersede.sql"), &[&row.id, &now]).await?;
        tx.execute(
            include_str!("../sql/reconnect_token_insert.sql"),
            &[&token_digest(&token), &row.id, &row.user_subject, &expires_at],
        )
        .await?;
        let audit = NewAuditEvent::new(project_id, AuditEventType::SessionReconnectGranted)
            .actor(&row.user_subject, &row.user_name)
            .session(row.id)
            .at(now)
            .details(json!({"expires_at": expires_at, "window_closes_at": window_closes_at}));
        append_audit(&*tx, &audit).await?;
        tx.commit().await?;
        Ok((row, ReconnectGrant { token, expires_at, window_closes_at }))
    }

    /// Redeems a reconnect token: the session is active again. `None` when
    /// the token is unknown, used, expired or for another session.
    pub async fn redeem_reconnect_token(
        &self,
        project_id: Uuid,
        id: Uuid,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, TransitionError> {
        let now = truncate_to_micros(now);
        let mut client = self.client().await.map_err(TransitionError::Storage)?;
        let tx = client.transaction().await?;
        let row = lock_session(&*tx, project_id, id).await?.ok_or(TransitionError::NotFound)?;
        let redeemed = tx
            .query_opt(
                include_str!("../sql/reconnect_token_redeem.sql"),
                &[&token_digest(token), &id, &now],
            )
            .await?;
        if redeemed.is_none() {
            return Ok(None);
        }
        let open = row.status() != SessionStatus::Closed;
        let mut row = expire_if_due(&*tx, row, now).await?;
        let next = match row.state.apply(SessionEvent::Reconnect) {
            Ok(next) => next,
            Err(error) => {
                tx.commit().await?;
                drop(client);
                self.finalize_if_ended(open, &row).await;
                return Err(TransitionError::Illegal { current: Box::new(row), error });
            }
        };
        row.state = next;
        row.last_seen_at = now;
        write_state(&*tx, &row).await?;
        let audit = NewAuditEvent::new(project_id, AuditEventType::SessionReconnected)
            .actor(&row.user_subject, &row.user_name)
            .session(row.id)
            .at(now)
            .details(json!({"dropped_at": row.dropped_at}));
        append_audit(&*tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(row))
    }
}
