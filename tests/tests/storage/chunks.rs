//! Chunk ingest: `Store::append_chunk` stores a recording's chunks in
//! order, each in one transaction, and a refused chunk changes nothing.

use serde_json::Value;
use termaudit_domain::asciicast::Micros;
use termaudit_storage::{ChunkReceipt, IngestError};
use uuid::Uuid;

use crate::Fixture;

const CHUNK0: &str = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.5, \"o\", \"hello\"]\n[1.0, \"o\", \" world\"]\n";
const CHUNK1: &str = "[1.5, \"o\", \"!\"]\n[2.0, \"m\", \"mark\"]\n";

impl Fixture {
    async fn append_chunk(
        &self,
        session_id: Uuid,
        seq: u32,
        text: &str,
    ) -> Result<ChunkReceipt, IngestError> {
        // `Bytes` from a `Vec`, without naming the crate the tests do not use.
        let body = text.as_bytes().to_vec().into();
        self.store.append_chunk(self.project_id, session_id, seq, body).await
    }

    /// Everything stored for a session's recording, as JSON.
    async fn recording_rows(&self, session_id: Uuid) -> Value {
        self.query_json(
            "SELECT json_build_object(
                 'recording', (SELECT row_to_json(r) FROM recordings r WHERE r.session_id = $1),
                 'chunks', (SELECT json_agg(c ORDER BY c.seq) FROM recording_chunks c
                            WHERE c.session_id = $1),
                 'markers', (SELECT json_agg(m) FROM recording_markers m WHERE m.session_id = $1),
                 'snapshots', (SELECT json_agg(s) FROM recording_snapshots s
                               WHERE s.session_id = $1))::text",
            session_id,
        )
        .await
    }
}

#[tokio::test]
async fn chunks_are_stored_in_order_and_a_repeat_is_accepted() {
    let f = Fixture::new().await;
    let id = f.open(true).await.id;
    let first = f.append_chunk(id, 0, CHUNK0).await.unwrap();
    assert_eq!(
        first,
        ChunkReceipt {
            seq: 0,
            events: 2,
            first_time: Micros(500_000),
            last_time: Micros(1_000_000),
            repeated: false
        }
    );
    let stored = f.recording_rows(id).await;
    assert_eq!(stored["recording"]["next_seq"], 1);
    assert_eq!(stored["recording"]["chunk_events"], 2);
    assert_eq!(stored["recording"]["header"], "{\"version\": 2, \"width\": 80, \"height\": 24}");
    assert_eq!(stored["chunks"].as_array().map(Vec::len), Some(1));
    assert_eq!(stored["chunks"][0]["events"], 2);

    // The same chunk again (a retry after a lost answer): accepted, unchanged.
    let again = f.append_chunk(id, 0, CHUNK0).await.unwrap();
    assert_eq!(again, ChunkReceipt { repeated: true, ..first });
    assert_eq!(f.recording_rows(id).await, stored);

    let second = f.append_chunk(id, 1, CHUNK1).await.unwrap();
    assert_eq!(
        (second.seq, second.events, second.last_time, second.repeated),
        (1, 2, Micros(2_000_000), false)
    );
    let stored = f.recording_rows(id).await;
    assert_eq!(stored["recording"]["next_seq"], 2);
    assert_eq!(stored["recording"]["chunk_events"], 4);
    assert_eq!(stored["markers"][0]["label"], "mark");
    // An earlier chunk can still be repeated.
    assert!(f.append_chunk(id, 0, CHUNK0).await.unwrap().repeated);
    assert_eq!(f.recording_rows(id).await, stored);
}

#[tokio::test]
async fn refused_chunks_change_nothing() {
    let f = Fixture::new().await;
    let id = f.open(true).await.id;

    // Nothing before chunk 0, and a chunk 0 without a header.
    let before = f.recording_rows(id).await;
    assert_eq!(before["recording"], Value::Null);
    let gap = f.append_chunk(id, 1, CHUNK1).await;
    assert!(matches!(gap, Err(IngestError::Gap { seq: 1, expected: 0 })), "{gap:?}");
    let headless = f.append_chunk(id, 0, CHUNK1).await;
    assert!(matches!(headless, Err(IngestError::Cast { seq: 0, .. })), "{headless:?}");
    let empty = f.append_chunk(id, 0, "\n").await;
    assert!(matches!(empty, Err(IngestError::MissingHeader)), "{empty:?}");
    assert_eq!(f.recording_rows(id).await, before, "no recording row is left behind");

    f.append_chunk(id, 0, CHUNK0).await.unwrap();
    let stored = f.recording_rows(id).await;
    let gap = f.append_chunk(id, 2, CHUNK1).await;
    assert!(matches!(gap, Err(IngestError::Gap { seq: 2, expected: 1 })), "{gap:?}");
    let differs = f.append_chunk(id, 0, &CHUNK0.replace("hello", "HELLO")).await;
    assert!(matches!(differs, Err(IngestError::Differs { seq: 0 })), "{differs:?}");
    let broken = f.append_chunk(id, 1, "[1.5, \"o\", \"!\"]\nnot json\n").await;
    assert!(matches!(broken, Err(IngestError::Cast { seq: 1, .. })), "{broken:?}");
    assert_eq!(f.recording_rows(id).await, stored);

    // Sessions that take no chunks.
    let unrecorded = f.open(false).await.id;
    let refused = f.append_chunk(unrecorded, 0, CHUNK0).await;
    assert!(matches!(refused, Err(IngestError::NotRecorded)), "{refused:?}");
    assert_eq!(f.recording_rows(unrecorded).await["recording"], Value::Null);
    let unknown = f.append_chunk(Uuid::now_v7(), 0, CHUNK0).await;
    assert!(matches!(unknown, Err(IngestError::SessionNotFound)), "{unknown:?}");
}
