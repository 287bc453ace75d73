//! At a phone's width (390 px): no page is wider than the screen (so none
//! pans sideways and dialogs are centred on it), the history's rows are
//! cards and its filters fold behind a bar of chips.

use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::browser::Browser;

use crate::PROJECT;
use crate::seed::Seeded;
use crate::tour::every_page;

const PHONE: (u32, u32) = (390, 844);

/// `(scrollWidth, clientWidth)` of the page.
async fn widths(browser: &Browser) -> (i64, i64) {
    let sizes = browser
        .execute(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];",
            vec![],
        )
        .await;
    (sizes[0].as_i64().unwrap_or_default(), sizes[1].as_i64().unwrap_or_default())
}

#[tokio::test]
async fn no_page_is_wider_than_a_phone() {
    let seeded = Seeded::new().await;
    let recorded = seeded.recorded().await;
    let browser = Browser::start().await;
    browser.set_window_size(PHONE.0, PHONE.1).await;
    let mut wide = Vec::new();
    every_page(&browser, &seeded, &recorded, async |page| {
        let (scroll, client) = widths(&browser).await;
        if scroll > client {
            wide.push(format!("{page}: {scroll} px in {client} px"));
        }
    })
    .await;
    assert!(wide.is_empty(), "pages wider than the screen:\n{}", wide.join("\n"));
}

#[tokio::test]
async fn the_browser_terminal_fits_a_phone() {
    let (app, dir) = crate::workflows::gateway_app().await;
    let browser = Browser::start().await;
    browser.set_window_size(PHONE.0, PHONE.1).await;
    crate::workflows::open_shell(&browser, &app).await;
    let (scroll, client) = widths(&browser).await;
    assert!(scroll <= client, "the terminal page is {scroll} px in {client} px");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn on_a_phone_the_export_dialog_is_on_screen() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    browser.set_window_size(PHONE.0, PHONE.1).await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for("[data-testid=sessions-count]").await;
    browser.click_on("[data-testid=export]").await;
    let dialog = browser.wait_for("dialog[open]").await;
    let placed = browser
        .execute(
            "const r = arguments[0].getBoundingClientRect(); \
             return [r.left, r.right, innerWidth, window.scrollX];",
            vec![browser.reference(&dialog)],
        )
        .await;
    let (left, right, width) = (
        placed[0].as_f64().unwrap_or(-1.0),
        placed[1].as_f64().unwrap_or(0.0),
        placed[2].as_f64().unwrap_or(0.0),
    );
    assert!(left >= 0.0 && right <= width, "the dialog spans {left}..{right} of {width} px");
    assert_eq!(placed[3], json!(0), "the page did not pan");
    // Its button works where it is.
    browser.click_on("dialog[open] [data-testid=export-download]").await;
    browser.wait_for_text("[data-testid=export-status]", "Saved").await;
}

/// Whether `css` is displayed, with its box inside the screen's width.
async fn on_screen(browser: &Browser, css: &str) -> Value {
    let element = browser.wait_for(css).await;
    browser
        .execute(
            "const e = arguments[0], r = e.getBoundingClientRect(); \
             return getComputedStyle(e).display !== 'none' && r.width > 0 && r.left >= 0 \
               && r.right <= document.documentElement.clientWidth;",
            vec![browser.reference(&element)],
        )
        .await
}

#[tokio::test]
async fn on_a_phone_rows_are_cards_and_filters_fold_behind_chips() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    browser.set_window_size(PHONE.0, PHONE.1).await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(".session-row", 3).await;

    // The first screen shows sessions, not filters.
    assert_eq!(on_screen(&browser, "#filters-form").await, json!(false), "the form is folded");
    let toggle = browser.wait_for("[data-testid=filters-toggle]").await;
    assert_eq!(browser.attribute(&toggle, "aria-expanded").await.as_deref(), Some("false"));
    let first_top = browser
        .execute(
            "return document.querySelector('.session-row').getBoundingClientRect().top;",
            vec![],
        )
        .await;
    assert!(first_top.as_f64().unwrap_or(f64::MAX) < f64::from(PHONE.1) / 2.0, "{first_top}");

    // A card shows its status, environment, target, user and reason, all within the screen.
    let live = crate::history::row(&seeded.live);
    for part in ["c-status", "c-env", "c-target", "c-user", "c-reason", "c-duration"] {
        assert_eq!(on_screen(&browser, &format!("{live} .{part}")).await, json!(true), "{part}");
    }
    let card = browser.text(&browser.wait_for(&live).await).await;
    for shown in
        ["LIVE", "prod-eu", "billing-api", "alice (test)", "INC-4211: restart stuck workers"]
    {
        assert!(card.contains(shown), "the card shows {shown:?}: {card:?}");
    }

    // "Filters" unfolds the form; a choice shows as a chip, whose × removes it.
    browser.click(&toggle).await;
    assert_eq!(browser.attribute(&toggle, "aria-expanded").await.as_deref(), Some("true"));
    assert_eq!(on_screen(&browser, "#filters-form").await, json!(true));
    browser.select("#f-status", "closed").await;
    browser.wait_for_count(".session-row", 1).await;
    browser.wait_for_text(".filter-chip[data-filter=status]", "Status: Closed").await;
    let count = browser.wait_for(".filters-count").await;
    assert_eq!(browser.text(&count).await, "1");
    browser.click_on(".filter-chip[data-filter=status] .chip-remove").await;
    browser.wait_for_count(".session-row", 3).await;
    assert!(browser.find_all(".filter-chip").await.is_empty());
    assert!(!browser.current_url().await.contains("status="));
}

/// Writes `docs/screenshots/phone-history.png` and `phone-player.png` when
/// `TERMAUDIT_SCREENSHOTS=1`.
#[tokio::test]
async fn screenshots_on_a_phone() {
    if std::env::var("TERMAUDIT_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    browser.set_window_size(PHONE.0, PHONE.1).await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    let dir = termaudit_tests::repo_root().join("docs/screenshots");

    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions?has_recording=true"))).await;
    browser.wait_for_count(".session-row", 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("phone-history.png")).await;

    browser.goto(&seeded.url(&format!("{}?t=10", seeded.session_path(&id)))).await;
    browser.wait_for_text("[data-testid=clock]", "0:10 / 0:12").await;
    browser.wait_for("[data-testid=player][data-waiting=false]").await;
    browser
        .execute(
            "document.activeElement.blur(); \
             document.querySelector('[data-testid=recording]').scrollIntoView();",
            vec![],
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("phone-player.png")).await;
}
