//! Demo sign-in, the history export, the retention status and the browser
//! terminal (through the gateway the test server runs in-process).

use std::path::PathBuf;
use std::time::{Duration as StdDuration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{
    TestApp,
    browser::{Browser, WAIT, require_built_frontend},
    gateway_shell::{self, sign_in},
    json,
};

use crate::PROJECT;
use crate::seed::Seeded;

/// WebDriver's code for Enter.
pub(crate) const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn demo_mode_offers_its_users_and_one_click_signs_in() {
    let dist = require_built_frontend();
    let app = TestApp::spawn_with(Box::new(move |s| {
        s.demo = true;
        s.web_dir = Some(dist);
    }))
    .await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/sign-in")).await;
    let users = browser.wait_for_text("[data-testid=demo-users]", "Carol Reyes").await;
    assert!(users.contains("Policy manager"), "{users:?}");
    assert!(users.contains("terminal.manage_policy"), "{users:?}");
    assert!(users.contains("Aaron Patel"), "{users:?}");
    // The token form stays for real tokens.
    browser.wait_for("textarea#token").await;

    browser.click_on("button.demo-user[data-subject=carol]").await;
    browser.wait_for_url("/projects").await;
    assert_eq!(browser.text(&browser.wait_for(".nav-user-name").await).await, "Carol Reyes");
    let projects = browser.wait_for_text(".table", "demo").await;
    assert!(projects.contains("terminal.manage_policy"), "{projects:?}");
}

#[tokio::test]
async fn without_demo_mode_only_the_token_form_shows() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    browser.goto(&seeded.url("/sign-in")).await;
    browser.wait_for("textarea#token").await;
    // The page asked for the demo users and heard 404: give it the time.
    tokio::time::sleep(StdDuration::from_millis(700)).await;
    assert!(browser.find_all("[data-testid=demo-users]").await.is_empty());
}

#[tokio::test]
async fn exporting_the_filtered_history_as_csv_saves_the_servers_file() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let token = seeded.app.token("carol", PROJECT, &[Permission::ViewHistory]);
    seeded.sign_in(&browser, &token).await;
    // alice's two sessions, not bob's.
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions?user=alice"))).await;
    browser.wait_for_count(".sessions-table tbody tr", 2).await;

    browser.click_on("[data-testid=export]").await;
    let filters = browser.wait_for_text("[data-testid=export-filters]", "user = alice").await;
    assert!(filters.contains("history's filters"), "{filters:?}");
    browser.click_on("input[name=export-format][value=csv]").await;
    browser.click_on("[data-testid=export-download]").await;
    let status = browser
        .wait_for_text("[data-testid=export-status]", &format!("Saved termaudit-{PROJECT}-"))
        .await;
    let name = status
        .strip_prefix("Saved ")
        .and_then(|rest| rest.split(" (").next())
        .expect("the file name")
        .to_owned();
    assert!(name.ends_with(".csv"), "{name:?}");
    let saved = String::from_utf8(browser.wait_for_download(&name).await).expect("UTF-8");
    let mut lines = saved.lines();
    assert_eq!(
        lines.next(),
        Some(
            "record_type,time,project,session_id,event_id,event_type,actor,user,user_name,target,\
             target_kind,environment,environment_class,mode,reason,status,recorded,ended_at,\
             close_reason,details"
        )
    );
    let sessions: Vec<&str> = saved.lines().filter(|line| line.starts_with("session,")).collect();
    assert_eq!(sessions.len(), 2, "{saved}");
    assert!(saved.contains(&seeded.live) && saved.contains(&seeded.dropped), "{saved}");
    assert!(!saved.contains(&seeded.closed), "bob's session is filtered out: {saved}");
    assert!(saved.contains("INC-4211: restart stuck workers"), "{saved}");
    assert!(
        status.contains(&format!("({} B)", saved.len())) || status.contains("KiB"),
        "{status:?}"
    );
}

#[tokio::test]
async fn the_policy_page_shows_the_last_and_next_sweep_and_what_expires_soon() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let manager = seeded.app.token("carol", PROJECT, &[Permission::ManagePolicy]);
    // Production recordings kept 3 days: the new one expires within 7.
    let policy = json!({
        "retention_days_production": 3, "retention_days_non_production": 30,
        "record_non_production": false, "require_reason_non_production": false,
        "reconnect_grace_seconds": 300,
    });
    let response =
        seeded.app.put(&format!("/api/v1/projects/{PROJECT}/policy"), &manager, &policy).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    termaudit_retention::sweep_once(
        &seeded.app.store,
        &seeded.app.database_url(),
        Utc::now(),
        termaudit_retention::SweepOptions::default(),
    )
    .await
    .expect("the sweep runs");

    let browser = Browser::start().await;
    let reader = seeded.app.token("dana", PROJECT, &[Permission::ViewHistory]);
    seeded.sign_in(&browser, &reader).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    let last = browser.wait_for_text("[data-testid=retention-last-run]", "completed").await;
    assert!(last.contains("purged 0 recordings here"), "{last:?}");
    browser.wait_for_text("[data-testid=retention-next-run]", "every").await;
    browser.wait_for_text("[data-testid=retention-expiring-count]", "1 recording").await;
    let expiring = browser.wait_for_text("[data-testid=retention-expiring]", "payments-api").await;
    assert!(expiring.contains(id.split('-').next().expect("a prefix")), "{expiring:?}");
}

/// A server with the gateway inside and two targets, `web` and `prod-web`,
/// in [`PROJECT`].
pub(crate) async fn gateway_app() -> (TestApp, PathBuf) {
    gateway_shell::gateway_app(PROJECT).await
}

/// Signs alice in (she may connect) and opens a shell on `web` in the
/// browser terminal, as a person does.
pub(crate) async fn open_shell(browser: &Browser, app: &TestApp) {
    gateway_shell::open_shell_on(browser, app, PROJECT, "web", None).await;
}

/// Waits until the live terminal shows a line that is exactly `line`.
pub(crate) async fn wait_for_line(browser: &Browser, line: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let element = browser.wait_for("[data-testid=live-terminal]").await;
        let text = browser.text(&element).await;
        if text.lines().any(|shown| shown.trim_end() == line) {
            return text;
        }
        assert!(Instant::now() < deadline, "the terminal never showed the line {line:?}: {text:?}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn members_without_terminal_connect_are_not_offered_a_shell() {
    let (app, dir) = gateway_app().await;
    let browser = Browser::start().await;
    let vera = app.token("vera", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    sign_in(&browser, &app, &vera).await;

    browser.goto(&app.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_text(".page-head", "Session history").await;
    browser.wait_for(".head-actions").await;
    assert!(
        browser.find_all(&format!("a[href=\"/projects/{PROJECT}/terminal\"]")).await.is_empty(),
        "no shell is offered"
    );
    browser.goto(&app.url(&format!("/projects/{PROJECT}/terminal"))).await;
    browser.wait_for_text("[data-testid=terminal-forbidden]", "terminal.connect").await;
    assert!(browser.find_all("[data-testid=terminal-form]").await.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_shell_in_the_browser_runs_commands_and_tells_who_revoked_it() {
    let (app, dir) = gateway_app().await;
    let browser = Browser::start().await;
    let alice = app.token("alice", PROJECT, &[Permission::ViewHistory, Permission::Connect]);
    sign_in(&browser, &app, &alice).await;

    // Members who may connect find the terminal from the history.
    browser.goto(&app.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.click_on(&format!("a[href=\"/projects/{PROJECT}/terminal\"]")).await;
    browser.wait_for_url("/terminal").await;

    // A production target needs a reason before it opens.
    browser.select("#t-target", "prod-web").await;
    browser.wait_for_text("[data-testid=reason-required]", "required for production targets").await;
    let open = browser.wait_for("[data-testid=terminal-open]").await;
    assert_eq!(browser.property(&open, "disabled").await, json!(true));

    browser.select("#t-target", "web").await;
    let open = browser.wait_for("[data-testid=terminal-open]").await;
    assert_eq!(browser.property(&open, "disabled").await, json!(false));
    browser.click(&open).await;
    browser.wait_for_text("[data-testid=terminal-status]", "Connected to web").await;

    let terminal = browser.wait_for("[data-testid=live-terminal]").await;
    browser.type_into(&terminal, &format!("echo hello-from-the-browser{ENTER}")).await;
    wait_for_line(&browser, "hello-from-the-browser").await;

    // Revoked through the API: the page says by whom and why.
    let link = browser.wait_for("[data-testid=terminal-status] a").await;
    let href = browser.attribute(&link, "href").await.expect("a link to the session");
    let id = href.rsplit('/').next().expect("an id").to_owned();
    let carol = app.token("carol", PROJECT, &[Permission::ManagePolicy, Permission::ViewHistory]);
    let response = app
        .post(
            &format!("/api/v1/projects/{PROJECT}/sessions/{id}/revoke"),
            &carol,
            &json!({ "reason": "outside the change window" }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let ended = browser
        .wait_for_text("[data-testid=terminal-ended]", "Session revoked by carol (test)")
        .await;
    assert!(ended.contains("outside the change window"), "{ended:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_dropped_shell_is_reattached_from_the_session_page_with_its_screen() {
    let (app, dir) = gateway_app().await;
    let browser = Browser::start().await;
    let alice = app.token("alice", PROJECT, &[Permission::ViewHistory, Permission::Connect]);
    sign_in(&browser, &app, &alice).await;

    browser.goto(&app.url(&format!("/projects/{PROJECT}/terminal"))).await;
    browser.select("#t-target", "web").await;
    browser.click_on("[data-testid=terminal-open]").await;
    browser.wait_for_text("[data-testid=terminal-status]", "Connected to web").await;
    let terminal = browser.wait_for("[data-testid=live-terminal]").await;
    browser.type_into(&terminal, &format!("echo before-the-drop{ENTER}")).await;
    wait_for_line(&browser, "before-the-drop").await;
    let link = browser.wait_for("[data-testid=terminal-status] a").await;
    let session = browser.attribute(&link, "href").await.expect("a link to the session");

    // Leaving the page drops the connection; the shell lives on.
    browser.click_on("nav a[href=\"/projects\"]").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let shown: Value = json(app.get(&format!("/api/v1{session}"), &alice).await, 200).await;
        if shown["status"] == "dropped" {
            break;
        }
        assert!(Instant::now() < deadline, "the session was not reported dropped: {shown}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    browser.goto(&app.url(&session)).await;
    browser.click_on("[data-testid=dropped-notice] button.button-primary").await;
    let token =
        browser.text(&browser.wait_for("[data-testid=reconnect-grant] code.token").await).await;
    browser.click_on("[data-testid=reconnect-in-browser]").await;
    browser.wait_for_text("[data-testid=terminal-status]", "Connected to web").await;
    // The token went to the gateway in the socket, not in a URL.
    let url = browser.current_url().await;
    assert!(url.contains("/terminal?session=") && !url.contains(token.trim()), "{url}");
    // The gateway sends the screen as it was.
    wait_for_line(&browser, "before-the-drop").await;
    let terminal = browser.wait_for("[data-testid=live-terminal]").await;
    browser.type_into(&terminal, &format!("echo after-the-drop{ENTER}")).await;
    wait_for_line(&browser, "after-the-drop").await;
    // A reload has no token to send (it worked once, and lived in the page).
    browser.goto(&url).await;
    browser.wait_for_text("[data-testid=terminal-ended]", "No reconnect token").await;
    let _ = std::fs::remove_dir_all(dir);
}
