//! `sweep [RECORDINGS]`: the retention sweep's purge rate, and what it does
//! to the API meanwhile.
//!
//! Seeds `termaudit_bench_sweep_{RECORDINGS}` once (see `sweep_seed.sql`) and
//! copies it (`CREATE DATABASE ... TEMPLATE`) for each run, so every run
//! starts from the same data:
//!
//! 1. the bare work: the same purge as a handful of set-based statements in
//!    one transaction (what PostgreSQL can do at best);
//! 2. the sweep (`termaudit_retention::sweep_once`), with the options it had
//!    before (batches of 500, flat out) and its default options (smaller
//!    batches, a rest between them), each on a fresh copy while a
//!    client reads the first history page in a loop; its latencies are
//!    compared with the same loop for a few seconds before the sweep.
//!
//! `sweep [RECORDINGS] objects`: the same with every recording's bodies in
//! an object (`sweep_objects.sql`, on a copy of the seed), in moto's S3
//! server on loopback, as `tests/src/moto.rs` starts it. Each run writes the
//! objects first; the bare work is then the same statements plus one bulk
//! delete of the expired recordings' objects, and the sweep (default options
//! only) deletes them after each batch, as the server's does.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures_util::{StreamExt as _, TryStreamExt as _};
use termaudit_domain::{Permission, ProjectName, ProjectSlug};
use termaudit_retention::{SweepOptions, SweepReport, sweep_once};
use termaudit_storage::{DatabaseUrl, ObjectTarget, RecordingsStoreUrl, Store};
use termaudit_tests::moto::{BUCKET, Moto};
use tokio_util::sync::CancellationToken;

use crate::{Latencies, database, serve, server_url, token};

const SLUG: &str = "sweep";
const RUN_DB: &str = "termaudit_bench_sweep_run";

/// The same purge as set-based statements: expired, unheld, unpurged
/// recordings of ended sessions under the default policy (the seed sets no
/// policy), their content deleted, the rows marked and audited.
const BARE_PURGE: &[&str] = &[
    "CREATE TEMP TABLE expired ON COMMIT DROP AS
     SELECT r.session_id, s.project_id, s.ended_at FROM sessions s
     JOIN recordings r ON r.session_id = s.id AND r.purged_at IS NULL AND r.finalized_at IS NOT NULL
     WHERE s.recorded AND s.ended_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.session_id = s.id)
       AND s.ended_at + make_interval(days => CASE s.environment_class WHEN 'production' THEN 365 ELSE 90 END) <= now()",
    "UPDATE recordings r SET purged_at = now(), purge_reason = 'retention'
     FROM expired e WHERE r.session_id = e.session_id",
    "DELETE FROM recording_emulation x USING expired e WHERE x.session_id = e.session_id",
    "DELETE FROM recording_snapshots x USING expired e WHERE x.session_id = e.session_id",
    "DELETE FROM recording_markers x USING expired e WHERE x.session_id = e.session_id",
    "DELETE FROM recording_chunks x USING expired e WHERE x.session_id = e.session_id",
    "INSERT INTO audit_events (project_id, occurred_at, event_type, session_id, details)
     SELECT e.project_id, now(), 'recording.purged', e.session_id, jsonb_build_object('ended_at', e.ended_at)
     FROM expired e",
];

/// An expired recording's objects, as the bare work deletes them: its
/// object rows, with their keys to delete from the store once committed.
const BARE_OBJECTS: &str = "DELETE FROM recording_objects o USING expired e
     WHERE o.session_id = e.session_id RETURNING o.key";

pub async fn run(recordings: i64, objects: bool) -> anyhow::Result<()> {
    let plain_name = format!("termaudit_bench_sweep_{recordings}");
    let plain_url = database(&plain_name).await?;
    {
        let store = Store::new(&plain_url, 1)?;
        if store.project_by_slug(SLUG).await?.is_none() {
            eprintln!("seeding {recordings} recordings into {plain_name}...");
            let project = store
                .create_project(&ProjectSlug::parse(SLUG)?, &ProjectName::parse("Sweep")?)
                .await?;
            let seed = include_str!("sweep_seed.sql")
                .replace("{project}", &project.id.to_string())
                .replace("{recordings}", &recordings.to_string());
            plain_url.connect().await?.batch_execute(&seed).await.context("seeding")?;
        }
        drop(store);
    }
    let moto = if objects { Some(Moto::start().await) } else { None };
    let target = match &moto {
        Some(moto) => {
            ObjectTarget::open(
                &RecordingsStoreUrl::parse(&format!("s3://{BUCKET}"))
                    .map_err(anyhow::Error::msg)?,
                &moto.s3_settings("test", "test"),
            )
            .await?
        }
        None => None,
    };
    let (seed_url, seed_name) = match &target {
        Some(target) => {
            let name = format!("termaudit_bench_sweep_objects_{recordings}");
            let admin = DatabaseUrl::parse(&server_url())?.connect().await?;
            let seeded = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                .await?
                .is_some();
            if !seeded {
                eprintln!("moving {name}'s bodies into objects...");
                let url = copy(&plain_url, &plain_name, &name).await?;
                let seed = include_str!("sweep_objects.sql").replace("{store}", target.root());
                url.connect().await?.batch_execute(&seed).await.context("seeding objects")?;
            }
            let url = plain_url.with_database(&name);
            // Seeded by an earlier build: its migrations since.
            termaudit_storage::migrate(&url).await?;
            (url, name)
        }
        None => (plain_url, plain_name),
    };
    let target = target.as_ref();

    // 1. The bare work.
    let run_url = copy(&seed_url, &seed_name, RUN_DB).await?;
    if let Some(target) = target {
        put_objects(&run_url, target).await?;
    }
    let mut client = run_url.connect().await?;
    let started = Instant::now();
    let tx = client.transaction().await?;
    let mut expired = 0;
    for (i, statement) in BARE_PURGE.iter().enumerate() {
        let n = tx.execute(*statement, &[]).await?;
        if i == 0 {
            expired = n;
        }
    }
    let keys: Vec<String> = match target {
        Some(_) => tx.query(BARE_OBJECTS, &[]).await?.iter().map(|row| row.get(0)).collect(),
        None => Vec::new(),
    };
    tx.commit().await?;
    if let Some(target) = target {
        anyhow::ensure!(keys.len() as u64 == expired, "{} objects for {expired}", keys.len());
        target.delete(keys).await?;
    }
    let bare = started.elapsed();
    drop(client);

    // 2. The sweep, with the API read meanwhile: flat out (no rest between
    // batches), then as the server runs it (the default options).
    // What the server ran before (batches of 500, flat out), and what it
    // runs now.
    let before = SweepOptions { batch_size: 500, rest: 0.0, ..SweepOptions::default() };
    let mut runs = Vec::new();
    // With objects, the server's options only: each run writes them all first.
    let sweeps = if objects {
        vec![("default", SweepOptions::default())]
    } else {
        vec![("batches of 500, no rest (before)", before), ("default", SweepOptions::default())]
    };
    for (name, options) in sweeps {
        let run = sweep_under_reads(&seed_url, &seed_name, options, target).await?;
        anyhow::ensure!(
            run.purged as u64 == expired,
            "the sweep purged {}, expected {expired}",
            run.purged
        );
        runs.push((name, options, run));
    }

    let per_minute = |n: u64, d: Duration| n as f64 * 60.0 / d.as_secs_f64();
    let with_objects = if objects { ", each recording's bodies in an object (moto)" } else { "" };
    println!("### {recordings} recordings, {expired} expired{with_objects}");
    println!();
    println!("| run | purged | time | recordings/min | ratio to bare SQL |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| bare SQL (6 set-based statements, 1 transaction){} | {expired} | {:.2} s | {:.0} | 1 |",
        if objects { ", then one bulk delete of their objects" } else { "" },
        bare.as_secs_f64(),
        per_minute(expired, bare)
    );
    for (name, options, run) in &runs {
        println!(
            "| `sweep_once` {name}: {} batches of {}, rest {} | {} | {:.2} s | {:.0} | {:.2} |",
            run.batches,
            options.batch_size,
            options.rest,
            run.purged,
            run.took.as_secs_f64(),
            per_minute(run.purged as u64, run.took),
            bare.as_secs_f64() / run.took.as_secs_f64(),
        );
    }
    println!();
    println!("| first history page, every 5 ms | requests | p50 | p99 | max | p99 / p99 without |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, _, run) in &runs {
        for (when, l) in
            [("without a sweep (5 s before)", &run.before), ("during the sweep", &run.during)]
        {
            println!(
                "| {name}: {when} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} |",
                l.len(),
                l.percentile(50.0),
                l.percentile(99.0),
                l.percentile(100.0),
                l.percentile(99.0) / run.before.percentile(99.0),
            );
        }
    }
    Ok(())
}

/// One sweep and the API's latencies without and during it.
struct SweepRun {
    purged: usize,
    batches: usize,
    took: Duration,
    before: Latencies,
    during: Latencies,
}

/// Copies the seed (and writes its objects into `objects`), serves the
/// copy, reads the first history page every 5 ms for 5 s, then sweeps with
/// `options` while reading on.
async fn sweep_under_reads(
    seed_url: &DatabaseUrl,
    seed_name: &str,
    options: SweepOptions,
    objects: Option<&ObjectTarget>,
) -> anyhow::Result<SweepRun> {
    let run_url = copy(seed_url, seed_name, RUN_DB).await?;
    if let Some(objects) = objects {
        put_objects(&run_url, objects).await?;
    }
    let address = serve(RUN_DB).await?;
    let token = token(SLUG, vec![Permission::ViewHistory])?;
    let page = format!("{address}/api/v1/projects/{SLUG}/sessions?limit=50");
    let http = reqwest::Client::new();
    let probe = |stop: CancellationToken| {
        let (http, page, token) = (http.clone(), page.clone(), token.clone());
        tokio::spawn(async move {
            let mut latencies = Latencies::default();
            while !stop.is_cancelled() {
                let started = Instant::now();
                let response = http.get(&page).bearer_auth(&token).send().await?;
                anyhow::ensure!(response.status().is_success(), "{}", response.status());
                response.bytes().await?;
                latencies.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            anyhow::Ok(latencies)
        })
    };
    let stop = CancellationToken::new();
    let before = probe(stop.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.cancel();
    let before = before.await??;

    let store = Store::new(&run_url, 4)?.with_objects(objects.cloned());
    let stop = CancellationToken::new();
    let during = probe(stop.clone());
    let started = Instant::now();
    let report = sweep_once(&store, &run_url, Utc::now(), options).await?;
    let took = started.elapsed();
    stop.cancel();
    let during = during.await??;
    let SweepReport::Completed { purged, batches, .. } = report else {
        anyhow::bail!("the sweep did not complete: {report:?}");
    };
    let listed: i64 = run_url
        .connect()
        .await?
        .query_one("SELECT count(*) FROM recording_object_deletions", &[])
        .await?
        .get(0);
    anyhow::ensure!(listed == 0, "{listed} purged objects were not deleted");
    Ok(SweepRun { purged, batches, took, before, during })
}

/// Writes the objects the copy's rows point at (2080 bytes each, 32 at a
/// time) and says how long that took.
async fn put_objects(run_url: &DatabaseUrl, target: &ObjectTarget) -> anyhow::Result<()> {
    let keys: Vec<String> = run_url
        .connect()
        .await?
        .query("SELECT key FROM recording_objects", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let body = bytes::Bytes::from(vec![b'x'; 2080]);
    let started = Instant::now();
    futures_util::stream::iter(keys.iter().map(|key| target.write(key, body.clone())))
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;
    let took = started.elapsed();
    eprintln!(
        "wrote {} objects in {:.1} s ({:.0}/s)",
        keys.len(),
        took.as_secs_f64(),
        keys.len() as f64 / took.as_secs_f64()
    );
    Ok(())
}

/// A fresh copy of the seeded database as `name`.
async fn copy(seed: &DatabaseUrl, seed_name: &str, name: &str) -> anyhow::Result<DatabaseUrl> {
    let admin = DatabaseUrl::parse(&server_url())?.connect().await?;
    // The template must have no connections (the seeding's are closing).
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&seed_name],
        )
        .await?;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {seed_name}"))
        .await
        .context("copying the seeded database")?;
    Ok(seed.with_database(name))
}
