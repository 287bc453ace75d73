//! The terminal policy and legal holds over HTTP.

use serde_json::{Value, json};
use termaudit_domain::Permission::*;
use termaudit_tests::{TestApp, json, problem};

fn policy(prod: u32, non_prod: u32, record: bool, reason: bool, grace: u32) -> Value {
    json!({
        "retention_days_production": prod, "retention_days_non_production": non_prod,
        "record_non_production": record, "require_reason_non_production": reason,
        "reconnect_grace_seconds": grace,
    })
}

#[tokio::test]
async fn members_read_the_policy_and_managers_change_it_audited() {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    let member = app.token("vera", "demo", &[ViewRecording]);
    let manager = app.token("carol", "demo", &[ManagePolicy, ViewHistory]);

    let defaults: Value = json(app.get("/api/v1/projects/demo/policy", &member).await, 200).await;
    assert_eq!(defaults["retention_days_production"], 365);
    assert_eq!(defaults["retention_days_non_production"], 90);
    assert_eq!(defaults["reconnect_grace_seconds"], 300);
    assert_eq!(defaults["updated_at"], Value::Null);

    let bad = policy(0, 3651, true, true, 86_401);
    let body = problem(
        app.put("/api/v1/projects/demo/policy", &manager, &bad).await,
        400,
        "invalid-input",
    )
    .await;
    let fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["retention_days_production", "retention_days_non_production", "reconnect_grace_seconds"]
    );
    let negative = json!({"retention_days_production": -1, "retention_days_non_production": 1,
        "record_non_production": true, "require_reason_non_production": true, "reconnect_grace_seconds": 1});
    problem(
        app.put("/api/v1/projects/demo/policy", &manager, &negative).await,
        400,
        "invalid-input",
    )
    .await;
    problem(
        app.put("/api/v1/projects/demo/policy", &member, &policy(30, 7, true, true, 60)).await,
        403,
        "forbidden",
    )
    .await;

    let updated: Value = json(
        app.put("/api/v1/projects/demo/policy", &manager, &policy(30, 7, true, true, 60)).await,
        200,
    )
    .await;
    assert_eq!(updated["retention_days_production"], 30);
    assert_eq!(updated["updated_by"], "carol");
    let read: Value = json(app.get("/api/v1/projects/demo/policy", &member).await, 200).await;
    assert_eq!(read, updated);

    let audit: Value = json(
        app.get("/api/v1/projects/demo/audit-events?type=policy.updated", &manager).await,
        200,
    )
    .await;
    let details = &audit["items"][0]["details"];
    assert_eq!(details["old"]["retention_days_production"], 365);
    assert_eq!(details["new"]["retention_days_production"], 30);
    assert_eq!(details["new"]["reconnect_grace_seconds"], 60);
    assert_eq!(audit["items"][0]["actor"]["subject"], "carol");
}

#[tokio::test]
async fn legal_holds_are_placed_and_released_audited() {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let manager = app.token("carol", "demo", &[ManagePolicy, ViewHistory]);
    let viewer = app.token("vera", "demo", &[ViewHistory]);
    let target: Value = json(
        app.post("/api/v1/projects/demo/targets", &gateway, &json!({"name": "db", "kind": "database", "environment": "prod", "environment_class": "production"})).await,
        201,
    )
    .await;
    let session: Value = json(
        app.post("/api/v1/projects/demo/sessions", &gateway, &json!({"target_id": target["id"], "user": {"subject": "alice", "name": "Alice"}, "mode": "database", "reason": "fix"})).await,
        201,
    )
    .await;
    let path = format!("/api/v1/projects/demo/sessions/{}/hold", session["id"].as_str().unwrap());

    // No hold is an answer, not an error.
    let none: Value = json(app.get(&path, &viewer).await, 200).await;
    assert_eq!(none, json!({"hold": null}));
    problem(app.post(&path, &viewer, &json!({"reason": "x"})).await, 403, "forbidden").await;
    problem(app.post(&path, &manager, &json!({"reason": " "})).await, 400, "invalid-input").await;
    let hold: Value =
        json(app.post(&path, &manager, &json!({"reason": "Litigation LIT-14"})).await, 201).await;
    assert_eq!(hold["reason"], "Litigation LIT-14");
    assert_eq!(hold["placed_by"]["subject"], "carol");
    problem(app.post(&path, &manager, &json!({"reason": "again"})).await, 409, "conflict").await;
    let read: Value = json(app.get(&path, &viewer).await, 200).await;
    assert_eq!(read, json!({ "hold": hold }));

    let release = |token: String| {
        app.client
            .delete(app.url(&path))
            .bearer_auth(token)
            .json(&json!({"reason": "case closed"}))
            .send()
    };
    let released: Value = json(release(manager.clone()).await.unwrap(), 200).await;
    assert_eq!(released, hold);
    assert_eq!(json::<Value>(app.get(&path, &viewer).await, 200).await, json!({"hold": null}));
    problem(release(manager.clone()).await.unwrap(), 404, "not-found").await;

    let audit: Value = json(
        app.get(
            &format!(
                "/api/v1/projects/demo/audit-events?session_id={}",
                session["id"].as_str().unwrap()
            ),
            &viewer,
        )
        .await,
        200,
    )
    .await;
    let types: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["hold.released", "hold.placed", "session.opened"]);
    assert_eq!(audit["items"][0]["details"]["reason"], "case closed");
}
