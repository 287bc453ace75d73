//! `termaudit export`, run as an operator runs it, against a test database.

use std::process::{Command, Output};

use chrono::Utc;
use termaudit_domain::{
    AuditEventType, EnvironmentClass, EnvironmentName, ProjectName, ProjectSlug, Reason,
    SessionMode, TargetKind, TargetName,
};
use termaudit_storage::{AuditFilter, DatabaseEvent, DatabaseUrl, NewSession, NewTarget, Store};
use termaudit_tests::TestDatabase;

fn termaudit(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_termaudit"))
        .args(args)
        .env("DATABASE_URL", db.app_url())
        .env("TERMAUDIT_MIGRATE_DATABASE_URL", db.url())
        .env_remove("TERMAUDIT_CONFIG")
        .output()
        .expect("termaudit runs")
}

#[tokio::test]
async fn export_writes_the_api_formats_to_stdout_or_a_file_and_is_audited() {
    let db = TestDatabase::create().await;
    let store = Store::new(&DatabaseUrl::parse(&db.url()).expect("a URL"), 2).expect("a pool");
    let slug = ProjectSlug::parse("ops").expect("a slug");
    let project =
        store.create_project(&slug, &ProjectName::parse("Ops").expect("a name")).await.unwrap();
    let target = NewTarget {
        name: TargetName::parse("orders-db").unwrap(),
        kind: TargetKind::Database,
        environment: EnvironmentName::parse("prod").unwrap(),
        environment_class: EnvironmentClass::Production,
    };
    let target = store.create_target(project.id, &target).await.unwrap();
    let new = NewSession {
        target: &target,
        mode: SessionMode::Database,
        reason: Some(Reason::parse("=1+1").unwrap()),
        user_subject: "alice".into(),
        user_name: "Alice".into(),
        opened_at: Utc::now(),
    };
    let session = store.open_session(project.id, &new, true).await.unwrap();
    let statement = DatabaseEvent {
        event_id: "d1".into(),
        statement: "DELETE FROM carts WHERE stale".into(),
        database: Some("orders".into()),
        occurred_at: Utc::now(),
        rows_affected: Some(12),
        duration_ms: Some(4),
        error: None,
    };
    store.append_database_events(project.id, &session, &[statement]).await.unwrap();

    // CSV to stdout: the header, the session, its opening, its statement.
    let out = termaudit(&db, &["export", "--project", "ops"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    assert_eq!(reader.headers().unwrap(), &termaudit_domain::CSV_COLUMNS[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(kinds, ["session", "terminal_event", "database_event"]);
    assert!(rows.iter().all(|r| &r[14] == "'=1+1"), "formula cells are neutralised");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 3 records to stdout"));

    // NDJSON to a file, only database events.
    let dir = std::env::temp_dir().join(format!("termaudit-cli-{}", db.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("export.ndjson");
    let path = file.to_str().unwrap();
    let args = ["export", "--project", "ops", "--format", "ndjson"];
    let out = termaudit(&db, &[&args[..], &["--include", "database_events", "-o", path]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    let records: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["details"]["statement"], "DELETE FROM carts WHERE stale");
    assert_eq!(records[0]["session_id"], session.id.to_string());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no partial file is left");

    // JSON, nothing matching: a valid empty document.
    let out = termaudit(&db, &["export", "--project", "ops", "--format", "json", "--user", "bob"]);
    assert!(out.status.success());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );

    // Bad input is refused before anything is written.
    for bad in [
        &["export", "--project", "ops", "--format", "xlsx"][..],
        &["export", "--project", "ops", "--include", "everything"],
        &["export", "--project", "nope"],
    ] {
        let out = termaudit(&db, bad);
        assert!(!out.status.success(), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "), "{bad:?}");
    }

    let filter =
        AuditFilter { event_type: Some(AuditEventType::HistoryExported), ..Default::default() };
    let audit = store.audit_events(project.id, &filter, None, 10).await.unwrap();
    let rows: Vec<(&str, u64)> = audit
        .items
        .iter()
        .map(|e| (e.details["format"].as_str().unwrap(), e.details["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, [("json", 0), ("ndjson", 1), ("csv", 3)], "newest first");
    assert!(
        audit.items.iter().all(|e| e.details["via"] == "cli" && e.details["completed"] == true)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_termaudit"));
    command.args(args).env_remove("TERMAUDIT_CONFIG").env_remove("TERMAUDIT_JWT_SECRET");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("termaudit runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn token_mints_a_token_with_the_development_secret_kept_for_serve() {
    let data = std::env::temp_dir().join(format!("termaudit-cli-{}", uuid::Uuid::new_v4()));
    let data_dir = data.to_str().expect("a path");
    let args =
        ["token", "--sub", "alice", "--project", "demo", "--permission", "terminal.view_history"];
    let first = run(&args, &[("TERMAUDIT_DATA_DIR", data_dir)]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stderr).contains("DEVELOPMENT secret"), "a loud warning");
    let secret = std::fs::read_to_string(data.join("dev-jwt-secret")).expect("the secret is kept");
    assert_eq!(secret.len(), 64);
    let second = run(&args, &[("TERMAUDIT_DATA_DIR", data_dir)]);
    assert_eq!(
        std::fs::read_to_string(data.join("dev-jwt-secret")).expect("kept"),
        secret,
        "reused"
    );
    // Both tokens verify with the kept secret.
    for output in [first, second] {
        let token = text(&output.stdout);
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["termaudit"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            token.trim(),
            &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        )
        .expect("a valid token")
        .claims;
        assert_eq!(claims["projects"]["demo"], serde_json::json!(["terminal.view_history"]));
    }
    std::fs::remove_dir_all(&data).ok();

    let bad = run(
        &["token", "--sub", "a", "--project", "demo", "--permission", "terminal.delete"],
        &[("TERMAUDIT_DATA_DIR", data_dir)],
    );
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("unknown permission"), "{}", text(&bad.stderr));
}

#[test]
fn an_unreachable_database_is_a_clear_error_not_a_panic() {
    let output =
        run(&["migrate"], &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/termaudit")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: the database is unavailable"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn projects_are_created_once_and_sweeps_run_from_the_command_line() {
    let db = TestDatabase::create().await;
    let created = termaudit(&db, &["project", "create", "ops", "--name", "Operations"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert_eq!(text(&created.stdout).trim(), "created project ops (Operations)");
    let again = termaudit(&db, &["project", "create", "ops", "--name", "Operations"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("exists already"));
    let bad = termaudit(&db, &["project", "create", "Not A Slug", "--name", "x"]);
    assert!(!bad.status.success());

    let dry = termaudit(&db, &["sweep", "--dry-run", "--as-of", "2099-01-01T00:00:00Z"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).starts_with("0 recording(s) would be purged as of 2099-01-01"),
        "{}",
        text(&dry.stdout)
    );
    let once = termaudit(&db, &["sweep", "--once"]);
    assert!(once.status.success(), "{}", text(&once.stderr));
    assert!(text(&once.stdout).contains("purged 0 recording(s)"));
}

#[cfg(unix)]
#[test]
fn a_kept_secret_open_to_others_or_too_short_is_refused_by_token_and_serve() {
    use std::os::unix::fs::PermissionsExt;
    let long = "0123456789abcdef".repeat(4);
    let cases = [
        (long.as_str(), 0o644, "is open to other users (mode 0644)"),
        (long.as_str(), 0o640, "is open to other users (mode 0640)"),
        (long.as_str(), 0o602, "is open to other users (mode 0602)"),
        ("12345", 0o600, "is 5 bytes long; it must be at least 32"),
        ("", 0o600, "is 0 bytes long; it must be at least 32"),
    ];
    for (secret, mode, why) in cases {
        let data = std::env::temp_dir().join(format!("termaudit-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data).expect("a data directory");
        let file = data.join("dev-jwt-secret");
        std::fs::write(&file, secret).expect("the secret is written");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let env = [
            ("TERMAUDIT_DATA_DIR", data.to_str().expect("a path")),
            // `serve` checks its secret before it reaches for the database.
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/termaudit"),
        ];
        for args in
            [&["token", "--sub", "a", "--project", "demo", "--permission", "all"][..], &["serve"]]
        {
            let output = run(args, &env);
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{args:?} with {mode:o}: {stderr}");
            assert!(stderr.contains(why), "{args:?} with {mode:o} {secret:?}: {stderr}");
            assert!(output.stdout.is_empty(), "no token: {}", text(&output.stdout));
        }
        std::fs::remove_dir_all(&data).ok();
    }
}

#[test]
fn an_identity_provider_origin_that_is_not_one_is_refused_at_start() {
    let output = run(
        &["serve"],
        &[
            ("TERMAUDIT_IDENTITY_PROVIDER_ORIGIN", "https://login.example.com/realms/x"),
            ("TERMAUDIT_JWT_SECRET", "termaudit-cli-secret-0123456789abcdef"),
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/termaudit"),
        ],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TERMAUDIT_IDENTITY_PROVIDER_ORIGIN is invalid"), "{stderr}");
}
