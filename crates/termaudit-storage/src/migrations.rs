use crate::{DatabaseUrl, StorageError, Store};

refinery::embed_migrations!("../../migrations");

/// A fixed key for the advisory lock that serialises migrations when several
/// replicas start at once.
const MIGRATION_LOCK: i64 = 0x7465_726d_6d69_6772; // "termmigr"

/// Applies every migration not applied yet, each exactly once, recorded in
/// `refinery_schema_history`. Safe to call from several processes at once.
pub async fn migrate(url: &DatabaseUrl) -> Result<MigrationStatus, StorageError> {
    let mut client = url.connect().await?;
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let report = migrations::runner()
        .set_abort_divergent(true)
        .run_async(&mut client)
        .await
        .map_err(|err| StorageError::Migration(err.to_string()));
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
    for migration in report?.applied_migrations() {
        tracing::info!(migration = %migration, "applied migration");
    }
    Ok(MigrationStatus { applied: latest_version(), expected: latest_version() })
}

fn latest_version() -> Option<i64> {
    migrations::runner().get_migrations().iter().map(|m| i64::from(m.version())).max()
}

/// Which migration the database is at, against the newest this build has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: Option<i64>,
    pub expected: Option<i64>,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.applied >= self.expected
    }
}

impl Store {
    /// Reads the newest applied migration (for readiness checks).
    pub async fn migration_status(&self) -> Result<MigrationStatus, StorageError> {
        let client = self.client().await?;
        let applied = match client
            .query_one("SELECT max(version)::int8 FROM refinery_schema_history", &[])
            .await
        {
            Ok(row) => row.get::<_, Option<i64>>(0),
            Err(err) if err.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                None
            }
            Err(err) => return Err(err.into()),
        };
        Ok(MigrationStatus { applied, expected: latest_version() })
    }
}

/// The role the server's connections run as, and whether it could rewrite
/// the audit log: a superuser, or a member of the role owning the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingRole {
    pub name: String,
    pub superuser: bool,
    pub owns_tables: bool,
}

impl Store {
    /// Who the pool connects as (see `migrations/V8__app_role.sql`).
    pub async fn serving_role(&self) -> Result<ServingRole, StorageError> {
        let client = self.client().await?;
        let row = client.query_one(include_str!("sql/serving_role.sql"), &[]).await?;
        Ok(ServingRole {
            name: row.try_get("name")?,
            superuser: row.try_get("superuser")?,
            owns_tables: row.try_get("owns_tables")?,
        })
    }
}
