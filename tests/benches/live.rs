//! How soon a chunk's events reach live watchers on two replicas, against
//! PostgreSQL's own LISTEN/NOTIFY round trip in the same run (the bare
//! work: a NOTIFY on the chunk's commit, heard by each replica's listener,
//! which wakes its watchers; each reads the chunk back and sends it).
//!
//! LIVE_BENCH_SESSIONS live sessions (default 10), LIVE_BENCH_WATCHERS
//! watchers (default 50) spread over them and over two replicas (even
//! watchers on A, odd on B), chunks accepted alternately on A and B. Every
//! LIVE_BENCH_INTERVAL_MS (default 100, a gateway's flush interval) each
//! session gets its next chunk, LIVE_BENCH_ROUNDS times (default 100). For
//! each chunk and watcher: the time from the chunk's answer (accepted) to
//! the watcher reading its event, and from sending it. Memory: the
//! process's RSS (both replicas are in it) before and after the watchers
//! open, divided by their number.
//!
//!     cargo test -p termaudit-tests --bench live
//!
//! (a debug build, as `first_paint`; `cargo bench` builds it in release.)
//! Figures are recorded in docs/benchmarks.md.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt as _;
use termaudit_domain::{EnvironmentClass, Permission};
use termaudit_tests::{TestApp, latency_summary, seed};
use uuid::Uuid;

const PROJECT: &str = "bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

async fn put_chunk(app: &TestApp, token: &str, session: Uuid, seq: usize, body: String) {
    let url =
        app.url(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/chunks/{seq}"));
    let response =
        app.client.put(url).bearer_auth(token).body(body).send().await.expect("the chunk is sent");
    assert_eq!(response.status(), 201, "chunk {seq}");
}

/// PostgreSQL alone: NOTIFY on commit from one connection, heard by another.
async fn bare_notify(app: &TestApp, rounds: usize) -> Vec<f64> {
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
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

/// When chunk `seq` of session `index` was sent and answered.
type Sent = Arc<Mutex<HashMap<(usize, usize), (Instant, Option<Instant>)>>>;

/// Opens a watcher of `session` and returns once it has `init`; its task
/// then reports every output event's `(session, seq, arrival)`.
async fn watcher(
    app: &TestApp,
    token: &str,
    session: Uuid,
    heard: tokio::sync::mpsc::UnboundedSender<(usize, usize, Instant)>,
) {
    let url = app.url(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/live"));
    let response = app.client.get(url).bearer_auth(token).send().await.expect("the stream");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut pending = String::new();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        while let Some(Ok(piece)) = body.next().await {
            let arrived = Instant::now();
            pending.push_str(&String::from_utf8_lossy(&piece));
            while let Some(end) = pending.find("\n\n") {
                let frame: String = pending.drain(..end + 2).collect();
                if frame.contains("event: init") {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                } else if let Some(at) = frame.find("mark S") {
                    let mark = &frame[at + 6..];
                    let (index, rest) = mark.split_once('C').expect("S<i>C<seq>");
                    let seq: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = heard.send((
                        index.parse().expect("a number"),
                        seq.parse().expect("a number"),
                        arrived,
                    ));
                }
            }
        }
    });
    ready_rx.await.expect("init arrives");
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sessions = env_usize("LIVE_BENCH_SESSIONS", 10);
    let watchers = env_usize("LIVE_BENCH_WATCHERS", 50);
    let rounds = env_usize("LIVE_BENCH_ROUNDS", 100);
    let interval = Duration::from_millis(env_usize("LIVE_BENCH_INTERVAL_MS", 100) as u64);
    let a = TestApp::spawn().await;
    a.create_project(PROJECT).await;
    let b = a.spawn_replica().await;
    let gateway = a.token("gateway", PROJECT, &[Permission::Ingest]);
    let viewer = a.token("vera", PROJECT, &[Permission::ViewRecording]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());

    let mut bare = bare_notify(&a, rounds * sessions).await;
    println!("bare NOTIFY -> LISTEN round trip       {}", latency_summary(&mut bare));

    let mut ids = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let id = seed::seed_session(&a, PROJECT, EnvironmentClass::Production, true).await;
        let header = "{\"version\": 2, \"width\": 120, \"height\": 40}\n[0.0, \"o\", \"$ \"]\n";
        put_chunk(&a, &gateway, id, 0, header.to_owned()).await;
        ids.push(id);
    }

    let before = rss_bytes();
    let (heard_tx, mut heard_rx) = tokio::sync::mpsc::unbounded_channel();
    for w in 0..watchers {
        let replica = if w % 2 == 0 { &a } else { &b };
        watcher(replica, &viewer, ids[w % sessions], heard_tx.clone()).await;
    }
    drop(heard_tx);
    let after = rss_bytes();
    println!(
        "memory: {watchers} watchers open: RSS +{:.1} MiB, {:.1} KiB per watcher",
        (after.saturating_sub(before)) as f64 / 1048576.0,
        (after.saturating_sub(before)) as f64 / 1024.0 / watchers as f64
    );

    let sent: Sent = Arc::new(Mutex::new(HashMap::new()));
    let expected = rounds * watchers;
    let collector = tokio::spawn({
        let sent = sent.clone();
        async move {
            let mut arrivals = Vec::with_capacity(expected);
            while arrivals.len() < expected {
                let Some(heard) = heard_rx.recv().await else { break };
                arrivals.push(heard);
            }
            let sent = sent.lock().expect("not poisoned").clone();
            let (mut from_answer, mut from_send) = (Vec::new(), Vec::new());
            let mut before_answer = 0;
            for (index, seq, arrived) in arrivals {
                let (started, answered) = sent[&(index, seq)];
                from_send.push((arrived - started).as_secs_f64() * 1000.0);
                let answered = answered.expect("answered");
                if arrived < answered {
                    before_answer += 1;
                    from_answer.push(0.0);
                } else {
                    from_answer.push((arrived - answered).as_secs_f64() * 1000.0);
                }
            }
            (from_answer, from_send, before_answer)
        }
    });

    let mut ticker = tokio::time::interval(interval);
    let mut put_times = Vec::new();
    for round in 1..=rounds {
        ticker.tick().await;
        let puts = ids.iter().enumerate().map(|(index, id)| {
            let replica = if index % 2 == 0 { &a } else { &b };
            let (sent, gateway) = (sent.clone(), gateway.clone());
            async move {
                let body = format!("[{round}.0, \"o\", \"mark S{index}C{round} \\r\\n\"]\n");
                let started = Instant::now();
                sent.lock().expect("not poisoned").insert((index, round), (started, None));
                put_chunk(replica, &gateway, *id, round, body).await;
                let answered = Instant::now();
                if let Some(entry) = sent.lock().expect("not poisoned").get_mut(&(index, round)) {
                    entry.1 = Some(answered);
                }
                (answered - started).as_secs_f64() * 1000.0
            }
        });
        put_times.extend(futures_util::future::join_all(puts).await);
    }
    let (mut from_answer, mut from_send, before_answer) =
        tokio::time::timeout(Duration::from_secs(120), collector)
            .await
            .expect("every event heard in time")
            .expect("the collector");
    println!("chunk PUT round trip                   {}", latency_summary(&mut put_times));
    println!("chunk sent -> watcher                  {}", latency_summary(&mut from_send));
    println!(
        "chunk accepted -> watcher              {}  ({before_answer} heard before the answer, counted 0)",
        latency_summary(&mut from_answer)
    );
    let end = rss_bytes();
    println!("memory after the run: RSS {:.1} MiB", end as f64 / 1048576.0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
}
