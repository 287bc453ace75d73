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
