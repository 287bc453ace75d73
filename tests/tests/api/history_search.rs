//! The history's free text (`q`): it finds exactly the sessions a plain
//! `ILIKE` finds, through the API and in storage, whether the word index
//! pre-filters a query or leaves it to the trigram index.

use serde_json::{Value, json};

use crate::sessions::{activity, fixture};

/// The sessions `q` must find: those whose text (reason, target, user) or
/// activity contains it, ignoring case, as a plain `ILIKE` finds them.
async fn ilike_reference(db: &tokio_postgres::Client, project: uuid::Uuid, q: &str) -> Vec<String> {
    let filter = termaudit_domain::SessionListFilter::default();
    filtered_ilike_reference(db, project, q, &filter).await
}

/// As [`ilike_reference`], among the sessions `filter`'s time range, status
/// and mode keep.
async fn filtered_ilike_reference(
    db: &tokio_postgres::Client,
    project: uuid::Uuid,
    q: &str,
    filter: &termaudit_domain::SessionListFilter,
) -> Vec<String> {
    let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let (status, mode) =
        (filter.sessions.status.map(|s| s.as_str()), filter.sessions.mode.map(|m| m.as_str()));
    db.query(
        "SELECT s.id::text FROM sessions s
         WHERE s.project_id = $1
           AND ((coalesce(s.reason, '') || ' ' || s.target_name || ' ' || s.user_subject || ' ' || s.user_name) ILIKE $2
                OR EXISTS (SELECT 1 FROM session_activity a WHERE a.session_id = s.id AND a.text ILIKE $2))
           AND ($3::timestamptz IS NULL OR s.opened_at >= $3)
           AND ($4::timestamptz IS NULL OR s.opened_at < $4)
           AND ($5::text IS NULL OR s.status = $5)
           AND ($6::text IS NULL OR s.mode = $6)
         ORDER BY s.opened_at DESC, s.id DESC",
        &[&project, &pattern, &filter.opened_from, &filter.opened_to, &status, &mode],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

#[tokio::test]
async fn free_text_finds_what_ilike_finds_with_or_without_whole_words() {
    let f = fixture().await;
    let prod = f.target("orders-db-1", "production").await;
    let staging = f.target("billing-api-2", "non_production").await;
    let id = |s: &Value| s["id"].as_str().unwrap().to_owned();
    let ticket = f.open(&prod, "alice", Some("INC-123456: fix stuck orders")).await;
    let longer = f.open(&prod, "bob", Some("INC-1234567: check replication lag")).await;
    let shorter = f.open(&prod, "carol", Some("see inc-12345 (FIX stuck Orders)")).await;
    let literal = f.open(&staging, "dave", Some(r"100% of a_b done in C:\tmp\x")).await;
    let unicode = f.open(&staging, "Émile", Some("Straße ÉTÉ été — «quoted» café-crème")).await;
    let activity_only = f.open(&staging, "erin", None).await;
    f.post(
        &format!("/sessions/{}/activity", id(&activity_only)),
        &f.gateway,
        json!({"items": [activity("a1", "kubectl rollout restart deploy/worker-73 # CHG-1954786194"),
                         activity("a2", "psql -c 'SELECT 1' # INC-123456: follow-up")]}),
    )
    .await;
    // Digits inside longer words, at their edges, beside non-ASCII digits
    // and letters; and a number too long for the digit index to keep its
    // suffixes (V23 keeps `~` for it), made of 7s and 8s only.
    let embedded = f.open(&prod, "frank", Some("build ab123456cd and v98765 then 4321x")).await;
    let digits = f.open(&prod, "gina", Some("Zähler١٢٣٤٥٦ ＃１２３４５６ É55555é")).await;
    let long_run: String = (0..300u32)
        .map(|n| format!("{n:b}"))
        .collect::<String>()
        .replace('0', "7")
        .replace('1', "8");
    assert!(long_run.len() > 1100);
    f.post(
        &format!("/sessions/{}/activity", id(&digits)),
        &f.gateway,
        json!({"items": [activity("a1", &format!("echo {long_run} | sha256sum"))]}),
    )
    .await;
    let db = f.app.db.connect().await;
    let project = termaudit_tests::seed::project_id(&f.app, "demo").await;

    let cases: &[(&str, &[&Value])] = &[
        // A whole word between separators: the word index pre-filters.
        ("INC-123456:", &[&activity_only, &ticket]),
        ("-123456:", &[&activity_only, &ticket]),
        // The API trims q: this is `123456:`.
        (" 123456: ", &[&activity_only, &ticket]),
        // The same digits as part of longer or shorter numbers.
        ("INC-12345", &[&activity_only, &shorter, &longer, &ticket]),
        ("nc-123", &[&activity_only, &shorter, &longer, &ticket]),
        ("23456", &[&embedded, &activity_only, &longer, &ticket]),
        ("C-1234567", &[&longer]),
        // A bare number (no separator): the digit index pre-filters, for
        // digits anywhere in a word.
        ("123456", &[&embedded, &activity_only, &longer, &ticket]),
        ("b123456c", &[&embedded]),
        ("AB1234", &[&embedded]),
        ("3456cd", &[&embedded]),
        ("98765", &[&embedded]),
        ("v9876", &[&embedded]),
        ("4321X", &[&embedded]),
        ("4321", &[&embedded]),
        ("1954786194", &[&activity_only]),
        ("954786", &[&activity_only]),
        ("19547861940", &[]),
        ("55555", &[&digits]),
        ("é55555", &[&digits]),
        ("5555É", &[&digits]),
        // Other digits are letters, and no lower-casing makes them ASCII.
        ("١٢٣٤٥٦", &[&digits]),
        ("R١٢٣", &[&digits]),
        ("１２３４５６", &[&digits]),
        ("999999", &[]),
        // Partial words at either edge of a phrase, any case.
        ("x STUCK ord", &[&shorter, &ticket]),
        ("ix stuck orders", &[&shorter, &ticket]),
        ("ck rep", &[&longer]),
        ("replication lag", &[&longer]),
        // Only in the activity.
        ("CHG-1954786194", &[&activity_only]),
        ("deploy/worker-7", &[&activity_only]),
        ("rollout restart deploy", &[&activity_only]),
        ("'SELECT 1'", &[&activity_only]),
        // LIKE's wildcards and escape are literal characters.
        ("100%", &[&literal]),
        ("0% of", &[&literal]),
        ("a_b", &[&literal]),
        ("a%b", &[]),
        (r"C:\tmp\x", &[&literal]),
        (r"\tmp", &[&literal]),
        (r"C:\\tmp", &[]),
        // Unicode: ILIKE's lower-casing, words of non-ASCII letters.
        ("straSSe", &[]),
        ("STRAßE ét", &[&unicode]),
        ("été — «quo", &[&unicode]),
        ("«QUOTED»", &[&unicode]),
        ("café-CRÈME", &[&unicode]),
        ("émile", &[&unicode]),
        // Target and user names are text too.
        ("orders-db-1 alice", &[&ticket]),
        ("billing-api", &[&activity_only, &unicode, &literal]),
    ];
    let inside_long_run = long_run[1000..1012].to_owned();
    let long_run_cases: &[(&str, &[&Value])] = &[(&inside_long_run, &[&digits])];
    for (q, expected) in cases.iter().chain(long_run_cases) {
        let encoded: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
        let page = f.get(&format!("/sessions?limit=100&q={encoded}"), &f.viewer).await;
        let found: Vec<String> = page["items"].as_array().unwrap().iter().map(id).collect();
        let expected: Vec<String> = expected.iter().map(|s| id(s)).collect();
        assert_eq!(found, expected, "q={q:?}");
        assert_eq!(
            found,
            ilike_reference(&db, project, q.trim()).await,
            "q={q:?} as ILIKE finds it"
        );
    }
}

/// A word in every command (`kubectl`) is found by walking the project's
/// activity in the list's order; a session with several such commands is
/// one row of a page, and the walk starts where the page does.
#[tokio::test]
async fn a_word_common_in_commands_pages_each_session_once() {
    let f = fixture().await;
    let target = f.target("orders-db-1", "production").await;
    let id = |s: &Value| s["id"].as_str().unwrap().to_owned();
    for i in 0..24 {
        let session = f.open(&target, &format!("user{i}"), Some(&format!("INC-{i}: check"))).await;
        // Three commands in two of three sessions, none in the others.
        if i % 3 != 0 {
            let items: Vec<Value> = (0..3)
                .map(|n| activity(&format!("a{n}"), &format!("kubectl get pods -n team-{i} # {n}")))
                .collect();
            let response = f
                .post(
                    &format!("/sessions/{}/activity", id(&session)),
                    &f.gateway,
                    json!({"items": items}),
                )
                .await;
            assert_eq!(response.status(), 200);
        }
    }
    // The word is common once ANALYZE has sampled the activity (no free
    // text was searched before, so nothing older is cached).
    let db = f.app.db.connect().await;
    db.batch_execute("ANALYZE sessions; ANALYZE session_activity").await.unwrap();
    let project = termaudit_tests::seed::project_id(&f.app, "demo").await;
    let expected = ilike_reference(&db, project, "kubectl").await;
    assert_eq!(expected.len(), 16);
    for limit in [1, 4, 7, 50] {
        let mut found = Vec::new();
        let mut cursor = String::new();
        loop {
            let page =
                f.get(&format!("/sessions?q=KUBECTL&limit={limit}{cursor}"), &f.viewer).await;
            found.extend(page["items"].as_array().unwrap().iter().map(id));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(found, expected, "pages of {limit}");
    }
}

/// The activity's copy of its session's project and opening time (V29),
/// which keeps a walk of the activity inside its project, is the
/// session's whatever the server's role writes into it; and a session's
/// project and opening time never change.
#[tokio::test]
async fn an_activity_rows_project_and_time_are_its_sessions() {
    let f = fixture().await;
    let target = f.target("orders-db-1", "production").await;
    let session = f.open(&target, "alice", Some("INC-1: check")).await;
    let id: uuid::Uuid = session["id"].as_str().unwrap().parse().unwrap();
    f.app.create_project("other").await;
    let app = f.app.db.connect_as_app().await;
    let other: uuid::Uuid =
        app.query_one("SELECT id FROM projects WHERE slug = 'other'", &[]).await.unwrap().get(0);
    app.execute(
        "INSERT INTO session_activity (session_id, client_event_id, kind, text, occurred_at,
                                       project_id, session_opened_at)
         SELECT $1, 'a' || n, 'command', 'kubectl get secrets -n team-' || n, now(), $2,
                now() + interval '1 day'
         FROM generate_series(1, 5) n",
        &[&id, &other],
    )
    .await
    .unwrap();
    app.execute(
        "UPDATE session_activity SET project_id = $2, session_opened_at = now() WHERE session_id = $1",
        &[&id, &other],
    )
    .await
    .unwrap();
    let copied = app
        .query_one(
            "SELECT bool_and(a.project_id = s.project_id AND a.session_opened_at = s.opened_at)
             FROM session_activity a JOIN sessions s ON s.id = a.session_id WHERE a.session_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert!(copied.get::<_, bool>(0), "the activity rows keep their session's project and time");
    for change in [
        format!("UPDATE sessions SET project_id = '{other}' WHERE id = '{id}'"),
        format!("UPDATE sessions SET opened_at = opened_at - interval '1 day' WHERE id = '{id}'"),
    ] {
        let err = app.batch_execute(&change).await.expect_err(&change);
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION),
            "{change}: {err}"
        );
    }
    // `kubectl` is in every command ANALYZE samples: each project's
    // history walks its own activity, and finds the session only in demo.
    let owner = f.app.db.connect().await;
    owner.batch_execute("ANALYZE sessions; ANALYZE session_activity").await.unwrap();
    let page = f.get("/sessions?q=kubectl", &f.viewer).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let reader = f.app.token("vera", "other", &[termaudit_domain::Permission::ViewHistory]);
    let page: Value = termaudit_tests::json(
        f.app.get("/api/v1/projects/other/sessions?q=kubectl", &reader).await,
        200,
    )
    .await;
    assert_eq!(page["items"], json!([]), "another project's activity is not in other's history");
}

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Text made of pieces that share words, parts of words, separators,
/// LIKE's special characters, cases and non-ASCII letters.
fn random_text(r: &mut Random) -> String {
    const PIECES: &[&str] = &[
        "INC-",
        "CHG-",
        "12",
        "123",
        "1234",
        "123456",
        "42",
        ": ",
        " ",
        " ",
        "-",
        "/",
        "#",
        "_",
        "%",
        "\\",
        "'",
        "fix",
        "Fix",
        "FIX",
        "stuck",
        "orders",
        "order",
        "replication",
        "lag",
        "worker",
        "Worker-7",
        "deploy",
        "é",
        "É",
        "Straße",
        "STRASSE",
        "οδος",
        "ΟΔΟΣ",
        "café",
        "crème",
        "\u{a0}",
        "İ",
        "\u{212a}",
        "k",
        "x",
        "xx",
        "ab",
        "a_b",
        "a%b",
        "9876543210",
        "0",
        "7",
        "55555",
        "x0",
        "٣",
        "２",
    ];
    let n = 1 + r.below(8);
    (0..n).map(|_| r.pick(PIECES)).collect()
}

/// The free text `q`, in half the cases with a time range, a status or a
/// mode (the sessions are shells, active or closed, opened 0 to 119 s
/// before `now`).
fn random_filter(
    r: &mut Random,
    now: chrono::DateTime<chrono::Utc>,
    q: &str,
) -> termaudit_domain::SessionListFilter {
    use termaudit_domain::{SessionMode, SessionStatus};
    let mut filter =
        termaudit_domain::SessionListFilter { text: Some(q.to_owned()), ..Default::default() };
    let before = |r: &mut Random| now - chrono::Duration::seconds(r.below(130) as i64);
    match r.below(8) {
        0 => filter.opened_from = Some(before(r)),
        1 => filter.opened_to = Some(before(r)),
        2 => {
            (filter.opened_from, filter.opened_to) =
                (Some(before(r) - chrono::Duration::seconds(60)), Some(before(r)))
        }
        3 => {
            filter.sessions.status =
                Some([SessionStatus::Active, SessionStatus::Closed][r.below(2)])
        }
        4 => filter.sessions.mode = Some([SessionMode::Shell, SessionMode::Database][r.below(2)]),
        _ => {}
    }
    filter
}

/// A query: mostly a substring of some stored text (so it matches), cut at
/// any character, sometimes new text.
fn random_query(r: &mut Random, texts: &[String]) -> String {
    if r.below(4) == 0 {
        return random_text(r);
    }
    let chars: Vec<char> = texts[r.below(texts.len())].chars().collect();
    let start = r.below(chars.len());
    let len = 1 + r.below((chars.len() - start).min(16));
    chars[start..start + len].iter().collect()
}

#[tokio::test]
async fn free_text_equals_ilike_over_random_texts_and_queries() {
    let f = fixture().await;
    let project = termaudit_tests::seed::project_id(&f.app, "demo").await;
    let db = f.app.db.connect().await;
    let seed = std::env::var("Q_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_cafe);
    let mut r = Random(seed);
    let mut texts = Vec::new();
    let now = chrono::Utc::now();
    for i in 0..120 {
        let target = format!("t{}-{}", i % 7, random_text(&mut r));
        let (reason, user, activity) =
            (random_text(&mut r), random_text(&mut r), random_text(&mut r));
        let target_id = uuid::Uuid::now_v7();
        let session_id = uuid::Uuid::now_v7();
        db.execute(
            "INSERT INTO targets (id, project_id, name, kind, environment, environment_class)
             VALUES ($1, $2, $3, 'application', 'staging', 'non_production')",
            &[&target_id, &project, &target],
        )
        .await
        .unwrap();
        // One in four closed, the others active and seen in the future, so
        // that the server's expiry of quiet sessions leaves them be while
        // the test runs (a status filter must find the same both times).
        db.execute(
            "INSERT INTO sessions (id, project_id, target_id, target_name, target_kind, environment,
                                   environment_class, mode, reason, user_subject, user_name, recorded,
                                   status, opened_at, last_seen_at, ended_at, close_reason)
             SELECT $1, $2, $3, $4, 'application', 'staging', 'non_production', 'shell', $5, $6, $7,
                    false, CASE WHEN $9 THEN 'closed' ELSE 'active' END, $8,
                    now() + interval '1 day', CASE WHEN $9 THEN $8::timestamptz END, CASE WHEN $9 THEN 'user_exit' END",
            &[&session_id, &project, &target_id, &target, &(i % 5 != 0).then_some(&reason),
              &user, &format!("{user} Name"), &(now - chrono::Duration::seconds(i)), &(i % 4 == 1)],
        )
        .await
        .unwrap();
        // A third of the sessions have a command, one in six a second one
        // holding the first (a query that finds the one finds both).
        let commands = match i % 6 {
            0 => vec![format!("{activity} {}", random_text(&mut r)), activity],
            3 => vec![activity],
            _ => vec![],
        };
        for (n, command) in commands.into_iter().enumerate() {
            db.execute(
                "INSERT INTO session_activity (session_id, client_event_id, kind, text, occurred_at)
                 VALUES ($1, $2, 'command', $3, now())",
                &[&session_id, &format!("a{n}"), &command],
            )
            .await
            .unwrap();
            texts.push(command);
        }
        texts.extend([target, reason, user]);
    }

    let check = |store: termaudit_storage::Store, phase: &'static str, mut r: Random| {
        let texts = texts.clone();
        let db = &db;
        async move {
            let mut matched = 0;
            for _ in 0..250 {
                let q = random_query(&mut r, &texts);
                let filter = random_filter(&mut r, now, &q);
                let limit = 1 + r.below(40);
                let mut found = Vec::new();
                let mut cursor = None;
                loop {
                    let page =
                        store.sessions(project, &filter, cursor.as_ref(), limit).await.unwrap();
                    found.extend(page.items.iter().map(|s| s.id.to_string()));
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
                let expected = filtered_ilike_reference(db, project, &q, &filter).await;
                assert_eq!(found, expected, "{phase}: q={q:?} (Q_SEED={seed})");
                matched += usize::from(!expected.is_empty());
            }
            assert!(matched > 120, "{phase}: most queries find something ({matched})");
        }
    };
    // Without statistics every word counts as rare: the word index
    // pre-filters whenever a query has a whole word or a prefix.
    check(f.app.store.clone(), "before ANALYZE", Random(seed ^ 1)).await;
    // With them, common words leave queries to the trigram index.
    db.batch_execute("ANALYZE sessions; ANALYZE session_activity").await.unwrap();
    let common: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'sessions_words' AND most_common_elems IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(common, 1, "ANALYZE found common words");
    let url = termaudit_storage::DatabaseUrl::parse(&f.app.db.app_url()).unwrap();
    check(termaudit_storage::Store::new(&url, 2).unwrap(), "after ANALYZE", Random(seed ^ 2)).await;
}

/// V28 wrote `history_words_query` again in PL/pgSQL (its SQL body was
/// planned at every call): it must return what V7's function returns, which
/// is inlined here as V7 wrote it.
#[tokio::test]
async fn the_word_condition_is_v7s_over_random_queries() {
    const V7: &str = "SELECT string_agg('''' || left(piece, 64) || '''' || CASE WHEN i = n THEN ':*' ELSE '' END, ' & ')::tsquery
        FROM (SELECT piece, i, count(*) OVER () AS n
              FROM unnest(regexp_split_to_array(lower($1), '[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]+'))
                   WITH ORDINALITY AS p (piece, i)) AS pieces
        WHERE i > 1 AND piece <> '' AND (i < n OR $2)";
    let f = fixture().await;
    let db = f.app.db.connect().await;
    let mut r = Random(0x0dd_ba11);
    let long = format!("a {} b-{}", "x".repeat(70), "É".repeat(66));
    let mut queries: Vec<String> =
        ["replication", "INC-123456:", "a b-c_d", "-", "--", "x-", "-x", "a\u{a0}b c", &long]
            .iter()
            .map(|q| q.to_string())
            .collect();
    queries.extend((0..300).map(|_| random_text(&mut r)));
    let mut some = 0;
    for q in &queries {
        for with_prefix in [false, true] {
            let now: Option<String> = db
                .query_one("SELECT history_words_query($1, $2)::text", &[q, &with_prefix])
                .await
                .unwrap()
                .get(0);
            let v7: Option<String> = db
                .query_one(&format!("SELECT ({V7})::text"), &[q, &with_prefix])
                .await
                .unwrap()
                .get(0);
            assert_eq!(now, v7, "q={q:?} with_prefix={with_prefix}");
            some += usize::from(now.is_some());
        }
    }
    assert!(some > 200, "many random queries have words ({some})");
}
