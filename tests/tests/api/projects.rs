use std::collections::BTreeMap;

use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::{TestApp, json};

#[tokio::test]
async fn a_caller_sees_only_the_projects_their_token_grants() {
    let app = TestApp::spawn().await;
    for slug in ["alpha", "beta", "gamma"] {
        app.create_project(slug).await;
    }
    let token = app.token_for(
        "alice",
        BTreeMap::from([
            ("alpha".to_owned(), vec![Permission::ViewHistory, Permission::ViewRecording]),
            ("gamma".to_owned(), vec![Permission::Ingest]),
            // Granted, but no such project: not listed.
            ("delta".to_owned(), vec![Permission::ViewHistory]),
        ]),
    );
    let body: serde_json::Value = json(app.get("/api/v1/projects", &token).await, 200).await;
    assert_eq!(
        body,
        json!({"items": [
            {"slug": "alpha", "name": "Project alpha", "permissions": ["terminal.view_history", "terminal.view_recording"]},
            {"slug": "gamma", "name": "Project gamma", "permissions": ["terminal.ingest"]},
        ]})
    );

    let bob = app.token("bob", "beta", &[Permission::ViewHistory]);
    let body: serde_json::Value = json(app.get("/api/v1/me", &bob).await, 200).await;
    assert_eq!(body["subject"], "bob");
    assert_eq!(body["name"], "bob (test)");
    assert_eq!(body["projects"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["projects"][0]["slug"], "beta");
}

#[tokio::test]
async fn demo_mode_loads_a_project_with_sessions_in_every_state() {
    let app = TestApp::spawn_with(Box::new(|s| s.demo = true)).await;
    let token = app.token("newcomer", "demo", &[Permission::ViewHistory]);
    // Alice's dropped session is a demo terminal, opened once the server answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let sessions = loop {
        let page: serde_json::Value =
            json(app.get("/api/v1/projects/demo/sessions", &token).await, 200).await;
        let sessions = page["items"].as_array().expect("sessions").clone();
        if sessions.iter().any(|s| s["status"] == "dropped") {
            break sessions;
        }
        assert!(std::time::Instant::now() < deadline, "no dropped session: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // Four closed, two live, Alice's dropped one.
    assert_eq!(sessions.len(), 7);
    let statuses: std::collections::BTreeSet<&str> =
        sessions.iter().map(|s| s["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(statuses, ["active", "closed", "dropped"].into_iter().collect());
    assert!(sessions.iter().any(|s| s["close_reason"] == "revoked"));
    assert!(sessions.iter().any(|s| s["environment_class"] == "production"));
    let audit: serde_json::Value = json(
        app.get("/api/v1/projects/demo/audit-events?type=database.statement", &token).await,
        200,
    )
    .await;
    assert!(!audit["items"].as_array().expect("events").is_empty());

    // The recorded shell sessions have recordings to play.
    let viewer =
        app.token("newcomer", "demo", &[Permission::ViewHistory, Permission::ViewRecording]);
    let shell = sessions
        .iter()
        .find(|s| s["mode"] == "shell" && s["recorded"] == true)
        .expect("a recorded shell session");
    let path = format!(
        "/api/v1/projects/demo/sessions/{}/recording",
        shell["id"].as_str().unwrap_or_default()
    );
    let recording: serde_json::Value = json(app.get(&path, &viewer).await, 200).await;
    assert_eq!(recording["state"], "available", "{recording}");
    assert!(recording["event_count"].as_i64().unwrap_or_default() > 50, "{recording}");
    // Search reads the text the emulation extracts, seconds behind.
    termaudit_tests::emulation::wait_until_emulated(&app.db, std::time::Duration::from_secs(120))
        .await
        .expect("the demo's recordings are emulated");
    let hits: serde_json::Value =
        json(app.get(&format!("{path}/search?q=connection%20refused"), &viewer).await, 200).await;
    assert!(hits["matches"].as_array().is_some_and(|m| !m.is_empty()), "{hits}");
}

#[tokio::test]
async fn demo_sign_in_is_offered_only_in_demo_mode() {
    let plain = TestApp::spawn().await;
    let response = plain.client.get(plain.url("/api/v1/demo/users")).send().await.expect("sent");
    termaudit_tests::problem(response, 404, "not-found").await;

    let app = TestApp::spawn_with(Box::new(|s| s.demo = true)).await;
    let users: serde_json::Value =
        json(app.client.get(app.url("/api/v1/demo/users")).send().await.expect("sent"), 200).await;
    let subjects: Vec<&str> = users["items"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["subject"].as_str())
        .collect();
    assert_eq!(subjects, ["vera", "aaron", "carol", "alice"]);

    let signed: serde_json::Value = json(
        app.client
            .post(app.url("/api/v1/demo/token"))
            .json(&json!({"subject": "carol"}))
            .send()
            .await
            .expect("sent"),
        200,
    )
    .await;
    let token = signed["token"].as_str().expect("a token");
    let me: serde_json::Value = json(app.get("/api/v1/me", token).await, 200).await;
    assert_eq!(me["name"], "Carol Reyes");
    let permissions = me["projects"][0]["permissions"].as_array().expect("permissions");
    assert!(permissions.contains(&json!("terminal.manage_policy")));
    assert!(!permissions.contains(&json!("terminal.ingest")), "no demo user can ingest");

    let unknown = app
        .client
        .post(app.url("/api/v1/demo/token"))
        .json(&json!({"subject": "root"}))
        .send()
        .await
        .expect("sent");
    termaudit_tests::problem(unknown, 400, "invalid-input").await;
}
