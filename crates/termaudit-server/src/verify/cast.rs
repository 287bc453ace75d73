//! `termaudit verify cast FILE.cast --manifest FILE`: the file is the one
//! the signed manifest describes.

use std::{io::Read, path::Path};

use anyhow::Context;
use sha2::{Digest, Sha256};
use termaudit_api::documents;
use termaudit_api_types as dto;
use termaudit_domain::transparency::{Hash, KeyRing, SignedManifest};

use super::{Report, read_json};

/// A file's SHA-256, size and event lines (every line after the header).
pub struct CastDigest {
    pub sha256: Hash,
    pub size: u64,
    pub events: u64,
}

pub fn digest(mut reader: impl Read) -> std::io::Result<CastDigest> {
    let mut hasher = Sha256::new();
    let (mut size, mut lines) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok(CastDigest { sha256: Hash(hasher.finalize().into()), size, events: lines.saturating_sub(1) })
}

/// Checks a recording's bytes against a signed manifest.
pub fn check_against(
    report: &mut Report,
    file: &CastDigest,
    signed: &SignedManifest,
    keys: &KeyRing,
) {
    let m = &signed.manifest;
    report.check(
        &format!("the manifest of session {} is signed by key {}", m.session_id, signed.key_id),
        "manifest signature",
        signed.verify(keys),
    );
    if file.sha256 == m.sha256 {
        report.pass(format!("the recording's SHA-256 is the manifest's ({})", m.sha256));
    } else {
        report.fail(format!(
            "the recording's SHA-256 is {}, the manifest says {}",
            file.sha256, m.sha256
        ));
    }
    if file.size == m.size_bytes && file.events == m.event_count {
        report.pass(format!(
            "size {} bytes and {} events as the manifest says",
            file.size, file.events
        ));
    } else {
        report.fail(format!(
            "the recording has {} bytes and {} events, the manifest says {} and {}",
            file.size, file.events, m.size_bytes, m.event_count
        ));
    }
}

pub fn verify_cast(cast: &Path, manifest: &Path, keys: &KeyRing) -> anyhow::Result<Report> {
    super::require_keys(keys)?;
    let doc: dto::RecordingManifest = read_json(manifest, "a recording manifest")?;
    let signed = documents::manifest(&doc)?;
    let file =
        std::fs::File::open(cast).with_context(|| format!("cannot open {}", cast.display()))?;
    let file = digest(std::io::BufReader::new(file))?;
    let mut report = Report::default();
    check_against(&mut report, &file, &signed, keys);
    Ok(report)
}
