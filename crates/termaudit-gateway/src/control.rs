//! The gateway's side of the control-event stream: a server-sent events
//! client per project that ends the shells the API revoked or closed.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt as _;
use serde::Deserialize;
use termaudit_api_types::gateway::ServerMessage;
use uuid::Uuid;

use crate::{
    Inner,
    client::Backoff,
    shell::{Command, Ending, ShellHandle, check_alive},
};

/// One event of a `text/event-stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Splits a `text/event-stream` into events, across reads.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: String,
}

impl SseParser {
    pub fn feed(&mut self, text: &str) -> Vec<SseEvent> {
        self.buffer.push_str(&text.replace("\r\n", "\n"));
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = SseEvent { event: "message".into(), data: String::new() };
            let mut has_data = false;
            for line in block.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event.event = value.to_owned(),
                    "data" => {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(value);
                        has_data = true;
                    }
                    // Comments (keepalives) and unknown fields.
                    _ => {}
                }
            }
            if has_data {
                events.push(event);
            }
        }
        events
    }
}

#[derive(Debug, Deserialize)]
struct ControlData {
    session_id: Uuid,
    watcher: Option<String>,
    close_reason: Option<String>,
    revoked_by: Option<String>,
    reason: Option<String>,
}

/// Listens to `project`'s control events until the task is aborted,
/// reconnecting with backoff.
pub async fn listen(gateway: Arc<Inner>, project: String) {
    let mut backoff = Backoff::default();
    loop {
        match listen_once(&gateway, &project, &mut backoff).await {
            Ok(()) => tracing::info!(%project, "the control stream ended; reconnecting"),
            Err(why) => tracing::warn!(%project, %why, "no control stream; retrying"),
        }
        backoff.wait().await;
    }
}

async fn listen_once(
    gateway: &Arc<Inner>,
    project: &str,
    backoff: &mut Backoff,
) -> Result<(), String> {
    let response = gateway
        .api
        .stream_request(&format!("/projects/{project}/control-events"))
        .send()
        .await
        .map_err(|err| err.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("the API answered {}", response.status()));
    }
    tracing::info!(%project, "listening for control events");
    *backoff = Backoff::default();
    // Events may have been missed while disconnected.
    check_project(gateway, project);
    let mut parser = SseParser::default();
    let mut body = response.bytes_stream();
    // The API sends a keepalive every 15 s; a silent stream is a dead one.
    while let Ok(Some(piece)) = tokio::time::timeout(Duration::from_secs(40), body.next()).await {
        let piece = piece.map_err(|err| err.without_url().to_string())?;
        for event in parser.feed(&String::from_utf8_lossy(&piece)) {
            handle(gateway, project, &event).await;
        }
    }
    Ok(())
}

fn shell(gateway: &Inner, project: &str, id: Uuid) -> Option<ShellHandle> {
    let shells = gateway.shells.lock().unwrap_or_else(|e| e.into_inner());
    shells.get(&id).filter(|s| s.project == project).cloned()
}

async fn handle(gateway: &Arc<Inner>, project: &str, event: &SseEvent) {
    match event.event.as_str() {
        "session.revoked" | "session.closed" => {
            let Ok(data) = serde_json::from_str::<ControlData>(&event.data) else {
                tracing::warn!(data = %event.data, "an unreadable control event");
                return;
            };
            let Some(shell) = shell(gateway, project, data.session_id) else { return };
            let ending = if event.event == "session.revoked" {
                Ending::revoked(data.revoked_by, data.reason)
            } else {
                Ending::closed(data.close_reason, None)
            };
            // A shell whose close this gateway reported has left the registry.
            let _ = shell.tx.send(Command::End(ending)).await;
        }
        "watch.started" | "watch.stopped" => {
            let Ok(data) = serde_json::from_str::<ControlData>(&event.data) else { return };
            let Some(shell) = shell(gateway, project, data.session_id) else { return };
            let notice = ServerMessage::Watching {
                watcher: data.watcher.unwrap_or_else(|| "someone".to_owned()),
                watching: event.event == "watch.started",
            };
            let _ = shell.tx.send(Command::Notice(notice)).await;
        }
        "lagged" => check_project(gateway, project),
        _ => {}
    }
}

/// Asks the API about every shell of the project.
fn check_project(gateway: &Arc<Inner>, project: &str) {
    let shells: Vec<ShellHandle> = {
        let shells = gateway.shells.lock().unwrap_or_else(|e| e.into_inner());
        shells.values().filter(|s| s.project == project).cloned().collect()
    };
    for shell in shells {
        check_alive(&gateway.api, &shell.project, shell.session_id, &shell.tx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_across_reads_and_comments_skipped() {
        let mut parser = SseParser::default();
        assert!(parser.feed(": connected\n\nevent: session.rev").is_empty());
        let events =
            parser.feed("oked\ndata: {\"a\":1}\n\n: keepalive\n\ndata: x\r\ndata: y\r\n\r\n");
        assert_eq!(
            events,
            [
                SseEvent { event: "session.revoked".into(), data: "{\"a\":1}".into() },
                SseEvent { event: "message".into(), data: "x\ny".into() },
            ]
        );
    }
}
