//! The history's filters beyond the basics (`history.rs`): filters in the
//! address that cannot be used are named, a date alone is a day, a
//! reversed range is caught, quick ranges.

use chrono::{Duration, Local};
use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::browser::Browser;

use crate::PROJECT;
use crate::seed::Seeded;

const ROWS: &str = ".session-row";

async fn signed_in(seeded: &Seeded) -> Browser {
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser
}

#[tokio::test]
async fn filters_in_the_address_that_cannot_be_used_are_named_and_the_rest_apply() {
    let seeded = Seeded::new().await;
    let browser = signed_in(&seeded).await;
    browser
        .goto(&seeded.url(&format!(
            "/projects/{PROJECT}/sessions?status=bogus&opened_from=yesterday\
             &target_id=not-a-uuid&q=a&user=alice"
        )))
        .await;
    let notice = browser.wait_for_text("[data-testid=filters-rejected]", "cannot be used").await;
    for named in [
        "Status “bogus” must be one of active, dropped, closed",
        "Opened from “yesterday” is not a date and time",
        "Target “not-a-uuid” is not a target's id",
        "Search “a” must be 2 to 200 characters",
        "The other filters apply",
    ] {
        assert!(notice.contains(named), "{named:?} in {notice:?}");
    }
    // alice's two sessions; the form shows what applies.
    browser.wait_for_count(ROWS, 2).await;
    let status = browser.wait_for("#f-status").await;
    assert_eq!(browser.property(&status, "value").await, json!(""));
    let user = browser.wait_for("#f-user").await;
    assert_eq!(browser.property(&user, "value").await, json!("alice"));
    let page = browser.body_text().await;
    assert!(!page.contains("parsing failed") && !page.contains("Try again"), "{page}");

    browser.click_on("[data-testid=filters-rejected] button").await;
    browser.wait_for_count("[data-testid=filters-rejected]", 0).await;
    let url = browser.current_url().await;
    assert!(url.ends_with(&format!("/projects/{PROJECT}/sessions?user=alice")), "{url}");
}

/// Types `date` into a date input as a person does (month, day, year).
async fn type_date(browser: &Browser, css: &str, date: chrono::NaiveDate) {
    let input = browser.wait_for(css).await;
    browser.type_into(&input, &date.format("%m%d%Y").to_string()).await;
}

#[tokio::test]
async fn a_date_alone_is_a_whole_day_and_a_reversed_range_is_named() {
    let seeded = Seeded::new().await;
    let browser = signed_in(&seeded).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(ROWS, 3).await;
    let today = Local::now().date_naive();

    // Today, without a time: from the day's start.
    type_date(&browser, "#f-from", today).await;
    browser.click_on("form.filters button[type=submit]").await;
    let url = browser.wait_for_url("opened_from=").await;
    assert!(!url.contains("opened_to="), "{url}");
    browser.wait_for_count(ROWS, 3).await;
    let from = browser.wait_for("#f-from").await;
    assert_eq!(browser.property(&from, "value").await, json!(today.to_string()), "{url}");
    // Until today (the whole of it): still all three.
    type_date(&browser, "#f-to", today).await;
    browser.click_on("form.filters button[type=submit]").await;
    let until_today = browser.wait_for_url("opened_to=").await;
    browser.wait_for_count(ROWS, 3).await;
    let to = browser.wait_for("#f-to").await;
    assert_eq!(browser.property(&to, "value").await, json!(today.to_string()));
    browser.clear(&to).await;
    let from_time = browser.wait_for("#f-from-time").await;
    assert_eq!(browser.property(&from_time, "value").await, json!(""));

    // Until yesterday (the whole of it): before the start; said so, not applied.
    type_date(&browser, "#f-to", today - Duration::days(1)).await;
    browser.click_on("form.filters button[type=submit]").await;
    browser.wait_for_text(".field-date .field-error", "Ends before “Opened from”").await;
    assert_eq!(browser.current_url().await, until_today, "not applied");
    let invalid = browser.wait_for("#f-to").await;
    assert_eq!(browser.attribute(&invalid, "aria-invalid").await.as_deref(), Some("true"));
}

#[tokio::test]
async fn a_reversed_range_in_the_address_is_read_the_other_way_round() {
    let seeded = Seeded::new().await;
    let browser = signed_in(&seeded).await;
    let (earlier, later) = (
        (chrono::Utc::now() - Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (chrono::Utc::now() + Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ"),
    );
    browser
        .goto(
            &seeded.url(&format!(
                "/projects/{PROJECT}/sessions?opened_from={later}&opened_to={earlier}"
            )),
        )
        .await;
    browser.wait_for_text("[data-testid=filters-rejected]", "read the other way round").await;
    browser.wait_for_count(ROWS, 3).await;
}

#[tokio::test]
async fn quick_ranges_set_the_opened_range() {
    let seeded = Seeded::new().await;
    let browser = signed_in(&seeded).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions?status=closed"))).await;
    browser.wait_for_count(ROWS, 1).await;
    browser.click_on(".quick-ranges button[data-hours='24']").await;
    let url = browser.wait_for_url("opened_from=").await;
    assert!(!url.contains("opened_to="), "{url}");
    assert!(url.contains("status=closed"), "the other filters stay: {url}");
    browser.wait_for_count(ROWS, 1).await;
    let from = browser.wait_for("#f-from").await;
    let yesterday = (Local::now() - Duration::hours(24)).date_naive();
    assert_eq!(browser.property(&from, "value").await, json!(yesterday.to_string()));
}
