use chrono::{DateTime, Utc};
use termaudit_domain::TerminalPolicy;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::{StorageError, Store};

/// A project's policy, with when and by whom it was last changed (`None`
/// while the project has the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub policy: TerminalPolicy,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

fn to_u32(row: &Row, column: &str) -> Result<u32, StorageError> {
    let value: i32 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| StorageError::Corrupt(format!("{column} holds {value}")))
}

/// The project's policy, or the defaults.
pub async fn policy(
    client: &impl GenericClient,
    project_id: Uuid,
) -> Result<PolicyRow, StorageError> {
    let row = client.query_opt(include_str!("sql/policy_by_project.sql"), &[&project_id]).await?;
    let Some(row) = row else {
        return Ok(PolicyRow {
            policy: TerminalPolicy::default(),
            updated_at: None,
            updated_by: None,
        });
    };
    Ok(PolicyRow {
        policy: TerminalPolicy {
            retention_days_production: to_u32(&row, "retention_days_production")?,
            retention_days_non_production: to_u32(&row, "retention_days_non_production")?,
            record_non_production: row.try_get("record_non_production")?,
            require_reason_non_production: row.try_get("require_reason_non_production")?,
            reconnect_grace_seconds: to_u32(&row, "reconnect_grace_seconds")?,
        },
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

impl Store {
    pub async fn policy(&self, project_id: Uuid) -> Result<PolicyRow, StorageError> {
        policy(&**self.client().await?, project_id).await
    }
}
