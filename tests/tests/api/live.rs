//! A recording watched live: server-sent events read with a streaming
//! client, chunks accepted on one replica and watched on another.

use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use serde_json::{Value, json};
use termaudit_domain::{
    EnvironmentClass, Permission,
    asciicast::{Decoder, Replay},
};
use termaudit_tests::{TestApp, problem, seed::seed_session};
use uuid::Uuid;

const PROJECT: &str = "demo";
/// How long a test waits for something that should come at once.
const DEADLINE: Duration = Duration::from_secs(30);

fn path(session: Uuid, rest: &str) -> String {
    format!("/api/v1/projects/{PROJECT}/sessions/{session}{rest}")
}

/// One event of the stream.
#[derive(Debug, Clone)]
struct Frame {
    id: Option<String>,
    event: String,
    data: String,
}

/// A live stream read as it arrives, frame by frame.
struct Sse {
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: String,
    comments: usize,
    /// [`Sse::next`] returns at a comment line too.
    stop_at_comment: bool,
}

impl Sse {
    /// The next event; `None` once the server closed the stream.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let text: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame { id: None, event: "message".into(), data: String::new() };
                let mut comment = false;
                for line in text.lines() {
                    if line.starts_with(':') {
                        comment = true;
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        frame.id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        frame.event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        frame.data.push_str(v);
                    }
                }
                if comment && frame.id.is_none() {
                    self.comments += 1;
                    if self.stop_at_comment {
                        return None;
                    }
                    continue;
                }
                return Some(frame);
            }
            let piece = tokio::time::timeout(DEADLINE, self.body.next())
                .await
                .expect("the stream sends something in time");
            match piece {
                Some(piece) => {
                    self.buffer.push_str(std::str::from_utf8(&piece.unwrap()).unwrap());
                }
                None => {
                    assert!(self.buffer.trim().is_empty(), "a frame cut short: {:?}", self.buffer);
                    return None;
                }
            }
        }
    }

    fn of(response: reqwest::Response) -> Self {
        let body = response.bytes_stream().map(|piece| piece.map(|b| b.to_vec()));
        Sse { body: Box::pin(body), buffer: String::new(), comments: 0, stop_at_comment: false }
    }

    /// The next event, which must be there.
    async fn expect(&mut self) -> Frame {
        self.next().await.expect("an event before the stream ends")
    }
}

async fn request(
    app: &TestApp,
    token: &str,
    session: Uuid,
    last: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.get(app.url(&path(session, "/recording/live"))).bearer_auth(token);
    if let Some(last) = last {
        request = request.header("last-event-id", last);
    }
    request.send().await.expect("the request is sent")
}

async fn watch(app: &TestApp, token: &str, session: Uuid, last: Option<&str>) -> Sse {
    let response = request(app, token, session, last).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Sse::of(response)
}

async fn put_chunk(app: &TestApp, token: &str, session: Uuid, seq: u32, body: String) {
    let response = app
        .client
        .put(app.url(&path(session, &format!("/recording/chunks/{seq}"))))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(response.status(), 201, "chunk {seq}");
}

const HEADER: &str = "{\"version\": 2, \"width\": 40, \"height\": 6}\n";

/// Chunk `seq` of a test recording: `events` output events (and an input
/// event, which watchers do not get), at times after every earlier chunk's.
fn chunk(seq: u32, events: u32) -> (String, Vec<String>) {
    let mut body = if seq == 0 { HEADER.to_owned() } else { String::new() };
    let mut lines = Vec::new();
    for i in 0..events {
        let time = f64::from(seq) + f64::from(i) / 100.0;
        let line = format!("[{time:.2}, \"o\", \"chunk {seq} line {i}\\r\\n\"]");
        body.push_str(&line);
        body.push('\n');
        lines.push(line);
        if i == 0 {
            body.push_str(&format!("[{time:.2}, \"i\", \"secret\"]\n"));
        }
    }
    (body, lines)
}

/// Canonical form of an output line (what the server stores and sends).
fn canonical(line: &str) -> String {
    let mut decoder = Decoder::resume(termaudit_domain::asciicast::Version::V2, Default::default());
    decoder.decode_line(line).unwrap().unwrap().to_line()
}

struct Fixture {
    a: TestApp,
    b: TestApp,
    gateway: String,
    viewer: String,
    session: Uuid,
}

/// Two replicas on one database, a recorded session, and chunk 0 of its
/// recording accepted on the first; returns chunk 0's output lines too.
async fn fixture() -> (Fixture, Vec<String>) {
    let a = TestApp::spawn().await;
    a.create_project(PROJECT).await;
    let b = a.spawn_replica().await;
    let session = seed_session(&a, PROJECT, EnvironmentClass::NonProduction, true).await;
    let gateway = a.token("gateway", PROJECT, &[Permission::Ingest]);
    let viewer = a.token("vera", PROJECT, &[Permission::ViewRecording]);
    let (body, lines) = chunk(0, 3);
    put_chunk(&a, &gateway, session, 0, body).await;
    (Fixture { a, b, gateway, viewer, session }, lines)
}

/// Reads output events until `count` have come; panics on any other kind.
async fn outputs(sse: &mut Sse, count: usize) -> Vec<(String, String)> {
    let mut got = Vec::new();
    while got.len() < count {
        let frame = sse.expect().await;
        assert_eq!(frame.event, "output", "{frame:?}");
        got.push((frame.id.expect("an id"), frame.data));
    }
    got
}

async fn watched(app: &TestApp, session: Uuid) -> Vec<(String, Value)> {
    let db = app.db.connect().await;
    db.query(
        "SELECT actor_subject, details FROM audit_events
         WHERE event_type = 'recording.watched' AND session_id = $1 ORDER BY id",
        &[&session],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// Waits until the watches of `session` that stopped number `count`.
async fn stopped(app: &TestApp, session: Uuid, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let stops: Vec<Value> = watched(app, session)
            .await
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d["phase"] == "stopped")
            .collect();
        if stops.len() >= count {
            return stops;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {} stopped", stops.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn chunks_accepted_on_one_replica_reach_a_watcher_on_another() {
    let (f, first) = fixture().await;
    let mut sse = watch(&f.b, &f.viewer, f.session, None).await;

    // The terminal now, exactly as a replay of what was stored.
    let init = sse.expect().await;
    assert_eq!((init.event.as_str(), init.id.as_deref()), ("init", Some("1:0")));
    let init: Value = serde_json::from_str(&init.data).unwrap();
    let mut replay = Replay::new(40, 6);
    let mut decoder = Decoder::resume(termaudit_domain::asciicast::Version::V2, Default::default());
    for line in &first {
        replay.apply(&decoder.decode_line(line).unwrap().unwrap());
    }
    let expected = replay.snapshot();
    assert_eq!(init["init"], expected.init);
    assert_eq!((init["cols"].as_u64(), init["rows"].as_u64()), (Some(40), Some(6)));
    assert_eq!(init["time"], 0.02);

    // Chunks accepted on A reach the watcher on B, in order, input left out.
    let mut expected = Vec::new();
    for seq in 1..4 {
        let (body, lines) = chunk(seq, 4);
        put_chunk(&f.a, &f.gateway, f.session, seq, body).await;
        expected.extend(lines.iter().map(|l| canonical(l)));
    }
    let got = outputs(&mut sse, expected.len()).await;
    assert_eq!(got.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(), expected);
    // Line 0 of a chunk is output, line 1 the input, then outputs.
    assert_eq!(got[0].0, "1:1");
    assert_eq!(got[1].0, "1:3");
    assert_eq!(got[4].0, "2:1");

    // A resize and a marker come as themselves.
    put_chunk(
        &f.a,
        &f.gateway,
        f.session,
        4,
        "[5.0, \"r\", \"50x8\"]\n[5.1, \"m\", \"here\"]\n".into(),
    )
    .await;
    let resize = sse.expect().await;
    assert_eq!((resize.event.as_str(), resize.data.as_str()), ("resize", "[5.0, \"r\", \"50x8\"]"));
    let marker = sse.expect().await;
    assert_eq!((marker.event.as_str(), marker.id.as_deref()), ("marker", Some("4:2")));

    // The session's detail, on either replica, lists who watches.
    let historian = f.a.token("hank", PROJECT, &[Permission::ViewHistory]);
    let detail: Value =
        termaudit_tests::json(f.a.get(&path(f.session, ""), &historian).await, 200).await;
    assert_eq!(detail["watchers"].as_array().map(Vec::len), Some(1), "{detail}");
    assert_eq!(detail["watchers"][0]["watcher"]["subject"], "vera");

    // A gateway that (re)connects to the control stream, on either replica,
    // hears who watches now: how its operator learns of a watch that began
    // while it was not listening.
    let control_events = f.a.url(&format!("/api/v1/projects/{PROJECT}/control-events"));
    let response = f.a.client.get(control_events).bearer_auth(&f.gateway).send().await;
    let response = response.expect("the control stream");
    assert_eq!(response.status(), 200);
    let mut control = Sse::of(response);
    let watches = control.expect().await;
    assert_eq!(watches.event, "watches");
    let watches: Value = serde_json::from_str(&watches.data).unwrap();
    assert_eq!(watches["watches"].as_array().map(Vec::len), Some(1), "{watches}");
    let under_way = &watches["watches"][0];
    assert_eq!(under_way["type"], "watch.started");
    assert_eq!(under_way["session_id"], f.session.to_string());
    assert_eq!(under_way["watcher"], detail["watchers"][0]["watcher"]["name"]);
    assert_eq!(under_way["at"], detail["watchers"][0]["since"], "{detail}");

    // The session closes on A: `end` says how, and the stream closes.
    let close =
        f.a.post(&path(f.session, "/close"), &f.gateway, &json!({"reason": "user_exit"})).await;
    assert_eq!(close.status(), 200);
    let end = sse.expect().await;
    assert_eq!(end.event, "end");
    assert_eq!(end.id.as_deref(), Some("5:0"));
    let end: Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(end["close_reason"], "user_exit");
    assert!(sse.next().await.is_none(), "the stream closes after `end`");

    // Audited: the start and the end of the watch, by the viewer.
    let stops = stopped(&f.a, f.session, 1).await;
    assert_eq!(stops[0]["outcome"], "ended");
    assert_eq!(stops[0]["last_event_id"], "5:0");
    let entries = watched(&f.a, f.session).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].0, "vera");
    assert_eq!(entries[0].1["phase"], "started");
    assert_eq!(entries[0].1["watch"], entries[1].1["watch"]);
    assert_eq!(entries[1].0, "vera");
    assert_eq!(under_way["watch_id"], entries[0].1["watch"]);
    // The gateway heard the watch end, with the id that names it.
    let stop = loop {
        let frame = control.expect().await;
        if frame.event == "watch.stopped" {
            break serde_json::from_str::<Value>(&frame.data).unwrap();
        }
    };
    assert_eq!(stop["watch_id"], under_way["watch_id"]);
    let detail: Value =
        termaudit_tests::json(f.b.get(&path(f.session, ""), &historian).await, 200).await;
    assert_eq!(detail["watchers"], json!([]), "nobody watches any more");
}

#[tokio::test]
async fn a_watch_whose_replica_died_is_ended_by_another() {
    let (f, _) = fixture().await;
    // What a replica that died while serving a watch leaves: its lease,
    // expired, and the start in the audit log.
    let project = termaudit_tests::seed::project_id(&f.a, PROJECT).await;
    let watch = Uuid::now_v7();
    let db = f.a.db.connect().await;
    db.execute(
        "INSERT INTO recording_watches
             (id, project_id, session_id, watcher_subject, watcher_name, started_at, lease_until)
         VALUES ($1, $2, $3, 'vera', 'Vera', now() - interval '2 minutes', now() - interval '1 minute')",
        &[&watch, &project, &f.session],
    )
    .await
    .unwrap();
    let historian = f.a.token("hank", PROJECT, &[Permission::ViewHistory]);
    let detail: Value =
        termaudit_tests::json(f.a.get(&path(f.session, ""), &historian).await, 200).await;
    assert_eq!(detail["watchers"], json!([]), "an expired lease is nobody watching");
    // A live replica ends it, with its entry in the audit log.
    let stops = stopped(&f.b, f.session, 1).await;
    assert_eq!(stops[0]["outcome"], "lost");
    assert_eq!(stops[0]["watch"], watch.to_string());
    let left: i64 =
        db.query_one("SELECT count(*) FROM recording_watches", &[]).await.unwrap().get(0);
    assert_eq!(left, 0);
    assert_eq!(watched(&f.a, f.session).await[0].0, "vera");
}

#[tokio::test]
async fn a_watcher_resumes_after_its_last_event_without_gap_or_duplicate() {
    let (f, _) = fixture().await;
    let mut sse = watch(&f.b, &f.viewer, f.session, None).await;
    assert_eq!(sse.expect().await.event, "init");
    let mut all = Vec::new();
    for seq in 1..3 {
        let (body, lines) = chunk(seq, 5);
        put_chunk(&f.a, &f.gateway, f.session, seq, body).await;
        all.extend(lines.iter().map(|l| canonical(l)));
    }
    // Seven read: chunk 1 whole, two lines of chunk 2; then the watcher goes.
    let mut got = outputs(&mut sse, 7).await;
    let last = got.last().unwrap().0.clone();
    assert_eq!(last, "2:3");
    drop(sse);
    stopped(&f.b, f.session, 1).await;

    for seq in 3..5 {
        let (body, lines) = chunk(seq, 5);
        put_chunk(&f.a, &f.gateway, f.session, seq, body).await;
        all.extend(lines.iter().map(|l| canonical(l)));
    }
    // Back on the other replica: no `init`, what follows the last id.
    let mut sse = watch(&f.a, &f.viewer, f.session, Some(&last)).await;
    got.extend(outputs(&mut sse, all.len() - 7).await);
    assert_eq!(got.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(), all);
    let ids: std::collections::BTreeSet<_> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), got.len(), "every id is new");

    // Resuming from the very end of an ended recording gives `end` alone.
    let close =
        f.a.post(&path(f.session, "/close"), &f.gateway, &json!({"reason": "user_exit"})).await;
    assert_eq!(close.status(), 200);
    assert_eq!(sse.expect().await.event, "end");
    let mut again = watch(&f.b, &f.viewer, f.session, Some("5:0")).await;
    assert_eq!(again.expect().await.event, "end");
    assert!(again.next().await.is_none());
    // An ended recording from the start: its terminal at the end, then `end`.
    let mut fresh = watch(&f.b, &f.viewer, f.session, None).await;
    let init = fresh.expect().await;
    assert_eq!((init.event.as_str(), init.id.as_deref()), ("init", Some("5:0")));
    assert_eq!(fresh.expect().await.event, "end");
}

#[tokio::test]
async fn a_revoke_ends_the_stream_saying_who_revoked() {
    let (f, _) = fixture().await;
    let mut sse = watch(&f.b, &f.viewer, f.session, None).await;
    assert_eq!(sse.expect().await.event, "init");
    let manager = f.a.token("pat", PROJECT, &[Permission::ManagePolicy]);
    let revoked =
        f.a.post(&path(f.session, "/revoke"), &manager, &json!({"reason": "incident 42"})).await;
    assert_eq!(revoked.status(), 200);
    // The gateway's last chunk, after the revoke, still reaches the watcher.
    let (body, lines) = chunk(1, 1);
    put_chunk(&f.a, &f.gateway, f.session, 1, body).await;
    let finalized = f.a.post(&path(f.session, "/recording/finalize"), &f.gateway, &json!({})).await;
    assert_eq!(finalized.status(), 204);
    assert_eq!(outputs(&mut sse, 1).await[0].1, canonical(&lines[0]));
    let end = sse.expect().await;
    assert_eq!(end.event, "end");
    let end: Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(end["close_reason"], "revoked");
    assert_eq!(end["revoked_by"]["subject"], "pat");
    assert_eq!(end["revoke_reason"], "incident 42");
    assert!(sse.next().await.is_none());
}

#[tokio::test]
async fn watching_needs_view_recording_in_the_sessions_project() {
    let (f, _) = fixture().await;
    let app = &f.a;
    let historian = app.token("hank", PROJECT, &[Permission::ViewHistory]);
    problem(request(app, &historian, f.session, None).await, 403, "forbidden").await;
    app.create_project("other").await;
    let outsider = app.token("otto", "other", &[Permission::ViewRecording]);
    problem(request(app, &outsider, f.session, None).await, 404, "not-found").await;
    let response =
        app.client.get(app.url(&path(f.session, "/recording/live"))).send().await.unwrap();
    assert_eq!(response.status(), 401);
    problem(request(app, &f.viewer, Uuid::now_v7(), None).await, 404, "not-found").await;
    let unrecorded = seed_session(app, PROJECT, EnvironmentClass::NonProduction, false).await;
    problem(request(app, &f.viewer, unrecorded, None).await, 404, "not-found").await;
    for bad in ["yesterday", "1", "-1:0", "2:0"] {
        problem(request(app, &f.viewer, f.session, Some(bad)).await, 400, "invalid-input").await;
    }
    // A policy that keeps non-production sessions from being watched:
    // production ones still can be.
    let manager = app.token("pat", PROJECT, &[Permission::ManagePolicy]);
    let closed = json!({"retention_days_production": 365, "retention_days_non_production": 90,
        "record_non_production": true, "require_reason_non_production": false,
        "reconnect_grace_seconds": 300, "watch_non_production": false});
    let stored: Value = termaudit_tests::json(
        app.put("/api/v1/projects/demo/policy", &manager, &closed).await,
        200,
    )
    .await;
    assert_eq!(stored["watch_non_production"], false);
    let refused = problem(request(app, &f.viewer, f.session, None).await, 403, "forbidden").await;
    assert!(refused["detail"].as_str().unwrap().contains("watch_non_production"), "{refused}");
    let production = seed_session(app, PROJECT, EnvironmentClass::Production, true).await;
    assert_eq!(request(app, &f.viewer, production, None).await.status(), 200);

    // Nothing of a refused request was audited.
    assert!(watched(app, f.session).await.is_empty());
    assert!(watched(app, unrecorded).await.is_empty());
}

#[tokio::test]
async fn an_idle_stream_gets_comment_lines_that_keep_it_open() {
    let (f, _) = fixture().await;
    let mut sse = watch(&f.b, &f.viewer, f.session, None).await;
    assert_eq!(sse.expect().await.event, "init");
    // Nothing arrives: a comment line does, within the reader's deadline.
    sse.stop_at_comment = true;
    assert!(sse.next().await.is_none());
    assert_eq!(sse.comments, 1);
    // And the stream goes on.
    sse.stop_at_comment = false;
    let (body, lines) = chunk(1, 1);
    put_chunk(&f.a, &f.gateway, f.session, 1, body).await;
    assert_eq!(outputs(&mut sse, 1).await[0].1, canonical(&lines[0]));
}

#[tokio::test]
async fn a_watcher_that_reads_nothing_is_cut_and_resumes_from_its_last_id() {
    let (f, first) = fixture().await;
    let mut sse = watch(&f.b, &f.viewer, f.session, None).await;
    assert_eq!(sse.expect().await.event, "init");
    drop(first);
    // About 36 MiB of output while the watcher reads nothing: far more than
    // its buffer on the server and the sockets' between them.
    let mut all = Vec::new();
    let text = "x".repeat(60_000);
    for seq in 1..13u32 {
        let mut body = String::new();
        for i in 0..50 {
            let line = format!("[{}.{i:02}, \"o\", \"{seq}/{i} {text}\\r\\n\"]", seq);
            body.push_str(&line);
            body.push('\n');
            all.push(canonical(&line));
        }
        put_chunk(&f.a, &f.gateway, f.session, seq, body).await;
    }
    let stops = stopped(&f.b, f.session, 1).await;
    assert_eq!(stops[0]["outcome"], "cut");

    // What was on its way still arrives, then the stream ends without `end`.
    let mut got = Vec::new();
    while let Some(frame) = sse.next().await {
        assert_eq!(frame.event, "output");
        got.push((frame.id.unwrap(), frame.data));
    }
    assert!(got.len() < all.len(), "cut before the end");
    let last = got.last().map_or_else(|| "1:0".to_owned(), |(id, _)| id.clone());
    let mut sse = watch(&f.a, &f.viewer, f.session, Some(&last)).await;
    let missing = all.len() - got.len();
    got.extend(outputs(&mut sse, missing).await);
    assert!(got.iter().map(|(_, d)| d).eq(all.iter()), "every event once, in order");
}

/// The events of a window (`GET .../recording/events`).
async fn window(app: &TestApp, token: &str, session: Uuid, from: &str) -> Value {
    let response = app.get(&path(session, &format!("/recording/events?from={from}")), token).await;
    termaudit_tests::json(response, 200).await
}

#[tokio::test]
async fn a_recording_still_arriving_plays_seeks_and_searches_up_to_its_last_chunk() {
    let (f, mut outputs_so_far) = fixture().await;
    let app = &f.a;
    for seq in 1..3 {
        let (body, lines) = chunk(seq, 4);
        put_chunk(app, &f.gateway, f.session, seq, body).await;
        outputs_so_far.extend(lines);
    }
    let outputs_so_far: Vec<String> = outputs_so_far.iter().map(|l| canonical(l)).collect();
    let summary: Value =
        termaudit_tests::json(app.get(&path(f.session, "/recording"), &f.viewer).await, 200).await;
    assert_eq!(summary["state"], "recording");
    assert_eq!(summary["duration"], 2.03, "the duration so far");
    assert_eq!(summary["chunks"], 3);

    // Played from the start: every event that has arrived.
    let all = window(app, &f.viewer, f.session, "0").await;
    let played: Vec<String> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e[1] == "o")
        .map(|e| canonical(&e.to_string()))
        .collect();
    assert_eq!(played, outputs_so_far);
    // Sought past its last event: the terminal there is the live stream's.
    let edge = window(app, &f.viewer, f.session, "2.5").await;
    assert_eq!(edge["events"], json!([]));
    let mut sse = watch(&f.b, &f.viewer, f.session, None).await;
    let init: Value = serde_json::from_str(&sse.expect().await.data).unwrap();
    assert_eq!(edge["state"]["init"], init["init"]);
    // Sought into the middle: a replay up to there.
    let middle = window(app, &f.viewer, f.session, "1.02").await;
    let mut replay = Replay::new(40, 6);
    let mut decoder = Decoder::resume(termaudit_domain::asciicast::Version::V2, Default::default());
    for line in outputs_so_far
        .iter()
        .filter(|l| !l.starts_with("[1.02") && !l.starts_with("[1.03") && !l.starts_with("[2."))
    {
        replay.apply(&decoder.decode_line(line).unwrap().unwrap());
    }
    assert_eq!(middle["state"]["init"], replay.snapshot().init);

    // Searched: up to the last chunk, and the next one once it arrives.
    let search = |q: &'static str| {
        let (app, viewer, session) = (app, f.viewer.clone(), f.session);
        async move {
            let url = path(session, &format!("/recording/search?q={}", q.replace(' ', "%20")));
            termaudit_tests::json::<Value>(app.get(&url, &viewer).await, 200).await
        }
    };
    assert_eq!(search("chunk 2 line 3").await["matches"][0]["time"], 2.03);
    assert_eq!(search("chunk 3 line 1").await["matches"], json!([]));
    let (body, _) = chunk(3, 4);
    put_chunk(app, &f.gateway, f.session, 3, body).await;
    // The search reads the recording's text, which follows the chunks by
    // the emulation's lag.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let found = loop {
        let found = search("chunk 3 line 1").await;
        if found["matches"] != json!([]) || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // On the screen still: found at a moment it shows, up to the edge.
    let time = found["matches"][0]["time"].as_f64().expect("a match");
    assert!((3.01..=3.03).contains(&time), "{found}");
    let summary: Value =
        termaudit_tests::json(app.get(&path(f.session, "/recording"), &f.viewer).await, 200).await;
    assert_eq!(
        (summary["state"].as_str(), summary["duration"].as_f64()),
        (Some("recording"), Some(3.03))
    );
}
