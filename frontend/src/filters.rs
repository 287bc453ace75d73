//! The history page's filters, kept in the page's query string so a view can
//! be shared and survives a reload, and turned into the API's query.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::api::encode;

/// Sessions per page of the history.
pub const PAGE_SIZE: u32 = 50;

/// The values the API takes for each filter with a closed set, with the
/// labels the page shows for them.
pub const STATUSES: [(&str, &str); 3] =
    [("active", "Live"), ("dropped", "Dropped"), ("closed", "Closed")];
pub const CLASSES: [(&str, &str); 2] =
    [("production", "Production"), ("non_production", "Non-production")];
pub const MODES: [(&str, &str); 4] =
    [("shell", "Shell"), ("database", "Database"), ("runbook", "Runbook"), ("command", "Command")];
pub const RECORDING: [(&str, &str); 2] = [("true", "Recorded"), ("false", "Not recorded")];

/// The free text's length in characters, as the API bounds it.
pub const TEXT_LENGTH: std::ops::RangeInclusive<usize> = 2..=200;

/// The quick ranges offered: a label and how far back from now.
pub const QUICK_RANGES: [(&str, i64); 3] =
    [("Last 24 hours", 24), ("Last 7 days", 24 * 7), ("Last 30 days", 24 * 30)];

/// A filter from the page's address that the history cannot use (a link
/// edited by hand, an old bookmark), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The filter's label on the page.
    pub label: &'static str,
    pub value: String,
    pub why: String,
}

/// [`Filters::checked`]: what the history can use of the address's filters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checked {
    pub filters: Filters,
    pub rejected: Vec<Rejected>,
    /// The opened range's start came after its end: it is read the other way round.
    pub swapped: bool,
}

/// Every filter of `GET /sessions`, as the page's URL holds it: an empty
/// string is "any". Times are RFC 3339 in UTC, so a shared link means the
/// same sessions in every time zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment_class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub opened_from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub opened_to: String,
    /// `true`, `false` or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub has_recording: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub q: String,
    /// `recordings`: `q` searches what the recordings' screens showed
    /// instead (the history's search "in recordings"); empty otherwise.
    #[serde(rename = "in", skip_serializing_if = "String::is_empty")]
    pub search_in: String,
}

impl Filters {
    /// The filters as `(name, value)`, without the empty ones, trimmed.
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("status", &self.status),
            ("environment_class", &self.environment_class),
            ("environment", &self.environment),
            ("target_id", &self.target_id),
            ("user", &self.user),
            ("mode", &self.mode),
            ("opened_from", &self.opened_from),
            ("opened_to", &self.opened_to),
            ("has_recording", &self.has_recording),
            ("q", &self.q),
        ]
        .into_iter()
        .map(|(name, value)| (name, value.trim()))
        .filter(|(_, value)| !value.is_empty())
        .collect()
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// How many filters are set.
    pub fn count(&self) -> usize {
        self.pairs().len()
    }

    /// The filters the history can use and those it cannot, each with why:
    /// what the API would refuse with a 400, found before asking it, so the
    /// page can say which filter is wrong and still show the others' list.
    pub fn checked(&self) -> Checked {
        let mut filters = self.trimmed();
        let mut rejected = Vec::new();
        let mut reject = |label: &'static str, value: &mut String, why: String| {
            rejected.push(Rejected { label, value: std::mem::take(value), why });
        };
        let one_of = |value: &str, set: &[(&str, &str)]| {
            value.is_empty() || set.iter().any(|(known, _)| *known == value)
        };
        let names = |set: &[(&str, &str)]| {
            set.iter().map(|(value, _)| *value).collect::<Vec<_>>().join(", ")
        };
        for (label, set, value) in [
            ("Status", &STATUSES[..], &mut filters.status),
            ("Environment class", &CLASSES[..], &mut filters.environment_class),
            ("Mode", &MODES[..], &mut filters.mode),
            ("Recording", &RECORDING[..], &mut filters.has_recording),
        ] {
            if !one_of(value, set) {
                reject(label, value, format!("must be one of {}", names(set)));
            }
        }
        if !filters.target_id.is_empty() && uuid::Uuid::parse_str(&filters.target_id).is_err() {
            reject("Target", &mut filters.target_id, "is not a target's id".to_owned());
        }
        for (label, value) in
            [("Opened from", &mut filters.opened_from), ("Opened until", &mut filters.opened_to)]
        {
            if !value.is_empty() && DateTime::parse_from_rfc3339(value).is_err() {
                reject(label, value, "is not a date and time (RFC 3339)".to_owned());
            }
        }
        let length = filters.q.chars().count();
        if !filters.q.is_empty() && !TEXT_LENGTH.contains(&length) {
            reject(
                "Search",
                &mut filters.q,
                format!("must be {} to {} characters", TEXT_LENGTH.start(), TEXT_LENGTH.end()),
            );
        }
        let swapped = reversed(&filters.opened_from, &filters.opened_to);
        if swapped {
            std::mem::swap(&mut filters.opened_from, &mut filters.opened_to);
        }
        Checked { filters, rejected, swapped }
    }

    /// The same filters without the one named `name` (a chip's ×).
    pub fn without(&self, name: &str) -> Filters {
        let mut next = self.clone();
        match name {
            "status" => next.status.clear(),
            "environment_class" => next.environment_class.clear(),
            "environment" => next.environment.clear(),
            "target_id" => next.target_id.clear(),
            "user" => next.user.clear(),
            "mode" => next.mode.clear(),
            "opened_from" => next.opened_from.clear(),
            "opened_to" => next.opened_to.clear(),
            "has_recording" => next.has_recording.clear(),
            "q" => next.q.clear(),
            _ => {}
        }
        next
    }

    /// The filters set, as `(name, label, value as shown)`; a target's id
    /// shows as what `target_name` calls it, a value of a closed set by its label.
    pub fn chips(
        &self,
        target_name: impl Fn(&str) -> Option<String>,
    ) -> Vec<(&'static str, &'static str, String)> {
        let label_of = |set: &[(&str, &str)], value: &str| {
            set.iter()
                .find(|(known, _)| *known == value)
                .map_or_else(|| value.to_owned(), |(_, label)| (*label).to_owned())
        };
        self.pairs()
            .into_iter()
            .map(|(name, value)| {
                let (label, shown) = match name {
                    "status" => ("Status", label_of(&STATUSES, value)),
                    "environment_class" => ("Class", label_of(&CLASSES, value)),
                    "environment" => ("Environment", value.to_owned()),
                    "target_id" => {
                        ("Target", target_name(value).unwrap_or_else(|| value.to_owned()))
                    }
                    "user" => ("User", value.to_owned()),
                    "mode" => ("Mode", label_of(&MODES, value)),
                    "opened_from" => ("From", crate::time::short(value)),
                    "opened_to" => ("Until", crate::time::short(value)),
                    "has_recording" => ("Recording", label_of(&RECORDING, value)),
                    _ => ("Search", value.to_owned()),
                };
                (name, label, shown)
            })
            .collect()
    }

    /// The same filters for the sessions opened in the last `hours` before
    /// `now` (to the minute, so a link made now reads cleanly).
    pub fn last_hours(&self, hours: i64, now: DateTime<Utc>) -> Filters {
        let from = now - Duration::hours(hours);
        Filters {
            opened_from: from.format("%Y-%m-%dT%H:%M:00Z").to_string(),
            opened_to: String::new(),
            ..self.clone()
        }
    }

    /// The same filters with surrounding spaces removed, as the URL should hold them.
    pub fn trimmed(&self) -> Filters {
        let t = |value: &String| value.trim().to_owned();
        Filters {
            status: t(&self.status),
            environment_class: t(&self.environment_class),
            environment: t(&self.environment),
            target_id: t(&self.target_id),
            user: t(&self.user),
            mode: t(&self.mode),
            opened_from: t(&self.opened_from),
            opened_to: t(&self.opened_to),
            has_recording: t(&self.has_recording),
            q: t(&self.q),
            search_in: t(&self.search_in),
        }
    }

    /// The path of one page of the project's sessions: the filters, the page
    /// size and, after the first page, the previous page's `next_cursor`.
    pub fn api_path(&self, slug: &str, cursor: Option<&str>) -> String {
        self.api_path_sized(slug, cursor, PAGE_SIZE as usize)
    }

    /// [`Filters::api_path`] for a page of `limit` sessions.
    pub fn api_path_sized(&self, slug: &str, cursor: Option<&str>, limit: usize) -> String {
        let mut query: Vec<String> = self
            .pairs()
            .into_iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect();
        if let Some(cursor) = cursor {
            query.push(format!("cursor={}", encode(cursor)));
        }
        query.push(format!("limit={limit}"));
        format!("/projects/{}/sessions?{}", encode(slug), query.join("&"))
    }

    /// Whether `q` searches the recordings' text (see [`Filters::search_in`]).
    pub fn in_recordings(&self) -> bool {
        self.search_in == "recordings" && !self.q.trim().is_empty()
    }

    /// The path of the search across the project's recordings
    /// (`GET /recordings/search`) for `q` with the filters it shares with
    /// the history (all but the recording filter: every hit is recorded).
    pub fn recording_search_path(&self, slug: &str) -> String {
        let query: Vec<String> = self
            .pairs()
            .into_iter()
            .filter(|(name, _)| *name != "has_recording")
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .chain(std::iter::once("limit=20".to_owned()))
            .collect();
        format!("/projects/{}/recordings/search?{}", encode(slug), query.join("&"))
    }

    /// The path of the project's export (`GET /export`) in `format` for
    /// records from `from` to `to` (RFC 3339, either may be empty), with the
    /// filters the export shares with the history. The free text and the
    /// recording filter are the history's own; the export has no such filter.
    pub fn export_path(&self, slug: &str, format: &str, from: &str, to: &str) -> String {
        let mut query = vec![format!("format={}", encode(format))];
        for (name, value) in [("from", from.trim()), ("to", to.trim())] {
            if !value.is_empty() {
                query.push(format!("{name}={}", encode(value)));
            }
        }
        for (name, value) in self.pairs() {
            if Self::EXPORTED.contains(&name) {
                query.push(format!("{name}={}", encode(value)));
            }
        }
        format!("/projects/{}/export?{}", encode(slug), query.join("&"))
    }

    /// The filters `GET /export` takes as well (`ExportQuery`).
    const EXPORTED: [&str; 6] =
        ["status", "environment_class", "environment", "target_id", "user", "mode"];

    /// The history's filters the export cannot apply, by their labels.
    pub fn not_exported(&self) -> Vec<&'static str> {
        let mut left = Vec::new();
        if !self.q.trim().is_empty() {
            left.push("search");
        }
        if !self.has_recording.trim().is_empty() {
            left.push("recording");
        }
        left
    }
}

/// Whether the range from `from` to `to` (RFC 3339, either may be empty)
/// ends before it starts.
pub fn reversed(from: &str, to: &str) -> bool {
    matches!(bounds(from, to), Some((from, to)) if from > to)
}

/// Whether the range from `from` to `to` holds no moment at all (its end
/// is exclusive): what a form should not apply.
pub fn empty_range(from: &str, to: &str) -> bool {
    matches!(bounds(from, to), Some((from, to)) if from >= to)
}

fn bounds(from: &str, to: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let parse = |value: &str| DateTime::parse_from_rfc3339(value).ok().map(|at| at.to_utc());
    Some((parse(from)?, parse(to)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_the_api_would_refuse_are_named_and_left_out() {
        let filters = Filters {
            status: "bogus".into(),
            opened_from: "yesterday".into(),
            target_id: "not-a-uuid".into(),
            q: "a".into(),
            user: "alice".into(),
            mode: "shell".into(),
            ..Filters::default()
        };
        let checked = filters.checked();
        assert_eq!(
            checked.filters,
            Filters { user: "alice".into(), mode: "shell".into(), ..Filters::default() }
        );
        let named: Vec<(&str, &str)> =
            checked.rejected.iter().map(|r| (r.label, r.value.as_str())).collect();
        assert_eq!(
            named,
            [
                ("Status", "bogus"),
                ("Target", "not-a-uuid"),
                ("Opened from", "yesterday"),
                ("Search", "a")
            ]
        );
        assert_eq!(checked.rejected[0].why, "must be one of active, dropped, closed");
        assert!(!checked.swapped);
        let fine = Filters { status: "closed".into(), ..Filters::default() };
        assert_eq!(fine.checked(), Checked { filters: fine.clone(), ..Checked::default() });
    }

    #[test]
    fn a_reversed_range_is_read_the_other_way_round() {
        let filters = Filters {
            opened_from: "2026-11-26T00:00:00Z".into(),
            opened_to: "2026-11-25T00:00:00Z".into(),
            ..Filters::default()
        };
        let checked = filters.checked();
        assert!(checked.swapped && checked.rejected.is_empty());
        assert!(empty_range(&filters.opened_to, &filters.opened_to), "no moment in [t, t)");
        assert!(!empty_range(&filters.opened_to, &filters.opened_from));
        assert_eq!(checked.filters.opened_from, "2026-11-25T00:00:00Z");
        assert_eq!(checked.filters.opened_to, "2026-11-26T00:00:00Z");
    }

    #[test]
    fn chips_quick_ranges_and_removal() {
        let filters =
            Filters { status: "closed".into(), target_id: "7f0c".into(), ..Filters::default() };
        let chips = filters.chips(|id| (id == "7f0c").then(|| "orders-db".to_owned()));
        assert_eq!(
            chips,
            [
                ("status", "Status", "Closed".to_owned()),
                ("target_id", "Target", "orders-db".to_owned())
            ]
        );
        assert_eq!(filters.without("status").count(), 1);
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:15:42Z").expect("a time").to_utc();
        let last = filters.last_hours(24, now);
        assert_eq!(last.opened_from, "2026-11-24T10:15:00Z");
        assert_eq!(last.status, "closed");
    }

    #[test]
    fn the_api_path_holds_only_the_filters_set() {
        let filters = Filters {
            status: "closed".into(),
            q: " INC 42 ".into(),
            opened_from: "2026-11-25T10:15:00Z".into(),
            ..Filters::default()
        };
        assert_eq!(
            filters.api_path("demo", None),
            "/projects/demo/sessions?status=closed&opened_from=2026-11-25T10%3A15%3A00Z&q=INC%2042&limit=50"
        );
        assert_eq!(
            Filters::default().api_path("demo", Some("abc=")),
            "/projects/demo/sessions?cursor=abc%3D&limit=50"
        );
        assert_eq!(filters.count(), 3);
        assert!(Filters::default().is_empty());
    }

    #[test]
    fn the_export_path_holds_the_format_range_and_shared_filters() {
        let filters = Filters {
            status: "closed".into(),
            user: "bob".into(),
            q: "ignored".into(),
            opened_from: "2026-11-25T10:15:00Z".into(),
            ..Filters::default()
        };
        assert_eq!(
            filters.export_path("demo", "csv", "2026-11-25T10:00:00Z", ""),
            "/projects/demo/export?format=csv&from=2026-11-25T10%3A00%3A00Z&status=closed&user=bob"
        );
        assert_eq!(filters.not_exported(), ["search"]);
        assert_eq!(
            Filters::default().export_path("demo", "ndjson", "", "2026-11-26T00:00:00Z"),
            "/projects/demo/export?format=ndjson&to=2026-11-26T00%3A00%3A00Z"
        );
    }

    #[test]
    fn the_page_url_skips_empty_filters() {
        let filters = Filters { mode: "shell".into(), ..Filters::default() };
        assert_eq!(
            serde_json::to_value(&filters).expect("json"),
            serde_json::json!({"mode": "shell"})
        );
        let back: Filters =
            serde_json::from_value(serde_json::json!({"mode": "shell"})).expect("filters");
        assert_eq!(back, filters);
    }
}
