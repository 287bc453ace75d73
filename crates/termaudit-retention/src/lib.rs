//! The retention sweep: purges recordings whose retention has passed.
//!
//! One step and one loop: [`sweep_once`] purges everything expired at a given
//! `now`, in bounded batches of short transactions (writers keep going), and
//! records the run; [`run`] calls it at start-up and then every interval
//! until shut down. A PostgreSQL advisory lock lets exactly one sweep run at
//! a time across replicas; a sweep that dies half way (or whose database
//! restarts under it) leaves every purged recording consistent (each batch
//! commits on its own) and the next sweep finishes the work. The lock lives
//! on the sweep's own connection: a sweep checks it before each batch and
//! stops with [`RetentionError::LockLost`] when that connection has ended.
//! Session metadata, activity and audit events stay. Recordings whose bytes
//! are in an object store lose their rows first (their objects listed for
//! deletion in the same transaction), then their objects, in batches.

use std::time::Duration;

use chrono::{DateTime, Utc};
use termaudit_storage::{DatabaseUrl, StorageError, Store, SweepLock};
use tokio_util::sync::CancellationToken;

/// How a sweep goes about its work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepOptions {
    /// Recordings purged per transaction.
    pub batch_size: i64,
    /// Stop after this many batches (the rest is left for the next sweep);
    /// `None` runs until nothing expired is left.
    pub max_batches: Option<usize>,
    /// After each batch, rest this many times as long as the batch took,
    /// so that the sweep leaves the database (and the cores it shares with
    /// the API) to the API's requests part of the time: 1.0 sweeps half the
    /// time, 0.0 flat out. See docs/benchmarks.md, "Retention sweep".
    pub rest: f64,
}

impl Default for SweepOptions {
    fn default() -> Self {
        // Measured (docs/benchmarks.md, "Retention sweep"): a request that
        // meets a batch waits for it, so short batches keep the API's p99
        // near its quiet value; the rest shares the database.
        Self { batch_size: 100, max_batches: None, rest: 0.5 }
    }
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepReport {
    /// Another sweeper held the lock; this one did nothing.
    Skipped,
    Completed {
        run_id: i64,
        purged: usize,
        bytes_freed: i64,
        batches: usize,
    },
    /// Stopped by `max_batches` with expired recordings left.
    Partial {
        run_id: i64,
        purged: usize,
        bytes_freed: i64,
        batches: usize,
    },
}

impl SweepReport {
    pub fn purged(&self) -> usize {
        match self {
            Self::Skipped => 0,
            Self::Completed { purged, .. } | Self::Partial { purged, .. } => *purged,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The sweeper lock's connection ended (a database restart): another
    /// sweeper may hold the lock now, so this one stops before its next
    /// batch. What it committed stays; the next sweep does the rest.
    #[error("the sweeper lock was lost (its database connection ended); the next sweep finishes")]
    LockLost,
}

/// Purges every recording expired at `now` (see
/// `termaudit_domain::recording_expires_at`), unless another sweeper is at
/// work. Recordings under a legal hold, and sessions not yet ended, are
/// never purged.
pub async fn sweep_once(
    store: &Store,
    url: &DatabaseUrl,
    now: DateTime<Utc>,
    options: SweepOptions,
) -> Result<SweepReport, RetentionError> {
    let Some(lock) = store.try_lock_sweeper(url).await? else {
        tracing::info!("another sweeper is running; skipping this sweep");
        return Ok(SweepReport::Skipped);
    };
    let run_id = store.start_retention_run(Utc::now(), now).await?;
    let result = purge_all(store, &lock, run_id, now, options).await;
    let finished = Utc::now();
    let report = match result {
        Ok((purged, bytes_freed, batches, complete)) => {
            store
                .finish_retention_run(
                    run_id,
                    finished,
                    if complete { "completed" } else { "interrupted" },
                    0,
                    None,
                )
                .await?;
            if complete {
                SweepReport::Completed { run_id, purged, bytes_freed, batches }
            } else {
                SweepReport::Partial { run_id, purged, bytes_freed, batches }
            }
        }
        Err(err) => {
            // Record the failure when the database still answers.
            let detail = err.to_string();
            if let Err(record) =
                store.finish_retention_run(run_id, finished, "failed", 1, Some(&detail)).await
            {
                tracing::warn!(error = %record, "could not record the failed sweep");
            }
            drop(lock.release().await);
            return Err(err);
        }
    };
    lock.release().await?;
    Ok(report)
}

async fn purge_all(
    store: &Store,
    lock: &SweepLock,
    run_id: i64,
    now: DateTime<Utc>,
    options: SweepOptions,
) -> Result<(usize, i64, usize, bool), RetentionError> {
    let (mut purged, mut bytes_freed, mut batches) = (0, 0, 0);
    // Each batch starts after the last one's last recording: purged rows
    // stay in the time index, and starting again from the oldest made every
    // batch walk past all of them (quadratic in the recordings purged).
    let mut after = None;
    loop {
        if options.max_batches.is_some_and(|max| batches >= max) {
            let left = !store.expired_recordings(now, None, 1).await?.is_empty();
            return Ok((purged, bytes_freed, batches, !left));
        }
        if !lock.is_held().await {
            return Err(RetentionError::LockLost);
        }
        let started = tokio::time::Instant::now();
        let batch = store.purge_expired_batch(run_id, now, after, options.batch_size).await?;
        let took = started.elapsed();
        after = batch.last;
        if batch.found == 0 {
            return Ok((purged, bytes_freed, batches, true));
        }
        batches += 1;
        purged += batch.purged;
        bytes_freed += batch.bytes_freed;
        delete_released_objects(store).await;
        if batch.purged == 0 {
            // Everything found is being purged by someone else right now.
            return Ok((purged, bytes_freed, batches, true));
        }
        if options.rest > 0.0 {
            let rest = Duration::try_from_secs_f64(took.as_secs_f64() * options.rest);
            tokio::time::sleep(rest.unwrap_or_default()).await;
        }
    }
}

/// Deletes the objects of the recordings purged so far from the object
/// store, when there is one, a thousand at a time. The batch's transaction
/// listed them (the rows went first, so none points at a missing object);
/// a store that fails leaves them listed, and the compactor deletes them
/// once it answers again: nothing leaks, and the sweep goes on.
async fn delete_released_objects(store: &Store) {
    loop {
        match store.delete_released_objects(1000).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot delete purged recordings' objects now; the compactor retries");
                return;
            }
        }
    }
}

/// Sweeps at once and then every `interval` until `shutdown` is cancelled.
/// A failed sweep is logged and retried at the next tick.
pub async fn run(store: Store, url: DatabaseUrl, interval: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match sweep_once(&store, &url, Utc::now(), SweepOptions::default()).await {
            Ok(SweepReport::Skipped) => {}
            Ok(report) => tracing::info!(?report, "retention sweep finished"),
            Err(err) => {
                tracing::error!(error = %err, "retention sweep failed; retrying at the next interval")
            }
        }
    }
}
