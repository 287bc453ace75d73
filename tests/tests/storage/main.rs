//! The storage crate below HTTP: each test drives `Store` directly against
//! its own database (cloned from the migrated template) and asserts the
//! rows it leaves. These pin the paths every endpoint relies on: the one
//! transactional path for a session's changes, the idempotent appends, and
//! chunk ingest.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

mod chunks;
mod timeline;
mod transitions;

use chrono::{DateTime, DurationRound, Utc};
use serde_json::Value;
use termaudit_domain::{
    EnvironmentClass, EnvironmentName, ProjectName, ProjectSlug, SessionMode, TargetKind,
    TargetName,
};
use termaudit_storage::{DatabaseUrl, NewSession, NewTarget, SessionRow, Store};
use termaudit_tests::TestDatabase;
use uuid::Uuid;

/// A store on a fresh database with one project.
struct Fixture {
    store: Store,
    /// A direct connection, for reading what the database holds.
    db: tokio_postgres::Client,
    project_id: Uuid,
    /// Dropped last: the database goes with it.
    _database: TestDatabase,
}

impl Fixture {
    async fn new() -> Fixture {
        let database = TestDatabase::create().await;
        // As the server connects: the app role (migrations/V8__app_role.sql).
        let store = Store::new(&DatabaseUrl::parse(&database.app_url()).unwrap(), 4).unwrap();
        let project = store
            .create_project(
                &ProjectSlug::parse("storage").unwrap(),
                &ProjectName::parse("Storage").unwrap(),
            )
            .await
            .unwrap();
        let db = database.connect().await;
        Fixture { store, db, project_id: project.id, _database: database }
    }

    /// Opens a session on a new target, at `opened_at`.
    async fn open_at(&self, recorded: bool, opened_at: DateTime<Utc>) -> SessionRow {
        let name = format!("web-{}", &Uuid::now_v7().simple().to_string()[20..]);
        let target = self
            .store
            .create_target(
                self.project_id,
                &NewTarget {
                    name: TargetName::parse(&name).unwrap(),
                    kind: TargetKind::Application,
                    environment: EnvironmentName::parse("staging").unwrap(),
                    environment_class: EnvironmentClass::NonProduction,
                },
            )
            .await
            .unwrap();
        let new = NewSession {
            target: &target,
            mode: SessionMode::Shell,
            reason: None,
            user_subject: "alice".into(),
            user_name: "Alice".into(),
            opened_at,
        };
        self.store.open_session(self.project_id, &new, recorded).await.unwrap()
    }

    async fn open(&self, recorded: bool) -> SessionRow {
        self.open_at(recorded, now()).await
    }

    /// The JSON that `sql` (one `::text` value) gives for a session id.
    async fn query_json(&self, sql: &str, session_id: Uuid) -> Value {
        let row = self.db.query_one(sql, &[&session_id]).await.unwrap();
        serde_json::from_str(row.get(0)).unwrap()
    }

    /// Everything the database holds about a session's state, as JSON: its
    /// row, its audit entries (oldest first) and its finalization queue.
    async fn session_rows(&self, id: Uuid) -> Value {
        self.query_json(
            "SELECT json_build_object(
                 'session', (SELECT row_to_json(s) FROM sessions s WHERE s.id = $1),
                 'audit', (SELECT coalesce(json_agg(json_build_object(
                               'type', e.event_type, 'actor', e.actor_subject,
                               'at', e.occurred_at, 'details', e.details) ORDER BY e.id), '[]')
                           FROM audit_events e WHERE e.session_id = $1),
                 'queued', (SELECT row_to_json(f) FROM recording_finalizations f
                            WHERE f.session_id = $1))::text",
            id,
        )
        .await
    }

    /// The session's row as stored.
    async fn stored(&self, id: Uuid) -> Stored {
        let row = self
            .db
            .query_one(
                "SELECT status, drop_cause, close_reason, last_seen_at, dropped_at, ended_at,
                        revoked_by_subject, revoked_by_name, revoke_reason
                 FROM sessions WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
        Stored {
            status: row.get(0),
            drop_cause: row.get(1),
            close_reason: row.get(2),
            last_seen_at: row.get(3),
            dropped_at: row.get(4),
            ended_at: row.get(5),
            revoked_by: row.get(6),
            revoked_by_name: row.get(7),
            revoke_reason: row.get(8),
        }
    }

    /// The session's audit entries, oldest first.
    async fn audit(&self, id: Uuid) -> Vec<Audit> {
        let rows = self
            .db
            .query(
                "SELECT event_type, actor_subject, occurred_at, details
                 FROM audit_events WHERE session_id = $1 ORDER BY id",
                &[&id],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|row| Audit {
                event_type: row.get(0),
                actor: row.get(1),
                at: row.get(2),
                details: row.get(3),
            })
            .collect()
    }

    /// The audit entries' types, oldest first.
    async fn audit_types(&self, id: Uuid) -> Vec<String> {
        self.audit(id).await.into_iter().map(|a| a.event_type).collect()
    }
}

/// A session's state columns.
#[derive(Debug, PartialEq)]
struct Stored {
    status: String,
    drop_cause: Option<String>,
    close_reason: Option<String>,
    last_seen_at: DateTime<Utc>,
    dropped_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
    revoked_by_name: Option<String>,
    revoke_reason: Option<String>,
}

/// An audit entry.
#[derive(Debug, PartialEq)]
struct Audit {
    event_type: String,
    actor: Option<String>,
    at: DateTime<Utc>,
    details: Value,
}

/// Now, to the microsecond as the database keeps it.
fn now() -> DateTime<Utc> {
    Utc::now().duration_trunc(chrono::Duration::microseconds(1)).unwrap()
}
