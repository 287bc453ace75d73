//! The session lifecycle over HTTP: ingest, history, revoke, reconnect.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use termaudit_domain::Permission::{self, *};
use termaudit_tests::{TestApp, json, problem};

/// The `demo` project with a gateway, a viewer and a policy manager; also
/// the free-text search's ([`crate::history_search`]).
pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    pub(crate) gateway: String,
    pub(crate) viewer: String,
    pub(crate) manager: String,
}

pub(crate) async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let viewer = app.token("vera", "demo", &[ViewHistory]);
    let manager = app.token("carol", "demo", &[ManagePolicy, ViewHistory]);
    Fixture { app, gateway, viewer, manager }
}

impl Fixture {
    pub(crate) async fn target(&self, name: &str, class: &str) -> String {
        let body = json!({"name": name, "kind": "application", "environment": format!("{class}-env"), "environment_class": class});
        let target: Value =
            json(self.app.post("/api/v1/projects/demo/targets", &self.gateway, &body).await, 201)
                .await;
        target["id"].as_str().expect("an id").to_owned()
    }

    pub(crate) async fn open(&self, target: &str, user: &str, reason: Option<&str>) -> Value {
        let body = json!({"target_id": target, "user": {"subject": user, "name": format!("{user} name")}, "mode": "shell", "reason": reason});
        json(self.app.post("/api/v1/projects/demo/sessions", &self.gateway, &body).await, 201).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.app.post(&format!("/api/v1/projects/demo{path}"), token, &body).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Value {
        json(self.app.get(&format!("/api/v1/projects/demo{path}"), token).await, 200).await
    }
}

pub(crate) fn activity(id: &str, text: &str) -> Value {
    json!({"event_id": id, "kind": "command", "text": text, "occurred_at": now(), "exit_code": 0, "duration_ms": 12})
}

/// The gateway reports events as they happen.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[tokio::test]
async fn a_session_lives_from_open_to_revoke() {
    let f = fixture().await;
    let prod = f.target("billing-api", "production").await;

    // Production needs a reason, and is always recorded.
    let body =
        json!({"target_id": prod, "user": {"subject": "alice", "name": "Alice"}, "mode": "shell"});
    let missing = problem(f.post("/sessions", &f.gateway, body).await, 400, "invalid-input").await;
    assert_eq!(missing["errors"][0]["field"], "reason");
    let session = f.open(&prod, "alice", Some("INC-42 restart workers")).await;
    assert_eq!(session["recorded"], true);
    assert_eq!(session["status"], "active");
    assert_eq!(session["environment_class"], "production");
    let id = session["id"].as_str().expect("an id").to_owned();
    let base = format!("/sessions/{id}");

    // Activity, with idempotent retries and a conflicting reuse of an id.
    let batch = json!({"items": [activity("e1", "systemctl restart workers"), activity("e2", "journalctl -u workers")]});
    let stored: Value =
        json(f.post(&format!("{base}/activity"), &f.gateway, batch.clone()).await, 200).await;
    assert_eq!(stored, json!({"stored": 2, "duplicates": 0}));
    let retried: Value =
        json(f.post(&format!("{base}/activity"), &f.gateway, batch).await, 200).await;
    assert_eq!(retried, json!({"stored": 0, "duplicates": 2}));
    // Times finer than the stored microseconds do not make a retry a new event.
    // (A minute from now, so that it comes last in the timeline.)
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    let nanos = format!("{}789Z", later.format("%Y-%m-%dT%H:%M:%S%.6f"));
    let fine = json!({"items": [{"event_id": "e0", "kind": "command", "text": "uptime", "occurred_at": nanos}]});
    let first: Value =
        json(f.post(&format!("{base}/activity"), &f.gateway, fine.clone()).await, 200).await;
    assert_eq!(first, json!({"stored": 1, "duplicates": 0}));
    let again: Value = json(f.post(&format!("{base}/activity"), &f.gateway, fine).await, 200).await;
    assert_eq!(again, json!({"stored": 0, "duplicates": 1}));
    let reused = json!({"items": [activity("e3", "ls"), activity("e1", "rm -rf /")]});
    problem(f.post(&format!("{base}/activity"), &f.gateway, reused).await, 409, "conflict").await;
    let timeline = f.get(&format!("{base}/activity"), &f.viewer).await;
    let texts: Vec<&str> =
        timeline["items"].as_array().unwrap().iter().map(|a| a["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        ["systemctl restart workers", "journalctl -u workers", "uptime"],
        "the rejected batch stored nothing"
    );

    let statement = json!({"items": [{"event_id": "d1", "statement": "UPDATE jobs SET state = 'queued'", "database": "billing",
        "occurred_at": now(), "rows_affected": 3, "duration_ms": 4}]});
    json::<Value>(f.post(&format!("{base}/database-events"), &f.gateway, statement).await, 200)
        .await;
    let events = f.get(&format!("{base}/database-events"), &f.viewer).await;
    assert_eq!(events["items"][0]["rows_affected"], 3);

    // Heartbeat, drop, reconnect by the owner, redeemed once by the gateway.
    json::<Value>(f.post(&format!("{base}/heartbeat"), &f.gateway, json!({})).await, 200).await;
    let dropped: Value =
        json(f.post(&format!("{base}/drop"), &f.gateway, json!({})).await, 200).await;
    assert_eq!(dropped["status"], "dropped");
    assert!(dropped["reconnect_deadline"].is_string());
    let again: Value =
        json(f.post(&format!("{base}/drop"), &f.gateway, json!({})).await, 200).await;
    assert_eq!(again["status"], "dropped", "a retried drop is idempotent");

    let alice = f.app.token("alice", "demo", &[Connect]);
    let grant: Value =
        json(f.post(&format!("{base}/reconnect"), &alice, json!({})).await, 200).await;
    let token = grant["token"].as_str().expect("a token").to_owned();
    let bob = f.app.token("bob", "demo", &[ViewHistory, ManagePolicy]);
    problem(f.post(&format!("{base}/reconnect"), &bob, json!({})).await, 403, "forbidden").await;
    let redeemed: Value = json(
        f.post(&format!("{base}/reconnect/redeem"), &f.gateway, json!({"token": token})).await,
        200,
    )
    .await;
    assert_eq!(redeemed["status"], "active");
    problem(
        f.post(&format!("{base}/reconnect/redeem"), &f.gateway, json!({"token": token})).await,
        400,
        "invalid-input",
    )
    .await;

    // Revoke: closed at once, who and why recorded; the gateway's next
    // heartbeat learns it.
    problem(
        f.post(&format!("{base}/revoke"), &f.manager, json!({"reason": ""})).await,
        400,
        "invalid-input",
    )
    .await;
    let revoked: Value = json(
        f.post(
            &format!("{base}/revoke"),
            &f.manager,
            json!({"reason": "outside the change window"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(revoked["status"], "closed");
    assert_eq!(revoked["close_reason"], "revoked");
    assert_eq!(revoked["revoked_by"], json!({"subject": "carol", "name": "carol (test)"}));
    assert_eq!(revoked["revoke_reason"], "outside the change window");
    let late = problem(
        f.post(&format!("{base}/heartbeat"), &f.gateway, json!({})).await,
        409,
        "invalid-session-state",
    )
    .await;
    assert!(late["detail"].as_str().unwrap().contains("closed (revoked"), "{late}");
    // The refusal says who ended the session, so a gateway needs no second call.
    assert_eq!(
        late["ended"],
        json!({
            "close_reason": "revoked",
            "ended_at": revoked["ended_at"],
            "revoked_by": {"subject": "carol", "name": "carol (test)"},
            "revoke_reason": "outside the change window",
        })
    );
    problem(
        f.post(&format!("{base}/close"), &f.gateway, json!({"reason": "user_exit"})).await,
        409,
        "invalid-session-state",
    )
    .await;
    problem(
        f.post(&format!("{base}/revoke"), &f.manager, json!({"reason": "again"})).await,
        409,
        "invalid-session-state",
    )
    .await;

    let audit = f.get(&format!("/audit-events?session_id={id}&limit=50"), &f.viewer).await;
    let mut types: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.reverse();
    assert_eq!(
        types,
        [
            "session.opened",
            "database.statement",
            "session.dropped",
            "session.reconnect_granted",
            "session.reconnected",
            "session.revoked",
            // The recording is finalized once the gateway has sent its
            // last chunks (a_revoked_sessions_recording_takes_...).
        ]
    );
    let revoke_event = &audit["items"][0];
    assert_eq!(revoke_event["actor"]["subject"], "carol");

    // The database itself refuses to rewrite the audit log.
    let db = f.app.db.connect().await;
    assert!(db.execute("UPDATE audit_events SET event_type = 'x'", &[]).await.is_err());
    assert!(db.execute("DELETE FROM audit_events", &[]).await.is_err());
}

#[tokio::test]
async fn gateways_close_with_their_reasons_only_and_retries_are_idempotent() {
    let f = fixture().await;
    let target = f.target("staging-api", "non_production").await;
    let session = f.open(&target, "alice", None).await;
    assert_eq!(session["recorded"], false, "non-production is not recorded by default");
    let base = format!("/sessions/{}", session["id"].as_str().unwrap());
    problem(
        f.post(&format!("{base}/close"), &f.gateway, json!({"reason": "revoked"})).await,
        400,
        "invalid-input",
    )
    .await;
    problem(
        f.post(&format!("{base}/close"), &f.gateway, json!({"reason": "bored"})).await,
        400,
        "invalid-input",
    )
    .await;
    let closed: Value = json(
        f.post(&format!("{base}/close"), &f.gateway, json!({"reason": "user_exit"})).await,
        200,
    )
    .await;
    assert_eq!(closed["close_reason"], "user_exit");
    assert!(closed["ended_at"].is_string());
    let retry: Value = json(
        f.post(&format!("{base}/close"), &f.gateway, json!({"reason": "user_exit"})).await,
        200,
    )
    .await;
    assert_eq!(retry, closed);
    let conflict = problem(
        f.post(&format!("{base}/close"), &f.gateway, json!({"reason": "target_error"})).await,
        409,
        "invalid-session-state",
    )
    .await;
    assert_eq!(
        conflict["ended"],
        json!({"close_reason": "user_exit", "ended_at": closed["ended_at"]})
    );
    problem(
        f.post(&format!("{base}/reconnect"), &f.app.token("alice", "demo", &[Connect]), json!({}))
            .await,
        409,
        "invalid-session-state",
    )
    .await;
}

#[tokio::test]
async fn the_policy_decides_recording_and_reasons_outside_production() {
    let f = fixture().await;
    let target = f.target("staging-db", "non_production").await;
    let db = f.app.db.connect().await;
    db.execute(
        "INSERT INTO terminal_policies SELECT id, 365, 30, true, true, 300 FROM projects WHERE slug = 'demo'",
        &[],
    )
    .await
    .unwrap();
    let body = json!({"target_id": target, "user": {"subject": "alice", "name": "Alice"}, "mode": "database"});
    problem(f.post("/sessions", &f.gateway, body).await, 400, "invalid-input").await;
    let session = f.open(&target, "alice", Some("migrate schema")).await;
    assert_eq!(session["recorded"], true);
}

#[tokio::test]
async fn only_the_newest_reconnect_token_redeems_and_each_grant_is_audited() {
    let f = fixture().await;
    let target = f.target("billing", "non_production").await;
    let session = f.open(&target, "alice", None).await;
    let base = format!("/sessions/{}", session["id"].as_str().unwrap());
    json::<Value>(f.post(&format!("{base}/drop"), &f.gateway, json!({})).await, 200).await;
    let alice = f.app.token("alice", "demo", &[Connect]);
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let grant: Value =
            json(f.post(&format!("{base}/reconnect"), &alice, json!({})).await, 200).await;
        tokens.push(grant["token"].as_str().unwrap().to_owned());
    }
    // The first was superseded by the second: refused, and nothing changed.
    let redeem_path = format!("{base}/reconnect/redeem");
    let redeem = |token: &str| f.post(&redeem_path, &f.gateway, json!({"token": token}));
    problem(redeem(&tokens[0]).await, 400, "invalid-input").await;
    assert_eq!(f.get(&base, &f.viewer).await["status"], "dropped");
    let redeemed: Value = json(redeem(&tokens[1]).await, 200).await;
    assert_eq!(redeemed["status"], "active");

    let audit = f
        .get(&format!("/audit-events?session_id={}", session["id"].as_str().unwrap()), &f.viewer)
        .await;
    let grants: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "session.reconnect_granted")
        .collect();
    assert_eq!(grants.len(), 2, "{audit}");
    for grant in grants {
        assert_eq!(grant["actor"]["subject"], "alice");
        assert!(grant["details"]["expires_at"].is_string(), "{grant}");
        let text = grant.to_string();
        assert!(tokens.iter().all(|t| !text.contains(t.as_str())), "the token is never audited");
    }
}

#[tokio::test]
async fn reconnect_is_refused_once_the_grace_window_has_closed() {
    let f = fixture().await;
    let db = f.app.db.connect().await;
    db.execute(
        "INSERT INTO terminal_policies SELECT id, 365, 30, false, false, 1 FROM projects WHERE slug = 'demo'",
        &[],
    )
    .await
    .unwrap();
    let target = f.target("staging", "non_production").await;
    let session = f.open(&target, "alice", None).await;
    let base = format!("/sessions/{}", session["id"].as_str().unwrap());
    let dropped: Value =
        json(f.post(&format!("{base}/drop"), &f.gateway, json!({})).await, 200).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let alice = f.app.token("alice", "demo", &[Connect]);
    let refused = problem(
        f.post(&format!("{base}/reconnect"), &alice, json!({})).await,
        409,
        "reconnect-window-closed",
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("closed at"), "{refused}");
    // The session was closed at the deadline, not at the moment of the read.
    let now = f.get(&base, &f.viewer).await;
    assert_eq!(now["status"], "closed");
    assert_eq!(now["close_reason"], "grace_expired");
    let deadline =
        chrono::DateTime::parse_from_rfc3339(dropped["reconnect_deadline"].as_str().unwrap())
            .unwrap();
    let ended = chrono::DateTime::parse_from_rfc3339(now["ended_at"].as_str().unwrap()).unwrap();
    assert_eq!(ended, deadline);
}

#[tokio::test]
async fn quiet_gateways_lose_their_sessions() {
    let f = fixture().await;
    let target = f.target("staging", "non_production").await;
    let session = f.open(&target, "alice", None).await;
    let id: uuid::Uuid = session["id"].as_str().unwrap().parse().unwrap();
    let later = chrono::Utc::now() + chrono::Duration::minutes(2);
    let report = f.app.store.expire_sessions(later, chrono::Duration::seconds(60)).await.unwrap();
    assert_eq!(report.marked_gateway_lost, 1);
    let dropped = f.get(&format!("/sessions/{id}"), &f.viewer).await;
    assert_eq!(dropped["status"], "dropped");
    assert_eq!(dropped["drop_cause"], "gateway_lost");
    // After the grace window (300 s by default) it closes as gateway_lost.
    let report = f
        .app
        .store
        .expire_sessions(later + chrono::Duration::minutes(6), chrono::Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(report.closed_after_grace, 1);
    let closed = f.get(&format!("/sessions/{id}"), &f.viewer).await;
    assert_eq!(closed["close_reason"], "gateway_lost");
}

#[tokio::test]
async fn a_listening_gateway_hears_of_a_revoke() {
    let f = fixture().await;
    let target = f.target("billing", "production").await;
    let session = f.open(&target, "alice", Some("hotfix")).await;
    let id = session["id"].as_str().unwrap().to_owned();

    let response = f
        .app
        .client
        .get(f.app.url("/api/v1/projects/demo/control-events"))
        .bearer_auth(&f.gateway)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let opening = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&opening).contains("connected"));

    let started = std::time::Instant::now();
    json::<Value>(
        f.post(&format!("/sessions/{id}/revoke"), &f.manager, json!({"reason": "stop"})).await,
        200,
    )
    .await;
    let mut seen = String::new();
    // Pushed, not polled; how fast is the revoke benchmark's
    // (docs/benchmarks.md, "Revoke"), not a timed assertion's.
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains("event: session.revoked") {
                return;
            }
        }
    })
    .await;
    assert!(received.is_ok(), "no revoke event; got {seen:?}");
    assert!(seen.contains(&id));
    assert!(seen.contains("carol (test)"));
    eprintln!("revoke reached the gateway in {:?}", started.elapsed());
}

#[tokio::test]
async fn the_list_pages_without_skipping_or_repeating_while_sessions_arrive() {
    let f = fixture().await;
    let target = f.target("staging", "non_production").await;
    let mut opened = Vec::new();
    for i in 0..25 {
        opened.push(
            f.open(&target, &format!("user{i}"), None).await["id"].as_str().unwrap().to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/sessions?limit=10&cursor={c}"),
            None => "/sessions?limit=10".to_owned(),
        };
        let page = f.get(&path, &f.viewer).await;
        seen.extend(
            page["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()),
        );
        // New sessions keep arriving between pages.
        f.open(&target, "latecomer", None).await;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    opened.reverse();
    assert_eq!(seen, opened, "every session exactly once, newest first");
    problem(
        f.app.get("/api/v1/projects/demo/sessions?cursor=garbage", &f.viewer).await,
        400,
        "invalid-input",
    )
    .await;
    problem(
        f.app.get("/api/v1/projects/demo/sessions?limit=201", &f.viewer).await,
        400,
        "invalid-input",
    )
    .await;
    problem(
        f.app.get("/api/v1/projects/demo/sessions?status=sleeping", &f.viewer).await,
        400,
        "invalid-input",
    )
    .await;
}

#[tokio::test]
async fn filters_narrow_the_history() {
    let f = fixture().await;
    let prod = f.target("billing-api", "production").await;
    let staging = f.target("staging-api", "non_production").await;
    let a = f.open(&prod, "alice", Some("INC-7 payment retries")).await;
    let b = f.open(&staging, "bob", None).await;
    let c = f.open(&staging, "alice", None).await;
    f.post(
        &format!("/sessions/{}/activity", c["id"].as_str().unwrap()),
        &f.gateway,
        json!({"items": [activity("x", "SELECT pg_terminate_backend(42)")]}),
    )
    .await;
    f.post(
        &format!("/sessions/{}/close", b["id"].as_str().unwrap()),
        &f.gateway,
        json!({"reason": "user_exit"}),
    )
    .await;

    let ids = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let id = |s: &Value| s["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(f.get("/sessions?environment_class=production", &f.viewer).await), [id(&a)]);
    assert_eq!(ids(f.get("/sessions?status=closed", &f.viewer).await), [id(&b)]);
    assert_eq!(ids(f.get("/sessions?user=alice", &f.viewer).await), [id(&c), id(&a)]);
    assert_eq!(
        ids(f.get(&format!("/sessions?target_id={staging}"), &f.viewer).await),
        [id(&c), id(&b)]
    );
    assert_eq!(ids(f.get("/sessions?has_recording=true", &f.viewer).await), [id(&a)]);
    assert_eq!(ids(f.get("/sessions?q=payment", &f.viewer).await), [id(&a)]);
    assert_eq!(
        ids(f.get("/sessions?q=TERMINATE_backend", &f.viewer).await),
        [id(&c)],
        "command text, any case"
    );
    assert_eq!(
        ids(f.get("/sessions?q=100%25", &f.viewer).await),
        Vec::<String>::new(),
        "LIKE wildcards are literal"
    );
    assert_eq!(ids(f.get("/sessions?mode=database", &f.viewer).await), Vec::<String>::new());
    let from = chrono::Utc::now() + chrono::Duration::hours(1);
    assert_eq!(
        ids(f
            .get(&format!("/sessions?opened_from={}", from.format("%Y-%m-%dT%H:%M:%SZ")), &f.viewer)
            .await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn each_endpoint_checks_its_permission_and_the_project() {
    let f = fixture().await;
    f.app.create_project("other").await;
    let target = f.target("billing", "production").await;
    // Mallory's own, so that reconnecting is a matter of permission.
    let session = f.open(&target, "mallory", Some("check")).await;
    let id = session["id"].as_str().unwrap();
    let endpoints: Vec<(&str, String, Value, Permission)> = vec![
        ("GET", "/sessions".into(), Value::Null, ViewHistory),
        ("GET", format!("/sessions/{id}"), Value::Null, ViewHistory),
        ("GET", format!("/sessions/{id}/activity"), Value::Null, ViewHistory),
        ("GET", format!("/sessions/{id}/database-events"), Value::Null, ViewHistory),
        ("GET", "/audit-events".into(), Value::Null, ViewHistory),
        (
            "POST",
            "/sessions".into(),
            json!({"target_id": target, "user": {"subject": "a", "name": "A"}, "mode": "shell", "reason": "r"}),
            Ingest,
        ),
        (
            "POST",
            format!("/sessions/{id}/activity"),
            json!({"items": [activity("p", "ls")]}),
            Ingest,
        ),
        (
            "POST",
            format!("/sessions/{id}/database-events"),
            json!({"items": [{"event_id": "p", "statement": "SELECT 1", "occurred_at": "2026-11-25T10:00:00Z"}]}),
            Ingest,
        ),
        ("POST", format!("/sessions/{id}/heartbeat"), json!({}), Ingest),
        ("POST", format!("/sessions/{id}/recording/finalize"), json!({}), Ingest),
        ("POST", format!("/sessions/{id}/reconnect/redeem"), json!({"token": "x"}), Ingest),
        ("GET", "/control-events".into(), Value::Null, Ingest),
        ("POST", format!("/sessions/{id}/revoke"), json!({"reason": "r"}), ManagePolicy),
        ("POST", format!("/sessions/{id}/reconnect"), json!({}), Connect),
    ];
    for (method, path, body, needed) in endpoints {
        let send = |token: Option<String>, project: &str| {
            let url = f.app.url(&format!("/api/v1/projects/{project}{path}"));
            let mut request = if method == "GET" {
                f.app.client.get(url)
            } else {
                f.app.client.post(url).json(&body)
            };
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        problem(send(None, "demo").await.unwrap(), 401, "unauthorized").await;
        let others: Vec<Permission> =
            Permission::ALL.into_iter().filter(|p| *p != needed).collect();
        let without = f.app.token("mallory", "demo", &others);
        let body403 = problem(send(Some(without), "demo").await.unwrap(), 403, "forbidden").await;
        assert!(
            body403["detail"].as_str().unwrap().contains(needed.as_str()),
            "{method} {path}: {body403}"
        );
        let outsider = f.app.token("mallory", "other", &Permission::ALL);
        problem(send(Some(outsider), "demo").await.unwrap(), 404, "not-found").await;
        // The needed permission alone is enough (the request may still fail later for other reasons).
        let with = f.app.token("mallory", "demo", &[needed]);
        let status = send(Some(with), "demo").await.unwrap().status().as_u16();
        assert!(![401, 403, 404].contains(&status), "{method} {path} with {needed}: {status}");
    }
    // Another project's session is not found, even with every permission there.
    f.app.create_project("third").await;
    let elsewhere = f.app.token("mallory", "third", &Permission::ALL);
    problem(
        f.app.get(&format!("/api/v1/projects/third/sessions/{id}"), &elsewhere).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn sessions_cannot_be_deleted() {
    let f = fixture().await;
    let target = f.target("billing", "production").await;
    let session = f.open(&target, "alice", Some("check")).await;
    let url =
        f.app.url(&format!("/api/v1/projects/demo/sessions/{}", session["id"].as_str().unwrap()));
    let response = f.app.client.delete(url).bearer_auth(&f.manager).send().await.unwrap();
    let body = problem(response, 405, "method-not-allowed").await;
    assert!(body["detail"].as_str().unwrap().contains("retention"));
}

#[tokio::test]
async fn a_revoked_sessions_recording_takes_the_gateways_last_chunks_then_is_finalized() {
    let f = fixture().await;
    let target = f.target("billing", "production").await;
    let viewer = f.app.token("vera", "demo", &[ViewRecording]);
    let chunk = |id: String, seq: u32, body: &'static str| {
        let request = f
            .app
            .client
            .put(f.app.url(&format!("/api/v1/projects/demo/sessions/{id}/recording/chunks/{seq}")))
            .bearer_auth(&f.gateway)
            .body(body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let header_and_uptime =
        "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.5, \"o\", \"$ uptime\\r\\n\"]\n";
    let last_words = "[0.7, \"o\", \" 10:00:01 up 3 days\\r\\n\"]\n";

    let session = f.open(&target, "alice", Some("hotfix")).await;
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(chunk(id.clone(), 0, header_and_uptime).await, 201);
    problem(
        f.post(&format!("/sessions/{id}/recording/finalize"), &f.gateway, json!({})).await,
        409,
        "invalid-session-state",
    )
    .await;
    json::<Value>(
        f.post(&format!("/sessions/{id}/revoke"), &f.manager, json!({"reason": "stop"})).await,
        200,
    )
    .await;
    // The gateway still holds what the shell printed before it was killed.
    let settling = f.get(&format!("/sessions/{id}/recording"), &viewer).await;
    assert_eq!(settling["state"], "recording", "{settling}");
    assert_eq!(chunk(id.clone(), 1, last_words).await, 201);
    let done = f
        .app
        .post(
            &format!("/api/v1/projects/demo/sessions/{id}/recording/finalize"),
            &f.gateway,
            &json!({}),
        )
        .await;
    assert_eq!(done.status(), 204);
    let finalized = f.get(&format!("/sessions/{id}/recording"), &viewer).await;
    assert_eq!(finalized["state"], "available");
    assert_eq!(finalized["event_count"], 2);
    assert!(finalized["sha256"].as_str().is_some_and(|d| d.len() == 64), "{finalized}");
    assert_eq!(chunk(id.clone(), 2, last_words).await, 409, "finalized: no more chunks");
    let again = f
        .app
        .post(
            &format!("/api/v1/projects/demo/sessions/{id}/recording/finalize"),
            &f.gateway,
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), 204, "idempotent");

    // A gateway that never says it is done: the recording is finalized
    // when the window for the last chunks closes.
    let session = f.open(&target, "alice", Some("hotfix")).await;
    let id = session["id"].as_str().unwrap().to_owned();
    assert_eq!(chunk(id.clone(), 0, header_and_uptime).await, 201);
    json::<Value>(
        f.post(&format!("/sessions/{id}/revoke"), &f.manager, json!({"reason": "stop"})).await,
        200,
    )
    .await;
    let now = chrono::Utc::now();
    let report = f.app.store.expire_sessions(now, chrono::Duration::seconds(60)).await.unwrap();
    assert_eq!(report.recordings_finalized, 0, "the window is open");
    let later = now + termaudit_storage::RECORDING_SETTLE + chrono::Duration::seconds(1);
    let report = f.app.store.expire_sessions(later, chrono::Duration::seconds(60)).await.unwrap();
    assert_eq!(report.recordings_finalized, 1);
    let finalized = f.get(&format!("/sessions/{id}/recording"), &viewer).await;
    assert_eq!(finalized["state"], "available");
    assert_eq!(finalized["event_count"], 1);
}
