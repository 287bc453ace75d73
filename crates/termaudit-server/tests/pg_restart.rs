//! The real `termaudit` binary while PostgreSQL restarts under it (issue
//! #9), against a PostgreSQL of the test's own ([`PrivatePg`]; the
//! machine's shared one is never restarted): `termaudit export -o FILE`
//! exits non-zero with a clear message and leaves no file, neither FILE nor
//! `FILE.partial`, and is audited as failed; `termaudit sweep --once` exits
//! non-zero keeping the batches it committed, and the next run finishes.
//! The bounds on waiting (60 s) are for liveness only.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

use std::{
    io::Read,
    os::unix::fs::OpenOptionsExt,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use termaudit_storage::DatabaseUrl;
use termaudit_tests::{PrivatePg, StopMode, retention::purged_once, seed::seed_closed_sessions};
use uuid::Uuid;

fn termaudit(pg: &PrivatePg) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_termaudit"));
    command
        .env("DATABASE_URL", pg.app_url("termaudit"))
        .env("TERMAUDIT_MIGRATE_DATABASE_URL", pg.url("termaudit"))
        .env_remove("TERMAUDIT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(pg: &PrivatePg, args: &[&str]) -> Output {
    termaudit(pg).args(args).output().expect("termaudit runs")
}

/// A private server with the schema, project `ops`, and `count` closed
/// sessions (recorded and expired when `recorded`), in the order a sweep
/// meets them.
async fn prepare(pg: &PrivatePg, count: i32, recorded: bool) -> Vec<Uuid> {
    let created = run(pg, &["project", "create", "ops", "--name", "Ops"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let db = connect(pg).await;
    let project: Uuid =
        db.query_one("SELECT id FROM projects WHERE slug = 'ops'", &[]).await.unwrap().get(0);
    seed_closed_sessions(&db, project, count, recorded).await
}

async fn connect(pg: &PrivatePg) -> tokio_postgres::Client {
    DatabaseUrl::parse(&pg.url("termaudit")).unwrap().connect().await.unwrap()
}

fn wait_for_exit(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "termaudit still runs after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads what is in the FIFO (without blocking) until `enough` bytes came
/// or, with `None`, until its writer closed it.
fn read_fifo(fifo: &mut std::fs::File, enough: Option<usize>) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut total, mut buf) = (0, vec![0; 1 << 16]);
    loop {
        if enough.is_some_and(|n| total >= n) {
            return total;
        }
        assert!(Instant::now() < deadline, "the export's output stalled ({total} bytes)");
        match fifo.read(&mut buf) {
            Ok(0) if enough.is_none() && total > 0 => return total,
            Ok(n) => total += n,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) => panic!("reading the FIFO: {err}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_to_a_file_cut_by_a_restart_fails_and_leaves_no_file() {
    let pg = PrivatePg::start().await;
    prepare(&pg, 20_000, false).await;
    let dir = std::env::temp_dir().join(format!("termaudit-export-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("history.csv");
    let partial = dir.join("history.csv.partial");
    // The export writes FILE.partial; a FIFO there lets the test read at its
    // own pace, so the export is surely half way (its cursor open, ~20 MB
    // to go) when PostgreSQL restarts. (Opened without blocking, before the
    // export opens it to write.)
    let made = Command::new("mkfifo").arg(&partial).status().unwrap();
    assert!(made.success());
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(0o4000) // O_NONBLOCK
        .open(&partial)
        .unwrap();

    let mut export = termaudit(&pg)
        .args(["export", "--project", "ops", "--format", "csv", "-o"])
        .arg(&file)
        .spawn()
        .unwrap();
    let before = read_fifo(&mut fifo, Some(256 * 1024));
    // The export fails while the database is down, so its audit entry has
    // to wait for it.
    pg.stop(StopMode::Fast).await;
    let after = read_fifo(&mut fifo, None);
    pg.start_again().await;
    wait_for_exit(&mut export);
    let out = export.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the export cut by a restart succeeded: {stderr}");
    assert!(stderr.contains("the export failed; nothing was written"), "{stderr}");
    assert!(before + after < 20_000 * 1000, "the whole export came through");
    assert!(!file.exists(), "a file that looks complete");
    assert!(!partial.exists(), "the partial file stays");
    assert!(!exists_in(&dir), "something is left in {}", dir.display());

    let db = connect(&pg).await;
    let audits: Vec<serde_json::Value> = db
        .query("SELECT details FROM audit_events WHERE event_type = 'history.exported'", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert_eq!(audits[0]["outcome"], "failed", "{audits:?}");
    assert_eq!(audits[0]["via"], "cli", "{audits:?}");

    // Once the database is back, an export completes (one user's 400 sessions).
    let out = run(
        &pg,
        &[
            "export",
            "--project",
            "ops",
            "--format",
            "ndjson",
            "--user",
            "user1",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 400);
    assert!(!partial.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn exists_in(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_cut_by_a_restart_fails_and_the_next_run_finishes() {
    let pg = PrivatePg::start().await;
    let ids = prepare(&pg, 350, true).await;
    // A row lock on the 250th recording's chunk: the sweep's third batch (of
    // the default 100) waits for it half way, after two batches committed.
    let holder = connect(&pg).await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM recording_chunks WHERE session_id = '{}' FOR SHARE",
            ids[249]
        ))
        .await
        .unwrap();
    let mut sweep = termaudit(&pg).args(["sweep", "--once"]).spawn().unwrap();
    let watcher = connect(&pg).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the sweep does not reach the held row in 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    pg.restart(StopMode::Immediate).await;
    wait_for_exit(&mut sweep);
    let out = sweep.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the sweep cut by a restart succeeded: {stderr}");
    assert!(stderr.contains("the sweep stopped"), "{stderr}");
    let db = connect(&pg).await;
    assert_eq!(purged_once(&db).await.len(), 200);

    let out = run(&pg, &["sweep", "--once"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("purged 150 recording(s)"), "{stdout}");
    assert_eq!(purged_once(&db).await.len(), 350);
}
