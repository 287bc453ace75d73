//! The history export, streamed: records are encoded and written to the
//! client as the database cursor yields them, so memory stays flat and the
//! first bytes leave at once. The export is audited (`history.exported`)
//! when it ends: with its row count, and whether it completed, failed or the
//! client went away.

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
    Permission, export_audit_details,
};
use termaudit_storage::{NewAuditEvent, StorageError, Store};
use uuid::Uuid;

use crate::{
    AppState, Caller,
    error::ApiError,
    extract::{ProjectPath, parse_field},
};

/// Records taken from the cursor per chunk written, at most.
const RECORDS_PER_CHUNK: usize = 512;

/// Exports the project's history for an external audit trail: sessions,
/// their terminal events and their database events, in one stream ordered
/// by time, as CSV, JSON or NDJSON (see `ExportRecord` for the fields and
/// columns). The whole export reads one consistent snapshot, and is streamed
/// as it is read. The export is itself audited as `history.exported`.
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
        status: parse_field(q.status.as_deref())?,
        environment_class: parse_field(q.environment_class.as_deref())?,
        environment: q.environment.filter(|e| !e.is_empty()),
        target_id: q.target_id,
        user_subject: q.user.filter(|u| !u.is_empty()),
        mode: parse_field(q.mode.as_deref())?,
    }
    .validate()?;
    let now = Utc::now();
    let records = state.store.export(project.id, &project.slug, &filter, false).await?;
    let audit = ExportAudit {
        store: state.store.clone(),
        project_id: project.id,
        actor: (caller.subject.clone(), caller.name.clone()),
        format,
        filter: filter.clone(),
        rows: 0,
        armed: true,
    };
    let body = encode(records, ExportEncoder::new(format), audit);
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
/// then the closing, written only after the audit entry is stored.
fn encode(
    records: termaudit_storage::ExportStream,
    encoder: ExportEncoder,
    audit: ExportAudit,
) -> impl futures_util::Stream<Item = Result<Bytes, StorageError>> + 'static {
    let state = (records.ready_chunks(RECORDS_PER_CHUNK), encoder, audit, Step::Start);
    stream::unfold(state, |(mut records, mut encoder, mut audit, mut step)| async move {
        let mut out = Vec::new();
        loop {
            match step {
                Step::Start => {
                    encoder.start(&mut out);
                    step = Step::Records;
                }
                Step::Records => match records.next().await {
                    Some(chunk) => {
                        for record in chunk {
                            match record {
                                Ok(record) => encoder.record(&record, &mut out),
                                Err(err) => {
                                    // The error makes actix-web abort the connection
                                    // without the chunked body's last chunk, so the
                                    // client sees an incomplete response, never a
                                    // shorter file that ends well. The audit entry
                                    // waits for the database in the background when
                                    // its absence is what failed the export.
                                    tracing::error!(error = %err, "the export failed midway");
                                    audit.rows = encoder.records();
                                    audit.finish_in_background(ExportOutcome::Failed);
                                    return Some((Err(err), (records, encoder, audit, Step::Done)));
                                }
                            }
                        }
                        audit.rows = encoder.records();
                    }
                    None => {
                        encoder.finish(&mut out);
                        audit.rows = encoder.records();
                        audit.finish(ExportOutcome::Completed).await;
                        step = Step::Done;
                    }
                },
                Step::Done if out.is_empty() => return None,
                Step::Done => {}
            }
            if !out.is_empty() {
                return Some((Ok(Bytes::from(out)), (records, encoder, audit, step)));
            }
        }
    })
}

/// How long the entry of an export that failed or was abandoned waits for
/// the database (a restart, a failover) before it is given up and logged.
const AUDIT_PATIENCE: Duration = Duration::from_secs(600);

/// The `history.exported` entry, written when the export ends; if the
/// response is dropped first (the client went away), on drop.
struct ExportAudit {
    store: Store,
    project_id: Uuid,
    actor: (String, String),
    format: ExportFormat,
    filter: ExportFilter,
    rows: u64,
    armed: bool,
}

impl ExportAudit {
    fn event(&self, outcome: ExportOutcome) -> NewAuditEvent {
        NewAuditEvent::new(self.project_id, AuditEventType::HistoryExported)
            .actor(&self.actor.0, &self.actor.1)
            .details(export_audit_details("api", self.format, &self.filter, self.rows, outcome))
    }

    /// Written before the complete export's last byte.
    async fn finish(&mut self, outcome: ExportOutcome) {
        self.armed = false;
        if let Err(err) = self.store.append_audit(&self.event(outcome)).await {
            tracing::error!(error = %err, "the export could not be audited");
        }
    }

    /// Written by a task of its own, retried while the database cannot be
    /// reached, so the response ends at once.
    fn finish_in_background(&mut self, outcome: ExportOutcome) {
        self.armed = false;
        let event = self.event(outcome);
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(err) = store.append_audit_retrying(&event, AUDIT_PATIENCE).await {
                tracing::error!(error = %err, ?outcome, "the export could not be audited");
            }
        });
    }
}

impl Drop for ExportAudit {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        tracing::info!(rows = self.rows, "the client went away during an export");
        self.finish_in_background(ExportOutcome::ClientDisconnected);
    }
}
