//! Demo data, so the first page a newcomer opens has something in it.

use termaudit_domain::{ProjectName, ProjectSlug};
use termaudit_storage::{StorageError, Store};

pub const DEMO_PROJECT: &str = "demo";

/// Loads the demo data; running it again changes nothing.
pub async fn load(store: &Store) -> anyhow::Result<()> {
    if store.project_by_slug(DEMO_PROJECT).await?.is_none() {
        let slug = ProjectSlug::parse(DEMO_PROJECT)?;
        match store.create_project(&slug, &ProjectName::parse("Demo project")?).await {
            Ok(_) | Err(StorageError::AlreadyExists { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        tracing::info!(project = DEMO_PROJECT, "loaded the demo data");
    }
    Ok(())
}
