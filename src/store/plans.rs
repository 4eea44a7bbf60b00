//! Annual plans: the versioned plan record (through `records`), its state, the reasons of
//! its amendments, and the task of each of its rounds.

use super::Tx;
use super::records::{RECORD_COLUMNS, Record, Stored, stored_from_row};
use crate::domain::plan::{PlanInput, PlanState, StoredPlan};
use sqlx::Row;

impl Record for PlanInput {
    type Stored = StoredPlan;
    const TABLE: &'static str = "plans";
    const OBJECT: &'static str = "plan";
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("year", self.year.to_string()),
            ("lead_department", self.lead_department.as_str().to_string()),
        ]
    }
}

/// A plan with its state.
#[derive(Debug, Clone)]
pub struct PlanRow {
    pub stored: Stored<PlanInput>,
    pub state: PlanState,
    pub published_at: Option<String>,
}

fn plan_row(r: &sqlx::any::AnyRow) -> Result<PlanRow, sqlx::Error> {
    let state: String = r.try_get("state")?;
    Ok(PlanRow {
        stored: stored_from_row(r)?,
        state: PlanState::parse(&state),
        published_at: r.try_get("published_at")?,
    })
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<PlanRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("SELECT {RECORD_COLUMNS}, state, published_at FROM plans WHERE id = $1");
    sqlx::query(super::dynamic(sql))
        .bind(id)
        .fetch_optional(exec)
        .await?
        .map(|r| plan_row(&r))
        .transpose()
}

/// Reads a plan under a write lock (a no-op update takes the row lock on PostgreSQL and
/// the write lock on SQLite), so two steps on one plan run one after the other.
pub async fn lock(tx: &mut Tx, id: &str) -> Result<Option<PlanRow>, sqlx::Error> {
    sqlx::query("UPDATE plans SET state = state WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    get(&mut **tx, id).await
}

/// Plans, newest year first; optionally one year and/or one state.
pub async fn list<'e, E>(
    exec: E,
    year: Option<i32>,
    state: Option<PlanState>,
) -> Result<Vec<PlanRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {RECORD_COLUMNS}, state, published_at FROM plans \
         WHERE ($1 = '' OR year = $1) AND ($2 = '' OR state = $2) \
         ORDER BY year DESC, created_at, id LIMIT 1000"
    );
    sqlx::query(super::dynamic(sql))
        .bind(year.map(|y| y.to_string()).unwrap_or_default())
        .bind(state.map(|s| s.as_str().to_string()).unwrap_or_default())
        .fetch_all(exec)
        .await?
        .iter()
        .map(plan_row)
        .collect()
}

pub async fn publish(tx: &mut Tx, id: &str) -> Result<String, sqlx::Error> {
    let at = tx.now();
    sqlx::query("UPDATE plans SET state = 'published', published_at = $1 WHERE id = $2")
        .bind(&at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(at)
}

/// An amendment of a published plan: the version it created and why.
#[derive(Debug, Clone)]
pub struct Amendment {
    pub version: i64,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

pub async fn insert_amendment(tx: &mut Tx, id: &str, a: &Amendment) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_amendments (plan_id, version, reason, actor, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(a.version)
    .bind(&a.reason)
    .bind(&a.actor)
    .bind(&a.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn amendments<'e, E>(exec: E, id: &str) -> Result<Vec<Amendment>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT version, reason, actor, at FROM plan_amendments WHERE plan_id = $1 ORDER BY version",
    )
    .bind(id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok(Amendment {
            version: r.try_get("version")?,
            reason: r.try_get("reason")?,
            actor: r.try_get("actor")?,
            at: r.try_get("at")?,
        })
    })
    .collect()
}

/// The task created for a round of a plan.
#[derive(Debug, Clone)]
pub struct RoundTask {
    pub round: u32,
    pub task_id: String,
    pub plan_version: i64,
    pub created_at: String,
    /// The task's state (`draft` … `closed`, `cancelled`).
    pub state: String,
}

/// Every round task of a plan, by round, oldest first within a round.
pub async fn round_tasks<'e, E>(exec: E, plan_id: &str) -> Result<Vec<RoundTask>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT r.round, r.task_id, r.plan_version, r.created_at, t.state \
         FROM plan_rounds r JOIN tasks t ON t.id = r.task_id \
         WHERE r.plan_id = $1 ORDER BY r.round, r.created_at, r.task_id",
    )
    .bind(plan_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        let round: i64 = r.try_get("round")?;
        Ok(RoundTask {
            round: round as u32,
            task_id: r.try_get("task_id")?,
            plan_version: r.try_get("plan_version")?,
            created_at: r.try_get("created_at")?,
            state: r.try_get("state")?,
        })
    })
    .collect()
}

/// The plan and round a task was created for, if any.
pub async fn round_of_task<'e, E>(
    exec: E,
    task_id: &str,
) -> Result<Option<(String, u32)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT plan_id, round FROM plan_rounds WHERE task_id = $1")
        .bind(task_id)
        .fetch_optional(exec)
        .await?
        .map(|r| {
            let round: i64 = r.try_get("round")?;
            Ok((r.try_get("plan_id")?, round as u32))
        })
        .transpose()
}

pub async fn insert_round_task(
    tx: &mut Tx,
    plan_id: &str,
    round: u32,
    task_id: &str,
    plan_version: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_rounds (plan_id, round, task_id, plan_version, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(plan_id)
    .bind(i64::from(round))
    .bind(task_id)
    .bind(plan_version)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What each drawn task (drawn, published or closed) of `year` selected, but `except`:
/// `(task id, institution id)`, by task (the yearly cap's count).
pub async fn year_selections<'e, E>(
    exec: E,
    year: i32,
    except: &str,
) -> Result<Vec<(String, String)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT s.task_id, s.institution_id FROM task_selections s JOIN tasks t ON t.id = s.task_id \
         WHERE t.year = $1 AND t.state IN ('drawn', 'published', 'closed') AND t.id <> $2 \
         ORDER BY s.task_id, s.institution_id",
    )
    .bind(i64::from(year))
    .bind(except)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("task_id")?, r.try_get("institution_id")?)))
    .collect()
}

/// The ids of the drawn tasks (drawn, published or closed) of `year`.
pub async fn drawn_tasks_of_year<'e, E>(exec: E, year: i32) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT id FROM tasks WHERE year = $1 AND state IN ('drawn', 'published', 'closed') ORDER BY id",
    )
    .bind(i64::from(year))
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect()
}
