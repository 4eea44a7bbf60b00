//! Dispatch reads (派发): the tasks an inspector was drawn into, and the tasks awaiting a
//! department's step.

use super::{Param, QueryBuilder, Store, like_escape};
use crate::domain::DepartmentCode;
use crate::store::tasks::TaskRow;
use sqlx::Row;

/// The most tasks an inbox lists (the oldest first); a department with more open tasks
/// than this works through them and sees the rest.
pub const INBOX_MAX: i64 = 500;

impl Store {
    /// A page of the drawn tasks (in id order after `after`) whose draw or replacements
    /// name the inspector; the next cursor if there is more.
    pub async fn inspector_tasks(
        &self,
        inspector: &str,
        after: Option<String>,
        limit: i64,
    ) -> Result<(Vec<TaskRow>, Option<String>), sqlx::Error> {
        let mut q = QueryBuilder::new("SELECT t.id FROM tasks t WHERE t.drawn_at IS NOT NULL");
        let pattern = q.text(format!("%\"{}\"%", like_escape(inspector)));
        let who = q.text(inspector);
        q.push(&format!(
            " AND (EXISTS (SELECT 1 FROM task_results r WHERE r.task_id = t.id \
               AND r.result LIKE {pattern} ESCAPE '\\') \
             OR EXISTS (SELECT 1 FROM task_replacements p WHERE p.task_id = t.id \
               AND (p.in_inspector = {who} OR p.out_inspector = {who})))"
        ));
        if let Some(a) = after {
            let p = q.text(a);
            q.push(&format!(" AND t.id > {p}"));
        }
        let p = q.bind(Param::Int(limit + 1));
        q.push(&format!(" ORDER BY t.id LIMIT {p}"));
        let mut ids: Vec<String> = q
            .query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let next = if ids.len() as i64 > limit {
            ids.truncate(limit as usize);
            ids.last().cloned()
        } else {
            None
        };
        let mut conn = self.read().await?;
        let mut tasks = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = super::tasks::get(&mut *conn, &id).await? {
                tasks.push(t);
            }
        }
        Ok((tasks, next))
    }

    /// The open tasks (draft, sealed, drawn, published) that `department` leads or takes
    /// part in, oldest first, at most [`INBOX_MAX`].
    pub async fn open_tasks_of(
        &self,
        department: &DepartmentCode,
    ) -> Result<Vec<TaskRow>, sqlx::Error> {
        let mut q = QueryBuilder::new("SELECT t.id FROM tasks t WHERE 1 = 1");
        q.any_of("t.state", &["draft", "sealed", "drawn", "published"]);
        let d = q.text(department.as_str());
        // The caller's jurisdiction (its organization's region) is applied by the library
        // (`tasks::dispatch::inbox`), from the task's configuration.
        q.push(&format!(
            " AND (t.lead_department = {d} OR EXISTS (SELECT 1 FROM task_departments x \
               WHERE x.task_id = t.id AND x.department = {d}))"
        ));
        let p = q.bind(Param::Int(INBOX_MAX));
        q.push(&format!(" ORDER BY t.id LIMIT {p}"));
        let ids: Vec<String> = q
            .query()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let mut conn = self.read().await?;
        let mut tasks = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = super::tasks::get(&mut *conn, &id).await? {
                tasks.push(t);
            }
        }
        Ok(tasks)
    }

    /// How many drawn institutions of the task have no recorded result yet.
    pub async fn results_missing(&self, task_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM task_selections s WHERE s.task_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM inspection_results r \
               WHERE r.task_id = s.task_id AND r.institution_id = s.institution_id)",
        )
        .bind(task_id)
        .fetch_one(self.pool())
        .await?
        .try_get("n")
    }
}
