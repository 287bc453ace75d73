//! The audit log's sequencer as a background task: one replica at a time
//! holds its lock (a standby takes over within seconds when that replica
//! dies), appends committed audit entries to the log a batch at a time,
//! and signs a tree head per project at most every `head_interval` when
//! the log grew.

use std::{sync::Arc, time::Duration};

use termaudit_domain::transparency::LogSigner;
use termaudit_storage::{DatabaseUrl, Store};
use tokio_util::sync::CancellationToken;

/// Entries appended per transaction.
const BATCH: i64 = 2000;
/// How often a caught-up sequencer looks for new entries.
const POLL: Duration = Duration::from_millis(250);
/// How often a standby replica tries to take the lock.
const STANDBY: Duration = Duration::from_secs(2);

pub async fn run(
    store: Store,
    url: DatabaseUrl,
    signer: Arc<LogSigner>,
    head_interval: Duration,
    shutdown: CancellationToken,
) {
    let interval =
        chrono::Duration::from_std(head_interval).unwrap_or(chrono::Duration::minutes(5));
    loop {
        let sequencer = tokio::select! {
            _ = shutdown.cancelled() => return,
            locked = store.try_lock_sequencer(&url, signer.clone()) => locked,
        };
        let mut sequencer = match sequencer {
            Ok(Some(sequencer)) => sequencer,
            Ok(None) => {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(STANDBY) => continue,
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot take the audit log's sequencer lock; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(STANDBY) => continue,
                }
            }
        };
        tracing::info!("this replica sequences the audit log");
        loop {
            let pause = match sequencer.append_batch(BATCH).await {
                Ok(report) if !report.caught_up => Duration::ZERO,
                Ok(_) => {
                    if let Err(err) = sequencer.sign_due_heads(chrono::Utc::now(), interval).await {
                        tracing::warn!(error = %err, "signing tree heads failed; retrying");
                    }
                    POLL
                }
                Err(err) => {
                    if !sequencer.is_held().await {
                        tracing::warn!(error = %err, "the sequencer lost its connection and its lock");
                        break;
                    }
                    tracing::warn!(error = %err, "sequencing failed; retrying");
                    STANDBY
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
