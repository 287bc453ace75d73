//! What live watchers of a recording need: the signal every replica hears
//! when a recording moves (`NOTIFY` on [`LIVE_CHANNEL`], sent in the
//! transaction that stores a chunk or finalizes the recording, so it is
//! heard only once that has committed), and the terminal at the recording's
//! edge, which a watcher starts from.
//!
//! A signal only says where to look: a watcher reads what was stored from
//! the database, so a signal missed (a listener reconnecting) delays a
//! watcher but never makes it skip anything.

use serde::{Deserialize, Serialize};
use termaudit_domain::asciicast::{Decoder, Micros, TerminalSnapshot, Version};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::{chunks::ChunkCursor, types::RecordingRow};
use crate::{StorageError, Store};

/// The channel of [`LiveSignal`]s.
pub const LIVE_CHANNEL: &str = "termaudit_live";

/// A recording moved; see the module's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveSignal {
    /// Chunk `seq` of the recording of session `session_id` is stored.
    Chunk { session_id: Uuid, seq: i32 },
    /// The recording of session `session_id` is finalized: no chunk comes
    /// any more.
    Finalized { session_id: Uuid },
    /// The replica's listener (re)connected and may have missed signals:
    /// every watcher looks again. Never sent through the database.
    Resync,
}

impl LiveSignal {
    /// Whether a watcher of session `session_id` should look again.
    pub fn concerns(&self, session_id: Uuid) -> bool {
        match self {
            Self::Chunk { session_id: id, .. } | Self::Finalized { session_id: id } => {
                *id == session_id
            }
            Self::Resync => true,
        }
    }
}

/// Sends `signal` to every replica when `client`'s transaction commits.
pub(super) async fn notify_live(
    client: &impl GenericClient,
    signal: &LiveSignal,
) -> Result<(), StorageError> {
    let payload =
        serde_json::to_string(signal).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    client.execute(include_str!("../sql/notify_live.sql"), &[&payload]).await?;
    Ok(())
}

impl Store {
    /// The terminal after chunks `0 .. recording.next_seq`, exactly: the
    /// newest snapshot before that edge, and the chunks after it played.
    pub async fn recording_edge(
        &self,
        session_id: Uuid,
        recording: &RecordingRow,
    ) -> Result<TerminalSnapshot, StorageError> {
        let snapshot = self
            .client()
            .await?
            .query_opt(
                include_str!("../sql/recording_snapshot_last.sql"),
                &[&session_id, &recording.next_seq],
            )
            .await?;
        let (mut replay, first_seq) = self.restore(snapshot.as_ref(), recording).await?;
        let mut cursor = ChunkCursor::new(self.clone(), session_id, first_seq, recording.next_seq);
        while let Some(chunk) = cursor.next().await? {
            replay = tokio::task::spawn_blocking(move || {
                let mut decoder = Decoder::resume(Version::V2, Micros::ZERO);
                for line in chunk.lines.split_terminator('\n') {
                    if let Ok(Some(event)) = decoder.decode_line(line) {
                        replay.apply(&event);
                    }
                }
                replay
            })
            .await
            .map_err(|e| StorageError::Corrupt(format!("replay failed: {e}")))?;
        }
        Ok(replay.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_read_back_and_say_whom_they_concern() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        for signal in
            [LiveSignal::Chunk { session_id: a, seq: 3 }, LiveSignal::Finalized { session_id: a }]
        {
            let text = serde_json::to_string(&signal).expect("serializes");
            assert_eq!(serde_json::from_str::<LiveSignal>(&text).expect("reads back"), signal);
            assert!(signal.concerns(a));
            assert!(!signal.concerns(b));
        }
        assert!(LiveSignal::Resync.concerns(b));
    }
}
