//! Recordings: ingest from the gateway (`ingest`), the summary, windows
//! of events for players, search and the `.cast` download (`playback`),
//! search across recordings and transcripts (`text`), and the live stream
//! of a recording still arriving (`live`).
//! Content is streamed both ways; no handler holds more than a chunk of a
//! recording. Nothing of a recording can be deleted: retention purges it.

pub(crate) mod ingest;
pub(crate) mod live;
pub(crate) mod playback;
pub(crate) mod text;

use termaudit_storage::{ProjectRow, RecordedSession, RecordingRow};
use uuid::Uuid;

use crate::{
    AppState,
    error::{ApiError, ProblemKind},
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

/// 410 when retention purged `recording`.
fn not_purged(recording: &RecordingRow) -> Result<(), ApiError> {
    match recording.purged_at {
        Some(purged_at) => Err(ApiError::new(
            ProblemKind::Gone,
            format!(
                "this recording was purged at {} ({})",
                purged_at.to_rfc3339(),
                recording.purge_reason.as_deref().unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}
