//! Checking the recordings' emulation from outside: waiting until it has
//! caught up, comparing its snapshots with a replay from zero, and a hook
//! that records what it was fed.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::{TryStreamExt as _, future::BoxFuture};
use termaudit_domain::asciicast::{
    Decoder, Event, EventCode, Micros, Replay, Resize, SnapshotSchedule,
};
use termaudit_emulation::{EmulatedChunk, EmulationHook, HookError};
use termaudit_storage::{EmulationLag, Store};

use crate::TestDatabase;
use uuid::Uuid;

/// Waits (up to `within`) until the emulation has no work left in `db`:
/// every stored chunk emulated, every finalized recording's emulation
/// closed. Otherwise the lag last seen.
pub async fn wait_until_emulated(db: &TestDatabase, within: Duration) -> Result<(), EmulationLag> {
    let deadline = tokio::time::Instant::now() + within;
    let mut last = EmulationLag::default();
    loop {
        // A connection per look: the database may be restarting.
        if let Ok(client) = db.try_connect().await {
            let left = client
                .query_one(
                    "SELECT count(*) FILTER (WHERE r.next_seq > e.next_seq),
                            coalesce(sum(greatest(r.next_seq - e.next_seq, 0)), 0)::int8,
                            count(*)
                     FROM recording_emulation e JOIN recordings r USING (session_id)
                     WHERE r.next_seq > e.next_seq OR r.finalized_at IS NOT NULL",
                    &[],
                )
                .await;
            if let Ok(row) = left {
                if row.get::<_, i64>(2) == 0 {
                    return Ok(());
                }
                last = EmulationLag {
                    recordings: row.get(0),
                    chunks: row.get(1),
                    ..EmulationLag::default()
                };
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that the stored snapshots of `session`'s recording are those a
/// replay from zero keeps (after the same chunks, at the same times, the
/// same screens) and returns how many there are. `db` reads the chunks'
/// boundaries; the events come from the download, so the session must have
/// no commands or runbook steps (they would be merged in as markers).
pub async fn assert_snapshots_equal_a_replay_from_zero(
    store: &Store,
    db: &tokio_postgres::Client,
    session: Uuid,
) -> usize {
    let recording = store.recording(session).await.expect("a query").expect("a recording");
    let file: Vec<u8> = store
        .recording_download(session, &recording, None)
        .map_ok(|piece| piece.to_vec())
        .try_concat()
        .await
        .expect("the download");
    let file = String::from_utf8(file).expect("UTF-8");
    let mut lines = file.lines();
    let (header, mut decoder) =
        Decoder::from_header_line(lines.next().expect("a header")).expect("a valid header");
    let mut events = lines.map(|line| decoder.decode_line(line).expect("a valid line"));
    let chunks = db
        .query(
            "SELECT seq, events, last_time_us FROM recording_chunks WHERE session_id = $1 ORDER BY seq",
            &[&session],
        )
        .await
        .expect("a query");

    let mut replay = Replay::new(header.width, header.height);
    let mut schedule = SnapshotSchedule::default();
    let mut expected = Vec::new();
    for chunk in &chunks {
        let (seq, count, last_time): (i32, i32, i64) = (chunk.get(0), chunk.get(1), chunk.get(2));
        for _ in 0..count {
            let event = events.next().flatten().expect("the chunk's events are downloaded");
            if matches!(event.code, EventCode::Output | EventCode::Resize) {
                replay.apply(&event);
                schedule.played(&event);
            }
        }
        let last_time = Micros(u64::try_from(last_time).unwrap_or(0));
        if schedule.chunk_end(last_time) {
            expected.push((u32::try_from(seq).unwrap_or(0), last_time, replay.snapshot()));
        }
    }
    assert!(events.next().is_none(), "the download holds only the chunks' events");

    let stored = store.recording_snapshots(session).await.expect("the snapshots");
    assert_eq!(
        stored.iter().map(|s| (s.after_seq, s.at_time)).collect::<Vec<_>>(),
        expected.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>(),
        "snapshots after the chunks a replay from zero keeps them after ({session})"
    );
    for (snapshot, (seq, _, reference)) in stored.iter().zip(&expected) {
        let restored = Replay::restore(&snapshot.terminal);
        let reference = Replay::restore(reference);
        assert_eq!(restored.size(), reference.size(), "size after chunk {seq} ({session})");
        assert_eq!(
            restored.screen_text(),
            reference.screen_text(),
            "screen after chunk {seq} ({session})"
        );
        assert_eq!(restored.cursor(), reference.cursor(), "cursor after chunk {seq} ({session})");
    }
    stored.len()
}

/// A hook that records every chunk it is fed, by replica-independent
/// position; it can hold one chunk forever (a worker stuck in its hook).
#[derive(Default)]
pub struct Recorder {
    /// `(session, seq)` in the order they came.
    pub chunks: Mutex<Vec<(Uuid, u32)>>,
    /// Recordings reported complete.
    pub finished: Mutex<Vec<(Uuid, u32)>>,
    /// The screen after each chunk, by position (the last delivery wins).
    pub screens: Mutex<BTreeMap<(Uuid, u32), Vec<String>>>,
    hold: Option<(Uuid, u32)>,
    /// Told when the held chunk arrives.
    pub holding: tokio::sync::Notify,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A recorder that never returns from chunk `seq` of `session`.
    pub fn holding(session: Uuid, seq: u32) -> Arc<Self> {
        Arc::new(Self { hold: Some((session, seq)), ..Self::default() })
    }

    pub fn delivered(&self) -> Vec<(Uuid, u32)> {
        self.chunks.lock().expect("not poisoned").clone()
    }

    /// The positions delivered for `session`, in order.
    pub fn of(&self, session: Uuid) -> Vec<u32> {
        self.delivered().into_iter().filter(|(s, _)| *s == session).map(|(_, seq)| seq).collect()
    }
}

/// The [`EmulationHook`] of an `Arc<Recorder>` (what the server is given).
pub struct RecorderHook(pub Arc<Recorder>);

impl EmulationHook for RecorderHook {
    fn chunk(&self, chunk: Arc<EmulatedChunk>) -> BoxFuture<'static, Result<(), HookError>> {
        let recorder = self.0.clone();
        Box::pin(async move {
            if recorder.hold == Some((chunk.session_id, chunk.seq)) {
                recorder.holding.notify_one();
                std::future::pending::<()>().await;
            }
            recorder.chunks.lock().expect("not poisoned").push((chunk.session_id, chunk.seq));
            recorder
                .screens
                .lock()
                .expect("not poisoned")
                .insert((chunk.session_id, chunk.seq), chunk.screen.clone());
            Ok(())
        })
    }

    fn finished(&self, session_id: Uuid, chunks: u32) -> BoxFuture<'static, ()> {
        let recorder = self.0.clone();
        Box::pin(async move {
            recorder.finished.lock().expect("not poisoned").push((session_id, chunks));
        })
    }
}

/// A recording's chunk bodies (chunk 0 starts with the header, 80 x 24):
/// `lines` coloured lines of about 500 bytes per chunk, 50 ms apart, with
/// an alternate screen, a cursor move and a resize now and then, so the
/// terminal has state to carry from chunk to chunk; `tag` goes into every
/// line. About 40 KiB of output per 80 lines: a snapshot every 7 chunks.
pub fn busy_chunks(tag: &str, chunks: u32, lines: u32) -> Vec<String> {
    (0..chunks)
        .map(|seq| {
            let mut body = String::new();
            if seq == 0 {
                body.push_str("{\"version\": 2, \"width\": 80, \"height\": 24}\n");
            }
            for i in 0..lines {
                let n = seq * lines + i;
                let time = Micros(u64::from(n) * 50_000);
                let event = match n % 97 {
                    13 => Event::output(time, "\u{1b}[?1049h\u{1b}[Hfull screen \u{1b}[5;10Hhere"),
                    14 => Event::output(time, "\u{1b}[?1049l"),
                    50 => Event::resize(
                        time,
                        Resize { cols: 60 + (n % 40) as u16, rows: 20 + (n % 10) as u16 },
                    ),
                    _ => Event::output(
                        time,
                        format!(
                            "\u{1b}[3{}m{tag} chunk {seq} line {i}\u{1b}[0m {}\r\n",
                            n % 8,
                            "lorem ipsum dolor sit amet ".repeat(17)
                        ),
                    ),
                };
                body.push_str(&event.to_line());
                body.push('\n');
            }
            body
        })
        .collect()
}

/// A recording's whole text as the storage reads it (the transcript's
/// download and the evidence bundle read it so, a few chunks a round).
pub async fn transcript(store: &Store, session: Uuid) -> Vec<termaudit_storage::TranscriptLine> {
    let (mut lines, mut after) = (Vec::new(), None);
    loop {
        let (round, next) =
            store.recording_transcript_chunks(session, after).await.expect("a round of chunks");
        lines.extend(round);
        match next {
            Some(seq) => after = Some(seq),
            None => return lines,
        }
    }
}
