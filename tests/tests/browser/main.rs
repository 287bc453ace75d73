//! The web app in a real browser: headless Chromium against the real server
//! (serving `frontend/dist`) and its own database, with data seeded through
//! the HTTP API. Build the app first: `scripts/build-frontend.sh`.
//!
//! `TERMAUDIT_SCREENSHOTS=1` also writes `docs/screenshots/history.png` and
//! `docs/screenshots/session.png`.

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
    seeded.sign_in(&browser, &seeded.app.token("alice", PROJECT, &[Permission::ViewHistory])).await;
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
