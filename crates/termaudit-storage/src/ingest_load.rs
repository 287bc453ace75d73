//! How hard this process is ingesting: the bytes of the chunks it stored
//! in about the last second.
//!
//! Work that can wait (the terminal emulation, the compactor) asks before
//! taking a core. During a bulk upload the ingest alone keeps a small
//! machine's cores busy, and any other busy thread slows it, whatever its
//! priority (measured on two vCPUs: a niced or `SCHED_IDLE` loop beside it
//! cost the ingest a fifth: docs/benchmarks.md). Terminals live at human
//! speed stay far below the default [`IngestLoad::BUSY_BYTES_PER_SECOND`],
//! so for them nothing waits.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// The chunks' bytes stored per half second, the current half and the one
/// before.
#[derive(Debug)]
pub(crate) struct IngestLoad {
    window: Mutex<Window>,
    /// From how many stored bytes a second this process counts as busy.
    busy_bytes_per_second: u64,
    /// How long work that can wait has waited for the ingest, in all.
    yielded_micros: AtomicU64,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    current: u64,
    previous: u64,
}

const SLOT: Duration = Duration::from_millis(500);

impl Default for IngestLoad {
    fn default() -> Self {
        Self::new(Self::BUSY_BYTES_PER_SECOND)
    }
}

impl IngestLoad {
    /// From how many stored bytes a second this process counts as busy
    /// ingesting by default: a bulk upload, not terminals (a busy one
    /// prints some kilobytes a second; 16 MiB a second is a thousand very
    /// busy ones).
    pub const BUSY_BYTES_PER_SECOND: u64 = 16 << 20;

    pub fn new(busy_bytes_per_second: u64) -> Self {
        Self {
            window: Mutex::new(Window { started: Instant::now(), current: 0, previous: 0 }),
            busy_bytes_per_second: busy_bytes_per_second.max(1),
            yielded_micros: AtomicU64::new(0),
        }
    }

    /// A chunk of `bytes` was stored at `now`.
    pub fn record(&self, bytes: usize, now: Instant) {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        window.roll(now);
        window.current = window.current.saturating_add(bytes as u64);
    }

    /// Whether the bytes stored in the last half second to second, at
    /// `now`, come to a second's worth of busy.
    pub fn busy(&self, now: Instant) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        window.roll(now);
        window.previous + window.current >= self.busy_bytes_per_second
    }

    /// Work that could wait waited `waited` for the ingest.
    pub fn yielded(&self, waited: Duration) {
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.yielded_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// How long work that could wait has waited for the ingest, in all.
    pub fn yielded_total(&self) -> Duration {
        Duration::from_micros(self.yielded_micros.load(Ordering::Relaxed))
    }
}

impl Window {
    fn roll(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.started);
        if age < SLOT {
            return;
        }
        self.previous = if age < 2 * SLOT { self.current } else { 0 };
        self.current = 0;
        self.started = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn a_bulk_upload_is_busy_for_a_second_after_its_last_chunk() {
        let load = IngestLoad::default();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        assert!(!load.busy(start));
        // 4 MiB chunks every 100 ms: 40 MiB a second.
        for i in 0..20 {
            load.record(4 * MIB, at(i * 100));
            if i >= 4 {
                assert!(load.busy(at(i * 100)), "at {} ms", i * 100);
            }
        }
        // The last chunk was at 1.9 s: still counted in the second after it,
        // then forgotten.
        assert!(load.busy(at(2_200)));
        assert!(!load.busy(at(3_100)));
    }

    #[test]
    fn terminals_at_human_speed_are_never_busy() {
        let load = IngestLoad::default();
        let start = Instant::now();
        // A thousand terminals, each a 4 KiB chunk every 250 ms: 16 MB a
        // second less a little.
        for tick in 0..40u64 {
            let now = start + Duration::from_millis(tick * 250);
            for _ in 0..999 {
                load.record(4 * 1024, now);
            }
            assert!(!load.busy(now), "tick {tick}");
        }
    }
}
