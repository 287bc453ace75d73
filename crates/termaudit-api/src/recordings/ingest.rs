//! A recording's ingest, from the terminal gateway: chunks while the session
//! runs, and the word that the last one was sent.

use actix_web::{HttpRequest, HttpResponse, http::header, post, put, web};
use bytes::BytesMut;
use futures_util::StreamExt as _;
use serde::Deserialize;
use termaudit_api_types::ChunkReceipt;
use termaudit_domain::Permission;
use termaudit_storage::{IngestError, MAX_CHUNK_BYTES};
use uuid::Uuid;

use super::recorded_session;
use crate::{
    AppState, Caller,
    error::{ApiError, ProblemKind},
    extract::{SessionPath, SessionPathExample},
    sessions::ended_before,
};

/// `{project}`, `{id}` and `{seq}` of a chunk's path.
#[derive(Deserialize)]
pub struct ChunkPath {
    project: String,
    id: Uuid,
    seq: u32,
}

impl From<IngestError> for ApiError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::SessionNotFound => ApiError::not_found("there is no such session"),
            IngestError::Ended(current) => ended_before(&current, "recording chunks"),
            IngestError::NotRecorded | IngestError::Gap { .. } | IngestError::Differs { .. } => {
                ApiError::conflict(err.to_string())
            }
            IngestError::MissingHeader | IngestError::NotUtf8 | IngestError::Cast { .. } => {
                ApiError::invalid(err.to_string())
            }
            IngestError::Storage(err) => err.into(),
        }
    }
}

/// Uploads a chunk of a session's recording (the terminal gateway, while the
/// session runs).
///
/// The body is asciicast lines: chunk 0 starts with the header line (v2, or
/// v3, which is converted to v2 exactly), every chunk holds whole event
/// lines. Chunks are numbered from 0 without gaps. Sending a chunk again with
/// the same body is accepted (200) and changes nothing, so the gateway can
/// retry safely. A chunk is at most 4 MiB. A refused chunk stores nothing.
///
/// The body is documented as `application/octet-stream`, which generated
/// clients send as bytes; `application/x-asciicast` (or any other type) is
/// accepted the same: the body is read as asciicast whatever it is labelled.
#[utoipa::path(
    tag = "recordings",
    params(
        SessionPathExample,
        ("seq" = u32, Path, description = "The chunk's number, from 0", example = 0),
    ),
    request_body(
        content = crate::openapi::Binary,
        content_type = "application/octet-stream",
        description = "asciicast lines (UTF-8); chunk 0 starts with the header",
        example = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.25, \"o\", \"$ \"]\n"
    ),
    responses(
        (status = 201, description = "The chunk is stored", body = ChunkReceipt),
        (status = 200, description = "The same chunk was stored before; nothing changed", body = ChunkReceipt),
        (status = 400, description = "A line is malformed, a time goes backwards, chunk 0 has no header, or the body is not UTF-8", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is not recorded, the chunk leaves a gap, or a different chunk with this number is stored (`conflict`); or the session has ended (`invalid-session-state`, with `ended`): its recording is finalized, or the chunk begins after the end", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The chunk is over 4 MiB", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/projects/{project}/sessions/{id}/recording/chunks/{seq}")]
pub async fn put_chunk(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ChunkPath>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ChunkPath { project, id, seq } = path.into_inner();
    let project = state.authorize(&caller, &project, Permission::Ingest).await?;
    let too_large = || {
        ApiError::new(
            ProblemKind::PayloadTooLarge,
            format!("a chunk is at most {MAX_CHUNK_BYTES} bytes; send smaller chunks"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_CHUNK_BYTES as u64) {
        return Err(too_large());
    }
    // Room for the declared body at once, so a 4 MiB chunk is not copied
    // again each time the buffer grows.
    let mut body = BytesMut::with_capacity(declared.map_or(0, |len| len as usize));
    while let Some(piece) = payload.next().await {
        let piece =
            piece.map_err(|err| ApiError::invalid(format!("the body could not be read: {err}")))?;
        if body.len() + piece.len() > MAX_CHUNK_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&piece);
    }
    let receipt = state.store.append_chunk(project.id, id, seq, body.freeze()).await?;
    let dto = ChunkReceipt {
        seq: receipt.seq,
        events: receipt.events,
        first_time: receipt.first_time.as_seconds(),
        last_time: receipt.last_time.as_seconds(),
        repeated: receipt.repeated,
    };
    Ok(if receipt.repeated { HttpResponse::Ok() } else { HttpResponse::Created() }.json(dto))
}

/// Says that the gateway has sent the last chunk of an ended session's
/// recording, so that it is finalized now (the gateway, after the shell is
/// gone).
///
/// When termaudit ends a session itself (a revoke, an expired grace window),
/// the gateway still holds what the shell printed in its last moments: the
/// recording takes chunks for 10 s more and is finalized then, or as soon as
/// the gateway calls this. When the gateway closes the session, the
/// recording is finalized with the close and this changes nothing.
/// Idempotent.
#[utoipa::path(
    tag = "recordings",
    params(SessionPathExample),
    responses(
        (status = 204, description = "The recording is finalized"),
        (status = 404, description = "No such session, or it was not recorded", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session has not ended", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/projects/{project}/sessions/{id}/recording/finalize")]
pub async fn finalize(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    let session = recorded_session(&state, &project, path.id).await?;
    if session.ended_at.is_none() {
        return Err(ApiError::new(
            ProblemKind::InvalidSessionState,
            "the session has not ended: its recording is finalized when it ends",
        ));
    }
    state.store.finish_recording(path.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
