//! The evidence bundle of a session: one zip archive with everything an
//! auditor needs to check it offline (its metadata and timeline, its audit
//! entries each with an inclusion proof, the signed tree head they prove
//! into, the recording, its signed manifest, the public keys and a README
//! saying how). Streamed as it is read, so memory stays flat however long
//! the recording; downloading it is audited (`evidence.downloaded`), and
//! that entry is in the bundle too.

mod archive;

use actix_web::{
    HttpMessage as _, HttpRequest, HttpResponse, get,
    http::header,
    web::{self, Bytes},
};
use chrono::Utc;
use futures_util::{StreamExt as _, stream};
use termaudit_domain::{
    AuditEventType, Permission, rfc3339,
    transparency::{SignedManifest, SignedTreeHead},
};
use termaudit_storage::{
    AuditFilter, Cursor, NewAuditEvent, RecordingRow, SessionRow, StorageError,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use self::archive::{Archive, Stop};
use crate::{
    AppState, Caller,
    documents::{bundle as files, inclusion_proof_dto, manifest_dto, tree_head_dto},
    error::ApiError,
    extract::SessionPath,
    methods::HeadRequest,
    openapi::Binary,
    recordings::playback::download_type,
    sessions::session_dto,
    timeline::{activity_dto, database_event_dto},
    transparency::{evidence_tree_head, signing_key_list},
};

/// Rows read from the database at a time.
const PAGE: usize = 1000;
/// Chunks written ahead of the connection.
const BUFFERED_CHUNKS: usize = 4;

/// Downloads the session's evidence bundle: one zip archive (stored, one
/// folder `termaudit-evidence-{id}`) holding `README.md` (how to verify it,
/// with `termaudit verify bundle` and by hand), `session.json`,
/// `activity.ndjson`, `database-events.ndjson`, `audit-entries.ndjson` (the
/// session's audit entries, each an `InclusionProof` into the tree head),
/// `tree-head.json` (a signed tree head of the project's log, signed for
/// the bundle once every entry committed before the request is in the log,
/// or after 5 seconds without the newest when the sequencer is behind),
/// `recording.cast` and `recording-manifest.json` when there is a
/// recording (the manifest once it is finalized) and `signing-keys.json`.
///
/// Needs both `terminal.view_history` and `terminal.download_recording`.
/// Audited as `evidence.downloaded` before it is read, and that entry is in
/// the bundle. Labelled `application/zip` (`application/octet-stream` when
/// the request accepts only that, as generated clients ask).
#[utoipa::path(
    tag = "sessions",
    params(SessionPath),
    responses(
        (status = 200,
            description = "The bundle as a zip attachment, streamed. A response that ends without its last chunk is incomplete: the server failed midway.",
            headers(("content-disposition" = String, description = "`attachment; filename=\"termaudit-evidence-{id}.zip\"`")),
            content((Binary = "application/zip"), (Binary = "application/octet-stream")),
        ),
    )
)]
#[get("/projects/{project}/sessions/{id}/evidence")]
pub async fn download_evidence(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(&path.project, Permission::ViewHistory)?;
    let project = state.authorize(&caller, &path.project, Permission::DownloadRecording).await?;
    let session = state.session(&project, path.id).await?;
    let recording = state
        .store
        .recording(session.id)
        .await?
        .filter(|r| r.purged_at.is_none() && r.header.is_some());
    // A recording whose text is still being extracted (after an upgrade)
    // has no transcript yet: left out rather than short.
    let transcript = recording.is_some() && !state.store.recording_text_pending(session.id).await?;
    let mut response = HttpResponse::Ok();
    response
        .content_type(download_type(&req, "application/zip"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.zip\"", files::folder(session.id)),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    // HEAD says what the download would be, without making (or auditing) it.
    if req.extensions().contains::<HeadRequest>() {
        return Ok(response.streaming(stream::empty::<Result<Bytes, std::io::Error>>()));
    }
    state
        .store
        .append_audit(
            &NewAuditEvent::new(project.id, AuditEventType::EvidenceDownloaded)
                .actor(&caller.subject, &caller.name)
                .session(session.id)
                .details(serde_json::json!({
                    "recording_sha256": recording.as_ref().and_then(RecordingRow::sha256_hex),
                })),
        )
        .await?;
    // The head covers that entry and everything before it.
    let head = evidence_tree_head(&state, project.id, true).await?.ok_or_else(|| {
        // Only while the project's first entries have not reached the log.
        ApiError::new(
            crate::error::ProblemKind::Unavailable,
            "the project's audit log is still empty: its sequencer runs seconds behind",
        )
    })?;
    let bundle = Bundle {
        readme: readme(&project.slug, &session, &caller, &head),
        session_json: serde_json::to_vec_pretty(
            &session_dto(&state, &project, session.clone()).await?,
        )
        .unwrap_or_default(),
        keys: serde_json::to_vec_pretty(&signing_key_list(&state).await?).unwrap_or_default(),
        manifest: state.store.recording_manifest(project.id, session.id).await?,
        project_id: project.id,
        session_id: session.id,
        head,
        recording,
        transcript,
    };
    let (sender, receiver) = mpsc::channel(BUFFERED_CHUNKS);
    let store = state.store.clone();
    actix_web::rt::spawn(async move {
        let cut = sender.clone();
        let archive = Archive::new(files::folder(bundle.session_id), Utc::now(), sender);
        if let Err(Stop::Failed(why)) = bundle.write(&store, archive).await {
            // The response ends without its last chunk: the client sees an
            // incomplete download, never a shorter archive that ends well.
            tracing::error!(error = %why, "an evidence bundle failed midway");
            let _ = cut.send(Err(std::io::Error::other(why))).await;
        }
    });
    Ok(response.streaming(tokio_stream::wrappers::ReceiverStream::new(receiver)))
}

/// What the bundle holds, read before its first byte is sent; the
/// timeline, the audit entries and the recording are read as it is written.
struct Bundle {
    readme: String,
    session_json: Vec<u8>,
    keys: Vec<u8>,
    manifest: Option<SignedManifest>,
    project_id: Uuid,
    session_id: Uuid,
    head: SignedTreeHead,
    recording: Option<RecordingRow>,
    /// Whether `transcript.txt` is in it (the recording's text is there).
    transcript: bool,
}

impl From<StorageError> for Stop {
    fn from(err: StorageError) -> Self {
        Self::Failed(err.to_string())
    }
}

fn json_line(value: &impl serde::Serialize) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

impl Bundle {
    async fn write(self, store: &termaudit_storage::Store, mut zip: Archive) -> Result<(), Stop> {
        zip.file(files::README, self.readme.as_bytes()).await?;
        zip.file(files::SESSION, &self.session_json).await?;
        let head = serde_json::to_vec_pretty(&tree_head_dto(&self.head)).unwrap_or_default();
        zip.file(files::TREE_HEAD, &head).await?;
        zip.file(files::SIGNING_KEYS, &self.keys).await?;

        zip.start(files::ACTIVITY, false).await?;
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = store.activity(self.session_id, cursor.as_ref(), PAGE).await?;
            for row in page.items {
                zip.write(&json_line(&activity_dto(row))).await?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }

        zip.start(files::DATABASE_EVENTS, false).await?;
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = store.database_events(self.session_id, cursor.as_ref(), PAGE).await?;
            for row in page.items {
                zip.write(&json_line(&database_event_dto(row))).await?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }

        zip.start(files::AUDIT_ENTRIES, false).await?;
        let filter = AuditFilter { session_id: Some(self.session_id), ..Default::default() };
        let size = self.head.head.tree_size;
        let mut cursor: Option<Cursor> = None;
        loop {
            let page = store.audit_events(self.project_id, &filter, cursor.as_ref(), PAGE).await?;
            let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
            let mut proofs = store.inclusion_proofs(self.project_id, &ids, size).await?;
            // Entries committed after the head was signed are not in it: left out.
            for id in ids {
                if let Some(p) = proofs.remove(&id) {
                    let proof = inclusion_proof_dto(
                        &p.leaf,
                        p.leaf_index,
                        p.tree_size,
                        &p.hashes,
                        &self.head.head.root_hash,
                        None,
                    );
                    zip.write(&json_line(&proof)).await?;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }

        if let Some(manifest) = &self.manifest {
            let doc = serde_json::to_vec_pretty(&manifest_dto(manifest)).unwrap_or_default();
            zip.file(files::MANIFEST, &doc).await?;
        }
        if let Some(recording) = &self.recording {
            // zip64 unless the size is known to fit in 32 bits.
            let large = recording.size_bytes.is_none_or(|s| s >= i64::from(u32::MAX) - 1024);
            // Its text, as the transcript download serves it (before the
            // cast, which stays the bundle's last file).
            if self.transcript {
                zip.start(files::TRANSCRIPT, large).await?;
                // Whole chunks at a time, each round read while the previous
                // one is sent.
                let mut round = store.recording_transcript_chunks(self.session_id, None).await?;
                loop {
                    let (lines, next) = round;
                    // One piece per round, sent as it is (no copy into the archive).
                    let text = Bytes::from(crate::recordings::text::transcript_text(&lines, false));
                    let Some(after) = next else {
                        zip.send_bytes(text).await?;
                        break;
                    };
                    let (sent, read) = futures_util::join!(
                        zip.send_bytes(text),
                        store.recording_transcript_chunks(self.session_id, Some(after))
                    );
                    sent?;
                    round = read?;
                }
            }
            zip.start(files::RECORDING, large).await?;
            let chunks = store.recording_download(self.session_id, recording, None);
            futures_util::pin_mut!(chunks);
            while let Some(chunk) = chunks.next().await {
                zip.send_bytes(chunk?).await?;
            }
        }
        zip.finish().await
    }
}

/// The bundle's README: what each file is and how to check it.
fn readme(project: &str, session: &SessionRow, caller: &Caller, head: &SignedTreeHead) -> String {
    include_str!("README.md")
        .replace("{session}", &session.id.to_string())
        .replace("{project}", project)
        .replace("{made_at}", &rfc3339(head.head.timestamp))
        .replace("{actor}", &caller.subject.replace('`', "'"))
        .replace("{tree_size}", &head.head.tree_size.to_string())
        .replace("{folder}", &files::folder(session.id))
}
