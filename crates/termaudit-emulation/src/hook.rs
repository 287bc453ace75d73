//! What later work derives from a recording's screen (live watching, search
//! across recordings) receives it here: every chunk a worker emulates, in
//! order per recording, with its position, at least once.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use termaudit_domain::asciicast::{Event, Micros, TerminalSnapshot};
use uuid::Uuid;

/// One chunk of a recording as the emulation played it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedChunk {
    pub session_id: Uuid,
    /// The chunk's number, its position in the recording. A recording's
    /// chunks reach a hook in this order, each once the one before was
    /// accepted; after a crash or a takeover the chunks past the last
    /// recorded position come again (from whichever replica holds the
    /// lease then), so a consumer skips a `seq` it has.
    pub seq: u32,
    /// The times of the chunk's first and last events.
    pub first_time: Micros,
    pub last_time: Micros,
    /// Its output and resize events, in order (what a live watcher plays).
    pub events: Vec<Event>,
    /// The screen after the chunk, one string per row.
    pub screen: Vec<String>,
    /// The cursor's column and row after the chunk.
    pub cursor: (usize, usize),
    /// The seek snapshot kept after this chunk, when one is (a full state a
    /// watcher joining late can start from).
    pub snapshot: Option<TerminalSnapshot>,
}

/// Why a hook did not take a chunk: the worker records no progress past it
/// and the chunk is delivered again later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HookError(pub String);

/// A consumer of emulated chunks. The worker awaits each call before it
/// delivers the next chunk and before it records its progress in the
/// database: a chunk is delivered at least once, in order per recording.
/// Calls for different recordings run concurrently.
pub trait EmulationHook: Send + Sync + 'static {
    /// Receives one emulated chunk.
    fn chunk(&self, chunk: Arc<EmulatedChunk>) -> BoxFuture<'static, Result<(), HookError>>;

    /// The recording has ended and every chunk of it was delivered (its
    /// emulation is complete): nothing more comes for it. Also at least
    /// once.
    fn finished(&self, session_id: Uuid, chunks: u32) -> BoxFuture<'static, ()> {
        let _ = (session_id, chunks);
        Box::pin(async {})
    }
}

/// The hooks a server's workers feed.
pub type Hooks = Vec<Arc<dyn EmulationHook>>;

/// A hook that broadcasts chunks inside the process, for consumers that
/// live and die with it (live watchers on this replica): it never fails,
/// and a receiver that falls behind misses chunks (it sees `Lagged` and can
/// start again from a snapshot).
#[derive(Clone)]
pub struct BroadcastHook {
    sender: tokio::sync::broadcast::Sender<Arc<EmulatedChunk>>,
}

impl BroadcastHook {
    pub fn new(capacity: usize) -> Self {
        Self { sender: tokio::sync::broadcast::channel(capacity.max(1)).0 }
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<EmulatedChunk>> {
        self.sender.subscribe()
    }
}

impl EmulationHook for BroadcastHook {
    fn chunk(&self, chunk: Arc<EmulatedChunk>) -> BoxFuture<'static, Result<(), HookError>> {
        // No receiver is not an error: nobody watches.
        let _ = self.sender.send(chunk);
        Box::pin(async { Ok(()) })
    }
}
