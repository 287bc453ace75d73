//! `history [SESSIONS]`: the history list at scale.
//!
//! Seeds the database `termaudit_bench_history_{SESSIONS}` once (see
//! `history_seed.sql`), starts the real server, and for each realistic
//! filter sends 500 different page requests (`GET
//! /api/v1/projects/history/sessions?...`, 50 per page), each followed by
//! the same page straight from the storage query (`Store::sessions`: the SQL
//! and its rows, nothing else), so both see the same machine at the same
//! moment. Then requests per second on loopback, from the bench's own HTTP
//! client, against the same storage query from as many concurrent tasks.

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

use crate::{Latencies, database, serve, token};

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
/// [`CONNECTIONS`] tasks of this process's own HTTP client, each sending its
/// next request as soon as the last one's body is read (no external tool),
/// then the storage query alone from as many tasks.
async fn throughput(store: &Store, project: Uuid, base: &str, token: &str) -> anyhow::Result<()> {
    println!();
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build()?;
    // Parsed and built once, as a load generator does: the client's work
    // shares the two cores with the server's.
    let url = reqwest::Url::parse(&format!("{base}?limit={PAGE}"))?;
    let authorization = reqwest::header::HeaderValue::try_from(format!("Bearer {token}"))?;
    let api = requests_per_second(move || {
        let request =
            client.get(url.clone()).header(reqwest::header::AUTHORIZATION, &authorization);
        async move {
            let response = request.send().await?;
            anyhow::ensure!(
                response.status().is_success(),
                "the API answered {}",
                response.status()
            );
            response.bytes().await?;
            Ok(())
        }
    })
    .await?;
    let store = store.clone();
    let sql = requests_per_second(move || {
        let store = store.clone();
        async move {
            store.sessions(project, &Default::default(), None, PAGE).await?;
            Ok(())
        }
    })
    .await?;
    println!("| first page, {CONNECTIONS} tasks, {SECONDS} s | requests/s |");
    println!("| --- | ---: |");
    println!("| API (HTTP/1.1 keep-alive, the bench's own client) | {api:.0} |");
    println!("| storage query alone (pool of 16) | {sql:.0} |");
    println!("| ratio API / storage query | {:.2} |", api / sql);
    Ok(())
}

const CONNECTIONS: usize = 16;
const SECONDS: u64 = 10;

/// How many times per second [`CONNECTIONS`] tasks complete `request`, each
/// starting its next as soon as its last is done, over [`SECONDS`] (after a
/// second of warming up, not counted).
async fn requests_per_second<F, Fut>(request: F) -> anyhow::Result<f64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let counting = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (counting, done, count) = (counting.clone(), done.clone(), count.clone());
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                request().await?;
                if counting.load(Ordering::Relaxed) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    let counted = count.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok(counted as f64 / elapsed.as_secs_f64())
}
