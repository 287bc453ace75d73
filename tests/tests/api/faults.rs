//! Load and replica tests, bounded in time: two servers on one database
//! behave as one, and 200 sessions ingesting at once lose nothing while the
//! API keeps answering. (Killing the server mid-ingest is in the server
//! crate's `tests/kill.rs`, which runs the real binary.)

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use termaudit_domain::Permission::*;
use termaudit_retention::{SweepOptions, sweep_once};
use termaudit_tests::{TestApp, json};

const PROJECT: &str = "demo";

struct Replicas {
    a: TestApp,
    b: TestApp,
    gateway: String,
    manager: String,
    prod: String,
}

async fn replicas() -> Replicas {
    let a = TestApp::spawn().await;
    a.create_project(PROJECT).await;
    let b = a.spawn_replica().await;
    let gateway = a.token("gateway", PROJECT, &[Ingest]);
    let manager = a.token("carol", PROJECT, &[ManagePolicy, ViewHistory]);
    let body = json!({"name": "billing", "kind": "application", "environment": "prod", "environment_class": "production"});
    let target: Value =
        json(a.post("/api/v1/projects/demo/targets", &gateway, &body).await, 201).await;
    let prod = target["id"].as_str().unwrap().to_owned();
    Replicas { a, b, gateway, manager, prod }
}

/// Opens a session through `app`, uploads a one-event chunk 0, and returns its id.
async fn open_recorded(app: &TestApp, gateway: &str, target: &str) -> String {
    let body = json!({"target_id": target, "user": {"subject": "alice", "name": "Alice"}, "mode": "shell", "reason": "work"});
    let session: Value =
        json(app.post("/api/v1/projects/demo/sessions", gateway, &body).await, 201).await;
    let id = session["id"].as_str().unwrap().to_owned();
    let cast = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"hello\\r\\n\"]\n";
    let response = put_chunk(app, gateway, &id, 0, cast.to_owned()).await;
    assert_eq!(response.status(), 201);
    id
}

async fn put_chunk(
    app: &TestApp,
    token: &str,
    session: &str,
    seq: u32,
    body: String,
) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/projects/demo/sessions/{session}/recording/chunks/{seq}")))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("the request is sent")
}

/// Reads a control-event stream until `event` names `session`, for at most two seconds.
async fn hears(listener: reqwest::Response, event: &str, session: &str) -> Result<(), String> {
    let mut body = listener.bytes_stream();
    let mut seen = String::new();
    let wanted = format!("event: {event}\ndata: ");
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.split("\n\n").any(|e| e.starts_with(&wanted) && e.contains(session)) {
                return;
            }
        }
    })
    .await
    .map_err(|_| format!("no {event} for {session} within 10 s; heard {seen:?}"))
}

async fn listen(app: &TestApp, gateway: &str) -> reqwest::Response {
    let response = app.get("/api/v1/projects/demo/control-events", gateway).await;
    assert_eq!(response.status(), 200);
    response
}

#[tokio::test]
async fn a_revoke_or_close_on_one_replica_reaches_gateways_listening_on_the_other() {
    let r = replicas().await;
    let revoked = open_recorded(&r.a, &r.gateway, &r.prod).await;
    let closed = open_recorded(&r.b, &r.gateway, &r.prod).await;
    // The listener's LISTEN is issued at start-up; give both a moment.
    let (on_a, on_b) = (listen(&r.a, &r.gateway).await, listen(&r.b, &r.gateway).await);

    let response =
        r.a.post(
            &format!("/api/v1/projects/demo/sessions/{revoked}/revoke"),
            &r.manager,
            &json!({"reason": "stop"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    hears(on_b, "session.revoked", &revoked).await.unwrap();

    let response =
        r.b.post(
            &format!("/api/v1/projects/demo/sessions/{closed}/close"),
            &r.gateway,
            &json!({"reason": "user_exit"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    hears(on_a, "session.closed", &closed).await.unwrap();

    // Each replica sees the other's writes at once: no replica-local state.
    for (app, id, status) in [(&r.b, &revoked, "closed"), (&r.a, &closed, "closed")] {
        let session: Value =
            json(app.get(&format!("/api/v1/projects/demo/sessions/{id}"), &r.manager).await, 200)
                .await;
        assert_eq!(session["status"], status);
    }
    // A second revoke through the other replica is refused as on one server
    // (the session is closed), and the revoke is audited once.
    let revoke_again =
        r.b.post(
            &format!("/api/v1/projects/demo/sessions/{revoked}/revoke"),
            &r.manager,
            &json!({"reason": "stop"}),
        )
        .await;
    assert_eq!(revoke_again.status(), 409);
    let uuid: uuid::Uuid = revoked.parse().unwrap();
    let audited: i64 = r
        .a
        .db
        .connect()
        .await
        .query_one(
            "SELECT count(*) FROM audit_events WHERE session_id = $1 AND event_type = 'session.revoked'",
            &[&uuid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);
}

/// The reconnect grace `app` applies to the dropped session `id` (its
/// deadline minus its drop, in seconds), as the history list shows it.
async fn grace_applied(app: &TestApp, token: &str, id: &str) -> Option<i64> {
    let page: Value =
        json(app.get("/api/v1/projects/demo/sessions?status=dropped", token).await, 200).await;
    let session = page["items"].as_array()?.iter().find(|s| s["id"] == id)?;
    let at = |field: &str| chrono::DateTime::parse_from_rfc3339(session[field].as_str()?).ok();
    Some((at("reconnect_deadline")? - at("dropped_at")?).num_seconds())
}

/// Polls `condition` until it holds, for at most 10 s (a bound for
/// liveness: a notification takes milliseconds).
async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_policy_or_project_changed_anywhere_is_what_every_replica_applies_next() {
    let r = replicas().await;
    let id = open_recorded(&r.a, &r.gateway, &r.prod).await;
    json::<Value>(
        r.a.post(&format!("/api/v1/projects/demo/sessions/{id}/drop"), &r.gateway, &json!({}))
            .await,
        200,
    )
    .await;
    let db = r.a.db.connect().await;
    // Both replicas have read (and cached) the default policy and the project.
    for app in [&r.a, &r.b] {
        assert_eq!(grace_applied(app, &r.manager, &id).await, Some(300));
    }

    // A change through A: A applies it at once, B on a request soon after.
    let policy = json!({"retention_days_production": 365, "retention_days_non_production": 90,
        "record_non_production": false, "require_reason_non_production": false,
        "reconnect_grace_seconds": 60});
    json::<Value>(r.a.put("/api/v1/projects/demo/policy", &r.manager, &policy).await, 200).await;
    assert_eq!(grace_applied(&r.a, &r.manager, &id).await, Some(60));
    eventually("B applies the policy changed through A", || async {
        grace_applied(&r.b, &r.manager, &id).await == Some(60)
    })
    .await;

    // A change made in SQL, through no replica: both apply it.
    db.execute("UPDATE terminal_policies SET reconnect_grace_seconds = 120", &[]).await.unwrap();
    for app in [&r.a, &r.b] {
        eventually("a policy changed in SQL is applied", || async {
            grace_applied(app, &r.manager, &id).await == Some(120)
        })
        .await;
    }

    // A change while the replicas' listeners are cut off (their
    // notification is lost with them): they apply it all the same.
    let listeners: Vec<i32> = db
        .query(
            "SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity
             WHERE datname = current_database() AND query = 'LISTEN termaudit_cache'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(1))
        .collect();
    assert_eq!(listeners.len(), 2, "one cache listener per replica");
    eventually("the listeners' connections are gone", || async {
        let alive: i64 = db
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", &[&listeners])
            .await
            .unwrap()
            .get(0);
        alive == 0
    })
    .await;
    db.execute("UPDATE terminal_policies SET reconnect_grace_seconds = 30", &[]).await.unwrap();
    // Once both listen again (their reconnection waits a second), what
    // they kept from before the loss is gone.
    eventually("both replicas listen again", || async {
        let listening: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                 AND query = 'LISTEN termaudit_cache' AND NOT pid = ANY($1)",
                &[&listeners],
            )
            .await
            .unwrap()
            .get(0);
        listening == 2
    })
    .await;
    for app in [&r.a, &r.b] {
        for _ in 0..3 {
            assert_eq!(grace_applied(app, &r.manager, &id).await, Some(30));
        }
    }

    // A project renamed in SQL: the old slug is gone on both, the new one served.
    db.execute("UPDATE projects SET slug = 'renamed' WHERE slug = 'demo'", &[]).await.unwrap();
    let renamed = r.a.token("carol", "renamed", &[ViewHistory]);
    for app in [&r.a, &r.b] {
        eventually("a project renamed in SQL is served by its new slug only", || async {
            let old = app.get("/api/v1/projects/demo/sessions", &r.manager).await.status();
            let new = app.get("/api/v1/projects/renamed/sessions", &renamed).await.status();
            old == 404 && new == 200
        })
        .await;
    }
}

#[tokio::test]
async fn sweeps_on_two_replicas_purge_each_recording_once() {
    let r = replicas().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { &r.a } else { &r.b };
        let id = open_recorded(app, &r.gateway, &r.prod).await;
        let response = app
            .post(
                &format!("/api/v1/projects/demo/sessions/{id}/close"),
                &r.gateway,
                &json!({"reason": "user_exit"}),
            )
            .await;
        assert_eq!(response.status(), 200);
        ids.push(id);
    }
    // Well past the default production retention (365 days).
    let now = chrono::Utc::now() + chrono::Duration::days(400);
    let options = SweepOptions { batch_size: 2, max_batches: None, rest: 0.0 };
    let (url_a, url_b) = (r.a.database_url(), r.b.database_url());
    let mut purged = 0;
    // Several rounds, both replicas at once: whichever holds the lock purges.
    for _ in 0..3 {
        let (x, y) = tokio::join!(
            sweep_once(&r.a.store, &url_a, now, options),
            sweep_once(&r.b.store, &url_b, now, options)
        );
        purged += x.unwrap().purged() + y.unwrap().purged();
    }
    assert_eq!(purged, 12);
    let db = r.a.db.connect().await;
    let rows = db
        .query(
            "SELECT r.session_id::text, count(a.id) FROM recordings r
             LEFT JOIN audit_events a ON a.session_id = r.session_id AND a.event_type = 'recording.purged'
             WHERE r.purged_at IS NOT NULL GROUP BY 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    for row in rows {
        assert!(ids.contains(&row.get::<_, String>(0)));
        assert_eq!(row.get::<_, i64>(1), 1, "one recording.purged per recording");
    }
    let runs: i64 = db
        .query_one("SELECT count(*) FROM retention_runs WHERE status = 'running'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 0, "no run is left running");
}

/// 200 gateways upload small chunks as fast as they can for three seconds
/// (a pool of four connections per server, as the tests configure it);
/// meanwhile the history list must keep answering. Afterwards every
/// acknowledged chunk is stored exactly once, and the recordings finalize.
#[tokio::test]
async fn two_hundred_sessions_ingesting_at_once_lose_nothing_and_the_api_answers() {
    const SESSIONS: usize = 200;
    let r = replicas().await;
    let mut ids = Vec::new();
    for _ in 0..SESSIONS {
        ids.push(open_recorded(&r.a, &r.gateway, &r.prod).await);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let uploads = ids.iter().enumerate().map(|(n, id)| {
        // Half the gateways talk to each replica.
        let (app, gateway) = (if n % 2 == 0 { &r.a } else { &r.b }, &r.gateway);
        async move {
            let mut acknowledged = 1; // chunk 0
            while Instant::now() < deadline {
                let seq = acknowledged;
                let time = f64::from(seq) * 0.5;
                let body = format!("[{time}, \"o\", \"chunk {seq} of {id}\\r\\n\"]\n");
                let response = put_chunk(app, gateway, id, seq, body).await;
                assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
                acknowledged += 1;
            }
            (id.clone(), acknowledged)
        }
    });
    let probe = async {
        let mut latencies = Vec::new();
        while Instant::now() < deadline {
            let started = Instant::now();
            // A bound for liveness (a hung API), not for speed: the figures
            // under load belong to the benchmarks.
            let response = tokio::time::timeout(
                Duration::from_secs(60),
                r.b.get("/api/v1/projects/demo/sessions?limit=50", &r.manager),
            )
            .await
            .expect("the API answers under load");
            assert_eq!(response.status(), 200);
            latencies.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        latencies
    };
    let (acknowledged, latencies) = tokio::join!(futures_util::future::join_all(uploads), probe);
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    eprintln!("the history page answered {} times, the slowest in {slowest:?}", latencies.len());

    let db = r.a.db.connect().await;
    let mut total = 0;
    for (id, count) in &acknowledged {
        let close =
            r.b.post(
                &format!("/api/v1/projects/demo/sessions/{id}/close"),
                &r.gateway,
                &json!({"reason": "user_exit"}),
            )
            .await;
        assert_eq!(close.status(), 200);
        let uuid: uuid::Uuid = id.parse().unwrap();
        let row = db
            .query_one(
                "SELECT r.next_seq, r.finalized_at IS NOT NULL, r.event_count,
                        (SELECT count(*) FROM recording_chunks c WHERE c.session_id = r.session_id),
                        (SELECT count(DISTINCT seq) FROM recording_chunks c WHERE c.session_id = r.session_id)
                 FROM recordings r WHERE r.session_id = $1",
                &[&uuid],
            )
            .await
            .unwrap();
        let expected = i64::from(*count);
        assert_eq!(i64::from(row.get::<_, i32>(0)), expected, "next chunk of {id}");
        assert!(row.get::<_, bool>(1), "{id} is finalized");
        assert_eq!(row.get::<_, Option<i64>>(2), Some(expected), "one event per chunk of {id}");
        assert_eq!((row.get::<_, i64>(3), row.get::<_, i64>(4)), (expected, expected));
        total += count;
    }
    assert!(total > SESSIONS as u32, "some chunks beyond chunk 0 were ingested ({total})");
}
