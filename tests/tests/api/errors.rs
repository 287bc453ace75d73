use termaudit_tests::{TestApp, problem};

#[tokio::test]
async fn unknown_paths_are_problem_json() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/api/v1/does-not-exist")).send().await.expect("sent");
    problem(response, 404, "not-found").await;
    let response = app.client.get(app.url("/nothing-here")).send().await.expect("sent");
    problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn a_client_request_id_is_echoed_and_reported() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/v1/projects"))
        .header("x-request-id", "trace-42.abc")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["x-request-id"], "trace-42.abc");
    let body = problem(response, 401, "unauthorized").await;
    assert_eq!(body["request_id"], "trace-42.abc");

    // An id that could forge log lines is replaced.
    let response = app
        .client
        .get(app.url("/api/v1/projects"))
        .header("x-request-id", "evil id\" injected")
        .send()
        .await
        .expect("sent");
    assert_ne!(response.headers()["x-request-id"], "evil id\" injected");
}
