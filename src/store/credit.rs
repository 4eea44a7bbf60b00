//! The credit publicity export's reads and its delivery log (issue 15 part 8).

use super::{Param, QueryBuilder, Tx, prefix_upper_bound};
use crate::domain::result::ResultInput;
use crate::domain::stored::StoredTaskConfig;
use crate::domain::task::TaskInput;
use sqlx::Row;
use std::collections::HashMap;

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// One exported result: the current published version of one drawn institution.
#[derive(Debug, Clone)]
pub struct CreditRow {
    pub task_id: String,
    pub institution_id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub version: i64,
    pub data: ResultInput,
    pub published_at: String,
}

/// Current published results of public tasks whose version was published at or after
/// `since_utc` (RFC 3339), in `region_prefix` (all when empty), oldest publication first;
/// at most `limit` rows; with the tasks' configurations.
pub async fn results_since<'e, E>(
    exec: E,
    since_utc: &str,
    region_prefix: &str,
    limit: i64,
) -> Result<(Vec<CreditRow>, HashMap<String, TaskInput>), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q = QueryBuilder::new(
        "SELECT s.task_id, i.id, i.name, i.credit_code, i.region, r.version, r.data, r.published_at, \
           t.config \
         FROM task_selections s JOIN tasks t ON t.id = s.task_id \
         JOIN institutions i ON i.id = s.institution_id \
         JOIN inspection_results r ON r.task_id = s.task_id AND r.institution_id = s.institution_id \
           AND r.version = (SELECT MAX(r2.version) FROM inspection_results r2 WHERE r2.task_id = s.task_id \
              AND r2.institution_id = s.institution_id AND r2.published_at IS NOT NULL) \
         WHERE t.state IN ('published', 'closed')",
    );
    let p = q.text(since_utc);
    q.push(&format!(" AND r.published_at >= {p}"));
    if !region_prefix.is_empty() {
        let a = q.text(region_prefix);
        let b = q.text(prefix_upper_bound(region_prefix));
        q.push(&format!(" AND s.region >= {a} AND s.region < {b}"));
    }
    let l = q.bind(Param::Int(limit));
    q.push(&format!(
        " ORDER BY r.published_at, s.task_id, i.id LIMIT {l}"
    ));
    let mut tasks: HashMap<String, TaskInput> = HashMap::new();
    let mut rows = Vec::new();
    for r in q.query().fetch_all(exec).await? {
        let task_id: String = r.try_get("task_id")?;
        if !tasks.contains_key(&task_id) {
            let config: String = r.try_get("config")?;
            tasks.insert(
                task_id.clone(),
                StoredTaskConfig::from_json(&config).map_err(decode)?.into(),
            );
        }
        let data: String = r.try_get("data")?;
        rows.push(CreditRow {
            task_id,
            institution_id: r.try_get("id")?,
            name: r.try_get("name")?,
            credit_code: r.try_get("credit_code")?,
            region: r.try_get("region")?,
            version: r.try_get("version")?,
            data: serde_json::from_str(&data).map_err(decode)?,
            published_at: r.try_get("published_at")?,
        });
    }
    Ok((rows, tasks))
}

/// One export as logged.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub since: String,
    pub format: String,
    pub region_prefix: String,
    pub row_count: i64,
    pub sha256: String,
    pub exported_by: String,
    pub exported_at: String,
}

pub async fn insert_delivery(tx: &mut Tx, d: &Delivery) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credit_deliveries (id, since, format, region_prefix, row_count, sha256, \
         exported_by, exported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(&d.since)
    .bind(&d.format)
    .bind(&d.region_prefix)
    .bind(d.row_count)
    .bind(&d.sha256)
    .bind(&d.exported_by)
    .bind(&d.exported_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The newest `limit` deliveries, newest first.
pub async fn deliveries<'e, E>(exec: E, limit: i64) -> Result<Vec<Delivery>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT id, since, format, region_prefix, row_count, sha256, exported_by, exported_at \
         FROM credit_deliveries ORDER BY exported_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok(Delivery {
            id: r.try_get("id")?,
            since: r.try_get("since")?,
            format: r.try_get("format")?,
            region_prefix: r.try_get("region_prefix")?,
            row_count: r.try_get("row_count")?,
            sha256: r.try_get("sha256")?,
            exported_by: r.try_get("exported_by")?,
            exported_at: r.try_get("exported_at")?,
        })
    })
    .collect()
}
