//! The recordings' compactor as a background task, when an object store is
//! configured: one replica at a time holds its lock and moves stored chunk
//! bodies and snapshots into objects (`termaudit_storage`'s
//! `compact_once`), every few seconds. A store that fails makes it wait
//! longer each time, up to a minute; ingest never waits for it (chunks are
//! acknowledged in PostgreSQL).

use std::time::Duration;

use termaudit_storage::{CompactOptions, DatabaseUrl, Store};
use tokio_util::sync::CancellationToken;

/// How often a caught-up compactor looks again: a finalized recording's
/// bytes leave PostgreSQL within a minute, this plus its emulation's end.
const POLL: Duration = Duration::from_secs(5);
/// How often a standby replica tries to take the lock.
const STANDBY: Duration = Duration::from_secs(10);
/// The longest wait after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub async fn run(
    store: Store,
    url: DatabaseUrl,
    options: CompactOptions,
    shutdown: CancellationToken,
) {
    if store.objects().is_none() {
        return;
    }
    loop {
        let lock = tokio::select! {
            _ = shutdown.cancelled() => return,
            lock = store.try_lock_compactor(&url) => lock,
        };
        let lock = match lock {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                if sleep_or_stop(STANDBY, &shutdown).await {
                    return;
                }
                continue;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot take the compactor's lock; retrying");
                if sleep_or_stop(STANDBY, &shutdown).await {
                    return;
                }
                continue;
            }
        };
        let mut failures = 0u32;
        loop {
            let pause = match store.compact_once(options).await {
                Ok(report) => {
                    failures = 0;
                    if report.objects > 0 || report.deleted > 0 {
                        tracing::info!(?report, "compacted recordings");
                    }
                    POLL
                }
                Err(err) => {
                    failures += 1;
                    let pause = POLL.saturating_mul(1 << failures.min(4)).min(MAX_BACKOFF);
                    tracing::warn!(error = %err, retry_in = ?pause, "compaction failed");
                    pause
                }
            };
            if sleep_or_stop(pause, &shutdown).await {
                drop(lock.release().await);
                return;
            }
            if !lock.is_held().await {
                tracing::warn!("the compactor lost its lock's connection");
                break;
            }
        }
    }
}

/// Sleeps `pause`; `true` when shut down meanwhile.
async fn sleep_or_stop(pause: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(pause) => false,
    }
}
