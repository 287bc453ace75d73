//! Recordings, end to end: real asciicast files uploaded in chunks, then
//! played, searched and downloaded back.

use chrono::Duration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use termaudit_domain::{
    EnvironmentClass, Permission,
    asciicast::{Decoder, Event, EventCode, Micros, Replay, TerminalSnapshot},
};
use termaudit_tests::{
    TestApp, fixture, json,
    moto::{Moto, wait_until_compacted},
    problem,
    seed::{add_activity, end_session, opened_at, project_id, seed_session, try_seed_session},
};
use uuid::Uuid;

const PROJECT: &str = "demo";
pub(super) const FIXTURES: [&str; 5] =
    ["colours.cast", "alt-screen.cast", "resize-unicode.cast", "idle-gaps.cast", "input-v3.cast"];

struct Tokens {
    gateway: String,
    viewer: String,
    downloader: String,
}

async fn setup() -> (TestApp, Tokens) {
    let (app, tokens, _) = setup_on(Backend::Postgres).await;
    (app, tokens)
}

/// Where recordings' bytes go: the tests that matter run with both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    /// Compacted into objects on a moto S3 server (`Moto`).
    S3,
}

/// A server storing recordings on `backend`, and the moto server it uses.
async fn setup_on(backend: Backend) -> (TestApp, Tokens, Option<Moto>) {
    let moto = match backend {
        Backend::Postgres => None,
        Backend::S3 => Some(Moto::start().await),
    };
    let app = match &moto {
        None => TestApp::spawn().await,
        Some(moto) => TestApp::spawn_with(moto.configure("recordings")).await,
    };
    app.create_project(PROJECT).await;
    let tokens = Tokens {
        gateway: app.token("gateway", PROJECT, &[Permission::Ingest]),
        viewer: app.token("vera", PROJECT, &[Permission::ViewRecording]),
        downloader: app.token("dan", PROJECT, &[Permission::DownloadRecording]),
    };
    (app, tokens, moto)
}

/// With [`Backend::S3`], waits until PostgreSQL holds none of the bytes of
/// `session`'s (ended) recording: its reads then come from objects.
async fn compacted(app: &TestApp, backend: Backend, session: Uuid) {
    if backend == Backend::S3 {
        wait_until_compacted(&app.db, session, std::time::Duration::from_secs(120))
            .await
            .unwrap_or_else(|left| panic!("not compacted in 2 minutes: {left:?} left"));
    }
}

pub(super) fn path(session: Uuid, rest: &str) -> String {
    format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording{rest}")
}

pub(super) fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("casts/{name}"))).expect("the fixture exists")
}

/// The file's lines cut into chunks of `per_chunk` lines (chunk 0 starts
/// with the header).
fn chunks(cast: &str, per_chunk: usize) -> Vec<String> {
    let lines: Vec<&str> = cast.lines().collect();
    lines.chunks(per_chunk).map(|c| c.join("\n") + "\n").collect()
}

pub(super) async fn put_chunk(
    app: &TestApp,
    token: &str,
    session: Uuid,
    seq: u32,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .put(app.url(&path(session, &format!("/chunks/{seq}"))))
        .bearer_auth(token)
        .header("content-type", "application/x-asciicast")
        .body(body)
        .send()
        .await
        .expect("the request is sent")
}

pub(super) async fn upload(
    app: &TestApp,
    token: &str,
    session: Uuid,
    cast: &str,
    per_chunk: usize,
) {
    for (seq, body) in chunks(cast, per_chunk).into_iter().enumerate() {
        let seq = u32::try_from(seq).expect("few chunks");
        let receipt: Value = json(put_chunk(app, token, session, seq, body).await, 201).await;
        assert_eq!(receipt["seq"], seq);
        assert_eq!(receipt["repeated"], false);
    }
}

/// Header and events of a cast file, as the domain parser reads it.
pub(super) fn parse(cast: &str) -> (String, Vec<Event>) {
    let mut lines = cast.lines();
    let (header, mut decoder) =
        Decoder::from_header_line(lines.next().expect("a header")).expect("a valid header");
    let events = lines.filter_map(|l| decoder.decode_line(l).expect("a valid line")).collect();
    (header.to_line(), events)
}

async fn download(app: &TestApp, token: &str, session: Uuid) -> reqwest::Response {
    app.get(&path(session, "/download"), token).await
}

async fn chunk_state(app: &TestApp, session: Uuid) -> Vec<(i32, Vec<u8>)> {
    let db = app.db.connect().await;
    db.query(
        "SELECT seq, upload_sha256 FROM recording_chunks WHERE session_id = $1 ORDER BY seq",
        &[&session],
    )
    .await
    .expect("a query")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn every_fixture_downloads_with_identical_events_and_its_digest() {
    fixtures_round_trip(Backend::Postgres).await;
}

#[tokio::test]
async fn every_fixture_downloads_with_identical_events_and_its_digest_from_s3() {
    fixtures_round_trip(Backend::S3).await;
}

async fn fixtures_round_trip(backend: Backend) {
    let (app, t, _moto) = setup_on(backend).await;
    for (i, name) in FIXTURES.iter().enumerate() {
        let cast = read_fixture(name);
        let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &t.gateway, session, &cast, 3 + i).await;

        let live: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
        assert_eq!(live["state"], "recording", "{name}: {live}");
        assert!(live.get("sha256").is_none());
        end_session(&app, session).await;
        compacted(&app, backend, session).await;

        let (header, events) = parse(&cast);
        let response = download(&app, &t.downloader, session).await;
        assert_eq!(response.status(), 200, "{name}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/x-asciicast");
        let disposition = headers["content-disposition"].to_str().expect("ascii");
        assert!(disposition.starts_with("attachment; filename=\"demo_web-"), "{disposition}");
        assert!(disposition.ends_with(".cast\""), "{disposition}");
        let body = response.bytes().await.expect("a body");
        let digest = hex(&Sha256::digest(&body));
        assert_eq!(headers["x-recording-sha256"], digest.as_str());
        assert_eq!(headers["etag"], format!("\"sha256-{digest}\"").as_str());
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
        assert_eq!(headers["accept-ranges"], "bytes");
        assert!(headers["repr-digest"].to_str().expect("ascii").starts_with("sha-256=:"));

        let text = String::from_utf8(body.to_vec()).expect("UTF-8");
        let (got_header, got_events) = parse(&text);
        assert_eq!(got_header, header, "{name}");
        assert_eq!(got_events, events, "{name}: the events come back identical");
        // The file is exactly the canonical v2 lines.
        let expected: String = std::iter::once(header.clone())
            .chain(events.iter().map(Event::to_line))
            .map(|l| l + "\n")
            .collect();
        assert_eq!(text, expected, "{name}");

        let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
        assert_eq!(summary["state"], "available", "{name}");
        assert_eq!(summary["sha256"], digest);
        assert_eq!(summary["size_bytes"], body.len());
        assert_eq!(summary["event_count"], events.len());
        let last = events.last().map_or(Micros::ZERO, |e| e.time);
        assert_eq!(summary["duration"], json!(last.to_string().parse::<f64>().expect("f64")));
        let uploaded_markers: Vec<&str> = events
            .iter()
            .filter(|e| e.code == EventCode::Marker)
            .map(|e| e.data.as_str())
            .collect();
        let markers: Vec<&str> = summary["markers"]
            .as_array()
            .expect("markers")
            .iter()
            .map(|m| m["label"].as_str().expect("a label"))
            .collect();
        assert_eq!(markers, uploaded_markers, "{name}");
        let expires: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(summary["expires_at"].clone()).expect("a time");
        let finalized: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(summary["finalized_at"].clone()).expect("a time");
        assert_eq!(expires - finalized, Duration::days(365), "production default retention");
    }
    // Each download was audited, each finalization too.
    let db = app.db.connect().await;
    let counts = db
        .query_one(
            "SELECT count(*) FILTER (WHERE event_type = 'recording.downloaded' AND actor_subject = 'dan'),
                    count(*) FILTER (WHERE event_type = 'recording.finalized')
             FROM audit_events",
            &[],
        )
        .await
        .expect("a query");
    assert_eq!((counts.get::<_, i64>(0), counts.get::<_, i64>(1)), (5, 5));
}

#[tokio::test]
async fn chunks_over_a_mebibyte_download_exactly() {
    big_chunks_round_trip(Backend::Postgres).await;
}

#[tokio::test]
async fn chunks_over_a_mebibyte_download_exactly_from_s3() {
    big_chunks_round_trip(Backend::S3).await;
}

async fn big_chunks_round_trip(backend: Backend) {
    let (app, t, _moto) = setup_on(backend).await;
    let cast = busy_cast_of(4600, 20);
    assert!(cast.len() > 5 << 19, "{} bytes", cast.len());
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, session, &cast, 2300).await;
    end_session(&app, session).await;
    compacted(&app, backend, session).await;
    let response = download(&app, &t.downloader, session).await;
    assert_eq!(response.status(), 200);
    let digest = response.headers()["x-recording-sha256"].to_str().expect("ascii").to_owned();
    let body = response.bytes().await.expect("a body");
    assert_eq!(hex(&Sha256::digest(&body)), digest);
    let (header, events) = parse(&cast);
    let expected: String = std::iter::once(header)
        .chain(events.iter().map(Event::to_line))
        .map(|l| l + "\n")
        .collect();
    assert!(body == expected.as_bytes(), "the download is the canonical lines");
}

/// The screen after every event before `time`, replayed from zero.
fn replay_until(header_width: u16, header_height: u16, events: &[Event], time: Micros) -> Replay {
    let mut replay = Replay::new(header_width, header_height);
    for event in events.iter().filter(|e| e.time < time) {
        replay.apply(event);
    }
    replay
}

async fn window(app: &TestApp, token: &str, session: Uuid, from: &str, to: Option<&str>) -> Value {
    let query = match to {
        Some(to) => format!("?from={from}&to={to}"),
        None => format!("?from={from}"),
    };
    json(app.get(&path(session, &format!("/events{query}")), token).await, 200).await
}

/// A long recording whose output passes the snapshot interval several times.
fn busy_cast() -> String {
    busy_cast_of(6000, 2)
}

/// `lines` coloured lines of `words` times two words each, an alternate
/// screen from line 3000 to 4000 and a resize there.
fn busy_cast_of(lines: u32, words: usize) -> String {
    let mut cast = String::from("{\"version\": 2, \"width\": 80, \"height\": 24}\n");
    for i in 0..lines {
        let time = f64::from(i) * 0.05;
        let colour = 31 + i % 7;
        let line = format!(
            "\u{1b}[{colour}mline {i:05}\u{1b}[0m {}\r\n",
            "lorem ipsum dolor sit amet ".repeat(words)
        );
        cast.push_str(&Event::output(Micros((time * 1e6).round() as u64), line).to_line());
        cast.push('\n');
        if i == 3000 {
            cast.push_str(&format!("[{time}, \"o\", \"\\u001b[?1049h\\u001b[Hfull screen\"]\n"));
        }
        if i == 4000 {
            cast.push_str(&format!("[{time}, \"o\", \"\\u001b[?1049l\"]\n"));
            cast.push_str(&format!("[{time}, \"r\", \"100x30\"]\n"));
        }
    }
    cast
}

#[tokio::test]
async fn seeking_anywhere_equals_a_replay_from_zero() {
    seeking_equals_replay(Backend::Postgres).await;
}

#[tokio::test]
async fn seeking_anywhere_equals_a_replay_from_zero_from_s3() {
    seeking_equals_replay(Backend::S3).await;
}

async fn seeking_equals_replay(backend: Backend) {
    let (app, t, _moto) = setup_on(backend).await;
    let busy = busy_cast();
    let casts = [
        ("alt-screen", read_fixture("alt-screen.cast"), 4),
        ("idle-gaps", read_fixture("idle-gaps.cast"), 3),
        ("input-v3", read_fixture("input-v3.cast"), 5),
        ("resize-unicode", read_fixture("resize-unicode.cast"), 4),
        ("busy", busy, 500),
        // Chunks over 1 MiB are compressed in parts while they are played.
        ("busy, chunks of 1.3 MiB", busy_cast_of(4600, 20), 2300),
    ];
    for (name, cast, per_chunk) in casts {
        let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &t.gateway, session, &cast, per_chunk).await;
        if backend == Backend::S3 {
            // Seeking from objects: snapshots and chunks compacted.
            end_session(&app, session).await;
            compacted(&app, backend, session).await;
        }
        assert_seeks_equal_replay(&app, &t.viewer, session, name, &cast).await;
    }
    // The busy recording has snapshots to start from, once the emulation
    // (off the request's path) has caught up.
    termaudit_tests::emulation::wait_until_emulated(&app.db, std::time::Duration::from_secs(120))
        .await
        .expect("the emulation catches up");
    let db = app.db.connect().await;
    let snapshots: i64 = db
        .query_one("SELECT count(*) FROM recording_snapshots", &[])
        .await
        .expect("a query")
        .get(0);
    assert!(snapshots >= 4, "{snapshots} snapshots");
}

/// Windows of `session` (a recording of `cast`) from several points (the
/// start, event times, between events, the end and past it) hold the
/// terminal and the events a replay from zero gives.
async fn assert_seeks_equal_replay(
    app: &TestApp,
    viewer: &str,
    session: Uuid,
    name: &str,
    cast: &str,
) {
    let (header_line, events) = parse(cast);
    let header: Value = serde_json::from_str(&header_line).expect("JSON");
    let (w, h) =
        (header["width"].as_u64().unwrap() as u16, header["height"].as_u64().unwrap() as u16);
    let end = events.last().map_or(Micros::ZERO, |e| e.time);
    // Several points: start, event times, between events, the end and past it.
    let mut points: Vec<Micros> = vec![Micros::ZERO, Micros(1), end, Micros(end.0 + 1)];
    for k in 1..8usize {
        points.push(Micros(end.0 / 8 * k as u64));
        points.push(events[events.len() * k / 8].time);
    }
    for from in points {
        let to = Micros(from.0 + end.0 / 5 + 1);
        let body = window(app, viewer, session, &from.to_string(), Some(&to.to_string())).await;
        let state = &body["state"];
        let snapshot = TerminalSnapshot {
            cols: state["cols"].as_u64().unwrap() as u16,
            rows: state["rows"].as_u64().unwrap() as u16,
            init: state["init"].as_str().unwrap().to_owned(),
        };
        let mut seeked = Replay::restore(&snapshot);
        let reference = replay_until(w, h, &events, from);
        assert_eq!(seeked.screen_text(), reference.screen_text(), "{name} at {from}");
        assert_eq!(seeked.cursor(), reference.cursor(), "{name} at {from}");

        let expected: Vec<&Event> =
            events.iter().filter(|e| e.time >= from && e.time < to).collect();
        let got = body["events"].as_array().expect("events");
        assert_eq!(got.len(), expected.len(), "{name} window {from}..{to}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, &serde_json::from_str::<Value>(&e.to_line()).unwrap());
            seeked.apply(e);
        }
        let reference = replay_until(w, h, &events, to);
        assert_eq!(seeked.screen_text(), reference.screen_text(), "{name} at {to}");
    }
}

/// A compaction pass waits while the replica ingests a bulk upload, for
/// as long as `yield_to_ingest` allows, then compacts all the same.
#[tokio::test]
async fn a_compaction_pass_waits_for_a_bulk_upload_then_goes_on() {
    let moto = Moto::start().await;
    let db = std::sync::Arc::new(termaudit_tests::TestDatabase::create().await);
    // The test runs the passes itself.
    let lock = termaudit_tests::moto::hold_compactor(&db).await;
    let configure = moto.configure("yield");
    let app = TestApp::spawn_on_database(
        db,
        Box::new(move |s| {
            configure(s);
            // Any chunk counts as a bulk upload here.
            s.bulk_ingest_bytes_per_second = 1;
        }),
    )
    .await;
    app.create_project(PROJECT).await;
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &gateway, session, &busy_cast_of(600, 6), 100).await;
    end_session(&app, session).await;
    termaudit_tests::emulation::wait_until_emulated(&app.db, std::time::Duration::from_secs(120))
        .await
        .expect("the emulation catches up");

    // Another recording is uploaded while the pass runs.
    let bulk = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let uploading = tokio::spawn({
        let (client, gateway) = (app.client.clone(), gateway.clone());
        let url = app.url(&path(bulk, ""));
        let mut body = String::from("{\"version\": 2, \"width\": 80, \"height\": 24}\n");
        async move {
            for seq in 0u32.. {
                body.push_str(&format!("[{seq}, \"o\", \"chunk {seq}\\r\\n\"]\n"));
                let put = client.put(format!("{url}/chunks/{seq}")).bearer_auth(&gateway);
                let response = put.body(std::mem::take(&mut body)).send().await;
                assert_eq!(response.expect("the chunk is sent").status(), 201);
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !app.store.busy_ingesting() {
        assert!(std::time::Instant::now() < deadline, "the upload did not start");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let options = termaudit_storage::CompactOptions {
        min_object_bytes: 1,
        yield_to_ingest: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let report = app.store.compact_once(options).await.expect("a pass");
    uploading.abort();
    assert!(report.deferred >= options.yield_to_ingest, "{report:?}");
    assert!(report.objects >= 1, "{report:?}");
    wait_until_compacted(&app.db, session, std::time::Duration::from_secs(1))
        .await
        .expect("nothing of the recording is left in PostgreSQL");
    lock.release().await.expect("released");
}

/// From objects a seek starts with one ranged read: the compactor puts
/// each snapshot right before the chunk after it. The test holds the
/// compactor's lock (as `recording_1gb` does) so that it compacts once the
/// emulation has made every snapshot, into objects small enough that the
/// recording takes several.
#[tokio::test]
async fn in_objects_each_snapshot_lies_right_before_the_chunk_after_it() {
    let moto = Moto::start().await;
    let db = std::sync::Arc::new(termaudit_tests::TestDatabase::create().await);
    let lock = termaudit_tests::moto::hold_compactor(&db).await;
    let app = TestApp::spawn_on_database(db, moto.configure("layout")).await;
    app.create_project(PROJECT).await;
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
    let viewer = app.token("vera", PROJECT, &[Permission::ViewRecording]);
    let cast = busy_cast_of(6000, 6);
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &gateway, session, &cast, 250).await;
    end_session(&app, session).await;
    termaudit_tests::emulation::wait_until_emulated(&app.db, std::time::Duration::from_secs(120))
        .await
        .expect("the emulation catches up");
    // Objects of a quarter of the chunks' bytes: four or five of them.
    let db = app.db.connect().await;
    let stored = termaudit_tests::moto::chunk_bytes_in_postgres(&db, session).await;
    let options = termaudit_storage::CompactOptions {
        min_object_bytes: 1,
        max_object_bytes: stored / 4,
        ..Default::default()
    };
    // One pass packs the whole finalized recording, its last object
    // pointed at like the others.
    let report = app.store.compact_once(options).await.expect("a pass");
    assert_eq!(app.store.compact_once(options).await.expect("a pass").objects, 0);
    wait_until_compacted(&app.db, session, std::time::Duration::from_secs(1))
        .await
        .expect("nothing of the recording is left in PostgreSQL");

    let objects: i64 = db
        .query_one("SELECT count(*) FROM recording_objects WHERE session_id = $1", &[&session])
        .await
        .expect("a query")
        .get(0);
    assert!(objects >= 3, "{objects} objects");
    assert_eq!(report.objects as i64, objects, "{report:?}");
    let chunks: i64 = db
        .query_one("SELECT count(*) FROM recording_chunks WHERE session_id = $1", &[&session])
        .await
        .expect("a query")
        .get(0);
    assert_eq!(report.chunks as i64, chunks, "{report:?}");
    // Every snapshot with a chunk after it, and where that chunk starts.
    let pairs = db
        .query(
            "SELECT s.after_seq, s.object_id, s.object_offset + s.object_length,
                    c.object_id, c.object_offset
             FROM recording_snapshots AS s
             JOIN recording_chunks AS c ON c.session_id = s.session_id AND c.seq = s.after_seq + 1
             WHERE s.session_id = $1
             ORDER BY s.after_seq",
            &[&session],
        )
        .await
        .expect("a query");
    assert!(pairs.len() >= 3, "{} snapshots before a chunk", pairs.len());
    let mut objects_with_both = std::collections::HashSet::new();
    for pair in &pairs {
        let after: i32 = pair.get(0);
        let snapshot: (i64, i64) = (pair.get(1), pair.get(2));
        let chunk: (i64, i64) = (pair.get(3), pair.get(4));
        assert_eq!(
            snapshot,
            chunk,
            "the snapshot after chunk {after} ends where chunk {} starts",
            after + 1
        );
        objects_with_both.insert(snapshot.0);
    }
    assert!(objects_with_both.len() >= 2, "snapshots in {} objects", objects_with_both.len());
    assert_seeks_equal_replay(&app, &viewer, session, "busy, in small objects", &cast).await;
    lock.release().await.expect("released");
}

#[tokio::test]
async fn viewing_is_audited_once_per_viewer_per_hour() {
    let (app, t) = setup().await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, session, &read_fixture("colours.cast"), 5).await;
    for from in ["0", "1", "2.5"] {
        window(&app, &t.viewer, session, from, None).await;
    }
    let other = app.token("olga", PROJECT, &[Permission::ViewRecording]);
    window(&app, &other, session, "0", Some("1")).await;
    let db = app.db.connect().await;
    let rows = db
        .query(
            "SELECT actor_subject FROM audit_events WHERE event_type = 'recording.viewed'
             AND session_id = $1 ORDER BY id",
            &[&session],
        )
        .await
        .expect("a query");
    let actors: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actors, ["vera", "olga"]);
}

#[tokio::test]
async fn search_finds_known_text_with_its_time() {
    let (app, t) = setup().await;
    let cases = [
        ("resize-unicode.cast", "こんにちは世界"),
        ("input-v3.cast", "WARNING!"),
        ("idle-gaps.cast", "Connection to bastion-02 closed"),
        ("alt-screen.cast", "sudo vim"),
    ];
    let mut sessions = Vec::new();
    for (name, _) in cases {
        let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &t.gateway, session, &read_fixture(name), 4).await;
        end_session(&app, session).await;
        sessions.push(session);
    }
    // Search reads the text the emulation extracts from the screen.
    termaudit_tests::emulation::wait_until_emulated(&app.db, std::time::Duration::from_secs(120))
        .await
        .expect("emulated");
    for ((name, query), session) in cases.into_iter().zip(sessions) {
        let url = format!("{}?q={}", path(session, "/search"), urlencode(&query.to_uppercase()));
        let body: Value = json(app.get(&url, &t.viewer).await, 200).await;
        let first = &body["matches"][0];
        let context = first["context"].as_str().unwrap();
        let at = context.to_lowercase().find(&query.to_lowercase()).expect("the line holds it");
        assert_eq!(
            first["positions"][0].as_u64().unwrap() as usize,
            context[..at].chars().count(),
            "{name}: {body}"
        );
        // Its time is a moment a player shows the line.
        let time = first["time"].as_f64().unwrap();
        let (header, events) = parse(&read_fixture(name));
        let (cols, rows) = termaudit_storage::header_size(&header);
        // (`replay_until` plays the events before a time: those at it too.)
        let micros = Micros((time * 1e6).round() as u64 + 1);
        let screen = replay_until(cols, rows, &events, micros).screen_text();
        assert!(screen.concat().contains(context), "{name}: {body} {screen:?}");
        assert_eq!(body["truncated"], false);
    }
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, session, &read_fixture("colours.cast"), 4).await;
    let body: Value = json(
        app.get(&format!("{}?q=nothing-like-this", path(session, "/search")), &t.viewer).await,
        200,
    )
    .await;
    assert_eq!(body["matches"], json!([]));
    let response = app.get(&format!("{}?q=", path(session, "/search")), &t.viewer).await;
    problem(response, 400, "invalid-input").await;
    let response = app.get(&path(session, "/search"), &t.viewer).await;
    problem(response, 400, "invalid-input").await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn bad_chunks_get_their_status_and_change_nothing() {
    let (app, t) = setup().await;
    let cast = read_fixture("colours.cast");
    let parts = chunks(&cast, 5);
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    json::<Value>(put_chunk(&app, &t.gateway, session, 0, parts[0].clone()).await, 201).await;
    json::<Value>(put_chunk(&app, &t.gateway, session, 1, parts[1].clone()).await, 201).await;
    let before = chunk_state(&app, session).await;
    let recording_before: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;

    // The same chunk again: accepted, nothing changes.
    let again: Value =
        json(put_chunk(&app, &t.gateway, session, 1, parts[1].clone()).await, 200).await;
    assert_eq!(again["repeated"], true);

    let cases: Vec<(u32, Vec<u8>, u16, &str, &str)> = vec![
        (1, parts[2].clone().into_bytes(), 409, "conflict", "different body"),
        (3, parts[3].clone().into_bytes(), 409, "conflict", "the next expected is 2"),
        (
            2,
            b"[0.5, \"o\", \"back in time\"]\n".to_vec(),
            400,
            "invalid-input",
            "before the previous",
        ),
        (2, b"[99, \"o\", \"fine\"]\n[100, \"o\"\n".to_vec(), 400, "invalid-input", "line 2"),
        (2, b"not json\n".to_vec(), 400, "invalid-input", "line 1"),
        (2, b"[99, \"r\", \"wide\"]\n".to_vec(), 400, "invalid-input", "COLSxROWS"),
        (2, vec![b'[', 0xff, 0xfe, b']'], 400, "invalid-input", "UTF-8"),
        (2, vec![b' '; 4 * 1024 * 1024 + 1], 413, "payload-too-large", "at most"),
    ];
    for (seq, body, status, kind, detail) in cases {
        let response = put_chunk(&app, &t.gateway, session, seq, body).await;
        let body = problem(response, status, kind).await;
        assert!(body["detail"].as_str().unwrap().contains(detail), "{detail}: {body}");
        assert_eq!(chunk_state(&app, session).await, before, "{detail}: nothing changed");
    }
    let recording_after: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(recording_after, recording_before);

    // Chunk 0 must carry the header; nothing is created otherwise.
    let fresh = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let response = put_chunk(&app, &t.gateway, fresh, 0, "[0.1, \"o\", \"x\"]\n").await;
    problem(response, 400, "invalid-input").await;
    let response = put_chunk(&app, &t.gateway, fresh, 0, "").await;
    problem(response, 400, "invalid-input").await;
    let response = put_chunk(&app, &t.gateway, fresh, 1, parts[1].clone()).await;
    problem(response, 409, "conflict").await;
    let db = app.db.connect().await;
    let rows: i64 = db
        .query_one("SELECT count(*) FROM recordings WHERE session_id = $1", &[&fresh])
        .await
        .expect("a query")
        .get(0);
    assert_eq!(rows, 0);

    // An ended session takes no more chunks; a retry of a stored one is fine.
    end_session(&app, session).await;
    let response = put_chunk(&app, &t.gateway, session, 2, parts[2].clone()).await;
    let body = problem(response, 409, "invalid-session-state").await;
    assert!(body["detail"].as_str().unwrap().contains("closed"), "{body}");
    assert!(body["ended"]["ended_at"].is_string(), "{body}");
    json::<Value>(put_chunk(&app, &t.gateway, session, 1, parts[1].clone()).await, 200).await;

    // Only the gateway ingests; another project's session does not exist.
    let response = put_chunk(&app, &t.viewer, fresh, 0, parts[0].clone()).await;
    problem(response, 403, "forbidden").await;
    app.create_project("other").await;
    let other_gateway = app.token("gateway", "other", &[Permission::Ingest]);
    let response = app
        .client
        .put(app.url(&format!("/api/v1/projects/other/sessions/{fresh}/recording/chunks/0")))
        .bearer_auth(&other_gateway)
        .body(parts[0].clone())
        .send()
        .await
        .expect("sent");
    problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn unrecorded_sessions_refuse_chunks_and_production_is_always_recorded() {
    let (app, t) = setup().await;
    assert!(
        try_seed_session(&app, PROJECT, EnvironmentClass::Production, false).await.is_err(),
        "the database refuses an unrecorded production session"
    );
    let session = seed_session(&app, PROJECT, EnvironmentClass::NonProduction, false).await;
    let response = put_chunk(&app, &t.gateway, session, 0, read_fixture("colours.cast")).await;
    let body = problem(response, 409, "conflict").await;
    assert!(body["detail"].as_str().unwrap().contains("not recorded"), "{body}");
    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "not_recorded");
    problem(download(&app, &t.downloader, session).await, 404, "not-found").await;
    problem(app.get(&path(session, "/events"), &t.viewer).await, 404, "not-found").await;
    // Finalizing an unrecorded session does nothing.
    end_session(&app, session).await;
    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "not_recorded");
}

#[tokio::test]
async fn a_recording_without_chunks_is_finalized_once() {
    let (app, t) = setup().await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::NonProduction, true).await;
    let ended_at = end_session(&app, session).await;
    // Every path calls it; a second call changes nothing.
    let db = app.db.connect().await;
    termaudit_storage::finalize_recording(
        &db,
        app.store.objects(),
        session,
        ended_at + Duration::hours(1),
    )
    .await
    .expect("idempotent");
    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "available");
    assert_eq!(summary["event_count"], 0);
    assert_eq!(summary["size_bytes"], 0);
    assert_eq!(summary["sha256"], hex(&Sha256::digest(b"")));
    let finalized: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(summary["finalized_at"].clone()).expect("a time");
    assert_eq!(finalized, ended_at);
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(summary["expires_at"].clone()).expect("a time");
    assert_eq!(expires - ended_at, Duration::days(90));
    problem(download(&app, &t.downloader, session).await, 404, "not-found").await;
    let finalized_audits: i64 = db
        .query_one(
            "SELECT count(*) FROM audit_events WHERE event_type = 'recording.finalized' AND session_id = $1",
            &[&session],
        )
        .await
        .expect("a query")
        .get(0);
    assert_eq!(finalized_audits, 1);
}

#[tokio::test]
async fn a_session_ends_before_its_recording_is_finalized_and_a_lost_finalization_is_finished() {
    use futures_util::StreamExt;
    let (app, t) = setup().await;
    let cast = read_fixture("colours.cast");
    let events = parse(&cast).1.len();
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, session, &cast, 10).await;
    let control = app
        .client
        .get(app.url(&format!("/api/v1/projects/{PROJECT}/control-events")))
        .bearer_auth(&t.gateway)
        .send()
        .await
        .expect("the control stream");
    let mut control = control.bytes_stream();
    control.next().await.expect("the opening comment").expect("bytes");

    // A finalization that takes long (a huge recording): another
    // transaction holds the recording's row.
    let mut db = app.db.connect().await;
    let holder = db.transaction().await.expect("a transaction");
    holder
        .execute("SELECT 1 FROM recordings WHERE session_id = $1 FOR UPDATE", &[&session])
        .await
        .expect("the row is locked");
    // The gateway closes the session (the user left the shell).
    let close = {
        let (client, url, gateway) = (
            app.client.clone(),
            app.url(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/close")),
            t.gateway.clone(),
        );
        tokio::spawn(async move {
            client.post(url).bearer_auth(gateway).json(&json!({"reason": "user_exit"})).send().await
        })
    };
    // The gateways hear of the end, and the session reads as closed, while
    // the finalization still waits.
    let mut seen = String::new();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(piece)) = control.next().await {
            seen.push_str(&String::from_utf8_lossy(&piece));
            if seen.contains("event: session.closed") {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "no close event while the recording was being finalized: {seen:?}");
    let history = app.token("vera", PROJECT, &[Permission::ViewHistory]);
    let read: Value = json(
        app.get(&format!("/api/v1/projects/{PROJECT}/sessions/{session}"), &history).await,
        200,
    )
    .await;
    assert_eq!(read["close_reason"], "user_exit");
    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "recording", "{summary}");
    assert!(!close.is_finished(), "the close answers once the recording is finalized");
    holder.rollback().await.expect("the lock is released");
    let closed = close.await.expect("the task").expect("the response");
    assert_eq!(closed.status(), 200);
    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "available");
    assert_eq!(summary["event_count"], events);

    // A crash between the end and its finalization leaves the session
    // queued; the background expiry finishes it, once.
    let lost = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, lost, &cast, 25).await;
    db.batch_execute(&format!(
        "UPDATE sessions SET status = 'closed', ended_at = now(), close_reason = 'gateway_lost'
         WHERE id = '{lost}';
         INSERT INTO recording_finalizations (session_id, ended_at)
         SELECT id, ended_at FROM sessions WHERE id = '{lost}';"
    ))
    .await
    .expect("a lost finalization");
    let summary: Value = json(app.get(&path(lost, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "recording");
    let now = chrono::Utc::now();
    let report = app.store.expire_sessions(now, Duration::seconds(60)).await.expect("expiry");
    assert_eq!(report.recordings_finalized, 1);
    let again = app.store.expire_sessions(now, Duration::seconds(60)).await.expect("expiry");
    assert_eq!(again.recordings_finalized, 0);
    let summary: Value = json(app.get(&path(lost, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "available");
    assert_eq!(summary["event_count"], events);
    let queued: i64 = db
        .query_one("SELECT count(*) FROM recording_finalizations", &[])
        .await
        .expect("a query")
        .get(0);
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn commands_and_runbook_steps_become_markers_in_every_view() {
    let (app, t) = setup().await;
    let cast = read_fixture("colours.cast");
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let opened = opened_at(&app, session).await;
    add_activity(
        &app,
        session,
        "command",
        "systemctl status postgresql",
        opened + Duration::milliseconds(1500),
    )
    .await;
    add_activity(&app, session, "runbook_step", "check replication", opened + Duration::seconds(3))
        .await;
    add_activity(&app, session, "command", "exit", opened + Duration::hours(2)).await;
    upload(&app, &t.gateway, session, &cast, 4).await;
    end_session(&app, session).await;

    let response = download(&app, &t.downloader, session).await;
    let digest = response.headers()["x-recording-sha256"].to_str().unwrap().to_owned();
    let text = response.text().await.expect("a body");
    assert_eq!(hex(&Sha256::digest(text.as_bytes())), digest);
    let (_, got) = parse(&text);
    let (_, original) = parse(&cast);
    let markers: Vec<(Micros, &str)> = got
        .iter()
        .filter(|e| e.code == EventCode::Marker)
        .map(|e| (e.time, e.data.as_str()))
        .collect();
    assert_eq!(
        markers,
        [
            (Micros(1_500_000), "$ systemctl status postgresql"),
            (Micros(3_000_000), "step: check replication"),
            (Micros(7_200_000_000), "$ exit"),
        ]
    );
    // Times never go backwards, and without the markers it is the upload.
    assert!(got.windows(2).all(|w| w[0].time <= w[1].time));
    let without: Vec<Event> = got.into_iter().filter(|e| e.code != EventCode::Marker).collect();
    assert_eq!(without, original);

    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(
        summary["markers"][0],
        json!({"time": 1.5, "label": "$ systemctl status postgresql"})
    );
    assert_eq!(summary["duration"], 7200.0);

    let body = window(&app, &t.viewer, session, "1.5", Some("3.5")).await;
    let events = body["events"].as_array().unwrap();
    assert!(events.contains(&json!([1.5, "m", "$ systemctl status postgresql"])), "{body}");
    assert!(events.contains(&json!([3.0, "m", "step: check replication"])), "{body}");

    // Every byte range of the file, from every start, matches the whole.
    let whole = text.as_bytes();
    let size = whole.len();
    for start in (0..size).step_by(97).chain([size - 1]) {
        let end = (start + 300).min(size - 1);
        let response = app
            .client
            .get(app.url(&path(session, "/download")))
            .bearer_auth(&t.downloader)
            .header("range", format!("bytes={start}-{end}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 206);
        assert_eq!(
            response.headers()["content-range"].to_str().unwrap(),
            format!("bytes {start}-{end}/{size}")
        );
        let part = response.bytes().await.expect("a body");
        assert_eq!(&part[..], &whole[start..=end], "range {start}-{end}");
    }
}

#[tokio::test]
async fn downloads_answer_etags_ranges_and_permissions() {
    downloads_with_ranges(Backend::Postgres).await;
}

#[tokio::test]
async fn downloads_answer_etags_ranges_and_permissions_from_s3() {
    downloads_with_ranges(Backend::S3).await;
}

async fn downloads_with_ranges(backend: Backend) {
    let (app, t, _moto) = setup_on(backend).await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, session, &read_fixture("resize-unicode.cast"), 3).await;

    // While recording: what has arrived, without digest or ranges.
    let response = download(&app, &t.downloader, session).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("etag").is_none());
    assert_eq!(response.headers()["accept-ranges"], "none");
    let live = response.text().await.expect("a body");
    end_session(&app, session).await;
    compacted(&app, backend, session).await;

    let response = download(&app, &t.downloader, session).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let whole = response.bytes().await.expect("a body");
    assert_eq!(live.as_bytes(), &whole[..]);

    let get = |headers: Vec<(&'static str, String)>| {
        let mut request =
            app.client.get(app.url(&path(session, "/download"))).bearer_auth(&t.downloader);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("sent") }
    };
    let response = get(vec![("if-none-match", etag.clone())]).await;
    assert_eq!(response.status(), 304);
    let response = get(vec![("range", "bytes=-10".into())]).await;
    assert_eq!(response.status(), 206);
    assert_eq!(&response.bytes().await.unwrap()[..], &whole[whole.len() - 10..]);
    // A stale If-Range gets the whole file.
    let response = get(vec![("range", "bytes=0-9".into()), ("if-range", "\"old\"".into())]).await;
    assert_eq!(response.status(), 200);
    let response = get(vec![("range", format!("bytes={}-", whole.len()))]).await;
    let body = problem(response, 416, "range-not-satisfiable").await;
    assert!(body["detail"].as_str().unwrap().contains("outside"));

    // Viewing does not grant downloading, nor the reverse.
    problem(download(&app, &t.viewer, session).await, 403, "forbidden").await;
    problem(app.get(&path(session, "/events"), &t.downloader).await, 403, "forbidden").await;
    problem(app.get(&path(session, ""), &t.gateway).await, 403, "forbidden").await;
    let response = app.client.get(app.url(&path(session, "/download"))).send().await.expect("sent");
    problem(response, 401, "unauthorized").await;
    problem(download(&app, &t.downloader, Uuid::now_v7()).await, 404, "not-found").await;
    problem(
        app.get(&format!("{}?from=abc", path(session, "/events")), &t.viewer).await,
        400,
        "invalid-input",
    )
    .await;
    problem(
        app.get(&format!("{}?from=5&to=5", path(session, "/events")), &t.viewer).await,
        400,
        "invalid-input",
    )
    .await;
}

#[tokio::test]
async fn purged_recordings_are_gone_and_nothing_can_be_deleted() {
    let (app, t) = setup().await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &t.gateway, session, &read_fixture("colours.cast"), 4).await;
    end_session(&app, session).await;
    let db = app.db.connect().await;
    let purged =
        termaudit_storage::purge_recording(&db, session, chrono::Utc::now(), "retention: 365 days")
            .await
            .expect("purged");
    assert!(purged);
    let summary: Value = json(app.get(&path(session, ""), &t.viewer).await, 200).await;
    assert_eq!(summary["state"], "purged");
    assert_eq!(summary["purge_reason"], "retention: 365 days");
    for (rest, token) in
        [("/download", &t.downloader), ("/events", &t.viewer), ("/search?q=x", &t.viewer)]
    {
        let body = problem(app.get(&path(session, rest), token).await, 410, "gone").await;
        assert!(body["detail"].as_str().unwrap().contains("retention: 365 days"), "{body}");
    }
    let chunks: i64 = db
        .query_one("SELECT count(*) FROM recording_chunks WHERE session_id = $1", &[&session])
        .await
        .expect("a query")
        .get(0);
    assert_eq!(chunks, 0);

    let project = project_id(&app, PROJECT).await;
    assert_ne!(project, Uuid::nil());
    // `Allow` names what each path does take.
    for (rest, allow) in [
        ("", "GET, HEAD"),
        ("/recording", "GET, HEAD"),
        ("/recording/chunks/0", "PUT"),
        ("/recording/download", "GET, HEAD"),
        ("/recording/events", "GET, HEAD"),
    ] {
        let url = app.url(&format!("/api/v1/projects/{PROJECT}/sessions/{session}{rest}"));
        let response = app.client.delete(url).bearer_auth(&t.viewer).send().await.expect("sent");
        assert_eq!(response.headers()["allow"], allow, "{rest}");
        let body = problem(response, 405, "method-not-allowed").await;
        assert!(body["detail"].as_str().unwrap().contains("retention policy"), "{rest}: {body}");
    }
}

/// What the real asciinema CLI (`asciinema cat`, installed by scripts/test.sh)
/// prints for a cast file: the terminal output it would play.
fn asciinema_cat(cast: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("termaudit-cast-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("recording.cast");
    std::fs::write(&file, cast).expect("the cast is written");
    let output = std::process::Command::new("asciinema").arg("cat").arg(&file).output().expect(
        "the asciinema CLI is installed (scripts/test.sh installs it: pip install asciinema)",
    );
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        output.status.success(),
        "asciinema cat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[tokio::test]
async fn downloads_play_in_the_asciinema_cli_exactly_as_uploaded() {
    let (app, t) = setup().await;
    for name in FIXTURES {
        let cast = read_fixture(name);
        let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &t.gateway, session, &cast, 4).await;
        end_session(&app, session).await;
        let response = download(&app, &t.downloader, session).await;
        assert_eq!(response.status(), 200, "{name}");
        let downloaded = response.bytes().await.expect("a body");
        let played = asciinema_cat(&downloaded);
        assert!(!played.is_empty(), "{name}: asciinema printed nothing");
        // asciinema 2 reads v2 uploads itself; a v3 upload's output is what
        // its output events say.
        let expected = if cast.starts_with("{\"version\": 3") || cast.starts_with("{\"version\":3")
        {
            let (_, events) = parse(&cast);
            events
                .iter()
                .filter(|e| e.code == termaudit_domain::asciicast::EventCode::Output)
                .map(|e| e.data.as_str())
                .collect::<String>()
                .into_bytes()
        } else {
            asciinema_cat(cast.as_bytes())
        };
        assert_eq!(
            String::from_utf8_lossy(&played),
            String::from_utf8_lossy(&expected),
            "{name}: the download plays differently from the upload"
        );
    }
}
