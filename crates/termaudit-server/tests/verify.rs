//! `termaudit verify`, run as an auditor runs it: on files the API served
//! (tree heads, a consistency proof, a recording and its manifest, the
//! public keys), and on a database with one audit row altered behind the
//! server's back.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Arc,
    time::Duration,
};

use termaudit_domain::{AuditEventType, EnvironmentClass, Permission, transparency::LogSigner};
use termaudit_storage::{DatabaseUrl, NewAuditEvent};
use termaudit_tests::{TestApp, TestDatabase, seed};

fn termaudit(args: &[&str], database_url: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_termaudit"));
    command.args(args).env_remove("TERMAUDIT_CONFIG");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.output().expect("termaudit runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("termaudit-verify-{name}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, body: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn get_bytes(app: &TestApp, path: &str, token: &str) -> Vec<u8> {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.bytes().await.unwrap().to_vec()
}

/// Polls until `path` answers 200 and returns its body.
async fn wait_for(
    app: &TestApp,
    path: &str,
    token: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> Vec<u8> {
    for _ in 0..600 {
        let response = app.get(path, token).await;
        if response.status() == 200 {
            let body = response.bytes().await.unwrap().to_vec();
            if ok(&serde_json::from_slice(&body).unwrap()) {
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} did not answer as expected within a minute");
}

/// Uploads `cast` as the whole recording of `session` in project `ops`.
async fn upload(app: &TestApp, session: uuid::Uuid, token: &str, cast: &str) {
    let response = app
        .client
        .put(app.url(&format!("/api/v1/projects/ops/sessions/{session}/recording/chunks/0")))
        .bearer_auth(token)
        .header("content-type", "application/x-asciicast")
        .body(cast.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn tree_heads_and_recordings_verify_offline_and_tampering_fails() {
    let app =
        TestApp::spawn_with(Box::new(|s| s.tree_head_interval = Duration::from_secs(1))).await;
    app.create_project("ops").await;
    let token = app.token(
        "auditor",
        "ops",
        &[
            Permission::ViewHistory,
            Permission::ViewRecording,
            Permission::DownloadRecording,
            Permission::Ingest,
        ],
    );
    let project = seed::project_id(&app, "ops").await;
    let append = |n: usize| {
        let store = app.store.clone();
        async move {
            for i in 0..n {
                store
                    .append_audit(
                        &NewAuditEvent::new(project, AuditEventType::PolicyUpdated)
                            .details(serde_json::json!({ "i": i })),
                    )
                    .await
                    .unwrap();
            }
        }
    };
    let files = dir("offline");
    let latest = "/api/v1/projects/ops/audit-log/tree-heads/latest";
    append(3).await;
    let old = wait_for(&app, latest, &token, |h| h["tree_size"] == 3).await;
    append(4).await;
    let new = wait_for(&app, latest, &token, |h| h["tree_size"] == 7).await;
    let proof =
        get_bytes(&app, "/api/v1/projects/ops/audit-log/proof/consistency?from=3&to=7", &token)
            .await;
    let keys = get_bytes(&app, "/api/v1/signing-keys", &token).await;
    let (old, new, proof_file, keys) = (
        write(&files, "old.json", &old),
        write(&files, "new.json", &new),
        write(&files, "proof.json", &proof),
        write(&files, "keys.json", &keys),
    );
    let out = termaudit(
        &["verify", "consistency", &old, &new, "--proof", &proof_file, "--key", &keys],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("the log of 7 entries extends the log of 3"), "{}", text(&out));

    // A proof with one changed hash, or a key it was not signed with, fails.
    let mut forged: serde_json::Value = serde_json::from_slice(&proof).unwrap();
    let first = forged["hashes"][0].as_str().unwrap().to_owned();
    let (head, rest) = first.split_at(1);
    let flipped = format!("{}{rest}", if head == "0" { "1" } else { "0" });
    forged["hashes"][0] = flipped.into();
    let forged = write(&files, "forged.json", forged.to_string().as_bytes());
    let out =
        termaudit(&["verify", "consistency", &old, &new, "--proof", &forged, "--key", &keys], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("FAILED   consistency"), "{}", text(&out));
    let stranger = LogSigner::from_secret([42; 32]).public().to_pem();
    let stranger = write(&files, "stranger.pem", stranger.as_bytes());
    let out = termaudit(
        &["verify", "consistency", &old, &new, "--proof", &proof_file, "--key", &stranger],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("no public key"), "{}", text(&out));

    // A recording and its signed manifest.
    let session = seed::seed_session(&app, "ops", EnvironmentClass::Production, true).await;
    let cast = "{\"version\":2,\"width\":80,\"height\":24}\n[0.5,\"o\",\"$ \"]\n[1.0,\"o\",\"ls\\r\\n\"]\n";
    upload(&app, session, &token, cast).await;
    seed::end_session(&app, session).await;
    let manifest = wait_for(
        &app,
        &format!("/api/v1/projects/ops/sessions/{session}/recording/manifest"),
        &token,
        |_| true,
    )
    .await;
    let download = get_bytes(
        &app,
        &format!("/api/v1/projects/ops/sessions/{session}/recording/download"),
        &token,
    )
    .await;
    let (manifest, recording) =
        (write(&files, "manifest.json", &manifest), write(&files, "session.cast", &download));
    let out =
        termaudit(&["verify", "cast", &recording, "--manifest", &manifest, "--key", &keys], None);
    assert!(out.status.success(), "{}", text(&out));
    let mut altered = download.clone();
    let at = altered.iter().rposition(|b| *b == b'l').unwrap();
    altered[at] = b'L';
    let altered = write(&files, "altered.cast", &altered);
    let out =
        termaudit(&["verify", "cast", &altered, "--manifest", &manifest, "--key", &keys], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("the recording's SHA-256 is"), "{}", text(&out));
    let out = termaudit(&["verify", "cast", &recording, "--manifest", &manifest], None);
    assert!(!out.status.success(), "no key, no verdict");
    assert!(text(&out).contains("--key"), "{}", text(&out));
}

#[tokio::test]
async fn verify_db_names_the_entry_and_field_altered_behind_the_servers_back() {
    let db = TestDatabase::create().await;
    let url = DatabaseUrl::parse(&db.url()).unwrap();
    let (store, project) = db.store_with_project("ops", 2).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let event = NewAuditEvent::new(project.id, AuditEventType::PolicyUpdated)
            .actor("carol", "Carol")
            .details(serde_json::json!({ "retention_days": 30 + i }));
        ids.push(store.append_audit(&event).await.unwrap());
    }
    let signer = Arc::new(LogSigner::from_secret([5; 32]));
    let mut sequencer = store.try_lock_sequencer(&url, signer).await.unwrap().unwrap();
    let mut appended = 0;
    for _ in 0..600 {
        appended += sequencer.append_batch(100).await.unwrap().appended;
        if appended == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(appended, 6);
    sequencer.sign_due_heads(chrono::Utc::now(), chrono::Duration::zero()).await.unwrap();

    let out = termaudit(&["verify", "db"], Some(&db.url()));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("6 leaves recomputed"), "{}", text(&out));

    // A superuser rewrites one entry with the append-only triggers off.
    let sql = db.connect().await;
    sql.batch_execute(&format!(
        "SET session_replication_role = replica;
         UPDATE audit_events SET details = '{{\"retention_days\": 3650}}' WHERE id = {};
         RESET session_replication_role;",
        ids[2]
    ))
    .await
    .unwrap();
    let out = termaudit(&["verify", "db"], Some(&db.url()));
    assert!(!out.status.success());
    let report = text(&out);
    assert!(
        report.contains(&format!("first difference: project ops: audit entry {} (leaf 2)", ids[2])),
        "{report}"
    );
    assert!(report.contains("[fields: details]"), "{report}");
    assert!(
        report.contains("the signed tree head of size 6"),
        "the head no longer matches: {report}"
    );
}

#[tokio::test]
async fn verify_db_reads_a_long_log_in_ranges_and_names_each_altered_entry_in_order() {
    // More leaves than several of the ranges the check reads on separate
    // connections, so the trees are rebuilt across ranges and workers.
    const ENTRIES: i64 = 40_000;
    let db = TestDatabase::create().await;
    let url = DatabaseUrl::parse(&db.url()).unwrap();
    let (store, project) = db.store_with_project("ops", 2).await;
    let sql = db.connect().await;
    sql.batch_execute(&format!(
        "INSERT INTO audit_events (project_id, event_type, actor_subject, actor_name, details)
         SELECT '{}', 'policy.updated', 'user' || (g % 7), 'User ' || (g % 7),
                jsonb_build_object('retention_days', g % 400)
         FROM generate_series(1, {ENTRIES}) g",
        project.id
    ))
    .await
    .unwrap();
    let signer = Arc::new(LogSigner::from_secret([6; 32]));
    let mut sequencer = store.try_lock_sequencer(&url, signer).await.unwrap().unwrap();
    // The sequencer takes only entries below the oldest transaction still
    // open anywhere in the cluster (the other tests' too): a batch may find
    // nothing yet, and the next one goes on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut appended = 0;
    while appended < ENTRIES as usize {
        assert!(std::time::Instant::now() < deadline, "{appended} of {ENTRIES} sequenced in 60 s");
        let batch = sequencer.append_batch(10_000).await.unwrap();
        if batch.appended == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        appended += batch.appended;
    }
    sequencer.sign_due_heads(chrono::Utc::now(), chrono::Duration::zero()).await.unwrap();

    let out = termaudit(&["verify", "db"], Some(&db.url()));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("{ENTRIES} leaves recomputed")), "{}", text(&out));

    // Two entries rewritten with the append-only triggers off, the later
    // one first: the report still lists them in the log's order.
    let entry_at = |leaf: i64| {
        let sql = &sql;
        async move {
            let row = sql
                .query_one(
                    "SELECT audit_event_id FROM audit_log_leaves WHERE leaf_index = $1",
                    &[&leaf],
                )
                .await
                .unwrap();
            row.get::<_, i64>(0)
        }
    };
    let (early, late) = (entry_at(20_000).await, entry_at(35_001).await);
    sql.batch_execute(&format!(
        "SET session_replication_role = replica;
         UPDATE audit_events SET actor_name = 'Mallory' WHERE id = {late};
         UPDATE audit_events SET details = '{{\"retention_days\": 3650}}' WHERE id = {early};
         RESET session_replication_role;"
    ))
    .await
    .unwrap();
    let out = termaudit(&["verify", "db"], Some(&db.url()));
    assert!(!out.status.success());
    let report = text(&out);
    assert!(report.contains(&format!("{ENTRIES} leaves recomputed")), "{report}");
    assert!(
        report.contains(&format!(
            "first difference: project ops: audit entry {early} (leaf 20000): the audit entry \
             differs from what was sequenced: details [fields: details]"
        )),
        "{report}"
    );
    let late_line = format!("project ops: audit entry {late} (leaf 35001)");
    assert!(report.contains(&format!("{late_line}: the audit entry differs")), "{report}");
    assert!(report.contains("[fields: actor_name]"), "{report}");
    assert!(
        report.find(&format!("audit entry {early} ")) < report.find(&late_line),
        "in the log's order: {report}"
    );
}

/// Replaces the `nth` (from 0) occurrence of `from` after the first of
/// `after` with `to`.
fn replace_after(body: &[u8], after: &str, nth: usize, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut at = text.find(after).unwrap_or_else(|| panic!("{after:?} in the export"));
    for _ in 0..=nth {
        at += text[at..].find(from).unwrap_or_else(|| panic!("{from:?} after {after:?}"));
        at += from.len();
    }
    at -= from.len();
    format!("{}{to}{}", &text[..at], &text[at + from.len()..]).into_bytes()
}

#[tokio::test]
async fn an_export_with_proofs_verifies_offline_and_a_changed_byte_fails() {
    // The sequencer signs rarely here: the export signs the head it needs.
    let app =
        TestApp::spawn_with(Box::new(|s| s.tree_head_interval = Duration::from_secs(3600))).await;
    app.create_project("ops").await;
    let token = app.token("auditor", "ops", &[Permission::ViewHistory]);
    let project = seed::project_id(&app, "ops").await;
    let session = seed::seed_session(&app, "ops", EnvironmentClass::Production, true).await;
    let events = [
        (AuditEventType::SessionOpened, serde_json::json!({ "reason": "INC-7: restart" })),
        (
            AuditEventType::DatabaseStatement,
            serde_json::json!({ "statement": "SELECT 1, 'a,b'", "rows_affected": 1, "error": null }),
        ),
        (AuditEventType::SessionRevoked, serde_json::json!({ "reason": "=cmd|' /C calc'!A0" })),
    ];
    for (kind, details) in events {
        app.store
            .append_audit(
                &NewAuditEvent::new(project, kind)
                    .actor("carol", "Carol")
                    .session(session)
                    .details(details),
            )
            .await
            .unwrap();
    }
    // Entries of no session are in the log but not in the export.
    app.store
        .append_audit(&NewAuditEvent::new(project, AuditEventType::PolicyUpdated))
        .await
        .unwrap();
    let files = dir("export");
    let keys = get_bytes(&app, "/api/v1/signing-keys", &token).await;
    let keys = write(&files, "keys.json", &keys);

    // Without the option, the documented columns only.
    let plain = get_bytes(&app, "/api/v1/projects/ops/export.csv", &token).await;
    let header = String::from_utf8(plain.clone()).unwrap().lines().next().unwrap().to_owned();
    assert_eq!(header, termaudit_domain::CSV_COLUMNS.join(","));
    let out =
        termaudit(&["verify", "audit", &write(&files, "plain.csv", &plain), "--key", &keys], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("no proof columns"), "{}", text(&out));

    for format in ["csv", "json", "ndjson"] {
        let path = format!("/api/v1/projects/ops/export.{format}?proofs=true");
        let body = get_bytes(&app, &path, &token).await;
        let file = write(&files, &format!("audit.{format}"), &body);
        let out = termaudit(&["verify", "audit", &file, "--key", &keys], None);
        assert!(out.status.success(), "{format}: {}", text(&out));
        assert!(
            text(&out).contains("3 audit entries are in the signed log, as exported"),
            "{format}: {}",
            text(&out)
        );
        // One changed byte of a column, of a leaf or of the head fails.
        let fails = |name: &str, body: &[u8], why: &str| {
            let file = write(&files, &format!("{name}.{format}"), body);
            let out = termaudit(&["verify", "audit", &file, "--key", &keys], None);
            assert!(!out.status.success(), "{name}.{format}: {}", text(&out));
            assert!(text(&out).contains(why), "{name}.{format}: {}", text(&out));
        };
        let column = replace_after(&body, "database.statement", 0, "SELECT 1", "SELECT 2");
        fails("column", &column, "its details is not what the signed log holds");
        // The column and its leaf alike: the proof no longer leads to the root.
        let both = replace_after(&body, "session.revoked", 0, "calc", "calk");
        let both = replace_after(&both, "session.revoked", 0, "calc", "calk");
        fails("leaf", &both, "the proof leads to root");
        let head = replace_after(&body, "checkpoint", 0, "timestamp 20", "timestamp 21");
        fails("head", &head, "its tree head");
    }
    // The head the export carries is listed and covers the four entries.
    let latest: serde_json::Value = serde_json::from_slice(
        &get_bytes(&app, "/api/v1/projects/ops/audit-log/tree-heads/latest", &token).await,
    )
    .unwrap();
    assert!(latest["tree_size"].as_u64().unwrap() >= 4, "{latest}");

    // Anything but true or false is refused.
    let response = app.get("/api/v1/projects/ops/export.csv?proofs=yes", &token).await;
    assert_eq!(response.status(), 400);
}

/// The bundle with member `name` (in its folder) changed by `change`,
/// written again as a valid zip (so only the content is wrong).
fn rezip(bundle: &[u8], name: &str, change: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bundle)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut found = false;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let member = file.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        if member.ends_with(&format!("/{name}")) {
            bytes = change(bytes);
            found = true;
        }
        out.start_file(member, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(&bytes).unwrap();
    }
    assert!(found, "the bundle holds {name}");
    out.finish().unwrap().into_inner()
}

fn replace_in(bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(from), "{from:?} in {text}");
    text.replacen(from, to, 1).into_bytes()
}

#[tokio::test]
async fn an_evidence_bundle_verifies_offline_and_tampering_fails() {
    let app =
        TestApp::spawn_with(Box::new(|s| s.tree_head_interval = Duration::from_secs(3600))).await;
    app.create_project("ops").await;
    app.create_project("elsewhere").await;
    let all = [
        Permission::ViewHistory,
        Permission::ViewRecording,
        Permission::DownloadRecording,
        Permission::Ingest,
    ];
    let token = app.token("auditor", "ops", &all);
    let session = seed::seed_session(&app, "ops", EnvironmentClass::Production, true).await;
    let base = format!("/api/v1/projects/ops/sessions/{session}");
    let cast = "{\"version\":2,\"width\":80,\"height\":24}\n[0.5,\"o\",\"$ \"]\n[1.0,\"o\",\"psql\\r\\n\"]\n";
    upload(&app, session, &token, cast).await;
    let now = chrono::Utc::now();
    seed::add_activity(&app, session, "command", "psql billing", now).await;
    let statements = serde_json::json!({ "items": [
        { "event_id": "q1", "statement": "SELECT count(*) FROM invoices", "database": "billing",
          "occurred_at": now, "rows_affected": 1, "duration_ms": 3, "error": null },
        { "event_id": "q2", "statement": "DELETE FROM invoices WHERE id = 7", "database": "billing",
          "occurred_at": now, "rows_affected": 1, "duration_ms": 5, "error": null },
    ]});
    let response = app.post(&format!("{base}/database-events"), &token, &statements).await;
    assert_eq!(response.status(), 200);
    seed::end_session(&app, session).await;
    // The bundle holds the manifest once it is signed (seconds after the end).
    wait_for(&app, &format!("{base}/recording/manifest"), &token, |_| true).await;
    // And the recording's text once it is emulated.
    termaudit_tests::emulation::wait_until_emulated(&app.db, std::time::Duration::from_secs(60))
        .await
        .expect("emulated");

    let response = app.get(&format!("{base}/evidence"), &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"termaudit-evidence-{session}.zip\"").as_str()
    );
    let bundle = response.bytes().await.unwrap().to_vec();
    let files = dir("bundle");
    let keys = write(&files, "keys.json", &get_bytes(&app, "/api/v1/signing-keys", &token).await);
    let file = write(&files, "bundle.zip", &bundle);
    let out = termaudit(&["verify", "bundle", &file, "--key", &keys], None);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for check in [
        "audit entries of session",
        "2 database statements are the proven database.statement entries",
        "session.json describes the bundle's session",
        "the manifest's digest is the one the log's recording.finalized entry",
        "the recording's SHA-256 is the manifest's",
    ] {
        assert!(report.contains(check), "{check:?} in {report}");
    }
    // Without --key it trusts the bundle's own keys, and says so.
    let out = termaudit(&["verify", "bundle", &file], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("trusting the bundle's own public keys"), "{}", text(&out));

    // The download is audited, and the bundle proves that entry too.
    let audited: serde_json::Value = serde_json::from_slice(
        &get_bytes(&app, "/api/v1/projects/ops/audit-events?type=evidence.downloaded", &token)
            .await,
    )
    .unwrap();
    let entry = &audited["items"][0];
    assert_eq!(entry["session_id"], session.to_string(), "{audited}");
    assert_eq!(entry["actor"]["subject"], "auditor");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bundle)).unwrap();
    let mut entries = String::new();
    std::io::Read::read_to_string(
        &mut archive
            .by_name(&format!("termaudit-evidence-{session}/audit-entries.ndjson"))
            .unwrap(),
        &mut entries,
    )
    .unwrap();
    assert!(entries.contains(&format!("\"entry_id\":{}", entry["id"])), "{entries}");
    let mut transcript = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name(&format!("termaudit-evidence-{session}/transcript.txt")).unwrap(),
        &mut transcript,
    )
    .unwrap();
    assert_eq!(transcript, "$ psql\n", "what the screen showed");
    let readme = archive.by_name(&format!("termaudit-evidence-{session}/README.md")).unwrap();
    assert!(readme.size() > 0);

    // One changed byte anywhere is found.
    let fails = |name: &str, bytes: Vec<u8>, why: &str| {
        let path = write(&files, &format!("{name}.zip"), &bytes);
        let out = termaudit(&["verify", "bundle", &path, "--key", &keys], None);
        assert!(!out.status.success(), "{name}: {}", text(&out));
        assert!(text(&out).contains(why), "{name}: {why:?} in {}", text(&out));
    };
    fails(
        "cast",
        rezip(&bundle, "recording.cast", |b| replace_in(b, "psql", "psql;")),
        "the recording's SHA-256 is",
    );
    fails(
        "statement",
        rezip(&bundle, "database-events.ndjson", |b| replace_in(b, "id = 7", "id = 8")),
        "no proven database.statement entry",
    );
    fails(
        "leaf",
        rezip(&bundle, "audit-entries.ndjson", |b| replace_in(b, "id = 7", "id = 8")),
        "the proof leads to root",
    );
    fails(
        "head",
        rezip(&bundle, "tree-head.json", |b| replace_in(b, "timestamp 20", "timestamp 21")),
        "checkpoint",
    );
    let stranger = LogSigner::from_secret([42; 32]).public().to_pem();
    let stranger = write(&files, "stranger.pem", stranger.as_bytes());
    let out = termaudit(&["verify", "bundle", &file, "--key", &stranger], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("no public key"), "{}", text(&out));
    // A byte of the stored recording flipped in place: its CRC no longer holds.
    let mut flipped = bundle.clone();
    let at = flipped.windows(4).rposition(|w| w == b"psql").unwrap();
    flipped[at] ^= 0x20;
    let out = termaudit(&["verify", "bundle", &write(&files, "flipped.zip", &flipped)], None);
    assert!(!out.status.success(), "{}", text(&out));

    // Both permissions, in this project only.
    for (who, permissions, status) in [
        ("viewer", vec![Permission::ViewHistory, Permission::ViewRecording], 403),
        ("downloader", vec![Permission::DownloadRecording], 403),
    ] {
        let other = app.token(who, "ops", &permissions);
        let response = app.get(&format!("{base}/evidence"), &other).await;
        assert_eq!(response.status(), status, "{who}");
    }
    let outsider = app.token("outsider", "elsewhere", &all);
    let response = app.get(&format!("{base}/evidence"), &outsider).await;
    assert_eq!(response.status(), 404);
    let response = app
        .get(&format!("/api/v1/projects/elsewhere/sessions/{session}/evidence"), &outsider)
        .await;
    assert_eq!(response.status(), 404, "another project's session is not found");
}

#[tokio::test]
async fn a_session_without_a_recording_has_a_bundle_too_and_head_makes_none() {
    let app = TestApp::spawn().await;
    app.create_project("ops").await;
    let token =
        app.token("auditor", "ops", &[Permission::ViewHistory, Permission::DownloadRecording]);
    let session = seed::seed_session(&app, "ops", EnvironmentClass::NonProduction, false).await;
    seed::end_session(&app, session).await;
    let path = format!("/api/v1/projects/ops/sessions/{session}/evidence");
    let audited = "/api/v1/projects/ops/audit-events?type=evidence.downloaded";
    // HEAD says what the download would be, and neither makes nor audits one.
    let head = app.client.head(app.url(&path)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/zip");
    let none: serde_json::Value =
        serde_json::from_slice(&get_bytes(&app, audited, &token).await).unwrap();
    assert_eq!(none["items"], serde_json::json!([]), "a HEAD is not audited");

    let bundle = get_bytes(&app, &path, &token).await;
    let files = dir("unrecorded");
    let file = write(&files, "bundle.zip", &bundle);
    let out = termaudit(&["verify", "bundle", &file], None);
    assert!(out.status.success(), "{}", text(&out));
    // Its one entry is its own download.
    assert!(text(&out).contains("1 audit entries of session"), "{}", text(&out));
    assert!(text(&out).contains("holds no recording"), "{}", text(&out));
    // A session id that is not one, or of no session, is refused as elsewhere.
    let bad = app.get("/api/v1/projects/ops/sessions/not-a-uuid/evidence", &token).await;
    assert_eq!(bad.status(), 404);
    let unknown = format!("/api/v1/projects/ops/sessions/{}/evidence", uuid::Uuid::now_v7());
    assert_eq!(app.get(&unknown, &token).await.status(), 404);
}
