//! `termaudit export`: the history export for operators, in the same formats
//! as the API, to stdout or a file, with a progress bar when stderr is a
//! terminal.

use std::{
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use termaudit_domain::{
    AuditEventType, ExportEncoder, ExportFilter, ExportFormat, ExportOutcome,
    export_started_details,
};
use termaudit_storage::{ExportAudit, ExportOptions, NewAuditEvent, Store};

use crate::{Settings, database_url};

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportJob {
    pub project: String,
    pub format: ExportFormat,
    pub filter: ExportFilter,
    /// A file to write; stdout when `None`. A file is written under a
    /// temporary name and renamed when complete, so a failed export never
    /// leaves a file that looks whole.
    pub output: Option<PathBuf>,
}

/// Runs an export and returns how many records it wrote. The export is
/// audited (via `cli`, by the operating-system user) as
/// `history.export_started`, then `history.exported`; if this process is
/// killed, a server ends it as `interrupted`.
pub async fn export_history(settings: &Settings, job: &ExportJob) -> anyhow::Result<u64> {
    let store = Store::new(&database_url(settings)?, 2)?;
    let project = store
        .project_by_slug(&job.project)
        .await?
        .with_context(|| format!("there is no project {:?}", job.project))?;
    let operator = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let audit = ExportAudit {
        start: NewAuditEvent::new(project.id, AuditEventType::HistoryExportStarted)
            .actor(&format!("cli:{operator}"), &operator)
            .details(export_started_details("cli", job.format, &job.filter)),
        patience: AUDIT_PATIENCE,
    };
    let options = ExportOptions { count: true, proofs_into: None };
    let mut records = store
        .export(
            project.id,
            &project.slug,
            &job.filter,
            options,
            audit,
            ExportEncoder::new(job.format),
        )
        .await?;

    let progress = ProgressBar::new(records.total().unwrap_or_default());
    progress.set_style(
        ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} records, {per_sec}, {elapsed} (ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let (sink, partial): (Box<dyn Write>, Option<PathBuf>) = match &job.output {
        Some(path) => {
            let partial = partial_path(path);
            let file = std::fs::File::create(&partial)
                .with_context(|| format!("cannot create {}", partial.display()))?;
            (Box::new(file), Some(partial))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let mut sink = BufWriter::with_capacity(1 << 16, sink);
    let mut encoder = ExportEncoder::new(job.format);
    let mut out = Vec::with_capacity(1 << 16);
    encoder.start(&mut out);
    let result: anyhow::Result<()> = async {
        sink.write_all(&out)?;
        out.clear();
        while let Some(chunk) = records.next().await {
            let chunk = chunk?;
            sink.write_all(&chunk.bytes)?;
            encoder.add_records(chunk.records);
            records.delivered(encoder.records());
            progress.set_position(encoder.records());
        }
        encoder.finish(&mut out);
        sink.write_all(&out)?;
        sink.flush()?;
        records.delivered(encoder.records());
        Ok(())
    }
    .await;
    progress.set_position(encoder.records());
    drop(sink);
    let outcome = match &result {
        Ok(()) => ExportOutcome::Completed,
        Err(_) => ExportOutcome::Failed,
    };
    // A failed export leaves no file: not FILE, and not its `.partial`.
    if let (Err(_), Some(partial)) = (&result, &partial) {
        let _ = std::fs::remove_file(partial);
    }
    // The database may be what failed the export: its end entry waits for it.
    let audited = records.finish(outcome).await;
    let result = match (result, audited) {
        (Err(err), Ok(_)) => Err(err.context("the export failed; nothing was written")),
        (Err(err), Err(audit)) => Err(err.context(format!(
            "the export failed; nothing was written, and it could not be audited ({audit})"
        ))),
        (Ok(()), Err(audit)) => {
            if let Some(partial) = &partial {
                let _ = std::fs::remove_file(partial);
            }
            Err(anyhow::Error::new(audit).context("cannot audit the export; nothing was written"))
        }
        (Ok(()), Ok(_)) => match (partial, &job.output) {
            (Some(partial), Some(path)) => std::fs::rename(&partial, path)
                .with_context(|| format!("cannot write {}", path.display())),
            _ => Ok(()),
        },
    };
    if let Err(err) = result {
        progress.abandon();
        return Err(err);
    }
    progress.finish();
    Ok(encoder.records())
}

/// How long an export's audit entry waits for the database (a restart).
const AUDIT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}
