//! The demo as a newcomer meets it (`scripts/run.sh`): signed in with one
//! click as Alice, she opens a shell in the browser on a demo target (the
//! demo program) and reconnects to her dropped session.

use std::time::{Duration, Instant};

use serde_json::Value;
use termaudit_tests::{
    TestApp,
    browser::{Browser, WAIT, require_built_frontend},
    json, repo_root,
};

use crate::workflows::{ENTER, wait_for_line};

async fn demo_app() -> TestApp {
    let dist = require_built_frontend();
    TestApp::spawn_with(Box::new(move |s| {
        s.demo = true;
        s.web_dir = Some(dist);
    }))
    .await
}

/// Signs in as the demo user `subject` with the sign-in page's button.
pub(crate) async fn sign_in_as(browser: &Browser, app: &TestApp, subject: &str) {
    browser.goto(&app.url("/sign-in")).await;
    browser.click_on(&format!("button.demo-user[data-subject={subject}]")).await;
    browser.wait_for_url("/projects").await;
    browser.wait_for(".nav-user-name").await;
}

#[tokio::test]
async fn in_the_demo_alice_opens_a_shell_on_a_demo_target_and_it_answers() {
    let app = demo_app().await;
    let browser = Browser::start().await;
    sign_in_as(&browser, &app, "alice").await;
    browser.goto(&app.url("/projects/demo/sessions")).await;
    browser.click_on("a[href=\"/projects/demo/terminal\"]").await;
    browser.wait_for_url("/terminal").await;
    browser.select("#t-target", "billing-api-staging").await;
    browser.click_on("[data-testid=terminal-open]").await;
    browser
        .wait_for_text("[data-testid=terminal-status]", "Connected to billing-api-staging")
        .await;
    let terminal = browser.wait_for("[data-testid=live-terminal]").await;
    browser.type_into(&terminal, &format!("help{ENTER}")).await;
    wait_for_line(&browser, "Commands of this demo (it is not a real shell):").await;
    browser.type_into(&terminal, &format!("whoami{ENTER}")).await;
    wait_for_line(&browser, "alice").await;

    if std::env::var_os("TERMAUDIT_SCREENSHOTS").is_some() {
        browser
            .type_into(&terminal, &format!("clear{ENTER}status{ENTER}logs{ENTER}colors{ENTER}"))
            .await;
        wait_for_line(&browser, "   Main PID: 48377 (invoice-worker)").await;
        // The last of the colours has been painted.
        browser.wait_for_text("[data-testid=live-terminal]", "white").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        browser.screenshot(&repo_root().join("docs/screenshots/terminal.png")).await;
    }
}

#[tokio::test]
async fn in_the_demo_alice_reconnects_to_her_dropped_session_in_the_browser() {
    let app = demo_app().await;
    let browser = Browser::start().await;
    sign_in_as(&browser, &app, "alice").await;
    let token = app.token("alice", "demo", &[termaudit_domain::Permission::ViewHistory]);
    let deadline = Instant::now() + WAIT;
    let session = loop {
        let page: Value = json(
            app.get("/api/v1/projects/demo/sessions?status=dropped&user=alice", &token).await,
            200,
        )
        .await;
        if let Some(id) = page["items"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "Alice has no dropped session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    browser.goto(&app.url(&format!("/projects/demo/sessions/{session}"))).await;
    browser.click_on("[data-testid=dropped-notice] button.button-primary").await;
    browser.click_on("[data-testid=reconnect-in-browser]").await;
    browser
        .wait_for_text("[data-testid=terminal-status]", "Connected to billing-api-staging")
        .await;
    // Her screen as she left it: the demo program's `status`.
    wait_for_line(&browser, "   Main PID: 48377 (invoice-worker)").await;
    let terminal = browser.wait_for("[data-testid=live-terminal]").await;
    browser.type_into(&terminal, &format!("hostname{ENTER}")).await;
    wait_for_line(&browser, "billing-api-staging").await;
}
