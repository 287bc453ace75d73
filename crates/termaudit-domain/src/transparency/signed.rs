//! What termaudit signs, and how a signature is checked with nothing but a
//! public key: tree heads of the audit log and manifests of recordings.
//!
//! Both are short texts, one field per line, signed with Ed25519 over their
//! exact bytes. A tree head is a C2SP `tlog-checkpoint` body (origin, size,
//! base64 root hash) with one extension line for the time, so tools for
//! transparency logs read it as they are.

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{DateTime, Utc};
use ed25519_dalek::{
    Signer, SigningKey, VerifyingKey,
    pkcs8::{
        DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey,
        spki::der::pem::LineEnding,
    },
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::merkle::Hash;
use crate::export::rfc3339;

/// A signature that does not hold, or a key that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no public key {0} was given")]
    UnknownKey(String),
    #[error("the signature by key {0} does not match the signed text")]
    Invalid(String),
    #[error("not a signature: {0}")]
    Malformed(String),
    #[error("cannot read the key: {0}")]
    Key(String),
}

/// An Ed25519 public key and its id: the first 8 bytes of SHA-256 of the
/// 32-byte key, in hex.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let raw: [u8; 32] =
            bytes.try_into().map_err(|_| SignatureError::Key("not 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| SignatureError::Key(e.to_string()))?;
        Ok(Self::from_key(key))
    }

    /// A `-----BEGIN PUBLIC KEY-----` PEM (SubjectPublicKeyInfo), as
    /// `openssl pkey -pubout` writes it.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let key = VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|e| SignatureError::Key(e.to_string()))?;
        Ok(Self::from_key(key))
    }

    fn from_key(key: VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { key, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn to_pem(&self) -> String {
        self.key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Checks `signature` (64 bytes) over `message` (strict RFC 8032).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let raw: [u8; 64] = signature
            .try_into()
            .map_err(|_| SignatureError::Malformed(format!("{} bytes, not 64", signature.len())))?;
        self.key
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&raw))
            .map_err(|_| SignatureError::Invalid(self.id.clone()))
    }
}

/// The public keys a verifier trusts, found by id.
#[derive(Debug, Clone, Default)]
pub struct KeyRing(Vec<PublicKey>);

impl KeyRing {
    pub fn new(keys: Vec<PublicKey>) -> Self {
        Self(keys)
    }

    pub fn add(&mut self, key: PublicKey) {
        if !self.0.iter().any(|k| k.id == key.id) {
            self.0.push(key);
        }
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.0
    }

    pub fn get(&self, id: &str) -> Result<&PublicKey, SignatureError> {
        self.0.iter().find(|k| k.id == id).ok_or_else(|| SignatureError::UnknownKey(id.to_owned()))
    }

    /// Checks a signature by the key `key_id` over `message`.
    pub fn verify(
        &self,
        key_id: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        self.get(key_id)?.verify(message, signature)
    }
}

/// The key termaudit signs with.
pub struct LogSigner {
    key: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogSigner({})", self.public.id)
    }
}

impl LogSigner {
    /// A key from its 32-byte secret (the caller draws it from a CSPRNG).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&secret);
        let public = PublicKey::from_key(key.verifying_key());
        Self { key, public }
    }

    /// A `-----BEGIN PRIVATE KEY-----` PKCS#8 PEM, as `openssl genpkey
    /// -algorithm ed25519` writes it.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let key = SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|e| SignatureError::Key(e.to_string()))?;
        let public = PublicKey::from_key(key.verifying_key());
        Ok(Self { key, public })
    }

    pub fn to_pem(&self) -> String {
        self.key.to_pkcs8_pem(LineEnding::LF).map(|p| p.to_string()).unwrap_or_default()
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
}

/// The state of a project's audit log at a time: how many entries, and the
/// Merkle root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    pub project_id: Uuid,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub timestamp: DateTime<Utc>,
}

impl TreeHead {
    /// The log's name: a checkpoint's first line.
    pub fn origin(project_id: Uuid) -> String {
        format!("termaudit/audit-log/{project_id}")
    }

    /// The signed text:
    ///
    /// ```text
    /// termaudit/audit-log/<project id>
    /// <tree size>
    /// <root hash, base64>
    /// timestamp <RFC 3339, UTC, microseconds>
    /// ```
    pub fn checkpoint(&self) -> String {
        format!(
            "{}\n{}\n{}\ntimestamp {}\n",
            Self::origin(self.project_id),
            self.tree_size,
            BASE64.encode(self.root_hash.0),
            rfc3339(self.timestamp)
        )
    }

    pub fn sign(self, signer: &LogSigner) -> SignedTreeHead {
        let signature = signer.sign(self.checkpoint().as_bytes());
        SignedTreeHead { head: self, key_id: signer.public().id().to_owned(), signature }
    }
}

/// A tree head and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub head: TreeHead,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl SignedTreeHead {
    pub fn verify(&self, keys: &KeyRing) -> Result<(), SignatureError> {
        keys.verify(&self.key_id, self.head.checkpoint().as_bytes(), &self.signature)
    }
}

/// What a finalized recording is: signed, so a `.cast` file can be checked
/// against it offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingManifest {
    pub project_id: Uuid,
    pub project: String,
    pub session_id: Uuid,
    pub sha256: Hash,
    pub size_bytes: u64,
    pub event_count: u64,
    /// Wall-clock times of the first and last events; none when empty.
    pub first_event_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The `recording.finalized` audit entry, and its leaf in the project's log.
    pub audit_entry_id: i64,
    pub log_index: u64,
}

impl RecordingManifest {
    /// The signed text:
    ///
    /// ```text
    /// termaudit/recording-manifest/v1
    /// project <project id> <slug>
    /// session <session id>
    /// sha256 <hex>
    /// size <bytes>
    /// events <count>
    /// first-event <RFC 3339 | ->
    /// last-event <RFC 3339 | ->
    /// audit-entry <id>
    /// log-index <leaf index>
    /// ```
    pub fn body(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_owned(), rfc3339);
        format!(
            "termaudit/recording-manifest/v1\nproject {} {}\nsession {}\nsha256 {}\nsize {}\n\
             events {}\nfirst-event {}\nlast-event {}\naudit-entry {}\nlog-index {}\n",
            self.project_id,
            self.project,
            self.session_id,
            self.sha256,
            self.size_bytes,
            self.event_count,
            time(self.first_event_at),
            time(self.last_event_at),
            self.audit_entry_id,
            self.log_index
        )
    }

    pub fn sign(self, signer: &LogSigner) -> SignedManifest {
        let signature = signer.sign(self.body().as_bytes());
        SignedManifest { manifest: self, key_id: signer.public().id().to_owned(), signature }
    }
}

/// A manifest and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    pub manifest: RecordingManifest,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl SignedManifest {
    pub fn verify(&self, keys: &KeyRing) -> Result<(), SignatureError> {
        keys.verify(&self.key_id, self.manifest.body().as_bytes(), &self.signature)
    }
}

/// Base64 (standard, padded): how signatures travel in JSON.
pub fn encode_signature(signature: &[u8]) -> String {
    BASE64.encode(signature)
}

pub fn decode_signature(text: &str) -> Result<Vec<u8>, SignatureError> {
    BASE64.decode(text.trim()).map_err(|e| SignatureError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn head() -> TreeHead {
        TreeHead {
            project_id: Uuid::nil(),
            tree_size: 8,
            root_hash: Hash::from_hex(
                "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
            )
            .expect("hex"),
            timestamp: Utc.timestamp_opt(1_764_066_000, 0).single().expect("valid"),
        }
    }

    #[test]
    fn a_checkpoint_is_the_documented_text() {
        assert_eq!(
            head().checkpoint(),
            "termaudit/audit-log/00000000-0000-0000-0000-000000000000\n8\n\
             XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp 2025-11-25T10:20:00.000000Z\n"
        );
    }

    #[test]
    fn signatures_verify_with_the_public_key_only() {
        let signer = LogSigner::from_secret([7; 32]);
        let signed = head().sign(&signer);
        let pem = signer.public().to_pem();
        let keys = KeyRing::new(vec![PublicKey::from_pem(&pem).expect("pem")]);
        signed.verify(&keys).expect("verifies");

        let mut later = signed.clone();
        later.head.tree_size = 9;
        assert_eq!(later.verify(&keys), Err(SignatureError::Invalid(signed.key_id.clone())));
        let other = LogSigner::from_secret([8; 32]);
        assert!(matches!(
            signed.verify(&KeyRing::new(vec![other.public().clone()])),
            Err(SignatureError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_signing_key_survives_pem() {
        let signer = LogSigner::from_secret([9; 32]);
        let again = LogSigner::from_pem(&signer.to_pem()).expect("pem");
        assert_eq!(again.public(), signer.public());
        assert_eq!(signer.public().id().len(), 16);
    }
}
