//! What the retention tests check after a sweep.

use uuid::Uuid;

/// The sessions whose recordings are purged, sorted; asserts that each has
/// exactly one `recording.purged` entry and that no entry lacks its purge.
pub async fn purged_once(db: &tokio_postgres::Client) -> Vec<Uuid> {
    let mut purged: Vec<Uuid> = db
        .query("SELECT session_id FROM recordings WHERE purged_at IS NOT NULL", &[])
        .await
        .expect("purged recordings")
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    purged.sort();
    let audits: Vec<(Uuid, i64)> = db
        .query(
            "SELECT session_id, count(*) FROM audit_events WHERE event_type = 'recording.purged'
             GROUP BY session_id ORDER BY session_id",
            &[],
        )
        .await
        .expect("recording.purged entries")
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert!(audits.iter().all(|(_, n)| *n == 1), "a recording purged twice: {audits:?}");
    let audited: Vec<Uuid> = audits.into_iter().map(|(id, _)| id).collect();
    assert_eq!(audited, purged, "a purge without its entry, or the reverse");
    purged
}
