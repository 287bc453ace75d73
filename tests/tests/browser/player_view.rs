//! The player as one watches with it: the terminal and its controls stay
//! in view while the commands and search results are used; a poster
//! before it plays; the time under the pointer on the seek bar;
//! fullscreen; text that fits the width; the history's Play link and a
//! link to a moment.

use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::browser::Browser;

use crate::PROJECT;
use crate::seed::Seeded;

const TERMINAL: &str = "[data-testid=terminal]";

/// A closed production session whose 40-second recording runs 40 commands
/// (a marker each), so the list of commands is longer than a screen.
async fn long_recording(seeded: &Seeded) -> String {
    let mut cast =
        String::from(r#"{"version": 2, "width": 100, "height": 30, "timestamp": 1767322800}"#);
    cast.push('\n');
    for step in 1..=40 {
        let time = f64::from(step);
        cast.push_str(&format!(
            "[{time}, \"o\", \"$ ./step.sh {step}\\r\\nstep-{step}-done\\r\\n\"]\n"
        ));
        cast.push_str(&format!("[{time}, \"m\", \"$ ./step.sh {step}\"]\n"));
    }
    seeded.recorded_with("batch-api", "CHG-9001: nightly batch", &cast).await
}

fn viewer(seeded: &Seeded) -> String {
    seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording])
}

/// Whether the element matching `css` is wholly inside the window.
async fn in_view(browser: &Browser, css: &str) -> bool {
    let element = browser.wait_for(css).await;
    browser
        .execute(
            "const r = arguments[0].getBoundingClientRect(); \
             return r.top >= 0 && r.bottom <= innerHeight && r.height > 0;",
            vec![browser.reference(&element)],
        )
        .await
        == json!(true)
}

#[tokio::test]
async fn the_terminal_stays_in_view_while_commands_and_search_results_are_used() {
    let seeded = Seeded::new().await;
    let id = long_recording(&seeded).await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &viewer(&seeded)).await;
    for (width, height) in [(1440, 900), (390, 844)] {
        browser.set_window_size(width, height).await;
        browser.goto(&seeded.url(&seeded.session_path(&id))).await;
        browser.wait_for("[data-testid=play]:not([disabled])").await;
        browser.wait_for_count("[data-testid=markers] li", 40).await;

        // The last command (WebDriver scrolls to it, as a reader would).
        browser.click_on("[data-testid=markers] li:last-child button").await;
        browser.wait_for_text("[data-testid=clock]", "0:40 / 0:40").await;
        browser.wait_for_text(TERMINAL, "step-40-done").await;
        assert!(in_view(&browser, TERMINAL).await, "the terminal at {width} px, after a command");
        assert!(in_view(&browser, "[data-testid=play]").await, "the controls at {width} px");

        // A search result far down the list.
        let search = browser.wait_for("#recording-search").await;
        browser.clear(&search).await;
        browser.type_into(&search, "-done\u{E007}").await;
        browser.wait_for_count("[data-testid=search-results] li", 40).await;
        // A result's time is the last moment the player shows its line
        // (here, just before it scrolls off): the player goes there.
        let hit = "[data-testid=search-results] li:nth-child(25) button";
        let at = browser.text(&browser.wait_for(&format!("{hit} .marker-time")).await).await;
        assert_ne!(at.trim(), "0:40", "a moment before the end, so the click shows");
        browser.click_on(hit).await;
        browser.wait_for_text("[data-testid=clock]", &format!("{} / 0:40", at.trim())).await;
        browser.wait_for_text(TERMINAL, "step-25-done").await;
        assert!(in_view(&browser, TERMINAL).await, "the terminal at {width} px, after a result");
        assert!(in_view(&browser, "[data-testid=seekbar]").await, "the seek bar at {width} px");
    }
}

#[tokio::test]
async fn a_poster_shows_the_first_output_until_the_recording_plays() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = seeded.watching(&id).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;

    // Not a black box: the screen once the first output settled (1.3 s).
    let poster = browser.wait_for_text("[data-testid=poster]", "CANARY-OK").await;
    assert!(poster.contains("ALERT") && !poster.contains("ROLLOUT-STARTED"), "{poster:?}");
    assert_eq!(browser.text(&browser.wait_for(TERMINAL).await).await.trim(), "");
    browser.click_on("[data-testid=play]").await;
    browser.wait_for_count("[data-testid=poster]", 0).await;
    browser.wait_for_text(TERMINAL, "CANARY-OK").await;
}

#[tokio::test]
async fn the_seek_bar_shows_the_time_under_the_pointer() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = seeded.watching(&id).await;
    let bar = browser.wait_for("[data-testid=seekbar]").await;
    // The pointer at four fifths of 12 s: 9.6 s.
    browser
        .execute(
            "const b = arguments[0], r = b.getBoundingClientRect(); \
             b.dispatchEvent(new MouseEvent('mousemove', { bubbles: true, \
               clientX: r.left + r.width * 0.8, clientY: r.top + r.height / 2 }));",
            vec![browser.reference(&bar)],
        )
        .await;
    browser.wait_for_text("[data-testid=seek-hover]", "0:09").await;
    browser
        .execute(
            "arguments[0].dispatchEvent(new MouseEvent('mouseleave', { bubbles: true }));",
            vec![browser.reference(&bar)],
        )
        .await;
    browser.wait_for_count("[data-testid=seek-hover]", 0).await;
}

/// The terminal's font size in pixels.
async fn font_px(browser: &Browser) -> f64 {
    let size = browser
        .execute(&format!("return parseFloat(getComputedStyle(document.querySelector('{TERMINAL}')).fontSize);"), vec![])
        .await;
    size.as_f64().unwrap_or_default()
}

/// Waits until the terminal's font size meets `ok`.
async fn wait_for_font(browser: &Browser, what: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = std::time::Instant::now() + termaudit_tests::browser::WAIT;
    loop {
        let px = font_px(browser).await;
        if ok(px) {
            return px;
        }
        assert!(std::time::Instant::now() < deadline, "the text stayed {px} px, not {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_text_fits_the_width_and_fullscreen_enlarges_it() {
    let seeded = Seeded::new().await;
    let id = long_recording(&seeded).await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &viewer(&seeded)).await;

    // A phone: 100 columns fit the frame, in smaller text.
    browser.set_window_size(390, 844).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    wait_for_font(&browser, "below 13 px", |px| px < 13.0).await;
    let fits = browser
        .execute(
            &format!(
                "const t = document.querySelector('{TERMINAL}'), f = t.parentElement; \
                      return t.getBoundingClientRect().right <= f.getBoundingClientRect().right \
                        && f.scrollWidth <= f.clientWidth;"
            ),
            vec![],
        )
        .await;
    assert_eq!(fits, json!(true), "the 100 columns fit the frame");

    // A desktop: larger, still fitting (100 columns beside the commands).
    browser.set_window_size(1440, 900).await;
    wait_for_font(&browser, "between 10 and 13 px", |px| (10.0..13.0).contains(&px)).await;

    // 72 columns at the usual size; fullscreen fills the screen, and back.
    let short = seeded.recorded().await;
    browser.goto(&seeded.url(&seeded.session_path(&short))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    wait_for_font(&browser, "13 px", |px| (px - 13.0).abs() < 0.01).await;
    browser.click_on("[data-testid=fullscreen]").await;
    browser.wait_for("[data-testid=fullscreen][aria-pressed=true]").await;
    let full = browser.execute("return document.fullscreenElement?.dataset.testid;", vec![]).await;
    assert_eq!(full, json!("player"));
    wait_for_font(&browser, "larger in fullscreen", |px| px > 13.0).await;
    browser.click_on("[data-testid=fullscreen]").await;
    browser.wait_for("[data-testid=fullscreen][aria-pressed=false]").await;
    wait_for_font(&browser, "13 px again", |px| (px - 13.0).abs() < 0.01).await;
}

#[tokio::test]
async fn the_historys_play_link_plays_and_a_link_to_a_moment_starts_there() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &viewer(&seeded)).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    let play = format!("{} [data-testid=play-recording]", crate::history::row(&id));
    browser.click_on(&play).await;
    browser.wait_for_url(&format!("{}?play=1", seeded.session_path(&id))).await;
    // It plays by itself, in view.
    browser.wait_for_text(TERMINAL, "CANARY-OK").await;
    assert!(in_view(&browser, "[data-testid=player-stage]").await);
    // Sessions without a recording offer none.
    let closed = format!("{} [data-testid=play-recording]", crate::history::row(&seeded.closed));
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.wait_for_count(&play, 1).await;
    assert!(browser.find_all(&closed).await.is_empty());

    browser.goto(&seeded.url(&format!("{}?t=7.2", seeded.session_path(&id)))).await;
    browser.wait_for_text("[data-testid=clock]", "0:07 / 0:12").await;
    browser.wait_for_text(TERMINAL, "ROLLOUT-STARTED").await;
    assert!(
        browser.find_all("[data-testid=poster]").await.is_empty(),
        "a chosen moment, no poster"
    );
}
