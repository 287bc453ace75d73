//! Opaque keyset-pagination cursors: the sort key of the last row of a page.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the next page starts: after the row with this time and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "t")]
    pub time: DateTime<Utc>,
    /// The row's id, as text (sessions have UUIDs, events integers).
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)
    }

    pub fn uuid(&self) -> Result<uuid::Uuid, InvalidCursor> {
        self.id.parse().map_err(|_| InvalidCursor)
    }

    pub fn int(&self) -> Result<i64, InvalidCursor> {
        self.id.parse().map_err(|_| InvalidCursor)
    }
}

/// A page of rows and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Builds the WHERE clause of a dynamic query: only the filters a request
/// uses become conditions, so the planner sees a query its indexes fit
/// (rather than `$n IS NULL OR ...` for every optional filter).
pub(crate) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>,
}

impl Conditions {
    pub(crate) fn new() -> Self {
        Self { clauses: Vec::new(), params: Vec::new() }
    }

    /// Adds a condition; `{}` placeholders in `clause` become the next
    /// parameter numbers, one per value, in order.
    pub(crate) fn push(
        &mut self,
        clause: &str,
        values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>,
    ) {
        let mut text = String::new();
        let mut pieces = clause.split("{}");
        text.push_str(pieces.next().unwrap_or_default());
        for (piece, value) in pieces.zip(values) {
            self.params.push(value);
            text.push_str(&format!("${}", self.params.len()));
            text.push_str(piece);
        }
        self.clauses.push(text);
    }

    /// Adds a parameter without a condition (e.g. for LIMIT) and returns its placeholder.
    pub(crate) fn param(
        &mut self,
        value: Box<dyn tokio_postgres::types::ToSql + Sync + Send>,
    ) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.clauses.is_empty() { String::from("TRUE") } else { self.clauses.join(" AND ") }
    }

    pub(crate) fn params(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect()
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern and wraps it in `%...%`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { time: Utc::now(), id: "42".into() };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode("").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{\"x\":1}")).is_err());
    }

    #[test]
    fn conditions_number_their_parameters() {
        let mut c = Conditions::new();
        c.push("a = {}", vec![Box::new(1i32)]);
        c.push("(b, c) < ({}, {})", vec![Box::new(2i32), Box::new(3i32)]);
        assert_eq!(c.where_clause(), "a = $1 AND (b, c) < ($2, $3)");
        assert_eq!(c.param(Box::new(10i64)), "$4");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
