//! Recordings: chunked ingest, finalization, and streaming reads.
//!
//! A recording is stored as numbered chunks of canonical asciicast v2 event
//! lines, zstd-compressed, each with the times of its first and last event.
//! Nothing here holds a whole recording: every read goes through a
//! [`ChunkCursor`](chunks::ChunkCursor), which fetches a few chunks at a
//! time (at most [`BATCH_BYTES`] once decompressed; from an object store,
//! one batch fetched ahead, and a download's batches four times larger),
//! and every write handles one chunk.
//!
//! The downloadable file is the header line, then the chunks' lines with the
//! session's explicit commands and runbook steps merged in as markers (`m`):
//! a marker goes right before the first event later than it, or at the end.
//! Finalization, downloads and event windows all merge with
//! [`merge_chunk`](codec::merge_chunk), so the digest stored at
//! finalization is the digest of what is downloaded.
//!
//! The rooms: [`types`] (the rows), [`codec`] (how chunks are stored: zstd,
//! canonical lines, markers merged), [`chunks`] (reading chunks back a
//! batch at a time), [`ingest`] (one chunk in, one transaction),
//! [`finalize`], [`purge`] and [`read`] (downloads, windows), [`text`]
//! (the text the screens showed: search and transcripts), and
//! [`emulation`] (the leases and progress of the emulation workers, which
//! keep the snapshots seeking starts from); [`live`] (the signal live
//! watchers follow, and the terminal they start from); [`objects`] and [`compact`]:
//! an object store the compactor moves the stored bodies into, when one
//! is configured, and [`cache`], the object ranges a replica read last.

mod cache;
mod chunks;
mod codec;
mod compact;
mod emulation;
mod finalize;
mod ingest;
mod live;
mod moving;
mod objects;
mod purge;
mod read;
mod text;
mod text_body;
mod text_groups;
mod types;

pub use chunks::BATCH_BYTES;
pub use codec::header_size;
pub use compact::{CompactOptions, CompactReport};
pub use emulation::{
    ChunkBatch, ChunkLines, EmulationLag, EmulationProgress, EmulationState, EmulationTarget,
    EncodedProgress, Lease, Snapshot, TextLine,
};
pub use finalize::finalize_recording;
pub use ingest::{ChunkReceipt, IngestError, MAX_CHUNK_BYTES};
pub use live::{LIVE_CHANNEL, LiveSignal, Watch, Watcher};
pub use moving::MoveTo;
pub use objects::{DEFAULT_CACHE_BYTES, ObjectTarget, POSTGRES, RecordingsStoreUrl, S3Settings};
pub use purge::{purge_recording, purge_recordings};
pub use read::{ByteRange, RecordingOverview, Window};
pub use text::{RecordingHit, TextMatchRow, TranscriptLine};
pub use text_groups::{FoldedText, TextToFold};
pub use types::{Marker, RecordedSession, RecordingRow};
