//! The rows the statistics (issue 15 part 6) are computed from, and the monthly
//! submissions (frozen, hashed).

use super::{Tx, prefix_upper_bound};
use crate::domain::Actor;
use crate::domain::result::ResultInput;
use sqlx::Row;

/// One drawn institution of a task with its current result, if any.
pub struct DrawnRow {
    pub task_id: String,
    pub institution_id: String,
    pub region: String,
    pub kind: String,
    /// The latest version of the result; None when none is recorded.
    pub result: Option<ResultInput>,
    /// Whether that latest version is published.
    pub published: bool,
}

/// Every drawn institution in the region prefix (all when empty), with its current result,
/// handed to `each` one row at a time as the database streams them: the summary over a
/// million results never holds them all in memory.
pub async fn each_drawn_row<'e, E, F>(
    exec: E,
    region_prefix: &str,
    mut each: F,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
    F: FnMut(DrawnRow),
{
    use futures_util::TryStreamExt;
    let mut sql = String::from(
        "SELECT s.task_id, s.institution_id, s.region, i.kind, r.data, r.published_at \
         FROM task_selections s JOIN institutions i ON i.id = s.institution_id \
         LEFT JOIN inspection_results r ON r.task_id = s.task_id \
              AND r.institution_id = s.institution_id \
              AND r.version = (SELECT MAX(m.version) FROM inspection_results m \
                               WHERE m.task_id = s.task_id AND m.institution_id = s.institution_id)",
    );
    let mut q = if region_prefix.is_empty() {
        sqlx::query(super::dynamic(sql))
    } else {
        sql.push_str(" WHERE s.region >= $1 AND s.region < $2");
        sqlx::query(super::dynamic(sql))
            .bind(region_prefix.to_string())
            .bind(prefix_upper_bound(region_prefix))
    }
    .fetch(exec);
    while let Some(r) = q.try_next().await? {
        let data: Option<String> = r.try_get("data")?;
        let published: Option<String> = r.try_get("published_at")?;
        each(DrawnRow {
            task_id: r.try_get("task_id")?,
            institution_id: r.try_get("institution_id")?,
            region: r.try_get("region")?,
            kind: r.try_get("kind")?,
            result: data
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            published: published.is_some(),
        });
    }
    Ok(())
}

/// Every task that drew (not cancelled): id, lead department, stored configuration.
pub async fn drawn_tasks<'e, E>(exec: E) -> Result<Vec<(String, String, String)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT id, lead_department, config FROM tasks \
         WHERE state IN ('drawn', 'published', 'closed') ORDER BY id",
    )
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("lead_department")?,
            r.try_get("config")?,
        ))
    })
    .collect()
}

/// Active institutions by region and kind (the registered base of coverage).
pub async fn institution_counts<'e, E>(exec: E) -> Result<Vec<(String, String, i64)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT region, kind, COUNT(*) AS n FROM institutions WHERE status = 'active' \
         GROUP BY region, kind ORDER BY region, kind",
    )
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("region")?, r.try_get("kind")?, r.try_get("n")?)))
    .collect()
}

/// A submitted monthly report.
#[derive(Debug, Clone)]
pub struct Submission {
    pub organization: String,
    pub month: String,
    pub region_prefix: String,
    pub data: String,
    pub sha256: String,
    pub submitted_by: String,
    pub submitted_at: String,
}

fn submission(r: &sqlx::any::AnyRow) -> Result<Submission, sqlx::Error> {
    Ok(Submission {
        organization: r.try_get("organization")?,
        month: r.try_get("month")?,
        region_prefix: r.try_get("region_prefix")?,
        data: r.try_get("data")?,
        sha256: r.try_get("sha256")?,
        submitted_by: r.try_get("submitted_by")?,
        submitted_at: r.try_get("submitted_at")?,
    })
}

/// Freezes a report; false if this organization's month is submitted already.
#[allow(clippy::too_many_arguments)]
pub async fn insert_submission(
    tx: &mut Tx,
    organization: &str,
    month: &str,
    region_prefix: &str,
    data: &str,
    sha256: &str,
    actor: &Actor,
    at: Option<String>,
) -> Result<bool, sqlx::Error> {
    let exists = sqlx::query(
        "SELECT 1 AS x FROM monthly_submissions WHERE organization = $1 AND month = $2",
    )
    .bind(organization)
    .bind(month)
    .fetch_optional(&mut **tx)
    .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO monthly_submissions (organization, month, region_prefix, data, sha256, \
         submitted_by, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(organization)
    .bind(month)
    .bind(region_prefix)
    .bind(data)
    .bind(sha256)
    .bind(format!("{}:{}", actor.role, actor.sub))
    .bind(at.unwrap_or_else(|| tx.now()))
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// The submissions of one month.
pub async fn submissions<'e, E>(exec: E, month: &str) -> Result<Vec<Submission>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT organization, month, region_prefix, data, sha256, submitted_by, submitted_at \
         FROM monthly_submissions WHERE month = $1 ORDER BY organization",
    )
    .bind(month)
    .fetch_all(exec)
    .await?
    .iter()
    .map(submission)
    .collect()
}
