//! The audit log as a transparency log: the sequencer that appends
//! committed audit entries as leaves of each project's Merkle tree, signed
//! tree heads, proofs, recordings' signed manifests, and the check of the
//! whole database against its log (`verify.rs`).
//!
//! The tree's rules (hashes, proofs, the leaf encoding, signatures) are the
//! domain's `transparency` module; this one stores and reads them.

mod proofs;
mod sequencer;
mod verify;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use termaudit_domain::transparency::{
    AuditLeaf, Frontier, Hash, RecordingManifest, SignedManifest, SignedTreeHead, Subtree, TreeHead,
};
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::StorageError;

pub use proofs::{InclusionProofRow, LogRefusal, LogStatus, SigningKeyRow};
pub use sequencer::{BatchReport, Sequencer};
pub use verify::{LogDiscrepancy, LogVerification, VERIFY_CONNECTIONS};

/// A fixed key for the sequencer's advisory lock ("termlogs").
const SEQUENCER_LOCK: i64 = 0x7465_726d_6c6f_6773;

/// An audit entry as a leaf, from a row with the columns of
/// `log_sequence_next.sql`.
fn leaf_from_row(row: &Row) -> Result<AuditLeaf, StorageError> {
    Ok(AuditLeaf {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        occurred_at: row.try_get("occurred_at")?,
        event_type: row.try_get("event_type")?,
        actor_subject: row.try_get("actor_subject")?,
        actor_name: row.try_get("actor_name")?,
        session_id: row.try_get("session_id")?,
        details: row.try_get("details")?,
    })
}

fn hash(bytes: &[u8], what: &str) -> Result<Hash, StorageError> {
    Hash::from_slice(bytes).ok_or_else(|| StorageError::Corrupt(format!("{what} is not 32 bytes")))
}

/// A perfect subtree's hash from the row of the leaf that completed it.
fn subtree_in_row(subtree: Subtree, leaf_hash: &[u8], subtrees: &[u8]) -> Option<Hash> {
    if subtree.level == 0 {
        return Hash::from_slice(leaf_hash);
    }
    let at = (subtree.level as usize - 1) * 32;
    Hash::from_slice(subtrees.get(at..at + 32)?)
}

/// The stored hashes of `wanted` perfect subtrees of a project's tree.
async fn stored_subtrees(
    client: &impl GenericClient,
    project_id: Uuid,
    wanted: impl IntoIterator<Item = Subtree>,
) -> Result<HashMap<Subtree, Hash>, StorageError> {
    let wanted: BTreeSet<Subtree> = wanted.into_iter().collect();
    let leaves: Vec<i64> = wanted
        .iter()
        .map(|s| i64::try_from(s.last_leaf()).unwrap_or(i64::MAX))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows =
        client.query(include_str!("../sql/log_leaf_rows.sql"), &[&project_id, &leaves]).await?;
    let mut by_leaf: HashMap<u64, (Vec<u8>, Vec<u8>)> = HashMap::new();
    for row in rows {
        let index: i64 = row.try_get("leaf_index")?;
        by_leaf.insert(index as u64, (row.try_get("leaf_hash")?, row.try_get("subtrees")?));
    }
    let mut out = HashMap::new();
    for subtree in wanted {
        let (leaf_hash, subtrees) = by_leaf.get(&subtree.last_leaf()).ok_or_else(|| {
            StorageError::Corrupt(format!("the log has no leaf {}", subtree.last_leaf()))
        })?;
        let h = subtree_in_row(subtree, leaf_hash, subtrees).ok_or_else(|| {
            StorageError::Corrupt(format!("leaf {} lacks subtree {subtree:?}", subtree.last_leaf()))
        })?;
        out.insert(subtree, h);
    }
    Ok(out)
}

async fn tree_size(client: &impl GenericClient, project_id: Uuid) -> Result<u64, StorageError> {
    let row = client.query_one(include_str!("../sql/log_tree_size.sql"), &[&project_id]).await?;
    Ok(row.try_get::<_, i64>("tree_size")? as u64)
}

/// Where the sequencer is: the (xact, id) of the last entry it appended,
/// or (-1, 0) before the first.
async fn sequencer_place(client: &impl GenericClient) -> Result<(i64, i64), StorageError> {
    match client.query_opt(include_str!("../sql/log_watermark.sql"), &[]).await? {
        Some(row) => Ok((row.try_get("xact")?, row.try_get("audit_event_id")?)),
        None => Ok((-1, 0)),
    }
}

/// The right edge of a project's tree at `size` leaves, from storage.
async fn frontier_at(
    client: &impl GenericClient,
    project_id: Uuid,
    size: u64,
) -> Result<Frontier, StorageError> {
    let parts = Frontier::subtrees_at(size);
    let stored = stored_subtrees(client, project_id, parts.iter().copied()).await?;
    let nodes = parts.iter().map(|s| stored[s]).collect();
    Frontier::from_parts(size, nodes)
        .ok_or_else(|| StorageError::Corrupt("the tree's frontier does not fit its size".into()))
}

fn tree_head_from_row(row: &Row) -> Result<SignedTreeHead, StorageError> {
    let size: i64 = row.try_get("tree_size")?;
    Ok(SignedTreeHead {
        head: TreeHead {
            project_id: row.try_get("project_id")?,
            tree_size: size as u64,
            root_hash: hash(row.try_get("root_hash")?, "a tree head's root")?,
            timestamp: row.try_get("signed_at")?,
        },
        key_id: row.try_get("key_id")?,
        signature: row.try_get("signature")?,
    })
}

fn manifest_from_row(row: &Row) -> Result<SignedManifest, StorageError> {
    let size: i64 = row.try_get("size_bytes")?;
    let events: i64 = row.try_get("event_count")?;
    let index: i64 = row.try_get("log_index")?;
    Ok(SignedManifest {
        manifest: RecordingManifest {
            project_id: row.try_get("project_id")?,
            project: row.try_get("project_slug")?,
            session_id: row.try_get("session_id")?,
            sha256: hash(row.try_get("sha256")?, "a manifest's digest")?,
            size_bytes: size as u64,
            event_count: events as u64,
            first_event_at: row.try_get("first_event_at")?,
            last_event_at: row.try_get("last_event_at")?,
            audit_entry_id: row.try_get("audit_event_id")?,
            log_index: index as u64,
        },
        key_id: row.try_get("key_id")?,
        signature: row.try_get("signature")?,
    })
}

/// Signs and stores the tree head of `frontier`'s size (the first head
/// signed for a size stays) and returns the stored one.
async fn store_tree_head(
    client: &impl GenericClient,
    project_id: Uuid,
    frontier: &Frontier,
    signer: &termaudit_domain::transparency::LogSigner,
    now: DateTime<Utc>,
) -> Result<SignedTreeHead, StorageError> {
    let signed = TreeHead {
        project_id,
        tree_size: frontier.size(),
        root_hash: frontier.root(),
        timestamp: crate::time::truncate_to_micros(now),
    }
    .sign(signer);
    let size = signed.head.tree_size as i64;
    client
        .execute(
            include_str!("../sql/log_tree_head_insert.sql"),
            &[
                &project_id,
                &size,
                &signed.head.root_hash.0.as_slice(),
                &signed.head.timestamp,
                &signed.key_id,
                &signed.signature,
            ],
        )
        .await?;
    let row = client
        .query_one(include_str!("../sql/log_tree_head_at.sql"), &[&project_id, &size])
        .await?;
    tree_head_from_row(&row)
}
