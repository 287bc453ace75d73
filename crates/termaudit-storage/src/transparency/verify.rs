//! The database against its own log, for `termaudit verify db`: every leaf
//! is recomputed from the audit entry as stored now and compared with the
//! leaf the sequencer stored (the fingerprints name the changed field);
//! every stored subtree and every signed tree head is recomputed from the
//! leaves; every manifest's signature, leaf and recording digest checked;
//! and no entry the sequencer passed may be missing from the log. One pass
//! over the leaves in order: a few connections read and hash ranges of
//! leaves in one snapshot while this task rebuilds the trees from them, so
//! memory holds one project's frontier and heads and a few ranges.

use std::collections::HashMap;

use termaudit_domain::transparency::{Frontier, Hash, KeyRing, SignedTreeHead};
use uuid::Uuid;

use super::{leaf_from_row, manifest_from_row, tree_head_from_row};
use crate::{StorageError, Store};

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDiscrepancy {
    pub project_id: Uuid,
    /// The audit entry concerned, when one is.
    pub entry: Option<i64>,
    pub leaf_index: Option<u64>,
    /// The entry's fields that differ from what was sequenced.
    pub fields: Vec<&'static str>,
    pub message: String,
}

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct LogVerification {
    pub leaves: u64,
    pub tree_heads: u64,
    pub manifests: u64,
    /// In the order found: by project, then leaf index; the first is the
    /// earliest entry that differs.
    pub discrepancies: Vec<LogDiscrepancy>,
    /// Discrepancies past the first hundred, counted only.
    pub more: u64,
}

impl LogVerification {
    fn found(&mut self, d: LogDiscrepancy) {
        if self.discrepancies.len() < 100 {
            self.discrepancies.push(d);
        } else {
            self.more += 1;
        }
    }
}

/// One project's log as the pass rebuilds it.
struct ProjectPass {
    project_id: Uuid,
    frontier: Frontier,
    heads: std::vec::IntoIter<SignedTreeHead>,
    next_head: Option<SignedTreeHead>,
}

impl ProjectPass {
    fn new(project_id: Uuid, heads: Vec<SignedTreeHead>) -> Self {
        let mut heads = heads.into_iter();
        let next_head = heads.next();
        Self { project_id, frontier: Frontier::new(), heads, next_head }
    }

    /// Checks the heads of the frontier's current size.
    fn check_heads(&mut self, keys: &KeyRing, out: &mut LogVerification) {
        while let Some(head) = self.next_head.take_if(|h| h.head.tree_size <= self.frontier.size())
        {
            out.tree_heads += 1;
            let size = head.head.tree_size;
            if size < self.frontier.size() {
                // Only reachable for heads beyond the leaves: see `finish`.
                out.found(self.head_problem(size, "is of a size the pass went past".into()));
            } else if head.head.root_hash != self.frontier.root() {
                out.found(self.head_problem(
                    size,
                    format!(
                        "its root {} is not the root {} of the leaves",
                        head.head.root_hash,
                        self.frontier.root()
                    ),
                ));
            } else if let Err(err) = head.verify(keys) {
                out.found(self.head_problem(size, err.to_string()));
            }
            self.next_head = self.heads.next();
        }
    }

    fn head_problem(&self, size: u64, why: String) -> LogDiscrepancy {
        LogDiscrepancy {
            project_id: self.project_id,
            entry: None,
            leaf_index: None,
            fields: vec![],
            message: format!("the signed tree head of size {size}: {why}"),
        }
    }

    fn finish(mut self, keys: &KeyRing, out: &mut LogVerification) {
        self.check_heads(keys, out);
        if let Some(head) = self.next_head.take() {
            out.found(self.head_problem(
                head.head.tree_size,
                format!("the log has only {} leaves", self.frontier.size()),
            ));
            out.tree_heads += 1 + self.heads.len() as u64;
        }
    }
}

/// Leaves per query of the check.
const RANGE: i64 = 16_384;
/// Connections that read and hash leaves beside the one that rebuilds the
/// trees (fewer when the pool is smaller).
const VERIFY_WORKERS: usize = 4;
/// The pool [`Store::verify_log`] uses in full: the workers and its own.
pub const VERIFY_CONNECTIONS: usize = VERIFY_WORKERS + 1;

/// The leaves `first..=last` of a project's log.
#[derive(Debug, Clone, Copy)]
struct LeafRange {
    project: Uuid,
    first: i64,
    last: i64,
}

/// A leaf as a worker found it: the hash recomputed from its audit entry
/// (the stored one when the entry is gone, so the tree above still checks).
struct CheckedLeaf {
    index: u64,
    entry: i64,
    hash: Hash,
    subtrees: Vec<u8>,
    /// What is wrong with the entry: the fields that differ and why.
    problem: Option<(Vec<&'static str>, String)>,
}

/// A read-only transaction that sees one snapshot throughout.
async fn read_only(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StorageError> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// Reads `ranges` in the exported `snapshot`, recomputing each leaf from
/// its audit entry, and sends each range's leaves in order.
async fn check_ranges(
    mut client: deadpool_postgres::Object,
    snapshot: &str,
    ranges: Vec<LeafRange>,
    send: &tokio::sync::mpsc::Sender<Result<Vec<CheckedLeaf>, StorageError>>,
) -> Result<(), StorageError> {
    let tx = read_only(&mut client).await?;
    tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'")).await?;
    let statement = tx.prepare(include_str!("../sql/log_verify_leaves.sql")).await?;
    for range in ranges {
        let rows = tx.query(&statement, &[&range.project, &range.first, &range.last]).await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for row in rows {
            let stored = Hash::from_slice(row.try_get("leaf_hash")?).unwrap_or(Hash([0; 32]));
            let (hash, problem) = if row.try_get::<_, Option<i64>>("id")?.is_none() {
                (stored, Some((vec![], "the audit entry is gone from the audit table".into())))
            } else {
                let leaf = leaf_from_row(&row)?;
                let hash = leaf.hash();
                if hash == stored {
                    (hash, None)
                } else {
                    let fields = leaf.changed_fields(row.try_get("fingerprints")?);
                    let named =
                        if fields.is_empty() { "a field".to_owned() } else { fields.join(", ") };
                    let why = format!("the audit entry differs from what was sequenced: {named}");
                    (hash, Some((fields, why)))
                }
            };
            leaves.push(CheckedLeaf {
                index: row.try_get::<_, i64>("leaf_index")? as u64,
                entry: row.try_get("audit_event_id")?,
                hash,
                subtrees: row.try_get("subtrees")?,
                problem,
            });
        }
        if send.send(Ok(leaves)).await.is_err() {
            break;
        }
    }
    tx.commit().await?;
    Ok(())
}

impl Store {
    /// Checks the whole database (or one project) against its log with the
    /// public keys in `keys`.
    pub async fn verify_log(
        &self,
        project_id: Option<Uuid>,
        keys: &KeyRing,
    ) -> Result<LogVerification, StorageError> {
        let mut out = LogVerification::default();
        let mut client = self.client().await?;
        let tx = read_only(&mut client).await?;
        tx.execute("SET LOCAL work_mem = '256MB'", &[]).await?;

        let mut heads: HashMap<Uuid, Vec<SignedTreeHead>> = HashMap::new();
        for row in tx.query(include_str!("../sql/log_verify_heads.sql"), &[&project_id]).await? {
            let head = tree_head_from_row(&row)?;
            heads.entry(head.head.project_id).or_default().push(head);
        }

        let mut logs = Vec::new();
        for row in
            tx.query(include_str!("../sql/log_verify_leaf_counts.sql"), &[&project_id]).await?
        {
            logs.push((row.try_get::<_, Uuid>("project_id")?, row.try_get::<_, i64>("last_leaf")?));
        }
        let ranges: Vec<LeafRange> = logs
            .into_iter()
            .flat_map(|(project, last)| {
                (0..=last).step_by(RANGE as usize).map(move |first| LeafRange {
                    project,
                    first,
                    last: last.min(first + RANGE - 1),
                })
            })
            .collect();

        // Workers read and hash the ranges on their own connections, in the
        // snapshot of this transaction; this task takes their results back in
        // order and rebuilds each tree from them.
        let snapshot: String = tx.query_one("SELECT pg_export_snapshot()", &[]).await?.get(0);
        let workers = self.max_connections().saturating_sub(1).clamp(1, VERIFY_WORKERS);
        let workers = workers.min(ranges.len());
        let mut results = Vec::with_capacity(workers);
        for w in 0..workers {
            let client = self.client().await?;
            let mine: Vec<LeafRange> = ranges.iter().skip(w).step_by(workers).copied().collect();
            let (send, receive) = tokio::sync::mpsc::channel(1);
            let snapshot = snapshot.clone();
            tokio::spawn(async move {
                if let Err(err) = check_ranges(client, &snapshot, mine, &send).await {
                    let _ = send.send(Err(err)).await;
                }
            });
            results.push(receive);
        }

        let mut pass: Option<ProjectPass> = None;
        for (i, range) in ranges.iter().enumerate() {
            let leaves = results[i % workers].recv().await.ok_or_else(|| {
                StorageError::Unavailable("a worker of the check stopped".into())
            })??;
            if pass.as_ref().map(|p| p.project_id) != Some(range.project) {
                if let Some(done) = pass.take() {
                    done.finish(keys, &mut out);
                }
                pass = Some(ProjectPass::new(
                    range.project,
                    heads.remove(&range.project).unwrap_or_default(),
                ));
            }
            let Some(p) = pass.as_mut() else { continue };
            for CheckedLeaf { index, entry, hash, subtrees, problem: found } in leaves {
                out.leaves += 1;
                let problem = |fields: Vec<&'static str>, message: String| LogDiscrepancy {
                    project_id: range.project,
                    entry: Some(entry),
                    leaf_index: Some(index),
                    fields,
                    message,
                };
                if index != p.frontier.size() {
                    out.found(problem(
                        vec![],
                        format!("the log skips from leaf {} to {index}", p.frontier.size()),
                    ));
                }
                if let Some((fields, message)) = found {
                    out.found(problem(fields, message));
                }
                let completed = p.frontier.push(hash);
                let matches = completed.len() * 32 == subtrees.len()
                    && completed.iter().zip(subtrees.chunks(32)).all(|(h, s)| h.0 == s);
                if !matches {
                    out.found(problem(
                        vec![],
                        "the subtree hashes stored with the leaf are not those of the leaves"
                            .into(),
                    ));
                }
                p.check_heads(keys, &mut out);
            }
        }
        if let Some(done) = pass.take() {
            done.finish(keys, &mut out);
        }
        for (project, rest) in heads {
            let done = ProjectPass::new(project, rest);
            done.finish(keys, &mut out);
        }

        for row in
            tx.query(include_str!("../sql/log_verify_unsequenced.sql"), &[&project_id]).await?
        {
            out.found(LogDiscrepancy {
                project_id: row.try_get("project_id")?,
                entry: Some(row.try_get("id")?),
                leaf_index: None,
                fields: vec![],
                message: "the audit entry is not in the log, though the sequencer passed it".into(),
            });
        }

        for row in tx.query(include_str!("../sql/log_verify_manifests.sql"), &[&project_id]).await?
        {
            out.manifests += 1;
            let signed = manifest_from_row(&row)?;
            let m = &signed.manifest;
            let problem = |message: String| LogDiscrepancy {
                project_id: m.project_id,
                entry: Some(m.audit_entry_id),
                leaf_index: Some(m.log_index),
                fields: vec![],
                message: format!("the manifest of session {}: {message}", m.session_id),
            };
            if let Err(err) = signed.verify(keys) {
                out.found(problem(err.to_string()));
            }
            if row.try_get::<_, Option<i64>>("leaf_entry")? != Some(m.audit_entry_id) {
                out.found(problem(
                    "its log index is not its recording.finalized entry's leaf".into(),
                ));
            }
            let recording: Option<Vec<u8>> = row.try_get("recording_sha256")?;
            if recording.as_deref() != Some(m.sha256.0.as_slice()) {
                out.found(problem("the recording's stored digest is not the signed one".into()));
            }
        }
        tx.commit().await?;
        Ok(out)
    }
}
