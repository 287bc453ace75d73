//! termaudit's PostgreSQL storage.
//!
//! Every SQL statement of the product lives in this crate, most of them in
//! `.sql` files under `sql/`. Other crates get typed rows, never a
//! `tokio_postgres::Row`.

mod audit;
mod cache;
mod control;
mod error;
mod export;
mod export_runs;
mod ingest_load;
mod lock;
mod migrations;
mod policy;
mod pool;
mod projects;
mod recordings;
mod retention;
mod row;
mod sessions;
mod sql;
mod targets;
mod time;
mod transparency;
mod words;

pub use audit::{Actor, AuditEventRow, AuditFilter, NewAuditEvent, append_audit};
pub use cache::CACHE_CHANNEL;
pub use control::{run_cache_listener, run_control_listener, run_live_listener};
pub use error::StorageError;
pub use export::{ExportOptions, ExportStream};
pub use export_runs::ExportAudit;
pub use lock::AdvisoryLock;
pub use migrations::{MigrationStatus, ServingRole, migrate};
pub use policy::{HoldRow, PolicyRow};
pub use pool::{DatabaseUrl, Store, ensure_database};
pub use projects::ProjectRow;
pub use recordings::{
    BATCH_BYTES, ByteRange, ChunkBatch, ChunkLines, ChunkReceipt, CompactOptions, CompactReport,
    DEFAULT_CACHE_BYTES, EmulationLag, EmulationProgress, EmulationState, EmulationTarget,
    EncodedProgress, FoldedText, IngestError, LIVE_CHANNEL, Lease, LiveSignal, MAX_CHUNK_BYTES,
    Marker, MoveTo, ObjectTarget, RecordedSession, RecordingHit, RecordingOverview, RecordingRow,
    RecordingsStoreUrl, S3Settings, Snapshot, TextLine, TextMatchRow, TextToFold, TranscriptLine,
    Watch, Watcher, Window, finalize_recording, header_size, purge_recording, purge_recordings,
};
pub use retention::{
    BatchOutcome, ExpiredRecording, RetentionPreviewRow, RetentionRunRow, SweepKey, SweepLock,
};
pub use sessions::{
    Activity, ActivityRow, AppendError, AppendOutcome, CONTROL_CHANNEL, ControlEvent,
    DatabaseEvent, DatabaseEventRow, ExpiryReport, NewSession, RECORDING_SETTLE, ReconnectGrant,
    SessionChange, SessionRow, TransitionError,
};
pub use targets::{NewTarget, TargetRow};
pub use termaudit_domain::{Cursor, InvalidCursor, Page};
pub use transparency::{
    BatchReport, InclusionProofRow, LogDiscrepancy, LogRefusal, LogStatus, LogVerification,
    Sequencer, SigningKeyRow, VERIFY_CONNECTIONS,
};
