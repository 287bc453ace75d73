//! `export [RECORDS]`: seeds a project with RECORDS export records (a tenth
//! sessions, each with its `session.opened` and eight database statements),
//! serves it with the real server in this process, downloads the export in
//! each format while sampling this process's resident memory, and compares
//! the throughput with PostgreSQL's own `COPY (...) TO STDOUT (FORMAT csv)`
//! of the same rows, run once before the formats and once after (and once
//! more, not counted, before them all, so every run finds the rows in
//! memory). The database `termaudit_bench` is created and reused.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use futures_util::StreamExt;
use termaudit_api::{AuthConfig, TokenIssuer};
use termaudit_domain::{Permission, ProjectName, ProjectSlug};
use termaudit_server::{Application, Settings};
use termaudit_storage::{DatabaseUrl, Store};

use crate::{SECRET, rss_kib, url_string};

pub async fn run(records: i64) -> anyhow::Result<()> {
    let sessions = records / 10;

    let server = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let url = DatabaseUrl::parse(&server)?.with_database("termaudit_bench");
    termaudit_storage::ensure_database(&url).await?;
    termaudit_storage::migrate(&url).await?;
    let store = Store::new(&url, 4)?;
    let slug = format!("bench-{records}");
    let project = match store.project_by_slug(&slug).await? {
        Some(project) => project,
        None => {
            eprintln!("seeding {records} records...");
            let project = store
                .create_project(&ProjectSlug::parse(&slug)?, &ProjectName::parse("Benchmark")?)
                .await?;
            let client = url.connect().await?;
            let seed = include_str!("seed.sql")
                .replace("{project}", &project.id.to_string())
                .replace("{sessions}", &sessions.to_string());
            client.batch_execute(&seed).await.context("seeding")?;
            project
        }
    };

    let settings = Settings {
        database_url: url_string(&server, "termaudit_bench"),
        bind: "127.0.0.1:0".into(),
        jwt_secret: Some(SECRET.into()),
        data_dir: std::env::temp_dir().join("termaudit-bench"),
        ..Settings::default()
    };
    let issuer_config = AuthConfig {
        secret: SECRET.as_bytes().to_vec(),
        public_key_pem: None,
        issuer: settings.jwt_issuer.clone(),
        audience: settings.jwt_audience.clone(),
        oidc: None,
    };
    let app = Application::build(settings).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let token = TokenIssuer::new(&issuer_config).issue(
        "bench",
        Some("Benchmark"),
        BTreeMap::from([(slug.clone(), vec![Permission::ViewHistory])]),
        chrono::Utc::now(),
        chrono::Duration::hours(1),
    )?;

    let peak = Arc::new(AtomicU64::new(0));
    {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    // Each run below finds the rows in memory: the first one read from
    // disk what the others did not (CSV's ratio was 0.61 cold, 0.78 to
    // 0.82 warm, the same day).
    store.export_copy_csv(project.id, |_| {}).await?;
    let client = reqwest::Client::new();
    println!(
        "| run | records | bytes | first byte | total | MB/s | records/s | CPU (this process) | RSS before → peak |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    // COPY before and after the API's runs: the machine's pace drifts
    // within a run, and the ratio is taken against both.
    let copy_before = copy(&store, project.id, records, &peak).await?;
    let mut rates = Vec::new();
    for format in ["csv", "ndjson", "json"] {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_kib();
        peak.store(before, Ordering::Relaxed);
        let cpu = cpu_seconds();
        let started = Instant::now();
        let response = client
            .get(format!("{address}/api/v1/projects/{slug}/export?format={format}"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?;
        let mut body = response.bytes_stream();
        let mut first = None;
        let mut bytes = 0u64;
        while let Some(chunk) = body.next().await {
            first.get_or_insert_with(|| started.elapsed());
            bytes += chunk?.len() as u64;
        }
        let total = started.elapsed();
        rates.push((format, records as f64 / total.as_secs_f64()));
        let measured = Measured {
            bytes,
            first,
            total,
            cpu: cpu_seconds() - cpu,
            rss_before: before,
            rss_peak: peak.load(Ordering::Relaxed),
        };
        report(&format!("API `{format}`"), records, &measured);
    }
    let copy_after = copy(&store, project.id, records, &peak).await?;
    // The rate of both COPYs together: records over their summed times.
    let copy = 2.0 / (1.0 / copy_before + 1.0 / copy_after);
    for (format, rate) in rates {
        println!("{format} / COPY: {:.2}", rate / copy);
    }
    Ok(())
}

/// Runs PostgreSQL's `COPY ... (FORMAT csv)` of the export's rows once,
/// reports it and returns its rate in records per second.
async fn copy(
    store: &Store,
    project: uuid::Uuid,
    records: i64,
    peak: &AtomicU64,
) -> anyhow::Result<f64> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib();
    peak.store(before, Ordering::Relaxed);
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut first = None;
    let bytes = store
        .export_copy_csv(project, |_| {
            first.get_or_insert_with(|| started.elapsed());
        })
        .await?;
    let total = started.elapsed();
    let measured = Measured {
        bytes,
        first,
        total,
        cpu: cpu_seconds() - cpu,
        rss_before: before,
        rss_peak: peak.load(Ordering::Relaxed),
    };
    report("`COPY ... (FORMAT csv)`", records, &measured);
    Ok(records as f64 / total.as_secs_f64())
}

/// This process's CPU time so far (all threads: the server and the
/// client), in seconds.
fn cpu_seconds() -> f64 {
    termaudit_tests::process::cpu_seconds(std::process::id())
}

/// What one run measured.
struct Measured {
    bytes: u64,
    first: Option<Duration>,
    total: Duration,
    /// This process's CPU seconds over the run.
    cpu: f64,
    rss_before: u64,
    rss_peak: u64,
}

fn report(run: &str, records: i64, m: &Measured) {
    let secs = m.total.as_secs_f64();
    println!(
        "| {run} | {records} | {:.1} MB | {} ms | {secs:.2} s | {:.1} | {:.0} | {:.2} s | {:.1} → {:.1} MiB |",
        m.bytes as f64 / 1e6,
        m.first.map(|f| f.as_millis()).unwrap_or_default(),
        m.bytes as f64 / 1e6 / secs,
        records as f64 / secs,
        m.cpu,
        m.rss_before as f64 / 1024.0,
        m.rss_peak as f64 / 1024.0,
    );
}
