//! The control-event stream gateways listen to: server-sent events fed by
//! PostgreSQL LISTEN/NOTIFY, so a revoke on any replica reaches the gateway
//! holding the session within a second.

use std::{convert::Infallible, time::Duration};

use actix_web::{HttpResponse, get, web, web::Bytes};
use futures_util::StreamExt as _;
use termaudit_domain::Permission;
use tokio_stream::wrappers::{BroadcastStream, IntervalStream, errors::BroadcastStreamRecvError};

use crate::{AppState, Caller, error::ApiError, extract::ProjectPath};

const KEEPALIVE: Duration = Duration::from_secs(15);

/// A stream of `text/event-stream` events about the project's sessions:
/// `session.revoked` and `session.closed` (data: JSON with `session_id`,
/// `close_reason`, `revoked_by`, `reason`, `at`). A comment line opens the
/// stream and keeps it alive every 15 seconds. A gateway that falls behind
/// gets a `lagged` event and should re-check its sessions' status. The
/// stream ends when the replica serving it stops; reconnect (the events
/// missed meanwhile are not replayed: re-check the sessions' status then).
#[utoipa::path(
    tag = "control",
    params(ProjectPath),
    responses((status = 200, description = "Server-sent events", content_type = "text/event-stream", body = String))
)]
#[get("/projects/{project}/control-events")]
pub async fn control_events(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::Ingest).await?;
    let project_id = project.id;
    let events =
        BroadcastStream::new(state.control.subscribe()).filter_map(move |message| async move {
            match message {
                Ok(event) if event.project_id == project_id => {
                    let data = serde_json::to_string(&event).unwrap_or_default();
                    Some(format!("event: {}\ndata: {data}\n\n", event.event_type))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    Some(format!("event: lagged\ndata: {{\"missed\":{missed}}}\n\n"))
                }
            }
        });
    let keepalive =
        IntervalStream::new(tokio::time::interval(KEEPALIVE)).map(|_| ": keepalive\n\n".to_owned());
    let opening = futures_util::stream::once(async { ": connected\n\n".to_owned() });
    let body = opening
        .chain(futures_util::stream::select(events, keepalive))
        .take_until(state.stopping.clone().cancelled_owned())
        .map(|text| Ok::<_, Infallible>(Bytes::from(text)));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
