//! Recordings: ingest from the gateway, the summary, windows of events for
//! players, search, and the `.cast` download. Content is streamed both ways;
//! no handler holds more than a chunk of a recording.

use actix_web::{
    HttpRequest, HttpResponse, delete, get,
    http::header::{self, HeaderValue},
    post, put, web,
};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::Deserialize;
use termaudit_api_types::{
    ChunkReceipt, Recording, RecordingMarker, RecordingSearchMatch, RecordingSearchResults,
    RecordingState, RecordingWindow,
};
use termaudit_domain::{
    AuditEventType, Permission,
    asciicast::{Micros, TextSearch},
    recording_expires_at,
};
use termaudit_storage::{
    ByteRange, IngestError, MAX_CHUNK_BYTES, NewAuditEvent, ProjectRow, RecordedSession,
    RecordingRow,
};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{AppState, Caller, error::ApiError, error::ProblemKind};

/// The media type of asciicast files.
pub const ASCIICAST: &str = "application/x-asciicast";
/// Most matches a search returns.
const SEARCH_LIMIT: usize = 100;

fn seconds(time: Micros) -> f64 {
    time.to_string().parse().unwrap_or(0.0)
}

impl From<IngestError> for ApiError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::SessionNotFound => ApiError::not_found("there is no such session"),
            IngestError::NotRecorded
            | IngestError::Ended
            | IngestError::Gap { .. }
            | IngestError::Differs { .. } => ApiError::conflict(err.to_string()),
            IngestError::MissingHeader | IngestError::NotUtf8 | IngestError::Cast { .. } => {
                ApiError::invalid(err.to_string())
            }
            IngestError::Storage(err) => err.into(),
        }
    }
}

/// A session of `project` and its recording, for reading: 404 when the
/// session does not exist or was not recorded, 410 when purged, 404 when
/// nothing has been recorded yet.
async fn readable(
    state: &AppState,
    caller: &Caller,
    project: &str,
    id: Uuid,
    permission: Permission,
) -> Result<(ProjectRow, RecordedSession, RecordingRow), ApiError> {
    let project = state.authorize(caller, project, permission).await?;
    let session = state
        .store
        .recording_session(project.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("there is no such session"))?;
    if !session.recorded {
        return Err(ApiError::not_found(
            "this session was not recorded: the policy does not record its environment",
        ));
    }
    let recording = state.store.recording(id).await?;
    if let Some(purged_at) = recording.as_ref().and_then(|r| r.purged_at) {
        let why = recording.as_ref().and_then(|r| r.purge_reason.clone()).unwrap_or_default();
        return Err(ApiError::new(
            ProblemKind::Gone,
            format!("this recording was purged at {} ({why})", purged_at.to_rfc3339()),
        ));
    }
    match recording {
        Some(recording) if recording.header.is_some() => Ok((project, session, recording)),
        _ => Err(ApiError::not_found(
            "nothing of this recording has been received: the gateway sent no chunk",
        )),
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
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
        ("seq" = u32, Path, description = "The chunk's number, from 0", example = 0),
    ),
    request_body(
        content = String,
        content_type = "application/x-asciicast",
        description = "asciicast lines; chunk 0 starts with the header",
        example = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.25, \"o\", \"$ \"]\n"
    ),
    responses(
        (status = 201, description = "The chunk is stored", body = ChunkReceipt),
        (status = 200, description = "The same chunk was stored before; nothing changed", body = ChunkReceipt),
        (status = 400, description = "A line is malformed, a time goes backwards, chunk 0 has no header, or the body is not UTF-8", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The session is not recorded or has ended, the chunk leaves a gap, or a different chunk with this number is stored", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The chunk is over 4 MiB", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/projects/{project}/sessions/{id}/recording/chunks/{seq}")]
pub async fn put_chunk(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, Uuid, u32)>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (project, id, seq) = path.into_inner();
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
        first_time: seconds(receipt.first_time),
        last_time: seconds(receipt.last_time),
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
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
    ),
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
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (project, id) = path.into_inner();
    let project = state.authorize(&caller, &project, Permission::Ingest).await?;
    let session = state
        .store
        .recording_session(project.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("there is no such session"))?;
    if !session.recorded {
        return Err(ApiError::not_found(
            "this session was not recorded: the policy does not record its environment",
        ));
    }
    if session.ended_at.is_none() {
        return Err(ApiError::new(
            ProblemKind::InvalidSessionState,
            "the session has not ended: its recording is finalized when it ends",
        ));
    }
    state.store.finish_recording(id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A session's recording: state, header, duration, size, event count,
/// markers, digest, and when retention purges it.
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
    ),
    responses((status = 200, body = Recording))
)]
#[get("/projects/{project}/sessions/{id}/recording")]
pub async fn get_recording(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, Uuid)>,
) -> Result<web::Json<Recording>, ApiError> {
    let (project, id) = path.into_inner();
    let project = state.authorize(&caller, &project, Permission::ViewRecording).await?;
    let session = state
        .store
        .recording_session(project.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("there is no such session"))?;
    let mut dto = Recording {
        session_id: id,
        state: RecordingState::NotRecorded,
        header: None,
        duration: 0.0,
        event_count: 0,
        chunks: 0,
        size_bytes: None,
        markers: Vec::new(),
        sha256: None,
        finalized_at: None,
        expires_at: None,
        purged_at: None,
        purge_reason: None,
    };
    if !session.recorded {
        return Ok(web::Json(dto));
    }
    dto.state = RecordingState::Recording;
    // A held recording does not expire while the hold lasts.
    if let Some(ended_at) = session.ended_at
        && state.store.hold(project.id, id).await?.is_none()
    {
        let policy = state.store.policy(project.id).await?.policy;
        dto.expires_at = Some(recording_expires_at(ended_at, session.environment_class, &policy));
    }
    let Some(recording) = state.store.recording(id).await? else {
        return Ok(web::Json(dto));
    };
    dto.header = recording.header.as_deref().and_then(|h| serde_json::from_str(h).ok());
    dto.chunks = recording.next_seq;
    dto.duration = seconds(recording.duration.unwrap_or(recording.last_time));
    dto.event_count = recording.event_count.unwrap_or(recording.chunk_events);
    dto.size_bytes = recording.size_bytes;
    dto.sha256 = recording.sha256_hex();
    dto.finalized_at = recording.finalized_at;
    if recording.finalized_at.is_some() {
        dto.state = RecordingState::Available;
    }
    if recording.purged_at.is_some() {
        dto.state = RecordingState::Purged;
        dto.purged_at = recording.purged_at;
        dto.purge_reason = recording.purge_reason.clone();
    } else {
        dto.markers = state
            .store
            .recording_markers(id, recording.started_at)
            .await?
            .into_iter()
            .map(|m| RecordingMarker { time: seconds(m.time), label: m.label })
            .collect();
    }
    Ok(web::Json(dto))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start of the window, seconds since the start of the recording (inclusive); 0 when absent.
    #[param(example = "3000")]
    from: Option<String>,
    /// End of the window (exclusive); the end of the recording when absent.
    #[param(example = "3060")]
    to: Option<String>,
}

fn parse_time(field: &str, raw: Option<&str>) -> Result<Option<Micros>, ApiError> {
    raw.map(|raw| {
        Micros::parse_seconds(raw.trim()).map_err(|err| {
            ApiError::from(termaudit_domain::DomainError::invalid(
                field,
                format!("must be seconds such as 12.5: {err}"),
            ))
        })
    })
    .transpose()
}

/// A window of a recording for a player: the terminal's state at `from` and
/// the events from `from` to `to`, streamed. A player seeks by fetching the
/// window it shows; nothing before `from` is sent.
///
/// Audited as `recording.viewed`, once per viewer and session per hour.
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
        WindowQuery,
    ),
    responses(
        (status = 200, body = RecordingWindow),
        (status = 400, description = "`from` or `to` is not a time, or `to` is not after `from`", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Retention purged the recording", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/events")]
pub async fn get_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, Uuid)>,
    query: web::Query<WindowQuery>,
) -> Result<HttpResponse, ApiError> {
    let (project, id) = path.into_inner();
    let from = parse_time("from", query.from.as_deref())?.unwrap_or(Micros::ZERO);
    let to = parse_time("to", query.to.as_deref())?;
    if to.is_some_and(|to| to <= from) {
        return Err(termaudit_domain::DomainError::invalid("to", "must be after `from`").into());
    }
    let (project, _, recording) =
        readable(&state, &caller, &project, id, Permission::ViewRecording).await?;
    let window =
        state.store.recording_window(id, &recording, from, to.unwrap_or(Micros(u64::MAX))).await?;
    state
        .store
        .record_recording_view(
            project.id,
            id,
            &caller.subject,
            &caller.name,
            serde_json::json!({"from": seconds(from)}),
        )
        .await?;
    let to_text = to.map_or_else(|| "null".to_owned(), |t| t.to_string());
    let init = serde_json::to_string(&window.state.init).map_err(|_| ApiError::internal())?;
    let prefix = format!(
        "{{\"from\": {from}, \"to\": {to_text}, \"state\": {{\"time\": {from}, \"cols\": {}, \"rows\": {}, \"init\": {init}}}, \"events\": [",
        window.state.cols, window.state.rows,
    );
    let body = stream::once(async move { Ok(Bytes::from(prefix)) })
        .chain(window.events.inspect_err(|err| {
            tracing::error!(error = %err, "a recording window failed while streaming");
        }))
        .chain(stream::once(async { Ok(Bytes::from_static(b"]}")) }));
    Ok(HttpResponse::Ok().content_type("application/json").streaming(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The text to find (1 to 200 characters), ignoring case.
    #[param(example = "error")]
    q: String,
}

/// Finds a text in the recording's output (escape sequences removed), with
/// the time of each match so a player can jump there. At most 100 matches.
///
/// Audited as `recording.viewed`, once per viewer and session per hour.
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
        SearchQuery,
    ),
    responses(
        (status = 200, body = RecordingSearchResults),
        (status = 400, description = "`q` is missing, empty, too long or holds control characters", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Retention purged the recording", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, Uuid)>,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<RecordingSearchResults>, ApiError> {
    let (project, id) = path.into_inner();
    let search = TextSearch::new(&query.q)?;
    let (project, _, recording) =
        readable(&state, &caller, &project, id, Permission::ViewRecording).await?;
    let (matches, truncated) =
        state.store.recording_search(id, &recording, search, SEARCH_LIMIT).await?;
    state
        .store
        .record_recording_view(
            project.id,
            id,
            &caller.subject,
            &caller.name,
            serde_json::json!({"search": query.q}),
        )
        .await?;
    Ok(web::Json(RecordingSearchResults {
        query: query.q.clone(),
        matches: matches
            .into_iter()
            .map(|m| RecordingSearchMatch { time: seconds(m.time), context: m.context })
            .collect(),
        truncated,
    }))
}

/// A single `bytes=` range of a file of `size` bytes; `None` for no range or
/// one this server does not serve partially (several ranges), which gets the
/// whole file.
fn parse_range(value: &str, size: u64) -> Result<Option<ByteRange>, ApiError> {
    let unsatisfiable = || {
        ApiError::new(
            ProblemKind::RangeNotSatisfiable,
            format!("the range {value:?} is outside the file's {size} bytes"),
        )
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else { return Ok(None) };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => {
            ByteRange { start, end: end.min(size.saturating_sub(1)) }
        }
        (Ok(start), Err(_)) if last.is_empty() => ByteRange { start, end: size.saturating_sub(1) },
        (Err(_), Ok(suffix)) if first.is_empty() && suffix > 0 => {
            ByteRange { start: size.saturating_sub(suffix), end: size.saturating_sub(1) }
        }
        _ => return Ok(None),
    };
    if range.start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(range))
}

/// A file name a person recognises: project, target, start time, session.
fn file_name(project: &str, session: &RecordedSession) -> String {
    let target: String = session
        .target_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    let id = session.id.simple().to_string();
    format!(
        "{project}_{target}_{}_{}.cast",
        session.opened_at.format("%Y%m%dT%H%M%SZ"),
        id.get(..8).unwrap_or(&id)
    )
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Downloads the recording as an asciicast v2 file, streamed, that plays in
/// asciinema's player and CLI. Once the recording is finalized the response
/// carries its SHA-256 (`Repr-Digest`, and hex in `X-Recording-Sha256`), an
/// `ETag`, a `Content-Length`, and honours `Range` and `If-None-Match`; while
/// it is still recording, what has arrived so far is sent without them.
///
/// Needs `terminal.download_recording`, which viewing does not grant.
/// Audited as `recording.downloaded` (not for ranges that start past byte 0).
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=START-END`", example = "bytes=0-1023"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The whole file", content_type = "application/x-asciicast", body = String,
            headers(
                ("Content-Disposition" = String, description = "`attachment` with a file name"),
                ("ETag" = String, description = "Strong ETag from the SHA-256"),
                ("Repr-Digest" = String, description = "RFC 9530 `sha-256=:BASE64:`"),
                ("X-Recording-Sha256" = String, description = "SHA-256 of the file, lowercase hex"),
            )),
        (status = 206, description = "The requested byte range", content_type = "application/x-asciicast", body = String,
            headers(("Content-Range" = String, description = "`bytes START-END/SIZE`"))),
        (status = 304, description = "The file has the ETag given in `If-None-Match`"),
        (status = 410, description = "Retention purged the recording", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range starts past the end of the file", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/download")]
pub async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, Uuid)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let (project, session, recording) =
        readable(&state, &caller, &slug, id, Permission::DownloadRecording).await?;
    let mut response = HttpResponse::Ok();
    response.content_type(ASCIICAST).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}\"", file_name(&slug, &session)),
    ));
    let mut range = None;
    let mut length = None;
    if let (Some(sha256), Some(size)) = (&recording.sha256, recording.size_bytes) {
        let size = u64::try_from(size).unwrap_or(0);
        let hex = recording.sha256_hex().unwrap_or_default();
        let etag = format!("\"sha256-{hex}\"");
        let header_text =
            |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        if header_text(header::IF_NONE_MATCH)
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
        {
            return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
        }
        let if_range_ok = header_text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
        if let Some(value) = header_text(header::RANGE).filter(|_| if_range_ok) {
            range = parse_range(value, size)?;
        }
        response
            .insert_header((header::ETAG, etag))
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .insert_header(("Repr-Digest", format!("sha-256=:{}:", base64(sha256))))
            .insert_header(("X-Recording-Sha256", hex));
        length = Some(size);
        if let Some(r) = range {
            response.status(actix_web::http::StatusCode::PARTIAL_CONTENT).insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", r.start, r.end),
            ));
            length = Some(r.end - r.start + 1);
        }
    } else {
        response.insert_header((header::ACCEPT_RANGES, "none"));
    }
    if range.is_none_or(|r| r.start == 0) {
        state
            .store
            .append_audit(
                &NewAuditEvent::new(project.id, AuditEventType::RecordingDownloaded)
                    .actor(&caller.subject, &caller.name)
                    .session(id)
                    .details(serde_json::json!({
                        "sha256": recording.sha256_hex(),
                        "finalized": recording.finalized_at.is_some(),
                    })),
            )
            .await?;
    }
    let body = state.store.recording_download(id, &recording, range).inspect_err(|err| {
        tracing::error!(error = %err, "a recording download failed while streaming");
    });
    Ok(match length {
        Some(length) => response.body(actix_web::body::SizedStream::new(length, body)),
        None => response.streaming(body),
    })
}

const NO_DELETE: &str = "recordings and session history cannot be deleted through the API: they \
    age out by the project's retention policy (set with terminal.manage_policy), and legal holds \
    keep them longer";

fn method_not_allowed() -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&ApiError::new(
        ProblemKind::MethodNotAllowed,
        NO_DELETE,
    ));
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// Sessions cannot be deleted: they age out by retention policy (405).
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
    ),
    responses((status = 405, description = "Always: history ages out by retention policy", body = termaudit_api_types::Problem, content_type = "application/problem+json"))
)]
#[delete("/projects/{project}/sessions/{id}")]
pub async fn delete_session(
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.member_of(&path.0)?;
    Ok(method_not_allowed())
}

/// Recordings cannot be deleted: they age out by retention policy (405).
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
    ),
    responses((status = 405, description = "Always: recordings age out by retention policy", body = termaudit_api_types::Problem, content_type = "application/problem+json"))
)]
#[delete("/projects/{project}/sessions/{id}/recording")]
pub async fn delete_recording(
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.member_of(&path.0)?;
    Ok(method_not_allowed())
}

/// Nothing below a recording can be deleted either (405).
#[utoipa::path(
    tag = "recordings",
    params(
        ("project" = String, Path, description = "The project's slug", example = "demo"),
        ("id" = Uuid, Path, description = "The session's id"),
        ("rest" = String, Path, description = "Any path below the recording, such as `chunks/0` or `download`"),
    ),
    responses((status = 405, description = "Always: recordings age out by retention policy", body = termaudit_api_types::Problem, content_type = "application/problem+json"))
)]
#[delete("/projects/{project}/sessions/{id}/recording/{rest:.*}")]
pub async fn delete_recording_part(
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.member_of(&path.0)?;
    Ok(method_not_allowed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |v| parse_range(v, 100).map_err(|e| e.kind());
        assert_eq!(r("bytes=0-9"), Ok(Some(ByteRange { start: 0, end: 9 })));
        assert_eq!(r("bytes=90-"), Ok(Some(ByteRange { start: 90, end: 99 })));
        assert_eq!(r("bytes=90-500"), Ok(Some(ByteRange { start: 90, end: 99 })));
        assert_eq!(r("bytes=-10"), Ok(Some(ByteRange { start: 90, end: 99 })));
        assert_eq!(r("bytes=-1000"), Ok(Some(ByteRange { start: 0, end: 99 })));
        assert_eq!(r("bytes=0-1,5-6"), Ok(None));
        assert_eq!(r("items=0-1"), Ok(None));
        assert_eq!(r("bytes=5-1"), Ok(None));
        assert_eq!(r("bytes=100-"), Err(ProblemKind::RangeNotSatisfiable));
    }

    #[test]
    fn base64_encodes() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
