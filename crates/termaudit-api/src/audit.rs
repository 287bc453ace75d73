//! The project's audit log.

use actix_web::{get, web};
use termaudit_api_types as dto;
use termaudit_domain::{AuditEventType, Permission, TimeBounds, check_optional_text};
use termaudit_storage as storage;

use crate::{
    AppState, Caller,
    error::ApiError,
    extract::{ProjectPath, cursor_param, invalid_cursor, limit_param, parse_field, person},
};

/// The project's audit log, newest first: terminal events (`session.*`,
/// `recording.*`, `history.exported`, `policy.updated`, ...) and database
/// events (`database.statement`). Append-only.
#[utoipa::path(
    tag = "audit",
    params(ProjectPath, dto::AuditQuery),
    responses(
        (status = 200, description = "A page of the audit log, newest first", body = dto::AuditEventPage),
        (status = 400, description = "An invalid filter or cursor", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::AuditQuery>,
) -> Result<web::Json<dto::AuditEventPage>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let q = query.into_inner();
    check_optional_text("actor", q.actor.as_deref())?;
    let filter = storage::AuditFilter {
        event_type: parse_field::<AuditEventType>(q.event_type.as_deref())?,
        actor_subject: q.actor.filter(|a| !a.is_empty()),
        session_id: q.session_id,
        from: TimeBounds::STORABLE.check_optional("from", q.from)?,
        to: TimeBounds::STORABLE.check_optional("to", q.to)?,
    };
    let cursor = cursor_param(q.cursor.as_deref())?;
    let limit = limit_param(q.limit, 50, 200)?;
    let page = state
        .store
        .audit_events(project.id, &filter, cursor.as_ref(), limit)
        .await
        .map_err(invalid_cursor)?;
    Ok(web::Json(dto::AuditEventPage {
        items: page
            .items
            .into_iter()
            .map(|row| dto::AuditEvent {
                id: row.id,
                event_type: row.event_type,
                occurred_at: row.occurred_at,
                actor: person(&row.actor_subject, &row.actor_name),
                session_id: row.session_id,
                details: row.details,
            })
            .collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}
