//! What the demo showed wrong on a session's page: an empty recording's
//! message, holds offered where nothing was recorded, a hold that left the
//! audit trail and the expiry stale, raw JSON in the audit details, and an
//! address naming no session.

use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, json};

use crate::PROJECT;
use crate::seed::Seeded;

/// A policy manager who also plays recordings, signed in.
async fn manager(seeded: &Seeded) -> Browser {
    let browser = Browser::start().await;
    let token = seeded.app.token(
        "dave",
        PROJECT,
        &[Permission::ViewHistory, Permission::ViewRecording, Permission::ManagePolicy],
    );
    seeded.sign_in(&browser, &token).await;
    browser
}

/// A session opened on a new target of `class` and closed at once, with
/// no terminal output; returns its id and whether it was recorded.
async fn opened_and_closed(seeded: &Seeded, target: &str, class: &str) -> (String, bool) {
    let session = seeded.opened_on(target, "database", class, "database", "look").await;
    let id = session["id"].as_str().expect("an id").to_owned();
    seeded.close(&id).await;
    (id, session["recorded"] == true)
}

#[tokio::test]
async fn an_empty_recording_says_the_session_printed_nothing_and_unrecorded_ones_offer_no_hold() {
    let seeded = Seeded::new().await;
    let manager_token = seeded.app.token("dave", PROJECT, &[Permission::ManagePolicy]);
    let policy = json!({
        "retention_days_production": 365, "retention_days_non_production": 90,
        "record_non_production": false, "require_reason_non_production": false,
        "reconnect_grace_seconds": 300,
    });
    json::<Value>(
        seeded
            .app
            .put(&format!("/api/v1/projects/{PROJECT}/policy"), &manager_token, &policy)
            .await,
        200,
    )
    .await;
    let (empty, recorded) = opened_and_closed(&seeded, "ledger-db", "production").await;
    assert!(recorded);
    let (unrecorded, recorded) = opened_and_closed(&seeded, "scratch-db", "non_production").await;
    assert!(!recorded);

    let browser = manager(&seeded).await;
    browser.goto(&seeded.url(&seeded.session_path(&empty))).await;
    browser
        .wait_for_text("[data-testid=recording-empty]", "The session ended with no terminal output")
        .await;
    browser.wait_for_text("[data-testid=hold]", "No legal hold").await;

    browser.goto(&seeded.url(&seeded.session_path(&unrecorded))).await;
    browser.wait_for("[data-testid=not-recorded]").await;
    browser.wait_for_text("[data-testid=audit]", "session.closed").await;
    assert!(browser.find_all("[data-testid=hold]").await.is_empty(), "a hold on nothing");
    assert!(browser.find_all("[data-testid=hold-button]").await.is_empty());
}

#[tokio::test]
async fn a_hold_shows_in_the_audit_trail_and_the_expiry_at_once_in_words() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = manager(&seeded).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for_text("[data-testid=expires]", "Kept until").await;
    // The player has asked for the events: a recording.viewed entry.
    browser.wait_for("[data-testid=clock]").await;

    browser.click_on("[data-testid=hold-button]").await;
    let reason = browser.wait_for("dialog[open] #hold-reason").await;
    browser.type_into(&reason, "Litigation LIT-2026-014").await;
    browser.click_on("dialog[open] button[type=submit]").await;
    browser.wait_for_text("[data-testid=hold]", "ON HOLD").await;
    // Without a reload: the trail has the hold, the recording no expiry.
    let audit = browser.wait_for_text("[data-testid=audit]", "hold.placed").await;
    let expires = browser.wait_for_text("[data-testid=expires]", "legal hold").await;
    assert!(!expires.contains("Kept until"), "{expires:?}");
    assert!(audit.contains("Litigation LIT-2026-014"), "{audit:?}");
    browser.wait_for_text("[data-testid=audit]", "recording.viewed").await;
    let audit = browser.wait_for_text("[data-testid=audit]", "Watched from").await;
    assert!(audit.contains("0:00"), "{audit:?}");
    assert!(!audit.contains("null") && !audit.contains("0.0"), "raw JSON in {audit:?}");
}

#[tokio::test]
async fn an_address_that_names_no_session_says_not_found() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    for id in ["garbage", "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10"] {
        browser.goto(&seeded.url(&seeded.session_path(id))).await;
        let notice =
            browser.wait_for_text("[data-testid=session-not-found]", "Session not found").await;
        assert!(notice.contains(id), "{notice:?}");
        let page = browser.body_text().await;
        assert!(!page.contains("Try again") && !page.contains("400"), "{page}");
    }
}
