//! `search [RECORDINGS]`: search across recordings, seeded through the real
//! ingest path.
//!
//! Into the database `termaudit_bench_search_{RECORDINGS}`, once: that many
//! closed production sessions, each with a recording uploaded to the real
//! server in 64 KiB chunks as a gateway sends them (`PUT .../chunks/{seq}`,
//! then the close), eight recordings at once, each of `BENCH_SEARCH_KIB`
//! KiB of terminal output (default 256): coloured log lines over a
//! vocabulary of 2 000 words, progress bars redrawn in place, a
//! full-screen program; every recording prints the
//! common word "error", and recording `i` prints the rare word `zqx{i}q`
//! once. With `BENCH_SEARCH_CAST=FILE` (into
//! `termaudit_bench_search_{RECORDINGS}_cast`) every recording is instead
//! that real terminal's recording (its output events, at its size) with
//! `zqx{i}q` and an `error` line at its end. With
//! `BENCH_SEARCH_SECRET_KIB=K` (into `..._secret{K}`) each synthetic
//! recording starts with K KiB of random base64, a key as `kubectl get
//! secret -o yaml` shows it: text that holds nearly every three-character
//! window of its case-folded alphabet. The server's emulation
//! workers extract and index the text, as in production. Then, with the
//! server running:
//!
//! - a rare word's search (`GET /recordings/search?q=zqx{i}q`), 200 times,
//!   each beside the same search straight from the storage query
//!   (`Store::recording_text_search`: its two SQL statements and rows),
//!   each of the two first half the time (the first reads from disk what
//!   the second finds in memory);
//! - a common word's first page (`q=error`, 20 sessions), the same way;
//! - the index's size (`recording_text` and, before V22,
//!   `recording_text_grams`, with their indexes) against the recordings'
//!   compressed chunks: as the workers grew it (their folds of rows
//!   leave space that autovacuum lets later rows reuse; the bench machines
//!   run without it), then after a `VACUUM FULL` (the seeding's last step),
//!   with what its rows hold;
//! - how long after a chunk's acceptance its text is searchable: 20 new
//!   live sessions, each a chunk with a new word, polled every 10 ms.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use termaudit_domain::{
    HistoryFilter, HistoryParams, Permission, ProjectName, ProjectSlug, SessionListFilter,
    asciicast::ScreenQuery,
};
use termaudit_storage::Store;
use uuid::Uuid;

use crate::{Latencies, database, serve, token};

const SLUG: &str = "search";
const RUNS: usize = 200;
const CHUNK_BYTES: usize = 64 * 1024;
/// Recordings uploaded at once while seeding.
const UPLOADERS: usize = 8;

/// A word of the vocabulary, deterministic.
fn word(i: u64) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "da", "fe", "gu", "ho", "ji", "pe", "qu",
        "wy",
    ];
    let i = i % 2000;
    format!(
        "{}{}{}",
        SYLLABLES[(i % 16) as usize],
        SYLLABLES[(i / 16 % 16) as usize],
        SYLLABLES[(i / 256) as usize]
    )
}

/// Recording `n`'s output events (time in seconds, data): `secret_kib` KiB
/// of random base64 (a key as `kubectl get secret -o yaml` prints it, 76
/// characters a line), then about `kib` KiB of logs, progress bars and a
/// full-screen program.
fn output(n: u64, kib: usize, secret_kib: usize) -> Vec<(f64, String)> {
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut seed = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut time = 0.0;
    if secret_kib > 0 {
        const BASE64: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        events.push((
            time,
            "$ kubectl get secret app-tls -o yaml\r\ndata:\r\n  tls.key: |\r\n".to_owned(),
        ));
        for _ in 0..secret_kib * 1024 / 82 {
            let mut data = "    ".to_owned();
            data.extend((0..76).map(|_| BASE64[(next() % 64) as usize] as char));
            data.push_str("\r\n");
            events.push((time, data));
        }
    }
    let mut line = 0u64;
    while bytes < kib * 1024 {
        time += 0.05;
        let data = match line % 200 {
            17 => format!("$ deploy zqx{n}q\r\n"),
            50 => {
                let bar: String = (0..=20).map(|i| format!("\r[{:<20}] {:>3}%", "#".repeat(i), i * 5)).collect();
                format!("{bar}\r\n")
            }
            120 => "\x1b[?1049h\x1b[H\x1b[2J\x1b[1mtop - load 0.42\x1b[0m\r\n  PID USER  %CPU\r\n  101 app   12.0\x1b[?1049l".to_owned(),
            k => {
                let words: Vec<String> = (0..8).map(|_| word(next())).collect();
                let level = if k % 10 == 3 { "\x1b[31merror\x1b[0m" } else { "\x1b[32minfo\x1b[0m" };
                format!("2026-01-01T00:00:{:02} {level} {}\r\n", line % 60, words.join(" "))
            }
        };
        bytes += data.len();
        events.push((time, data));
        line += 1;
    }
    events
}

/// The header of the synthetic recordings.
const HEADER: &str = "{\"version\": 2, \"width\": 120, \"height\": 40}";

/// The recording as chunks of about 64 KiB of asciicast lines.
fn chunks(header: &str, events: &[(f64, String)]) -> anyhow::Result<Vec<String>> {
    let mut chunks = vec![format!("{header}\n")];
    for (time, data) in events {
        let line = serde_json::to_string(&(time, "o", data))? + "\n";
        if chunks.last().is_some_and(|c| c.len() + line.len() > CHUNK_BYTES) {
            chunks.push(String::new());
        }
        if let Some(last) = chunks.last_mut() {
            last.push_str(&line);
        }
    }
    Ok(chunks)
}

/// What each recording shows: the synthetic output, or
/// (`BENCH_SEARCH_CAST=FILE`) a real terminal's recording, every
/// recording `i` the same with `zqx{i}q` and an `error` line at its end.
enum Source {
    Synthetic { kib: usize, secret_kib: usize },
    Cast { header: String, events: Vec<(f64, String)> },
}

impl Source {
    fn from_env() -> anyhow::Result<Self> {
        let Ok(path) = std::env::var("BENCH_SEARCH_CAST") else {
            let kib = |name| std::env::var(name).ok().and_then(|v| v.parse().ok());
            return Ok(Self::Synthetic {
                kib: kib("BENCH_SEARCH_KIB").unwrap_or(256),
                secret_kib: kib("BENCH_SEARCH_SECRET_KIB").unwrap_or(0),
            });
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let mut lines = text.lines();
        let header = lines.next().context("an empty cast")?.to_owned();
        let mut events = Vec::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let (time, code, data): (f64, String, String) =
                serde_json::from_str(line).with_context(|| format!("a cast line: {line}"))?;
            if code == "o" {
                events.push((time, data));
            }
        }
        Ok(Self::Cast { header, events })
    }

    /// The database's name's suffix: each source its own.
    fn label(&self) -> String {
        match self {
            Self::Synthetic { secret_kib: 0, .. } => String::new(),
            Self::Synthetic { secret_kib, .. } => format!("_secret{secret_kib}"),
            Self::Cast { .. } => "_cast".to_owned(),
        }
    }

    fn recording(&self, n: u64) -> anyhow::Result<Vec<String>> {
        match self {
            Self::Synthetic { kib, secret_kib } => chunks(HEADER, &output(n, *kib, *secret_kib)),
            Self::Cast { header, events } => {
                let mut events = events.clone();
                let end = events.last().map_or(0.0, |e| e.0);
                events.push((end + 0.1, format!("$ deploy zqx{n}q\r\n")));
                events.push((end + 0.2, "deploy: \x1b[31merror\x1b[0m: none\r\n".to_owned()));
                chunks(header, &events)
            }
        }
    }
}

struct Bench {
    http: reqwest::Client,
    base: String,
    gateway: String,
    reader: String,
}

impl Bench {
    fn session_url(&self, id: Uuid, rest: &str) -> String {
        format!("{}/api/v1/projects/{SLUG}/sessions/{id}{rest}", self.base)
    }

    async fn upload(&self, id: Uuid, chunks: &[String]) -> anyhow::Result<()> {
        for (seq, body) in chunks.iter().enumerate() {
            let response = self
                .http
                .put(self.session_url(id, &format!("/recording/chunks/{seq}")))
                .bearer_auth(&self.gateway)
                .header("content-type", "application/x-asciicast")
                .body(body.clone())
                .send()
                .await?;
            anyhow::ensure!(response.status().is_success(), "chunk {seq}: {}", response.status());
        }
        Ok(())
    }

    async fn close(&self, id: Uuid) -> anyhow::Result<()> {
        let response = self
            .http
            .post(self.session_url(id, "/close"))
            .bearer_auth(&self.gateway)
            .json(&serde_json::json!({"reason": "user_exit"}))
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "close: {}", response.status());
        Ok(())
    }

    async fn search(&self, q: &str) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .get(format!("{}/api/v1/projects/{SLUG}/recordings/search?q={q}", self.base))
            .bearer_auth(&self.reader)
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "search: {}", response.status());
        Ok(response.json().await?)
    }
}

/// Opens a live production session on the bench's target, as the gateway would.
async fn open(client: &tokio_postgres::Client, project: Uuid) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    client
        .execute(
            "INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                                   environment_class, mode, reason, user_subject, user_name,
                                   recorded, status, opened_at, last_seen_at)
             SELECT $1, $2, t.id, t.name, 'application', 'prod-eu', 'production', 'shell',
                    'bench', 'user1', 'User 1', true, 'active', now(), now()
             FROM targets t WHERE t.project_id = $2",
            &[&id, &project],
        )
        .await?;
    Ok(id)
}

async fn caught_up(client: &tokio_postgres::Client) -> anyhow::Result<()> {
    loop {
        let left: i64 =
            client.query_one("SELECT count(*) FROM recording_emulation", &[]).await?.get(0);
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run(recordings: i64) -> anyhow::Result<()> {
    let source = Source::from_env()?;
    let name = format!("termaudit_bench_search_{recordings}{}", source.label());
    let url = database(&name).await?;
    let store = Store::new(&url, 8)?;
    let client = url.connect().await?;
    let base = serve(&name).await?;
    let bench = Bench {
        http: reqwest::Client::new(),
        base,
        gateway: token(SLUG, vec![Permission::Ingest])?,
        reader: token(SLUG, vec![Permission::ViewRecording, Permission::ViewHistory])?,
    };
    let project = match store.project_by_slug(SLUG).await? {
        Some(project) => project,
        None => {
            let project = store
                .create_project(&ProjectSlug::parse(SLUG)?, &ProjectName::parse("Search")?)
                .await?;
            client
                .execute(
                    "INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
                     VALUES (gen_random_uuid(), $1, 'web-01', 'application', 'prod-eu', 'production')",
                    &[&project.id],
                )
                .await?;
            eprintln!("seeding {recordings} recordings through the API...");
            let started = Instant::now();
            // Several recordings at once, as a fleet of gateways sends them
            // (one at a time left the server waiting on the client).
            let (api, db, project_id, source) = (&bench, &client, project.id, &source);
            let uploads = futures_util::stream::iter(0..recordings)
                .map(move |n| async move {
                    let id = open(db, project_id).await?;
                    let chunks = source.recording(n as u64)?;
                    api.upload(id, &chunks).await?;
                    api.close(id).await?;
                    anyhow::Ok(chunks.iter().map(String::len).sum::<usize>())
                })
                .buffer_unordered(UPLOADERS);
            let mut uploads = std::pin::pin!(uploads);
            let (mut bytes, mut done) = (0, 0);
            while let Some(uploaded) = uploads.next().await {
                bytes += uploaded?;
                done += 1;
                if done % 1000 == 0 {
                    eprintln!(
                        "  {done} recordings accepted after {:.0} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            let accepted = started.elapsed();
            caught_up(&client).await?;
            // (One statement each: VACUUM runs outside a transaction.)
            client.batch_execute("VACUUM ANALYZE recording_text").await?;
            if client
                .query_one("SELECT to_regclass('recording_text_grams') IS NOT NULL", &[])
                .await?
                .get::<_, bool>(0)
            {
                client.batch_execute("VACUUM ANALYZE recording_text_grams").await?;
            }
            client.batch_execute("ANALYZE sessions").await?;
            // The space the workers' folds left (V26: rows of one chunk
            // replaced by a row of many), which a server's autovacuum lets
            // later rows reuse and the bench machines' PostgreSQL (without
            // autovacuum) keeps: measured, then given back, so the sizes
            // below are what the rows and their indexes take.
            let grown: i64 = client
                .query_one("SELECT pg_total_relation_size('recording_text')::int8", &[])
                .await?
                .get(0);
            client.batch_execute("VACUUM FULL ANALYZE recording_text").await?;
            eprintln!(
                "recording_text as grown by the workers: {:.1} MiB (before VACUUM FULL)",
                grown as f64 / 1048576.0
            );
            eprintln!(
                "seeded {:.0} MiB: accepted in {:.0} s ({:.1} MiB/s), emulated and indexed {:.0} s after the start",
                bytes as f64 / 1048576.0,
                accepted.as_secs_f64(),
                bytes as f64 / 1048576.0 / accepted.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
            project
        }
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("search across {recordings} recordings; load average at start: {}", load.trim());

    let filter = SessionListFilter {
        sessions: HistoryFilter::parse(HistoryParams::default())?,
        opened_from: None,
        opened_to: None,
        recorded: Some(true),
        text: None,
    };
    for (label, rare) in
        [("rare word (1 recording)", true), ("common word, first page of 20", false)]
    {
        let (mut api, mut sql) = (Latencies::default(), Latencies::default());
        for i in 0..RUNS {
            let q = if rare {
                format!("zqx{}q", (i as i64 * 7919) % recordings)
            } else {
                "error".to_owned()
            };
            // Each order half the time: the first of the two reads the
            // word's chunks from disk, the second finds them in memory.
            let parsed = ScreenQuery::parse(&q, 3)?;
            let api_first = i % 2 == 0;
            for through_api in [api_first, !api_first] {
                let started = Instant::now();
                if through_api {
                    let page = bench.search(&q).await?;
                    api.push(started.elapsed());
                    anyhow::ensure!(
                        page["items"].as_array().is_some_and(|items| !items.is_empty()),
                        "{q}: nothing found"
                    );
                } else {
                    store.recording_text_search(project.id, &filter, &parsed, None, 20, 5).await?;
                    sql.push(started.elapsed());
                }
            }
        }
        println!(
            "{label}: API p50 {:.1} ms p99 {:.1} ms; storage query p50 {:.1} ms p99 {:.1} ms ({} runs)",
            api.percentile(50.0),
            api.percentile(99.0),
            sql.percentile(50.0),
            sql.percentile(99.0),
            api.len()
        );
    }

    // The search's tables as they are: V22's row per chunk (V26: or of
    // several chunks; V30: dense codes apart, with their own GIN), or
    // (before V22) V14's row per line beside V21's window codes.
    let sizes = client
        .query_one(
            "SELECT pg_total_relation_size('recording_text')::int8
                    + coalesce(pg_total_relation_size(to_regclass('recording_text_grams')), 0)::int8,
                    coalesce(pg_relation_size(to_regclass('recording_text_grams_gin')), 0)::int8
                    + coalesce(pg_relation_size(to_regclass('recording_text_dense_gin')), 0)::int8,
                    (SELECT count(*) FROM recording_text),
                    (SELECT coalesce(sum(octet_length(data)), 0)::int8 FROM recording_chunks),
                    (SELECT coalesce(sum(data_bytes), 0)::int8 FROM recording_chunks),
                    (SELECT coalesce(sum(pg_column_size(body)), 0)::int8 FROM recording_text),
                    (SELECT coalesce(sum(pg_column_size(grams) + pg_column_size(dense)), 0)::int8
                     FROM recording_text),
                    pg_relation_size('recording_text_pkey')::int8",
            &[],
        )
        .await?;
    let (text, gin, rows, compressed, raw): (i64, i64, i64, i64, i64) =
        (sizes.get(0), sizes.get(1), sizes.get(2), sizes.get(3), sizes.get(4));
    let (bodies, codes, key): (i64, i64, i64) = (sizes.get(5), sizes.get(6), sizes.get(7));
    let mib = |b: i64| b as f64 / 1048576.0;
    println!(
        "index: the search's tables {:.1} MiB with their indexes ({rows} rows of recording_text; \
         window codes' GINs {:.1} MiB) against {:.1} MiB of compressed chunks ({:.1} MiB \
         uncompressed): {:.2}x",
        mib(text),
        mib(gin),
        mib(compressed),
        mib(raw),
        text as f64 / compressed.max(1) as f64
    );
    println!(
        "index, what its rows hold: bodies {:.1} MiB, codes {:.1} MiB as stored, with the GIN \
         and the primary key ({:.1} MiB) {:.1} MiB: {:.2}x the compressed chunks",
        mib(bodies),
        mib(codes),
        mib(key),
        mib(bodies + codes + gin + key),
        (bodies + codes + gin + key) as f64 / compressed.max(1) as f64
    );

    let mut searchable = Latencies::default();
    for i in 0..20 {
        let id = open(&client, project.id).await?;
        let word = format!("fresh{}x{i}", Uuid::new_v4().simple());
        let events = vec![(0.1, format!("$ echo {word}\r\n{word}\r\n$ "))];
        bench.upload(id, &chunks(HEADER, &events)?).await?;
        // Accepted: the chunk's PUT was answered.
        let started = Instant::now();
        let deadline = started + Duration::from_secs(60);
        loop {
            let page = bench.search(&word).await?;
            if page["items"].as_array().is_some_and(|items| !items.is_empty()) {
                searchable.push(started.elapsed());
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "{word} not searchable in 60 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bench.close(id).await.context("close")?;
    }
    println!(
        "from a chunk's acceptance to its text found by the search: p50 {:.0} ms, max {:.0} ms ({} live sessions)",
        searchable.percentile(50.0),
        searchable.percentile(100.0),
        searchable.len()
    );
    Ok(())
}
