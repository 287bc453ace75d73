//! Saving a shorter retention first shows what the next sweep would purge
//! with it (the API's retention preview), and asks.

use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, json};

use crate::PROJECT;
use crate::seed::Seeded;

async fn set_days(browser: &Browser, field: &str, days: &str) {
    let input = browser.wait_for(&format!("#policy-{field}")).await;
    browser.clear(&input).await;
    browser.type_into(&input, days).await;
}

#[tokio::test]
async fn a_shorter_retention_shows_what_the_next_sweep_would_purge_and_asks() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    // The recorded session ended ten days ago.
    seeded
        .app
        .db
        .connect()
        .await
        .execute(
            "UPDATE sessions SET ended_at = ended_at - interval '10 days' WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("the session is backdated");
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-updated]", "never changed").await;

    // 7 days for production: the ten-day-old recording would go.
    set_days(&browser, "retention_days_production", "7").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    let preview = browser.wait_for_text("[data-testid=retention-preview]", "would purge").await;
    let production = browser
        .wait_for_text(
            "[data-testid=retention-preview] li[data-class=production]",
            "1 production recording",
        )
        .await;
    assert!(production.contains("kept 7 days instead of 365"), "{production:?}");
    assert!(preview.contains("0 non-production recordings"), "{preview:?}");

    // Keep editing: nothing is saved.
    browser.click_on("dialog[open] .button-quiet").await;
    browser.wait_for_count("dialog[open]", 0).await;
    let policy: Value =
        json(seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await, 200)
            .await;
    assert_eq!(policy["retention_days_production"], 365);

    // Asked again, confirmed: saved.
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.click_on("dialog[open] [data-testid=retention-confirm-save]:not([disabled])").await;
    browser.wait_for_text("[data-testid=policy-saved]", "Saved").await;
    let policy: Value =
        json(seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await, 200)
            .await;
    assert_eq!(policy["retention_days_production"], 7);

    // A longer retention saves without asking.
    set_days(&browser, "retention_days_production", "30").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.wait_for_text("[data-testid=policy-updated]", "by dave").await;
    let deadline = std::time::Instant::now() + termaudit_tests::browser::WAIT;
    loop {
        let policy: Value = json(
            seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await,
            200,
        )
        .await;
        if policy["retention_days_production"] == json!(30) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{policy}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(browser.find_all("dialog[open]").await.is_empty(), "no question for a longer one");
}
