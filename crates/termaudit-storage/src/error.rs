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
    #[error("migration failed: {0}")]
    Migration(String),
    /// Stored data that cannot be read back (a bug or tampering).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Query(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(err: tokio_postgres::Error) -> Self {
        match err.as_db_error() {
            Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => StorageError::AlreadyExists {
                constraint: db.constraint().unwrap_or_default().to_owned(),
            },
            Some(_) => StorageError::Query(err),
            // No server-side error: the connection itself failed.
            None if err.is_closed() || err.to_string().contains("connect") => {
                StorageError::Unavailable(err.to_string())
            }
            None => StorageError::Query(err),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(err) => err.into(),
            other => StorageError::Unavailable(other.to_string()),
        }
    }
}
