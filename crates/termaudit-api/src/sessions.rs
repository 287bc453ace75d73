//! Sessions: opening, the history list, one session, the lifecycle the
//! gateway reports (heartbeat, drop, close), revoke and reconnect.

use actix_web::{HttpResponse, get, http::header::ContentType, post, web};
use chrono::Utc;
use termaudit_api_types as dto;
use termaudit_domain::{
    CloseReason, DropCause, HistoryQuery, Permission, Reason, SessionMode, SessionState,
    check_text, grace_deadline,
};
use termaudit_storage::{self as storage, ProjectRow, SessionChange, SessionRow, TransitionError};
use uuid::Uuid;

use crate::{
    AppState, Caller,
    error::{ApiError, ProblemKind},
    extract::{ProjectPath, SessionPath, invalid_cursor, person},
};

/// A session's DTO, with its reconnect deadline while it is dropped.
pub(crate) async fn session_dto(
    state: &AppState,
    project: &ProjectRow,
    row: SessionRow,
) -> Result<dto::Session, ApiError> {
    let grace = match row.state {
        SessionState::Dropped(_) => {
            state.store.cached_policy(project.id).await?.policy.reconnect_grace_seconds
        }
        _ => 0,
    };
    Ok(session_dto_with_grace(project, row, grace))
}

/// The DTO of a session, given the project's reconnect grace (lists read the
/// policy once for the page).
pub(crate) fn session_dto_with_grace(
    project: &ProjectRow,
    row: SessionRow,
    grace_seconds: u32,
) -> dto::Session {
    let reconnect_deadline = match (row.state, row.dropped_at) {
        (SessionState::Dropped(_), Some(dropped_at)) => {
            Some(grace_deadline(dropped_at, grace_seconds))
        }
        _ => None,
    };
    dto::Session {
        id: row.id,
        project: project.slug.clone(),
        target_id: row.target_id,
        target_name: row.target_name,
        target_kind: row.target_kind.to_string(),
        environment: row.environment,
        environment_class: row.environment_class.to_string(),
        mode: row.mode.to_string(),
        reason: row.reason,
        user: dto::Person { subject: row.user_subject, name: row.user_name },
        recorded: row.recorded,
        status: row.state.status().to_string(),
        opened_at: row.opened_at,
        last_seen_at: row.last_seen_at,
        dropped_at: row.dropped_at,
        drop_cause: row.drop_cause.map(|c| c.to_string()),
        reconnect_deadline,
        ended_at: row.ended_at,
        close_reason: match row.state {
            SessionState::Closed(reason) => Some(reason.to_string()),
            _ => None,
        },
        revoked_by: person(&row.revoked_by_subject, &row.revoked_by_name),
        revoke_reason: row.revoke_reason,
        watchers: None,
    }
}

fn transition_error(err: TransitionError, id: Uuid) -> ApiError {
    match err {
        TransitionError::NotFound => ApiError::not_found(format!("there is no session {id}")),
        TransitionError::Storage(err) => err.into(),
        TransitionError::Illegal { current, error } => {
            let status = current.state.status();
            let SessionState::Closed(reason) = current.state else {
                let detail =
                    format!("the session is {status}; it cannot take a {}", error.event.name());
                return ApiError::new(ProblemKind::InvalidSessionState, detail);
            };
            session_closed(&current, reason, &format!("it cannot take a {}", error.event.name()))
        }
    }
}

/// The `invalid-session-state` problem of a closed session, with how it
/// ended; `refused` says what it cannot take.
pub(crate) fn session_closed(current: &SessionRow, reason: CloseReason, refused: &str) -> ApiError {
    let detail = format!(
        "the session is closed ({reason}{}); {refused}",
        current.ended_at.map(|t| format!(" at {}", t.to_rfc3339())).unwrap_or_default(),
    );
    let problem = ApiError::new(ProblemKind::InvalidSessionState, detail);
    match ending(current) {
        Some(ending) => problem.with_ending(ending),
        None => problem,
    }
}

/// How `current` ended; `None` while it has not.
pub(crate) fn ending(current: &SessionRow) -> Option<dto::SessionEnding> {
    let SessionState::Closed(reason) = current.state else { return None };
    Some(dto::SessionEnding {
        close_reason: reason.to_string(),
        ended_at: current.ended_at?,
        revoked_by: person(&current.revoked_by_subject, &current.revoked_by_name),
        revoke_reason: current.revoke_reason.clone(),
    })
}

/// An append (activity, database events, a chunk) refused because the
/// session ended: finalized, or ended before what was sent happened.
pub(crate) fn ended_before(current: &SessionRow, what: &str) -> ApiError {
    match current.state {
        SessionState::Closed(reason) => session_closed(
            current,
            reason,
            &format!(
                "it takes no {what} timed after its end, and none at all once finalized; \
                 nothing was stored"
            ),
        ),
        // Not reached: only a closed session refuses an append.
        _ => {
            ApiError::new(ProblemKind::InvalidSessionState, format!("the session takes no {what}"))
        }
    }
}

/// Opens a session on a target for a user. The answer says whether it is
/// recorded: production sessions always are (and need a reason); others when
/// the project's policy says so.
#[utoipa::path(
    tag = "sessions",
    params(ProjectPath),
    request_body = dto::OpenSession,
    responses(
        (status = 201, description = "The session is open; `recorded` says whether it is recorded", body = dto::Session),
        (status = 400, description = "Invalid fields, or a missing reason", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions")]
pub async fn open_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    body: web::Json<dto::OpenSession>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    let body = body.into_inner();
    let mode: SessionMode = body.mode.parse()?;
    let user_subject = termaudit_domain::parse_bounded("user.subject", &body.user.subject, 200)?;
    let user_name = termaudit_domain::parse_bounded("user.name", &body.user.name, 200)?;
    let target = state.store.target(project.id, body.target_id).await?.ok_or_else(|| {
        ApiError::invalid(format!("target_id: there is no target {}", body.target_id))
    })?;
    let policy = state.store.cached_policy(project.id).await?.policy;
    let reason = Reason::parse_optional(
        body.reason.as_deref(),
        policy.requires_reason(target.environment_class),
    )?;
    let recorded = policy.must_record(target.environment_class);
    let new = storage::NewSession {
        target: &target,
        mode,
        reason,
        user_subject,
        user_name,
        opened_at: Utc::now(),
    };
    let row = state.store.open_session(project.id, &new, recorded).await?;
    Ok(HttpResponse::Created().json(session_dto(&state, &project, row).await?))
}

/// The history list's query string, parsed by the domain's one parser:
/// untrusted input becomes a filter, a cursor and a page size, or a 400
/// naming the field.
pub fn history_query(q: dto::SessionQuery) -> Result<HistoryQuery, ApiError> {
    Ok(HistoryQuery::parse(termaudit_domain::history_query_params!(q))?)
}

/// The project's sessions, newest first, filtered, with keyset paging: pass
/// `next_cursor` as `cursor` for the next page. Sessions opened meanwhile
/// never shift later pages.
#[utoipa::path(
    tag = "sessions",
    params(ProjectPath, dto::SessionQuery),
    responses(
        (status = 200, description = "A page of sessions, newest first", body = dto::SessionPage),
        (status = 400, description = "An invalid filter or cursor", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions")]
pub async fn list_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::SessionQuery>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let HistoryQuery { filter, cursor, limit } = history_query(query.into_inner())?;
    let page = state
        .store
        .sessions(project.id, &filter, cursor.as_ref(), limit)
        .await
        .map_err(invalid_cursor)?;
    let grace = state.store.cached_policy(project.id).await?.policy.reconnect_grace_seconds;
    let items =
        page.items.into_iter().map(|row| session_dto_with_grace(&project, row, grace)).collect();
    let page = dto::SessionPage { items, next_cursor: page.next.map(|c| c.encode()) };
    // Into one buffer of about the page's size (a session is 600 to 700
    // bytes of JSON), not one that doubles its way up from 128 bytes.
    let mut body = Vec::with_capacity(64 + 768 * page.items.len());
    serde_json::to_writer(&mut body, &page).map_err(|err| {
        tracing::error!(error = %err, "a page of sessions did not serialize");
        ApiError::internal()
    })?;
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(body))
}

/// One session's metadata, and who watches its recording live now.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    responses((status = 200, description = "The session", body = dto::Session))
)]
#[get("/projects/{project}/sessions/{id}")]
pub async fn get_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<web::Json<dto::Session>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let row = state.session(&project, path.id).await?;
    let mut session = session_dto(&state, &project, row).await?;
    let watchers = state.store.session_watchers(path.id).await?;
    session.watchers = Some(
        watchers
            .into_iter()
            .map(|w| dto::LiveWatcher {
                watcher: dto::Person { subject: w.subject, name: w.name },
                since: w.since,
            })
            .collect(),
    );
    Ok(web::Json(session))
}

async fn change(
    state: &AppState,
    project: &ProjectRow,
    id: Uuid,
    change: SessionChange,
    is_repeat: impl Fn(&SessionRow) -> bool,
) -> Result<HttpResponse, ApiError> {
    let row = match state.store.change_session(project.id, id, change, Utc::now()).await {
        Ok(row) => row,
        // A gateway retrying a change that already happened gets the same answer.
        Err(TransitionError::Illegal { current, .. }) if is_repeat(&current) => *current,
        Err(err) => return Err(transition_error(err, id)),
    };
    Ok(HttpResponse::Ok().json(session_dto(state, project, row).await?))
}

/// The gateway's sign of life for a session. A closed session answers 409,
/// which tells the gateway to end it.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    responses(
        (status = 200, description = "The session, seen alive", body = dto::Session),
        (status = 409, description = "The session is closed", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/heartbeat")]
pub async fn heartbeat(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    change(&state, &project, path.id, SessionChange::Heartbeat, |_| false).await
}

/// The user's connection to the gateway was lost: the session waits for a
/// reconnect within the project's grace window.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    responses(
        (status = 200, description = "The session, dropped (or dropped already)", body = dto::Session),
        (status = 409, description = "The session is closed", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/drop")]
pub async fn drop_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    let cause = DropCause::ConnectionLost;
    change(&state, &project, path.id, SessionChange::Drop(cause), |row| {
        row.state == SessionState::Dropped(cause)
    })
    .await
}

/// The gateway ended the session.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    request_body = dto::CloseSession,
    responses(
        (status = 200, description = "The session, closed (or closed already for this reason)", body = dto::Session),
        (status = 400, description = "A reason a gateway may not give", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is closed already (for another reason)", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/close")]
pub async fn close_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::CloseSession>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    let reason: CloseReason = body.reason.parse()?;
    if !reason.is_reported_by_gateway() {
        return Err(ApiError::invalid(format!(
            "reason: {reason} is set by termaudit itself; a gateway closes with user_exit, target_error, idle_timeout or gateway_lost"
        )));
    }
    change(&state, &project, path.id, SessionChange::Close(reason), |row| {
        row.state == SessionState::Closed(reason)
    })
    .await
}

/// A policy manager ends an active or dropped session at once. Gateways
/// learn of it through the control-event stream within a second.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    request_body = dto::RevokeSession,
    responses(
        (status = 200, description = "The session, closed as revoked", body = dto::Session),
        (status = 400, description = "A missing reason", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is closed already", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/revoke")]
pub async fn revoke_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::RevokeSession>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ManagePolicy).await?;
    let reason = Reason::parse(&body.reason)?;
    let by = caller.actor();
    change(&state, &project, path.id, SessionChange::Revoke { by, reason }, |_| false).await
}

/// The session's own user asks to return to their dropped session: a
/// single-use, short-lived token the gateway redeems to reattach. Only while
/// the session is dropped and its grace window lasts; needs
/// `terminal.connect`.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    responses(
        (status = 200, description = "A single-use token to reattach, and the session", body = dto::ReconnectGrant),
        (status = 409, description = "Not dropped, or the grace window closed (`type` ends in `reconnect-window-closed`)", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/reconnect")]
pub async fn reconnect(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<web::Json<dto::ReconnectGrant>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Connect).await?;
    let row = state.session(&project, path.id).await?;
    if row.user_subject != caller.subject {
        return Err(ApiError::new(
            ProblemKind::Forbidden,
            "only the session's own user may reconnect to it",
        ));
    }
    let (row, grant) = state
        .store
        .issue_reconnect_token(project.id, path.id, Utc::now())
        .await
        .map_err(|err| window_closed_or(err, path.id))?;
    Ok(web::Json(dto::ReconnectGrant {
        token: grant.token,
        expires_at: grant.expires_at,
        window_closes_at: grant.window_closes_at,
        session: session_dto(&state, &project, row).await?,
    }))
}

/// A reconnect refused because the grace window passed says when it closed.
fn window_closed_or(err: TransitionError, id: Uuid) -> ApiError {
    if let TransitionError::Illegal { current, .. } = &err
        && let SessionState::Closed(reason @ (CloseReason::GraceExpired | CloseReason::GatewayLost)) =
            current.state
    {
        let closed = current.ended_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        return ApiError::new(
            ProblemKind::ReconnectWindowClosed,
            format!("the reconnect window closed at {closed}; the session ended ({reason})"),
        );
    }
    transition_error(err, id)
}

/// The gateway redeems a reconnect token: the session is active again.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    request_body = dto::RedeemReconnect,
    responses(
        (status = 200, description = "The session, active again", body = dto::Session),
        (status = 400, description = "The token is unknown, used, expired or for another session", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is no longer dropped or its window closed", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/reconnect/redeem")]
pub async fn redeem_reconnect(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::RedeemReconnect>,
) -> Result<web::Json<dto::Session>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    check_text("token", &body.token)?;
    let row = state
        .store
        .redeem_reconnect_token(project.id, path.id, &body.token, Utc::now())
        .await
        .map_err(|err| window_closed_or(err, path.id))?
        .ok_or_else(|| {
            ApiError::invalid("token: unknown, already used, expired or for another session")
        })?;
    Ok(web::Json(session_dto(&state, &project, row).await?))
}

#[cfg(test)]
mod tests {
    use actix_web::{ResponseError, web::Query};
    use proptest::prelude::*;

    use super::*;

    /// Query strings made of the history list's own keys and values, broken
    /// in every way, plus arbitrary text.
    fn query_string() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "status",
            "environment_class",
            "environment",
            "target_id",
            "user",
            "mode",
            "opened_from",
            "opened_to",
            "has_recording",
            "q",
            "cursor",
            "limit",
            "x",
        ]);
        let value = prop_oneof![
            any::<String>(),
            Just("closed".to_owned()),
            Just("production".to_owned()),
            Just("2026-01-01T00:00:00Z".to_owned()),
            Just("eyJ0IjoiMjAyNi0wMS0wMVQwMDowMDowMFoiLCJpZCI6IngifQ".to_owned()),
            (0u64..500).prop_map(|n| n.to_string()),
            "[a-zA-Z0-9%+_.~-]{0,12}",
        ];
        prop_oneof![
            prop::collection::vec((key, value), 0..6).prop_map(|pairs| {
                pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
            }),
            any::<String>(),
        ]
    }

    proptest! {
        /// Any query string is either a valid history query or a 400; never a
        /// panic, never another status.
        #[test]
        fn any_query_string_parses_or_is_a_400(query in query_string()) {
            match Query::<dto::SessionQuery>::from_query(&query) {
                Err(_) => {} // actix answers 400 itself
                Ok(Query(q)) => match history_query(q) {
                    Ok(parsed) => {
                        prop_assert!((1..=200).contains(&parsed.limit));
                        if let Some(text) = parsed.filter.text {
                            prop_assert!((2..=200).contains(&text.chars().count()));
                        }
                    }
                    Err(err) => prop_assert_eq!(err.status_code().as_u16(), 400),
                },
            }
        }
    }
}
