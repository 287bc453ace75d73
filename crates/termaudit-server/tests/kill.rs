//! The real `termaudit serve` killed with SIGKILL while a gateway uploads a
//! recording: after a restart, every acknowledged chunk is stored exactly
//! once, the gateway's retry of the chunk it got no answer for is accepted
//! once, and the recording finalizes with every event in order. And killed
//! while its emulation workers are behind: after a restart every
//! recording's snapshots are those of a replay from zero. And killed in the
//! middle of compacting a recording into an S3 object: no row points at a
//! missing object, and the next server moves the recording. And stopped
//! with SIGTERM while event streams are open: they end cleanly at once.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

use std::{
    collections::BTreeMap,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use chrono::Utc;
use termaudit_api::{AuthConfig, TokenIssuer};
use termaudit_domain::{
    EnvironmentClass, EnvironmentName, Permission, ProjectName, ProjectSlug, Reason, SessionMode,
    TargetKind, TargetName,
};
use termaudit_storage::{DatabaseUrl, NewSession, NewTarget, Store};
use termaudit_tests::{TEST_SECRET, TestDatabase, process::ServerProcess};

const EVENTS_PER_CHUNK: usize = 32;

/// Starts the binary on a free port and waits until it is ready.
async fn start(db: &TestDatabase) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_termaudit"), db, &[]).await
}

/// [`start`] with more environment variables.
async fn start_with(db: &TestDatabase, env: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_termaudit"), db, env).await
}

/// Chunk `seq`: the header first in chunk 0, then 32 events of ~1 KiB.
fn chunk(seq: u32) -> String {
    let mut body = String::new();
    if seq == 0 {
        body.push_str("{\"version\": 2, \"width\": 120, \"height\": 40}\n");
    }
    for i in 0..EVENTS_PER_CHUNK {
        let time = f64::from(seq) + i as f64 / 100.0;
        let line = format!("chunk {seq} event {i} ").repeat(50);
        body.push_str(&format!("[{time:.2}, \"o\", \"{line}\\r\\n\"]\n"));
    }
    body
}

async fn put(
    client: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    session: uuid::Uuid,
    seq: u32,
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .put(format!(
            "{}/api/v1/projects/ops/sessions/{session}/recording/chunks/{seq}",
            server.address
        ))
        .bearer_auth(token)
        .body(chunk(seq))
        .send()
        .await
}

/// Closes the session as its user ended it.
async fn close(
    client: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    session: uuid::Uuid,
) -> reqwest::Response {
    client
        .post(format!("{}/api/v1/projects/ops/sessions/{session}/close", server.address))
        .bearer_auth(token)
        .json(&serde_json::json!({"reason": "user_exit"}))
        .send()
        .await
        .expect("the close request")
}

#[tokio::test]
async fn after_a_sigkill_mid_ingest_every_acknowledged_chunk_is_stored_once_and_the_recording_finalizes()
 {
    let Fixture { db, sessions, token, .. } = fixture(1).await;
    let session = sessions[0];
    let client = reqwest::Client::new();

    // The gateway uploads as fast as it can; the server is killed after
    // about 20 acknowledged chunks, most likely in the middle of one.
    let mut server = start(&db).await;
    let mut acknowledged = 0u32;
    let killer = {
        let pid = server.pid();
        let started = Instant::now();
        move |acknowledged: u32| {
            if acknowledged == 20 || started.elapsed() > Duration::from_secs(20) {
                // SIGKILL: no shutdown, no flushing, no finalization.
                drop(Command::new("kill").args(["-KILL", &pid.to_string()]).status());
            }
        }
    };
    loop {
        let sent = put(&client, &server, &token, session, acknowledged);
        let (response, ()) = tokio::join!(sent, async { killer(acknowledged) });
        match response {
            Ok(response) if response.status() == 201 => acknowledged += 1,
            Ok(response) => panic!("chunk {acknowledged}: {}", response.status()),
            Err(_) => break,
        }
    }
    server.wait();
    assert!(acknowledged >= 20, "the server died early, after {acknowledged} chunks");

    // Nothing beyond the acknowledged chunks is half there.
    let direct = db.connect().await;
    let stored: i64 = direct
        .query_one("SELECT count(*) FROM recording_chunks WHERE session_id = $1", &[&session])
        .await
        .unwrap()
        .get(0);
    assert!(
        stored == i64::from(acknowledged) || stored == i64::from(acknowledged) + 1,
        "{stored} chunks stored, {acknowledged} acknowledged"
    );

    // After a restart the gateway retries the chunk it had no answer for,
    // then goes on; the retry is accepted once whether or not it was stored.
    server = start(&db).await;
    for seq in acknowledged..acknowledged + 5 {
        let response = put(&client, &server, &token, session, seq).await.unwrap();
        // 201 for a chunk stored now, 200 for a repeat of one stored before.
        let repeat = seq == acknowledged && stored > i64::from(acknowledged);
        assert_eq!(response.status(), if repeat { 200 } else { 201 }, "chunk {seq}");
        let receipt: serde_json::Value = response.json().await.unwrap();
        assert_eq!(receipt["repeated"], repeat, "chunk {seq}");
    }
    // A retry of an acknowledged chunk stores nothing new.
    let response = put(&client, &server, &token, session, 3).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["repeated"], true);
    let total = acknowledged + 5;

    assert_eq!(close(&client, &server, &token, session).await.status(), 200);

    let row = direct
        .query_one(
            "SELECT r.next_seq, r.finalized_at IS NOT NULL, r.event_count,
                    (SELECT count(*) FROM recording_chunks c WHERE c.session_id = r.session_id),
                    (SELECT count(DISTINCT seq) FROM recording_chunks c WHERE c.session_id = r.session_id)
             FROM recordings r WHERE r.session_id = $1",
            &[&session],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), total as i32);
    assert!(row.get::<_, bool>(1), "the recording is finalized");
    assert_eq!(row.get::<_, Option<i64>>(2), Some(i64::from(total) * EVENTS_PER_CHUNK as i64));
    assert_eq!((row.get::<_, i64>(3), row.get::<_, i64>(4)), (i64::from(total), i64::from(total)));

    // The download holds every event once, in order.
    let (_, text) = download(&client, &server, &token, session).await;
    let events: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(events.len(), total as usize * EVENTS_PER_CHUNK);
    for seq in 0..total {
        let first = &events[seq as usize * EVENTS_PER_CHUNK];
        assert!(
            first.contains(&format!("chunk {seq} event 0 ")),
            "event of chunk {seq}: {first:.80}"
        );
    }
}

/// The recording's download: its `X-Recording-Sha256` and its text.
async fn download(
    client: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    session: uuid::Uuid,
) -> (String, String) {
    let response = client
        .get(format!(
            "{}/api/v1/projects/ops/sessions/{session}/recording/download",
            server.address
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let digest = response
        .headers()
        .get("x-recording-sha256")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (digest, response.text().await.unwrap())
}

/// A token for `subject` with `permissions` in project `ops`.
fn token(subject: &str, permissions: Vec<Permission>) -> String {
    TokenIssuer::new(&AuthConfig {
        secret: TEST_SECRET.as_bytes().to_vec(),
        public_key_pem: None,
        issuer: termaudit_tests::ISSUER.into(),
        audience: termaudit_tests::AUDIENCE.into(),
        oidc: None,
    })
    .issue(
        subject,
        Some(subject),
        BTreeMap::from([("ops".to_owned(), permissions)]),
        Utc::now(),
        chrono::Duration::hours(1),
    )
    .unwrap()
}

/// Project `ops` with 20 000 closed sessions: an export of tens of MB,
/// more than any socket or pipe holds. Returns the project's id.
async fn seed_large_history(db: &TestDatabase) -> uuid::Uuid {
    let direct = db.connect().await;
    let url = DatabaseUrl::parse(&db.url()).unwrap();
    let store = Store::new(&url, 1).unwrap();
    let project = store
        .create_project(&ProjectSlug::parse("ops").unwrap(), &ProjectName::parse("Ops").unwrap())
        .await
        .unwrap();
    termaudit_tests::seed::seed_closed_sessions(&direct, project.id, 20_000, false).await;
    project.id
}

/// The export's audit entries as the owner reads them: (type, actor,
/// details), oldest first.
async fn export_entries(db: &TestDatabase) -> Vec<(String, Option<String>, serde_json::Value)> {
    let direct = db.connect().await;
    direct
        .query(
            "SELECT event_type, actor_subject, details FROM audit_events
             WHERE event_type LIKE 'history.%' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Waits until `done` holds for the export's entries, at most 30 s.
async fn wait_for_entries(
    db: &TestDatabase,
    what: &str,
    done: impl Fn(&[(String, Option<String>, serde_json::Value)]) -> bool,
) -> Vec<(String, Option<String>, serde_json::Value)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let entries = export_entries(db).await;
        if done(&entries) {
            return entries;
        }
        assert!(Instant::now() < deadline, "{what}: {entries:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The started export's entries: its start, then an `interrupted` end that
/// names it, by the same exporter, with no row count (nobody knows it).
fn assert_interrupted(entries: &[(String, Option<String>, serde_json::Value)], actor: &str) {
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (start, end) = (&entries[0], &entries[1]);
    assert_eq!(start.0, "history.export_started");
    assert_eq!(end.0, "history.exported");
    assert_eq!((start.1.as_deref(), end.1.as_deref()), (Some(actor), Some(actor)));
    assert_eq!(end.2["outcome"], "interrupted", "{end:?}");
    assert_eq!(end.2["completed"], false);
    assert!(end.2["rows"].is_null(), "{end:?}");
    assert_eq!(end.2["format"], start.2["format"]);
    assert!(end.2["started_id"].is_i64(), "{end:?}");
}

#[tokio::test]
async fn an_export_whose_server_is_killed_is_ended_as_interrupted_by_another_server() {
    let db = TestDatabase::create().await;
    seed_large_history(&db).await;
    let viewer = token("vera", vec![Permission::ViewHistory]);
    let client = reqwest::Client::new();

    let first = start(&db).await;
    let response = client
        .get(format!("{}/api/v1/projects/ops/export?format=ndjson", first.address))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    assert!(futures_util::StreamExt::next(&mut body).await.is_some(), "the first bytes");
    // The export runs (the client reads no more) when its server dies.
    let started = wait_for_entries(&db, "the start", |e| e.len() == 1).await;
    assert_eq!(started[0].0, "history.export_started");
    drop(Command::new("kill").args(["-KILL", &first.pid().to_string()]).status());
    drop(first);
    drop(body);
    // Nobody is left to write its end ...
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(export_entries(&db).await.len(), 1, "an end without a live server");

    // ... until another server starts: it finds the start without an end,
    // and its lock gone.
    let _second = start(&db).await;
    let entries = wait_for_entries(&db, "the interrupted end", |e| e.len() == 2).await;
    assert_interrupted(&entries, "vera");
    let running: i64 = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM exports_running", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(running, 0);
}

#[tokio::test]
async fn a_cli_export_killed_midway_is_ended_as_interrupted_by_a_server() {
    let db = TestDatabase::create().await;
    seed_large_history(&db).await;
    // `termaudit export` to a pipe nobody reads: it stalls once the pipe is full.
    let mut export = Command::new(env!("CARGO_BIN_EXE_termaudit"))
        .args(["export", "--project", "ops", "--format", "ndjson"])
        .env("DATABASE_URL", db.app_url())
        .env("USER", "olga")
        .env_remove("TERMAUDIT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_entries(&db, "the start", |e| e.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(export.try_wait().unwrap().is_none(), "the export still runs");
    drop(Command::new("kill").args(["-KILL", &export.id().to_string()]).status());
    drop(export.wait());
    assert_eq!(export_entries(&db).await.len(), 1, "an end without a live exporter");

    let _server = start(&db).await;
    let entries = wait_for_entries(&db, "the interrupted end", |e| e.len() == 2).await;
    assert_interrupted(&entries, "cli:olga");
}

/// A database with project `ops`, `sessions` recorded production sessions
/// in it, and a gateway's token.
struct Fixture {
    db: TestDatabase,
    store: Store,
    sessions: Vec<uuid::Uuid>,
    token: String,
}

async fn fixture(sessions: usize) -> Fixture {
    let db = TestDatabase::create().await;
    let url = DatabaseUrl::parse(&db.url()).unwrap();
    let store = Store::new(&url, 2).unwrap();
    let project = store
        .create_project(&ProjectSlug::parse("ops").unwrap(), &ProjectName::parse("Ops").unwrap())
        .await
        .unwrap();
    let target = NewTarget {
        name: TargetName::parse("orders-db").unwrap(),
        kind: TargetKind::Database,
        environment: EnvironmentName::parse("prod").unwrap(),
        environment_class: EnvironmentClass::Production,
    };
    let target = store.create_target(project.id, &target).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..sessions {
        let new = NewSession {
            target: &target,
            mode: SessionMode::Shell,
            reason: Some(Reason::parse("INC-1").unwrap()),
            user_subject: "alice".into(),
            user_name: "Alice".into(),
            opened_at: Utc::now(),
        };
        ids.push(store.open_session(project.id, &new, true).await.unwrap().id);
    }
    let token = token("gateway", vec![Permission::Ingest, Permission::DownloadRecording]);
    Fixture { db, store, sessions: ids, token }
}

#[tokio::test]
async fn after_a_sigkill_while_the_emulation_is_behind_every_recording_gets_a_replays_snapshots() {
    use termaudit_tests::emulation::{
        assert_snapshots_equal_a_replay_from_zero, busy_chunks, wait_until_emulated,
    };
    const RECORDINGS: usize = 4;
    const CHUNKS: u32 = 16;

    let Fixture { db, store, sessions, token } = fixture(RECORDINGS).await;
    let client = reqwest::Client::new();
    let chunks: Vec<Vec<String>> =
        (0..RECORDINGS).map(|i| busy_chunks(&format!("recording {i}"), CHUNKS, 80)).collect();
    let upload = |server: &ServerProcess, i: usize, seq: u32| {
        client
            .put(format!(
                "{}/api/v1/projects/ops/sessions/{}/recording/chunks/{seq}",
                server.address, sessions[i]
            ))
            .bearer_auth(&token)
            .body(chunks[i][seq as usize].clone())
            .send()
    };

    // One recording emulated at a time, the others queued.
    let env = [("TERMAUDIT_EMULATION_WORKERS", "1"), ("TERMAUDIT_EMULATION_LEASE_SECONDS", "2")];
    let server = start_with(&db, &env).await;
    let direct = db.connect().await;
    assert_eq!(upload(&server, 0, 0).await.unwrap().status(), 201);
    // The test holds the first recording's emulation row: its worker
    // blocks on its next write, however far it got.
    let mut holder = db.connect().await;
    let hold = holder.transaction().await.unwrap();
    hold.execute(
        "SELECT 1 FROM recording_emulation WHERE session_id = $1 FOR UPDATE",
        &[&sessions[0]],
    )
    .await
    .unwrap();
    for seq in 0..CHUNKS {
        for i in 0..RECORDINGS {
            if (i, seq) != (0, 0) {
                assert_eq!(upload(&server, i, seq).await.unwrap().status(), 201, "{i}/{seq}");
            }
        }
        // Never more recordings emulated at once than allowed.
        let leased: i64 = direct
            .query_one("SELECT count(*) FROM recording_emulation WHERE lease_until >= now()", &[])
            .await
            .unwrap()
            .get(0);
        assert!(leased <= 1, "{leased} recordings emulated at once with one worker");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !termaudit_tests::someone_waits_for_a_lock(&direct).await {
        assert!(Instant::now() < deadline, "the worker never reached the held recording");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let behind: i64 = direct
        .query_one(
            "SELECT coalesce(sum(r.next_seq - e.next_seq), 0)::int8
             FROM recording_emulation e JOIN recordings r USING (session_id)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(behind > 0, "the emulation is behind when the server dies");
    server.kill();
    drop(hold);

    // After the restart the workers take the dead process's recordings
    // over (once its leases expire) and catch up from the stored state.
    let server = start_with(&db, &env).await;
    wait_until_emulated(&db, Duration::from_secs(120))
        .await
        .unwrap_or_else(|lag| panic!("the emulation did not catch up: {lag:?}"));
    for &session in &sessions {
        let snapshots = assert_snapshots_equal_a_replay_from_zero(&store, &direct, session).await;
        assert!(snapshots >= 2, "{snapshots} snapshots");
    }
    drop(server);
}

#[tokio::test]
async fn after_a_sigkill_mid_compaction_no_row_points_at_a_missing_object() {
    use termaudit_tests::moto::{BUCKET, Moto, wait_until_compacted};
    let Fixture { db, sessions, token, .. } = fixture(1).await;
    let session = sessions[0];
    let moto = Moto::start().await;
    let (endpoint, store) = (moto.endpoint(), format!("s3://{BUCKET}/killed"));
    let env = [
        ("TERMAUDIT_RECORDINGS_STORE", store.as_str()),
        ("TERMAUDIT_S3_ENDPOINT", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let client = reqwest::Client::new();
    let server = start_with(&db, &env).await;
    for seq in 0..8 {
        assert_eq!(put(&client, &server, &token, session, seq).await.unwrap().status(), 201);
    }
    // The store stops answering and the session ends: the compactor lists
    // the object it is about to write and waits on the write. Killed there.
    moto.pause();
    assert_eq!(close(&client, &server, &token, session).await.status(), 200);
    let direct = db.connect().await;
    let listed = || async {
        direct
            .query("SELECT key FROM recording_object_deletions", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while listed().await.is_empty() {
        assert!(Instant::now() < deadline, "the compactor did not start on the recording");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill();
    moto.resume();
    let killed_attempt = listed().await;

    let server = start_with(&db, &env).await;
    wait_until_compacted(&db, session, Duration::from_secs(180))
        .await
        .unwrap_or_else(|left| panic!("not compacted after the restart: {left:?} left"));
    let in_bucket = moto.keys().await;
    let pointed: Vec<String> = direct
        .query("SELECT key FROM recording_objects", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(!pointed.is_empty());
    for key in &pointed {
        assert!(in_bucket.contains(key), "a row points at {key}, which is not in the bucket");
        assert!(!killed_attempt.contains(key), "the killed attempt's object is pointed at");
    }
    let (digest, text) = download(&client, &server, &token, session).await;
    use sha2::Digest as _;
    let hex: String =
        sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, digest, "the recording reads back from its objects as finalized");
    assert_eq!(text.lines().count() - 1, 8 * EVENTS_PER_CHUNK);
}

/// Reads `response` until its text holds `what`; the text read.
async fn read_until(response: &mut reqwest::Response, what: &str) -> String {
    let mut text = String::new();
    while !text.contains(what) {
        let piece = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {what:?} within 30 s: {text:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before {what:?}: {text:?}"));
        text.push_str(&String::from_utf8_lossy(&piece));
    }
    text
}

/// Reads `response` to its end: `Err` when the connection is cut instead.
async fn read_to_end(response: &mut reqwest::Response) -> Result<String, reqwest::Error> {
    let mut text = String::new();
    while let Some(piece) = response.chunk().await? {
        text.push_str(&String::from_utf8_lossy(&piece));
    }
    Ok(text)
}

#[tokio::test]
async fn a_sigterm_ends_the_open_event_streams_cleanly_before_the_server_stops() {
    let Fixture { db, sessions, token: gateway, .. } = fixture(1).await;
    let session = sessions[0];
    let client = reqwest::Client::new();
    let mut server = start(&db).await;
    assert_eq!(put(&client, &server, &gateway, session, 0).await.unwrap().status(), 201);

    // A gateway's control stream and a live watcher, both open and idle:
    // left alone, each would notice nothing until its next keepalive.
    let mut control = client
        .get(format!("{}/api/v1/projects/ops/control-events", server.address))
        .bearer_auth(&gateway)
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 200);
    read_until(&mut control, ": connected").await;
    let mut live = client
        .get(format!("{}/api/v1/projects/ops/sessions/{session}/recording/live", server.address))
        .bearer_auth(token("wendy", vec![Permission::ViewRecording]))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    read_until(&mut live, "event: init").await;

    let signalled = Instant::now();
    drop(Command::new("kill").args(["-TERM", &server.pid().to_string()]).status());
    // Each stream ends as a stream ends (the server's last chunk), not cut
    // by the server's 30 s limit for requests in flight.
    let live_rest = read_to_end(&mut live).await;
    let control_rest = read_to_end(&mut control).await;
    assert!(live_rest.is_ok(), "the live stream was cut: {live_rest:?}");
    assert!(!live_rest.unwrap().contains("event: end"), "the session has not ended");
    assert!(control_rest.is_ok(), "the control stream was cut: {control_rest:?}");
    let status = server.wait().expect("the server's exit status");
    assert!(status.success(), "the server stopped with {status}");
    eprintln!("stopped {:?} after SIGTERM", signalled.elapsed());

    // The watch's end is audited, and says why it ended.
    let direct = db.connect().await;
    let outcomes: Vec<String> = direct
        .query(
            "SELECT details->>'outcome' FROM audit_events
             WHERE event_type = 'recording.watched' AND details->>'phase' = 'stopped'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(outcomes, ["server_stopped"]);
}
