//! Text for recordings emulated before termaudit kept text (V17): the
//! migration queues them, the workers extract their text from their stored
//! chunks without touching their snapshots, and meanwhile the API says the
//! text is pending instead of finding nothing.

use std::time::Duration;

use serde_json::{Value, json as value};
use termaudit_domain::{
    EnvironmentClass,
    asciicast::{fold_case, line_codes},
};
use termaudit_storage::TranscriptLine;
use termaudit_tests::{emulation::wait_until_emulated, json, problem, seed::seed_session};
use uuid::Uuid;

use super::{
    emulation::gauge,
    recording_search::{busy_cast, recorded, search_path, text_column},
    recordings::{path, upload},
};

const PROJECT: &str = "demo";

/// The migration, run again as an upgrade runs it (it is written to run
/// again harmlessly).
const V17: &str = include_str!("../../../migrations/V17__recording_text_backfill.sql");
/// V22, which moves the lines stored a row each (V14) to a row per chunk.
const V22: &str = include_str!("../../../migrations/V22__recording_text_chunks.sql");
/// V26, which lets a row hold several chunks' lines (run after V22 as an
/// upgrade from V21 runs it).
const V26: &str = include_str!("../../../migrations/V26__recording_text_groups.sql");
/// V30, which keeps the codes of dense lines in a column of their own.
const V30: &str = include_str!("../../../migrations/V30__recording_text_dense.sql");

/// A recording five minutes long, so its emulation keeps snapshots (at
/// most a minute apart): 60 lines `{word} step {i} ok`.
fn long_cast(word: &str) -> String {
    let mut cast = String::from("{\"version\": 2, \"width\": 60, \"height\": 8}\n");
    for i in 0..60 {
        let data = format!("{word} step {i} \u{1b}[1mok\u{1b}[0m\r\n");
        cast.push_str(&serde_json::to_string(&(f64::from(i) * 5.0, "o", data)).unwrap());
        cast.push('\n');
    }
    cast
}

/// A recording's rows of `table`, whole, in their key's order.
async fn rows(db: &tokio_postgres::Client, table: &str, session: Uuid) -> Vec<String> {
    let order = if table == "recording_snapshots" { "after_seq" } else { "seq" };
    let sql = format!(
        "SELECT to_jsonb(r)::text FROM {table} AS r WHERE session_id = $1 ORDER BY {order}"
    );
    db.query(&sql, &[&session]).await.unwrap().iter().map(|row| row.get(0)).collect()
}

#[tokio::test]
async fn recordings_emulated_before_text_get_it_and_keep_their_snapshots() {
    let f = recorded(&[long_cast("alpha"), busy_cast("beta"), busy_cast("gamma")]).await;
    let (old, kept, purged) = (f.sessions[0].0, f.sessions[1].0, f.sessions[2].0);
    // A live recording, emulated as far as it goes.
    let live = seed_session(&f.app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&f.app, &f.gateway, live, &long_cast("delta"), 10).await;
    wait_until_emulated(&f.app.db, Duration::from_secs(120)).await.unwrap();
    let db = f.app.db.connect().await;
    assert!(
        termaudit_storage::purge_recording(&db, purged, chrono::Utc::now(), "test").await.unwrap()
    );
    let mut before = Vec::new();
    for session in [old, live] {
        let snapshots = rows(&db, "recording_snapshots", session).await;
        let text = rows(&db, "recording_text", session).await;
        assert!(snapshots.len() >= 2, "five minutes: snapshots {snapshots:?}");
        assert!(transcript(&f.app.store, session).await.len() >= 60, "{text:?}");
        before.push((snapshots, text));
    }

    // As an installation emulated them before V14: no text. Queued as V17
    // queues them, twice (the second run changes nothing), and held by
    // another replica for now, so the wait can be seen.
    let elsewhere = Uuid::new_v4();
    db.batch_execute(&format!(
        "BEGIN;
         DELETE FROM recording_text WHERE session_id IN ('{old}', '{live}');
         {V17};
         {V17};
         UPDATE recording_emulation
         SET holder = '{elsewhere}', lease_until = now() + interval '1 hour'
         WHERE next_seq < backfill_until;
         COMMIT;"
    ))
    .await
    .unwrap();
    // Queued: the finalized recording without text (it had no emulation row
    // any more) and the live one (rewound); not the one with text, nor the
    // purged one.
    let queued: Vec<(Uuid, i32, i32, i32)> = db
        .query(
            "SELECT e.session_id, e.next_seq, e.backfill_until, r.next_seq
             FROM recording_emulation e JOIN recordings r USING (session_id)
             ORDER BY e.session_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    let mut expected = vec![old, live];
    expected.sort();
    assert_eq!(queued.iter().map(|q| q.0).collect::<Vec<_>>(), expected, "{queued:?}");
    for (_, next_seq, backfill_until, chunks) in &queued {
        assert_eq!((*next_seq, *backfill_until), (0, *chunks), "{queued:?}");
        assert!(*chunks >= 6, "{queued:?}");
    }

    // The lag counts the chunks replayed for their text, but not their age:
    // none of them is waiting since its ingest.
    let chunks: i32 = queued.iter().map(|q| q.3).sum();
    assert_eq!(gauge(&f.app, "termaudit_emulation_lag_chunks").await, f64::from(chunks));
    assert_eq!(gauge(&f.app, "termaudit_emulation_lag_seconds").await, 0.0);

    // Meanwhile: no silent empty answer for them.
    for session in [old, live] {
        for rest in ["/search?q=step", "/transcript"] {
            let response = f.app.get(&path(session, rest), &f.reader).await;
            assert_eq!(response.headers()["retry-after"], "5", "{rest}");
            problem(response, 503, "text-pending").await;
        }
    }
    let page: Value = json(f.app.get(&search_path(PROJECT, "q=step"), &f.reader).await, 200).await;
    assert_eq!(page["items"], value!([]), "{page}");
    assert_eq!(page["pending_recordings"], 2, "{page}");
    // The others answer as usual.
    let found: Value = json(f.app.get(&path(kept, "/search?q=beta"), &f.reader).await, 200).await;
    assert!(!found["matches"].as_array().unwrap().is_empty(), "{found}");

    // The other replica lets go: this one's workers extract the text.
    db.execute(
        "UPDATE recording_emulation SET holder = NULL, lease_until = NULL WHERE holder = $1",
        &[&elsewhere],
    )
    .await
    .unwrap();
    wait_until_emulated(&f.app.db, Duration::from_secs(120)).await.unwrap();

    // The same text as the first emulation extracted, the snapshots untouched.
    for (session, (snapshots, text)) in [old, live].into_iter().zip(&before) {
        assert_eq!(&rows(&db, "recording_snapshots", session).await, snapshots);
        assert_eq!(&rows(&db, "recording_text", session).await, text);
        let found: Value =
            json(f.app.get(&path(session, "/search?q=step%2042"), &f.reader).await, 200).await;
        assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");
        assert!(found["matches"][0]["context"].as_str().unwrap().ends_with("step 42 ok"));
    }
    let transcript = f.app.get(&path(old, "/transcript"), &f.reader).await;
    assert_eq!(transcript.status(), 200);
    let expected: String = f.sessions[0].1.iter().map(|(_, line)| format!("{line}\n")).collect();
    assert_eq!(transcript.text().await.unwrap(), expected);
    assert!(expected.contains("alpha step 59 ok\n"), "{expected}");
    let page: Value = json(f.app.get(&search_path(PROJECT, "q=step"), &f.reader).await, 200).await;
    let mut found: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["session"]["id"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    assert_eq!(found, expected_ids(old, live), "{page}");
    assert_eq!(page["pending_recordings"], 0, "{page}");
    // Nothing left to do: the finalized recording's emulation row went.
    let left: i64 = db
        .query_one("SELECT count(*) FROM recording_emulation WHERE session_id = $1", &[&old])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// A recording's rows' window codes, in order.
async fn grams(db: &tokio_postgres::Client, session: Uuid) -> Vec<(i32, Vec<i32>)> {
    text_column(db, session, "grams").await
}

/// The three-character codes of each chunk's lines (`grams`; dense
/// lines' codes go to `dense`, V30), in order, as a worker computes them
/// for a row of one chunk.
fn chunk_grams(lines: &[TranscriptLine]) -> Vec<(i32, Vec<i32>)> {
    lines
        .chunk_by(|a, b| a.seq == b.seq)
        .map(|chunk| {
            let mut codes: Vec<i32> = Vec::new();
            for line in chunk {
                line_codes(&line.line, |code| codes.extend((code >= 0).then_some(code)));
            }
            codes.sort_unstable();
            codes.dedup();
            (chunk[0].seq, codes)
        })
        .collect()
}

/// A recording's whole text, as the storage reads it.
async fn transcript(store: &termaudit_storage::Store, session: Uuid) -> Vec<TranscriptLine> {
    termaudit_tests::emulation::transcript(store, session).await
}

#[tokio::test]
async fn lines_stored_a_row_each_move_to_a_row_per_chunk() {
    let f = recorded(&[long_cast("alpha"), busy_cast("beta")]).await;
    // A live recording, its current screen included.
    let live = seed_session(&f.app, PROJECT, EnvironmentClass::Production, true).await;
    upload(&f.app, &f.gateway, live, &busy_cast("delta"), 3).await;
    wait_until_emulated(&f.app.db, Duration::from_secs(120)).await.unwrap();
    let db = f.app.db.connect().await;
    let sessions = [f.sessions[0].0, f.sessions[1].0, live];
    let mut before = Vec::new();
    for session in sessions {
        let lines = transcript(&f.app.store, session).await;
        let codes = chunk_grams(&lines);
        assert!(!lines.is_empty() && codes.iter().any(|c| c.1.len() > 20), "{codes:?}");
        before.push((lines, codes));
    }
    assert_eq!(before[2].1.last().map(|c| c.0), Some(i32::MAX), "the live screen");

    // As an installation at V21 stored them: a row per line (the folded
    // copy where folding changes it) and a row of codes per chunk.
    let (mut session, mut seq, mut n, mut time, mut line, mut folded) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut code_session, mut code_seq, mut code_grams) = (vec![], vec![], vec![]);
    for (id, (lines, codes)) in sessions.iter().zip(&before) {
        for (chunk, grams) in codes {
            code_session.push(*id);
            code_seq.push(*chunk);
            code_grams.push(format!("{grams:?}").replace('[', "{").replace(']', "}"));
        }
        for l in lines {
            session.push(*id);
            seq.push(l.seq);
            n.push(l.n);
            time.push(i64::try_from(l.time.0).unwrap());
            let fold = fold_case(&l.line);
            folded.push((fold != l.line).then_some(fold));
            line.push(l.line.clone());
        }
    }
    db.batch_execute(
        "BEGIN;
         CREATE TABLE v21_grams (session_id uuid NOT NULL, project_id uuid NOT NULL,
             seq integer NOT NULL, grams integer[] NOT NULL);
         CREATE TABLE v21_lines (session_id uuid NOT NULL, project_id uuid NOT NULL,
             seq integer NOT NULL, n integer NOT NULL, time_us bigint NOT NULL,
             line text NOT NULL, folded text, PRIMARY KEY (session_id, seq, n));",
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO v21_lines
         SELECT l.session_id, s.project_id, l.seq, l.n, l.time_us, l.line, l.folded
         FROM unnest($1::uuid[], $2::int4[], $3::int4[], $4::int8[], $5::text[], $6::text[])
             AS l (session_id, seq, n, time_us, line, folded)
         JOIN sessions AS s ON s.id = l.session_id",
        &[&session, &seq, &n, &time, &line, &folded],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO v21_grams
         SELECT g.session_id, s.project_id, g.seq, g.grams::int4[]
         FROM unnest($1::uuid[], $2::int4[], $3::text[]) AS g (session_id, seq, grams)
         JOIN sessions AS s ON s.id = g.session_id",
        &[&code_session, &code_seq, &code_grams],
    )
    .await
    .unwrap();
    db.batch_execute(&format!(
        "DROP TABLE recording_text;
         ALTER TABLE v21_lines RENAME TO recording_text;
         ALTER TABLE v21_grams RENAME TO recording_text_grams;
         {V22};
         {V26};
         {V30};
         COMMIT;"
    ))
    .await
    .unwrap();

    // The same lines, times and codes, a row per chunk, kept as plain text.
    let plain: bool = db
        .query_one("SELECT bool_and(get_byte(body, 0) = 0) FROM recording_text", &[])
        .await
        .unwrap()
        .get(0);
    assert!(plain);
    for (session, (lines, codes)) in sessions.into_iter().zip(&before) {
        assert_eq!(&transcript(&f.app.store, session).await, lines);
        assert_eq!(&grams(&db, session).await, codes);
    }
    for (session, q) in [(sessions[0], "alpha%20step%2042"), (sessions[1], "%E4%B8%96%E7%95%8C")] {
        let found: Value =
            json(f.app.get(&path(session, &format!("/search?q={q}")), &f.reader).await, 200).await;
        assert_eq!(found["matches"].as_array().unwrap().len(), 1, "{found}");
    }
    let page: Value = json(f.app.get(&search_path(PROJECT, "q=delta"), &f.reader).await, 200).await;
    assert_eq!(page["items"][0]["session"]["id"], live.to_string(), "{page}");
}

fn expected_ids(a: Uuid, b: Uuid) -> Vec<String> {
    let mut ids = vec![a.to_string(), b.to_string()];
    ids.sort();
    ids
}
