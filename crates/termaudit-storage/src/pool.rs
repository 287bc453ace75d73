use std::{str::FromStr, sync::Arc, time::Duration};

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::{
    StorageError,
    export_runs::RunningExports,
    words::{CommonWords, CommonWordsCache, TextSample},
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Chunk notices kept for a slow listener before it is told it missed some.
const STORED_CHUNKS_CAPACITY: usize = 4096;

/// Run on every pooled connection once it is opened: no parallel workers.
/// The server's statements are short ones, many at once on a few cores;
/// the planner's estimate for a word or digit prefix in the history's free
/// text is far too high, and it would start two workers to read a handful
/// of rows: a bare number's page took 6 ms at ten million sessions with
/// them, 0.3 ms without. (A `SET`, not the startup packet's `options`,
/// which a pooler such as PgBouncer refuses unless told to ignore it.)
const ON_CONNECT: &str = "SET max_parallel_workers_per_gather = 0";

/// How long the word indexes' statistics are kept before being read again.
const COMMON_WORDS_TTL: Duration = Duration::from_secs(300);

/// A parsed `postgres://` URL.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: tokio_postgres::Config,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|err| StorageError::InvalidUrl(err.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_dbname().is_none() {
            return Err(StorageError::InvalidUrl("the URL names no database".into()));
        }
        Ok(Self { config })
    }

    pub fn database_name(&self) -> &str {
        self.config.get_dbname().unwrap_or_default()
    }

    /// The same server, another database.
    pub fn with_database(&self, name: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(name);
        Self { config }
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Opens a single connection outside the pool (migrations, administration).
    pub async fn connect(&self) -> Result<tokio_postgres::Client, StorageError> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|err| StorageError::Unavailable(describe_connect_error(self, &err)))?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::warn!(error = %err, "database connection ended with an error");
            }
        });
        Ok(client)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(host) => host.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        write!(
            f,
            "postgres://{}@{}:{}/{}",
            self.config.get_user().unwrap_or("?"),
            hosts.join(","),
            self.config.get_ports().first().copied().unwrap_or(5432),
            self.database_name()
        )
    }
}

fn describe_connect_error(url: &DatabaseUrl, err: &tokio_postgres::Error) -> String {
    let cause = std::error::Error::source(err).map(ToString::to_string).unwrap_or_default();
    format!("cannot connect to {url:?}: {err} {cause}").trim_end().to_owned()
}

/// Creates the URL's database when it does not exist yet, connecting to the
/// server's `postgres` database to do so.
pub async fn ensure_database(url: &DatabaseUrl) -> Result<(), StorageError> {
    let admin = url.with_database("postgres").connect().await?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&url.database_name()])
        .await?
        .is_some();
    if !exists {
        let statement = format!("CREATE DATABASE {}", quote_identifier(url.database_name()));
        match admin.batch_execute(&statement).await {
            Ok(()) => tracing::info!(database = url.database_name(), "created the database"),
            // Another process created it in the meantime.
            Err(err)
                if err.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A pool of at most `max_connections` to `url`, each set up by [`ON_CONNECT`].
fn pool(url: &DatabaseUrl, max_connections: usize) -> Result<Pool, StorageError> {
    let manager = Manager::from_config(
        url.config().clone(),
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager)
        .max_size(max_connections)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(CONNECT_TIMEOUT))
        .wait_timeout(Some(Duration::from_secs(10)))
        .post_create(Hook::async_fn(|client, _| {
            Box::pin(
                async move { client.batch_execute(ON_CONNECT).await.map_err(HookError::Backend) },
            )
        }))
        .build()
        .map_err(|err| StorageError::Unavailable(err.to_string()))
}

/// The handle every other crate uses to reach the database: a connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// For connections outside the pool ([`Store::dedicated_client`]).
    url: DatabaseUrl,
    /// The word indexes' most common words, and when they were read.
    common_words: CommonWordsCache,
    /// The exports this process runs (`export_runs.rs`).
    pub(crate) running_exports: RunningExports,
    /// One permit per export running in this process (`export.rs`).
    pub(crate) export_slots: Arc<tokio::sync::Semaphore>,
    /// The sessions whose recording got a chunk through this process, for
    /// the emulation workers (which also look at the database for chunks
    /// stored through other replicas).
    stored_chunks: tokio::sync::broadcast::Sender<uuid::Uuid>,
    /// The bytes of the chunks stored through this process lately.
    ingest_load: Arc<crate::ingest_load::IngestLoad>,
    /// The object store recordings are compacted into (`None`: their bytes
    /// stay in PostgreSQL).
    objects: Option<crate::ObjectTarget>,
    /// Projects by slug and policies, while a cache listener runs (`cache.rs`).
    pub(crate) cache: Arc<crate::cache::Cache>,
}

impl Store {
    pub fn new(url: &DatabaseUrl, max_connections: usize) -> Result<Self, StorageError> {
        Ok(Self {
            pool: pool(url, max_connections)?,
            url: url.clone(),
            common_words: CommonWordsCache::default(),
            running_exports: RunningExports::default(),
            export_slots: Arc::new(tokio::sync::Semaphore::new(crate::export::EXPORTS_AT_ONCE)),
            stored_chunks: tokio::sync::broadcast::channel(STORED_CHUNKS_CAPACITY).0,
            ingest_load: Arc::default(),
            objects: None,
            cache: Arc::default(),
        })
    }

    /// This store with a pool of its own of at most `max_connections`
    /// (everything else shared): for one actix-web worker, whose
    /// connections are then opened on, and read by, its own thread.
    pub fn with_own_pool(&self, max_connections: usize) -> Result<Self, StorageError> {
        Ok(Self { pool: pool(&self.url, max_connections)?, ..self.clone() })
    }

    /// This store, with recordings compacted into `objects` (from
    /// [`ObjectTarget::open`](crate::ObjectTarget::open)); `None` keeps
    /// their bytes in PostgreSQL.
    pub fn with_objects(mut self, objects: Option<crate::ObjectTarget>) -> Self {
        self.objects = objects;
        self
    }

    /// The object store recordings are compacted into, if any.
    pub fn objects(&self) -> Option<&crate::ObjectTarget> {
        self.objects.as_ref()
    }

    /// What new recordings' `store` says: `postgres` or the object store's root.
    pub(crate) fn recordings_store(&self) -> &str {
        self.objects.as_ref().map_or(crate::recordings::POSTGRES, |o| o.root())
    }

    /// Hears of every chunk stored through this process (of this `Store`
    /// and its clones), by session id, once its transaction has committed.
    /// A receiver that falls behind is told how many it missed (`Lagged`).
    pub fn stored_chunks(&self) -> tokio::sync::broadcast::Receiver<uuid::Uuid> {
        self.stored_chunks.subscribe()
    }

    pub(crate) fn chunk_stored(&self, session_id: uuid::Uuid, bytes: usize) {
        self.ingest_load.record(bytes, std::time::Instant::now());
        // Nobody listening (no emulation in this process) is fine.
        let _ = self.stored_chunks.send(session_id);
    }

    /// This store, counting `bytes_per_second` of chunks stored through
    /// this process as a bulk upload (16 MiB by default; terminals at
    /// human speed never come near), for [`Store::busy_ingesting`].
    pub fn with_bulk_ingest(mut self, bytes_per_second: u64) -> Self {
        self.ingest_load = Arc::new(crate::ingest_load::IngestLoad::new(bytes_per_second));
        self
    }

    /// Whether this process is ingesting a bulk upload now (see
    /// [`Store::with_bulk_ingest`]).
    pub fn busy_ingesting(&self) -> bool {
        self.ingest_load.busy(std::time::Instant::now())
    }

    /// How long the work that waits for a bulk upload
    /// ([`Store::yield_to_ingest`]) has waited in this process, in all.
    pub fn yielded_to_ingest(&self) -> std::time::Duration {
        self.ingest_load.yielded_total()
    }

    /// Waits while this process is [busy ingesting](Self::busy_ingesting),
    /// at most `limit`: what work that can wait (the emulation, the
    /// compactor) does before taking a core, so that a bulk upload has
    /// them. Returns whether the ingest is still busy.
    pub async fn yield_to_ingest(&self, limit: std::time::Duration) -> bool {
        const LOOK: std::time::Duration = std::time::Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if !self.busy_ingesting() {
                return false;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return true;
            }
            let nap = LOOK.min(deadline - now);
            tokio::time::sleep(nap).await;
            // Counted as it goes: `/metrics` shows a wait under way.
            self.ingest_load.yielded(nap);
        }
    }

    /// A connection of its own, outside the pool, set up as pooled ones
    /// are, whose task runs on the caller's runtime: on an actix-web worker,
    /// the worker's own thread, where a pooled connection's task runs on
    /// whichever thread opened it, and every message it reads wakes the
    /// other.
    pub(crate) async fn dedicated_client(&self) -> Result<tokio_postgres::Client, StorageError> {
        let client = self.url.connect().await?;
        client.batch_execute(ON_CONNECT).await?;
        Ok(client)
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StorageError> {
        Ok(self.pool.get().await?)
    }

    /// The most connections the pool opens.
    pub(crate) fn max_connections(&self) -> usize {
        self.pool.status().max_size
    }

    /// The word indexes' most common words as ANALYZE last saw them, read
    /// again when older than [`COMMON_WORDS_TTL`] (autovacuum's ANALYZE
    /// changes them slowly, and a stale list costs speed, never results).
    pub(crate) async fn common_words(
        &self,
        client: &deadpool_postgres::Object,
    ) -> Result<Arc<CommonWords>, StorageError> {
        if let Some(words) = self.common_words.fresh(COMMON_WORDS_TTL) {
            return Ok(words);
        }
        let mut words = CommonWords::default();
        for row in client.query(include_str!("sql/common_words.sql"), &[]).await? {
            let index: String = row.try_get("index")?;
            let list: Vec<String> =
                row.try_get::<_, Option<Vec<String>>>("words")?.unwrap_or_default();
            match index.as_str() {
                "sessions_words" => words.sessions.extend(list),
                "session_activity_words" => words.activity.extend(list),
                "sessions_digits" => words.sessions_digits.extend(list),
                "session_activity_digits" => words.activity_digits.extend(list),
                "sessions.search_text" => words.sessions_sample = TextSample::new(list),
                "session_activity.text" => words.activity_sample = TextSample::new(list),
                _ => {}
            }
        }
        let words = Arc::new(words);
        self.common_words.put(words.clone());
        Ok(words)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.client().await?.simple_query("SELECT 1").await?;
        Ok(())
    }
}
