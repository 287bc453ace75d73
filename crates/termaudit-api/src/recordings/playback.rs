//! A recording's playback: the summary, windows of events for players,
//! search, and the `.cast` download.

use actix_web::{
    HttpMessage as _, HttpRequest, HttpResponse, get,
    http::header::{self, HeaderValue},
    web,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde::Deserialize;
use termaudit_api_types::{
    self as dto, Recording, RecordingMarker, RecordingSearchMatch, RecordingSearchResults,
    RecordingWindow,
};
use termaudit_domain::{
    AuditEventType, Permission, RecordingState,
    asciicast::{Micros, ScreenQuery},
    recording_expires_at,
};
use termaudit_storage::{ByteRange, NewAuditEvent, ProjectRow, RecordedSession, RecordingRow};
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ASCIICAST, not_purged, recorded_session};
use crate::{
    AppState, Caller,
    error::{ApiError, ProblemKind},
    extract::{SessionPath, SessionPathExample},
    methods::HeadRequest,
};

/// Most matches a search returns.
const SEARCH_LIMIT: usize = 100;

/// A session of `path.project` and its recording, for reading: 404 when
/// the session does not exist or was not recorded, 410 when purged, 404 when
/// nothing has been recorded yet.
pub(super) async fn readable(
    state: &AppState,
    caller: &Caller,
    path: &SessionPath,
    permission: Permission,
) -> Result<(ProjectRow, RecordedSession, RecordingRow), ApiError> {
    let project = state.authorize(caller, &path.project, permission).await?;
    let session = recorded_session(state, &project, path.id).await?;
    let recording = state.store.recording(path.id).await?;
    recording.as_ref().map(not_purged).transpose()?;
    match recording {
        Some(recording) if recording.header.is_some() => Ok((project, session, recording)),
        _ => Err(ApiError::not_found(
            "nothing of this recording has been received: the gateway sent no chunk",
        )),
    }
}

/// A session's recording: state, header, duration, size, event count,
/// markers, digest, and when retention purges it.
#[utoipa::path(
    tag = "recordings",
    params(SessionPathExample),
    responses((status = 200, description = "The recording's summary (`state` says whether there is one)", body = Recording))
)]
#[get("/projects/{project}/sessions/{id}/recording")]
pub async fn get_recording(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<web::Json<Recording>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewRecording).await?;
    let overview = state
        .store
        .recording_overview(project.id, path.id)
        .await?
        .ok_or_else(|| ApiError::not_found("there is no such session"))?;
    let session = &overview.session;
    // A held recording does not expire while the hold lasts.
    let expires_at =
        session.ended_at.filter(|_| session.recorded && !overview.held).map(|ended_at| {
            recording_expires_at(ended_at, session.environment_class, &overview.policy)
        });
    let markers = overview
        .markers
        .into_iter()
        .map(|m| RecordingMarker { time: m.time.as_seconds(), label: m.label })
        .collect();
    Ok(web::Json(recording_dto(
        path.id,
        overview.state,
        expires_at,
        overview.recording.as_ref(),
        markers,
    )))
}

/// The summary of a recording in `state`; `recording` is `None` while no
/// chunk has arrived (or the session is not recorded).
fn recording_dto(
    session_id: Uuid,
    state: RecordingState,
    expires_at: Option<DateTime<Utc>>,
    recording: Option<&RecordingRow>,
    markers: Vec<RecordingMarker>,
) -> Recording {
    let purged = state == RecordingState::Purged;
    Recording {
        session_id,
        state: match state {
            RecordingState::NotRecorded => dto::RecordingState::NotRecorded,
            RecordingState::Recording => dto::RecordingState::Recording,
            RecordingState::Available => dto::RecordingState::Available,
            RecordingState::Purged => dto::RecordingState::Purged,
        },
        header: recording
            .and_then(|r| r.header.as_deref())
            .and_then(|h| serde_json::from_str(h).ok()),
        duration: recording.map_or(0.0, |r| r.duration.unwrap_or(r.last_time).as_seconds()),
        event_count: recording.map_or(0, |r| r.event_count.unwrap_or(r.chunk_events)),
        chunks: recording.map_or(0, |r| r.next_seq),
        size_bytes: recording.and_then(|r| r.size_bytes),
        markers,
        sha256: recording.and_then(RecordingRow::sha256_hex),
        finalized_at: recording.and_then(|r| r.finalized_at),
        expires_at,
        purged_at: recording.and_then(|r| r.purged_at).filter(|_| purged),
        purge_reason: recording.and_then(|r| r.purge_reason.clone()).filter(|_| purged),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start of the window, seconds since the start of the recording (inclusive), read exactly to the microsecond; 0 when absent.
    #[param(value_type = Option<f64>, minimum = 0, maximum = 18446744073709_u64, example = 3000)]
    from: Option<String>,
    /// End of the window (exclusive), after `from`; the end of the recording when absent.
    #[param(value_type = Option<f64>, minimum = 0, maximum = 18446744073709_u64, example = 3060)]
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
    params(SessionPathExample, WindowQuery),
    responses(
        (status = 200, description = "The terminal at `from` and the window's events, streamed", body = RecordingWindow),
        (status = 400, description = "`from` or `to` is not a time, or `to` is not after `from`", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Retention purged the recording", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/events")]
pub async fn get_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    query: web::Query<WindowQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.id;
    let from = parse_time("from", query.from.as_deref())?.unwrap_or(Micros::ZERO);
    let to = parse_time("to", query.to.as_deref())?;
    if to.is_some_and(|to| to <= from) {
        return Err(termaudit_domain::DomainError::invalid("to", "must be after `from`").into());
    }
    let (project, _, recording) =
        readable(&state, &caller, &path, Permission::ViewRecording).await?;
    let window =
        state.store.recording_window(id, &recording, from, to.unwrap_or(Micros(u64::MAX))).await?;
    state
        .store
        .record_recording_view(
            project.id,
            id,
            &caller.subject,
            &caller.name,
            serde_json::json!({"from": from.as_seconds()}),
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
    /// The text to find, ignoring case: 1 to 200 characters, not blank, no control characters.
    #[param(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "error"
    )]
    q: String,
}

/// Finds a text in what the recording's screen showed: the lines of its
/// text (after terminal emulation, as the search across recordings sees
/// them, with the same meaning of `q`), in the recording's order, each with
/// its time so a player can jump there. At most 100 lines. A recording's
/// text follows its emulation, seconds behind its chunks.
///
/// A recording made before this version kept text has none until the
/// workers have extracted it, minutes after the upgrade: meanwhile a 503
/// with the problem type `urn:termaudit:problem:text-pending` and
/// `Retry-After`, never an empty result.
///
/// Audited as `recording.viewed`, once per viewer and session per hour.
#[utoipa::path(
    tag = "recordings",
    params(SessionPathExample, SearchQuery),
    responses(
        (status = 200, description = "The matching lines, in the recording's order", body = RecordingSearchResults),
        (status = 400, description = "`q` is missing, empty, too long or holds control characters", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Retention purged the recording", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 503, description = super::text::TEXT_PENDING_503, body = termaudit_api_types::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/search")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<RecordingSearchResults>, ApiError> {
    let id = path.id;
    let search = ScreenQuery::parse(&query.q, 1)?;
    let (project, _, _) = readable(&state, &caller, &path, Permission::ViewRecording).await?;
    super::text::text_ready(&state.store, id).await?;
    let (matches, truncated) =
        state.store.recording_text_matches(id, &search, SEARCH_LIMIT).await?;
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
            .map(|m| RecordingSearchMatch {
                time: m.time.as_seconds(),
                positions: super::text::positions(&m.positions),
                context: m.line,
            })
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
pub(super) fn file_name(project: &str, session: &RecordedSession) -> String {
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

/// A file download's media type: its own (`own`), unless the request
/// accepts only `application/octet-stream` (what generated clients ask for).
pub(crate) fn download_type(req: &HttpRequest, own: &'static str) -> &'static str {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("*/*");
    let accepts =
        |t: &str| accept.split(',').any(|a| a.split(';').next().is_some_and(|a| a.trim() == t));
    if accepts(OCTET_STREAM) && !accepts(own) && !accepts("*/*") && !accepts("application/*") {
        OCTET_STREAM
    } else {
        own
    }
}

const OCTET_STREAM: &str = "application/octet-stream";

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
        SessionPathExample,
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=START-END`", example = "bytes=0-1023"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The whole file: asciicast v2, labelled `application/x-asciicast` (`application/octet-stream` when the request accepts only that)",
            content((crate::openapi::Binary = "application/octet-stream"), (crate::openapi::Binary = "application/x-asciicast")),
            headers(
                ("Content-Disposition" = String, description = "`attachment` with a file name"),
                ("ETag" = String, description = "Strong ETag from the SHA-256"),
                ("Repr-Digest" = String, description = "RFC 9530 `sha-256=:BASE64:`"),
                ("X-Recording-Sha256" = String, description = "SHA-256 of the file, lowercase hex"),
            )),
        (status = 206, description = "The requested byte range",
            content((crate::openapi::Binary = "application/octet-stream"), (crate::openapi::Binary = "application/x-asciicast")),
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
    path: web::Path<SessionPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.id;
    let (project, session, recording) =
        readable(&state, &caller, &path, Permission::DownloadRecording).await?;
    let mut response = HttpResponse::Ok();
    response.content_type(download_type(&req, ASCIICAST)).insert_header((
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}\"", file_name(&path.project, &session)),
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
    // The first piece holds the first chunks: a store that cannot be read
    // (the object store away) is a 503 now rather than a body cut short.
    let mut body = Box::pin(state.store.recording_download(id, &recording, range));
    let first = body.next().await.transpose()?;
    // HEAD tells size and digest without a download to audit.
    let head = req.extensions().contains::<HeadRequest>();
    if range.is_none_or(|r| r.start == 0) && !head {
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
    let body = futures_util::stream::iter(first.map(Ok)).chain(body).inspect_err(|err| {
        tracing::error!(error = %err, "a recording download failed while streaming");
    });
    Ok(match length {
        Some(length) => response.body(actix_web::body::SizedStream::new(length, body)),
        None => response.streaming(body),
    })
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
