//! The evidence documents (signed tree heads, proofs, manifests, keys) as
//! JSON and as the domain's values, both ways: the API and the evidence
//! bundle write them, `termaudit verify` reads them back.

use chrono::{DateTime, Utc};
use termaudit_api_types as dto;
use termaudit_domain::transparency::{
    Hash, PublicKey, RecordingManifest, SignedManifest, SignedTreeHead, TreeHead, decode_signature,
    encode_signature,
};

/// A document that does not say what it must.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DocumentError(String);

pub fn hash(text: &str, what: &str) -> Result<Hash, DocumentError> {
    Hash::from_hex(text)
        .ok_or_else(|| DocumentError(format!("{what} is not a SHA-256 in hex: {text:?}")))
}

pub fn hashes(texts: &[String], what: &str) -> Result<Vec<Hash>, DocumentError> {
    texts.iter().map(|t| hash(t, what)).collect()
}

pub fn hex_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::hex).collect()
}

pub fn tree_head_dto(signed: &SignedTreeHead) -> dto::SignedTreeHead {
    dto::SignedTreeHead {
        project_id: signed.head.project_id,
        tree_size: signed.head.tree_size,
        root_hash: signed.head.root_hash.hex(),
        timestamp: signed.head.timestamp,
        key_id: signed.key_id.clone(),
        signature: encode_signature(&signed.signature),
        checkpoint: signed.head.checkpoint(),
    }
}

/// The tree head a document describes; its `checkpoint` must be the text
/// its fields make (what was signed), so no field can say one thing while
/// the signature covers another.
pub fn tree_head(doc: &dto::SignedTreeHead) -> Result<SignedTreeHead, DocumentError> {
    let head = TreeHead {
        project_id: doc.project_id,
        tree_size: doc.tree_size,
        root_hash: hash(&doc.root_hash, "root_hash")?,
        timestamp: doc.timestamp,
    };
    if head.checkpoint() != doc.checkpoint {
        return Err(DocumentError("the checkpoint text does not match the head's fields".into()));
    }
    Ok(SignedTreeHead {
        head,
        key_id: doc.key_id.clone(),
        signature: decode_signature(&doc.signature).map_err(|e| DocumentError(e.to_string()))?,
    })
}

pub fn manifest_dto(signed: &SignedManifest) -> dto::RecordingManifest {
    let m = &signed.manifest;
    dto::RecordingManifest {
        project_id: m.project_id,
        project: m.project.clone(),
        session_id: m.session_id,
        sha256: m.sha256.hex(),
        size_bytes: m.size_bytes,
        event_count: m.event_count,
        first_event_at: m.first_event_at,
        last_event_at: m.last_event_at,
        audit_entry_id: m.audit_entry_id,
        log_index: m.log_index,
        key_id: signed.key_id.clone(),
        signature: encode_signature(&signed.signature),
        body: m.body(),
    }
}

/// The manifest a document describes; its `body` must be the signed text
/// its fields make.
pub fn manifest(doc: &dto::RecordingManifest) -> Result<SignedManifest, DocumentError> {
    let manifest = RecordingManifest {
        project_id: doc.project_id,
        project: doc.project.clone(),
        session_id: doc.session_id,
        sha256: hash(&doc.sha256, "sha256")?,
        size_bytes: doc.size_bytes,
        event_count: doc.event_count,
        first_event_at: doc.first_event_at,
        last_event_at: doc.last_event_at,
        audit_entry_id: doc.audit_entry_id,
        log_index: doc.log_index,
    };
    if manifest.body() != doc.body {
        return Err(DocumentError("the manifest's body does not match its fields".into()));
    }
    Ok(SignedManifest {
        manifest,
        key_id: doc.key_id.clone(),
        signature: decode_signature(&doc.signature).map_err(|e| DocumentError(e.to_string()))?,
    })
}

pub fn signing_key_dto(
    key: &PublicKey,
    first_used_at: DateTime<Utc>,
    current: bool,
) -> dto::SigningKey {
    dto::SigningKey {
        key_id: key.id().to_owned(),
        algorithm: "ed25519".into(),
        public_key: encode_signature(&key.bytes()),
        public_key_pem: key.to_pem(),
        first_used_at,
        current,
    }
}

/// The files of an evidence bundle (`GET .../sessions/{id}/evidence`), all
/// inside one folder named after the session.
pub mod bundle {
    pub const README: &str = "README.md";
    /// The session as `GET .../sessions/{id}` shows it.
    pub const SESSION: &str = "session.json";
    /// Its commands and runbook steps, one JSON object per line.
    pub const ACTIVITY: &str = "activity.ndjson";
    /// Its database statements, one JSON object per line.
    pub const DATABASE_EVENTS: &str = "database-events.ndjson";
    /// Its audit entries, one inclusion proof per line, each into [`TREE_HEAD`].
    pub const AUDIT_ENTRIES: &str = "audit-entries.ndjson";
    pub const TREE_HEAD: &str = "tree-head.json";
    pub const RECORDING: &str = "recording.cast";
    pub const MANIFEST: &str = "recording-manifest.json";
    /// What the recording's screen showed, as `GET .../recording/transcript`.
    pub const TRANSCRIPT: &str = "transcript.txt";
    pub const SIGNING_KEYS: &str = "signing-keys.json";

    /// The folder every file is in.
    pub fn folder(session_id: uuid::Uuid) -> String {
        format!("termaudit-evidence-{session_id}")
    }
}

/// An inclusion proof as served and as the evidence bundle holds it.
pub fn inclusion_proof_dto(
    leaf: &termaudit_domain::transparency::AuditLeaf,
    leaf_index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
    head: Option<&SignedTreeHead>,
) -> dto::InclusionProof {
    dto::InclusionProof {
        entry_id: leaf.id,
        leaf_index,
        tree_size,
        leaf: String::from_utf8_lossy(&leaf.encode()).into_owned(),
        leaf_hash: leaf.hash().hex(),
        hashes: hex_all(proof),
        root_hash: root.hex(),
        tree_head: head.map(tree_head_dto),
    }
}
