//! The server's secrets: the HS256 secret and the Ed25519 key that signs
//! the audit log's tree heads and recordings' manifests. Each is configured,
//! or a development one is generated once and kept in the data directory
//! (with a warning) so `serve`, `token` and `signing-key` agree.
//!
//! Whoever reads a kept secret can mint any token (or sign evidence), so
//! one that other users may read (or write) is refused, as ssh refuses such
//! a private key; and a secret too short to be safe is refused by `token` as
//! by `serve`.

use std::{
    fs,
    io::{Read, Write},
    path::Path,
};

use anyhow::Context;
use rand::RngCore;
use termaudit_api::auth::MIN_SECRET_BYTES;
use termaudit_domain::transparency::LogSigner;

use crate::Settings;

const DEV_SECRET_FILE: &str = "dev-jwt-secret";
const DEV_SIGNING_KEY_FILE: &str = "dev-signing-key.pem";

/// What a kept secret is for, for the messages about it.
struct Kept {
    /// What whoever reads it can do.
    power: &'static str,
    /// The setting that replaces it.
    variable: &'static str,
}

const JWT: Kept = Kept { power: "mint tokens", variable: "TERMAUDIT_JWT_SECRET" };
const SIGNING: Kept = Kept { power: "sign evidence", variable: "TERMAUDIT_SIGNING_KEY_FILE" };

pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "TERMAUDIT_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
        );
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join(DEV_SECRET_FILE);
    let secret = read_or_create(&path, &JWT, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })?;
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_BYTES,
        "the development secret in {} is {} bytes long; it must be at least {MIN_SECRET_BYTES}: \
         delete the file to have a new one made, or set TERMAUDIT_JWT_SECRET",
        path.display(),
        secret.len()
    );
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
    let pem = read_or_create(&path, &SIGNING, || {
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

/// The kept secret at `path`, or `create()`'s written to a new file only its
/// owner can read (another process that created it first wins).
fn read_or_create(
    path: &Path,
    kept: &Kept,
    create: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    match fs::File::open(path) {
        Ok(file) => return read_kept(file, path, kept),
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
        // Another process created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let file =
                fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            read_kept(file, path, kept)
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The secret in `file` (opened from `path`), if only its owner can read it.
fn read_kept(mut file: fs::File, path: &Path, kept: &Kept) -> anyhow::Result<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        anyhow::ensure!(
            mode & 0o077 == 0,
            "{} is open to other users (mode {:04o}), and whoever reads it can {}: \
             run `chmod 600 {0}`, or set {}",
            path.display(),
            mode & 0o7777,
            kept.power,
            kept.variable
        );
    }
    let mut secret = String::new();
    file.read_to_string(&mut secret).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(secret.trim().to_owned())
}
