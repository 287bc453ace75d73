//! A recording watched live: server-sent events from the terminal's state
//! now to the session's end, whichever replica accepts the chunks.
//!
//! Each watcher has a task of its own that reads what was stored, from
//! where the watcher stands, whenever the live signal (LISTEN/NOTIFY, one
//! listener per replica) says its recording moved, and hands the frames to
//! the response through a bounded buffer. A watcher whose buffer stays full
//! is cut; it resumes from the last id it read (`Last-Event-ID`).

use std::{convert::Infallible, time::Duration};

use actix_web::{HttpRequest, HttpResponse, get, web, web::Bytes};
use futures_util::StreamExt as _;
use termaudit_domain::{
    LivePosition, Permission,
    asciicast::{Decoder, EventCode, Micros, Version},
};
use termaudit_storage::{ChunkLines, LiveSignal, ProjectRow, StorageError, Watch};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use super::{not_purged, recorded_session};
use crate::{
    AppState, Caller,
    error::{ApiError, ProblemKind},
    extract::{SessionPath, SessionPathExample},
    sessions::ending,
};

/// A comment line this often keeps an idle stream open through proxies,
/// and finds a watcher that left: the server learns that a client closed
/// its stream only when a write to it fails, so this bounds how late the
/// operator is told that someone stopped watching (two comments at most).
const KEEPALIVE: Duration = Duration::from_secs(5);
/// How often a watch's lease is renewed (and the recording looked at again,
/// in case a signal was lost).
const RENEW: Duration = Duration::from_secs(15);
/// Pieces of the stream a watcher may have waiting, each of about
/// [`PIECE_BYTES`] (a chunk's frames are cut into pieces): the memory a
/// watcher can hold on the server is bounded by their product.
const BUFFER_PIECES: usize = 16;
const PIECE_BYTES: usize = 64 << 10;
/// How long a watcher's buffer may stay full before the watcher is cut.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// A watch's lease, renewed at every [`RENEW`]: a watch whose replica
/// died is ended by another this long after its last renewal at most.
const WATCH_LEASE: Duration = Duration::from_secs(45);

/// Watches a session's recording live, as server-sent events
/// (`text/event-stream`).
///
/// - `init` first: the terminal now (data: `{"started_at", "time", "cols",
///   "rows", "init"}`: when the recording started, its time in seconds
///   from then, and the shape of a window's `state`), so a watcher can tell
///   how far behind the operator an event reaches it;
/// - then `output`, `resize` and `marker` as the chunks that carry them are
///   accepted (data: the event's asciicast v2 line, such as
///   `[12.5, "o", "ls\r\n"]`); the operator's input is not sent;
/// - `end` last, once the session has ended and its recording is finalized
///   (data: how it ended, `close_reason`, `ended_at`, and for a revoke
///   `revoked_by` and `revoke_reason`); the server then closes the stream.
///
/// Every event has an `id`. A client that reconnects with `Last-Event-ID`
/// gets what follows that event (no `init`), without gap or duplicate. A
/// comment line every 5 s keeps an idle stream open. A watcher that reads
/// nothing while its buffer on the server is full (about 1 MiB) for 10 s is
/// cut: the stream ends without `end`, and the watcher resumes with
/// `Last-Event-ID`. So it does when the replica serving it stops.
///
/// A finalized recording answers the same way: `init` (the terminal at its
/// end) and `end` at once. Before the first chunk arrives, the stream waits
/// for it to send `init`; a recording finalized without any chunk answers
/// `end` alone.
///
/// Production sessions can always be watched; non-production ones when the
/// project's policy says so (`watch_non_production`, on by default): 403
/// otherwise.
///
/// Audited as `recording.watched`, once when the stream starts and once when
/// it stops (`details.phase`: `started`, `stopped`, with `outcome`: `ended`,
/// `disconnected`, `cut`, `failed`, `server_stopped` when the replica
/// serving it stopped, or `lost` when it died and another ended it). While
/// it lasts, the session's detail lists the watcher (`watchers`).
#[utoipa::path(
    tag = "recordings",
    params(
        SessionPathExample,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event read, to resume after it", example = "3:12"),
    ),
    responses(
        (status = 200, description = "Server-sent events: `init`, `output`, `resize`, `marker`, `end`", content_type = "text/event-stream", body = String),
        (status = 400, description = "`Last-Event-ID` is not an id of this recording's stream", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 403, description = "No `terminal.view_recording`, or a non-production session while the policy's `watch_non_production` is off", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session, or it was not recorded", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Retention purged the recording", body = termaudit_api_types::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/live")]
pub async fn watch_live(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.id;
    let project = state.authorize(&caller, &path.project, Permission::ViewRecording).await?;
    let resume = req
        .headers()
        .get("last-event-id")
        .map(|value| {
            let text = value.to_str().unwrap_or("\u{FFFD}");
            LivePosition::parse("Last-Event-ID", text)
        })
        .transpose()?;
    let session = recorded_session(&state, &project, id).await?;
    let policy = state.store.policy(project.id).await?.policy;
    if !policy.may_watch(session.environment_class) {
        return Err(ApiError::new(
            ProblemKind::Forbidden,
            "the project's policy does not let non-production sessions be watched live \
             (watch_non_production); the recording plays once it has arrived",
        ));
    }
    // Subscribed before the first read: nothing stored after it goes unheard.
    let signals = state.live.subscribe();
    let recording = state.store.recording(id).await?;
    recording.as_ref().map(not_purged).transpose()?;
    let stored = recording.as_ref().map_or(0, |r| r.next_seq);
    if let Some(position) = resume.filter(|p| p.seq > stored) {
        return Err(termaudit_domain::DomainError::invalid(
            "Last-Event-ID",
            format!("{position} is past this recording's {stored} chunks"),
        )
        .into());
    }
    let watch = Watch {
        id: Uuid::now_v7(),
        project_id: project.id,
        session_id: id,
        subject: caller.subject.clone(),
        name: caller.name.clone(),
    };
    let started = serde_json::json!({
        "watch": watch.id,
        "phase": "started",
        "resumed_after": resume.map(|p| p.to_string()),
    });
    state.store.watch_start(&watch, WATCH_LEASE, started).await?;
    let (tx, rx) = mpsc::channel(BUFFER_PIECES);
    let watcher = Watcher {
        state: state.clone(),
        watch,
        project,
        tx,
        signals,
        out: String::new(),
        position: resume,
    };
    tokio::spawn(watcher.run());
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(ReceiverStream::new(rx).map(Ok::<_, Infallible>)))
}

/// Why a watch stopped.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// The session ended and the watcher got `end`.
    Ended,
    /// The watcher went away.
    Disconnected,
    /// The watcher read nothing for too long and was cut.
    Cut,
    /// The watch's lease expired and another replica ended it.
    Lost,
    /// Reading the recording failed (logged).
    Failed,
    /// The replica serving the watch began to stop.
    ServerStopped,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ended => "ended",
            Self::Disconnected => "disconnected",
            Self::Cut => "cut",
            Self::Lost => "lost",
            Self::Failed => "failed",
            Self::ServerStopped => "server_stopped",
        }
    }
}

/// What stopped the frames going out: the watcher, or the store.
enum Stop {
    Outcome(Outcome),
    Storage(StorageError),
}

impl From<StorageError> for Stop {
    fn from(err: StorageError) -> Self {
        Self::Storage(err)
    }
}

struct Watcher {
    state: web::Data<AppState>,
    watch: Watch,
    project: ProjectRow,
    tx: mpsc::Sender<Bytes>,
    signals: broadcast::Receiver<LiveSignal>,
    /// Frames not handed to the response yet.
    out: String,
    /// Where the watcher stands; `None` until it has the terminal's state.
    position: Option<LivePosition>,
}

impl Watcher {
    async fn run(mut self) {
        let stopping = self.state.stopping.clone();
        let followed = tokio::select! {
            result = self.follow() => Some(result),
            () = stopping.cancelled() => None,
        };
        let outcome = match followed {
            Some(Ok(())) => Outcome::Ended,
            Some(Err(Stop::Outcome(outcome))) => outcome,
            Some(Err(Stop::Storage(err))) => {
                tracing::warn!(error = %err, watch = %self.watch.id, "a live stream failed");
                Outcome::Failed
            }
            None => {
                // What is framed goes out if it fits; the watcher resumes
                // from the last event it got, on another replica.
                if !self.out.is_empty() {
                    let _ = self.tx.try_send(Bytes::from(std::mem::take(&mut self.out)));
                }
                Outcome::ServerStopped
            }
        };
        if matches!(outcome, Outcome::Lost) {
            return; // Its end is audited already.
        }
        let stopped = serde_json::json!({
            "watch": self.watch.id,
            "phase": "stopped",
            "outcome": outcome.as_str(),
            "last_event_id": self.position.map(|p| p.to_string()),
        });
        if let Err(err) = self.state.store.watch_stop(&self.watch, stopped).await {
            tracing::error!(error = %err, watch = %self.watch.id, "the end of a watch failed; its lease will expire");
        }
    }

    /// Sends what is stored, then waits for more, until the end.
    async fn follow(&mut self) -> Result<(), Stop> {
        let now = tokio::time::Instant::now();
        let mut keepalive = tokio::time::interval_at(now + KEEPALIVE, KEEPALIVE);
        let mut renew = tokio::time::interval_at(now + RENEW, RENEW);
        loop {
            let recording = self.state.store.recording(self.watch.session_id).await?;
            let stored = recording.as_ref().map_or(0, |r| r.next_seq);
            let finalized = recording.as_ref().is_some_and(|r| r.finalized_at.is_some());
            match (self.position, &recording) {
                (Some(position), _) => self.catch_up(position).await?,
                (None, Some(recording)) if recording.header.is_some() => {
                    let terminal =
                        self.state.store.recording_edge(self.watch.session_id, recording).await?;
                    let position = LivePosition::chunk(recording.next_seq);
                    let data = serde_json::json!({
                        "started_at": recording.started_at,
                        "time": recording.last_time.as_seconds(),
                        "cols": terminal.cols,
                        "rows": terminal.rows,
                        "init": terminal.init,
                    });
                    self.frame(position, "init", &data.to_string());
                    self.position = Some(position);
                }
                (None, _) => {}
            }
            if finalized && self.position.is_none_or(|p| p.seq >= stored) {
                let row = self.state.session(&self.project, self.watch.session_id).await;
                let data = row
                    .ok()
                    .and_then(|row| ending(&row))
                    .and_then(|ending| serde_json::to_string(&ending).ok())
                    .unwrap_or_else(|| "{}".to_owned());
                let position = self.position.unwrap_or(LivePosition::chunk(stored));
                self.frame(position, "end", &data);
                return self.flush().await;
            }
            self.flush().await?;
            self.wait(&mut keepalive, &mut renew).await?;
        }
    }

    /// Waits until the recording may have moved: a signal about it, a lost
    /// signal, or the lease's renewal (which also looks again, in case).
    /// Meanwhile a comment every [`KEEPALIVE`] finds a watcher that left.
    async fn wait(
        &mut self,
        keepalive: &mut tokio::time::Interval,
        renew: &mut tokio::time::Interval,
    ) -> Result<(), Stop> {
        loop {
            tokio::select! {
                signal = self.signals.recv() => match signal {
                    Ok(signal) if signal.concerns(self.watch.session_id) => return Ok(()),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return Ok(()),
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(Stop::Outcome(Outcome::Failed));
                    }
                },
                _ = renew.tick() => {
                    if !self.state.store.watch_renew(self.watch.id, WATCH_LEASE).await? {
                        return Err(Stop::Outcome(Outcome::Lost));
                    }
                    return Ok(());
                }
                _ = keepalive.tick() => {
                    match self.tx.try_send(Bytes::from_static(b": keepalive\n\n")) {
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            return Err(Stop::Outcome(Outcome::Disconnected));
                        }
                        // A full buffer is data waiting: no comment is needed.
                        Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                    }
                }
                () = self.tx.closed() => return Err(Stop::Outcome(Outcome::Disconnected)),
            }
        }
    }

    /// Sends every event stored after `position`.
    async fn catch_up(&mut self, mut position: LivePosition) -> Result<(), Stop> {
        loop {
            let from = u32::try_from(position.seq).unwrap_or(0);
            let batch = self.state.store.emulation_chunks(self.watch.session_id, from).await?;
            if batch.chunks.is_empty() {
                return Ok(());
            }
            for chunk in batch.chunks {
                let skip = if i32::try_from(chunk.seq).ok() == Some(position.seq) {
                    position.line
                } else {
                    0
                };
                let seq = i32::try_from(chunk.seq).unwrap_or(i32::MAX);
                let frames =
                    tokio::task::spawn_blocking(move || frames(&chunk, seq, skip))
                        .await
                        .map_err(|e| StorageError::Corrupt(format!("a live chunk failed: {e}")))?;
                for frame in frames {
                    self.out.push_str(&frame);
                    if self.out.len() >= PIECE_BYTES {
                        self.flush().await?;
                    }
                }
                position = LivePosition::chunk(seq.saturating_add(1));
                self.position = Some(position);
            }
            if !batch.more {
                return Ok(());
            }
        }
    }

    fn frame(&mut self, id: LivePosition, event: &str, data: &str) {
        self.out.push_str(&format!("id: {id}\nevent: {event}\ndata: {data}\n\n"));
    }

    /// Hands the waiting frames to the response; cuts a watcher whose
    /// buffer stays full.
    async fn flush(&mut self) -> Result<(), Stop> {
        if self.out.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::take(&mut self.out));
        match tokio::time::timeout(STALL_LIMIT, self.tx.send(piece)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Stop::Outcome(Outcome::Disconnected)),
            Err(_) => Err(Stop::Outcome(Outcome::Cut)),
        }
    }
}

/// The frames of `chunk`'s events from line `skip` on, each with its id.
fn frames(chunk: &ChunkLines, seq: i32, skip: u32) -> Vec<String> {
    let mut decoder = Decoder::resume(Version::V2, Micros::ZERO);
    let mut frames = Vec::new();
    for (index, line) in chunk.lines.split_terminator('\n').enumerate() {
        let line_no = u32::try_from(index).unwrap_or(u32::MAX);
        let Ok(Some(event)) = decoder.decode_line(line) else { continue };
        if line_no < skip {
            continue;
        }
        let name = match event.code {
            EventCode::Output => "output",
            EventCode::Resize => "resize",
            EventCode::Marker => "marker",
            _ => continue,
        };
        let id = LivePosition { seq, line: line_no.saturating_add(1) };
        frames.push(format!("id: {id}\nevent: {name}\ndata: {line}\n\n"));
    }
    frames
}
