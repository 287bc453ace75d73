//! Configuration: environment variables, then an optional TOML file, then
//! defaults. Each setting's file key is its variable's name in lowercase
//! without the `TERMAUDIT_` prefix (`TERMAUDIT_BIND` is `bind`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use termaudit_storage::{RecordingsStoreUrl, S3Settings};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/termaudit";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Where `scripts/build-frontend.sh` puts the web app.
const DEFAULT_WEB_DIR: &str = "frontend/dist";

#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`: what the server serves with, as the role the
    /// migrations create (`termaudit_app`) in a least-privilege set-up.
    pub database_url: String,
    /// `TERMAUDIT_MIGRATE_DATABASE_URL`: the tables' owner, for `termaudit
    /// migrate` and the server's start-up migration (which also create the
    /// database when missing); `DATABASE_URL` when `None`.
    pub migrate_database_url: Option<String>,
    /// `TERMAUDIT_BIND`
    pub bind: String,
    /// `TERMAUDIT_JWT_SECRET`: the HS256 secret; a development secret kept in
    /// the data directory when unset.
    pub jwt_secret: Option<String>,
    /// `TERMAUDIT_JWT_PUBLIC_KEY_FILE`: an identity provider's RSA or Ed25519
    /// public key (PEM) for RS256/EdDSA tokens.
    pub jwt_public_key_file: Option<PathBuf>,
    /// `TERMAUDIT_JWT_ISSUER`
    pub jwt_issuer: String,
    /// `TERMAUDIT_SIGNING_KEY_FILE`: the Ed25519 key (PKCS#8 PEM) that signs
    /// the audit log's tree heads and recordings' manifests; a development
    /// key kept in the data directory when unset.
    pub signing_key_file: Option<PathBuf>,
    /// `TERMAUDIT_TREE_HEAD_INTERVAL_SECONDS`: how often the sequencer signs
    /// a tree head when the log has grown.
    pub tree_head_interval: std::time::Duration,
    /// `TERMAUDIT_JWT_AUDIENCE`
    pub jwt_audience: String,
    /// `TERMAUDIT_IDENTITY_PROVIDER_ORIGIN`: the origin of the identity
    /// provider the web app signs in through (`https://login.example.com`),
    /// which the content security policy then lets the app reach.
    pub identity_provider_origin: Option<String>,
    /// `TERMAUDIT_OIDC_ISSUER`: the organisation's OpenID Connect provider,
    /// exactly as its tokens' `iss` spells it.
    pub oidc_issuer: Option<String>,
    /// `TERMAUDIT_OIDC_CLIENT_ID`: the web app's (public) client there.
    pub oidc_client_id: Option<String>,
    /// `TERMAUDIT_OIDC_AUDIENCE`: the `aud` provider tokens must carry; the
    /// client id (ID tokens) when unset.
    pub oidc_audience: Option<String>,
    /// `TERMAUDIT_OIDC_SCOPES`: the scopes the web app asks for.
    pub oidc_scopes: String,
    /// `[oidc.claims]` of the configuration file: a claim's values mapped to
    /// projects and permissions.
    pub oidc_claims: Option<termaudit_api::ClaimMapping>,
    /// `TERMAUDIT_DATA_DIR`: where local state (the development secret) is kept.
    pub data_dir: PathBuf,
    /// `TERMAUDIT_WEB_DIR`: the built web app to serve at `/`.
    pub web_dir: Option<PathBuf>,
    /// `TERMAUDIT_DB_POOL_SIZE`: the shared pool's connections (background
    /// work), and the requests' together, split among the HTTP workers.
    pub db_pool_size: usize,
    /// `TERMAUDIT_DEMO`: load demo data, offer demo sign-in and (on a
    /// loopback address) demo terminals.
    pub demo: bool,
    /// `TERMAUDIT_HEARTBEAT_TIMEOUT_SECONDS`: a live session whose gateway
    /// sends no heartbeat for this long is marked dropped (`gateway_lost`).
    pub heartbeat_timeout: std::time::Duration,
    /// `TERMAUDIT_RETENTION_INTERVAL_SECONDS`: how often the retention sweep
    /// runs (also once at start-up); `0` turns the in-server sweep off (for
    /// deployments that run `termaudit sweep --once` from cron instead).
    pub retention_interval: Option<std::time::Duration>,
    /// `TERMAUDIT_GATEWAY_TARGETS`: a targets file; when set, the terminal
    /// gateway runs inside the server at `/gateway/v1`.
    pub gateway_targets: Option<PathBuf>,
    /// `TERMAUDIT_EMULATION_WORKERS`: recordings this replica plays through
    /// the terminal emulator at once (the others wait their turn); `0`
    /// leaves the emulation to other replicas.
    pub emulation_workers: usize,
    /// `TERMAUDIT_EMULATION_NICE`: how much lower than the server the
    /// emulation's threads run (added to their niceness, 0 to 19), so on a
    /// busy machine the scheduler runs ingest and reads first.
    pub emulation_nice: i32,
    /// `TERMAUDIT_EMULATION_LEASE_SECONDS`: how long a replica's claim on a
    /// recording's emulation lasts unless renewed; a dead replica's
    /// recordings are taken over after this.
    pub emulation_lease: std::time::Duration,
    /// `TERMAUDIT_YIELD_TO_INGEST_SECONDS`: how long the emulation and the
    /// compactor wait, at most, while this replica ingests a bulk upload
    /// (chunks of more than 16 MiB a second), before going on beside it;
    /// `0`: they never wait.
    pub yield_to_ingest: std::time::Duration,
    /// `TERMAUDIT_BULK_INGEST_MIB_PER_SECOND`: from how many MiB of chunks
    /// a second stored through this replica it counts as ingesting a bulk
    /// upload (for `yield_to_ingest`).
    pub bulk_ingest_bytes_per_second: u64,
    /// `TERMAUDIT_SEARCH_TEXT_GROUP_KIB`: how much of a recording's text
    /// (what its screen showed, for search) makes a row of several chunks
    /// (a backlog's at once; a live recording's rows of one chunk folded
    /// when they reach it).
    pub text_group_bytes: usize,
    /// `TERMAUDIT_RECORDINGS_STORE`: where recordings' bytes live once
    /// compacted: PostgreSQL, or an object store.
    pub recordings_store: RecordingsStoreUrl,
    /// `TERMAUDIT_S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`: how to reach an `s3://` store.
    pub s3: S3Settings,
    /// `TERMAUDIT_OBJECT_CACHE_MB`: the object ranges this replica keeps
    /// after reading them (seeks and windows read them once), in bytes.
    pub object_cache_bytes: usize,
}

/// One setting a deployment can make: its variable, its default as the
/// README and `--help` show it, and what it means. [`variables`] lists them
/// all; a test checks the README's configuration table against that list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// Markdown: code in backticks, or words for a default that depends on
    /// the machine.
    pub default: String,
    pub meaning: &'static str,
}

/// Every setting, with the defaults of [`Settings::default`] (the one place
/// they are written) rendered for people.
pub fn variables() -> Vec<Variable> {
    let defaults = Settings::default();
    let code = |value: &dyn std::fmt::Display| format!("`{value}`");
    let seconds = |duration: Option<std::time::Duration>| match duration {
        Some(d) => code(&d.as_secs()),
        None => code(&0),
    };
    let row = |name, default, meaning| Variable { name, default, meaning };
    vec![
        row(
            "DATABASE_URL",
            code(&defaults.database_url),
            "the database the server serves with: in production as the role `termaudit_app` \
             the migrations create (see [Database roles](#database-roles))",
        ),
        row(
            "TERMAUDIT_MIGRATE_DATABASE_URL",
            "the value of `DATABASE_URL`".into(),
            "the tables' owner: `termaudit migrate` and the server's start-up migration use it, \
             and create the database when missing",
        ),
        row("TERMAUDIT_BIND", code(&defaults.bind), "address to listen on"),
        row(
            "TERMAUDIT_JWT_SECRET",
            "a development secret kept in the data directory (with a warning; refused when \
             group or others may read it, or shorter than 32 bytes)"
                .into(),
            "HS256 secret, at least 32 bytes",
        ),
        row(
            "TERMAUDIT_JWT_PUBLIC_KEY_FILE",
            "none".into(),
            "an identity provider's RSA or Ed25519 public key (PEM): RS256/EdDSA tokens",
        ),
        row("TERMAUDIT_JWT_ISSUER", code(&defaults.jwt_issuer), "required `iss`"),
        row("TERMAUDIT_JWT_AUDIENCE", code(&defaults.jwt_audience), "required `aud`"),
        row(
            "TERMAUDIT_SIGNING_KEY_FILE",
            "a development key kept in the data directory (with a warning)".into(),
            "the Ed25519 private key (PKCS#8 PEM, `openssl genpkey -algorithm ed25519`) that \
             signs the audit log's tree heads and recordings' manifests; keys used before stay \
             listed, so what they signed still verifies",
        ),
        row(
            "TERMAUDIT_TREE_HEAD_INTERVAL_SECONDS",
            seconds(Some(defaults.tree_head_interval)),
            "how often the audit log's sequencer signs a tree head when the log has grown (one is \
             also signed at every export)",
        ),
        row(
            "TERMAUDIT_IDENTITY_PROVIDER_ORIGIN",
            "none".into(),
            "the identity provider the web app signs in through (`https://login.example.com`): \
             the content security policy lets the app reach it (`connect-src`, `form-action`)",
        ),
        row(
            "TERMAUDIT_OIDC_ISSUER",
            "none".into(),
            "the organisation's OpenID Connect provider (`https://login.example.com/realms/ops`, \
             as its tokens' `iss` spells it; `http://` on loopback only): the web app signs in \
             through it and the API verifies its tokens with the keys it publishes (see \
             [Signing in through your identity provider](#signing-in-through-your-identity-provider))",
        ),
        row(
            "TERMAUDIT_OIDC_CLIENT_ID",
            "none".into(),
            "the web app's public client at the provider (authorization code flow with PKCE)",
        ),
        row(
            "TERMAUDIT_OIDC_AUDIENCE",
            "the client id".into(),
            "the `aud` the provider's tokens must carry, for providers that issue JWT access \
             tokens for an API",
        ),
        row(
            "TERMAUDIT_OIDC_SCOPES",
            code(&defaults.oidc_scopes),
            "the scopes the web app asks the provider for (add the one that brings the mapped \
             claim, e.g. `groups`)",
        ),
        row(
            "TERMAUDIT_DATA_DIR",
            "`$XDG_DATA_HOME/termaudit` or `~/.local/share/termaudit`".into(),
            "local state",
        ),
        row(
            "TERMAUDIT_WEB_DIR",
            format!("`{DEFAULT_WEB_DIR}` when built"),
            "the web app to serve at `/`",
        ),
        row(
            "TERMAUDIT_DB_POOL_SIZE",
            code(&defaults.db_pool_size),
            "database connections for background work; as many again for requests, split among the HTTP workers (a pool each, at least 2 connections)",
        ),
        row(
            "TERMAUDIT_DEMO",
            code(&defaults.demo),
            "load demo data and offer demo sign-in; on a loopback address, demo terminals running a built-in demo program (never a shell)",
        ),
        row(
            "TERMAUDIT_RETENTION_INTERVAL_SECONDS",
            seconds(defaults.retention_interval),
            "how often the retention sweep runs (also at start-up); `0` turns it off in the \
             server (run `termaudit sweep --once` from cron instead)",
        ),
        row(
            "TERMAUDIT_HEARTBEAT_TIMEOUT_SECONDS",
            seconds(Some(defaults.heartbeat_timeout)),
            "a live session whose gateway sends no heartbeat this long is marked dropped \
             (`gateway_lost`)",
        ),
        row(
            "TERMAUDIT_GATEWAY_TARGETS",
            "none".into(),
            "a targets file: the terminal gateway runs inside `termaudit serve` at `/gateway/v1`",
        ),
        row(
            "TERMAUDIT_EMULATION_WORKERS",
            code(&defaults.emulation_workers),
            "recordings this replica plays through the terminal emulator at once (for the seek \
             snapshots), the others queued; `0` leaves it to other replicas",
        ),
        row(
            "TERMAUDIT_EMULATION_NICE",
            code(&defaults.emulation_nice),
            "how much lower than the server the emulation's threads run (added to their \
             niceness, `0` to `19`): on a busy machine the scheduler runs ingest and reads first",
        ),
        row(
            "TERMAUDIT_EMULATION_LEASE_SECONDS",
            seconds(Some(defaults.emulation_lease)),
            "how long a replica's claim on a recording's emulation lasts unless renewed; a dead \
             replica's recordings are taken over after this",
        ),
        row(
            "TERMAUDIT_YIELD_TO_INGEST_SECONDS",
            seconds(Some(defaults.yield_to_ingest)),
            "how long the emulation and the compactor wait, at most, while this replica ingests \
             a bulk upload (see the next row; terminals at human speed never come near) before \
             going on beside it, so that the upload has the cores; `0`: they never wait",
        ),
        row(
            "TERMAUDIT_BULK_INGEST_MIB_PER_SECOND",
            code(&(defaults.bulk_ingest_bytes_per_second >> 20)),
            "from how many MiB of recording chunks a second stored through this replica it \
             counts as ingesting a bulk upload",
        ),
        row(
            "TERMAUDIT_SEARCH_TEXT_GROUP_KIB",
            code(&(defaults.text_group_bytes >> 10)),
            "how many KiB of a recording's text (what its screen showed, which search across \
             recordings reads) make a row of several chunks, smaller and compressed better: a \
             backlog is written so at once; a live recording's text is kept a row per chunk, \
             searchable at once, and folded when it reaches this, the rest when it ends",
        ),
        row(
            "TERMAUDIT_RECORDINGS_STORE",
            code(&defaults.recordings_store),
            "where recordings' bytes live: `postgres`, or an object store, `s3://BUCKET/PREFIX` \
             or `file:///DIR` (chunks are acknowledged in PostgreSQL, then compacted into \
             objects of 8 MiB or more, the rest within a minute of a recording's end); a missing \
             bucket or refused credentials stop start-up",
        ),
        row(
            "TERMAUDIT_S3_ENDPOINT",
            "AWS".into(),
            "an S3-compatible server's URL (`http://127.0.0.1:9000`): path-style requests",
        ),
        row(
            "AWS_ACCESS_KEY_ID",
            "the AWS environment's (container or instance credentials)".into(),
            "the access key for an `s3://` store",
        ),
        row("AWS_SECRET_ACCESS_KEY", "none".into(), "its secret"),
        row("AWS_REGION", "`us-east-1`".into(), "the bucket's region"),
        row(
            "TERMAUDIT_OBJECT_CACHE_MB",
            format!("`{}`", defaults.object_cache_bytes >> 20),
            "the object ranges a replica keeps after reading them, least recently used out \
             first, so that a viewer seeking and playing on reads each from the object store \
             once; `0` keeps none",
        ),
        row(
            "TERMAUDIT_LOG_FORMAT",
            "text".into(),
            "`json` for structured logs; `RUST_LOG` filters",
        ),
    ]
}

/// The README's configuration table, as [`variables`] renders it.
pub fn variables_markdown() -> String {
    let mut table = String::from("| variable | default | meaning |\n| --- | --- | --- |\n");
    for v in variables() {
        table.push_str(&format!("| `{}` | {} | {} |\n", v.name, v.default, v.meaning));
    }
    table
}

struct Source {
    file: BTreeMap<String, String>,
    /// `[oidc.claims]`, the one table the file may hold.
    oidc_claims: Option<toml::Value>,
}

impl Source {
    fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut file = BTreeMap::new();
        let mut oidc_claims = None;
        if let Some(path) = config_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            let table: toml::Table =
                text.parse().with_context(|| format!("{} is not valid TOML", path.display()))?;
            for (key, value) in table {
                let value = match value {
                    toml::Value::Table(mut oidc) if key == "oidc" => {
                        oidc_claims = oidc.remove("claims");
                        if let Some(other) = oidc.keys().next() {
                            bail!(
                                "{}: [oidc] holds only the claims mapping ([oidc.claims]), not \
                                 `{other}`; the other OpenID settings are top-level keys \
                                 (oidc_issuer, oidc_client_id, ...)",
                                path.display()
                            );
                        }
                        continue;
                    }
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => bail!(
                        "{}: `{key}` must be a string, number or boolean, not {}",
                        path.display(),
                        other.type_str()
                    ),
                };
                file.insert(key, value);
            }
        }
        Ok(Self { file, oidc_claims })
    }

    fn get(&self, variable: &str) -> Option<String> {
        if let Ok(value) = std::env::var(variable) {
            return Some(value);
        }
        let key = variable.trim_start_matches("TERMAUDIT_").to_lowercase();
        self.file.get(&key).cloned()
    }
}

fn parse_bool(variable: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => bail!("{variable} must be true or false, not {value:?}"),
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("termaudit");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/termaudit"),
        None => PathBuf::from(".termaudit"),
    }
}

impl Default for Settings {
    /// The built-in defaults, reading nothing from the environment.
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            migrate_database_url: None,
            bind: DEFAULT_BIND.into(),
            jwt_secret: None,
            jwt_public_key_file: None,
            jwt_issuer: "termaudit".into(),
            signing_key_file: None,
            tree_head_interval: std::time::Duration::from_secs(300),
            jwt_audience: "termaudit".into(),
            identity_provider_origin: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_audience: None,
            oidc_scopes: "openid profile email".into(),
            oidc_claims: None,
            data_dir: default_data_dir(),
            web_dir: None,
            db_pool_size: 16,
            demo: false,
            heartbeat_timeout: std::time::Duration::from_secs(60),
            retention_interval: Some(std::time::Duration::from_secs(3600)),
            gateway_targets: None,
            emulation_workers: 8,
            emulation_nice: termaudit_emulation::EmulationOptions::NICE,
            emulation_lease: std::time::Duration::from_secs(30),
            yield_to_ingest: termaudit_emulation::EmulationOptions::YIELD_TO_INGEST,
            bulk_ingest_bytes_per_second: 16 << 20,
            text_group_bytes: termaudit_emulation::EmulationOptions::TEXT_GROUP_BYTES,
            recordings_store: RecordingsStoreUrl::Postgres,
            s3: S3Settings::default(),
            object_cache_bytes: termaudit_storage::DEFAULT_CACHE_BYTES,
        }
    }
}

impl Settings {
    /// Reads the settings from the environment and `config_file`.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let source = Source::load(config_file)?;
        let mut settings = Self::default();
        if let Some(v) = source.get("DATABASE_URL") {
            settings.database_url = v;
        }
        settings.migrate_database_url =
            source.get("TERMAUDIT_MIGRATE_DATABASE_URL").filter(|u| !u.is_empty());
        if let Some(v) = source.get("TERMAUDIT_BIND") {
            settings.bind = v;
        }
        settings.jwt_secret = source.get("TERMAUDIT_JWT_SECRET").filter(|s| !s.is_empty());
        settings.jwt_public_key_file =
            source.get("TERMAUDIT_JWT_PUBLIC_KEY_FILE").map(PathBuf::from);
        if let Some(v) = source.get("TERMAUDIT_JWT_ISSUER") {
            settings.jwt_issuer = v;
        }
        if let Some(v) = source.get("TERMAUDIT_JWT_AUDIENCE") {
            settings.jwt_audience = v;
        }
        settings.signing_key_file =
            source.get("TERMAUDIT_SIGNING_KEY_FILE").filter(|p| !p.is_empty()).map(PathBuf::from);
        if let Some(v) = source.get("TERMAUDIT_TREE_HEAD_INTERVAL_SECONDS") {
            let seconds =
                v.parse::<u64>().ok().filter(|n| (1..=86_400).contains(n)).with_context(|| {
                    format!("TERMAUDIT_TREE_HEAD_INTERVAL_SECONDS must be 1 to 86400, not {v:?}")
                })?;
            settings.tree_head_interval = std::time::Duration::from_secs(seconds);
        }
        settings.identity_provider_origin =
            source.get("TERMAUDIT_IDENTITY_PROVIDER_ORIGIN").filter(|o| !o.is_empty());
        settings.oidc_issuer = source.get("TERMAUDIT_OIDC_ISSUER").filter(|v| !v.is_empty());
        settings.oidc_client_id = source.get("TERMAUDIT_OIDC_CLIENT_ID").filter(|v| !v.is_empty());
        settings.oidc_audience = source.get("TERMAUDIT_OIDC_AUDIENCE").filter(|v| !v.is_empty());
        if settings.oidc_issuer.is_some() != settings.oidc_client_id.is_some() {
            bail!(
                "TERMAUDIT_OIDC_ISSUER and TERMAUDIT_OIDC_CLIENT_ID are set together or not at all"
            );
        }
        if let Some(v) = source.get("TERMAUDIT_OIDC_SCOPES").filter(|v| !v.trim().is_empty()) {
            settings.oidc_scopes = v;
        }
        if let Some(claims) = source.oidc_claims.clone() {
            let mapping: termaudit_api::ClaimMapping =
                claims.try_into().context("[oidc.claims] of the configuration file is invalid")?;
            mapping.validate().map_err(anyhow::Error::msg)?;
            settings.oidc_claims = Some(mapping);
        }
        if let Some(v) = source.get("TERMAUDIT_DATA_DIR") {
            settings.data_dir = PathBuf::from(v);
        }
        settings.web_dir = match source.get("TERMAUDIT_WEB_DIR") {
            Some(dir) if dir.is_empty() => None,
            Some(dir) => Some(PathBuf::from(dir)),
            None => Some(PathBuf::from(DEFAULT_WEB_DIR)).filter(|d| d.join("index.html").exists()),
        };
        if let Some(v) = source.get("TERMAUDIT_DB_POOL_SIZE") {
            settings.db_pool_size =
                v.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).with_context(|| {
                    format!("TERMAUDIT_DB_POOL_SIZE must be 1 to 1000, not {v:?}")
                })?;
        }
        if let Some(v) = source.get("TERMAUDIT_DEMO") {
            settings.demo = parse_bool("TERMAUDIT_DEMO", &v)?;
        }
        if let Some(v) = source.get("TERMAUDIT_HEARTBEAT_TIMEOUT_SECONDS") {
            let seconds =
                v.parse::<u64>().ok().filter(|n| (5..=86_400).contains(n)).with_context(|| {
                    format!("TERMAUDIT_HEARTBEAT_TIMEOUT_SECONDS must be 5 to 86400, not {v:?}")
                })?;
            settings.heartbeat_timeout = std::time::Duration::from_secs(seconds);
        }
        if let Some(v) = source.get("TERMAUDIT_RETENTION_INTERVAL_SECONDS") {
            settings.retention_interval = match v.parse::<u64>() {
                Ok(0) => None,
                Ok(n) if n <= 7 * 86_400 => Some(std::time::Duration::from_secs(n)),
                _ => bail!("TERMAUDIT_RETENTION_INTERVAL_SECONDS must be 0 to 604800, not {v:?}"),
            };
        }
        settings.gateway_targets =
            source.get("TERMAUDIT_GATEWAY_TARGETS").filter(|p| !p.is_empty()).map(PathBuf::from);
        if let Some(v) = source.get("TERMAUDIT_EMULATION_WORKERS") {
            settings.emulation_workers =
                v.parse::<usize>().ok().filter(|n| *n <= 1000).with_context(|| {
                    format!("TERMAUDIT_EMULATION_WORKERS must be 0 to 1000, not {v:?}")
                })?;
        }
        if let Some(v) = source.get("TERMAUDIT_EMULATION_NICE") {
            settings.emulation_nice =
                v.parse::<i32>().ok().filter(|n| (0..=19).contains(n)).with_context(|| {
                    format!("TERMAUDIT_EMULATION_NICE must be 0 to 19, not {v:?}")
                })?;
        }
        if let Some(v) = source.get("TERMAUDIT_EMULATION_LEASE_SECONDS") {
            let seconds =
                v.parse::<u64>().ok().filter(|n| (2..=3600).contains(n)).with_context(|| {
                    format!("TERMAUDIT_EMULATION_LEASE_SECONDS must be 2 to 3600, not {v:?}")
                })?;
            settings.emulation_lease = std::time::Duration::from_secs(seconds);
        }
        if let Some(v) = source.get("TERMAUDIT_YIELD_TO_INGEST_SECONDS") {
            let seconds = v.parse::<u64>().ok().filter(|n| *n <= 3600).with_context(|| {
                format!("TERMAUDIT_YIELD_TO_INGEST_SECONDS must be 0 to 3600, not {v:?}")
            })?;
            settings.yield_to_ingest = std::time::Duration::from_secs(seconds);
        }
        if let Some(v) = source.get("TERMAUDIT_BULK_INGEST_MIB_PER_SECOND") {
            let mib =
                v.parse::<u64>().ok().filter(|n| (1..=1 << 20).contains(n)).with_context(|| {
                    format!("TERMAUDIT_BULK_INGEST_MIB_PER_SECOND must be 1 to 1048576, not {v:?}")
                })?;
            settings.bulk_ingest_bytes_per_second = mib << 20;
        }
        if let Some(v) = source.get("TERMAUDIT_SEARCH_TEXT_GROUP_KIB") {
            let kib = v.parse::<usize>().ok().filter(|n| (1..=1 << 16).contains(n)).with_context(
                || format!("TERMAUDIT_SEARCH_TEXT_GROUP_KIB must be 1 to 65536, not {v:?}"),
            )?;
            settings.text_group_bytes = kib << 10;
        }
        if let Some(v) = source.get("TERMAUDIT_RECORDINGS_STORE") {
            settings.recordings_store = RecordingsStoreUrl::parse(&v)
                .map_err(|why| anyhow::anyhow!("TERMAUDIT_RECORDINGS_STORE: {why}"))?;
        }
        let some = |name: &str| source.get(name).filter(|v| !v.is_empty());
        settings.s3 = S3Settings {
            endpoint: some("TERMAUDIT_S3_ENDPOINT"),
            access_key_id: some("AWS_ACCESS_KEY_ID"),
            secret_access_key: some("AWS_SECRET_ACCESS_KEY"),
            region: some("AWS_REGION"),
        };
        if let Some(endpoint) = &settings.s3.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            bail!("TERMAUDIT_S3_ENDPOINT must be an http:// or https:// URL, not {endpoint:?}");
        }
        if let Some(v) = source.get("TERMAUDIT_OBJECT_CACHE_MB") {
            let mib = v.parse::<usize>().ok().filter(|n| *n <= 65_536).with_context(|| {
                format!("TERMAUDIT_OBJECT_CACHE_MB must be 0 to 65536, not {v:?}")
            })?;
            settings.object_cache_bytes = mib << 20;
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_maps_a_claim_to_projects() {
        let dir = std::env::temp_dir().join(format!("termaudit-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let file = dir.join("termaudit.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9\"\n[oidc.claims]\nclaim = \"groups\"\n\
             [[oidc.claims.grant]]\nvalue = \"sre-oncall\"\nproject = \"payments\"\n\
             permissions = [\"terminal.view_history\"]\n",
        )
        .expect("written");
        let settings = Settings::load(Some(&file)).expect("valid settings");
        let mapping = settings.oidc_claims.expect("a mapping");
        assert_eq!(mapping.claim, "groups");
        assert_eq!(mapping.grant[0].project, "payments");

        std::fs::write(&file, "[oidc.claims]\nclaim = \"groups\"\n[[oidc.claims.grant]]\nvalue = \"x\"\nproject = \"p\"\npermissions = [\"terminal.everything\"]\n").expect("written");
        let err = Settings::load(Some(&file)).expect_err("an unknown permission");
        assert!(format!("{err:#}").contains("terminal.everything"), "{err:#}");
        std::fs::write(&file, "[oidc]\nissuer = \"https://x\"\n").expect("written");
        assert!(Settings::load(Some(&file)).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_readme_lists_every_setting_with_its_default() {
        let readme = include_str!("../../../README.md");
        let expected = variables_markdown();
        assert!(
            readme.contains(&expected),
            "the README's configuration table differs from the code; it should read:\n{expected}"
        );
    }
}
