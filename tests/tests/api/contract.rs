//! What strict clients and generated SDKs rely on beyond the document's
//! shapes: HEAD and 405 with `Allow` (RFC 9110), 404 for a malformed id,
//! 400 naming the field for U+0000 and for times PostgreSQL cannot store
//! (never a 500), integral floats as integers, and a recording that keeps a
//! U+0000 byte-exact. scripts/contract-tests.sh checks the rest with the
//! validator, both generators and schemathesis.

use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{json, problem};

use crate::{
    auth::base64_url,
    sessions::{Fixture, fixture},
};

const EPOCH_BEFORE_POSTGRES: &str = "-5000-01-01T00:00:00Z";

/// Asserts a 400 whose `errors` names `field`.
async fn refused(response: reqwest::Response, field: &str) {
    let body = problem(response, 400, "invalid-input").await;
    assert_eq!(body["errors"][0]["field"], field, "{body}");
}

async fn recorded_session(f: &Fixture) -> String {
    let target = f.target("billing", "production").await;
    let session = f.open(&target, "alice", Some("INC-1")).await;
    session["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn head_answers_as_get_without_a_body() {
    let f = fixture().await;
    let get = f.app.get("/api/v1/projects", &f.viewer).await;
    assert_eq!(get.status(), 200);
    let length = get.headers()["content-length"].clone();
    let head = f.app.client.head(f.app.url("/api/v1/projects")).bearer_auth(&f.viewer);
    let head = head.send().await.expect("sent");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert_eq!(head.headers()["content-length"], length);
    assert!(head.bytes().await.expect("a body").is_empty());

    // Errors too: a HEAD on a path that takes no GET is refused like a GET.
    let id = recorded_session(&f).await;
    let head = f.app.client.head(f.app.url(&format!("/api/v1/projects/demo/sessions/{id}/drop")));
    let head = head.bearer_auth(&f.gateway).send().await.expect("sent");
    assert_eq!(head.status(), 405);
    assert_eq!(head.headers()["allow"], "POST");

    // HEAD of an export says what it would be, without reading or auditing it.
    let head = f.app.client.head(f.app.url("/api/v1/projects/demo/export.csv"));
    let head = head.bearer_auth(&f.viewer).send().await.expect("sent");
    assert_eq!(head.status(), 200);
    assert!(head.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let audit: Value = f.get("/audit-events?type=history.exported", &f.viewer).await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(0), "{audit}");
}

#[tokio::test]
async fn a_method_a_known_path_does_not_take_is_405_with_allow() {
    let f = fixture().await;
    let cases = [
        ("PATCH", "/api/v1/me", "GET, HEAD"),
        ("TRACE", "/healthz", "GET, HEAD"),
        ("DELETE", "/api/v1/projects", "GET, HEAD"),
        ("OPTIONS", "/api/v1/projects/demo/policy", "GET, HEAD, PUT"),
        ("PUT", "/api/v1/projects/demo/sessions", "GET, HEAD, POST"),
    ];
    for (method, path, allow) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let request = f.app.client.request(method.clone(), f.app.url(path));
        let response = request.bearer_auth(&f.manager).send().await.expect("sent");
        assert_eq!(response.headers().get("allow").map(|v| v.to_str().unwrap()), Some(allow));
        let body = problem(response, 405, "method-not-allowed").await;
        assert!(body["detail"].as_str().unwrap().contains(method.as_str()), "{body}");
    }
    // A path nothing is at stays a 404.
    let response = f.app.client.patch(f.app.url("/api/v1/nothing")).send().await.expect("sent");
    problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn a_malformed_id_in_a_path_names_nothing_404() {
    let f = fixture().await;
    for path in [
        "/api/v1/projects/demo/sessions/null,null",
        "/api/v1/projects/demo/sessions/not-a-uuid/activity",
        "/api/v1/projects/demo/sessions/01/recording",
    ] {
        problem(f.app.get(path, &f.viewer).await, 404, "not-found").await;
    }
    let id = recorded_session(&f).await;
    let url = f.app.url(&format!("/api/v1/projects/demo/sessions/{id}/recording/chunks/-1"));
    let response = f.app.client.put(url).bearer_auth(&f.gateway).body("x").send().await.unwrap();
    problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn nul_in_a_text_or_a_query_is_400_naming_the_field_and_stores_nothing() {
    let f = fixture().await;
    let id = recorded_session(&f).await;
    let activity = |event_id: &str, text: &str| json!({"items": [{"event_id": event_id, "kind": "command", "text": text, "occurred_at": "2026-11-25T10:15:00Z"}]});
    let path = format!("/sessions/{id}/activity");
    refused(f.post(&path, &f.gateway, activity("e1", "ls\0-l")).await, "items[0].text").await;
    refused(f.post(&path, &f.gateway, activity("e\0-1", "ls")).await, "items[0].event_id").await;
    let statement = |field: &str| {
        let mut item = json!({"event_id": "d1", "statement": "SELECT 1", "database": "billing", "error": null, "occurred_at": "2026-11-25T10:15:00Z"});
        item[field] = json!("a\0b");
        json!({"items": [item]})
    };
    let path = format!("/sessions/{id}/database-events");
    for field in ["statement", "database", "error"] {
        let response = f.post(&path, &f.gateway, statement(field)).await;
        refused(response, &format!("items[0].{field}")).await;
    }
    let activity: Value = f.get(&format!("/sessions/{id}/activity"), &f.viewer).await;
    assert_eq!(activity["items"], json!([]), "nothing was stored");

    let auditor = f.app.token("audrey", "demo", &Permission::ALL);
    for (path, field) in [
        ("/sessions?q=ab%00cd", "q"),
        ("/sessions?environment=prod%00", "environment"),
        ("/sessions?user=%00", "user"),
        ("/audit-events?actor=a%00", "actor"),
        ("/export.csv?user=a%00b", "user"),
        ("/export?format=json&environment=%00", "environment"),
    ] {
        refused(f.app.get(&format!("/api/v1/projects/demo{path}"), &auditor).await, field).await;
    }
}

#[tokio::test]
async fn a_time_postgres_cannot_store_is_400_naming_the_field() {
    let f = fixture().await;
    let id = recorded_session(&f).await;
    let item = json!({"event_id": "e1", "kind": "command", "text": "ls", "occurred_at": EPOCH_BEFORE_POSTGRES});
    let path = format!("/sessions/{id}/activity");
    let response = f.post(&path, &f.gateway, json!({"items": [item]})).await;
    refused(response, "items[0].occurred_at").await;
    let item =
        json!({"event_id": "d1", "statement": "SELECT 1", "occurred_at": EPOCH_BEFORE_POSTGRES});
    let path = format!("/sessions/{id}/database-events");
    let response = f.post(&path, &f.gateway, json!({"items": [item]})).await;
    refused(response, "items[0].occurred_at").await;

    let auditor = f.app.token("audrey", "demo", &Permission::ALL);
    let early = "-5000-01-01T00%3A00%3A00Z";
    for (path, field) in [
        (format!("/sessions?opened_from={early}"), "opened_from"),
        (format!("/sessions?opened_to={early}"), "opened_to"),
        (format!("/audit-events?from={early}"), "from"),
        (format!("/export.ndjson?from={early}"), "from"),
        (format!("/export.json?to={early}"), "to"),
    ] {
        refused(f.app.get(&format!("/api/v1/projects/demo{path}"), &auditor).await, field).await;
    }
    // A forged history cursor with such a time is not one this API issued.
    let forged =
        base64_url(br#"{"t":"-5000-01-01T00:00:00Z","id":"01a247c0-4bbb-7187-aea6-08b5fd0ebf61"}"#);
    let path = format!("/api/v1/projects/demo/sessions?cursor={forged}");
    let body = problem(f.app.get(&path, &auditor).await, 400, "invalid-input").await;
    assert!(body["detail"].as_str().unwrap().starts_with("cursor:"), "{body}");
}

#[tokio::test]
async fn a_marker_with_nul_keeps_the_recording_byte_exact() {
    let f = fixture().await;
    let id = recorded_session(&f).await;
    let chunk = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.25, \"o\", \"a\\u0000b\"]\n[0.5, \"m\", \"mark\\u0000er\"]\n";
    let url = f.app.url(&format!("/api/v1/projects/demo/sessions/{id}/recording/chunks/0"));
    let response = f.app.client.put(url).bearer_auth(&f.gateway).body(chunk).send().await.unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let path = format!("/sessions/{id}/close");
    let close = f.post(&path, &f.gateway, json!({"reason": "user_exit"})).await;
    assert_eq!(close.status(), 200);

    let reader =
        f.app.token("rita", "demo", &[Permission::ViewRecording, Permission::DownloadRecording]);
    let summary: Value = f.get(&format!("/sessions/{id}/recording"), &reader).await;
    assert_eq!(summary["markers"][0]["label"], "mark\u{FFFD}er", "{summary}");
    let path = format!("/api/v1/projects/demo/sessions/{id}/recording/download");
    let cast = f.app.get(&path, &reader).await.text().await.unwrap();
    assert!(
        cast.ends_with("[0.25, \"o\", \"a\\u0000b\"]\n[0.5, \"m\", \"mark\\u0000er\"]\n"),
        "{cast}"
    );
}

#[tokio::test]
async fn integral_floats_are_integers() {
    let f = fixture().await;
    let policy = json!({
        "retention_days_production": 828.0, "retention_days_non_production": 90,
        "record_non_production": false, "require_reason_non_production": false,
        "reconnect_grace_seconds": 3e2,
    });
    let stored: Value =
        json(f.app.put("/api/v1/projects/demo/policy", &f.manager, &policy).await, 200).await;
    assert_eq!(
        (stored["retention_days_production"].clone(), stored["reconnect_grace_seconds"].clone()),
        (json!(828), json!(300))
    );
    let policy = json!({
        "retention_days_production": 828.5, "retention_days_non_production": 90,
        "record_non_production": false, "require_reason_non_production": false,
        "reconnect_grace_seconds": 300,
    });
    problem(
        f.app.put("/api/v1/projects/demo/policy", &f.manager, &policy).await,
        400,
        "invalid-input",
    )
    .await;
    let page: Value = f.get("/sessions?limit=2.0", &f.viewer).await;
    assert!(page["items"].is_array());
}

/// Arbitrary text and times through every text field and filter of the
/// API: a 2xx or a 4xx, never a 5xx (PostgreSQL's 22021 and 22008 were
/// 500s before).
#[tokio::test]
async fn any_text_or_time_anywhere_is_answered_never_a_500() {
    let f = fixture().await;
    let id = recorded_session(&f).await;
    let all = f.app.token("audrey", "demo", &Permission::ALL);
    let text = prop_oneof![
        any::<String>(),
        "[a-z\u{0}\u{1}\u{7f}\u{85}\u{ffff} ]{0,8}",
        Just("\u{0}".to_owned()),
        Just(String::new()),
    ];
    let time = prop_oneof![
        (-262_000i32..262_000, 1u32..13, 1u32..29).prop_map(|(y, m, d)| {
            let sign = if y < 0 { "-" } else { "+" };
            format!("{sign}{:06}-{m:02}-{d:02}T00:00:00Z", y.abs())
        }),
        (1i32..9999).prop_map(|y| format!("{y:04}-01-01T00:00:00Z")),
        Just(EPOCH_BEFORE_POSTGRES.to_owned()),
    ];
    // Drawn up front, a fixed number, so the requests stay bounded.
    let mut runner = TestRunner::deterministic();
    let cases = (text.clone(), text, time);
    let inputs: Vec<(String, String, String)> =
        (0..24).map(|_| cases.new_tree(&mut runner).expect("an input").current()).collect();
    for (i, (a, b, t)) in inputs.into_iter().enumerate() {
        let enc = |s: &str| -> String { url_encode(s) };
        let requests: Vec<(reqwest::Method, String, Option<Value>)> = vec![
            (
                reqwest::Method::POST,
                format!("/sessions/{id}/activity"),
                Some(
                    json!({"items": [{"event_id": format!("{i}{a}"), "kind": "command", "text": b, "occurred_at": t}]}),
                ),
            ),
            (
                reqwest::Method::POST,
                format!("/sessions/{id}/database-events"),
                Some(
                    json!({"items": [{"event_id": format!("{i}{b}"), "statement": a, "database": b, "error": a, "occurred_at": t}]}),
                ),
            ),
            (
                reqwest::Method::POST,
                "/targets".to_owned(),
                Some(
                    json!({"name": a, "kind": "application", "environment": b, "environment_class": "production"}),
                ),
            ),
            (
                reqwest::Method::POST,
                "/sessions".to_owned(),
                Some(
                    json!({"target_id": "01a247c0-4bbb-7187-aea6-08b5fd0ebf61", "user": {"subject": a, "name": b}, "mode": "shell", "reason": a}),
                ),
            ),
            (
                reqwest::Method::POST,
                format!("/sessions/{id}/reconnect/redeem"),
                Some(json!({"token": a})),
            ),
            (reqwest::Method::POST, format!("/sessions/{id}/hold"), Some(json!({"reason": a}))),
            (
                reqwest::Method::GET,
                format!(
                    "/sessions?q={}&environment={}&user={}&opened_from={}&cursor={}",
                    enc(&a),
                    enc(&b),
                    enc(&a),
                    enc(&t),
                    enc(&b)
                ),
                None,
            ),
            (
                reqwest::Method::GET,
                format!(
                    "/audit-events?actor={}&from={}&to={}&type={}",
                    enc(&a),
                    enc(&t),
                    enc(&t),
                    enc(&b)
                ),
                None,
            ),
            (
                reqwest::Method::GET,
                format!(
                    "/export.ndjson?user={}&environment={}&from={}&to={}&include={}",
                    enc(&a),
                    enc(&b),
                    enc(&t),
                    enc(&t),
                    enc(&a)
                ),
                None,
            ),
            (reqwest::Method::GET, format!("/sessions/{id}/recording/search?q={}", enc(&a)), None),
            (
                reqwest::Method::GET,
                format!("/sessions/{id}/recording/events?from={}&to={}", enc(&a), enc(&b)),
                None,
            ),
        ];
        for (method, path, body) in requests {
            let mut request = f
                .app
                .client
                .request(method.clone(), f.app.url(&format!("/api/v1/projects/demo{path}")))
                .bearer_auth(&all);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.expect("sent");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.as_u16() < 500, "{method} {path} {body:?}: {status} {text}");
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
