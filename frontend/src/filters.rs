//! The history page's filters, kept in the page's query string so a view can
//! be shared and survives a reload, and turned into the API's query.

use serde::{Deserialize, Serialize};

use crate::api::encode;

/// Sessions per page of the history.
pub const PAGE_SIZE: u32 = 50;

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
        }
    }

    /// The path of one page of the project's sessions: the filters, the page
    /// size and, after the first page, the previous page's `next_cursor`.
    pub fn api_path(&self, slug: &str, cursor: Option<&str>) -> String {
        let mut query: Vec<String> = self
            .pairs()
            .into_iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect();
        if let Some(cursor) = cursor {
            query.push(format!("cursor={}", encode(cursor)));
        }
        query.push(format!("limit={PAGE_SIZE}"));
        format!("/projects/{}/sessions?{}", encode(slug), query.join("&"))
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

#[cfg(test)]
mod tests {
    use super::*;

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
