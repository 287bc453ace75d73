//! PostgreSQL restarted under the server (issue #9): each test starts a
//! PostgreSQL of its own ([`PrivatePg`]; the machine's shared one is never
//! restarted) and the real server against it. An export cut by the restart
//! ends in error, never as a shorter file that ends well, and is audited as
//! failed once the database is back; a request the restart interrupts is a
//! 503 with `Retry-After`, not a 500; a sweep cut by it fails, keeps the
//! batches it committed, and the next sweep purges the rest, each recording
//! once; gateways uploading through it get 503s, retry, and every chunk is
//! stored once, while the emulation workers resume by themselves. The
//! bounds on waiting (tens of seconds) are for liveness only.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use termaudit_domain::Permission::*;
use termaudit_retention::{RetentionError, SweepOptions, SweepReport, sweep_once};
use termaudit_tests::{
    PrivatePg, StopMode, TestApp, json, problem,
    retention::purged_once,
    seed::{project_id, seed_closed_sessions},
    someone_waits_for_a_lock,
};
use uuid::Uuid;

const SESSIONS: i32 = 20_000;

/// Waits (up to 60 s) until `condition` holds.
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "not within 60 s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn export_audits(app: &TestApp) -> Vec<Value> {
    let db = app.db.connect().await;
    db.query(
        "SELECT details FROM audit_events WHERE event_type = 'history.exported' ORDER BY id",
        &[],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.get(0))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_cut_by_a_restart_ends_in_error_and_is_audited_as_failed() {
    let pg = PrivatePg::start().await;
    let app = TestApp::spawn_on(&pg.url("termaudit")).await;
    app.create_project("demo").await;
    let project = project_id(&app, "demo").await;
    seed_closed_sessions(&app.db.connect().await, project, SESSIONS, false).await;
    let viewer = app.token("vera", "demo", &[ViewHistory]);

    let mut export = app.get("/api/v1/projects/demo/export?format=csv", &viewer).await;
    assert_eq!(export.status(), 200);
    // Take a little and stop reading: the server waits with its cursor
    // open (about 20 MB of CSV, far more than the sockets buffer).
    let mut body = Vec::new();
    while body.len() < 64 * 1024 {
        body.extend_from_slice(&export.chunk().await.unwrap().expect("more of the export"));
    }

    pg.stop(StopMode::Fast).await;
    // While the database is down, the API says so: 503, and when to retry.
    let down = app.get("/api/v1/projects/demo/sessions", &viewer).await;
    let retry_after = down.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    problem(down, 503, "service-unavailable").await;
    assert_eq!(retry_after.as_deref(), Some("5"));

    // The rest of the export, read while the database is still down: it
    // must end in a transport error (the chunked body's last chunk never
    // comes), not as a complete response.
    let end = loop {
        match export.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(err) => break Err(err),
        }
    };
    let lines = body.split(|b| *b == b'\n').count() - 1;
    assert!(
        end.is_err(),
        "the export cut by the restart ended cleanly after {lines} lines ({} bytes)",
        body.len()
    );
    assert!(lines < SESSIONS as usize + 1, "every row arrived ({lines} lines)");
    pg.start_again().await;

    // The API answers again, and the export is audited as failed, once: the
    // entry waited for the database.
    eventually("the API answers after the restart", || async {
        app.get("/api/v1/projects/demo/sessions?limit=1", &viewer).await.status() == 200
    })
    .await;
    eventually("the failed export is audited", || async { !export_audits(&app).await.is_empty() })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await; // a second entry would be a bug
    let audits = export_audits(&app).await;
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0]["outcome"], "failed", "{audits:?}");
    assert!(audits[0]["rows"].as_u64().unwrap() < SESSIONS as u64, "{audits:?}");

    // A new export after the restart is complete (one user's 400 sessions).
    let again = app.get("/api/v1/projects/demo/export?format=ndjson&user=user1", &viewer).await;
    assert_eq!(again.status(), 200);
    let text = again.text().await.expect("a complete export");
    assert_eq!(text.lines().count(), SESSIONS as usize / 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cut_by_a_restart_is_a_503_with_retry_after() {
    let pg = PrivatePg::start().await;
    let app = TestApp::spawn_on(&pg.url("termaudit")).await;
    app.create_project("demo").await;
    let manager = app.token("carol", "demo", &[ManagePolicy]);
    json::<Value>(app.get("/api/v1/projects/demo/policy", &manager).await, 200).await;

    // The request waits on a lock the test holds, and is waiting on the
    // database when it shuts down (the server ends it with 57P01).
    let holder = app.db.connect().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE terminal_policies IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let (client, url, token) =
            (app.client.clone(), app.url("/api/v1/projects/demo/policy"), manager.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    });
    let watcher = app.db.connect().await;
    eventually("the request waits for the lock", || someone_waits_for_a_lock(&watcher)).await;
    pg.stop(StopMode::Fast).await;
    let response = waiting.await.unwrap();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    problem(response, 503, "service-unavailable").await;
    assert_eq!(retry_after.as_deref(), Some("5"));

    pg.start_again().await;
    eventually("the API answers after the restart", || async {
        app.get("/api/v1/projects/demo/policy", &manager).await.status() == 200
    })
    .await;
}

struct Sweep {
    app: TestApp,
    /// The seeded recordings' sessions, in the order the sweep meets them.
    ids: Vec<Uuid>,
}

const RECORDINGS: i32 = 350;
const BATCH: i64 = 100;

/// Exactly `expected` are purged, each with one `recording.purged`.
async fn assert_purged_once(app: &TestApp, expected: &[Uuid]) {
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(purged_once(&app.db.connect().await).await, expected, "purged recordings");
}

async fn run_statuses(app: &TestApp) -> Vec<String> {
    let db = app.db.connect().await;
    db.query("SELECT status FROM retention_runs ORDER BY id", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.get(0))
        .collect()
}

impl Sweep {
    async fn new(app: TestApp) -> Sweep {
        app.create_project("demo").await;
        let project = project_id(&app, "demo").await;
        let ids = seed_closed_sessions(&app.db.connect().await, project, RECORDINGS, true).await;
        Sweep { app, ids }
    }

    /// Holds a row lock on the chunk of the 250th recording: the sweep's
    /// third batch waits for it half way, after two batches committed.
    async fn block_the_third_batch(&self) -> tokio_postgres::Client {
        let holder = self.app.db.connect().await;
        holder
            .batch_execute(&format!(
                "BEGIN; SELECT 1 FROM recording_chunks WHERE session_id = '{}' FOR SHARE",
                self.ids[249]
            ))
            .await
            .unwrap();
        holder
    }

    fn start(&self) -> tokio::task::JoinHandle<Result<SweepReport, RetentionError>> {
        let (store, url) = (self.app.store.clone(), self.app.database_url());
        let options = SweepOptions { batch_size: BATCH, max_batches: None, rest: 0.0 };
        tokio::spawn(async move { sweep_once(&store, &url, Utc::now(), options).await })
    }

    async fn wait_until_blocked(&self) {
        let watcher = self.app.db.connect().await;
        eventually("the sweep waits for the held row", || someone_waits_for_a_lock(&watcher)).await;
    }

    async fn finish(
        sweep: tokio::task::JoinHandle<Result<SweepReport, RetentionError>>,
    ) -> Result<SweepReport, RetentionError> {
        tokio::time::timeout(Duration::from_secs(60), sweep)
            .await
            .expect("the sweep ends within 60 s")
            .expect("the sweep does not panic")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_cut_by_a_restart_fails_and_the_next_one_purges_the_rest_once() {
    let pg = PrivatePg::start().await;
    let sweep = Sweep::new(TestApp::spawn_on(&pg.url("termaudit")).await).await;
    let _holder = sweep.block_the_third_batch().await;
    let running = sweep.start();
    sweep.wait_until_blocked().await;
    assert_purged_once(&sweep.app, &sweep.ids[..200]).await;

    pg.restart(StopMode::Immediate).await;
    let result = Sweep::finish(running).await;
    assert!(result.is_err(), "the sweep cut by the restart reported {result:?}");
    // The two committed batches stay; the third left nothing half done.
    assert_purged_once(&sweep.app, &sweep.ids[..200]).await;
    let statuses = run_statuses(&sweep.app).await;
    assert_ne!(statuses, ["completed"], "the cut run is not recorded as completed");

    let options = SweepOptions { batch_size: BATCH, max_batches: None, rest: 0.0 };
    let report =
        sweep_once(&sweep.app.store, &sweep.app.database_url(), Utc::now(), options).await.unwrap();
    assert!(matches!(report, SweepReport::Completed { purged: 150, .. }), "{report:?}");
    assert_purged_once(&sweep.app, &sweep.ids).await;
    // The cut run is failed (recorded by the sweep when the database came
    // back in time) or interrupted (marked by the next sweep); none runs.
    let statuses = run_statuses(&sweep.app).await;
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(["failed", "interrupted"].contains(&statuses[0].as_str()), "{statuses:?}");
    assert_eq!(statuses[1], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_that_loses_its_lock_stops_before_its_next_batch() {
    // The lock's connection ends as in a restart, but only it: the batch
    // in progress commits, and the sweep must still stop, since another
    // sweeper may hold the lock by now. (No restart: the shared server.)
    let sweep = Sweep::new(TestApp::spawn().await).await;
    let holder = sweep.block_the_third_batch().await;
    let running = sweep.start();
    sweep.wait_until_blocked().await;
    let admin = sweep.app.db.connect().await;
    let ended = admin
        .query_one(
            "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
             JOIN pg_database d ON d.oid = l.database AND d.datname = current_database()
             WHERE l.locktype = 'advisory' AND l.granted
               -- the sweeper's key (0x7465726d_73776570), not the log sequencer's
               AND l.classid = 1952805485 AND l.objid = 1937204592",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(ended, 1, "the sweeper lock's connection");
    holder.batch_execute("ROLLBACK").await.unwrap();

    let result = Sweep::finish(running).await;
    assert!(matches!(result, Err(RetentionError::LockLost)), "{result:?}");
    assert_purged_once(&sweep.app, &sweep.ids[..300]).await;
    assert_eq!(run_statuses(&sweep.app).await, ["failed"]);

    let options = SweepOptions { batch_size: BATCH, max_batches: None, rest: 0.0 };
    let report =
        sweep_once(&sweep.app.store, &sweep.app.database_url(), Utc::now(), options).await.unwrap();
    assert!(matches!(report, SweepReport::Completed { purged: 50, .. }), "{report:?}");
    assert_purged_once(&sweep.app, &sweep.ids).await;
}

/// How 20 gateways fared through the restart.
#[derive(Default)]
struct Uploads {
    /// Chunks answered 201 or 200.
    acknowledged: std::sync::atomic::AtomicUsize,
    /// Attempts answered 503 (with `Retry-After`) or cut off, then retried.
    retried: std::sync::atomic::AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_through_a_restart_stores_each_chunk_once_and_the_emulation_resumes() {
    use sha2::{Digest, Sha256};
    use std::sync::{Arc, atomic::Ordering};
    use termaudit_domain::EnvironmentClass;
    use termaudit_tests::{
        emulation::{assert_snapshots_equal_a_replay_from_zero, busy_chunks, wait_until_emulated},
        seed::seed_session,
    };
    const GATEWAYS: usize = 20;
    const CHUNKS: usize = 30;

    let pg = PrivatePg::start().await;
    let app = TestApp::spawn_on_with(
        &pg.url("termaudit"),
        Box::new(|s| s.emulation_lease = Duration::from_secs(2)),
    )
    .await;
    app.create_project("demo").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let mut sessions = Vec::new();
    for _ in 0..=GATEWAYS {
        sessions.push(seed_session(&app, "demo", EnvironmentClass::Production, true).await);
    }
    let probe = sessions.pop().unwrap();
    let uploads = Arc::new(Uploads::default());
    let mut gateways = Vec::new();
    for (i, session) in sessions.iter().copied().enumerate() {
        let (client, token, uploads) = (app.client.clone(), gateway.clone(), uploads.clone());
        let url = app.url(&format!("/api/v1/projects/demo/sessions/{session}/recording/chunks"));
        gateways.push(tokio::spawn(async move {
            for (seq, body) in
                busy_chunks(&format!("gateway {i}"), CHUNKS as u32, 20).into_iter().enumerate()
            {
                // A gateway sends a chunk until it is answered, and waits
                // as `Retry-After` says (here a tenth of it).
                loop {
                    let sent =
                        client.put(format!("{url}/{seq}")).bearer_auth(&token).body(body.clone());
                    match sent.send().await {
                        Ok(r) if r.status() == 201 || r.status() == 200 => break,
                        Ok(r) if r.status() == 503 => {
                            assert!(
                                r.headers().contains_key("retry-after"),
                                "503 without Retry-After"
                            );
                        }
                        Ok(r) => panic!("chunk {seq} of {session}: {}", r.status()),
                        Err(_) => {}
                    }
                    uploads.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                uploads.acknowledged.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    // PostgreSQL stops while the gateways upload, a fifth of the way in.
    eventually("a fifth of the chunks are stored", || async {
        uploads.acknowledged.load(Ordering::Relaxed) >= GATEWAYS * CHUNKS / 5
    })
    .await;
    pg.stop(StopMode::Fast).await;
    let down = app
        .client
        .put(app.url(&format!("/api/v1/projects/demo/sessions/{probe}/recording/chunks/0")))
        .bearer_auth(&gateway)
        .body(busy_chunks("probe", 1, 5).remove(0))
        .send()
        .await
        .unwrap();
    let retry_after = down.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    problem(down, 503, "service-unavailable").await;
    assert_eq!(retry_after.as_deref(), Some("5"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.start_again().await;
    for gateway in gateways {
        tokio::time::timeout(Duration::from_secs(120), gateway)
            .await
            .expect("the gateways finish within 2 minutes")
            .unwrap();
    }
    println!(
        "{} chunks acknowledged, {} attempts retried",
        uploads.acknowledged.load(Ordering::Relaxed),
        uploads.retried.load(Ordering::Relaxed)
    );

    // Every chunk is stored once, with the body its gateway sent.
    let db = app.db.connect().await;
    for (i, session) in sessions.iter().enumerate() {
        let stored = db
            .query(
                "SELECT seq, upload_sha256 FROM recording_chunks WHERE session_id = $1 ORDER BY seq",
                &[session],
            )
            .await
            .unwrap();
        let expected: Vec<(i32, Vec<u8>)> = busy_chunks(&format!("gateway {i}"), CHUNKS as u32, 20)
            .iter()
            .enumerate()
            .map(|(seq, body)| (seq as i32, Sha256::digest(body.as_bytes()).to_vec()))
            .collect();
        let stored: Vec<(i32, Vec<u8>)> = stored.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(stored, expected, "the chunks of gateway {i}");
    }
    // The emulation resumed by itself, and kept a replay's snapshots.
    wait_until_emulated(&app.db, Duration::from_secs(120))
        .await
        .unwrap_or_else(|lag| panic!("the emulation did not catch up: {lag:?}"));
    for session in &sessions {
        assert_snapshots_equal_a_replay_from_zero(&app.store, &db, *session).await;
    }
}
