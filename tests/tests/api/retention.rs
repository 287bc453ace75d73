//! Retention: the sweep with an injected `now`, the policy's effect on it,
//! legal holds, interruption, concurrent sweepers, and the status endpoint.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use termaudit_domain::Permission::*;
use termaudit_retention::{SweepOptions, SweepReport, sweep_once};
use termaudit_tests::{TestApp, json, problem};

/// A project with a production and a non-production target, both recorded
/// (also used by `retention_preview.rs`).
pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    gateway: String,
    pub(crate) manager: String,
    pub(crate) prod: String,
    pub(crate) staging: String,
}

pub(crate) async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let manager =
        app.token("carol", "demo", &[ManagePolicy, ViewHistory, ViewRecording, DownloadRecording]);
    let mut ids = Vec::new();
    for (name, class) in [("billing", "production"), ("staging", "non_production")] {
        let body = json!({"name": name, "kind": "application", "environment": name, "environment_class": class});
        let target: Value =
            json(app.post("/api/v1/projects/demo/targets", &gateway, &body).await, 201).await;
        ids.push(target["id"].as_str().unwrap().to_owned());
    }
    // Record non-production sessions too, so both classes have recordings.
    let policy = json!({"retention_days_production": 3, "retention_days_non_production": 1,
        "record_non_production": true, "require_reason_non_production": false, "reconnect_grace_seconds": 300});
    json::<Value>(app.put("/api/v1/projects/demo/policy", &manager, &policy).await, 200).await;
    let staging = ids.pop().unwrap();
    let prod = ids.pop().unwrap();
    Fixture { app, gateway, manager, prod, staging }
}

impl Fixture {
    /// A session with a one-event recording; closed unless `live`.
    pub(crate) async fn recorded(
        &self,
        target: &str,
        live: bool,
    ) -> (String, Option<DateTime<Utc>>) {
        let body = json!({"target_id": target, "user": {"subject": "alice", "name": "Alice"}, "mode": "shell", "reason": "work"});
        let session: Value =
            json(self.app.post("/api/v1/projects/demo/sessions", &self.gateway, &body).await, 201)
                .await;
        let id = session["id"].as_str().unwrap().to_owned();
        let cast = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"secret output\\r\\n\"]\n";
        let response = self
            .app
            .client
            .put(self.app.url(&format!("/api/v1/projects/demo/sessions/{id}/recording/chunks/0")))
            .bearer_auth(&self.gateway)
            .body(cast)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        if live {
            return (id, None);
        }
        let closed: Value = json(
            self.app
                .post(
                    &format!("/api/v1/projects/demo/sessions/{id}/close"),
                    &self.gateway,
                    &json!({"reason": "user_exit"}),
                )
                .await,
            200,
        )
        .await;
        let ended = DateTime::parse_from_rfc3339(closed["ended_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        (id, Some(ended))
    }

    async fn sweep(&self, now: DateTime<Utc>) -> SweepReport {
        sweep_once(&self.app.store, &self.app.database_url(), now, SweepOptions::default())
            .await
            .unwrap()
    }

    async fn state(&self, id: &str) -> String {
        let summary: Value = json(
            self.app
                .get(&format!("/api/v1/projects/demo/sessions/{id}/recording"), &self.manager)
                .await,
            200,
        )
        .await;
        summary["state"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn set_retention(&self, prod: u32, non_prod: u32) {
        let policy = json!({"retention_days_production": prod, "retention_days_non_production": non_prod,
            "record_non_production": true, "require_reason_non_production": false, "reconnect_grace_seconds": 300});
        json::<Value>(
            self.app.put("/api/v1/projects/demo/policy", &self.manager, &policy).await,
            200,
        )
        .await;
    }
}

#[tokio::test]
async fn each_class_is_purged_at_its_exact_cut_off_and_history_stays() {
    let f = fixture().await;
    let (prod, prod_end) = f.recorded(&f.prod, false).await;
    let (staging, staging_end) = f.recorded(&f.staging, false).await;
    let (prod_end, staging_end) = (prod_end.unwrap(), staging_end.unwrap());

    // A microsecond before non-production's day has passed: nothing.
    assert_eq!(
        f.sweep(staging_end + Duration::days(1) - Duration::microseconds(1)).await.purged(),
        0
    );
    assert_eq!(f.state(&staging).await, "available");
    // At the boundary: non-production goes, production (3 days) stays.
    assert_eq!(f.sweep(staging_end + Duration::days(1)).await.purged(), 1);
    assert_eq!(f.state(&staging).await, "purged");
    assert_eq!(f.state(&prod).await, "available");
    assert_eq!(f.sweep(prod_end + Duration::days(3) - Duration::microseconds(1)).await.purged(), 0);
    assert_eq!(f.sweep(prod_end + Duration::days(3)).await.purged(), 1);
    assert_eq!(f.state(&prod).await, "purged");

    // The content is gone (410 with when and why); the history is not.
    let gone = problem(
        f.app
            .get(&format!("/api/v1/projects/demo/sessions/{prod}/recording/download"), &f.manager)
            .await,
        410,
        "gone",
    )
    .await;
    assert!(gone["detail"].as_str().unwrap().contains("retention"), "{gone}");
    let session: Value =
        json(f.app.get(&format!("/api/v1/projects/demo/sessions/{prod}"), &f.manager).await, 200)
            .await;
    assert_eq!(session["close_reason"], "user_exit");
    let db = f.app.db.connect().await;
    let chunks: i64 =
        db.query_one("SELECT count(*) FROM recording_chunks", &[]).await.unwrap().get(0);
    assert_eq!(chunks, 0);
    let audit: Value = json(
        f.app.get("/api/v1/projects/demo/audit-events?type=recording.purged", &f.manager).await,
        200,
    )
    .await;
    let purged: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(purged, [prod.as_str(), staging.as_str()]);
    assert_eq!(audit["items"][0]["details"]["retention_days"], 3);
}

#[tokio::test]
async fn a_shortened_policy_purges_at_the_next_sweep_and_a_longer_one_keeps() {
    let f = fixture().await;
    f.set_retention(30, 30).await;
    let (kept, ended) = f.recorded(&f.prod, false).await;
    let ended = ended.unwrap();
    let later = ended + Duration::days(10);
    assert_eq!(f.sweep(later).await.purged(), 0);
    f.set_retention(40, 30).await;
    assert_eq!(f.sweep(later).await.purged(), 0, "longer retention keeps it");
    f.set_retention(5, 30).await;
    assert_eq!(f.sweep(later).await.purged(), 1, "shorter retention purges what is now past it");
    assert_eq!(f.state(&kept).await, "purged");
    f.set_retention(3650, 3650).await;
    assert_eq!(f.state(&kept).await, "purged", "lengthening cannot restore");
}

#[tokio::test]
async fn a_legal_hold_keeps_a_recording_until_released() {
    let f = fixture().await;
    let (held, ended) = f.recorded(&f.prod, false).await;
    let hold = format!("/api/v1/projects/demo/sessions/{held}/hold");
    json::<Value>(f.app.post(&hold, &f.manager, &json!({"reason": "litigation"})).await, 201).await;
    let summary: Value = json(
        f.app.get(&format!("/api/v1/projects/demo/sessions/{held}/recording"), &f.manager).await,
        200,
    )
    .await;
    assert_eq!(summary["expires_at"], Value::Null, "a held recording does not expire");
    let far = ended.unwrap() + Duration::days(400);
    assert_eq!(f.sweep(far).await.purged(), 0);
    assert_eq!(f.state(&held).await, "available");
    let released = f
        .app
        .client
        .delete(f.app.url(&hold))
        .bearer_auth(&f.manager)
        .json(&json!({"reason": "case closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 200);
    assert_eq!(f.sweep(far).await.purged(), 1);
}

#[tokio::test]
async fn live_and_dropped_sessions_are_never_purged() {
    let f = fixture().await;
    let (live, _) = f.recorded(&f.prod, true).await;
    let (dropped, _) = f.recorded(&f.staging, true).await;
    json::<Value>(
        f.app
            .post(&format!("/api/v1/projects/demo/sessions/{dropped}/drop"), &f.gateway, &json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(f.sweep(Utc::now() + Duration::days(36500)).await.purged(), 0);
    assert_eq!(f.state(&live).await, "recording");
}

#[tokio::test]
async fn an_interrupted_sweep_leaves_a_consistent_state_the_next_one_finishes() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(f.recorded(&f.staging, false).await.0);
    }
    let now = Utc::now() + Duration::days(2);
    let options = SweepOptions { batch_size: 2, max_batches: Some(1), rest: 0.0 };
    let first = sweep_once(&f.app.store, &f.app.database_url(), now, options).await.unwrap();
    assert!(matches!(first, SweepReport::Partial { purged: 2, .. }), "{first:?}");
    let mut states = Vec::new();
    for id in &ids {
        states.push(f.state(id).await);
    }
    assert_eq!(states.iter().filter(|s| *s == "purged").count(), 2);
    assert_eq!(states.iter().filter(|s| *s == "available").count(), 3);
    let second = f.sweep(now).await;
    assert!(matches!(second, SweepReport::Completed { purged: 3, .. }), "{second:?}");
    let db = f.app.db.connect().await;
    let runs: Vec<(String, i32)> = db
        .query("SELECT status, purged FROM retention_runs ORDER BY id", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(runs, [("interrupted".to_owned(), 2), ("completed".to_owned(), 3)]);
}

#[tokio::test]
async fn two_sweepers_at_once_purge_each_recording_exactly_once() {
    let f = fixture().await;
    for _ in 0..6 {
        f.recorded(&f.staging, false).await;
    }
    let now = Utc::now() + Duration::days(2);
    let options = SweepOptions { batch_size: 1, max_batches: None, rest: 0.0 };
    let url = f.app.database_url();
    let (a, b) = tokio::join!(
        sweep_once(&f.app.store, &url, now, options),
        sweep_once(&f.app.store, &url, now, options)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.purged() + b.purged(), 6, "{a:?} {b:?}");
    let db = f.app.db.connect().await;
    let audited: i64 = db
        .query_one("SELECT count(DISTINCT session_id) FROM audit_events WHERE event_type = 'recording.purged'", &[])
        .await
        .unwrap()
        .get(0);
    let entries: i64 = db
        .query_one("SELECT count(*) FROM audit_events WHERE event_type = 'recording.purged'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!((audited, entries), (6, 6));
}

#[tokio::test]
async fn the_status_shows_the_last_and_next_run_and_what_expires_soon() {
    let f = fixture().await;
    f.set_retention(3, 30).await;
    let (soon, _) = f.recorded(&f.prod, false).await;
    let (_later, _) = f.recorded(&f.staging, false).await;
    let viewer = f.app.token("vera", "demo", &[ViewHistory]);
    let before: Value =
        json(f.app.get("/api/v1/projects/demo/retention", &viewer).await, 200).await;
    assert_eq!(before["last_run"], Value::Null);
    assert_eq!(before["expiring_count"], 1, "{before}");
    assert_eq!(before["expiring"][0]["session_id"], soon.as_str());
    assert_eq!(before["interval_seconds"], 3600);

    f.sweep(Utc::now() + Duration::days(4)).await;
    let after: Value = json(f.app.get("/api/v1/projects/demo/retention", &viewer).await, 200).await;
    assert_eq!(after["last_run"]["status"], "completed");
    assert_eq!(after["last_run"]["purged"], 1);
    assert!(after["last_run"]["bytes_freed"].as_i64().unwrap() > 0);
    assert_eq!(after["expiring_count"], 0);

    let metrics =
        f.app.client.get(f.app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("termaudit_retention_last_run_purged 1"), "{metrics}");
    assert!(metrics.contains("termaudit_retention_next_run_seconds"));

    // Another project's member sees nothing of this one.
    f.app.create_project("other").await;
    let outsider = f.app.token("mallory", "other", &[ViewHistory, ManagePolicy]);
    problem(f.app.get("/api/v1/projects/demo/retention", &outsider).await, 404, "not-found").await;
}

#[tokio::test]
async fn the_server_sweeps_at_start_up() {
    let app = TestApp::spawn_with(Box::new(|s| {
        s.retention_interval = Some(std::time::Duration::from_secs(3600))
    }))
    .await;
    let db = app.db.connect().await;
    for _ in 0..50 {
        let runs: i64 = db
            .query_one("SELECT count(*) FROM retention_runs WHERE status = 'completed'", &[])
            .await
            .unwrap()
            .get(0);
        if runs > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no sweep ran at start-up");
}
