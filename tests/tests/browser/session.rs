//! A session's page: its details, revoking it, following it live,
//! reconnecting to a dropped one, and downloading its evidence.

use chrono::Utc;
use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, json};

use crate::PROJECT;
use crate::history::row;
use crate::seed::{CAST, Seeded};

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
    // Nor download recordings: no evidence bundle.
    assert!(browser.find_all("[data-testid=download-evidence]").await.is_empty());

    browser.goto(&seeded.url(&seeded.session_path(&seeded.closed))).await;
    let statements =
        browser.wait_for_text("[data-testid=database-events]", "EXPLAIN ANALYZE").await;
    assert!(statements.contains("orders"), "{statements:?}");
    browser.wait_for_text("dl.meta", "user exit").await;
    browser.wait_for_text("[data-testid=audit]", "session.closed").await;
}

#[tokio::test]
async fn download_evidence_saves_the_sessions_bundle_and_is_audited() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let (browser, auditor) = seeded.downloading(&id).await;

    browser.click_on(".head-actions [data-testid=download-evidence]").await;
    let name = format!("termaudit-evidence-{id}.zip");
    let status = browser.wait_for_text("[data-testid=download-evidence-status]", "Saved ").await;
    assert!(status.contains(&name), "{status:?}");
    let saved = browser.wait_for_download(&name).await;
    assert!(saved.starts_with(b"PK\x03\x04"), "a zip archive");
    let text = String::from_utf8_lossy(&saved);
    for file in
        ["README.md", "audit-entries.ndjson", "tree-head.json", "recording.cast", "transcript.txt"]
    {
        assert!(text.contains(&format!("termaudit-evidence-{id}/{file}")), "{file} in the bundle");
    }
    let shown = browser.wait_for("[data-testid=download-evidence-status]").await;
    assert_eq!(browser.attribute(&shown, "data-bytes").await, Some(saved.len().to_string()));
    // The download is in the audit log, and on the page once it is reloaded.
    let audited: Value = json(
        seeded
            .app
            .get(
                &format!("/api/v1/projects/{PROJECT}/audit-events?type=evidence.downloaded"),
                &auditor,
            )
            .await,
        200,
    )
    .await;
    assert_eq!(audited["items"][0]["session_id"], id.as_str(), "{audited}");
    assert_eq!(audited["items"][0]["actor"]["subject"], "erin");
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for_text("[data-testid=audit]", "evidence.downloaded").await;
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
    seeded.revoke(&seeded.live, "Stop now").await;
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
