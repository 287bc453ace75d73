//! Recordings: ingest from the gateway (`ingest`), and the summary, windows
//! of events for players, search and the `.cast` download (`playback`).
//! Content is streamed both ways; no handler holds more than a chunk of a
//! recording. Nothing of a recording can be deleted: retention purges it.

pub(crate) mod ingest;
pub(crate) mod playback;

use actix_web::{HttpResponse, delete, web};
use termaudit_storage::{ProjectRow, RecordedSession};
use uuid::Uuid;

use crate::{
    AppState, Caller,
    error::{ApiError, no_delete},
    extract::{ProjectPath, SessionPathExample},
};

/// The media type of asciicast files.
pub const ASCIICAST: &str = "application/x-asciicast";

/// The session `id` of `project`, as its recording sees it: 404 when there
/// is none.
async fn recording_session(
    state: &AppState,
    project: &ProjectRow,
    id: Uuid,
) -> Result<RecordedSession, ApiError> {
    state
        .store
        .recording_session(project.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("there is no such session"))
}

/// The session `id` of `project`, which must exist and be recorded (404).
async fn recorded_session(
    state: &AppState,
    project: &ProjectRow,
    id: Uuid,
) -> Result<RecordedSession, ApiError> {
    let session = recording_session(state, project, id).await?;
    if !session.recorded {
        return Err(ApiError::not_found(
            "this session was not recorded: the policy does not record its environment",
        ));
    }
    Ok(session)
}

/// Recordings cannot be deleted: they age out by retention policy (405).
#[utoipa::path(
    tag = "recordings",
    params(SessionPathExample),
    responses((status = 405, description = "Always: recordings age out by retention policy", body = termaudit_api_types::Problem, content_type = "application/problem+json"))
)]
#[delete("/projects/{project}/sessions/{id}/recording")]
pub async fn delete_recording(
    caller: Caller,
    // Only `{project}`: any `{id}`, a UUID or not, gets the 405.
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    caller.member_of(&path.project)?;
    Ok(no_delete())
}

/// Nothing below a recording can be deleted either (405).
#[utoipa::path(
    tag = "recordings",
    params(
        SessionPathExample,
        ("rest" = String, Path, description = "Any path below the recording, such as `chunks/0` or `download`"),
    ),
    responses((status = 405, description = "Always: recordings age out by retention policy", body = termaudit_api_types::Problem, content_type = "application/problem+json"))
)]
#[delete("/projects/{project}/sessions/{id}/recording/{rest:.*}")]
pub async fn delete_recording_part(
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    caller.member_of(&path.project)?;
    Ok(no_delete())
}
