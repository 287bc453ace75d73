use chrono::{DateTime, Utc};
use termaudit_domain::{ProjectName, ProjectSlug};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{StorageError, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Row> for ProjectRow {
    fn from(row: Row) -> Self {
        Self {
            id: row.get("id"),
            slug: row.get("slug"),
            name: row.get("name"),
            created_at: row.get("created_at"),
        }
    }
}

impl Store {
    pub async fn create_project(
        &self,
        slug: &ProjectSlug,
        name: &ProjectName,
    ) -> Result<ProjectRow, StorageError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                include_str!("sql/project_insert.sql"),
                &[&Uuid::now_v7(), &slug.as_str(), &name.as_str()],
            )
            .await?;
        Ok(row.into())
    }

    pub async fn project_by_slug(&self, slug: &str) -> Result<Option<ProjectRow>, StorageError> {
        let client = self.client().await?;
        let row = client.query_opt(include_str!("sql/project_by_slug.sql"), &[&slug]).await?;
        Ok(row.map(Into::into))
    }

    /// [`Store::project_by_slug`] through this replica's cache (see
    /// [`run_cache_listener`](crate::run_cache_listener)): what every request
    /// reads first. Unknown slugs are not cached.
    pub async fn cached_project_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<ProjectRow>, StorageError> {
        let ticket = match self.cache.project(slug) {
            Ok(row) => return Ok(Some(row)),
            Err(ticket) => ticket,
        };
        let row = self.project_by_slug(slug).await?;
        if let Some(row) = &row {
            self.cache.put_project(ticket, row.clone());
        }
        Ok(row)
    }

    pub async fn project_by_id(&self, id: Uuid) -> Result<Option<ProjectRow>, StorageError> {
        let client = self.client().await?;
        let row = client.query_opt(include_str!("sql/project_by_id.sql"), &[&id]).await?;
        Ok(row.map(Into::into))
    }

    /// The projects among `slugs` that exist, ordered by slug.
    pub async fn projects_by_slugs(&self, slugs: &[&str]) -> Result<Vec<ProjectRow>, StorageError> {
        let client = self.client().await?;
        let rows = client.query(include_str!("sql/projects_by_slugs.sql"), &[&slugs]).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
