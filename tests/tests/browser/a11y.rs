//! Accessibility: axe-core finds nothing on any page of the app (not the
//! bundled Swagger UI, which is not ours), with its dialogs open, at a
//! desktop's width and a phone's; and what axe cannot judge: the skip
//! link, the seek bar and its markers by keyboard, focus that shows.

use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::{axe::axe_report, browser::Browser};

use crate::PROJECT;
use crate::seed::Seeded;
use crate::tour::every_page;

/// WebDriver's codes for keys.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const RIGHT: &str = "\u{E014}";
const END: &str = "\u{E010}";

#[tokio::test]
async fn axe_finds_nothing_on_any_page_wide_or_narrow() {
    let seeded = Seeded::new().await;
    let recorded = seeded.recorded().await;
    let browser = Browser::start().await;
    let mut found = Vec::new();
    for (width, height) in [(1440, 900), (390, 844)] {
        browser.set_window_size(width, height).await;
        every_page(&browser, &seeded, &recorded, async |page| {
            let report = axe_report(&browser, &format!("{page} ({width} px wide)")).await;
            if !report.is_empty() {
                found.push(report);
            }
        })
        .await;
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[tokio::test]
async fn the_live_terminal_is_an_application_axe_accepts() {
    let (app, dir) = crate::workflows::gateway_app().await;
    let browser = Browser::start().await;
    crate::workflows::open_shell(&browser, &app).await;
    let terminal = browser.wait_for("[data-testid=live-terminal]").await;
    assert_eq!(browser.attribute(&terminal, "role").await.as_deref(), Some("application"));
    let report = axe_report(&browser, "the browser terminal with a shell").await;
    assert!(report.is_empty(), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The element that has the focus, as `tag.class` with its test id.
async fn focused(browser: &Browser) -> String {
    browser
        .execute(
            "const e = document.activeElement; \
             return e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + \
               (e.dataset.testid ? '[' + e.dataset.testid + ']' : '');",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_first_tab_offers_a_skip_link_to_the_content() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &[Permission::ViewHistory])).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for("[data-testid=sessions-count]").await;

    // Out of sight until focused; the first Tab stop.
    let skip = browser.wait_for("[data-testid=skip-link]").await;
    let hidden = browser
        .execute(
            "return arguments[0].getBoundingClientRect().bottom <= 0;",
            vec![browser.reference(&skip)],
        )
        .await;
    assert_eq!(hidden, json!(true), "the skip link is out of sight");
    let body = browser.wait_for("body").await;
    browser.type_into(&body, TAB).await;
    assert!(focused(&browser).await.contains("[skip-link]"), "{}", focused(&browser).await);
    let shown = browser
        .execute(
            "return arguments[0].getBoundingClientRect().top >= 0;",
            vec![browser.reference(&skip)],
        )
        .await;
    assert_eq!(shown, json!(true), "focused, it shows");
    browser.type_into(&skip, ENTER).await;
    assert_eq!(focused(&browser).await, "main.main");
    // The next Tab goes into the page, past the navigation.
    let main = browser.wait_for("main").await;
    browser.type_into(&main, TAB).await;
    let next = browser
        .execute(
            "return document.querySelector('header').contains(document.activeElement);",
            vec![],
        )
        .await;
    assert_eq!(next, json!(false), "past the navigation: {}", focused(&browser).await);
}

#[tokio::test]
async fn the_seek_bar_and_its_markers_work_by_keyboard_with_visible_focus() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = seeded.watching(&id).await;
    let play = browser.wait_for("[data-testid=play]:not([disabled])").await;

    // Tab from the play button reaches the seek bar, a slider.
    browser.type_into(&play, TAB).await;
    assert!(focused(&browser).await.contains("[seekbar]"), "{}", focused(&browser).await);
    let outline = browser
        .execute("return getComputedStyle(document.activeElement).outlineStyle;", vec![])
        .await;
    assert_ne!(outline, json!("none"), "the focused seek bar shows it");
    let slider = browser.wait_for("[role=slider]").await;
    browser.type_into(&slider, RIGHT).await;
    browser.wait_for_text("[data-testid=clock]", "0:05 / 0:12").await;
    assert_eq!(browser.attribute(&slider, "aria-valuetext").await.as_deref(), Some("0:05 of 0:12"));

    // The next Tab reaches the markers (one stop); the arrows move among
    // them, Enter jumps to one.
    browser.type_into(&slider, TAB).await;
    let first = focused(&browser).await;
    assert!(first.contains("seek-marker"), "{first}");
    let marker = browser.wait_for(".seek-marker[tabindex='0']").await;
    browser.type_into(&marker, RIGHT).await;
    let label =
        browser.execute("return document.activeElement.getAttribute('aria-label');", vec![]).await;
    assert_eq!(label, json!("Jump to $ ./rollout.sh at 0:07"));
    let outline = browser
        .execute("return getComputedStyle(document.activeElement).outlineStyle;", vec![])
        .await;
    assert_ne!(outline, json!("none"), "the focused marker shows it");
    // The arrows moved the focus, not the playback.
    browser.wait_for_text("[data-testid=clock]", "0:05 / 0:12").await;
    let current = browser.wait_for(".seek-marker[tabindex='0']").await;
    browser.type_into(&current, ENTER).await;
    browser.wait_for_text("[data-testid=clock]", "0:07 / 0:12").await;
    browser.wait_for_text("[data-testid=terminal]", "./rollout.sh").await;
    // End on the bar goes to the end.
    browser.type_into(&slider, END).await;
    browser.wait_for_text("[data-testid=clock]", "0:12 / 0:12").await;
}

#[tokio::test]
async fn keyboard_hints_show_only_where_there_is_a_keyboard() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = seeded.watching(&id).await;
    let hint_shown = async || {
        browser.goto(&seeded.url(&seeded.session_path(&id))).await;
        let hint = browser.wait_for(".kbd-hint").await;
        browser
            .execute(
                "return getComputedStyle(arguments[0]).display !== 'none';",
                vec![browser.reference(&hint)],
            )
            .await
    };
    assert_eq!(hint_shown().await, json!(true), "a mouse and a keyboard: the keys are shown");

    // A touch screen: no hover, a coarse pointer.
    browser
        .cdp("Emulation.setTouchEmulationEnabled", json!({ "enabled": true, "maxTouchPoints": 5 }))
        .await;
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [
                { "name": "hover", "value": "none" },
                { "name": "pointer", "value": "coarse" },
            ] }),
        )
        .await;
    assert_eq!(hint_shown().await, json!(false), "a touch screen: no keys to press");
    // Still described for screen readers.
    let player = browser.wait_for("[data-testid=player]").await;
    assert_eq!(
        browser.attribute(&player, "aria-describedby").await.as_deref(),
        Some("player-keys")
    );
}

/// Waits until the document's title is `title`.
async fn wait_for_title(browser: &Browser, title: &str) {
    let deadline = std::time::Instant::now() + termaudit_tests::browser::WAIT;
    loop {
        let shown = browser.execute("return document.title", vec![]).await;
        if shown == json!(title) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the title stayed {shown}, not {title:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_page_has_a_title_of_its_own() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    browser.goto(&seeded.url("/sign-in")).await;
    wait_for_title(&browser, "Sign in · termaudit").await;
    let token = seeded.app.token(
        "carol",
        PROJECT,
        &[Permission::ViewHistory, Permission::ManagePolicy, Permission::Connect],
    );
    seeded.sign_in(&browser, &token).await;
    let short = seeded.live.split('-').next().expect("an id's first part").to_owned();
    for (path, title) in [
        ("/projects".to_owned(), "Projects · termaudit".to_owned()),
        (
            format!("/projects/{PROJECT}/sessions"),
            format!("Session history · {PROJECT} · termaudit"),
        ),
        (seeded.session_path(&seeded.live), format!("Session {short} · {PROJECT} · termaudit")),
        (format!("/projects/{PROJECT}/policy"), format!("Policy · {PROJECT} · termaudit")),
        (format!("/projects/{PROJECT}/terminal"), format!("Terminal · {PROJECT} · termaudit")),
        ("/no/such/page".to_owned(), "Page not found · termaudit".to_owned()),
    ] {
        browser.goto(&seeded.url(&path)).await;
        wait_for_title(&browser, &title).await;
    }
}
