//! The recording player: playing with colours, seeking by bar, keys and
//! markers, searching, downloading, and a purged recording.

use chrono::{Duration, Utc};
use termaudit_domain::Permission;
use termaudit_tests::{browser::Browser, repo_root};

use crate::PROJECT;
use crate::seed::Seeded;

const TERMINAL: &str = "[data-testid=terminal]";
const PLAYER: &str = "[data-testid=player]";
/// WebDriver's codes for the arrow keys.
const RIGHT: &str = "\u{E014}";
const LEFT: &str = "\u{E012}";

/// Waits until the player shows the position `clock` (`0:10`) with the
/// terminal as it was then (a seek backwards fetches a window first).
async fn wait_for_clock(browser: &Browser, clock: &str) {
    browser.wait_for_text("[data-testid=clock]", &format!("{clock} / 0:12")).await;
    browser.wait_for(&format!("{PLAYER}[data-waiting=false]")).await;
}

/// The terminal's text now.
async fn screen(browser: &Browser) -> String {
    browser.text(&browser.wait_for(TERMINAL).await).await
}

#[tokio::test]
async fn a_recording_plays_with_its_colours_and_ends() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;

    // Paused at the start, before the first output; the retention date shown.
    browser.wait_for(&format!("{PLAYER}[data-waiting=false]")).await;
    assert_eq!(screen(&browser).await.trim(), "");
    browser.wait_for_text("[data-testid=expires]", "Kept until").await;
    let markers = browser.wait_for_text("[data-testid=markers]", "$ ./rollout.sh").await;
    assert!(markers.contains("$ ./deploy.sh --canary"), "{markers:?}");
    assert!(browser.find_all("[data-testid=download]").await.is_empty(), "no download permission");

    browser.select("[data-testid=speed]", "4").await;
    browser.click_on("[data-testid=play]").await;
    browser.wait_for_text(TERMINAL, "alice@payments-api:~/deploy$ ./deploy.sh --canary").await;
    browser.wait_for_text(TERMINAL, "CANARY-OK").await;
    let green = browser.wait_for(&format!("{TERMINAL} span.b.fg-2")).await;
    assert_eq!(browser.text(&green).await, "CANARY-OK");
    let alert = browser.wait_for(&format!("{TERMINAL} span.bg-1")).await;
    assert_eq!(browser.text(&alert).await.trim(), "ALERT");
    // The 5.8 s of idling before the rollout is compressed to 2 s: at 4x
    // the whole recording plays in well under two seconds.
    browser.wait_for_text(TERMINAL, "zebra-7 finished").await;
    wait_for_clock(&browser, "0:12").await;
    let play = browser.wait_for("[data-testid=play][data-playing=false]").await;
    assert_eq!(browser.attribute(&play, "aria-label").await.as_deref(), Some("Play"));

    // Not recorded: the staging session's environment is not recorded.
    browser.goto(&seeded.url(&seeded.session_path(&seeded.closed))).await;
    browser.wait_for_text("[data-testid=not-recorded]", "This session was not recorded").await;
}

#[tokio::test]
async fn seeking_with_the_bar_keys_and_markers_shows_that_moment() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    let player = browser.wait_for(PLAYER).await;

    // → seeks 5 s, paused: the alert (1.2 s) shows, the rollout (7 s) not yet.
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:05").await;
    browser.wait_for_text(TERMINAL, "ALERT").await;
    assert!(!screen(&browser).await.contains("ROLLOUT-STARTED"));
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:10").await;
    let shown = browser.wait_for_text(TERMINAL, "8/12 pods").await;
    assert!(shown.contains("ROLLOUT-STARTED") && !shown.contains("zebra-7"), "{shown:?}");

    // ← goes back: the terminal is rebuilt from the state at 5 s.
    browser.type_into(&player, LEFT).await;
    wait_for_clock(&browser, "0:05").await;
    assert!(!screen(&browser).await.contains("ROLLOUT-STARTED"));

    // A click in the middle of the bar goes back to 6 s of 12. `]` jumps to
    // the next marker (the rollout at 7 s), `[` back to the one before.
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:10").await;
    browser.click_on("[data-testid=seekbar]").await;
    browser.wait_for_text("[data-testid=clock]", "0:0").await;
    browser.wait_for(&format!("{PLAYER}[data-waiting=false]")).await;
    let bar = browser.wait_for("[data-testid=seekbar]").await;
    let now: f64 = browser
        .attribute(&bar, "aria-valuenow")
        .await
        .and_then(|value| value.parse().ok())
        .expect("a position");
    assert!((5.5..=6.5).contains(&now), "the middle of 12 s: {now}");
    let shown = screen(&browser).await;
    assert!(shown.contains("ALERT") && !shown.contains("ROLLOUT-STARTED"), "{shown:?}");
    browser.type_into(&player, "]").await;
    wait_for_clock(&browser, "0:07").await;
    browser.wait_for_text(TERMINAL, "./rollout.sh").await;
    browser.type_into(&player, "[").await;
    wait_for_clock(&browser, "0:00").await;
    assert!(!screen(&browser).await.contains("CANARY-OK"));

    // Space plays from there.
    browser.type_into(&player, " ").await;
    browser.wait_for("[data-testid=play][data-playing=true]").await;
    browser.wait_for_text(TERMINAL, "CANARY-OK").await;
    browser.type_into(&player, " ").await;
    browser.wait_for("[data-testid=play][data-playing=false]").await;
}

#[tokio::test]
async fn search_finds_a_word_and_jumps_to_it() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;

    let search = browser.wait_for("#recording-search").await;
    browser.type_into(&search, "ZEBRA").await;
    browser.click_on(".search-form button[type=submit]").await;
    // Each match shows its time and the line up to it.
    let results = browser.wait_for_text("[data-testid=search-results]", "zebra").await;
    assert!(results.contains("0:12"), "{results:?}");
    assert_eq!(browser.find_all("[data-testid=search-results] li").await.len(), 1);
    browser.click_on("[data-testid=search-results] button").await;
    wait_for_clock(&browser, "0:12").await;
    browser.wait_for_text(TERMINAL, "zebra-7 finished").await;

    browser.clear(&search).await;
    browser.type_into(&search, "no-such-words").await;
    browser.click_on(".search-form button[type=submit]").await;
    browser.wait_for_text("[data-testid=search-empty]", "does not appear").await;
}

#[tokio::test]
async fn searching_in_recordings_opens_the_player_at_the_line_and_the_transcript_downloads() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let (browser, auditor) = seeded.downloading(&id).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    let search = browser.wait_for("#f-q").await;
    browser.type_into(&search, "ZEBRA-7").await;
    browser.click_on("#f-in-recordings").await;
    browser.click_on("form.filters button[type=submit]").await;
    browser.wait_for_url("in=recordings").await;
    // The session, with its line as the screen showed it and the match marked.
    let hits =
        browser.wait_for_text("[data-testid=recording-hits]", "zebra-7 finished in 4.8 s").await;
    assert!(hits.contains("payments-api") && hits.contains("0:12"), "{hits:?}");
    let marked = browser.wait_for("[data-testid=recording-hits] mark").await;
    assert_eq!(browser.text(&marked).await, "zebra-7");
    // The line opens the player at the moment it was on the screen.
    browser.click_on(".recording-hit-line").await;
    wait_for_clock(&browser, "0:12").await;
    browser.wait_for_text(TERMINAL, "zebra-7 finished").await;
    // The match is marked on the screen, over its row's first 7 cells.
    let mark = browser.wait_for("[data-testid=screen-match]").await;
    assert_eq!(browser.find_all("[data-testid=screen-match]").await.len(), 1);
    let style = browser.attribute(&mark, "style").await.unwrap_or_default();
    assert!(style.contains("left: 0ch") && style.contains("width: 7ch"), "{style:?}");

    // "Download transcript", beside "Download .cast", saves the server's text.
    browser.click_on("[data-testid=download-transcript]").await;
    let status = browser.wait_for_text("[data-testid=download-transcript-status]", "Saved ").await;
    let name = status
        .strip_prefix("Saved ")
        .and_then(|rest| rest.split(" (").next())
        .expect("the file name is shown")
        .to_owned();
    assert!(name.ends_with(".txt") && name.contains(&id[..8]), "{name:?}");
    let saved = browser.wait_for_download(&name).await;
    let served = seeded
        .app
        .get(&format!("/api/v1{}/recording/transcript", seeded.session_path(&id)), &auditor)
        .await
        .bytes()
        .await
        .expect("the transcript");
    assert_eq!(saved, served.to_vec());
    assert!(String::from_utf8_lossy(&saved).contains("zebra-7 finished in 4.8 s\n"));
}

#[tokio::test]
async fn downloading_saves_the_cast_under_the_servers_file_name() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let (browser, auditor) = seeded.downloading(&id).await;

    browser.click_on("[data-testid=download]").await;
    let status =
        browser.wait_for_text("[data-testid=download-status]", "Saved demo_payments-api_").await;
    let name = status
        .strip_prefix("Saved ")
        .and_then(|rest| rest.split(" (").next())
        .expect("the file name is shown")
        .to_owned();
    assert!(name.ends_with(".cast") && name.contains(&id[..8]), "{name:?}");
    let saved = browser.wait_for_download(&name).await;
    let served = seeded
        .app
        .get(&format!("/api/v1{}/recording/download", seeded.session_path(&id)), &auditor)
        .await
        .bytes()
        .await
        .expect("the file");
    assert!(!saved.is_empty());
    assert_eq!(saved, served.to_vec(), "the browser saved the server's file");
    let shown_bytes = browser.wait_for("[data-testid=download-status]").await;
    assert_eq!(browser.attribute(&shown_bytes, "data-bytes").await, Some(served.len().to_string()));
    assert!(browser.download_dir().join(&name).is_file());
}

#[tokio::test]
async fn a_purged_recording_says_when_and_why() {
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    // Production recordings are kept 365 days: sweep 400 days on.
    let report = termaudit_retention::sweep_once(
        &seeded.app.store,
        &seeded.app.database_url(),
        Utc::now() + Duration::days(400),
        termaudit_retention::SweepOptions::default(),
    )
    .await;
    assert!(format!("{report:?}").contains("purged"), "{report:?}");
    let browser = Browser::start().await;
    let viewer =
        seeded.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &viewer).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    let notice = browser.wait_for_text("[data-testid=purged]", "This recording was purged").await;
    assert!(notice.contains("Retention removed it on"), "{notice:?}");
    assert!(browser.find_all(TERMINAL).await.is_empty());
}

/// Writes `docs/screenshots/player.png` and `policy.png` when `TERMAUDIT_SCREENSHOTS=1`.
#[tokio::test]
async fn screenshots_of_player_and_policy() {
    if std::env::var("TERMAUDIT_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let seeded = Seeded::new().await;
    let id = seeded.recorded().await;
    let browser = Browser::start().await;
    let manager = seeded.app.token(
        "dave",
        PROJECT,
        &[
            Permission::ViewHistory,
            Permission::ViewRecording,
            Permission::DownloadRecording,
            Permission::ManagePolicy,
        ],
    );
    seeded.sign_in(&browser, &manager).await;
    let dir = repo_root().join("docs/screenshots");

    browser.set_window_size(1280, 1000).await;
    browser.goto(&seeded.url(&seeded.session_path(&id))).await;
    browser.wait_for("[data-testid=play]:not([disabled])").await;
    let player = browser.wait_for(PLAYER).await;
    browser.type_into(&player, RIGHT).await;
    browser.type_into(&player, RIGHT).await;
    wait_for_clock(&browser, "0:10").await;
    browser
        .execute(
            "document.activeElement.blur(); \
             document.querySelector('[data-testid=recording]').scrollIntoView(); \
             window.scrollBy(0, -16);",
            vec![],
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("player.png")).await;

    browser.set_window_size(1280, 1060).await;
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/policy"))).await;
    browser.wait_for_text("[data-testid=policy-updated]", "never changed").await;
    let non_production = browser.wait_for("#policy-retention_days_non_production").await;
    browser.clear(&non_production).await;
    browser.type_into(&non_production, "0").await;
    browser.click_on("[data-testid=policy-form] button[type=submit]").await;
    browser.wait_for(".field-error").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&dir.join("policy.png")).await;
}
