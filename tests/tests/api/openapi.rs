use termaudit_tests::{TestApp, json, repo_root};

fn committed() -> serde_json::Value {
    let path = repo_root().join("openapi/openapi.json");
    let text = std::fs::read_to_string(&path).expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("the committed spec is JSON")
}

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = serde_json::to_value(termaudit_api::openapi()).expect("the spec serialises");
    assert!(
        generated == committed(),
        "openapi/openapi.json is out of date: run scripts/update-openapi.sh and commit the result"
    );
}

#[tokio::test]
async fn the_server_serves_the_committed_spec_and_the_docs_page() {
    let app = TestApp::spawn().await;
    let served: serde_json::Value =
        json(app.client.get(app.url("/api/openapi.json")).send().await.expect("sent"), 200).await;
    assert!(served == committed(), "the served spec differs from openapi/openapi.json");
    assert!(served["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));

    let response = app.client.get(app.url("/api/docs/")).send().await.expect("sent");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("a page");
    assert!(page.contains("swagger"), "the docs page is Swagger UI");
    // Its assets are bundled, not fetched from a CDN.
    assert!(!page.contains("https://"), "the docs page loads nothing from outside: {page}");
    let response = app.client.get(app.url("/api/docs/swagger-ui.css")).send().await.expect("sent");
    assert_eq!(response.status(), 200);
}

#[test]
fn every_api_operation_documents_auth_and_problems() {
    let spec = committed();
    let paths = spec["paths"].as_object().expect("paths");
    // Demo sign-in (it hands out tokens in demo mode) and the sign-in
    // configuration (read before signing in) are the unauthenticated parts of /api/v1.
    let public = |p: &String| p.starts_with("/api/v1/demo/") || p.starts_with("/api/v1/auth/");
    assert!(paths["/api/v1/auth/config"]["get"]["security"].is_null(), "auth/config is public");
    let authenticated = |p: &String| p.starts_with("/api/v1/") && !public(p);
    for (path, item) in paths.iter().filter(|(p, _)| authenticated(p)) {
        for (method, op) in item.as_object().expect("an item") {
            assert!(op["security"].is_array(), "{method} {path} has no security requirement");
            for status in ["401", "403", "404", "500", "503"] {
                let content = &op["responses"][status]["content"]["application/problem+json"];
                assert!(content.is_object(), "{method} {path} does not document {status}");
            }
        }
    }
}
