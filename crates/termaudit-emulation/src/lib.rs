//! Terminal emulation of recordings, off the ingest's path.
//!
//! A chunk is answered once it is checked and stored
//! (`Store::append_chunk`); playing it through the terminal emulator, which
//! keeps the snapshots seeking starts from, happens here, afterwards, in a
//! worker per recording. Which replica works on which recording is decided
//! by a lease in the database (`recording_emulation`: holder, expiry, and
//! the emulated position), taken when free or expired, renewed while the
//! worker works, and given back when it is done; a replica that dies stops
//! renewing, and any replica takes its recordings over once their leases
//! expire, resuming from the stored terminal and position. Every write of a
//! worker checks that it still holds the lease and that the position is
//! the one it started from, so two workers never both record a chunk.
//!
//! One step and one loop, like the retention sweep: a worker
//! catches one recording up; [`run`] finds recordings to work on (chunks
//! stored through this replica at once, those of others and expired leases
//! every [`EmulationOptions::poll`]) and runs at most
//! [`EmulationOptions::workers`] workers at a time, the rest queued, so
//! memory is bounded whatever the number of recordings. Their CPU work runs
//! on the emulation's own threads, below the process's priority
//! ([`threads`]): on a busy machine the scheduler runs the ingest and the
//! reads first, and the emulation lags meanwhile. While the replica
//! ingests a bulk upload, which alone keeps a small machine's cores busy,
//! a worker waits before each batch
//! ([`EmulationOptions::yield_to_ingest`], 30 s at most while the upload
//! lasts): a thread busy beside the upload slows it whatever its priority.
//!
//! The text the screen showed, which search across recordings reads, is
//! extracted while playing (`termaudit_domain::asciicast::Transcriber`) and
//! written with the worker's progress, in the same statement, so each
//! chunk's lines are written once. Recordings emulated before the text was
//! extracted (V17) are queued again at chunk 0 with the position they had
//! reached (`backfill_until`): their chunks up to it are played for their
//! text only (no snapshot, no hook), after the recordings that are behind
//! for real. What other work derives from the screen (live watching)
//! receives each emulated chunk, in order, through an
//! [`EmulationHook`].

mod hook;
mod play;
pub mod threads;
mod worker;

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use termaudit_storage::{Lease, Store};
use tokio::{sync::mpsc, task::JoinSet};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use hook::{BroadcastHook, EmulatedChunk, EmulationHook, HookError, Hooks};
pub use play::{Emulator, Played};
use threads::PlayThreads;
pub use worker::{Outcome, WorkError};

/// How a replica emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulationOptions {
    /// Recordings emulated at once on this replica (each holds a terminal
    /// and a batch of at most a few MiB of chunks); the others wait. `0`:
    /// this replica emulates nothing.
    pub workers: usize,
    /// How long a lease lasts without renewal: how long a dead replica's
    /// recordings wait before another replica takes them over.
    pub lease: Duration,
    /// How often the database is asked for recordings to work on (chunks
    /// stored through other replicas, expired leases).
    pub poll: Duration,
    /// How long a caught-up worker keeps its recording when no other
    /// waits, so a live recording's next chunks find it ready.
    pub linger: Duration,
    /// How much lower than the rest of the process the emulation's threads
    /// run (their niceness above the process's, 0 to 19; see [`threads`]).
    pub nice: i32,
    /// How long a recording's emulation waits, at most, while this replica
    /// ingests a bulk upload (`Store::busy_ingesting`), so that the upload
    /// has the cores; past it, the emulation goes on beside the upload.
    /// Zero: it never waits.
    pub yield_to_ingest: Duration,
    /// How much text (bytes of lines) a recording's rows of one chunk's
    /// text hold before its worker folds them into one
    /// (`Store::recording_text_fold`); the rest is folded when the
    /// recording ends.
    pub text_group_bytes: usize,
}

impl EmulationOptions {
    /// How much lower the emulation's threads run by default.
    pub const NICE: i32 = 10;
    /// How long the emulation waits for a bulk upload by default.
    pub const YIELD_TO_INGEST: Duration = Duration::from_secs(30);
    /// How much text a row of several chunks' holds by default: a MiB
    /// compresses 13% better than the 55 KB of a chunk's lines, and its
    /// window codes are those of 16 chunks' at once (see
    /// docs/benchmarks.md, *Search across recordings*).
    pub const TEXT_GROUP_BYTES: usize = 1 << 20;

    /// The options for a lease of `lease` with `workers` at once: a look
    /// at the database every second (at most a quarter of the lease), a
    /// caught-up recording kept for a third of the lease, the threads
    /// [`Self::NICE`] lower, waiting [`Self::YIELD_TO_INGEST`] at most for
    /// a bulk upload, folding text rows by [`Self::TEXT_GROUP_BYTES`].
    pub fn new(workers: usize, lease: Duration) -> Self {
        Self {
            workers,
            lease,
            poll: (lease / 4).min(Duration::from_secs(1)),
            linger: lease / 3,
            nice: Self::NICE,
            yield_to_ingest: Self::YIELD_TO_INGEST,
            text_group_bytes: Self::TEXT_GROUP_BYTES,
        }
    }
}

/// Finds and emulates recordings until `shutdown`, then lets the leases go
/// (a killed process does not: its leases expire).
pub async fn run(
    store: Store,
    options: EmulationOptions,
    hooks: Hooks,
    shutdown: CancellationToken,
) {
    if options.workers == 0 {
        return;
    }
    // As many threads as cores at most: more would only share them.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = match PlayThreads::start(options.workers.min(cores), options.nice) {
        Ok(threads) => Arc::new(threads),
        Err(err) => {
            tracing::error!(error = %err, "cannot start the emulation's threads; nothing is emulated");
            return;
        }
    };
    let lease = Lease::new(Uuid::new_v4(), options.lease);
    tracing::info!(replica = %lease.holder(), workers = options.workers, "emulation starts");
    let mut stored = store.stored_chunks();
    let mut poll = tokio::time::interval(options.poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut queue = Queue::default();
    let waiting = Arc::new(AtomicUsize::new(0));
    let mut active: HashMap<Uuid, mpsc::UnboundedSender<()>> = HashMap::new();
    let mut tasks: JoinSet<(Uuid, Result<Outcome, WorkError>)> = JoinSet::new();
    let stop = shutdown.child_token();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(done) = tasks.join_next() => {
                if let Ok((session_id, outcome)) = done {
                    active.remove(&session_id);
                    if let Err(err) = outcome {
                        tracing::warn!(error = %err, %session_id, "emulation stopped; it resumes later");
                    }
                }
            }
            notice = stored.recv() => match notice {
                Ok(session_id) => match active.get(&session_id) {
                    Some(wake) => drop(wake.send(())),
                    None => queue.push(session_id),
                },
                // Notices were missed: the next look at the database finds them.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => poll.reset_immediately(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    stored = store.stored_chunks();
                }
            },
            _ = poll.tick() => {
                let limit = i64::try_from(options.workers * 4).unwrap_or(i64::MAX);
                match store.emulation_pending(&lease, limit).await {
                    Ok(pending) => {
                        for session_id in pending.into_iter().filter(|id| !active.contains_key(id)) {
                            queue.push(session_id);
                        }
                    }
                    Err(err) => tracing::debug!(error = %err, "cannot look for recordings to emulate"),
                }
            }
        }
        while active.len() < options.workers {
            let Some(session_id) = queue.pop() else { break };
            if active.contains_key(&session_id) {
                continue;
            }
            let (wake, wakes) = mpsc::unbounded_channel();
            active.insert(session_id, wake);
            let worker = worker::Worker {
                store: store.clone(),
                lease: lease.clone(),
                session_id,
                hooks: hooks.clone(),
                options,
                waiting: waiting.clone(),
                threads: threads.clone(),
                wake: wakes,
                stop: stop.clone(),
            };
            tasks.spawn(async move { (session_id, worker.run().await) });
        }
        waiting.store(queue.len(), Ordering::Relaxed);
    }
    // Workers release their leases and stop; a few seconds at most.
    stop.cancel();
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!("emulation workers did not stop in 5 s; their leases expire");
    }
}

/// Recordings waiting for a worker, each once, oldest first.
#[derive(Default)]
struct Queue {
    order: VecDeque<Uuid>,
    members: HashSet<Uuid>,
}

impl Queue {
    fn push(&mut self, session_id: Uuid) {
        if self.members.insert(session_id) {
            self.order.push_back(session_id);
        }
    }

    fn pop(&mut self) -> Option<Uuid> {
        let session_id = self.order.pop_front()?;
        self.members.remove(&session_id);
        Some(session_id)
    }

    fn len(&self) -> usize {
        self.order.len()
    }
}
