//! JSON text rewritten the way `serde_json::Value` prints it, without
//! building the `Value`.
//!
//! The export writes each audit event's `details` as `Value`'s compact
//! form: no spaces, object keys sorted by their bytes, numbers as serde_json
//! re-prints them. PostgreSQL hands `jsonb` over as text with spaces and
//! the keys shortest first; parsing that into a `Value` (a `BTreeMap` and a
//! `String` per key) and printing it again was a third of the export's
//! work. [`compact_json`] produces the same bytes in one pass over the text,
//! copying strings and plain integers as they are, and leaves what it
//! cannot copy verbatim (escapes, other numbers) to serde_json itself.

use std::{borrow::Cow, ops::Range};

use serde_json::Number;

/// Deeper nesting is left to serde_json (which refuses past 127 levels).
const MAX_DEPTH: usize = 100;

/// Why [`compact_json`] gave up: the text is not JSON it can rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotCompactable;

/// Appends `text` (one JSON value, any whitespace) to `out` as
/// `serde_json::from_str::<Value>(text)?.to_string()` would. On
/// `Err(NotCompactable)`, `out` may hold part of it: the caller truncates
/// and falls back to serde_json, which also says what is wrong.
pub fn compact_json(text: &str, out: &mut String) -> Result<(), NotCompactable> {
    let mut parser = Parser { text: text.as_bytes(), pos: 0 };
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(NotCompactable);
    }
    Writer { text, out }.value(&value)
}

/// A parsed value, pointing into the text.
enum Node {
    /// `true`, `false`, `null`, a plain integer or a string without
    /// escapes (its quotes included): written as it is.
    Verbatim(Range<usize>),
    /// A string with escapes (quotes included): re-escaped by serde_json.
    Escaped(Range<usize>),
    /// Any other number: parsed and printed by serde_json.
    Number(Range<usize>),
    Array(Vec<Node>),
    /// Members in the text's order.
    Object(Vec<(Range<usize>, bool, Node)>),
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotCompactable> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(NotCompactable)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, NotCompactable> {
        if depth >= MAX_DEPTH {
            return Err(NotCompactable);
        }
        self.skip_ws();
        match self.peek().ok_or(NotCompactable)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let (range, escaped) = self.string()?;
                Ok(if escaped { Node::Escaped(range) } else { Node::Verbatim(range) })
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => Ok(self.number()),
            _ => Err(NotCompactable),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<Node, NotCompactable> {
        let start = self.pos;
        if self.text[start..].starts_with(word) {
            self.pos += word.len();
            Ok(Node::Verbatim(start..self.pos))
        } else {
            Err(NotCompactable)
        }
    }

    /// A number's extent; serde_json judges its grammar. Plain integers
    /// that fit a `u64` (up to 19 digits, no leading zero) print as they
    /// are written.
    fn number(&mut self) -> Node {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        let token = &self.text[start..self.pos];
        let plain = token.len() <= 19
            && token.iter().all(u8::is_ascii_digit)
            && (token[0] != b'0' || token.len() == 1);
        if plain { Node::Verbatim(start..self.pos) } else { Node::Number(start..self.pos) }
    }

    /// A string's extent with its quotes, and whether it holds escapes. A
    /// raw control character is not JSON.
    fn string(&mut self) -> Result<(Range<usize>, bool), NotCompactable> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.peek().ok_or(NotCompactable)? {
                b'"' => {
                    self.pos += 1;
                    return Ok((start..self.pos, escaped));
                }
                b'\\' => {
                    escaped = true;
                    // The escaped byte is skipped; serde_json checks the rest.
                    self.pos += 2;
                }
                0x00..=0x1f => return Err(NotCompactable),
                _ => self.pos += 1,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node, NotCompactable> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Node::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(NotCompactable),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, NotCompactable> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(NotCompactable);
            }
            let (key, escaped) = self.string()?;
            self.expect(b':')?;
            members.push((key, escaped, self.value(depth + 1)?));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object(members));
                }
                _ => return Err(NotCompactable),
            }
        }
    }
}

struct Writer<'a> {
    text: &'a str,
    out: &'a mut String,
}

impl Writer<'_> {
    fn value(&mut self, node: &Node) -> Result<(), NotCompactable> {
        match node {
            Node::Verbatim(range) => self.out.push_str(&self.text[range.clone()]),
            Node::Escaped(range) => self.escaped(range)?,
            Node::Number(range) => {
                let number: Number =
                    serde_json::from_str(&self.text[range.clone()]).map_err(|_| NotCompactable)?;
                self.out.push_str(&number.to_string());
            }
            Node::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.value(item)?;
                }
                self.out.push(']');
            }
            Node::Object(members) => self.object(members)?,
        }
        Ok(())
    }

    /// A string with escapes, as serde_json writes its value.
    fn escaped(&mut self, range: &Range<usize>) -> Result<(), NotCompactable> {
        let value = self.unescape(range)?;
        let text = serde_json::to_string(&value).map_err(|_| NotCompactable)?;
        self.out.push_str(&text);
        Ok(())
    }

    fn unescape(&self, range: &Range<usize>) -> Result<String, NotCompactable> {
        serde_json::from_str(&self.text[range.clone()]).map_err(|_| NotCompactable)
    }

    /// Members sorted by their keys' bytes (unescaped), the last of equal
    /// keys kept: a `BTreeMap` filled in the text's order.
    fn object(&mut self, members: &[(Range<usize>, bool, Node)]) -> Result<(), NotCompactable> {
        let mut keyed: Vec<(Cow<'_, str>, usize)> = Vec::with_capacity(members.len());
        for (i, (range, escaped, _)) in members.iter().enumerate() {
            let key = if *escaped {
                Cow::Owned(self.unescape(range)?)
            } else {
                Cow::Borrowed(&self.text[range.start + 1..range.end - 1])
            };
            keyed.push((key, i));
        }
        // Stable: among equal keys the text's order stays, and the last wins.
        keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        self.out.push('{');
        let mut first = true;
        for (n, (key, i)) in keyed.iter().enumerate() {
            if keyed.get(n + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !first {
                self.out.push(',');
            }
            first = false;
            let (range, escaped, value) = &members[*i];
            if *escaped {
                self.escaped(range)?;
            } else {
                self.out.push_str(&self.text[range.clone()]);
            }
            self.out.push(':');
            self.value(value)?;
        }
        self.out.push('}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the export wrote before: serde_json's `Value`, printed.
    fn by_value(text: &str) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(text).ok().map(|v| v.to_string())
    }

    fn compacted(text: &str) -> Option<String> {
        let mut out = String::new();
        compact_json(text, &mut out).ok().map(|()| out)
    }

    #[test]
    fn postgres_jsonb_text_is_written_as_value_prints_it() {
        for text in [
            // jsonb's text: spaces, keys shortest first.
            r#"{"m": 0.0000001, "n": 1.50, "error": null, "database": "x"}"#,
            r#"{"a": [1, 2, {"z": true, "b": false}], "": {}, "list": []}"#,
            r#"{"statement": "UPDATE orders SET state = 'paid' WHERE id = 7"}"#,
            r#"{"reason": "line1\nline2", "tab\tkey": "\u0001 \"q\" \\ \/ é \ud83d\ude00"}"#,
            r#"{"big": 18446744073709551615, "bigger": 18446744073709551616, "neg": -9223372036854775808}"#,
            r#"{"zero": 0, "negzero": -0, "float": 1.0, "exp": 1E+2, "tiny": 5e-324, "frac": -0.5}"#,
            r#"{"dup": 1, "dup": 2, "a\"b": 1, "a#": 2, "\u0061": 3}"#,
            r#"  [ ]  "#,
            r#""just a string""#,
            "12",
            "null",
        ] {
            assert_eq!(compacted(text), by_value(text), "{text}");
        }
    }

    #[test]
    fn what_is_not_json_is_left_to_serde_json() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "01",
            "1.",
            "--1",
            "tru",
            "\"a\u{1}\"",
            "\"\\x\"",
            "\"\\u12\"",
            "{} {}",
            "[1 2]",
            "{1:2}",
            "\"open",
        ] {
            assert_eq!(by_value(text), None, "{text:?} is not JSON");
            assert_eq!(compacted(text), None, "{text:?}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!((compacted(&deep), by_value(&deep)), (None, None));
    }

    /// A JSON value written with random whitespace, key order and number
    /// and string spellings, as any producer might.
    fn json_text() -> impl Strategy<Value = String> {
        let ws = prop::sample::select(vec!["", " ", "\n  ", "\t", "\r\n"]);
        let number = prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
        ];
        let string = prop_oneof![
            "[a-zA-Z0-9 _:/'=.-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            // Escapes serde_json would not write: \/, \uXXXX for anything.
            any::<String>().prop_map(|s| {
                let mut out = String::from("\"");
                for c in s.chars() {
                    match c {
                        '/' => out.push_str("\\/"),
                        '"' | '\\' | '\u{0}'..='\u{1f}' | 'a' | 'é' => {
                            let mut units = [0u16; 2];
                            for unit in c.encode_utf16(&mut units) {
                                out.push_str(&format!("\\u{unit:04X}"));
                            }
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }),
        ];
        let leaf = prop_oneof![
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("null".to_owned()),
            number,
            string.clone(),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let ws = ws.clone();
            prop_oneof![
                prop::collection::vec((inner.clone(), ws.clone()), 0..6).prop_map(|items| {
                    let items: Vec<String> =
                        items.into_iter().map(|(v, w)| format!("{w}{v}{w}")).collect();
                    format!("[{}]", items.join(","))
                }),
                prop::collection::vec((string.clone(), inner, ws), 0..6).prop_map(|members| {
                    let members: Vec<String> =
                        members.into_iter().map(|(k, v, w)| format!("{w}{k}{w}:{w}{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_text_is_written_as_value_prints_it(text in json_text()) {
            prop_assert_eq!(compacted(&text), by_value(&text));
        }
    }
}
