//! Re-check samples: the completed inspections a re-check draws from, and where each
//! member of its pool comes from.

use super::Tx;
use crate::domain::result::ResultCategory;
use crate::domain::stored::StoredTaskConfig;
use crate::domain::task::TaskInput;
use sqlx::Row;

/// A published result of an institution in a task: the latest published version.
#[derive(Debug, Clone)]
pub struct Completed {
    pub task_id: String,
    pub institution_id: String,
    pub region: String,
    pub version: i64,
    pub category: ResultCategory,
    pub published_at: String,
}

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// Every task of `year` whose results were (at least partly) published, with its
/// configuration, and the latest published version of each of its results.
pub async fn completed_in_year(
    tx: &mut Tx,
    year: i32,
) -> Result<Vec<(String, TaskInput, Vec<Completed>)>, sqlx::Error> {
    let tasks = sqlx::query(
        "SELECT id, config FROM tasks WHERE year = $1 AND state IN ('published', 'closed') \
         ORDER BY id",
    )
    .bind(year as i64)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        let id: String = t.try_get("id")?;
        let config: String = t.try_get("config")?;
        let cfg: TaskInput = StoredTaskConfig::from_json(&config).map_err(decode)?.into();
        let rows = sqlx::query(
            "SELECT r.institution_id, r.version, r.data, r.published_at, s.region \
             FROM inspection_results r JOIN task_selections s \
               ON s.task_id = r.task_id AND s.institution_id = r.institution_id \
             WHERE r.task_id = $1 AND r.published_at IS NOT NULL \
             ORDER BY r.institution_id, r.version",
        )
        .bind(&id)
        .fetch_all(&mut **tx)
        .await?;
        let mut latest: Vec<Completed> = Vec::new();
        for r in rows {
            #[derive(serde::Deserialize)]
            struct Category {
                category: ResultCategory,
            }
            let data: String = r.try_get("data")?;
            let c: Category = serde_json::from_str(&data).map_err(decode)?;
            let row = Completed {
                task_id: id.clone(),
                institution_id: r.try_get("institution_id")?,
                region: r.try_get("region")?,
                version: r.try_get("version")?,
                category: c.category,
                published_at: r.try_get("published_at")?,
            };
            match latest.last_mut() {
                Some(l) if l.institution_id == row.institution_id => *l = row,
                _ => latest.push(row),
            }
        }
        out.push((id, cfg, latest));
    }
    Ok(out)
}

/// Records where each pool member of a re-check comes from (at seal).
pub async fn insert_sources(
    tx: &mut Tx,
    task_id: &str,
    sources: &[&Completed],
) -> Result<(), sqlx::Error> {
    for s in sources {
        sqlx::query(
            "INSERT INTO recheck_sources (task_id, institution_id, source_task_id, \
             source_version, source_category) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(task_id)
        .bind(&s.institution_id)
        .bind(&s.task_id)
        .bind(s.version)
        .bind(s.category.code())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A pool member's origin: `(institution, source task, source version)`.
pub async fn sources<'e, E>(
    exec: E,
    task_id: &str,
) -> Result<Vec<(String, String, i64)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT institution_id, source_task_id, source_version FROM recheck_sources \
         WHERE task_id = $1 ORDER BY institution_id",
    )
    .bind(task_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("institution_id")?,
            r.try_get("source_task_id")?,
            r.try_get("source_version")?,
        ))
    })
    .collect()
}

/// The re-checks that took an institution's inspection of `source_task_id`.
pub async fn rechecks_of<'e, E>(
    exec: E,
    source_task_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT task_id, institution_id FROM recheck_sources WHERE source_task_id = $1 \
         ORDER BY institution_id, task_id",
    )
    .bind(source_task_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("task_id")?, r.try_get("institution_id")?)))
    .collect()
}

/// The institutions a task drew (its selections), in draw order.
pub async fn drawn<'e, E>(exec: E, task_id: &str) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT institution_id FROM task_selections WHERE task_id = $1 ORDER BY draw_order")
        .bind(task_id)
        .fetch_all(exec)
        .await?
        .iter()
        .map(|r| r.try_get("institution_id"))
        .collect()
}
