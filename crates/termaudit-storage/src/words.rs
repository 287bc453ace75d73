//! The history search's word indexes (migration V7): which words of a
//! free-text query every match must contain, and whether they are rare
//! enough that the word index should find the candidates.
//!
//! `q` matches a text when `lower(q)` occurs in `lower(text)` (that is what
//! `ILIKE '%q%'` tests). `history_words` splits a text into words at ASCII
//! characters other than letters and digits; `lower` maps no character to
//! or from those (checked over every code point), so the separators of
//! `q` are separators of the text wherever `q` occurs in it. Hence every
//! piece of `q` between two separators is a whole word of any matching
//! text, and the piece after the last separator is the start of one. The
//! piece before the first separator may be the end of a longer word: it
//! says nothing. The word condition is therefore true of every row that
//! `ILIKE` matches, and `ILIKE` stays the exact test.
//!
//! The SQL function `history_words_query` computes the condition from `q`
//! itself, with PostgreSQL's `lower`; this module only decides whether to
//! use it, so its own lower-casing (Rust's) never decides what matches.
//!
//! A `q` without a whole word or a long enough prefix (`123456`,
//! `ab123456`) may still hold runs of ASCII digits: each lies inside a run
//! of digits of any matching text, so it starts a suffix of that run, which
//! the digit indexes (`history_digits`, migration V23) keep. Digits need no
//! lower-casing: [`QueryDigits`] builds that condition here.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// `history_words` keeps the first 64 characters of a word.
const WORD_CHARS: usize = 64;

/// A prefix shorter than this may start a great many different words
/// (`1`, `12`: every number), which the index would read and merge.
const MIN_PREFIX_CHARS: usize = 4;

/// The separators of `history_words` (`[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]`).
fn is_separator(c: char) -> bool {
    c.is_ascii() && c != '\0' && !c.is_ascii_alphanumeric()
}

/// How the index keeps a word, near enough to compare with its statistics.
fn normalized(word: &str) -> String {
    word.to_lowercase().chars().take(WORD_CHARS).collect()
}

/// The words of a query that every match contains.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct QueryWords {
    /// Pieces between two separators: whole words of any match.
    pub(crate) whole: Vec<String>,
    /// The piece after the last separator: the start of a word of any match.
    pub(crate) prefix: Option<String>,
}

impl QueryWords {
    pub(crate) fn of(q: &str) -> Self {
        let pieces: Vec<&str> = q.split(is_separator).collect();
        let [_first, interior @ .., last] = pieces.as_slice() else {
            // No separator: one piece, maybe part of a longer word.
            return Self::default();
        };
        Self {
            whole: interior.iter().filter(|p| !p.is_empty()).map(|p| normalized(p)).collect(),
            prefix: (!last.is_empty()).then(|| normalized(last)),
        }
    }

    /// Whether the word index should pre-filter, judged against the words
    /// ANALYZE found most common in it: `None` when every word is common
    /// (the index would read long lists; the trigram or time index does
    /// better), else whether to include the prefix. A rare whole word is
    /// enough on its own; a common prefix is left out, since the index
    /// merges the lists of every word it starts.
    pub(crate) fn plan(&self, common: &HashSet<String>) -> Option<WithPrefix> {
        let rare_prefix = self.prefix.as_ref().is_some_and(|prefix| {
            prefix.chars().count() >= MIN_PREFIX_CHARS
                && !common.iter().any(|word| word.starts_with(prefix.as_str()))
        });
        if rare_prefix {
            Some(WithPrefix(true))
        } else if self.whole.iter().any(|word| !common.contains(word)) {
            Some(WithPrefix(false))
        } else {
            None
        }
    }
}

/// Whether `history_words_query` includes the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WithPrefix(pub(crate) bool);

/// `history_digits` indexes runs of this many digits or more, each suffix
/// of at least as many.
const MIN_DIGITS: usize = 4;

/// ... and keeps a suffix's first this many digits.
const SUFFIX_DIGITS: usize = 16;

/// The lexeme `history_digits` keeps for a text with too many digits to
/// index: a candidate for every digit query.
const TOO_MANY_DIGITS: &str = "~";

/// The runs of ASCII digits of a query long enough for the digit indexes,
/// cut as the index cuts its suffixes: each starts a suffix of a run of
/// digits of any matching text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct QueryDigits(Vec<String>);

impl QueryDigits {
    pub(crate) fn of(q: &str) -> Self {
        Self(
            q.split(|c: char| !c.is_ascii_digit())
                .filter(|run| run.len() >= MIN_DIGITS)
                .map(|run| run[..run.len().min(SUFFIX_DIGITS)].to_owned())
                .collect(),
        )
    }

    /// The `tsquery` for the digit index, judged against its most common
    /// lexemes as [`QueryWords::plan`] judges words: every run that starts
    /// no common suffix, or `None` when there is none (or when texts with
    /// too many digits to index, candidates for any run, are common).
    pub(crate) fn plan(&self, common: &HashSet<String>) -> Option<String> {
        if common.contains(TOO_MANY_DIGITS) {
            return None;
        }
        let rare: Vec<String> = self
            .0
            .iter()
            .filter(|run| !common.iter().any(|suffix| suffix.starts_with(run.as_str())))
            .map(|run| format!("'{run}':*"))
            .collect();
        (!rare.is_empty()).then(|| format!("({}) | '{TOO_MANY_DIGITS}'", rare.join(" & ")))
    }
}

/// The most common words of each word index, and lexemes of each digit
/// index, from `pg_stats`; and a sample of each side's texts.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommonWords {
    pub(crate) sessions: HashSet<String>,
    pub(crate) activity: HashSet<String>,
    pub(crate) sessions_digits: HashSet<String>,
    pub(crate) activity_digits: HashSet<String>,
    pub(crate) sessions_sample: TextSample,
    pub(crate) activity_sample: TextSample,
}

/// A pattern found in at least this share of a sample is common: a page of
/// 50 matches lies within the newest ~6 400 sessions the filters select.
/// (PostgreSQL's planner, from the same sample, takes a pattern found in
/// none as one row in ten thousand, and one found once as one in a
/// hundred.)
const COMMON_SHARE: f64 = 1.0 / 128.0;

/// Texts that ANALYZE sampled from a column (`pg_stats`: its most common
/// values and its histogram's bounds), lower-cased: what the planner
/// judges a pattern by, read once for every query of the next minutes.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextSample(Vec<String>);

impl TextSample {
    pub(crate) fn new(texts: impl IntoIterator<Item = String>) -> Self {
        Self(texts.into_iter().map(|text| text.to_lowercase()).collect())
    }

    /// Whether `q` occurs, ignoring case, in enough of the sample that
    /// walking the newest sessions finds a page soon. Never for an empty
    /// sample (a column not analyzed yet), and always for a `q` of fewer
    /// than three characters, which has no trigram for the index to use.
    /// Rust's lower-casing only estimates here: `ILIKE` decides what matches.
    pub(crate) fn is_common(&self, q: &str) -> bool {
        let q = q.to_lowercase();
        if q.chars().count() < 3 {
            return true;
        }
        if self.0.is_empty() {
            return false;
        }
        let found = self.0.iter().filter(|text| text.contains(q.as_str())).count();
        found as f64 >= COMMON_SHARE * self.0.len() as f64
    }
}

/// The last [`CommonWords`] read, and when, shared by a store's clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommonWordsCache(Arc<Mutex<Option<CommonWordsRead>>>);

#[derive(Debug)]
struct CommonWordsRead {
    at: Instant,
    words: Arc<CommonWords>,
}

impl CommonWordsCache {
    /// The words read less than `ttl` ago, if any.
    pub(crate) fn fresh(&self, ttl: Duration) -> Option<Arc<CommonWords>> {
        let cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached.as_ref().filter(|read| read.at.elapsed() < ttl).map(|read| read.words.clone())
    }

    pub(crate) fn put(&self, words: Arc<CommonWords>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(CommonWordsRead { at: Instant::now(), words });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(whole: &[&str], prefix: Option<&str>) -> QueryWords {
        QueryWords {
            whole: whole.iter().map(|w| w.to_string()).collect(),
            prefix: prefix.map(str::to_owned),
        }
    }

    #[test]
    fn only_pieces_after_a_separator_count() {
        assert_eq!(QueryWords::of("replication"), words(&[], None));
        assert_eq!(QueryWords::of("INC-123456:"), words(&["123456"], None));
        assert_eq!(QueryWords::of("nc-123"), words(&[], Some("123")));
        assert_eq!(QueryWords::of("CHG-42"), words(&[], Some("42")));
        assert_eq!(
            QueryWords::of(" Check Replication lag"),
            words(&["check", "replication"], Some("lag"))
        );
        assert_eq!(QueryWords::of("a--b__c "), words(&["b", "c"], None));
        assert_eq!(QueryWords::of("-"), words(&[], None));
        assert_eq!(QueryWords::of(""), words(&[], None));
        assert_eq!(
            QueryWords::of("x Ünïcödé\u{a0}wörd y"),
            words(&["ünïcödé\u{a0}wörd"], Some("y"))
        );
        assert_eq!(QueryWords::of("100%_a\\b"), words(&["a"], Some("b")));
        let long = "x".repeat(100);
        assert_eq!(QueryWords::of(&format!("a {long} b")).whole, ["x".repeat(64)]);
    }

    #[test]
    fn common_words_leave_the_trigram_path() {
        let common: HashSet<String> =
            ["replication", "lag", "inc", "fix", "1"].iter().map(|w| w.to_string()).collect();
        assert_eq!(QueryWords::of("INC-123456:").plan(&common), Some(WithPrefix(false)));
        assert_eq!(QueryWords::of("INC-123456: fix").plan(&common), Some(WithPrefix(false)));
        assert_eq!(QueryWords::of("CHG-1954786194").plan(&common), Some(WithPrefix(true)));
        assert_eq!(QueryWords::of("check replication lag").plan(&common), None);
        assert_eq!(QueryWords::of("INC-12").plan(&common), None, "a short prefix");
        assert_eq!(QueryWords::of("x-repl").plan(&common), None, "starts a common word");
        assert_eq!(QueryWords::of("replication").plan(&common), None);
        assert_eq!(QueryWords::of("zzz-1").plan(&HashSet::new()), None);
        assert_eq!(QueryWords::of("a b c").plan(&HashSet::new()), Some(WithPrefix(false)));
    }

    #[test]
    fn a_pattern_in_enough_of_the_sample_is_common() {
        let texts = |n: usize, text: &str| std::iter::repeat_n(text.to_owned(), n);
        let sample =
            TextSample::new(texts(2, "INC-1: Check Replication Lag").chain(texts(126, "other")));
        assert!(sample.is_common("replication lag"), "2 in 128");
        assert!(sample.is_common("REPLICATION"), "ignoring case");
        assert!(!sample.is_common("replication lagging"), "in none");
        let sample = TextSample::new(texts(1, "x replication").chain(texts(200, "other")));
        assert!(!sample.is_common("replication"), "1 in 201");
        assert!(!TextSample::default().is_common("replication"), "no statistics yet");
        assert!(TextSample::default().is_common("ab"), "no trigram");
        assert!(TextSample::default().is_common("é€"), "two characters, more bytes");
    }

    #[test]
    fn runs_of_four_digits_or_more_start_a_suffix() {
        let runs = |q: &str| QueryDigits::of(q).0;
        assert_eq!(runs("123456"), ["123456"]);
        assert_eq!(runs("ab123456cd"), ["123456"]);
        assert_eq!(runs("x1234y56789z123"), ["1234", "56789"]);
        assert!(runs("123").is_empty());
        assert!(runs("replication").is_empty());
        // Only ASCII digits: others are letters to `history_digits` too.
        assert!(runs("١٢٣٤٥ １２３４５").is_empty());
        assert_eq!(runs("é12345é"), ["12345"]);
        assert_eq!(runs(&"9".repeat(40)), ["9".repeat(16)]);
    }

    #[test]
    fn common_suffixes_leave_the_trigram_path() {
        let common: HashSet<String> =
            ["2026", "20261", "1234"].iter().map(|w| w.to_string()).collect();
        let plan = |q: &str| QueryDigits::of(q).plan(&common);
        assert_eq!(plan("123456").as_deref(), Some("('123456':*) | '~'"));
        assert_eq!(plan("a987654b55555").as_deref(), Some("('987654':* & '55555':*) | '~'"));
        assert_eq!(plan("2026"), None);
        assert_eq!(plan("202"), None, "too short");
        assert_eq!(plan("x1234"), None, "the start of a common suffix");
        assert_eq!(plan("2026-123456").as_deref(), Some("('123456':*) | '~'"));
        let long_texts_common: HashSet<String> = [TOO_MANY_DIGITS.to_owned()].into();
        assert_eq!(QueryDigits::of("123456").plan(&long_texts_common), None);
    }
}
