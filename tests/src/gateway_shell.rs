//! A shell in the browser terminal through the gateway the test server runs
//! in-process, as a person opens it: for the browser tests (`workflows.rs`,
//! `live.rs`) and the end-to-end live bench (`benches/live_e2e.rs`).

use std::path::PathBuf;

use serde_json::{Value, json};
use termaudit_domain::Permission;

use crate::{
    TestApp,
    browser::{Browser, require_built_frontend},
};

/// A server with the gateway inside and two targets, `web` (`/bin/sh` in a
/// temp dir) and `prod-web` (production), registered in `project` so the
/// page lists them. Returns the server and the temp dir (to remove).
pub async fn gateway_app(project: &str) -> (TestApp, PathBuf) {
    let dist = require_built_frontend();
    let (dir, targets) = crate::shell_targets(project);
    let app = TestApp::spawn_with(Box::new(move |s| {
        s.gateway_targets = Some(targets.clone());
        s.web_dir = Some(dist);
    }))
    .await;
    app.create_project(project).await;
    let ingest = app.token("gateway", project, &[Permission::Ingest]);
    for (name, class) in [("web", "non_production"), ("prod-web", "production")] {
        crate::json::<Value>(
            app.post(
                &format!("/api/v1/projects/{project}/targets"),
                &ingest,
                &json!({ "name": name, "kind": "application",
                         "environment": format!("{class}-env"), "environment_class": class }),
            )
            .await,
            201,
        )
        .await;
    }
    (app, dir)
}

/// Signs in on the sign-in page with a pasted `token`, as a person does.
pub async fn sign_in(browser: &Browser, app: &TestApp, token: &str) {
    browser.goto(&app.url("/sign-in")).await;
    let input = browser.wait_for("textarea#token").await;
    browser.type_into(&input, token).await;
    browser.click_on("form button[type=submit]").await;
    browser.wait_for(".nav-user-name").await;
}

/// Signs alice in (she may connect) and opens a shell on `target` of
/// `project` in the browser terminal, giving `reason` when there is one
/// (production targets need one).
pub async fn open_shell_on(
    browser: &Browser,
    app: &TestApp,
    project: &str,
    target: &str,
    reason: Option<&str>,
) {
    let alice = app.token("alice", project, &[Permission::ViewHistory, Permission::Connect]);
    sign_in(browser, app, &alice).await;
    browser.goto(&app.url(&format!("/projects/{project}/terminal"))).await;
    browser.select("#t-target", target).await;
    if let Some(reason) = reason {
        let input = browser.wait_for("#t-reason").await;
        browser.type_into(&input, reason).await;
    }
    browser.click_on("[data-testid=terminal-open]").await;
    browser.wait_for_text("[data-testid=terminal-status]", &format!("Connected to {target}")).await;
}

/// A shell on `prod-web` (production: always recorded and watchable) that
/// alice runs in one browser and vera, who may view recordings, watches
/// live from another.
pub struct WatchedShell {
    pub operator: Browser,
    pub watcher: Browser,
    /// The session's page, `/projects/{project}/sessions/{id}`.
    pub session: String,
}

/// Opens alice's shell (with `reason`) and vera's "Watch live" view of it;
/// returns once vera's view is live.
pub async fn watch_a_shell(app: &TestApp, project: &str, reason: &str) -> WatchedShell {
    let operator = Browser::start().await;
    open_shell_on(&operator, app, project, "prod-web", Some(reason)).await;
    let link = operator.wait_for("[data-testid=terminal-status] a").await;
    let session = operator.attribute(&link, "href").await.expect("a link to the session");

    let watcher = Browser::start().await;
    let vera = app.token("vera", project, &[Permission::ViewHistory, Permission::ViewRecording]);
    sign_in(&watcher, app, &vera).await;
    watcher.goto(&app.url(&session)).await;
    watcher.click_on(".detail-head [data-testid=watch-live]").await;
    watcher.wait_for("[data-testid=watch-badge]").await;
    WatchedShell { operator, watcher, session }
}
