//! The audit log as a transparency log: its status, signed tree heads,
//! inclusion and consistency proofs, the signing keys, and recordings'
//! signed manifests. Everything here can be checked offline with
//! `termaudit verify` and the public keys.

use actix_web::{get, web};
use chrono::Utc;
use termaudit_api_types as dto;
use termaudit_domain::Permission;
use termaudit_storage::LogRefusal;

use crate::{
    AppState, Caller,
    documents::{hex_all, inclusion_proof_dto, manifest_dto, signing_key_dto, tree_head_dto},
    error::{ApiError, ProblemKind},
    extract::{ProjectPath, SessionPath, limit_param},
};

fn refusal(err: LogRefusal) -> ApiError {
    match err {
        LogRefusal::NoEntry(_) => ApiError::not_found(err.to_string()),
        LogRefusal::NotSequenced(_) => ApiError::conflict(err.to_string()),
        _ => ApiError::invalid(err.to_string()),
    }
}

/// How long an export with proofs or an evidence bundle waits for the
/// sequencer to append what was committed before it (it runs seconds
/// behind); short enough that a client never waits on it for long.
const SEQUENCER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// The signed tree head an export or an evidence bundle carries: one is
/// signed at every export, of the log as sequenced; with `complete`, after
/// waiting up to [`SEQUENCER_PATIENCE`] until everything committed before
/// the request is in it (when the sequencer is further behind, the head of
/// what it has appended, with a warning). `None` for an empty log.
pub(crate) async fn evidence_tree_head(
    state: &AppState,
    project_id: uuid::Uuid,
    complete: bool,
) -> Result<Option<termaudit_domain::transparency::SignedTreeHead>, ApiError> {
    let patience = complete.then_some(SEQUENCER_PATIENCE);
    let (head, caught_up) =
        state.store.tree_head_for_evidence(project_id, &state.signer, patience).await?;
    if complete && !caught_up {
        tracing::warn!(
            %project_id,
            "the audit log's sequencer is behind: the evidence proves into the head of what it \
             has appended, without the newest entries"
        );
    }
    Ok(head)
}

/// The size the latest signed tree head covers: the default of the proofs.
async fn latest_size(state: &AppState, project_id: uuid::Uuid) -> Result<u64, ApiError> {
    state
        .store
        .latest_tree_head(project_id)
        .await?
        .map(|h| h.head.tree_size)
        .ok_or_else(|| ApiError::conflict("no tree head has been signed yet; try again shortly"))
}

/// The audit log's state: its size, the newest signed tree head, and how far
/// behind the sequencer is (entries committed but not in the log yet, and
/// for how long the log has been incomplete).
#[utoipa::path(
    tag = "audit",
    params(ProjectPath),
    responses((status = 200, description = "The log's state", body = dto::AuditLogStatus))
)]
#[get("/projects/{project}/audit-log")]
pub async fn audit_log_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<web::Json<dto::AuditLogStatus>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let status = state.store.log_status(Some(project.id)).await?;
    Ok(web::Json(dto::AuditLogStatus {
        tree_size: state.store.log_tree_size(project.id).await?,
        latest_tree_head: state
            .store
            .latest_tree_head(project.id)
            .await?
            .as_ref()
            .map(tree_head_dto),
        pending_entries: status.pending,
        lag_seconds: status.lag_seconds(Utc::now()).min(f64::MAX),
    }))
}

/// Signed tree heads of the project's audit log, largest (newest) first.
#[utoipa::path(
    tag = "audit",
    params(ProjectPath, dto::TreeHeadQuery),
    responses(
        (status = 200, description = "A page of signed tree heads", body = dto::TreeHeadPage),
        (status = 400, description = "An invalid `limit`", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/audit-log/tree-heads")]
pub async fn tree_heads(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::TreeHeadQuery>,
) -> Result<web::Json<dto::TreeHeadPage>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let limit = limit_param(query.limit, 50, 200)?;
    let heads = state.store.tree_heads(project.id, query.before, limit as i64 + 1).await?;
    let next_before = (heads.len() > limit).then(|| heads[limit - 1].head.tree_size);
    Ok(web::Json(dto::TreeHeadPage {
        items: heads.iter().take(limit).map(tree_head_dto).collect(),
        next_before,
    }))
}

/// The newest signed tree head.
#[utoipa::path(
    tag = "audit",
    params(ProjectPath),
    responses(
        (status = 200, description = "The newest signed tree head", body = dto::SignedTreeHead),
        (status = 409, description = "No tree head has been signed yet", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/audit-log/tree-heads/latest")]
pub async fn latest_tree_head(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
) -> Result<web::Json<dto::SignedTreeHead>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let head =
        state.store.latest_tree_head(project.id).await?.ok_or_else(|| {
            ApiError::conflict("no tree head has been signed yet; try again shortly")
        })?;
    Ok(web::Json(tree_head_dto(&head)))
}

/// An audit entry's inclusion proof (RFC 9162): its canonical leaf, leaf
/// index and audit path into the tree of `tree_size` entries (by default
/// the latest signed tree head's), with that signed head.
#[utoipa::path(
    tag = "audit",
    params(ProjectPath, dto::InclusionQuery),
    responses(
        (status = 200, description = "The inclusion proof", body = dto::InclusionProof),
        (status = 400, description = "A tree size the log does not have, or that does not hold the entry yet", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The entry is not in the log yet (the sequencer appends entries seconds after they commit), or no tree head was signed yet", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/audit-log/proof/inclusion")]
pub async fn inclusion_proof(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::InclusionQuery>,
) -> Result<web::Json<dto::InclusionProof>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let size = match query.tree_size {
        Some(size) => size,
        None => latest_size(&state, project.id).await?,
    };
    let proof =
        state.store.inclusion_proof(project.id, query.entry, size).await?.map_err(refusal)?;
    Ok(web::Json(inclusion_proof_dto(
        &proof.leaf,
        proof.leaf_index,
        proof.tree_size,
        &proof.hashes,
        &proof.root,
        proof.head.as_ref(),
    )))
}

/// A consistency proof (RFC 9162) between two sizes of the log (`to`
/// defaults to the latest signed tree head's): the newer log extends the
/// older one, nothing in it was changed or removed.
#[utoipa::path(
    tag = "audit",
    params(ProjectPath, dto::ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof", body = dto::ConsistencyProof),
        (status = 400, description = "Sizes the log does not have, or `from` larger than `to`", body = dto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No tree head was signed yet", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/audit-log/proof/consistency")]
pub async fn consistency_proof(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::ConsistencyQuery>,
) -> Result<web::Json<dto::ConsistencyProof>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let to = match query.to {
        Some(to) => to,
        None => latest_size(&state, project.id).await?,
    };
    let (hashes, from_root, to_root) =
        state.store.consistency_proof(project.id, query.from, to).await?.map_err(refusal)?;
    Ok(web::Json(dto::ConsistencyProof {
        project_id: project.id,
        from: query.from,
        to,
        hashes: hex_all(&hashes),
        from_root: from_root.hex(),
        to_root: to_root.hex(),
    }))
}

/// The public keys that sign tree heads and manifests: the current one and
/// every one used before (what they signed still verifies). Any valid token.
#[utoipa::path(
    tag = "audit",
    responses((status = 200, description = "The signing keys, oldest first", body = dto::SigningKeyList))
)]
#[get("/signing-keys")]
pub async fn signing_keys(
    state: web::Data<AppState>,
    _caller: Caller,
) -> Result<web::Json<dto::SigningKeyList>, ApiError> {
    Ok(web::Json(signing_key_list(&state).await?))
}

/// Every key that signed for this database, the current one marked.
pub(crate) async fn signing_key_list(state: &AppState) -> Result<dto::SigningKeyList, ApiError> {
    let current = state.signer.public().id().to_owned();
    let keys = state.store.signing_keys().await?;
    Ok(dto::SigningKeyList {
        items: keys
            .iter()
            .map(|k| signing_key_dto(&k.key, k.first_used_at, k.key.id() == current))
            .collect(),
    })
}

/// A finalized recording's signed manifest: project, session, SHA-256,
/// size, event count, first and last event times and the log position of
/// its `recording.finalized` entry. Check a downloaded `.cast` with
/// `termaudit verify cast FILE --manifest MANIFEST --key KEY`.
#[utoipa::path(
    tag = "recordings",
    params(SessionPath),
    responses(
        (status = 200, description = "The signed manifest", body = dto::RecordingManifest),
        (status = 409, description = "Not signed yet: the recording is not finalized, or its `recording.finalized` entry is not in the log yet (seconds after finalization)", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/sessions/{id}/recording/manifest")]
pub async fn recording_manifest(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<web::Json<dto::RecordingManifest>, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewRecording).await?;
    let session = state.session(&project, path.id).await?;
    let manifest =
        state.store.recording_manifest(project.id, session.id).await?.ok_or_else(|| {
            ApiError::new(
                ProblemKind::Conflict,
                "the recording's manifest is not signed yet: it is signed once the recording \
                 is finalized and its recording.finalized entry is in the audit log",
            )
        })?;
    Ok(web::Json(manifest_dto(&manifest)))
}
