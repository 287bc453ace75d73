//! `termaudit recordings move`: finalized recordings into an object store
//! or back into PostgreSQL, one at a time (a move cut short resumes where
//! it stopped), each recording's SHA-256 verified after it moved, with a
//! progress bar on a terminal.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use termaudit_storage::{MoveTo, ObjectTarget, RecordingsStoreUrl};

use crate::{Settings, prepare_database, recordings_objects};

/// Recordings listed per query.
const BATCH: i64 = 100;

/// Moves every finalized recording to `to` (`postgres`, `s3://…`,
/// `file:///…`; back to PostgreSQL reads from `TERMAUDIT_RECORDINGS_STORE`).
/// Returns how many moved.
pub async fn move_recordings(settings: &Settings, to: &str) -> anyhow::Result<u64> {
    let url = RecordingsStoreUrl::parse(to).map_err(|why| anyhow::anyhow!("--to: {why}"))?;
    let store = prepare_database(settings).await?;
    let (store, direction) = match &url {
        RecordingsStoreUrl::Postgres => {
            (store.with_objects(recordings_objects(settings).await?), MoveTo::Postgres)
        }
        other => {
            (store.with_objects(ObjectTarget::open(other, &settings.s3).await?), MoveTo::Objects)
        }
    };
    let total = store.recordings_to_move_count(direction).await?;
    let progress = ProgressBar::new(u64::try_from(total).unwrap_or_default());
    progress.set_style(
        ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} recordings, {elapsed} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut moved = 0;
    let mut after = None;
    loop {
        let batch = store.recordings_to_move(direction, after, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        for session_id in batch {
            after = Some(session_id);
            if store.move_recording(session_id, direction).await.with_context(|| {
                format!("cannot move recording {session_id}; run again to resume")
            })? {
                moved += 1;
            }
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    // The objects of recordings moved back, verified: deleted now.
    while store.delete_released_objects(1000).await? > 0 {}
    Ok(moved)
}
