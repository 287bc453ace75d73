//! How soon the web app paints and is ready on a slow connection: headless
//! Chromium with DevTools' "Fast 3G" throttling (562.5 ms round trip,
//! 1.44 Mbit/s down) opens `/` of the real server, cold (a fresh profile,
//! nothing cached), then once more in the same browser (a repeat visit).
//!
//! - first paint: `first-contentful-paint` ("Loading termaudit…");
//! - ready: the app has replaced that text with its first page (a
//!   `MutationObserver` installed before the page's own scripts notes the
//!   time);
//! - bytes: what went over the wire (`transferSize` of the page and every
//!   resource), and the wasm's share.
//!
//!     cargo test -p termaudit-tests --bench first_paint
//!
//! The server is the debug build: on this network its own time does not
//! show. `FIRST_PAINT_RUNS` (default 5) sets the cold runs (the median is
//! printed with the range); `FIRST_PAINT_WEB_DIR` serves another build of
//! the web app than `frontend/dist`. Figures are in docs/benchmarks.md.

use std::time::{Duration, Instant};

use serde_json::json;
use termaudit_tests::{
    TestApp,
    browser::{Browser, Network, require_built_frontend},
};

/// Notes `window.__termauditReady` when `#app` no longer shows the boot text.
const READY_PROBE: &str = r"
new MutationObserver((_, observer) => {
  const app = document.getElementById('app');
  if (app && app.childElementCount > 0 && !app.querySelector('.boot')) {
    window.__termauditReady = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
";

/// What one page load measured, in milliseconds and bytes.
const MEASURE: &str = r"
const paint = performance.getEntriesByName('first-contentful-paint')[0];
const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
const wasm = entries.find((e) => e.name.endsWith('.wasm'));
return {
  first_paint: paint ? paint.startTime : null,
  ready: window.__termauditReady ?? null,
  bytes: entries.reduce((sum, e) => sum + e.transferSize, 0),
  wasm_bytes: wasm ? wasm.transferSize : null,
};
";

#[derive(Debug, Clone, Copy)]
struct Load {
    first_paint: f64,
    ready: f64,
    bytes: f64,
    wasm_bytes: f64,
}

async fn load(browser: &Browser, url: &str) -> Load {
    browser.goto(url).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let measured = browser.execute(MEASURE, vec![]).await;
        if measured["ready"].is_number() && measured["first_paint"].is_number() {
            let get = |key: &str| measured[key].as_f64().unwrap_or(f64::NAN);
            return Load {
                first_paint: get("first_paint"),
                ready: get("ready"),
                bytes: get("bytes"),
                wasm_bytes: get("wasm_bytes"),
            };
        }
        assert!(Instant::now() < deadline, "the app was not ready after 3 minutes: {measured}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn row(label: &str, loads: &[Load]) {
    let series = |f: fn(&Load) -> f64| {
        let mut values: Vec<f64> = loads.iter().map(f).collect();
        let m = median(&mut values);
        (m, values[0], values[values.len() - 1])
    };
    let (paint, paint_min, paint_max) = series(|l| l.first_paint);
    let (ready, ready_min, ready_max) = series(|l| l.ready);
    let (bytes, _, _) = series(|l| l.bytes);
    let (wasm, _, _) = series(|l| l.wasm_bytes);
    println!(
        "{label:<13} n={}  first paint {paint:>6.0} ms ({paint_min:.0}-{paint_max:.0})  \
         ready {ready:>6.0} ms ({ready_min:.0}-{ready_max:.0})  \
         transferred {:>7.1} KiB (wasm {:.1} KiB)",
        loads.len(),
        bytes / 1024.0,
        wasm / 1024.0,
    );
}

#[tokio::main]
async fn main() {
    let runs: usize =
        std::env::var("FIRST_PAINT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let dist = match std::env::var_os("FIRST_PAINT_WEB_DIR") {
        Some(dir) => dir.into(),
        None => require_built_frontend(),
    };
    println!("web app: {}", dist.display());
    let app = TestApp::spawn_with(Box::new(move |settings| settings.web_dir = Some(dist))).await;
    let url = app.url("/");
    let (mut cold, mut repeat) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let browser = Browser::start().await;
        browser.throttle(Network::FAST_3G).await;
        browser
            .cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": READY_PROBE }))
            .await;
        cold.push(load(&browser, &url).await);
        repeat.push(load(&browser, &url).await);
    }
    println!("Fast 3G (562.5 ms, 1.44 Mbit/s down), median of {runs} (range):");
    row("cold", &cold);
    row("repeat visit", &repeat);
}
