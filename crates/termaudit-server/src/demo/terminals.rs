//! The demo's terminals: the gateway runs inside the demo server with the
//! demo targets, each running the built-in demo program (never a shell:
//! demo sign-in needs no secret). It runs only on a loopback address, where
//! only this machine's users reach it.

use std::net::SocketAddr;

use termaudit_domain::TargetKind;
use termaudit_gateway::{CallError, Gateway, Program, TargetConfig, Targets, User};

use super::{ALICE, DEMO_PROJECT, TARGETS};

/// The demo targets, each running the demo program; `None` (with a
/// warning) when the server listens on anything but a loopback address.
pub fn targets(bound: SocketAddr) -> anyhow::Result<Option<Targets>> {
    if !bound.ip().is_loopback() {
        tracing::warn!(
            address = %bound,
            "the demo's terminals run only on a loopback address (demo sign-in needs no \
             secret): the gateway is off; the rest of the demo is served"
        );
        return Ok(None);
    }
    let targets = TARGETS
        .iter()
        .map(|&(name, kind, environment, environment_class)| TargetConfig {
            project: DEMO_PROJECT.into(),
            name: name.into(),
            kind,
            environment: environment.into(),
            environment_class,
            program: Program::Demo,
            cwd: None,
            env: Default::default(),
            database: (kind == TargetKind::Database).then(|| "orders".into()),
        })
        .collect();
    Ok(Some(Targets::new(targets)?))
}

/// Opens Alice's dropped session: a demo terminal on the staging target
/// where she ran `status`, left as a closed browser tab leaves it, for her
/// to reconnect to. Waits for the API, which starts with the server.
pub async fn leave_alice_a_dropped_shell(gateway: Gateway) {
    let (subject, name) = ALICE;
    let alice = User {
        subject: subject.into(),
        name: name.into(),
        projects: vec![DEMO_PROJECT.into()],
        may_connect: vec![DEMO_PROJECT.into()],
    };
    let target = TARGETS[2].0;
    let mut wait = std::time::Duration::from_millis(100);
    for _ in 0..20 {
        match gateway.open_dropped(&alice, DEMO_PROJECT, target, b"status\r", "Active:").await {
            Ok(session) => {
                tracing::info!(%session, "Alice's demo session is dropped, ready to reconnect");
                return;
            }
            Err(CallError::Unavailable(why)) => {
                tracing::debug!(%why, "waiting for the API to open Alice's demo session");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(2));
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot open Alice's dropped demo session");
                return;
            }
        }
    }
    tracing::warn!("the API never answered: Alice's demo session was not opened");
}
