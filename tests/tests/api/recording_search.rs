//! Search across recordings and transcripts: real terminal output uploaded
//! in chunks, emulated by the server's workers, found by what the screen
//! showed, compared with a reference scan of the same emulated text.

use std::time::Duration;

use serde_json::Value;
use termaudit_domain::{
    EnvironmentClass, Permission,
    asciicast::{
        DENSE_MARK, EventCode, Micros, Replay, ScreenQuery, Transcriber, is_dense, line_grams,
    },
};
use termaudit_tests::{
    TestApp,
    emulation::wait_until_emulated,
    json, problem,
    seed::{end_session, seed_session},
};
use uuid::Uuid;

use super::recordings::{FIXTURES, parse, path, put_chunk, read_fixture, upload};

const PROJECT: &str = "demo";

/// What a recording's screen showed, as the emulation extracts it: its
/// finished lines, then the screen at the end, each with its time.
pub(super) fn reference(cast: &str) -> Vec<(Micros, String)> {
    let (header, events) = parse(cast);
    let (cols, rows) = termaudit_storage::header_size(&header);
    let mut replay = Replay::new(cols, rows);
    let mut transcriber = Transcriber::new();
    for event in events.iter().filter(|e| matches!(e.code, EventCode::Output | EventCode::Resize)) {
        replay.transcribe(event, &mut transcriber);
    }
    let end = events.last().map_or(Micros::ZERO, |e| e.time);
    let mut lines: Vec<(Micros, String)> =
        transcriber.take_finished().into_iter().map(|l| (l.time, l.text)).collect();
    lines.extend(replay.screen_lines(&transcriber).into_iter().map(|line| (end, line)));
    lines
}

/// A cast of a build with a progress bar redrawn in place, then a
/// full-screen program that redraws its screen, colours throughout.
pub(super) fn busy_cast(word: &str) -> String {
    let mut events = vec![format!("$ make {word}\r\n")];
    for i in 0..=200 {
        events.push(format!("\r\x1b[K\x1b[32m[{:<20}]\x1b[0m {:>3}%", "#".repeat(i / 10), i / 2));
    }
    events.push("\r\nbuilt ünïcode 世界\r\n$ top\r\n".to_owned());
    events.push("\x1b[?1049h\x1b[H\x1b[2J".to_owned());
    for i in 0..30 {
        events.push(format!("\x1b[H\x1b[1mload {i}\x1b[0m\x1b[2;1H\x1b[Kpid {} {word}", 100 + i));
    }
    events.push("\x1b[?1049l$ exit\r\n".to_owned());
    let mut cast = String::from("{\"version\": 2, \"width\": 40, \"height\": 5}\n");
    for (i, data) in events.iter().enumerate() {
        let line = serde_json::to_string(&(i as f64 / 10.0, "o", data)).unwrap();
        cast.push_str(&line);
        cast.push('\n');
    }
    cast
}

pub(super) fn search_path(project: &str, query: &str) -> String {
    format!("/api/v1/projects/{project}/recordings/search?{query}")
}

pub(super) fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every page of a search, following the cursors.
async fn search_all(app: &TestApp, token: &str, query: &str, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = search_path(PROJECT, &format!("q={}&limit={limit}{cursor}", enc(query)));
        let page: Value = json(app.get(&url, token).await, 200).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return items,
        }
    }
}

pub(super) struct Fixture {
    pub(super) app: TestApp,
    pub(super) gateway: String,
    pub(super) reader: String,
    /// Each recorded session with its reference text, oldest first.
    pub(super) sessions: Vec<(Uuid, Vec<(Micros, String)>)>,
}

/// A server with the project, a gateway's token and a reader's (who may
/// download recordings).
async fn project_with_reader() -> (TestApp, String, String) {
    project_with_reader_on(TestApp::spawn().await).await
}

async fn project_with_reader_on(app: TestApp) -> (TestApp, String, String) {
    app.create_project(PROJECT).await;
    let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
    let reader = app.token(
        "rita",
        PROJECT,
        &[Permission::ViewRecording, Permission::ViewHistory, Permission::DownloadRecording],
    );
    (app, gateway, reader)
}

pub(super) async fn recorded(casts: &[String]) -> Fixture {
    recorded_on(TestApp::spawn().await, casts).await
}

/// [`recorded`] on a server of the caller's.
pub(super) async fn recorded_on(app: TestApp, casts: &[String]) -> Fixture {
    let (app, gateway, reader) = project_with_reader_on(app).await;
    let mut sessions = Vec::new();
    for (i, cast) in casts.iter().enumerate() {
        let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
        upload(&app, &gateway, session, cast, 2 + i % 4).await;
        end_session(&app, session).await;
        sessions.push((session, reference(cast)));
    }
    wait_until_emulated(&app.db, Duration::from_secs(120))
        .await
        .unwrap_or_else(|lag| panic!("not emulated in 2 minutes: {lag:?}"));
    Fixture { app, gateway, reader, sessions }
}

fn corpus() -> Vec<String> {
    let mut casts: Vec<String> = FIXTURES.iter().map(|name| read_fixture(name)).collect();
    casts.push(busy_cast("kernel"));
    casts.push(busy_cast("firmware"));
    casts.push(secret_cast(1));
    casts.push(secret_cast(2));
    casts
}

/// A cast of `kubectl get secret -o yaml` printing a key of random base64
/// (different for each `seed`), 76 characters a line, some lines with
/// words before or after the key: lines indexed as dense.
fn secret_cast(seed: u64) -> String {
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut key = |n: usize| -> String {
        (0..n).map(|_| char::from(BASE64[rng.below(BASE64.len())])).collect()
    };
    let mut events = vec!["$ kubectl get secret app-tls -o yaml\r\ndata:\r\n".to_owned()];
    events.push(format!("  tls.crt: {}\r\n  tls.key: |\r\n", key(48)));
    for i in 0..40 {
        match i % 10 {
            3 => events.push(format!("    {} # rotated ÜBER 世界\r\n", key(40))),
            _ => events.push(format!("    {}\r\n", key(76))),
        }
    }
    events.push("$ exit\r\n".to_owned());
    let mut cast = String::from("{\"version\": 2, \"width\": 100, \"height\": 6}\n");
    for (i, data) in events.iter().enumerate() {
        cast.push_str(&serde_json::to_string(&(i as f64 / 10.0, "o", data)).unwrap());
        cast.push('\n');
    }
    cast
}

/// A matching line as compared: time, text, positions.
type Line = (f64, String, Vec<usize>);
/// A hit as compared: session, matching lines, first lines.
type Hit = (String, u64, Vec<Line>);

/// A small deterministic generator for the random queries.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

#[tokio::test]
async fn hits_equal_a_reference_scan_of_the_emulated_text() {
    let f = recorded(&corpus()).await;
    // Each recording's text ended in one row of its chunks folded together
    // (V26) and the row of its last screen.
    let db = f.app.db.connect().await;
    for (session, _) in &f.sessions {
        let rows = text_rows(&db, *session).await;
        assert!(rows.len() <= 2 && rows.iter().filter(|r| r.1.is_some()).count() <= 1, "{rows:?}");
    }
    // The keys' rows are marked dense (their dense codes apart, V30); no
    // other row is, and no row's three-character codes are negative.
    for (i, (session, _)) in f.sessions.iter().enumerate() {
        let dense: Vec<(i32, Vec<i32>)> = text_column(&db, *session, "dense").await;
        let marked = dense.iter().any(|(_, codes)| codes.contains(&DENSE_MARK));
        assert_eq!(marked, i >= f.sessions.len() - 2, "session {i}");
        assert!(dense.iter().all(|(_, codes)| codes.iter().all(|&c| c < 0)));
        let grams: Vec<(i32, Vec<i32>)> = text_column(&db, *session, "grams").await;
        assert!(grams.iter().all(|(_, codes)| codes.iter().all(|&c| c >= 0)));
    }
    check_hits_against_the_reference(&f).await;
}

/// The same with the workers folding a recording's text every KiB of it,
/// while its chunks are still coming (`TERMAUDIT_SEARCH_TEXT_GROUP_KIB`).
#[tokio::test]
async fn hits_equal_the_reference_with_text_folded_every_kib() {
    let app = TestApp::spawn_with(Box::new(|s| s.text_group_bytes = 1024)).await;
    let f = recorded_on(app, &corpus()).await;
    let db = f.app.db.connect().await;
    for (session, _) in &f.sessions {
        // Rows follow each other: each group's chunks after the row before.
        let rows = text_rows(&db, *session).await;
        for pair in rows.windows(2) {
            assert!(pair[1].1.unwrap_or(pair[1].0) > pair[0].0, "{rows:?}");
        }
    }
    check_hits_against_the_reference(&f).await;
}

/// The sessions a search across recordings finds for `query`.
async fn sessions_found(f: &Fixture, query: &str) -> Vec<String> {
    let hits = search_all(&f.app, &f.reader, query, 5).await;
    hits.iter().map(|hit| hit["session"]["id"].as_str().unwrap().to_owned()).collect()
}

/// Rows stored before keys' lines were told apart (V30) hold every line's
/// three-character codes in `grams` and nothing in `dense`: what their
/// keys showed is still found, through `grams`.
#[tokio::test]
async fn keys_stored_before_v30_are_found_by_their_three_character_codes() {
    let f = recorded(&[secret_cast(3), busy_cast("other")]).await;
    let (session, lines) = &f.sessions[0];
    let id = session.to_string();
    let key = lines.iter().map(|(_, l)| l.trim()).find(|l| l.len() == 76).expect("a key's line");
    let queries = [key[5..8].to_owned(), key[20..27].to_owned(), key[40..52].to_uppercase()];
    for query in &queries {
        assert!(sessions_found(&f, query).await.contains(&id), "{query}");
    }
    let db = f.app.db.connect().await;
    let rewrite = |grams: Vec<i32>| {
        let db = &db;
        async move {
            db.execute(
                "UPDATE recording_text SET grams = $2, dense = '{}' WHERE session_id = $1",
                &[session, &grams],
            )
            .await
            .unwrap()
        }
    };
    let mut grams: Vec<i32> = lines.iter().flat_map(|(_, l)| line_grams(l)).collect();
    grams.sort_unstable();
    grams.dedup();
    assert!(rewrite(grams).await > 0);
    for query in &queries {
        assert!(sessions_found(&f, query).await.contains(&id), "{query} in rows as before V30");
    }
    // Without codes the rows are never read: the codes are what finds them.
    rewrite(Vec::new()).await;
    for query in &queries {
        assert!(!sessions_found(&f, query).await.contains(&id), "{query} without codes");
    }
}

/// A cast of `events` outputs of five lines each, about 250 bytes of text.
fn rollout_cast(word: &str, events: usize) -> String {
    let mut cast = String::from("{\"version\": 2, \"width\": 80, \"height\": 5}\n");
    for i in 0..events {
        let data: String =
            (0..5).map(|k| format!("step {i}.{k} of the {word} rollout: ok\r\n")).collect();
        cast.push_str(&serde_json::to_string(&(i as f64, "o", data)).unwrap());
        cast.push('\n');
    }
    cast
}

/// A recording's transcript as the storage reads it, and as compared with
/// [`reference`].
fn as_reference(lines: &[termaudit_storage::TranscriptLine]) -> Vec<(Micros, String)> {
    lines.iter().map(|l| (l.time, l.line.clone())).collect()
}

/// While a live recording's chunks come, its worker folds its rows of
/// text once they hold `TERMAUDIT_SEARCH_TEXT_GROUP_KIB` (here 1): the
/// search and the transcript read the same text as before.
#[tokio::test]
async fn a_live_recordings_text_is_folded_as_it_grows() {
    let app = TestApp::spawn_with(Box::new(|s| s.text_group_bytes = 1024)).await;
    let (app, gateway, reader) = project_with_reader_on(app).await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let cast = rollout_cast("canary", 40);
    // A chunk at a time, each emulated before the next comes: a batch each.
    let bodies = two_event_chunks(&cast);
    assert_eq!(bodies.len(), 20);
    put_chunks(&app, &gateway, session, &bodies, 0, true).await;
    let db = app.db.connect().await;
    let rows = text_rows(&db, session).await;
    let groups = rows.iter().filter(|r| r.1.is_some()).count();
    // 20 chunks of ~500 bytes of text each, folded every KiB or so.
    assert!(groups >= 5 && rows.len() < 15, "{rows:?}");
    assert_eq!(rows.last().map(|r| r.0), Some(i32::MAX), "the live screen: {rows:?}");
    let transcript = termaudit_tests::emulation::transcript(&app.store, session).await;
    assert_eq!(as_reference(&transcript), reference(&cast));
    // Ranks restart with each chunk, groups or not.
    assert!(transcript.windows(2).all(|w| {
        if w[0].seq == w[1].seq { w[1].n == w[0].n + 1 } else { w[1].n == 0 && w[1].seq > w[0].seq }
    }));
    let url = search_path(PROJECT, "q=step%2017.3%20of");
    let page: Value = json(app.get(&url, &reader).await, 200).await;
    assert_eq!(page["items"][0]["matches"][0]["line"], "step 17.3 of the canary rollout: ok");
    assert_eq!(page["items"][0]["matching_lines"], 1, "{page}");
    let url = search_path(PROJECT, "q=canary%20rollout");
    let page: Value = json(app.get(&url, &reader).await, 200).await;
    assert_eq!(page["items"][0]["matching_lines"], 100, "{page}");
    assert_eq!(page["items"][0]["matches"][4]["line"], "step 0.4 of the canary rollout: ok");
}

/// A recording whose rows of one chunk's text hold more than a fold reads
/// at once (twice `TERMAUDIT_SEARCH_TEXT_GROUP_KIB` as stored; here a
/// replica that kept them a row each died, and one that folds every KiB
/// takes the recording over as the rest of its chunks come) is folded in
/// several rows, each of whole chunks, in order.
#[tokio::test]
async fn text_beyond_what_a_fold_reads_is_folded_in_pieces() {
    let lease = Duration::from_secs(2);
    let keeps = TestApp::spawn_with(Box::new(move |s| {
        s.text_group_bytes = 64 << 20;
        s.emulation_lease = lease;
    }))
    .await;
    let (keeps, gateway, reader) = project_with_reader_on(keeps).await;
    let session = seed_session(&keeps, PROJECT, EnvironmentClass::Production, true).await;
    let cast = rollout_cast("amber", 200);
    let bodies = two_event_chunks(&cast);
    put_chunks(&keeps, &gateway, session, &bodies[..60], 0, false).await;
    wait_until_emulated(&keeps.db, Duration::from_secs(60)).await.unwrap();
    keeps.crash().await;
    let emulates = keeps
        .spawn_replica_with(
            Box::new(move |s| {
                s.text_group_bytes = 1024;
                s.emulation_lease = lease;
            }),
            Vec::new(),
        )
        .await;
    let db = emulates.db.connect().await;
    assert!(text_rows(&db, session).await.iter().all(|r| r.1.is_none()), "a row per chunk");
    // The rest at once, likely before the new replica's worker starts (the
    // dead one's lease lasts 2 s): a batch that writes rows of several
    // chunks, after folding the rows of one chunk before it.
    put_chunks(&emulates, &gateway, session, &bodies[..90], 60, false).await;
    // Then a chunk at a time again: rows of one chunk after those of
    // several, folded without reaching back across them.
    put_chunks(&emulates, &gateway, session, &bodies, 90, true).await;
    end_session(&emulates, session).await;
    wait_until_emulated(&emulates.db, Duration::from_secs(60)).await.unwrap();
    let rows = text_rows(&db, session).await;
    let stored: Vec<(i32, Vec<u8>)> = text_column(&db, session, "body").await;
    assert!(rows.iter().filter(|r| r.1.is_some()).count() >= 3, "{rows:?}");
    // Left of one chunk: the last screen's row, and a piece's lone last row.
    assert!(rows.iter().filter(|r| r.1.is_none()).count() <= 2, "{rows:?}");
    for pair in rows.windows(2) {
        assert!(pair[1].1.unwrap_or(pair[1].0) > pair[0].0, "{rows:?}");
    }
    // Each fold read about 2 KiB of bodies (one more row may cross it).
    assert!(stored.iter().all(|(_, body)| body.len() < 8192), "{rows:?}");
    let transcript = termaudit_tests::emulation::transcript(&emulates.store, session).await;
    assert_eq!(as_reference(&transcript), reference(&cast));
    let url = search_path(PROJECT, "q=step%20170.2%20of");
    let page: Value = json(emulates.get(&url, &reader).await, 200).await;
    assert_eq!(page["items"][0]["matches"][0]["line"], "step 170.2 of the amber rollout: ok");
}

/// `cast` as chunks of two events each (chunk 0 starts with the header).
fn two_event_chunks(cast: &str) -> Vec<String> {
    let lines: Vec<&str> = cast.lines().collect();
    lines[1..]
        .chunks(2)
        .enumerate()
        .map(|(i, c)| {
            let header = if i == 0 { format!("{}\n", lines[0]) } else { String::new() };
            header + &c.join("\n") + "\n"
        })
        .collect()
}

/// Stores `bodies` as chunks `from ..` of `session`, waiting after each
/// for the emulation to catch up when `one_by_one`.
async fn put_chunks(
    app: &TestApp,
    gateway: &str,
    session: Uuid,
    bodies: &[String],
    from: usize,
    one_by_one: bool,
) {
    for (seq, body) in bodies.iter().enumerate().skip(from) {
        let seq = u32::try_from(seq).unwrap();
        let response = put_chunk(app, gateway, session, seq, body.clone()).await;
        assert_eq!(response.status(), 201);
        if one_by_one {
            wait_until_emulated(&app.db, Duration::from_secs(60)).await.unwrap();
        }
    }
}

/// A fold never reaches back across a row of several chunks (rows are
/// read in their last chunk's order): rows of one chunk left before one,
/// by a worker that died say, stay as they are.
#[tokio::test]
async fn a_fold_never_reaches_across_a_row_of_several_chunks() {
    let (app, gateway, _) = project_with_reader().await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&app, &gateway, session, &rollout_cast("teal", 40), 2).await;
    wait_until_emulated(&app.db, Duration::from_secs(60)).await.unwrap();
    let db = app.db.connect().await;
    let rows = text_rows(&db, session).await;
    assert!(rows.len() > 10 && rows.iter().all(|r| r.1.is_none()), "{rows:?}");
    let middle = rows[rows.len() / 2].0;
    db.execute(
        "UPDATE recording_text SET first_seq = seq WHERE session_id = $1 AND seq = $2",
        &[&session, &middle],
    )
    .await
    .unwrap();
    let after: Vec<i32> =
        rows.iter().map(|r| r.0).filter(|&seq| seq > middle && seq < i32::MAX).collect();
    let to_fold =
        app.store.recording_text_to_fold(session, -1, i32::MAX - 1, i64::MAX).await.unwrap();
    assert_eq!(
        (to_fold.len(), to_fold.last_seq(), to_fold.more()),
        (after.len(), after.last().copied(), false)
    );
    let before = app.store.recording_text_to_fold(session, -1, middle, i64::MAX).await.unwrap();
    assert!(before.is_empty());
    // Read by size: the first row always, then those that start within it.
    let one = app.store.recording_text_to_fold(session, middle, i32::MAX - 1, 1).await.unwrap();
    assert_eq!((one.len(), one.last_seq(), one.more()), (1, after.first().copied(), true));
}

/// A transcript read a few rows at a time while the recording's rows are
/// folded between two reads has every line once.
#[tokio::test]
async fn a_transcript_read_across_a_fold_has_every_line_once() {
    let (app, gateway, reader) = project_with_reader().await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let cast = rollout_cast("blue", 40);
    upload(&app, &gateway, session, &cast, 2).await;
    wait_until_emulated(&app.db, Duration::from_secs(60)).await.unwrap();
    let db = app.db.connect().await;
    assert!(text_rows(&db, session).await.iter().all(|r| r.1.is_none()), "not folded yet");
    let (mut lines, after) = app.store.recording_transcript_chunks(session, None).await.unwrap();
    let mut after = after.expect("more rows than a read");
    // The end folds every row but the last screen's into one.
    end_session(&app, session).await;
    wait_until_emulated(&app.db, Duration::from_secs(60)).await.unwrap();
    let rows = text_rows(&db, session).await;
    assert!(rows.len() == 2 && rows[0].1.is_some_and(|first| first < after), "{rows:?}");
    loop {
        let (round, next) =
            app.store.recording_transcript_chunks(session, Some(after)).await.unwrap();
        lines.extend(round);
        match next {
            Some(seq) => after = seq,
            None => break,
        }
    }
    assert_eq!(as_reference(&lines), reference(&cast));
    let url = path(session, "/transcript");
    let text = app.get(&url, &reader).await.text().await.unwrap();
    let expected: String = reference(&cast).iter().map(|(_, line)| format!("{line}\n")).collect();
    assert_eq!(text, expected);
}

/// A recording's rows of text: last chunk and, for a group, its first.
async fn text_rows(db: &tokio_postgres::Client, session: Uuid) -> Vec<(i32, Option<i32>)> {
    text_column(db, session, "first_seq").await
}

/// A recording's rows of text, in order: each one's (last) chunk and
/// `column`.
pub(super) async fn text_column<T: tokio_postgres::types::FromSqlOwned>(
    db: &tokio_postgres::Client,
    session: Uuid,
    column: &str,
) -> Vec<(i32, T)> {
    let sql =
        format!("SELECT seq, {column} FROM recording_text WHERE session_id = $1 ORDER BY seq");
    db.query(&sql, &[&session]).await.unwrap().iter().map(|row| (row.get(0), row.get(1))).collect()
}

async fn check_hits_against_the_reference(f: &Fixture) {
    // A progress bar redrawn 200 times is one line; the full-screen
    // program's last screen is there, its earlier redraws are not.
    let busy = &f.sessions[FIXTURES.len()].1;
    assert_eq!(busy.iter().filter(|(_, l)| l.contains('%')).count(), 1, "{busy:?}");
    assert!(busy.iter().any(|(_, l)| l == "[####################] 100%"), "{busy:?}");
    assert!(busy.iter().any(|(_, l)| l == "pid 129 kernel"), "{busy:?}");
    assert!(!busy.iter().any(|(_, l)| l.contains("pid 128")), "{busy:?}");

    let mut rng = Rng(0x5eed_1234_abcd);
    let mut queries = vec![
        "permission denied".to_owned(),
        "WARNING!".to_owned(),
        "こんにちは".to_owned(),
        "ÜNÏCODE 世界".to_owned(),
        "kernel".to_owned(),
        "%_\\".to_owned(),
    ];
    // Within the keys (lines indexed as dense), three to twelve characters
    // (under five, every row showing a key is read), across a key's edges,
    // upper-cased.
    let (_, secret) = &f.sessions[f.sessions.len() - 1];
    let line = |needle: &str| {
        let (_, line) = secret.iter().find(|(_, l)| l.contains(needle)).expect(needle);
        assert!(is_dense(line), "{line}");
        line.trim()
    };
    let key: Vec<char> = secret
        .iter()
        .map(|(_, l)| l.trim())
        .find(|l| l.len() == 76)
        .map_or_else(|| panic!("no line of a key in {secret:?}"), |l| l.chars().collect());
    for (start, len) in [(0, 3), (10, 4), (20, 5), (30, 7), (60, 12), (70, 6)] {
        queries.push(key[start..start + len].iter().collect());
    }
    queries.push(key[40..50].iter().collect::<String>().to_uppercase());
    queries.push(line("tls.crt")[..16].to_owned());
    queries.push(line("# rotated")[34..].to_owned());
    while queries.len() < 40 {
        let (_, lines) = &f.sessions[rng.below(f.sessions.len())];
        let (_, line) = &lines[rng.below(lines.len())];
        let chars: Vec<char> = line.chars().collect();
        if chars.len() < 3 {
            continue;
        }
        let len = 3 + rng.below(10.min(chars.len() - 2));
        let start = rng.below(chars.len() - len + 1);
        let mut query: String = chars[start..start + len].iter().collect();
        if rng.below(2) == 0 {
            query = query.to_uppercase();
        }
        if ScreenQuery::parse(&query, 3).is_ok() && !query.starts_with('"') {
            queries.push(query);
        }
    }
    for query in queries {
        let q = ScreenQuery::parse(&query, 3).unwrap();
        // The reference: sessions newest first, their matching lines.
        let mut expected = Vec::new();
        for (session, lines) in f.sessions.iter().rev() {
            let matching: Vec<&(Micros, String)> =
                lines.iter().filter(|(_, line)| !q.positions(line).is_empty()).collect();
            if !matching.is_empty() {
                let first: Vec<Line> = matching
                    .iter()
                    .take(5)
                    .map(|(t, line)| (t.as_seconds(), line.clone(), q.positions(line)))
                    .collect();
                // Counted up to 100.
                expected.push((session.to_string(), (matching.len() as u64).min(100), first));
            }
        }
        let hits = search_all(&f.app, &f.reader, &query, 2).await;
        let found: Vec<Hit> = hits
            .iter()
            .map(|hit| {
                let matches = hit["matches"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| {
                        let positions = m["positions"].as_array().unwrap();
                        (
                            m["time"].as_f64().unwrap(),
                            m["line"].as_str().unwrap().to_owned(),
                            positions.iter().map(|p| p.as_u64().unwrap() as usize).collect(),
                        )
                    })
                    .collect();
                (
                    hit["session"]["id"].as_str().unwrap().to_owned(),
                    hit["matching_lines"].as_u64().unwrap(),
                    matches,
                )
            })
            .collect();
        assert_eq!(found, expected, "query {query:?}");

        // The search inside one recording reads the same text.
        if let Some((session, count, first)) = expected.first() {
            let url = format!("{}?q={}", path(session.parse().unwrap(), "/search"), enc(&query));
            let body: Value = json(f.app.get(&url, &f.reader).await, 200).await;
            let matches = body["matches"].as_array().unwrap();
            assert_eq!(matches.len() as u64, (*count).min(100), "{query:?}: {body}");
            assert_eq!(matches[0]["context"], first[0].1.as_str(), "{body}");
            assert_eq!(matches[0]["time"].as_f64().unwrap(), first[0].0, "{body}");
        }
    }
}

#[tokio::test]
async fn transcripts_are_the_text_need_their_permission_and_are_audited() {
    let f = recorded(&[read_fixture("colours.cast"), busy_cast("transcript")]).await;
    for (session, lines) in &f.sessions {
        let response = f.app.get(&path(*session, "/transcript"), &f.reader).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
        assert!(
            response.headers()["content-disposition"].to_str().unwrap().ends_with(".txt\""),
            "{:?}",
            response.headers()
        );
        let expected: String = lines.iter().map(|(_, line)| format!("{line}\n")).collect();
        assert_eq!(response.text().await.unwrap(), expected);

        let response = f.app.get(&path(*session, "/transcript?timestamps=true"), &f.reader).await;
        let text = response.text().await.unwrap();
        let expected: String = lines
            .iter()
            .map(|(time, line)| {
                let ms = time.0 / 1000;
                format!(
                    "[{:02}:{:02}:{:02}.{:03}] {line}\n",
                    ms / 3_600_000,
                    ms / 60_000 % 60,
                    ms / 1000 % 60,
                    ms % 1000
                )
            })
            .collect();
        assert_eq!(text, expected);
    }
    let (session, _) = f.sessions[0];
    let audited: i64 = f
        .app
        .db
        .connect()
        .await
        .query_one(
            "SELECT count(*) FROM audit_events WHERE event_type = 'recording.downloaded'
               AND session_id = $1 AND details->>'format' = 'transcript'",
            &[&session],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 2);

    // Viewing is not downloading; another project's session is not found.
    let viewer = f.app.token("vera", PROJECT, &[Permission::ViewRecording]);
    problem(f.app.get(&path(session, "/transcript"), &viewer).await, 403, "forbidden").await;
    f.app.create_project("other").await;
    let outsider = f.app.token("olga", "other", &[Permission::DownloadRecording]);
    let other = format!("/api/v1/projects/other/sessions/{session}/recording/transcript");
    problem(f.app.get(&other, &outsider).await, 404, "not-found").await;
    let bad = f.app.get(&path(session, "/transcript?timestamps=maybe"), &f.reader).await;
    problem(bad, 400, "invalid-input").await;
}

#[tokio::test]
async fn filters_paging_permissions_and_projects() {
    let casts: Vec<String> = (0..5).map(|_| busy_cast("needle")).collect();
    let f = recorded(&casts).await;
    let ids: Vec<String> = f.sessions.iter().rev().map(|(id, _)| id.to_string()).collect();
    let db = f.app.db.connect().await;
    db.execute("UPDATE sessions SET user_subject = 'bob' WHERE id = $1", &[&f.sessions[1].0])
        .await
        .unwrap();
    db.execute(
        "UPDATE sessions SET environment_class = 'non_production' WHERE id = $1",
        &[&f.sessions[2].0],
    )
    .await
    .unwrap();

    // Paging one session at a time walks them all, newest first, once.
    let ids_of = |hits: Vec<Value>| -> Vec<String> {
        hits.iter().map(|h| h["session"]["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids_of(search_all(&f.app, &f.reader, "NEEDLE", 1).await), ids);
    assert_eq!(ids_of(search_all(&f.app, &f.reader, "needle", 100).await), ids);
    let only = |query: &str| search_path(PROJECT, &format!("q=needle&{query}"));
    let page: Value = json(f.app.get(&only("user=bob"), &f.reader).await, 200).await;
    assert_eq!(ids_of(page["items"].as_array().unwrap().clone()), [f.sessions[1].0.to_string()]);
    let page: Value =
        json(f.app.get(&only("environment_class=non_production"), &f.reader).await, 200).await;
    assert_eq!(ids_of(page["items"].as_array().unwrap().clone()), [f.sessions[2].0.to_string()]);
    let page: Value = json(f.app.get(&only("status=active"), &f.reader).await, 200).await;
    assert_eq!(page["items"], serde_json::json!([]));
    let page: Value =
        json(f.app.get(&only("opened_from=2100-01-01T00:00:00Z"), &f.reader).await, 200).await;
    assert_eq!(page["items"], serde_json::json!([]));
    let hit = &json::<Value>(f.app.get(&only("limit=1"), &f.reader).await, 200).await["items"][0];
    assert_eq!(hit["matching_lines"], 2, "{hit}");
    // In the order the lines left the screen: the full-screen program's
    // last screen before the shell's lines scrolled off.
    assert_eq!(hit["matches"][0]["line"], "pid 129 needle");
    assert_eq!(hit["matches"][0]["positions"], serde_json::json!([8]));
    assert_eq!(hit["matches"][1]["line"], "$ make needle");
    assert_eq!(hit["matches"][1]["positions"], serde_json::json!([7]));

    // Both permissions are needed.
    for permissions in [&[Permission::ViewRecording][..], &[Permission::ViewHistory][..]] {
        let token = f.app.token("half", PROJECT, permissions);
        problem(f.app.get(&only(""), &token).await, 403, "forbidden").await;
    }
    // Another project sees none of them, and cannot look into this one.
    f.app.create_project("other").await;
    let outsider =
        f.app.token("olga", "other", &[Permission::ViewRecording, Permission::ViewHistory]);
    let page: Value =
        json(f.app.get(&search_path("other", "q=needle"), &outsider).await, 200).await;
    assert_eq!(page["items"], serde_json::json!([]));
    problem(f.app.get(&only(""), &outsider).await, 404, "not-found").await;

    // Bad input is a 400 problem.
    for query in [
        String::new(),
        "q=".to_owned(),
        "q=ab".to_owned(),
        "q=%20%20%20%20".to_owned(),
        "q=ab%00cd".to_owned(),
        format!("q={}", "x".repeat(201)),
        "q=needle&cursor=not-a-cursor".to_owned(),
        "q=needle&limit=0".to_owned(),
        "q=needle&limit=101".to_owned(),
        "q=needle&status=sleeping".to_owned(),
    ] {
        let response = f.app.get(&search_path(PROJECT, &query), &f.reader).await;
        problem(response, 400, "invalid-input").await;
    }
}

#[tokio::test]
async fn a_live_session_is_found_and_purge_removes_its_hits() {
    let f = recorded(&[]).await;
    let session = seed_session(&f.app, PROJECT, EnvironmentClass::Production, true).await;
    let cast = "{\"version\": 2, \"width\": 40, \"height\": 10}\n\
                [0.5, \"o\", \"$ cat /srv/secret\\r\\nopen: \\u001b[31mpermission denied\\u001b[0m\\r\\n$ \"]\n";
    upload(&f.app, &f.gateway, session, cast, 10).await;
    // Still recording: its screen is searchable within seconds.
    let url = search_path(PROJECT, "q=Permission%20Denied");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let hits = loop {
        let page: Value = json(f.app.get(&url, &f.reader).await, 200).await;
        if !page["items"].as_array().unwrap().is_empty() {
            break page["items"].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "not found in a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(hits[0]["session"]["id"], session.to_string());
    assert_eq!(hits[0]["session"]["status"], "active");
    assert_eq!(hits[0]["matches"][0]["line"], "open: permission denied");
    assert_eq!(hits[0]["matches"][0]["positions"], serde_json::json!([6]));

    end_session(&f.app, session).await;
    wait_until_emulated(&f.app.db, Duration::from_secs(60)).await.unwrap();
    let page: Value = json(f.app.get(&url, &f.reader).await, 200).await;
    assert_eq!(page["items"][0]["matches"][0]["line"], "open: permission denied");

    let db = f.app.db.connect().await;
    assert!(
        termaudit_storage::purge_recording(&db, session, chrono::Utc::now(), "test").await.unwrap()
    );
    let page: Value = json(f.app.get(&url, &f.reader).await, 200).await;
    assert_eq!(page["items"], serde_json::json!([]));
    let left: i64 = db
        .query_one("SELECT count(*) FROM recording_text WHERE session_id = $1", &[&session])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// A recording of many chunks, its transcript many pages: the evidence
/// bundle's `transcript.txt` is the transcript download's text, line for
/// line, and its `recording.cast` the download's bytes (both sent as
/// pieces the archive does not copy).
#[tokio::test]
async fn an_evidence_bundle_of_a_long_recording_holds_its_whole_transcript() {
    let (app, gateway, reader) = project_with_reader().await;
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    // 9 chunks of about 1 MiB, lines of 1000 characters on a terminal 200 wide.
    let mut cast = String::from("{\"version\": 2, \"width\": 200, \"height\": 24}\n");
    let events: u32 = 9 * 1000;
    for i in 0..events {
        let text = format!("{i:06} {}\r\n", "abcdefghij".repeat(99));
        cast.push_str(&serde_json::to_string(&(f64::from(i) / 100.0, "o", text)).unwrap());
        cast.push('\n');
    }
    upload(&app, &gateway, session, &cast, 1000).await;
    end_session(&app, session).await;
    wait_until_emulated(&app.db, Duration::from_secs(300))
        .await
        .unwrap_or_else(|lag| panic!("not emulated in 5 minutes: {lag:?}"));

    let transcript = app.get(&path(session, "/transcript"), &reader).await;
    assert_eq!(transcript.status(), 200);
    let transcript = transcript.text().await.unwrap();
    // Lines that wrap are one line of text: about 9000, nine pages of it.
    let lines = transcript.lines().count();
    assert!(lines > 8 * 1000, "{lines} lines");
    assert!(transcript.contains("008999 abcdefghij"), "the last line is there");
    // Read by rounds of whole chunks, it is the text line by line.
    let stored = termaudit_tests::emulation::transcript(&app.store, session).await;
    let stored: String = stored.iter().map(|l| format!("{}\n", l.line)).collect();
    assert!(transcript == stored, "the download holds every stored line, in order");
    let cast = app.get(&path(session, "/download"), &reader).await.bytes().await.unwrap();

    // As a client does: 503 (with Retry-After) while the audit log's
    // sequencer has not appended the project's first entries, which a
    // long transaction anywhere on the server holds back (another test's,
    // here: it reads behind the oldest one running).
    let evidence = path(session, "").replace("/recording", "/evidence");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let response = loop {
        let response = app.get(&evidence, &reader).await;
        if response.status() != 503 || tokio::time::Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(response.status(), 200);
    let bundle = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bundle)).unwrap();
    // Reading an entry to its end checks its CRC-32 and size.
    let mut read = |name: &str| {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut archive.by_name(&format!("termaudit-evidence-{session}/{name}")).unwrap(),
            &mut bytes,
        )
        .unwrap();
        bytes
    };
    assert!(read("transcript.txt") == transcript.as_bytes(), "the transcript, whole and in order");
    assert!(read("recording.cast") == cast, "the recording, whole");
}
