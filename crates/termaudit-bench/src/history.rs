//! `history [SESSIONS]`: the history list at scale.
//!
//! Seeds the database `termaudit_bench_history_{SESSIONS}` once (see
//! `history_seed.sql`), starts the real server, and for each realistic
//! filter sends 500 different page requests (`GET
//! /api/v1/projects/history/sessions?...`, 50 per page), each followed by
//! the same page straight from the storage query (`Store::sessions`: the SQL
//! and its rows, nothing else), so both see the same machine at the same
//! moment. Then requests per second on loopback, from the bench's own HTTP
//! client, against the same storage query from as many concurrent tasks,
//! the two taking turns.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use termaudit_api::history_query;
use termaudit_api_types::SessionQuery;
use termaudit_domain::HistoryQuery;
use termaudit_domain::{Permission, ProjectName, ProjectSlug};
use termaudit_storage::{Cursor, Store};
use uuid::Uuid;

use crate::{Latencies, database, http, serve, token};

const SLUG: &str = "history";
const REQUESTS: usize = 500;
const PAGE: usize = 50;

/// What the cases draw from, sampled from the seeded data.
struct Samples {
    targets: Vec<Uuid>,
    cursors: Vec<Cursor>,
    changes: Vec<String>,
    sessions: i64,
}

fn pick<T: Clone>(items: &[T], i: usize) -> T {
    items[(i * 7919) % items.len()].clone()
}

/// Makes the query string of the `i`th request of a scenario; the storage
/// layer gets the same page through the API's own parser.
type MakeQuery = fn(&Samples, usize) -> String;

fn scenarios() -> Vec<(&'static str, MakeQuery)> {
    vec![
        ("no filter, first page", |_, _| String::new()),
        ("status (active, dropped, closed)", |_, i| {
            format!("status={}", ["active", "dropped", "closed"][i % 3])
        }),
        ("user (1 of 500)", |_, i| format!("user=user{}", (i * 37) % 500)),
        ("environment_class", |_, i| {
            format!("environment_class={}", ["production", "non_production"][i % 2])
        }),
        ("target (1 of 40)", |s, i| format!("target_id={}", pick(&s.targets, i))),
        ("user + status=dropped + production", |_, i| {
            format!("user=user{}&status=dropped&environment_class=production", (i * 37) % 500)
        }),
        ("q common word (\"replication\")", |_, _| "q=replication".into()),
        ("q one ticket in a reason (\"INC-123456:\")", |s, i| {
            format!("q=INC-{}:", 1 + (i as i64 * 104_729) % s.sessions)
        }),
        ("q a bare ticket number (\"123456\": no separator, digit index)", |s, i| {
            // Six digits and more (q takes 2 to 200 characters).
            format!("q={}", 100_000 + (i as i64 * 104_729) % (s.sessions - 100_000))
        }),
        ("q common words (\"check replication lag\")", |_, _| "q=check%20replication%20lag".into()),
        ("q one change in a command (\"CHG-...\")", |s, i| format!("q={}", pick(&s.changes, i))),
        ("q common in commands (\"kubectl\": every command has it)", |_, _| "q=kubectl".into()),
        ("q common in commands + deep cursor", |s, i| {
            format!("q=kubectl&cursor={}", pick(&s.cursors, i).encode())
        }),
        ("deep cursor page (anywhere in 2 years)", |s, i| {
            format!("cursor={}", pick(&s.cursors, i).encode())
        }),
        ("deep cursor + user", |s, i| {
            format!("user=user{}&cursor={}", (i * 37) % 500, pick(&s.cursors, i).encode())
        }),
    ]
}

/// The page `query` asks for, as the API parses it.
fn history_page(query: &str) -> anyhow::Result<HistoryQuery> {
    let parsed = actix_web::web::Query::<SessionQuery>::from_query(query)
        .with_context(|| format!("the bench's query {query:?} does not parse"))?;
    history_query(parsed.into_inner()).map_err(|err| anyhow::anyhow!("{query:?}: {err}"))
}

pub async fn run(sessions: i64) -> anyhow::Result<()> {
    let name = format!("termaudit_bench_history_{sessions}");
    let url = database(&name).await?;
    let store = Store::new(&url, 16)?;
    let project = match store.project_by_slug(SLUG).await? {
        Some(project) => project,
        None => {
            eprintln!("seeding {sessions} sessions into {name}...");
            let started = Instant::now();
            let project = store
                .create_project(&ProjectSlug::parse(SLUG)?, &ProjectName::parse("History")?)
                .await?;
            let client = url.connect().await?;
            let seed = include_str!("history_seed.sql")
                .replace("{project}", &project.id.to_string())
                .replace("{sessions}", &sessions.to_string());
            client.batch_execute(&seed).await.context("seeding")?;
            client.batch_execute("VACUUM ANALYZE sessions").await?;
            client.batch_execute("VACUUM ANALYZE session_activity").await?;
            eprintln!("seeded in {:.0} s", started.elapsed().as_secs_f64());
            project
        }
    };
    let samples = {
        let client = url.connect().await?;
        let targets = client
            .query("SELECT id FROM targets WHERE project_id = $1 ORDER BY name", &[&project.id])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let cursors = client
            .query("SELECT opened_at, id FROM sessions TABLESAMPLE BERNOULLI (0.1) LIMIT 500", &[])
            .await?
            .iter()
            .map(|r| Cursor {
                time: r.get::<_, DateTime<Utc>>(0),
                id: r.get::<_, Uuid>(1).to_string(),
            })
            .collect();
        let changes = client
            .query(
                "SELECT substring(text from 'CHG-[0-9]+') FROM session_activity TABLESAMPLE BERNOULLI (1) LIMIT 500",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Samples { targets, cursors, changes, sessions }
    };

    let address = serve(&name).await?;
    let token = token(SLUG, vec![Permission::ViewHistory])?;
    let client = reqwest::Client::new();
    let base = format!("{address}/api/v1/projects/{SLUG}/sessions");

    // `HISTORY_BENCH_THROUGHPUT_ONLY=1`: requests per second alone, for
    // comparing builds run after run.
    if std::env::var_os("HISTORY_BENCH_THROUGHPUT_ONLY").is_some_and(|v| v == "1") {
        return throughput(&store, project.id, &base, &token).await;
    }
    println!("### {sessions} sessions, {REQUESTS} pages of {PAGE} per filter");
    println!();
    println!("| filter | API p50 | API p99 | SQL p50 | SQL p99 | API/SQL p99 | rows/page |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, make) in scenarios() {
        let (mut api, mut sql) = (Latencies::default(), Latencies::default());
        let mut rows = 0;
        for i in 0..REQUESTS + 10 {
            let query = make(&samples, i);
            let HistoryQuery { filter, cursor, .. } = history_page(&query)?;
            // The API goes first: it pays for reading a deep page from disk
            // (or the OS's cache) into PostgreSQL's buffers, as a user would;
            // the storage query then measures the plan on warm pages.
            let started = Instant::now();
            let response = client
                .get(format!("{base}?limit={PAGE}&{query}"))
                .bearer_auth(&token)
                .send()
                .await?;
            anyhow::ensure!(response.status().is_success(), "{name}: {}", response.status());
            let body = response.bytes().await?;
            let api_time = started.elapsed();
            let started = Instant::now();
            let page = store.sessions(project.id, &filter, cursor.as_ref(), PAGE).await?;
            let sql_time = started.elapsed();
            drop(body);
            // The first ten warm the connections and caches.
            if i >= 10 {
                api.push(api_time);
                sql.push(sql_time);
                rows += page.items.len();
            }
        }
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} | {:.0} |",
            api.percentile(50.0),
            api.percentile(99.0),
            sql.percentile(50.0),
            sql.percentile(99.0),
            api.percentile(99.0) / sql.percentile(99.0),
            rows as f64 / api.len() as f64,
        );
    }

    throughput(&store, project.id, &base, &token).await
}

/// Requests per second for the first page, unfiltered: the server under
/// [`CONNECTIONS`] connections of this process's own HTTP client
/// ([`http::Connection`]), each sending its next request as soon as it has
/// read the last response, against the storage query alone from as many
/// tasks. The two take turns, a second each, [`SLICES`] times: a machine
/// whose neighbours come and go then slows both alike, where two stages
/// of ten seconds one after the other each met a different machine.
async fn throughput(store: &Store, project: Uuid, base: &str, token: &str) -> anyhow::Result<()> {
    println!();
    let url = reqwest::Url::parse(&format!("{base}?limit={PAGE}"))?;
    let address = url.socket_addrs(|| None)?.into_iter().next().context("no address")?;
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let request = http::get_request(address, &path, &format!("Bearer {token}"));
    let mut connections = Vec::new();
    for _ in 0..CONNECTIONS {
        connections.push(http::Connection::open(address, request.clone()).await?);
    }
    // The page the load generator reads is the page reqwest reads.
    let expected = reqwest::Client::new().get(url).bearer_auth(token).send().await?;
    anyhow::ensure!(expected.status().is_success(), "the API answered {}", expected.status());
    let expected = expected.bytes().await?.len();
    let read = connections[0].send().await?;
    anyhow::ensure!(read == expected, "the load generator read {read} bytes, reqwest {expected}");
    let mut queries: Vec<_> =
        (0..CONNECTIONS).map(|_| StorageQuery { store: store.clone(), project }).collect();
    // A slice of each to warm up, not counted.
    (connections, _) = slice(connections).await?;
    (queries, _) = slice(queries).await?;
    let (mut api, mut sql) = (Rate::default(), Rate::default());
    for _ in 0..SLICES {
        let (rate_api, rate_sql);
        (connections, rate_api) = slice(connections).await?;
        (queries, rate_sql) = slice(queries).await?;
        api += rate_api;
        sql += rate_sql;
    }
    println!(
        "| first page, {CONNECTIONS} tasks, {SLICES} turns of a second each | requests/s | machine CPU per request | machine busy |"
    );
    println!("| --- | ---: | ---: | ---: |");
    for (name, rate) in [
        ("API (HTTP/1.1 keep-alive, the bench's own client)", &api),
        ("storage query alone (pool of 16)", &sql),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} µs | {:.0}% |",
            rate.per_second(),
            rate.cpu_per_request(),
            rate.busy() * 100.0
        );
    }
    println!(
        "| ratio API / storage query | {:.2} | {:.2} (storage / API) | |",
        api.per_second() / sql.per_second(),
        sql.cpu_per_request() / api.cpu_per_request()
    );
    Ok(())
}

/// One request of a throughput stage, sent again and again by one task.
trait Load: Send + 'static {
    fn once(&mut self) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

impl Load for http::Connection {
    async fn once(&mut self) -> anyhow::Result<()> {
        self.send().await.map(drop)
    }
}

/// The first page straight from the storage layer.
struct StorageQuery {
    store: Store,
    project: Uuid,
}

impl Load for StorageQuery {
    async fn once(&mut self) -> anyhow::Result<()> {
        self.store.sessions(self.project, &Default::default(), None, PAGE).await?;
        Ok(())
    }
}

const CONNECTIONS: usize = 16;
/// How many turns each side of the throughput stage takes.
const SLICES: u32 = 10;
const SLICE: Duration = Duration::from_secs(1);

/// What turns of a throughput stage measured, added up.
#[derive(Debug, Default, Clone, Copy)]
struct Rate {
    requests: u64,
    elapsed: Duration,
    cpu: CpuTimes,
}

impl Rate {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The machine's CPU time (every process's, the kernel's included) per
    /// request, in microseconds: what a change to the per-request work
    /// moves, when the machine is busy throughout.
    fn cpu_per_request(&self) -> f64 {
        self.cpu.busy.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    /// The share of the machine's CPU time that was busy.
    fn busy(&self) -> f64 {
        self.cpu.busy.as_secs_f64() / (self.cpu.busy + self.cpu.idle).as_secs_f64().max(1e-9)
    }
}

impl std::ops::AddAssign for Rate {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.cpu.busy += other.cpu.busy;
        self.cpu.idle += other.cpu.idle;
    }
}

/// Runs one task per `load` for a [`SLICE`], each starting its next request
/// as soon as its last is done, and gives the loads back with what was
/// counted: the requests completed within the slice, not those in flight
/// at its end (they are waited for).
async fn slice<L: Load>(loads: Vec<L>) -> anyhow::Result<(Vec<L>, Rate)> {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let (started, cpu) = (Instant::now(), CpuTimes::now()?);
    let tasks: Vec<_> = loads
        .into_iter()
        .map(|mut load| {
            let (done, count) = (done.clone(), count.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    load.once().await?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(load)
            })
        })
        .collect();
    tokio::time::sleep(SLICE).await;
    done.store(true, Ordering::Relaxed);
    let rate = Rate {
        requests: count.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        cpu: CpuTimes::now()?.since(&cpu),
    };
    let mut loads = Vec::with_capacity(tasks.len());
    for task in tasks {
        loads.push(task.await??);
    }
    Ok((loads, rate))
}

/// The machine's CPU time so far, from `/proc/stat`'s first line.
#[derive(Debug, Default, Clone, Copy)]
struct CpuTimes {
    /// user, nice, system, irq and softirq.
    busy: Duration,
    /// idle, iowait and steal (time the hypervisor gave to others).
    idle: Duration,
}

impl CpuTimes {
    fn now() -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
        Self::parse(stat.lines().next().unwrap_or_default())
    }

    fn parse(line: &str) -> anyhow::Result<Self> {
        let ticks: Vec<u64> = line
            .strip_prefix("cpu ")
            .context("/proc/stat's first line is not `cpu`")?
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        anyhow::ensure!(ticks.len() >= 8, "/proc/stat's `cpu` line is short: {line:?}");
        // USER_HZ, 100 on every Linux architecture this runs on.
        let time = |indices: &[usize]| {
            Duration::from_millis(10 * indices.iter().map(|&i| ticks[i]).sum::<u64>())
        };
        Ok(Self { busy: time(&[0, 1, 2, 5, 6]), idle: time(&[3, 4, 7]) })
    }

    fn since(&self, before: &Self) -> Self {
        Self { busy: self.busy - before.busy, idle: self.idle - before.idle }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_read_busy_and_idle_ticks() {
        let times = CpuTimes::parse("cpu  137596 1 23142 108273 3017 5 6407 144 0 0").unwrap();
        assert_eq!(times.busy, Duration::from_millis(10 * (137_596 + 1 + 23_142 + 5 + 6_407)));
        assert_eq!(times.idle, Duration::from_millis(10 * (108_273 + 3_017 + 144)));
        assert!(CpuTimes::parse("cpu0 1 2 3 4 5 6 7 8").is_err());
        assert!(CpuTimes::parse("cpu  1 2 3").is_err());
    }
}
