//! Purging a recording's content for the retention sweep.

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::StorageError;

/// Removes a finalized recording's content (chunks, snapshots, markers, text,
/// and its emulation if it was still behind; its objects are listed for
/// deletion),
/// keeping its summary with when and why, for the retention sweep. Returns
/// whether there was something to purge. Call it inside the sweep's
/// transaction along with its audit entry.
pub async fn purge_recording(
    client: &impl GenericClient,
    session_id: Uuid,
    purged_at: DateTime<Utc>,
    reason: &str,
) -> Result<bool, StorageError> {
    let updated = client
        .execute(include_str!("../sql/recording_purge.sql"), &[&session_id, &purged_at, &reason])
        .await?;
    if updated == 0 {
        return Ok(false);
    }
    for statement in [
        "DELETE FROM recording_emulation WHERE session_id = $1",
        "DELETE FROM recording_text WHERE session_id = $1",
        "DELETE FROM recording_snapshots WHERE session_id = $1",
        "DELETE FROM recording_markers WHERE session_id = $1",
        "DELETE FROM recording_chunks WHERE session_id = $1",
    ] {
        client.execute(statement, &[&session_id]).await?;
    }
    client
        .execute(include_str!("../sql/recording_objects_release.sql"), &[&vec![session_id]])
        .await?;
    Ok(true)
}

/// [`purge_recording`] for many recordings in a handful of statements (the
/// retention sweep's batches): `recordings` pairs each session id with its
/// purge reason. Returns the ids it purged (finalized and not purged yet).
pub async fn purge_recordings(
    client: &impl GenericClient,
    recordings: &[(Uuid, String)],
    purged_at: DateTime<Utc>,
) -> Result<Vec<Uuid>, StorageError> {
    let (ids, reasons): (Vec<Uuid>, Vec<&str>) =
        recordings.iter().map(|(id, reason)| (*id, reason.as_str())).unzip();
    let purged: Vec<Uuid> = client
        .query(include_str!("../sql/recordings_purge_many.sql"), &[&ids, &reasons, &purged_at])
        .await?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    if purged.is_empty() {
        return Ok(purged);
    }
    for statement in [
        "DELETE FROM recording_emulation WHERE session_id = ANY ($1)",
        "DELETE FROM recording_text WHERE session_id = ANY ($1)",
        "DELETE FROM recording_snapshots WHERE session_id = ANY ($1)",
        "DELETE FROM recording_markers WHERE session_id = ANY ($1)",
        "DELETE FROM recording_chunks WHERE session_id = ANY ($1)",
    ] {
        client.execute(statement, &[&purged]).await?;
    }
    // Their objects are deleted after the purge commits (a row never points
    // at a missing object): listed here, deleted by
    // `Store::delete_released_objects` (the sweep, then the compactor).
    client.execute(include_str!("../sql/recording_objects_release.sql"), &[&purged]).await?;
    Ok(purged)
}
