//! The real `termaudit serve` killed with SIGKILL while a gateway uploads a
//! recording: after a restart, every acknowledged chunk is stored exactly
//! once, the gateway's retry of the chunk it got no answer for is accepted
//! once, and the recording finalizes with every event in order.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap should fail loudly.

use std::{
    collections::BTreeMap,
    process::Command,
    time::{Duration, Instant},
};

use chrono::Utc;
use termaudit_api::{AuthConfig, TokenIssuer};
use termaudit_domain::{
    EnvironmentClass, EnvironmentName, Permission, ProjectName, ProjectSlug, Reason, SessionMode,
    TargetKind, TargetName,
};
use termaudit_storage::{DatabaseUrl, NewSession, NewTarget, Store};
use termaudit_tests::{TEST_SECRET, TestDatabase, process::ServerProcess};

const EVENTS_PER_CHUNK: usize = 32;

/// Starts the binary on a free port and waits until it is ready.
async fn start(db: &TestDatabase) -> ServerProcess {
    ServerProcess::start(env!("CARGO_BIN_EXE_termaudit"), db, &[]).await
}

/// Chunk `seq`: the header first in chunk 0, then 32 events of ~1 KiB.
fn chunk(seq: u32) -> String {
    let mut body = String::new();
    if seq == 0 {
        body.push_str("{\"version\": 2, \"width\": 120, \"height\": 40}\n");
    }
    for i in 0..EVENTS_PER_CHUNK {
        let time = f64::from(seq) + i as f64 / 100.0;
        let line = format!("chunk {seq} event {i} ").repeat(50);
        body.push_str(&format!("[{time:.2}, \"o\", \"{line}\\r\\n\"]\n"));
    }
    body
}

async fn put(
    client: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    session: uuid::Uuid,
    seq: u32,
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .put(format!(
            "{}/api/v1/projects/ops/sessions/{session}/recording/chunks/{seq}",
            server.address
        ))
        .bearer_auth(token)
        .body(chunk(seq))
        .send()
        .await
}

#[tokio::test]
async fn after_a_sigkill_mid_ingest_every_acknowledged_chunk_is_stored_once_and_the_recording_finalizes()
 {
    let db = TestDatabase::create().await;
    let url = DatabaseUrl::parse(&db.url()).unwrap();
    let store = Store::new(&url, 2).unwrap();
    let project = store
        .create_project(&ProjectSlug::parse("ops").unwrap(), &ProjectName::parse("Ops").unwrap())
        .await
        .unwrap();
    let target = NewTarget {
        name: TargetName::parse("orders-db").unwrap(),
        kind: TargetKind::Database,
        environment: EnvironmentName::parse("prod").unwrap(),
        environment_class: EnvironmentClass::Production,
    };
    let target = store.create_target(project.id, &target).await.unwrap();
    let new = NewSession {
        target: &target,
        mode: SessionMode::Shell,
        reason: Some(Reason::parse("INC-1").unwrap()),
        user_subject: "alice".into(),
        user_name: "Alice".into(),
        opened_at: Utc::now(),
    };
    let session = store.open_session(project.id, &new, true).await.unwrap().id;
    let token = TokenIssuer::new(&AuthConfig {
        secret: TEST_SECRET.as_bytes().to_vec(),
        public_key_pem: None,
        issuer: termaudit_tests::ISSUER.into(),
        audience: termaudit_tests::AUDIENCE.into(),
    })
    .issue(
        "gateway",
        Some("Gateway"),
        BTreeMap::from([(
            "ops".to_owned(),
            vec![Permission::Ingest, Permission::DownloadRecording],
        )]),
        Utc::now(),
        chrono::Duration::hours(1),
    )
    .unwrap();
    let client = reqwest::Client::new();

    // The gateway uploads as fast as it can; the server is killed after
    // about 20 acknowledged chunks, most likely in the middle of one.
    let mut server = start(&db).await;
    let mut acknowledged = 0u32;
    let killer = {
        let pid = server.pid();
        let started = Instant::now();
        move |acknowledged: u32| {
            if acknowledged == 20 || started.elapsed() > Duration::from_secs(20) {
                // SIGKILL: no shutdown, no flushing, no finalization.
                drop(Command::new("kill").args(["-KILL", &pid.to_string()]).status());
            }
        }
    };
    loop {
        let sent = put(&client, &server, &token, session, acknowledged);
        let (response, ()) = tokio::join!(sent, async { killer(acknowledged) });
        match response {
            Ok(response) if response.status() == 201 => acknowledged += 1,
            Ok(response) => panic!("chunk {acknowledged}: {}", response.status()),
            Err(_) => break,
        }
    }
    server.wait();
    assert!(acknowledged >= 20, "the server died early, after {acknowledged} chunks");

    // Nothing beyond the acknowledged chunks is half there.
    let direct = db.connect().await;
    let stored: i64 = direct
        .query_one("SELECT count(*) FROM recording_chunks WHERE session_id = $1", &[&session])
        .await
        .unwrap()
        .get(0);
    assert!(
        stored == i64::from(acknowledged) || stored == i64::from(acknowledged) + 1,
        "{stored} chunks stored, {acknowledged} acknowledged"
    );

    // After a restart the gateway retries the chunk it had no answer for,
    // then goes on; the retry is accepted once whether or not it was stored.
    server = start(&db).await;
    for seq in acknowledged..acknowledged + 5 {
        let response = put(&client, &server, &token, session, seq).await.unwrap();
        // 201 for a chunk stored now, 200 for a repeat of one stored before.
        let repeat = seq == acknowledged && stored > i64::from(acknowledged);
        assert_eq!(response.status(), if repeat { 200 } else { 201 }, "chunk {seq}");
        let receipt: serde_json::Value = response.json().await.unwrap();
        assert_eq!(receipt["repeated"], repeat, "chunk {seq}");
    }
    // A retry of an acknowledged chunk stores nothing new.
    let response = put(&client, &server, &token, session, 3).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["repeated"], true);
    let total = acknowledged + 5;

    let closed = client
        .post(format!("{}/api/v1/projects/ops/sessions/{session}/close", server.address))
        .bearer_auth(&token)
        .json(&serde_json::json!({"reason": "user_exit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);

    let row = direct
        .query_one(
            "SELECT r.next_seq, r.finalized_at IS NOT NULL, r.event_count,
                    (SELECT count(*) FROM recording_chunks c WHERE c.session_id = r.session_id),
                    (SELECT count(DISTINCT seq) FROM recording_chunks c WHERE c.session_id = r.session_id)
             FROM recordings r WHERE r.session_id = $1",
            &[&session],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), total as i32);
    assert!(row.get::<_, bool>(1), "the recording is finalized");
    assert_eq!(row.get::<_, Option<i64>>(2), Some(i64::from(total) * EVENTS_PER_CHUNK as i64));
    assert_eq!((row.get::<_, i64>(3), row.get::<_, i64>(4)), (i64::from(total), i64::from(total)));

    // The download holds every event once, in order.
    let download = client
        .get(format!(
            "{}/api/v1/projects/ops/sessions/{session}/recording/download",
            server.address
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let text = download.text().await.unwrap();
    let events: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(events.len(), total as usize * EVENTS_PER_CHUNK);
    for seq in 0..total {
        let first = &events[seq as usize * EVENTS_PER_CHUNK];
        assert!(
            first.contains(&format!("chunk {seq} event 0 ")),
            "event of chunk {seq}: {first:.80}"
        );
    }
}
