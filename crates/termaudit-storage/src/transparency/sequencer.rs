//! The sequencer: appends committed audit entries to their project's tree.
//!
//! Audit entries are written inside the business transactions; serialising
//! those on a lock for the log would put every session change in one queue.
//! Instead one sequencer, holding a session-level advisory lock on its own
//! connection (so one replica at a time, and a dead replica's lock goes with
//! its connection), reads entries in (transaction, id) order from behind the
//! oldest transaction still running, and appends a batch of leaves per
//! transaction of its own, on that same connection: a sequencer that lost
//! its connection lost the lock and can write nothing more. The leaf's hash
//! is over the entry as read back (`AuditLeaf`), so it is what any later
//! reader computes. Entries that existed before the log are sequenced the
//! same way, first.
//!
//! The `recording.finalized` entries it appends get their recording's
//! signed manifest in the same transaction, naming their leaf index.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use termaudit_domain::{
    AuditEventType,
    transparency::{AuditLeaf, Frontier, LogSigner, RecordingManifest},
};
use uuid::Uuid;

use super::{
    SEQUENCER_LOCK, frontier_at, leaf_from_row, sequencer_place, store_tree_head, tree_size,
};
use crate::{DatabaseUrl, StorageError, Store};

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchReport {
    pub appended: usize,
    /// Nothing more was there to append when it ran.
    pub caught_up: bool,
}

/// The sequencer of this replica, holding the lock.
pub struct Sequencer {
    client: tokio_postgres::Client,
    signer: Arc<LogSigner>,
    /// The (xact, id) of the last entry appended; read when `None`.
    watermark: Option<(i64, i64)>,
    /// Each project's tree as far as appended, loaded when first needed.
    frontiers: HashMap<Uuid, Frontier>,
    /// Each project's latest signed head: its size and time.
    signed: HashMap<Uuid, (u64, DateTime<Utc>)>,
    slugs: HashMap<Uuid, String>,
}

impl Store {
    /// The sequencer, or `None` while another replica's holds the lock.
    /// Registers the signing key it signs with.
    pub async fn try_lock_sequencer(
        &self,
        url: &DatabaseUrl,
        signer: Arc<LogSigner>,
    ) -> Result<Option<Sequencer>, StorageError> {
        let client = url.connect().await?;
        let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&SEQUENCER_LOCK]).await?;
        if !row.get::<_, bool>(0) {
            return Ok(None);
        }
        register_key(&client, &signer).await?;
        let mut sequencer = Sequencer {
            client,
            signer,
            watermark: None,
            frontiers: HashMap::new(),
            signed: HashMap::new(),
            slugs: HashMap::new(),
        };
        sequencer.load_unsigned().await?;
        Ok(Some(sequencer))
    }

    /// Registers `signer`'s public key (once) so heads it signs can refer to it.
    pub async fn register_signing_key(&self, signer: &LogSigner) -> Result<(), StorageError> {
        register_key(&**self.client().await?, signer).await
    }
}

async fn register_key(
    client: &impl tokio_postgres::GenericClient,
    signer: &LogSigner,
) -> Result<(), StorageError> {
    let key = signer.public();
    client
        .execute(
            include_str!("../sql/signing_key_register.sql"),
            &[&key.id(), &key.bytes().as_slice()],
        )
        .await?;
    Ok(())
}

impl Sequencer {
    /// Whether the lock is still held (its connection is alive).
    pub async fn is_held(&self) -> bool {
        !self.client.is_closed() && self.client.simple_query("SELECT 1").await.is_ok()
    }

    /// Projects whose log grew past their last signed head before this
    /// sequencer started: their heads are due.
    async fn load_unsigned(&mut self) -> Result<(), StorageError> {
        let rows = self.client.query(include_str!("../sql/log_unsigned_projects.sql"), &[]).await?;
        for row in rows {
            let project_id: Uuid = row.try_get("project_id")?;
            let size: i64 = row.try_get("tree_size")?;
            let signed: Option<i64> = row.try_get("signed_size")?;
            let signed_at: Option<DateTime<Utc>> = row.try_get("signed_at")?;
            self.slugs.insert(project_id, row.try_get("slug")?);
            let frontier = frontier_at(&self.client, project_id, size as u64).await?;
            self.frontiers.insert(project_id, frontier);
            self.signed.insert(
                project_id,
                (signed.unwrap_or(0) as u64, signed_at.unwrap_or(DateTime::<Utc>::MIN_UTC)),
            );
        }
        Ok(())
    }

    /// Appends up to `limit` entries, in one transaction.
    pub async fn append_batch(&mut self, limit: i64) -> Result<BatchReport, StorageError> {
        match self.try_append(limit).await {
            Ok(report) => Ok(report),
            Err(err) => {
                // What is in memory may be ahead of what committed.
                self.watermark = None;
                self.frontiers.clear();
                Err(err)
            }
        }
    }

    async fn try_append(&mut self, limit: i64) -> Result<BatchReport, StorageError> {
        let watermark = match self.watermark {
            Some(w) => w,
            None => sequencer_place(&self.client).await?,
        };
        let tx = self.client.transaction().await?;
        let rows = tx
            .query(
                include_str!("../sql/log_sequence_next.sql"),
                &[&watermark.0, &watermark.1, &limit],
            )
            .await?;
        let now = Utc::now();
        let caught_up = (rows.len() as i64) < limit;
        let mut insert = LeafColumns::default();
        let mut manifests = Vec::new();
        let mut last = watermark;
        for row in &rows {
            let leaf = leaf_from_row(row)?;
            let xact: i64 = row.try_get("xact")?;
            last = (xact, leaf.id);
            let frontier = match self.frontiers.entry(leaf.project_id) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let size = tree_size(&tx, leaf.project_id).await?;
                    slot.insert(frontier_at(&tx, leaf.project_id, size).await?)
                }
            };
            let index = frontier.size();
            let hash = leaf.hash();
            let completed = frontier.push(hash);
            if leaf.event_type == AuditEventType::RecordingFinalized.as_str() {
                manifests.push((leaf.clone(), index));
            }
            insert.push(&leaf, index, xact, hash.0.to_vec(), completed.concat_bytes());
        }
        if !rows.is_empty() {
            tx.execute(
                include_str!("../sql/log_leaves_insert.sql"),
                &[
                    &insert.projects,
                    &insert.indexes,
                    &insert.ids,
                    &insert.xacts,
                    &insert.hashes,
                    &insert.subtrees,
                    &insert.fingerprints,
                ],
            )
            .await?;
        }
        for (leaf, index) in manifests {
            sign_manifest(&tx, &self.signer, &mut self.slugs, &leaf, index).await?;
        }
        tx.execute(include_str!("../sql/log_progress.sql"), &[&now, &caught_up]).await?;
        tx.commit().await?;
        self.watermark = Some(last);
        Ok(BatchReport { appended: rows.len(), caught_up })
    }

    /// Signs the tree head of every project whose log grew since its last
    /// head, if that head is at least `interval` old. Returns how many.
    pub async fn sign_due_heads(
        &mut self,
        now: DateTime<Utc>,
        interval: chrono::Duration,
    ) -> Result<usize, StorageError> {
        let mut signed = 0;
        let projects: Vec<Uuid> = self.frontiers.keys().copied().collect();
        for project_id in projects {
            let size = self.frontiers[&project_id].size();
            let last = match self.signed.get(&project_id) {
                Some(last) => *last,
                None => {
                    let row = self
                        .client
                        .query_opt(
                            include_str!("../sql/log_tree_heads.sql"),
                            &[&project_id, &None::<i64>, &1i64],
                        )
                        .await?;
                    let last = match row {
                        Some(row) => {
                            (row.try_get::<_, i64>("tree_size")? as u64, row.try_get("signed_at")?)
                        }
                        None => (0, DateTime::<Utc>::MIN_UTC),
                    };
                    self.signed.insert(project_id, last);
                    last
                }
            };
            if size > last.0 && now - last.1 >= interval {
                let head = store_tree_head(
                    &self.client,
                    project_id,
                    &self.frontiers[&project_id],
                    &self.signer,
                    now,
                )
                .await?;
                self.signed.insert(project_id, (head.head.tree_size, head.head.timestamp));
                signed += 1;
            }
        }
        Ok(signed)
    }
}

async fn slug(
    slugs: &mut HashMap<Uuid, String>,
    client: &impl tokio_postgres::GenericClient,
    project_id: Uuid,
) -> Result<String, StorageError> {
    if let Some(slug) = slugs.get(&project_id) {
        return Ok(slug.clone());
    }
    let row = client.query_one("SELECT slug FROM projects WHERE id = $1", &[&project_id]).await?;
    let slug: String = row.try_get(0)?;
    slugs.insert(project_id, slug.clone());
    Ok(slug)
}

/// The manifest of the recording a `recording.finalized` entry finalized,
/// from what the entry holds (the log commits to the digest too).
async fn sign_manifest(
    client: &impl tokio_postgres::GenericClient,
    signer: &LogSigner,
    slugs: &mut HashMap<Uuid, String>,
    leaf: &AuditLeaf,
    index: u64,
) -> Result<(), StorageError> {
    let details = leaf.details_json();
    let (Some(session_id), Some(sha256)) = (
        leaf.session_id,
        details["sha256"].as_str().and_then(termaudit_domain::transparency::Hash::from_hex),
    ) else {
        tracing::warn!(entry = leaf.id, "a recording.finalized entry without a digest");
        return Ok(());
    };
    let time = |key: &str| {
        details[key].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.to_utc())
    };
    let manifest = RecordingManifest {
        project_id: leaf.project_id,
        project: slug(slugs, client, leaf.project_id).await?,
        session_id,
        sha256,
        size_bytes: details["size_bytes"].as_u64().unwrap_or(0),
        event_count: details["event_count"].as_u64().unwrap_or(0),
        first_event_at: time("first_event_at"),
        last_event_at: time("last_event_at"),
        audit_entry_id: leaf.id,
        log_index: index,
    };
    let signed = manifest.sign(signer);
    let m = &signed.manifest;
    client
        .execute(
            include_str!("../sql/recording_manifest_insert.sql"),
            &[
                &m.session_id,
                &m.project_id,
                &m.project,
                &m.sha256.0.as_slice(),
                &(m.size_bytes as i64),
                &(m.event_count as i64),
                &m.first_event_at,
                &m.last_event_at,
                &m.audit_entry_id,
                &(m.log_index as i64),
                &signed.key_id,
                &signed.signature,
            ],
        )
        .await?;
    Ok(())
}

/// The columns of a batch of leaves, for one `unnest` insert.
#[derive(Default)]
struct LeafColumns {
    projects: Vec<Uuid>,
    indexes: Vec<i64>,
    ids: Vec<i64>,
    xacts: Vec<i64>,
    hashes: Vec<Vec<u8>>,
    subtrees: Vec<Vec<u8>>,
    fingerprints: Vec<Vec<u8>>,
}

impl LeafColumns {
    fn push(&mut self, leaf: &AuditLeaf, index: u64, xact: i64, hash: Vec<u8>, subtrees: Vec<u8>) {
        self.projects.push(leaf.project_id);
        self.indexes.push(index as i64);
        self.ids.push(leaf.id);
        self.xacts.push(xact);
        self.hashes.push(hash);
        self.subtrees.push(subtrees);
        self.fingerprints.push(leaf.fingerprints());
    }
}

trait ConcatBytes {
    fn concat_bytes(&self) -> Vec<u8>;
}

impl ConcatBytes for Vec<termaudit_domain::transparency::Hash> {
    fn concat_bytes(&self) -> Vec<u8> {
        self.iter().flat_map(|h| h.0).collect()
    }
}
