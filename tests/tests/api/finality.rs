//! An ended session is final, and a gateway's times are bounded (issue 15):
//! what the gateway had queued from before a revoke is still taken until
//! the recording is finalized; anything timed after the end, and anything
//! at all once finalized, is a 409 that stores nothing; a finalized
//! recording downloads byte for byte as its digest says, however much is
//! sent afterwards. Event times outside the session's opening to the
//! server's now (each give or take five minutes) are a 400.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use termaudit_domain::Permission::*;
use termaudit_tests::{TestApp, json, problem};

struct Fixture {
    app: TestApp,
    gateway: String,
    reader: String,
    manager: String,
    /// A recorded (production) session with chunk 0 and one command.
    id: String,
    opened_at: DateTime<Utc>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn command(id: &str, at: &str) -> Value {
    json!({"items": [{"event_id": id, "kind": "command", "text": format!("echo {id}"), "occurred_at": at}]})
}

fn statement(id: &str, at: &str) -> Value {
    json!({"items": [{"event_id": id, "statement": format!("DELETE FROM t WHERE id = '{id}'"), "occurred_at": at}]})
}

impl Fixture {
    async fn new() -> Fixture {
        let app = TestApp::spawn().await;
        app.create_project("demo").await;
        let gateway = app.token("gateway", "demo", &[Ingest]);
        let reader = app.token("vera", "demo", &[ViewHistory, ViewRecording, DownloadRecording]);
        let manager = app.token("carol", "demo", &[ManagePolicy]);
        let body = json!({"name": "orders", "kind": "database", "environment": "prod", "environment_class": "production"});
        let target: Value =
            json(app.post("/api/v1/projects/demo/targets", &gateway, &body).await, 201).await;
        let body = json!({"target_id": target["id"], "user": {"subject": "alice", "name": "Alice"}, "mode": "database", "reason": "INC-1"});
        let session: Value =
            json(app.post("/api/v1/projects/demo/sessions", &gateway, &body).await, 201).await;
        let id = session["id"].as_str().unwrap().to_owned();
        let opened_at = session["opened_at"].as_str().unwrap().parse().unwrap();
        let f = Fixture { app, gateway, reader, manager, id, opened_at };
        let chunk = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"=> \"]\n";
        assert_eq!(f.chunk(0, chunk).await.status(), 201);
        let first = f.append("activity", command("c1", &time(Utc::now()))).await;
        assert_eq!(first.status(), 200);
        f
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/projects/demo/sessions/{}{rest}", self.id)
    }

    async fn append(&self, kind: &str, body: Value) -> reqwest::Response {
        self.app.post(&self.path(&format!("/{kind}")), &self.gateway, &body).await
    }

    async fn chunk(&self, seq: u32, body: &str) -> reqwest::Response {
        let url = self.app.url(&self.path(&format!("/recording/chunks/{seq}")));
        self.app
            .client
            .put(url)
            .bearer_auth(&self.gateway)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn revoke(&self) -> DateTime<Utc> {
        let body = json!({"reason": "outside the change window"});
        let revoked: Value =
            json(self.app.post(&self.path("/revoke"), &self.manager, &body).await, 200).await;
        revoked["ended_at"].as_str().unwrap().parse().unwrap()
    }

    /// Everything stored about the session: its activity, statements, audit
    /// entries and recording rows, as the owner reads them.
    async fn stored(&self) -> String {
        let db = self.app.db.connect().await;
        let id: uuid::Uuid = self.id.parse().unwrap();
        db.query_one(
            "SELECT json_build_array(
                (SELECT json_agg(a ORDER BY a.id) FROM session_activity a WHERE a.session_id = $1),
                (SELECT json_agg(d ORDER BY d.id) FROM database_events d WHERE d.session_id = $1),
                (SELECT json_agg(e ORDER BY e.id) FROM audit_events e WHERE e.session_id = $1),
                (SELECT json_agg(c.seq ORDER BY c.seq) FROM recording_chunks c WHERE c.session_id = $1),
                (SELECT row_to_json(r) FROM (SELECT next_seq, finalized_at, size_bytes, sha256
                                             FROM recordings WHERE session_id = $1) r))::text",
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
    }

    /// The download, checked against its own headers: the body's SHA-256
    /// is the digest it announces, and its length the Content-Length.
    async fn download(&self) -> Vec<u8> {
        let response = self.app.get(&self.path("/recording/download"), &self.reader).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        let digest = format!("{:x}", Sha256::digest(&body));
        assert_eq!(headers["x-recording-sha256"].to_str().unwrap(), digest);
        assert!(headers["etag"].to_str().unwrap().contains(&digest), "{headers:?}");
        assert_eq!(headers["content-length"].to_str().unwrap(), body.len().to_string());
        body
    }
}

/// Asserts a 409 `invalid-session-state` naming the end, with nothing stored.
async fn ended(f: &Fixture, response: reqwest::Response, ended_at: DateTime<Utc>, before: &str) {
    let body = problem(response, 409, "invalid-session-state").await;
    assert_eq!(body["ended"]["close_reason"], "revoked", "{body}");
    assert_eq!(
        body["ended"]["ended_at"].as_str().map(str::parse::<DateTime<Utc>>),
        Some(Ok(ended_at))
    );
    assert_eq!(f.stored().await, before, "a refusal stored something");
}

#[tokio::test]
async fn an_ended_session_takes_its_last_reports_until_finalized_and_nothing_after_its_end() {
    let f = Fixture::new().await;
    let ended_at = f.revoke().await;

    // What the gateway had queued from before the revoke is still taken.
    let before_end = time(ended_at - Duration::milliseconds(5));
    let last = f.append("database-events", statement("d1", &before_end)).await;
    assert_eq!(json::<Value>(last, 200).await, json!({"stored": 1, "duplicates": 0}));
    assert_eq!(f.append("activity", command("c2", &time(ended_at))).await.status(), 200);
    let chunk = "[0.2, \"o\", \"DELETE 1\\r\\n\"]\n";
    assert_eq!(f.chunk(1, chunk).await.status(), 201);

    // Anything timed after the end is refused, and stores nothing: no
    // activity, no statement, no database.statement audit entry.
    let before = f.stored().await;
    let late = time(ended_at + Duration::milliseconds(1));
    ended(&f, f.append("activity", command("c3", &late)).await, ended_at, &before).await;
    ended(&f, f.append("database-events", statement("d2", &late)).await, ended_at, &before).await;
    // A batch with one late event is refused whole.
    let mixed = json!({"items": [
        {"event_id": "c4", "kind": "command", "text": "ok", "occurred_at": before_end},
        {"event_id": "c5", "kind": "command", "text": "late", "occurred_at": late},
    ]});
    ended(&f, f.append("activity", mixed).await, ended_at, &before).await;
    // A chunk that begins after the end (past the clock-skew allowance).
    let after = "[400.0, \"o\", \"after the end\\r\\n\"]\n";
    ended(&f, f.chunk(2, after).await, ended_at, &before).await;

    // The gateway says it has sent everything: the recording is final.
    let done = f.app.post(&f.path("/recording/finalize"), &f.gateway, &json!({})).await;
    assert_eq!(done.status(), 204);
    let download = f.download().await;
    let text = String::from_utf8(download.clone()).unwrap();
    assert!(text.contains("echo c2") && text.contains("DELETE 1"), "{text}");
    let finalized = f.stored().await;

    // Now nothing at all is taken, from before the end or not; a retry of
    // what was stored stays a duplicate.
    ended(&f, f.append("activity", command("c6", &before_end)).await, ended_at, &finalized).await;
    ended(
        &f,
        f.append("database-events", statement("d3", &before_end)).await,
        ended_at,
        &finalized,
    )
    .await;
    ended(&f, f.chunk(2, "[0.3, \"o\", \"x\"]\n").await, ended_at, &finalized).await;
    let retry = f.append("database-events", statement("d1", &before_end)).await;
    assert_eq!(json::<Value>(retry, 200).await, json!({"stored": 0, "duplicates": 1}));
    assert_eq!(f.stored().await, finalized);

    // The download is what its digest says, byte for byte, as before.
    assert_eq!(f.download().await, download);
}

#[tokio::test]
async fn event_times_outside_the_opening_to_now_are_refused_naming_the_field_and_range() {
    let f = Fixture::new().await;
    let before = f.stored().await;
    let allowance = Duration::minutes(5);
    for at in [
        "0000-01-01T00:00:00Z".to_owned(),
        "+262142-12-31T23:59:59Z".to_owned(),
        time(f.opened_at - allowance - Duration::seconds(1)),
        time(Utc::now() + allowance + Duration::seconds(30)),
    ] {
        for (kind, body) in
            [("activity", command("t1", &at)), ("database-events", statement("t1", &at))]
        {
            let body = problem(f.append(kind, body).await, 400, "invalid-input").await;
            assert_eq!(body["errors"][0]["field"], "items[0].occurred_at", "{at}: {body}");
            let message = body["errors"][0]["message"].as_str().unwrap();
            let earliest = time(f.opened_at - allowance);
            assert!(message.contains(&earliest), "{at}: {message}");
            assert!(message.contains("5 minutes"), "{at}: {message}");
            assert_eq!(f.stored().await, before, "{at}: stored");
        }
    }
    // At the edges of the allowance: taken.
    for (i, at) in
        [f.opened_at - allowance + Duration::seconds(1), Utc::now() + Duration::minutes(4)]
            .into_iter()
            .enumerate()
    {
        let response = f.append("database-events", statement(&format!("edge{i}"), &time(at))).await;
        assert_eq!(response.status(), 200, "{at}");
    }
}
