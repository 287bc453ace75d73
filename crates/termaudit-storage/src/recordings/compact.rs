//! The compactor: moves recordings' chunk bodies and snapshots out of
//! PostgreSQL into objects, and deletes the objects no row points at.
//!
//! Gateways seal a chunk every 250 ms or 64 KiB, and a chunk is
//! acknowledged once PostgreSQL holds it. The compactor then packs a
//! recording's stored bodies into objects of at least
//! [`CompactOptions::min_object_bytes`] (or the rest, once it is
//! finalized), in this order, so that a row never points at a missing
//! object and no object is leaked:
//!
//! 1. the object's key is listed in `recording_object_deletions`, due
//!    after a grace period, and committed;
//! 2. the object is written;
//! 3. one transaction takes the key off that list, records the object,
//!    points each chunk and snapshot at its byte range and drops their
//!    bodies from PostgreSQL. If a purge or a deleter got there first, it
//!    rolls back, and the listed object is deleted once its grace is over.
//!
//! One compactor runs at a time across replicas (an advisory lock, as the
//! retention sweep's).

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;

use super::objects::ObjectTarget;
use crate::{AdvisoryLock, DatabaseUrl, StorageError, Store};

/// A fixed key for the compactor's advisory lock ("termcomp").
const COMPACTOR_LOCK: i64 = 0x7465_726d_636f_6d70;

/// How the compactor goes about its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactOptions {
    /// A live recording is compacted once this many (compressed) bytes of
    /// it wait in PostgreSQL; a finalized one whatever is left.
    pub min_object_bytes: i64,
    /// An object holds about this much at most: its chunks this much, the
    /// snapshots laid out between them as much again at most (a single
    /// larger chunk is an object of its own).
    pub max_object_bytes: i64,
    /// Recordings looked at per pass.
    pub recordings_per_pass: i64,
    /// How long an object written and not yet pointed at is kept: past
    /// this, one no row points at is an orphan (a crash between its write
    /// and its transaction) and deleted.
    pub orphan_grace: Duration,
    /// Read each object back and compare it with what was written before
    /// the rows point at it (`termaudit recordings move`).
    pub read_back: bool,
    /// How long a pass waits, at most, while this process ingests a bulk
    /// upload ([`Store::busy_ingesting`]) before each object: the upload
    /// has the cores (and a local object store's CPU) first.
    pub yield_to_ingest: Duration,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            min_object_bytes: 8 << 20,
            max_object_bytes: 16 << 20,
            recordings_per_pass: 32,
            orphan_grace: Duration::from_secs(15 * 60),
            read_back: false,
            yield_to_ingest: Duration::from_secs(30),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompactReport {
    pub objects: usize,
    pub chunks: usize,
    pub snapshots: usize,
    pub bytes: u64,
    /// Objects deleted (purged recordings' and orphans).
    pub deleted: usize,
    /// How long the pass waited for a bulk upload.
    pub deferred: Duration,
}

impl CompactReport {
    fn add(&mut self, other: Self) {
        self.objects += other.objects;
        self.chunks += other.chunks;
        self.snapshots += other.snapshots;
        self.bytes += other.bytes;
        self.deleted += other.deleted;
        self.deferred += other.deferred;
    }
}

/// Rows' keys with their byte offsets and lengths in an object.
type Ranges = (Vec<i32>, Vec<i64>, Vec<i32>);

/// Bodies packed into one object: their keys and byte ranges in it. Each
/// snapshot lies right before the chunk after it (when that chunk is in the
/// same object), so a seek reads both with one ranged read.
#[derive(Default)]
struct Packed {
    body: Vec<u8>,
    chunks: Ranges,
    snapshots: Ranges,
}

/// An object written, with the ranges its rows are to point at.
struct Placed {
    key: String,
    size: usize,
    chunks: Ranges,
    snapshots: Ranges,
}

impl Packed {
    /// The last chunk and snapshot packed in it (`before`'s where it has
    /// none).
    fn last_keys(&self, before: (i32, i32)) -> (i32, i32) {
        (
            self.chunks.0.last().copied().unwrap_or(before.0),
            self.snapshots.0.last().copied().unwrap_or(before.1),
        )
    }

    /// A row of `recording_compaction_snapshots.sql`.
    fn add_snapshot(&mut self, row: &tokio_postgres::Row) -> Result<(), StorageError> {
        let after: i32 = row.try_get("after_seq")?;
        Self::add(&mut self.snapshots, &mut self.body, after, row.try_get("state")?);
        Ok(())
    }

    fn add(list: &mut Ranges, body: &mut Vec<u8>, key: i32, data: &[u8]) {
        list.0.push(key);
        list.1.push(i64::try_from(body.len()).unwrap_or(i64::MAX));
        list.2.push(i32::try_from(data.len()).unwrap_or(i32::MAX));
        body.extend_from_slice(data);
    }
}

impl Store {
    /// The compactor's lock, or `None` when another replica compacts.
    pub async fn try_lock_compactor(
        &self,
        url: &DatabaseUrl,
    ) -> Result<Option<AdvisoryLock>, StorageError> {
        AdvisoryLock::try_take(url, COMPACTOR_LOCK).await
    }

    /// One pass: compacts the recordings that are due (finalized first),
    /// then deletes the objects whose deletion is due. Nothing without an
    /// object store. Call it holding [`Store::try_lock_compactor`].
    pub async fn compact_once(
        &self,
        options: CompactOptions,
    ) -> Result<CompactReport, StorageError> {
        let mut report = CompactReport::default();
        let Some(target) = self.objects() else { return Ok(report) };
        let due = {
            let client = self.client().await?;
            client
                .query(
                    include_str!("../sql/recording_compaction_due.sql"),
                    &[&target.root(), &options.min_object_bytes, &options.recordings_per_pass],
                )
                .await?
        };
        for row in due {
            let session_id: Uuid = row.try_get("session_id")?;
            let finalized: bool = row.try_get("finalized")?;
            self.compact_recording(target, session_id, finalized, options, &mut report).await?;
        }
        report.deleted = self.delete_released_objects(1000).await?;
        Ok(report)
    }

    /// Packs a recording's stored bodies into objects, one after another,
    /// in a pipeline of one object each: while an object is put to the
    /// store, the transaction that points the rows at the object before it
    /// runs, then the bodies of the object after it are read. One put is in
    /// flight at most, and the database's work hides behind it.
    pub(super) async fn compact_recording(
        &self,
        target: &ObjectTarget,
        session_id: Uuid,
        finalized: bool,
        options: CompactOptions,
        report: &mut CompactReport,
    ) -> Result<(), StorageError> {
        let mut after = (i32::MIN, i32::MIN);
        let mut next = self.pack(session_id, finalized, options, after).await?;
        // The object put last, whose rows do not point at it yet.
        let mut put: Option<Placed> = None;
        while let Some(packed) = next.take() {
            let waiting = tokio::time::Instant::now();
            self.yield_to_ingest(options.yield_to_ingest.saturating_sub(report.deferred)).await;
            report.deferred += waiting.elapsed();
            after = packed.last_keys(after);
            let putting = self.put_object(target, session_id, packed, options);
            let before = put.take();
            let pointing_then_packing = async {
                let pointed = match before {
                    None => None,
                    Some(placed) => Some(self.point_rows_at(target, session_id, placed).await?),
                };
                let packed = self.pack(session_id, finalized, options, after).await?;
                Ok::<_, StorageError>((pointed, packed))
            };
            let (placed, rest) = futures_util::future::join(putting, pointing_then_packing).await;
            let (pointed, packed) = rest?;
            match pointed {
                Some(Some(pointed)) => report.add(pointed),
                // Purged, or changed under it: the listed objects go after
                // their grace; the next pass looks again.
                Some(None) => return Ok(()),
                None => {}
            }
            put = Some(placed?);
            next = packed;
        }
        if let Some(placed) = put
            && let Some(pointed) = self.point_rows_at(target, session_id, placed).await?
        {
            report.add(pointed);
        }
        Ok(())
    }

    /// The next object of recording `session_id`: its chunks and snapshots
    /// still in PostgreSQL after `after` (the last chunk and snapshot
    /// packed before), laid out. `None` when nothing is left, or, for a
    /// live recording, less than [`CompactOptions::min_object_bytes`].
    async fn pack(
        &self,
        session_id: Uuid,
        finalized: bool,
        options: CompactOptions,
        (after_chunk, after_snapshot): (i32, i32),
    ) -> Result<Option<Packed>, StorageError> {
        let mut packed = Packed::default();
        let client = self.client().await?;
        let chunks = client
            .query(
                include_str!("../sql/recording_compaction_chunks.sql"),
                &[&session_id, &options.max_object_bytes, &after_chunk],
            )
            .await?;
        let mut waiting = 0;
        for row in &chunks {
            waiting += row.try_get::<_, &[u8]>("data")?.len();
        }
        let waiting = i64::try_from(waiting).unwrap_or(i64::MAX);
        if !finalized && waiting < options.min_object_bytes {
            return Ok(None);
        }
        // A snapshot goes right before the chunk after it; one after the
        // last chunk packed waits for the object of the next chunk, unless
        // no chunk can follow it here.
        let last = match chunks.last() {
            Some(row) => Some(row.try_get::<_, i32>("seq")?),
            None => None,
        };
        let tail = finalized
            && match last {
                None => true,
                Some(seq) => !client
                    .query_one(
                        include_str!("../sql/recording_compaction_more.sql"),
                        &[&session_id, &seq],
                    )
                    .await?
                    .try_get::<_, bool>(0)?,
            };
        let before = if tail { i32::MAX } else { last.unwrap_or(0) };
        // Snapshots are small beside the chunks they stand between (a
        // screen, against a chunk's output): the same bound again for them
        // keeps the layout whole.
        let snapshots = client
            .query(
                include_str!("../sql/recording_compaction_snapshots.sql"),
                &[&session_id, &options.max_object_bytes, &before, &after_snapshot],
            )
            .await?;
        let mut snapshots = snapshots.iter().peekable();
        for row in &chunks {
            let seq: i32 = row.try_get("seq")?;
            while let Some(snapshot) =
                snapshots.next_if(|s| s.try_get::<_, i32>("after_seq").is_ok_and(|a| a < seq))
            {
                packed.add_snapshot(snapshot)?;
            }
            Packed::add(&mut packed.chunks, &mut packed.body, seq, row.try_get("data")?);
        }
        for snapshot in snapshots {
            packed.add_snapshot(snapshot)?;
        }
        Ok((!packed.body.is_empty()).then_some(packed))
    }

    /// Steps 1 and 2 of the module's documentation for one object: listed
    /// for deletion, then written (and read back if asked).
    async fn put_object(
        &self,
        target: &ObjectTarget,
        session_id: Uuid,
        packed: Packed,
        options: CompactOptions,
    ) -> Result<Placed, StorageError> {
        let key = target.new_key(session_id);
        let grace = options.orphan_grace.as_secs_f64();
        self.client()
            .await?
            .execute(
                include_str!("../sql/recording_object_pending.sql"),
                &[&target.root(), &key, &grace],
            )
            .await?;
        let Packed { body, chunks, snapshots } = packed;
        let size = body.len();
        let body = Bytes::from(body);
        target.write(&key, body.clone()).await?;
        if options.read_back && target.read(&key, 0..size as u64).await? != body {
            return Err(StorageError::Corrupt(format!("the object {key} reads back different")));
        }
        Ok(Placed { key, size, chunks, snapshots })
    }

    /// Step 3 for an object written: what it holds, or `None` when the
    /// transaction found the recording purged or its bodies moved.
    async fn point_rows_at(
        &self,
        target: &ObjectTarget,
        session_id: Uuid,
        placed: Placed,
    ) -> Result<Option<CompactReport>, StorageError> {
        let Placed { key, size, chunks, snapshots } = placed;
        let root = target.root();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let held = tx
            .query_opt(include_str!("../sql/recording_lock_unpurged.sql"), &[&session_id])
            .await?;
        let claimed =
            tx.query_opt(include_str!("../sql/recording_object_claim.sql"), &[&root, &key]).await?;
        if held.is_none() || claimed.is_none() {
            return Ok(None);
        }
        let size_bytes = i64::try_from(size).unwrap_or(i64::MAX);
        let object_id: i64 = tx
            .query_one(
                include_str!("../sql/recording_object_insert.sql"),
                &[&session_id, &root, &key, &size_bytes],
            )
            .await?
            .try_get(0)?;
        let (seqs, offsets, lengths) = &chunks;
        let repointed_chunks = tx
            .execute(
                include_str!("../sql/recording_chunks_repoint.sql"),
                &[&session_id, &object_id, seqs, offsets, lengths],
            )
            .await?;
        let (afters, offsets, lengths) = &snapshots;
        let repointed_snapshots = tx
            .execute(
                include_str!("../sql/recording_snapshots_repoint.sql"),
                &[&session_id, &object_id, afters, offsets, lengths],
            )
            .await?;
        if repointed_chunks != seqs.len() as u64 || repointed_snapshots != afters.len() as u64 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(CompactReport {
            objects: 1,
            chunks: seqs.len(),
            snapshots: afters.len(),
            bytes: size as u64,
            ..CompactReport::default()
        }))
    }

    /// Deletes up to `limit` objects whose deletion is due (purged
    /// recordings', at once; orphans', after their grace) from the
    /// configured store, then their entries. Returns how many.
    pub async fn delete_released_objects(&self, limit: i64) -> Result<usize, StorageError> {
        let Some(target) = self.objects() else { return Ok(0) };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let keys: Vec<String> = tx
            .query(include_str!("../sql/recording_objects_due.sql"), &[&target.root(), &limit])
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Ok(0);
        }
        target.delete(keys.clone()).await?;
        tx.execute(include_str!("../sql/recording_objects_deleted.sql"), &[&target.root(), &keys])
            .await?;
        tx.commit().await?;
        Ok(keys.len())
    }
}
