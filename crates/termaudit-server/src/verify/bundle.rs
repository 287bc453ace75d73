//! `termaudit verify bundle FILE`: everything in an evidence bundle. The
//! tree head's signature, every audit entry's inclusion proof into it, that
//! every entry is the session's, the recording's digest against its signed
//! manifest, and the manifest against the `recording.finalized` entry the
//! log holds. Keys given with `--key` are trusted; otherwise the bundle's
//! own, with a warning (a bundle can only vouch for itself).

use std::{
    collections::HashMap,
    io::{BufRead, Read},
    path::Path,
};

use anyhow::Context;
use termaudit_api::documents::{self, bundle as files};
use termaudit_api_types as dto;
use termaudit_domain::transparency::{self, AuditLeaf, KeyRing};
use uuid::Uuid;

use super::{Report, cast};

type Archive = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

/// The one folder the bundle's files are in.
fn folder(archive: &Archive) -> anyhow::Result<String> {
    let name = archive.name_for_index(0).context("the bundle is empty")??;
    let folder = name.split('/').next().unwrap_or_default().to_owned();
    anyhow::ensure!(folder.starts_with("termaudit-evidence-"), "not an evidence bundle");
    Ok(folder)
}

fn member<'a>(
    archive: &'a mut Archive,
    folder: &str,
    name: &str,
) -> Option<zip::read::ZipFile<'a, std::io::BufReader<std::fs::File>>> {
    archive.by_name(&format!("{folder}/{name}")).ok()
}

fn json<T: serde::de::DeserializeOwned>(
    archive: &mut Archive,
    folder: &str,
    name: &str,
) -> anyhow::Result<Option<T>> {
    let Some(mut file) = member(archive, folder, name) else { return Ok(None) };
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(Some(serde_json::from_str(&text).with_context(|| format!("{name} is not valid"))?))
}

pub fn verify_bundle(path: &Path, pinned: &KeyRing) -> anyhow::Result<Report> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .context("the bundle is not a zip archive")?;
    let folder = folder(&archive)?;
    let session_id: Uuid = folder
        .trim_start_matches("termaudit-evidence-")
        .parse()
        .context("the bundle's folder does not name a session")?;
    let mut report = Report::default();

    let keys = if pinned.keys().is_empty() {
        let list: dto::SigningKeyList = json(&mut archive, &folder, files::SIGNING_KEYS)?
            .context("the bundle has no signing keys and none were given with --key")?;
        let mut ring = KeyRing::default();
        for item in &list.items {
            ring.add(transparency::PublicKey::from_pem(&item.public_key_pem)?);
        }
        report.warn(
            "trusting the bundle's own public keys: pass --key with keys obtained elsewhere \
             to know the signer is your termaudit",
        );
        ring
    } else {
        pinned.clone()
    };

    // The tree head every entry proves into.
    let head_doc: dto::SignedTreeHead =
        json(&mut archive, &folder, files::TREE_HEAD)?.context("the bundle has no tree head")?;
    let head = documents::tree_head(&head_doc)?;
    report.check(
        &format!(
            "the tree head of {} entries at {} is signed by key {}",
            head.head.tree_size,
            termaudit_domain::rfc3339(head.head.timestamp),
            head.key_id
        ),
        "the tree head's signature",
        head.verify(&keys),
    );

    // The audit entries.
    let mut leaves: HashMap<i64, (u64, AuditLeaf)> = HashMap::new();
    {
        let entries = member(&mut archive, &folder, files::AUDIT_ENTRIES)
            .context("the bundle has no audit entries")?;
        for (i, line) in std::io::BufReader::new(entries).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let at = i + 1;
            let proof: dto::InclusionProof = serde_json::from_str(&line)
                .with_context(|| format!("{} line {at}", files::AUDIT_ENTRIES))?;
            let leaf = match AuditLeaf::decode(proof.leaf.as_bytes()) {
                Ok(leaf) => leaf,
                Err(err) => {
                    report.fail(format!("audit entry {}: {err}", proof.entry_id));
                    continue;
                }
            };
            if leaf.id != proof.entry_id
                || leaf.session_id != Some(session_id)
                || leaf.project_id != head.head.project_id
            {
                report.fail(format!(
                    "line {at}: the leaf is not entry {} of this session",
                    proof.entry_id
                ));
                continue;
            }
            if proof.tree_size != head.head.tree_size {
                report.fail(format!(
                    "entry {}: proves into size {}, not the bundle's head",
                    leaf.id, proof.tree_size
                ));
                continue;
            }
            let hashes = documents::hashes(&proof.hashes, "a proof hash")?;
            match transparency::verify_inclusion(
                proof.leaf_index,
                proof.tree_size,
                &leaf.hash(),
                &hashes,
                &head.head.root_hash,
            ) {
                Ok(()) => {
                    leaves.insert(leaf.id, (proof.leaf_index, leaf));
                }
                Err(err) => {
                    report.fail(format!("entry {} (leaf {}): {err}", leaf.id, proof.leaf_index))
                }
            }
        }
    }
    report.pass(format!(
        "{} audit entries of session {session_id} are in the signed log",
        leaves.len()
    ));

    // Every database statement is a proven `database.statement` entry.
    if let Some(lines) = member(&mut archive, &folder, files::DATABASE_EVENTS) {
        let mut statements: Vec<(String, String)> = leaves
            .values()
            .filter(|(_, leaf)| leaf.event_type == "database.statement")
            .map(|(_, leaf)| {
                let statement = leaf.details_json()["statement"].as_str().unwrap_or("").to_owned();
                (termaudit_domain::rfc3339(leaf.occurred_at), statement)
            })
            .collect();
        let (mut matched, mut unmatched) = (0u64, Vec::new());
        for (i, line) in std::io::BufReader::new(lines).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let event: dto::DatabaseEvent = serde_json::from_str(&line)
                .with_context(|| format!("{} line {}", files::DATABASE_EVENTS, i + 1))?;
            let key = (termaudit_domain::rfc3339(event.occurred_at), event.statement);
            match statements.iter().position(|s| *s == key) {
                Some(at) => {
                    statements.swap_remove(at);
                    matched += 1;
                }
                None => unmatched.push(i + 1),
            }
        }
        if unmatched.is_empty() {
            report.pass(format!(
                "{matched} database statements are the proven database.statement entries"
            ));
        } else {
            report.fail(format!(
                "{} lines {unmatched:?}: no proven database.statement entry has that time and statement",
                files::DATABASE_EVENTS
            ));
        }
    }

    // The session's metadata names the same session.
    if let Some(session) = json::<serde_json::Value>(&mut archive, &folder, files::SESSION)? {
        if session["id"].as_str() == Some(session_id.to_string().as_str()) {
            report.pass("session.json describes the bundle's session");
        } else {
            report.fail("session.json describes another session");
        }
    }

    // The recording and its manifest.
    let manifest: Option<dto::RecordingManifest> = json(&mut archive, &folder, files::MANIFEST)?;
    match manifest {
        None if member(&mut archive, &folder, files::RECORDING).is_some() => report.warn(
            "the recording has no signed manifest (it was not finalized yet): its bytes are not \
             proven",
        ),
        None => report.warn("the bundle holds no recording (not recorded, or purged)"),
        Some(doc) => {
            let signed = documents::manifest(&doc)?;
            let m = &signed.manifest;
            match leaves.get(&m.audit_entry_id) {
                Some((index, leaf))
                    if *index == m.log_index
                        && leaf.event_type == "recording.finalized"
                        && leaf.details_json()["sha256"].as_str() == Some(m.sha256.hex().as_str()) =>
                {
                    report.pass(format!(
                        "the manifest's digest is the one the log's recording.finalized entry {} holds",
                        m.audit_entry_id
                    ))
                }
                _ => report.fail(format!(
                    "the manifest's recording.finalized entry {} (leaf {}) is not in the bundle's proven entries with that digest",
                    m.audit_entry_id, m.log_index
                )),
            }
            if m.session_id != session_id {
                report.fail("the manifest is of another session");
            }
            match member(&mut archive, &folder, files::RECORDING) {
                Some(cast_file) => {
                    let digest = cast::digest(cast_file)?;
                    cast::check_against(&mut report, &digest, &signed, &keys);
                }
                None => report.fail("the bundle has a manifest but no recording"),
            }
        }
    }
    Ok(report)
}
