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
    text.parse().map_err(|_| StorageError::Corrupt(format!("{column} holds {text:?}")))
}

pub(crate) fn parse_opt_enum<T: FromStr<Err = DomainError>>(
    row: &Row,
    column: &str,
) -> Result<Option<T>, StorageError> {
    let text: Option<&str> = row.try_get(column)?;
    text.map(|t| t.parse().map_err(|_| StorageError::Corrupt(format!("{column} holds {t:?}"))))
        .transpose()
}
