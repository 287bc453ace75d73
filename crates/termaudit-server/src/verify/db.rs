//! `termaudit verify db`: the database against its own transparency log.
//! Tree heads and manifests are checked with the keys the database lists,
//! or only with those given by `--key` when any are (so a key slipped into
//! the database proves nothing).

use termaudit_domain::transparency::KeyRing;
use termaudit_storage::{Store, VERIFY_CONNECTIONS};

use super::Report;
use crate::{Settings, database_url};

pub async fn verify_db(
    settings: &Settings,
    project: Option<&str>,
    pinned: &KeyRing,
) -> anyhow::Result<Report> {
    let store = Store::new(&database_url(settings)?, VERIFY_CONNECTIONS)?;
    let mut slugs = std::collections::HashMap::new();
    let project_id = match project {
        Some(slug) => {
            let row = store
                .project_by_slug(slug)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no project {slug:?}"))?;
            slugs.insert(row.id, row.slug.clone());
            Some(row.id)
        }
        None => None,
    };
    let keys = if pinned.keys().is_empty() {
        KeyRing::new(store.signing_keys().await?.into_iter().map(|k| k.key).collect())
    } else {
        pinned.clone()
    };
    let check = store.verify_log(project_id, &keys).await?;
    let mut report = Report::default();
    report.pass(format!(
        "{} leaves recomputed from the audit table, {} signed tree heads and {} manifests checked",
        check.leaves, check.tree_heads, check.manifests
    ));
    for (i, d) in check.discrepancies.iter().enumerate() {
        let project = match slugs.get(&d.project_id) {
            Some(slug) => slug.clone(),
            None => {
                let slug = store
                    .project_by_id(d.project_id)
                    .await?
                    .map(|p| p.slug)
                    .unwrap_or_else(|| d.project_id.to_string());
                slugs.insert(d.project_id, slug.clone());
                slug
            }
        };
        let first = if i == 0 { "first difference: " } else { "" };
        let entry = d.entry.map(|e| format!("audit entry {e}")).unwrap_or_default();
        let leaf = d.leaf_index.map(|l| format!(" (leaf {l})")).unwrap_or_default();
        let fields = if d.fields.is_empty() {
            String::new()
        } else {
            format!(" [fields: {}]", d.fields.join(", "))
        };
        report.fail(format!("{first}project {project}: {entry}{leaf}: {}{fields}", d.message));
    }
    if check.more > 0 {
        report.fail(format!("and {} more differences", check.more));
    }
    Ok(report)
}
