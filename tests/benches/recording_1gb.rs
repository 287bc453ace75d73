//! A recording of 1 GiB (RECORDING_BENCH_MB, default 1024) through the real
//! server: ingest in 4 MiB chunks, finalization, a seek to the middle, and the
//! download, then the session's evidence bundle, sampling the process's
//! resident memory throughout. Server and
//! client share the process; the client streams too, so growth with the
//! recording's size would show. Needs PostgreSQL like the tests.
//!
//! Side by side with the bare work: the same bytes through PostgreSQL's
//! `COPY ... FROM STDIN` (one row per line), and the seek to minute 50 of
//! the big recording against the same seek in a 1 MiB recording of the same
//! length (both span 72 minutes: one event every 4 ms, or every 4.3 s).
//! Each timed bulk write (the ingests, COPY) starts after a `CHECKPOINT`,
//! so that none pays for writing out what the phase before it left.
//!
//!     cargo bench -p termaudit-tests --bench recording_1gb          # release
//!     cargo test -p termaudit-tests --bench recording_1gb --release  # same
//!
//! RECORDING_BENCH_EVIDENCE_ROUNDS=N (default 1) downloads the recording
//! and then its evidence bundle N times, side by side, each bundle's time
//! split between its `.cast` and what comes before it (the transcript),
//! and then reads the transcript alone: from the store, and downloaded.
//!
//! RECORDING_BENCH_SESSIONS=N (default 1) uploads the same bytes as N
//! recordings at once, as a gateway uploads its sessions' chunks
//! concurrently; the COPY side then runs N streams too, and the later
//! phases use the first recording (1/N of the bytes).
//!
//! The terminal emulation runs beside the ingest, in the server's workers:
//! the bench samples its lag (chunks, seconds) while the chunks go in and
//! says how long after the last chunk every recording is fully emulated.
//! RECORDING_BENCH_WORKERS=0 ingests on a server that emulates nothing and
//! lets a second one (a replica with the default workers) catch up
//! afterwards: the ingest alone, then the emulation alone.
//!
//! RECORDING_BENCH_NICE=N sets the emulation's threads' niceness
//! (`TERMAUDIT_EMULATION_NICE`, default 10; 0 runs them at the server's
//! priority).
//!
//! RECORDING_BENCH_YIELD=N sets how long the emulation and the compactor
//! wait, at most, while the upload lasts (`TERMAUDIT_YIELD_TO_INGEST_SECONDS`,
//! default 30; 0: they run beside it from the start).
//!
//! RECORDING_BENCH_STORE=s3 stores the recordings in moto's S3 server on
//! loopback (`tests/src/moto.rs`) and adds, after the phases above (which
//! then read the recording while its bytes are still in PostgreSQL: the
//! bench holds the compactor's lock from the start):
//!
//! - PostgreSQL's size per GiB of recorded output before and after
//!   compaction;
//! - the compaction of everything recorded (`Store::compact_once`, as the
//!   server's compactor runs it) against bare puts of objects of the same
//!   sizes to the same server;
//! - the same seeks and download from the objects, against the figures
//!   from PostgreSQL;
//! - the same ingest again with the server's compactor running (the bench
//!   lets go of its lock), against the first ingest, which ran without.
//!
//!     RECORDING_BENCH_STORE=s3 cargo bench -p termaudit-tests --bench recording_1gb
//!
//! RECORDING_BENCH_STORE=s3s-fs does the same against `s3s-fs`, a Rust S3
//! server over a directory (signatures checked, MD5 of every put), whose
//! binary `scripts/ensure-s3s-fs.sh` builds once and prints: moto's Python
//! takes a large share of the two cores the ingest beside the compactor
//! shares with it, where an object store runs on machines of its own.
//!
//!     RECORDING_BENCH_STORE=s3s-fs TERMAUDIT_S3S_FS="$(scripts/ensure-s3s-fs.sh)" \
//!         cargo bench -p termaudit-tests --bench recording_1gb
//!
//! RECORDING_BENCH_STORE=file does the same in a local directory
//! (`file://`), a store that reads only the range asked for where moto
//! reads the whole object.
//!
//! Figures are recorded in docs/benchmarks.md.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};
use termaudit_domain::{
    EnvironmentClass, Permission,
    asciicast::{Event, Micros},
};
use termaudit_tests::{TestApp, moto::Moto, seed};
use uuid::Uuid;

/// Samples the emulation's lag every 250 ms and keeps its peak.
struct LagSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<(i64, f64)>,
}

impl LagSampler {
    fn start(store: termaudit_storage::Store) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let (mut chunks, mut seconds) = (0i64, 0f64);
            loop {
                if let Ok(lag) = store.emulation_lag().await {
                    chunks = chunks.max(lag.chunks);
                    seconds = seconds.max(lag.seconds);
                }
                tokio::select! {
                    _ = &mut stopped => return (chunks, seconds),
                    () = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        });
        Self { stop, task }
    }

    async fn stop(self) -> (i64, f64) {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Samples RSS every 20 ms and keeps the peak since the last reset.
struct Sampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    fn start() -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { peak, stop }
    }

    fn take_peak(&self) -> u64 {
        self.peak.swap(rss_kib(), Ordering::Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The chunk `seq` of a synthetic recording: coloured log lines of ~1 KiB,
/// one event every `step_us`.
fn chunk(seq: u64, first: u64, target: usize, step_us: u64) -> (Vec<u8>, u64) {
    let mut body = String::with_capacity(target + 4096);
    if seq == 0 {
        body.push_str(
            "{\"version\": 2, \"width\": 160, \"height\": 48, \"title\": \"1 GiB bench\"}\n",
        );
    }
    let mut n = 0;
    while body.len() < target {
        let i = first + n;
        let colour = 31 + i % 7;
        // Varying text, so it compresses like real output rather than to nothing.
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut noise = String::with_capacity(900);
        while noise.len() < 900 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            noise.push_str(&format!("{:x} ", x % 0xfffff));
        }
        let data = format!(
            "\u{1b}[{colour}m{i:012}\u{1b}[0m GET /api/v1/things 200 {noise} needle-{i}\r\n"
        );
        body.push_str(&Event::output(Micros(i * step_us), data).to_line());
        body.push('\n');
        n += 1;
    }
    (body.into_bytes(), n)
}

/// CPU seconds used over a phase by this process (server and client) and
/// by moto, if it runs: what an ingest shares the cores with.
struct Cpu {
    process: f64,
    moto: f64,
}

impl Cpu {
    fn start(moto: Option<&Moto>) -> Self {
        Self {
            process: termaudit_tests::process::cpu_seconds(std::process::id()),
            moto: moto.map_or(0.0, Moto::cpu_seconds),
        }
    }

    fn stop(self, moto: Option<&Moto>) -> CpuUsed {
        CpuUsed {
            process: termaudit_tests::process::cpu_seconds(std::process::id()) - self.process,
            moto: moto.map(|m| m.cpu_seconds() - self.moto),
        }
    }
}

struct CpuUsed {
    process: f64,
    moto: Option<f64>,
}

impl std::fmt::Display for CpuUsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "this process {:.1} s", self.process)?;
        if let Some(moto) = self.moto {
            write!(f, ", the S3 server {moto:.1} s")?;
        }
        Ok(())
    }
}

/// One event every 4 ms: 1 GiB spans about 72 minutes.
const STEP_US: u64 = 4000;

/// Time to the first byte, and to the end, of a one-second window at minute
/// 50 (the terminal's state there, then its events).
async fn seek_minute_50(app: &TestApp, token: &str, base: &str) -> (Duration, Duration, u64) {
    let from = Micros(50 * 60 * 1_000_000);
    let to = Micros(from.0 + 1_000_000);
    let started = Instant::now();
    let response = app
        .client
        .get(app.url(&format!("{base}/events?from={from}&to={to}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut first = None;
    let mut bytes = 0;
    while let Some(piece) = body.next().await {
        first.get_or_insert_with(|| started.elapsed());
        bytes += piece.expect("a piece").len() as u64;
    }
    (first.unwrap_or_default(), started.elapsed(), bytes)
}

/// What reading a recording took: the seek to minute 50 (first byte,
/// median of five; and the first of them, which from objects finds the
/// replica's cache of object ranges empty) of the big and of the 1 MiB
/// recording, the middle + 60 s window, and the download.
struct Reads {
    big_seek: Duration,
    small_seek: Duration,
    big_first_seek: Duration,
    small_first_seek: Duration,
    window: Duration,
    download: Duration,
}

/// Reads the big recording (`base`, `events` events) and the small one
/// (`small_base`) as a viewer does, printing each figure.
async fn read_recordings(
    app: &TestApp,
    viewer: &str,
    base: &str,
    small_base: &str,
    events: u64,
    sampler: &Sampler,
) -> Reads {
    let mut big_first = Vec::new();
    let mut small_first = Vec::new();
    for _ in 0..5 {
        let (first, _, _) = seek_minute_50(app, viewer, base).await;
        big_first.push(first);
        let (first, _, _) = seek_minute_50(app, viewer, small_base).await;
        small_first.push(first);
    }
    let (big_cold, small_cold) = (big_first[0], small_first[0]);
    big_first.sort();
    small_first.sort();
    println!(
        "seek to minute 50, first byte (median of 5): big recording {:.1} ms, 1 MiB recording {:.1} ms; ratio {:.2}",
        big_first[2].as_secs_f64() * 1000.0,
        small_first[2].as_secs_f64() * 1000.0,
        big_first[2].as_secs_f64() / small_first[2].as_secs_f64()
    );
    println!(
        "  the first of the five (nothing cached): big recording {:.1} ms, 1 MiB recording {:.1} ms",
        big_cold.as_secs_f64() * 1000.0,
        small_cold.as_secs_f64() * 1000.0,
    );

    let middle = Micros(events / 2 * STEP_US);
    let started = Instant::now();
    let response = app
        .client
        .get(app.url(&format!("{base}/events?from={middle}&to={}", Micros(middle.0 + 60_000_000))))
        .bearer_auth(viewer)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let mut window_bytes: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        window_bytes += piece.expect("a piece").len() as u64;
    }
    let window = started.elapsed();
    println!(
        "seek to the middle ({middle} s) + 60 s window ({} KiB, streamed): {:.0} ms; peak RSS {} MiB",
        window_bytes >> 10,
        window.as_secs_f64() * 1000.0,
        sampler.take_peak() / 1024
    );

    let (download, downloaded) = download(app, viewer, base).await;
    println!(
        "download: {} MiB in {:.1} s ({:.0} MiB/s), digest verified; peak RSS {} MiB",
        downloaded >> 20,
        download.as_secs_f64(),
        (downloaded >> 20) as f64 / download.as_secs_f64(),
        sampler.take_peak() / 1024
    );
    Reads {
        big_seek: big_first[2],
        small_seek: small_first[2],
        big_first_seek: big_cold,
        small_first_seek: small_cold,
        window,
        download,
    }
}

/// The plain `.cast` download, its digest checked: time and bytes.
async fn download(app: &TestApp, viewer: &str, base: &str) -> (Duration, u64) {
    let started = Instant::now();
    let response = app.get(&format!("{base}/download"), viewer).await;
    assert_eq!(response.status(), 200);
    let digest = response.headers()["x-recording-sha256"].to_str().expect("hex").to_owned();
    let mut hasher = Sha256::new();
    let mut downloaded: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        let piece = piece.expect("a piece");
        downloaded += piece.len() as u64;
        hasher.update(&piece);
    }
    let got: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, digest, "the download matches its digest");
    (started.elapsed(), downloaded)
}

/// Streams `path` to its end: the time to its first byte, the time after
/// it, its bytes, and the time after the first byte at which the stream
/// had sent all but its last `tail` bytes (where a bundle's last file
/// starts).
async fn stream_through(
    app: &TestApp,
    token: &str,
    path: &str,
    tail: u64,
) -> (Duration, Duration, u64, Duration) {
    let started = Instant::now();
    let response = app.get(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    let mut marks: Vec<(u64, Instant)> = Vec::with_capacity(1 << 16);
    let mut bytes: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        bytes += piece.expect("a piece").len() as u64;
        marks.push((bytes, Instant::now()));
    }
    let first = marks.first().map_or(started, |(_, at)| *at);
    let end = marks.last().map_or(started, |(_, at)| *at);
    let split = marks.iter().find(|(sent, _)| *sent + tail >= bytes).map_or(end, |(_, at)| *at);
    (first - started, end - first, bytes, split - first)
}

/// RECORDING_BENCH_EVIDENCE_ROUNDS rounds of the plain download against
/// the evidence bundle, side by side, with the bundle's time split between
/// its `.cast` (its last file) and what comes before it (the transcript,
/// mostly), and the transcript alone: read from the store as the bundle
/// reads it, and downloaded.
async fn evidence_rounds(
    app: &TestApp,
    viewer: &str,
    base: &str,
    session: Uuid,
    rounds: usize,
    sampler: &Sampler,
) {
    for round in 1..=rounds {
        let (download, received) = download(app, viewer, base).await;
        let (first, streaming, bundle, split) =
            stream_through(app, viewer, &base.replace("/recording", "/evidence"), received).await;
        assert!(bundle > received, "the bundle holds the recording");
        let mib = |bytes: u64| bytes as f64 / 1048576.0;
        let before = bundle - received;
        println!(
            "round {round}: download {:.0} MiB in {:.2} s ({:.0} MiB/s); evidence bundle {:.0} MiB, \
             first byte after {:.0} ms, then {:.2} s ({:.0} MiB/s, {:.2}x the download's rate): \
             {:.0} MiB before the .cast in {:.2} s ({:.0} MiB/s), the .cast in {:.2} s ({:.0} MiB/s); \
             peak RSS {} MiB; load {}",
            mib(received),
            download.as_secs_f64(),
            mib(received) / download.as_secs_f64(),
            mib(bundle),
            first.as_secs_f64() * 1000.0,
            streaming.as_secs_f64(),
            mib(bundle) / streaming.as_secs_f64(),
            download.as_secs_f64() / streaming.as_secs_f64() * bundle as f64 / received as f64,
            mib(before),
            split.as_secs_f64(),
            mib(before) / split.as_secs_f64(),
            (streaming - split).as_secs_f64(),
            mib(received) / (streaming - split).as_secs_f64(),
            sampler.take_peak() / 1024,
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        );
    }
    // The transcript alone: read from the store by rounds of whole chunks,
    // as the bundle and the transcript's download read it, then through its
    // own endpoint.
    let started = Instant::now();
    let (mut lines, mut text, mut after) = (0, 0u64, None);
    loop {
        let (round, next) =
            app.store.recording_transcript_chunks(session, after).await.expect("a round");
        lines += round.len();
        text += round.iter().map(|l| l.line.len() as u64 + 1).sum::<u64>();
        match next {
            Some(seq) => after = Some(seq),
            None => break,
        }
    }
    let read = started.elapsed();
    let (first, streaming, served, _) =
        stream_through(app, viewer, &format!("{base}/transcript"), 0).await;
    assert_eq!(served, text, "the download holds the stored text");
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    println!(
        "transcript: {lines} lines, {:.0} MiB; read from the store by whole chunks in {:.2} s \
         ({:.0} MiB/s, {:.2} ms per MiB); its download first byte after {:.0} ms, then {:.2} s \
         ({:.0} MiB/s); load {}",
        mib(text),
        read.as_secs_f64(),
        mib(text) / read.as_secs_f64(),
        read.as_secs_f64() * 1000.0 / mib(text),
        first.as_secs_f64() * 1000.0,
        streaming.as_secs_f64(),
        mib(served) / streaming.as_secs_f64(),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    );
}

/// Uploads `chunks` chunks as `recordings` at once (recording i gets every
/// n-th chunk of the total, numbered from 0), one request in flight per
/// recording, each recording's next chunk made while its current one is in
/// flight: a gateway's sessions go on writing output while it uploads, and
/// the COPY side's client makes its next lines while PostgreSQL takes the
/// last ones. Returns each recording's bytes and events, and the time it
/// all took.
async fn upload(
    app: &TestApp,
    gateway: &str,
    recordings: &[Uuid],
    chunks: u64,
    target: usize,
) -> (Vec<(u64, u64)>, Duration) {
    let sessions = recordings.len() as u64;
    let started = Instant::now();
    let uploads = recordings.iter().enumerate().map(|(i, id)| {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/projects/bench/sessions/{id}/recording/chunks"));
        let gateway = gateway.to_owned();
        let count = share(chunks, sessions, i as u64);
        let (made, mut ready) = tokio::sync::mpsc::channel(1);
        tokio::task::spawn_blocking(move || {
            let mut events = 0;
            for seq in 0..count {
                let (body, n) = chunk(seq, events, target, STEP_US);
                events += n;
                if made.blocking_send((seq, body, n)).is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            let (mut sent, mut events, mut uploaded) = (0u64, 0u64, 0u64);
            while let Some((seq, body, n)) = ready.recv().await {
                uploaded += 1;
                sent += body.len() as u64;
                events += n;
                let response = client
                    .put(format!("{url}/{seq}"))
                    .bearer_auth(&gateway)
                    .body(body)
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
            }
            assert_eq!(uploaded, count, "every chunk made and uploaded");
            (sent, events)
        })
    });
    let done = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .map(|upload| upload.expect("an upload"))
        .collect();
    (done, started.elapsed())
}

/// Recording i's share of `chunks` chunks among `sessions` recordings.
fn share(chunks: u64, sessions: u64, i: u64) -> u64 {
    chunks / sessions + u64::from(i < chunks % sessions)
}

/// Writes out what earlier phases left dirty, so that each timed bulk
/// write (the ingests, COPY) starts from the same state rather than paying
/// for the phase before it (a gigabyte's WAL, a `VACUUM FULL`).
async fn checkpoint(db: &termaudit_tests::TestDatabase) {
    db.connect().await.batch_execute("CHECKPOINT").await.expect("a checkpoint");
}

/// The recordings' tables, each with its size on disk (indexes and TOAST
/// included), the ones compaction changes after `VACUUM FULL` (which gives
/// back the space of deleted bodies). The search text (`recording_text`)
/// stays in PostgreSQL with either backend and is not rewritten: a
/// `VACUUM FULL` of its trigram index would take minutes at 1 GiB.
async fn recording_tables(db: &tokio_postgres::Client) -> Vec<(&'static str, i64)> {
    let mut sizes = Vec::new();
    for (table, vacuum) in [
        ("recordings", false),
        ("recording_chunks", true),
        ("recording_snapshots", true),
        ("recording_markers", false),
        ("recording_objects", true),
        ("recording_text", false),
    ] {
        if vacuum {
            db.batch_execute(&format!("VACUUM FULL {table}")).await.expect("vacuumed");
        }
        let size: i64 = db
            .query_one("SELECT pg_total_relation_size($1::text::regclass)", &[&table])
            .await
            .expect("a size")
            .get(0);
        sizes.push((table, size));
    }
    sizes
}

fn print_sizes(when: &str, sizes: &[(&str, i64)], recorded: u64) {
    let gib = recorded as f64 / f64::from(1 << 30);
    let per_gib = |bytes: i64| bytes as f64 / f64::from(1 << 20) / gib;
    let total: i64 = sizes.iter().map(|(_, s)| s).sum();
    let tables: Vec<String> =
        sizes.iter().map(|(t, s)| format!("{t} {:.1}", per_gib(*s))).collect();
    println!(
        "PostgreSQL per GiB of recorded output, {when}: {:.1} MiB ({})",
        per_gib(total),
        tables.join(", ")
    );
}

/// The compactor's advisory lock is granted to someone.
async fn compactor_lock_held(db: &tokio_postgres::Client) -> bool {
    // The lock's 64-bit key ("termcomp") as pg_locks shows it: high and low halves.
    db.query_one(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND classid = x'7465726d'::int8::oid AND objid = x'636f6d70'::int8::oid",
        &[],
    )
    .await
    .expect("a query")
    .get::<_, i64>(0)
        > 0
}

/// xorshift bytes: what the bare puts send (neither moto nor object_store
/// looks at them).
fn noise(len: usize) -> bytes::Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut body = Vec::with_capacity(len + 8);
    while body.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.extend_from_slice(&x.to_le_bytes());
    }
    body.truncate(len);
    body.into()
}

#[tokio::main]
async fn main() {
    let megabytes: u64 =
        std::env::var("RECORDING_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let workers: Option<usize> =
        std::env::var("RECORDING_BENCH_WORKERS").ok().and_then(|v| v.parse().ok());
    let nice: Option<i32> = std::env::var("RECORDING_BENCH_NICE").ok().and_then(|v| v.parse().ok());
    let yield_seconds: Option<u64> =
        std::env::var("RECORDING_BENCH_YIELD").ok().and_then(|v| v.parse().ok());
    let configure_workers = move |s: &mut termaudit_server::Settings| {
        if let Some(workers) = workers {
            s.emulation_workers = workers;
        }
        if let Some(nice) = nice {
            s.emulation_nice = nice;
        }
        if let Some(seconds) = yield_seconds {
            s.yield_to_ingest = Duration::from_secs(seconds);
        }
    };
    // RECORDING_BENCH_STORE=s3: the server stores recordings in moto's S3
    // server, and the bench holds the compactor's lock until it compacts.
    // RECORDING_BENCH_STORE=file: the same in a local directory, a store
    // that reads only the range asked for (moto reads the whole object).
    let store = std::env::var("RECORDING_BENCH_STORE");
    let (objects, in_files) = match store.as_deref() {
        Ok("s3" | "s3s-fs") => (true, false),
        Ok("file") => (true, true),
        Ok("postgres") | Err(_) => (false, false),
        Ok(other) => panic!("RECORDING_BENCH_STORE={other}: s3, s3s-fs, file or postgres"),
    };
    let files = std::env::temp_dir().join(format!("termaudit-bench-{}", Uuid::new_v4()));
    let (app, moto, compactor_lock) = if objects {
        let moto = if store.as_deref() == Ok("s3s-fs") {
            let binary = std::env::var_os("TERMAUDIT_S3S_FS")
                .expect("TERMAUDIT_S3S_FS: the s3s-fs binary (scripts/ensure-s3s-fs.sh)");
            Moto::start_s3s_fs(binary.as_ref()).await
        } else {
            Moto::start().await
        };
        let db = Arc::new(termaudit_tests::TestDatabase::create().await);
        let lock = termaudit_tests::moto::hold_compactor(&db).await;
        let configure: termaudit_tests::Configure = if in_files {
            let dir = files.clone();
            Box::new(move |s: &mut termaudit_server::Settings| {
                s.recordings_store = termaudit_storage::RecordingsStoreUrl::File { dir };
            })
        } else {
            moto.configure("bench")
        };
        let app = TestApp::spawn_on_database(
            db,
            Box::new(move |s| {
                configure(s);
                configure_workers(s);
            }),
        )
        .await;
        (app, Some(moto), Some(lock))
    } else {
        (TestApp::spawn_with(Box::new(configure_workers)).await, None, None)
    };
    app.create_project("bench").await;
    let gateway = app.token("gateway", "bench", &[Permission::Ingest]);
    let viewer = app.token(
        "viewer",
        "bench",
        &[Permission::ViewHistory, Permission::ViewRecording, Permission::DownloadRecording],
    );
    let sessions: u64 = std::env::var("RECORDING_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut recordings = Vec::new();
    for _ in 0..sessions {
        recordings
            .push(seed::seed_session(&app, "bench", EnvironmentClass::Production, true).await);
    }
    let session = recordings[0];
    let base = format!("/api/v1/projects/bench/sessions/{session}/recording");
    let sampler = Sampler::start();
    let baseline = rss_kib();
    println!("baseline RSS: {} MiB", baseline / 1024);

    let target = 4 * 1024 * 1024 - 8192;
    let chunks = (megabytes * 1024 * 1024).div_ceil(target as u64);

    // What the client alone costs: the bytes are generated while timing both
    // the ingest and COPY.
    let started = Instant::now();
    let mut generated: u64 = 0;
    for i in 0..sessions {
        let mut first = 0;
        for seq in 0..share(chunks, sessions, i) {
            let (body, n) = chunk(seq, first, target, STEP_US);
            generated += body.len() as u64;
            first += n;
        }
    }
    let generation = started.elapsed();
    println!(
        "generating the bytes alone: {} MiB in {:.1} s",
        generated >> 20,
        generation.as_secs_f64()
    );

    checkpoint(&app.db).await;
    let lag = LagSampler::start(app.store.clone());
    let cpu = Cpu::start(moto.as_ref());
    let (uploaded, ingest) = upload(&app, &gateway, &recordings, chunks, target).await;
    let first_cpu = cpu.stop(moto.as_ref());
    let sent: u64 = uploaded.iter().map(|(s, _)| s).sum();
    let all_events: u64 = uploaded.iter().map(|(_, n)| n).sum();
    let (first_sent, events) = uploaded[0];
    let ingest_peak = sampler.take_peak();
    println!(
        "ingest{}: {} MiB in {chunks} chunks as {sessions} recording(s) at once, {all_events} events, {:.1} s ({:.0} MiB/s); peak RSS {} MiB; CPU {first_cpu}",
        if objects { " (no compaction)" } else { "" },
        sent >> 20,
        ingest.as_secs_f64(),
        (sent >> 20) as f64 / ingest.as_secs_f64(),
        ingest_peak / 1024
    );

    let (max_chunks, max_seconds) = lag.stop().await;
    let at_end = app.store.emulation_lag().await.expect("the lag");
    println!(
        "emulation lag during ingest: at most {max_chunks} chunks, {max_seconds:.1} s; at the last chunk {} chunks, {:.1} s",
        at_end.chunks, at_end.seconds
    );
    let started = Instant::now();
    let _catching_up = if workers == Some(0) { Some(app.spawn_replica().await) } else { None };
    termaudit_tests::emulation::wait_until_emulated(&app.db, Duration::from_secs(3600))
        .await
        .expect("the emulation catches up");
    let caught_up = started.elapsed();
    println!(
        "fully emulated {:.1} s after the last chunk ({:.0} MiB/s of the backlog); peak RSS {} MiB",
        caught_up.as_secs_f64(),
        (at_end.chunks as f64 * target as f64 / 1048576.0) / caught_up.as_secs_f64().max(1e-3),
        sampler.take_peak() / 1024
    );

    let started = Instant::now();
    for id in &recordings {
        seed::end_session(&app, *id).await;
    }
    println!(
        "finalize ({sessions} recording(s)): {:.1} s; peak RSS {} MiB",
        started.elapsed().as_secs_f64(),
        sampler.take_peak() / 1024
    );

    // The bare work: the same bytes through COPY ... FROM STDIN, in as many
    // streams as there were recordings.
    let db = app.db.connect().await;
    db.batch_execute("CREATE TABLE ingest_copy (line text)").await.expect("a table");
    let mut copy_db = Vec::new();
    for _ in 0..sessions {
        copy_db.push(app.db.connect().await);
    }
    checkpoint(&app.db).await;
    let started = Instant::now();
    let copies = copy_db.iter().enumerate().map(|(i, db)| async move {
        let sink = db
            .copy_in::<_, std::io::Cursor<Vec<u8>>>(
                "COPY ingest_copy (line) FROM STDIN (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')",
            )
            .await
            .expect("COPY starts");
        futures_util::pin_mut!(sink);
        let mut copied_events = 0;
        for seq in 0..share(chunks, sessions, i as u64) {
            let (body, n) = chunk(seq, copied_events, target, STEP_US);
            copied_events += n;
            futures_util::SinkExt::send(&mut sink, std::io::Cursor::new(body))
                .await
                .expect("sent");
        }
        sink.finish().await.expect("COPY ends")
    });
    let rows: u64 = futures_util::future::join_all(copies).await.into_iter().sum();
    let copy = started.elapsed();
    assert_eq!(rows, all_events + sessions, "one row per line");
    println!(
        "COPY ... FROM STDIN of the same bytes ({sessions} stream(s)): {:.1} s ({:.0} MiB/s); ingest/COPY rate: {:.2}",
        copy.as_secs_f64(),
        (sent >> 20) as f64 / copy.as_secs_f64(),
        copy.as_secs_f64() / ingest.as_secs_f64()
    );
    db.batch_execute("DROP TABLE ingest_copy").await.expect("dropped");
    drop(copy_db);
    if sessions > 1 {
        println!("the phases below use the first recording: {} MiB", first_sent >> 20);
    }

    // Minute 50 of the big recording against minute 50 of a 1 MiB one of
    // the same length (about 1000 events, 4.3 s apart, in one chunk).
    let small = seed::seed_session(&app, "bench", EnvironmentClass::Production, true).await;
    let small_base = format!("/api/v1/projects/bench/sessions/{small}/recording");
    let span = events * STEP_US;
    let (_, small_events) = chunk(0, 0, 1024 * 1024, 1);
    let (body, _) = chunk(0, 0, 1024 * 1024, span / small_events);
    let small_sent = body.len() as u64;
    let response = app
        .client
        .put(app.url(&format!("{small_base}/chunks/0")))
        .bearer_auth(&gateway)
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    seed::end_session(&app, small).await;
    // Both seeks start from snapshots, as they do once the emulation has
    // caught up (a few milliseconds after this chunk).
    termaudit_tests::emulation::wait_until_emulated(&app.db, Duration::from_secs(600))
        .await
        .expect("the small recording is emulated");
    println!("reads of the {} MiB recording (in PostgreSQL):", first_sent >> 20);
    let in_postgres = read_recordings(&app, &viewer, &base, &small_base, events, &sampler).await;

    // The evidence bundle of the same session: the recording inside a zip
    // written as it is sent, with the session's proven audit entries and
    // its transcript. The first byte waits for the audit log's sequencer to
    // take in the download's own audit entry; the rate is the streaming
    // after it. Each round downloads the recording again just before.
    let rounds = std::env::var("RECORDING_BENCH_EVIDENCE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    evidence_rounds(&app, &viewer, &base, session, rounds, &sampler).await;
    let stored = termaudit_tests::moto::chunk_bytes_in_postgres(&db, session).await;
    println!("stored (zstd): {} MiB", stored >> 20);

    let (Some(moto), Some(compactor_lock)) = (moto, compactor_lock) else { return };
    let recorded = sent + small_sent;
    if in_files {
        println!("--- the object store (file://{}) ---", files.display());
    } else {
        println!(
            "--- the object store ({} on {}) ---",
            store.as_deref().unwrap_or("s3"),
            moto.endpoint()
        );
    }
    print_sizes("before compaction", &recording_tables(&db).await, recorded);

    // Compaction of everything recorded so far, as one pass of the server's
    // compactor does (the bench holds its lock), against bare puts of
    // objects of the same sizes to the same server.
    let started = Instant::now();
    let mut compacted = termaudit_storage::CompactReport::default();
    loop {
        let pass = app.store.compact_once(Default::default()).await.expect("a pass");
        if pass.objects == 0 {
            break;
        }
        compacted.objects += pass.objects;
        compacted.chunks += pass.chunks;
        compacted.snapshots += pass.snapshots;
        compacted.bytes += pass.bytes;
    }
    let compaction = started.elapsed();
    let sizes: Vec<i64> = db
        .query("SELECT size_bytes FROM recording_objects ORDER BY id", &[])
        .await
        .expect("the objects")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(sizes.len(), compacted.objects, "one row per object written");
    let target_store = app.store.objects().expect("an object store");
    let body = noise(sizes.iter().copied().max().unwrap_or(0) as usize);
    let started = Instant::now();
    for (i, size) in sizes.iter().enumerate() {
        target_store
            .write(&format!("bench/bare/{i}"), body.slice(..*size as usize))
            .await
            .expect("a put");
    }
    let bare = started.elapsed();
    let mib = compacted.bytes as f64 / f64::from(1 << 20);
    println!(
        "compaction: {} objects ({} chunks, {} snapshots), {mib:.0} MiB in {:.1} s ({:.0} MiB/s); \
         bare puts of the same sizes: {:.1} s ({:.0} MiB/s); compaction/put rate: {:.2}; peak RSS {} MiB",
        compacted.objects,
        compacted.chunks,
        compacted.snapshots,
        compaction.as_secs_f64(),
        mib / compaction.as_secs_f64(),
        bare.as_secs_f64(),
        mib / bare.as_secs_f64(),
        bare.as_secs_f64() / compaction.as_secs_f64(),
        sampler.take_peak() / 1024
    );
    termaudit_tests::moto::wait_until_compacted(&app.db, session, Duration::from_secs(1))
        .await
        .expect("nothing of the recording is left in PostgreSQL");
    print_sizes("after compaction", &recording_tables(&db).await, recorded);

    println!("reads of the {} MiB recording (in objects):", first_sent >> 20);
    let in_objects = read_recordings(&app, &viewer, &base, &small_base, events, &sampler).await;
    let rate =
        |postgres: Duration, objects: Duration| postgres.as_secs_f64() / objects.as_secs_f64();
    println!(
        "objects against PostgreSQL (rate ratio): seek to minute 50 {:.2}, 1 MiB seek {:.2}, middle \
         + 60 s window {:.2}, download {:.2}",
        rate(in_postgres.big_seek, in_objects.big_seek),
        rate(in_postgres.small_seek, in_objects.small_seek),
        rate(in_postgres.window, in_objects.window),
        rate(in_postgres.download, in_objects.download),
    );
    println!(
        "  first seeks (nothing cached yet): seek to minute 50 {:.2}, 1 MiB seek {:.2}",
        rate(in_postgres.big_first_seek, in_objects.big_first_seek),
        rate(in_postgres.small_first_seek, in_objects.small_first_seek),
    );

    // The same ingest again, the server's compactor running this time: it
    // compacts each recording once 8 MiB of it wait.
    compactor_lock.release().await.expect("released");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !compactor_lock_held(&db).await {
        assert!(Instant::now() < deadline, "the server's compactor took no lock in 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut again = Vec::new();
    for _ in 0..sessions {
        again.push(seed::seed_session(&app, "bench", EnvironmentClass::Production, true).await);
    }
    let objects_before: i64 =
        db.query_one("SELECT count(*) FROM recording_objects", &[]).await.expect("a count").get(0);
    checkpoint(&app.db).await;
    let cpu = Cpu::start(Some(&moto));
    let (uploaded, with_compaction) = upload(&app, &gateway, &again, chunks, target).await;
    let second_cpu = cpu.stop(Some(&moto));
    let objects_during: i64 =
        db.query_one("SELECT count(*) FROM recording_objects", &[]).await.expect("a count").get(0);
    let sent_again: u64 = uploaded.iter().map(|(s, _)| s).sum();
    println!(
        "ingest with the compactor running: {} MiB in {:.1} s ({:.0} MiB/s), {} objects written \
         meanwhile; rate against the ingest without: {:.2}; peak RSS {} MiB; CPU {second_cpu}",
        sent_again >> 20,
        with_compaction.as_secs_f64(),
        (sent_again >> 20) as f64 / with_compaction.as_secs_f64(),
        objects_during - objects_before,
        ingest.as_secs_f64() / with_compaction.as_secs_f64(),
        sampler.take_peak() / 1024
    );
    termaudit_tests::emulation::wait_until_emulated(&app.db, Duration::from_secs(3600))
        .await
        .expect("the emulation catches up");
    let started = Instant::now();
    for id in &again {
        seed::end_session(&app, *id).await;
    }
    for id in &again {
        termaudit_tests::moto::wait_until_compacted(&app.db, *id, Duration::from_secs(600))
            .await
            .expect("compacted after its end");
    }
    println!(
        "emulated, then finalized and out of PostgreSQL {:.1} s after the end",
        started.elapsed().as_secs_f64()
    );
    if in_files {
        std::fs::remove_dir_all(&files).expect("the objects' directory removed");
    }
}
