//! History export: the one record shape every format shares, its fixed
//! column set, the filters, and the encoders (CSV per RFC 4180 with formula
//! neutralisation, one JSON document, NDJSON). Pure: the caller feeds records
//! in and writes the bytes out, so the same code serves the HTTP API and the
//! `termaudit export` command.

use std::{borrow::Cow, fmt, str::FromStr};

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::{
    CloseReason, DomainError, EnvironmentClass, HistoryFilter, SessionMode, SessionStatus,
    TargetKind, target::str_enum, transparency::EntryProof,
};

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// RFC 4180 CSV, UTF-8, a header row.
    Csv,
    /// One JSON document: an array of records.
    Json,
    /// Newline-delimited JSON: one record per line.
    Ndjson,
}

str_enum!(ExportFormat, "format", {
    ExportFormat::Csv => "csv",
    ExportFormat::Json => "json",
    ExportFormat::Ndjson => "ndjson",
});

impl ExportFormat {
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8; header=present",
            Self::Json => "application/json",
            Self::Ndjson => "application/x-ndjson",
        }
    }

    pub const fn extension(self) -> &'static str {
        self.as_str()
    }
}

/// What a record of the export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// A session, at the time it opened.
    Session,
    /// An audit event of a session other than a database statement
    /// (`session.opened`, `session.revoked`, ...).
    TerminalEvent,
    /// A statement run in a database shell (`database.statement`).
    DatabaseEvent,
}

str_enum!(RecordType, "record_type", {
    RecordType::Session => "session",
    RecordType::TerminalEvent => "terminal_event",
    RecordType::DatabaseEvent => "database_event",
});

impl RecordType {
    /// The name `include=` uses for records of this type.
    pub const fn include_name(self) -> &'static str {
        match self {
            Self::Session => "sessions",
            Self::TerminalEvent => "terminal_events",
            Self::DatabaseEvent => "database_events",
        }
    }
}

impl Serialize for RecordType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Which kinds of record an export holds (`include=sessions,terminal_events,database_events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportInclude {
    pub sessions: bool,
    pub terminal_events: bool,
    pub database_events: bool,
}

impl Default for ExportInclude {
    fn default() -> Self {
        Self::ALL
    }
}

impl ExportInclude {
    pub const ALL: Self = Self { sessions: true, terminal_events: true, database_events: true };
    const NAMES: [RecordType; 3] =
        [RecordType::Session, RecordType::TerminalEvent, RecordType::DatabaseEvent];

    /// Parses a comma-separated list of `sessions`, `terminal_events` and
    /// `database_events`; at least one, each at most once.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let mut include = Self { sessions: false, terminal_events: false, database_events: false };
        let expected = "must list one or more of sessions, terminal_events, database_events";
        for name in raw.split(',').map(str::trim) {
            let Some(kind) = Self::NAMES.iter().find(|k| k.include_name() == name) else {
                let shown =
                    if name.is_empty() { "an empty name".to_owned() } else { format!("{name:?}") };
                return Err(DomainError::invalid("include", format!("{expected}, not {shown}")));
            };
            let slot = include.slot(*kind);
            if *slot {
                return Err(DomainError::invalid("include", format!("{name} is listed twice")));
            }
            *slot = true;
        }
        Ok(include)
    }

    fn slot(&mut self, kind: RecordType) -> &mut bool {
        match kind {
            RecordType::Session => &mut self.sessions,
            RecordType::TerminalEvent => &mut self.terminal_events,
            RecordType::DatabaseEvent => &mut self.database_events,
        }
    }

    pub fn includes(&self, kind: RecordType) -> bool {
        match kind {
            RecordType::Session => self.sessions,
            RecordType::TerminalEvent => self.terminal_events,
            RecordType::DatabaseEvent => self.database_events,
        }
    }

    /// The included kinds, by their `include=` names.
    pub fn names(&self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|k| self.includes(**k)).map(|k| k.include_name()).collect()
    }
}

/// The filters of an export: the history filters, with a time range that
/// applies to each record's own time (a session's opening, an event's
/// occurrence). The session filters (status, environment, target, user,
/// mode) apply to events through the session they belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    pub include: ExportInclude,
    /// Records at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Records before this time.
    pub to: Option<DateTime<Utc>>,
    /// Which sessions, and so which sessions' events.
    pub sessions: HistoryFilter,
}

impl ExportFilter {
    /// Checks what cannot be checked field by field: the range's order.
    pub fn validate(self) -> Result<Self, DomainError> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to <= from
        {
            return Err(DomainError::invalid("to", "must be later than from"));
        }
        Ok(self)
    }

    /// The filters as the `history.exported` audit entry records them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "include": self.include.names(),
            "from": self.from.map(rfc3339),
            "to": self.to.map(rfc3339),
            "status": self.sessions.status.map(SessionStatus::as_str),
            "environment_class": self.sessions.environment_class.map(EnvironmentClass::as_str),
            "environment": self.sessions.environment,
            "target_id": self.sessions.target_id,
            "user": self.sessions.user_subject,
            "mode": self.sessions.mode.map(SessionMode::as_str),
        })
    }

    /// The download's file name: the project and the range, e.g.
    /// `termaudit-demo-20260101T000000Z-20260201T000000Z.csv`; an open start
    /// reads `beginning`, an open end the time of the export (`now`).
    pub fn file_name(&self, project: &str, format: ExportFormat, now: DateTime<Utc>) -> String {
        let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let from = self.from.map(stamp).unwrap_or_else(|| "beginning".to_owned());
        let to = stamp(self.to.unwrap_or(now));
        format!("termaudit-{project}-{from}-{to}.{}", format.extension())
    }
}

/// How an export ended, as its `history.exported` audit entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportOutcome {
    /// Every record was written.
    Completed,
    /// Reading the database failed midway.
    Failed,
    /// The reader went away before the end.
    ClientDisconnected,
    /// The process running it died (or lost its database connection) with
    /// it unfinished: written by another process, which found its start
    /// without an end and its lock gone.
    Interrupted,
}

str_enum!(ExportOutcome, "outcome", {
    ExportOutcome::Completed => "completed",
    ExportOutcome::Failed => "failed",
    ExportOutcome::ClientDisconnected => "client_disconnected",
    ExportOutcome::Interrupted => "interrupted",
});

/// The details of an export's first audit entry, `history.export_started`,
/// written before its first record is read: how (`via`: `api` or `cli`),
/// in which format, with which filters.
pub fn export_started_details(
    via: &str,
    format: ExportFormat,
    filter: &ExportFilter,
) -> serde_json::Value {
    serde_json::json!({
        "via": via,
        "format": format.as_str(),
        "filters": filter.to_json(),
    })
}

/// The details of an export's end entry, `history.exported`: those of its
/// start (`started`, the entry `started_id`), how many records were handed
/// to the client (`None`: unknown, for an interrupted export) and how it
/// ended.
pub fn export_ended_details(
    started: &serde_json::Value,
    started_id: i64,
    rows: Option<u64>,
    outcome: ExportOutcome,
) -> serde_json::Value {
    let mut details = started.clone();
    if let Some(fields) = details.as_object_mut() {
        fields.insert("started_id".into(), started_id.into());
        fields.insert("rows".into(), rows.into());
        fields.insert("completed".into(), (outcome == ExportOutcome::Completed).into());
        fields.insert("outcome".into(), outcome.as_str().into());
    }
    details
}

/// Times are written as RFC 3339 in UTC with microseconds, the precision
/// they are stored with, so every time has the same width and sorts as text.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    TimeText::of(t).as_str().to_owned()
}

/// [`rfc3339`]'s text without an allocation nor `fmt`, for the export's
/// millions of timestamps: years 0 to 9999 written digit by digit, any
/// other time (and a leap second) by chrono, whose text this equals.
enum TimeText {
    Short([u8; 27]),
    Long(String),
}

impl TimeText {
    fn of(t: DateTime<Utc>) -> Self {
        // Past 10^9 nanoseconds, chrono's way of holding a leap second.
        let (Ok(year @ 0..=9999), nanos @ 0..=999_999_999) =
            (u32::try_from(t.year()), t.nanosecond())
        else {
            return Self::Long(t.to_rfc3339_opts(SecondsFormat::Micros, true));
        };
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        for (range, value) in [
            (0..4, year),
            (5..7, t.month()),
            (8..10, t.day()),
            (11..13, t.hour()),
            (14..16, t.minute()),
            (17..19, t.second()),
            (20..26, nanos / 1000),
        ] {
            let mut value = value;
            for digit in text[range].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Self::Short(text)
    }

    fn as_str(&self) -> &str {
        match self {
            // ASCII digits and separators: always UTF-8.
            Self::Short(text) => std::str::from_utf8(text).unwrap_or_default(),
            Self::Long(text) => text,
        }
    }
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(TimeText::of(*t).as_str())
}

fn ser_opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

fn ser_display<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn ser_opt_display<T: fmt::Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// One record of an export. The field names are the CSV columns, in this
/// order, and the JSON keys; both are part of the API and stay stable.
///
/// The session columns (`user` to `close_reason`) describe the session the
/// record belongs to, as it was when the export read it; they are repeated
/// on every record so each row stands on its own in a spreadsheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRecord<'a> {
    pub record_type: RecordType,
    /// A session's opening, an event's occurrence.
    #[serde(serialize_with = "ser_time")]
    pub time: DateTime<Utc>,
    /// The project's slug.
    pub project: &'a str,
    pub session_id: Uuid,
    /// The audit event's id; none for session records.
    pub event_id: Option<i64>,
    /// The audit event's type (`session.revoked`, `database.statement`, ...);
    /// none for session records.
    pub event_type: Option<&'a str>,
    /// Who did it (the token subject), for events; none for the system.
    pub actor: Option<&'a str>,
    /// The session's user (subject) and display name.
    pub user: &'a str,
    pub user_name: &'a str,
    /// The target's name and kind as they were when the session opened.
    pub target: &'a str,
    #[serde(serialize_with = "ser_display")]
    pub target_kind: TargetKind,
    pub environment: &'a str,
    #[serde(serialize_with = "ser_display")]
    pub environment_class: EnvironmentClass,
    #[serde(serialize_with = "ser_display")]
    pub mode: SessionMode,
    /// Why the session was opened.
    pub reason: Option<&'a str>,
    #[serde(serialize_with = "ser_display")]
    pub status: SessionStatus,
    pub recorded: bool,
    #[serde(serialize_with = "ser_opt_time")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_display")]
    pub close_reason: Option<CloseReason>,
    /// The event's details as the audit log holds them; for a session, who
    /// revoked it and why, and why it last dropped. JSON text in
    /// `serde_json::Value`'s compact form ([`crate::compact_json`]),
    /// written as it is: the value of JSON records' last key, CSV's cell.
    #[serde(skip)]
    pub details: String,
    /// For an event of an export with proofs: its leaf and inclusion proof
    /// (written as the [`PROOF_COLUMNS`]); never for sessions.
    #[serde(skip)]
    pub proof: Option<EntryProof>,
}

/// The CSV columns, in order: [`ExportRecord`]'s fields.
pub const CSV_COLUMNS: [&str; 20] = [
    "record_type",
    "time",
    "project",
    "session_id",
    "event_id",
    "event_type",
    "actor",
    "user",
    "user_name",
    "target",
    "target_kind",
    "environment",
    "environment_class",
    "mode",
    "reason",
    "status",
    "recorded",
    "ended_at",
    "close_reason",
    "details",
];

/// The columns an export with proofs adds after [`CSV_COLUMNS`] (and the
/// keys it adds to each JSON record): the audit entry's canonical leaf
/// (the bytes its leaf hash is over), its index in the log, the size of the
/// tree its inclusion proof leads into, the proof's hashes (hex; in CSV
/// separated by spaces) and that tree's signed head, the same on every
/// record. Empty (null) for session records.
pub const PROOF_COLUMNS: [&str; 5] =
    ["leaf_index", "tree_size", "leaf", "inclusion_proof", "tree_head"];

impl ExportRecord<'_> {
    /// Appends the record as a CSV row: its cells in [`CSV_COLUMNS`] order
    /// (times, ids and numbers formatted on the stack), then the
    /// [`PROOF_COLUMNS`] when given.
    fn write_csv(&self, out: &mut Vec<u8>, proof: Option<&[String; 5]>) {
        let time = TimeText::of(self.time);
        let mut session_id = Uuid::encode_buffer();
        let mut event_id = itoa::Buffer::new();
        let ended_at = self.ended_at.map(TimeText::of);
        let cells = [
            self.record_type.as_str(),
            time.as_str(),
            self.project,
            self.session_id.hyphenated().encode_lower(&mut session_id),
            self.event_id.map_or("", |id| event_id.format(id)),
            self.event_type.unwrap_or_default(),
            self.actor.unwrap_or_default(),
            self.user,
            self.user_name,
            self.target,
            self.target_kind.as_str(),
            self.environment,
            self.environment_class.as_str(),
            self.mode.as_str(),
            self.reason.unwrap_or_default(),
            self.status.as_str(),
            if self.recorded { "true" } else { "false" },
            ended_at.as_ref().map_or("", TimeText::as_str),
            self.close_reason.map_or("", CloseReason::as_str),
            self.details.as_str(),
        ];
        write_csv_row(
            out,
            cells.into_iter().chain(proof.into_iter().flatten().map(String::as_str)),
        );
    }
}

/// A cell a spreadsheet would run as a formula (it starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading `'`, which makes it
/// text; every other cell is kept as it is (OWASP's advice for CSV injection).
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Appends one CSV row (RFC 4180): cells joined by commas, a cell quoted
/// when it holds a comma, a quote or a line break (quotes doubled), CRLF at
/// the end. Cells are neutralised first.
pub fn write_csv_row<'a>(out: &mut Vec<u8>, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let cell = neutralise_formula(cell);
        if cell.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
            out.push(b'"');
            // Copied a run at a time, each quote written twice.
            let mut rest = cell.as_bytes();
            while let Some(quote) = rest.iter().position(|&b| b == b'"') {
                out.extend_from_slice(&rest[..=quote]);
                out.push(b'"');
                rest = &rest[quote + 1..];
            }
            out.extend_from_slice(rest);
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Turns a stream of records into the bytes of one format: call
/// [`start`](Self::start) once, [`record`](Self::record) per record and
/// [`finish`](Self::finish) at the end; each appends to `out`. An export
/// with no record is still a valid document (CSV: the header; JSON: `[]`;
/// NDJSON: nothing).
#[derive(Debug, Clone)]
pub struct ExportEncoder {
    format: ExportFormat,
    records: u64,
    /// With proofs: the signed tree head every proof leads into, as JSON
    /// text (`null` for an empty log).
    tree_head: Option<String>,
}

impl ExportEncoder {
    pub fn new(format: ExportFormat) -> Self {
        Self { format, records: 0, tree_head: None }
    }

    /// An encoder that also writes the [`PROOF_COLUMNS`], each proof leading
    /// into `tree_head` (the signed head as JSON text, `null` when none).
    pub fn with_proofs(format: ExportFormat, tree_head: String) -> Self {
        Self { format, records: 0, tree_head: Some(tree_head) }
    }

    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// How many records were encoded so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Counts `records` that another encoder of the same export wrote (the
    /// one its reading task encodes with), so that this one, which wrote
    /// the start, writes the end that follows them.
    pub fn add_records(&mut self, records: u64) {
        self.records += records;
    }

    pub fn start(&mut self, out: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Csv if self.tree_head.is_some() => {
                write_csv_row(out, CSV_COLUMNS.iter().chain(&PROOF_COLUMNS).copied())
            }
            ExportFormat::Csv => write_csv_row(out, CSV_COLUMNS),
            ExportFormat::Json => out.push(b'['),
            ExportFormat::Ndjson => {}
        }
    }

    pub fn record(&mut self, record: &ExportRecord, out: &mut Vec<u8>) {
        match self.format {
            ExportFormat::Csv => {
                let proof = self.tree_head.as_ref().map(|head| proof_cells(record, head));
                record.write_csv(out, proof.as_ref());
            }
            ExportFormat::Json => {
                out.extend_from_slice(if self.records == 0 { b"\n" } else { b",\n" });
                write_json(out, record, self.tree_head.as_deref());
            }
            ExportFormat::Ndjson => {
                write_json(out, record, self.tree_head.as_deref());
                out.push(b'\n');
            }
        }
        self.records += 1;
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.format == ExportFormat::Json {
            out.extend_from_slice(if self.records == 0 { b"]\n" } else { b"\n]\n" });
        }
    }
}

/// The [`PROOF_COLUMNS`] cells of a record: empty for a session.
fn proof_cells(record: &ExportRecord, tree_head: &str) -> [String; 5] {
    match &record.proof {
        Some(p) => [
            p.leaf_index.to_string(),
            p.tree_size.to_string(),
            String::from_utf8_lossy(&p.leaf.encode()).into_owned(),
            p.hashes.iter().map(|h| h.hex()).collect::<Vec<_>>().join(" "),
            tree_head.to_owned(),
        ],
        None => Default::default(),
    }
}

fn write_json(out: &mut Vec<u8>, record: &ExportRecord, tree_head: Option<&str>) {
    // Writing into a Vec cannot fail, and every field serialises.
    if let Err(err) = serde_json::to_writer(&mut *out, record) {
        debug_assert!(false, "an export record did not serialise: {err}");
    }
    // The object's closing brace gives way to `details`, JSON text already.
    out.pop();
    out.extend_from_slice(b",\"details\":");
    out.extend_from_slice(record.details.as_bytes());
    out.push(b'}');
    let Some(tree_head) = tree_head else { return };
    // And to the proof's keys.
    out.pop();
    match &record.proof {
        Some(p) => {
            let leaf = String::from_utf8_lossy(&p.leaf.encode()).into_owned();
            let hashes: Vec<String> = p.hashes.iter().map(|h| h.hex()).collect();
            out.extend_from_slice(
                format!(
                    ",\"leaf_index\":{},\"tree_size\":{},\"leaf\":{},\"inclusion_proof\":{},\"tree_head\":{tree_head}}}",
                    p.leaf_index,
                    p.tree_size,
                    serde_json::Value::from(leaf),
                    serde_json::Value::from(hashes),
                )
                .as_bytes(),
            );
        }
        None => out.extend_from_slice(
            b",\"leaf_index\":null,\"tree_size\":null,\"leaf\":null,\"inclusion_proof\":null,\"tree_head\":null}",
        ),
    }
}

impl FromStr for ExportInclude {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn chronos(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    #[test]
    fn times_are_chronos_text_at_the_edges() {
        let seconds = [
            0,
            1_767_225_600,
            -62_167_219_200, // 0000-01-01, the first year written by hand
            -62_167_219_201, // a second before it, chrono's
            253_402_300_799, // 9999-12-31T23:59:59, the last
            253_402_300_800, // 10000-01-01, chrono's
            DateTime::<Utc>::MIN_UTC.timestamp(),
            DateTime::<Utc>::MAX_UTC.timestamp() - 1,
        ];
        for s in seconds {
            for n in [0, 999, 1_000, 123_456_789, 999_999_999] {
                let t = DateTime::from_timestamp(s, n).unwrap();
                assert_eq!(rfc3339(t), chronos(t), "{s} s {n} ns");
            }
        }
        // A leap second (chrono's nanoseconds past 10^9), chrono's text.
        let leap = DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap();
        assert_eq!(rfc3339(leap), chronos(leap));
    }

    proptest! {
        #[test]
        fn times_are_chronos_text(
            s in DateTime::<Utc>::MIN_UTC.timestamp()..DateTime::<Utc>::MAX_UTC.timestamp(),
            n in 0..1_000_000_000u32,
        ) {
            let t = DateTime::from_timestamp(s, n).unwrap();
            prop_assert_eq!(rfc3339(t), chronos(t));
        }

        #[test]
        fn times_of_these_centuries_are_chronos_text(
            s in -2_208_988_800i64..4_102_444_800, // 1900 to 2100
            n in 0..1_000_000_000u32,
        ) {
            let t = DateTime::from_timestamp(s, n).unwrap();
            prop_assert_eq!(rfc3339(t), chronos(t));
        }
    }

    #[test]
    fn an_exports_end_repeats_its_start_and_says_how_it_ended() {
        let filter = ExportFilter {
            sessions: HistoryFilter { user_subject: Some("alice".into()), ..Default::default() },
            ..Default::default()
        };
        let started = export_started_details("api", ExportFormat::Csv, &filter);
        assert_eq!(started["via"], "api");
        assert_eq!(started["filters"]["user"], "alice");
        assert!(started.get("rows").is_none() && started.get("outcome").is_none());
        let ended = export_ended_details(&started, 7, Some(42), ExportOutcome::Completed);
        assert_eq!((ended["started_id"].as_i64(), ended["rows"].as_u64()), (Some(7), Some(42)));
        assert_eq!(
            (ended["completed"].as_bool(), ended["outcome"].as_str()),
            (Some(true), Some("completed"))
        );
        assert_eq!(ended["filters"], started["filters"]);
        let cut = export_ended_details(&started, 7, None, ExportOutcome::Interrupted);
        assert!(cut["rows"].is_null());
        assert_eq!(
            (cut["completed"].as_bool(), cut["outcome"].as_str()),
            (Some(false), Some("interrupted"))
        );
    }

    fn record() -> ExportRecord<'static> {
        ExportRecord {
            record_type: RecordType::TerminalEvent,
            time: DateTime::from_timestamp(1_767_225_600, 123_456_000).unwrap(),
            project: "demo",
            session_id: Uuid::nil(),
            event_id: Some(42),
            event_type: Some("session.revoked"),
            actor: Some("carol"),
            user: "alice",
            user_name: "Alice \"Ops\", Example",
            target: "billing-api",
            target_kind: TargetKind::Application,
            environment: "prod-eu",
            environment_class: EnvironmentClass::Production,
            mode: SessionMode::Shell,
            reason: Some("=HYPERLINK(\"http://x\")"),
            status: SessionStatus::Closed,
            recorded: true,
            ended_at: None,
            close_reason: Some(CloseReason::Revoked),
            details: serde_json::json!({"reason": "line1\nline2"}).to_string(),
            proof: None,
        }
    }

    fn encode(format: ExportFormat, records: &[ExportRecord]) -> String {
        let mut encoder = ExportEncoder::new(format);
        let mut out = Vec::new();
        encoder.start(&mut out);
        for r in records {
            encoder.record(r, &mut out);
        }
        encoder.finish(&mut out);
        assert_eq!(encoder.records(), records.len() as u64);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formula_cells_are_neutralised_and_others_kept() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"));
        }
        for cell in ["", "alice", "1", "'=x", " =x", "a=b"] {
            assert_eq!(neutralise_formula(cell), cell);
        }
    }

    #[test]
    fn csv_rows_quote_what_needs_quoting() {
        let mut out = Vec::new();
        write_csv_row(&mut out, ["plain", "a,b", "say \"hi\"", "two\nlines", "", "=cmd"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,'=cmd\r\n"
        );
        // Quotes at either end, side by side, and after a neutralised start.
        let mut out = Vec::new();
        write_csv_row(&mut out, ["\"", "\"\"x\"", "-\"a\"\"b\"", "é\"ü"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\"\"\",\"\"\"\"\"x\"\"\",\"'-\"\"a\"\"\"\"b\"\"\",\"é\"\"ü\"\r\n"
        );
    }

    #[test]
    fn csv_has_the_header_and_one_row_per_record() {
        let text = encode(ExportFormat::Csv, &[record()]);
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        let row = lines.next().unwrap();
        assert!(row.starts_with(
            "terminal_event,2026-01-01T00:00:00.123456Z,demo,00000000-0000-0000-0000-000000000000,42,session.revoked,carol,alice,\"Alice \"\"Ops\"\", Example\""
        ));
        assert!(row.contains(",\"'=HYPERLINK(\"\"http://x\"\")\",closed,true,,revoked,"));
        assert!(row.ends_with(r#""{""reason"":""line1\nline2""}""#));
        assert_eq!(encode(ExportFormat::Csv, &[]), format!("{}\r\n", CSV_COLUMNS.join(",")));
    }

    #[test]
    fn json_is_one_document_with_the_csv_columns_as_keys() {
        let text = encode(ExportFormat::Json, &[record(), record()]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let items = value.as_array().unwrap();
        assert_eq!(items.len(), 2);
        let keys: Vec<&str> = items[0].as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = CSV_COLUMNS.to_vec();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        assert_eq!(items[0]["time"], "2026-01-01T00:00:00.123456Z");
        assert_eq!(items[0]["reason"], "=HYPERLINK(\"http://x\")", "JSON is not a spreadsheet");
        assert_eq!(items[0]["close_reason"], "revoked");
        assert_eq!(items[0]["ended_at"], serde_json::Value::Null);
        assert_eq!(encode(ExportFormat::Json, &[]), "[]\n");
        let empty: serde_json::Value =
            serde_json::from_str(&encode(ExportFormat::Json, &[])).unwrap();
        assert_eq!(empty, serde_json::json!([]));
    }

    #[test]
    fn proofs_add_their_columns_after_the_documented_ones() {
        use crate::transparency::{AuditLeaf, EntryProof, Hash};
        let mut event = record();
        event.proof = Some(EntryProof {
            leaf: AuditLeaf {
                id: 42,
                project_id: Uuid::nil(),
                occurred_at: event.time,
                event_type: "session.revoked".into(),
                actor_subject: Some("carol".into()),
                actor_name: None,
                session_id: Some(Uuid::nil()),
                details: r#"{"reason": "line1\nline2"}"#.into(),
            },
            leaf_index: 3,
            tree_size: 8,
            hashes: vec![Hash([1; 32]), Hash([2; 32])],
        });
        let mut session = record();
        session.record_type = RecordType::Session;
        session.event_id = None;
        let head = r#"{"tree_size":8}"#;
        let encode_with = |format| {
            let mut encoder = ExportEncoder::with_proofs(format, head.into());
            let mut out = Vec::new();
            encoder.start(&mut out);
            encoder.record(&event, &mut out);
            encoder.record(&session, &mut out);
            encoder.finish(&mut out);
            String::from_utf8(out).unwrap()
        };
        let csv = encode_with(ExportFormat::Csv);
        let mut rows = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, [CSV_COLUMNS.as_slice(), PROOF_COLUMNS.as_slice()].concat());
        let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
        let plain = encode(ExportFormat::Csv, &[record()]);
        let plain = csv::Reader::from_reader(plain.as_bytes()).records().next().unwrap().unwrap();
        assert_eq!(rows[0].iter().take(20).collect::<Vec<_>>(), plain.iter().collect::<Vec<_>>());
        assert_eq!(&rows[0][20], "3");
        assert_eq!(&rows[0][21], "8");
        assert!(rows[0][22].starts_with(r#"{"v":1,"id":42,"#));
        assert_eq!(&rows[0][23], format!("{} {}", Hash([1; 32]).hex(), Hash([2; 32]).hex()));
        assert_eq!(&rows[0][24], head);
        assert!(rows[1].iter().skip(20).all(str::is_empty), "sessions carry no proof");

        let json: serde_json::Value =
            serde_json::from_str(&encode_with(ExportFormat::Json)).unwrap();
        assert_eq!(json[0]["leaf_index"], 3);
        assert_eq!(json[0]["tree_head"]["tree_size"], 8);
        assert_eq!(json[0]["inclusion_proof"][1], Hash([2; 32]).hex());
        assert_eq!(json[0]["details"]["reason"], "line1\nline2");
        assert!(json[1]["leaf"].is_null() && json[1]["tree_head"].is_null());
        let ndjson = encode_with(ExportFormat::Ndjson);
        let first: serde_json::Value =
            serde_json::from_str(ndjson.lines().next().unwrap()).unwrap();
        assert_eq!(first, json[0]);
    }

    #[test]
    fn ndjson_is_one_record_per_line() {
        let text = encode(ExportFormat::Ndjson, &[record(), record()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["record_type"], "terminal_event");
        }
        assert_eq!(encode(ExportFormat::Ndjson, &[]), "");
    }

    #[test]
    fn include_lists_parse() {
        assert_eq!(
            ExportInclude::parse("sessions,terminal_events,database_events"),
            Ok(ExportInclude::ALL)
        );
        let only = ExportInclude::parse(" database_events ").unwrap();
        assert_eq!(only.names(), ["database_events"]);
        for bad in ["", "sessions,", "session", "sessions,sessions", "SESSIONS"] {
            let err = ExportInclude::parse(bad).unwrap_err();
            assert_eq!(err.field_errors()[0].field, "include", "{bad:?}");
        }
    }

    #[test]
    fn ranges_must_be_ordered_and_name_the_file() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let filter = ExportFilter { from: Some(t(10)), to: Some(t(10)), ..Default::default() };
        assert_eq!(filter.validate().unwrap_err().field_errors()[0].field, "to");
        let filter = ExportFilter { from: Some(t(0)), to: Some(t(86_400)), ..Default::default() };
        assert_eq!(
            filter.file_name("demo", ExportFormat::Ndjson, t(999_999)),
            "termaudit-demo-19700101T000000Z-19700102T000000Z.ndjson"
        );
        assert_eq!(
            ExportFilter::default().file_name("demo", ExportFormat::Csv, t(60)),
            "termaudit-demo-beginning-19700101T000100Z.csv"
        );
        assert!(ExportFilter { to: Some(t(5)), ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn formats_parse_from_their_names() {
        for format in ExportFormat::ALL {
            assert_eq!(format.as_str().parse::<ExportFormat>(), Ok(*format));
        }
        assert_eq!("xlsx".parse::<ExportFormat>().unwrap_err().field_errors()[0].field, "format");
    }
}
