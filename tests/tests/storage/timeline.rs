//! Activity and database events: appended once by the gateway's event id.

use chrono::Duration;
use serde_json::Value;
use termaudit_storage::{Activity, AppendError, AppendOutcome, DatabaseEvent};
use uuid::Uuid;

use crate::{Fixture, now};

fn command(event_id: &str, text: &str) -> Activity {
    Activity {
        event_id: event_id.into(),
        kind: "command".into(),
        text: text.into(),
        occurred_at: now(),
        exit_code: Some(0),
        duration_ms: Some(12),
    }
}

fn outcome(stored: usize, duplicates: usize) -> AppendOutcome {
    AppendOutcome { stored, duplicates }
}

impl Fixture {
    /// The session's activity rows as JSON, in insertion order.
    async fn activity_rows(&self, session_id: Uuid) -> Value {
        self.rows_json("session_activity", session_id).await
    }

    async fn rows_json(&self, table: &str, session_id: Uuid) -> Value {
        let sql = format!(
            "SELECT coalesce(json_agg(t ORDER BY t.id), '[]')::text FROM {table} t
             WHERE t.session_id = $1"
        );
        self.query_json(&sql, session_id).await
    }
}

#[tokio::test]
async fn activity_is_stored_once_by_event_id() {
    let f = Fixture::new().await;
    let id = f.open(false).await.id;
    let ls = command("e1", "ls -la");
    let append = |items: Vec<Activity>| {
        let store = f.store.clone();
        async move { store.append_activity(id, &items).await }
    };
    assert_eq!(append(vec![ls.clone()]).await.unwrap(), outcome(1, 0));
    let stored = f.activity_rows(id).await;
    assert_eq!(stored.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&stored[0]["client_event_id"], &stored[0]["text"], &stored[0]["kind"]),
        (&Value::from("e1"), &Value::from("ls -la"), &Value::from("command"))
    );

    // A retry is a duplicate, also when sent with a time finer than stored.
    assert_eq!(append(vec![ls.clone()]).await.unwrap(), outcome(0, 1));
    let finer = Activity { occurred_at: ls.occurred_at + Duration::nanoseconds(300), ..ls.clone() };
    assert_eq!(append(vec![finer]).await.unwrap(), outcome(0, 1));
    assert_eq!(f.activity_rows(id).await, stored);

    // The same id for something else is a conflict, and the whole batch
    // is refused: the new event before it is not stored either.
    let other = Activity { text: "rm -rf /tmp/x".into(), ..ls.clone() };
    let batch = vec![command("e2", "pwd"), other];
    let Err(AppendError::Conflict(event_id)) = append(batch).await else {
        panic!("a different event under a used id is a conflict");
    };
    assert_eq!(event_id, "e1");
    assert_eq!(f.activity_rows(id).await, stored);

    // A new id next to a retry: one stored, one duplicate.
    assert_eq!(append(vec![ls, command("e2", "pwd")]).await.unwrap(), outcome(1, 1));
    assert_eq!(f.activity_rows(id).await.as_array().map(Vec::len), Some(2));
    assert_eq!(f.audit_types(id).await, ["session.opened"], "activity is not audited");
}

#[tokio::test]
async fn database_events_are_stored_and_audited_once() {
    let f = Fixture::new().await;
    let session = f.open(false).await;
    let select = DatabaseEvent {
        event_id: "d1".into(),
        statement: "SELECT 1".into(),
        database: Some("orders".into()),
        occurred_at: now(),
        rows_affected: Some(1),
        duration_ms: Some(3),
        error: None,
    };
    let append = |events: Vec<DatabaseEvent>| {
        let (store, session) = (f.store.clone(), session.clone());
        let project_id = f.project_id;
        async move { store.append_database_events(project_id, &session, &events).await }
    };
    assert_eq!(append(vec![select.clone()]).await.unwrap(), outcome(1, 0));
    let stored = f.rows_json("database_events", session.id).await;
    assert_eq!(stored[0]["statement"], "SELECT 1");
    let audit = f.audit(session.id).await;
    let last = audit.last().unwrap();
    assert_eq!(
        (last.event_type.as_str(), last.actor.as_deref()),
        ("database.statement", Some("alice"))
    );
    assert_eq!(last.at, select.occurred_at);
    assert_eq!(last.details["statement"], "SELECT 1");
    assert_eq!(last.details["database"], "orders");

    assert_eq!(append(vec![select.clone()]).await.unwrap(), outcome(0, 1));
    let changed = DatabaseEvent { rows_affected: Some(2), ..select };
    let Err(AppendError::Conflict(event_id)) = append(vec![changed]).await else {
        panic!("a different event under a used id is a conflict");
    };
    assert_eq!(event_id, "d1");
    assert_eq!(f.rows_json("database_events", session.id).await, stored);
    assert_eq!(f.audit(session.id).await, audit, "a retry or a conflict is not audited");
}
