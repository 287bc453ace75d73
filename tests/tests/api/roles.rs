//! Least privilege in the database (`migrations/V8__app_role.sql`): the
//! server serves as `termaudit_app`, which owns nothing and may only append
//! to and read the audit log. Each test below is a way the tables' owner
//! could rewrite the audit log, tried as the app role: refused, with the
//! entry unchanged.

use serde_json::json;
use termaudit_domain::Permission::*;
use termaudit_tests::{APP_ROLE, TestApp, json};
use tokio_postgres::error::SqlState;

/// A server with one audited change (a policy update), and the entry's id
/// and row as the owner reads it.
async fn audited() -> (TestApp, i64, String) {
    let app = TestApp::spawn().await;
    app.create_project("ops").await;
    let manager = app.token("carol", "ops", &[ManagePolicy]);
    let policy = json!({
        "retention_days_production": 365, "retention_days_non_production": 30,
        "record_non_production": true, "require_reason_non_production": false,
        "reconnect_grace_seconds": 60,
    });
    let _: serde_json::Value =
        json(app.put("/api/v1/projects/ops/policy", &manager, &policy).await, 200).await;
    let (id, row) = entry(&app).await;
    (app, id, row)
}

/// The policy entry, as text, read by the owner.
async fn entry(app: &TestApp) -> (i64, String) {
    let owner = app.db.connect().await;
    let row = owner
        .query_one(
            "SELECT id, e::text FROM audit_events e WHERE event_type = 'policy.updated'",
            &[],
        )
        .await
        .expect("one policy.updated entry");
    (row.get(0), row.get(1))
}

/// Runs `sql` as the app role and asserts that it is refused with `code`,
/// and that the entry is as it was.
async fn refused(app: &TestApp, before: &str, sql: &str, code: SqlState) {
    let client = app.db.connect_as_app().await;
    let err = client.batch_execute(sql).await.expect_err(&format!("{sql} is refused"));
    let db = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
    assert_eq!(db.code(), &code, "{sql}: {}", db.message());
    assert_eq!(entry(app).await.1, before, "{sql} changed the entry");
}

#[tokio::test]
async fn the_server_serves_as_the_app_role_which_owns_nothing_and_holds_no_attribute() {
    let app = TestApp::spawn().await;
    let role = app.store.serving_role().await.unwrap();
    assert_eq!(role.name, APP_ROLE);
    assert!(!role.superuser && !role.owns_tables, "{role:?}");
    let owner = app.db.connect().await;
    let row = owner
        .query_one(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin,
                    (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid)
             FROM pg_roles r WHERE rolname = $1",
            &[&APP_ROLE],
        )
        .await
        .unwrap();
    let attributes: Vec<bool> = (0..6).map(|i| row.get(i)).collect();
    assert_eq!(attributes, [false, false, false, false, false, true]);
    assert_eq!(row.get::<_, i64>(6), 0, "the app role owns objects");
    // On the audit log: SELECT, and INSERT of the entry's own columns; nothing else.
    let privileges: Vec<String> = owner
        .query(
            "SELECT privilege_type::text FROM information_schema.role_table_grants
             WHERE grantee = $1 AND table_name = 'audit_events' ORDER BY 1",
            &[&APP_ROLE],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(privileges, ["SELECT"]);
    // INSERT of every column but `id` and `xact` (the sequencer's order,
    // V11), which take their defaults.
    let insertable: Vec<String> = owner
        .query(
            "SELECT column_name::text FROM information_schema.column_privileges
             WHERE grantee = $1 AND table_name = 'audit_events' AND privilege_type = 'INSERT'
             ORDER BY 1",
            &[&APP_ROLE],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        insertable,
        [
            "actor_name",
            "actor_subject",
            "details",
            "event_type",
            "occurred_at",
            "project_id",
            "session_id"
        ]
    );
    // No TRUNCATE, REFERENCES or TRIGGER on any table.
    let wide: i64 = owner
        .query_one(
            "SELECT count(*) FROM information_schema.role_table_grants
             WHERE grantee = $1 AND privilege_type IN ('TRUNCATE', 'REFERENCES', 'TRIGGER')",
            &[&APP_ROLE],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wide, 0);
}

#[tokio::test]
async fn the_app_role_cannot_disable_the_audit_logs_triggers() {
    let (app, id, before) = audited().await;
    refused(
        &app,
        &before,
        &format!(
            "ALTER TABLE audit_events DISABLE TRIGGER USER; DELETE FROM audit_events WHERE id = {id}"
        ),
        SqlState::INSUFFICIENT_PRIVILEGE,
    )
    .await;
}

#[tokio::test]
async fn the_app_role_cannot_turn_triggers_off_by_replication_role() {
    let (app, id, before) = audited().await;
    refused(
        &app,
        &before,
        &format!(
            "SET session_replication_role = replica; \
             UPDATE audit_events SET details = '{{}}' WHERE id = {id}"
        ),
        SqlState::INSUFFICIENT_PRIVILEGE,
    )
    .await;
}

#[tokio::test]
async fn the_app_role_cannot_update_delete_truncate_or_drop_the_audit_log() {
    let (app, id, before) = audited().await;
    for sql in [
        format!("UPDATE audit_events SET actor_subject = 'mallory' WHERE id = {id}"),
        format!("DELETE FROM audit_events WHERE id = {id}"),
        "TRUNCATE audit_events".to_owned(),
        "DROP TABLE audit_events".to_owned(),
        "ALTER TABLE audit_events RENAME TO old_audit_events".to_owned(),
    ] {
        refused(&app, &before, &sql, SqlState::INSUFFICIENT_PRIVILEGE).await;
    }
}

#[tokio::test]
async fn the_app_role_cannot_create_databases_roles_or_tables() {
    let (app, _, before) = audited().await;
    refused(&app, &before, "CREATE DATABASE termaudit_evil", SqlState::INSUFFICIENT_PRIVILEGE)
        .await;
    refused(
        &app,
        &before,
        "CREATE ROLE termaudit_evil SUPERUSER",
        SqlState::INSUFFICIENT_PRIVILEGE,
    )
    .await;
    // A table of its own, with a trigger on it, would be something it owns.
    refused(&app, &before, "CREATE TABLE mine (x int)", SqlState::INSUFFICIENT_PRIVILEGE).await;
}

#[tokio::test]
async fn the_app_role_still_appends_and_reads_the_audit_log_and_later_tables_are_covered() {
    let (app, _, _) = audited().await;
    let client = app.db.connect_as_app().await;
    let project: uuid::Uuid =
        client.query_one("SELECT id FROM projects WHERE slug = 'ops'", &[]).await.unwrap().get(0);
    let appended = client
        .execute(
            "INSERT INTO audit_events (project_id, event_type) VALUES ($1, 'test.appended')",
            &[&project],
        )
        .await
        .unwrap();
    assert_eq!(appended, 1);
    // A table a later migration adds (as the owner) is the app's to use
    // without a grant of its own: the default privileges cover it.
    let owner = app.db.connect().await;
    owner.batch_execute("CREATE TABLE later_table (x int)").await.unwrap();
    client
        .batch_execute("INSERT INTO later_table VALUES (1); UPDATE later_table SET x = 2")
        .await
        .unwrap();
    let err = client.batch_execute("TRUNCATE later_table").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
}
