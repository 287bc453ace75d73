//! End to end, from a key typed in the browser terminal to a live watcher's
//! screen in another browser: one headless Chromium runs a shell through the
//! gateway the server runs in-process (with its default flush interval,
//! `termaudit_gateway::recorder::FLUSH_INTERVAL`), another watches that
//! session live ("Watch live").
//!
//! For each key: the operator's page notes when the key went down (a
//! capturing `keydown` listener), and each page notes when its terminal
//! first shows the line typed so far (a `MutationObserver`); all three are
//! `performance.timeOrigin + performance.now()`, the same clock in both
//! browsers on one machine. The bare work in the same run is the operator's
//! own echo (key → gateway → shell → gateway → the operator's screen); the
//! watcher's figure adds the recording's chunk being sealed, uploaded,
//! accepted and streamed. Keys are typed one at a time, each once the
//! previous one has reached the watcher (a person typing slowly: every key
//! opens a chunk of its own, the flush interval's worst case).
//!
//!     cargo bench -p termaudit-tests --bench live_e2e     # release
//!     cargo test -p termaudit-tests --bench live_e2e      # debug
//!
//! `LIVE_E2E_KEYS` (default 60) sets the keys measured. Needs the web app
//! built (`scripts/build-frontend.sh`) and Chromium
//! (`scripts/ensure-chromium.sh`). Figures are in docs/benchmarks.md.

use std::time::{Duration, Instant};

use serde_json::json;
use termaudit_tests::{
    browser::Browser,
    gateway_shell::{WatchedShell, gateway_app, watch_a_shell},
    latency_summary,
};

const PROJECT: &str = "bench";
/// Keys typed per line (then Enter, and a new line with a new prefix).
const LINE_KEYS: &str = "abcdefghij";
/// How long one key may take to reach the watcher before the bench fails.
const KEY_DEADLINE: Duration = Duration::from_secs(20);

/// Installs `window.__probe`: once `expect` is set, `at` is the time the
/// element matching `arguments[0]` first shows it; and `window.__keyAt`,
/// the time of the last `keydown`.
const PROBE: &str = r"
const css = arguments[0];
window.__probe = { expect: null, at: null };
window.__keyAt = null;
const now = () => performance.timeOrigin + performance.now();
document.addEventListener('keydown', () => { window.__keyAt = now(); }, true);
new MutationObserver(() => {
  const probe = window.__probe;
  if (probe.expect === null || probe.at !== null) return;
  const element = document.querySelector(css);
  if (element && element.textContent.replace(/\u00a0/g, ' ').includes(probe.expect)) {
    probe.at = now();
  }
}).observe(document.body, { childList: true, subtree: true, characterData: true });
";

/// Waits for `text` from now on: resets the probe (and `__keyAt`).
const EXPECT: &str = r"
window.__probe = { expect: arguments[0], at: null };
window.__keyAt = null;
";

const READ: &str = "return { at: window.__probe.at, key: window.__keyAt };";

/// Waits until the page's probe has seen what it expects; returns
/// `(seen at, key down at)`.
async fn seen(browser: &Browser, what: &str) -> (f64, Option<f64>) {
    let deadline = Instant::now() + KEY_DEADLINE;
    loop {
        let read = browser.execute(READ, vec![]).await;
        if let Some(at) = read["at"].as_f64() {
            return (at, read["key"].as_f64());
        }
        assert!(Instant::now() < deadline, "{what:?} was not shown after {KEY_DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn expect(browsers: &[&Browser], text: &str) {
    for browser in browsers {
        browser.execute(EXPECT, vec![json!(text)]).await;
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_owned()
}

#[tokio::main]
async fn main() {
    let keys: usize =
        std::env::var("LIVE_E2E_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    println!(
        "flush interval {:?}; {keys} keys; load average at the start: {}",
        termaudit_gateway::recorder::FLUSH_INTERVAL,
        load_average()
    );
    let (app, dir) = gateway_app(PROJECT).await;

    // Alice's shell on a production target, watched live by Vera.
    let WatchedShell { operator, watcher, .. } =
        watch_a_shell(&app, PROJECT, "bench: live end to end").await;
    operator.wait_for_text("[data-testid=watch-notice]", "is watching").await;

    operator.execute(PROBE, vec![json!("[data-testid=live-terminal]")]).await;
    watcher.execute(PROBE, vec![json!("[data-testid=watch-terminal]")]).await;
    let terminal = operator.wait_for("[data-testid=live-terminal]").await;
    let both = [&operator, &watcher];

    let (mut echo, mut watched) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for line in 0.. {
        if watched.len() >= keys {
            break;
        }
        // A prefix of its own, so the line typed so far is found only once.
        let mut typed = format!(": k{line:03} ");
        expect(&both, &typed).await;
        operator.type_into(&terminal, &typed).await;
        seen(&watcher, &typed).await;
        for key in LINE_KEYS.chars().take(keys - watched.len()) {
            typed.push(key);
            expect(&both, &typed).await;
            operator.type_into(&terminal, &key.to_string()).await;
            let (echoed, key_down) = seen(&operator, &typed).await;
            let key_down = key_down.expect("the operator's page heard the key");
            let (shown, _) = seen(&watcher, &typed).await;
            echo.push(echoed - key_down);
            watched.push(shown - key_down);
        }
        operator.type_into(&terminal, "\u{E007}").await;
    }
    let elapsed = started.elapsed();

    let mut extra: Vec<f64> = watched.iter().zip(&echo).map(|(w, e)| w - e).collect();
    // Sorted by the summaries: the first is the least.
    println!(
        "key → operator's own echo (bare):  {}  min {:.2} ms",
        latency_summary(&mut echo),
        echo[0]
    );
    println!(
        "key → watcher's screen:            {}  min {:.2} ms",
        latency_summary(&mut watched),
        watched[0]
    );
    println!(
        "watcher minus own echo:            {}  min {:.2} ms",
        latency_summary(&mut extra),
        extra[0]
    );
    println!(
        "{} keys in {:.1} s; load average at the end: {}",
        watched.len(),
        elapsed.as_secs_f64(),
        load_average()
    );
    drop(watcher);
    drop(operator);
    let _ = std::fs::remove_dir_all(dir);
}
