//! Rows the API has no endpoint for yet (or that a test needs in a given
//! state), inserted with SQL.

use chrono::{DateTime, Utc};
use termaudit_domain::EnvironmentClass;
use uuid::Uuid;

use crate::TestApp;

/// The id of project `slug`, which must exist.
pub async fn project_id(app: &TestApp, slug: &str) -> Uuid {
    app.store.project_by_slug(slug).await.expect("a query").expect("the project exists").id
}

/// Inserts a target and an active session on it, opened now, and returns
/// the session's id. The database refuses an unrecorded production session.
pub async fn try_seed_session(
    app: &TestApp,
    project: &str,
    class: EnvironmentClass,
    recorded: bool,
) -> Result<Uuid, tokio_postgres::Error> {
    let project_id = project_id(app, project).await;
    let db = app.db.connect().await;
    let target_id = Uuid::now_v7();
    let session_id = Uuid::now_v7();
    let name = format!("web-{}", &target_id.simple().to_string()[24..]);
    db.execute(
        "INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
         VALUES ($1, $2, $3, 'application', $4, $5)",
        &[&target_id, &project_id, &name, &class.as_str(), &class.as_str()],
    )
    .await?;
    db.execute(
        "INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                               environment_class, mode, reason, user_subject, user_name, recorded,
                               status, opened_at, last_seen_at)
         VALUES ($1, $2, $3, $4, 'application', $5, $5, 'shell', 'testing', 'alice', 'Alice',
                 $6, 'active', now(), now())",
        &[&session_id, &project_id, &target_id, &name, &class.as_str(), &recorded],
    )
    .await?;
    Ok(session_id)
}

pub async fn seed_session(
    app: &TestApp,
    project: &str,
    class: EnvironmentClass,
    recorded: bool,
) -> Uuid {
    try_seed_session(app, project, class, recorded).await.expect("the session is inserted")
}

/// Closes a session and finalizes its recording (in one transaction; the
/// API commits the end first and finalizes right after).
pub async fn end_session(app: &TestApp, session_id: Uuid) -> DateTime<Utc> {
    let mut db = app.db.connect().await;
    let tx = db.transaction().await.expect("a transaction");
    let row = tx
        .query_one(
            "UPDATE sessions SET status = 'closed', ended_at = now(), close_reason = 'user_exit'
             WHERE id = $1 RETURNING ended_at",
            &[&session_id],
        )
        .await
        .expect("the session is closed");
    let ended_at: DateTime<Utc> = row.get(0);
    termaudit_storage::finalize_recording(&tx, app.store.objects(), session_id, ended_at)
        .await
        .expect("the recording is finalized");
    tx.commit().await.expect("commit");
    ended_at
}

/// The session's opening time.
pub async fn opened_at(app: &TestApp, session_id: Uuid) -> DateTime<Utc> {
    let db = app.db.connect().await;
    db.query_one("SELECT opened_at FROM sessions WHERE id = $1", &[&session_id])
        .await
        .expect("the session exists")
        .get(0)
}

/// Appends an explicit command (or runbook step) to the session's activity.
pub async fn add_activity(
    app: &TestApp,
    session_id: Uuid,
    kind: &str,
    text: &str,
    occurred_at: DateTime<Utc>,
) {
    let db = app.db.connect().await;
    db.execute(
        "INSERT INTO session_activity (session_id, client_event_id, kind, text, occurred_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&session_id, &Uuid::now_v7().to_string(), &kind, &text, &occurred_at],
    )
    .await
    .expect("the activity is inserted");
}

/// Inserts `count` closed non-production sessions in project `project_id`,
/// ended 200 days ago plus `g` seconds for the `g`th (1 to `count`, so the
/// retention sweep meets them in that order), each with a reason of about a
/// kilobyte (an export of them outgrows the sockets' buffers). With
/// `recorded`, each has a finalized recording of one chunk, expired under
/// the default policy (90 days). Returns the sessions' ids, `g` ascending.
pub async fn seed_closed_sessions(
    db: &tokio_postgres::Client,
    project_id: Uuid,
    count: i32,
    recorded: bool,
) -> Vec<Uuid> {
    let target_id = Uuid::now_v7();
    db.execute(
        "INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
         VALUES ($1, $2, $3, 'application', 'staging', 'non_production')",
        &[&target_id, &project_id, &format!("bulk-{}", &target_id.simple().to_string()[24..])],
    )
    .await
    .expect("the target is inserted");
    db.execute(
            "INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                                   environment_class, mode, reason, user_subject, user_name,
                                   recorded, status, opened_at, last_seen_at, ended_at, close_reason)
             SELECT gen_random_uuid(), t.project_id, t.id, t.name, t.kind, t.environment,
                    t.environment_class, 'shell', 'INC-' || g || ' ' || repeat(md5(g::text), 30),
                    'user' || (g % 50), 'User ' || (g % 50), $3, 'closed', e - interval '20 minutes',
                    e, e, 'user_exit'
             FROM targets t,
                  generate_series(1, $2) g,
                  LATERAL (SELECT now() - interval '200 days' + g * interval '1 second' AS e) ended
             WHERE t.id = $1",
            &[&target_id, &count, &recorded],
        )
        .await
        .expect("the sessions are inserted");
    let ids: Vec<Uuid> = db
        .query("SELECT id FROM sessions WHERE target_id = $1 ORDER BY ended_at", &[&target_id])
        .await
        .expect("a query")
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    if recorded {
        db.batch_execute(&format!(
            "INSERT INTO recordings (session_id, header, source_version, started_at, next_seq,
                                     chunk_events, chunk_bytes, last_time_us, finalized_at,
                                     size_bytes, event_count, duration_us, sha256, trailer_offset)
             SELECT s.id, '{{\"version\":2,\"width\":80,\"height\":24}}', 2, s.opened_at, 1, 10,
                    1024, 599000000, s.ended_at, 1100, 10, 599000000, sha256(s.id::text::bytea), 1100
             FROM sessions s WHERE s.target_id = '{target_id}';
             INSERT INTO recording_chunks (session_id, seq, first_time_us, last_time_us, events,
                                           data_bytes, data, upload_sha256, file_offset)
             SELECT s.id, 0, 0, 599000000, 10, 1024, convert_to(repeat(md5(s.id::text), 32), 'UTF8'),
                    sha256(convert_to(s.id::text, 'UTF8')), 40
             FROM sessions s WHERE s.target_id = '{target_id}';"
        ))
        .await
        .expect("the recordings are inserted");
    }
    ids
}
