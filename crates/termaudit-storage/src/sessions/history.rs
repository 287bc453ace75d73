//! The history list: a project's sessions, filtered and paged newest
//! first, with free text over the session and its activity.

use termaudit_domain::{HistoryFilter, SessionListFilter, SessionStatus};
use uuid::Uuid;

use super::lifecycle::SessionRow;
use crate::{
    Cursor, Page, StorageError, Store,
    sql::{Conditions, contains_pattern},
    words::{QueryDigits, QueryWords, TextSample, WithPrefix},
};

/// The text `q` searches in a session, as its word and digit indexes
/// (`sessions_words`, `sessions_digits`) cover it; lower-cased, it is the
/// column `search_text` and its trigram index (`sessions_search_text`).
const SESSION_TEXT: &str = "(coalesce(s.reason, '') || ' ' || s.target_name || ' ' || s.user_subject || ' ' || s.user_name)";

/// The most statements of the history list a connection keeps prepared.
const MAX_STATEMENTS: usize = 256;

/// A free-text filter: each side of the union that finds its matches,
/// the session's own text and its activity's.
struct TextSides {
    session: SideCondition,
    activity: SideCondition,
}

/// How one side of a free-text search finds the sessions (`s`) it matches.
enum SideCondition {
    /// Every match found through an index before the newest are sorted
    /// out; the condition on `s`.
    Fenced(String),
    /// The newest sessions walked, each tested; the condition on `s`.
    Walk(String),
    /// The project's activity (`a`) walked in the list's order, newest
    /// session first, each row tested: every condition of the side, on `a`
    /// and its session `s` (see [`ListConditions::on_activity`]).
    ActivityWalk(String),
}

/// One side of a free-text search: a newest-first page of the sessions
/// `columns` (aliased `s`) matching `w` and the side's condition (a walk of
/// the activity: its own conditions only).
fn side(columns: &str, w: &str, condition: &SideCondition, limit: usize) -> String {
    let order = newest_first(limit);
    match condition {
        // `OFFSET 0` keeps the subquery whole: it is planned for all its
        // rows, so through the index the condition names, whatever the
        // generic plan guesses of the values.
        SideCondition::Fenced(text) => {
            format!("SELECT * FROM ({columns} WHERE {w} AND {text} OFFSET 0) s {order}")
        }
        SideCondition::Walk(text) => format!("{columns} WHERE {w} AND {text} {order}"),
        // The activity's copy of its session's opening time and id orders
        // it as the sessions are, so the walk reads the activity's index in
        // order, and a session with several matching rows is one row of the
        // page. (Joined on the opening time too, the planner would take it
        // for a second, independent condition and expect next to no rows:
        // it sorted every match, 290 ms for `kubectl` at a million.)
        SideCondition::ActivityWalk(text) => {
            debug_assert!(columns.starts_with("SELECT "), "{columns}");
            let columns = columns.replacen(
                "SELECT ",
                "SELECT DISTINCT ON (a.session_opened_at, a.session_id) ",
                1,
            );
            format!(
                "{columns} JOIN session_activity a ON a.session_id = s.id WHERE {text} \
                 ORDER BY a.session_opened_at DESC, a.session_id DESC LIMIT {limit}"
            )
        }
    }
}

/// The list's order, newest first, and at most `limit` sessions.
fn newest_first(limit: usize) -> String {
    format!("ORDER BY s.opened_at DESC, s.id DESC LIMIT {limit}")
}

/// Runs `statement` with a generic plan, whatever `plan_cache_mode` the
/// connection has otherwise, and without JIT compilation: a generic plan
/// costs what it cannot see at its worst (166 000 units for a rare word's
/// page at ten million sessions, over `jit_above_cost`), and compiling its
/// expressions took 31 ms of a 33 ms page. (The choice is made when the
/// plan is, and kept with it.) The three requests go out together: each of
/// tokio-postgres's futures hands its messages to the connection on its
/// first poll, and `join3` polls them in order, so setting the mode costs
/// no round trip, and the `RESET` is sent (and runs) even if the query
/// fails or this future is dropped.
async fn query_generic(
    client: &deadpool_postgres::Object,
    statement: &tokio_postgres::Statement,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, StorageError> {
    let (set, rows, reset) = futures_util::future::join3(
        client.batch_execute("SET plan_cache_mode = force_generic_plan; SET jit = off"),
        client.query(statement, params),
        client.batch_execute("RESET plan_cache_mode; RESET jit"),
    )
    .await;
    set?;
    reset?;
    Ok(rows?)
}

impl Store {
    /// One page of a project's sessions, newest first.
    ///
    /// Each shape of the statement (which filters, which index for the free
    /// text) is prepared once per connection and run with a generic plan:
    /// planning the free-text union took more than running it (0.4 to 0.9 ms
    /// of about 1.2 at a million sessions). A generic plan cannot look at
    /// the values, so the statement itself fixes every choice the planner
    /// made from them: the values of closed sets (status, class, mode) and
    /// the limit are written into it (see [`history_conditions`]), and each
    /// free-text side is either a walk of the newest sessions (or of their
    /// activity) testing each one, for a pattern common in that side's
    /// text, or a look-up in the word, digit or trigram index fenced off
    /// (`OFFSET 0`) so that it finds every match before the newest are
    /// sorted out (see [`TextPlan`]).
    pub async fn sessions(
        &self,
        project_id: Uuid,
        filter: &SessionListFilter,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page<SessionRow>, StorageError> {
        let list = ListConditions::new(project_id, filter, after)?;
        let activity_walk =
            (filter.text.is_some() && walks_activity(&filter.sessions)).then(|| list.on_activity());
        let mut c = list.into_conditions();
        let client = self.client().await?;
        let text = match filter.text.as_deref() {
            Some(text) => Some(self.text_sides(&client, &mut c, text, activity_walk).await?),
            None => None,
        };
        let columns = include_str!("../sql/session_columns.sql");
        let order = newest_first(limit + 1);
        let w = c.where_clause();
        let sql = match text {
            None => format!("{columns} WHERE {w} {order}"),
            // Free text matches the session's own text or its activity. As
            // one `... OR EXISTS (...)` the planner can use neither trigram
            // index and walks the whole history for a rare word (seconds at
            // ten million sessions); as a union of two newest-first pages
            // each side has its own plan. A session both sides find is
            // one row of the page: both pages come newest first, so they
            // are merged in order and a repeated id dropped, rather than
            // every column of every row hashed as `UNION` does.
            Some(TextSides { session, activity }) => format!(
                "SELECT DISTINCT ON (s.opened_at, s.id) * FROM (({}) UNION ALL ({})) s {order}",
                side(columns, &w, &session, limit + 1),
                side(columns, &w, &activity, limit + 1),
            ),
        };
        // A client choosing its filters and limit could make a connection
        // keep a great many statements (and PostgreSQL their plans): a few
        // hundred shapes are kept, then they are prepared afresh.
        if client.statement_cache.size() >= MAX_STATEMENTS {
            client.statement_cache.clear();
        }
        let statement = client.prepare_cached(&sql).await?;
        let rows = query_generic(&client, &statement, &c.params()).await?;
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
    /// `ILIKE '%q%'`, found through the word index where `q` has a word that
    /// must be whole (or start a word) in every match and that is rare in
    /// that index, else the digit index where `q` has a rare run of digits
    /// (see [`crate::words`]), else the trigram index or a walk of the
    /// newest sessions, as `q` is rare or common in a sample of the side's
    /// texts. A walk of the activity goes through the project's activity
    /// in the list's order, with the page's conditions `activity_walk` (on
    /// the activity `a` and its session `s`), where those are given (see
    /// [`walks_activity`]).
    async fn text_sides(
        &self,
        client: &deadpool_postgres::Object,
        c: &mut Conditions,
        text: &str,
        activity_walk: Option<String>,
    ) -> Result<TextSides, StorageError> {
        let pattern = c.param(Box::new(contains_pattern(text)));
        let (words, digits) = (QueryWords::of(text), QueryDigits::of(text));
        let common = self.common_words(client).await?;
        let plan = |words_common, digits_common, sample: &TextSample| {
            words
                .plan(words_common)
                .map(TextPlan::Words)
                .or_else(|| digits.plan(digits_common).map(TextPlan::Digits))
                .unwrap_or_else(|| {
                    if sample.is_common(text) { TextPlan::Walk } else { TextPlan::Trigrams }
                })
        };
        let session_plan = plan(&common.sessions, &common.sessions_digits, &common.sessions_sample);
        let activity_plan =
            plan(&common.activity, &common.activity_digits, &common.activity_sample);
        let mut q = None;
        let activity_walk = match (&activity_plan, activity_walk) {
            (TextPlan::Walk, Some(conditions)) => {
                // `strpos(...) > 0` is `ILIKE` here (in a UTF-8 database
                // `ILIKE` is `lower(text) LIKE lower(pattern)`, and `q`'s
                // pattern is `%q%` escaped), but the planner takes it to
                // pass a third of the rows where it takes `ILIKE` with an
                // unknown pattern to pass one in 200: with the page's
                // other conditions multiplied in, it would expect a few
                // matches in a million rows, and fetch and sort them all
                // (600 ms for `kubectl` with a cursor and a mode at a
                // million sessions) rather than walk to the page's 50.
                // The walk is taken for a `q` in 1 in 128 rows or more.
                let q = q.get_or_insert_with(|| c.param(Box::new(text.to_owned())));
                Some(format!("{conditions} AND strpos(lower(a.text), (SELECT lower({q}))) > 0"))
            }
            _ => None,
        };
        let mut condition = |side: TextSide, plan: TextPlan| {
            let fenced = !matches!(plan, TextPlan::Walk);
            let test = match plan {
                TextPlan::Walk => side.matches(&pattern, false),
                TextPlan::Trigrams => side.matches(&pattern, true),
                TextPlan::Words(WithPrefix(with_prefix)) => {
                    let q = q.get_or_insert_with(|| c.param(Box::new(text.to_owned())));
                    format!(
                        "history_words({}) @@ history_words_query({q}, {with_prefix}) AND {}",
                        side.indexed(),
                        side.matches(&pattern, false)
                    )
                }
                // `::text` first: a parameter cast straight to `tsquery` would
                // be typed `tsquery`, which a Rust string cannot be sent as.
                TextPlan::Digits(query) => {
                    let query = c.param(Box::new(query));
                    format!(
                        "history_digits({}) @@ {query}::text::tsquery AND {}",
                        side.indexed(),
                        side.matches(&pattern, false)
                    )
                }
            };
            let text = side.of_session(&test, fenced);
            if fenced { SideCondition::Fenced(text) } else { SideCondition::Walk(text) }
        };
        let session = condition(TextSide::Session, session_plan);
        let activity = match activity_walk {
            Some(walk) => SideCondition::ActivityWalk(walk),
            None => condition(TextSide::Activity, activity_plan),
        };
        Ok(TextSides { session, activity })
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

    /// `test` (on the side's text) as a condition on the session `s`.
    fn of_session(self, test: &str, fenced: bool) -> String {
        match self {
            Self::Session => test.to_owned(),
            // A walk tests each session's activity as it goes: `OFFSET 0`
            // keeps the `EXISTS` a probe per session (PostgreSQL makes no
            // semi-join of a subquery with an offset), where a generic plan
            // would otherwise hash the matches of the whole activity first
            // (950 ms for `kubectl` at a million sessions, against 2 ms
            // probed).
            Self::Activity => {
                let probe = if fenced { "" } else { " OFFSET 0" };
                format!(
                    "EXISTS (SELECT 1 FROM session_activity a WHERE a.session_id = s.id AND {test}{probe})"
                )
            }
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
            // when written (V25), so no row is lower-cased here. The
            // pattern is lower-cased once, by an initplan: in a generic
            // plan `lower($n)` would run again for every row tested (a
            // walk tests hundreds; 0.1 ms of a 0.5 ms page).
            Self::Session => {
                format!("(s.search_text{keep_out}) LIKE (SELECT lower({pattern}))")
            }
            Self::Activity => format!("(a.text{keep_out}) ILIKE {pattern}"),
        }
    }
}

/// How a side of a free-text search finds its matches.
enum TextPlan {
    /// The word index, with `history_words_query(q, with_prefix)`.
    Words(WithPrefix),
    /// The digit index, with this `tsquery`.
    Digits(String),
    /// The trigram index: `q` has no rare word or run of digits, and is
    /// rare in the side's sample.
    Trigrams,
    /// The newest sessions, each tested: `q` is common in the side's
    /// sample, so a page's matches are among the newest few thousand.
    Walk,
}

/// Whether a walk of the activity in the list's order finds a page's
/// sessions sooner than a walk of the sessions probing each one's activity:
/// unless the filter keeps few sessions (one user, target or environment,
/// the open ones), whose activity would be walked past to reach them.
fn walks_activity(filter: &HistoryFilter) -> bool {
    let HistoryFilter {
        status,
        environment_class: _,
        environment,
        target_id,
        user_subject,
        mode: _,
    } = filter;
    environment.is_none()
        && target_id.is_none()
        && user_subject.is_none()
        && matches!(status, None | Some(SessionStatus::Closed))
}

/// The conditions of a page of the history list: which sessions (the
/// filter but its free text) and where the page lies in the list (the
/// project, the time range and the cursor), the latter written on whichever
/// columns hold a session's project, opening time and id. The project id is
/// parameter `$1`.
struct ListConditions {
    /// Every condition's parameters, and no clause yet.
    params: Conditions,
    /// On the sessions (`s`).
    filters: Vec<String>,
    /// The placeholders of the time range's ends and of the cursor's time and id.
    from: Option<String>,
    to: Option<String>,
    after: Option<(String, String)>,
}

impl ListConditions {
    fn new(
        project_id: Uuid,
        filter: &SessionListFilter,
        after: Option<&Cursor>,
    ) -> Result<Self, StorageError> {
        let mut params = Conditions::new();
        let project = params.param(Box::new(project_id));
        debug_assert_eq!(project, "$1");
        let mut filters = history_conditions(&filter.sessions, &mut params);
        if let Some(recorded) = filter.recorded {
            filters.push(format!("s.recorded = {}", params.param(Box::new(recorded))));
        }
        let from = filter.opened_from.map(|from| params.param(Box::new(from)));
        let to = filter.opened_to.map(|to| params.param(Box::new(to)));
        let after = match after {
            Some(cursor) => {
                let id = cursor.uuid().map_err(|_| StorageError::InvalidCursor)?;
                Some((params.param(Box::new(cursor.time)), params.param(Box::new(id))))
            }
            None => None,
        };
        Ok(Self { params, filters, from, to, after })
    }

    /// Where the page lies, on the columns `project`, `time` and `id`.
    fn place(&self, project: &str, time: &str, id: &str) -> Vec<String> {
        let mut place = vec![format!("{project} = $1")];
        place.extend(self.from.iter().map(|from| format!("{time} >= {from}")));
        place.extend(self.to.iter().map(|to| format!("{time} < {to}")));
        place.extend(self.after.iter().map(|(t, i)| format!("({time}, {id}) < ({t}, {i})")));
        place
    }

    /// The conditions for a walk of the activity (`a`) joined to its
    /// sessions (`s`): the place on the activity's copy of its session's
    /// project and opening time, so that the walk starts where the page
    /// does, and the filters on the sessions. (Not the place on the
    /// sessions as well: the planner would count each bound twice.)
    fn on_activity(&self) -> String {
        let mut conditions = self.place("a.project_id", "a.session_opened_at", "a.session_id");
        conditions.extend(self.filters.iter().cloned());
        conditions.join(" AND ")
    }

    /// The parameters with every condition on the sessions `s`.
    fn into_conditions(self) -> Conditions {
        let place = self.place("s.project_id", "s.opened_at", "s.id");
        let Self { mut params, filters, .. } = self;
        for clause in place.into_iter().chain(filters) {
            params.and(clause);
        }
        params
    }
}

/// The conditions of a page of the history list on sessions aliased `s`
/// (see [`ListConditions`]).
pub(crate) fn list_conditions(
    project_id: Uuid,
    filter: &SessionListFilter,
    after: Option<&Cursor>,
) -> Result<Conditions, StorageError> {
    Ok(ListConditions::new(project_id, filter, after)?.into_conditions())
}

/// The conditions `filter` puts on sessions (aliased `s`), their parameters
/// added to `c`: the one place a history filter becomes SQL, for the list
/// and the export alike.
pub(crate) fn history_conditions(filter: &HistoryFilter, c: &mut Conditions) -> Vec<String> {
    let mut clauses = Vec::new();
    // The values of a closed set are written into the statement: the plan
    // of a statement kept for every value (see `Store::sessions`) can then
    // still rely on them (the open sessions' partial index is usable only
    // where `status` is known to be open).
    let mut one_of = |column: &str, value: &'static str| {
        debug_assert!(value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{value}");
        clauses.push(format!("s.{column} = '{value}'"));
    };
    if let Some(status) = filter.status {
        one_of("status", status.as_str());
    }
    if let Some(class) = filter.environment_class {
        one_of("environment_class", class.as_str());
    }
    if let Some(mode) = filter.mode {
        one_of("mode", mode.as_str());
    }
    let mut equal = |column: &str, value: Box<dyn tokio_postgres::types::ToSql + Sync + Send>| {
        clauses.push(format!("s.{column} = {}", c.param(value)));
    };
    if let Some(environment) = &filter.environment {
        equal("environment", Box::new(environment.clone()));
    }
    if let Some(target) = filter.target_id {
        equal("target_id", Box::new(target));
    }
    if let Some(user) = &filter.user_subject {
        equal("user_subject", Box::new(user.clone()));
    }
    clauses
}
