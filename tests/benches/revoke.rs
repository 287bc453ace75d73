//! How soon a revoke reaches the gateways, against PostgreSQL's own
//! LISTEN/NOTIFY round trip on the same machine (the bare work: the revoke
//! is a NOTIFY sent on commit, relayed to every gateway's control stream).
//!
//! For each of REVOKE_BENCH_SESSIONS sessions (default 200) with a small
//! recording, and for a few with a large one (REVOKE_BENCH_BIG_MB, default
//! 64): the time from sending `POST .../revoke` until the gateway's control
//! stream carries `session.revoked` for it, and until the revoke's response
//! (which waits for the recording's finalization). A gateway ends the shell
//! as soon as the event arrives (tests/tests/gateway checks that it does).
//!
//!     cargo bench -p termaudit-tests --bench revoke
//!
//! Figures are recorded in docs/benchmarks.md.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::json;
use termaudit_domain::{EnvironmentClass, Permission};
use termaudit_tests::{TestApp, seed};
use uuid::Uuid;

const PROJECT: &str = "bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// p50, p99 and max of `samples`, in milliseconds.
fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    format!(
        "n={:>4}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        samples.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// A recording of about `bytes` of coloured output, as 4 MiB chunks.
fn recording(bytes: usize) -> Vec<String> {
    const CHUNK: usize = (4 << 20) - 4096;
    let line = "\\u001b[32mINFO\\u001b[0m request served in 3 ms: GET /api/v1/things?page=2 200 ";
    let mut chunks = vec![String::from(
        "{\"version\": 2, \"width\": 120, \"height\": 40, \"timestamp\": 1764064800}\n",
    )];
    let (mut written, mut event) = (0, 0u64);
    while written < bytes {
        let current = chunks.last_mut().expect("a chunk");
        if current.len() >= CHUNK {
            chunks.push(String::new());
            continue;
        }
        let text = format!("{line}{event:08}\\r\\n");
        let entry = format!("[{}.{:03}, \"o\", \"{text}\"]\n", event / 1000, event % 1000);
        written += entry.len();
        current.push_str(&entry);
        event += 1;
    }
    chunks
}

async fn upload(app: &TestApp, token: &str, session: Uuid, chunks: &[String]) {
    for (seq, body) in chunks.iter().enumerate() {
        let url = app
            .url(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/chunks/{seq}"));
        let response = app
            .client
            .put(url)
            .bearer_auth(token)
            .header("content-type", "application/x-asciicast")
            .body(body.clone())
            .send()
            .await
            .expect("the chunk is sent");
        assert_eq!(
            response.status(),
            201,
            "chunk {seq}: {}",
            response.text().await.unwrap_or_default()
        );
    }
}

/// PostgreSQL alone: NOTIFY on commit from one connection, heard by another.
async fn bare_notify(app: &TestApp, rounds: usize) -> Vec<Duration> {
    let (listener, mut connection) =
        tokio_postgres::connect(&app.db.url(), tokio_postgres::NoTls).await.expect("a connection");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = message {
                let _ = tx.send(n.payload().to_owned());
            }
        }
    });
    listener.batch_execute("LISTEN bench_bare").await.expect("LISTEN");
    let mut sender = app.db.connect().await;
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let payload = round.to_string();
        let started = Instant::now();
        let t = sender.transaction().await.expect("a transaction");
        t.execute("SELECT pg_notify('bench_bare', $1)", &[&payload]).await.expect("NOTIFY");
        t.commit().await.expect("commit");
        while rx.recv().await.expect("a notification") != payload {}
        samples.push(started.elapsed());
    }
    samples
}

/// termaudit: revoke `sessions` one after another; the time until the
/// control stream carries each, and until each response.
async fn revokes(app: &TestApp, sessions: &[Uuid]) -> (Vec<Duration>, Vec<Duration>) {
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
    let manager = app.token("carol", PROJECT, &[Permission::ManagePolicy]);
    let stream = app
        .client
        .get(app.url(&format!("/api/v1/projects/{PROJECT}/control-events")))
        .bearer_auth(&gateway)
        .send()
        .await
        .expect("the control stream");
    assert_eq!(stream.status(), 200);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    tokio::spawn(async move {
        let mut body = stream.bytes_stream();
        let mut pending = String::new();
        while let Some(Ok(piece)) = body.next().await {
            let arrived = Instant::now();
            pending.push_str(&String::from_utf8_lossy(&piece));
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if event.contains("event: session.revoked") {
                    let _ = tx.send((event, arrived));
                }
            }
        }
    });
    let (mut heard, mut answered) = (Vec::new(), Vec::new());
    for id in sessions {
        let started = Instant::now();
        let url = app.url(&format!("/api/v1/projects/{PROJECT}/sessions/{id}/revoke"));
        let (client, token) = (app.client.clone(), manager.clone());
        let response = tokio::spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"reason": "benchmark"}))
                .send()
                .await
                .expect("the revoke is sent");
            (response.status(), Instant::now())
        });
        let id = id.to_string();
        loop {
            let (event, arrived) = rx.recv().await.expect("the control stream lives");
            if event.contains(&id) {
                heard.push(arrived - started);
                break;
            }
        }
        let (status, at) = response.await.expect("the revoke task");
        assert_eq!(status, 200);
        answered.push(at - started);
    }
    (heard, answered)
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let count = env_usize("REVOKE_BENCH_SESSIONS", 200);
    let big_mb = env_usize("REVOKE_BENCH_BIG_MB", 64);
    let app = TestApp::spawn().await;
    app.create_project(PROJECT).await;
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);

    let mut bare = bare_notify(&app, count).await;
    println!("bare LISTEN/NOTIFY round trip      {}", summary(&mut bare));

    let small = recording(16 << 10);
    let mut sessions = Vec::with_capacity(count);
    for _ in 0..count {
        let id = seed::seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &gateway, id, &small).await;
        sessions.push(id);
    }
    let (mut heard, mut answered) = revokes(&app, &sessions).await;
    println!("16 KiB recording: control event    {}", summary(&mut heard));
    println!("16 KiB recording: revoke answered  {}", summary(&mut answered));

    let big = recording(big_mb << 20);
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let id = seed::seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &gateway, id, &big).await;
        sessions.push(id);
    }
    let (mut heard, mut answered) = revokes(&app, &sessions).await;
    println!("{big_mb} MiB recording: control event    {}", summary(&mut heard));
    println!("{big_mb} MiB recording: revoke answered  {}", summary(&mut answered));
}
