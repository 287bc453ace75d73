//! The retention sweep's status for a project, and the metrics endpoint.

use actix_web::{HttpResponse, get, web};
use chrono::{Duration, Utc};
use termaudit_api_types as dto;
use termaudit_domain::{EnvironmentClass, Permission, TerminalPolicy, recording_expires_at};
use termaudit_storage::RetentionRunRow;

use crate::{AppState, Caller, error::ApiError, extract::ProjectPath};

/// The window `expiring` looks ahead.
const LOOKAHEAD_DAYS: i64 = 7;
const LISTED: i64 = 100;

fn next_run(state: &AppState, last: Option<&RetentionRunRow>) -> chrono::DateTime<Utc> {
    let interval = Duration::from_std(state.retention_interval).unwrap_or(Duration::hours(1));
    match last {
        Some(run) => (run.started_at + interval).max(Utc::now()),
        None => Utc::now(),
    }
}

/// When the retention sweep last ran (with what it purged in this project),
/// when it runs next, and which of the project's recordings expire within
/// 7 days. Needs `terminal.view_history` or `terminal.manage_policy`: the
/// list names sessions and targets.
#[utoipa::path(
    tag = "policy",
    params(ProjectPath),
    responses((status = 200, description = "The last and next sweep, and what expires soon", body = dto::RetentionStatus))
)]
#[get("/projects/{project}/retention")]
pub async fn retention_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<web::Json<dto::RetentionStatus>, ApiError> {
    caller.require_any(&path.project, &[Permission::ViewHistory, Permission::ManagePolicy])?;
    let project = state.project(&path.project).await?;
    let last = state.store.last_retention_run(project.id).await?;
    let horizon = Utc::now() + Duration::days(LOOKAHEAD_DAYS);
    // One more than listed tells whether the list is cut.
    let expiring = state.store.expired_recordings(horizon, Some(project.id), 10_000).await?;
    let policy = state.store.policy(project.id).await?.policy;
    Ok(web::Json(dto::RetentionStatus {
        next_run_at: next_run(&state, last.as_ref()),
        interval_seconds: state.retention_interval.as_secs(),
        last_run: last.map(|run| dto::RetentionRun {
            started_at: run.started_at,
            finished_at: run.finished_at,
            as_of: run.as_of,
            status: run.status,
            purged: run.project_purged,
            bytes_freed: run.project_bytes_freed,
            errors: run.errors,
        }),
        expiring_count: expiring.len(),
        expiring: expiring
            .into_iter()
            .take(LISTED as usize)
            .map(|r| dto::ExpiringRecording {
                expires_at: recording_expires_at(r.ended_at, r.environment_class, &policy),
                session_id: r.session_id,
                target_name: r.target_name,
                environment_class: r.environment_class.to_string(),
                ended_at: r.ended_at,
                size_bytes: r.size_bytes,
            })
            .collect(),
    }))
}

/// The retention sweep's dry run for proposed retention values, before they
/// are saved: per environment class, how many recordings (and bytes) the
/// next sweep would purge with them, and how many with the policy as it
/// is. Expiry is judged at the next sweep's start, or at `as_of`. Nothing
/// changes. Needs `terminal.manage_policy`, as saving the policy does.
#[utoipa::path(
    tag = "policy",
    params(ProjectPath, dto::RetentionPreviewQuery),
    responses(
        (status = 200, description = "What the sweep would purge, per environment class (production first)", body = dto::RetentionPreview),
        (status = 400, description = "A retention out of bounds (1 to 3650 days; `errors` names the field), or a time that is not RFC 3339", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/retention/preview")]
pub async fn retention_preview(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::RetentionPreviewQuery>,
) -> Result<web::Json<dto::RetentionPreview>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ManagePolicy).await?;
    let current = state.store.policy(project.id).await?.policy;
    // The values tried, checked as a saved policy would be.
    let tried = TerminalPolicy {
        retention_days_production: query
            .retention_days_production
            .unwrap_or(current.retention_days_production),
        retention_days_non_production: query
            .retention_days_non_production
            .unwrap_or(current.retention_days_non_production),
        ..current
    }
    .validate()?;
    let as_of = match query.as_of {
        Some(at) => at,
        None => next_run(&state, state.store.last_retention_run(project.id).await?.as_ref()),
    };
    let rows = state
        .store
        .retention_preview(
            project.id,
            as_of,
            (tried.retention_days_production, tried.retention_days_non_production),
            (current.retention_days_production, current.retention_days_non_production),
        )
        .await?;
    let classes = [EnvironmentClass::Production, EnvironmentClass::NonProduction]
        .into_iter()
        .map(|class| {
            let row = rows.iter().find(|row| row.environment_class == class);
            let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
            dto::RetentionPreviewClass {
                environment_class: class.as_str().to_owned(),
                retention_days: tried.retention_days(class),
                current_retention_days: current.retention_days(class),
                recordings: count(row.map(|r| r.recordings)),
                size_bytes: row.map_or(0, |r| r.size_bytes),
                bytes_freed: row.map_or(0, |r| r.stored_bytes),
                recordings_with_current: count(row.map(|r| r.recordings_with_current)),
            }
        })
        .collect();
    Ok(web::Json(dto::RetentionPreview { as_of, classes }))
}

/// Prometheus metrics for operators (no token: bind the server where only
/// your monitoring reaches it). Covers the retention sweep across projects,
/// the audit log's sequencer (pending entries, lag) and how far the
/// recordings' terminal emulation is behind their chunks.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let last = state.store.last_retention_run_any().await?;
    let expiring = state.store.count_expiring(Utc::now() + Duration::days(LOOKAHEAD_DAYS)).await?;
    let lag = state.store.emulation_lag().await?;
    let mut text = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
    };
    if let Some(run) = &last {
        gauge(
            "termaudit_retention_last_run_start_seconds",
            "When the last retention sweep started (Unix time).",
            run.started_at.timestamp() as f64,
        );
        if let Some(finished) = run.finished_at {
            gauge(
                "termaudit_retention_last_run_end_seconds",
                "When the last retention sweep ended (Unix time).",
                finished.timestamp() as f64,
            );
        }
        gauge(
            "termaudit_retention_last_run_purged",
            "Recordings the last sweep purged.",
            f64::from(run.purged),
        );
        gauge(
            "termaudit_retention_last_run_bytes_freed",
            "Stored bytes the last sweep freed.",
            run.bytes_freed as f64,
        );
        gauge(
            "termaudit_retention_last_run_errors",
            "Errors the last sweep met.",
            f64::from(run.errors),
        );
        gauge(
            "termaudit_retention_last_run_completed",
            "1 when the last sweep completed.",
            f64::from(u8::from(run.status == "completed")),
        );
    }
    gauge(
        "termaudit_retention_next_run_seconds",
        "When the next sweep is due (Unix time).",
        next_run(&state, last.as_ref()).timestamp() as f64,
    );
    gauge(
        "termaudit_retention_expiring_7d",
        "Recordings that expire within 7 days or await purging.",
        expiring as f64,
    );
    gauge(
        "termaudit_emulation_lag_chunks",
        "Stored recording chunks not played through the terminal emulation yet (no seek snapshots for them).",
        lag.chunks as f64,
    );
    gauge(
        "termaudit_emulation_lag_seconds",
        "How long the oldest chunk not emulated yet has waited, in seconds (0 when none waits).",
        lag.seconds,
    );
    gauge(
        "termaudit_emulation_recordings_behind",
        "Recordings with chunks not emulated yet.",
        lag.recordings as f64,
    );
    gauge(
        "termaudit_emulation_leases",
        "Recordings whose emulation a replica holds a lease on now.",
        lag.leased as f64,
    );
    gauge(
        "termaudit_ingest_bulk",
        "1 while this replica ingests a bulk upload (the emulation and the compactor wait for it).",
        f64::from(u8::from(state.store.busy_ingesting())),
    );
    let log = state.store.log_status(None).await?;
    gauge(
        "termaudit_audit_log_pending_entries",
        "Committed audit entries the sequencer has not appended to the log yet.",
        log.pending as f64,
    );
    gauge(
        "termaudit_audit_log_lag_seconds",
        "How long the audit log has been incomplete (0 when nothing is pending).",
        log.lag_seconds(Utc::now()),
    );
    if let Some(ran) = log.ran_at {
        gauge(
            "termaudit_audit_log_sequencer_last_run_seconds",
            "When a sequencer last ran (Unix time); stale when no replica sequences.",
            ran.timestamp() as f64,
        );
    }
    let yielded = "termaudit_yielded_to_ingest_seconds_total";
    text.push_str(&format!(
        "# HELP {yielded} How long this replica's emulation and compactor waited for bulk uploads.\n\
         # TYPE {yielded} counter\n{yielded} {}\n",
        state.store.yielded_to_ingest().as_secs_f64()
    ));
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text))
}
