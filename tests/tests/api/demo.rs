//! The demo data (`termaudit serve --demo`): laid out again relative to now
//! at each start, recordings whose markers sit where their commands are
//! typed, and for each demo user what their role text promises.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use termaudit_tests::{TestApp, json};

const DEMO: &str = "demo";

fn demo(settings: &mut termaudit_server::Settings) {
    settings.demo = true;
}

/// A demo user's token, as the sign-in page gets it.
async fn sign_in(app: &TestApp, subject: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/demo/token"))
        .json(&json!({"subject": subject}))
        .send()
        .await
        .expect("an answer");
    let body: Value = json(response, 200).await;
    body["token"].as_str().expect("a token").to_owned()
}

async fn sessions(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let page: Value = json(
        app.get(&format!("/api/v1/projects/{DEMO}/sessions?limit=200&{query}"), token).await,
        200,
    )
    .await;
    page["items"].as_array().expect("items").clone()
}

/// The live demo sessions once the demo has settled: Alice's session is
/// opened through the demo gateway in the background and is active until
/// her shell has printed `status`, then dropped.
async fn settled_live(app: &TestApp, token: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let active = sessions(app, token, "status=active").await;
        let dropped = sessions(app, token, "status=dropped").await;
        if (active.len(), dropped.len()) == (2, 1) || Instant::now() > deadline {
            assert_eq!(dropped.len(), 1, "Alice's dropped session");
            return active;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids(sessions: &[Value]) -> Vec<String> {
    sessions.iter().map(|s| s["id"].as_str().expect("an id").to_owned()).collect()
}

fn opened_at(session: &Value) -> DateTime<Utc> {
    session["opened_at"].as_str().expect("a time").parse().expect("RFC 3339")
}

#[tokio::test]
async fn live_demo_sessions_are_laid_out_again_at_each_start_and_the_history_stays() {
    let first = TestApp::spawn_with(Box::new(demo)).await;
    let carol = sign_in(&first, "carol").await;
    let live_before = ids(&settled_live(&first, &carol).await);
    let closed_before = sessions(&first, &carol, "status=closed").await.len();
    assert_eq!(live_before.len(), 2, "the demo's live sessions");

    // The server starts again on the same database, later.
    let second = first.spawn_replica_with(Box::new(demo), Vec::new()).await;
    let restarted = Utc::now();
    let live_after = settled_live(&second, &carol).await;
    assert_eq!(live_after.len(), 2);
    for session in &live_after {
        assert!(!live_before.contains(&session["id"].as_str().expect("an id").to_owned()));
    }
    let slow_queries = live_after
        .iter()
        .find(|s| s["reason"] == "INC-4230: inspect slow queries")
        .expect("the live database session");
    let minutes = (restarted - opened_at(slow_queries)).num_minutes();
    assert!((89..=91).contains(&minutes), "opened {minutes} minutes before the start");
    // The previous run's live sessions ended with the run.
    for id in &live_before {
        let session: Value =
            json(second.get(&format!("/api/v1/projects/{DEMO}/sessions/{id}"), &carol).await, 200)
                .await;
        assert_eq!(session["status"], "closed");
        assert_eq!(session["close_reason"], "gateway_lost");
    }
    // The closed history is loaded once: only those live sessions joined it.
    let closed_after = sessions(&second, &carol, "status=closed").await;
    let reasons: Vec<&str> = closed_after.iter().filter_map(|s| s["reason"].as_str()).collect();
    assert_eq!(
        reasons.iter().filter(|r| **r == "INC-4211: restart stuck invoice workers").count(),
        1,
        "{reasons:?}"
    );
    assert!(closed_after.len() >= closed_before + live_before.len());
}

#[tokio::test]
async fn demo_recordings_have_their_markers_where_the_commands_are_typed() {
    let app = TestApp::spawn_with(Box::new(demo)).await;
    let aaron = sign_in(&app, "aaron").await;
    let recorded = sessions(&app, &aaron, "has_recording=true&mode=shell").await;
    let session = recorded
        .iter()
        .find(|s| s["reason"] == "INC-4211: restart stuck invoice workers")
        .expect("the recorded shell session");
    let id = session["id"].as_str().expect("an id");
    let base = format!("/api/v1/projects/{DEMO}/sessions/{id}/recording");
    let recording: Value = json(app.get(&base, &aaron).await, 200).await;
    let markers = recording["markers"].as_array().expect("markers");
    assert_eq!(markers.len(), 3, "{recording}");
    let cast = app.get(&format!("{base}/download"), &aaron).await.text().await.expect("the cast");
    let enters: Vec<f64> = cast
        .lines()
        .skip(1)
        .map(|line| serde_json::from_str::<Value>(line).expect("an event"))
        .filter(|event| event[2] == "\r\n")
        .map(|event| event[0].as_f64().expect("a time"))
        .collect();
    for marker in markers {
        let time = marker["time"].as_f64().expect("a time");
        assert!(
            enters.iter().any(|enter| (enter - time).abs() < 0.001),
            "no Enter at the marker {marker} (Enters at {enters:?})"
        );
        assert!(time < recording["duration"].as_f64().expect("a duration"));
    }
}

#[tokio::test]
async fn each_demo_user_can_do_what_their_role_text_promises() {
    let app = TestApp::spawn_with(Box::new(demo)).await;
    let users: Value =
        json(app.client.get(app.url("/api/v1/demo/users")).send().await.expect("users"), 200).await;
    let role = |subject: &str| {
        users["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|u| u["subject"] == subject)
            .and_then(|u| u["role"].as_str())
            .expect("a demo user")
            .to_owned()
    };

    // Vera reads history and plays recordings.
    assert!(role("vera").contains("plays recordings"));
    let vera = sign_in(&app, "vera").await;
    let recorded = sessions(&app, &vera, "has_recording=true").await;
    let played = recorded.iter().any(|s| s["mode"] == "shell");
    assert!(played, "a recording to play");
    let id = recorded.iter().find(|s| s["mode"] == "shell").expect("one")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let events =
        app.get(&format!("/api/v1/projects/{DEMO}/sessions/{id}/recording/events"), &vera).await;
    assert_eq!(events.status(), 200);

    // Aaron also downloads recordings and exports history.
    assert!(role("aaron").contains("downloads recordings and exports"));
    let aaron = sign_in(&app, "aaron").await;
    let download =
        app.get(&format!("/api/v1/projects/{DEMO}/sessions/{id}/recording/download"), &aaron).await;
    assert_eq!(download.status(), 200);
    let export = app.get(&format!("/api/v1/projects/{DEMO}/export.csv"), &aaron).await;
    assert_eq!(export.status(), 200);

    // Carol revokes sessions: there are live ones to revoke.
    assert!(role("carol").contains("revokes sessions"));
    let carol = sign_in(&app, "carol").await;
    // Once the demo has settled, so the session revoked is not Alice's
    // before it drops.
    let live = settled_live(&app, &carol).await;
    let target = live.first().expect("a live session")["id"].as_str().expect("id").to_owned();
    let revoked = app
        .post(
            &format!("/api/v1/projects/{DEMO}/sessions/{target}/revoke"),
            &carol,
            &json!({"reason": "trying the demo"}),
        )
        .await;
    assert_eq!(revoked.status(), 200);

    // Alice owns demo sessions and may reconnect to her dropped one.
    assert!(role("alice").contains("reconnect to her dropped one"));
    let alice = sign_in(&app, "alice").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let dropped = loop {
        let dropped = sessions(&app, &alice, "status=dropped&user=alice").await;
        if let Some(session) = dropped.first() {
            break session["id"].as_str().expect("id").to_owned();
        }
        assert!(Instant::now() < deadline, "Alice has no dropped session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!sessions(&app, &alice, "user=alice&status=closed").await.is_empty());
    let grant = app
        .post(&format!("/api/v1/projects/{DEMO}/sessions/{dropped}/reconnect"), &alice, &json!({}))
        .await;
    assert_eq!(grant.status(), 200, "{}", grant.text().await.unwrap_or_default());
}
