//! Accessibility checks with axe-core (npm, pinned in
//! `tests/tools/package-lock.json`): [`assert_accessible`] injects
//! `axe.min.js` into the page the browser shows, runs it, and fails with
//! every violation axe finds, each with its rule, help and the elements.
//!
//! The file comes from the npm tools `scripts/ensure-tools.sh` installs
//! (once per lockfile), so the same pinned axe runs here and in CI;
//! `TERMAUDIT_AXE_JS` names another copy.

use std::{path::PathBuf, sync::OnceLock};

use serde_json::{Value, json};

use crate::browser::Browser;

/// `axe.min.js`'s source, read once per test binary.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = axe_path();
        std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "cannot read axe-core at {} ({err}); run scripts/ensure-tools.sh",
                path.display()
            )
        })
    })
}

fn axe_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TERMAUDIT_AXE_JS") {
        return PathBuf::from(path);
    }
    node_modules().join("axe-core/axe.min.js")
}

/// The `node_modules` of the npm tools `scripts/ensure-tools.sh` installs
/// (once per lockfile): axe-core here, oidc-provider for [`crate::oidc`].
pub fn node_modules() -> PathBuf {
    // The npm entry of the tools' PATH is `…/node_modules/.bin`.
    let path = crate::tools_path();
    let bin = path
        .iter()
        .find(|entry| entry.ends_with("node_modules/.bin"))
        .unwrap_or_else(|| panic!("ensure-tools.sh printed no node_modules/.bin: {path:?}"));
    // `.bin` itself exists only when a package installs a command.
    bin.parent().expect("node_modules").to_path_buf()
}

/// axe's findings on the page as it is now: `violations`, each
/// `{id, impact, help, nodes: [{target, failureSummary}]}`.
pub async fn axe_violations(browser: &Browser) -> Vec<Value> {
    let present = browser.execute("return typeof window.axe === 'object';", vec![]).await;
    if present != json!(true) {
        // A script element runs in the page's own scope (the CSP allows no
        // inline script; WebDriver's injected scripts are exempt).
        browser.execute("(0, eval)(arguments[0]); return true;", vec![json!(axe_source())]).await;
    }
    // WebDriver waits for the promise a script returns.
    let result = browser
        .execute(
            "return axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ \
               id: v.id, impact: v.impact, help: v.help, \
               nodes: v.nodes.map(n => ({ target: n.target, html: n.html, summary: n.failureSummary })) })));",
            vec![],
        )
        .await;
    result.as_array().cloned().unwrap_or_default()
}

/// axe's violations on the page as it is now, as readable text (empty
/// when there are none); `page` names the page in it.
pub async fn axe_report(browser: &Browser, page: &str) -> String {
    let violations = axe_violations(browser).await;
    if violations.is_empty() {
        return String::new();
    }
    let mut report = format!("axe-core found {} violation(s) on {page}:\n", violations.len());
    for violation in &violations {
        report.push_str(&format!(
            "- {} ({}): {}\n",
            violation["id"].as_str().unwrap_or_default(),
            violation["impact"].as_str().unwrap_or("?"),
            violation["help"].as_str().unwrap_or_default()
        ));
        for node in violation["nodes"].as_array().into_iter().flatten() {
            report.push_str(&format!(
                "    {} {}\n      {}\n",
                node["target"],
                node["html"].as_str().unwrap_or_default(),
                node["summary"].as_str().unwrap_or_default().replace('\n', "\n      ")
            ));
        }
    }
    report
}

/// Fails when axe finds any violation on the page; `page` names it in the message.
pub async fn assert_accessible(browser: &Browser, page: &str) {
    let report = axe_report(browser, page).await;
    assert!(report.is_empty(), "{report}");
}
