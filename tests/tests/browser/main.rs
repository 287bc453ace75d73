//! The web app in a real browser: headless Chromium against the real server
//! (serving `frontend/dist`) and its own database, with data seeded through
//! the HTTP API. Build the app first: `scripts/build-frontend.sh`.
//!
//! `TERMAUDIT_SCREENSHOTS=1` also writes `docs/screenshots/history.png`,
//! `session.png`, `player.png`, `policy.png` and (in `workflows.rs`)
//! `terminal.png`.

mod hardening;
mod workflows;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{
    TestApp,
    browser::{Browser, require_built_frontend},
    json, repo_root,
};

const PROJECT: &str = "demo";

/// The server with the built web app, and a project with three sessions:
/// a live production shell (alice), a closed staging database session (bob)
/// and a dropped staging command session (alice).
struct Seeded {
    app: TestApp,
    live: String,
    closed: String,
    dropped: String,
}

impl Seeded {
    async fn new() -> Seeded {
        let dist = require_built_frontend();
        let app =
            TestApp::spawn_with(Box::new(move |settings| settings.web_dir = Some(dist))).await;
        app.create_project(PROJECT).await;
        let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
        let base = format!("/api/v1/projects/{PROJECT}");

        let target = |name: &str, kind: &str, environment: &str, class: &str| json!({ "name": name, "kind": kind, "environment": environment, "environment_class": class });
        let billing: Value = json(
            app.post(
                &format!("{base}/targets"),
                &gateway,
                &target("billing-api", "application", "prod-eu", "production"),
            )
            .await,
            201,
        )
        .await;
        let orders: Value = json(
            app.post(
                &format!("{base}/targets"),
                &gateway,
                &target("orders-db", "database", "staging", "non_production"),
            )
            .await,
            201,
        )
        .await;

        let open = |target: &Value, subject: &str, mode: &str, reason: &str| {
            json!({
                "target_id": target["id"],
                "user": { "subject": subject, "name": format!("{subject} (test)") },
                "mode": mode,
                "reason": reason,
            })
        };
        let mut ids = Vec::new();
        for body in [
            open(&orders, "bob", "database", "Check the slow order query"),
            open(&orders, "alice", "command", "Rebuild the search index"),
            open(&billing, "alice", "shell", "INC-4211: restart stuck workers"),
        ] {
            let session: Value =
                json(app.post(&format!("{base}/sessions"), &gateway, &body).await, 201).await;
            ids.push(session["id"].as_str().expect("an id").to_owned());
        }
        let [closed, dropped, live] = <[String; 3]>::try_from(ids).expect("three sessions");

        let now = Utc::now();
        let activity = json!({ "items": [
            { "event_id": "a1", "kind": "command", "text": "systemctl status workers",
              "occurred_at": now - Duration::seconds(50), "exit_code": 3, "duration_ms": 120 },
            { "event_id": "a2", "kind": "command", "text": "systemctl restart workers",
              "occurred_at": now - Duration::seconds(40), "exit_code": 0, "duration_ms": 840 },
        ] });
        json::<Value>(
            app.post(&format!("{base}/sessions/{live}/activity"), &gateway, &activity).await,
            200,
        )
        .await;
        let statements = json!({ "items": [
            { "event_id": "d1", "statement": "EXPLAIN ANALYZE SELECT * FROM orders WHERE state = 'open'",
              "database": "orders", "occurred_at": now - Duration::seconds(30), "rows_affected": 0, "duration_ms": 41 },
        ] });
        json::<Value>(
            app.post(&format!("{base}/sessions/{closed}/database-events"), &gateway, &statements)
                .await,
            200,
        )
        .await;
        json::<Value>(
            app.post(
                &format!("{base}/sessions/{closed}/close"),
                &gateway,
                &json!({ "reason": "user_exit" }),
            )
            .await,
            200,
        )
        .await;
        json::<Value>(
            app.post(&format!("{base}/sessions/{dropped}/drop"), &gateway, &json!({})).await,
            200,
        )
        .await;

        Seeded { app, live, closed, dropped }
    }

    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// Opens the sign-in page and pastes `token`, as a person does.
    async fn sign_in(&self, browser: &Browser, token: &str) {
        browser.goto(&self.url("/sign-in")).await;
        let input = browser.wait_for("textarea#token").await;
        browser.type_into(&input, token).await;
        browser.click_on("form button[type=submit]").await;
        browser.wait_for(".nav-user-name").await;
    }

    fn session_path(&self, id: &str) -> String {
        format!("/projects/{PROJECT}/sessions/{id}")
    }

    /// A closed production session with a 12-second recording, uploaded as
    /// the gateway does (see [`CAST`]); returns its id.
    async fn recorded(&self) -> String {
        let app = &self.app;
        let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
        let base = format!("/api/v1/projects/{PROJECT}");
        let target: Value = json(
            app.post(
                &format!("{base}/targets"),
                &gateway,
                &json!({ "name": "payments-api", "kind": "application",
                         "environment": "prod-eu", "environment_class": "production" }),
            )
            .await,
            201,
        )
        .await;
        let session: Value = json(
            app.post(
                &format!("{base}/sessions"),
                &gateway,
                &json!({
                    "target_id": target["id"],
                    "user": { "subject": "alice", "name": "alice (test)" },
                    "mode": "shell",
                    "reason": "CHG-7781: canary deploy",
                }),
            )
            .await,
            201,
        )
        .await;
        let id = session["id"].as_str().expect("an id").to_owned();
        let response = app
            .client
            .put(app.url(&format!("{base}/sessions/{id}/recording/chunks/0")))
            .bearer_auth(&gateway)
            .header("content-type", "application/x-asciicast")
            .body(CAST)
            .send()
            .await
            .expect("the chunk is sent");
        assert_eq!(
            response.status().as_u16(),
            201,
            "{}",
            response.text().await.unwrap_or_default()
        );
        json::<Value>(
            app.post(
                &format!("{base}/sessions/{id}/close"),
                &gateway,
                &json!({ "reason": "user_exit" }),
            )
            .await,
            200,
        )
        .await;
        id
    }
}

/// A shell in which a canary deploy passes (at 0.9 s, bold green), a disk
/// alert shows (1.2 s, red background), a rollout starts after an idle gap
/// (7 s, also a marker) and ends with "zebra-7" (12 s).
const CAST: &str = concat!(
    r#"{"version": 2, "width": 72, "height": 14, "timestamp": 1767322800, "env": {"TERM": "xterm-256color"}}"#,
    "\n",
    r#"[0.2, "o", "\u001b[32malice@payments-api\u001b[0m:\u001b[34m~/deploy\u001b[0m$ "]"#,
    "\n",
    r#"[0.6, "o", "./deploy.sh --canary\r\n"]"#,
    "\n",
    r#"[0.6, "m", "$ ./deploy.sh --canary"]"#,
    "\n",
    r#"[0.7, "o", "building \u001b[2mrelease 2026.01.02\u001b[0m ... done\r\n"]"#,
    "\n",
    r#"[0.9, "o", "\u001b[1;32mCANARY-OK\u001b[0m all 14 checks passed\r\n"]"#,
    "\n",
    r#"[1.2, "o", "\u001b[41;97m ALERT \u001b[0m disk at 91% on \u001b[1mdb-2\u001b[0m\r\n"]"#,
    "\n",
    r#"[1.3, "o", "\u001b[32malice@payments-api\u001b[0m:\u001b[34m~/deploy\u001b[0m$ "]"#,
    "\n",
    r#"[7.0, "o", "./rollout.sh\r\n"]"#,
    "\n",
    r#"[7.0, "m", "$ ./rollout.sh"]"#,
    "\n",
    r#"[7.2, "o", "ROLLOUT-STARTED \u001b[33m3/12 pods\u001b[0m\r\n"]"#,
    "\n",
    r#"[9.5, "o", "\u001b[38;5;208m8/12 pods\u001b[0m healthy\r\n"]"#,
    "\n",
    r#"[12.0, "o", "\u001b[36mzebra-7\u001b[0m finished in 4.8 s\r\n\u001b[32malice@payments-api\u001b[0m:\u001b[34m~/deploy\u001b[0m$ "]"#,
    "\n",
);

const TERMINAL: &str = "[data-testid=terminal]";
const PLAYER: &str = "[data-testid=player]";
/// WebDriver's codes for the arrow keys.
const RIGHT: &str = "\u{E014}";
const LEFT: &str = "\u{E012}";

/// Waits until the player shows the position `clock` (`0:10`) with the
/// terminal as it was then (a seek backwards fetches a window first).
async fn wait_for_clock(browser: &Browser, clock: &str) {
    browser.wait_for_text("[data-testid=clock]", &format!("{clock} / 0:12")).await;
    browser.wait_for(&format!("{PLAYER}[data-waiting=false]")).await;
}

/// The terminal's text now.
async fn screen(browser: &Browser) -> String {
    browser.text(&browser.wait_for(TERMINAL).await).await
}

const ROWS: &str = ".sessions-table tbody tr";

fn row(id: &str) -> String {
    format!("{ROWS}[data-session-id=\"{id}\"]")
}

#[tokio::test]
async fn signing_in_with_a_pasted_token_leads_to_the_projects_history() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let token = seeded.app.token("carol", PROJECT, &[Permission::ViewHistory]);

    // A deep link while signed out goes to the sign-in page first.
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_url("/sign-in").await;
    seeded.sign_in(&browser, &token).await;

    assert_eq!(browser.text(&browser.wait_for(".nav-user-name").await).await, "carol (test)");
    browser.wait_for_text(".table", "Project demo").await;
    browser.click_on(".table a.project-name").await;
    browser.wait_for_url(&format!("/projects/{PROJECT}/sessions")).await;
    browser.wait_for_count(ROWS, 3).await;
}

#[tokio::test]
async fn history_lists_sessions_newest_first_with_production_and_live_badges() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;

    let rows = browser.wait_for_count(ROWS, 3).await;
    let ids: Vec<Option<String>> = {
        let mut ids = Vec::new();
        for row in &rows {
            ids.push(browser.attribute(row, "data-session-id").await);
        }
        ids
    };
    assert_eq!(
        ids,
        [Some(seeded.live.clone()), Some(seeded.dropped.clone()), Some(seeded.closed.clone())],
        "newest first"
    );

    let live = browser.text(&browser.wait_for(&row(&seeded.live)).await).await;
    for shown in [
        "alice (test)",
        "billing-api",
        "prod-eu",
        "PRODUCTION",
        "shell",
        "INC-4211: restart stuck workers",
        "LIVE",
    ] {
        assert!(live.contains(shown), "the live row shows {shown:?}: {live:?}");
    }
    assert_eq!(
        browser.find_all(&format!("{} .badge-production", row(&seeded.live))).await.len(),
        1
    );
    assert_eq!(
        browser.find_all(&format!("{} .recorded", row(&seeded.live))).await.len(),
        1,
        "production is recorded"
    );

    let closed = browser.text(&browser.wait_for(&row(&seeded.closed)).await).await;
    assert!(closed.contains("CLOSED") && closed.contains("user exit"), "{closed:?}");
    assert!(!closed.contains("PRODUCTION"), "staging is not production: {closed:?}");
    let dropped = browser.text(&browser.wait_for(&row(&seeded.dropped)).await).await;
    assert!(dropped.contains("DROPPED") && dropped.contains("connection lost"), "{dropped:?}");

    // Times are local, with UTC on hover.
    let time = browser.wait_for(&format!("{} time", row(&seeded.live))).await;
    let title = browser.attribute(&time, "title").await.unwrap_or_default();
    assert!(title.ends_with(" UTC"), "{title:?}");
    assert_eq!(
        browser.text(&browser.wait_for("[data-testid=sessions-count]").await).await,
        "3 sessions shown"
    );
}

#[tokio::test]
async fn filters_narrow_the_list_and_live_in_the_url() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(ROWS, 3).await;

    // A choice applies at once and goes into the address.
    browser.select("#f-status", "closed").await;
    browser.wait_for_url("status=closed").await;
    browser.wait_for_count(ROWS, 1).await;
    browser.wait_for(&row(&seeded.closed)).await;

    // The address alone reproduces the view.
    let url = browser.current_url().await;
    browser.goto(&url).await;
    browser.wait_for_count(ROWS, 1).await;
    browser.wait_for(&row(&seeded.closed)).await;
    let selected = browser.wait_for("#f-status option:checked").await;
    assert_eq!(browser.attribute(&selected, "value").await.as_deref(), Some("closed"));

    // Free text on top: nothing closed mentions workers.
    let search = browser.wait_for("#f-q").await;
    browser.type_into(&search, "workers").await;
    browser.click_on("form.filters button[type=submit]").await;
    browser.wait_for_url("q=workers").await;
    browser.wait_for_text("[data-testid=sessions-empty]", "No sessions match these filters").await;

    // Clearing the status keeps the text: only the production session matches.
    browser.select("#f-status", "").await;
    browser.wait_for_count(ROWS, 1).await;
    browser.wait_for(&row(&seeded.live)).await;
    let url = browser.current_url().await;
    assert!(url.contains("q=workers") && !url.contains("status="), "{url}");

    browser.click_on("form.filters .button-quiet").await;
    browser.wait_for_count(ROWS, 3).await;
    assert!(!browser.current_url().await.contains('?'));
}

#[tokio::test]
async fn a_session_shows_its_metadata_activity_statements_and_audit_trail() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.click_on(&format!("{} a", row(&seeded.live))).await;
    browser.wait_for_url(&seeded.session_path(&seeded.live)).await;

    let activity =
        browser.wait_for_text("[data-testid=activity]", "systemctl restart workers").await;
    assert!(
        activity.contains("systemctl status workers") && activity.contains("exit 3"),
        "{activity:?}"
    );
    let meta = browser.wait_for_text("dl.meta", "INC-4211: restart stuck workers").await;
    assert!(
        meta.contains("prod-eu") && meta.contains("PRODUCTION") && meta.contains(&seeded.live),
        "{meta:?}"
    );
    browser.wait_for_text("[data-testid=audit]", "session.opened").await;
    // Carol may not manage the policy: no revoke button.
    assert!(browser.find_all(".button-danger").await.is_empty(), "no revoke for a viewer");

    browser.goto(&seeded.url(&seeded.session_path(&seeded.closed))).await;
    let statements =
        browser.wait_for_text("[data-testid=database-events]", "EXPLAIN ANALYZE").await;
    assert!(statements.contains("orders"), "{statements:?}");
    browser.wait_for_text("dl.meta", "user exit").await;
    browser.wait_for_text("[data-testid=audit]", "session.closed").await;
}

#[tokio::test]
async fn a_policy_manager_revokes_a_live_session_with_a_reason() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    browser.goto(&seeded.url(&seeded.session_path(&seeded.live))).await;
    browser.wait_for_text(".detail-head", "LIVE").await;

    browser.click_on(".head-actions .button-danger").await;
    let submit = browser.wait_for("dialog[open] button[type=submit]").await;
    assert!(browser.attribute(&submit, "disabled").await.is_some(), "a reason is required");
    let reason = browser.wait_for("dialog[open] #revoke-reason").await;
    browser.type_into(&reason, "Access outside the change window").await;
    browser.click(&submit).await;

    let notice =
        browser.wait_for_text("[data-testid=revoked-notice]", "Revoked by dave (test)").await;
    assert!(notice.contains("Access outside the change window"), "{notice:?}");
    browser.wait_for_text(".detail-head", "CLOSED").await;
    browser.wait_for_text("dl.meta", "revoked").await;
    browser.wait_for_text("[data-testid=audit]", "session.revoked").await;
    assert!(browser.find_all("dialog[open]").await.is_empty(), "the dialog closed");
    assert!(
        browser.find_all(".head-actions .button-danger").await.is_empty(),
        "nothing left to revoke"
    );

    // The server agrees.
    let session: Value = json(
        seeded.app.get(&format!("/api/v1{}", seeded.session_path(&seeded.live)), &manager).await,
        200,
    )
    .await;
    assert_eq!(session["close_reason"], "revoked");
    assert_eq!(session["revoke_reason"], "Access outside the change window");
}

#[tokio::test]
async fn an_open_session_page_follows_the_session_without_a_reload() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("vera", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&seeded.live))).await;
    browser.wait_for_text(".detail-head", "LIVE").await;
    let base = format!("/api/v1{}", seeded.session_path(&seeded.live));
    let gateway = seeded.app.token("gateway", PROJECT, &[Permission::Ingest]);

    // Elsewhere: the recording arrives, the user runs a command, the gateway
    // loses the connection, a policy manager revokes the session, the
    // gateway sends its last chunks. The page shows each in turn.
    let chunk = seeded
        .app
        .client
        .put(seeded.app.url(&format!("{base}/recording/chunks/0")))
        .bearer_auth(&gateway)
        .header("content-type", "application/x-asciicast")
        .body(CAST)
        .send()
        .await
        .expect("the chunk is sent");
    assert_eq!(chunk.status().as_u16(), 201);
    browser.wait_for_text("[data-testid=recording] .badge-live", "RECORDING").await;
    let activity = json!({ "items": [{ "event_id": "a3", "kind": "command",
        "text": "journalctl -u workers --since today", "occurred_at": Utc::now() }] });
    json::<Value>(seeded.app.post(&format!("{base}/activity"), &gateway, &activity).await, 200)
        .await;
    browser.wait_for_text("[data-testid=activity]", "journalctl -u workers --since today").await;
    json::<Value>(seeded.app.post(&format!("{base}/drop"), &gateway, &json!({})).await, 200).await;
    browser.wait_for_text(".detail-head", "DROPPED").await;
    browser.wait_for("[data-testid=dropped-notice]").await;
    let manager = seeded.app.token("carol", PROJECT, &[Permission::ManagePolicy]);
    json::<Value>(
        seeded
            .app
            .post(&format!("{base}/revoke"), &manager, &json!({ "reason": "Stop now" }))
            .await,
        200,
    )
    .await;
    let notice = browser.wait_for_text("[data-testid=revoked-notice]", "Revoked by carol").await;
    assert!(notice.contains("Stop now"), "{notice:?}");
    browser.wait_for_text(".detail-head", "CLOSED").await;
    browser.wait_for_text("[data-testid=audit]", "session.revoked").await;
    assert!(browser.find_all("[data-testid=dropped-notice]").await.is_empty());
    let finalized =
        seeded.app.post(&format!("{base}/recording/finalize"), &gateway, &json!({})).await;
    assert_eq!(finalized.status().as_u16(), 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !browser.find_all("[data-testid=recording] .badge-live").await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the recording still shows as arriving");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.wait_for("[data-testid=recording] [data-testid=expires]").await;
}

#[tokio::test]
async fn a_user_reconnects_to_their_own_dropped_session() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    // Bob sees alice's dropped session but cannot reconnect to it.
    seeded.sign_in(&browser, &seeded.app.token("bob", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&seeded.session_path(&seeded.dropped))).await;
    browser.wait_for("[data-testid=time-left]").await;
    assert!(
        browser.find_all("[data-testid=dropped-notice] button").await.is_empty(),
        "not bob's session"
    );

    browser.click_on(".navbar .button-quiet").await;
    let alice = seeded.app.token("alice", PROJECT, &[Permission::ViewHistory, Permission::Connect]);
    seeded.sign_in(&browser, &alice).await;
    browser.goto(&seeded.url(&seeded.session_path(&seeded.dropped))).await;
    // The default grace window is five minutes, counting down.
    let left = browser.wait_for_text("[data-testid=time-left]", "min").await;
    assert!(left.starts_with('4') || left.starts_with('5'), "{left:?}");

    browser.click_on("[data-testid=dropped-notice] button.button-primary").await;
    let grant =
        browser.wait_for_text("[data-testid=reconnect-grant]", "Reconnect token issued").await;
    let token =
        browser.text(&browser.wait_for("[data-testid=reconnect-grant] code.token").await).await;
    assert!(token.len() >= 16, "a token is shown: {grant:?}");
    browser.wait_for_text("[data-testid=audit]", "session.dropped").await;
}

#[tokio::test]
async fn a_missing_permission_is_explained() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded
        .sign_in(&browser, &seeded.app.token("erin", PROJECT, &[Permission::ViewRecording]))
        .await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser
        .wait_for_text(".notice-forbidden", "You lack the permission terminal.view_history")
        .await;
    browser.goto(&seeded.url(&seeded.session_path(&seeded.live))).await;
    browser
        .wait_for_text(".notice-forbidden", "You lack the permission terminal.view_history")
        .await;
}

/// Writes the README's pictures when `TERMAUDIT_SCREENSHOTS=1`.
#[tokio::test]
async fn screenshots_of_history_and_session() {
    if std::env::var("TERMAUDIT_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    let dir = repo_root().join("docs/screenshots");

    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(ROWS, 3).await;
    // Let the fonts settle and the live dot finish a pulse.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("history.png")).await;

    browser.set_window_size(1280, 1180).await;
    browser.goto(&seeded.url(&seeded.session_path(&seeded.live))).await;
    browser.wait_for_text("[data-testid=activity]", "systemctl restart workers").await;
    browser.wait_for_text("[data-testid=audit]", "session.opened").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("session.png")).await;
}

#[tokio::test]
async fn a_recording_plays_with_its_colours_and_ends() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;

    // Paused at the start, before the first output; the retention date shown.
    browser.wait_for(&format!("{PLAYER}[data-waiting=false]")).await;
    assert_eq!(screen(&browser).await.trim(), "");
    browser.wait_for_text("[data-testid=expires]", "Kept until").await;
    let markers = browser.wait_for_text("[data-testid=markers]", "$ ./rollout.sh").await;
    assert!(markers.contains("$ ./deploy.sh --canary"), "{markers:?}");
    assert!(browser.find_all("[data-testid=download]").await.is_empty(), "no download permission");

    browser.select("[data-testid=speed]", "4").await;
    browser.click_on("[data-testid=play]").await;
    browser.wait_for_text(TERMINAL, "alice@payments-api:~/deploy$ ./deploy.sh --canary").await;
    browser.wait_for_text(TERMINAL, "CANARY-OK").await;
    let green = browser.wait_for(&format!("{TERMINAL} span.b.fg-2")).await;
    assert_eq!(browser.text(&green).await, "CANARY-OK");
    let alert = browser.wait_for(&format!("{TERMINAL} span.bg-1")).await;
    assert_eq!(browser.text(&alert).await.trim(), "ALERT");
    // The 5.8 s of idling before the rollout is compressed to 2 s: at 4x
    // the whole recording plays in well under two seconds.
    browser.wait_for_text(TERMINAL, "zebra-7 finished").await;
    wait_for_clock(&browser, "0:12").await;
    let play = browser.wait_for("[data-testid=play][data-playing=false]").await;
    assert_eq!(browser.attribute(&play, "aria-label").await.as_deref(), Some("Play"));

    // Not recorded: the staging session's environment is not recorded.
    browser.goto(&seeded.url(&seeded.session_path(&seeded.closed))).await;
    browser.wait_for_text("[data-testid=not-recorded]", "This session was not recorded").await;
}

#[tokio::test]
async fn seeking_with_the_bar_keys_and_markers_shows_that_moment() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    let player = browser.wait_for(PLAYER).await;

    // → seeks 5 s, paused: the alert (1.2 s) shows, the rollout (7 s) not yet.
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:05").await;
    browser.wait_for_text(TERMINAL, "ALERT").await;
    assert!(!screen(&browser).await.contains("ROLLOUT-STARTED"));
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:10").await;
    let shown = browser.wait_for_text(TERMINAL, "8/12 pods").await;
    assert!(shown.contains("ROLLOUT-STARTED") && !shown.contains("zebra-7"), "{shown:?}");

    // ← goes back: the terminal is rebuilt from the state at 5 s.
    browser.type_into(&player, LEFT).await;
    wait_for_clock(&browser, "0:05").await;
    assert!(!screen(&browser).await.contains("ROLLOUT-STARTED"));

    // A click in the middle of the bar goes back to 6 s of 12. `]` jumps to
    // the next marker (the rollout at 7 s), `[` back to the one before.
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:10").await;
    browser.click_on("[data-testid=seekbar]").await;
    browser.wait_for_text("[data-testid=clock]", "0:0").await;
    browser.wait_for(&format!("{PLAYER}[data-waiting=false]")).await;
    let bar = browser.wait_for("[data-testid=seekbar]").await;
    let now: f64 = browser
        .attribute(&bar, "aria-valuenow")
        .await
        .and_then(|value| value.parse().ok())
        .expect("a position");
    assert!((5.5..=6.5).contains(&now), "the middle of 12 s: {now}");
    let shown = screen(&browser).await;
    assert!(shown.contains("ALERT") && !shown.contains("ROLLOUT-STARTED"), "{shown:?}");
    browser.type_into(&player, "]").await;
    wait_for_clock(&browser, "0:07").await;
    browser.wait_for_text(TERMINAL, "./rollout.sh").await;
    browser.type_into(&player, "[").await;
    wait_for_clock(&browser, "0:00").await;
    assert!(!screen(&browser).await.contains("CANARY-OK"));

    // Space plays from there.
    browser.type_into(&player, " ").await;
    browser.wait_for("[data-testid=play][data-playing=true]").await;
    browser.wait_for_text(TERMINAL, "CANARY-OK").await;
    browser.type_into(&player, " ").await;
    browser.wait_for("[data-testid=play][data-playing=false]").await;
}

#[tokio::test]
async fn search_finds_a_word_and_jumps_to_it() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;

    let search = browser.wait_for("#recording-search").await;
    browser.type_into(&search, "ZEBRA").await;
    browser.click_on(".search-form button[type=submit]").await;
    // Each match shows its time and the line up to it.
    let results = browser.wait_for_text("[data-testid=search-results]", "zebra").await;
    assert!(results.contains("0:12"), "{results:?}");
    assert_eq!(browser.find_all("[data-testid=search-results] li").await.len(), 1);
    browser.click_on("[data-testid=search-results] button").await;
    wait_for_clock(&browser, "0:12").await;
    browser.wait_for_text(TERMINAL, "zebra-7 finished").await;

    browser.clear(&search).await;
    browser.type_into(&search, "no-such-words").await;
    browser.click_on(".search-form button[type=submit]").await;
    browser.wait_for_text("[data-testid=search-empty]", "does not appear").await;
}

#[tokio::test]
async fn downloading_saves_the_cast_under_the_servers_file_name() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let auditor = seeded.app.token(
        "erin",
        PROJECT,
        &[Permission::ViewHistory, Permission::ViewRecording, Permission::DownloadRecording],
    );
    seeded.sign_in(&browser, &auditor).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;

    browser.click_on("[data-testid=download]").await;
    let status =
        browser.wait_for_text("[data-testid=download-status]", "Saved demo_payments-api_").await;
    let name = status
        .strip_prefix("Saved ")
        .and_then(|rest| rest.split(" (").next())
        .expect("the file name is shown")
        .to_owned();
    assert!(name.ends_with(".cast") && name.contains(&id[..8]), "{name:?}");
    let saved = browser.wait_for_download(&name).await;
    let served = seeded
        .app
        .get(&format!("/api/v1{}/recording/download", seeded.session_path(&id)), &auditor)
        .await
        .bytes()
        .await
        .expect("the file");
    assert!(!saved.is_empty());
    assert_eq!(saved, served.to_vec(), "the browser saved the server's file");
    let shown_bytes = browser.wait_for("[data-testid=download-status]").await;
    assert_eq!(browser.attribute(&shown_bytes, "data-bytes").await, Some(served.len().to_string()));
    assert!(browser.download_dir().join(&name).is_file());
}

#[tokio::test]
async fn a_purged_recording_says_when_and_why() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    // Production recordings are kept 365 days: sweep 400 days on.
    let report = termaudit_retention::sweep_once(
        &seeded.app.store,
        &seeded.app.database_url(),
        Utc::now() + Duration::days(400),
        termaudit_retention::SweepOptions::default(),
    )
    .await;
    assert!(format!("{report:?}").contains("purged"), "{report:?}");
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    let notice = browser.wait_for_text("[data-testid=purged]", "This recording was purged").await;
    assert!(notice.contains("Retention removed it on"), "{notice:?}");
    assert!(browser.find_all(TERMINAL).await.is_empty());
}

#[tokio::test]
async fn a_policy_manager_places_and_releases_a_legal_hold() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for_text("[data-testid=hold]", "No legal hold").await;
    // Without terminal.view_recording the player says what it needs.
    browser.wait_for_text("[data-testid=recording-forbidden]", "terminal.view_recording").await;

    browser.click_on("[data-testid=hold-button]").await;
    let reason = browser.wait_for("dialog[open] #hold-reason").await;
    browser.type_into(&reason, "Litigation LIT-2026-014").await;
    browser.click_on("dialog[open] button[type=submit]").await;
    let held = browser.wait_for_text("[data-testid=hold]", "ON HOLD").await;
    assert!(held.contains("Litigation LIT-2026-014") && held.contains("dave (test)"), "{held:?}");
    let hold: Value = json(
        seeded.app.get(&format!("/api/v1{}/hold", seeded.session_path(&id)), &manager).await,
        200,
    )
    .await;
    assert_eq!(hold["reason"], "Litigation LIT-2026-014");

    browser.click_on("[data-testid=hold-button]").await;
    let reason = browser.wait_for("dialog[open] #hold-reason").await;
    browser.type_into(&reason, "Case closed").await;
    browser.click_on("dialog[open] button[type=submit]").await;
    browser.wait_for_text("[data-testid=hold]", "No legal hold").await;
    let response =
        seeded.app.get(&format!("/api/v1{}/hold", seeded.session_path(&id)), &manager).await;
    assert_eq!(response.status().as_u16(), 404);
}

const POLICY_FIELDS: [&str; 3] =
    ["retention_days_production", "retention_days_non_production", "reconnect_grace_seconds"];

async fn field_value(browser: &Browser, field: &str) -> String {
    let input = browser.wait_for(&format!("#policy-{field}")).await;
    browser.property(&input, "value").await.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_policy_manager_changes_the_policy_and_sees_field_errors() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.click_on(".page-head a[href$=\"/policy\"]").await;
    browser.wait_for_url(&format!("/projects/{PROJECT}/policy")).await;
    browser.wait_for_text("[data-testid=policy-updated]", "never changed").await;
    let defaults: Vec<String> = {
        let mut values = Vec::new();
        for field in POLICY_FIELDS {
            values.push(field_value(&browser, field).await);
        }
        values
    };
    assert_eq!(defaults, ["365", "90", "300"]);

    let production = browser.wait_for("#policy-retention_days_production").await;
    browser.clear(&production).await;
    browser.type_into(&production, "400").await;
    let grace = browser.wait_for("#policy-reconnect_grace_seconds").await;
    browser.clear(&grace).await;
    browser.type_into(&grace, "120").await;
    browser.click_on("#policy-record_non_production").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.wait_for_text("[data-testid=policy-saved]", "Saved").await;
    browser.wait_for_text("[data-testid=policy-updated]", "by dave").await;

    // A reload shows what the server kept.
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-updated]", "Last changed").await;
    assert_eq!(field_value(&browser, "retention_days_production").await, "400");
    assert_eq!(field_value(&browser, "reconnect_grace_seconds").await, "120");
    let record = browser.wait_for("#policy-record_non_production").await;
    assert_eq!(browser.property(&record, "checked").await, json!(true));
    let policy: Value =
        json(seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await, 200)
            .await;
    assert_eq!(policy["retention_days_production"], 400);
    assert_eq!(policy["record_non_production"], true);

    // Out of bounds: the server's message shows next to the field, and
    // nothing is saved.
    let non_production = browser.wait_for("#policy-retention_days_non_production").await;
    browser.clear(&non_production).await;
    browser.type_into(&non_production, "0").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser
        .wait_for_text(
            ".field-error[data-field=retention_days_non_production]",
            "must be 1 to 3650 days",
        )
        .await;
    assert_eq!(browser.find_all(".field-error").await.len(), 1);
    let input = browser.wait_for("#policy-retention_days_non_production").await;
    assert_eq!(browser.attribute(&input, "aria-invalid").await.as_deref(), Some("true"));
    let policy: Value =
        json(seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await, 200)
            .await;
    assert_eq!(policy["retention_days_non_production"], 90);
}

#[tokio::test]
async fn members_without_manage_policy_read_the_policy_only() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-read-only]", "terminal.manage_policy").await;
    let production = browser.wait_for("#policy-retention_days_production").await;
    assert_eq!(field_value(&browser, "retention_days_production").await, "365");
    let disabled = browser
        .execute("return arguments[0].matches(':disabled');", vec![browser.reference(&production)])
        .await;
    assert_eq!(disabled, json!(true), "the fields cannot be edited");
    assert!(browser.find_all("[data-testid=policy-form] button[type=submit]").await.is_empty());
}

/// Writes `docs/screenshots/player.png` and `policy.png` when `TERMAUDIT_SCREENSHOTS=1`.
#[tokio::test]
async fn screenshots_of_player_and_policy() {
    if std::env::var("TERMAUDIT_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let manager = seeded.app.token(
        "dave",
        PROJECT,
        &[
            Permission::ViewHistory,
            Permission::ViewRecording,
            Permission::DownloadRecording,
            Permission::ManagePolicy,
        ],
    );
    seeded.sign_in(&browser, &manager).await;
    let dir = repo_root().join("docs/screenshots");

    browser.set_window_size(1280, 1000).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    let player = browser.wait_for(PLAYER).await;
    browser.type_into(&player, RIGHT).await;
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:10").await;
    browser
        .execute(
            "document.activeElement.blur(); \
             document.querySelector('[data-testid=recording]').scrollIntoView(); \
             window.scrollBy(0, -16);",
            vec![],
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("player.png")).await;

    browser.set_window_size(1280, 1060).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-updated]", "never changed").await;
    let non_production = browser.wait_for("#policy-retention_days_non_production").await;
    browser.clear(&non_production).await;
    browser.type_into(&non_production, "0").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.wait_for(".field-error").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("policy.png")).await;
}
