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
    let response = app
        .client
        .put(app.url(&format!("/api/v1/projects/ops/sessions/{session}/recording/chunks/0")))
        .bearer_auth(&token)
        .header("content-type", "application/x-asciicast")
        .body(cast)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
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
