use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use termaudit_domain::{Permission, ProjectName, ProjectSlug};
use termaudit_server::{Application, Settings};
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
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [env: TERMAUDIT_BIND] [default: 127.0.0.1:8080]
    #[arg(long)]
    bind: Option<String>,
    /// Load demo data and offer demo sign-in [env: TERMAUDIT_DEMO]
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
    for (name, default) in termaudit_server::VARIABLES {
        help.push_str(&format!("  {name:<32} {default}\n"));
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
