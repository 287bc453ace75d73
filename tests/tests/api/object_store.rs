//! Recordings on object storage, against a real S3-compatible server
//! (moto): start-up refusals, a store that stops answering, retention
//! deleting objects, and a local directory as the store. (The recording
//! tests that run against both backends are in `recordings.rs`.)

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use termaudit_domain::{EnvironmentClass, Permission, asciicast::Decoder};
use termaudit_retention::{SweepOptions, sweep_once};
use termaudit_server::{Application, Settings, move_recordings};
use termaudit_storage::RecordingsStoreUrl;
use termaudit_tests::{
    TestApp, TestDatabase, json,
    moto::{BUCKET, Moto, wait_until_compacted},
    problem,
    seed::{end_session, seed_session},
};
use uuid::Uuid;

const PROJECT: &str = "demo";
const CAST: &str = "{\"version\": 2, \"width\": 80, \"height\": 24}\n\
    [0.1, \"o\", \"first line\\r\\n\"]\n[0.5, \"o\", \"second line\\r\\n\"]\n\
    [1.5, \"o\", \"third line\\r\\n\"]\n[2.0, \"o\", \"last line\\r\\n\"]\n";
/// Compaction runs every few seconds and backs off up to a minute after
/// failures: generous, for a loaded machine.
const COMPACTED_WITHIN: Duration = Duration::from_secs(180);

fn path(session: Uuid, rest: &str) -> String {
    format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording{rest}")
}

struct Tokens {
    gateway: String,
    reader: String,
}

async fn project(app: &TestApp) -> Tokens {
    app.create_project(PROJECT).await;
    Tokens {
        gateway: app.token("gateway", PROJECT, &[Permission::Ingest]),
        reader: app.token(
            "rita",
            PROJECT,
            &[
                Permission::ViewRecording,
                Permission::DownloadRecording,
                Permission::ManagePolicy,
                Permission::ViewHistory,
            ],
        ),
    }
}

/// A production session whose recording is [`CAST`], a line per chunk.
async fn recorded(app: &TestApp, t: &Tokens) -> Uuid {
    let session = seed_session(app, PROJECT, EnvironmentClass::Production, true).await;
    let mut lines = CAST.lines();
    let header = lines.next().unwrap();
    for (seq, line) in (0..).zip(lines) {
        let body = if seq == 0 { format!("{header}\n{line}\n") } else { format!("{line}\n") };
        put_chunk(app, t, session, seq, body).await;
    }
    session
}

/// Uploads chunk `seq` as a gateway does: a chunk whose request failed in
/// transport (no answer) is sent again, which the API accepts as the same
/// chunk (201 either way). Under heavy load the 3 MiB uploads of
/// `a_live_recording_is_compacted_once_8_mib_wait` met a connection the
/// server had given up on (`UnexpectedMessage`, 2026-12-06); any answer
/// the server does give is still checked.
async fn put_chunk(app: &TestApp, t: &Tokens, session: Uuid, seq: u32, body: String) {
    let url = app.url(&path(session, &format!("/chunks/{seq}")));
    let mut attempts = 0;
    let response = loop {
        attempts += 1;
        match app.client.put(&url).bearer_auth(&t.gateway).body(body.clone()).send().await {
            Ok(response) => break response,
            Err(e) if attempts < 3 && e.is_request() => eprintln!("chunk {seq} sent again: {e:?}"),
            Err(e) => panic!("chunk {seq} was not sent: {e:?}"),
        }
    };
    assert_eq!(response.status(), 201, "chunk {seq}");
}

/// The download's body, checked against the digest the summary states.
async fn download_checked(app: &TestApp, t: &Tokens, session: Uuid) -> Vec<u8> {
    let summary: Value = json(app.get(&path(session, ""), &t.reader).await, 200).await;
    let response = app.get(&path(session, "/download"), &t.reader).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap().to_vec();
    let digest: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(summary["sha256"], digest);
    body
}

async fn compacted(app: &TestApp, session: Uuid) {
    wait_until_compacted(&app.db, session, COMPACTED_WITHIN)
        .await
        .unwrap_or_else(|left| panic!("not compacted: {left:?} left"));
}

/// Objects of `session`'s recording in the bucket.
async fn objects_of(moto: &Moto, session: Uuid) -> usize {
    moto.keys().await.iter().filter(|k| k.contains(&session.to_string())).count()
}

/// What `Application::build` says when it refuses to start.
async fn start_up_error(store: &str, s3: termaudit_storage::S3Settings) -> String {
    let db = TestDatabase::create().await;
    let settings = Settings {
        database_url: db.app_url(),
        migrate_database_url: Some(db.url()),
        bind: "127.0.0.1:0".into(),
        jwt_secret: Some("a test secret of more than thirty-two bytes".into()),
        data_dir: std::env::temp_dir().join(format!("termaudit-test-{}", db.name())),
        retention_interval: None,
        recordings_store: RecordingsStoreUrl::parse(store).unwrap(),
        s3,
        ..Settings::default()
    };
    match Application::build(settings).await {
        Ok(_) => panic!("the server started with {store}"),
        Err(err) => format!("{err:#}"),
    }
}

#[tokio::test]
async fn start_up_stops_on_a_missing_bucket_or_refused_credentials() {
    let open = Moto::start().await;
    let error =
        start_up_error("s3://no-such-bucket/recordings", open.s3_settings("test", "test")).await;
    assert!(error.contains("s3://no-such-bucket/recordings/"), "{error}");
    assert!(error.contains("the bucket does not exist"), "{error}");

    // A server that checks credentials refuses keys it never issued.
    let strict = Moto::start_with_auth().await;
    let error = start_up_error(
        &format!("s3://{BUCKET}/recordings"),
        strict.s3_settings("AKIAUNKNOWNKEY000000", "wrong"),
    )
    .await;
    assert!(error.contains("the credentials were refused"), "{error}");
}

#[tokio::test]
async fn an_unreachable_store_answers_503_while_ingest_goes_on() {
    let moto = Moto::start().await;
    // No cache of object ranges: it would answer the reads below from what
    // the first download read.
    let configure = moto.configure("outage");
    let app = TestApp::spawn_with(Box::new(move |settings: &mut termaudit_server::Settings| {
        configure(settings);
        settings.object_cache_bytes = 0;
    }))
    .await;
    let t = project(&app).await;
    let stored = recorded(&app, &t).await;
    end_session(&app, stored).await;
    compacted(&app, stored).await;
    let before = download_checked(&app, &t, stored).await;

    moto.pause();
    // (Search reads the text in PostgreSQL, not the objects.)
    for rest in ["/download", "/events?from=1"] {
        let response = app.get(&path(stored, rest), &t.reader).await;
        assert_eq!(response.headers()["retry-after"], "5", "{rest}");
        let body = problem(response, 503, "service-unavailable").await;
        assert!(body["detail"].as_str().unwrap().contains("object store"), "{rest}: {body}");
    }
    // Ingest needs PostgreSQL only: a new recording is taken and finalized.
    let live = recorded(&app, &t).await;
    end_session(&app, live).await;
    let summary: Value = json(app.get(&path(live, ""), &t.reader).await, 200).await;
    assert_eq!(summary["state"], "available");

    moto.resume();
    assert_eq!(download_checked(&app, &t, stored).await, before);
    // The compactor retried: the new recording leaves PostgreSQL too.
    compacted(&app, live).await;
    assert!(objects_of(&moto, live).await > 0);
    download_checked(&app, &t, live).await;
}

#[tokio::test]
async fn retention_deletes_objects_after_rows_resumes_and_keeps_held_ones() {
    let moto = Moto::start().await;
    let app = TestApp::spawn_with(moto.configure("retention")).await;
    let t = project(&app).await;
    let (expired, held) = (recorded(&app, &t).await, recorded(&app, &t).await);
    for session in [expired, held] {
        end_session(&app, session).await;
        compacted(&app, session).await;
        assert!(objects_of(&moto, session).await > 0);
    }
    let hold = format!("/api/v1/projects/{PROJECT}/sessions/{held}/hold");
    json::<Value>(app.post(&hold, &t.reader, &json!({"reason": "litigation"})).await, 201).await;

    let db = app.db.connect().await;
    let count = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let expired_objects: i64 = db
        .query_one("SELECT count(*) FROM recording_objects WHERE session_id = $1", &[&expired])
        .await
        .unwrap()
        .get(0);
    assert!(expired_objects > 0);

    // The store is away during the sweep: the rows go, the objects stay
    // listed for deletion.
    moto.pause();
    let far = Utc::now() + chrono::Duration::days(400);
    let report = sweep_once(&app.store, &app.database_url(), far, SweepOptions::default())
        .await
        .expect("the sweep completes without the store");
    assert_eq!(report.purged(), 1);
    assert_eq!(count("SELECT count(*) FROM recording_object_deletions").await, expired_objects);
    let summary: Value = json(app.get(&path(expired, ""), &t.reader).await, 200).await;
    assert_eq!(summary["state"], "purged");
    problem(app.get(&path(expired, "/download"), &t.reader).await, 410, "gone").await;

    // Back: the compactor deletes the listed objects; the held ones stay.
    moto.resume();
    let deadline = tokio::time::Instant::now() + COMPACTED_WITHIN;
    while count("SELECT count(*) FROM recording_object_deletions").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the purged objects were not deleted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(objects_of(&moto, expired).await, 0);
    assert!(objects_of(&moto, held).await > 0);
    assert_eq!(
        count("SELECT count(*) FROM recording_objects r JOIN recordings USING (session_id) WHERE purged_at IS NOT NULL").await,
        0
    );
    let bytes_freed: i64 = db
        .query_one("SELECT bytes_freed FROM retention_runs ORDER BY id DESC LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(bytes_freed > 0, "the purged recording's object bytes are reported");
    download_checked(&app, &t, held).await;
}

#[tokio::test]
async fn a_local_directory_is_a_store_too() {
    let dir = std::env::temp_dir().join(format!("termaudit-objects-{}", Uuid::new_v4()));
    let url = format!("file://{}", dir.display());
    let app = TestApp::spawn_with(Box::new(move |settings| {
        settings.recordings_store = RecordingsStoreUrl::parse(&url).unwrap();
    }))
    .await;
    let t = project(&app).await;
    let session = recorded(&app, &t).await;
    end_session(&app, session).await;
    compacted(&app, session).await;
    let body = download_checked(&app, &t, session).await;
    assert_eq!(String::from_utf8(body).unwrap(), CAST);
    let objects = std::fs::read_dir(dir.join(format!("recordings/{session}"))).unwrap().count();
    assert!(objects > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn an_object_no_row_points_at_is_deleted_after_its_grace() {
    let moto = Moto::start().await;
    let app = TestApp::spawn_with(moto.configure("orphans")).await;
    // What a crash between an object's write and the transaction that
    // points at it leaves: the object, listed for deletion after a grace.
    let key = format!("orphans/recordings/{}/{}", Uuid::now_v7(), Uuid::now_v7());
    moto.put_object(&key, b"orphaned bytes").await;
    let db = app.db.connect().await;
    db.execute(
        "INSERT INTO recording_object_deletions (store, key, delete_after)
         VALUES ($1, $2, now() + interval '1 hour')",
        &[&format!("s3://{BUCKET}"), &key],
    )
    .await
    .unwrap();
    assert_eq!(app.store.delete_released_objects(100).await.unwrap(), 0, "within its grace");
    assert!(moto.keys().await.contains(&key));

    db.execute("UPDATE recording_object_deletions SET delete_after = now()", &[]).await.unwrap();
    app.store.delete_released_objects(100).await.unwrap();
    assert!(!moto.keys().await.contains(&key), "the orphan is deleted");
    let left: i64 =
        db.query_one("SELECT count(*) FROM recording_object_deletions", &[]).await.unwrap().get(0);
    assert_eq!(left, 0);
}

/// `lines` lines of output that zstd barely compresses, in asciicast v2.
fn noisy_lines(seed: &str, lines: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    let mut state = Sha256::digest(seed.as_bytes());
    for i in 0..lines {
        let mut line = String::with_capacity(1024);
        while line.len() < 1000 {
            state = Sha256::digest(state);
            line.extend(state.iter().map(|b| ALPHABET[usize::from(b % 64)] as char));
        }
        out.push_str(&format!("[{}.{:03}, \"o\", \"{line}\\r\\n\"]\n", i / 1000, i % 1000));
    }
    out
}

#[tokio::test]
async fn a_live_recording_is_compacted_once_8_mib_wait() {
    let moto = Moto::start().await;
    let app = TestApp::spawn_with(moto.configure("live")).await;
    let t = project(&app).await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let header = "{\"version\": 2, \"width\": 80, \"height\": 24}\n";
    let mut uploaded = String::from(header);
    // 12 MiB of output in chunks of 3 MiB: over 8 MiB once compressed.
    for seq in 0..4u32 {
        let lines = noisy_lines(&format!("chunk {seq}"), 3000)
            .lines()
            .enumerate()
            .map(|(i, line)| {
                // Times go on from chunk to chunk.
                let at = f64::from(seq) * 10.0 + i as f64 / 1000.0;
                line.replacen(line.split(',').next().unwrap(), &format!("[{at:.3}"), 1) + "\n"
            })
            .collect::<String>();
        let body = if seq == 0 { format!("{header}{lines}") } else { lines.clone() };
        uploaded.push_str(&lines);
        put_chunk(&app, &t, session, seq, body).await;
    }
    // Still recording: its first chunks move to an object all the same.
    let db = app.db.connect().await;
    let deadline = tokio::time::Instant::now() + COMPACTED_WITHIN;
    loop {
        let moved: i64 = db
            .query_one(
                "SELECT count(*) FROM recording_chunks WHERE session_id = $1 AND data IS NULL",
                &[&session],
            )
            .await
            .unwrap()
            .get(0);
        if moved > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing compacted while recording");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let summary: Value = json(app.get(&path(session, ""), &t.reader).await, 200).await;
    assert_eq!(summary["state"], "recording");
    assert!(objects_of(&moto, session).await > 0);
    let response = app.get(&path(session, "/download"), &t.reader).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(body == canonical(&uploaded).as_bytes(), "the live download is what was uploaded");

    // Ended while the store is away: the finalization, which reads the
    // compacted chunks, waits for it, and happens once it is back.
    moto.pause();
    let close = format!("/api/v1/projects/{PROJECT}/sessions/{session}/close");
    json::<Value>(app.post(&close, &t.gateway, &json!({"reason": "user_exit"})).await, 200).await;
    moto.resume();
    let deadline = tokio::time::Instant::now() + COMPACTED_WITHIN;
    loop {
        let summary: Value = json(app.get(&path(session, ""), &t.reader).await, 200).await;
        if summary["state"] == "available" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not finalized: {summary}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let body = download_checked(&app, &t, session).await;
    assert!(body == canonical(&uploaded).as_bytes());
}

/// A cast file's canonical v2 lines, as termaudit stores and serves them.
fn canonical(cast: &str) -> String {
    let mut lines = cast.lines();
    let (header, mut decoder) = Decoder::from_header_line(lines.next().unwrap()).unwrap();
    let mut out = header.to_line() + "\n";
    for line in lines {
        if let Some(event) = decoder.decode_line(line).unwrap() {
            out.push_str(&event.to_line());
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn recordings_move_to_s3_and_back_with_their_digests() {
    let moto = Moto::start().await;
    let app = TestApp::spawn().await;
    let t = project(&app).await;
    let (first, second) = (recorded(&app, &t).await, recorded(&app, &t).await);
    for session in [first, second] {
        end_session(&app, session).await;
    }
    let live = recorded(&app, &t).await;
    termaudit_tests::emulation::wait_until_emulated(&app.db, COMPACTED_WITHIN)
        .await
        .expect("the emulation catches up");
    let settings = |store: &str| Settings {
        database_url: app.db.app_url(),
        migrate_database_url: Some(app.db.url()),
        recordings_store: RecordingsStoreUrl::parse(store).unwrap(),
        s3: moto.s3_settings("test", "test"),
        ..Settings::default()
    };
    let s3 = format!("s3://{BUCKET}/moved");
    assert_eq!(move_recordings(&settings("postgres"), &s3).await.unwrap(), 2);
    for session in [first, second] {
        compacted(&app, session).await;
        assert!(objects_of(&moto, session).await > 0);
    }
    let db = app.db.connect().await;
    let store: String = db
        .query_one("SELECT store FROM recordings WHERE session_id = $1", &[&live])
        .await
        .unwrap()
        .get(0);
    assert_eq!(store, "postgres", "a live recording stays");
    // Resumable: a second run finds nothing left to move.
    assert_eq!(move_recordings(&settings("postgres"), &s3).await.unwrap(), 0);
    let replica = TestApp::spawn_replica_with(&app, moto.configure("moved"), Vec::new()).await;
    let from_s3 =
        [download_checked(&replica, &t, first).await, download_checked(&replica, &t, second).await];

    assert_eq!(move_recordings(&settings(&s3), "postgres").await.unwrap(), 2);
    for (session, body) in [first, second].into_iter().zip(from_s3) {
        assert_eq!(objects_of(&moto, session).await, 0, "moved back, its objects deleted");
        assert_eq!(download_checked(&app, &t, session).await, body);
    }
    let left: i64 =
        db.query_one("SELECT count(*) FROM recording_objects", &[]).await.unwrap().get(0);
    assert_eq!(left, 0);
}
