//! A session's timeline: the command and runbook activity and the database
//! statements the gateway reports, appended idempotently by `event_id`.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use termaudit_api_types as dto;
use termaudit_domain::{DomainError, EventWindow, Permission, check_optional_text, check_text};
use termaudit_storage::{self as storage, AppendError, SessionRow};

use crate::{
    AppState, Caller,
    error::ApiError,
    extract::{SessionPath, cursor_param, invalid_cursor, limit_param},
    sessions::ended_before,
};

const MAX_BATCH: usize = 500;
/// Characters of a command, step or statement, at most.
const MAX_TEXT: usize = 65_536;
/// Characters of an event id, at most.
const MAX_EVENT_ID: usize = 200;

/// The kinds of explicit activity (`ActivityKind` in the OpenAPI document).
pub(crate) const ACTIVITY_KINDS: [&str; 3] = ["command", "runbook", "runbook_step"];

/// Free text of an event: 1 to `max` characters, any but U+0000.
fn check_event_text(field: &str, value: &str, max: usize) -> Result<(), DomainError> {
    check_text(field, value)?;
    if value.is_empty() || value.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be 1 to {max} characters")));
    }
    Ok(())
}

fn check_not_negative(field: &str, value: Option<i64>) -> Result<(), DomainError> {
    if value.is_some_and(|v| v < 0) {
        return Err(DomainError::invalid(field, "must not be negative"));
    }
    Ok(())
}

fn check_batch<T>(items: &[T]) -> Result<(), ApiError> {
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::invalid(format!("items: must hold 1 to {MAX_BATCH} events")));
    }
    Ok(())
}

fn append_error(err: AppendError, what: &str) -> ApiError {
    match err {
        AppendError::NotFound => ApiError::not_found("there is no such session"),
        AppendError::Conflict(id) => ApiError::conflict(format!(
            "event_id {id:?} was already used for a different event; nothing was stored"
        )),
        AppendError::Ended(current) => ended_before(&current, what),
        AppendError::Storage(err) => err.into(),
    }
}

/// Each item's `occurred_at` lies in the session's [`EventWindow`] at the
/// server's now: 400 naming the first that does not.
fn check_times(
    session: &SessionRow,
    times: impl Iterator<Item = DateTime<Utc>>,
) -> Result<(), ApiError> {
    let window = EventWindow::new(session.opened_at, Utc::now());
    for (i, at) in times.enumerate() {
        window.check(&format!("items[{i}].occurred_at"), at)?;
    }
    Ok(())
}

/// Appends explicit command and runbook activity. Retries are idempotent by `event_id`.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    request_body = dto::ActivityBatch,
    responses(
        (status = 200, description = "What was stored and what were retries", body = dto::AppendResult),
        (status = 400, description = "Invalid events, or an `occurred_at` outside the session's opening to the server's now, each give or take 5 minutes of clock skew (the problem names the field and the range); nothing was stored", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An event id reused for a different event (`conflict`), or the session has ended (`invalid-session-state`, with `ended`): an ended session takes events timed at or before its end until it is finalized, and nothing after; nothing was stored", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/activity")]
pub async fn append_activity(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::ActivityBatch>,
) -> Result<web::Json<dto::AppendResult>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    check_batch(&body.items)?;
    let mut items = Vec::with_capacity(body.items.len());
    for (i, item) in body.items.iter().enumerate() {
        let field = |name: &str| format!("items[{i}].{name}");
        check_event_text(&field("event_id"), &item.event_id, MAX_EVENT_ID)?;
        if !ACTIVITY_KINDS.contains(&item.kind.as_str()) {
            return Err(DomainError::invalid(
                field("kind"),
                format!("must be one of: {}", ACTIVITY_KINDS.join(", ")),
            )
            .into());
        }
        check_event_text(&field("text"), &item.text, MAX_TEXT)?;
        check_not_negative(&field("duration_ms"), item.duration_ms)?;
        items.push(storage::Activity {
            event_id: item.event_id.clone(),
            kind: item.kind.clone(),
            text: item.text.clone(),
            occurred_at: item.occurred_at,
            exit_code: item.exit_code,
            duration_ms: item.duration_ms,
        });
    }
    let session = state.session(&project, path.id).await?;
    check_times(&session, items.iter().map(|item| item.occurred_at))?;
    let outcome = state
        .store
        .append_activity(session.id, &items)
        .await
        .map_err(|err| append_error(err, "activity"))?;
    Ok(web::Json(dto::AppendResult { stored: outcome.stored, duplicates: outcome.duplicates }))
}

/// An activity row as the API shows it.
pub(crate) fn activity_dto(row: storage::ActivityRow) -> dto::Activity {
    dto::Activity {
        event_id: row.activity.event_id,
        kind: row.activity.kind,
        text: row.activity.text,
        occurred_at: row.activity.occurred_at,
        exit_code: row.activity.exit_code,
        duration_ms: row.activity.duration_ms,
    }
}

/// A database statement as the API shows it.
pub(crate) fn database_event_dto(row: storage::DatabaseEventRow) -> dto::DatabaseEvent {
    dto::DatabaseEvent {
        event_id: row.event.event_id,
        statement: row.event.statement,
        database: row.event.database,
        occurred_at: row.event.occurred_at,
        rows_affected: row.event.rows_affected,
        duration_ms: row.event.duration_ms,
        error: row.event.error,
    }
}

/// The session's command and runbook timeline, oldest first.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath, dto::TimelineQuery),
    responses((status = 200, description = "A page of the session's activity, oldest first", body = dto::ActivityPage))
)]
#[get("/projects/{project}/sessions/{id}/activity")]
pub async fn list_activity(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    query: web::Query<dto::TimelineQuery>,
) -> Result<web::Json<dto::ActivityPage>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let session = state.session(&project, path.id).await?;
    let cursor = cursor_param(query.cursor.as_deref())?;
    let limit = limit_param(query.limit, 500, 1000)?;
    let page =
        state.store.activity(session.id, cursor.as_ref(), limit).await.map_err(invalid_cursor)?;
    Ok(web::Json(dto::ActivityPage {
        items: page.items.into_iter().map(activity_dto).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// Appends statements run in a database shell; each is also an audit event
/// (`database.statement`). Retries are idempotent by `event_id`.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    request_body = dto::DatabaseEventBatch,
    responses(
        (status = 200, description = "What was stored and what were retries", body = dto::AppendResult),
        (status = 400, description = "Invalid events, or an `occurred_at` outside the session's opening to the server's now, each give or take 5 minutes of clock skew (the problem names the field and the range); nothing was stored", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An event id reused for a different event (`conflict`), or the session has ended (`invalid-session-state`, with `ended`): an ended session takes events timed at or before its end until it is finalized, and nothing after; nothing was stored", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/database-events")]
pub async fn append_database_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    body: web::Json<dto::DatabaseEventBatch>,
) -> Result<web::Json<dto::AppendResult>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    check_batch(&body.items)?;
    let mut events = Vec::with_capacity(body.items.len());
    for (i, item) in body.items.iter().enumerate() {
        let field = |name: &str| format!("items[{i}].{name}");
        check_event_text(&field("event_id"), &item.event_id, MAX_EVENT_ID)?;
        check_event_text(&field("statement"), &item.statement, MAX_TEXT)?;
        check_optional_text(&field("database"), item.database.as_deref())?;
        check_optional_text(&field("error"), item.error.as_deref())?;
        check_not_negative(&field("rows_affected"), item.rows_affected)?;
        check_not_negative(&field("duration_ms"), item.duration_ms)?;
        events.push(storage::DatabaseEvent {
            event_id: item.event_id.clone(),
            statement: item.statement.clone(),
            database: item.database.clone(),
            occurred_at: item.occurred_at,
            rows_affected: item.rows_affected,
            duration_ms: item.duration_ms,
            error: item.error.clone(),
        });
    }
    let session = state.session(&project, path.id).await?;
    check_times(&session, events.iter().map(|event| event.occurred_at))?;
    let outcome = state
        .store
        .append_database_events(project.id, &session, &events)
        .await
        .map_err(|err| append_error(err, "database events"))?;
    Ok(web::Json(dto::AppendResult { stored: outcome.stored, duplicates: outcome.duplicates }))
}

/// The session's database statements, oldest first.
#[utoipa::path(
    tag = "sessions",
    params(SessionPath, dto::TimelineQuery),
    responses((status = 200, description = "A page of the session's database statements, oldest first", body = dto::DatabaseEventPage))
)]
#[get("/projects/{project}/sessions/{id}/database-events")]
pub async fn list_database_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    query: web::Query<dto::TimelineQuery>,
) -> Result<web::Json<dto::DatabaseEventPage>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let session = state.session(&project, path.id).await?;
    let cursor = cursor_param(query.cursor.as_deref())?;
    let limit = limit_param(query.limit, 500, 1000)?;
    let page = state
        .store
        .database_events(session.id, cursor.as_ref(), limit)
        .await
        .map_err(invalid_cursor)?;
    Ok(web::Json(dto::DatabaseEventPage {
        items: page.items.into_iter().map(database_event_dto).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    }))
}
