use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use termaudit_domain::{
    ExportFilter, HistoryFilter, HistoryParams, Permission, ProjectName, ProjectSlug,
};
use termaudit_server::{Application, Settings, verify};
use tracing_subscriber::EnvFilter;

/// termaudit: history and recordings of operators' terminal sessions.
#[derive(Parser)]
#[command(version, after_help = configuration_help())]
struct Cli {
    /// A TOML file with settings (keys: the variable names below, lowercase,
    /// without TERMAUDIT_); environment variables take precedence.
    #[arg(long, global = true, env = "TERMAUDIT_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web app (applies migrations first).
    Serve(ServeArgs),
    /// Run the terminal gateway on its own, reporting to a termaudit API.
    Gateway(GatewayArgs),
    /// Apply database migrations, creating the database when missing.
    Migrate,
    /// Mint a bearer token signed with the configured HS256 secret.
    Token(TokenArgs),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Print the OpenAPI document of this build.
    Openapi,
    /// Run the retention sweep, or show what it would purge.
    Sweep(SweepArgs),
    /// Export a project's history (sessions, terminal and database events)
    /// as CSV, JSON or NDJSON, like `GET /api/v1/projects/{project}/export`.
    Export(ExportArgs),
    /// Check evidence: exported audit trails, recordings, evidence bundles
    /// and tree heads offline with public keys, or the database against its
    /// own transparency log.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// The Ed25519 key that signs the audit log and recordings' manifests.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// Where recordings' bytes are kept.
    #[command(subcommand)]
    Recordings(RecordingsCommand),
}

#[derive(Subcommand)]
enum RecordingsCommand {
    /// Move finalized recordings into an object store (`--to
    /// s3://BUCKET/PREFIX` or `file:///DIR`) or back into PostgreSQL (`--to
    /// postgres`, reading from TERMAUDIT_RECORDINGS_STORE). Resumable: run
    /// it again after an interruption. Each recording's SHA-256 is verified
    /// after it moved; a moved-back recording's objects are deleted then.
    Move {
        /// `postgres`, `s3://BUCKET/PREFIX` or `file:///DIR`.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum VerifyCommand {
    /// A `.cast` file against its signed manifest (GET .../recording/manifest).
    Cast {
        file: PathBuf,
        #[arg(long)]
        manifest: PathBuf,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// An audit trail exported with proofs (`proofs=true`): every entry's
    /// inclusion proof into the signed tree head it carries.
    Audit {
        file: PathBuf,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Everything in an evidence bundle (GET .../sessions/{id}/evidence).
    /// Without --key, the bundle's own keys are trusted, with a warning.
    Bundle {
        file: PathBuf,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// That a newer signed tree head's log extends an older one's, with the
    /// server's consistency proof (GET .../audit-log/proof/consistency).
    Consistency {
        old_head: PathBuf,
        new_head: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        #[command(flatten)]
        keys: KeyArgs,
    },
    /// Recomputes every leaf from the audit table and every tree head from
    /// the leaves; names the first entry that differs. Needs DATABASE_URL.
    Db {
        /// Only this project's log (a slug); all projects by default.
        #[arg(long)]
        project: Option<String>,
        /// Check signatures only with these keys, not the keys the database lists.
        #[command(flatten)]
        keys: KeyArgs,
    },
}

#[derive(Args)]
struct KeyArgs {
    /// A trusted public key: a PEM (`termaudit signing-key public`) or the
    /// JSON of GET /api/v1/signing-keys. Repeatable.
    #[arg(long = "key")]
    keys: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum SigningKeyCommand {
    /// Print the configured key's public half (PEM), for auditors to pin.
    Public,
    /// Write a new Ed25519 private key (PKCS#8 PEM) for TERMAUDIT_SIGNING_KEY_FILE.
    Generate {
        /// The file to create (it must not exist).
        #[arg(long, short)]
        output: PathBuf,
    },
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["once", "dry_run"])))]
struct SweepArgs {
    /// Purge every recording whose retention has passed, now (for cron).
    #[arg(long)]
    once: bool,
    /// List what a sweep would purge and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: judge expiry as of this time (RFC 3339), e.g. to see
    /// what next month's sweeps will purge.
    #[arg(long, requires = "dry_run", value_parser = parse_time)]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|err| format!("not an RFC 3339 time (like 2026-12-01T00:00:00Z): {err}"))
}

#[derive(Args)]
struct ExportArgs {
    /// The project's slug.
    #[arg(long)]
    project: String,
    /// csv, json or ndjson.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Which records, comma-separated: sessions, terminal_events, database_events.
    #[arg(long, default_value = "sessions,terminal_events,database_events")]
    include: String,
    /// Records at or after this time (RFC 3339).
    #[arg(long)]
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// Records before this time (RFC 3339).
    #[arg(long)]
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// The session's status: active, dropped or closed.
    #[arg(long)]
    status: Option<String>,
    /// production or non_production.
    #[arg(long)]
    environment_class: Option<String>,
    /// An environment's name.
    #[arg(long)]
    environment: Option<String>,
    /// A target's id.
    #[arg(long)]
    target_id: Option<uuid::Uuid>,
    /// The session user's subject.
    #[arg(long)]
    user: Option<String>,
    /// shell, database, runbook or command.
    #[arg(long)]
    mode: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [env: TERMAUDIT_BIND] [default: 127.0.0.1:8080]
    #[arg(long)]
    bind: Option<String>,
    /// Load demo data, offer demo sign-in and, on a loopback address, demo
    /// terminals [env: TERMAUDIT_DEMO]
    #[arg(long)]
    demo: bool,
}

#[derive(Args)]
struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    bind: String,
    /// The termaudit API's base URL.
    #[arg(long, env = "TERMAUDIT_API_URL", default_value = "http://127.0.0.1:8080")]
    api_url: String,
    /// The targets file (TOML; see the termaudit-gateway crate's docs).
    #[arg(long, env = "TERMAUDIT_GATEWAY_TARGETS")]
    targets: PathBuf,
    /// The gateway's service token, with terminal.ingest in each project of
    /// its targets (`termaudit token --sub gateway --project P --permission
    /// terminal.ingest`).
    #[arg(long = "token-env", default_value = "TERMAUDIT_GATEWAY_TOKEN")]
    token_env: String,
}

#[derive(Args)]
struct TokenArgs {
    /// The subject: who the token speaks for.
    #[arg(long)]
    sub: String,
    /// A display name.
    #[arg(long)]
    name: Option<String>,
    /// The project the permissions are granted in (repeat the option and
    /// put permissions after each project to grant in several).
    #[arg(long, required = true)]
    project: Vec<String>,
    /// A permission in the preceding --project (repeatable), e.g.
    /// terminal.view_history; `all` grants every permission.
    #[arg(long = "permission", required = true)]
    permissions: Vec<String>,
    /// How long the token is valid, in hours.
    #[arg(long, default_value_t = 12)]
    hours: i64,
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Register a project.
    Create {
        /// The project's URL name: lowercase letters, digits, inner hyphens.
        slug: String,
        /// A display name.
        #[arg(long)]
        name: String,
    },
}

fn configuration_help() -> String {
    let mut help = String::from("Configuration (environment variables):\n");
    for variable in termaudit_server::variables() {
        let default = variable.default.replace('`', "");
        help.push_str(&format!("  {:<38} {default}\n", variable.name));
    }
    help
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_postgres=warn,refinery_core=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("TERMAUDIT_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// mimalloc rather than glibc's malloc: a history page allocates a few
/// hundred small strings and buffers (rows, DTOs, JSON), and `malloc`/`free`
/// were a tenth of the server's CPU under load (docs/benchmarks.md, *API
/// throughput*).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => {
            if let Some(bind) = args.bind {
                settings.bind = bind;
            }
            settings.demo |= args.demo;
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "termaudit is serving");
            app.run_until_stopped().await
        }
        Command::Gateway(args) => {
            let token =
                std::env::var(&args.token_env).ok().filter(|t| !t.is_empty()).with_context(
                    || format!("set {} to the gateway's service token", args.token_env),
                )?;
            termaudit_server::gateway::run_standalone(
                &args.bind,
                &args.api_url,
                &args.targets,
                token,
            )
            .await
        }
        Command::Recordings(RecordingsCommand::Move { to }) => {
            let moved = termaudit_server::move_recordings(&settings, &to).await?;
            println!("moved {moved} recording(s) to {to}");
            Ok(())
        }
        Command::Migrate => {
            termaudit_server::prepare_database(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token(args) => {
            let grants = parse_grants(&args)?;
            anyhow::ensure!(args.hours > 0 && args.hours <= 24 * 366, "--hours must be 1 to 8784");
            let token = termaudit_server::token_issuer(&settings)?.issue(
                &args.sub,
                args.name.as_deref(),
                grants,
                chrono::Utc::now(),
                chrono::Duration::hours(args.hours),
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Project(ProjectCommand::Create { slug, name }) => {
            let slug = ProjectSlug::parse(&slug)?;
            let name = ProjectName::parse(&name)?;
            let store = termaudit_server::prepare_database(&settings).await?;
            let project = store.create_project(&slug, &name).await.map_err(|err| match err {
                termaudit_storage::StorageError::AlreadyExists { .. } => {
                    anyhow::anyhow!("a project {slug} exists already")
                }
                other => other.into(),
            })?;
            println!("created project {} ({})", project.slug, project.name);
            Ok(())
        }
        Command::Sweep(args) => {
            let store = termaudit_server::prepare_database(&settings).await?;
            if args.dry_run {
                let as_of = args.as_of.unwrap_or_else(chrono::Utc::now);
                let expired = store.expired_recordings(as_of, None, i64::MAX).await?;
                println!(
                    "{} recording(s) would be purged as of {}",
                    expired.len(),
                    as_of.to_rfc3339()
                );
                for r in expired {
                    println!(
                        "{}\t{}\t{}\tended {}\t{} days\t{} bytes",
                        r.session_id,
                        r.target_name,
                        r.environment_class,
                        r.ended_at.to_rfc3339(),
                        r.retention_days,
                        r.size_bytes
                    );
                }
                return Ok(());
            }
            let store = store.with_objects(termaudit_server::recordings_objects(&settings).await?);
            let url = termaudit_server::database_url(&settings)?;
            let report = termaudit_retention::sweep_once(
                &store,
                &url,
                chrono::Utc::now(),
                termaudit_retention::SweepOptions::default(),
            )
            .await
            .context(
                "the sweep stopped; what it purged stays purged, the next sweep does the rest",
            )?;
            match report {
                termaudit_retention::SweepReport::Skipped => {
                    println!("another sweep is running; nothing done")
                }
                termaudit_retention::SweepReport::Completed { purged, bytes_freed, .. }
                | termaudit_retention::SweepReport::Partial { purged, bytes_freed, .. } => {
                    println!("purged {purged} recording(s), freed {bytes_freed} bytes")
                }
            }
            Ok(())
        }
        Command::Export(args) => {
            let job = termaudit_server::ExportJob {
                project: args.project,
                format: args.format.parse()?,
                filter: ExportFilter {
                    include: args.include.parse()?,
                    from: args.from,
                    to: args.to,
                    sessions: HistoryFilter::parse(HistoryParams {
                        status: args.status.as_deref(),
                        environment_class: args.environment_class.as_deref(),
                        environment: args.environment.as_deref(),
                        target_id: args.target_id,
                        user: args.user.as_deref(),
                        mode: args.mode.as_deref(),
                    })?,
                }
                .validate()?,
                output: args.output,
            };
            let rows = termaudit_server::export_history(&settings, &job).await?;
            let to = job.output.map(|p| p.display().to_string()).unwrap_or("stdout".into());
            eprintln!("exported {rows} records to {to}");
            Ok(())
        }
        Command::Verify(command) => {
            let report = match command {
                VerifyCommand::Cast { file, manifest, keys } => {
                    verify::verify_cast(&file, &manifest, &verify::load_keys(&keys.keys)?)?
                }
                VerifyCommand::Audit { file, keys } => {
                    verify::verify_export(&file, &verify::load_keys(&keys.keys)?)?
                }
                VerifyCommand::Bundle { file, keys } => {
                    verify::verify_bundle(&file, &verify::load_keys(&keys.keys)?)?
                }
                VerifyCommand::Consistency { old_head, new_head, proof, keys } => {
                    verify::verify_consistency(
                        &old_head,
                        &new_head,
                        &proof,
                        &verify::load_keys(&keys.keys)?,
                    )?
                }
                VerifyCommand::Db { project, keys } => {
                    verify::verify_db(
                        &settings,
                        project.as_deref(),
                        &verify::load_keys(&keys.keys)?,
                    )
                    .await?
                }
            };
            print!("{}", report.render());
            anyhow::ensure!(report.ok(), "verification failed");
            Ok(())
        }
        Command::SigningKey(SigningKeyCommand::Public) => {
            let signer = termaudit_server::signing_key(&settings)?;
            eprintln!("key id {}", signer.public().id());
            print!("{}", signer.public().to_pem());
            Ok(())
        }
        Command::SigningKey(SigningKeyCommand::Generate { output }) => {
            use rand::RngCore;
            let mut secret = [0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            let signer = termaudit_domain::transparency::LogSigner::from_secret(secret);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&output)
                .with_context(|| format!("cannot create {}", output.display()))?;
            std::io::Write::write_all(&mut file, signer.to_pem().as_bytes())?;
            println!("wrote {} (key id {})", output.display(), signer.public().id());
            Ok(())
        }
        Command::Openapi => {
            let spec =
                termaudit_api::openapi().to_pretty_json().context("cannot render the spec")?;
            println!("{spec}");
            Ok(())
        }
    }
}

/// Pairs each `--permission` with the `--project` before it on the command line.
fn parse_grants(args: &TokenArgs) -> anyhow::Result<BTreeMap<String, Vec<Permission>>> {
    let raw: Vec<String> = std::env::args().collect();
    let mut grants: BTreeMap<String, Vec<Permission>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut iter = raw.iter().peekable();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| iter.peek().map(|v| (*v).clone()));
        match flag {
            "--project" => {
                let slug = value().context("--project needs a value")?;
                ProjectSlug::parse(&slug)?;
                grants.entry(slug.clone()).or_default();
                current = Some(slug);
            }
            "--permission" => {
                let name = value().context("--permission needs a value")?;
                let project = current.clone().context("put --project before --permission")?;
                let entry = grants.entry(project).or_default();
                if name == "all" {
                    entry.extend(Permission::ALL);
                } else {
                    entry.push(name.parse()?);
                }
            }
            _ => {}
        }
    }
    anyhow::ensure!(
        grants.values().all(|p| !p.is_empty()),
        "every --project needs at least one --permission after it"
    );
    anyhow::ensure!(!args.project.is_empty(), "--project is required");
    Ok(grants)
}
