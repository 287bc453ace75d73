//! The CPU side of a worker: a recording's terminal, played chunk by chunk
//! from stored canonical lines, with the snapshot rule. No I/O.

use std::sync::Arc;

use termaudit_domain::asciicast::{
    Decoder, EventCode, Micros, Replay, SnapshotSchedule, Transcriber, Version,
};
use termaudit_storage::{ChunkLines, EmulationProgress, EmulationState, Snapshot, TextLine};
use uuid::Uuid;

use crate::hook::EmulatedChunk;

/// A recording's emulation in memory: the terminal after chunks
/// `0 .. next_seq`, the snapshot rule's counters, and the text extraction
/// (which lines of the screen are finished, for search).
pub struct Emulator {
    session_id: Uuid,
    replay: Replay,
    schedule: SnapshotSchedule,
    transcriber: Transcriber,
    next_seq: u32,
    /// Chunks below this are played for their text only (see
    /// [`EmulationState::backfill_until`]).
    backfill_until: u32,
}

/// What playing a batch of chunks produced.
pub struct Played {
    /// The progress to record: position, terminal, counters, snapshots.
    pub progress: EmulationProgress,
    /// The chunks for the hooks (empty when there are none).
    pub chunks: Vec<Arc<EmulatedChunk>>,
}

impl Emulator {
    /// Resumes from the stored state; `size` is the recording's declared
    /// screen, for a recording not emulated at all yet.
    pub fn resume(session_id: Uuid, state: EmulationState, size: (u16, u16)) -> Self {
        let replay = match &state.terminal {
            Some(terminal) => Replay::restore(terminal),
            None => Replay::new(size.0, size.1),
        };
        Self {
            session_id,
            replay,
            schedule: state.schedule,
            transcriber: Transcriber::resume(state.text),
            next_seq: state.next_seq,
            backfill_until: state.backfill_until,
        }
    }

    /// The next chunk to play.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Plays `chunks`, which must start at [`Emulator::next_seq`] and follow
    /// each other; with `for_hooks`, also returns each chunk's events and
    /// screen. A chunk below `backfill_until` yields its text only: no
    /// snapshot (it has its own already) and nothing for the hooks.
    pub fn play(&mut self, chunks: &[ChunkLines], for_hooks: bool) -> Played {
        let mut snapshots = Vec::new();
        let mut emulated = Vec::new();
        let mut lines = Vec::new();
        let mut screen_time = Micros::ZERO;
        for chunk in chunks {
            debug_assert_eq!(chunk.seq, self.next_seq, "chunks follow each other");
            let text_only = chunk.seq < self.backfill_until;
            let for_hooks = for_hooks && !text_only;
            let mut events = Vec::new();
            // Stored lines are canonical v2, checked when they were stored.
            let mut decoder = Decoder::resume(Version::V2, Micros::ZERO);
            for line in chunk.lines.split_terminator('\n') {
                let Ok(Some(event)) = decoder.decode_line(line) else { continue };
                if matches!(event.code, EventCode::Output | EventCode::Resize) {
                    self.replay.transcribe(&event, &mut self.transcriber);
                    self.schedule.played(&event);
                    if for_hooks {
                        events.push(event);
                    }
                }
            }
            lines.extend(
                self.transcriber.take_finished().into_iter().zip(0..).map(|(line, n)| TextLine {
                    seq: chunk.seq,
                    n,
                    time: line.time,
                    text: line.text,
                }),
            );
            screen_time = chunk.last_time;
            // The rule runs over the text-only chunks too, so the snapshots
            // after them fall where a first emulation would put them.
            let due = self.schedule.chunk_end(chunk.last_time) && !text_only;
            let snapshot = due.then(|| self.replay.snapshot());
            if let Some(terminal) = &snapshot {
                snapshots.push(Snapshot {
                    after_seq: chunk.seq,
                    at_time: chunk.last_time,
                    terminal: terminal.clone(),
                });
            }
            if for_hooks {
                emulated.push(Arc::new(EmulatedChunk {
                    session_id: self.session_id,
                    seq: chunk.seq,
                    first_time: chunk.first_time,
                    last_time: chunk.last_time,
                    events,
                    screen: self.replay.screen_text(),
                    cursor: self.replay.cursor(),
                    snapshot,
                }));
            }
            self.next_seq = chunk.seq + 1;
        }
        Played {
            progress: EmulationProgress {
                next_seq: self.next_seq,
                terminal: self.replay.snapshot(),
                schedule: self.schedule,
                snapshots,
                text: self.transcriber.carry().clone(),
                lines,
                screen: self.replay.screen_lines(&self.transcriber),
                screen_time,
            },
            chunks: emulated,
        }
    }
}

/// Events the emulation plays: everything else leaves the screen as it is.
#[cfg(test)]
fn plays(event: &termaudit_domain::asciicast::Event) -> bool {
    matches!(event.code, EventCode::Output | EventCode::Resize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use termaudit_domain::asciicast::{Event, Resize, SNAPSHOT_EVERY_OUTPUT};

    fn chunk(seq: u32, events: &[Event]) -> ChunkLines {
        ChunkLines {
            seq,
            first_time: events.first().map_or(Micros::ZERO, |e| e.time),
            last_time: events.last().map_or(Micros::ZERO, |e| e.time),
            lines: events.iter().map(|e| e.to_line() + "\n").collect(),
        }
    }

    fn events(from: u64, n: u64) -> Vec<Event> {
        (from..from + n)
            .map(|i| match i % 50 {
                49 => {
                    Event::resize(Micros(i * 1000), Resize { cols: 30 + (i % 7) as u16, rows: 8 })
                }
                25 => Event::marker(Micros(i * 1000), "m"),
                _ => Event::output(
                    Micros(i * 1000),
                    format!("\u{1b}[3{}mline {i}\u{1b}[0m {}\r\n", i % 8, "x".repeat(4000)),
                ),
            })
            .collect()
    }

    #[test]
    fn played_in_batches_or_resumed_from_a_dump_it_equals_one_replay() {
        let all: Vec<Vec<Event>> = (0..12).map(|c| events(c * 40, 40)).collect();
        let chunks: Vec<ChunkLines> =
            all.iter().enumerate().map(|(seq, e)| chunk(seq as u32, e)).collect();
        let start = EmulationState {
            next_seq: 0,
            terminal: None,
            schedule: SnapshotSchedule::default(),
            text: Default::default(),
            backfill_until: 0,
        };
        let session = Uuid::nil();

        let mut whole = Emulator::resume(session, start.clone(), (40, 10));
        let once = whole.play(&chunks, true);
        assert_eq!(once.chunks.len(), 12);
        assert!(once.progress.snapshots.len() >= 2, "160 KiB per chunk: snapshots");

        // The same chunks three at a time, each batch resumed from the last one's state.
        let mut state = start;
        let mut snapshots = Vec::new();
        let (mut lines, mut screen) = (Vec::new(), Vec::new());
        for batch in chunks.chunks(3) {
            let mut emulator = Emulator::resume(session, state, (40, 10));
            let played = emulator.play(batch, false);
            assert!(played.chunks.is_empty());
            snapshots.extend(played.progress.snapshots);
            lines.extend(played.progress.lines);
            screen = played.progress.screen;
            state = EmulationState {
                next_seq: played.progress.next_seq,
                terminal: Some(played.progress.terminal),
                schedule: played.progress.schedule,
                text: played.progress.text,
                backfill_until: 0,
            };
        }
        assert_eq!(state.next_seq, 12);
        // The text is the same too, each line numbered within its chunk.
        assert!(once.progress.lines.len() > 400, "{}", once.progress.lines.len());
        assert_eq!(lines, once.progress.lines);
        assert_eq!(screen, once.progress.screen);
        assert!(lines.iter().all(|l| l.text.starts_with("line ") && !l.text.contains('\u{1b}')));
        let at = |s: &[Snapshot]| s.iter().map(|s| (s.after_seq, s.at_time)).collect::<Vec<_>>();
        assert_eq!(at(&snapshots), at(&once.progress.snapshots));
        for (resumed, reference) in snapshots.iter().zip(&once.progress.snapshots) {
            let (a, b) = (Replay::restore(&resumed.terminal), Replay::restore(&reference.terminal));
            assert_eq!(a.screen_text(), b.screen_text());
            assert_eq!(a.cursor(), b.cursor());
        }

        // The reference: one replay of every event.
        let mut reference = Replay::new(40, 10);
        let mut output = 0;
        for event in all.iter().flatten().filter(|e| plays(e)) {
            reference.apply(event);
            if event.code == EventCode::Output {
                output += event.data.len() as u64;
            }
        }
        let last = once.chunks.last().expect("chunks");
        assert_eq!(last.screen, reference.screen_text());
        assert_eq!(last.cursor, reference.cursor());
        assert!(output / SNAPSHOT_EVERY_OUTPUT >= once.progress.snapshots.len() as u64);
        // Hooks see the played events only, in order.
        assert_eq!(
            once.chunks.iter().flat_map(|c| c.events.clone()).collect::<Vec<_>>(),
            all.iter().flatten().filter(|e| plays(e)).cloned().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_backfill_yields_the_text_and_only_the_snapshots_and_chunks_past_it() {
        let chunks: Vec<ChunkLines> =
            (0..12).map(|c| chunk(c as u32, &events(c * 40, 40))).collect();
        let state = |backfill_until| EmulationState {
            next_seq: 0,
            terminal: None,
            schedule: SnapshotSchedule::default(),
            text: Default::default(),
            backfill_until,
        };
        let first = Emulator::resume(Uuid::nil(), state(0), (40, 10)).play(&chunks, true);
        let again = Emulator::resume(Uuid::nil(), state(8), (40, 10)).play(&chunks, true);

        assert_eq!(again.progress.lines, first.progress.lines);
        assert_eq!(again.progress.screen, first.progress.screen);
        let at = |s: &[Snapshot]| s.iter().map(|s| (s.after_seq, s.at_time)).collect::<Vec<_>>();
        let past: Vec<_> =
            first.progress.snapshots.iter().filter(|s| s.after_seq >= 8).cloned().collect();
        assert!(!past.is_empty() && past.len() < first.progress.snapshots.len());
        assert_eq!(at(&again.progress.snapshots), at(&past));
        assert_eq!(again.chunks.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![8, 9, 10, 11]);
        assert_eq!(again.progress.schedule, first.progress.schedule);
    }
}
