//! termaudit's terminal gateway: it opens shells on targets, serves them to
//! browsers over WebSockets, and reports everything to termaudit through the
//! ingest API (`/api/v1`) with a `terminal.ingest` service token, exactly as
//! a third-party gateway would.
//!
//! A target's shell is a configured command (see [`config`]) run in a
//! pseudo-terminal, or for the demo's targets the built-in [`demo`]
//! program, which is no shell. The gateway runs inside `termaudit serve` (set
//! `TERMAUDIT_GATEWAY_TARGETS`) or on its own (`termaudit gateway`).
//!
//! # The WebSocket protocol
//!
//! **Authentication.** Browsers cannot set `Authorization` on a WebSocket,
//! so the user's bearer token comes either as the `token` query parameter or
//! as a subprotocol: `Sec-WebSocket-Protocol: termaudit.v1, bearer.<token>`
//! (the gateway answers with `termaudit.v1`, which the client must offer).
//! A missing or invalid token is refused with 401 before the upgrade; a
//! project the user holds no permission in, or an unknown target, with 404.
//!
//! **Opening a shell.**
//! `GET /gateway/v1/projects/{project}/terminals?target=NAME&reason=...&mode=shell&cols=80&rows=24`
//! upgrades, then the gateway opens the session through the API (a reason is
//! required for production targets) and starts the shell. `mode` defaults to
//! `shell` for application targets and `database` for database targets;
//! `cols` and `rows` to 80 x 24.
//!
//! **Reattaching.** When the socket drops, the shell lives on and the
//! session is reported dropped. The owner asks the API for a reconnect token
//! (`POST /api/v1/projects/{p}/sessions/{id}/reconnect`), opens
//! `GET /gateway/v1/projects/{project}/terminals/{session_id}/attach` and
//! sends the token as its first message, `{"type":"reconnect","token":"..."}`
//! (not in the URL, where proxies and logs would keep it), within 10 s; the
//! gateway redeems the token and reattaches the same shell. Only the user
//! who opened the shell may reattach (403 otherwise); a session this
//! gateway does not hold is 404; a first message that is not the token is
//! an `error` with status 400.
//!
//! **Messages.** Binary frames carry terminal bytes both ways: keystrokes
//! to the shell, output (UTF-8) to the browser. Text frames carry JSON
//! control messages ([`termaudit_api_types::gateway`]):
//! - browser → gateway: `{"type":"resize","cols":120,"rows":40}`, and
//!   first on a reattach `{"type":"reconnect","token":"..."}`;
//! - gateway → browser, first: `{"type":"opened","session":{...},"cols":80,"rows":24}`;
//!   on a reattach, a binary frame with the current screen follows (drawn
//!   for `cols` x `rows`);
//! - gateway → browser, whenever someone starts or stops watching the
//!   session live (the API's `watch.started` / `watch.stopped` control
//!   events): `{"type":"watching","watcher":"Vera","watching":true}`, a
//!   notice beside the output, never in the recording;
//! - gateway → browser, last: `{"type":"ended","reason":"revoked","by":"Carol","detail":"..."}`
//!   (`reason` is the session's close reason), then the socket closes;
//! - or, when the shell cannot be opened or reattached:
//!   `{"type":"error","status":400,"detail":"..."}`, then the socket closes.
//!
//! # What is reported
//! Output and resizes are recorded (when the API says the session is
//! recorded) as asciicast v2 chunks every 250 ms or 64 KiB; each line typed
//! up to Enter is a `command` activity (a database shell's statements are
//! database events instead); lines typed while the terminal hides them
//! (password prompts) are not reported. Heartbeats go every 15 s. Every
//! report is retried through API outages and is idempotent.

pub mod client;
pub mod config;
mod control;
pub mod demo;
pub mod input;
pub mod recorder;
mod report;
mod shell;
mod ws;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpServer, web};
use termaudit_api_types as dto;
use termaudit_domain::{Permission, TargetKind};
use uuid::Uuid;

pub use client::{ApiClient, CallError, ServiceToken};
pub use config::{ConfigError, Program, TargetConfig, Targets};
pub use control::{SseEvent, SseParser};
pub use shell::{HEARTBEAT_INTERVAL, TERM};

use shell::{Command, Ending, ShellHandle};

/// A user of the gateway, as their token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub subject: String,
    pub name: String,
    /// The projects the token grants any permission in.
    pub projects: Vec<String>,
    /// The projects whose shells the user may open (`terminal.connect`).
    pub may_connect: Vec<String>,
}

/// A verified token's holder, or why the token was refused.
pub type Verify = Arc<dyn Fn(String) -> VerifyFuture + Send + Sync>;
/// What [`Verify`] answers (checking a provider token may fetch its keys).
pub type VerifyFuture = futures_util::future::BoxFuture<'static, Result<User, String>>;

/// How users' tokens are checked: by the API's own authenticator when the
/// gateway runs inside the server, or by asking the API (`GET /api/v1/me`).
#[derive(Clone)]
pub enum UserAuth {
    Local(Verify),
    Remote,
}

/// The gateway: its targets, its shells, and its client of the API.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) targets: Targets,
    pub(crate) api: ApiClient,
    pub(crate) users: UserAuth,
    pub(crate) shells: Mutex<HashMap<Uuid, ShellHandle>>,
    target_ids: tokio::sync::Mutex<HashMap<(String, String), Uuid>>,
    listeners: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Per project: wakes its control-stream listener from its backoff.
    wakers: HashMap<String, Arc<tokio::sync::Notify>>,
}

impl Inner {
    /// A shell of `project` opened, so the project exists at the API: its
    /// control-stream listener, if waiting to retry (say the project was
    /// created after the gateway started), retries now rather than after its
    /// backoff, so that revokes and watches reach the shell at once.
    pub(crate) fn wake_listener(&self, project: &str) {
        if let Some(wake) = self.wakers.get(project) {
            wake.notify_one();
        }
    }
}

impl Gateway {
    pub fn new(targets: Targets, api: ApiClient, users: UserAuth) -> Self {
        Self {
            inner: Arc::new(Inner {
                api,
                users,
                shells: Mutex::default(),
                target_ids: tokio::sync::Mutex::default(),
                listeners: Mutex::default(),
                wakers: targets
                    .projects()
                    .into_iter()
                    .map(|project| (project, Arc::default()))
                    .collect(),
                targets,
            }),
        }
    }

    /// Starts listening to the control events of the targets' projects.
    pub fn start(&self) {
        let mut listeners = self.inner.listeners.lock().unwrap_or_else(|e| e.into_inner());
        for (project, wake) in &self.inner.wakers {
            let listening = control::listen(self.inner.clone(), project.clone(), wake.clone());
            listeners.push(tokio::spawn(listening));
        }
    }

    /// The gateway's routes, under `/gateway/v1`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.service(
            web::scope("/gateway/v1")
                .app_data(web::Data::new(self.clone()))
                .service(
                    web::resource("/projects/{project}/terminals").route(web::get().to(ws::open)),
                )
                .service(
                    web::resource("/projects/{project}/terminals/{id}/attach")
                        .route(web::get().to(ws::attach)),
                ),
        );
    }

    /// How many shells are live.
    pub fn shells(&self) -> usize {
        self.inner.shells.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Ends every shell and closes its session `gateway_lost` (recordings
    /// finalized), waiting up to `limit` for the reports; stops listening.
    pub async fn shutdown(&self, limit: Duration) {
        let shells: Vec<ShellHandle> = {
            let shells = self.inner.shells.lock().unwrap_or_else(|e| e.into_inner());
            shells.values().cloned().collect()
        };
        for shell in shells {
            let _ = shell.tx.send(Command::End(Ending::gateway_lost())).await;
        }
        let deadline = tokio::time::Instant::now() + limit;
        while self.shells() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for listener in self.inner.listeners.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            listener.abort();
        }
    }

    async fn authenticate(&self, token: &str) -> Result<User, ws::GatewayError> {
        match &self.inner.users {
            UserAuth::Local(verify) => {
                verify(token.to_owned()).await.map_err(ws::GatewayError::Unauthorized)
            }
            UserAuth::Remote => match self.inner.api.me(token).await {
                Ok(me) => Ok(User {
                    subject: me.subject,
                    name: me.name,
                    may_connect: me
                        .projects
                        .iter()
                        .filter(|p| p.permissions.iter().any(|p| p == Permission::Connect.as_str()))
                        .map(|p| p.slug.clone())
                        .collect(),
                    projects: me.projects.into_iter().map(|p| p.slug).collect(),
                }),
                Err(CallError::Refused { status: 401, detail, .. }) => {
                    Err(ws::GatewayError::Unauthorized(detail))
                }
                Err(err) => Err(ws::GatewayError::Unavailable(err.to_string())),
            },
        }
    }

    /// The API's id of a configured target, registering it on first use.
    async fn target_id(&self, target: &TargetConfig) -> Result<Uuid, CallError> {
        let key = (target.project.clone(), target.name.clone());
        let mut ids = self.inner.target_ids.lock().await;
        if let Some(id) = ids.get(&key) {
            return Ok(*id);
        }
        let api = &self.inner.api;
        let listed = api.targets(&target.project).await?;
        let id = match listed.items.into_iter().find(|t| t.name == target.name) {
            Some(existing) => existing.id,
            None => {
                let new = dto::NewTarget {
                    name: target.name.clone(),
                    kind: target.kind.to_string(),
                    environment: target.environment.clone(),
                    environment_class: target.environment_class.to_string(),
                };
                api.create_target(&target.project, &new).await?.id
            }
        };
        ids.insert(key, id);
        Ok(id)
    }

    /// Opens a session for `user` on `target` and starts its shell.
    async fn open(
        &self,
        user: &User,
        target: &TargetConfig,
        request: &ws::OpenQuery,
    ) -> Result<(ShellHandle, dto::Session), CallError> {
        let mode = request.mode.clone().unwrap_or_else(|| match target.kind {
            TargetKind::Database => "database".into(),
            _ => "shell".into(),
        });
        let open = dto::OpenSession {
            target_id: self.target_id(target).await?,
            user: dto::Person { subject: user.subject.clone(), name: user.name.clone() },
            mode,
            reason: request.reason.clone().filter(|r| !r.trim().is_empty()),
        };
        let session = self.inner.api.open_session(&target.project, &open).await?;
        let (cols, rows) = request.size();
        match shell::spawn(self.inner.clone(), target, &session, cols, rows) {
            Ok(handle) => Ok((handle, session)),
            Err(err) => {
                tracing::error!(target = %target.name, error = %err, "cannot start the shell");
                let closed =
                    self.inner.api.close_session(&target.project, session.id, "target_error").await;
                if let Err(err) = closed {
                    tracing::warn!(error = %err, "cannot close the session of a failed shell");
                }
                Err(CallError::Refused {
                    status: 502,
                    detail: format!("the target's shell could not be started: {err}"),
                    ended: None,
                })
            }
        }
    }
}

impl Gateway {
    /// Opens a shell for `user` on `target` with no browser: types `keys`,
    /// waits (up to 10 s) until the output shows `shown`, then leaves the
    /// shell as a closed tab does, dropped, for the user to reattach to
    /// within the grace window. The demo's dropped session is one.
    pub async fn open_dropped(
        &self,
        user: &User,
        project: &str,
        target: &str,
        keys: &[u8],
        shown: &str,
    ) -> Result<Uuid, CallError> {
        let refused = |detail: String| CallError::Refused { status: 404, detail, ended: None };
        let target = self
            .inner
            .targets
            .get(project, target)
            .cloned()
            .ok_or_else(|| refused(format!("this gateway has no target {target:?}")))?;
        let query = ws::OpenQuery {
            target: target.name.clone(),
            reason: None,
            mode: None,
            cols: Some(100),
            rows: Some(28),
            token: None,
        };
        let (shell, session) = self.open(user, &target, &query).await?;
        let (client, mut output) = tokio::sync::mpsc::channel(256);
        let (reply, attached) = tokio::sync::oneshot::channel();
        let gone = || refused("the shell ended at once".into());
        shell.tx.send(Command::Attach { client, reply }).await.map_err(|_| gone())?;
        let attached = attached.await.map_err(|_| gone())?;
        shell.tx.send(Command::Input(keys.to_vec().into())).await.map_err(|_| gone())?;
        let mut screen = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(out) = output.recv().await {
                if let shell::ToClient::Output(bytes) = out {
                    screen.push_str(&String::from_utf8_lossy(&bytes));
                    if screen.contains(shown) {
                        return;
                    }
                }
            }
        })
        .await;
        let _ = shell.tx.send(Command::Detach { attachment: attached.attachment }).await;
        Ok(session.id)
    }
}

/// A standalone gateway's HTTP server on `listener` (the caller handles
/// signals: [`Gateway::shutdown`], then stop the server).
pub fn server(
    gateway: Gateway,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    Ok(HttpServer::new(move || {
        let gateway = gateway.clone();
        App::new()
            .route("/healthz", web::get().to(|| async { "ok" }))
            .configure(move |cfg| gateway.configure(cfg))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(5)
    .run())
}
