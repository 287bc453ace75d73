//! `termaudit verify audit FILE`: an export made with `proofs=true` (CSV,
//! JSON or NDJSON). Each audit entry in it carries its canonical leaf, its
//! leaf index, its inclusion proof and the signed tree head it proves into;
//! the record's own columns must say what the leaf says.

use std::{collections::HashMap, path::Path};

use anyhow::Context;
use termaudit_api::documents;
use termaudit_api_types as dto;
use termaudit_domain::{
    neutralise_formula, rfc3339,
    transparency::{self, AuditLeaf, KeyRing},
};

use super::Report;

/// The fields of one exported record this check reads.
#[derive(Debug, Default)]
struct Record {
    /// Where it is: a line (CSV, NDJSON) or an element (JSON).
    at: usize,
    event_id: Option<i64>,
    event_type: String,
    time: String,
    actor: Option<String>,
    session_id: String,
    details: serde_json::Value,
    leaf_index: Option<u64>,
    tree_size: Option<u64>,
    leaf: Option<String>,
    proof: Vec<String>,
    tree_head: Option<dto::SignedTreeHead>,
}

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn from_json(at: usize, v: &serde_json::Value) -> anyhow::Result<Record> {
    Ok(Record {
        at,
        event_id: v["event_id"].as_i64(),
        event_type: text(&v["event_type"]).unwrap_or_default(),
        time: text(&v["time"]).unwrap_or_default(),
        actor: text(&v["actor"]),
        session_id: text(&v["session_id"]).unwrap_or_default(),
        details: v["details"].clone(),
        leaf_index: v["leaf_index"].as_u64(),
        tree_size: v["tree_size"].as_u64(),
        leaf: text(&v["leaf"]),
        proof: v["inclusion_proof"]
            .as_array()
            .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        tree_head: match &v["tree_head"] {
            serde_json::Value::Null => None,
            head => Some(serde_json::from_value(head.clone()).context("tree_head")?),
        },
    })
}

/// A CSV cell as written, without the `'` that neutralised a formula.
fn cell(raw: &str) -> String {
    match raw.strip_prefix('\'') {
        Some(rest) if neutralise_formula(rest).len() != rest.len() => rest.to_owned(),
        _ => raw.to_owned(),
    }
}

fn from_csv(at: usize, row: &HashMap<String, String>) -> anyhow::Result<Record> {
    let get = |k: &str| row.get(k).map(|v| cell(v)).filter(|v| !v.is_empty());
    let json = |k: &str| -> anyhow::Result<serde_json::Value> {
        Ok(match get(k) {
            Some(v) => serde_json::from_str(&v).with_context(|| format!("{k} is not JSON"))?,
            None => serde_json::Value::Null,
        })
    };
    Ok(Record {
        at,
        event_id: get("event_id").map(|v| v.parse()).transpose().context("event_id")?,
        event_type: get("event_type").unwrap_or_default(),
        time: get("time").unwrap_or_default(),
        actor: get("actor"),
        session_id: get("session_id").unwrap_or_default(),
        details: json("details")?,
        leaf_index: get("leaf_index").map(|v| v.parse()).transpose().context("leaf_index")?,
        tree_size: get("tree_size").map(|v| v.parse()).transpose().context("tree_size")?,
        leaf: get("leaf"),
        proof: get("inclusion_proof")
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        tree_head: match json("tree_head")? {
            serde_json::Value::Null => None,
            head => Some(serde_json::from_value(head).context("tree_head")?),
        },
    })
}

fn read_records(path: &Path) -> anyhow::Result<Vec<Record>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<serde_json::Value> =
            serde_json::from_str(&text).context("the JSON export is not an array")?;
        return values.iter().enumerate().map(|(i, v)| from_json(i + 1, v)).collect();
    }
    if trimmed.starts_with('{') {
        return text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let v = serde_json::from_str(l).with_context(|| format!("line {}", i + 1))?;
                from_json(i + 1, &v)
            })
            .collect();
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    anyhow::ensure!(
        headers.iter().any(|h| h == "leaf"),
        "the CSV has no proof columns: export with proofs=true"
    );
    reader
        .records()
        .enumerate()
        .map(|(i, row)| {
            let row = row?;
            let map =
                headers.iter().map(str::to_owned).zip(row.iter().map(str::to_owned)).collect();
            from_csv(i + 2, &map)
        })
        .collect()
}

/// Which field of the record says something else than its leaf.
fn disagreement(record: &Record, leaf: &AuditLeaf) -> Option<&'static str> {
    if record.event_id != Some(leaf.id) {
        return Some("event_id");
    }
    if record.event_type != leaf.event_type {
        return Some("event_type");
    }
    if record.time != rfc3339(leaf.occurred_at) {
        return Some("time");
    }
    if record.actor != leaf.actor_subject {
        return Some("actor");
    }
    if leaf.session_id.map(|s| s.to_string()).as_deref() != Some(record.session_id.as_str()) {
        return Some("session_id");
    }
    if record.details != leaf.details_json() {
        return Some("details");
    }
    None
}

/// Checks every audit entry of an export against the signed tree head it carries.
pub fn verify_export(path: &Path, keys: &KeyRing) -> anyhow::Result<Report> {
    super::require_keys(keys)?;
    let records = read_records(path)?;
    let mut report = Report::default();
    let mut heads: HashMap<String, Option<transparency::SignedTreeHead>> = HashMap::new();
    let (mut proven, mut sessions) = (0u64, 0u64);
    for record in &records {
        if record.event_id.is_none() {
            sessions += 1;
            continue;
        }
        let at = record.at;
        let (Some(leaf_text), Some(index), Some(size), Some(head_doc)) =
            (&record.leaf, record.leaf_index, record.tree_size, &record.tree_head)
        else {
            report.fail(format!("record {at}: no proof (export with proofs=true)"));
            continue;
        };
        let head =
            heads.entry(head_doc.checkpoint.clone()).or_insert_with(|| match documents::tree_head(
                head_doc,
            ) {
                Ok(head) => match head.verify(keys) {
                    Ok(()) => {
                        report.pass(format!(
                            "the tree head of {} entries at {} is signed by key {}",
                            head.head.tree_size,
                            rfc3339(head.head.timestamp),
                            head.key_id
                        ));
                        Some(head)
                    }
                    Err(err) => {
                        report.fail(format!("record {at}: its tree head: {err}"));
                        None
                    }
                },
                Err(err) => {
                    report.fail(format!("record {at}: its tree head: {err}"));
                    None
                }
            });
        let Some(head) = head.as_ref() else { continue };
        let leaf = match AuditLeaf::decode(leaf_text.as_bytes()) {
            Ok(leaf) => leaf,
            Err(err) => {
                report.fail(format!("record {at}: {err}"));
                continue;
            }
        };
        if let Some(field) = disagreement(record, &leaf) {
            report.fail(format!(
                "record {at} (entry {}): its {field} is not what the signed log holds",
                leaf.id
            ));
            continue;
        }
        if size != head.head.tree_size {
            report.fail(format!("record {at}: tree_size {size} is not its head's"));
            continue;
        }
        let hashes = match documents::hashes(&record.proof, "inclusion_proof") {
            Ok(h) => h,
            Err(err) => {
                report.fail(format!("record {at}: {err}"));
                continue;
            }
        };
        match transparency::verify_inclusion(
            index,
            size,
            &leaf.hash(),
            &hashes,
            &head.head.root_hash,
        ) {
            Ok(()) => proven += 1,
            Err(err) => {
                report.fail(format!("record {at} (entry {}, leaf {index}): {err}", leaf.id))
            }
        }
    }
    report.pass(format!("{proven} audit entries are in the signed log, as exported"));
    if sessions > 0 {
        report.warn(format!(
            "{sessions} session records are summaries, not log entries: their session.* \
             entries are what the log proves"
        ));
    }
    Ok(report)
}
