//! The demo's terminals (`termaudit serve --demo`): the gateway inside the
//! server runs the built-in demo program on the demo targets, never a
//! shell, and only on a loopback address; Alice's dropped demo session is a
//! real one she can reconnect to.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use termaudit_domain::Permission::*;
use termaudit_tests::{TestApp, json};

use crate::{Terminal, ws_url};

const DEMO: &str = "demo";

async fn demo_app() -> TestApp {
    TestApp::spawn_with(Box::new(|s| s.demo = true)).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    json(app.get(&format!("/api/v1/projects/{DEMO}{path}"), token).await, 200).await
}

fn texts(list: &Value, field: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item[field].as_str().map(ToOwned::to_owned))
        .collect()
}

#[tokio::test]
async fn a_demo_terminal_answers_its_commands_in_colour_runs_no_other_and_is_revoked_mid_job() {
    let app = demo_app().await;
    let alice = app.token("alice", DEMO, &[ViewHistory, ViewRecording, Connect]);
    let carol = app.token("carol", DEMO, &[ViewHistory, ManagePolicy]);
    let url = ws_url(
        &app,
        &format!("/gateway/v1/projects/{DEMO}/terminals?target=billing-api-staging&token={alice}"),
    );
    let mut terminal = Terminal::connect(&url).await;
    let opened = terminal.message("opened").await;
    let session = opened["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("alice@billing-api-staging").await;
    // What a shell would run, the demo program does not.
    terminal.type_keys("echo $SHELL; cat /etc/passwd\r").await;
    terminal.output("not a command of this demo").await;
    assert!(!terminal.screen.contains("root:"), "{:?}", terminal.screen);
    terminal.type_keys("colors\r").await;
    terminal.output("\u{1b}[31m red").await;
    terminal.type_keys("backfill\r").await;
    terminal.output("batch   1/600").await;

    let response = app
        .post(
            &format!("/api/v1/projects/{DEMO}/sessions/{session}/revoke"),
            &carol,
            &json!({"reason": "enough backfilling"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let ended = terminal.message("ended").await;
    assert_eq!(ended["reason"], "revoked");
    assert_eq!(ended["detail"], "enough backfilling");
    terminal.closes().await;

    let activity = get(&app, &format!("/sessions/{session}/activity"), &carol).await;
    assert_eq!(
        texts(&activity, "text"),
        ["echo $SHELL; cat /etc/passwd", "colors", "backfill"],
        "{activity}"
    );
}

#[tokio::test]
async fn a_demo_database_target_answers_statements_reported_as_database_events() {
    let app = demo_app().await;
    let alice = app.token("alice", DEMO, &[ViewHistory, Connect]);
    let url = ws_url(
        &app,
        &format!(
            "/gateway/v1/projects/{DEMO}/terminals?target=orders-db&reason=INC-1%3A+look&token={alice}"
        ),
    );
    let mut terminal = Terminal::connect(&url).await;
    let session =
        terminal.message("opened").await["session"]["id"].as_str().expect("an id").to_owned();
    terminal.output("orders=> ").await;
    terminal.type_keys("SELECT * FROM orders;\r").await;
    terminal.output("(3 rows)").await;
    terminal.type_keys("\\q\r").await;
    assert_eq!(terminal.message("ended").await["reason"], "user_exit");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = get(&app, &format!("/sessions/{session}/database-events"), &alice).await;
        // psql's meta-commands are reported as a database shell's lines too.
        if texts(&events, "statement") == ["SELECT * FROM orders;", "\\q"] {
            break;
        }
        assert!(Instant::now() < deadline, "the statement was not reported: {events}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn alices_dropped_demo_session_is_a_live_demo_terminal_she_reconnects_to() {
    let app = demo_app().await;
    let alice = app.token("alice", DEMO, &[ViewHistory, ViewRecording, Connect]);
    // The server opens it once it answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    let session = loop {
        let dropped = get(&app, "/sessions?status=dropped&user=alice", &alice).await;
        if let Some(id) = dropped["items"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "Alice has no dropped session: {dropped}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let activity = get(&app, &format!("/sessions/{session}/activity"), &alice).await;
    assert_eq!(texts(&activity, "text"), ["status"]);

    let mut terminal = Terminal::reattach(&app, DEMO, &session, &alice).await;
    assert_eq!(terminal.message("opened").await["session"]["status"], "active");
    // The screen as she left it, and the same program answering.
    terminal.output("active (running)").await;
    terminal.type_keys("whoami\r").await;
    terminal.output("\r\nalice\r\n").await;
}

#[tokio::test]
async fn the_demo_gateway_refuses_to_run_on_an_address_other_than_loopback() {
    let app = TestApp::spawn_with(Box::new(|s| {
        s.demo = true;
        s.bind = "0.0.0.0:0".into();
    }))
    .await;
    let alice = app.token("alice", DEMO, &[ViewHistory, Connect]);
    let response =
        app.client
            .get(app.url(&format!(
                "/gateway/v1/projects/{DEMO}/terminals?target=orders-db&token={alice}"
            )))
            .send()
            .await
            .expect("an answer");
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "the gateway's paths are unknown, not the app"
    );
    // The rest of the demo is served, Alice's dropped session as data.
    let dropped = get(&app, "/sessions?status=dropped&user=alice", &alice).await;
    assert_eq!(dropped["items"].as_array().map(Vec::len), Some(1), "{dropped}");
}
