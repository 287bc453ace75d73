//! A session-level advisory lock on a connection of its own: what lets
//! one replica at a time run a background job (the retention sweep, the
//! recordings' compactor). It lives as long as its connection; released
//! when dropped, or when the process dies.

use crate::{DatabaseUrl, StorageError};

pub struct AdvisoryLock {
    client: tokio_postgres::Client,
    key: i64,
}

impl AdvisoryLock {
    /// The lock `key`, or `None` when another connection holds it.
    pub(crate) async fn try_take(
        url: &DatabaseUrl,
        key: i64,
    ) -> Result<Option<Self>, StorageError> {
        let client = url.connect().await?;
        let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await?;
        Ok(row.get::<_, bool>(0).then_some(Self { client, key }))
    }

    /// Whether the lock is still held: it lives as long as its connection,
    /// which a database restart (or a terminated backend) ends, and then
    /// another replica may take it.
    pub async fn is_held(&self) -> bool {
        !self.client.is_closed() && self.client.simple_query("SELECT 1").await.is_ok()
    }

    pub async fn release(self) -> Result<(), StorageError> {
        self.client.execute("SELECT pg_advisory_unlock($1)", &[&self.key]).await?;
        Ok(())
    }
}
