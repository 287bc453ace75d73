//! `termaudit verify`: checks evidence offline with nothing but public keys
//! (`cast`, `audit`, `bundle`, `consistency`), or the database against its own log
//! (`db`). Each check prints what it checked and what failed; any
//! failure makes the command exit non-zero.

mod bundle;
mod cast;
mod consistency;
mod db;
mod export;

use std::path::{Path, PathBuf};

use anyhow::Context;
use termaudit_api_types as dto;
use termaudit_domain::transparency::{KeyRing, PublicKey};

pub use bundle::verify_bundle;
pub use cast::verify_cast;
pub use consistency::verify_consistency;
pub use db::verify_db;
pub use export::verify_export;

/// What a verification found: the checks that held and the ones that did not.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report {
    pub fn pass(&mut self, what: impl Into<String>) {
        self.passed.push(what.into());
    }

    pub fn fail(&mut self, what: impl Into<String>) {
        self.failed.push(what.into());
    }

    pub fn warn(&mut self, what: impl Into<String>) {
        self.warnings.push(what.into());
    }

    /// Records `result` as passed (`ok`) or failed (`context: error`).
    pub fn check<E: std::fmt::Display>(&mut self, ok: &str, context: &str, result: Result<(), E>) {
        match result {
            Ok(()) => self.pass(ok),
            Err(err) => self.fail(format!("{context}: {err}")),
        }
    }

    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// The report for people: one line per check, failures last.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.passed {
            out.push_str(&format!("ok       {line}\n"));
        }
        for line in &self.warnings {
            out.push_str(&format!("warning  {line}\n"));
        }
        for line in &self.failed {
            out.push_str(&format!("FAILED   {line}\n"));
        }
        out.push_str(&if self.ok() {
            format!("verified: {} checks passed\n", self.passed.len())
        } else {
            format!(
                "NOT VERIFIED: {} of {} checks failed\n",
                self.failed.len(),
                self.failed.len() + self.passed.len()
            )
        });
        out
    }
}

/// The public keys in `files`: PEM public keys, or the JSON of `GET
/// /api/v1/signing-keys` (or one of its items).
pub fn load_keys(files: &[PathBuf]) -> anyhow::Result<KeyRing> {
    let mut ring = KeyRing::default();
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        for key in parse_keys(&text).with_context(|| format!("{} holds no key", path.display()))? {
            ring.add(key);
        }
    }
    Ok(ring)
}

/// Keys from a PEM or from signing-key JSON.
pub fn parse_keys(text: &str) -> anyhow::Result<Vec<PublicKey>> {
    if text.trim_start().starts_with("-----BEGIN") {
        return Ok(vec![PublicKey::from_pem(text)?]);
    }
    let items = match serde_json::from_str::<dto::SigningKeyList>(text) {
        Ok(list) => list.items,
        Err(_) => vec![
            serde_json::from_str::<dto::SigningKey>(text)
                .context("neither a PEM public key nor signing-key JSON")?,
        ],
    };
    items
        .iter()
        .map(|item| {
            let key = PublicKey::from_pem(&item.public_key_pem)?;
            anyhow::ensure!(
                key.id() == item.key_id,
                "key {} is listed under another id, {}",
                key.id(),
                item.key_id
            );
            Ok(key)
        })
        .collect()
}

/// Refuses to verify signatures against no key at all.
pub fn require_keys(keys: &KeyRing) -> anyhow::Result<()> {
    anyhow::ensure!(
        !keys.keys().is_empty(),
        "give the server's public key with --key FILE (a PEM from `termaudit signing-key \
         public`, or the JSON of GET /api/v1/signing-keys)"
    );
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not {what}", path.display()))
}
