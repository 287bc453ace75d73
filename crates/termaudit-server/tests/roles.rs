//! The two database URLs of the real binary: `termaudit migrate` creates
//! the database and applies migrations as the owner
//! (`TERMAUDIT_MIGRATE_DATABASE_URL`), the server serves as the app role
//! (`DATABASE_URL`), and a server given one URL only says at start-up that
//! the audit log is then protected only against polite statements.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use termaudit_storage::DatabaseUrl;
use termaudit_tests::TestDatabase;

fn termaudit(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_termaudit"));
    command.args(args).env_remove("TERMAUDIT_CONFIG").env_remove("TERMAUDIT_MIGRATE_DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

#[tokio::test]
async fn migrate_creates_and_migrates_as_the_owner_and_the_app_role_then_serves() {
    let db = TestDatabase::create().await;
    // A database that does not exist yet, on the same server.
    let name = format!("{}_new", db.name());
    let owner = db.url().replace(db.name(), &name);
    let app = db.app_url().replace(db.name(), &name);
    let migrated = termaudit(
        &["migrate"],
        &[("DATABASE_URL", &app), ("TERMAUDIT_MIGRATE_DATABASE_URL", &owner)],
    )
    .output()
    .unwrap();
    let result = async {
        assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
        let direct = DatabaseUrl::parse(&owner).unwrap().connect().await.unwrap();
        let owners: Vec<String> = direct
            .query(
                "SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(owners, ["postgres"], "the owner created the tables");
        // The CLI's other commands run as the app role.
        let created = termaudit(
            &["project", "create", "ops", "--name", "Ops"],
            &[("DATABASE_URL", &app), ("TERMAUDIT_MIGRATE_DATABASE_URL", &owner)],
        )
        .output()
        .unwrap();
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        // Migrating with the app role alone fails: it may create nothing.
        let refused = termaudit(&["migrate"], &[("DATABASE_URL", &app)]).output().unwrap();
        assert!(!refused.status.success());
    }
    .await;
    let admin =
        DatabaseUrl::parse(&db.url()).unwrap().with_database("postgres").connect().await.unwrap();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
    result
}

/// Starts `termaudit serve` and returns what it logged until it served.
fn serve_log(env: &[(&str, &str)]) -> String {
    let mut child = termaudit(&["serve", "--bind", "127.0.0.1:0"], env)
        .env("TERMAUDIT_JWT_SECRET", termaudit_tests::TEST_SECRET)
        .env("TERMAUDIT_RETENTION_INTERVAL_SECONDS", "0")
        .env("RUST_LOG", "info")
        .env_remove("TERMAUDIT_WEB_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while !log.contains("termaudit is serving") {
        assert!(Instant::now() < deadline, "not serving after 30 s: {log}");
        match lines.next() {
            Some(line) => log.push_str(&(line.unwrap() + "\n")),
            None => panic!("the server ended: {log}"),
        }
    }
    drop(child.kill());
    drop(child.wait());
    std::thread::sleep(Duration::from_millis(10));
    log
}

#[tokio::test]
async fn one_url_serves_as_the_owner_with_a_warning_and_two_do_not() {
    let db = TestDatabase::create().await;
    let warning = "the audit log is then append-only only against polite statements";
    let one = serve_log(&[("DATABASE_URL", &db.url())]);
    assert!(one.contains(warning), "{one}");
    let two = serve_log(&[
        ("DATABASE_URL", &db.app_url()),
        ("TERMAUDIT_MIGRATE_DATABASE_URL", &db.url()),
    ]);
    assert!(!two.contains(warning), "{two}");
    assert!(two.contains("termaudit is serving"), "{two}");
}
