//! The sequencer against what writes the audit log: entries that were there
//! before the log, and 200 writers committing while it runs.

use std::sync::Arc;

use termaudit_domain::{
    AuditEventType, Permission,
    transparency::{KeyRing, LogSigner},
};
use termaudit_storage::{DatabaseUrl, NewAuditEvent, Store};
use termaudit_tests::{TestDatabase, seed::project_id};

use crate::{PROJECT, log::sequenced, spawn};

#[tokio::test]
async fn entries_from_before_the_log_are_sequenced_first_by_the_same_code() {
    let db = TestDatabase::create().await;
    let url = DatabaseUrl::parse(&db.url()).expect("a URL");
    let (store, project) = db.store_with_project("old", 2).await;
    // A new entry first, then three as the migration leaves older ones (xact 0).
    let new = store
        .append_audit(&NewAuditEvent::new(project.id, AuditEventType::PolicyUpdated))
        .await
        .expect("appended");
    let sql = db.connect().await;
    let mut old = Vec::new();
    for i in 0..3 {
        let row = sql
            .query_one(
                "INSERT INTO audit_events (project_id, event_type, details, xact)
                 VALUES ($1, 'policy.updated', jsonb_build_object('old', $2::int), 0) RETURNING id",
                &[&project.id, &i],
            )
            .await
            .expect("inserted");
        old.push(row.get::<_, i64>(0));
    }
    let signer = Arc::new(LogSigner::from_secret([3; 32]));
    let mut sequencer =
        store.try_lock_sequencer(&url, signer.clone()).await.expect("a query").expect("the lock");
    assert!(
        store.try_lock_sequencer(&url, signer.clone()).await.expect("a query").is_none(),
        "one sequencer at a time"
    );
    // The new entry waits until every transaction of the cluster that began
    // before it has ended (other tests' databases share the cluster).
    let mut appended = 0;
    for _ in 0..600 {
        appended += sequencer.append_batch(100).await.expect("a batch").appended;
        if appended == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(appended, 4);
    let order: Vec<i64> = sql
        .query("SELECT audit_event_id FROM audit_log_leaves ORDER BY leaf_index", &[])
        .await
        .expect("leaves")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(order, [old.clone(), vec![new]].concat(), "older entries first, by id");
    sequencer.sign_due_heads(chrono::Utc::now(), chrono::Duration::zero()).await.expect("signed");
    // What an export or a bundle would do: wait for the log, take a head,
    // prove many entries at once.
    let horizon = store.transaction_horizon().await.expect("a horizon");
    assert!(
        store
            .wait_sequenced(project.id, horizon, std::time::Duration::from_secs(60))
            .await
            .expect("waited")
    );
    let head =
        store.ensure_tree_head(project.id, &signer).await.expect("a head").expect("not empty");
    assert_eq!(head.head.tree_size, 4);
    let ids = [old.clone(), vec![new]].concat();
    let proofs = store.inclusion_proofs(project.id, &ids, 4).await.expect("proofs");
    assert_eq!(proofs.len(), 4);
    let leaves: Vec<Vec<u8>> = sql
        .query("SELECT leaf_hash FROM audit_log_leaves ORDER BY leaf_index", &[])
        .await
        .expect("leaves")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for proof in proofs.values() {
        let index = proof.leaf_index;
        let leaf: [u8; 32] = leaves[index as usize].clone().try_into().expect("32 bytes");
        assert_eq!(leaf, proof.leaf.hash().0, "the leaf is the entry as stored");
        let path: Vec<[u8; 32]> = proof.hashes.iter().map(|h| h.0).collect();
        assert!(termaudit_tests::rfc9162::verify_inclusion(
            index,
            4,
            &leaf,
            &path,
            &head.head.root_hash.0
        ));
    }
    let check = store
        .verify_log(None, &KeyRing::new(vec![signer.public().clone()]))
        .await
        .expect("checked");
    assert_eq!((check.leaves, check.tree_heads), (4, 1));
    assert!(check.discrepancies.is_empty(), "{:?}", check.discrepancies);
}

#[tokio::test]
async fn two_hundred_writers_commit_while_it_runs_and_each_entry_gets_one_leaf() {
    let app = spawn().await;
    let token = app.token("auditor", PROJECT, &[Permission::ViewHistory]);
    let project = project_id(&app, PROJECT).await;
    let writers = Store::new(&app.database_url(), 40).expect("a pool");
    let tasks: Vec<_> = (0..200)
        .map(|w| {
            let writers = writers.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    writers
                        .append_audit(
                            &NewAuditEvent::new(project, AuditEventType::PolicyUpdated)
                                .actor(&format!("writer-{w}"), "Writer")
                                .details(serde_json::json!({"writer": w, "i": i})),
                        )
                        .await
                        .expect("appended");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a writer");
    }
    sequenced(&app, &token, 2000).await;
    let sql = app.db.connect().await;
    let row = sql
        .query_one(
            "SELECT count(*), count(DISTINCT audit_event_id), min(leaf_index), max(leaf_index)
             FROM audit_log_leaves WHERE project_id = $1",
            &[&project],
        )
        .await
        .expect("counted");
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2), row.get::<_, i64>(3)),
        (2000, 2000, 0, 1999)
    );
    let keys = crate::log::keys(&app, &token).await;
    let check = app.store.verify_log(Some(project), &keys).await.expect("checked");
    assert_eq!(check.leaves, 2000);
    assert!(check.tree_heads >= 1);
    assert!(check.discrepancies.is_empty(), "{:?}", check.discrepancies);
}
