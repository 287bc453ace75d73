//! The history list: a project's sessions, filtered and paged newest
//! first, with free text over the session and its activity.

use termaudit_domain::{HistoryFilter, SessionListFilter};
use uuid::Uuid;

use super::lifecycle::SessionRow;
use crate::{
    Cursor, Page, StorageError, Store,
    sql::{Conditions, contains_pattern},
    words::{QueryDigits, QueryWords, WithPrefix},
};

/// The text `q` searches in a session, as its word and digit indexes
/// (`sessions_words`, `sessions_digits`) cover it; lower-cased, it is the
/// column `search_text` and its trigram index (`sessions_search_text`).
const SESSION_TEXT: &str = "(coalesce(s.reason, '') || ' ' || s.target_name || ' ' || s.user_subject || ' ' || s.user_name)";

/// A free-text filter, as conditions on a session's text and on its activity.
struct TextConditions {
    session: String,
    activity: String,
}

impl Store {
    /// One page of a project's sessions, newest first.
    pub async fn sessions(
        &self,
        project_id: Uuid,
        filter: &SessionListFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<SessionRow>, StorageError> {
        let mut c = list_conditions(project_id, filter, after)?;
        let client = self.client().await?;
        let text = match filter.text.as_deref() {
            Some(text) => Some(self.text_conditions(&client, &mut c, text).await?),
            None => None,
        };
        let limit_param = c.param(Box::new(limit as i64 + 1));
        let columns = include_str!("../sql/session_columns.sql");
        let order = format!("ORDER BY s.opened_at DESC, s.id DESC LIMIT {limit_param}");
        let sql = match text {
            None => format!("{columns} WHERE {} {order}", c.where_clause()),
            // Free text matches the session's own text or its activity. As
            // one `... OR EXISTS (...)` the planner can use neither trigram
            // index and walks the whole history for a rare word (seconds at
            // ten million sessions); as a union of two newest-first pages
            // each side picks its own plan: the word or trigram index for a
            // rare word, the time index for a common one.
            Some(TextConditions { session, activity }) => format!(
                "SELECT * FROM (
                     ({columns} WHERE {w} AND {session} {order})
                     UNION
                     ({columns} WHERE {w} AND EXISTS (SELECT 1 FROM session_activity a WHERE a.session_id = s.id AND {activity}) {order})
                 ) s {order}",
                w = c.where_clause()
            ),
        };
        let rows = client.query(&sql, &c.params()).await?;
        let mut items: Vec<SessionRow> =
            rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| Cursor { time: last.opened_at, id: last.id.to_string() })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The free-text conditions on a session's text and on its activity:
    /// `ILIKE '%q%'`, with the word index as a pre-filter where `q` has a
    /// word that must be whole (or start a word) in every match and that
    /// is rare in that index, else the digit index where `q` has a rare run
    /// of digits (see [`crate::words`]).
    async fn text_conditions(
        &self,
        client: &deadpool_postgres::Object,
        c: &mut Conditions,
        text: &str,
    ) -> Result<TextConditions, StorageError> {
        let pattern = c.param(Box::new(contains_pattern(text)));
        let (words, digits) = (QueryWords::of(text), QueryDigits::of(text));
        let common = if words.is_empty() && digits.is_empty() {
            None
        } else {
            Some(self.common_words(client).await?)
        };
        let mut q = None;
        let mut condition = |side: TextSide, plan: Option<TextPlan>| match plan {
            None => side.matches(&pattern, true),
            Some(TextPlan::Words(WithPrefix(with_prefix))) => {
                let q = q.get_or_insert_with(|| c.param(Box::new(text.to_owned())));
                format!(
                    "history_words({}) @@ history_words_query({q}, {with_prefix}) AND {}",
                    side.indexed(),
                    side.matches(&pattern, false)
                )
            }
            // `::text` first: a parameter cast straight to `tsquery` would be
            // typed `tsquery`, which a Rust string cannot be sent as.
            Some(TextPlan::Digits(query)) => {
                let query = c.param(Box::new(query));
                format!(
                    "history_digits({}) @@ {query}::text::tsquery AND {}",
                    side.indexed(),
                    side.matches(&pattern, false)
                )
            }
        };
        let plan = |words_common, digits_common| {
            words
                .plan(words_common)
                .map(TextPlan::Words)
                .or_else(|| digits.plan(digits_common).map(TextPlan::Digits))
        };
        let (session_plan, activity_plan) = match &common {
            Some(common) => (
                plan(&common.sessions, &common.sessions_digits),
                plan(&common.activity, &common.activity_digits),
            ),
            None => (None, None),
        };
        let session = condition(TextSide::Session, session_plan);
        let activity = condition(TextSide::Activity, activity_plan);
        Ok(TextConditions { session, activity })
    }
}

/// A side of a free-text search: the session's own text or its activity's.
#[derive(Clone, Copy)]
enum TextSide {
    Session,
    Activity,
}

impl TextSide {
    /// The text the side's word and digit indexes cover.
    fn indexed(self) -> &'static str {
        match self {
            Self::Session => SESSION_TEXT,
            Self::Activity => "a.text",
        }
    }

    /// The exact test: the side's text `ILIKE pattern`. With `trigram`
    /// false, `|| ''` keeps the trigram index out of the plan: the planner,
    /// misjudging its cost, would AND it with the word or digit index and
    /// read the long posting lists those avoid.
    fn matches(self, pattern: &str, trigram: bool) -> String {
        let keep_out = if trigram { "" } else { " || ''" };
        match self {
            // `ILIKE` is `lower(text) LIKE lower(pattern)` in a UTF-8
            // database; `search_text` is the session's text lower-cased
            // when written (V25), so no row is lower-cased here.
            Self::Session => format!("(s.search_text{keep_out}) LIKE lower({pattern})"),
            Self::Activity => format!("(a.text{keep_out}) ILIKE {pattern}"),
        }
    }
}

/// Which index pre-filters a side of a free-text search.
enum TextPlan {
    Words(WithPrefix),
    /// The digit index, with this `tsquery`.
    Digits(String),
}

/// The conditions of a page of the history list (sessions aliased `s`):
/// project `project_id`, `filter` but its free text, after `after`; its
/// project id is parameter `$1`.
pub(crate) fn list_conditions(
    project_id: Uuid,
    filter: &SessionListFilter,
    after: Option<&Cursor>,
) -> Result<Conditions, StorageError> {
    let mut c = Conditions::new();
    c.push("s.project_id = {}", vec![Box::new(project_id)]);
    for clause in history_conditions(&filter.sessions, &mut c) {
        c.and(clause);
    }
    if let Some(from) = filter.opened_from {
        c.push("s.opened_at >= {}", vec![Box::new(from)]);
    }
    if let Some(to) = filter.opened_to {
        c.push("s.opened_at < {}", vec![Box::new(to)]);
    }
    if let Some(recorded) = filter.recorded {
        c.push("s.recorded = {}", vec![Box::new(recorded)]);
    }
    if let Some(cursor) = after {
        let id = cursor.uuid().map_err(|_| StorageError::InvalidCursor)?;
        c.push("(s.opened_at, s.id) < ({}, {})", vec![Box::new(cursor.time), Box::new(id)]);
    }
    Ok(c)
}

/// The conditions `filter` puts on sessions (aliased `s`), their parameters
/// added to `c`: the one place a history filter becomes SQL, for the list
/// and the export alike.
pub(crate) fn history_conditions(filter: &HistoryFilter, c: &mut Conditions) -> Vec<String> {
    let mut clauses = Vec::new();
    let mut equal = |column: &str, value: Box<dyn tokio_postgres::types::ToSql + Sync + Send>| {
        clauses.push(format!("s.{column} = {}", c.param(value)));
    };
    if let Some(status) = filter.status {
        equal("status", Box::new(status.as_str()));
    }
    if let Some(class) = filter.environment_class {
        equal("environment_class", Box::new(class.as_str()));
    }
    if let Some(environment) = &filter.environment {
        equal("environment", Box::new(environment.clone()));
    }
    if let Some(target) = filter.target_id {
        equal("target_id", Box::new(target));
    }
    if let Some(user) = &filter.user_subject {
        equal("user_subject", Box::new(user.clone()));
    }
    if let Some(mode) = filter.mode {
        equal("mode", Box::new(mode.as_str()));
    }
    clauses
}
