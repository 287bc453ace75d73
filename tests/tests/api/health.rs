use termaudit_tests::{TestApp, json};

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/healthz")).send().await.expect("sent");
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = json(response, 200).await;
    assert_eq!(body["status"], "ok");

    let body: serde_json::Value =
        json(app.client.get(app.url("/readyz")).send().await.expect("sent"), 200).await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["migration_applied"], body["migration_expected"]);
}

#[tokio::test]
async fn readiness_fails_when_the_schema_is_behind() {
    let app = TestApp::spawn().await;
    let db = app.db.connect().await;
    // Pretend the newest migration was never applied.
    db.batch_execute(
        "DELETE FROM refinery_schema_history WHERE version = (SELECT max(version) FROM refinery_schema_history)",
    )
    .await
    .expect("delete");
    let response = app.client.get(app.url("/readyz")).send().await.expect("sent");
    let body = termaudit_tests::problem(response, 503, "service-unavailable").await;
    assert!(body["detail"].as_str().unwrap_or_default().contains("termaudit migrate"));
}
