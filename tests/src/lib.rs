//! The end-to-end test harness: [`TestApp::spawn`] starts the real server on
//! a free port against its own PostgreSQL database, created from a migrated
//! template and dropped when the test ends, so tests run in parallel.

pub mod axe;
pub mod browser;
mod db;
pub mod emulation;
pub mod gateway_shell;
pub mod moto;
pub mod oidc;
pub mod private_pg;
pub mod process;
pub mod retention;
pub mod rfc9162;
pub mod seed;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use chrono::{Duration, Utc};
use serde::{Serialize, de::DeserializeOwned};
use termaudit_api::{AuthConfig, TokenIssuer};
use termaudit_domain::Permission;
use termaudit_emulation::Hooks;
use termaudit_server::{Application, CrashHandle, Settings};
use termaudit_storage::Store;

pub use db::{APP_ROLE, TestDatabase};
pub use private_pg::{PrivatePg, StopMode};

/// The HS256 secret every test server uses.
pub const TEST_SECRET: &str = "termaudit-test-secret-0123456789abcdef";
pub const ISSUER: &str = "termaudit";
pub const AUDIENCE: &str = "termaudit";

/// The repository's root, for fixtures.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directories `scripts/ensure-tools.sh` puts the test tools in (the
/// Python virtualenv's `bin`, npm's `node_modules/.bin`), installing them
/// first when missing.
pub fn tools_path() -> Vec<PathBuf> {
    let script = repo_root().join("scripts/ensure-tools.sh");
    let output = std::process::Command::new(&script)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {} ({err})", script.display()));
    assert!(
        output.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().split(':').map(PathBuf::from).collect()
}

pub fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(path)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    /// Shared with the replicas of [`TestApp::spawn_replica`]; dropped with the last.
    pub db: Arc<TestDatabase>,
    issuer: TokenIssuer,
    crash: std::sync::Mutex<Option<CrashHandle>>,
}

/// Changes to the settings a test server starts with.
pub type Configure = Box<dyn FnOnce(&mut Settings)>;

/// The HTTP client of tests that talk to a server of ours. It drops a pooled
/// connection after 2 s idle, before the server's keep-alive (actix-web's
/// default, 5 s) closes it: reusing a connection just as the server closes
/// it fails the request (`IncompleteMessage`), which a test that waited a few
/// seconds (for compaction, say) would otherwise meet now and then.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("an HTTP client")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Box::new(|_| {})).await
    }

    pub async fn spawn_with(configure: Configure) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            // Shows the server's log (with request ids) for a failing test.
            let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
        }
        Self::start(Arc::new(TestDatabase::create().await), configure, Vec::new()).await
    }

    /// [`TestApp::spawn_with`], with `hooks` fed what its emulation workers play.
    pub async fn spawn_with_hooks(configure: Configure, hooks: Hooks) -> TestApp {
        Self::start(Arc::new(TestDatabase::create().await), configure, hooks).await
    }

    /// [`TestApp::spawn_with`] on a database the caller created with
    /// [`TestDatabase::create`], and may have prepared before the server
    /// starts (a bench holds the compactor's lock, say).
    pub async fn spawn_on_database(db: Arc<TestDatabase>, configure: Configure) -> TestApp {
        Self::start(db, configure, Vec::new()).await
    }

    /// The server against `database_url` (a test's [`PrivatePg`]): it creates
    /// the database when missing and applies the migrations, as in production.
    /// The database is left as it is when the test ends.
    pub async fn spawn_on(database_url: &str) -> TestApp {
        Self::start(Arc::new(TestDatabase::existing(database_url)), Box::new(|_| {}), Vec::new())
            .await
    }

    /// [`TestApp::spawn_on`] with changed settings.
    pub async fn spawn_on_with(database_url: &str, configure: Configure) -> TestApp {
        Self::start(Arc::new(TestDatabase::existing(database_url)), configure, Vec::new()).await
    }

    /// A second server on the same database, as a second replica behind a
    /// load balancer: its own pool, control listener and background tasks.
    pub async fn spawn_replica(&self) -> TestApp {
        Self::start(self.db.clone(), Box::new(|_| {}), Vec::new()).await
    }

    /// [`TestApp::spawn_replica`] with changed settings and emulation hooks.
    pub async fn spawn_replica_with(&self, configure: Configure, hooks: Hooks) -> TestApp {
        Self::start(self.db.clone(), configure, hooks).await
    }

    /// Stops this server as a crash would: no lease handed back, no
    /// request finished. Its database stays for the other replicas.
    pub async fn crash(&self) {
        let handle = self.crash.lock().expect("not poisoned").take();
        if let Some(handle) = handle {
            handle.crash().await;
        }
    }

    async fn start(db: Arc<TestDatabase>, configure: Configure, hooks: Hooks) -> TestApp {
        let data_dir = std::env::temp_dir().join(format!("termaudit-test-{}", db.name()));
        let mut settings = Settings {
            // Served as the app role, migrated as the owner: as in production.
            database_url: db.app_url(),
            migrate_database_url: Some(db.url()),
            bind: "127.0.0.1:0".into(),
            jwt_secret: Some(TEST_SECRET.into()),
            jwt_issuer: ISSUER.into(),
            jwt_audience: AUDIENCE.into(),
            data_dir,
            db_pool_size: 4,
            // Tests drive the sweep themselves, with a chosen `now`.
            retention_interval: None,
            ..Settings::default()
        };
        configure(&mut settings);
        let app = Application::build_with_hooks(settings, hooks).await.expect("the server starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let store = app.store().clone();
        let crash = std::sync::Mutex::new(Some(app.crash_handle()));
        tokio::spawn(app.run_until_stopped());
        let issuer = TokenIssuer::new(&AuthConfig {
            secret: TEST_SECRET.as_bytes().to_vec(),
            public_key_pem: None,
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            oidc: None,
        });
        TestApp { address, client: http_client(), store, db, issuer, crash }
    }

    /// The URL the server serves with (the app role), for code that connects
    /// on its own as the server does (the sweeper lock).
    pub fn database_url(&self) -> termaudit_storage::DatabaseUrl {
        termaudit_storage::DatabaseUrl::parse(&self.db.app_url()).expect("a valid URL")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A valid token for `subject` with `permissions` in `project`.
    pub fn token(&self, subject: &str, project: &str, permissions: &[Permission]) -> String {
        self.token_for(subject, BTreeMap::from([(project.to_owned(), permissions.to_vec())]))
    }

    pub fn token_for(&self, subject: &str, grants: BTreeMap<String, Vec<Permission>>) -> String {
        self.issuer
            .issue(
                subject,
                Some(&format!("{subject} (test)")),
                grants,
                Utc::now(),
                Duration::hours(1),
            )
            .expect("a token")
    }

    /// Signs arbitrary claims with the server's secret.
    pub fn sign(&self, claims: &impl Serialize) -> String {
        self.issuer.sign(claims).expect("a token")
    }

    /// Registers a project the way an operator does.
    pub async fn create_project(&self, slug: &str) {
        let slug = termaudit_domain::ProjectSlug::parse(slug).expect("a valid slug");
        let name =
            termaudit_domain::ProjectName::parse(&format!("Project {slug}")).expect("a name");
        self.store.create_project(&slug, &name).await.expect("the project is created");
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the request is sent")
    }

    pub async fn post(&self, path: &str, token: &str, body: &impl Serialize) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("the request is sent")
    }

    pub async fn put(&self, path: &str, token: &str, body: &impl Serialize) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("the request is sent")
    }
}

/// Whether a backend of `db`'s database waits for a lock (a request or a
/// worker held up by a lock a test holds).
pub async fn someone_waits_for_a_lock(db: &tokio_postgres::Client) -> bool {
    db.query_one(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
        &[],
    )
    .await
    .expect("a query")
    .get::<_, i64>(0)
        > 0
}

/// `claims` with `overrides` applied: each replaces a claim, or removes it
/// when null (for tokens that lack or change one claim).
pub fn with_overrides(
    mut claims: serde_json::Value,
    overrides: serde_json::Value,
) -> serde_json::Value {
    for (key, value) in overrides.as_object().expect("an object") {
        if value.is_null() {
            claims.as_object_mut().expect("an object").remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

/// Asserts the status and reads the JSON body.
pub async fn json<T: DeserializeOwned>(response: reqwest::Response, status: u16) -> T {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("invalid JSON ({err}): {text}"))
}

/// Asserts that the response is a problem+json with `status` and `type` suffix
/// `kind`, and returns it.
pub async fn problem(response: reqwest::Response, status: u16, kind: &str) -> serde_json::Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let request_id =
        response.headers().get("x-request-id").map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: serde_json::Value = json(response, status).await;
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["type"], format!("urn:termaudit:problem:{kind}"), "body: {body}");
    assert_eq!(body["status"], status, "body: {body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "body: {body}");
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()), "body: {body}");
    assert_eq!(body["request_id"].as_str().map(ToOwned::to_owned), request_id, "body: {body}");
    body
}

/// Writes a gateway targets file for `project` in a new temp dir: `web`
/// (non-production) and `prod-web` (production), both `/bin/sh` with a `$ `
/// prompt in that dir. Returns the dir and the file.
pub fn shell_targets(project: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("termaudit-gw-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let target = |name: &str, class: &str| {
        format!(
            "[[target]]\nproject = \"{project}\"\nname = \"{name}\"\nkind = \"application\"\n\
             environment = \"{class}-env\"\nenvironment_class = \"{class}\"\n\
             command = [\"/bin/sh\"]\ncwd = \"{}\"\nenv = {{ PS1 = \"$ \", HOME = \"{0}\" }}\n\n",
            dir.display()
        )
    };
    let targets = dir.join("targets.toml");
    let text = format!("{}{}", target("web", "non_production"), target("prod-web", "production"));
    std::fs::write(&targets, text).expect("the targets file is written");
    (dir, targets)
}

/// p50, p99 and max of `samples` (milliseconds, sorted in place), for the
/// benches: `n=…  p50 … ms  p99 … ms  max … ms`.
pub fn latency_summary(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    format!(
        "n={:>5}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        samples.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}
