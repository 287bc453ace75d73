//! "Watch live": a session's recording followed in the browser as its
//! chunks arrive, until a policy manager revokes it.

use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::{axe::axe_report, browser::Browser};

use crate::PROJECT;
use crate::history::row;
use crate::seed::Seeded;

/// What the session showed before anyone watched: plain text, so axe judges
/// the view's own colours, not a recording's.
const FIRST: &str = concat!(
    r#"{"version": 2, "width": 72, "height": 14}"#,
    "\n",
    r#"[0.2, "o", "$ ./deploy.sh --canary\r\nCANARY-OK all 14 checks passed\r\n$ "]"#,
    "\n",
);

/// Uploads chunk `seq` of the live session's recording, as the gateway.
async fn upload(seeded: &Seeded, gateway: &str, seq: u32, body: &str) {
    let path = format!("/api/v1{}/recording/chunks/{seq}", seeded.session_path(&seeded.live));
    let response = seeded
        .app
        .client
        .put(seeded.app.url(&path))
        .bearer_auth(gateway)
        .header("content-type", "application/x-asciicast")
        .body(body.to_owned())
        .send()
        .await
        .expect("the chunk is sent");
    assert_eq!(response.status().as_u16(), 201, "chunk {seq}");
}

#[tokio::test]
async fn a_watcher_sees_output_as_it_arrives_and_who_revoked_the_session() {
    let seeded = Seeded::new().await;
    let gateway = seeded.app.token("gateway", PROJECT, &[Permission::Ingest]);
    upload(&seeded, &gateway, 0, FIRST).await;

    let browser = Browser::start().await;
    let watcher = seeded.app.token(
        "vera",
        PROJECT,
        &[Permission::ViewHistory, Permission::ViewRecording, Permission::ManagePolicy],
    );
    seeded.sign_in(&browser, &watcher).await;
    // The history offers it on the live session's row.
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.click_on(&format!("{} [data-testid=watch-live]", row(&seeded.live))).await;
    browser.wait_for_url(&format!("{}?watch=1", seeded.session_path(&seeded.live))).await;

    // The terminal as it is now, under a LIVE badge; the revoke dialog is
    // on the same page for a policy manager.
    browser.wait_for("[data-testid=watch-badge]").await;
    browser.wait_for_text("[data-testid=watch-terminal]", "CANARY-OK").await;
    browser.wait_for_text("[data-testid=watch-delay]", "ago").await;
    assert!(
        browser.find_all("[data-testid=watch-live]").await.is_empty(),
        "no second watch from the same page"
    );
    browser.wait_for_text(".detail-head .head-actions", "Revoke session").await;
    let report = axe_report(&browser, "a session watched live").await;
    assert!(report.is_empty(), "{report}");

    // The session's page lists who watches, from the server.
    browser.wait_for_text("[data-testid=watchers]", "vera").await;

    // More output arrives and is drawn without a reload.
    upload(&seeded, &gateway, 1, "[1.0, \"o\", \"echo watched\\r\\nwatched-live-42\\r\\n\"]\n")
        .await;
    browser.wait_for_text("[data-testid=watch-terminal]", "watched-live-42").await;

    // Paused, new output is held until "Jump to live".
    browser.click_on("[data-testid=watch-pause]").await;
    upload(&seeded, &gateway, 2, "[2.0, \"o\", \"held-then-shown\\r\\n\"]\n").await;
    browser.wait_for_text("[data-testid=watch-jump]", "(1 held)").await;
    let shown = browser.text(&browser.wait_for("[data-testid=watch-terminal]").await).await;
    assert!(!shown.contains("held-then-shown"), "paused: {shown:?}");
    browser.click_on("[data-testid=watch-jump]").await;
    browser.wait_for_text("[data-testid=watch-terminal]", "held-then-shown").await;

    // Closed and opened again from the session's page: the terminal as it
    // is now, everything drawn so far included.
    browser.click_on("[data-testid=watch-close]").await;
    browser.wait_for_count("[data-testid=watch]", 0).await;
    browser.click_on(".detail-head [data-testid=watch-live]").await;
    browser.wait_for("[data-testid=watch-badge]").await;
    let shown = browser.wait_for_text("[data-testid=watch-terminal]", "held-then-shown").await;
    assert!(shown.contains("watched-live-42") && shown.contains("CANARY-OK"), "{shown:?}");

    // Revoked elsewhere; the gateway sends what is left and finalizes: the
    // view ends saying who revoked it and why.
    seeded.revoke(&seeded.live, "Stop now").await;
    upload(&seeded, &gateway, 3, "[3.0, \"o\", \"logout\\r\\n\"]\n").await;
    let finalize = format!("/api/v1{}/recording/finalize", seeded.session_path(&seeded.live));
    let finalized = seeded.app.post(&finalize, &gateway, &json!({})).await;
    assert_eq!(finalized.status().as_u16(), 204);
    let end =
        browser.wait_for_text("[data-testid=watch-end]", "Revoked by carol (test): Stop now").await;
    assert!(end.contains("The session ended"), "{end:?}");
    browser.wait_for_text("[data-testid=watch-terminal]", "logout").await;
    assert!(browser.find_all("[data-testid=watch-badge]").await.is_empty(), "no longer live");
}
