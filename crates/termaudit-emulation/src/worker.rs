//! One recording's worker: takes the recording's lease, plays its chunks
//! not emulated yet a batch at a time, feeds the hooks, and records its
//! progress (snapshots, terminal, position) together with a renewal of the
//! lease; keeps the recording a while once caught up, in case more chunks
//! come; lets it go for good once it is finalized and complete.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use termaudit_storage::{Lease, StorageError, Store, header_size};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{EmulationOptions, hook::Hooks, play::Emulator, threads::PlayThreads};

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("a hook refused chunk {seq}: {error}")]
    Hook { seq: u32, error: crate::HookError },
    /// Another replica holds the lease now (this one was too slow to renew
    /// it, e.g. while the database was away): it stops, writing nothing.
    #[error("the lease was taken over")]
    LeaseLost,
    #[error("the emulation panicked")]
    Panicked,
}

/// How a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Another replica holds the lease, or nothing is left to emulate.
    NotMine,
    /// Caught up and let go (idle, or another recording waits for the slot).
    Released,
    /// Finalized and fully emulated: its emulation row is gone.
    Finished,
    /// The server is stopping; the lease was released.
    Stopped,
}

pub(crate) struct Worker {
    pub store: Store,
    pub lease: Lease,
    pub session_id: Uuid,
    pub hooks: Hooks,
    pub options: EmulationOptions,
    /// Recordings waiting for a worker slot on this replica.
    pub waiting: Arc<AtomicUsize>,
    /// Where the CPU work of a batch runs.
    pub threads: Arc<PlayThreads>,
    /// Chunks stored through this replica for this recording.
    pub wake: mpsc::UnboundedReceiver<()>,
    pub stop: CancellationToken,
}

impl Worker {
    /// Works on the recording until it is caught up and let go; the lease
    /// is renewed every third of its duration meanwhile, and the work stops
    /// (writing nothing more) once a renewal finds it taken over.
    pub async fn run(mut self) -> Result<Outcome, WorkError> {
        let store = self.store.clone();
        let (session_id, lease) = (self.session_id, self.lease.clone());
        let renewing = async {
            let mut tick = tokio::time::interval(lease.duration() / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.emulation_renew(session_id, &lease).await {
                    Ok(true) => {}
                    Ok(false) => return WorkError::LeaseLost,
                    // The database is away: the work fails too, or the next
                    // renewal succeeds in time.
                    Err(err) => tracing::debug!(error = %err, %session_id, "lease renewal failed"),
                }
            }
        };
        let outcome = tokio::select! {
            outcome = self.work() => outcome,
            lost = renewing => Err(lost),
        };
        if outcome.is_err() {
            // Best effort: let another worker start at once rather than at expiry.
            let _ = self.store.emulation_release(self.session_id, &self.lease).await;
        }
        outcome
    }

    async fn work(&mut self) -> Result<Outcome, WorkError> {
        let Some(state) = self.store.emulation_claim(self.session_id, &self.lease).await? else {
            return Ok(Outcome::NotMine);
        };
        let Some(target) = self.store.emulation_target(self.session_id).await? else {
            return Ok(Outcome::NotMine);
        };
        let size = header_size(target.header.as_deref().unwrap_or_default());
        let mut emulator = Emulator::resume(self.session_id, state, size);
        let mut idle = Duration::ZERO;
        // Whether to look at the database before waiting for news.
        let mut look = true;
        // How long this worker has waited for the replica's bulk upload.
        let mut deferred = Duration::ZERO;
        // The text written since the recording's rows were last folded.
        let mut unfolded = Unfolded::default();
        loop {
            if look {
                self.yield_to_ingest(&mut deferred).await;
            }
            if self.stop.is_cancelled() {
                self.store.emulation_release(self.session_id, &self.lease).await?;
                return Ok(Outcome::Stopped);
            }
            if look {
                let (played, more) = self.play_batch(emulator, &mut unfolded).await?;
                emulator = played;
                if unfolded.bytes >= self.options.text_group_bytes {
                    let up_to = unfolded.last;
                    self.fold_text(&mut unfolded, up_to).await?;
                }
                if more.is_some() {
                    idle = Duration::ZERO;
                    // A batch that took everything stored leaves nothing to
                    // look for: news of later chunks comes by `wake` (this
                    // replica's) or at the next nap (other replicas').
                    look = more == Some(true);
                    continue;
                }
                // Nothing stored past the position: is it over?
                let Some(target) = self.store.emulation_target(self.session_id).await? else {
                    return Ok(Outcome::NotMine);
                };
                if target.purged {
                    return Ok(Outcome::NotMine);
                }
                if target.finalized {
                    // Every row but the last screen's, which the finish
                    // numbers after the last chunk.
                    self.fold_text(&mut unfolded, i32::MAX - 1).await?;
                    if self.store.emulation_finish(self.session_id, &self.lease).await? {
                        for hook in &self.hooks {
                            hook.finished(self.session_id, target.next_seq).await;
                        }
                        return Ok(Outcome::Finished);
                    }
                    // A chunk came in between: play it.
                    continue;
                }
            }
            // Caught up: keep the recording (its terminal in memory) while
            // chunks may come, unless another recording waits for the slot.
            if self.waiting.load(Ordering::Relaxed) > 0 || idle >= self.options.linger {
                self.store.emulation_release(self.session_id, &self.lease).await?;
                return Ok(Outcome::Released);
            }
            let nap = self.options.poll.min(self.options.linger);
            tokio::select! {
                woken = self.wake.recv() => {
                    if woken.is_none() {
                        idle = self.options.linger;
                    }
                }
                () = tokio::time::sleep(nap) => idle += nap,
                () = self.stop.cancelled() => {}
            }
            look = true;
        }
    }

    /// Waits while the replica ingests a bulk upload, for what is left of
    /// the options' `yield_to_ingest` (`deferred` counts what was spent; a
    /// look that finds the ingest calm gives it all back).
    async fn yield_to_ingest(&self, deferred: &mut Duration) {
        let left = self.options.yield_to_ingest.saturating_sub(*deferred);
        let started = tokio::time::Instant::now();
        let busy = tokio::select! {
            busy = self.store.yield_to_ingest(left) => busy,
            () = self.stop.cancelled() => return,
        };
        *deferred = if busy { *deferred + started.elapsed() } else { Duration::ZERO };
    }

    /// Plays the stored chunks from the emulator's position, a batch of at
    /// most a few MiB, hands them to the hooks, and records the progress.
    /// Also says whether a batch was played (`None`: nothing stored past the
    /// position) and whether more chunks may be stored after it.
    async fn play_batch(
        &self,
        emulator: Emulator,
        unfolded: &mut Unfolded,
    ) -> Result<(Emulator, Option<bool>), WorkError> {
        let from = emulator.next_seq();
        let batch = self.store.emulation_chunks(self.session_id, from).await?;
        if batch.chunks.is_empty() {
            return Ok((emulator, None));
        }
        let for_hooks = !self.hooks.is_empty();
        let chunks = batch.chunks;
        let group_bytes = self.options.text_group_bytes;
        let (emulator, played, encoded) = self
            .threads
            .run(move || {
                let mut emulator = emulator;
                let played = emulator.play(&chunks, for_hooks);
                let encoded = played.progress.encode(group_bytes);
                (emulator, played, encoded)
            })
            .await
            .map_err(|_| WorkError::Panicked)?;
        let encoded = encoded?;
        if encoded.writes_groups() && (unfolded.bytes > 0 || !unfolded.known) {
            // Rows of one chunk before the batch's rows of several (this
            // worker's, or a worker's before it): folded first.
            let up_to = i32::try_from(from).unwrap_or(i32::MAX).saturating_sub(1);
            self.fold_text(unfolded, up_to).await?;
        }
        for chunk in &played.chunks {
            for hook in &self.hooks {
                hook.chunk(chunk.clone())
                    .await
                    .map_err(|error| WorkError::Hook { seq: chunk.seq, error })?;
            }
        }
        if !self.store.emulation_commit(self.session_id, &self.lease, from, &encoded).await? {
            return Err(WorkError::LeaseLost);
        }
        unfolded.bytes += encoded.single_chunk_text_bytes();
        for line in &played.progress.lines {
            unfolded.last = unfolded.last.max(i32::try_from(line.seq).unwrap_or(i32::MAX));
        }
        Ok((emulator, Some(batch.more)))
    }

    /// Folds the recording's rows of one chunk's text after the last fold
    /// up to chunk `up_to` into one (`Store::recording_text_fold`), or
    /// several when they take more than twice the options'
    /// `text_group_bytes` as stored (a fold holds a few MiB of text in
    /// memory at most: zstd stores a chunk's lines 2 to 4 times smaller),
    /// the CPU work on the emulation's threads.
    async fn fold_text(&self, unfolded: &mut Unfolded, up_to: i32) -> Result<(), WorkError> {
        let mut after = unfolded.after;
        let max_bytes = i64::try_from(self.options.text_group_bytes.saturating_mul(2))
            .unwrap_or(i64::MAX)
            .max(1);
        loop {
            let rows =
                self.store.recording_text_to_fold(self.session_id, after, up_to, max_bytes).await?;
            let (last, more) = (rows.last_seq(), rows.more());
            if rows.len() >= 2 {
                let folded = self
                    .threads
                    .run(move || rows.fold())
                    .await
                    .map_err(|_| WorkError::Panicked)??;
                if !self.store.recording_text_fold(&self.lease, &folded).await? {
                    return Err(WorkError::LeaseLost);
                }
            }
            match last {
                Some(last) if more => after = last,
                _ => break,
            }
        }
        *unfolded = Unfolded {
            after: up_to.min(unfolded.last),
            bytes: 0,
            last: unfolded.last,
            known: true,
        };
        Ok(())
    }
}

/// The recording's text its worker wrote since it last folded it: the
/// rows of chunks after `after` (-1 until a first fold: a worker that
/// resumes does not know), `bytes` of lines, up to chunk `last`; `known`
/// once a fold has seen what workers before this one left.
#[derive(Debug)]
struct Unfolded {
    after: i32,
    bytes: usize,
    last: i32,
    known: bool,
}

impl Default for Unfolded {
    fn default() -> Self {
        Self { after: -1, bytes: 0, last: -1, known: false }
    }
}
