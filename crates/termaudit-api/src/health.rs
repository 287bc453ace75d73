use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{AppState, error::ApiError, error::ProblemKind};

/// The process is up.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The service can serve requests: the database answers and its schema is current.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The newest migration applied to the database.
    pub migration_applied: Option<i64>,
    /// The newest migration this build knows.
    pub migration_expected: Option<i64>,
}

/// Liveness: answers as long as the process runs.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database is reachable and every migration is applied.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The database answers and its schema is current", body = Readiness),
        (status = 503, description = "The database is unreachable or not migrated", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let status = state.store.migration_status().await?;
    if !status.is_current() {
        return Err(ApiError::new(
            ProblemKind::Unavailable,
            format!(
                "the database schema is at migration {:?}, this build needs {:?}; run `termaudit migrate`",
                status.applied, status.expected
            ),
        ));
    }
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        migration_applied: status.applied,
        migration_expected: status.expected,
    }))
}
