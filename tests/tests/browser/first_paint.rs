//! The page's frame (header and skeleton) comes with `index.html`, before
//! the web app's WebAssembly has arrived.

use std::path::Path;

use serde_json::json;
use termaudit_tests::{TestApp, browser::Browser, browser::require_built_frontend};

/// `from` copied to `to`, without the WebAssembly: an app that never starts.
fn copy_without_wasm(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for entry in std::fs::read_dir(from).expect("the built app").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_without_wasm(&path, &target);
        } else if !path.to_string_lossy().contains(".wasm") {
            std::fs::copy(&path, &target).expect("a copy");
        }
    }
}

#[tokio::test]
async fn the_header_and_a_skeleton_show_before_the_web_app_arrives() {
    let dist = require_built_frontend();
    let web = std::env::temp_dir().join(format!("termaudit-no-wasm-{}", uuid::Uuid::new_v4()));
    copy_without_wasm(&dist, &web);
    let served = web.clone();
    let app = TestApp::spawn_with(Box::new(move |settings| settings.web_dir = Some(served))).await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/projects/demo/sessions")).await;

    let brand = browser.wait_for("header.navbar .brand").await;
    assert!(browser.text(&brand).await.ends_with("termaudit"));
    let skeleton = browser.wait_for("[data-testid=skeleton]").await;
    let painted = browser
        .execute(
            "const r = arguments[0].getBoundingClientRect(), h = document.querySelector('header').getBoundingClientRect(); \
             return r.height > 100 && r.top >= h.bottom && h.height > 40 \
               && getComputedStyle(document.querySelector('.skeleton-line')).backgroundColor !== 'rgba(0, 0, 0, 0)';",
            vec![browser.reference(&skeleton)],
        )
        .await;
    assert_eq!(painted, json!(true), "the header and the skeleton are drawn, styled");
    // Screen readers hear that it is loading.
    assert_eq!(browser.attribute(&skeleton, "role").await.as_deref(), Some("status"));
    let _ = std::fs::remove_dir_all(web);
}
