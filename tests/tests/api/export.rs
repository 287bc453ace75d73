//! The history export, end to end: each format parsed with a standard parser
//! and compared with what the history and audit endpoints say.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use termaudit_api_types::{AuditEvent, AuditEventPage, ExportRecord, Session, SessionPage};
use termaudit_domain::Permission::*;
use termaudit_tests::{TestApp, json, problem};
use uuid::Uuid;

const COLUMNS: [&str; 20] = [
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

const FORMULA: &str = "=HYPERLINK(\"http://evil.example/\",\"open me\")";

struct Fixture {
    app: TestApp,
    gateway: String,
    viewer: String,
    /// When the second session opened: a time-range boundary.
    second_opened: DateTime<Utc>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Fixture {
    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let response = self.app.post(&format!("/api/v1/projects/demo{path}"), token, &body).await;
        let status = response.status().as_u16();
        assert!(status == 200 || status == 201, "POST {path}: {status}");
        response.json().await.expect("JSON")
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        json(self.app.get(&format!("/api/v1/projects/demo{path}"), &self.viewer).await, 200).await
    }

    /// The export's body, with the response's headers.
    async fn export(&self, query: &str) -> (reqwest::header::HeaderMap, String) {
        let response =
            self.app.get(&format!("/api/v1/projects/demo/export?{query}"), &self.viewer).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a body");
        assert_eq!(status, 200, "export?{query}: {body}");
        (headers, body)
    }
}

/// Two sessions with activity, a drop, a revoke, database statements and a
/// close, all through the HTTP API as a gateway and a manager would.
async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    app.create_project("other").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let viewer = app.token("vera", "demo", &[ViewHistory]);
    let manager = app.token("carol", "demo", &[ManagePolicy]);
    let mut f = Fixture { app, gateway, viewer, second_opened: Utc::now() };

    let prod = f
        .post("/targets", &f.gateway, json!({"name": "billing-api", "kind": "application", "environment": "prod-eu", "environment_class": "production"}))
        .await;
    let db = f
        .post("/targets", &f.gateway, json!({"name": "@orders-db", "kind": "database", "environment": "staging", "environment_class": "non_production"}))
        .await;

    // Alice's production shell, with a reason a spreadsheet would run.
    let a = f
        .post("/sessions", &f.gateway, json!({"target_id": prod["id"], "user": {"subject": "alice", "name": "Alice, \"Ops\""}, "mode": "shell", "reason": FORMULA}))
        .await;
    let a = a["id"].as_str().expect("an id").to_owned();
    let activity = json!({"items": [{"event_id": "c1", "kind": "command", "text": "systemctl restart workers", "occurred_at": now(), "exit_code": 0}]});
    f.post(&format!("/sessions/{a}/activity"), &f.gateway, activity).await;
    f.post(&format!("/sessions/{a}/drop"), &f.gateway, json!({})).await;

    // Bob's database session on staging, with statements, closed by him.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let b = f
        .post("/sessions", &f.gateway, json!({"target_id": db["id"], "user": {"subject": "bob", "name": "Bob"}, "mode": "database", "reason": "-1 row fix"}))
        .await;
    f.second_opened = b["opened_at"].as_str().expect("a time").parse().expect("RFC 3339");
    let b = b["id"].as_str().expect("an id").to_owned();
    let statements = json!({"items": [
        {"event_id": "d1", "statement": "-- fix\nUPDATE orders SET state = 'paid', note = 'a,b' WHERE id = 7", "database": "orders", "occurred_at": now(), "rows_affected": 1, "duration_ms": 3},
        {"event_id": "d2", "statement": "SELECT 1", "database": "orders", "occurred_at": now(), "error": "permission denied"},
    ]});
    f.post(&format!("/sessions/{b}/database-events"), &f.gateway, statements).await;
    f.post(&format!("/sessions/{b}/close"), &f.gateway, json!({"reason": "user_exit"})).await;

    // Carol revokes Alice's dropped session.
    f.post(
        &format!("/sessions/{a}/revoke"),
        &manager,
        json!({"reason": "+ outside the change window"}),
    )
    .await;
    // The gateway has sent its last chunks: the recording is finalized.
    let finalized = f
        .app
        .post(
            &format!("/api/v1/projects/demo/sessions/{a}/recording/finalize"),
            &f.gateway,
            &json!({}),
        )
        .await;
    assert_eq!(finalized.status(), 204);
    f
}

const RANK: [&str; 3] = ["session", "terminal_event", "database_event"];

fn rank(record: &ExportRecord) -> usize {
    RANK.iter().position(|r| *r == record.record_type).expect("a known record type")
}

fn session_record(s: &Session, project: &str) -> ExportRecord {
    let mut details = serde_json::Map::new();
    if let Some(cause) = &s.drop_cause {
        details.insert("drop_cause".into(), json!(cause));
    }
    if let Some(by) = &s.revoked_by {
        details.insert("revoked_by".into(), json!(by.subject));
        details.insert("revoked_by_name".into(), json!(by.name));
    }
    if let Some(reason) = &s.revoke_reason {
        details.insert("revoke_reason".into(), json!(reason));
    }
    ExportRecord {
        record_type: "session".into(),
        time: s.opened_at,
        project: project.into(),
        session_id: s.id,
        event_id: None,
        event_type: None,
        actor: None,
        user: s.user.subject.clone(),
        user_name: s.user.name.clone(),
        target: s.target_name.clone(),
        target_kind: s.target_kind.clone(),
        environment: s.environment.clone(),
        environment_class: s.environment_class.clone(),
        mode: s.mode.clone(),
        reason: s.reason.clone(),
        status: s.status.clone(),
        recorded: s.recorded,
        ended_at: s.ended_at,
        close_reason: s.close_reason.clone(),
        details: Value::Object(details),
    }
}

fn event_record(e: &AuditEvent, s: &Session) -> ExportRecord {
    let mut record = session_record(s, &s.project);
    record.record_type =
        if e.event_type == "database.statement" { "database_event" } else { "terminal_event" }
            .into();
    record.time = e.occurred_at;
    record.event_id = Some(e.id);
    record.event_type = Some(e.event_type.clone());
    record.actor = e.actor.as_ref().map(|a| a.subject.clone());
    record.details = e.details.clone();
    record
}

/// What the export should hold for `session_query` (the history filters),
/// `time` (`opened_from`/`opened_to` for sessions, `from`/`to` for events)
/// and the included kinds, built from the history and audit endpoints.
async fn expected(
    f: &Fixture,
    session_query: &str,
    time: Option<(&str, &str)>,
    include: &[&str],
) -> Vec<ExportRecord> {
    let (opened, occurred) = time.unwrap_or(("", ""));
    let all: SessionPage = f.get("/sessions?limit=200").await;
    let by_id: BTreeMap<Uuid, Session> = all.items.into_iter().map(|s| (s.id, s)).collect();
    let matching: SessionPage = f.get(&format!("/sessions?limit=200&{session_query}")).await;
    let matching_ids: BTreeSet<Uuid> = matching.items.iter().map(|s| s.id).collect();
    let in_range: SessionPage =
        f.get(&format!("/sessions?limit=200&{session_query}&{opened}")).await;
    let events: AuditEventPage = f.get(&format!("/audit-events?limit=200&{occurred}")).await;
    assert!(events.next_cursor.is_none() && in_range.next_cursor.is_none());

    let mut records: Vec<ExportRecord> =
        in_range.items.iter().map(|s| session_record(s, "demo")).collect();
    for e in &events.items {
        if let Some(id) = e.session_id.filter(|id| matching_ids.contains(id)) {
            records.push(event_record(e, &by_id[&id]));
        }
    }
    records.retain(|r| include.contains(&format!("{}s", r.record_type).as_str()));
    records.sort_by_key(|r| (r.time, rank(r), r.session_id, r.event_id));
    records
}

const ALL: [&str; 3] = ["sessions", "terminal_events", "database_events"];

/// What a spreadsheet-safe cell holds for `text`, by the documented rule.
fn neutralised(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// A CSV row read back into a record; text cells are taken as written
/// (still neutralised), times, numbers and details parsed.
fn from_csv(row: &csv::StringRecord) -> ExportRecord {
    let cell = |i: usize| row.get(i).expect("every column").to_owned();
    let opt = |i: usize| Some(cell(i)).filter(|c| !c.is_empty());
    ExportRecord {
        record_type: cell(0),
        time: cell(1).parse().expect("an RFC 3339 time"),
        project: cell(2),
        session_id: cell(3).parse().expect("a UUID"),
        event_id: opt(4).map(|i| i.parse().expect("an integer")),
        event_type: opt(5),
        actor: opt(6),
        user: cell(7),
        user_name: cell(8),
        target: cell(9),
        target_kind: cell(10),
        environment: cell(11),
        environment_class: cell(12),
        mode: cell(13),
        reason: opt(14),
        status: cell(15),
        recorded: match cell(16).as_str() {
            "true" => true,
            "false" => false,
            other => panic!("recorded is {other:?}"),
        },
        ended_at: opt(17).map(|t| t.parse().expect("an RFC 3339 time")),
        close_reason: opt(18),
        details: serde_json::from_str(&cell(19)).expect("details are JSON"),
    }
}

/// The record as its CSV row shows it: every text cell neutralised.
fn as_csv(mut r: ExportRecord) -> ExportRecord {
    let n = |s: &mut String| *s = neutralised(s);
    for text in [
        &mut r.record_type,
        &mut r.project,
        &mut r.user,
        &mut r.user_name,
        &mut r.target,
        &mut r.target_kind,
        &mut r.environment,
        &mut r.environment_class,
        &mut r.mode,
        &mut r.status,
    ] {
        n(text);
    }
    for text in
        [&mut r.event_type, &mut r.actor, &mut r.reason, &mut r.close_reason].into_iter().flatten()
    {
        n(text);
    }
    r
}

fn parse_csv(body: &str) -> Vec<ExportRecord> {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> =
        reader.headers().expect("a header row").iter().map(ToOwned::to_owned).collect();
    assert_eq!(headers, COLUMNS);
    reader.records().map(|row| from_csv(&row.expect("an RFC 4180 row"))).collect()
}

fn parse_json(body: &str) -> Vec<ExportRecord> {
    let value: Value = serde_json::from_str(body).expect("one JSON document");
    let items = value.as_array().expect("an array");
    for item in items {
        let keys: BTreeSet<&str> =
            item.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            COLUMNS.into_iter().collect(),
            "every record has exactly the documented fields"
        );
    }
    serde_json::from_value(value).expect("records")
}

fn parse_ndjson(body: &str) -> Vec<ExportRecord> {
    assert!(body.is_empty() || body.ends_with('\n'));
    body.lines().map(|line| serde_json::from_str(line).expect("a JSON record per line")).collect()
}

#[tokio::test]
async fn every_format_holds_what_history_and_audit_say() {
    let f = fixture().await;
    let want = expected(&f, "", None, &ALL).await;
    // 2 sessions; alice (production, recorded): opened, dropped, revoked,
    // recording finalized; bob: opened, 2 statements, closed.
    assert_eq!(want.len(), 10, "{want:#?}");

    let (headers, csv) = f.export("format=csv").await;
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8; header=present");
    let disposition = headers["content-disposition"].to_str().expect("ASCII");
    assert!(
        disposition.starts_with("attachment; filename=\"termaudit-demo-beginning-")
            && disposition.ends_with("Z.csv\""),
        "{disposition}"
    );
    assert_eq!(parse_csv(&csv), want.clone().into_iter().map(as_csv).collect::<Vec<_>>());

    let (headers, body) = f.export("format=json").await;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(parse_json(&body), want);

    let (headers, body) = f.export("format=ndjson").await;
    assert_eq!(headers["content-type"], "application/x-ndjson");
    assert_eq!(parse_ndjson(&body), want);

    // The default format is CSV.
    assert_eq!(f.export("").await.1, csv);
}

#[tokio::test]
async fn formula_cells_are_neutralised_in_csv_only() {
    let f = fixture().await;
    let (_, csv) = f.export("format=csv&include=sessions").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let reasons: Vec<&str> = rows.iter().map(|r| &r[14]).collect();
    assert_eq!(reasons, [format!("'{FORMULA}"), "'-1 row fix".to_owned()]);
    let targets: Vec<&str> = rows.iter().map(|r| &r[9]).collect();
    assert_eq!(targets, ["billing-api", "'@orders-db"]);
    assert_eq!(&rows[0][8], "Alice, \"Ops\"", "quoted by RFC 4180, read back intact");
    assert!(!csv.contains("\n=") && !csv.contains(",=") && !csv.contains(",\"="));

    let (_, json) = f.export("format=json&include=sessions").await;
    let records = parse_json(&json);
    assert_eq!(records[0].reason.as_deref(), Some(FORMULA), "JSON carries the text as it is");
}

/// An export query, the history query it matches, the time range as the
/// session list and the audit log spell it, and the included kinds.
type FilterCase<'a> = (&'a str, &'a str, Option<(String, String)>, &'a [&'a str]);

#[tokio::test]
async fn filters_match_the_history_endpoints() {
    let f = fixture().await;
    let from = f.second_opened.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let from = from.replace('+', "%2B");
    let cases: [FilterCase; 6] = [
        ("user=alice", "user=alice", None, &ALL),
        ("status=closed&mode=database", "status=closed&mode=database", None, &ALL),
        ("environment=prod-eu", "environment=prod-eu", None, &ALL),
        ("environment_class=non_production", "environment_class=non_production", None, &ALL),
        ("include=database_events,sessions", "", None, &["sessions", "database_events"]),
        (
            &format!("from={from}&include=terminal_events"),
            "",
            Some((format!("opened_from={from}"), format!("from={from}"))),
            &["terminal_events"],
        ),
    ];
    for (query, session_query, time, include) in cases {
        let time = time.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        let want = expected(&f, session_query, time, include).await;
        assert!(!want.is_empty(), "{query} matches something");
        for format in ["json", "ndjson"] {
            let (_, body) = f.export(&format!("format={format}&{query}")).await;
            let got = if format == "json" { parse_json(&body) } else { parse_ndjson(&body) };
            assert_eq!(got, want, "{format} export with {query}");
        }
        let (_, body) = f.export(&format!("format=csv&{query}")).await;
        assert_eq!(parse_csv(&body), want.into_iter().map(as_csv).collect::<Vec<_>>(), "{query}");
    }
    // The range's end is exclusive, and both ends name the file.
    let (headers, body) =
        f.export("format=json&from=2020-01-01T00:00:00Z&to=2020-02-01T12:30:00Z").await;
    assert_eq!(body, "[]\n");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"termaudit-demo-20200101T000000Z-20200201T123000Z.json\""
    );
}

#[tokio::test]
async fn a_filter_that_matches_nothing_is_a_valid_empty_document() {
    let f = fixture().await;
    let (_, csv) = f.export("format=csv&user=nobody").await;
    assert_eq!(parse_csv(&csv), Vec::<ExportRecord>::new());
    assert_eq!(csv, format!("{}\r\n", COLUMNS.join(",")));
    let (_, json) = f.export("format=json&user=nobody").await;
    assert_eq!(serde_json::from_str::<Value>(&json).expect("JSON"), json!([]));
    let (_, ndjson) = f.export("format=ndjson&user=nobody").await;
    assert_eq!(ndjson, "");
}

#[tokio::test]
async fn exports_are_audited_with_their_filters_and_row_count() {
    let f = fixture().await;
    let (_, body) = f.export("format=ndjson&user=alice&include=sessions,terminal_events").await;
    let rows = parse_ndjson(&body).len();
    // Alice's session, opened, dropped, revoked, recording finalized.
    assert_eq!(rows, 5);
    // Written before the export's last byte: no waiting needed.
    let page: AuditEventPage = f.get("/audit-events?type=history.exported").await;
    assert_eq!(page.items.len(), 1);
    let entry = &page.items[0];
    assert_eq!(entry.actor.as_ref().map(|a| a.subject.as_str()), Some("vera"));
    assert_eq!(entry.session_id, None);
    assert_eq!(entry.details["rows"], rows);
    assert_eq!(entry.details["completed"], true);
    assert_eq!(entry.details["outcome"], "completed");
    assert_eq!(entry.details["format"], "ndjson");
    assert_eq!(entry.details["filters"]["user"], "alice");
    assert_eq!(entry.details["filters"]["include"], json!(["sessions", "terminal_events"]));
    assert_eq!(entry.details["filters"]["from"], Value::Null);

    // The export entry is not itself part of an export: it has no session.
    let (_, body) = f.export("format=json").await;
    assert!(parse_json(&body).iter().all(|r| r.event_type.as_deref() != Some("history.exported")));
}

#[tokio::test]
async fn bad_parameters_are_problems() {
    let f = fixture().await;
    let cases = [
        ("format=xlsx", "format"),
        ("include=sessions,recordings", "include"),
        ("include=", "include"),
        ("include=sessions,sessions", "include"),
        ("status=sleeping", "status"),
        ("mode=telnet", "mode"),
        ("environment_class=prod", "environment_class"),
        // Typed parameters fail in the query extractor, whose message (shared
        // by every list) does not name the field.
        ("from=yesterday", "invalid query parameters"),
        ("target_id=not-a-uuid", "invalid query parameters"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
    ];
    for (query, field) in cases {
        let response = f.app.get(&format!("/api/v1/projects/demo/export?{query}"), &f.viewer).await;
        let body = problem(response, 400, "invalid-input").await;
        assert!(body["detail"].as_str().unwrap_or_default().contains(field), "{query}: {body}");
    }
}

#[tokio::test]
async fn export_needs_view_history_in_the_project() {
    let f = fixture().await;
    let path = "/api/v1/projects/demo/export";
    let response = f.app.client.get(f.app.url(path)).send().await.expect("sent");
    problem(response, 401, "unauthorized").await;
    problem(f.app.get(path, &f.gateway).await, 403, "forbidden").await;
    let outsider = f.app.token("olga", "other", &[ViewHistory]);
    problem(f.app.get(path, &outsider).await, 404, "not-found").await;
    let ghost = f.app.token("vera", "ghost", &[ViewHistory]);
    problem(f.app.get("/api/v1/projects/ghost/export", &ghost).await, 404, "not-found").await;
    // Another project's export holds none of demo's records.
    let (status, body) = {
        let r = f.app.get("/api/v1/projects/other/export?format=json", &outsider).await;
        (r.status().as_u16(), r.text().await.expect("a body"))
    };
    assert_eq!((status, body.as_str()), (200, "[]\n"));
}

/// Adds 50 000 statements to Bob's session, directly: enough that an
/// export cannot fit in the sockets' buffers. Returns the connection.
async fn outgrow_the_sockets(f: &Fixture) -> tokio_postgres::Client {
    let db = f.app.db.connect().await;
    db.batch_execute(
        "INSERT INTO audit_events (project_id, event_type, session_id, details, occurred_at)
         SELECT s.project_id, 'database.statement', s.id,
                jsonb_build_object('statement', repeat('SELECT 1; ', 30)),
                s.opened_at + g * interval '1 microsecond'
         FROM sessions s, generate_series(1, 50000) g WHERE s.user_subject = 'bob'",
    )
    .await
    .expect("seeded");
    db
}

#[tokio::test]
async fn a_client_that_goes_away_stops_the_query_and_is_audited() {
    let f = fixture().await;
    let db = outgrow_the_sockets(&f).await;
    let response = f.app.get("/api/v1/projects/demo/export?format=ndjson", &f.viewer).await;
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.bytes_stream();
    let first = futures_util::StreamExt::next(&mut body).await.expect("a chunk").expect("bytes");
    assert!(!first.is_empty());
    // While it runs, its lock says so: no replica ends it as interrupted.
    let replica = f.app.spawn_replica().await;
    assert_eq!(replica.store.end_abandoned_exports().await.unwrap(), 0);
    assert_eq!(f.app.store.end_abandoned_exports().await.unwrap(), 0);
    let ended: AuditEventPage = f.get("/audit-events?type=history.exported").await;
    assert!(ended.items.is_empty(), "ended while running: {:?}", ended.items);
    drop(body);

    let mut audited = None;
    for _ in 0..100 {
        let page: AuditEventPage = f.get("/audit-events?type=history.exported").await;
        if let Some(entry) = page.items.into_iter().next() {
            audited = Some(entry);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let entry = audited.expect("the abandoned export is audited");
    assert_eq!(entry.details["outcome"], "client_disconnected");
    assert_eq!(entry.details["completed"], false);
    let rows = entry.details["rows"].as_u64().expect("a row count");
    assert!(rows < 50_000, "stopped early, after {rows} rows");
    // Its start, written before the first record, is the entry it names.
    let started: AuditEventPage = f.get("/audit-events?type=history.export_started").await;
    assert_eq!(started.items.len(), 1);
    assert_eq!(entry.details["started_id"], started.items[0].id);
    assert_eq!(started.items[0].details["format"], "ndjson");
    assert!(started.items[0].details.get("rows").is_none(), "the start has no outcome");
    assert_eq!(started.items[0].actor, entry.actor);
    let running: i64 =
        db.query_one("SELECT count(*) FROM exports_running", &[]).await.unwrap().get(0);
    assert_eq!(running, 0, "the export is no longer under way");

    // No query of the export is left running.
    let running = "SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND query LIKE '%ORDER BY at, rank, session_id, event_id%'";
    let mut left = i64::MAX;
    for _ in 0..100 {
        left = db.query_one(running, &[]).await.expect("counted").get(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the export's connection is closed");
}

/// The CSV export holds, cell for cell, what the JSON export holds,
/// neutralised, with `details` the same JSON value; also for legacy events
/// from before event times were bounded, whose times are RFC 3339 with
/// microseconds still (1 BC is year 0000, before it `-0001`, after 9999
/// `+10000`), and for text that needs quoting.
#[tokio::test]
async fn csv_holds_what_the_json_export_holds_legacy_times_too() {
    let f = fixture().await;
    // Events that were accepted before event times were bounded: written
    // directly, as such a database still holds them.
    let legacy = [
        "4713-11-24 00:00:00+00 BC",
        "0002-06-30 12:00:00.000001+00 BC",
        "0001-12-31 23:59:59.999999+00 BC",
        "0001-01-01 00:00:00+00",
        "0999-05-05 05:05:05.5+00",
        "9999-12-31 23:59:59.999999+00",
        "10000-01-01 00:00:00+00",
        "262142-12-31 23:59:59.999999+00",
    ];
    let db = f.app.db.connect().await;
    for (i, at) in legacy.iter().enumerate() {
        db.execute(
            "INSERT INTO audit_events (project_id, occurred_at, event_type, actor_subject,
                                       session_id, details)
             SELECT project_id, $1::text::timestamptz, 'session.legacy_note', '=legacy', id,
                    jsonb_build_object('n', $2::int, 'text', E'a,\"b\"\\r\\n\\tc', 'nested', '[1, {\"z\": null}]'::jsonb)
             FROM sessions WHERE user_subject = 'bob'",
            &[at, &(-(i as i32))],
        )
        .await
        .expect("a legacy event");
    }

    let (_, csv) = f.export("format=csv").await;
    let (_, json) = f.export("format=json").await;
    assert!(csv.ends_with("\r\n") && !csv.replace("\r\n", "").contains("\r\n"));
    let records: Vec<Value> =
        serde_json::from_str::<Value>(&json).expect("JSON").as_array().expect("an array").clone();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(rows.len(), records.len());
    assert_eq!(rows.len(), 10 + legacy.len());
    let mut times = Vec::new();
    for (row, record) in rows.iter().zip(&records) {
        for (i, column) in COLUMNS.iter().enumerate() {
            let value = &record[column];
            if *column == "details" {
                let details: Value = serde_json::from_str(&row[i]).expect("details are JSON");
                assert_eq!(&details, value, "details of {record}");
                continue;
            }
            let text = match value {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(row[i], neutralised(&text), "{column} of {record}");
        }
        if record["event_type"] == "session.legacy_note" {
            times.push(row[1].to_owned());
        }
    }
    assert_eq!(
        times,
        [
            "'-4712-11-24T00:00:00.000000Z",
            "'-0001-06-30T12:00:00.000001Z",
            "0000-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00.000000Z",
            "0999-05-05T05:05:05.500000Z",
            "9999-12-31T23:59:59.999999Z",
            "'+10000-01-01T00:00:00.000000Z",
            "'+262142-12-31T23:59:59.999999Z",
        ]
    );
}

/// `details` as JSON text in serde_json's compact form, which is what the
/// export wrote when it parsed each event's details into a `Value`: no
/// spaces, keys sorted by their bytes (`jsonb` holds them shortest first),
/// numbers as serde_json prints them, strings escaped as it escapes them.
/// Checked byte for byte against that form, in CSV and NDJSON, for details
/// that take every path: plain, escaped, reordered, nested, odd numbers.
#[tokio::test]
async fn details_are_written_in_compact_form_byte_for_byte() {
    let f = fixture().await;
    let details = [
        r#"{"m": 1e-7, "n": 1.50, "error": null, "database": "x", "rows_affected": 18446744073709551615}"#,
        r#"{"zz": [1, 2.0, -0, 1E+2, 0.1, 18446744073709551616, -9223372036854775809], "a": {"y": [], "x": {}}}"#,
        r#"{"a\"b": "quote", "a#": "hash", "\u0061": "escaped a", "tab\tkey": "\u0001\b\f\/ é ☃ \ud83d\ude00"}"#,
        r#"{"statement": "UPDATE t SET note = 'a,b' WHERE id = 7;\r\n-- done", "": true, "k": false}"#,
        r#"[{"b": 1, "a": 2}, "x", 3]"#,
        r#""-just a string""#,
        r#"-12.50"#,
        r#"{}"#,
    ];
    let db = f.app.db.connect().await;
    for (i, text) in details.iter().enumerate() {
        db.execute(
            "INSERT INTO audit_events (project_id, occurred_at, event_type, actor_subject,
                                       session_id, details)
             SELECT project_id, opened_at + make_interval(secs => 1 + $1::int), 'test.details',
                    'tester', id, $2::text::jsonb
             FROM sessions WHERE user_subject = 'bob'",
            &[&(i as i32), text],
        )
        .await
        .expect("an event");
    }
    // The reference: each event's details read as a `Value` and printed.
    let expected: Vec<String> = db
        .query(
            "SELECT details FROM audit_events WHERE event_type = 'test.details' ORDER BY occurred_at",
            &[],
        )
        .await
        .expect("the events")
        .iter()
        .map(|row| row.get::<_, Value>(0).to_string())
        .collect();
    assert_eq!(expected.len(), details.len());
    assert!(expected[0].starts_with(r#"{"database":"x","error":null,"m":1e-7,"n":1.5,"#));

    let (_, csv) = f.export("format=csv").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let cells: Vec<String> = reader
        .records()
        .map(|r| r.expect("a row"))
        .filter(|row| &row[5] == "test.details")
        .map(|row| row[19].to_owned())
        .collect();
    let neutralised_expected: Vec<String> = expected.iter().map(|e| neutralised(e)).collect();
    assert_eq!(cells, neutralised_expected);

    let (_, ndjson) = f.export("format=ndjson").await;
    let lines: Vec<&str> =
        ndjson.lines().filter(|l| l.contains(r#""event_type":"test.details""#)).collect();
    assert_eq!(lines.len(), expected.len());
    for (line, details) in lines.iter().zip(&expected) {
        assert!(line.ends_with(&format!(r#","details":{details}}}"#)), "{line}");
        let record: Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(record["details"].to_string(), *details);
    }
}

/// A process runs at most eight exports at once, each on a connection of
/// its own: a ninth waits for one of them, and after ten seconds is
/// refused as unavailable (503, `Retry-After`); once one ends, the next
/// export runs.
#[tokio::test]
async fn a_ninth_export_at_once_waits_then_is_a_503_until_one_ends() {
    let f = fixture().await;
    outgrow_the_sockets(&f).await;
    let mut running = Vec::new();
    for _ in 0..8 {
        let response = f.app.get("/api/v1/projects/demo/export.ndjson", &f.viewer).await;
        assert_eq!(response.status().as_u16(), 200);
        let mut body = response.bytes_stream();
        futures_util::StreamExt::next(&mut body).await.expect("a chunk").expect("bytes");
        running.push(body);
    }
    let started = std::time::Instant::now();
    let refused = f.app.get("/api/v1/projects/demo/export.ndjson", &f.viewer).await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(9), "it waited for a slot");
    assert!(refused.headers().contains_key("retry-after"));
    problem(refused, 503, "service-unavailable").await;

    drop(running.pop());
    let response = f.app.get("/api/v1/projects/demo/export.ndjson", &f.viewer).await;
    assert_eq!(response.status().as_u16(), 200, "a slot was freed");
    drop(running);
}
