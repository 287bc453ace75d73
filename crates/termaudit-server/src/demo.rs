//! Demo data, so the first page a newcomer opens has something in it: a
//! project with production and non-production targets and sessions in every
//! state, with activity, database statements and a revoke.

use chrono::{Duration, Utc};
use termaudit_domain::{
    CloseReason, DropCause, EnvironmentClass, EnvironmentName, ProjectName, ProjectSlug, Reason,
    SessionMode, TargetKind, TargetName,
};
use termaudit_storage::{
    Activity, Actor, DatabaseEvent, NewSession, NewTarget, SessionChange, StorageError, Store,
    TargetRow,
};

pub const DEMO_PROJECT: &str = "demo";

/// Loads the demo data once; later runs change nothing.
pub async fn load(store: &Store) -> anyhow::Result<()> {
    if store.project_by_slug(DEMO_PROJECT).await?.is_some() {
        return Ok(());
    }
    let slug = ProjectSlug::parse(DEMO_PROJECT)?;
    let project = match store.create_project(&slug, &ProjectName::parse("Demo project")?).await {
        Ok(project) => project,
        // Another replica is loading it.
        Err(StorageError::AlreadyExists { .. }) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let target = |name: &str, kind, env: &str, class| -> anyhow::Result<NewTarget> {
        Ok(NewTarget {
            name: TargetName::parse(name)?,
            kind,
            environment: EnvironmentName::parse(env)?,
            environment_class: class,
        })
    };
    use EnvironmentClass::{NonProduction, Production};
    let billing = store
        .create_target(
            project.id,
            &target("billing-api", TargetKind::Application, "prod-eu", Production)?,
        )
        .await?;
    let orders_db = store
        .create_target(
            project.id,
            &target("orders-db", TargetKind::Database, "prod-eu", Production)?,
        )
        .await?;
    let staging = store
        .create_target(
            project.id,
            &target("billing-api-staging", TargetKind::Application, "staging", NonProduction)?,
        )
        .await?;

    let now = Utc::now();
    let people = [("alice", "Alice Martin"), ("bob", "Bob Chen"), ("dana", "Dana Okafor")];
    let plan: [(&TargetRow, SessionMode, Option<&str>, usize, i64); 6] = [
        (&billing, SessionMode::Shell, Some("INC-4211: restart stuck invoice workers"), 0, 26 * 60),
        (&orders_db, SessionMode::Database, Some("CHG-981: backfill order totals"), 1, 20 * 60),
        (&staging, SessionMode::Shell, None, 2, 14 * 60),
        (&billing, SessionMode::Runbook, Some("Runbook: rotate TLS certificates"), 1, 8 * 60),
        (&orders_db, SessionMode::Database, Some("INC-4230: inspect slow queries"), 0, 90),
        (&staging, SessionMode::Command, None, 2, 20),
    ];
    for (i, (target, mode, reason, person, minutes_ago)) in plan.into_iter().enumerate() {
        let (subject, name) = people[person];
        let opened_at = now - Duration::minutes(minutes_ago);
        let new = NewSession {
            target,
            mode,
            reason: reason.map(Reason::parse).transpose()?,
            user_subject: subject.into(),
            user_name: name.into(),
            opened_at,
        };
        let recorded = target.environment_class == Production;
        let session = store.open_session(project.id, &new, recorded).await?;
        let commands: &[&str] = match mode {
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
        let kind = if mode == SessionMode::Runbook { "runbook_step" } else { "command" };
        let activity: Vec<Activity> = commands
            .iter()
            .enumerate()
            .map(|(n, text)| Activity {
                event_id: format!("demo-{i}-{n}"),
                kind: kind.into(),
                text: (*text).into(),
                occurred_at: opened_at + Duration::seconds(30 * (n as i64 + 1)),
                exit_code: Some(0),
                duration_ms: Some(250 + 100 * n as i64),
            })
            .collect();
        if !activity.is_empty() {
            store.append_activity(session.id, &activity).await?;
        }
        if recorded && !commands.is_empty() {
            let host = target.name.as_str();
            for (seq, body) in demo_cast(subject, host, commands, Some(opened_at.timestamp()))
                .into_iter()
                .enumerate()
            {
                store
                    .append_chunk(project.id, session.id, seq as u32, body.into())
                    .await
                    .map_err(|err| anyhow::anyhow!("cannot store a demo recording: {err}"))?;
            }
        }
        if mode == SessionMode::Database {
            let statements = [
                ("SELECT count(*) FROM orders WHERE total IS NULL", Some(1), None),
                ("UPDATE orders SET total = subtotal + tax WHERE total IS NULL", Some(1842), None),
                (
                    "DROP TABLE orders_backup",
                    None,
                    Some("permission denied for table orders_backup"),
                ),
            ];
            let events: Vec<DatabaseEvent> = statements
                .iter()
                .enumerate()
                .map(|(n, (statement, rows, error))| DatabaseEvent {
                    event_id: format!("demo-db-{i}-{n}"),
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
        // Older sessions have ended in the ways sessions end; the newest stay live.
        let ended_at = opened_at + Duration::minutes(4);
        let change = match i {
            0 | 3 => Some(SessionChange::Close(CloseReason::UserExit)),
            1 => Some(SessionChange::Revoke {
                by: Actor { subject: "carol".into(), name: "Carol Reyes".into() },
                reason: Reason::parse("Statement outside the approved change")?,
            }),
            2 => Some(SessionChange::Drop(DropCause::ConnectionLost)),
            // Live: their (pretend) gateway has just been heard from.
            _ => Some(SessionChange::Heartbeat),
        };
        if let Some(change) = change {
            let at = match i {
                2 => now - Duration::seconds(30),
                4 | 5 => now,
                _ => ended_at,
            };
            match store.change_session(project.id, session.id, change, at).await {
                Ok(_) => {}
                Err(err) => anyhow::bail!("cannot end a demo session: {err}"),
            }
        }
    }
    tracing::info!(project = DEMO_PROJECT, "loaded the demo data");
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
    let filter = termaudit_domain::SessionListFilter {
        sessions: termaudit_domain::HistoryFilter {
            status: Some(termaudit_domain::SessionStatus::Active),
            ..Default::default()
        },
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

/// A plausible terminal recording of `commands` being typed and answered, so
/// the demo's player has something to play: a coloured prompt, typing, and
/// output with colours, in asciicast v2 split into two chunks.
fn demo_cast(user: &str, host: &str, commands: &[&str], started: Option<i64>) -> [String; 2] {
    use termaudit_domain::asciicast::{Event, Header, Micros};
    let mut header = Header::new(100, 28);
    header.timestamp = started;
    header.title = Some(format!("{user}@{host}"));
    let mut lines = Vec::new();
    let mut t: u64 = 400_000;
    let emit = |lines: &mut Vec<String>, t: u64, data: String| {
        lines.push(Event::output(Micros(t), data).to_line());
    };
    let prompt = format!("\u{1b}[1;32m{user}@{host}\u{1b}[0m:\u{1b}[1;34m~\u{1b}[0m$ ");
    for command in commands {
        emit(&mut lines, t, prompt.clone());
        t += 900_000;
        for ch in command.chars() {
            emit(&mut lines, t, ch.to_string());
            t += 70_000 + (u64::from(ch) % 5) * 20_000;
        }
        emit(&mut lines, t, "\r\n".into());
        t += 300_000;
        for line in demo_output(command) {
            emit(&mut lines, t, format!("{line}\r\n"));
            t += 45_000;
        }
        t += 1_500_000;
    }
    emit(&mut lines, t, prompt);
    t += 2_000_000;
    emit(&mut lines, t, "logout\r\n".into());
    let half = lines.len() / 2;
    let second = lines.split_off(half);
    [format!("{}\n{}\n", header.to_line(), lines.join("\n")), format!("{}\n", second.join("\n"))]
}

fn demo_output(command: &str) -> Vec<String> {
    let green = |s: &str| format!("\u{1b}[32m{s}\u{1b}[0m");
    let red = |s: &str| format!("\u{1b}[1;31m{s}\u{1b}[0m");
    if command.starts_with("systemctl status") {
        vec![
            format!("{} invoice-worker.service - Invoice worker", red("●")),
            "     Loaded: loaded (/etc/systemd/system/invoice-worker.service; enabled)".into(),
            format!(
                "     Active: {} since Tue 09:12:01 UTC; 3h ago",
                red("failed (Result: exit-code)")
            ),
            "    Process: 48121 ExecStart=/opt/billing/bin/invoice-worker (code=exited, status=75)"
                .into(),
        ]
    } else if command.starts_with("journalctl") {
        vec![
            "09:11:58 invoice-worker[48121]: connecting to queue amqp://billing-mq:5672".into(),
            format!(
                "09:12:01 invoice-worker[48121]: {} queue connection refused; giving up",
                red("ERROR")
            ),
        ]
    } else if command.starts_with("systemctl restart") {
        vec![]
    } else if command.starts_with("Check")
        || command.starts_with("Issue")
        || command.starts_with("Reload")
    {
        vec![format!("[{}] {command}", green("ok"))]
    } else {
        vec![format!("{} warmed 12,480 keys in 3.2 s", green("✔"))]
    }
}
