//! Signing in and the session history: the list, its badges, its filters
//! held in the URL, and what a missing permission says.

use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, repo_root};

use crate::PROJECT;
use crate::seed::Seeded;

const ROWS: &str = ".sessions-table tbody tr";

/// The history's row of session `id` (the session page's tests start there).
pub(crate) fn row(id: &str) -> String {
    format!("{ROWS}[data-session-id=\"{id}\"]")
}

#[tokio::test]
async fn signing_in_with_a_pasted_token_lands_on_the_deep_link_with_its_filters() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let token = seeded.app.token("carol", PROJECT, &[Permission::ViewHistory]);

    // A deep link while signed out goes to the sign-in page first, then back.
    let deep_link = format!("/projects/{PROJECT}/sessions?status=closed");
    browser.goto(&seeded.url(&deep_link)).await;
    browser.wait_for_url("/sign-in").await;
    seeded.sign_in(&browser, &token).await;

    assert_eq!(browser.text(&browser.wait_for(".nav-user-name").await).await, "carol (test)");
    assert_eq!(browser.wait_for_url(&deep_link).await, seeded.url(&deep_link));
    browser.wait_for_count(ROWS, 1).await;

    // Without a deep link, signing in leads to the projects.
    browser.click_on(".nav-user button").await;
    seeded.sign_in(&browser, &token).await;
    browser.wait_for_url("/projects").await;
    browser.wait_for_text(".table", "Project demo").await;
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

    browser.click_on("form.filters [data-testid=clear-filters]").await;
    browser.wait_for_count(ROWS, 3).await;
    assert!(!browser.current_url().await.contains('?'));
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
