//! A session's reports to the API, sent in order by one task: recording
//! chunks, commands and database statements. An API outage is ridden out:
//! each report is retried with backoff until the API takes it, and since
//! chunks are immutable once sealed and events carry ids, a retry of
//! something the API already stored (an answer lost on the way) is accepted
//! without storing it twice.

use termaudit_api_types as dto;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    client::{ApiClient, Backoff, CallError},
    recorder::Chunk,
};

#[derive(Debug)]
pub enum Report {
    Chunk(Chunk),
    Activity(dto::Activity),
    Database(dto::DatabaseEvent),
}

impl Report {
    fn describe(&self) -> String {
        match self {
            Self::Chunk(chunk) => format!("recording chunk {}", chunk.seq),
            Self::Activity(item) => format!("activity {}", item.event_id),
            Self::Database(item) => format!("database event {}", item.event_id),
        }
    }
}

/// Sends a session's reports; dropping it lets the task finish the queue.
pub struct Reporter {
    tx: mpsc::UnboundedSender<Report>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporter {
    pub fn spawn(api: ApiClient, project: String, session: Uuid) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(api, project, session, rx));
        Self { tx, task }
    }

    pub fn send(&self, report: Report) {
        // The task only ends after the sender is dropped.
        let _ = self.tx.send(report);
    }

    /// Waits until every queued report is delivered (or refused), at most
    /// `limit`; what is still queued then is lost, and logged.
    pub async fn finish(self, limit: std::time::Duration) {
        let Self { tx, mut task } = self;
        drop(tx);
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            task.abort();
            tracing::error!(
                "the API stayed unavailable; undelivered reports of a session are lost"
            );
        }
    }
}

async fn run(
    api: ApiClient,
    project: String,
    session: Uuid,
    mut rx: mpsc::UnboundedReceiver<Report>,
) {
    while let Some(report) = rx.recv().await {
        let mut backoff = Backoff::default();
        loop {
            let result = match &report {
                Report::Chunk(chunk) => {
                    api.put_chunk(&project, session, chunk.seq, chunk.body.clone()).await.map(drop)
                }
                Report::Activity(item) => {
                    api.activity(&project, session, vec![item.clone()]).await.map(drop)
                }
                Report::Database(item) => {
                    api.database_events(&project, session, vec![item.clone()]).await.map(drop)
                }
            };
            match result {
                Ok(()) => break,
                Err(err @ CallError::Unavailable(_)) => {
                    tracing::warn!(%session, error = %err, "a report failed; retrying");
                    backoff.wait().await;
                }
                Err(err) => {
                    tracing::warn!(%session, error = %err, report = report.describe(), "the API refused a report");
                    break;
                }
            }
        }
    }
}
