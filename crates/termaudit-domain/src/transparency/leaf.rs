//! The canonical encoding of an audit entry: the bytes a leaf of the log
//! hashes.
//!
//! One line of JSON with the fields in this order and nothing else:
//!
//! ```text
//! {"v":1,"id":42,"project_id":"<uuid>","occurred_at":"2026-11-25T10:20:00.000000Z",
//!  "event_type":"session.revoked","actor_subject":"carol","actor_name":"Carol",
//!  "session_id":"<uuid>","details":<details>}
//! ```
//!
//! Strings are JSON strings as serde_json writes them (only `"`, `\` and
//! control characters escaped), absent values are `null`, uuids lowercase
//! with hyphens, the time RFC 3339 in UTC with exactly six fractional
//! digits (what PostgreSQL stores). `details` is the entry's jsonb exactly
//! as PostgreSQL renders it as text (`details::text`: keys sorted by length,
//! then bytes; `", "` and `": "` between items): jsonb does not keep the
//! text it was given, so the leaf is computed from what is read back, and
//! anyone who reads the same row back gets the same bytes.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::merkle::{Hash, leaf_hash};
use crate::export::rfc3339;

/// The version written as `"v"`.
pub const LEAF_VERSION: u32 = 1;

/// The stored fields of an audit entry, in the order of the encoding.
pub const FIELDS: [&str; 8] = [
    "id",
    "project_id",
    "occurred_at",
    "event_type",
    "actor_subject",
    "actor_name",
    "session_id",
    "details",
];

/// Bytes of each field's fingerprint in [`AuditLeaf::fingerprints`].
pub const FINGERPRINT_BYTES: usize = 8;

/// An audit entry as stored: the content of one leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLeaf {
    pub id: i64,
    pub project_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub event_type: String,
    pub actor_subject: Option<String>,
    pub actor_name: Option<String>,
    pub session_id: Option<Uuid>,
    /// The details as PostgreSQL renders the stored jsonb (`details::text`).
    pub details: String,
}

/// Bytes that are not an audit leaf in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical audit leaf: {0}")]
pub struct LeafError(String);

/// Writes `s` as serde_json writes a JSON string.
fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail, nor can serialising a str.
    let _ = serde_json::to_writer(out, s);
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

impl AuditLeaf {
    /// Writes the canonical text of field `field` (its index in
    /// [`FIELDS`]) into `out`.
    fn write_field(&self, field: usize, out: &mut Vec<u8>) {
        let mut uuid = Uuid::encode_buffer();
        match field {
            0 => {
                let _ = write!(out, "{}", self.id);
            }
            1 => json_string(out, self.project_id.hyphenated().encode_lower(&mut uuid)),
            2 => json_string(out, &rfc3339(self.occurred_at)),
            3 => json_string(out, &self.event_type),
            4 => opt_string(out, self.actor_subject.as_deref()),
            5 => opt_string(out, self.actor_name.as_deref()),
            6 => opt_string(
                out,
                self.session_id.as_ref().map(|s| &*s.hyphenated().encode_lower(&mut uuid)),
            ),
            _ => out.extend_from_slice(self.details.as_bytes()),
        }
    }

    /// Each field's canonical text, in [`FIELDS`] order.
    fn parts(&self) -> [Vec<u8>; 8] {
        std::array::from_fn(|field| {
            let mut out = Vec::new();
            self.write_field(field, &mut out);
            out
        })
    }

    /// The canonical bytes, written into one buffer (the check of a whole
    /// log encodes millions of these).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.details.len());
        let _ = write!(out, "{{\"v\":{LEAF_VERSION}");
        for (field, name) in FIELDS.iter().enumerate() {
            let _ = write!(out, ",\"{name}\":");
            self.write_field(field, &mut out);
        }
        out.push(b'}');
        out
    }

    /// The leaf's hash in the tree: `SHA-256(0x00 || encode())`.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// Eight bytes of SHA-256 of each field's canonical text, concatenated
    /// in [`FIELDS`] order. Stored beside the leaf hash so that a check that
    /// finds an entry changed can say which field changed; the leaf hash,
    /// not these, is what proves anything.
    pub fn fingerprints(&self) -> Vec<u8> {
        self.parts().iter().flat_map(|p| Sha256::digest(p)[..FINGERPRINT_BYTES].to_vec()).collect()
    }

    /// The fields whose fingerprints differ from `stored` (all of them when
    /// `stored` is not a set of fingerprints).
    pub fn changed_fields(&self, stored: &[u8]) -> Vec<&'static str> {
        let mine = self.fingerprints();
        if stored.len() != mine.len() {
            return FIELDS.to_vec();
        }
        FIELDS
            .iter()
            .zip(mine.chunks(FINGERPRINT_BYTES).zip(stored.chunks(FINGERPRINT_BYTES)))
            .filter(|(_, (a, b))| a != b)
            .map(|(name, _)| *name)
            .collect()
    }

    /// Reads canonical bytes back; anything else (other fields, another
    /// order, other spacing) is refused, so a leaf has one spelling.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire<'a> {
            v: u32,
            id: i64,
            project_id: Uuid,
            occurred_at: DateTime<Utc>,
            event_type: String,
            actor_subject: Option<String>,
            actor_name: Option<String>,
            session_id: Option<Uuid>,
            #[serde(borrow)]
            details: &'a RawValue,
        }
        let wire: Wire<'_> = serde_json::from_slice(bytes).map_err(|e| LeafError(e.to_string()))?;
        if wire.v != LEAF_VERSION {
            return Err(LeafError(format!("version {} is not {LEAF_VERSION}", wire.v)));
        }
        let leaf = Self {
            id: wire.id,
            project_id: wire.project_id,
            occurred_at: wire.occurred_at,
            event_type: wire.event_type,
            actor_subject: wire.actor_subject,
            actor_name: wire.actor_name,
            session_id: wire.session_id,
            details: wire.details.get().to_owned(),
        };
        if leaf.encode() != bytes {
            return Err(LeafError("the bytes are not in canonical form".into()));
        }
        Ok(leaf)
    }

    /// The details as JSON.
    pub fn details_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null)
    }
}

/// An audit entry with its leaf index and its audit path (RFC 9162,
/// section 2.1.3) into the tree of `tree_size` leaves: what an export with
/// proofs and an evidence bundle carry for each entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProof {
    pub leaf: AuditLeaf,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn sample() -> AuditLeaf {
        AuditLeaf {
            id: 42,
            project_id: Uuid::from_u128(0x0194c1d2_7c1a_7e2b_9c55_3f1f6f3d2a10),
            occurred_at: Utc.timestamp_opt(1_764_066_000, 120_000).single().expect("valid"),
            event_type: "session.revoked".into(),
            actor_subject: Some("carol".into()),
            actor_name: Some("Carol \"C\" Manager".into()),
            session_id: None,
            details: r#"{"reason": "outside the window"}"#.into(),
        }
    }

    #[test]
    fn the_encoding_is_the_documented_line() {
        let text = String::from_utf8(sample().encode()).expect("utf-8");
        assert_eq!(
            text,
            r#"{"v":1,"id":42,"project_id":"0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10","occurred_at":"2025-11-25T10:20:00.000120Z","event_type":"session.revoked","actor_subject":"carol","actor_name":"Carol \"C\" Manager","session_id":null,"details":{"reason": "outside the window"}}"#
        );
        assert_eq!(AuditLeaf::decode(text.as_bytes()), Ok(sample()));

        let with_session = AuditLeaf {
            session_id: Some(Uuid::from_u128(0xABCDEF01_2345_6789_ABCD_EF0123456789)),
            actor_subject: None,
            ..sample()
        };
        let text = String::from_utf8(with_session.encode()).expect("utf-8");
        assert!(
            text.contains(
                r#""actor_subject":null,"actor_name":"Carol \"C\" Manager","session_id":"abcdef01-2345-6789-abcd-ef0123456789","details""#
            ),
            "{text}"
        );
        assert_eq!(AuditLeaf::decode(text.as_bytes()), Ok(with_session));
    }

    #[test]
    fn other_spellings_of_the_same_entry_are_refused() {
        let text = String::from_utf8(sample().encode()).expect("utf-8");
        let spaced = text.replacen(",\"id\":", ", \"id\":", 1);
        assert!(AuditLeaf::decode(spaced.as_bytes()).is_err());
        let extra = text.replacen("{\"v\":1,", "{\"v\":1,\"x\":0,", 1);
        assert!(AuditLeaf::decode(extra.as_bytes()).is_err());
    }

    #[test]
    fn a_changed_field_is_named() {
        let stored = sample().fingerprints();
        let mut changed = sample();
        changed.details = r#"{"reason": "inside the window"}"#.into();
        assert_eq!(changed.changed_fields(&stored), vec!["details"]);
        changed.actor_subject = None;
        assert_eq!(changed.changed_fields(&stored), vec!["actor_subject", "details"]);
        assert_eq!(sample().changed_fields(&stored), Vec::<&str>::new());
    }

    proptest! {
        /// Any single changed byte of any stored field changes the leaf hash.
        #[test]
        fn any_changed_byte_of_a_stored_entry_changes_the_hash(
            subject in "[a-z]{1,12}",
            reason in "\\PC{0,40}",
            field in 0usize..4,
            at in any::<prop::sample::Index>(),
            flip in 1u8..128,
        ) {
            let mut leaf = sample();
            leaf.actor_subject = Some(subject);
            leaf.details = serde_json::json!({ "reason": reason }).to_string();
            let before = leaf.hash();
            let flip_in = |s: &mut String| {
                let mut bytes = s.clone().into_bytes();
                let i = at.index(bytes.len());
                bytes[i] ^= flip;
                // Only changes that leave valid UTF-8 can be stored in a text column.
                if let Ok(changed) = String::from_utf8(bytes) { *s = changed; true } else { false }
            };
            let changed = match field {
                0 => flip_in(leaf.actor_subject.get_or_insert_with(String::new)),
                1 => flip_in(&mut leaf.event_type),
                2 => flip_in(&mut leaf.details),
                _ => { leaf.id ^= i64::from(flip); true }
            };
            prop_assume!(changed);
            prop_assert_ne!(leaf.hash(), before);
        }
    }
}
