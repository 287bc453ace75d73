//! The database against its own log, for `termaudit verify db`: every leaf
//! is recomputed from the audit entry as stored now and compared with the
//! leaf the sequencer stored (the fingerprints name the changed field);
//! every stored subtree and every signed tree head is recomputed from the
//! leaves; every manifest's signature, leaf and recording digest checked;
//! and no entry the sequencer passed may be missing from the log. One pass,
//! streamed: memory holds one project's frontier and heads.

use std::collections::HashMap;

use futures_util::{StreamExt, pin_mut};
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
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        tx.execute("SET LOCAL work_mem = '256MB'", &[]).await?;

        let mut heads: HashMap<Uuid, Vec<SignedTreeHead>> = HashMap::new();
        for row in tx.query(include_str!("../sql/log_verify_heads.sql"), &[&project_id]).await? {
            let head = tree_head_from_row(&row)?;
            heads.entry(head.head.project_id).or_default().push(head);
        }

        let rows = tx
            .query_raw(
                include_str!("../sql/log_verify_leaves.sql"),
                [&project_id as &(dyn tokio_postgres::types::ToSql + Sync)],
            )
            .await?;
        pin_mut!(rows);
        let mut pass: Option<ProjectPass> = None;
        while let Some(row) = rows.next().await {
            let row = row?;
            let log_project: Uuid = row.try_get("log_project_id")?;
            if pass.as_ref().map(|p| p.project_id) != Some(log_project) {
                if let Some(done) = pass.take() {
                    done.finish(keys, &mut out);
                }
                pass = Some(ProjectPass::new(
                    log_project,
                    heads.remove(&log_project).unwrap_or_default(),
                ));
            }
            let Some(p) = pass.as_mut() else { continue };
            out.leaves += 1;
            let index = row.try_get::<_, i64>("leaf_index")? as u64;
            let entry: i64 = row.try_get("audit_event_id")?;
            let problem = |fields: Vec<&'static str>, message: String| LogDiscrepancy {
                project_id: log_project,
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
            let stored_hash = Hash::from_slice(row.try_get("leaf_hash")?).unwrap_or(Hash([0; 32]));
            let leaf_hash = if row.try_get::<_, Option<i64>>("id")?.is_none() {
                out.found(problem(vec![], "the audit entry is gone from the audit table".into()));
                stored_hash
            } else {
                let leaf = leaf_from_row(&row)?;
                let hash = leaf.hash();
                if hash != stored_hash {
                    let fields = leaf.changed_fields(row.try_get("fingerprints")?);
                    let named =
                        if fields.is_empty() { "a field".to_owned() } else { fields.join(", ") };
                    out.found(problem(
                        fields,
                        format!("the audit entry differs from what was sequenced: {named}"),
                    ));
                }
                hash
            };
            let completed = p.frontier.push(leaf_hash);
            let subtrees: &[u8] = row.try_get("subtrees")?;
            let stored: Vec<u8> = completed.iter().flat_map(|h| h.0).collect();
            if stored != subtrees {
                out.found(problem(
                    vec![],
                    "the subtree hashes stored with the leaf are not those of the leaves".into(),
                ));
            }
            p.check_heads(keys, &mut out);
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
