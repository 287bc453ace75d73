//! Sessions: their modes, the reason operators give, and the state machine
//! their status follows.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use crate::error::{DomainError, parse_bounded};
use crate::target::str_enum;

/// What kind of access a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionMode {
    Shell,
    Database,
    Runbook,
    Command,
}

str_enum!(SessionMode, "mode", {
    SessionMode::Shell => "shell",
    SessionMode::Database => "database",
    SessionMode::Runbook => "runbook",
    SessionMode::Command => "command",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    /// A client is attached.
    Active,
    /// The client's connection was lost; the shell waits for a reconnect
    /// within the grace window.
    Dropped,
    /// Ended, for good.
    Closed,
}

str_enum!(SessionStatus, "status", {
    SessionStatus::Active => "active",
    SessionStatus::Dropped => "dropped",
    SessionStatus::Closed => "closed",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The user ended the shell.
    UserExit,
    /// A policy manager revoked the session.
    Revoked,
    /// The session stayed dropped past the grace window.
    GraceExpired,
    /// The gateway holding the session stopped answering, and the grace
    /// window passed.
    GatewayLost,
    /// The target failed.
    TargetError,
    /// The session was idle too long.
    IdleTimeout,
}

str_enum!(CloseReason, "reason", {
    CloseReason::UserExit => "user_exit",
    CloseReason::Revoked => "revoked",
    CloseReason::GraceExpired => "grace_expired",
    CloseReason::GatewayLost => "gateway_lost",
    CloseReason::TargetError => "target_error",
    CloseReason::IdleTimeout => "idle_timeout",
});

impl CloseReason {
    /// Whether a gateway may close a session with this reason; the others
    /// are reached only through revoke and grace expiry.
    pub const fn is_reported_by_gateway(self) -> bool {
        matches!(self, Self::UserExit | Self::TargetError | Self::IdleTimeout | Self::GatewayLost)
    }
}

/// Why a session was dropped: it decides how it closes when the grace window
/// passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropCause {
    /// The client's connection to the gateway was lost.
    ConnectionLost,
    /// The gateway stopped heartbeating.
    GatewayLost,
}

str_enum!(DropCause, "drop_cause", {
    DropCause::ConnectionLost => "connection_lost",
    DropCause::GatewayLost => "gateway_lost",
});

/// What can happen to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    Heartbeat,
    Drop(DropCause),
    Reconnect,
    Close(CloseReason),
    Revoke,
    GraceExpired,
}

impl SessionEvent {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Heartbeat => "heartbeat",
            Self::Drop(_) => "drop",
            Self::Reconnect => "reconnect",
            Self::Close(_) => "close",
            Self::Revoke => "revoke",
            Self::GraceExpired => "grace expiry",
        }
    }
}

/// A session's status with what explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    Dropped(DropCause),
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {} session cannot take a {}", .from.status(), .event.name())]
pub struct IllegalTransition {
    pub from: SessionState,
    pub event: SessionEvent,
}

impl SessionState {
    pub const fn status(self) -> SessionStatus {
        match self {
            Self::Active => SessionStatus::Active,
            Self::Dropped(_) => SessionStatus::Dropped,
            Self::Closed(_) => SessionStatus::Closed,
        }
    }

    /// The state after `event`, or why it cannot happen. A closed session
    /// takes no event at all.
    pub fn apply(self, event: SessionEvent) -> Result<SessionState, IllegalTransition> {
        use SessionEvent as E;
        use SessionState as S;
        let next = match (self, event) {
            (S::Active, E::Heartbeat) => S::Active,
            (S::Dropped(cause), E::Heartbeat) => S::Dropped(cause),
            (S::Active, E::Drop(cause)) => S::Dropped(cause),
            (S::Dropped(_), E::Reconnect) => S::Active,
            (S::Active | S::Dropped(_), E::Close(reason)) if reason.is_reported_by_gateway() => {
                S::Closed(reason)
            }
            (S::Active | S::Dropped(_), E::Revoke) => S::Closed(CloseReason::Revoked),
            (S::Dropped(DropCause::ConnectionLost), E::GraceExpired) => {
                S::Closed(CloseReason::GraceExpired)
            }
            (S::Dropped(DropCause::GatewayLost), E::GraceExpired) => {
                S::Closed(CloseReason::GatewayLost)
            }
            _ => return Err(IllegalTransition { from: self, event }),
        };
        Ok(next)
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status().as_str())
    }
}

/// The moment a dropped session's grace window closes.
pub fn grace_deadline(dropped_at: DateTime<Utc>, grace_seconds: u32) -> DateTime<Utc> {
    dropped_at + Duration::seconds(i64::from(grace_seconds))
}

/// Why an operator opened a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_LEN: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_bounded("reason", raw, Self::MAX_LEN).map(Self)
    }

    /// Parses an optional reason, which `required` makes mandatory.
    pub fn parse_optional(raw: Option<&str>, required: bool) -> Result<Option<Self>, DomainError> {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            Some(raw) => Self::parse(raw).map(Some),
            None if required => Err(DomainError::invalid(
                "reason",
                "a reason is required for sessions in this environment",
            )),
            None => Ok(None),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Reason {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [SessionState; 9] = [
        SessionState::Active,
        SessionState::Dropped(DropCause::ConnectionLost),
        SessionState::Dropped(DropCause::GatewayLost),
        SessionState::Closed(CloseReason::UserExit),
        SessionState::Closed(CloseReason::Revoked),
        SessionState::Closed(CloseReason::GraceExpired),
        SessionState::Closed(CloseReason::GatewayLost),
        SessionState::Closed(CloseReason::TargetError),
        SessionState::Closed(CloseReason::IdleTimeout),
    ];

    fn events() -> Vec<SessionEvent> {
        let mut events = vec![
            SessionEvent::Heartbeat,
            SessionEvent::Drop(DropCause::ConnectionLost),
            SessionEvent::Drop(DropCause::GatewayLost),
            SessionEvent::Reconnect,
            SessionEvent::Revoke,
            SessionEvent::GraceExpired,
        ];
        events.extend(CloseReason::ALL.iter().map(|r| SessionEvent::Close(*r)));
        events
    }

    /// The whole transition table, written out: every state against every
    /// event, so a change to the machine shows up here.
    fn expected(state: SessionState, event: SessionEvent) -> Option<SessionState> {
        use CloseReason as R;
        use DropCause as C;
        use SessionEvent as E;
        use SessionState as S;
        match (state, event) {
            (S::Closed(_), _) => None,
            (S::Active, E::Heartbeat) => Some(S::Active),
            (S::Dropped(c), E::Heartbeat) => Some(S::Dropped(c)),
            (S::Active, E::Drop(c)) => Some(S::Dropped(c)),
            (S::Dropped(_), E::Drop(_)) => None,
            (S::Active, E::Reconnect) => None,
            (S::Dropped(_), E::Reconnect) => Some(S::Active),
            (_, E::Revoke) => Some(S::Closed(R::Revoked)),
            (S::Active, E::GraceExpired) => None,
            (S::Dropped(C::ConnectionLost), E::GraceExpired) => Some(S::Closed(R::GraceExpired)),
            (S::Dropped(C::GatewayLost), E::GraceExpired) => Some(S::Closed(R::GatewayLost)),
            (_, E::Close(R::Revoked | R::GraceExpired)) => None,
            (_, E::Close(r)) => Some(S::Closed(r)),
        }
    }

    #[test]
    fn every_transition_is_as_specified() {
        for state in STATES {
            for event in events() {
                let actual = state.apply(event).ok();
                assert_eq!(actual, expected(state, event), "{state:?} + {event:?}");
                if let Err(err) = state.apply(event) {
                    assert_eq!(err.from, state);
                    assert!(err.to_string().contains(state.status().as_str()));
                }
            }
        }
    }

    #[test]
    fn closed_is_final_and_every_path_can_reach_it() {
        for state in STATES {
            let closed = state.apply(SessionEvent::Revoke);
            match state {
                SessionState::Closed(_) => assert!(closed.is_err()),
                _ => assert_eq!(closed, Ok(SessionState::Closed(CloseReason::Revoked))),
            }
        }
    }

    #[test]
    fn gateways_cannot_claim_system_close_reasons() {
        let reported: Vec<_> =
            CloseReason::ALL.iter().filter(|r| r.is_reported_by_gateway()).collect();
        assert_eq!(reported.len(), 4);
        assert!(!CloseReason::Revoked.is_reported_by_gateway());
        assert!(!CloseReason::GraceExpired.is_reported_by_gateway());
    }

    #[test]
    fn reasons() {
        assert_eq!(Reason::parse(" hotfix INC-42 ").map(|r| r.0), Ok("hotfix INC-42".into()));
        assert!(Reason::parse("").is_err());
        assert!(Reason::parse(&"x".repeat(501)).is_err());
        assert_eq!(Reason::parse_optional(None, false), Ok(None));
        assert_eq!(Reason::parse_optional(Some("  "), false), Ok(None));
        let err = Reason::parse_optional(Some(" "), true).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "reason");
    }

    #[test]
    fn grace_deadline_adds_the_window() {
        let dropped = DateTime::from_timestamp(1_000, 0).unwrap();
        assert_eq!(grace_deadline(dropped, 300).timestamp(), 1_300);
    }
}

/// Property tests: any sequence of events, legal or not, keeps the machine
/// in a state it can explain.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn event() -> impl Strategy<Value = SessionEvent> {
        prop_oneof![
            Just(SessionEvent::Heartbeat),
            Just(SessionEvent::Drop(DropCause::ConnectionLost)),
            Just(SessionEvent::Drop(DropCause::GatewayLost)),
            Just(SessionEvent::Reconnect),
            Just(SessionEvent::Revoke),
            Just(SessionEvent::GraceExpired),
            prop::sample::select(CloseReason::ALL.to_vec()).prop_map(SessionEvent::Close),
        ]
    }

    proptest! {
        #[test]
        fn any_event_sequence_keeps_the_machine_sound(events in prop::collection::vec(event(), 0..40)) {
            let mut state = SessionState::Active;
            for event in events {
                match state.apply(event) {
                    Ok(next) => {
                        // Closed is final: nothing leads out of it.
                        prop_assert!(!matches!(state, SessionState::Closed(_)), "{state:?} took {event:?}");
                        // Heartbeats never change the state.
                        if event == SessionEvent::Heartbeat {
                            prop_assert_eq!(next, state);
                        }
                        // A revoke always ends the session as revoked.
                        if event == SessionEvent::Revoke {
                            prop_assert_eq!(next, SessionState::Closed(CloseReason::Revoked));
                        }
                        // A reconnect only brings a dropped session back.
                        if event == SessionEvent::Reconnect {
                            prop_assert!(matches!(state, SessionState::Dropped(_)));
                            prop_assert_eq!(next, SessionState::Active);
                        }
                        state = next;
                    }
                    Err(error) => {
                        // A refused event leaves the state as it was and says why.
                        prop_assert_eq!(error, IllegalTransition { from: state, event });
                    }
                }
            }
        }

        #[test]
        fn a_closed_session_refuses_every_event(reason in prop::sample::select(CloseReason::ALL.to_vec()), event in event()) {
            prop_assert!(SessionState::Closed(reason).apply(event).is_err());
        }

        #[test]
        fn the_grace_deadline_is_exactly_the_grace_after_the_drop(
            micros in 0i64..4_000_000_000_000_000,
            grace in 0u32..=86_400,
        ) {
            let dropped = DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
            let deadline = grace_deadline(dropped, grace);
            prop_assert_eq!(deadline - dropped, chrono::Duration::seconds(i64::from(grace)));
        }
    }
}
