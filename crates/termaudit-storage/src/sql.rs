//! Building SQL text: the WHERE clause of a dynamic query and LIKE
//! patterns. The statements themselves live in `sql/*.sql`.

use tokio_postgres::types::ToSql;

/// Builds the WHERE clause of a dynamic query: only the filters a request
/// uses become conditions, so the planner sees a query its indexes fit
/// (rather than `$n IS NULL OR ...` for every optional filter).
pub(crate) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Conditions {
    pub(crate) fn new() -> Self {
        Self { clauses: Vec::new(), params: Vec::new() }
    }

    /// Adds a condition; `{}` placeholders in `clause` become the next
    /// parameter numbers, one per value, in order.
    pub(crate) fn push(&mut self, clause: &str, values: Vec<Box<dyn ToSql + Sync + Send>>) {
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

    /// Adds a condition whose parameters were already added with [`param`].
    ///
    /// [`param`]: Self::param
    pub(crate) fn and(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// Adds a parameter without a condition (e.g. for LIMIT) and returns its placeholder.
    pub(crate) fn param(&mut self, value: Box<dyn ToSql + Sync + Send>) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.clauses.is_empty() { String::from("TRUE") } else { self.clauses.join(" AND ") }
    }

    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
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
