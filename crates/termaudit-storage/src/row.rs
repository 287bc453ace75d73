//! Reading domain values back from rows.

use std::str::FromStr;

use termaudit_domain::DomainError;
use tokio_postgres::Row;

use crate::StorageError;

/// Parses a text column into a domain enum; a value the domain does not know
/// means the database holds something this build cannot read.
pub(crate) fn parse_enum<T: FromStr<Err = DomainError>>(
    row: &Row,
    column: &str,
) -> Result<T, StorageError> {
    let text: &str = row.try_get(column)?;
    parse_text(column, text)
}

pub(crate) fn parse_opt_enum<T: FromStr<Err = DomainError>>(
    row: &Row,
    column: &str,
) -> Result<Option<T>, StorageError> {
    let text: Option<&str> = row.try_get(column)?;
    text.map(|t| parse_text(column, t)).transpose()
}

/// [`parse_opt_enum`] by the column's position in the select list, for
/// hot loops (looking a name up on every row shows in profiles); errors
/// still name the column.
pub(crate) fn parse_opt_enum_at<T: FromStr<Err = DomainError>>(
    row: &Row,
    index: usize,
) -> Result<Option<T>, StorageError> {
    let text: Option<&str> = row.try_get(index)?;
    text.map(|t| parse_text(row.columns()[index].name(), t)).transpose()
}

/// [`parse_enum`] by the column's position in the select list.
pub(crate) fn parse_enum_at<T: FromStr<Err = DomainError>>(
    row: &Row,
    index: usize,
) -> Result<T, StorageError> {
    parse_opt_enum_at(row, index)?
        .ok_or_else(|| StorageError::Corrupt(format!("{} is null", row.columns()[index].name())))
}

fn parse_text<T: FromStr<Err = DomainError>>(column: &str, text: &str) -> Result<T, StorageError> {
    text.parse().map_err(|_| StorageError::Corrupt(format!("{column} holds {text:?}")))
}
