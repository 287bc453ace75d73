//! The HS256 secret: configured, or a development secret generated once and
//! kept in the data directory so `serve` and `token` agree.
//!
//! Whoever reads the secret can mint any token, so a kept secret that other
//! users may read (or write) is refused, as ssh refuses such a private key;
//! and one too short to be safe is refused by `token` as by `serve`.

use std::{
    fs,
    io::{Read, Write},
    path::Path,
};

use anyhow::Context;
use rand::RngCore;
use termaudit_api::auth::MIN_SECRET_BYTES;

use crate::Settings;

const DEV_SECRET_FILE: &str = "dev-jwt-secret";

pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "TERMAUDIT_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
        );
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join(DEV_SECRET_FILE);
    let secret = match fs::File::open(&path) {
        Ok(file) => read_dev_secret(file, &path)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create_dev_secret(&path)?,
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    tracing::warn!(
        path = %path.display(),
        "TERMAUDIT_JWT_SECRET is not set: using a DEVELOPMENT secret kept in a local file. \
         Never run a shared deployment like this; set TERMAUDIT_JWT_SECRET."
    );
    Ok(secret.into_bytes())
}

/// The kept secret in `file` (opened from `path`), if only its owner can
/// read it and it is long enough.
fn read_dev_secret(mut file: fs::File, path: &Path) -> anyhow::Result<String> {
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
            "{} is open to other users (mode {:04o}), and whoever reads it can mint tokens: \
             run `chmod 600 {0}`, or set TERMAUDIT_JWT_SECRET",
            path.display(),
            mode & 0o7777
        );
    }
    let mut secret = String::new();
    file.read_to_string(&mut secret).with_context(|| format!("cannot read {}", path.display()))?;
    let secret = secret.trim().to_owned();
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_BYTES,
        "the development secret in {} is {} bytes long; it must be at least {MIN_SECRET_BYTES}: \
         delete the file to have a new one made, or set TERMAUDIT_JWT_SECRET",
        path.display(),
        secret.len()
    );
    Ok(secret)
}

fn create_dev_secret(path: &Path) -> anyhow::Result<String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let file =
                fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            read_dev_secret(file, path)
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}
