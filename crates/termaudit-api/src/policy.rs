//! The terminal policy and legal holds.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::Utc;
use termaudit_api_types as dto;
use termaudit_domain::{Permission, Reason, TerminalPolicy};
use termaudit_storage::{HoldRow, PolicyRow};

use crate::{
    AppState, Caller,
    error::{ApiError, ProblemKind},
    extract::{ProjectPath, SessionPath},
};

fn policy_view(row: PolicyRow) -> dto::PolicyView {
    let p = row.policy;
    dto::PolicyView {
        policy: dto::Policy {
            retention_days_production: p.retention_days_production,
            retention_days_non_production: p.retention_days_non_production,
            record_non_production: p.record_non_production,
            require_reason_non_production: p.require_reason_non_production,
            reconnect_grace_seconds: p.reconnect_grace_seconds,
            watch_non_production: p.watch_non_production,
        },
        updated_at: row.updated_at,
        updated_by: row.updated_by,
    }
}

fn hold_dto(row: HoldRow) -> dto::Hold {
    dto::Hold {
        session_id: row.session_id,
        reason: row.reason,
        placed_at: row.placed_at,
        placed_by: dto::Person { subject: row.placed_by.subject, name: row.placed_by.name },
    }
}

/// The project's terminal policy (any member of the project may read it).
#[utoipa::path(
    tag = "policy",
    params(ProjectPath),
    responses((status = 200, description = "The policy, with its last change", body = dto::PolicyView))
)]
#[get("/projects/{project}/policy")]
pub async fn get_policy(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<web::Json<dto::PolicyView>, ApiError> {
    caller.member_of(&path.project)?;
    let project = state.project(&path.project).await?;
    Ok(web::Json(policy_view(state.store.policy(project.id).await?)))
}

/// Replaces the project's terminal policy; audited as `policy.updated` with
/// the old and new values. Retention changes apply to existing recordings at
/// the next sweep: a shorter retention purges what is now past it; a longer
/// one keeps what is still stored but cannot restore purged recordings.
#[utoipa::path(
    tag = "policy",
    params(ProjectPath),
    request_body = dto::Policy,
    responses(
        (status = 200, description = "The policy as stored now", body = dto::PolicyView),
        (status = 400, description = "Values out of bounds; `errors` names each bad field", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/projects/{project}/policy")]
pub async fn put_policy(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    body: web::Json<dto::Policy>,
) -> Result<web::Json<dto::PolicyView>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ManagePolicy).await?;
    let policy = TerminalPolicy {
        retention_days_production: body.retention_days_production,
        retention_days_non_production: body.retention_days_non_production,
        record_non_production: body.record_non_production,
        require_reason_non_production: body.require_reason_non_production,
        reconnect_grace_seconds: body.reconnect_grace_seconds,
        watch_non_production: body.watch_non_production,
    }
    .validate()?;
    let row = state.store.update_policy(project.id, &policy, &caller.actor(), Utc::now()).await?;
    Ok(web::Json(policy_view(row)))
}

/// Whether the session is under a legal hold: `{"hold": null}` when not.
#[utoipa::path(
    tag = "policy",
    params(SessionPath),
    responses((status = 200, description = "The session's legal hold, or `null`", body = dto::SessionHold))
)]
#[get("/projects/{project}/sessions/{id}/hold")]
pub async fn get_hold(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<web::Json<dto::SessionHold>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let session = state.session(&project, path.id).await?;
    let hold = state.store.hold(project.id, session.id).await?.map(hold_dto);
    Ok(web::Json(dto::SessionHold { hold }))
}

/// Places a legal hold: the session's recording is not purged while it lasts.
#[utoipa::path(
    tag = "policy",
    params(SessionPath),
    request_body = dto::HoldReason,
    responses(
        (status = 201, description = "The hold is placed", body = dto::Hold),
        (status = 400, description = "A missing reason", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is held already", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/hold")]
pub async fn place_hold(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::HoldReason>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ManagePolicy).await?;
    let reason = Reason::parse(&body.reason)?;
    let session = state.session(&project, path.id).await?;
    match state
        .store
        .place_hold(project.id, session.id, reason.as_str(), &caller.actor(), Utc::now())
        .await?
    {
        Ok(hold) => Ok(HttpResponse::Created().json(hold_dto(hold))),
        Err(existing) => Err(ApiError::conflict(format!(
            "the session is held already, since {} by {}",
            existing.placed_at.to_rfc3339(),
            existing.placed_by.name
        ))),
    }
}

/// Releases a legal hold; the recording then ages out by the policy again.
#[utoipa::path(
    tag = "policy",
    params(SessionPath),
    request_body = dto::HoldReason,
    responses(
        (status = 200, description = "The released hold", body = dto::Hold),
        (status = 400, description = "A missing reason", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/projects/{project}/sessions/{id}/hold")]
pub async fn release_hold(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::HoldReason>,
) -> Result<web::Json<dto::Hold>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ManagePolicy).await?;
    let reason = Reason::parse(&body.reason)?;
    let session = state.session(&project, path.id).await?;
    let released = state
        .store
        .release_hold(project.id, session.id, Some(reason.as_str()), &caller.actor(), Utc::now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ProblemKind::NotFound,
                format!("session {} has no legal hold", session.id),
            )
        })?;
    Ok(web::Json(hold_dto(released)))
}
