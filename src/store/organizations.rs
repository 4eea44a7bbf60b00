//! Organizations (省/市/县 jurisdictions) and the pools a seal took from them.

use super::records::{RECORD_COLUMNS, Record, Stored, stored_from_row};
use super::{Store, Tx};
use crate::domain::organization::{OrganizationInput, StoredOrganization};
use sqlx::Row;

impl Record for OrganizationInput {
    type Stored = StoredOrganization;
    const TABLE: &'static str = "organizations";
    const OBJECT: &'static str = "organization";
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("code", self.code.clone()),
            ("name", self.name.clone()),
            ("level", self.level.as_str().to_string()),
            ("region_prefix", self.region_prefix.clone()),
            ("parent", self.parent.clone().unwrap_or_default()),
            ("department", self.department.as_str().to_string()),
        ]
    }
}

/// The organization with this code.
pub async fn by_code<'e, E>(
    exec: E,
    code: &str,
) -> Result<Option<Stored<OrganizationInput>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(super::dynamic(format!(
        "SELECT {RECORD_COLUMNS} FROM organizations WHERE code = $1"
    )))
    .bind(code)
    .fetch_optional(exec)
    .await?
    .map(|r| stored_from_row(&r))
    .transpose()
}

/// The organizations whose parent is `code`.
pub async fn children(
    tx: &mut Tx,
    code: &str,
) -> Result<Vec<Stored<OrganizationInput>>, sqlx::Error> {
    sqlx::query(super::dynamic(format!(
        "SELECT {RECORD_COLUMNS} FROM organizations WHERE parent = $1 ORDER BY code"
    )))
    .bind(code)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(stored_from_row)
    .collect()
}

/// Every organization (of one department when given), by code.
pub async fn list<'e, E>(
    exec: E,
    department: Option<&str>,
) -> Result<Vec<Stored<OrganizationInput>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = match department {
        Some(d) => {
            sqlx::query(super::dynamic(format!(
                "SELECT {RECORD_COLUMNS} FROM organizations WHERE department = $1 ORDER BY code"
            )))
            .bind(d.to_string())
            .fetch_all(exec)
            .await?
        }
        None => {
            sqlx::query(super::dynamic(format!(
                "SELECT {RECORD_COLUMNS} FROM organizations ORDER BY code"
            )))
            .fetch_all(exec)
            .await?
        }
    };
    rows.iter().map(stored_from_row).collect()
}

/// Records which organizations' inspectors a sealed pool took, per department.
pub async fn store_pools(
    tx: &mut Tx,
    task_id: &str,
    pools: &[(String, String, i64)],
) -> Result<(), sqlx::Error> {
    for (department, organization, count) in pools {
        sqlx::query(
            "INSERT INTO task_pools (task_id, department, organization, inspectors) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(task_id)
        .bind(department)
        .bind(organization)
        .bind(*count)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// `(department, organization, inspectors)` of a sealed task's pool, in that order.
pub async fn pools<'e, E>(exec: E, task_id: &str) -> Result<Vec<(String, String, i64)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT department, organization, inspectors FROM task_pools WHERE task_id = $1 \
         ORDER BY department, organization",
    )
    .bind(task_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("department")?,
            r.try_get("organization")?,
            r.try_get("inspectors")?,
        ))
    })
    .collect()
}

impl Store {
    pub async fn organization(
        &self,
        code: &str,
    ) -> Result<Option<Stored<OrganizationInput>>, sqlx::Error> {
        by_code(&self.pool, code).await
    }

    pub async fn organizations(
        &self,
        department: Option<&str>,
    ) -> Result<Vec<Stored<OrganizationInput>>, sqlx::Error> {
        list(&self.pool, department).await
    }

    pub async fn task_pools(
        &self,
        task_id: &str,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        pools(&self.pool, task_id).await
    }
}
