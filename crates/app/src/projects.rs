//! Projects, inside the actor's organization.

use tenantry_db::page::{Page, page_size};
use tenantry_db::projects::{self, Project};
use tenantry_db::{Membership, autocommit, with_tenant_context};
use tenantry_domain::{BoundedName, ProjectId, name};

use crate::{Actor, App, AppError, Scope};

fn project_name(text: &str) -> Result<BoundedName, AppError> {
    Ok(BoundedName::parse(
        "name",
        text,
        name::MAX_PROJECT_NAME_CHARS,
    )?)
}

impl App {
    /// The organization's projects, oldest first, `limit` (1 to 100, default 20) at a time.
    pub async fn list_projects(
        &self,
        actor: &Actor<Membership>,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<Project>, AppError> {
        let limit = page_size(limit)?;
        // One read: an autocommit statement, one round trip instead of two.
        let tenant = autocommit(&self.db, actor.tenant());
        Ok(projects::list_projects(&tenant, limit, cursor).await?)
    }

    /// One project of the organization.
    pub async fn get_project(
        &self,
        actor: &Actor<Membership>,
        id: ProjectId,
    ) -> Result<Project, AppError> {
        Ok(projects::get_project(&autocommit(&self.db, actor.tenant()), id).await?)
    }

    /// Create a project (audited); a name taken in the organization is a conflict.
    pub async fn create_project(
        &self,
        actor: &Actor<Membership>,
        name: &str,
        description: Option<&str>,
    ) -> Result<Project, AppError> {
        actor.require(Scope::Write)?;
        let name = project_name(name)?;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            projects::create_project(tx, &name, description).await
        })
        .await?)
    }

    /// Rename a project or change its description (audited).
    pub async fn update_project(
        &self,
        actor: &Actor<Membership>,
        id: ProjectId,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Project, AppError> {
        actor.require(Scope::Write)?;
        let name = name.map(project_name).transpose()?;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            projects::update_project(tx, id, name.as_ref(), description).await
        })
        .await?)
    }

    /// Delete a project (audited).
    pub async fn delete_project(
        &self,
        actor: &Actor<Membership>,
        id: ProjectId,
    ) -> Result<(), AppError> {
        actor.require(Scope::Write)?;
        Ok(with_tenant_context(&self.db, actor.tenant(), async |tx| {
            projects::delete_project(tx, id).await
        })
        .await?)
    }
}
