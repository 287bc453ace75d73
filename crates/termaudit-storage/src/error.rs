use tokio_postgres::error::SqlState;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached or a connection could not be had in time.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A row with the same unique key exists already.
    #[error("already exists ({constraint})")]
    AlreadyExists { constraint: String },
    /// The configured database URL is not valid.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database holds a value this build cannot read.
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
    /// A pagination cursor that does not fit this list.
    #[error("the cursor does not belong to this list")]
    InvalidCursor,
    #[error("migration failed: {0}")]
    Migration(String),
    /// The recordings' object store could not be reached, or failed: reads
    /// of what it holds wait until it is back.
    #[error("the recordings' object store is unavailable: {0}")]
    ObjectStoreUnavailable(String),
    /// The recordings' object store is configured wrongly (a missing bucket,
    /// refused credentials, a bad URL).
    #[error("{0}")]
    ObjectStoreConfig(String),
    #[error("database error: {}", describe(.0))]
    Query(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(err: tokio_postgres::Error) -> Self {
        match err.as_db_error() {
            Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => StorageError::AlreadyExists {
                constraint: db.constraint().unwrap_or_default().to_owned(),
            },
            Some(db) if is_unavailable(db.code()) => StorageError::Unavailable(describe(&err)),
            Some(_) => StorageError::Query(err),
            // No server-side error: the connection itself failed (closed,
            // reset, refused, timed out).
            None if is_connection_failure(&err) => StorageError::Unavailable(err.to_string()),
            None => StorageError::Query(err),
        }
    }
}

/// SQLSTATEs that say the server is going away or not there yet, not that
/// the statement is wrong: connection exceptions (class 08), an
/// administrator's shutdown (57P01), a crash of another backend (57P02), a
/// server still starting (57P03).
fn is_unavailable(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW]
            .contains(code)
}

/// tokio-postgres does not expose its error kinds; these are the ones that
/// are about the connection (`Closed`, `Io`, `Connect`, `Timeout`): closed,
/// or caused by an I/O error.
fn is_connection_failure(err: &tokio_postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    let text = err.to_string();
    [
        "error connecting to server",
        "timeout waiting for server",
        "error communicating with the server",
    ]
    .iter()
    .any(|kind| text.starts_with(kind))
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(err) => err.into(),
            other => StorageError::Unavailable(other.to_string()),
        }
    }
}

/// The server's message when there is one ("db error" alone says nothing).
fn describe(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => err.to_string(),
    }
}
