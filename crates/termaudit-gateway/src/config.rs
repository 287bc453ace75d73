//! The gateway's targets: which command runs, where, for each target a user
//! can open a shell on.
//!
//! A TOML file with one `[[target]]` table per target:
//!
//! ```toml
//! [[target]]
//! project = "demo"
//! name = "billing-api"
//! kind = "application"            # or "database"
//! environment = "staging"
//! environment_class = "non_production"  # or "production"
//! command = ["/bin/bash", "-l"]
//! cwd = "/srv/billing"            # optional
//! env = { PAGER = "cat" }         # optional, added to the gateway's environment
//!
//! [[target]]
//! project = "demo"
//! name = "billing-db"
//! kind = "database"
//! environment = "staging"
//! environment_class = "non_production"
//! command = ["psql", "postgres://billing@127.0.0.1/billing"]
//! database = "billing"            # reported with each statement
//! ```
//!
//! The gateway registers a target with the API the first time a shell opens
//! on it, unless the project has one by that name already.
//!
//! A file can only name commands. `termaudit serve --demo` builds its
//! targets in code ([`Targets::new`]) with [`Program::Demo`], the built-in
//! demo program ([`crate::demo`]), which is not a shell.

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;
use termaudit_domain::{EnvironmentClass, EnvironmentName, ProjectSlug, TargetKind, TargetName};

/// What a target's configuration is refused for.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the targets file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the targets file is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("target {index} ({name}): {why}")]
    Invalid { index: usize, name: String, why: String },
    #[error("the targets file names no target")]
    Empty,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    target: Vec<RawTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    project: String,
    name: String,
    kind: String,
    environment: String,
    environment_class: String,
    command: Vec<String>,
    cwd: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    database: Option<String>,
}

/// What a target's shells run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A program and its arguments, in a pseudo-terminal of its own.
    Command(Vec<String>),
    /// termaudit's demo program, inside the gateway: it answers a handful
    /// of commands (a database target's, a few statements) and runs nothing.
    Demo,
}

/// One target: where it is registered and what runs for its shells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    pub project: String,
    pub name: String,
    pub kind: TargetKind,
    pub environment: String,
    pub environment_class: EnvironmentClass,
    pub program: Program,
    pub cwd: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    /// A database target's database, reported with its statements.
    pub database: Option<String>,
}

/// Every target of a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    targets: Vec<TargetConfig>,
}

impl Targets {
    /// Targets built in code; an empty list is refused as a file naming none is.
    pub fn new(targets: Vec<TargetConfig>) -> Result<Self, ConfigError> {
        if targets.is_empty() {
            return Err(ConfigError::Empty);
        }
        Ok(Self { targets })
    }

    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text)?;
        if file.target.is_empty() {
            return Err(ConfigError::Empty);
        }
        let mut targets: Vec<TargetConfig> = Vec::with_capacity(file.target.len());
        for (index, raw) in file.target.into_iter().enumerate() {
            let invalid = |why: String| ConfigError::Invalid { index, name: raw.name.clone(), why };
            ProjectSlug::parse(&raw.project).map_err(|e| invalid(e.to_string()))?;
            TargetName::parse(&raw.name).map_err(|e| invalid(e.to_string()))?;
            EnvironmentName::parse(&raw.environment).map_err(|e| invalid(e.to_string()))?;
            let kind: TargetKind = raw
                .kind
                .parse()
                .map_err(|e: termaudit_domain::DomainError| invalid(e.to_string()))?;
            let environment_class: EnvironmentClass = raw
                .environment_class
                .parse()
                .map_err(|e: termaudit_domain::DomainError| invalid(e.to_string()))?;
            if raw.command.first().is_none_or(|program| program.is_empty()) {
                return Err(invalid("command: name a program to run".into()));
            }
            if targets.iter().any(|t| t.project == raw.project && t.name == raw.name) {
                return Err(invalid("another target of the project has this name".into()));
            }
            targets.push(TargetConfig {
                project: raw.project,
                name: raw.name,
                kind,
                environment: raw.environment,
                environment_class,
                program: Program::Command(raw.command),
                cwd: raw.cwd,
                env: raw.env,
                database: raw.database,
            });
        }
        Ok(Self { targets })
    }

    pub fn get(&self, project: &str, name: &str) -> Option<&TargetConfig> {
        self.targets.iter().find(|t| t.project == project && t.name == name)
    }

    /// The projects the targets belong to, each once.
    pub fn projects(&self) -> Vec<String> {
        let mut projects: Vec<String> = self.targets.iter().map(|t| t.project.clone()).collect();
        projects.sort();
        projects.dedup();
        projects
    }

    pub fn iter(&self) -> impl Iterator<Item = &TargetConfig> {
        self.targets.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
        [[target]]
        project = "demo"
        name = "billing-api"
        kind = "application"
        environment = "staging"
        environment_class = "non_production"
        command = ["/bin/sh"]
        cwd = "/tmp"
        env = { PAGER = "cat" }

        [[target]]
        project = "demo"
        name = "billing-db"
        kind = "database"
        environment = "prod-eu"
        environment_class = "production"
        command = ["psql", "postgres://127.0.0.1/billing"]
        database = "billing"
    "#;

    #[test]
    fn a_file_of_targets_is_read() {
        let targets = Targets::parse(EXAMPLE).expect("valid");
        let api = targets.get("demo", "billing-api").expect("listed");
        assert_eq!(api.kind, TargetKind::Application);
        assert_eq!(api.program, Program::Command(vec!["/bin/sh".into()]));
        assert_eq!(api.env.get("PAGER").map(String::as_str), Some("cat"));
        let db = targets.get("demo", "billing-db").expect("listed");
        assert_eq!(db.environment_class, EnvironmentClass::Production);
        assert_eq!(db.database.as_deref(), Some("billing"));
        assert_eq!(targets.projects(), ["demo"]);
        assert!(targets.get("other", "billing-api").is_none());
    }

    #[test]
    fn bad_targets_are_refused_by_name() {
        let cases = [
            (EXAMPLE.replace("\"application\"", "\"mainframe\""), "billing-api"),
            (EXAMPLE.replace("[\"/bin/sh\"]", "[]"), "command"),
            (EXAMPLE.replace("\"billing-db\"", "\"billing-api\""), "has this name"),
            (EXAMPLE.replace("cwd =", "workdir ="), "unknown field"),
            (String::new(), "no target"),
        ];
        for (text, expected) in cases {
            let err = Targets::parse(&text).expect_err("refused").to_string();
            assert!(err.contains(expected), "{err:?} should mention {expected:?}");
        }
    }
}
