//! Moving finalized recordings between PostgreSQL and the object store
//! (`termaudit recordings move`), one recording at a time, so a move cut
//! short resumes where it stopped.
//!
//! Into the object store, a recording is compacted as the compactor does
//! it, each object read back and compared before the rows point at it.
//! Back into PostgreSQL, each object's bodies are written into their rows
//! and the object listed for deletion after a grace period. Either way the
//! recording's download is then streamed and its SHA-256 compared with the
//! one stored at finalization: the objects a move back leaves are deleted
//! only once it matches (otherwise they stay until their grace is over, and
//! the move fails naming the recording).

use futures_util::TryStreamExt as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    compact::{CompactOptions, CompactReport},
    objects::POSTGRES,
};
use crate::{StorageError, Store};

/// Where `termaudit recordings move` takes recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTo {
    /// Into the store's object store.
    Objects,
    Postgres,
}

/// How long a moved-back recording's objects are kept unless its digest
/// is verified sooner.
const MOVED_GRACE_SECONDS: f64 = 3600.0;

impl Store {
    fn move_target(&self, to: MoveTo) -> Result<&str, StorageError> {
        match to {
            MoveTo::Postgres => Ok(POSTGRES),
            MoveTo::Objects => self.objects().map(|o| o.root()).ok_or_else(|| {
                StorageError::ObjectStoreConfig("no object store is configured".into())
            }),
        }
    }

    /// How many finalized recordings are not in `to` yet.
    pub async fn recordings_to_move_count(&self, to: MoveTo) -> Result<i64, StorageError> {
        let store = self.move_target(to)?;
        let client = self.client().await?;
        Ok(client
            .query_one(include_str!("../sql/recordings_to_move_count.sql"), &[&store])
            .await?
            .try_get(0)?)
    }

    /// Up to `limit` finalized recordings not in `to` yet, by id after `after`.
    pub async fn recordings_to_move(
        &self,
        to: MoveTo,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Uuid>, StorageError> {
        let store = self.move_target(to)?;
        let client = self.client().await?;
        client
            .query(include_str!("../sql/recordings_to_move.sql"), &[&store, &after, &limit])
            .await?
            .iter()
            .map(|row| Ok(row.try_get(0)?))
            .collect()
    }

    /// Moves recording `session_id` into `to` and verifies its SHA-256
    /// there. `false` when it is not a finalized, unpurged recording.
    pub async fn move_recording(&self, session_id: Uuid, to: MoveTo) -> Result<bool, StorageError> {
        let store = self.move_target(to)?.to_owned();
        let objects = {
            let client = self.client().await?;
            if client
                .query_opt(include_str!("../sql/recording_set_store.sql"), &[&session_id, &store])
                .await?
                .is_none()
            {
                return Ok(false);
            }
            client.query(include_str!("../sql/recording_objects_of.sql"), &[&session_id]).await?
        };
        let mut released = Vec::new();
        for object in &objects {
            let object_store: String = object.try_get("store")?;
            if to == MoveTo::Objects && object_store == store {
                continue;
            }
            let source = self.objects().filter(|o| o.root() == object_store).ok_or_else(|| {
                StorageError::ObjectStoreUnavailable(format!(
                    "recording {session_id} has objects in {object_store}, which is not the configured store"
                ))
            })?;
            let key: String = object.try_get("key")?;
            let size: i64 = object.try_get("size_bytes")?;
            let body = source.read(&key, 0..u64::try_from(size).unwrap_or(0)).await?;
            let id: i64 = object.try_get("id")?;
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (mut chunks, mut snapshots) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
            for row in tx.query(include_str!("../sql/recording_object_bodies.sql"), &[&id]).await? {
                let start =
                    usize::try_from(row.try_get::<_, i64>("object_offset")?).unwrap_or(usize::MAX);
                let end = start.saturating_add(
                    usize::try_from(row.try_get::<_, i32>("object_length")?).unwrap_or(0),
                );
                let slice = body.get(start..end).ok_or_else(|| {
                    StorageError::Corrupt(format!(
                        "the object {key} is shorter than its index says"
                    ))
                })?;
                let list = if row.try_get::<_, &str>("kind")? == "c" {
                    &mut chunks
                } else {
                    &mut snapshots
                };
                list.0.push(row.try_get::<_, i32>("key")?);
                list.1.push(slice.to_vec());
            }
            tx.execute(
                include_str!("../sql/recording_chunks_inline.sql"),
                &[&session_id, &chunks.0, &chunks.1, &id],
            )
            .await?;
            tx.execute(
                include_str!("../sql/recording_snapshots_inline.sql"),
                &[&session_id, &snapshots.0, &snapshots.1, &id],
            )
            .await?;
            tx.execute(
                include_str!("../sql/recording_object_drop.sql"),
                &[&id, &object_store, &key, &MOVED_GRACE_SECONDS],
            )
            .await?;
            tx.commit().await?;
            released.push((object_store, key));
        }
        if to == MoveTo::Objects {
            let target = self.objects().ok_or_else(|| {
                StorageError::ObjectStoreConfig("no object store is configured".into())
            })?;
            let options = CompactOptions { read_back: true, ..CompactOptions::default() };
            self.compact_recording(
                target,
                session_id,
                true,
                options,
                &mut CompactReport::default(),
            )
            .await?;
        }
        self.verify_digest(session_id).await?;
        let client = self.client().await?;
        for (store, key) in released {
            client
                .execute(
                    include_str!("../sql/recording_objects_due_now.sql"),
                    &[&store, &vec![key]],
                )
                .await?;
        }
        Ok(true)
    }

    /// Streams recording `session_id`'s download and compares its SHA-256
    /// with the one stored at finalization.
    async fn verify_digest(&self, session_id: Uuid) -> Result<(), StorageError> {
        let recording = self
            .recording(session_id)
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("recording {session_id} is gone")))?;
        let mut hasher = Sha256::new();
        let mut body = Box::pin(self.recording_download(session_id, &recording, None));
        while let Some(piece) = body.try_next().await? {
            hasher.update(&piece);
        }
        if recording.sha256.as_deref() != Some(&hasher.finalize()[..]) {
            return Err(StorageError::Corrupt(format!(
                "recording {session_id} does not read back with its SHA-256 after the move"
            )));
        }
        Ok(())
    }
}
