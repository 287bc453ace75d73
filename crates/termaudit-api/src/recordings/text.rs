//! What the terminals showed: search across a project's recordings, and a
//! recording's transcript. Both read the text the emulation workers
//! extract (`termaudit_domain::asciicast::transcript`), which follows a
//! recording's chunks by seconds.

use actix_web::{HttpResponse, get, http::header, web};
use bytes::Bytes;
use futures_util::stream;
use termaudit_api_types as dto;
use termaudit_domain::{AuditEventType, Permission, SessionListFilter, asciicast::ScreenQuery};
use termaudit_storage::{NewAuditEvent, StorageError, Store, TranscriptLine};
use uuid::Uuid;

use super::playback::{file_name, readable};
use crate::{
    AppState, Caller,
    error::{ApiError, ProblemKind},
    extract::{
        ProjectPath, SessionPath, SessionPathExample, cursor_param, history_filter, invalid_cursor,
        limit_param,
    },
    sessions::session_dto_with_grace,
};

/// The 503 of the operations that read one recording's text.
pub(super) const TEXT_PENDING_503: &str = "The recording's text is still being extracted (a recording made before this version kept text; problem type `urn:termaudit:problem:text-pending`), or the database or object store cannot be reached: try again after `Retry-After` seconds";

/// Matching lines shown per session.
const LINES_PER_HIT: usize = 5;

/// The 503 of a recording whose text is still being extracted (emulated
/// before termaudit kept text, after an upgrade): reading it now would find
/// less than there is, so the reader is asked to come back.
pub(super) async fn text_ready(store: &Store, id: Uuid) -> Result<(), ApiError> {
    if store.recording_text_pending(id).await? {
        return Err(ApiError::new(
            ProblemKind::TextPending,
            "the recording's text is still being extracted (it was recorded before this \
             version kept text); try again after Retry-After seconds",
        ));
    }
    Ok(())
}

/// Character offsets as the API writes them.
pub(super) fn positions(positions: &[usize]) -> Vec<u32> {
    positions.iter().map(|p| u32::try_from(*p).unwrap_or(u32::MAX)).collect()
}

/// Finds the project's sessions whose recordings showed a text: searched
/// is what the screen showed, after terminal emulation (escape sequences
/// interpreted, backspaces and carriage returns applied, colours gone), line
/// by line; a live session's current screen is searched too. Sessions come
/// newest first, filtered like the history, with keyset paging: pass
/// `next_cursor` as `cursor` for the next page. Each has its first 5
/// matching lines and how many lines match (counted up to 100).
///
/// Recordings whose text is still being extracted after an upgrade are
/// not searched yet: `pending_recordings` says how many there are.
///
/// Needs `terminal.view_recording` and `terminal.view_history`.
#[utoipa::path(
    tag = "recordings",
    params(ProjectPath, dto::RecordingSearchQuery),
    responses(
        (status = 200, description = "A page of sessions whose recordings showed the text, newest first", body = dto::RecordingHitPage),
        (status = 400, description = "`q` is missing, shorter than 3 or longer than 200 characters, blank or holds control characters; or an invalid filter, limit or cursor", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/recordings/search")]
pub async fn search_recordings(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::RecordingSearchQuery>,
) -> Result<web::Json<dto::RecordingHitPage>, ApiError> {
    caller.require(&path.project, Permission::ViewHistory)?;
    let project = state.authorize(&caller, &path.project, Permission::ViewRecording).await?;
    let q = query.into_inner();
    let search = ScreenQuery::parse(q.q.as_deref().unwrap_or_default(), 3)?;
    let filter = SessionListFilter {
        sessions: history_filter!(q)?,
        opened_from: termaudit_domain::TimeBounds::STORABLE
            .check_optional("opened_from", q.opened_from)?,
        opened_to: termaudit_domain::TimeBounds::STORABLE
            .check_optional("opened_to", q.opened_to)?,
        recorded: Some(true),
        text: None,
    };
    let cursor = cursor_param(q.cursor.as_deref())?;
    let limit = limit_param(q.limit, 20, 100)?;
    let page = state
        .store
        .recording_text_search(project.id, &filter, &search, cursor.as_ref(), limit, LINES_PER_HIT)
        .await
        .map_err(invalid_cursor)?;
    let pending = state.store.recording_text_pending_count(project.id).await?;
    let grace = state.store.policy(project.id).await?.policy.reconnect_grace_seconds;
    let items = page
        .items
        .into_iter()
        .map(|hit| dto::RecordingHit {
            session: session_dto_with_grace(&project, hit.session, grace),
            matches: hit
                .matches
                .into_iter()
                .map(|m| dto::TextMatch {
                    time: m.time.as_seconds(),
                    positions: positions(&m.positions),
                    line: m.line,
                })
                .collect(),
            matching_lines: u64::try_from(hit.matching_lines).unwrap_or(0),
        })
        .collect();
    Ok(web::Json(dto::RecordingHitPage {
        match_length: u32::try_from(search.chars()).unwrap_or(u32::MAX),
        query: search.text,
        items,
        next_cursor: page.next.map(|c| c.encode()),
        pending_recordings: u64::try_from(pending).unwrap_or(0),
    }))
}

/// The recording's transcript: what its screen showed, line by line, as
/// UTF-8 `text/plain` (one line per `\n`), streamed. The lines are those
/// the search finds (after terminal emulation; empty lines are left out);
/// for a recording still being recorded or emulated, the lines so far, then
/// its current screen. With `timestamps=true` each line starts with its
/// time in the recording, `[HH:MM:SS.mmm] `.
///
/// A recording made before this version kept text has none until the
/// workers have extracted it, minutes after the upgrade: meanwhile a 503
/// with the problem type `urn:termaudit:problem:text-pending` and
/// `Retry-After`.
///
/// Needs `terminal.download_recording`. Audited as `recording.downloaded`
/// with `"format": "transcript"`.
#[utoipa::path(
    tag = "recordings",
    params(SessionPathExample, dto::TranscriptQuery),
    responses(
        (status = 200, description = "The transcript",
            content((String = "text/plain; charset=utf-8")),
            headers(("Content-Disposition" = String, description = "`attachment` with a file name ending in `.txt`"))),
        (status = 400, description = "`timestamps` is not `true` or `false`", body = dto::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Retention purged the recording", body = dto::Problem, content_type = "application/problem+json"),
        (status = 503, description = TEXT_PENDING_503, body = dto::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/transcript")]
pub async fn transcript(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    query: web::Query<dto::TranscriptQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.id;
    let (project, session, recording) =
        readable(&state, &caller, &path, Permission::DownloadRecording).await?;
    text_ready(&state.store, id).await?;
    let timestamps = query.timestamps.unwrap_or(false);
    // The first page now: a database that is away is a 503, not a cut body.
    let first = state.store.recording_transcript_chunks(id, None).await?;
    state
        .store
        .append_audit(
            &NewAuditEvent::new(project.id, AuditEventType::RecordingDownloaded)
                .actor(&caller.subject, &caller.name)
                .session(id)
                .details(serde_json::json!({
                    "format": "transcript",
                    "timestamps": timestamps,
                    "finalized": recording.finalized_at.is_some(),
                })),
        )
        .await?;
    let name = file_name(&path.project, &session);
    let name = format!("{}.txt", name.strip_suffix(".cast").unwrap_or(&name));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .streaming(transcript_stream(state.store.clone(), id, first, timestamps)))
}

/// The transcript from `first` (its first round of chunks, and the chunk
/// after which the next round starts), a round of chunks per piece of the
/// body.
fn transcript_stream(
    store: Store,
    id: Uuid,
    first: (Vec<TranscriptLine>, Option<i32>),
    timestamps: bool,
) -> impl futures_util::Stream<Item = Result<Bytes, StorageError>> {
    stream::try_unfold(Some(first), move |round| {
        let store = store.clone();
        async move {
            let Some((lines, next)) = round else { return Ok(None) };
            let body = transcript_text(&lines, timestamps);
            let next = match next {
                Some(after) => {
                    Some(store.recording_transcript_chunks(id, Some(after)).await.inspect_err(
                        |err| tracing::error!(error = %err, "a transcript failed while streaming"),
                    )?)
                }
                None => None,
            };
            Ok(Some((Bytes::from(body), next)))
        }
    })
}

/// Transcript lines as text: one line each, optionally after its time.
pub(crate) fn transcript_text(page: &[TranscriptLine], timestamps: bool) -> String {
    let stamp = if timestamps { "[00:00:00.000] ".len() } else { 0 };
    let mut body = String::with_capacity(page.iter().map(|l| stamp + l.line.len() + 1).sum());
    for line in page {
        if timestamps {
            body.push_str(&timestamp(line.time.0));
        }
        body.push_str(&line.line);
        body.push('\n');
    }
    body
}

/// `[HH:MM:SS.mmm] ` for a time in microseconds.
fn timestamp(micros: u64) -> String {
    let millis = micros / 1000;
    let (h, m, s, ms) =
        (millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60, millis % 1000);
    format!("[{h:02}:{m:02}:{s:02}.{ms:03}] ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::timestamp(0), "[00:00:00.000] ");
        assert_eq!(super::timestamp(3_723_004_999), "[01:02:03.004] ");
        assert_eq!(super::timestamp(100 * 3_600_000_000), "[100:00:00.000] ");
    }
}
