use chrono::{DateTime, Utc};
use termaudit_domain::{EnvironmentClass, EnvironmentName, TargetKind, TargetName};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{StorageError, Store, row::parse_enum};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub kind: TargetKind,
    pub environment: String,
    pub environment_class: EnvironmentClass,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<Row> for TargetRow {
    type Error = StorageError;

    fn try_from(row: Row) -> Result<Self, StorageError> {
        Ok(Self {
            id: row.try_get("id")?,
            project_id: row.try_get("project_id")?,
            name: row.try_get("name")?,
            kind: parse_enum(&row, "kind")?,
            environment: row.try_get("environment")?,
            environment_class: parse_enum(&row, "environment_class")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// A target to register.
#[derive(Debug, Clone)]
pub struct NewTarget {
    pub name: TargetName,
    pub kind: TargetKind,
    pub environment: EnvironmentName,
    pub environment_class: EnvironmentClass,
}

impl Store {
    pub async fn create_target(
        &self,
        project_id: Uuid,
        target: &NewTarget,
    ) -> Result<TargetRow, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                include_str!("sql/target_insert.sql"),
                &[
                    &Uuid::now_v7(),
                    &project_id,
                    &target.name.as_str(),
                    &target.kind.as_str(),
                    &target.environment.as_str(),
                    &target.environment_class.as_str(),
                ],
            )
            .await?;
        row.try_into()
    }

    pub async fn targets(&self, project_id: Uuid) -> Result<Vec<TargetRow>, StorageError> {
        let client = self.client().await?;
        let rows = client.query(include_str!("sql/targets_by_project.sql"), &[&project_id]).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn target(
        &self,
        project_id: Uuid,
        id: Uuid,
    ) -> Result<Option<TargetRow>, StorageError> {
        let client = self.client().await?;
        let row =
            client.query_opt(include_str!("sql/target_by_id.sql"), &[&project_id, &id]).await?;
        row.map(TryInto::try_into).transpose()
    }
}
