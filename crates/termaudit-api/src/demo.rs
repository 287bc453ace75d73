//! Demo sign-in: when the server runs with demo data, a newcomer picks a
//! demo user instead of minting a token. Without demo mode these paths do
//! not exist (404).

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use chrono::{Duration, Utc};
use termaudit_api_types as dto;
use termaudit_domain::Permission::{self, *};

use crate::{AppState, TokenIssuer, error::ApiError};

/// The project demo users are granted in.
pub const DEMO_PROJECT: &str = "demo";

/// The demo's cast: who may sign in, and what each may do.
const USERS: &[(&str, &str, &str, &[Permission])] = &[
    (
        "vera",
        "Vera Novak",
        "Viewer: reads history and plays recordings",
        &[ViewHistory, ViewRecording],
    ),
    (
        "aaron",
        "Aaron Patel",
        "Auditor: also downloads recordings and exports history",
        &[ViewHistory, ViewRecording, DownloadRecording],
    ),
    (
        "carol",
        "Carol Reyes",
        "Policy manager: revokes sessions, sets retention and legal holds",
        &[ViewHistory, ViewRecording, DownloadRecording, ManagePolicy],
    ),
    (
        "alice",
        "Alice Martin",
        "Operator: opens shells, owns demo sessions and may reconnect to her dropped one",
        &[ViewHistory, ViewRecording, Connect],
    ),
];

/// Present in the app's state only in demo mode.
#[derive(Clone)]
pub struct DemoMode {
    pub issuer: TokenIssuer,
}

fn user_dto(
    &(subject, name, role, permissions): &(&str, &str, &str, &[Permission]),
) -> dto::DemoUser {
    dto::DemoUser {
        subject: subject.to_owned(),
        name: name.to_owned(),
        role: role.to_owned(),
        permissions: permissions.iter().map(|p| p.as_str().to_owned()).collect(),
    }
}

fn demo_mode(state: &AppState) -> Result<&DemoMode, ApiError> {
    state.demo.as_ref().ok_or_else(|| {
        ApiError::not_found("demo sign-in is offered only when the server runs with demo data")
    })
}

/// The demo users one may sign in as (demo mode only; no token needed).
#[utoipa::path(
    tag = "demo",
    responses(
        (status = 200, description = "The demo users", body = dto::DemoUserList),
        (status = 404, description = "The server does not run in demo mode", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/demo/users")]
pub async fn users(state: web::Data<AppState>) -> Result<web::Json<dto::DemoUserList>, ApiError> {
    demo_mode(&state)?;
    Ok(web::Json(dto::DemoUserList { items: USERS.iter().map(user_dto).collect() }))
}

/// A token for a demo user (demo mode only; no token needed).
#[utoipa::path(
    tag = "demo",
    request_body = dto::DemoSignIn,
    responses(
        (status = 200, description = "A token for the demo user, valid 12 hours", body = dto::DemoToken),
        (status = 400, description = "No such demo user", body = dto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The server does not run in demo mode", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/demo/token")]
pub async fn token(
    state: web::Data<AppState>,
    body: web::Json<dto::DemoSignIn>,
) -> Result<web::Json<dto::DemoToken>, ApiError> {
    let demo = demo_mode(&state)?;
    let user = USERS.iter().find(|(subject, ..)| *subject == body.subject).ok_or_else(|| {
        ApiError::invalid(format!("subject: there is no demo user {:?}", body.subject))
    })?;
    let grants = BTreeMap::from([(DEMO_PROJECT.to_owned(), user.3.to_vec())]);
    let token = demo
        .issuer
        .issue(user.0, Some(user.1), grants, Utc::now(), Duration::hours(12))
        .map_err(|err| {
            tracing::error!(error = %err, "cannot sign a demo token");
            ApiError::internal()
        })?;
    Ok(web::Json(dto::DemoToken { token, user: user_dto(user) }))
}
