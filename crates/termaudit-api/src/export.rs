//! The history export, streamed: records are encoded and written to the
//! client as the database cursor yields them, so memory stays flat and the
//! first bytes leave at once. The export is audited twice: when it starts
//! (`history.export_started`) and when it ends (`history.exported`, with
//! the rows handed to the connection and whether it completed, failed or
//! the client went away); an export whose server dies is ended as
//! `interrupted` by another replica (`termaudit_storage::ExportAudit`).

use std::time::Duration;

use actix_web::{
    HttpMessage as _, HttpRequest, HttpResponse, get,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    web::{self, Bytes},
};
use chrono::Utc;
use futures_util::{StreamExt, stream};
use termaudit_api_types as dto;
use termaudit_domain::{
    AuditEventType, ExportEncoder, ExportFilter, ExportFormat, ExportInclude, ExportOutcome,
    Permission, TimeBounds, export_started_details,
};
use termaudit_storage::{ExportAudit, ExportOptions, ExportStream, NewAuditEvent, StorageError};

use crate::{
    AppState, Caller,
    documents::tree_head_dto,
    error::ApiError,
    extract::{ProjectPath, history_filter, parse_field},
    methods::HeadRequest,
    openapi::Binary,
};

/// Exports the project's history as CSV (RFC 4180, UTF-8, CRLF, a header
/// row with every `ExportRecord` field as a column, in order): sessions,
/// their terminal events and their database events, in one stream ordered
/// by time. The whole export reads one consistent snapshot and is streamed
/// as it is read; it is audited when it starts (`history.export_started`)
/// and ends (`history.exported`, with its rows and outcome).
#[utoipa::path(
    tag = "export",
    params(ProjectPath, dto::ExportQuery),
    responses(
        (status = 200,
            description = "The export as a CSV attachment (only the header row when nothing matches). A response that ends without its last chunk is incomplete: the server failed midway.",
            headers(("content-disposition" = String, description = "`attachment; filename=\"termaudit-{project}-{from}-{to}.{format}\"`; an open start reads `beginning`, an open end the time of the export, times as `YYYYMMDDTHHMMSSZ`")),
            content((String = "text/csv")),
        ),
        (status = 400, description = "An invalid include list or filter", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/export.csv")]
pub async fn export_csv(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    let query = export_query(req.query_string())?;
    export(&state, &caller, &req, &path.project, query, ExportFormat::Csv).await
}

/// Exports the project's history as one JSON array of `ExportRecord`s:
/// sessions, their terminal events and their database events, in one
/// stream ordered by time. Read from one snapshot, streamed, audited when it
/// starts and ends.
#[utoipa::path(
    tag = "export",
    params(ProjectPath, dto::ExportQuery),
    responses(
        (status = 200,
            description = "The export as a JSON attachment (`[]` when nothing matches). A response that ends without its last chunk is incomplete: the server failed midway.",
            headers(("content-disposition" = String, description = "`attachment; filename=\"termaudit-{project}-{from}-{to}.{format}\"`; an open start reads `beginning`, an open end the time of the export, times as `YYYYMMDDTHHMMSSZ`")),
            content((Vec<dto::ExportRecord> = "application/json")),
        ),
        (status = 400, description = "An invalid include list or filter", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/export.json")]
pub async fn export_json(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    let query = export_query(req.query_string())?;
    export(&state, &caller, &req, &path.project, query, ExportFormat::Json).await
}

/// Exports the project's history as NDJSON: one `ExportRecord` object per
/// line, ordered by time. Read from one snapshot, streamed, audited when it
/// starts and ends. Generated clients get the bytes (documented as
/// `application/octet-stream` too); split them on newlines and read each
/// line as an `ExportRecord`.
#[utoipa::path(
    tag = "export",
    params(ProjectPath, dto::ExportQuery),
    responses(
        (status = 200,
            description = "The export as an NDJSON attachment, one `ExportRecord` per line (empty when nothing matches). A response that ends without its last chunk is incomplete: the server failed midway.",
            headers(("content-disposition" = String, description = "`attachment; filename=\"termaudit-{project}-{from}-{to}.{format}\"`; an open start reads `beginning`, an open end the time of the export, times as `YYYYMMDDTHHMMSSZ`")),
            content(
                (Binary = "application/octet-stream"),
                (Binary = "application/x-ndjson"),
            ),
        ),
        (status = 400, description = "An invalid include list or filter", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/export.ndjson")]
pub async fn export_ndjson(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    let query = export_query(req.query_string())?;
    export(&state, &caller, &req, &path.project, query, ExportFormat::Ndjson).await
}

/// `GET .../export?format=csv|json|ndjson`, as the web app and scripts
/// written before the per-format operations call it. Not in the OpenAPI
/// document: one operation answering three media types is what generators
/// type wrongly.
pub async fn export_by_query(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<ProjectPath>,
) -> Result<HttpResponse, ApiError> {
    let q = export_query(req.query_string())?;
    let format = parse_field::<ExportFormat>(q.format.as_deref())?.unwrap_or(ExportFormat::Csv);
    export(&state, &caller, &req, &path.project, q, format).await
}

/// The export's query string. `include` may be repeated
/// (`include=sessions&include=terminal_events`, as generated clients send a
/// list) or comma-separated (`include=sessions,terminal_events`), or both.
fn export_query(query: &str) -> Result<dto::ExportQuery, ApiError> {
    let invalid =
        |err: &dyn std::fmt::Display| ApiError::invalid(format!("invalid query parameters: {err}"));
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| invalid(&e))?;
    let (include, rest): (Vec<_>, Vec<_>) =
        pairs.into_iter().partition(|(name, _)| name == "include");
    let rest = serde_urlencoded::to_string(rest).map_err(|e| invalid(&e))?;
    let mut parsed: dto::ExportQuery =
        serde_urlencoded::from_str(&rest).map_err(|e| invalid(&e))?;
    if !include.is_empty() {
        parsed.include = Some(include.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(","));
    }
    Ok(parsed)
}

async fn export(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    project: &str,
    q: dto::ExportQuery,
    format: ExportFormat,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(caller, project, Permission::ViewHistory).await?;
    let filter = ExportFilter {
        include: parse_field::<ExportInclude>(q.include.as_deref())?.unwrap_or_default(),
        from: TimeBounds::STORABLE.check_optional("from", q.from)?,
        to: TimeBounds::STORABLE.check_optional("to", q.to)?,
        sessions: history_filter!(q)?,
    }
    .validate()?;
    let now = Utc::now();
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.content_type())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filter.file_name(
                &project.slug,
                format,
                now,
            ))],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    // HEAD says what the export would be, without reading (or auditing) it.
    if req.extensions().contains::<HeadRequest>() {
        return Ok(response.streaming(stream::empty::<Result<Bytes, StorageError>>()));
    }
    // Every export signs the log's head; one with proofs proves into it.
    let proofs = q.proofs.unwrap_or(false);
    let head = crate::transparency::evidence_tree_head(state, project.id, proofs).await?;
    let tree_size = head.as_ref().map_or(0, |h| h.head.tree_size);
    let mut details = export_started_details("api", format, &filter);
    details["proofs"] = proofs.into();
    details["tree_size"] = tree_size.into();
    let audit = ExportAudit {
        start: NewAuditEvent::new(project.id, AuditEventType::HistoryExportStarted)
            .actor(&caller.subject, &caller.name)
            .details(details),
        patience: AUDIT_PATIENCE,
    };
    let options = ExportOptions { count: false, proofs_into: proofs.then_some(tree_size) };
    let encoder = if proofs {
        let head = head.as_ref().map(tree_head_dto);
        ExportEncoder::with_proofs(format, serde_json::to_string(&head).unwrap_or_default())
    } else {
        ExportEncoder::new(format)
    };
    let records = state
        .store
        .export(project.id, &project.slug, &filter, options, audit, encoder.clone())
        .await?;
    Ok(response.streaming(encode(records, encoder)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Records,
    Done,
}

/// The response body: the format's opening, then the records' chunks as
/// the export's reading task encodes them, then the closing, written only
/// after the end entry is stored.
///
/// A chunk's records count as handed to the connection once the server asks
/// for the next chunk (it has taken the previous one); a client that goes
/// away leaves the rest uncounted. The stream ends the export when it
/// completes; dropped before, the export ends as `client_disconnected` (or
/// `failed`, when the database failed it).
fn encode(
    records: ExportStream,
    encoder: ExportEncoder,
) -> impl futures_util::Stream<Item = Result<Bytes, StorageError>> + 'static {
    let state = (Some(records), encoder, Step::Start);
    stream::unfold(state, |(mut records, mut encoder, mut step)| async move {
        loop {
            let mut out = Vec::new();
            match (step, records.as_mut()) {
                (Step::Start, _) => {
                    encoder.start(&mut out);
                    step = Step::Records;
                }
                (Step::Records, Some(stream)) => {
                    stream.delivered(encoder.records());
                    match stream.next().await {
                        Some(Ok(chunk)) => {
                            encoder.add_records(chunk.records);
                            return Some((Ok(chunk.bytes), (records, encoder, step)));
                        }
                        Some(Err(err)) => {
                            // The error makes actix-web abort the connection
                            // without the chunked body's last chunk, so the
                            // client sees an incomplete response, never a
                            // shorter file that ends well. The end entry
                            // (`failed`) waits for the database in the
                            // background when its absence is what failed.
                            tracing::error!(error = %err, "the export failed midway");
                            return Some((Err(err), (records, encoder, Step::Done)));
                        }
                        None => {
                            encoder.finish(&mut out);
                            if let Some(stream) = records.take() {
                                stream.delivered(encoder.records());
                                if let Err(err) = stream.finish(ExportOutcome::Completed).await {
                                    tracing::error!(error = %err, "the export could not be audited");
                                }
                            }
                            step = Step::Done;
                        }
                    }
                }
                (Step::Records, None) | (Step::Done, _) => return None,
            }
            if !out.is_empty() {
                return Some((Ok(Bytes::from(out)), (records, encoder, step)));
            }
        }
    })
}

/// How long the end entry of an export that failed or was abandoned waits
/// for the database (a restart, a failover) before it is given up and
/// logged (another replica then ends it as `interrupted`).
const AUDIT_PATIENCE: Duration = Duration::from_secs(600);
