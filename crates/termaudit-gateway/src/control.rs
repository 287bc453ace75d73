//! The gateway's side of the control-event stream: a server-sent events
//! client per project that ends the shells the API revoked or closed, and
//! tells their operators who starts and stops watching them.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use futures_util::StreamExt as _;
use serde::Deserialize;
use termaudit_api_types::gateway::ServerMessage;
use tokio::sync::Notify;
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
    watch_id: Option<Uuid>,
    close_reason: Option<String>,
    revoked_by: Option<String>,
    reason: Option<String>,
}

/// The data of a `watches` event: the watches under way.
#[derive(Debug, Deserialize)]
struct WatchList {
    watches: Vec<ControlData>,
}

/// A notice for the operator of a session.
type Notice = (Uuid, ServerMessage);

/// The watches this gateway told its operators of, by watch: so that an
/// operator hears of each start and stop once, even when the control
/// stream repeats a start or was down when a watch began or ended.
#[derive(Debug, Default)]
struct Announced {
    watches: HashMap<Uuid, (Uuid, String)>,
}

impl Announced {
    /// `watch` began: the notice for its session's operator, unless told
    /// already or the session's shell is not on this gateway (`here`).
    fn started(&mut self, watch: ControlData, here: impl Fn(Uuid) -> bool) -> Option<Notice> {
        if !here(watch.session_id) {
            return None;
        }
        let watcher = watch.watcher.unwrap_or_else(|| "someone".to_owned());
        if let Some(id) = watch.watch_id {
            if self.watches.contains_key(&id) {
                return None;
            }
            self.watches.insert(id, (watch.session_id, watcher.clone()));
        }
        Some((watch.session_id, ServerMessage::Watching { watcher, watching: true }))
    }

    /// `watch` ended: the notice for its session's operator, if they were
    /// told it began.
    fn stopped(&mut self, watch: ControlData) -> Option<Notice> {
        let (session_id, watcher) = match watch.watch_id {
            Some(id) => self.watches.remove(&id)?,
            None => (watch.session_id, watch.watcher.unwrap_or_else(|| "someone".to_owned())),
        };
        Some((session_id, ServerMessage::Watching { watcher, watching: false }))
    }

    /// `current` are the watches under way: the starts and stops not told.
    fn reconcile(&mut self, current: Vec<ControlData>, here: impl Fn(Uuid) -> bool) -> Vec<Notice> {
        let ids: HashSet<Uuid> = current.iter().filter_map(|w| w.watch_id).collect();
        let mut notices = Vec::new();
        self.watches.retain(|id, (session_id, watcher)| {
            let goes_on = ids.contains(id);
            if !goes_on {
                let watcher = std::mem::take(watcher);
                notices.push((*session_id, ServerMessage::Watching { watcher, watching: false }));
            }
            goes_on
        });
        notices.extend(current.into_iter().filter_map(|watch| self.started(watch, &here)));
        notices
    }
}

/// Listens to `project`'s control events until the task is aborted,
/// reconnecting with backoff, or at once when `wake` is notified.
pub async fn listen(gateway: Arc<Inner>, project: String, wake: Arc<Notify>) {
    let mut backoff = Backoff::default();
    let mut announced = Announced::default();
    loop {
        match listen_once(&gateway, &project, &mut backoff, &mut announced).await {
            Ok(()) => tracing::info!(%project, "the control stream ended; reconnecting"),
            Err(why) => tracing::warn!(%project, %why, "no control stream; retrying"),
        }
        tokio::select! {
            () = backoff.wait() => {}
            () = wake.notified() => {}
        }
    }
}

async fn listen_once(
    gateway: &Arc<Inner>,
    project: &str,
    backoff: &mut Backoff,
    announced: &mut Announced,
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
    // Ends may have been missed while disconnected (the stream's `watches`
    // event tells of the watches).
    check_project(gateway, project);
    let mut parser = SseParser::default();
    let mut body = response.bytes_stream();
    // The API sends a keepalive every 15 s; a silent stream is a dead one.
    while let Ok(Some(piece)) = tokio::time::timeout(Duration::from_secs(40), body.next()).await {
        let piece = piece.map_err(|err| err.without_url().to_string())?;
        for event in parser.feed(&String::from_utf8_lossy(&piece)) {
            if event.event == "lagged" {
                return Err("fell behind the control stream".to_owned());
            }
            handle(gateway, project, &event, announced).await;
        }
    }
    Ok(())
}

fn shell(gateway: &Inner, project: &str, id: Uuid) -> Option<ShellHandle> {
    let shells = gateway.shells.lock().unwrap_or_else(|e| e.into_inner());
    shells.get(&id).filter(|s| s.project == project).cloned()
}

async fn handle(gateway: &Arc<Inner>, project: &str, event: &SseEvent, announced: &mut Announced) {
    let here = |id| shell(gateway, project, id).is_some();
    let notices = match event.event.as_str() {
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
            return;
        }
        "watch.started" | "watch.stopped" => {
            let Ok(data) = serde_json::from_str::<ControlData>(&event.data) else { return };
            let notice = if event.event == "watch.started" {
                announced.started(data, here)
            } else {
                announced.stopped(data)
            };
            notice.into_iter().collect()
        }
        "watches" => {
            let Ok(list) = serde_json::from_str::<WatchList>(&event.data) else { return };
            announced.reconcile(list.watches, here)
        }
        _ => return,
    };
    for (session_id, notice) in notices {
        if let Some(shell) = shell(gateway, project, session_id) {
            let _ = shell.tx.send(Command::Notice(notice)).await;
        }
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
    use serde_json::json;

    fn watch(id: Uuid, session_id: Uuid, watcher: &str) -> ControlData {
        let data = json!({"session_id": session_id, "watch_id": id, "watcher": watcher});
        serde_json::from_value(data).expect("control data")
    }

    fn told(session_id: Uuid, watcher: &str, watching: bool) -> Notice {
        (session_id, ServerMessage::Watching { watcher: watcher.to_owned(), watching })
    }

    #[test]
    fn each_watch_is_told_once_however_the_stream_repeats_it() {
        let (shell, elsewhere) = (Uuid::now_v7(), Uuid::now_v7());
        let here = |id| id == shell;
        let (vera, vera_again, olga) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut announced = Announced::default();

        // The stream opens with the watches under way; one of them is then
        // heard again as it started; another gateway's session is not told.
        let opening = vec![watch(vera, shell, "vera"), watch(olga, elsewhere, "olga")];
        assert_eq!(announced.reconcile(opening, here), [told(shell, "vera", true)]);
        assert_eq!(announced.started(watch(vera, shell, "vera"), here), None);
        // The same watcher from a second tab is a second watch.
        let second = announced.started(watch(vera_again, shell, "vera"), here);
        assert_eq!(second, Some(told(shell, "vera", true)));
        assert_eq!(announced.stopped(watch(olga, elsewhere, "olga")), None);
        assert_eq!(announced.stopped(watch(vera, shell, "vera")), Some(told(shell, "vera", false)));
        assert_eq!(announced.stopped(watch(vera, shell, "vera")), None);

        // Reconnected after the second tab closed and a new watch began.
        let olive = Uuid::now_v7();
        let now = vec![watch(olive, shell, "olive")];
        assert_eq!(
            announced.reconcile(now, here),
            [told(shell, "vera", false), told(shell, "olive", true)]
        );
        assert_eq!(announced.reconcile(vec![], here), [told(shell, "olive", false)]);
        assert!(announced.watches.is_empty());
    }

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
