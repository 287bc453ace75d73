//! The recordings' terminal emulation, off the ingest's path: chunks are
//! answered before they are emulated, reads are right while the emulation
//! lags, a finalized recording gets its snapshots afterwards, and replicas
//! share the work through leases (each chunk emulated once; a dead holder's
//! lease taken over). Bounds on waiting are for liveness only.

use std::{sync::Arc, time::Duration};

use serde_json::Value;
use termaudit_domain::{
    EnvironmentClass, Permission,
    asciicast::{Decoder, Event, EventCode, Micros, Replay, TerminalSnapshot},
};
use termaudit_emulation::EmulationHook;
use termaudit_tests::{
    TestApp,
    emulation::{
        Recorder, RecorderHook, assert_snapshots_equal_a_replay_from_zero, busy_chunks,
        wait_until_emulated,
    },
    json,
    seed::{end_session, seed_session},
};
use uuid::Uuid;

const PROJECT: &str = "demo";
const WITHIN: Duration = Duration::from_secs(120);

fn path(session: Uuid, rest: &str) -> String {
    format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording{rest}")
}

async fn put_chunk(app: &TestApp, token: &str, session: Uuid, seq: u32, body: &str) -> u16 {
    app.client
        .put(app.url(&path(session, &format!("/chunks/{seq}"))))
        .bearer_auth(token)
        .header("content-type", "application/x-asciicast")
        .body(body.to_owned())
        .send()
        .await
        .expect("the request is sent")
        .status()
        .as_u16()
}

async fn upload(app: &TestApp, token: &str, session: Uuid, chunks: &[String], from: u32) {
    for (seq, body) in chunks.iter().enumerate().skip(from as usize) {
        let seq = u32::try_from(seq).unwrap();
        assert_eq!(put_chunk(app, token, session, seq, body).await, 201, "chunk {seq}");
    }
}

/// The value of a `/metrics` gauge.
pub(super) async fn gauge(app: &TestApp, name: &str) -> f64 {
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// Every event of the chunks, as the parser reads them.
fn events(chunks: &[String]) -> Vec<Event> {
    let text: String = chunks.concat();
    let mut lines = text.lines();
    let (_, mut decoder) = Decoder::from_header_line(lines.next().unwrap()).unwrap();
    lines.filter_map(|l| decoder.decode_line(l).unwrap()).collect()
}

/// Windows at several points equal a replay from zero: the state at `from`
/// and the events up to `to`.
async fn assert_windows_equal_a_replay(
    app: &TestApp,
    token: &str,
    session: Uuid,
    events: &[Event],
) {
    let end = events.last().map_or(Micros::ZERO, |e| e.time);
    let mut points = vec![Micros::ZERO, Micros(end.0 + 1)];
    for k in 1..6u64 {
        points.push(Micros(end.0 / 6 * k));
    }
    for from in points {
        let to = Micros(from.0 + 10_000_000);
        let query = format!("/events?from={from}&to={to}");
        let body: Value = json(app.get(&path(session, &query), token).await, 200).await;
        let state = &body["state"];
        let mut seeked = Replay::restore(&TerminalSnapshot {
            cols: state["cols"].as_u64().unwrap() as u16,
            rows: state["rows"].as_u64().unwrap() as u16,
            init: state["init"].as_str().unwrap().to_owned(),
        });
        let mut reference = Replay::new(80, 24);
        for event in events.iter().filter(|e| e.time < from) {
            reference.apply(event);
        }
        assert_eq!(seeked.screen_text(), reference.screen_text(), "at {from}");
        assert_eq!(seeked.cursor(), reference.cursor(), "at {from}");
        let window: Vec<&Event> = events.iter().filter(|e| e.time >= from && e.time < to).collect();
        assert_eq!(body["events"].as_array().unwrap().len(), window.len(), "{from}..{to}");
        for event in window {
            seeked.apply(event);
            reference.apply(event);
        }
        assert_eq!(seeked.screen_text(), reference.screen_text(), "at {to}");
    }
}

#[tokio::test]
async fn chunks_are_answered_unemulated_and_reads_stay_right_until_a_replica_catches_up() {
    // This replica stores and serves, and emulates nothing.
    let app = TestApp::spawn_with(Box::new(|s| s.emulation_workers = 0)).await;
    app.create_project(PROJECT).await;
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
    let viewer = app.token("vera", PROJECT, &[Permission::ViewRecording]);
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let chunks = busy_chunks("lagging", 30, 80);
    upload(&app, &gateway, session, &chunks, 0).await;

    // Every chunk was answered; none is emulated.
    assert_eq!(gauge(&app, "termaudit_emulation_lag_chunks").await, 30.0);
    assert_eq!(gauge(&app, "termaudit_emulation_recordings_behind").await, 1.0);
    assert!(gauge(&app, "termaudit_emulation_lag_seconds").await >= 0.0);
    assert!(app.store.recording_snapshots(session).await.unwrap().is_empty());

    // Reads do not wait for it: windows replay from the start (there is no
    // snapshot) and the download reads the chunks. Search reads the text
    // the emulation extracts: nothing yet.
    let events = events(&chunks);
    assert_windows_equal_a_replay(&app, &viewer, session, &events).await;
    let search = path(session, "/search?q=lagging%20chunk%2029%20line%2079");
    let found: Value = json(app.get(&search, &viewer).await, 200).await;
    assert_eq!(found["matches"], serde_json::json!([]), "{found}");

    // Finalization does not wait either: the recording is final and its
    // emulation still behind.
    end_session(&app, session).await;
    let recording: Value = json(app.get(&path(session, ""), &viewer).await, 200).await;
    assert_eq!(recording["state"], "available");
    assert_eq!(gauge(&app, "termaudit_emulation_lag_chunks").await, 30.0);

    // A replica that emulates catches it up: the snapshots a replay from
    // zero keeps, and the recording's emulation is over.
    let worker = app.spawn_replica_with(Box::new(|_| {}), Vec::new()).await;
    wait_until_emulated(&worker.db, WITHIN).await.expect("the emulation catches up");
    let db = app.db.connect().await;
    let snapshots = assert_snapshots_equal_a_replay_from_zero(&app.store, &db, session).await;
    assert!(snapshots >= 3, "{snapshots} snapshots");
    let rows: i64 =
        db.query_one("SELECT count(*) FROM recording_emulation", &[]).await.unwrap().get(0);
    assert_eq!(rows, 0, "a finalized recording's emulation ends when complete");
    assert_eq!(gauge(&app, "termaudit_emulation_lag_chunks").await, 0.0);
    assert_eq!(gauge(&app, "termaudit_emulation_lag_seconds").await, 0.0);
    assert_windows_equal_a_replay(&app, &viewer, session, &events).await;
    let found: Value = json(app.get(&search, &viewer).await, 200).await;
    assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");
}

#[tokio::test]
async fn the_emulation_waits_while_a_bulk_upload_lasts_then_catches_up() {
    // Any chunk counts as a bulk upload here (the default is 16 MiB a
    // second); the emulation waits 3 s at most for it.
    let app = TestApp::spawn_with(Box::new(|s| {
        s.bulk_ingest_bytes_per_second = 1;
        s.yield_to_ingest = Duration::from_secs(3);
    }))
    .await;
    app.create_project(PROJECT).await;
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let chunks = busy_chunks("bulk", 30, 80);

    // While chunks come, the worker the first one woke waits.
    let yielded = |app| gauge(app, "termaudit_yielded_to_ingest_seconds_total");
    let mut sent = 0;
    while sent < chunks.len() && (sent < 5 || yielded(&app).await == 0.0) {
        let seq = u32::try_from(sent).unwrap();
        assert_eq!(put_chunk(&app, &gateway, session, seq, &chunks[sent]).await, 201);
        sent += 1;
    }
    assert!(yielded(&app).await > 0.0, "the emulation never waited for {sent} chunks");
    upload(&app, &gateway, session, &chunks, u32::try_from(sent).unwrap()).await;
    end_session(&app, session).await;

    // Once the upload is over (or the 3 s are spent), it catches up: the
    // snapshots a replay from zero keeps, and nothing is behind.
    wait_until_emulated(&app.db, WITHIN).await.expect("the emulation catches up");
    let db = app.db.connect().await;
    let snapshots = assert_snapshots_equal_a_replay_from_zero(&app.store, &db, session).await;
    assert!(snapshots >= 3, "{snapshots} snapshots");
    assert_eq!(gauge(&app, "termaudit_emulation_lag_chunks").await, 0.0);
}

/// Whether `session`'s stored chunks are all emulated.
async fn emulated(db: &tokio_postgres::Client, session: Uuid) -> bool {
    db.query_one(
        "SELECT coalesce((SELECT e.next_seq >= r.next_seq FROM recording_emulation e
                          WHERE e.session_id = r.session_id), r.finalized_at IS NOT NULL)
         FROM recordings r WHERE r.session_id = $1",
        &[&session],
    )
    .await
    .unwrap()
    .get(0)
}

async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "not within {WITHIN:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn replicas_emulate_each_chunk_once_and_take_over_a_dead_holders_recordings() {
    const LEASE: Duration = Duration::from_secs(10);
    // C stores (no emulation); A and B emulate. The lease is short so the
    // takeover below comes soon, but long enough that a busy machine's
    // stalls (seconds, under a loaded CI) do not let a live holder's lease
    // run out: renewals come every third of it.
    let c = TestApp::spawn_with(Box::new(|s| s.emulation_workers = 0)).await;
    c.create_project(PROJECT).await;
    let gateway = c.token("gateway", PROJECT, &[Permission::Ingest]);
    let stuck = seed_session(&c, PROJECT, EnvironmentClass::Production, true).await;
    let mut shared = Vec::new();
    for _ in 0..6 {
        shared.push(seed_session(&c, PROJECT, EnvironmentClass::Production, true).await);
    }
    let lease = |s: &mut termaudit_server::Settings| {
        s.emulation_lease = LEASE;
        s.emulation_workers = 4;
    };
    // A's hook never returns from chunk 2 of `stuck`: its worker holds the
    // recording (renewing the lease) without getting further.
    let on_a = Recorder::holding(stuck, 2);
    let a = c
        .spawn_replica_with(
            Box::new(lease),
            vec![Arc::new(RecorderHook(on_a.clone())) as Arc<dyn EmulationHook>],
        )
        .await;
    let stuck_chunks = busy_chunks("stuck", 8, 40);
    upload(&a, &gateway, stuck, &stuck_chunks, 0).await;
    on_a.holding.notified().await;

    let on_b = Recorder::new();
    let b = c
        .spawn_replica_with(
            Box::new(lease),
            vec![Arc::new(RecorderHook(on_b.clone())) as Arc<dyn EmulationHook>],
        )
        .await;

    // Recordings uploaded through both replicas while both emulate: every
    // chunk is emulated once, by one of them.
    let db = c.db.connect().await;
    let mut uploads = Vec::new();
    for (i, session) in shared.iter().copied().enumerate() {
        let through = if i % 2 == 0 { a.address.clone() } else { b.address.clone() };
        let (client, token) = (c.client.clone(), gateway.clone());
        uploads.push(tokio::spawn(async move {
            for (seq, body) in busy_chunks(&format!("shared {i}"), 12, 40).into_iter().enumerate() {
                let status = client
                    .put(format!(
                        "{through}/api/v1/projects/{PROJECT}/sessions/{session}/recording/chunks/{seq}"
                    ))
                    .bearer_auth(&token)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 201, "chunk {seq} of {session}");
            }
        }));
    }
    for upload in uploads {
        upload.await.unwrap();
    }
    for &session in &shared {
        eventually("the shared recordings are emulated", || emulated(&db, session)).await;
    }
    let mut both: Vec<(Uuid, u32)> =
        on_a.delivered().into_iter().chain(on_b.delivered()).filter(|(s, _)| *s != stuck).collect();
    both.sort();
    let expected: Vec<(Uuid, u32)> = {
        let mut e: Vec<_> = shared.iter().flat_map(|&s| (0..12).map(move |q| (s, q))).collect();
        e.sort();
        e
    };
    assert_eq!(both, expected, "each chunk of the shared recordings emulated exactly once");
    println!(
        "chunks emulated by A: {}, by B: {}",
        on_a.delivered().iter().filter(|(s, _)| *s != stuck).count(),
        on_b.delivered().iter().filter(|(s, _)| *s != stuck).count()
    );
    for &session in &shared {
        end_session(&c, session).await;
        assert_snapshots_equal_a_replay_from_zero(&c.store, &db, session).await;
    }

    // While A lives it renews its lease: B does not take `stuck` over,
    // however long it waits (here a lease and a half).
    tokio::time::sleep(LEASE * 3 / 2).await;
    assert!(on_b.of(stuck).is_empty(), "B took over a live lease: {:?}", on_b.of(stuck));
    let position: i32 = db
        .query_one("SELECT next_seq FROM recording_emulation WHERE session_id = $1", &[&stuck])
        .await
        .unwrap()
        .get(0);
    assert!(position <= 2, "A recorded no progress past the chunk it holds: {position}");

    // A dies holding the lease; B takes the recording over once it expires
    // and goes on from A's last recorded position: the chunks after it come
    // again (at least once), none is skipped.
    a.crash().await;
    upload(&b, &gateway, stuck, &busy_chunks("stuck", 12, 40), 8).await;
    eventually("B emulates `stuck`", || emulated(&db, stuck)).await;
    let from = u32::try_from(position).unwrap();
    assert_eq!(on_b.of(stuck), (from..12).collect::<Vec<_>>());
    // A delivered what came before the chunk it held; how much of that it
    // recorded as done depends on how the chunks fell into its batches
    // (the hook runs before a batch's progress is written), so B's
    // deliveries start at or before where A's ended.
    assert_eq!(on_a.of(stuck), vec![0, 1]);
    end_session(&c, stuck).await;
    wait_until_emulated(&c.db, WITHIN).await.expect("every emulation completes");
    assert_snapshots_equal_a_replay_from_zero(&c.store, &db, stuck).await;
    assert!(on_b.finished.lock().unwrap().contains(&(stuck, 12)));
    // The hooks saw the same screens a replay shows.
    let mut reference = Replay::new(80, 24);
    let all = busy_chunks("stuck", 12, 40);
    for event in
        events(&all).iter().filter(|e| e.code == EventCode::Output || e.code == EventCode::Resize)
    {
        reference.apply(event);
    }
    assert_eq!(on_b.screens.lock().unwrap().get(&(stuck, 11)), Some(&reference.screen_text()));
}
