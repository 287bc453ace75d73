//! The history's rows: a whole row opens its session, the duration shows,
//! and coming back from a session finds the pages loaded and the place.

use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, json};

use crate::PROJECT;
use crate::history::row;
use crate::seed::Seeded;

#[tokio::test]
async fn a_whole_row_opens_its_session_and_shows_its_duration() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(".session-row", 3).await;

    let closed = browser
        .text(&browser.wait_for(&format!("{} [data-testid=duration]", row(&seeded.closed))).await)
        .await;
    assert!(closed.ends_with(" s") && !closed.contains("so far"), "{closed:?}");
    let live = browser
        .text(&browser.wait_for(&format!("{} [data-testid=duration]", row(&seeded.live))).await)
        .await;
    assert!(live.ends_with("so far"), "{live:?}");

    // The row's middle, far from the time, opens the session too.
    browser.click_on(&row(&seeded.closed)).await;
    browser.wait_for_url(&seeded.session_path(&seeded.closed)).await;
    browser.wait_for_text("h1", "orders-db").await;
}

#[tokio::test]
async fn coming_back_from_a_session_keeps_the_loaded_pages_and_the_place() {
    let seeded = Seeded::new().await;
    // 60 more sessions: two pages.
    let gateway = seeded.app.token("gateway", PROJECT, &[Permission::Ingest]);
    let base = format!("/api/v1/projects/{PROJECT}");
    let targets: Value =
        json(seeded.app.get(&format!("{base}/targets"), &gateway).await, 200).await;
    let target = targets["items"]
        .as_array()
        .and_then(|items| items.iter().find(|t| t["name"] == "orders-db"))
        .expect("the seeded staging target")["id"]
        .clone();
    for n in 0..60 {
        let body = json!({ "target_id": target, "user": { "subject": "bob", "name": "bob (test)" },
                           "mode": "command", "reason": format!("batch {n}") });
        json::<Value>(seeded.app.post(&format!("{base}/sessions"), &gateway, &body).await, 201)
            .await;
    }
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(".session-row", 50).await;
    browser.click_on(".list-foot button").await;
    browser.wait_for_count(".session-row", 63).await;

    // Far down the second page, open a session.
    let target_row = row(&seeded.dropped);
    browser
        .execute(
            &format!("document.querySelector('{target_row}').scrollIntoView({{block: 'center'}});"),
            vec![],
        )
        .await;
    let left_at = browser.execute("return Math.round(scrollY);", vec![]).await;
    assert!(left_at.as_i64().unwrap_or_default() > 1000, "far down: {left_at}");
    browser.click_on(&format!("{target_row} .row-link")).await;
    browser.wait_for_url(&seeded.session_path(&seeded.dropped)).await;
    browser.wait_for("[data-testid=audit]").await;

    // Back: both pages at once, at the same place.
    browser.execute("history.back();", vec![]).await;
    browser.wait_for_url(&format!("/projects/{PROJECT}/sessions")).await;
    browser.wait_for_count(".session-row", 63).await;
    let deadline = std::time::Instant::now() + termaudit_tests::browser::WAIT;
    loop {
        let now = browser.execute("return Math.round(scrollY);", vec![]).await;
        if now == left_at {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "scrolled to {now}, not {left_at}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.wait_for_text("[data-testid=sessions-count]", "63 sessions shown").await;
}
