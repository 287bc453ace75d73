use std::collections::VecDeque;

use super::event::{Event, EventCode};
use super::text::EscapeStripper;
use super::time::Micros;
use crate::DomainError;

/// Finds a text in a recording's output, event by event, with escape
/// sequences removed (see [`EscapeStripper`]) and letter case ignored.
/// A match may span events, as typed text usually does; its time is that of
/// the event holding its first character.
///
/// It streams: its memory is bounded by the query's length, whatever the
/// recording's. Matching is Knuth-Morris-Pratt, linear in the output.
#[derive(Debug, Clone)]
pub struct TextSearch {
    needle: Vec<char>,
    failure: Vec<usize>,
    matched: usize,
    stripper: EscapeStripper,
    /// The last characters seen (as printed) with their event's time: the
    /// current partial match plus some context before it.
    recent: VecDeque<(char, Micros)>,
    text: String,
}

/// One occurrence of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    /// The time of the event where the match starts.
    pub time: Micros,
    /// Up to [`TextSearch::CONTEXT`] characters before the match, then the
    /// match as printed.
    pub context: String,
}

impl TextSearch {
    /// The longest query, in characters.
    pub const MAX_QUERY: usize = 200;
    /// Characters of context kept before a match.
    pub const CONTEXT: usize = 40;

    /// A search for `query`, which must hold 1 to 200 characters and no
    /// control characters (it is matched within lines).
    pub fn new(query: &str) -> Result<Self, DomainError> {
        if query.trim().is_empty() {
            return Err(DomainError::invalid("q", "must not be empty"));
        }
        if query.chars().count() > Self::MAX_QUERY {
            return Err(DomainError::invalid("q", "must be at most 200 characters"));
        }
        if query.chars().any(char::is_control) {
            return Err(DomainError::invalid("q", "must not contain control characters"));
        }
        let needle: Vec<char> = query.chars().map(fold).collect();
        let mut failure = vec![0; needle.len()];
        let mut k = 0;
        for i in 1..needle.len() {
            while k > 0 && needle[i] != needle[k] {
                k = failure[k - 1];
            }
            if needle[i] == needle[k] {
                k += 1;
            }
            failure[i] = k;
        }
        Ok(Self {
            needle,
            failure,
            matched: 0,
            stripper: EscapeStripper::new(),
            recent: VecDeque::new(),
            text: String::new(),
        })
    }

    /// Reads the next event (only output is searched) and appends the
    /// matches it completes to `found`.
    pub fn push(&mut self, event: &Event, found: &mut Vec<TextMatch>) {
        if event.code != EventCode::Output {
            return;
        }
        self.text.clear();
        self.stripper.push(&event.data, &mut self.text);
        let text = std::mem::take(&mut self.text);
        for c in text.chars() {
            self.step(c, event.time, found);
        }
        self.text = text;
    }

    fn step(&mut self, c: char, time: Micros, found: &mut Vec<TextMatch>) {
        let m = self.needle.len();
        self.recent.push_back((c, time));
        if self.recent.len() > m + Self::CONTEXT {
            self.recent.pop_front();
        }
        let folded = fold(c);
        while self.matched > 0 && self.needle[self.matched] != folded {
            self.matched = self.failure[self.matched - 1];
        }
        if self.needle[self.matched] == folded {
            self.matched += 1;
        }
        if self.matched == m {
            let start = self.recent.len() - m;
            let time = self.recent[start].1;
            // Context stops at the last line break before the match.
            let from = (0..start).rev().find(|i| self.recent[*i].0 == '\n').map_or(0, |i| i + 1);
            let context: String = self.recent.range(from..).map(|(c, _)| *c).collect();
            found.push(TextMatch { time, context });
            self.matched = self.failure[m - 1];
        }
    }
}

/// Case folding for matching: the first character of the lowercase form.
fn fold(c: char) -> char {
    if c.is_uppercase() { c.to_lowercase().next().unwrap_or(c) } else { c }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(query: &str, events: &[(u64, &str)]) -> Vec<(u64, String)> {
        let mut search = TextSearch::new(query).expect("a valid query");
        let mut found = Vec::new();
        for (time, data) in events {
            search.push(&Event::output(Micros(*time), *data), &mut found);
        }
        found.into_iter().map(|m| (m.time.0, m.context)).collect()
    }

    #[test]
    fn finds_text_through_colours_and_across_events() {
        let events = [
            (1, "$ \x1b[1;31mERR"),
            (2, "OR\x1b[0m: disk full\r\n"),
            (3, "$ e"),
            (4, "r"),
            (5, "ror"),
        ];
        assert_eq!(
            search("error", &events),
            vec![(1, "$ ERROR".to_owned()), (3, "$ error".to_owned())]
        );
        assert_eq!(search("DISK full", &events), vec![(2, "$ ERROR: disk full".to_owned())]);
        assert_eq!(search("nothing", &events), vec![]);
    }

    #[test]
    fn overlapping_and_repeated_matches_are_all_found() {
        let found = search("aa", &[(7, "aaa")]);
        assert_eq!(found.iter().map(|m| m.0).collect::<Vec<_>>(), vec![7, 7]);
        let found = search("abab", &[(1, "ab"), (2, "abab")]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, 1);
    }

    #[test]
    fn unicode_and_case() {
        assert_eq!(search("世界", &[(3, "日本語: こんにちは世界\r\n")]).len(), 1);
        assert_eq!(search("ÉCOLE", &[(3, "école")]).len(), 1);
    }

    #[test]
    fn non_output_is_not_searched() {
        let mut s = TextSearch::new("secret").expect("valid");
        let mut found = Vec::new();
        s.push(&Event::new(Micros(1), EventCode::Input, "secret"), &mut found);
        s.push(&Event::marker(Micros(1), "secret"), &mut found);
        assert!(found.is_empty());
    }

    #[test]
    fn bad_queries() {
        assert!(TextSearch::new("").is_err());
        assert!(TextSearch::new("  ").is_err());
        assert!(TextSearch::new("a\nb").is_err());
        assert!(TextSearch::new(&"x".repeat(201)).is_err());
        assert!(TextSearch::new(&"x".repeat(200)).is_ok());
    }
}
