//! Benchmarks that need a real PostgreSQL, each measured side by side with
//! PostgreSQL doing the bare work in the same run (the machine is shared, so
//! ratios say more than absolute times):
//!
//! - `export [RECORDS]` (default 1 000 000): the history export against
//!   `COPY (...) TO STDOUT (FORMAT csv)`, with the server's memory sampled;
//! - `history [SESSIONS]` (default 1 000 000): p50/p99 of a history page
//!   under realistic filters against the storage query alone, then requests
//!   per second from the bench's own HTTP client against the same query from
//!   as many tasks;
//! - `sweep [RECORDINGS]` (default 100 000): the retention sweep's purge rate
//!   and the API's p99 during the sweep against without, and the same purge
//!   as a handful of set-based SQL statements; `sweep [RECORDINGS] objects`
//!   with every recording's bodies in an object (moto's S3 server);
//! - `log [ENTRIES]` (default 1 000 000): the audit log's sequencer, `verify
//!   db`'s rate, proof sizes and times, and 200 writers with and without the
//!   sequencer;
//! - `search [RECORDINGS]` (default 1 000): search across recordings seeded
//!   through the real ingest path, against its storage query; the index's
//!   size; how soon a chunk's text is searchable.
//!
//! `BENCH_DATABASE_URL` names the PostgreSQL server (default: the local one);
//! each benchmark creates its own database there and reuses it on later runs
//! (`DROP DATABASE` them when done: see `docs/benchmarks.md`).

mod export;
mod history;
mod http;
mod log;
mod search;
mod sweep;

use std::{collections::BTreeMap, time::Duration};

use termaudit_api::{AuthConfig, TokenIssuer};
use termaudit_domain::Permission;
use termaudit_server::{Application, Settings};
use termaudit_storage::DatabaseUrl;

/// The server runs in this process: the same allocator as the `termaudit`
/// binary, so its throughput is the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "termaudit-bench-secret-0123456789abcdef";

const USAGE: &str = "usage: termaudit-bench export [RECORDS] | history [SESSIONS] | sweep [RECORDINGS] [objects] | log [ENTRIES] | search [RECORDINGS]";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let count: Option<i64> = args.next().map(|n| n.parse()).transpose()?;
    match command.as_deref() {
        Some("export") => export::run(count.unwrap_or(1_000_000)).await,
        Some("history") => history::run(count.unwrap_or(1_000_000)).await,
        Some("sweep") => {
            sweep::run(count.unwrap_or(100_000), args.next().as_deref() == Some("objects")).await
        }
        Some("log") => log::run(count.unwrap_or(1_000_000)).await,
        Some("search") => search::run(count.unwrap_or(1_000)).await,
        _ => anyhow::bail!(USAGE),
    }
}

/// This process's resident set size, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The PostgreSQL server the benchmarks use (any database on it).
fn server_url() -> String {
    std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_string(server: &str, database: &str) -> String {
    match server.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{database}"),
        None => server.to_owned(),
    }
}

/// A migrated database named `name` on the benchmark server.
async fn database(name: &str) -> anyhow::Result<DatabaseUrl> {
    let url = DatabaseUrl::parse(&server_url())?.with_database(name);
    termaudit_storage::ensure_database(&url).await?;
    termaudit_storage::migrate(&url).await?;
    Ok(url)
}

/// Starts the real server in this process on a free port, without
/// background work that would write during a measurement (no scheduled
/// sweep, no heartbeat expiry within the run). Returns its base address.
async fn serve(database: &str) -> anyhow::Result<String> {
    let settings = Settings {
        database_url: url_string(&server_url(), database),
        bind: "127.0.0.1:0".into(),
        jwt_secret: Some(SECRET.into()),
        data_dir: std::env::temp_dir().join("termaudit-bench"),
        retention_interval: None,
        heartbeat_timeout: Duration::from_secs(30 * 86_400),
        ..Settings::default()
    };
    let app = Application::build(settings).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    Ok(address)
}

/// A token for `slug` with `permissions`, valid for a day.
fn token(slug: &str, permissions: Vec<Permission>) -> anyhow::Result<String> {
    let defaults = Settings::default();
    let issuer = TokenIssuer::new(&AuthConfig {
        secret: SECRET.as_bytes().to_vec(),
        public_key_pem: None,
        issuer: defaults.jwt_issuer,
        audience: defaults.jwt_audience,
        oidc: None,
    });
    Ok(issuer.issue(
        "bench",
        Some("Benchmark"),
        BTreeMap::from([(slug.to_owned(), permissions)]),
        chrono::Utc::now(),
        chrono::Duration::days(1),
    )?)
}

/// Latencies of a run, for percentiles.
#[derive(Debug, Default, Clone)]
struct Latencies(Vec<Duration>);

impl Latencies {
    fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// The `p`th percentile (nearest rank), in milliseconds.
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}
