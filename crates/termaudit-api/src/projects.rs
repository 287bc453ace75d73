use actix_web::{get, web};
use termaudit_api_types::{Me, Project, ProjectList};

use crate::{AppState, Caller, error::ApiError};

fn project_dto(slug: &str, name: String, caller: &Caller) -> Project {
    let permissions = caller
        .member_of(slug)
        .map(|set| set.iter().map(|p| p.as_str().to_owned()).collect())
        .unwrap_or_default();
    Project { slug: slug.to_owned(), name, permissions }
}

async fn visible_projects(state: &AppState, caller: &Caller) -> Result<Vec<Project>, ApiError> {
    let slugs: Vec<&str> = caller.grants().map(|(slug, _)| slug).collect();
    let rows = state.store.projects_by_slugs(&slugs).await?;
    Ok(rows.into_iter().map(|row| project_dto(&row.slug, row.name, caller)).collect())
}

/// The projects the caller may see: those their token grants any permission
/// in, that exist.
#[utoipa::path(tag = "projects", responses((status = 200, description = "The caller's projects", body = ProjectList)))]
#[get("/projects")]
pub async fn list_projects(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<ProjectList>, ApiError> {
    Ok(web::Json(ProjectList { items: visible_projects(&state, &caller).await? }))
}

/// Who the caller is, with their projects and permissions.
#[utoipa::path(tag = "projects", responses((status = 200, description = "The caller, from their token", body = Me)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Me>, ApiError> {
    let projects = visible_projects(&state, &caller).await?;
    Ok(web::Json(Me { subject: caller.subject.clone(), name: caller.name.clone(), projects }))
}
