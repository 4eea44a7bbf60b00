//! After the inspection (issue 15): rectifications, verification tasks, referrals,
//! major-case reports and the follow-up settings. Rectifications and referrals are
//! versioned: each write bumps `version` and appends the version to `record_history`.

use super::Tx;
use super::versioned::Versioned;
use super::versioned::{COLUMNS, decode, encode, history, versioned};
use crate::domain::Actor;
use crate::domain::rectification::Rectification;
use crate::domain::referral::Referral;
use crate::domain::result::ResultInput;
use sqlx::Row;

/// Writes a rectification: version 1 inserts, later versions replace the row (the
/// caller holds the previous version, checked here so a concurrent write loses).
pub async fn save_rectification(
    tx: &mut Tx,
    id: &str,
    version: i64,
    r: &Rectification,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let data = encode(r)?;
    let at = tx.now();
    let done = if version == 1 {
        sqlx::query(
            "INSERT INTO rectifications (id, version, task_id, institution_id, state, due_date, \
             data, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id)
        .bind(&r.task_id)
        .bind(&r.institution_id)
        .bind(r.state.code())
        .bind(r.due_date.to_string())
        .bind(&data)
        .bind(&at)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query(
            "UPDATE rectifications SET version = $1, state = $2, due_date = $3, data = $4, \
             updated_at = $5 WHERE id = $6 AND version = $7",
        )
        .bind(version)
        .bind(r.state.code())
        .bind(r.due_date.to_string())
        .bind(&data)
        .bind(&at)
        .bind(id)
        .bind(version - 1)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    };
    if done != 1 {
        return Ok(false);
    }
    history(tx, "rectification", id, version, &data, actor, &at).await?;
    Ok(true)
}

pub async fn rectification<'e, E>(
    exec: E,
    id: &str,
) -> Result<Option<Versioned<Rectification>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(super::dynamic(format!(
        "SELECT {COLUMNS} FROM rectifications WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .map(|r| versioned(&r))
    .transpose()
}

/// Rectifications, by task and institution when given, oldest first. `open_due_before`:
/// only those not completed whose due date is before that day (the overdue ones).
pub async fn rectifications<'e, E>(
    exec: E,
    task_id: Option<&str>,
    institution_id: Option<&str>,
    open_due_before: Option<chrono::NaiveDate>,
) -> Result<Vec<Versioned<Rectification>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q =
        super::QueryBuilder::new(&format!("SELECT {COLUMNS} FROM rectifications WHERE 1 = 1"));
    if let Some(t) = task_id {
        let p = q.text(t);
        q.push(&format!(" AND task_id = {p}"));
    }
    if let Some(i) = institution_id {
        let p = q.text(i);
        q.push(&format!(" AND institution_id = {p}"));
    }
    if let Some(d) = open_due_before {
        let p = q.text(d.to_string());
        q.push(&format!(
            " AND state IN ('ordered', 'plan_submitted') AND due_date < {p}"
        ));
    }
    q.push(" ORDER BY created_at, id");
    q.query()
        .fetch_all(exec)
        .await?
        .iter()
        .map(versioned)
        .collect()
}

/// Marks a task as drawn to verify a rectification (整改核查). False if it already is.
pub async fn link_verification_task(
    tx: &mut Tx,
    task_id: &str,
    rectification_id: &str,
) -> Result<bool, sqlx::Error> {
    if is_verification_task(&mut **tx, task_id).await? {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO verification_tasks (task_id, rectification_id, linked_at) VALUES ($1, $2, $3)",
    )
    .bind(task_id)
    .bind(rectification_id)
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// The rectification a verification task verifies, if it is one.
pub async fn verification_of<'e, E>(exec: E, task_id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT rectification_id FROM verification_tasks WHERE task_id = $1")
        .bind(task_id)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("rectification_id"))
        .transpose()
}

/// Whether a task was drawn to verify a rectification (exempt from frequency caps).
pub async fn is_verification_task<'e, E>(exec: E, task_id: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(verification_of(exec, task_id).await?.is_some())
}

/// The drawn institutions of a task, with how many team members each has (from the
/// task's stored draw result).
pub async fn selections<'e, E>(exec: E, task_id: &str) -> Result<Vec<String>, sqlx::Error>
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

pub async fn save_referral(
    tx: &mut Tx,
    id: &str,
    version: i64,
    r: &Referral,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let data = encode(r)?;
    let at = tx.now();
    let done = if version == 1 {
        sqlx::query(
            "INSERT INTO referrals (id, version, task_id, institution_id, recipient, status, \
             referred_on, data, created_at, updated_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id)
        .bind(&r.task_id)
        .bind(&r.institution_id)
        .bind(r.recipient.code())
        .bind(r.status.code())
        .bind(r.referred_on.to_string())
        .bind(&data)
        .bind(&at)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query(
            "UPDATE referrals SET version = $1, status = $2, data = $3, updated_at = $4 \
             WHERE id = $5 AND version = $6",
        )
        .bind(version)
        .bind(r.status.code())
        .bind(&data)
        .bind(&at)
        .bind(id)
        .bind(version - 1)
        .execute(&mut **tx)
        .await?
        .rows_affected()
    };
    if done != 1 {
        return Ok(false);
    }
    history(tx, "referral", id, version, &data, actor, &at).await?;
    Ok(true)
}

pub async fn referral<'e, E>(exec: E, id: &str) -> Result<Option<Versioned<Referral>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(super::dynamic(format!(
        "SELECT {COLUMNS} FROM referrals WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?
    .map(|r| versioned(&r))
    .transpose()
}

/// Referrals, of one result when given, oldest first; `police_only`: to the police.
pub async fn referrals<'e, E>(
    exec: E,
    task_id: Option<&str>,
    institution_id: Option<&str>,
    police_only: bool,
) -> Result<Vec<Versioned<Referral>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q = super::QueryBuilder::new(&format!("SELECT {COLUMNS} FROM referrals WHERE 1 = 1"));
    if let Some(t) = task_id {
        let p = q.text(t);
        q.push(&format!(" AND task_id = {p}"));
    }
    if let Some(i) = institution_id {
        let p = q.text(i);
        q.push(&format!(" AND institution_id = {p}"));
    }
    if police_only {
        q.push(" AND recipient = 'police'");
    }
    q.push(" ORDER BY created_at, id");
    q.query()
        .fetch_all(exec)
        .await?
        .iter()
        .map(versioned)
        .collect()
}

/// The latest version of every result, with when it was recorded (the major-case scan).
pub struct LatestResult {
    pub task_id: String,
    pub institution_id: String,
    pub data: ResultInput,
    pub first_recorded_at: String,
}

/// The latest version of each result whose recovered fund or any violation amount is at
/// least `min_fen` (a coarse filter: the caller applies the rule).
pub async fn results_at_least<'e, E>(
    exec: E,
    min_fen: i64,
) -> Result<Vec<LatestResult>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT r.task_id, r.institution_id, r.data, \
                (SELECT MIN(f.recorded_at) FROM inspection_results f \
                 WHERE f.task_id = r.task_id AND f.institution_id = r.institution_id) AS first_at \
         FROM inspection_results r \
         WHERE r.version = (SELECT MAX(m.version) FROM inspection_results m \
                            WHERE m.task_id = r.task_id AND m.institution_id = r.institution_id) \
         ORDER BY r.task_id, r.institution_id",
    )
    .fetch_all(exec)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let data: ResultInput = decode(&r.try_get::<String, _>("data")?)?;
        let involved = crate::domain::result::amount_involved(&data);
        if involved >= min_fen {
            out.push(LatestResult {
                task_id: r.try_get("task_id")?,
                institution_id: r.try_get("institution_id")?,
                data,
                first_recorded_at: r.try_get("first_at")?,
            });
        }
    }
    Ok(out)
}

/// A major case as reported.
#[derive(Debug, Clone)]
pub struct MajorCaseReportRow {
    pub task_id: String,
    pub institution_id: String,
    pub data: String,
    pub reported_by: String,
    pub reported_at: String,
}

pub async fn major_case_reports<'e, E>(exec: E) -> Result<Vec<MajorCaseReportRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "SELECT task_id, institution_id, data, reported_by, reported_at FROM major_case_reports \
         ORDER BY reported_at",
    )
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok(MajorCaseReportRow {
            task_id: r.try_get("task_id")?,
            institution_id: r.try_get("institution_id")?,
            data: r.try_get("data")?,
            reported_by: r.try_get("reported_by")?,
            reported_at: r.try_get("reported_at")?,
        })
    })
    .collect()
}

/// Records a report; false if this case was already reported.
pub async fn insert_major_case_report(
    tx: &mut Tx,
    task_id: &str,
    institution_id: &str,
    data: &str,
    actor: &Actor,
) -> Result<bool, sqlx::Error> {
    let exists = sqlx::query(
        "SELECT 1 AS x FROM major_case_reports WHERE task_id = $1 AND institution_id = $2",
    )
    .bind(task_id)
    .bind(institution_id)
    .fetch_optional(&mut **tx)
    .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO major_case_reports (task_id, institution_id, data, reported_by, reported_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(task_id)
    .bind(institution_id)
    .bind(data)
    .bind(format!("{}:{}", actor.role, actor.sub))
    .bind(tx.now())
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

pub async fn setting<'e, E>(exec: E, key: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT value FROM followup_settings WHERE key = $1")
        .bind(key)
        .fetch_optional(exec)
        .await?
        .map(|r| r.try_get("value"))
        .transpose()
}

pub async fn put_setting(
    tx: &mut Tx,
    key: &str,
    value: &str,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let at = tx.now();
    sqlx::query("DELETE FROM followup_settings WHERE key = $1")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO followup_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(key)
    .bind(value)
    .bind(format!("{}:{}", actor.role, actor.sub))
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
