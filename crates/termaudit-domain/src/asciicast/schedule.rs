//! When a recording's emulation keeps a snapshot of the terminal, so that a
//! player seeking anywhere replays at most one interval: after a chunk, once
//! [`SNAPSHOT_EVERY_OUTPUT`] bytes of output have been played since the last
//! snapshot, or [`SNAPSHOT_EVERY`] of recording time has passed.
//!
//! The rule depends only on the chunks and the two counters kept here, so
//! an emulation resumed from its stored counters (after a crash, on another
//! replica) keeps exactly the snapshots of a replay from zero.

use super::{Event, EventCode, Micros};

/// A snapshot is kept after a chunk once this much output has been played
/// since the last one...
pub const SNAPSHOT_EVERY_OUTPUT: u64 = 256 << 10;
/// ... or this much recording time has passed.
pub const SNAPSHOT_EVERY: Micros = Micros(60_000_000);

/// The snapshot rule's counters since the last snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotSchedule {
    /// Bytes of output played since the last snapshot.
    pub output_since: u64,
    /// The last event time the last snapshot covers (zero before the first).
    pub last_snapshot: Micros,
}

impl SnapshotSchedule {
    /// Counts an event as it is played.
    pub fn played(&mut self, event: &Event) {
        if event.code == EventCode::Output {
            self.output_since = self.output_since.saturating_add(event.data.len() as u64);
        }
    }

    /// A chunk ended with its last event at `last_time` (the previous
    /// chunk's when it had none): whether a snapshot is kept after it. When
    /// one is, the counters start again from it.
    pub fn chunk_end(&mut self, last_time: Micros) -> bool {
        let due = self.output_since >= SNAPSHOT_EVERY_OUTPUT
            || last_time.0.saturating_sub(self.last_snapshot.0) >= SNAPSHOT_EVERY.0;
        if due {
            *self = Self { output_since: 0, last_snapshot: last_time };
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_or_time_makes_a_snapshot_due_and_counting_starts_again() {
        let mut schedule = SnapshotSchedule::default();
        schedule.played(&Event::output(Micros(1), "x".repeat(100_000)));
        // Markers, input and resizes are not output.
        schedule.played(&Event::marker(Micros(2), "y".repeat(500_000)));
        assert!(!schedule.chunk_end(Micros(2)));
        assert_eq!(schedule.output_since, 100_000);
        schedule.played(&Event::output(Micros(3), "x".repeat(162_144)));
        assert!(schedule.chunk_end(Micros(3)));
        assert_eq!(schedule, SnapshotSchedule { output_since: 0, last_snapshot: Micros(3) });
        assert!(!schedule.chunk_end(Micros(3 + SNAPSHOT_EVERY.0 - 1)));
        assert!(schedule.chunk_end(Micros(3 + SNAPSHOT_EVERY.0)));
    }
}
