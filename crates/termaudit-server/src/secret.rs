//! The server's secrets: the HS256 secret and the Ed25519 key that signs
//! the audit log's tree heads and recordings' manifests. Each is configured,
//! or a development one is generated once and kept in the data directory
//! (with a warning) so `serve`, `token` and `signing-key` agree.

use std::{fs, io::Write, path::Path};

use anyhow::Context;
use rand::RngCore;
use termaudit_domain::transparency::LogSigner;

use crate::Settings;

const DEV_SECRET_FILE: &str = "dev-jwt-secret";
const DEV_SIGNING_KEY_FILE: &str = "dev-signing-key.pem";

pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(secret.len() >= 32, "TERMAUDIT_JWT_SECRET must be at least 32 bytes long");
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join(DEV_SECRET_FILE);
    let secret = read_or_create(&path, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })?;
    tracing::warn!(
        path = %path.display(),
        "TERMAUDIT_JWT_SECRET is not set: using a DEVELOPMENT secret kept in a local file. \
         Never run a shared deployment like this; set TERMAUDIT_JWT_SECRET."
    );
    Ok(secret.into_bytes())
}

/// The key that signs tree heads and manifests: `TERMAUDIT_SIGNING_KEY_FILE`
/// (a PKCS#8 PEM, `openssl genpkey -algorithm ed25519`), or a development
/// key kept in the data directory.
pub fn signing_key(settings: &Settings) -> anyhow::Result<LogSigner> {
    if let Some(path) = &settings.signing_key_file {
        let pem = fs::read_to_string(path)
            .with_context(|| format!("cannot read the signing key {}", path.display()))?;
        return LogSigner::from_pem(&pem).with_context(|| {
            format!("{} is not an Ed25519 private key (PKCS#8 PEM)", path.display())
        });
    }
    let path = settings.data_dir.join(DEV_SIGNING_KEY_FILE);
    let pem = read_or_create(&path, || {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        LogSigner::from_secret(secret).to_pem()
    })?;
    let signer = LogSigner::from_pem(&pem)
        .with_context(|| format!("{} is not an Ed25519 private key", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        key_id = signer.public().id(),
        "TERMAUDIT_SIGNING_KEY_FILE is not set: signing the audit log with a DEVELOPMENT key \
         kept in a local file. Evidence signed with it proves little; set \
         TERMAUDIT_SIGNING_KEY_FILE."
    );
    Ok(signer)
}

/// The file's content, or `create()`'s written to a new file only its owner
/// can read (another process that created it first wins).
fn read_or_create(path: &Path, create: impl FnOnce() -> String) -> anyhow::Result<String> {
    match fs::read_to_string(path) {
        Ok(existing) => return Ok(existing.trim().to_owned()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let content = create();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(content.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(content.trim().to_owned())
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(fs::read_to_string(path)?.trim().to_owned())
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}
