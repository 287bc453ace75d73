//! The policy page and legal holds: changing the policy with field errors,
//! reading it without `terminal.manage_policy`, placing and releasing a hold.

use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, json};

use crate::PROJECT;
use crate::seed::Seeded;

#[tokio::test]
async fn a_policy_manager_places_and_releases_a_legal_hold() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for_text("[data-testid=hold]", "No legal hold").await;
    // No hold is an answer, not a failed request in the console.
    let console = browser.take_console().await;
    assert!(!console.iter().any(|m| m.contains("/hold")), "{console:#?}");
    // Without terminal.view_recording the player says what it needs.
    browser.wait_for_text("[data-testid=recording-forbidden]", "terminal.view_recording").await;

    browser.click_on("[data-testid=hold-button]").await;
    let reason = browser.wait_for("dialog[open] #hold-reason").await;
    browser.type_into(&reason, "Litigation LIT-2026-014").await;
    browser.click_on("dialog[open] button[type=submit]").await;
    let held = browser.wait_for_text("[data-testid=hold]", "ON HOLD").await;
    assert!(held.contains("Litigation LIT-2026-014") && held.contains("dave (test)"), "{held:?}");
    let hold: Value = json(
        seeded.app.get(&format!("/api/v1{}/hold", seeded.session_path(&id)), &manager).await,
        200,
    )
    .await;
    assert_eq!(hold["hold"]["reason"], "Litigation LIT-2026-014");

    browser.click_on("[data-testid=hold-button]").await;
    let reason = browser.wait_for("dialog[open] #hold-reason").await;
    browser.type_into(&reason, "Case closed").await;
    browser.click_on("dialog[open] button[type=submit]").await;
    browser.wait_for_text("[data-testid=hold]", "No legal hold").await;
    let released: Value = json(
        seeded.app.get(&format!("/api/v1{}/hold", seeded.session_path(&id)), &manager).await,
        200,
    )
    .await;
    assert_eq!(released, serde_json::json!({"hold": null}));
}

const POLICY_FIELDS: [&str; 3] =
    ["retention_days_production", "retention_days_non_production", "reconnect_grace_seconds"];

async fn field_value(browser: &Browser, field: &str) -> String {
    let input = browser.wait_for(&format!("#policy-{field}")).await;
    browser.property(&input, "value").await.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_policy_manager_changes_the_policy_and_sees_field_errors() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    let manager =
        seeded.app.token("dave", PROJECT, &[Permission::ViewHistory, Permission::ManagePolicy]);
    seeded.sign_in(&browser, &manager).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.click_on(".page-head a[href$=\"/policy\"]").await;
    browser.wait_for_url(&format!("/projects/{PROJECT}/policy")).await;
    browser.wait_for_text("[data-testid=policy-updated]", "never changed").await;
    let defaults: Vec<String> = {
        let mut values = Vec::new();
        for field in POLICY_FIELDS {
            values.push(field_value(&browser, field).await);
        }
        values
    };
    assert_eq!(defaults, ["365", "90", "300"]);

    let production = browser.wait_for("#policy-retention_days_production").await;
    browser.clear(&production).await;
    browser.type_into(&production, "400").await;
    let grace = browser.wait_for("#policy-reconnect_grace_seconds").await;
    browser.clear(&grace).await;
    browser.type_into(&grace, "120").await;
    browser.click_on("#policy-record_non_production").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.wait_for_text("[data-testid=policy-saved]", "Saved").await;
    browser.wait_for_text("[data-testid=policy-updated]", "by dave").await;

    // A reload shows what the server kept.
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-updated]", "Last changed").await;
    assert_eq!(field_value(&browser, "retention_days_production").await, "400");
    assert_eq!(field_value(&browser, "reconnect_grace_seconds").await, "120");
    let record = browser.wait_for("#policy-record_non_production").await;
    assert_eq!(browser.property(&record, "checked").await, json!(true));
    let policy: Value =
        json(seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await, 200)
            .await;
    assert_eq!(policy["retention_days_production"], 400);
    assert_eq!(policy["record_non_production"], true);

    // Out of bounds: the server's message shows next to the field, and
    // nothing is saved.
    let non_production = browser.wait_for("#policy-retention_days_non_production").await;
    browser.clear(&non_production).await;
    browser.type_into(&non_production, "0").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser
        .wait_for_text(
            ".field-error[data-field=retention_days_non_production]",
            "must be 1 to 3650 days",
        )
        .await;
    assert_eq!(browser.find_all(".field-error").await.len(), 1);
    let input = browser.wait_for("#policy-retention_days_non_production").await;
    assert_eq!(browser.attribute(&input, "aria-invalid").await.as_deref(), Some("true"));
    let policy: Value =
        json(seeded.app.get(&format!("/api/v1/projects/{PROJECT}/policy"), &manager).await, 200)
            .await;
    assert_eq!(policy["retention_days_non_production"], 90);
}

#[tokio::test]
async fn members_without_manage_policy_read_the_policy_only() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-read-only]", "terminal.manage_policy").await;
    let production = browser.wait_for("#policy-retention_days_production").await;
    assert_eq!(field_value(&browser, "retention_days_production").await, "365");
    let disabled = browser
        .execute("return arguments[0].matches(':disabled');", vec![browser.reference(&production)])
        .await;
    assert_eq!(disabled, json!(true), "the fields cannot be edited");
    assert!(browser.find_all("[data-testid=policy-form] button[type=submit]").await.is_empty());
}
