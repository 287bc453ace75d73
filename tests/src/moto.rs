//! An S3-compatible server of a test's own: moto's `moto_server` (from the
//! tools' virtualenv, `scripts/ensure-tools.sh`) on a free loopback port,
//! stopped when dropped. moto keeps its objects in memory, so an outage is
//! a paused process ([`Moto::pause`]: SIGSTOP, connections are accepted and
//! never answered), not a killed one. [`Moto::start_with_auth`] checks
//! credentials (`INITIAL_NO_AUTH_ACTION_COUNT=0`): keys it never issued
//! are refused.
//!
//! [`Moto::start_s3s_fs`] starts `s3s-fs` instead (a Rust S3 server over a
//! directory, `scripts/ensure-s3s-fs.sh`): for benchmarks, where moto's
//! Python would take much of the two cores the ingest measured shares.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use termaudit_server::Settings;
use termaudit_storage::{RecordingsStoreUrl, S3Settings};

pub struct Moto {
    child: Child,
    port: u16,
    /// s3s-fs's directory (each bucket a folder in it); `None` for moto.
    root: Option<PathBuf>,
}

/// The bucket [`Moto::start`] creates.
pub const BUCKET: &str = "termaudit-test";

impl Moto {
    /// A server that takes any credentials, with [`BUCKET`] created.
    pub async fn start() -> Moto {
        let moto = Self::spawn(false).await;
        moto.create_bucket(BUCKET).await;
        moto
    }

    /// A server that refuses credentials it did not issue, with no bucket.
    pub async fn start_with_auth() -> Moto {
        Self::spawn(true).await
    }

    async fn spawn(auth: bool) -> Moto {
        let port = free_port();
        let mut command = Command::new(moto_server());
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if auth {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        let child = command.spawn().expect("moto_server starts (scripts/ensure-tools.sh)");
        let moto = Moto { child, port, root: None };
        moto.wait_until_answering().await;
        moto
    }

    /// `s3s-fs` (the binary at `binary`) on a free loopback port, objects
    /// in a new temporary directory (removed when dropped), with [`BUCKET`]
    /// created and the credentials [`Moto::configure`] gives (`test`,
    /// `test`). Unlike moto it checks every request's signature, so
    /// [`Moto::keys`] and [`Moto::put_object`] (unsigned) are refused.
    pub async fn start_s3s_fs(binary: &std::path::Path) -> Moto {
        let port = free_port();
        let root = std::env::temp_dir().join(format!("termaudit-s3s-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join(BUCKET)).expect("s3s-fs's directory");
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "test", "--secret-key", "test"])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        let server = Moto { child, port, root: Some(root) };
        server.wait_until_answering().await;
        server
    }

    /// Waits (up to a minute) until the server answers HTTP.
    async fn wait_until_answering(&self) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if client.get(self.endpoint()).send().await.is_ok() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the S3 server did not answer in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The CPU time moto has used so far, in seconds (see
    /// [`crate::process::cpu_seconds`]).
    pub fn cpu_seconds(&self) -> f64 {
        crate::process::cpu_seconds(self.child.id())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn create_bucket(&self, name: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint()))
            .send()
            .await
            .expect("moto answers");
        assert!(response.status().is_success(), "bucket {name}: {}", response.status());
    }

    /// The settings that store recordings in `s3://BUCKET/PREFIX` on this
    /// server, for [`TestApp::spawn_with`](crate::TestApp::spawn_with).
    pub fn configure(&self, prefix: &str) -> crate::Configure {
        let store = RecordingsStoreUrl::parse(&format!("s3://{BUCKET}/{prefix}"))
            .expect("a valid store URL");
        let s3 = self.s3_settings("test", "test");
        Box::new(move |settings: &mut Settings| {
            settings.recordings_store = store;
            settings.s3 = s3;
        })
    }

    pub fn s3_settings(&self, key: &str, secret: &str) -> S3Settings {
        S3Settings {
            endpoint: Some(self.endpoint()),
            access_key_id: Some(key.into()),
            secret_access_key: Some(secret.into()),
            region: Some("us-east-1".into()),
        }
    }

    /// The keys of the objects in [`BUCKET`] (moto's ListObjectsV2, first 1000).
    pub async fn keys(&self) -> Vec<String> {
        let body = reqwest::Client::new()
            .get(format!("{}/{BUCKET}?list-type=2", self.endpoint()))
            .send()
            .await
            .expect("moto answers")
            .text()
            .await
            .expect("a listing");
        body.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }

    /// Writes an object into [`BUCKET`] behind termaudit's back.
    pub async fn put_object(&self, key: &str, body: &'static [u8]) {
        let response = reqwest::Client::new()
            .put(format!("{}/{BUCKET}/{key}", self.endpoint()))
            .body(body)
            .send()
            .await
            .expect("moto answers");
        assert!(response.status().is_success(), "put {key}: {}", response.status());
    }

    /// Stops the server's process (SIGSTOP): it keeps its port and its
    /// objects, and answers nothing until [`Moto::resume`].
    pub fn pause(&self) {
        signal(self.child.id(), "-STOP");
    }

    pub fn resume(&self) {
        signal(self.child.id(), "-CONT");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        signal(self.child.id(), "-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(root) = &self.root {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill").arg(signal).arg(pid.to_string()).status();
    assert!(status.is_ok_and(|s| s.success()), "kill {signal} {pid}");
}

/// `moto_server` from the tools' virtualenv (`ensure-tools.sh` prints its
/// `bin` first on the PATH it prints), or `TERMAUDIT_MOTO_SERVER`.
fn moto_server() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("TERMAUDIT_MOTO_SERVER") {
            return PathBuf::from(path);
        }
        let path = crate::tools_path();
        path.iter()
            .map(|dir| dir.join("moto_server"))
            .find(|server| server.exists())
            .unwrap_or_else(|| panic!("ensure-tools.sh printed no moto_server: {path:?}"))
    })
    .clone()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits (up to `within`) until PostgreSQL holds none of the bytes of
/// `session`'s recording: finalized, emulated, every chunk and snapshot
/// in an object. Otherwise what is left (chunks, snapshots, emulating).
pub async fn wait_until_compacted(
    db: &crate::TestDatabase,
    session: uuid::Uuid,
    within: Duration,
) -> Result<(), (i64, i64, i64)> {
    let deadline = tokio::time::Instant::now() + within;
    let client = db.connect().await;
    loop {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM recording_chunks WHERE session_id = $1 AND data IS NOT NULL),
                        (SELECT count(*) FROM recording_snapshots WHERE session_id = $1 AND state IS NOT NULL),
                        (SELECT count(*) FROM recording_emulation WHERE session_id = $1)
                          + (SELECT count(*) FROM recordings WHERE session_id = $1 AND finalized_at IS NULL)",
                &[&session],
            )
            .await
            .expect("a query");
        let left = (row.get(0), row.get(1), row.get(2));
        if left == (0, 0, 0) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(left);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The (compressed) bytes of `session`'s chunks that PostgreSQL holds.
pub async fn chunk_bytes_in_postgres(client: &tokio_postgres::Client, session: uuid::Uuid) -> i64 {
    client
        .query_one(
            "SELECT coalesce(sum(octet_length(data)), 0)::int8 FROM recording_chunks
             WHERE session_id = $1",
            &[&session],
        )
        .await
        .expect("a query")
        .get(0)
}

/// Takes the compactor's advisory lock on `db`, before a server starts on
/// it: nothing is compacted until the caller says so
/// (`Store::compact_once`) or lets go.
pub async fn hold_compactor(db: &crate::TestDatabase) -> termaudit_storage::AdvisoryLock {
    let url = termaudit_storage::DatabaseUrl::parse(&db.app_url()).expect("a valid URL");
    termaudit_storage::Store::new(&url, 1)
        .expect("a store")
        .try_lock_compactor(&url)
        .await
        .expect("the lock's connection")
        .expect("nobody compacts yet")
}
