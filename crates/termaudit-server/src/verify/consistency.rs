//! `termaudit verify consistency OLD_HEAD NEW_HEAD --proof FILE`: the log
//! of the newer signed tree head extends the older one, so nothing the
//! older one covered was rewritten or removed since.

use std::path::Path;

use termaudit_api::documents;
use termaudit_api_types as dto;
use termaudit_domain::transparency::{self, KeyRing};

use super::{Report, read_json};

pub fn verify_consistency(
    old: &Path,
    new: &Path,
    proof: &Path,
    keys: &KeyRing,
) -> anyhow::Result<Report> {
    super::require_keys(keys)?;
    let old = documents::tree_head(&read_json::<dto::SignedTreeHead>(old, "a signed tree head")?)?;
    let new = documents::tree_head(&read_json::<dto::SignedTreeHead>(new, "a signed tree head")?)?;
    let proof: dto::ConsistencyProof = read_json(proof, "a consistency proof")?;
    let mut report = Report::default();
    for (name, head) in [("older", &old), ("newer", &new)] {
        report.check(
            &format!(
                "the {name} tree head ({} entries, {}) is signed by key {}",
                head.head.tree_size,
                head.head.timestamp.to_rfc3339(),
                head.key_id
            ),
            &format!("the {name} tree head's signature"),
            head.verify(keys),
        );
    }
    if old.head.project_id != new.head.project_id || proof.project_id != old.head.project_id {
        report.fail("the heads and the proof are not all of the same project's log");
        return Ok(report);
    }
    if (proof.from, proof.to) != (old.head.tree_size, new.head.tree_size) {
        report.fail(format!(
            "the proof is from size {} to {}, the heads are of sizes {} and {}",
            proof.from, proof.to, old.head.tree_size, new.head.tree_size
        ));
        return Ok(report);
    }
    let hashes = documents::hashes(&proof.hashes, "a proof hash")?;
    report.check(
        &format!(
            "the log of {} entries extends the log of {}: nothing before was changed",
            new.head.tree_size, old.head.tree_size
        ),
        "consistency",
        transparency::verify_consistency(
            old.head.tree_size,
            new.head.tree_size,
            &old.head.root_hash,
            &new.head.root_hash,
            &hashes,
        ),
    );
    Ok(report)
}
