//! termaudit's PostgreSQL storage.
//!
//! Every SQL statement of the product lives in this crate, most of them in
//! `.sql` files under `sql/`. Other crates get typed rows, never a
//! `tokio_postgres::Row`.

mod audit;
mod error;
mod migrations;
mod pool;
mod projects;
mod recordings;

pub use audit::{NewAuditEvent, append_audit};
pub use error::StorageError;
pub use migrations::{MigrationStatus, migrate};
pub use pool::{DatabaseUrl, Store, ensure_database};
pub use projects::ProjectRow;
pub use recordings::{
    BATCH_BYTES, ByteRange, ChunkReceipt, IngestError, MAX_CHUNK_BYTES, Marker, RecordedSession,
    RecordingRow, SNAPSHOT_EVERY, SNAPSHOT_EVERY_OUTPUT, Window, finalize_recording, header_size,
    purge_recording,
};
