//! "Watch live": a session's recording followed in the browser as its
//! chunks arrive, until a policy manager revokes it.

use std::time::{Duration, Instant};

use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::{
    axe::axe_report,
    browser::Browser,
    gateway_shell::{WatchedShell, watch_a_shell},
};

use crate::PROJECT;
use crate::history::row;
use crate::seed::Seeded;
use crate::workflows::{ENTER, gateway_app, wait_for_line};

/// What the session showed before anyone watched: plain text, so axe judges
/// the view's own colours, not a recording's.
const FIRST: &str = concat!(
    r#"{"version": 2, "width": 72, "height": 14}"#,
    "\n",
    r#"[0.2, "o", "$ ./deploy.sh --canary\r\nCANARY-OK all 14 checks passed\r\n$ "]"#,
    "\n",
);

/// Uploads chunk `seq` of the live session's recording, as the gateway.
async fn upload(seeded: &Seeded, gateway: &str, seq: u32, body: &str) {
    let path = format!("/api/v1{}/recording/chunks/{seq}", seeded.session_path(&seeded.live));
    let response = seeded
        .app
        .client
        .put(seeded.app.url(&path))
        .bearer_auth(gateway)
        .header("content-type", "application/x-asciicast")
        .body(body.to_owned())
        .send()
        .await
        .expect("the chunk is sent");
    assert_eq!(response.status().as_u16(), 201, "chunk {seq}");
}

#[tokio::test]
async fn a_watcher_sees_output_as_it_arrives_and_who_revoked_the_session() {
    let seeded = Seeded::new().await;
    let gateway = seeded.app.token("gateway", PROJECT, &[Permission::Ingest]);
    upload(&seeded, &gateway, 0, FIRST).await;

    let browser = Browser::start().await;
    let watcher = seeded.app.token(
        "vera",
        PROJECT,
        &[Permission::ViewHistory, Permission::ViewRecording, Permission::ManagePolicy],
    );
    seeded.sign_in(&browser, &watcher).await;
    // The history offers it on the live session's row.
    browser.goto(&seeded.url(&format!("/projects/{PROJECT}/sessions"))).await;
    browser.click_on(&format!("{} [data-testid=watch-live]", row(&seeded.live))).await;
    browser.wait_for_url(&format!("{}?watch=1", seeded.session_path(&seeded.live))).await;

    // The terminal as it is now, under a LIVE badge; the revoke dialog is
    // on the same page for a policy manager.
    browser.wait_for("[data-testid=watch-badge]").await;
    browser.wait_for_text("[data-testid=watch-terminal]", "CANARY-OK").await;
    browser.wait_for_text("[data-testid=watch-delay]", "ago").await;
    assert!(
        browser.find_all("[data-testid=watch-live]").await.is_empty(),
        "no second watch from the same page"
    );
    browser.wait_for_text(".detail-head .head-actions", "Revoke session").await;
    let report = axe_report(&browser, "a session watched live").await;
    assert!(report.is_empty(), "{report}");

    // The session's page lists who watches, from the server.
    browser.wait_for_text("[data-testid=watchers]", "vera").await;

    // More output arrives and is drawn without a reload.
    upload(&seeded, &gateway, 1, "[1.0, \"o\", \"echo watched\\r\\nwatched-live-42\\r\\n\"]\n")
        .await;
    browser.wait_for_text("[data-testid=watch-terminal]", "watched-live-42").await;

    // Paused, new output is held until "Jump to live".
    browser.click_on("[data-testid=watch-pause]").await;
    upload(&seeded, &gateway, 2, "[2.0, \"o\", \"held-then-shown\\r\\n\"]\n").await;
    browser.wait_for_text("[data-testid=watch-jump]", "(1 held)").await;
    let shown = browser.text(&browser.wait_for("[data-testid=watch-terminal]").await).await;
    assert!(!shown.contains("held-then-shown"), "paused: {shown:?}");
    browser.click_on("[data-testid=watch-jump]").await;
    browser.wait_for_text("[data-testid=watch-terminal]", "held-then-shown").await;

    // Closed and opened again from the session's page: the terminal as it
    // is now, everything drawn so far included.
    browser.click_on("[data-testid=watch-close]").await;
    browser.wait_for_count("[data-testid=watch]", 0).await;
    browser.click_on(".detail-head [data-testid=watch-live]").await;
    browser.wait_for("[data-testid=watch-badge]").await;
    let shown = browser.wait_for_text("[data-testid=watch-terminal]", "held-then-shown").await;
    assert!(shown.contains("watched-live-42") && shown.contains("CANARY-OK"), "{shown:?}");

    // Revoked elsewhere; the gateway sends what is left and finalizes: the
    // view ends saying who revoked it and why.
    seeded.revoke(&seeded.live, "Stop now").await;
    upload(&seeded, &gateway, 3, "[3.0, \"o\", \"logout\\r\\n\"]\n").await;
    let finalize = format!("/api/v1{}/recording/finalize", seeded.session_path(&seeded.live));
    let finalized = seeded.app.post(&finalize, &gateway, &json!({})).await;
    assert_eq!(finalized.status().as_u16(), 204);
    let end =
        browser.wait_for_text("[data-testid=watch-end]", "Revoked by carol (test): Stop now").await;
    assert!(end.contains("The session ended"), "{end:?}");
    browser.wait_for_text("[data-testid=watch-terminal]", "logout").await;
    assert!(browser.find_all("[data-testid=watch-badge]").await.is_empty(), "no longer live");
}

/// The live session's recording in two chunks, [`FIRST`] and `second`, and
/// a browser where vera (who may view recordings) has signed in; also the
/// gateway's token, for more chunks.
async fn vera_and_two_chunks(second: &str) -> (Seeded, String, Browser) {
    let seeded = Seeded::new().await;
    let gateway = seeded.app.token("gateway", PROJECT, &[Permission::Ingest]);
    upload(&seeded, &gateway, 0, FIRST).await;
    upload(&seeded, &gateway, 1, second).await;
    let browser = Browser::start().await;
    let watcher =
        seeded.app.token("vera", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
    seeded.sign_in(&browser, &watcher).await;
    (seeded, gateway, browser)
}

#[tokio::test]
async fn a_watcher_seeks_back_over_what_arrived_and_jumps_back_to_live() {
    let (seeded, gateway, browser) =
        vera_and_two_chunks("[30.0, \"o\", \"rollout-done-at-30s\\r\\n\"]\n").await;
    browser.goto(&seeded.url(&format!("{}?watch=1", seeded.session_path(&seeded.live)))).await;
    browser.wait_for_text("[data-testid=watch-terminal]", "rollout-done-at-30s").await;

    // Ten seconds back from the edge (30 s): the recording so far in the
    // player, at 0:20, before the last output.
    browser.click_on("[data-testid=watch-back]").await;
    browser.wait_for_text("[data-testid=watch-replay] [data-testid=clock]", "0:20 / 0:30").await;
    let screen = browser
        .wait_for_text("[data-testid=watch-replay] [data-testid=terminal]", "CANARY-OK")
        .await;
    assert!(!screen.contains("rollout-done-at-30s"), "before the edge: {screen:?}");
    // The live terminal is hidden meanwhile.
    browser.wait_for_count(".watch-frame[hidden]", 1).await;
    let report = axe_report(&browser, "a live session sought back").await;
    assert!(report.is_empty(), "{report}");

    // What arrives meanwhile is held, and drawn on "Jump to live".
    upload(&seeded, &gateway, 2, "[31.0, \"o\", \"after-the-seek\\r\\n\"]\n").await;
    browser.wait_for_text("[data-testid=watch-jump]", "(1 held)").await;
    browser.click_on("[data-testid=watch-jump]").await;
    browser.wait_for_count("[data-testid=watch-replay]", 0).await;
    let live = browser.wait_for_text("[data-testid=watch-terminal]", "after-the-seek").await;
    assert!(live.contains("rollout-done-at-30s"), "{live:?}");
    browser.wait_for("[data-testid=watch-pause]").await;
}

#[tokio::test]
async fn the_live_view_and_its_seeking_back_fit_a_phone() {
    let (seeded, _, browser) = vera_and_two_chunks("[12.0, \"o\", \"phone-edge\\r\\n\"]\n").await;
    browser.set_window_size(390, 844).await;
    browser.goto(&seeded.url(&format!("{}?watch=1", seeded.session_path(&seeded.live)))).await;
    browser.wait_for_text("[data-testid=watch-terminal]", "phone-edge").await;
    let widths = "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];";
    let live = browser.execute(widths, vec![]).await;
    assert!(live[0].as_i64() <= live[1].as_i64(), "live: {live} (scroll, client)");
    browser.click_on("[data-testid=watch-back]").await;
    browser.wait_for_text("[data-testid=watch-replay] [data-testid=clock]", "0:02 / 0:12").await;
    let back = browser.execute(widths, vec![]).await;
    assert!(back[0].as_i64() <= back[1].as_i64(), "sought back: {back} (scroll, client)");
}

#[tokio::test]
async fn a_shell_typed_in_one_browser_is_watched_live_in_another() {
    let (app, dir) = gateway_app().await;
    // Alice runs a shell on a production target (always recorded, always
    // watchable) through the gateway in her browser; Vera, who may view
    // recordings, watches it from her own.
    let WatchedShell { operator, watcher, .. } =
        watch_a_shell(&app, PROJECT, "INC-7: rotate the keys").await;

    // Alice is told, beside her shell's output.
    operator
        .wait_for_text("[data-testid=watch-notice]", "vera (test) is watching this session live")
        .await;

    // What she types reaches Vera's screen: the command as echoed, and its
    // output (which the command line does not contain: the shell computes it).
    let marker = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let terminal = operator.wait_for("[data-testid=live-terminal]").await;
    operator.type_into(&terminal, &format!("echo live-{marker}-$((6*7))-marker{ENTER}")).await;
    wait_for_line(&operator, &format!("live-{marker}-42-marker")).await;
    watcher
        .wait_for_text(
            "[data-testid=watch-terminal]",
            &format!("echo live-{marker}-$((6*7))-marker"),
        )
        .await;
    watcher
        .wait_for_text("[data-testid=watch-terminal]", &format!("live-{marker}-42-marker"))
        .await;
    // How far behind Alice the output reached Vera: from the recording's
    // start (`init`) and each event's time, not just when it came.
    let delay = watcher.wait_for_text("[data-testid=watch-delay]", "s behind").await;
    let behind: f64 = delay.split(" s behind").next().unwrap_or_default().trim().parse().unwrap();
    assert!((0.0..60.0).contains(&behind), "{delay}");
    let report = axe_report(&watcher, "a gateway shell watched live").await;
    assert!(report.is_empty(), "{report}");

    // Vera leaves; Alice is told that too.
    watcher.click_on("[data-testid=watch-close]").await;
    watcher.wait_for_count("[data-testid=watch]", 0).await;
    // The server hears of a closed stream only when writing to it fails: at
    // the second keepalive comment (5 s apart) after the close, or sooner if
    // output comes. A deadline with room for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let notice = operator.wait_for("[data-testid=watch-notice]").await;
        let shown = operator.text(&notice).await;
        if shown.contains("vera (test) stopped watching") {
            break;
        }
        assert!(Instant::now() < deadline, "Alice was never told Vera left: {shown:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = std::fs::remove_dir_all(dir);
}
