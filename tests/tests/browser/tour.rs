//! Every page of the app, visited in turn as the people who use it see
//! them (dialogs open too), for the checks that hold on all of them:
//! accessibility (`a11y.rs`) and a phone's width (`phone.rs`). The browser
//! terminal with a live shell needs the gateway; those files check it apart.

use termaudit_domain::Permission;
use termaudit_tests::browser::Browser;

use crate::PROJECT;
use crate::seed::Seeded;

/// Visits every page, signed out first, and calls `check` with each page's
/// name once it has loaded. `recorded` is a session with a recording
/// ([`Seeded::recorded`]).
pub(crate) async fn every_page(
    browser: &Browser,
    seeded: &Seeded,
    recorded: &str,
    mut check: impl AsyncFnMut(&str),
) {
    browser.goto(&seeded.url("/sign-in")).await;
    browser.execute("localStorage.clear();", vec![]).await;
    browser.goto(&seeded.url("/sign-in")).await;
    browser.wait_for("textarea#token").await;
    check("the sign-in page").await;

    let alice = seeded.app.token(
        "alice",
        PROJECT,
        &[
            Permission::ViewHistory,
            Permission::ViewRecording,
            Permission::DownloadRecording,
            Permission::ManagePolicy,
            Permission::Connect,
        ],
    );
    seeded.sign_in(browser, &alice).await;
    browser.goto(&seeded.url("/projects")).await;
    browser.wait_for(".table a.project-name").await;
    check("the projects").await;

    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for("[data-testid=sessions-count]").await;
    check("the history").await;
    browser.click_on("[data-testid=export]").await;
    browser.wait_for("dialog[open]").await;
    check("the export dialog").await;

    browser
        .goto(&seeded.url(&format!("/projects/{PROJECT}/sessions?status=bogus&q=no-such-thing")))
        .await;
    browser.wait_for("[data-testid=sessions-empty]").await;
    browser.wait_for("[data-testid=filters-rejected]").await;
    check("the history with a bad filter and no matches").await;

    for (id, what) in [
        (&seeded.live, "a live session"),
        (&seeded.closed, "a closed database session"),
        (&seeded.dropped, "the user's own dropped session"),
    ] {
        browser.goto(&seeded.url(&seeded.session_path(id))).await;
        browser.wait_for("[data-testid=audit]").await;
        // A session never recorded has no hold to show.
        browser.wait_for("[data-testid=hold], [data-testid=not-recorded]").await;
        check(what).await;
    }

    browser.goto(&seeded.url(&seeded.session_path(recorded))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    browser.wait_for("[data-testid=audit]").await;
    check("a recorded session with its player").await;
    browser.click_on("[data-testid=hold-button]").await;
    browser.wait_for("dialog[open] #hold-reason").await;
    check("the legal hold dialog").await;

    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for("[data-testid=retention-next-run]").await;
    check("the policy").await;
    let production = browser.wait_for("#policy-retention_days_production").await;
    browser.clear(&production).await;
    browser.type_into(&production, "7").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.wait_for("dialog[open] [data-testid=retention-preview]").await;
    check("the shorter retention's confirmation").await;

    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/terminal"))).await;
    browser.wait_for("[data-testid=terminal-form]").await;
    check("the terminal's target choice").await;

    browser.goto(&seeded.url("/no/such/page")).await;
    browser.wait_for("h1").await;
    check("the not-found page").await;
}
