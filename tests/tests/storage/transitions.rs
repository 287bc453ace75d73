//! `Store::change_session` and the reconnect tokens: the one transactional
//! path (`apply_change`) every change of a session's state takes.

use chrono::Duration;
use serde_json::json;
use termaudit_domain::{CloseReason, DropCause, Reason, SessionState};
use termaudit_storage::{Actor, SessionChange, TransitionError};
use uuid::Uuid;

use crate::{Fixture, now};

const GRACE: Duration = Duration::seconds(300); // the default policy's

fn carol() -> Actor {
    Actor { subject: "carol".into(), name: "Carol".into() }
}

fn revoke(reason: &str) -> SessionChange {
    SessionChange::Revoke { by: carol(), reason: Reason::parse(reason).unwrap() }
}

impl Fixture {
    async fn change(
        &self,
        id: Uuid,
        change: SessionChange,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<termaudit_storage::SessionRow, TransitionError> {
        self.store.change_session(self.project_id, id, change, at).await
    }

    /// A session dropped for `cause` at `at`.
    async fn dropped(&self, cause: DropCause, at: chrono::DateTime<chrono::Utc>) -> Uuid {
        let id = self.open_at(false, at - Duration::seconds(5)).await.id;
        self.change(id, SessionChange::Drop(cause), at).await.unwrap();
        id
    }
}

#[tokio::test]
async fn heartbeats_move_last_seen_and_are_not_audited() {
    let f = Fixture::new().await;
    let t0 = now();
    let id = f.open_at(false, t0).await.id;
    let later = t0 + Duration::seconds(20);
    let row = f.change(id, SessionChange::Heartbeat, later).await.unwrap();
    assert_eq!((row.state, row.last_seen_at), (SessionState::Active, later));
    let stored = f.stored(id).await;
    assert_eq!((stored.status.as_str(), stored.last_seen_at), ("active", later));
    assert_eq!(f.audit_types(id).await, ["session.opened"]);

    // A dropped session takes heartbeats too (a gateway still flushing).
    let dropped = f.dropped(DropCause::ConnectionLost, t0).await;
    let row = f.change(dropped, SessionChange::Heartbeat, later).await.unwrap();
    assert_eq!(row.state, SessionState::Dropped(DropCause::ConnectionLost));
    let stored = f.stored(dropped).await;
    assert_eq!((stored.status.as_str(), stored.last_seen_at), ("dropped", later));
    assert_eq!(f.audit_types(dropped).await, ["session.opened", "session.dropped"]);
}

#[tokio::test]
async fn drops_persist_their_cause_and_are_audited() {
    let f = Fixture::new().await;
    for cause in [DropCause::ConnectionLost, DropCause::GatewayLost] {
        let t0 = now();
        let id = f.open_at(false, t0).await.id;
        let at = t0 + Duration::seconds(1);
        let row = f.change(id, SessionChange::Drop(cause), at).await.unwrap();
        assert_eq!(row.state, SessionState::Dropped(cause));
        let stored = f.stored(id).await;
        assert_eq!(stored.status, "dropped");
        assert_eq!(stored.drop_cause.as_deref(), Some(cause.as_str()));
        assert_eq!((stored.dropped_at, stored.ended_at), (Some(at), None));
        let audit = f.audit(id).await;
        let last = audit.last().unwrap();
        assert_eq!(last.event_type, "session.dropped");
        assert_eq!((last.actor.as_deref(), last.at), (None, at));
        assert_eq!(last.details, json!({"cause": cause.as_str()}));
        assert_eq!(audit.len(), 2);
    }
}

#[tokio::test]
async fn closes_the_gateway_reports_persist_and_are_audited() {
    let f = Fixture::new().await;
    for reason in [
        CloseReason::UserExit,
        CloseReason::TargetError,
        CloseReason::IdleTimeout,
        CloseReason::GatewayLost,
    ] {
        for from_dropped in [false, true] {
            let t0 = now();
            let id = if from_dropped {
                f.dropped(DropCause::ConnectionLost, t0).await
            } else {
                f.open_at(false, t0).await.id
            };
            let at = t0 + Duration::seconds(2);
            let row = f.change(id, SessionChange::Close(reason), at).await.unwrap();
            assert_eq!(row.state, SessionState::Closed(reason));
            let stored = f.stored(id).await;
            assert_eq!(stored.status, "closed", "{reason:?} from dropped: {from_dropped}");
            assert_eq!(stored.close_reason.as_deref(), Some(reason.as_str()));
            assert_eq!(stored.ended_at, Some(at));
            // A drop's cause and time are kept after the close.
            let cause = from_dropped.then_some("connection_lost");
            assert_eq!(stored.drop_cause.as_deref(), cause);
            let last = f.audit(id).await.pop().unwrap();
            assert_eq!((last.event_type.as_str(), last.at), ("session.closed", at));
            assert_eq!(last.details, json!({"close_reason": reason.as_str()}));
        }
    }
}

#[tokio::test]
async fn revokes_persist_who_and_why_and_are_audited() {
    let f = Fixture::new().await;
    for from_dropped in [false, true] {
        let t0 = now();
        let id = if from_dropped {
            f.dropped(DropCause::GatewayLost, t0).await
        } else {
            f.open_at(false, t0).await.id
        };
        let at = t0 + Duration::seconds(3);
        let row = f.change(id, revoke("suspicious commands"), at).await.unwrap();
        assert_eq!(row.state, SessionState::Closed(CloseReason::Revoked));
        let stored = f.stored(id).await;
        assert_eq!(
            (stored.status.as_str(), stored.close_reason.as_deref(), stored.ended_at),
            ("closed", Some("revoked"), Some(at))
        );
        assert_eq!(stored.revoked_by.as_deref(), Some("carol"));
        assert_eq!(stored.revoked_by_name.as_deref(), Some("Carol"));
        assert_eq!(stored.revoke_reason.as_deref(), Some("suspicious commands"));
        let last = f.audit(id).await.pop().unwrap();
        assert_eq!(
            (last.event_type.as_str(), last.actor.as_deref()),
            ("session.revoked", Some("carol"))
        );
        let before = if from_dropped { "dropped" } else { "active" };
        assert_eq!(last.details, json!({"reason": "suspicious commands", "status_before": before}));
    }
}

#[tokio::test]
async fn grace_expiry_closes_with_the_cause_of_the_drop() {
    let f = Fixture::new().await;
    for (cause, reason) in [
        (DropCause::ConnectionLost, CloseReason::GraceExpired),
        (DropCause::GatewayLost, CloseReason::GatewayLost),
    ] {
        let t0 = now();
        let id = f.dropped(cause, t0).await;
        let at = t0 + GRACE;
        let row = f.change(id, SessionChange::GraceExpired, at).await.unwrap();
        assert_eq!(row.state, SessionState::Closed(reason));
        let stored = f.stored(id).await;
        assert_eq!(stored.close_reason.as_deref(), Some(reason.as_str()));
        assert_eq!((stored.dropped_at, stored.ended_at), (Some(t0), Some(at)));
        let last = f.audit(id).await.pop().unwrap();
        assert_eq!((last.event_type.as_str(), last.actor.as_deref()), ("session.closed", None));
        assert_eq!(last.details, json!({"close_reason": reason.as_str(), "dropped_at": t0}));
    }
}

#[tokio::test]
async fn a_change_after_the_grace_window_first_closes_the_session() {
    let f = Fixture::new().await;
    let t0 = now();
    let id = f.dropped(DropCause::ConnectionLost, t0).await;
    let late = t0 + GRACE + Duration::seconds(30);
    let Err(TransitionError::Illegal { current, .. }) =
        f.change(id, SessionChange::Heartbeat, late).await
    else {
        panic!("a heartbeat on a session whose grace window has passed is refused");
    };
    assert_eq!(current.state, SessionState::Closed(CloseReason::GraceExpired));
    // Closed at the deadline, and that is kept although the heartbeat was refused.
    let stored = f.stored(id).await;
    assert_eq!(
        (stored.status.as_str(), stored.ended_at, stored.last_seen_at < late),
        ("closed", Some(t0 + GRACE), true)
    );
    let last = f.audit(id).await.pop().unwrap();
    assert_eq!((last.event_type.as_str(), last.at), ("session.closed", t0 + GRACE));
}

#[tokio::test]
async fn a_reconnect_persists_and_is_audited() {
    let f = Fixture::new().await;
    let t0 = now();
    let id = f.dropped(DropCause::ConnectionLost, t0).await;
    let at = t0 + Duration::seconds(10);
    let (_, grant) = f.store.issue_reconnect_token(f.project_id, id, at).await.unwrap();
    assert_eq!(grant.window_closes_at, t0 + GRACE);
    let back = t0 + Duration::seconds(12);
    let row = f.store.redeem_reconnect_token(f.project_id, id, &grant.token, back).await.unwrap();
    assert_eq!(row.map(|r| r.state), Some(SessionState::Active));
    let stored = f.stored(id).await;
    assert_eq!((stored.status.as_str(), stored.last_seen_at), ("active", back));
    assert_eq!(stored.dropped_at, Some(t0));
    let last = f.audit(id).await.pop().unwrap();
    assert_eq!(
        (last.event_type.as_str(), last.actor.as_deref()),
        ("session.reconnected", Some("alice"))
    );
    // The token is single-use.
    let again = f.store.redeem_reconnect_token(f.project_id, id, &grant.token, back).await;
    assert!(matches!(again, Ok(None)));
}

#[tokio::test]
async fn refused_changes_leave_every_row_as_it_was() {
    let f = Fixture::new().await;
    let t0 = now();
    let active = f.open_at(true, t0).await.id;
    let dropped = f.dropped(DropCause::ConnectionLost, t0).await;
    let closed = f.open_at(true, t0).await.id;
    f.change(closed, SessionChange::Close(CloseReason::UserExit), t0).await.unwrap();
    let at = t0 + Duration::seconds(5);
    let refused = [
        (active, SessionChange::GraceExpired),
        // Only the gateway's reasons may close; revoking is a change of its own.
        (active, SessionChange::Close(CloseReason::Revoked)),
        (active, SessionChange::Close(CloseReason::GraceExpired)),
        (dropped, SessionChange::Drop(DropCause::GatewayLost)),
        (closed, SessionChange::Heartbeat),
        (closed, SessionChange::Drop(DropCause::ConnectionLost)),
        (closed, SessionChange::Close(CloseReason::UserExit)),
        (closed, revoke("too late")),
        (closed, SessionChange::GraceExpired),
    ];
    for (id, change) in refused {
        let before = f.session_rows(id).await;
        let what = format!("{change:?} on {}", before["session"]["status"]);
        let result = f.change(id, change, at).await;
        let Err(TransitionError::Illegal { current, .. }) = result else {
            panic!("{what} is refused, not {result:?}");
        };
        assert_eq!(current.id, id);
        assert_eq!(f.session_rows(id).await, before, "{what} changed nothing");
    }
    let unknown = f.change(Uuid::now_v7(), SessionChange::Heartbeat, at).await;
    assert!(matches!(unknown, Err(TransitionError::NotFound)));
}
