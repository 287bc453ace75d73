//! The threads the workers play on: a few OS threads of the emulation's
//! own, at a lower scheduling priority (`nice`) than the rest of the
//! process, so on a busy machine the scheduler runs the ingest and the
//! reads first: the emulation may fall behind for a while (reads replay
//! from the last snapshot meanwhile, and its lag is in `/metrics`). On
//! two cores that are both busy this is not enough for one recording's
//! ingest to keep its pace (docs/benchmarks.md, *The emulation on threads
//! of its own, niced*); it is for several at once.
//!
//! A worker's CPU work for a batch (playing its chunks through the terminal
//! emulator, cutting their text into window codes, compressing text and
//! snapshots) runs here as one job; its database work stays on the async
//! runtime. The niceness is per thread on Linux (`setpriority` with
//! `PRIO_PROCESS` and 0 names the calling thread), so it is set by each
//! thread on itself when it starts; an unprivileged thread cannot lower
//! its niceness again, which is why the threads are the emulation's alone
//! rather than tokio's shared blocking pool.

use std::{
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, mpsc},
};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// Adds `nice` to the calling thread's niceness, as `nice(1)` does to a
/// process (capped at 19).
fn lower_priority(nice: i32) {
    use rustix::process::{getpriority_process, setpriority_process};
    let niceness = getpriority_process(None).map(|now| (now + nice).min(19));
    if let Err(err) = niceness.and_then(|niceness| setpriority_process(None, niceness)) {
        tracing::warn!(error = %err, nice, "the emulation's threads keep the process's priority");
    }
}

/// A job panicked (the thread survives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panicked;

/// The emulation's threads; they stop once this is dropped and their jobs
/// are done.
pub struct PlayThreads {
    jobs: mpsc::Sender<Job>,
}

impl PlayThreads {
    /// Starts `count` threads (at least one), `nice` (0 to 19) below the
    /// process's priority.
    pub fn start(count: usize, nice: i32) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..count.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("emulation-{i}")).spawn(move || {
                if nice != 0 {
                    lower_priority(nice);
                }
                loop {
                    // The lock is held while waiting only: a job runs unlocked.
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(mpsc::RecvError) => return,
                    }
                }
            })?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on one of the threads and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Panicked> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(std::panic::catch_unwind(AssertUnwindSafe(work)));
        });
        self.jobs.send(job).map_err(|_| Panicked)?;
        result.await.map_err(|_| Panicked)?.map_err(|_| Panicked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn niceness() -> i32 {
        rustix::process::getpriority_process(None).expect("getpriority")
    }

    #[tokio::test]
    async fn jobs_run_at_the_threads_niceness_and_a_panic_is_an_error() {
        let before = niceness();
        let threads = PlayThreads::start(2, 7).expect("threads");
        let results =
            futures_util::future::join_all((0..8).map(|i| threads.run(move || (i, niceness()))))
                .await;
        for (i, result) in results.into_iter().enumerate() {
            let (n, nice) = result.expect("ran");
            assert_eq!(n, i);
            // Raised by 7, capped at 19 (a test runner may be niced already).
            assert_eq!(nice, (before + 7).min(19));
        }
        assert_eq!(niceness(), before, "the caller's own priority is untouched");
        assert_eq!(threads.run(|| panic!("boom")).await, Err::<(), _>(Panicked));
        assert_eq!(threads.run(|| 42).await, Ok(42), "the threads survive a panic");
    }
}
