//! Targets: the application and database hosts sessions open on.

use actix_web::{HttpResponse, get, post, web};
use termaudit_api_types as dto;
use termaudit_domain::{EnvironmentClass, EnvironmentName, Permission, TargetKind, TargetName};
use termaudit_storage as storage;

use crate::{AppState, Caller, error::ApiError, extract::ProjectPath};

fn target_dto(row: storage::TargetRow) -> dto::Target {
    dto::Target {
        id: row.id,
        name: row.name,
        kind: row.kind.to_string(),
        environment: row.environment,
        environment_class: row.environment_class.to_string(),
        created_at: row.created_at,
    }
}

/// Registers a target (the gateway's service token or a policy manager).
#[utoipa::path(
    tag = "targets",
    params(ProjectPath),
    request_body = dto::NewTarget,
    responses(
        (status = 201, description = "The target is registered", body = dto::Target),
        (status = 400, description = "Invalid fields", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A target with this name exists", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/targets")]
pub async fn create_target(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    body: web::Json<dto::NewTarget>,
) -> Result<HttpResponse, ApiError> {
    caller.require_any(&path.project, &[Permission::Ingest, Permission::ManagePolicy])?;
    let project = state.project(&path.project).await?;
    let new = storage::NewTarget {
        name: TargetName::parse(&body.name)?,
        kind: body.kind.parse::<TargetKind>()?,
        environment: EnvironmentName::parse(&body.environment)?,
        environment_class: body.environment_class.parse::<EnvironmentClass>()?,
    };
    let row = state.store.create_target(project.id, &new).await.map_err(|err| match err {
        storage::StorageError::AlreadyExists { .. } => {
            ApiError::conflict(format!("a target named {:?} exists already", new.name.as_str()))
        }
        other => other.into(),
    })?;
    Ok(HttpResponse::Created().json(target_dto(row)))
}

/// The project's targets, by name.
#[utoipa::path(
    tag = "targets",
    params(ProjectPath),
    responses((status = 200, description = "The project's targets, by name", body = dto::TargetList))
)]
#[get("/projects/{project}/targets")]
pub async fn list_targets(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<web::Json<dto::TargetList>, ApiError> {
    caller.member_of(&path.project)?;
    let project = state.project(&path.project).await?;
    let rows = state.store.targets(project.id).await?;
    Ok(web::Json(dto::TargetList { items: rows.into_iter().map(target_dto).collect() }))
}
