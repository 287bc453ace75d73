//! Whole-file tests (realistic v2 and v3 recordings, the shared fixtures) and
//! property tests across the module.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::event::push_json_str;
use super::*;

/// Decodes a whole cast held in memory, as ingest does line by line.
fn decode_all(cast: &str) -> Result<(Header, Version, Vec<Event>), CastError> {
    let mut lines = cast.lines();
    let (header, mut decoder) = Decoder::from_header_line(lines.next().unwrap_or_default())?;
    let mut events = Vec::new();
    for line in lines {
        if let Some(event) = decoder.decode_line(line)? {
            events.push(event);
        }
    }
    Ok((header, decoder.version(), events))
}

fn decode_err(cast: &str) -> CastError {
    match decode_all(cast) {
        Ok(decoded) => panic!("accepted {cast:?} as {decoded:?}"),
        Err(e) => e,
    }
}

fn searchable(events: &[Event]) -> String {
    let mut stripper = EscapeStripper::new();
    let mut text = String::new();
    for event in events.iter().filter(|e| e.code == EventCode::Output) {
        stripper.push(&event.data, &mut text);
    }
    text
}

const V2_HEADER: &str = r#"{"version": 2, "width": 80, "height": 24}"#;
const V3_HEADER: &str = r#"{"version": 3, "term": {"cols": 80, "rows": 24}}"#;

/// A v2 recording written in canonical form, so re-encoding it gives back
/// the same bytes.
const REALISTIC_V2: &str = concat!(
    r##"{"version": 2, "width": 80, "height": 24, "timestamp": 1717430400, "duration": 3602.25, "idle_time_limit": 2.0, "command": "/bin/bash", "title": "deploy 🚀 発表", "env": {"SHELL": "/bin/bash", "TERM": "xterm-256color"}, "theme": {"fg": "#d0d0d0", "bg": "#1c1c1c", "palette": "#000000:#aa0000:#00aa00:#aa5500:#0000aa:#aa00aa:#00aaaa:#aaaaaa"}, "agent": {"name":"termaudit-agent","version":"0.4.1"}}"##,
    "\n",
    r#"[0.25, "o", "\u001b]0;ops@web-03\u0007\u001b[1;31mERROR\u001b[0m disk full\r\n"]"#,
    "\n",
    r#"[1.0, "i", "vim notes.txt\r"]"#,
    "\n",
    r#"[1.000123, "o", "\u001b[?1049h\u001b(B\u001b[H\u001b[2J~ 日本語 🎉 한국어\u001b[?1049l"]"#,
    "\n",
    r#"[1.5, "r", "120x40"]"#,
    "\n",
    r#"[1.5, "m", "step 2: restart nginx"]"#,
    "\n",
    r#"[3601.5, "o", "back after an hour \"ok\"\r\n"]"#,
    "\n",
    r#"[3601.5, "z", "custom"]"#,
    "\n",
    r#"[3602.25, "x", "0"]"#,
    "\n",
);

#[test]
fn realistic_v2_file_decodes_and_round_trips() {
    let (header, version, events) = decode_all(REALISTIC_V2).expect("valid v2");
    assert_eq!(version, Version::V2);
    assert_eq!((header.width, header.height), (80, 24));
    assert_eq!(header.timestamp, Some(1_717_430_400));
    assert_eq!(header.duration, Some(Micros(3_602_250_000)));
    assert_eq!(header.idle_time_limit, Some(Micros::from_secs(2)));
    assert_eq!(header.command.as_deref(), Some("/bin/bash"));
    assert_eq!(header.title.as_deref(), Some("deploy 🚀 発表"));
    let env = header.env.clone().unwrap_or_default();
    assert_eq!(env.get("TERM").map(String::as_str), Some("xterm-256color"));
    assert_eq!(header.theme.as_ref().map(Theme::bg), Some("#1c1c1c"));
    assert_eq!(
        header.extra.get("agent"),
        Some(&json!({"name": "termaudit-agent", "version": "0.4.1"}))
    );

    let summary: Vec<(u64, &str, &str)> =
        events.iter().map(|e| (e.time.0, e.code.as_str(), e.data.as_str())).collect();
    assert_eq!(
        summary,
        [
            (250_000, "o", "\x1b]0;ops@web-03\x07\x1b[1;31mERROR\x1b[0m disk full\r\n"),
            (1_000_000, "i", "vim notes.txt\r"),
            (1_000_123, "o", "\x1b[?1049h\x1b(B\x1b[H\x1b[2J~ 日本語 🎉 한국어\x1b[?1049l"),
            (1_500_000, "r", "120x40"),
            (1_500_000, "m", "step 2: restart nginx"),
            (3_601_500_000, "o", "back after an hour \"ok\"\r\n"),
            (3_601_500_000, "z", "custom"),
            (3_602_250_000, "x", "0"),
        ]
    );
    assert_eq!(events[3].as_resize(), Some(Resize { cols: 120, rows: 40 }));
    assert_eq!(events[6].code, EventCode::Other("z".to_owned()));
    assert_eq!(events[7].code, EventCode::Exit);

    let mut encoded = header.to_line() + "\n";
    for event in &events {
        encoded.push_str(&event.to_line());
        encoded.push('\n');
    }
    assert_eq!(encoded, REALISTIC_V2);

    assert_eq!(
        searchable(&events),
        "ERROR disk full\n~ 日本語 🎉 한국어back after an hour \"ok\"\n"
    );
}

const REALISTIC_V3: &str = concat!(
    r##"{"version": 3, "term": {"cols": 100, "rows": 30, "type": "xterm-256color", "version": "VTE(7600)", "theme": {"fg": "#ebdbb2", "bg": "#282828", "palette": "#282828:#cc241d:#98971a:#d79921:#458588:#b16286:#689d6a:#a89984"}}, "timestamp": 1717433000, "idle_time_limit": 2.5, "title": "cert rotation", "env": {"SHELL": "/usr/bin/zsh", "TERM": null}, "tags": ["pki", "prod"]}"##,
    "\n",
    "# recorded with asciinema 3\n",
    r#"[0.1, "o", "\u001b[32m$\u001b[0m "]"#,
    "\n",
    r#"[0.3, "i", "ls\r"]"#,
    "\n",
    r#"[0.000001, "o", "ls\r\n"]"#,
    "\n",
    "\n",
    r#"  [1e-06, "o", "\u001b[?1049h日本 😀\r\n\u001b[?1049l"]  "#,
    "\r\n",
    r#"[3600.0, "m", "after lunch"]"#,
    "\n",
    "   # indented comment\n",
    r#"[0.2, "r", "120x40"]"#,
    "\n",
    r#"[0.1, "q", "unknown"]"#,
    "\n",
    r#"[0.5, "x", "0"]"#,
    "\n",
);

#[test]
fn realistic_v3_file_converts_to_v2() {
    let (header, version, events) = decode_all(REALISTIC_V3).expect("valid v3");
    assert_eq!(version, Version::V3);
    assert_eq!(
        header.to_line(),
        concat!(
            r##"{"version": 2, "width": 100, "height": 30, "timestamp": 1717433000, "idle_time_limit": 2.5, "title": "cert rotation", "env": {"SHELL": "/usr/bin/zsh"}, "theme": {"fg": "#ebdbb2", "bg": "#282828", "palette": "#282828:#cc241d:#98971a:#d79921:#458588:#b16286:#689d6a:#a89984"}, "##,
            r#""tags": ["pki","prod"], "term": {"type":"xterm-256color","version":"VTE(7600)"}}"#
        )
    );
    let lines: Vec<String> = events.iter().map(Event::to_line).collect();
    assert_eq!(
        lines,
        [
            r#"[0.1, "o", "\u001b[32m$\u001b[0m "]"#,
            r#"[0.4, "i", "ls\r"]"#,
            r#"[0.400001, "o", "ls\r\n"]"#,
            r#"[0.400002, "o", "\u001b[?1049h日本 😀\r\n\u001b[?1049l"]"#,
            r#"[3600.400002, "m", "after lunch"]"#,
            r#"[3600.600002, "r", "120x40"]"#,
            r#"[3600.700002, "q", "unknown"]"#,
            r#"[3601.200002, "x", "0"]"#,
        ]
    );
    assert_eq!(searchable(&events), "$ ls\n日本 😀\n");

    // The converted file reads back as v2 with the same header and events.
    let mut v2 = header.to_line() + "\n";
    for line in &lines {
        v2.push_str(line);
        v2.push('\n');
    }
    assert_eq!(decode_all(&v2), Ok((header, Version::V2, events)));
}

#[test]
fn v3_intervals_do_not_drift() {
    // 0.1 added ten times is not 1.0 in f64; summed as integers it is.
    assert_ne!((0..10).map(|_| 0.1f64).sum::<f64>(), 1.0);
    let mut cast = String::from(V3_HEADER);
    for _ in 0..10 {
        cast.push_str("\n[0.1, \"o\", \".\"]");
    }
    let (_, _, events) = decode_all(&cast).expect("valid v3");
    assert_eq!(events.last().map(|e| e.time), Some(Micros(1_000_000)));
}

#[test]
fn fixtures_decode() {
    let fixtures = [
        ("colours.cast", include_str!("../../../../tests/fixtures/casts/colours.cast")),
        ("alt-screen.cast", include_str!("../../../../tests/fixtures/casts/alt-screen.cast")),
        (
            "resize-unicode.cast",
            include_str!("../../../../tests/fixtures/casts/resize-unicode.cast"),
        ),
        ("idle-gaps.cast", include_str!("../../../../tests/fixtures/casts/idle-gaps.cast")),
        ("input-v3.cast", include_str!("../../../../tests/fixtures/casts/input-v3.cast")),
    ];
    for (name, cast) in fixtures {
        let (header, version, events) = decode_all(cast).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(events.len() >= 10, "{name}: only {} events", events.len());
        assert_eq!(first_out_of_order(events.iter().map(|e| e.time)), None, "{name}");
        let text = searchable(&events);
        assert!(!text.contains('\x1b'), "{name}: escape left in {text:?}");
        // Stored form reads back identically.
        let mut stored = header.to_line();
        for event in &events {
            stored.push('\n');
            stored.push_str(&event.to_line());
        }
        assert_eq!(
            decode_all(&stored),
            Ok((header, Version::V2, events.clone())),
            "{name}: stored form differs"
        );
        if name == "input-v3.cast" {
            assert_eq!(version, Version::V3);
            assert_eq!(events.len(), 22);
            assert_eq!(events.last().map(|e| e.time), Some(Micros(7_796_240)));
        }
    }
}

#[test]
fn fixture_text_is_searchable() {
    let (_, _, events) =
        decode_all(include_str!("../../../../tests/fixtures/casts/colours.cast")).expect("valid");
    let text = searchable(&events);
    assert!(text.contains("ops@db-01:~$ systemctl status postgresql\n"), "{text}");
    assert!(text.contains("postgres[812]: ERROR:  could not connect"), "{text}");
    assert!(text.contains("✗ 3 checks failed"), "{text}");
}

#[test]
fn markers_are_built_from_a_label() {
    let marker = Event::marker(Micros(90_500_000), "runbook 3/7: drain node \"db-2\"");
    assert_eq!(marker.code, EventCode::Marker);
    assert_eq!(marker.to_line(), r#"[90.5, "m", "runbook 3/7: drain node \"db-2\""]"#);
    let mut decoder = Decoder::new(Version::V2);
    assert_eq!(decoder.decode_line(&marker.to_line()), Ok(Some(marker)));
}

// --- Header errors -------------------------------------------------------

fn header_err(line: &str) -> CastError {
    match parse_header_line(line) {
        Ok(parsed) => panic!("accepted {line:?} as {parsed:?}"),
        Err(e) => e,
    }
}

fn header_field(line: &str) -> &'static str {
    match header_err(line) {
        CastError::InvalidHeader { field, .. } => field,
        other => panic!("{line}: {other}"),
    }
}

#[test]
fn header_json_errors() {
    assert!(matches!(header_err(""), CastError::Json { line: 1, .. }));
    assert!(matches!(header_err("{\"version\": 2,"), CastError::Json { line: 1, .. }));
    assert!(matches!(header_err("{\"version\": NaN}"), CastError::Json { line: 1, .. }));
    assert!(matches!(header_err("[0.1, \"o\", \"x\"]"), CastError::HeaderNotObject { .. }));
    assert!(matches!(header_err("2"), CastError::HeaderNotObject { .. }));
}

#[test]
fn header_version_errors() {
    for line in [
        "{}",
        "{\"version\": null, \"width\": 80, \"height\": 24}",
        "{\"version\": 1, \"width\": 80, \"height\": 24, \"stdout\": []}",
        "{\"version\": \"2\", \"width\": 80, \"height\": 24}",
        "{\"version\": 2.0, \"width\": 80, \"height\": 24}",
        "{\"version\": 4}",
    ] {
        assert!(matches!(header_err(line), CastError::UnsupportedVersion { .. }), "{line}");
    }
    let message = header_err("{\"version\": 1}").to_string();
    assert_eq!(message, "line 1: unsupported asciicast version `1`; expected 2 or 3");
}

#[test]
fn header_field_errors() {
    let v2 = |fields: &str| format!("{{\"version\": 2, \"width\": 80, \"height\": 24, {fields}}}");
    assert_eq!(header_field("{\"version\": 2, \"height\": 24}"), "width");
    assert_eq!(header_field("{\"version\": 2, \"width\": 80}"), "height");
    assert_eq!(header_field("{\"version\": 2, \"width\": -1, \"height\": 24}"), "width");
    assert_eq!(header_field("{\"version\": 2, \"width\": 65536, \"height\": 24}"), "width");
    assert_eq!(header_field("{\"version\": 2, \"width\": 80.5, \"height\": 24}"), "width");
    assert_eq!(header_field("{\"version\": 2, \"width\": 80, \"height\": \"24\"}"), "height");
    assert_eq!(header_field(&v2("\"timestamp\": \"yesterday\"")), "timestamp");
    assert_eq!(header_field(&v2("\"timestamp\": 1.5")), "timestamp");
    assert_eq!(header_field(&v2("\"duration\": -3")), "duration");
    assert_eq!(header_field(&v2("\"idle_time_limit\": \"2\"")), "idle_time_limit");
    assert_eq!(header_field(&v2("\"command\": 42")), "command");
    assert_eq!(header_field(&v2("\"title\": [\"a\"]")), "title");
    assert_eq!(header_field(&v2("\"env\": [\"TERM\"]")), "env");
    assert_eq!(header_field(&v2("\"env\": {\"TERM\": 1}")), "env");
    assert_eq!(header_field(&v2("\"theme\": \"dark\"")), "theme");
    assert_eq!(
        header_field(&v2("\"theme\": {\"fg\": \"#fff\", \"bg\": \"#000000\", \"palette\": \"\"}")),
        "theme"
    );
    let palette7 = ["#000000"; 7].join(":");
    let theme = format!(
        "\"theme\": {{\"fg\": \"#ffffff\", \"bg\": \"#000000\", \"palette\": \"{palette7}\"}}"
    );
    assert_eq!(header_field(&v2(&theme)), "theme");
    let theme = "\"theme\": {\"fg\": \"red;x\", \"bg\": \"#000000\", \"palette\": \"#000000\"}";
    assert_eq!(header_field(&v2(theme)), "theme");

    assert_eq!(header_field("{\"version\": 3}"), "term");
    assert_eq!(header_field("{\"version\": 3, \"term\": \"xterm\"}"), "term");
    assert_eq!(header_field("{\"version\": 3, \"term\": {\"rows\": 24}}"), "term.cols");
    assert_eq!(
        header_field("{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": -2}}"),
        "term.rows"
    );
    assert_eq!(
        header_field("{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24, \"type\": 7}}"),
        "term.type"
    );
    assert_eq!(
        header_field("{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24, \"theme\": 1}}"),
        "term.theme"
    );

    let message = header_err(&v2("\"duration\": -3")).to_string();
    assert_eq!(message, "line 1: header field `duration` must not be negative");
}

#[test]
fn header_accepts_nulls_bom_and_keeps_extras() {
    let line = "\u{feff}{\"version\": 2, \"width\": 80, \"height\": 24, \"title\": null, \
                \"env\": {\"SHELL\": \"/bin/sh\", \"TERM\": null}, \"x-host\": \"db-1\", \
                \"nested\": {\"a\": [1, 2.5, null]}}";
    let (header, version) = parse_header_line(line).expect("valid");
    assert_eq!(version, Version::V2);
    assert_eq!(header.title, None);
    assert_eq!(header.env, Some(BTreeMap::from([("SHELL".to_owned(), "/bin/sh".to_owned())])));
    assert_eq!(header.extra.get("x-host"), Some(&json!("db-1")));
    assert_eq!(
        header.to_line(),
        "{\"version\": 2, \"width\": 80, \"height\": 24, \"env\": {\"SHELL\": \"/bin/sh\"}, \
         \"nested\": {\"a\":[1,2.5,null]}, \"x-host\": \"db-1\"}"
    );
}

#[test]
fn header_never_writes_known_keys_twice() {
    let mut header = Header::new(80, 24);
    header.extra.insert("width".to_owned(), json!(1));
    header.extra.insert("note".to_owned(), json!("kept"));
    assert_eq!(header.to_line(), r#"{"version": 2, "width": 80, "height": 24, "note": "kept"}"#);
}

// --- Event errors --------------------------------------------------------

fn v2_line_err(line: &str) -> CastError {
    decode_err(&format!("{V2_HEADER}\n{line}"))
}

fn v3_line_err(line: &str) -> CastError {
    decode_err(&format!("{V3_HEADER}\n{line}"))
}

#[test]
fn malformed_lines() {
    for line in
        ["[1.0, \"o\", \"x\"", "[1.0 \"o\" \"x\"]", "[NaN, \"o\", \"x\"]", "o 1.0 x", "# note"]
    {
        assert!(matches!(v2_line_err(line), CastError::Json { line: 2, .. }), "{line}");
    }
    for line in ["{\"time\": 1}", "1.5", "\"o\"", "null"] {
        assert!(matches!(v2_line_err(line), CastError::NotAnEvent { line: 2, .. }), "{line}");
    }
    let err = v2_line_err("[1.0, \"o\"]");
    assert!(matches!(err, CastError::WrongArity { line: 2, found: 2, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "line 2: expected 3 elements [time, code, data], found 2: `[1.0, \"o\"]`"
    );
    assert!(matches!(v2_line_err("[]"), CastError::WrongArity { found: 0, .. }));
    assert!(matches!(
        v3_line_err("[1, \"o\", \"a\", \"b\"]"),
        CastError::WrongArity { found: 4, .. }
    ));
}

#[test]
fn bad_times() {
    let problem = |err: CastError| match err {
        CastError::InvalidTime { problem, .. } => problem,
        other => panic!("{other}"),
    };
    assert_eq!(problem(v2_line_err("[\"1.0\", \"o\", \"x\"]")), TimeError::NotANumber);
    assert_eq!(problem(v2_line_err("[null, \"o\", \"x\"]")), TimeError::NotANumber);
    assert_eq!(problem(v2_line_err("[[1], \"o\", \"x\"]")), TimeError::NotANumber);
    assert_eq!(problem(v2_line_err("[-0.5, \"o\", \"x\"]")), TimeError::Negative);
    assert_eq!(problem(v3_line_err("[-0.000001, \"o\", \"x\"]")), TimeError::Negative);
    assert_eq!(problem(v2_line_err("[1e300, \"o\", \"x\"]")), TimeError::TooLarge);
    // v3 intervals that each fit but overflow when summed.
    let big = "[18446744073709.551615, \"o\", \"x\"]";
    let err = v3_line_err(&format!("{big}\n{big}"));
    assert!(matches!(err, CastError::InvalidTime { line: 3, problem: TimeError::TooLarge, .. }));
    assert_eq!(
        v2_line_err("[-1, \"o\", \"x\"]").to_string(),
        "line 2: event time must not be negative: `[-1, \"o\", \"x\"]`"
    );
}

#[test]
fn bad_codes_and_data() {
    for line in ["[1, 5, \"x\"]", "[1, \"\", \"x\"]", "[1, null, \"x\"]", "[1, [\"o\"], \"x\"]"] {
        assert!(matches!(v2_line_err(line), CastError::InvalidCode { line: 2, .. }), "{line}");
    }
    for line in ["[1, \"o\", 5]", "[1, \"o\", null]", "[1, \"o\", [\"x\"]]", "[1, \"o\", {}]"] {
        assert!(matches!(v2_line_err(line), CastError::InvalidData { line: 2, .. }), "{line}");
    }
    // A lone surrogate is not a Unicode string.
    assert!(matches!(v2_line_err("[1, \"o\", \"\\ud800\"]"), CastError::InvalidData { .. }));
}

#[test]
fn v2_time_must_not_go_backwards() {
    let err = decode_err(&format!(
        "{V2_HEADER}\n[1.0, \"o\", \"a\"]\n[2.5, \"o\", \"b\"]\n[2.5, \"o\", \"c\"]\n[2.499999, \"o\", \"d\"]"
    ));
    assert_eq!(
        err,
        CastError::TimeWentBackwards {
            line: 5,
            time: Micros(2_499_999),
            previous: Micros(2_500_000)
        }
    );
    assert_eq!(
        err.to_string(),
        "line 5: time 2.499999 is before the previous event's 2.5; \
         asciicast v2 times must not decrease"
    );
    assert_eq!(err.line(), 5);
}

#[test]
fn bad_resize_payloads() {
    for data in
        ["", "120", "120x", "x40", "120X40", "120x40x1", "-1x40", "99999x40", "1.5x2", " 80x24"]
    {
        let line = format!("[1, \"r\", \"{data}\"]");
        assert!(matches!(v2_line_err(&line), CastError::InvalidResize { line: 2, .. }), "{data:?}");
        assert!(matches!(v3_line_err(&line), CastError::InvalidResize { .. }), "{data:?}");
    }
}

#[test]
fn decoder_state_survives_skipped_lines_and_errors() {
    let mut decoder = Decoder::new(Version::V3);
    assert_eq!(decoder.decode_line(""), Ok(None));
    assert_eq!(decoder.decode_line("  \r"), Ok(None));
    assert_eq!(decoder.decode_line("#[1, \"o\", \"x\"]"), Ok(None));
    assert!(decoder.decode_line("[1, \"r\", \"bad\"]").is_err());
    let event = decoder.decode_line("[0.5, \"o\", \"x\"]\n");
    assert_eq!(event, Ok(Some(Event::output(Micros(500_000), "x"))));
    assert_eq!(decoder.lines_read(), 6);
    assert_eq!(decoder.last_time(), Micros(500_000));
}

// --- Properties ----------------------------------------------------------

/// Strings rich in the characters the parsers and the stripper care about.
fn tricky_string() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select(vec![
            '\x1b', '[', ']', '(', 'P', '_', '\\', '\x07', '\x18', '\r', '\n', ';', '?', 'm', 'h',
            '\u{9b}', '\u{9c}', '\u{9d}', '"', ',', '{', '}', '.', '-', 'e', '0', '1', '9', ':',
            'x', '#', ' ',
        ]),
    ];
    prop::collection::vec(c, 0..80).prop_map(|chars| chars.into_iter().collect())
}

/// Event-shaped lines with arbitrary number text, codes and data.
fn event_like_line() -> impl Strategy<Value = String> {
    (
        "-?[0-9]{1,25}(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,4})?",
        "[a-z]{0,2}",
        any::<String>(),
        prop::bool::ANY,
    )
        .prop_map(|(time, code, data, resize)| {
            let mut line = format!("[{time}, \"{}\", ", if resize { "r" } else { &code });
            push_json_str(&mut line, &data);
            line.push(']');
            line
        })
}

fn event_code() -> impl Strategy<Value = EventCode> {
    prop_oneof![
        Just(EventCode::Output),
        Just(EventCode::Input),
        Just(EventCode::Marker),
        Just(EventCode::Exit),
        "[a-zA-Z0-9_ é\"\\\\]{1,4}"
            .prop_filter("a known code", |code| !["o", "i", "m", "r", "x"].contains(&code.as_str()))
            .prop_map(EventCode::Other),
    ]
}

/// Non-decreasing events of every kind.
fn v2_events() -> impl Strategy<Value = Vec<Event>> {
    let step = prop_oneof![
        (0..5_000_000u64, event_code(), any::<String>()),
        (0..5_000_000u64, any::<u16>(), any::<u16>()).prop_map(|(gap, cols, rows)| {
            (gap, EventCode::Resize, Resize { cols, rows }.to_string())
        }),
    ];
    prop::collection::vec(step, 0..40).prop_map(|steps| {
        let mut time = 0u64;
        steps
            .into_iter()
            .map(|(gap, code, data)| {
                time += gap;
                Event::new(Micros(time), code, data)
            })
            .collect()
    })
}

fn header() -> impl Strategy<Value = Header> {
    (
        (any::<u16>(), any::<u16>(), prop::option::of(any::<i64>())),
        prop::option::of(any::<u64>()),
        prop::option::of(any::<u64>()),
        (prop::option::of(any::<String>()), prop::option::of(any::<String>())),
        prop::option::of(prop::collection::btree_map(any::<String>(), any::<String>(), 0..4)),
        prop::collection::btree_map("x_[a-z_]{0,8}", any::<String>(), 0..3),
    )
        .prop_map(
            |((width, height, timestamp), duration, limit, (command, title), env, extra)| {
                let mut header = Header::new(width, height);
                header.timestamp = timestamp;
                header.duration = duration.map(Micros);
                header.idle_time_limit = limit.map(Micros);
                header.command = command;
                header.title = title;
                header.env = env;
                header.extra =
                    extra.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
                header
            },
        )
}

/// One interval's text in a form some recorder writes.
fn interval_text(micros: u64, form: u8) -> String {
    match form {
        0 => Micros(micros).to_string(),
        1 => format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000),
        _ => format!("{micros}e-6"),
    }
}

proptest! {
    #[test]
    fn header_parser_never_panics(line in prop_oneof![any::<String>(), tricky_string()]) {
        let _ = parse_header_line(&line);
        let _ = parse_header_line(&format!("{{\"version\": 3, \"term\": {line}}}"));
        let _ = parse_header_line(&format!("{{\"version\": 2, \"width\": 1, \"height\": {line}}}"));
    }

    #[test]
    fn decoder_never_panics(
        lines in prop::collection::vec(
            prop_oneof![any::<String>(), tricky_string(), event_like_line()],
            1..8,
        ),
    ) {
        for version in [Version::V2, Version::V3] {
            let mut decoder = Decoder::new(version);
            for line in &lines {
                let _ = decoder.decode_line(line);
            }
        }
    }

    #[test]
    fn stripper_never_panics_and_leaves_no_controls(data in tricky_string()) {
        let text = strip_escapes(&data);
        prop_assert!(
            !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{:?} -> {:?}", data, text
        );
    }

    #[test]
    fn stripper_output_does_not_depend_on_event_boundaries(
        data in tricky_string(),
        cut in any::<prop::sample::Index>(),
    ) {
        let boundaries: Vec<usize> =
            data.char_indices().map(|(i, _)| i).chain([data.len()]).collect();
        let at = boundaries[cut.index(boundaries.len())];
        let (head, tail) = data.split_at(at);
        let mut stripper = EscapeStripper::new();
        let split = stripper.strip(head) + &stripper.strip(tail);
        prop_assert_eq!(split, strip_escapes(&data));
    }

    #[test]
    fn v2_events_round_trip(events in v2_events()) {
        let mut decoder = Decoder::new(Version::V2);
        for event in &events {
            let line = event.to_line();
            prop_assert_eq!(decoder.decode_line(&line), Ok(Some(event.clone())), "{}", line);
        }
    }

    #[test]
    fn header_round_trips(header in header()) {
        prop_assert_eq!(parse_header_line(&header.to_line()), Ok((header, Version::V2)));
    }

    #[test]
    fn v3_times_are_exact_sums_of_intervals(
        intervals in prop::collection::vec(
            (
                prop_oneof![
                    Just(1u64), Just(100_000), Just(300_000), Just(0), 0..10_000_000u64,
                ],
                0..3u8,
            ),
            1..300,
        ),
    ) {
        let mut decoder = Decoder::new(Version::V3);
        let mut expected = 0u64;
        for (micros, form) in intervals {
            expected += micros;
            let line = format!("[{}, \"o\", \".\"]", interval_text(micros, form));
            let event = decoder.decode_line(&line);
            prop_assert_eq!(event.map(|e| e.map(|e| e.time)), Ok(Some(Micros(expected))));
        }
    }

    #[test]
    fn times_format_and_parse_back(micros in any::<u64>()) {
        let text = Micros(micros).to_string();
        prop_assert_eq!(Micros::parse_seconds(&text), Ok(Micros(micros)));
        prop_assert!(!text.ends_with('0') || text.ends_with(".0"));
    }

    #[test]
    fn json_strings_are_escaped_like_serde_json(s in any::<String>()) {
        let mut ours = String::new();
        push_json_str(&mut ours, &s);
        prop_assert_eq!(Ok(ours), serde_json::to_string(&s).map_err(|e| e.to_string()));
    }
}
