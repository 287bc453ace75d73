//! Finalization: once a session has ended, the downloadable file's size,
//! event count, duration and digest are computed by streaming through the
//! chunks, and stored with each chunk's offset in the file.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use termaudit_domain::{AuditEventType, asciicast::Micros, rfc3339};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::{
    chunks::{activity_markers, fetch_chunks},
    codec::{flush_markers, merge_chunk},
    live::{LiveSignal, notify_live},
    objects::{ObjectTarget, POSTGRES},
    types::{RECORDING_LOCK, RecordingRow, hex},
};
use crate::{
    StorageError, Store,
    audit::{NewAuditEvent, append_audit},
    time::micros_to_db,
};

/// The downloadable file's digest and counts, line by line.
#[derive(Default)]
struct Tally {
    hasher: Sha256,
    size: u64,
    events: i64,
    duration: Micros,
    first: Option<Micros>,
}

impl Tally {
    fn line(&mut self, time: Micros, line: &str) {
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
        self.size += line.len() as u64 + 1;
        self.events += 1;
        self.duration = self.duration.max(time);
        self.first.get_or_insert(time);
    }
}

/// Finalizes the recording of session `session_id`, which ended at
/// `ended_at`: computes the downloadable file's size, event count, duration
/// and SHA-256 (streaming through the chunks) and stores them, with each
/// chunk's offset in the file for range requests, and appends
/// `recording.finalized` to the audit log.
///
/// Every path that ends a session queues it, and `Store::finalize_queued`
/// calls this once the end has committed (chunks arriving after that are
/// refused as the session is closed). Idempotent; a no-op for an unknown or
/// unrecorded session; a recorded session without any chunk gets an empty
/// recording.
pub async fn finalize_recording(
    client: &impl GenericClient,
    objects: Option<&ObjectTarget>,
    session_id: Uuid,
    ended_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(session) = client
        .query_opt(include_str!("../sql/recording_session_for_finalize.sql"), &[&session_id])
        .await?
    else {
        return Ok(());
    };
    if !session.get::<_, bool>("recorded") {
        return Ok(());
    }
    let project_id: Uuid = session.get("project_id");
    let opened_at: DateTime<Utc> = session.get("opened_at");
    let store = objects.map_or(POSTGRES, |o| o.root());
    client
        .execute(include_str!("../sql/recording_create.sql"), &[&session_id, &opened_at, &store])
        .await?;
    let row = client.query_one(RECORDING_LOCK, &[&session_id]).await?;
    let recording = RecordingRow::from(&row);
    if recording.finalized_at.is_some() {
        return Ok(());
    }

    let mut file = Tally::default();
    let mut offsets: (Vec<i32>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut trailer_offset = 0;
    if let Some(header) = &recording.header {
        let mut markers =
            activity_markers(client, session_id, recording.started_at, Micros::ZERO).await?;
        file.hasher.update(header.as_bytes());
        file.hasher.update(b"\n");
        file.size += header.len() as u64 + 1;
        let mut next = 0;
        while next < recording.next_seq {
            let batch = fetch_chunks(client, objects, session_id, next, recording.next_seq).await?;
            let Some(last) = batch.last() else { break };
            next = last.seq + 1;
            for chunk in batch {
                offsets.0.push(chunk.seq);
                offsets.1.push(i64::try_from(file.size).unwrap_or(i64::MAX));
                merge_chunk(&chunk.lines, &mut markers, &mut |t, l| file.line(t, l));
            }
        }
        trailer_offset = file.size;
        flush_markers(&mut markers, &mut |t, l| file.line(t, l));
    }
    let Tally { hasher, size, events, duration, first } = file;
    // Wall-clock times of the first and last events, for the signed manifest.
    let at = |t: Micros| recording.started_at + chrono::Duration::microseconds(micros_to_db(t));
    let (first_event_at, last_event_at) = match first {
        Some(first) => (Some(rfc3339(at(first))), Some(rfc3339(at(duration)))),
        None => (None, None),
    };
    let sha256 = hasher.finalize().to_vec();
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    client
        .execute(
            include_str!("../sql/recording_chunk_offsets.sql"),
            &[&session_id, &offsets.0, &offsets.1],
        )
        .await?;
    client
        .execute(
            include_str!("../sql/recording_finalize.sql"),
            &[
                &session_id,
                &ended_at,
                &size,
                &events,
                &micros_to_db(duration),
                &sha256,
                &i64::try_from(trailer_offset).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    let details = serde_json::json!({
        "size_bytes": size,
        "event_count": events,
        "duration_seconds": duration.as_seconds(),
        "sha256": hex(&sha256),
        "chunks": recording.next_seq,
        "first_event_at": first_event_at,
        "last_event_at": last_event_at,
    });
    notify_live(client, &LiveSignal::Finalized { session_id }).await?;
    append_audit(
        client,
        &NewAuditEvent::new(project_id, AuditEventType::RecordingFinalized)
            .session(session_id)
            .at(ended_at)
            .details(details),
    )
    .await?;
    Ok(())
}

impl Store {
    /// Finalizes the recording of an ended session queued by the transaction
    /// that ended it, in a transaction of its own, and takes it off the
    /// queue; unless it still takes the gateway's last chunks at `now`.
    /// Returns whether this call finalized it (`false`: nothing was queued,
    /// it is not due, or a concurrent call did it first and this one waited).
    pub async fn finalize_queued(
        &self,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        self.finalize(session_id, Some(now)).await
    }

    /// The gateway has sent the last chunk of an ended session: finalizes
    /// its recording now, without waiting for the rest of
    /// [`RECORDING_SETTLE`](crate::RECORDING_SETTLE). `false` when there was
    /// nothing to finalize (done before, or the session has not ended).
    pub async fn finish_recording(&self, session_id: Uuid) -> Result<bool, StorageError> {
        self.finalize(session_id, None).await
    }

    async fn finalize(
        &self,
        session_id: Uuid,
        unless_settling_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StorageError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(queued) = tx
            .query_opt(include_str!("../sql/recording_finalization_lock.sql"), &[&session_id])
            .await?
        else {
            return Ok(false);
        };
        let settling_until: Option<DateTime<Utc>> = queued.try_get("accepts_chunks_until")?;
        if let (Some(now), Some(until)) = (unless_settling_at, settling_until)
            && now < until
        {
            return Ok(false);
        }
        finalize_recording(&*tx, self.objects(), session_id, queued.try_get("ended_at")?).await?;
        tx.execute(include_str!("../sql/recording_finalization_done.sql"), &[&session_id]).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Finalizes up to `limit` queued recordings that are due at `now`,
    /// oldest first: those whose window for the gateway's last chunks has
    /// closed, and those whose finalization right after the session ended
    /// did not happen (a crash, a lost connection). Returns how many it
    /// finalized.
    pub async fn finalize_pending(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<usize, StorageError> {
        let due = {
            let client = self.client().await?;
            client
                .query(include_str!("../sql/recording_finalizations_due.sql"), &[&now, &limit])
                .await?
        };
        let mut finalized = 0;
        for row in due {
            let session_id: Uuid = row.try_get("session_id")?;
            match self.finalize_queued(session_id, now).await {
                Ok(true) => finalized += 1,
                Ok(false) => {}
                // A recording partly compacted into an object store that is
                // away waits for it; the others go on.
                Err(StorageError::ObjectStoreUnavailable(cause)) => {
                    tracing::warn!(%session_id, %cause, "cannot finalize a recording yet");
                }
                Err(err) => return Err(err),
            }
        }
        Ok(finalized)
    }
}
