//! The HS256 secret: configured, or a development secret generated once and
//! kept in the data directory so `serve` and `token` agree.

use std::{fs, io::Write, path::Path};

use anyhow::Context;
use rand::RngCore;

use crate::Settings;

const DEV_SECRET_FILE: &str = "dev-jwt-secret";

pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(secret.len() >= 32, "TERMAUDIT_JWT_SECRET must be at least 32 bytes long");
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.data_dir.join(DEV_SECRET_FILE);
    let secret = match fs::read_to_string(&path) {
        Ok(existing) => existing.trim().to_owned(),
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
            Ok(fs::read_to_string(path)?.trim().to_owned())
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}
