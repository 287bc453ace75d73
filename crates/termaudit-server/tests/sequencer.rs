//! The audit log's sequencer on two real replicas: one sequences; when it
//! is killed (SIGKILL, so its lock goes with its connection), the other
//! takes over, and every entry ends up in the log exactly once.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

use std::time::Duration;

use termaudit_domain::{AuditEventType, transparency::KeyRing};
use termaudit_storage::NewAuditEvent;
use termaudit_tests::{TestDatabase, process::ServerProcess};

async fn leaves(db: &TestDatabase) -> i64 {
    db.connect().await.query_one("SELECT count(*) FROM audit_log_leaves", &[]).await.unwrap().get(0)
}

async fn wait_for_leaves(db: &TestDatabase, n: i64) {
    for _ in 0..600 {
        if leaves(db).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the log did not reach {n} leaves within a minute (it has {})", leaves(db).await);
}

#[tokio::test]
async fn a_standby_replica_takes_over_when_the_sequencing_one_is_killed() {
    let db = TestDatabase::create().await;
    let (store, project) = db.store_with_project("ops", 4).await;
    let append = |n: usize| {
        let store = store.clone();
        async move {
            for i in 0..n {
                let event = NewAuditEvent::new(project.id, AuditEventType::PolicyUpdated)
                    .details(serde_json::json!({ "i": i }));
                store.append_audit(&event).await.unwrap();
            }
        }
    };
    let binary = env!("CARGO_BIN_EXE_termaudit");
    let env = [("TERMAUDIT_TREE_HEAD_INTERVAL_SECONDS", "1")];

    let first = ServerProcess::start(binary, &db, &env).await;
    append(20).await;
    wait_for_leaves(&db, 20).await;
    let second = ServerProcess::start(binary, &db, &env).await;
    first.kill();

    append(30).await;
    wait_for_leaves(&db, 50).await;
    let sql = db.connect().await;
    let row = sql
        .query_one(
            "SELECT count(DISTINCT audit_event_id), min(leaf_index), max(leaf_index) FROM audit_log_leaves",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2)), (50, 0, 49));
    let keys =
        KeyRing::new(store.signing_keys().await.unwrap().into_iter().map(|k| k.key).collect());
    let check = store.verify_log(None, &keys).await.unwrap();
    assert_eq!(check.leaves, 50);
    assert!(check.discrepancies.is_empty(), "{:?}", check.discrepancies);
    drop(second);
}
