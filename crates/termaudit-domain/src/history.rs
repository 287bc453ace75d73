//! The history's filters, as one validated value: the history list, the
//! export and the CLI read them through the same parser, and storage turns
//! them into SQL in one place, so the list and the export cannot disagree
//! about which sessions a filter names.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    Cursor, DomainError, EnvironmentClass, SessionMode, SessionStatus, TimeBounds,
    check_optional_text, parse_limit,
};

/// Which sessions: the filters the history list and the export share. Each
/// is an equality on the session (for an export's events, on the session
/// they belong to); an absent filter matches every session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub status: Option<SessionStatus>,
    pub environment_class: Option<EnvironmentClass>,
    pub environment: Option<String>,
    pub target_id: Option<Uuid>,
    pub user_subject: Option<String>,
    pub mode: Option<SessionMode>,
}

/// A history filter as a request or a command line spells it: names not
/// yet checked; an empty environment or user means any.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryParams<'a> {
    pub status: Option<&'a str>,
    pub environment_class: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub target_id: Option<Uuid>,
    pub user: Option<&'a str>,
    pub mode: Option<&'a str>,
}

impl HistoryFilter {
    /// The filter `params` spell, or the first field that names nothing
    /// (`status`, then `environment_class`, then `mode`).
    pub fn parse(params: HistoryParams<'_>) -> Result<Self, DomainError> {
        let given = |value: Option<&str>| value.filter(|v| !v.is_empty()).map(ToOwned::to_owned);
        check_optional_text("environment", params.environment)?;
        check_optional_text("user", params.user)?;
        Ok(Self {
            status: params.status.map(str::parse).transpose()?,
            environment_class: params.environment_class.map(str::parse).transpose()?,
            environment: given(params.environment),
            target_id: params.target_id,
            user_subject: given(params.user),
            mode: params.mode.map(str::parse).transpose()?,
        })
    }
}

/// Free text of the history list: at least this many characters...
pub const TEXT_MIN_CHARS: usize = 2;
/// ...and at most this many.
pub const TEXT_MAX_CHARS: usize = 200;

/// The history list's filters: which sessions, when they opened, whether
/// they are recorded, and free text over reason, target, user and command
/// text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionListFilter {
    pub sessions: HistoryFilter,
    /// Sessions opened at or after this time.
    pub opened_from: Option<DateTime<Utc>>,
    /// Sessions opened before this time.
    pub opened_to: Option<DateTime<Utc>>,
    pub recorded: Option<bool>,
    pub text: Option<String>,
}

impl SessionListFilter {
    /// The free text `q`, trimmed: none when blank, else 2 to 200 characters.
    pub fn parse_text(q: Option<&str>) -> Result<Option<String>, DomainError> {
        check_optional_text("q", q)?;
        match q.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) if (TEXT_MIN_CHARS..=TEXT_MAX_CHARS).contains(&t.chars().count()) => {
                Ok(Some(t.to_owned()))
            }
            Some(_) => Err(DomainError::invalid(
                "q",
                format!("must be {TEXT_MIN_CHARS} to {TEXT_MAX_CHARS} characters"),
            )),
        }
    }
}

/// The history list's query as a request spells it: every parameter not
/// yet checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryQueryParams<'a> {
    pub sessions: HistoryParams<'a>,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_to: Option<DateTime<Utc>>,
    pub has_recording: Option<bool>,
    pub q: Option<&'a str>,
    pub cursor: Option<&'a str>,
    pub limit: Option<u32>,
}

/// The [`HistoryParams`] of a query that names them as the API's query
/// types do (`status`, `environment_class`, `environment`, `target_id`,
/// `user`, `mode`, the strings as `Option<String>`): a macro, so the API's
/// DTOs need not be known here and every reader maps them the same way.
#[macro_export]
macro_rules! history_params {
    ($query:expr) => {{
        let q = &$query;
        $crate::HistoryParams {
            status: q.status.as_deref(),
            environment_class: q.environment_class.as_deref(),
            environment: q.environment.as_deref(),
            target_id: q.target_id,
            user: q.user.as_deref(),
            mode: q.mode.as_deref(),
        }
    }};
}

/// The [`HistoryQueryParams`] of a query that names them as the API's
/// `SessionQuery` does: [`history_params!`]'s fields and `opened_from`,
/// `opened_to`, `has_recording`, `q`, `cursor` and `limit`.
#[macro_export]
macro_rules! history_query_params {
    ($query:expr) => {{
        let q = &$query;
        $crate::HistoryQueryParams {
            sessions: $crate::history_params!(q),
            opened_from: q.opened_from,
            opened_to: q.opened_to,
            has_recording: q.has_recording,
            q: q.q.as_deref(),
            cursor: q.cursor.as_deref(),
            limit: q.limit,
        }
    }};
}

/// The history list's query, parsed: untrusted input becomes a filter, a
/// cursor and a page size (50 by default, at most 200), or an error naming
/// the field.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub filter: SessionListFilter,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

impl HistoryQuery {
    pub fn parse(params: HistoryQueryParams<'_>) -> Result<Self, DomainError> {
        let filter = SessionListFilter {
            sessions: HistoryFilter::parse(params.sessions)?,
            opened_from: TimeBounds::STORABLE.check_optional("opened_from", params.opened_from)?,
            opened_to: TimeBounds::STORABLE.check_optional("opened_to", params.opened_to)?,
            recorded: params.has_recording,
            text: SessionListFilter::parse_text(params.q)?,
        };
        let cursor = Cursor::parse_param(params.cursor)?;
        let limit = parse_limit(params.limit, 50, 200)?;
        Ok(Self { filter, cursor, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_empty_text_means_any() {
        let filter = HistoryFilter::parse(HistoryParams {
            status: Some("dropped"),
            environment_class: Some("production"),
            environment: Some(""),
            user: Some("alice"),
            mode: Some("database"),
            ..Default::default()
        })
        .expect("valid names");
        assert_eq!(filter.status, Some(SessionStatus::Dropped));
        assert_eq!(filter.environment_class, Some(EnvironmentClass::Production));
        assert_eq!(filter.environment, None);
        assert_eq!(filter.user_subject.as_deref(), Some("alice"));
        assert_eq!(filter.mode, Some(SessionMode::Database));
        assert_eq!(HistoryFilter::parse(HistoryParams::default()), Ok(HistoryFilter::default()));
    }

    #[test]
    fn the_first_bad_name_is_the_error() {
        let err = HistoryFilter::parse(HistoryParams {
            status: Some("bogus"),
            mode: Some("bogus"),
            ..Default::default()
        })
        .expect_err("an unknown status");
        assert_eq!(err.field_errors()[0].field, "status");
        let err = HistoryFilter::parse(HistoryParams { mode: Some("tty"), ..Default::default() })
            .expect_err("an unknown mode");
        assert_eq!(err.field_errors()[0].field, "mode");
    }

    #[test]
    fn free_text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(SessionListFilter::parse_text(None), Ok(None));
        assert_eq!(SessionListFilter::parse_text(Some("   ")), Ok(None));
        assert_eq!(SessionListFilter::parse_text(Some(" ab ")), Ok(Some("ab".into())));
        assert!(SessionListFilter::parse_text(Some("a")).is_err());
        let longest = "é".repeat(200);
        assert_eq!(SessionListFilter::parse_text(Some(&longest)), Ok(Some(longest.clone())));
        assert!(SessionListFilter::parse_text(Some(&format!("{longest}x"))).is_err());
    }
}
