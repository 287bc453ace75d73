//! The history export, streamed: records are encoded and written to the
//! client as the database cursor yields them, so memory stays flat and the
//! first bytes leave at once. The export is audited twice: when it starts
//! (`history.export_started`) and when it ends (`history.exported`, with
//! the rows handed to the connection and whether it completed, failed or
//! the client went away); an export whose server dies is ended as
//! `interrupted` by another replica (`termaudit_storage::ExportAudit`).

use std::time::Duration;

use actix_web::{
    HttpResponse, get,
    http::header::{self, ContentDisposition, DispositionParam, DispositionType},
    web::{self, Bytes},
};
use chrono::Utc;
use futures_util::{StreamExt, stream};
use termaudit_api_types as dto;
use termaudit_domain::{
    AuditEventType, ExportEncoder, ExportFilter, ExportFormat, ExportInclude, ExportOutcome,
    Permission, export_started_details,
};
use termaudit_storage::{ExportAudit, ExportStream, NewAuditEvent, StorageError};

use crate::{
    AppState, Caller,
    error::ApiError,
    extract::{ProjectPath, history_filter, parse_field},
};

/// Records taken from the cursor per chunk written, at most.
const RECORDS_PER_CHUNK: usize = 512;

/// Exports the project's history for an external audit trail: sessions,
/// their terminal events and their database events, in one stream ordered
/// by time, as CSV, JSON or NDJSON (see `ExportRecord` for the fields and
/// columns). The whole export reads one consistent snapshot, and is streamed
/// as it is read. The export is itself audited: `history.export_started`
/// when it starts, `history.exported` when it ends (with `rows`, the records
/// handed to the connection, and `outcome`: `completed`, `failed`,
/// `client_disconnected`, or `interrupted` when its server died).
#[utoipa::path(
    tag = "export",
    params(ProjectPath, dto::ExportQuery),
    responses(
        (status = 200,
            description = "The export, as an attachment. A filter that matches nothing gives a valid empty document: the CSV header, `[]`, or an empty NDJSON body. A response that ends without its last chunk is incomplete (the server failed midway).",
            headers(("content-disposition" = String, description = "`attachment; filename=\"termaudit-{project}-{from}-{to}.{format}\"`; an open start reads `beginning`, an open end the time of the export, times as `YYYYMMDDTHHMMSSZ`")),
            content(
                (String = "text/csv"),
                (Vec<dto::ExportRecord> = "application/json"),
                (dto::ExportRecord = "application/x-ndjson"),
            )
        ),
        (status = 400, description = "An invalid format, include list or filter", body = dto::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/projects/{project}/export")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<ProjectPath>,
    query: web::Query<dto::ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let project = state.authorize(&caller, &path.project, Permission::ViewHistory).await?;
    let q = query.into_inner();
    let format = parse_field::<ExportFormat>(q.format.as_deref())?.unwrap_or(ExportFormat::Csv);
    let filter = ExportFilter {
        include: parse_field::<ExportInclude>(q.include.as_deref())?.unwrap_or_default(),
        from: q.from,
        to: q.to,
        sessions: history_filter!(q)?,
    }
    .validate()?;
    let now = Utc::now();
    let audit = ExportAudit {
        start: NewAuditEvent::new(project.id, AuditEventType::HistoryExportStarted)
            .actor(&caller.subject, &caller.name)
            .details(export_started_details("api", format, &filter)),
        patience: AUDIT_PATIENCE,
    };
    let records = state.store.export(project.id, &project.slug, &filter, false, audit).await?;
    let body = encode(records, ExportEncoder::new(format));
    Ok(HttpResponse::Ok()
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
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .streaming(body))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Records,
    Done,
}

/// The response body: the format's opening, then the records as they come
/// (whatever is ready is written together, up to [`RECORDS_PER_CHUNK`]),
/// then the closing, written only after the end entry is stored.
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
    let state = (Some(records.ready_chunks(RECORDS_PER_CHUNK)), encoder, 0, Step::Start);
    stream::unfold(state, |(mut records, mut encoder, mut handed, mut step)| async move {
        if let Some(records) = &records {
            records.get_ref().delivered(handed);
        }
        let mut out = Vec::new();
        loop {
            match (step, records.as_mut()) {
                (Step::Start, _) => {
                    encoder.start(&mut out);
                    step = Step::Records;
                }
                (Step::Records, Some(stream)) => match stream.next().await {
                    Some(chunk) => {
                        for record in chunk {
                            match record {
                                Ok(record) => encoder.record(&record, &mut out),
                                Err(err) => {
                                    // The error makes actix-web abort the connection
                                    // without the chunked body's last chunk, so the
                                    // client sees an incomplete response, never a
                                    // shorter file that ends well. The end entry
                                    // (`failed`) waits for the database in the
                                    // background when its absence is what failed.
                                    tracing::error!(error = %err, "the export failed midway");
                                    return Some((
                                        Err(err),
                                        (records, encoder, handed, Step::Done),
                                    ));
                                }
                            }
                        }
                    }
                    None => {
                        encoder.finish(&mut out);
                        if let Some(stream) = records.take() {
                            let stream = stream.into_inner();
                            stream.delivered(encoder.records());
                            if let Err(err) = stream.finish(ExportOutcome::Completed).await {
                                tracing::error!(error = %err, "the export could not be audited");
                            }
                        }
                        step = Step::Done;
                    }
                },
                (Step::Records, None) | (Step::Done, _) if out.is_empty() => return None,
                (Step::Records, None) | (Step::Done, _) => {}
            }
            if !out.is_empty() {
                handed = encoder.records();
                return Some((Ok(Bytes::from(out)), (records, encoder, handed, step)));
            }
        }
    })
}

/// How long the end entry of an export that failed or was abandoned waits
/// for the database (a restart, a failover) before it is given up and
/// logged (another replica then ends it as `interrupted`).
const AUDIT_PATIENCE: Duration = Duration::from_secs(600);
