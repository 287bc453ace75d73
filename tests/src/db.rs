//! One database per test, cloned from a migrated template.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    time::Duration,
};

use termaudit_storage::DatabaseUrl;
use tokio_postgres::error::SqlState;

/// The server tests use: `TEST_DATABASE_URL`, or the local one.
fn server_url() -> DatabaseUrl {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    DatabaseUrl::parse(&url).expect("TEST_DATABASE_URL is valid")
}

/// The template's name changes with the migrations, so a changed migration
/// gets a fresh template.
fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    let dir = super::repo_root().join("migrations");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("the migrations directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path).expect("a migration").hash(&mut hasher);
    }
    format!("termaudit_template_{:016x}", hasher.finish())
}

/// The role the server serves with.
pub const APP_ROLE: &str = "termaudit_app";

const TEMPLATE_LOCK: i64 = 0x7465_7374_7465_6d70; // "testtemp"

pub struct TestDatabase {
    name: String,
    url: DatabaseUrl,
    /// Created here and dropped with this value (not so for [`TestDatabase::existing`]).
    owned: bool,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let server = server_url();
        let admin = server.with_database("postgres").connect().await.expect(
            "PostgreSQL answers at TEST_DATABASE_URL (scripts/test.sh starts one when none runs)",
        );
        let template = template_name();
        admin.execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK]).await.expect("lock");
        let exists = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
            .await
            .expect("query")
            .is_some();
        if !exists {
            let building = format!("{template}_building");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .await
                .expect("drop a half-built template");
            admin.batch_execute(&format!("CREATE DATABASE {building}")).await.expect("create");
            termaudit_storage::migrate(&server.with_database(&building))
                .await
                .expect("the migrations apply");
            rename_when_idle(&admin, &building, &template).await;
        }
        admin.execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK]).await.expect("unlock");

        let name = format!("termaudit_test_{}", uuid::Uuid::new_v4().simple());
        for attempt in 0.. {
            match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await
            {
                Ok(()) => break,
                // The template is briefly in use while another test copies it.
                Err(err) if err.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < 100 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("cannot create the test database: {err}"),
            }
        }
        TestDatabase { url: server.with_database(&name), name, owned: true }
    }

    /// A database elsewhere (a test's private server), left as it is when dropped.
    pub fn existing(url: &str) -> TestDatabase {
        let url = DatabaseUrl::parse(url).expect("a valid database URL");
        TestDatabase { name: url.database_name().to_owned(), url, owned: false }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The owner's URL (the superuser's): what migrations run with.
    pub fn url(&self) -> String {
        let config = self.url.config();
        let user = config.get_user().unwrap_or("postgres");
        let password = config
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        self.url_as(&format!("{user}{password}"))
    }

    /// The server's URL: the role the migrations create, which owns nothing
    /// (`migrations/V8__app_role.sql`; trust authentication, no password).
    pub fn app_url(&self) -> String {
        self.url_as(APP_ROLE)
    }

    fn url_as(&self, user_and_password: &str) -> String {
        let config = self.url.config();
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        format!("postgres://{user_and_password}@{host}:{port}/{}", self.name)
    }

    /// A store on this database (a pool of `pool` connections) and a new
    /// project `slug` in it, for tests below the server.
    pub async fn store_with_project(
        &self,
        slug: &str,
        pool: usize,
    ) -> (termaudit_storage::Store, termaudit_storage::ProjectRow) {
        let store = termaudit_storage::Store::new(&self.url, pool).expect("a pool");
        let name =
            termaudit_domain::ProjectName::parse(&format!("Project {slug}")).expect("a name");
        let slug = termaudit_domain::ProjectSlug::parse(slug).expect("a slug");
        let project = store.create_project(&slug, &name).await.expect("the project is created");
        (store, project)
    }

    /// A direct connection as the owner, for asserting what the database holds.
    pub async fn connect(&self) -> tokio_postgres::Client {
        self.url.connect().await.expect("a connection to the test database")
    }

    /// [`TestDatabase::connect`], for a database that may be away.
    pub async fn try_connect(
        &self,
    ) -> Result<tokio_postgres::Client, termaudit_storage::StorageError> {
        self.url.connect().await
    }

    /// A direct connection as the server's role, to show what it may not do.
    pub async fn connect_as_app(&self) -> tokio_postgres::Client {
        DatabaseUrl::parse(&self.app_url())
            .expect("a valid URL")
            .connect()
            .await
            .expect("a connection as the app role")
    }
}

async fn rename_when_idle(admin: &tokio_postgres::Client, from: &str, to: &str) {
    for attempt in 0.. {
        match admin.batch_execute(&format!("ALTER DATABASE {from} RENAME TO {to}")).await {
            Ok(()) => return,
            Err(err) if err.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < 100 => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("cannot rename the template: {err}"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let server = server_url();
        let name = self.name.clone();
        // Drop runs outside async code: use a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let admin = server
                    .with_database("postgres")
                    .connect()
                    .await
                    .map_err(std::io::Error::other)?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop the test database {}", self.name);
        }
    }
}
