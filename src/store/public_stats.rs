//! Reads of the public statistics and the public institution search (issue 15 part 7):
//! only published (or closed) tasks and published result versions, read in one read
//! transaction. Returns read types; `crate::publication::stats` shapes them.

use super::{Backend, Param, QueryBuilder, Store, like_escape, prefix_upper_bound};
use crate::domain::result::ResultInput;
use crate::domain::stored::StoredTaskConfig;
use crate::domain::task::TaskInput;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

type ReadTx = Transaction<'static, Any>;

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

async fn read_tx(store: &Store) -> Result<ReadTx, sqlx::Error> {
    match store.backend() {
        Backend::Sqlite => store.pool().begin().await,
        Backend::Postgres => {
            store
                .pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
        }
    }
}

/// One drawn institution of a public task, with its current published result if any.
#[derive(Debug, Clone)]
pub struct StatRow {
    pub task_id: String,
    pub institution_id: String,
    pub region: String,
    /// The latest published version (None: no result published yet).
    pub current: Option<ResultInput>,
    /// When the first version of its result was published (RFC 3339).
    pub first_published_at: Option<String>,
}

/// Every public task's configuration (published or closed), by id, then every drawn
/// institution of those tasks in `region_prefix` (all when empty) with its current
/// published result, handed to `each` with its task as the database streams the rows: the
/// statistics over a country's results never hold them all in memory. One read
/// transaction, so the tasks and the rows are of one moment. Returns the tasks.
pub async fn statistics<F>(
    store: &Store,
    region_prefix: &str,
    mut each: F,
) -> Result<HashMap<String, TaskInput>, sqlx::Error>
where
    F: FnMut(StatRow, &TaskInput),
{
    use futures_util::TryStreamExt;
    let mut tx = read_tx(store).await?;
    let mut tasks = HashMap::new();
    for r in sqlx::query("SELECT id, config FROM tasks WHERE state IN ('published', 'closed')")
        .fetch_all(&mut *tx)
        .await?
    {
        let config: String = r.try_get("config")?;
        tasks.insert(
            r.try_get::<String, _>("id")?,
            TaskInput::from(StoredTaskConfig::from_json(&config).map_err(decode)?),
        );
    }
    let mut q = QueryBuilder::new(
        "SELECT s.task_id, s.institution_id, s.region, r.data, \
           (SELECT MIN(r3.published_at) FROM inspection_results r3 WHERE r3.task_id = s.task_id \
              AND r3.institution_id = s.institution_id AND r3.published_at IS NOT NULL) AS first_published_at \
         FROM task_selections s JOIN tasks t ON t.id = s.task_id \
         LEFT JOIN inspection_results r ON r.task_id = s.task_id AND r.institution_id = s.institution_id \
           AND r.version = (SELECT MAX(r2.version) FROM inspection_results r2 WHERE r2.task_id = s.task_id \
              AND r2.institution_id = s.institution_id AND r2.published_at IS NOT NULL) \
         WHERE t.state IN ('published', 'closed')",
    );
    if !region_prefix.is_empty() {
        let a = q.text(region_prefix);
        let b = q.text(prefix_upper_bound(region_prefix));
        q.push(&format!(" AND s.region >= {a} AND s.region < {b}"));
    }
    {
        let mut rows = q.query().fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            let task_id: String = r.try_get("task_id")?;
            // A task published after the tasks were read cannot appear (one transaction);
            // a row without its task is skipped rather than trusted.
            let Some(task) = tasks.get(&task_id) else {
                continue;
            };
            let data: Option<String> = r.try_get("data")?;
            let row = StatRow {
                task_id,
                institution_id: r.try_get("institution_id")?,
                region: r.try_get("region")?,
                current: data
                    .map(|d| serde_json::from_str(&d))
                    .transpose()
                    .map_err(decode)?,
                first_published_at: r.try_get("first_published_at")?,
            };
            each(row, task);
        }
    }
    tx.commit().await?;
    Ok(tasks)
}

/// An institution found by the public search.
#[derive(Debug, Clone)]
pub struct FoundInstitution {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub region: String,
    pub kind: String,
    /// Public tasks that drew it.
    pub inspections: i64,
}

/// Institutions that some public task drew, whose name contains `q` or whose credit
/// code is `q` (upper-cased), by name and id after `after` (the last (name, id) of the
/// previous page); `limit + 1` rows are read so the caller knows whether more follow.
pub async fn search_institutions(
    store: &Store,
    q: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<FoundInstitution>, sqlx::Error> {
    let mut b = QueryBuilder::new(
        "SELECT i.id, i.name, i.credit_code, i.region, i.kind, \
           (SELECT COUNT(*) FROM task_selections s2 JOIN tasks t2 ON t2.id = s2.task_id \
              WHERE s2.institution_id = i.id AND t2.state IN ('published', 'closed')) AS inspections \
         FROM institutions i WHERE EXISTS (SELECT 1 FROM task_selections s JOIN tasks t ON t.id = s.task_id \
              WHERE s.institution_id = i.id AND t.state IN ('published', 'closed'))",
    );
    let code = b.text(q.to_ascii_uppercase());
    let like = b.text(format!("%{}%", like_escape(q)));
    b.push(&format!(
        " AND (i.credit_code = {code} OR LOWER(i.name) LIKE LOWER({like}) ESCAPE '\\')"
    ));
    if let Some((name, id)) = after {
        let n = b.text(name);
        let i = b.text(id);
        b.push(&format!(" AND (i.name, i.id) > ({n}, {i})"));
    }
    let l = b.bind(Param::Int(limit + 1));
    b.push(&format!(" ORDER BY i.name, i.id LIMIT {l}"));
    b.query()
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(FoundInstitution {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                credit_code: r.try_get("credit_code")?,
                region: r.try_get("region")?,
                kind: r.try_get("kind")?,
                inspections: r.try_get("inspections")?,
            })
        })
        .collect()
}

/// The name of an institution (to resume a search after it).
pub async fn institution_name(store: &Store, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT name FROM institutions WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .map(|r| r.try_get("name"))
        .transpose()
}
