//! The termaudit server: wires configuration, the database pool, the HTTP
//! server and the background tasks together.

mod compactor;
mod demo;
mod export;
pub mod gateway;
mod moving;
mod secret;
mod sequencer;
mod settings;
pub mod verify;

use std::{net::TcpListener, sync::Arc, time::Duration};

use anyhow::Context;
use termaudit_api::{
    AppState, AuthConfig, Authenticator, OidcConfig, SecurityHeaders, TokenIssuer,
};
use termaudit_storage::{DatabaseUrl, ObjectTarget, Store};

pub use export::{ExportJob, export_history};
pub use moving::move_recordings;
pub use settings::{
    DEFAULT_BIND, DEFAULT_DATABASE_URL, Settings, Variable, variables, variables_markdown,
};

/// Creates the database when missing and applies migrations, both as the
/// tables' owner (`TERMAUDIT_MIGRATE_DATABASE_URL`), then connects as the
/// server's role (`DATABASE_URL`).
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<Store> {
    let owner = migrate_database_url(settings)?;
    termaudit_storage::ensure_database(&owner).await?;
    termaudit_storage::migrate(&owner).await?;
    Ok(Store::new(&database_url(settings)?, settings.db_pool_size)?)
}

/// The object store recordings are compacted into (`None`: PostgreSQL
/// keeps their bytes), checked: a missing bucket or refused credentials
/// are an error that says so.
pub async fn recordings_objects(settings: &Settings) -> anyhow::Result<Option<ObjectTarget>> {
    Ok(ObjectTarget::open(&settings.recordings_store, &settings.s3)
        .await?
        .map(|target| target.with_cache(settings.object_cache_bytes)))
}

/// What the server serves with.
pub fn database_url(settings: &Settings) -> anyhow::Result<DatabaseUrl> {
    DatabaseUrl::parse(&settings.database_url).context("DATABASE_URL is invalid")
}

/// What migrations run with: `TERMAUDIT_MIGRATE_DATABASE_URL`, else `DATABASE_URL`.
pub fn migrate_database_url(settings: &Settings) -> anyhow::Result<DatabaseUrl> {
    match &settings.migrate_database_url {
        Some(url) => DatabaseUrl::parse(url).context("TERMAUDIT_MIGRATE_DATABASE_URL is invalid"),
        None => database_url(settings),
    }
}

/// Warns when the server's role could rewrite the audit log: it owns the
/// tables or is a superuser (one URL for both migrating and serving).
async fn warn_if_owner(store: &Store) -> anyhow::Result<()> {
    let role = store.serving_role().await?;
    if role.superuser || role.owns_tables {
        tracing::warn!(
            role = %role.name,
            superuser = role.superuser,
            "termaudit serves as the tables' owner: the audit log is then append-only only \
             against polite statements (an owner can disable its triggers or drop it); set \
             DATABASE_URL to the role termaudit_app and TERMAUDIT_MIGRATE_DATABASE_URL to the \
             owner (README, Database roles)"
        );
    }
    Ok(())
}

pub fn auth_config(settings: &Settings) -> anyhow::Result<AuthConfig> {
    let public_key_pem = match &settings.jwt_public_key_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the JWT public key {}", path.display()))?,
        ),
        None => None,
    };
    Ok(AuthConfig {
        secret: secret::jwt_secret(settings)?,
        public_key_pem,
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
        oidc: oidc_config(settings),
    })
}

/// The OpenID provider's settings, when `TERMAUDIT_OIDC_ISSUER` is set.
fn oidc_config(settings: &Settings) -> Option<OidcConfig> {
    let issuer = settings.oidc_issuer.clone()?;
    let client_id = settings.oidc_client_id.clone()?;
    Some(OidcConfig {
        audience: settings.oidc_audience.clone().unwrap_or_else(|| client_id.clone()),
        issuer,
        client_id,
        scopes: settings.oidc_scopes.clone(),
        claims: settings.oidc_claims.clone(),
        refresh_interval: OIDC_KEYS_REFRESH,
    })
}

/// How often the OpenID provider's keys are fetched again (besides when a
/// token names a key not seen yet).
const OIDC_KEYS_REFRESH: Duration = Duration::from_secs(3600);

/// The origin the web app signs in through: the configured one, else the
/// OpenID issuer's.
fn identity_provider_origin(settings: &Settings) -> Option<String> {
    settings.identity_provider_origin.clone().or_else(|| {
        let issuer =
            termaudit_api::auth::oidc::allowed_url(settings.oidc_issuer.as_deref()?).ok()?;
        Some(issuer.origin().ascii_serialization())
    })
}

/// The key that signs the audit log's tree heads and recordings' manifests.
pub fn signing_key(
    settings: &Settings,
) -> anyhow::Result<termaudit_domain::transparency::LogSigner> {
    secret::signing_key(settings)
}

pub fn token_issuer(settings: &Settings) -> anyhow::Result<TokenIssuer> {
    Ok(TokenIssuer::new(&auth_config(settings)?))
}

/// A built server, bound to its port but not running yet.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    store: Store,
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The recordings' emulation workers: given time to hand their leases
    /// back when the server stops.
    emulation: tokio::task::JoinHandle<()>,
    shutdown: tokio_util::sync::CancellationToken,
    gateway: Option<termaudit_gateway::Gateway>,
}

/// Stops a running [`Application`] the way a crash does, for tests of what
/// other replicas and restarts make of it: no request finishes, no lease is
/// handed back, no background task runs another step.
pub struct CrashHandle {
    server: actix_web::dev::ServerHandle,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl CrashHandle {
    pub async fn crash(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.server.stop(false).await;
    }
}

/// How often dropped sessions, quiet gateways and abandoned exports are checked.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(5);

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_hooks(settings, Vec::new()).await
    }

    /// [`Application::build`], with `hooks` fed every chunk this replica's
    /// emulation workers play.
    pub async fn build_with_hooks(
        settings: Settings,
        hooks: termaudit_emulation::Hooks,
    ) -> anyhow::Result<Self> {
        // The configuration first: a bad one fails before the database is touched.
        let security_headers = SecurityHeaders::new(identity_provider_origin(&settings).as_deref())
            .context("TERMAUDIT_IDENTITY_PROVIDER_ORIGIN is invalid")?;
        let auth = auth_config(&settings)?;
        let authenticator = Arc::new(Authenticator::new(&auth)?);
        let signer = Arc::new(secret::signing_key(&settings)?);
        let objects = recordings_objects(&settings).await?;
        let store = prepare_database(&settings)
            .await?
            .with_objects(objects)
            .with_bulk_ingest(settings.bulk_ingest_bytes_per_second);
        store.register_signing_key(&signer).await?;
        warn_if_owner(&store).await?;
        let (control, _) = tokio::sync::broadcast::channel(1024);
        let (live, _) = tokio::sync::broadcast::channel(4096);
        let stopping = tokio_util::sync::CancellationToken::new();
        let state = Arc::new(AppState {
            store: store.clone(),
            authenticator: authenticator.clone(),
            control: control.clone(),
            live: live.clone(),
            retention_interval: settings.retention_interval.unwrap_or(Duration::from_secs(3600)),
            demo: settings
                .demo
                .then(|| termaudit_api::demo::DemoMode { issuer: TokenIssuer::new(&auth) }),
            signer: signer.clone(),
            security_headers,
            stopping: stopping.clone(),
        });
        let shutdown = tokio_util::sync::CancellationToken::new();
        let mut background = vec![
            tokio::spawn(termaudit_storage::run_control_listener(
                database_url(&settings)?,
                control,
            )),
            tokio::spawn(termaudit_storage::run_cache_listener(
                database_url(&settings)?,
                store.clone(),
            )),
            tokio::spawn(termaudit_storage::run_live_listener(database_url(&settings)?, live)),
            tokio::spawn(expire_sessions(store.clone(), settings.heartbeat_timeout)),
            tokio::spawn(end_lost_watches(store.clone())),
            tokio::spawn(sequencer::run(
                store.clone(),
                database_url(&settings)?,
                signer,
                settings.tree_head_interval,
                shutdown.clone(),
            )),
            tokio::spawn(end_abandoned_exports(store.clone())),
            tokio::spawn(compactor::run(
                store.clone(),
                database_url(&settings)?,
                termaudit_storage::CompactOptions {
                    yield_to_ingest: settings.yield_to_ingest,
                    ..Default::default()
                },
                shutdown.clone(),
            )),
        ];
        if let Some(oidc) = authenticator.oidc() {
            background.push(tokio::spawn(oidc.clone().keep_fresh()));
        }
        if settings.demo {
            background.push(tokio::spawn(demo::keep_alive(store.clone())));
        }
        if let Some(interval) = settings.retention_interval {
            background.push(tokio::spawn(termaudit_retention::run(
                store.clone(),
                database_url(&settings)?,
                interval,
                shutdown.clone(),
            )));
        }
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let targets =
            match &settings.gateway_targets {
                Some(path) => Some(termaudit_gateway::Targets::load(path).with_context(|| {
                    format!("cannot set up the gateway from {}", path.display())
                })?),
                None if settings.demo => demo::terminals::targets(listener.local_addr()?)?,
                None => None,
            };
        let demo_terminals =
            settings.demo && settings.gateway_targets.is_none() && targets.is_some();
        if settings.demo {
            demo::load(&store, !demo_terminals).await.context("cannot load the demo data")?;
        }
        let web_dir = settings.web_dir.clone();
        if web_dir.is_none() {
            tracing::warn!(
                "no built web app found; only the API is served (run scripts/build-frontend.sh)"
            );
        }
        let gateway = match targets {
            Some(targets) => Some(gateway::in_process(
                targets,
                &auth,
                authenticator.clone(),
                listener.local_addr()?,
            )?),
            None => None,
        };
        let routes = gateway.clone();
        // The requests' connections are split among the workers; the
        // shared pool serves the background work.
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let worker_pool = (settings.db_pool_size / workers).max(2);
        let server = actix_web::HttpServer::new(move || {
            let routes = routes.clone();
            // Each worker's requests use a pool of its own, whose
            // connections it opens itself: their tasks run on its thread.
            let state = match state.store.with_own_pool(worker_pool) {
                Ok(store) => Arc::new(AppState { store, ..(*state).clone() }),
                Err(err) => {
                    tracing::error!(error = %err, "no pool of its own for a worker: it uses the shared one");
                    state.clone()
                }
            };
            termaudit_api::app(state, web_dir.clone(), move |cfg| {
                if let Some(gateway) = routes {
                    gateway.configure(cfg);
                }
            })
        })
        .workers(workers)
        .listen(listener)?
        .shutdown_timeout(30);
        // The signals are ours: the gateway's shells and the event streams
        // end before the server waits for its requests to finish.
        let server = server.disable_signals().run();
        if let Some(gateway) = &gateway {
            gateway.start();
            if demo_terminals {
                background.push(tokio::spawn(demo::terminals::leave_alice_a_dropped_shell(
                    gateway.clone(),
                )));
            }
        }
        background.push(tokio::spawn(gateway::stop_serving_on_signal(
            gateway.clone(),
            stopping,
            server.handle(),
        )));
        let emulation = tokio::spawn(termaudit_emulation::run(
            store.clone(),
            termaudit_emulation::EmulationOptions {
                nice: settings.emulation_nice,
                yield_to_ingest: settings.yield_to_ingest,
                text_group_bytes: settings.text_group_bytes,
                ..termaudit_emulation::EmulationOptions::new(
                    settings.emulation_workers,
                    settings.emulation_lease,
                )
            },
            hooks,
            shutdown.clone(),
        ));
        Ok(Self { port, server, store, background, emulation, shutdown, gateway })
    }

    /// What stops this server as a crash would, once it runs.
    pub fn crash_handle(&self) -> CrashHandle {
        let mut tasks: Vec<_> = self.background.iter().map(|t| t.abort_handle()).collect();
        tasks.push(self.emulation.abort_handle());
        CrashHandle { server: self.server.handle(), tasks }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The in-process terminal gateway, when `TERMAUDIT_GATEWAY_TARGETS` is set.
    pub fn gateway(&self) -> Option<&termaudit_gateway::Gateway> {
        self.gateway.as_ref()
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.server.await;
        // Let a sweep finish its current batch and the emulation hand its
        // leases back (it gives up after a few seconds), then stop whatever
        // is left.
        self.shutdown.cancel();
        let _ = self.emulation.await;
        for task in self.background {
            task.abort();
        }
        Ok(result?)
    }
}

/// Ends as `interrupted` the exports whose process died (on any replica,
/// or a `termaudit export` killed), at start-up and then every
/// [`EXPIRY_INTERVAL`].
async fn end_abandoned_exports(store: Store) {
    let mut interval = tokio::time::interval(EXPIRY_INTERVAL);
    loop {
        interval.tick().await;
        match store.end_abandoned_exports().await {
            Ok(0) => {}
            Ok(ended) => tracing::warn!(ended, "ended exports whose process died"),
            Err(err) => {
                tracing::warn!(error = %err, "cannot check for abandoned exports; retrying")
            }
        }
    }
}

/// Closes dropped sessions whose grace window passed and drops sessions whose
/// gateway stopped heartbeating (reads close them lazily as well).
/// Ends the live watches whose replica died (their lease expired), each
/// with its entry in the audit log, every [`EXPIRY_INTERVAL`].
async fn end_lost_watches(store: Store) {
    let mut interval = tokio::time::interval(EXPIRY_INTERVAL);
    loop {
        interval.tick().await;
        match store.end_lost_watches(100).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "ended live watches whose replica is gone"),
            Err(err) => tracing::warn!(error = %err, "ending lost live watches failed; retrying"),
        }
    }
}

async fn expire_sessions(store: Store, heartbeat_timeout: Duration) {
    let timeout =
        chrono::Duration::from_std(heartbeat_timeout).unwrap_or(chrono::Duration::seconds(60));
    let mut interval = tokio::time::interval(EXPIRY_INTERVAL);
    loop {
        interval.tick().await;
        match store.expire_sessions(chrono::Utc::now(), timeout).await {
            Ok(report) if report != Default::default() => {
                tracing::info!(?report, "expired sessions");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "session expiry failed; retrying"),
        }
    }
}
