//! What the resource modules share: typed paths, whose documentation comes
//! from the same struct as their parsing, the parsing of common query
//! parameters (cursors, page sizes, domain values), and `person`, which
//! names stored actors. A module that needs another's helper finds it here
//! instead, so no resource module imports another.

use serde::Deserialize;
use termaudit_api_types as dto;
use termaudit_storage::{Cursor, StorageError};
use utoipa::{
    IntoParams,
    openapi::path::{Parameter, ParameterBuilder, ParameterIn},
};
use uuid::Uuid;

use crate::error::ApiError;

/// `{project}` of a project's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// The project's slug
    pub project: String,
}

/// `{project}` and `{id}` of a session's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// The project's slug
    pub project: String,
    /// The session's id
    pub id: Uuid,
}

/// [`SessionPath`]'s parameters with `example: "demo"` on `project`, as the
/// recordings' operations have always shown
/// them. The handlers extract a [`SessionPath`] and name this in `params`:
/// utoipa fixes a field's example per `IntoParams` type, and a `params`
/// tuple named `project` beside `SessionPath` would add a second parameter
/// instead of amending the first.
pub struct SessionPathExample;

impl IntoParams for SessionPathExample {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        SessionPath::into_params(|| Some(ParameterIn::Path))
            .into_iter()
            .map(|param| match param.name.as_str() {
                "project" => ParameterBuilder::from(param).example(Some("demo".into())).build(),
                _ => param,
            })
            .collect()
    }
}

/// A `cursor` parameter: one this API issued, or a 400
/// ([`Cursor::parse_param`]).
pub fn cursor_param(cursor: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    Ok(Cursor::parse_param(cursor)?)
}

/// A `limit` parameter: `default` when absent, 1 to `max`, or a 400.
pub fn limit_param(limit: Option<u32>, default: u32, max: u32) -> Result<usize, ApiError> {
    Ok(termaudit_domain::parse_limit(limit, default, max)?)
}

/// An optional parameter parsed into a domain value, or a 400 naming it.
pub fn parse_field<T: std::str::FromStr<Err = termaudit_domain::DomainError>>(
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    value.map(|v| v.parse::<T>().map_err(ApiError::from)).transpose()
}

/// A cursor that decoded but belongs to another list is a 400 too.
pub fn invalid_cursor(err: StorageError) -> ApiError {
    match err {
        StorageError::InvalidCursor => ApiError::invalid("cursor: not a cursor of this list"),
        other => other.into(),
    }
}

/// A person stored as an optional subject and name (an actor, a revoker).
pub fn person(subject: &Option<String>, name: &Option<String>) -> Option<dto::Person> {
    Some(dto::Person { subject: subject.clone()?, name: name.clone().unwrap_or_default() })
}

/// The history filter of a query DTO, through the domain's one parser.
/// `SessionQuery` and `ExportQuery` spell the shared filters with the same
/// field names, inline in each (serde's `flatten` breaks query parsing and
/// utoipa ignores it), so one macro reads both.
macro_rules! history_filter {
    ($query:expr) => {
        termaudit_domain::HistoryFilter::parse(termaudit_domain::history_params!($query))
    };
}
pub(crate) use history_filter;
