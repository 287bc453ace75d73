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
        .env("DATABASE_URL", db.url())
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
