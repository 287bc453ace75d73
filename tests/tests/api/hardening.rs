//! Web hardening, as a client sees it: the security headers on every kind of
//! response, the web app's files compressed by negotiation and cached by
//! name, the gateway's paths without a gateway, and the permissions of
//! reconnecting, the retention status and the policy.

use std::path::PathBuf;

use reqwest::{Method, Response, header::HeaderMap};
use serde_json::{Value, json};
use termaudit_domain::{EnvironmentClass, Permission, Permission::*};
use termaudit_tests::{TestApp, json, problem, seed};

const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const HASHED_JS: &str = "app-0123456789abcdef.js";

/// A built web app's shape with bodies that say what they are: the hashed
/// script with both twins, the hashed wasm with a gzip twin only, an
/// unhashed style sheet.
fn web_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("termaudit-web-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, body) in [
        ("index.html", "<!doctype html><title>index</title>"),
        (HASHED_JS, "the script, uncompressed"),
        (&format!("{HASHED_JS}.gz"), "the script, gzip"),
        (&format!("{HASHED_JS}.br"), "the script, brotli"),
        ("app_bg-fedcba9876543210.wasm", "the wasm, uncompressed"),
        ("app_bg-fedcba9876543210.wasm.gz", "the wasm, gzip"),
        ("style.css", "body {}"),
    ] {
        std::fs::write(dir.join(name), body).unwrap();
    }
    dir
}

async fn spawn_with_web_app() -> TestApp {
    let dir = web_dir();
    let app = TestApp::spawn_with(Box::new(move |s| s.web_dir = Some(dir))).await;
    app.create_project("demo").await;
    app
}

async fn send(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = app.client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn assert_secured(what: &str, headers: &HeaderMap) {
    assert_eq!(header(headers, "content-security-policy"), Some(POLICY), "{what}");
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(header(headers, "referrer-policy"), Some("no-referrer"), "{what}");
    let nosniff: Vec<_> = headers.get_all("x-content-type-options").iter().collect();
    assert_eq!(nosniff, ["nosniff"], "{what}: once, even where the handler set it");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_with_web_app().await;
    let token = app.token("vera", "demo", &Permission::ALL);
    let session = seed::seed_session(&app, "demo", EnvironmentClass::Production, true).await;
    let token = Some(token.as_str());
    let cases: Vec<(Method, String, Option<&str>, u16)> = vec![
        (Method::GET, "/api/v1/projects".into(), token, 200),
        (Method::GET, "/api/v1/projects".into(), None, 401),
        (Method::GET, "/api/v1/projects/elsewhere/policy".into(), token, 404),
        (Method::GET, "/api/v1/nothing-here".into(), None, 404),
        (Method::DELETE, format!("/api/v1/projects/demo/sessions/{session}"), token, 405),
        (Method::GET, "/api/v1/projects/demo/export?format=csv".into(), token, 200),
        (Method::GET, "/healthz".into(), None, 200),
        (Method::GET, "/api/openapi.json".into(), None, 200),
        (Method::GET, "/api/docs/".into(), None, 200),
        (Method::GET, "/api/docs/swagger-initializer.js".into(), None, 200),
        (Method::GET, "/".into(), None, 200),
        (Method::GET, "/projects/demo/policy".into(), None, 200),
        (Method::GET, format!("/{HASHED_JS}"), None, 200),
        (Method::POST, "/".into(), None, 405),
    ];
    for (method, path, token, status) in cases {
        let what = format!("{method} {path}");
        let mut request = app.client.request(method, app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        assert_secured(&what, response.headers());
    }
}

#[tokio::test]
async fn an_identity_provider_origin_is_allowed_to_be_reached() {
    let app = TestApp::spawn_with(Box::new(|s| {
        s.identity_provider_origin = Some("https://login.example.com".into());
    }))
    .await;
    let response = send(&app, Method::GET, "/healthz", &[]).await;
    let policy = header(response.headers(), "content-security-policy").unwrap();
    assert!(policy.contains("; connect-src 'self' https://login.example.com;"), "{policy}");
    assert!(policy.contains("; form-action 'self' https://login.example.com;"), "{policy}");
    assert!(policy.contains("; script-src 'self' 'wasm-unsafe-eval';"), "{policy}");
}

/// The body, the `Content-Encoding` and the `Cache-Control` of a file.
async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let response = send(app, Method::GET, path, headers).await;
    let status = response.status().as_u16();
    let seen = json!({
        "encoding": header(response.headers(), "content-encoding"),
        "type": header(response.headers(), "content-type"),
        "cache": header(response.headers(), "cache-control"),
        "vary": header(response.headers(), "vary"),
    });
    (status, response.text().await.unwrap(), seen)
}

#[tokio::test]
async fn the_web_apps_files_are_served_compressed_as_the_client_prefers() {
    let app = spawn_with_web_app().await;
    let script = format!("/{HASHED_JS}");
    let wasm = "/app_bg-fedcba9876543210.wasm";
    let cases = [
        (&*script, "gzip, deflate, br, zstd", "the script, brotli", Some("br")),
        (&*script, "gzip", "the script, gzip", Some("gzip")),
        (&*script, "br;q=0.5, gzip;q=0.8", "the script, gzip", Some("gzip")),
        (&*script, "identity", "the script, uncompressed", None),
        (&*script, "br;q=0, gzip;q=0", "the script, uncompressed", None),
        (wasm, "br, gzip", "the wasm, gzip", Some("gzip")),
        (wasm, "br", "the wasm, uncompressed", None),
    ];
    for (path, accepted, body, encoding) in cases {
        let (status, text, seen) = fetch(&app, path, &[("accept-encoding", accepted)]).await;
        assert_eq!((status, text.as_str()), (200, body), "{path} with {accepted}");
        assert_eq!(seen["encoding"].as_str(), encoding, "{path} with {accepted}");
        assert_eq!(seen["vary"], "accept-encoding", "{path} with {accepted}");
    }
    // Without Accept-Encoding: the file as it is, typed by its own name.
    let (_, text, seen) = fetch(&app, &script, &[]).await;
    assert_eq!(text, "the script, uncompressed");
    assert_eq!(seen["encoding"], Value::Null);
    assert!(seen["type"].as_str().unwrap().contains("javascript"), "{seen}");
    let (_, _, seen) = fetch(&app, wasm, &[("accept-encoding", "gzip")]).await;
    assert_eq!(seen["type"], "application/wasm");

    // A compressed twin is not a page of its own.
    let (status, text, _) = fetch(&app, &format!("{script}.br"), &[]).await;
    assert_eq!((status, text.as_str()), (200, "<!doctype html><title>index</title>"));
}

#[tokio::test]
async fn a_range_is_a_range_of_the_uncompressed_file() {
    let app = spawn_with_web_app().await;
    let response = send(
        &app,
        Method::GET,
        &format!("/{HASHED_JS}"),
        &[("accept-encoding", "gzip, br"), ("range", "bytes=4-9")],
    )
    .await;
    assert_eq!(response.status().as_u16(), 206);
    let encoding = header(response.headers(), "content-encoding").map(ToOwned::to_owned);
    assert!(matches!(encoding.as_deref(), None | Some("identity")), "{encoding:?}");
    assert_eq!(header(response.headers(), "content-range"), Some("bytes 4-9/24"));
    assert_eq!(response.text().await.unwrap(), "script");
}

#[tokio::test]
async fn control_events_are_not_compressed() {
    let app = spawn_with_web_app().await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let response = app
        .client
        .get(app.url("/api/v1/projects/demo/control-events"))
        .bearer_auth(gateway)
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(response.headers(), "content-type"), Some("text/event-stream"));
    assert_eq!(header(response.headers(), "content-encoding"), None);
}

#[tokio::test]
async fn hashed_files_are_immutable_and_everything_else_is_revalidated() {
    let app = spawn_with_web_app().await;
    let immutable = "public, max-age=31536000, immutable";
    for (path, cache) in [
        (format!("/{HASHED_JS}"), immutable),
        ("/app_bg-fedcba9876543210.wasm".into(), immutable),
        ("/style.css".into(), "no-cache"),
        ("/".into(), "no-cache"),
        ("/index.html".into(), "no-cache"),
        ("/projects/demo/sessions".into(), "no-cache"),
    ] {
        let (status, _, seen) = fetch(&app, &path, &[("accept-encoding", "gzip")]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(seen["cache"], cache, "{path}");
    }
    // The index is revalidated by its ETag: unchanged, it is not sent again.
    let first = send(&app, Method::GET, "/", &[]).await;
    let etag = header(first.headers(), "etag").unwrap().to_owned();
    let again = send(&app, Method::GET, "/", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status().as_u16(), 304);
}

#[tokio::test]
async fn gateway_and_api_paths_are_problems_not_the_web_app() {
    let app = spawn_with_web_app().await;
    for path in [
        "/gateway/v1/projects/demo/terminals?target=web",
        "/gateway/v1",
        "/gateway",
        "/api/v1/projects/demo/nothing",
    ] {
        let body = problem(send(&app, Method::GET, path, &[]).await, 404, "not-found").await;
        assert!(body["detail"].as_str().unwrap().contains("nothing at"), "{path}: {body}");
    }
    // Without a web app, the same.
    let bare = TestApp::spawn().await;
    problem(send(&bare, Method::GET, "/gateway/v1/x", &[]).await, 404, "not-found").await;
    problem(send(&bare, Method::GET, "/", &[]).await, 404, "not-found").await;
}

/// Who may reconnect to their own dropped session, read the retention
/// status and read the policy, permission by permission (the README's table).
#[tokio::test]
async fn reconnect_retention_and_policy_reads_follow_the_permission_table() {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    // Alice's session, dropped.
    let session = seed::seed_session(&app, "demo", EnvironmentClass::NonProduction, false).await;
    let base = format!("/api/v1/projects/demo/sessions/{session}");
    json::<Value>(app.post(&format!("{base}/drop"), &gateway, &json!({})).await, 200).await;

    let rows: [(&str, String, &[Permission]); 3] = [
        ("POST", format!("{base}/reconnect"), &[Connect]),
        ("GET", "/api/v1/projects/demo/retention".into(), &[ViewHistory, ManagePolicy]),
        ("GET", "/api/v1/projects/demo/policy".into(), &Permission::ALL),
    ];
    for (method, path, allowed) in &rows {
        for permission in Permission::ALL {
            let token = app.token("alice", "demo", &[permission]);
            let response = match *method {
                "POST" => app.post(path, &token, &json!({})).await,
                _ => app.get(path, &token).await,
            };
            let what = format!("{method} {path} with {permission}");
            if allowed.contains(&permission) {
                assert_eq!(response.status().as_u16(), 200, "{what}");
            } else {
                let body = problem(response, 403, "forbidden").await;
                let detail = body["detail"].as_str().unwrap();
                for needed in *allowed {
                    assert!(detail.contains(needed.as_str()), "{what}: {detail}");
                }
            }
        }
    }
    // terminal.connect is not enough for someone else's session.
    let bob = app.token("bob", "demo", &Permission::ALL);
    let body = problem(app.post(&rows[0].1, &bob, &json!({})).await, 403, "forbidden").await;
    assert!(body["detail"].as_str().unwrap().contains("own user"), "{body}");
}
