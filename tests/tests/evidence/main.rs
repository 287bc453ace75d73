//! The transparency log over the audit trail: proofs checked against an
//! independent RFC 9162 verifier, the sequencer (before and alongside the
//! writers), signed heads and manifests over HTTP.

mod log;
mod proofs;
mod sequencer;

use std::{future::Future, time::Duration};

use termaudit_tests::TestApp;

pub(crate) const PROJECT: &str = "demo";

/// A server that signs a tree head every second when the log grew.
pub(crate) async fn spawn() -> TestApp {
    let app =
        TestApp::spawn_with(Box::new(|s| s.tree_head_interval = Duration::from_secs(1))).await;
    app.create_project(PROJECT).await;
    app
}

/// Polls `check` until it yields a value; fails after a minute (a bound on
/// a test that would otherwise hang, not a measurement).
pub(crate) async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
