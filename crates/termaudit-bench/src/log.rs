//! `log [ENTRIES]` (default 1 000 000): the audit log's transparency log
//! (issue 19). Seeds a project with ENTRIES audit entries, then measures,
//! with the storage layer the server uses:
//!
//! - the sequencer appending them all (entries per second);
//! - `verify db`'s check (`verify_log`): every leaf recomputed from the
//!   audit table, every stored subtree and head from the leaves;
//! - inclusion and consistency proofs at that size: hashes per proof, and
//!   the time to make one (p50/p99 of 200);
//! - the append rate of 200 concurrent writers (over 32 connections) for
//!   10 s without the sequencer, then with it running beside them, and its
//!   lag then.
//!
//! The database `termaudit_bench_log_{ENTRIES}` is created and reused.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use termaudit_domain::{
    AuditEventType, ProjectName, ProjectSlug,
    transparency::{KeyRing, LogSigner},
};
use termaudit_storage::{NewAuditEvent, Store};
use uuid::Uuid;

use crate::Latencies;

const WRITERS: usize = 200;
/// The writers share this many connections, as a server's requests share
/// its pool (16 by default); PostgreSQL allows 100 by default.
const CONNECTIONS: usize = 32;
const WRITE_FOR: Duration = Duration::from_secs(10);

pub async fn run(entries: i64) -> anyhow::Result<()> {
    let name = format!("termaudit_bench_log_{entries}");
    let url = crate::database(&name).await?;
    let store = Store::new(&url, CONNECTIONS)?;
    let signer = Arc::new(LogSigner::from_secret([19; 32]));
    let keys = KeyRing::new(vec![signer.public().clone()]);
    let project = match store.project_by_slug("log").await? {
        Some(project) => project,
        None => {
            let project = store
                .create_project(&ProjectSlug::parse("log")?, &ProjectName::parse("Log")?)
                .await?;
            eprintln!("seeding {entries} audit entries...");
            url.connect()
                .await?
                .batch_execute(&format!(
                    "INSERT INTO audit_events (project_id, event_type, actor_subject, actor_name, details)
                     SELECT '{}', 'policy.updated', 'user' || (g % 50), 'User ' || (g % 50),
                            jsonb_build_object('retention_days', g % 400, 'note', md5(g::text))
                     FROM generate_series(1, {entries}) g",
                    project.id
                ))
                .await
                .context("seeding")?;
            project
        }
    };

    // The sequencer over what is not in the log yet (all of it on a first run).
    let mut sequencer =
        store.try_lock_sequencer(&url, signer.clone()).await?.context("the sequencer's lock")?;
    let started = Instant::now();
    let appended = catch_up(&store, project.id, &mut sequencer).await?;
    let took = started.elapsed();
    if appended > 0 {
        println!(
            "sequencer: {appended} entries in {:.1} s ({:.0} entries/s)",
            took.as_secs_f64(),
            appended as f64 / took.as_secs_f64()
        );
    }
    let head = store.ensure_tree_head(project.id, &signer).await?.context("a head")?;
    let size = head.head.tree_size;

    let started = Instant::now();
    let check = store.verify_log(Some(project.id), &keys).await?;
    let took = started.elapsed();
    anyhow::ensure!(check.discrepancies.is_empty(), "the log does not verify");
    println!(
        "verify db: {} leaves and {} heads in {:.1} s ({:.0} entries/s)",
        check.leaves,
        check.tree_heads,
        took.as_secs_f64(),
        check.leaves as f64 / took.as_secs_f64()
    );

    // Proofs of entries spread over the log, into the whole log.
    let first: i64 = url
        .connect()
        .await?
        .query_one("SELECT min(id) FROM audit_events WHERE project_id = $1", &[&project.id])
        .await?
        .get(0);
    let (mut inclusion, mut hashes) = (Latencies::default(), 0usize);
    for i in 0..200i64 {
        let entry = first + (i * 7_919_993) % (size as i64);
        let started = Instant::now();
        let proof = store.inclusion_proof(project.id, entry, size).await?;
        inclusion.push(started.elapsed());
        hashes = hashes.max(proof.map_err(|e| anyhow::anyhow!("{e}"))?.hashes.len());
    }
    let (mut consistency, mut consistency_hashes) = (Latencies::default(), 0usize);
    for i in 1..=200u64 {
        let from = (i * 4_999_999) % size + 1;
        let started = Instant::now();
        let proof = store.consistency_proof(project.id, from, size).await?;
        consistency.push(started.elapsed());
        consistency_hashes =
            consistency_hashes.max(proof.map_err(|e| anyhow::anyhow!("{e}"))?.0.len());
    }
    println!(
        "proofs at {size} entries: inclusion at most {hashes} hashes ({} bytes), p50 {:.2} ms p99 \
         {:.2} ms; consistency at most {consistency_hashes} hashes, p50 {:.2} ms p99 {:.2} ms",
        hashes * 32,
        inclusion.percentile(50.0),
        inclusion.percentile(99.0),
        consistency.percentile(50.0),
        consistency.percentile(99.0),
    );

    // 200 writers without the sequencer, then with it (caught up first).
    let alone = writers(&store, project.id).await;
    println!("{WRITERS} writers, no sequencer: {alone:.0} entries/s");
    catch_up(&store, project.id, &mut sequencer).await?;
    drop(sequencer);
    let stop = Arc::new(AtomicBool::new(false));
    let lag = Arc::new(AtomicU64::new(0));
    let running = {
        let (store, url, signer, stop, lag) =
            (store.clone(), url.clone(), signer.clone(), stop.clone(), lag.clone());
        tokio::spawn(async move {
            let mut sequencer =
                store.try_lock_sequencer(&url, signer).await?.context("the lock")?;
            let mut sequenced = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch = sequencer.append_batch(10_000).await?;
                sequenced += batch.appended;
                let status = store.log_status(None).await?;
                let ms = (status.lag_seconds(chrono::Utc::now()) * 1000.0).min(1e9) as u64;
                lag.fetch_max(ms, Ordering::Relaxed);
                if batch.caught_up {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            anyhow::Ok(sequenced)
        })
    };
    let with = writers(&store, project.id).await;
    stop.store(true, Ordering::Relaxed);
    let sequenced = running.await??;
    // The sequencer takes only entries older than every transaction still
    // running in the cluster (any database's): one that ran long elsewhere
    // holds it back, and then the phase measured less than its work.
    let pending = store.log_status(Some(project.id)).await?.pending;
    if pending > 0 {
        println!(
            "note: {pending} entries were still pending after the sequencer stopped: a \
             transaction elsewhere in the cluster may have held it back (compare its take with \
             the writers' entries)"
        );
    }
    println!(
        "{WRITERS} writers, sequencer running: {with:.0} entries/s ({:.2}x); the sequencer took \
         {sequenced} entries ({:.0}/s), its lag at most {:.1} s",
        with / alone,
        sequenced as f64 / WRITE_FOR.as_secs_f64(),
        lag.load(Ordering::Relaxed) as f64 / 1000.0
    );
    Ok(())
}

/// Appends everything committed so far; returns how many entries. Waits
/// (up to a minute) while a transaction elsewhere in the cluster holds the
/// sequencer back, so the next phase does not start with a backlog.
async fn catch_up(
    store: &Store,
    project: Uuid,
    sequencer: &mut termaudit_storage::Sequencer,
) -> anyhow::Result<usize> {
    let mut appended = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let batch = sequencer.append_batch(10_000).await?;
        appended += batch.appended;
        if batch.caught_up && batch.appended == 0 {
            let pending = store.log_status(Some(project)).await?.pending;
            if pending == 0 {
                return Ok(appended);
            }
            if Instant::now() >= deadline {
                println!("note: {pending} entries still pending: the sequencer is held back");
                return Ok(appended);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Entries per second that [`WRITERS`] tasks append for [`WRITE_FOR`].
async fn writers(store: &Store, project: Uuid) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + WRITE_FOR;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, count) = (store.clone(), count.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let event = NewAuditEvent::new(project, AuditEventType::PolicyUpdated)
                        .actor(&format!("writer{w}"), "Writer")
                        .details(serde_json::json!({ "writer": w }));
                    if store.append_audit(&event).await.is_ok() {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    for task in tasks {
        let _ = task.await;
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
