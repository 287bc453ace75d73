//! The codes the search across recordings indexes a recording's lines by
//! (`recording_text.grams`, and `recording_text.dense` for the negative
//! ones, V30, each with a GIN), and the codes a query looks them up by: a
//! row of lines is read for a query only if its codes hold the query's,
//! which they do whenever one of its lines holds the query.
//!
//! A line's codes are those of its folded text's three-character windows
//! ([`text_grams`]), unless the line is *dense* ([`is_dense`]: it shows a
//! run of random-looking characters, a key, a token, base64). Three
//! characters cannot tell a word from random text: 112 KiB of random
//! base64 holds 88% of the 54 872 windows of its folded alphabet, so a row
//! showing a secret held nearly every code of every word made of letters
//! and digits, was read to its end for each such word, and added tens of
//! thousands of codes that select nothing to the index. A dense line is
//! indexed instead by [`DENSE_MARK`] and the *minimizers* of its
//! four-character windows: of each two neighbouring windows, the one whose
//! code orders first (`minimizers`), about two codes for three
//! characters, in a space of their own (negative). A query of five
//! characters or more has two neighbouring windows at each place, so
//! every line holding it holds its minimizers: the query's dense codes are
//! the mark and those ([`QueryCodes::dense`]); a shorter query's are the
//! mark alone (every row showing dense text is read for it).
//!
//! A row keeps at most [`DENSE_CODES_CAP`] dense codes; past that it keeps
//! its lines' three-character codes instead, which hold every query's
//! three-character codes its lines hold.
//!
//! The codes are stored: changing how they are computed needs the rows'
//! codes computed again (rows stored before dense lines were told apart
//! hold every line's three-character codes, which stays right).

/// The modulus of a window's code: a prime below `i32::MAX`.
const GRAM_MODULUS: u64 = 2_147_483_629;

/// The code every row holding a dense line holds ([`is_dense`]).
pub const DENSE_MARK: i32 = i32::MIN;

/// A dense line shows a run of at least this many characters of base64's
/// alphabets ([`is_dense`]).
pub const DENSE_RUN: usize = 32;

/// The shortest query whose dense codes hold more than [`DENSE_MARK`]: two
/// neighbouring four-character windows.
pub const DENSE_QUERY_CHARS: usize = 5;

/// The most dense codes a row of lines keeps: past it the row is indexed by
/// its lines' three-character codes alone, dense lines included (read for
/// more words, as before dense lines were told apart), so a recording that
/// prints megabytes of base64 does not carry several times that in codes.
/// About 150 KiB of random base64 in a row of a MiB of text.
pub const DENSE_CODES_CAP: usize = 100_000;

/// The codes of the three-character windows of `folded` (a line or a query
/// after [`fold_case`](super::fold_case)), in order, repeats included: a
/// line holds the query only if it holds every code of the query (a query
/// shorter than three characters has none).
///
/// Each code is `((c1 * 2^21 + c2) mod P * 2^21 + c3) mod P` of the
/// windows' code points, `P` = 2147483629: V21 computes the same in SQL
/// for the lines stored before it (`ascii(substr(..))`). Distinct windows
/// may share a code; that only lets a row through that the line test
/// then rejects.
pub fn text_grams(folded: &str) -> impl Iterator<Item = i32> + '_ {
    text_grams_of(folded.chars())
}

/// [`text_grams`] of `line` after [`fold_case`](super::fold_case), folding
/// as it goes.
pub fn line_grams(line: &str) -> impl Iterator<Item = i32> + '_ {
    text_grams_of(line.chars().map(super::fold_char))
}

fn text_grams_of(chars: impl Iterator<Item = char>) -> impl Iterator<Item = i32> {
    grams_of(chars).filter_map(|code| i32::try_from(code).ok())
}

/// The three-character windows' codes, below [`GRAM_MODULUS`].
fn grams_of(chars: impl Iterator<Item = char>) -> impl Iterator<Item = u64> {
    let mut chars = chars.map(u64::from);
    let mut window = [chars.next(), chars.next()];
    chars.filter_map(move |c3| {
        let (Some(c1), Some(c2)) = (window[0], window[1]) else { return None };
        window = [Some(c2), Some(c3)];
        Some(((c1 * (1 << 21) + c2) % GRAM_MODULUS * (1 << 21) + c3) % GRAM_MODULUS)
    })
}

/// The codes of the four-character windows (`(g3 * 2^21 + c4) mod P`, `g3`
/// the code of the first three), in order.
fn quad_codes(chars: impl Iterator<Item = char> + Clone) -> impl Iterator<Item = u64> {
    grams_of(chars.clone())
        .zip(chars.skip(3).map(u64::from))
        .map(|(g3, c4)| (g3 * (1 << 21) + c4) % GRAM_MODULUS)
}

/// The order minimizers are chosen by: a bijection of the code (an odd
/// multiplier modulo 2^64), so the windows that order first are spread over
/// the code space, and equal keys mean equal codes.
fn order(code: u64) -> u64 {
    code.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Of each two neighbouring four-character windows of `chars`, the code of
/// the one that orders first, as stored (`-1 - code`: negative, apart from
/// the three-character codes), in order, repeats included.
fn minimizers(chars: impl Iterator<Item = char> + Clone) -> impl Iterator<Item = i32> {
    let mut previous: Option<u64> = None;
    quad_codes(chars).filter_map(move |code| {
        let first = previous.replace(code)?;
        let chosen = if order(code) < order(first) { code } else { first };
        i32::try_from(chosen).ok().map(|c| -1 - c)
    })
}

/// Whether `line` is indexed as dense: it shows a run of [`DENSE_RUN`] or
/// more characters of base64's alphabets (`A-Z a-z 0-9 + / - _`) holding an
/// upper-case letter, a lower-case one and a digit, as keys, tokens and
/// base64 do and words, paths, hex and log lines rarely do.
pub fn is_dense(line: &str) -> bool {
    let (mut run, mut classes) = (0, 0u8);
    for &byte in line.as_bytes() {
        let class = match byte {
            b'A'..=b'Z' => 1,
            b'a'..=b'z' => 2,
            b'0'..=b'9' => 4,
            b'+' | b'/' | b'-' | b'_' => 0,
            _ => {
                (run, classes) = (0, 0);
                continue;
            }
        };
        run += 1;
        classes |= class;
        if run >= DENSE_RUN && classes == 7 {
            return true;
        }
    }
    false
}

/// Calls `code` with each code `line` is indexed by (see the module's
/// documentation), repeats included: its three-character windows' codes,
/// or for a dense line [`DENSE_MARK`] and its minimizers. A row's codes are
/// the distinct codes of its lines.
pub fn line_codes(line: &str, mut code: impl FnMut(i32)) {
    if is_dense(line) {
        code(DENSE_MARK);
        minimizers(line.chars().map(super::fold_char)).for_each(code);
    } else {
        line_grams(line).for_each(code);
    }
}

/// The codes a query (folded) is looked up by: a row may hold a line with
/// the query only if its codes hold all of [`Self::grams`] (the line is not
/// dense) or all of [`Self::dense`] (it is). Each sorted, each code once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryCodes {
    /// Its three-character windows' codes (none under three characters).
    pub grams: Vec<i32>,
    /// [`DENSE_MARK`] and its minimizers (the mark alone under
    /// [`DENSE_QUERY_CHARS`] characters).
    pub dense: Vec<i32>,
}

impl QueryCodes {
    pub fn of(folded: &str) -> Self {
        let distinct = |mut codes: Vec<i32>| {
            codes.sort_unstable();
            codes.dedup();
            codes
        };
        let mut dense = vec![DENSE_MARK];
        dense.extend(minimizers(folded.chars()));
        Self { grams: distinct(text_grams(folded).collect()), dense: distinct(dense) }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::asciicast::fold_case;

    #[test]
    fn a_line_holds_every_gram_of_a_query_it_holds() {
        let grams = |text: &str| text_grams(text).collect::<Vec<_>>();
        assert!(grams("ab").is_empty() && grams("").is_empty());
        let abc = (((97u64 << 21) + 98) * (1 << 21) + 99) % 2_147_483_629;
        assert_eq!(grams("abc"), [i32::try_from(abc).expect("below the modulus")]);
        assert_eq!(grams("abcab").len(), 3);
        let line = fold_case("2026-12-06T05:31 ERROR: Disk FULL on /dev/sda 日本語のテキスト 🚀!");
        let held: HashSet<i32> = text_grams(&line).collect();
        for query in ["disk full", "error", "日本語", "テキスト 🚀", "t05", "a 日"] {
            let query = fold_case(query);
            assert!(line.contains(&query), "{query}");
            assert!(text_grams(&query).all(|g| held.contains(&g)), "{query}");
        }
        assert!(!text_grams("disk empty").all(|g| held.contains(&g)));
    }

    #[test]
    fn a_lines_grams_are_those_of_its_folded_text() {
        for line in
            ["plain ascii", "MiXeD CaSe 123", "Ünïcode ÜBER über", "日本語 🚀 ΣΑΣ", "ab", ""]
        {
            assert_eq!(
                line_grams(line).collect::<Vec<_>>(),
                text_grams(&fold_case(line)).collect::<Vec<_>>(),
                "{line}"
            );
        }
        assert_eq!(fold_case("DISK Full"), "disk full");
        assert_eq!(fold_case("ÜBER Full"), "über full");
    }

    /// A small deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick(&mut self, from: &[char]) -> char {
            from[(self.next() % from.len() as u64) as usize]
        }
    }

    fn line_code_set(line: &str) -> HashSet<i32> {
        let mut codes = HashSet::new();
        line_codes(line, |c| {
            codes.insert(c);
        });
        codes
    }

    #[test]
    fn dense_lines_are_runs_of_mixed_base64() {
        let key = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
        for dense in [
            key.to_owned(),
            format!("    tls.key: {key} # the key"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0".to_owned(),
            "a/B+c-D_e1".repeat(4),
        ] {
            assert!(is_dense(&dense), "{dense}");
        }
        for plain in [
            "2026-01-01T00:00:17 info kavi loru mine: deployed 12 pods",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30 /var/lib/postgresql/15/main",
            "THE_QUICK_BROWN_FOX_JUMPS_OVER_THE_LAZY_DOG_AGAIN_AND_AGAIN",
            &key[..31],
            &format!("{} {}", &key[..26], &key[26..]),
            "日本語のテキストを検索する世界",
        ] {
            assert!(!is_dense(plain), "{plain}");
        }
    }

    /// For every substring of three characters or more of generated lines
    /// (dense ones among plain text, across their edges, unicode, case):
    /// the line's codes hold the query's grams or its dense codes, so no
    /// row holding the line is passed over for it.
    #[test]
    fn a_line_holds_the_codes_of_every_query_it_holds() {
        let base64: Vec<char> =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".chars().collect();
        let words = ["tls.key: ", "error ", "Ünïcode ", "日本 ", "🚀", " -- ", "a"];
        let mut rng = Rng(0x0dd5_eed5);
        let (mut dense_lines, mut substrings) = (0, 0);
        for _ in 0..60 {
            let mut line = String::new();
            for _ in 0..(1 + rng.next() % 4) {
                if rng.next().is_multiple_of(2) {
                    line.push_str(words[(rng.next() % words.len() as u64) as usize]);
                } else {
                    let run = 20 + rng.next() % 40;
                    line.extend((0..run).map(|_| rng.pick(&base64)));
                }
            }
            let held = line_code_set(&line);
            dense_lines += usize::from(held.contains(&DENSE_MARK));
            let chars: Vec<char> = line.chars().collect();
            for start in 0..chars.len() {
                for end in start + 3..=chars.len() {
                    let query = fold_case(&chars[start..end].iter().collect::<String>());
                    let codes = QueryCodes::of(&query);
                    let holds = |codes: &[i32]| codes.iter().all(|c| held.contains(c));
                    assert!(holds(&codes.grams) || holds(&codes.dense), "{query:?} in {line:?}");
                    substrings += 1;
                }
            }
        }
        assert!((15..=50).contains(&dense_lines), "{dense_lines} dense lines of 60");
        assert!(substrings > 50_000, "{substrings}");
    }

    /// A dense line has none of its three-character codes (those select
    /// nothing in random text), about two codes for three characters, and
    /// selects: another key's row holds few of a query's dense codes.
    #[test]
    fn dense_lines_keep_a_sparse_selective_set_of_codes() {
        let base64: Vec<char> =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".chars().collect();
        let mut rng = Rng(0x005e_c2e7);
        let mut key = |n: usize| (0..n).map(|_| rng.pick(&base64)).collect::<String>();
        let (one, other) = (key(76 * 1500), key(76 * 1500));
        let held = line_code_set(&one);
        assert!(held.contains(&DENSE_MARK));
        assert!(!line_grams(&one).any(|g| held.contains(&g)));
        let per_char = held.len() as f64 / one.len() as f64;
        assert!((0.55..0.75).contains(&per_char), "{per_char} codes a character");
        // Of 1 000 seven-character strings of `other`, a few pass `one`'s
        // codes (2 here); by three-character codes more than half would.
        let grams: HashSet<i32> = line_grams(&one).collect();
        let (mut dense_passed, mut grams_passed) = (0, 0);
        for i in 0..1000 {
            let query = fold_case(&other[i * 100..i * 100 + 7]);
            let codes = QueryCodes::of(&query);
            dense_passed += usize::from(codes.dense.iter().all(|c| held.contains(c)));
            grams_passed += usize::from(codes.grams.iter().all(|c| grams.contains(c)));
        }
        assert!(dense_passed < 20, "{dense_passed} of 1000");
        assert!(grams_passed > 400, "{grams_passed} of 1000");
        // A short query's dense codes are the mark alone.
        assert_eq!(QueryCodes::of("abcd").dense, [DENSE_MARK]);
        assert_eq!(QueryCodes::of("abcde").dense.len(), 2);
    }
}
