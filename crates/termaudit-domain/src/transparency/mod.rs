//! Evidence anyone can check: the audit log as a Merkle tree (RFC 9162),
//! the canonical bytes of its leaves, and the Ed25519 signatures over its
//! tree heads and over recordings' manifests. Pure: the sequencer, the API
//! and `termaudit verify` share these rules.

mod leaf;
mod merkle;
mod signed;

pub use leaf::{AuditLeaf, EntryProof, FIELDS, FINGERPRINT_BYTES, LEAF_VERSION, LeafError};
pub use merkle::{
    Frontier, Hash, MemoryTree, ProofError, ProofPlan, Subtree, empty_root, fold, leaf_hash,
    node_hash, root_from_inclusion, subtrees, verify_consistency, verify_inclusion,
};
pub use signed::{
    KeyRing, LogSigner, PublicKey, RecordingManifest, SignatureError, SignedManifest,
    SignedTreeHead, TreeHead, decode_signature, encode_signature,
};
