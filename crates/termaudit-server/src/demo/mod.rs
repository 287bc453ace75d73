//! Demo data, so the first page a newcomer opens has something in it: a
//! project with production and non-production targets and sessions in every
//! state, with activity, database statements and a revoke, and (on a
//! loopback address) demo terminals on its targets ([`terminals`]).
//!
//! The closed history is loaded once. The live sessions and Alice's dropped
//! one are laid out again at each start, relative to now: the previous
//! run's are closed `gateway_lost` (their gateway, this server, went away).

mod cast;
pub mod terminals;

use chrono::{DateTime, Duration, Utc};
use termaudit_domain::{
    CloseReason, DropCause, EnvironmentClass, EnvironmentName, HistoryFilter, ProjectName,
    ProjectSlug, Reason, SessionListFilter, SessionMode, SessionStatus, TargetKind, TargetName,
    TerminalPolicy,
};
use termaudit_storage::{
    Activity, Actor, DatabaseEvent, NewSession, NewTarget, ProjectRow, SessionChange, StorageError,
    Store, TargetRow,
};

pub const DEMO_PROJECT: &str = "demo";

/// The demo's targets: name, kind, environment and its class.
const TARGETS: [(&str, TargetKind, &str, EnvironmentClass); 3] = [
    ("billing-api", TargetKind::Application, "prod-eu", EnvironmentClass::Production),
    ("orders-db", TargetKind::Database, "prod-eu", EnvironmentClass::Production),
    ("billing-api-staging", TargetKind::Application, "staging", EnvironmentClass::NonProduction),
];

/// Alice, the demo operator (a demo user of the sign-in page).
const ALICE: (&str, &str) = ("alice", "Alice Martin");

/// How long a dropped demo session may be reconnected to: the demo's
/// policy keeps the window open for the whole day of a demo.
const DEMO_GRACE_SECONDS: u32 = 8 * 3600;

/// One demo session: its target (an index into [`TARGETS`]), mode, reason,
/// user, and how long before now it opened.
struct Planned {
    target: usize,
    mode: SessionMode,
    reason: Option<&'static str>,
    user: (&'static str, &'static str),
    minutes_ago: i64,
}

const BOB: (&str, &str) = ("bob", "Bob Chen");
const DANA: (&str, &str) = ("dana", "Dana Okafor");

/// Loads the demo data: the project, its targets and closed history once,
/// then the live sessions (and, when `dropped_without_a_shell`, Alice's
/// dropped session as data only: no demo terminal holds it).
pub async fn load(store: &Store, dropped_without_a_shell: bool) -> anyhow::Result<()> {
    let Some((project, targets, created)) = project_and_targets(store).await? else {
        // Another replica is loading it.
        return Ok(());
    };
    let now = Utc::now();
    if created {
        let demo = Actor { subject: "demo".into(), name: "termaudit demo".into() };
        let policy = TerminalPolicy {
            reconnect_grace_seconds: DEMO_GRACE_SECONDS,
            ..store.policy(project.id).await?.policy
        };
        store.update_policy(project.id, &policy, &demo, now).await?;
        for (i, planned) in history().iter().enumerate() {
            let session = lay_out(store, &project, &targets, planned, i, now).await?;
            let ended_at = session.opened_at + Duration::minutes(4);
            let ending = match planned.mode {
                SessionMode::Database => SessionChange::Revoke {
                    by: Actor { subject: "carol".into(), name: "Carol Reyes".into() },
                    reason: Reason::parse("Statement outside the approved change")?,
                },
                _ => SessionChange::Close(CloseReason::UserExit),
            };
            change(store, &project, session.id, ending, ended_at).await?;
        }
    }
    end_previous_live_sessions(store, &project, now).await?;
    for (i, planned) in live().iter().enumerate() {
        let session = lay_out(store, &project, &targets, planned, 10 + i, now).await?;
        change(store, &project, session.id, SessionChange::Heartbeat, now).await?;
    }
    if dropped_without_a_shell {
        let planned = Planned {
            target: 2,
            mode: SessionMode::Shell,
            reason: None,
            user: ALICE,
            minutes_ago: 3,
        };
        let session = lay_out(store, &project, &targets, &planned, 20, now).await?;
        let drop = SessionChange::Drop(DropCause::ConnectionLost);
        change(store, &project, session.id, drop, now - Duration::seconds(30)).await?;
    }
    tracing::info!(project = DEMO_PROJECT, "laid out the demo data");
    Ok(())
}

/// The closed sessions, loaded once.
fn history() -> [Planned; 4] {
    [
        Planned {
            target: 0,
            mode: SessionMode::Shell,
            reason: Some("INC-4211: restart stuck invoice workers"),
            user: ALICE,
            minutes_ago: 26 * 60,
        },
        Planned {
            target: 1,
            mode: SessionMode::Database,
            reason: Some("CHG-981: backfill order totals"),
            user: BOB,
            minutes_ago: 20 * 60,
        },
        Planned {
            target: 2,
            mode: SessionMode::Shell,
            reason: None,
            user: DANA,
            minutes_ago: 14 * 60,
        },
        Planned {
            target: 0,
            mode: SessionMode::Runbook,
            reason: Some("Runbook: rotate TLS certificates"),
            user: BOB,
            minutes_ago: 8 * 60,
        },
    ]
}

/// The sessions live at each start (the demo's heartbeats keep them so).
fn live() -> [Planned; 2] {
    [
        Planned {
            target: 1,
            mode: SessionMode::Database,
            reason: Some("INC-4230: inspect slow queries"),
            user: ALICE,
            minutes_ago: 90,
        },
        Planned {
            target: 2,
            mode: SessionMode::Command,
            reason: None,
            user: DANA,
            minutes_ago: 20,
        },
    ]
}

/// The demo project and its targets by [`TARGETS`]' order, and whether the
/// project was created now; `None` when another replica is creating it.
async fn project_and_targets(
    store: &Store,
) -> anyhow::Result<Option<(ProjectRow, Vec<TargetRow>, bool)>> {
    let (project, created) = match store.project_by_slug(DEMO_PROJECT).await? {
        Some(project) => (project, false),
        None => {
            let slug = ProjectSlug::parse(DEMO_PROJECT)?;
            match store.create_project(&slug, &ProjectName::parse("Demo project")?).await {
                Ok(project) => (project, true),
                Err(StorageError::AlreadyExists { .. }) => return Ok(None),
                Err(err) => return Err(err.into()),
            }
        }
    };
    let existing = store.targets(project.id).await?;
    let mut targets = Vec::with_capacity(TARGETS.len());
    for (name, kind, environment, environment_class) in TARGETS {
        let target = match existing.iter().find(|t| t.name.as_str() == name) {
            Some(target) => target.clone(),
            None => {
                let new = NewTarget {
                    name: TargetName::parse(name)?,
                    kind,
                    environment: EnvironmentName::parse(environment)?,
                    environment_class,
                };
                store.create_target(project.id, &new).await?
            }
        };
        targets.push(target);
    }
    Ok(Some((project, targets, created)))
}

/// Opens `planned` with its activity, statements and recording; `i` keeps
/// its events' ids apart from other sessions'.
async fn lay_out(
    store: &Store,
    project: &ProjectRow,
    targets: &[TargetRow],
    planned: &Planned,
    i: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<termaudit_storage::SessionRow> {
    let target = &targets[planned.target];
    let (subject, name) = planned.user;
    let opened_at = now - Duration::minutes(planned.minutes_ago);
    let new = NewSession {
        target,
        mode: planned.mode,
        reason: planned.reason.map(Reason::parse).transpose()?,
        user_subject: subject.into(),
        user_name: name.into(),
        opened_at,
    };
    let recorded = target.environment_class == EnvironmentClass::Production;
    let session = store.open_session(project.id, &new, recorded).await?;
    // Event ids are unique per session; the start's time keeps a later
    // start's apart in exports too.
    let id = |n: usize| format!("demo-{}-{i}-{n}", now.timestamp());
    let commands: &[&str] = match planned.mode {
        SessionMode::Shell => &[
            "systemctl status invoice-worker",
            "journalctl -u invoice-worker --since -1h",
            "systemctl restart invoice-worker",
        ],
        SessionMode::Runbook => {
            &["Check certificate expiry", "Issue new certificate", "Reload nginx"]
        }
        SessionMode::Command => &["./bin/cache-warm --all"],
        SessionMode::Database => &[],
    };
    if !commands.is_empty() {
        let cast = cast::demo_cast(subject, target.name.as_str(), commands, opened_at);
        let kind = if planned.mode == SessionMode::Runbook { "runbook_step" } else { "command" };
        let activity: Vec<Activity> = commands
            .iter()
            .zip(&cast.typed_at)
            .enumerate()
            .map(|(n, (text, at))| Activity {
                event_id: id(n),
                kind: kind.into(),
                text: (*text).into(),
                occurred_at: *at,
                exit_code: Some(0),
                duration_ms: Some(250 + 100 * n as i64),
            })
            .collect();
        store.append_activity(session.id, &activity).await?;
        if recorded {
            for (seq, body) in cast.chunks.into_iter().enumerate() {
                store
                    .append_chunk(project.id, session.id, seq as u32, body.into())
                    .await
                    .map_err(|err| anyhow::anyhow!("cannot store a demo recording: {err}"))?;
            }
        }
    }
    if planned.mode == SessionMode::Database {
        let statements = [
            ("SELECT count(*) FROM orders WHERE total IS NULL", Some(1), None),
            ("UPDATE orders SET total = subtotal + tax WHERE total IS NULL", Some(1842), None),
            ("DROP TABLE orders_backup", None, Some("permission denied for table orders_backup")),
        ];
        let events: Vec<DatabaseEvent> = statements
            .iter()
            .enumerate()
            .map(|(n, (statement, rows, error))| DatabaseEvent {
                event_id: id(n),
                statement: (*statement).into(),
                database: Some("orders".into()),
                occurred_at: opened_at + Duration::seconds(45 * (n as i64 + 1)),
                rows_affected: *rows,
                duration_ms: Some(12 + 40 * n as i64),
                error: error.map(Into::into),
            })
            .collect();
        store.append_database_events(project.id, &session, &events).await?;
    }
    Ok(session)
}

async fn change(
    store: &Store,
    project: &ProjectRow,
    session: uuid::Uuid,
    change: SessionChange,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    match store.change_session(project.id, session, change, at).await {
        Ok(_) => Ok(()),
        Err(err) => anyhow::bail!("cannot change a demo session: {err}"),
    }
}

/// Closes the sessions a previous run left live or dropped: the demo data's
/// and its terminals' (whose shells ended with that run).
async fn end_previous_live_sessions(
    store: &Store,
    project: &ProjectRow,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for status in [SessionStatus::Active, SessionStatus::Dropped] {
        let filter = SessionListFilter {
            sessions: HistoryFilter { status: Some(status), ..Default::default() },
            ..Default::default()
        };
        // A demo run leaves a handful; a page holds them all.
        let page = store.sessions(project.id, &filter, None, 500).await?;
        for session in page.items {
            let lost = SessionChange::Close(CloseReason::GatewayLost);
            if let Err(err) = store.change_session(project.id, session.id, lost, now).await {
                // Changed meanwhile: closed already, which is the point.
                tracing::debug!(error = %err, session = %session.id, "a demo session closed");
            }
        }
    }
    Ok(())
}

/// Plays the part of a gateway for the demo's live sessions: without
/// heartbeats they would be marked `gateway_lost` a minute after start-up.
pub async fn keep_alive(store: Store) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(20));
    loop {
        interval.tick().await;
        if let Err(err) = heartbeat_live_sessions(&store).await {
            tracing::warn!(error = %err, "demo heartbeat failed");
        }
    }
}

async fn heartbeat_live_sessions(store: &Store) -> anyhow::Result<()> {
    let Some(project) = store.project_by_slug(DEMO_PROJECT).await? else { return Ok(()) };
    let filter = SessionListFilter {
        sessions: HistoryFilter { status: Some(SessionStatus::Active), ..Default::default() },
        ..Default::default()
    };
    let page = store.sessions(project.id, &filter, None, 200).await?;
    for session in page.items {
        // A session that changed meanwhile is simply skipped.
        let _ = store
            .change_session(project.id, session.id, SessionChange::Heartbeat, Utc::now())
            .await;
    }
    Ok(())
}
