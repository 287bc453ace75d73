//! Evidence anyone can check offline: the audit log's signed tree heads and
//! proofs, recordings' signed manifests and the public keys. The same JSON
//! documents are the files `termaudit verify` reads and the evidence bundle
//! holds. Hashes are lowercase hex; signatures base64 (standard, padded).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// A signed tree head: the project's audit log had `tree_size` entries
/// whose Merkle root (RFC 9162) was `root_hash` at `timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "project_id": "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10",
    "tree_size": 8,
    "root_hash": "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    "timestamp": "2026-11-25T10:20:00.000000Z",
    "key_id": "3b6a27bcceb6a42d",
    "signature": "base64 of 64 bytes",
    "checkpoint": "termaudit/audit-log/0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp 2026-11-25T10:20:00.000000Z\n"
})))]
pub struct SignedTreeHead {
    pub project_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub tree_size: u64,
    /// SHA-256, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub root_hash: String,
    pub timestamp: DateTime<Utc>,
    /// The signing key's id (see `GET /api/v1/signing-keys`).
    pub key_id: String,
    /// Ed25519 over the bytes of `checkpoint`, base64.
    pub signature: String,
    /// The signed text, a C2SP checkpoint body: origin, size, base64 root, and a `timestamp` line.
    pub checkpoint: String,
}

/// Signed tree heads, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TreeHeadPage {
    pub items: Vec<SignedTreeHead>,
    /// Pass as `before` for older heads; absent on the last page.
    pub next_before: Option<u64>,
}

/// Paging of the tree heads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TreeHeadQuery {
    /// Heads of trees smaller than this size.
    #[serde(default, deserialize_with = "crate::integer::optional_int64")]
    #[cfg_attr(feature = "openapi", param(minimum = 0))]
    pub before: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
}

/// The audit log's state: how far the sequencer got and how far behind it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditLogStatus {
    /// Entries in the project's log.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub tree_size: u64,
    /// The newest signed tree head; absent before the first.
    pub latest_tree_head: Option<SignedTreeHead>,
    /// Committed audit entries of the project not in the log yet.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub pending_entries: u64,
    /// How long the oldest of them has waited, in seconds (0 when none).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub lag_seconds: f64,
}

/// Which inclusion proof.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InclusionQuery {
    /// The audit entry's id.
    pub entry: i64,
    /// The tree size to prove into; the latest signed tree head's by default.
    #[serde(default, deserialize_with = "crate::integer::optional_int64")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub tree_size: Option<u64>,
}

/// An audit entry, its leaf in the log, and the proof that the tree of
/// `tree_size` entries holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InclusionProof {
    pub entry_id: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub leaf_index: u64,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub tree_size: u64,
    /// The entry's canonical encoding, the bytes the leaf hashes (see the README's Audit log section).
    pub leaf: String,
    /// SHA-256(0x00 || leaf), hex.
    pub leaf_hash: String,
    /// The audit path (RFC 9162 section 2.1.3), hex, nearest sibling first.
    pub hashes: Vec<String>,
    /// The root of the tree of `tree_size` entries, hex.
    pub root_hash: String,
    /// The signed tree head of that size, when one was signed.
    pub tree_head: Option<SignedTreeHead>,
}

/// Which consistency proof.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsistencyQuery {
    /// The older tree size.
    #[serde(deserialize_with = "crate::integer::int64")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub from: u64,
    /// The newer tree size; the latest signed tree head's by default.
    #[serde(default, deserialize_with = "crate::integer::optional_int64")]
    #[cfg_attr(feature = "openapi", param(minimum = 1))]
    pub to: Option<u64>,
}

/// The proof that the log of `to` entries extends the log of `from`
/// entries: nothing in the older one was changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConsistencyProof {
    pub project_id: Uuid,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub from: u64,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub to: u64,
    /// RFC 9162 section 2.1.4, hex.
    pub hashes: Vec<String>,
    pub from_root: String,
    pub to_root: String,
}

/// A public key that signs (or signed) tree heads and manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SigningKey {
    /// The first 8 bytes of SHA-256 of the 32-byte key, hex.
    pub key_id: String,
    /// Always `ed25519`.
    pub algorithm: String,
    /// The 32-byte key, base64.
    pub public_key: String,
    /// The same key as a SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
    /// When a server first signed with it.
    pub first_used_at: DateTime<Utc>,
    /// Whether this server signs with it now (older keys stay listed: what they signed still verifies).
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SigningKeyList {
    pub items: Vec<SigningKey>,
}

/// A finalized recording's manifest, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordingManifest {
    pub project_id: Uuid,
    /// The project's slug.
    pub project: String,
    pub session_id: Uuid,
    /// SHA-256 of the `.cast` file the download serves, hex.
    pub sha256: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub size_bytes: u64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub event_count: u64,
    pub first_event_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The `recording.finalized` audit entry.
    pub audit_entry_id: i64,
    /// That entry's leaf in the project's audit log.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub log_index: u64,
    pub key_id: String,
    /// Ed25519 over the bytes of `body`, base64.
    pub signature: String,
    /// The signed text, one field per line.
    pub body: String,
}
