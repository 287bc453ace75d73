//! Reading the log: signed tree heads, inclusion and consistency proofs,
//! the sequencer's lag, signing keys and recordings' manifests.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use termaudit_domain::transparency::{
    AuditLeaf, EntryProof, Hash, LogSigner, ProofPlan, PublicKey, SignedManifest, SignedTreeHead,
};
use uuid::Uuid;

use super::{
    frontier_at, leaf_from_row, manifest_from_row, sequencer_place, store_tree_head,
    stored_subtrees, tree_head_from_row, tree_size,
};
use crate::{StorageError, Store};

/// An entry's inclusion proof into the tree of `tree_size` leaves.
#[derive(Debug, Clone)]
pub struct InclusionProofRow {
    /// The entry as stored now (its hash is what the proof must lead from).
    pub leaf: AuditLeaf,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
    pub root: Hash,
    /// The signed head of that size, when one was signed.
    pub head: Option<SignedTreeHead>,
}

/// Why a proof cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogRefusal {
    #[error("there is no audit entry {0} in this project")]
    NoEntry(i64),
    #[error(
        "audit entry {0} is not in the log yet: the sequencer appends entries seconds after they commit"
    )]
    NotSequenced(i64),
    #[error("the log has {size} entries, fewer than {asked}")]
    BeyondLog { asked: u64, size: u64 },
    #[error("entry {entry} is leaf {index}, which a tree of {size} entries does not hold yet")]
    NotInTree { entry: i64, index: u64, size: u64 },
    #[error("{0}")]
    Proof(termaudit_domain::transparency::ProofError),
}

/// How far behind the sequencer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStatus {
    /// Committed entries not in the log yet.
    pub pending: u64,
    /// When the sequencer last had nothing left to append.
    pub caught_up_at: Option<DateTime<Utc>>,
    /// When it last ran.
    pub ran_at: Option<DateTime<Utc>>,
}

impl LogStatus {
    /// Seconds the log has been incomplete: 0 when nothing is pending.
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> f64 {
        match (self.pending, self.caught_up_at) {
            (0, _) => 0.0,
            (_, Some(at)) => (now - at).num_milliseconds().max(0) as f64 / 1000.0,
            (_, None) => f64::INFINITY,
        }
    }
}

/// A public key that signed (or signs) for this database.
#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    pub key: PublicKey,
    pub first_used_at: DateTime<Utc>,
}

impl Store {
    /// Entries in a project's log.
    pub async fn log_tree_size(&self, project_id: Uuid) -> Result<u64, StorageError> {
        tree_size(&**self.client().await?, project_id).await
    }

    /// Signed tree heads of trees smaller than `before`, largest first.
    pub async fn tree_heads(
        &self,
        project_id: Uuid,
        before: Option<u64>,
        limit: i64,
    ) -> Result<Vec<SignedTreeHead>, StorageError> {
        let before = before.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        let rows = self
            .client()
            .await?
            .query(include_str!("../sql/log_tree_heads.sql"), &[&project_id, &before, &limit])
            .await?;
        rows.iter().map(tree_head_from_row).collect()
    }

    pub async fn latest_tree_head(
        &self,
        project_id: Uuid,
    ) -> Result<Option<SignedTreeHead>, StorageError> {
        Ok(self.tree_heads(project_id, None, 1).await?.into_iter().next())
    }

    pub async fn tree_head_at(
        &self,
        project_id: Uuid,
        size: u64,
    ) -> Result<Option<SignedTreeHead>, StorageError> {
        let row = self
            .client()
            .await?
            .query_opt(include_str!("../sql/log_tree_head_at.sql"), &[&project_id, &(size as i64)])
            .await?;
        row.as_ref().map(tree_head_from_row).transpose()
    }

    /// A signed head of the project's whole log as sequenced now: the latest
    /// one when it is of that size, else one signed now with `signer`.
    /// `None` while the log is empty.
    pub async fn ensure_tree_head(
        &self,
        project_id: Uuid,
        signer: &LogSigner,
    ) -> Result<Option<SignedTreeHead>, StorageError> {
        let client = self.client().await?;
        let size = tree_size(&**client, project_id).await?;
        if size == 0 {
            return Ok(None);
        }
        if let Some(head) = self.tree_head_at(project_id, size).await? {
            return Ok(Some(head));
        }
        let frontier = frontier_at(&**client, project_id, size).await?;
        Ok(Some(store_tree_head(&**client, project_id, &frontier, signer, Utc::now()).await?))
    }

    /// A signed head of the project's whole log, for an export or an
    /// evidence bundle to prove into, and whether it holds every entry
    /// committed before the call. With `patience`, first waits that long at
    /// most for the sequencer to append them; without, or when it has not
    /// by then, signs the log as the sequencer left it. `None` while the
    /// log is empty.
    pub async fn tree_head_for_evidence(
        &self,
        project_id: Uuid,
        signer: &LogSigner,
        patience: Option<std::time::Duration>,
    ) -> Result<(Option<SignedTreeHead>, bool), StorageError> {
        let complete = match patience {
            Some(patience) => {
                let horizon = self.transaction_horizon().await?;
                self.wait_sequenced(project_id, horizon, patience).await?
            }
            None => false,
        };
        Ok((self.ensure_tree_head(project_id, signer).await?, complete))
    }

    /// The newest transaction id this database has handed out, plus one
    /// (the current snapshot's xmax): every entry visible now was written
    /// by a transaction before it.
    pub async fn transaction_horizon(&self) -> Result<i64, StorageError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint", &[])
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Waits until every entry of the project written by a transaction
    /// before `horizon` is in the log, for up to `patience`. Returns whether
    /// it is.
    pub async fn wait_sequenced(
        &self,
        project_id: Uuid,
        horizon: i64,
        patience: std::time::Duration,
    ) -> Result<bool, StorageError> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let client = self.client().await?;
            let (xact, id) = sequencer_place(&**client).await?;
            let pending: bool = client
                .query_one(
                    include_str!("../sql/log_pending_before.sql"),
                    &[&project_id, &horizon, &xact, &id],
                )
                .await?
                .try_get("pending")?;
            drop(client);
            if !pending {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The inclusion proof of audit entry `entry` into the tree of `size` leaves.
    pub async fn inclusion_proof(
        &self,
        project_id: Uuid,
        entry: i64,
        size: u64,
    ) -> Result<Result<InclusionProofRow, LogRefusal>, StorageError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(include_str!("../sql/log_entry_with_leaf.sql"), &[&project_id, &entry])
            .await?
        else {
            return Ok(Err(LogRefusal::NoEntry(entry)));
        };
        let Some(index) = row.try_get::<_, Option<i64>>("leaf_index")? else {
            return Ok(Err(LogRefusal::NotSequenced(entry)));
        };
        let index = index as u64;
        let log_size = tree_size(&**client, project_id).await?;
        if size > log_size {
            return Ok(Err(LogRefusal::BeyondLog { asked: size, size: log_size }));
        }
        let plan = match ProofPlan::inclusion(index, size) {
            Ok(plan) => plan,
            Err(_) => return Ok(Err(LogRefusal::NotInTree { entry, index, size })),
        };
        let root_plan = termaudit_domain::transparency::subtrees(0..size);
        let stored = stored_subtrees(
            &**client,
            project_id,
            plan.subtrees().chain(root_plan.iter().copied()),
        )
        .await?;
        let hashes = plan.assemble(&stored).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let root = termaudit_domain::transparency::fold(
            &root_plan.iter().map(|s| stored[s]).collect::<Vec<_>>(),
        )
        .unwrap_or_else(termaudit_domain::transparency::empty_root);
        drop(client);
        Ok(Ok(InclusionProofRow {
            leaf: leaf_from_row(&row)?,
            leaf_index: index,
            tree_size: size,
            hashes,
            root,
            head: self.tree_head_at(project_id, size).await?,
        }))
    }

    /// Inclusion proofs of many entries into the tree of `size` leaves, with
    /// one read of the entries and one of the hashes they need, by entry id.
    /// Entries not in that tree are left out.
    pub async fn inclusion_proofs(
        &self,
        project_id: Uuid,
        entries: &[i64],
        size: u64,
    ) -> Result<HashMap<i64, EntryProof>, StorageError> {
        let client = self.client().await?;
        let rows = client
            .query(include_str!("../sql/log_entries_with_leaves.sql"), &[&project_id, &entries])
            .await?;
        let mut plans = Vec::new();
        for row in rows {
            let index = row.try_get::<_, i64>("leaf_index")? as u64;
            if let Ok(plan) = ProofPlan::inclusion(index, size) {
                plans.push((leaf_from_row(&row)?, index, plan));
            }
        }
        let stored =
            stored_subtrees(&**client, project_id, plans.iter().flat_map(|(_, _, p)| p.subtrees()))
                .await?;
        plans
            .into_iter()
            .map(|(leaf, leaf_index, plan)| {
                let hashes =
                    plan.assemble(&stored).map_err(|e| StorageError::Corrupt(e.to_string()))?;
                Ok((leaf.id, EntryProof { leaf, leaf_index, tree_size: size, hashes }))
            })
            .collect()
    }

    /// The consistency proof from the tree of `from` leaves to that of `to`,
    /// with both roots.
    pub async fn consistency_proof(
        &self,
        project_id: Uuid,
        from: u64,
        to: u64,
    ) -> Result<Result<(Vec<Hash>, Hash, Hash), LogRefusal>, StorageError> {
        let client = self.client().await?;
        let log_size = tree_size(&**client, project_id).await?;
        if to > log_size {
            return Ok(Err(LogRefusal::BeyondLog { asked: to, size: log_size }));
        }
        let plan = match ProofPlan::consistency(from, to) {
            Ok(plan) => plan,
            Err(err) => return Ok(Err(LogRefusal::Proof(err))),
        };
        let (old, new) = (
            termaudit_domain::transparency::subtrees(0..from),
            termaudit_domain::transparency::subtrees(0..to),
        );
        let stored = stored_subtrees(
            &**client,
            project_id,
            plan.subtrees().chain(old.iter().copied()).chain(new.iter().copied()),
        )
        .await?;
        let root = |parts: &[termaudit_domain::transparency::Subtree]| {
            termaudit_domain::transparency::fold(
                &parts.iter().map(|s| stored[s]).collect::<Vec<_>>(),
            )
            .unwrap_or_else(termaudit_domain::transparency::empty_root)
        };
        let hashes = plan.assemble(&stored).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        Ok(Ok((hashes, root(&old), root(&new))))
    }

    /// The sequencer's progress, for one project's entries or all: a
    /// moment's figure (the sequencer may move between its queries).
    pub async fn log_status(&self, project_id: Option<Uuid>) -> Result<LogStatus, StorageError> {
        let client = self.client().await?;
        let (xact, id) = sequencer_place(&**client).await?;
        let pending = client
            .query_one(include_str!("../sql/log_pending.sql"), &[&xact, &id, &project_id])
            .await?;
        let row = client.query_one(include_str!("../sql/log_status.sql"), &[]).await?;
        Ok(LogStatus {
            pending: pending.try_get::<_, i64>("pending")? as u64,
            caught_up_at: row.try_get("caught_up_at")?,
            ran_at: row.try_get("ran_at")?,
        })
    }

    /// Every key that has signed for this database, oldest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StorageError> {
        let rows = self.client().await?.query(include_str!("../sql/signing_keys.sql"), &[]).await?;
        rows.iter()
            .map(|row| {
                let bytes: Vec<u8> = row.try_get("public_key")?;
                Ok(SigningKeyRow {
                    key: PublicKey::from_bytes(&bytes)
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?,
                    first_used_at: row.try_get("first_used_at")?,
                })
            })
            .collect()
    }

    /// A finalized recording's signed manifest, once the sequencer made it.
    pub async fn recording_manifest(
        &self,
        project_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<SignedManifest>, StorageError> {
        let row = self
            .client()
            .await?
            .query_opt(include_str!("../sql/recording_manifest.sql"), &[&project_id, &session_id])
            .await?;
        row.as_ref().map(manifest_from_row).transpose()
    }
}
