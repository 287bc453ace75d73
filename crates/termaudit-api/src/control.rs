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
/// `close_reason`, `revoked_by`, `reason`, `at`), `watch.started` and
/// `watch.stopped` (with `watcher` and `watch_id` besides: someone began or
/// stopped watching the session live). A comment line opens the stream and
/// keeps it alive every 15 seconds. Next comes a `watches` event whose data
/// is `{"watches": [...]}`, the `watch.started` events of the watches under
/// way (`at` when each began); a `watch.started` event may repeat one of
/// them, a `watch.stopped` event may follow for a watch not listed (it ended
/// as the stream opened). A gateway that falls behind gets a `lagged` event
/// and should reconnect. The stream ends when the replica serving it stops;
/// reconnect (the events missed meanwhile are not replayed: re-check the
/// sessions' status then, and the `watches` event says who watches now).
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
    // Subscribed before the watches are read: none starts in between unheard.
    let subscription = state.control.subscribe();
    let watches = serde_json::json!({ "watches": state.store.project_watches(project_id).await? });
    let events = BroadcastStream::new(subscription).filter_map(move |message| async move {
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
    let opening = futures_util::stream::iter([
        ": connected\n\n".to_owned(),
        format!("event: watches\ndata: {watches}\n\n"),
    ]);
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
